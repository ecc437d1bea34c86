//! The `p2p` program: reads the command line and runs one peer, or, as
//! `p2p ring`, checks a running ring (see `checker`). See
//! `program.rs` for what it shares with `cdht`, the older course version.

use std::process::ExitCode;

use p2p::config::{USAGE, parse_args};
use p2p::program::{self, Program};

fn main() -> ExitCode {
    // `p2p ring` looks at a running ring instead of running a peer.
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("ring") {
        return p2p::checker::main(&args[1..]);
    }
    program::run(Program {
        name: "p2p",
        usage: USAGE,
        parse: parse_args,
    })
}
