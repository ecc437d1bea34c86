//! What the two programs, `p2p` and the older course version's `cdht`,
//! share around the peer: reading the command line, `--help` and
//! `--version`, the exit codes, and the last flush of output.
//!
//! Exit codes: 0 after `Quit`, 1 when the peer cannot run (a port in use,
//! say), 2 for a bad command line, which is said in one line followed by
//! how to see the usage (`--help`).

use std::io::Write;
use std::process::ExitCode;

use crate::config::{Invocation, UsageError};
use crate::files;
use crate::node::{self, EXIT_FLUSH};
use crate::output::{flush_streams, set_program_name, set_up_streams, write_diagnostic};

/// One of the programs: its name, its usage text and its command line.
pub struct Program {
    pub name: &'static str,
    pub usage: &'static str,
    pub parse: fn(Vec<String>) -> Result<Invocation, UsageError>,
}

/// Runs `program` with the process's arguments, and says how it ended.
pub fn run(program: Program) -> ExitCode {
    set_program_name(program.name);
    // A bug must never show a user a raw panic message and a backtrace hint;
    // say what happened in one line instead.
    std::panic::set_hook(Box::new(|info| {
        write_diagnostic(format_args!("internal error, please report it: {info}"));
    }));

    let invocation = match (program.parse)(std::env::args().skip(1).collect()) {
        Ok(invocation) => invocation,
        Err(error) => {
            // One line and the way to the usage: the whole usage would push
            // the error off a small terminal.
            write_diagnostic(format_args!("error: {error}"));
            let _ = writeln!(
                std::io::stderr(),
                "Run '{} --help' for the usage.",
                program.name
            );
            return ExitCode::from(2);
        }
    };
    let config = match invocation {
        // `println!` would panic if the reader has gone (`p2p --help | head
        // -1`); a closed pipe is no error for a help text.
        Invocation::Help => {
            let _ = writeln!(std::io::stdout(), "{}", program.usage);
            return ExitCode::SUCCESS;
        }
        Invocation::Version => {
            let _ = writeln!(
                std::io::stdout(),
                "{} {}",
                program.name,
                env!("CARGO_PKG_VERSION")
            );
            return ExitCode::SUCCESS;
        }
        Invocation::Run(config) => config,
    };
    // From here on every line also goes to the --log file, if there is one,
    // so that a failure to start is in the log too.
    if let Err(error) = set_up_streams(&config.streams) {
        write_diagnostic(format_args!("error: {error}"));
        return ExitCode::from(2);
    }
    // A peer that looks after the ring's files needs a directory of its
    // own; a shared one is a bad `--dir` for that mode, said in one line.
    if config.looks_after_files()
        && let Err(error) = files::claim_directory(&config.dir, config.peer)
    {
        write_diagnostic(format_args!("error: {error}"));
        flush_streams(EXIT_FLUSH);
        return ExitCode::from(2);
    }
    let code = match node::run(&config) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            write_diagnostic(format_args!("error: {error}"));
            ExitCode::FAILURE
        }
    };
    // The peer's last diagnostics (why a join failed, say) must reach
    // standard error and the log before the process ends.
    flush_streams(EXIT_FLUSH);
    code
}
