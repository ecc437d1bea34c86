//! The `p2p` program: reads the command line and runs one peer. See
//! `program.rs` for what it shares with `cdht`, the older course version.

use std::process::ExitCode;

use p2p::config::{USAGE, parse_args};
use p2p::program::{self, Program};

fn main() -> ExitCode {
    program::run(Program {
        name: "p2p",
        usage: USAGE,
        parse: parse_args,
    })
}
