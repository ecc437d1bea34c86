//! The `cdht` program: the older (2019) form of the course's assignment,
//! with its five-argument command line, its lower-case commands and its
//! printed lines. The peer underneath is `p2p`'s; only the command line
//! (`config::parse_cdht_args`) and the wording (`output::Wording::Cdht`)
//! are its own.

use std::process::ExitCode;

use p2p::config::{CDHT_USAGE, parse_cdht_args};
use p2p::program::{self, Program};

fn main() -> ExitCode {
    program::run(Program {
        name: "cdht",
        usage: CDHT_USAGE,
        parse: parse_cdht_args,
    })
}
