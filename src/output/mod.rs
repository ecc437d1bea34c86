//! Everything a peer writes for people to read: the contract lines on
//! standard output, and diagnostics on standard error.
//!
//! - [`lines`]: the lines as values ([`Line`]) and their wording
//!   ([`Wording`]), the one place where the course's sentences are spelled.
//! - [`writer`]: the bounded queue and thread that write a stream, so that a
//!   reader who does not read can never stall the peer.
//! - [`diagnostics`]: standard error, with floods of bad input summarised.
//!
//! How the two streams behave beyond the course's defaults (a log, hidden
//! pings, typed commands echoed) is set once, at start, by
//! [`set_up_streams`]: a process has one standard output and one standard
//! error, so these are settings of the process, not of one printer.

mod diagnostics;
mod lines;
mod writer;

pub use diagnostics::{
    Kind, Warning, flush_diagnostics, program_name, report_diagnostic, set_program_name,
    write_diagnostic,
};
pub(crate) use diagnostics::{diagnose, report};
pub use lines::{HandoverReason, Line, Wording};
pub use writer::{LineWriter, LossReport, WriterConfig, copy_to_log, flush_log, wall_clock};

use std::fmt;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

/// How the process's output streams behave beyond the course's defaults,
/// from the options `--log`, `--quiet-pings` and `--echo-commands`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StreamOptions {
    /// A file that gets a copy of every line of standard output and
    /// standard error, each after its UTC time of day (`--log FILE`).
    pub log: Option<PathBuf>,
    /// Keeps the ping lines off standard output (`--quiet-pings`). They
    /// still go to the log, which stays the peer's whole story.
    pub quiet_pings: bool,
    /// Writes each line read on standard input back on standard error as
    /// `> line`, before it is handled (`--echo-commands`), so that a
    /// command sent through a pipe shows in the peer's window and log.
    pub echo_commands: bool,
}

/// The options of this process's streams, once set.
static STREAMS: OnceLock<StreamOptions> = OnceLock::new();

/// The log named by `--log` could not be opened.
#[derive(Debug)]
pub struct LogError {
    path: PathBuf,
    source: std::io::Error,
}

impl fmt::Display for LogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "--log {}: this peer cannot append to it ({}); give a file in a directory it may \
             write into",
            self.path.display(),
            self.source
        )
    }
}

impl std::error::Error for LogError {}

/// Sets the options of the process's streams, and opens the log if there
/// is one; called once, before the peer prints anything. The first options
/// set stay.
pub fn set_up_streams(options: &StreamOptions) -> Result<(), LogError> {
    if let Some(path) = &options.log {
        writer::open_log(path).map_err(|source| LogError {
            path: path.clone(),
            source,
        })?;
    }
    let _ = STREAMS.set(options.clone());
    Ok(())
}

/// Waits, for at most `timeout` each, until the diagnostics and then the
/// log have been written out. Called before the process exits.
pub fn flush_streams(timeout: Duration) {
    flush_diagnostics(timeout);
    flush_log(timeout);
}

/// The options of the streams: the course's defaults until they are set.
fn streams() -> &'static StreamOptions {
    static DEFAULTS: StreamOptions = StreamOptions {
        log: None,
        quiet_pings: false,
        echo_commands: false,
    };
    STREAMS.get().unwrap_or(&DEFAULTS)
}

/// Writes a line just read on standard input back on standard error as
/// `> line`, when the peer echoes commands. A blank line is not echoed, and
/// control characters are shown escaped, so that what was sent can never
/// play tricks with the terminal.
pub fn echo_command(line: &str) {
    if !streams().echo_commands || line.trim().is_empty() {
        return;
    }
    let shown: String = line
        .trim_end_matches(['\n', '\r'])
        .chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect();
    diagnostics::write_echo(format!("> {shown}"));
}

/// The most lines of standard output kept waiting for a slow reader:
/// minutes of the busiest ring's pings, in well under a megabyte.
pub const STDOUT_QUEUE_CAPACITY: usize = 4096;

/// Standard output, written by a thread of its own, with the wording of the
/// course version being run.
#[derive(Clone)]
pub struct Printer {
    writer: LineWriter,
    wording: Wording,
}

impl Printer {
    /// Starts the thread that writes standard output.
    pub fn stdout(wording: Wording) -> Printer {
        let writer = LineWriter::start(
            std::io::stdout(),
            WriterConfig {
                name: "stdout-writer",
                capacity: STDOUT_QUEUE_CAPACITY,
                loss: LossReport::Elsewhere(Box::new(|lost| {
                    report_diagnostic(
                        Kind::LostOutput,
                        format_args!(
                            "{lost} lines of standard output were lost: nobody read them in time"
                        ),
                    )
                })),
                every_second: None,
                copy_to_log: true,
            },
        );
        Printer { writer, wording }
    }

    /// Queues one contract line, as this course version prints it (as
    /// nothing, one line or two). With `--quiet-pings` a ping line goes
    /// only to the log.
    pub fn print(&self, line: &Line) {
        let hidden = streams().quiet_pings && line.is_ping();
        for text in self.wording.render(line) {
            if hidden {
                copy_to_log(&text);
            } else {
                self.writer.push(text);
            }
        }
    }

    /// Waits, for at most `timeout`, until every line has been written.
    pub fn flush(&self, timeout: Duration) {
        self.writer.flush(timeout);
    }
}
