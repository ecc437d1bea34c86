//! The command line of `cdht`, the older (2019) course version: five
//! positional arguments (the peer, its two successors, the MSS and the drop
//! probability) and a few options. It gives the same [`Config`] as `p2p`'s
//! command line, speaking the older version's lines; every rule it shares
//! with `p2p` (an identity, an interval, each option) is the parent
//! module's.

use std::time::Duration;

use super::{
    Config, Invocation, MAX_MSS, MAX_PING_INTERVAL, MIN_PING_INTERVAL, SplitArgs, UsageError,
    apply_option, check_directory, help_or_version, initial_peer, parse_interval, positional_args,
    split_options_of,
};
use crate::output::Wording;

/// The usage text of `cdht`, the older course version, shown by `--help`.
pub const CDHT_USAGE: &str = "\
Usage:
  cdht <PEER> <FIRST_SUCCESSOR> <SECOND_SUCCESSOR> <MSS> <DROP_PROBABILITY> [options]
  cdht --help | --version

Peers are identities 0-255; MSS is the data bytes per segment of a file transfer;
DROP_PROBABILITY (0 to 1) is the chance that a data segment is dropped. Example:
  cdht 1 3 4 400 0.1

Options:
  --ping-interval <SECONDS>  how often to ping the successors (default 5)
  --base-port <N>   peer i uses UDP and TCP port N + i (default 50000)
  --dir <PATH>      directory for the files and logs (default .)
  --seed <N>        seed of the drop generator, to repeat a lossy run
  --fixed-timeout <SECONDS>
                    retransmit after this fixed time instead of estimating it
  --successors <R>  keep and ping the first R successors, 2 to 8 (default 2)
  --log <FILE>      append a copy of every line of output, each after its UTC
                    time of day (HH:MM:SS.mmm), to FILE
  --quiet-pings     print no ping lines (they still go to the --log file)
  --echo-commands   write each line read on standard input back on standard
                    error as \"> line\" before handling it

Commands typed on standard input: request NNNN, quit";

/// What `cdht` takes, for the errors about its arguments.
const CDHT_FORM: &str = "<PEER> <FIRST_SUCCESSOR> <SECOND_SUCCESSOR> <MSS> <DROP_PROBABILITY>";

/// The base port of the older course version: peer i uses port 50000 + i.
pub const CDHT_BASE_PORT: u16 = 50000;

/// The ping interval `cdht` chooses, since its command line has none: the
/// newer version's `make run-ring` default, short enough that a ring is seen
/// working within seconds, and well within the three minutes the course
/// allows for the first output.
pub const CDHT_PING_INTERVAL: Duration = Duration::from_secs(5);

/// The options of `cdht`, without their leading `--`.
const CDHT_OPTIONS: [&str; 9] = [
    "ping-interval",
    "base-port",
    "dir",
    "seed",
    "fixed-timeout",
    "successors",
    "log",
    "quiet-pings",
    "echo-commands",
];

/// An option `cdht` does not have, as it was typed (`--mss`, `-x`).
fn unknown_cdht_option(typed: &str) -> UsageError {
    UsageError::new(format!(
        "unknown option {typed}; the options are --ping-interval, --base-port, --dir, --seed, \
         --fixed-timeout, --successors, --log, --quiet-pings and --echo-commands (the MSS and \
         the drop probability are the fourth and fifth arguments)"
    ))
}

/// `cdht init ...`: `p2p`'s habit. Five arguments after the mode are
/// `cdht`'s without it; others are `p2p`'s command line.
fn no_mode(mode: &str, rest: &[String]) -> UsageError {
    let five = rest.len() == 5;
    let rest = rest.join(" ");
    if five {
        return UsageError::new(format!("cdht has no mode {mode:?}: run cdht {rest}"));
    }
    UsageError::new(format!(
        "cdht has no mode {mode:?}; it takes {CDHT_FORM}, as in cdht 1 3 4 400 0.1. For the \
         newer course version, run p2p {mode} {rest}"
    ))
}

/// Reads the arguments of `cdht`, the older course version: five
/// positional arguments and a few options. The result is the same
/// [`Config`] as `p2p`'s, speaking the older version's lines.
pub fn parse_cdht_args<I>(args: I) -> Result<Invocation, UsageError>
where
    I: IntoIterator<Item = String>,
{
    let args: Vec<String> = args.into_iter().collect();
    if let Some(question) = help_or_version(&args) {
        return Ok(question);
    }
    let SplitArgs {
        positional,
        options,
    } = split_options_of(&args, &CDHT_OPTIONS, unknown_cdht_option)?;
    if let Some(mode) = positional
        .first()
        .filter(|&word| word == "init" || word == "join")
    {
        return Err(no_mode(mode, &positional[1..]));
    }
    let [peer, first, second, mss, drop] = positional_args(
        &positional,
        "cdht",
        &[
            "<PEER>",
            "<FIRST_SUCCESSOR>",
            "<SECOND_SUCCESSOR>",
            "<MSS>",
            "<DROP_PROBABILITY>",
        ],
    )?;
    let (peer, start) = initial_peer(peer, first, second)?;
    let mss = mss
        .parse()
        .ok()
        .filter(|mss| (1..=MAX_MSS).contains(mss))
        .ok_or_else(|| {
            UsageError::new(format!(
                "<MSS> must be a number of bytes from 1 to {MAX_MSS}, so that a segment fits \
                 in one UDP datagram, not {mss:?}"
            ))
        })?;
    let drop_probability = drop
        .parse::<f64>()
        .ok()
        .filter(|p| (0.0..=1.0).contains(p))
        .ok_or_else(|| {
            UsageError::new(format!(
                "<DROP_PROBABILITY> must be a probability from 0 to 1, such as 0.1, not {drop:?}"
            ))
        })?;
    let mut config = Config {
        base_port: CDHT_BASE_PORT,
        mss,
        drop_probability,
        wording: Wording::Cdht,
        ..Config::with_defaults(peer, start, CDHT_PING_INTERVAL)
    };
    for (name, value) in options {
        match name {
            "ping-interval" => {
                config.ping_interval = parse_interval(&value).map_err(|_| {
                    UsageError::new(format!(
                        "--ping-interval must be a number of seconds from {} to {}, such as 5 or \
                         0.2, not {value:?}",
                        MIN_PING_INTERVAL.as_secs_f64(),
                        MAX_PING_INTERVAL.as_secs_f64(),
                    ))
                })?
            }
            _ => apply_option(&mut config, name, value)?,
        }
    }
    check_directory(&config.dir)?;
    Ok(Invocation::Run(config))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Start;
    use crate::ring::PeerId;

    fn cdht(line: &str) -> Result<Invocation, UsageError> {
        parse_cdht_args(line.split_whitespace().map(String::from))
    }

    #[test]
    fn the_older_versions_five_arguments() {
        let Ok(Invocation::Run(config)) = cdht("1 3 4 400 0.1") else {
            panic!("a valid cdht command line");
        };
        assert_eq!(config.peer, PeerId(1));
        assert_eq!(
            config.start,
            Start::Init {
                first: PeerId(3),
                second: PeerId(4)
            }
        );
        assert_eq!((config.mss, config.drop_probability), (400, 0.1));
        assert_eq!(config.base_port, CDHT_BASE_PORT);
        assert_eq!(config.ping_interval, CDHT_PING_INTERVAL);
        assert_eq!(config.wording, Wording::Cdht);
        let Ok(Invocation::Run(fast)) = cdht("1 3 4 400 0 --ping-interval 0.2 --base-port 20000")
        else {
            panic!("a valid cdht command line with options");
        };
        assert_eq!(fast.ping_interval, Duration::from_millis(200));
        assert_eq!(fast.base_port, 20000);
    }

    #[test]
    fn bad_older_command_lines_say_why() {
        let cases = [
            ("1 3 4 400", "missing <DROP_PROBABILITY>"),
            ("1 3 4", "missing <MSS> <DROP_PROBABILITY>"),
            ("1 3 4 0 0.1", "<MSS> must be a number of bytes"),
            ("1 3 4 400 1.5", "<DROP_PROBABILITY> must be a probability"),
            ("1 1 4 400 0.1", "cannot be its own successor"),
            ("1 3 4 400 0.1 --mss 300", "unknown option --mss"),
            (
                "1 3 4 400 0.1 7",
                "unexpected argument \"7\"; cdht takes <PEER> <FIRST_SUCCESSOR> \
                 <SECOND_SUCCESSOR> <MSS> <DROP_PROBABILITY>",
            ),
            (
                "",
                "missing the arguments: cdht takes <PEER> <FIRST_SUCCESSOR> <SECOND_SUCCESSOR> \
                 <MSS> <DROP_PROBABILITY>",
            ),
            (
                "init 1 3 4 400 0.1",
                "cdht has no mode \"init\": run cdht 1 3 4 400 0.1",
            ),
            (
                "join 15 4 30",
                "For the newer course version, run p2p join 15 4 30",
            ),
            ("1 3 4 400 0.1 -mss 300", "unknown option -mss"),
            ("1 3 4 400 0.1 --ping-interval 0", "--ping-interval must be"),
        ];
        for (line, expected) in cases {
            let message = cdht(line).expect_err(line).message;
            assert!(message.contains(expected), "{line:?} gave {message:?}");
        }
    }
}
