//! Everything a peer writes for people to read: the contract lines on
//! standard output, and diagnostics on standard error.
//!
//! - [`lines`]: the lines as values ([`Line`]) and their wording
//!   ([`Wording`]), the one place where the course's sentences are spelled.
//! - [`writer`]: the bounded queue and thread that write a stream, so that a
//!   reader who does not read can never stall the peer.
//! - [`diagnostics`]: standard error, with floods of bad input summarised.

mod diagnostics;
mod lines;
mod writer;

pub use diagnostics::{Kind, Warning, flush_diagnostics, report_diagnostic, write_diagnostic};
pub(crate) use diagnostics::{diagnose, report};
pub use lines::{HandoverReason, Line, Wording};
pub use writer::{LineWriter, LossReport, WriterConfig};

use std::time::Duration;

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
            },
        );
        Printer { writer, wording }
    }

    /// Queues one contract line, as this course version prints it (as
    /// nothing, one line or two).
    pub fn print(&self, line: &Line) {
        for text in self.wording.render(line) {
            self.writer.push(text);
        }
    }

    /// Waits, for at most `timeout`, until every line has been written.
    pub fn flush(&self, timeout: Duration) {
        self.writer.flush(timeout);
    }
}
