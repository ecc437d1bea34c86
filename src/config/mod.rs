//! The command line: what a user typed, checked once and turned into a
//! [`Config`].
//!
//! Every rule about an argument lives here, so the rest of the program can
//! trust its configuration: identities are in range, the port range fits, the
//! interval is a sane positive duration. A bad argument becomes a
//! [`UsageError`] that names the argument and what is allowed; the program
//! prints it in one line, says how to see the usage, and exits with code 2.

use std::fmt;
use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

mod arguments;
mod cdht;

use arguments::{OPTIONS, SplitArgs, positional_args, split_options_of};
pub use cdht::{CDHT_BASE_PORT, CDHT_PING_INTERVAL, CDHT_USAGE, parse_cdht_args};

use crate::message::MAX_SEGMENT_HEADER_LEN;
use crate::output::{StreamOptions, Wording};
use crate::ring::{MAX_SUCCESSORS, MIN_SUCCESSORS, PeerId};

/// The usage text shown by `--help`.
pub const USAGE: &str = "\
Usage:
  p2p init <PEER> <FIRST_SUCCESSOR> <SECOND_SUCCESSOR> <PING_INTERVAL> [options]
  p2p join <PEER> <KNOWN_PEER> <PING_INTERVAL> [options]
  p2p ring [--base-port <N>] [--from <PEER>] [--svg <FILE>] [--watch]
  p2p --help | --version

Peers are identities 0-255; PING_INTERVAL is in seconds (decimals allowed, e.g. 0.2).

Options:
  --base-port <N>   peer i uses UDP and TCP port N + i (default 12000)
  --dir <PATH>      directory for stored files and logs (default .)
  --mss <BYTES>     data bytes per segment of a file transfer (default 1400)
  --drop <P>        probability 0..=1 of dropping a data segment (default 0)
  --seed <N>        seed of the drop generator, to repeat a lossy run
  --fixed-timeout <SECONDS>
                    retransmit after this fixed time (the classic 1) instead of
                    estimating the timeout from measured round trips
  --successors <R>  keep and ping the first R successors, 2 to 8 (default 2,
                    the course's); R successors survive R - 1 adjacent failures
  --replicas <K>    keep every stored file at its responsible peer and the next
                    K - 1 successors, 1 to R + 1 (default 1, the course's)
  --handover        hand files over when a peer joins or quits, even with one
                    copy (implied by --replicas 2 or more); both need a --dir of
                    each peer's own
  --log <FILE>      append a copy of every line of output, each after its UTC
                    time of day (HH:MM:SS.mmm), to FILE
  --quiet-pings     print no ping lines (they still go to the --log file)
  --echo-commands   write each line read on standard input back on standard
                    error as \"> line\" before handling it

`p2p ring` shows a running ring and checks it (see p2p ring --help).

Commands typed on standard input: Quit, Store NNNN, Request NNNN, Status";

/// The default base port of the course.
pub const DEFAULT_BASE_PORT: u16 = 12000;

/// The highest base port: peer 255 must still get a port.
pub const MAX_BASE_PORT: u16 = u16::MAX - 255;

/// The largest payload of a UDP datagram over IPv4 (65535 minus the IP and
/// UDP headers).
pub const MAX_UDP_PAYLOAD: usize = 65_507;

/// The largest MSS whose segments, header included, still fit in one
/// datagram.
pub const MAX_MSS: usize = MAX_UDP_PAYLOAD - MAX_SEGMENT_HEADER_LEN;

/// The default MSS: a segment and its headers fit one Ethernet frame of
/// 1500 bytes, so a transfer between two machines is not fragmented.
pub const DEFAULT_MSS: usize = 1400;

/// The accepted range of the ping interval. The lower bound keeps a typo
/// such as `0.0001` from turning a peer into a busy loop; the upper bound
/// keeps the arithmetic on deadlines far from overflow.
pub const MIN_PING_INTERVAL: Duration = Duration::from_millis(10);
pub const MAX_PING_INTERVAL: Duration = Duration::from_secs(3600);

/// How the peer enters the ring.
#[derive(Clone, Debug, PartialEq)]
pub enum Start {
    /// `init`: the peer is part of the initial ring and is told its two
    /// successors.
    Init { first: PeerId, second: PeerId },
    /// `join`: the peer asks a peer it knows to find its place in the ring.
    Join { known: PeerId },
}

/// Everything a peer needs to know from its command line.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub peer: PeerId,
    pub start: Start,
    pub ping_interval: Duration,
    pub base_port: u16,
    pub dir: PathBuf,
    pub mss: usize,
    pub drop_probability: f64,
    /// The seed of the drop generator; `None` lets the peer pick one.
    pub seed: Option<u64>,
    /// A fixed retransmission timeout, for comparison with the estimated
    /// one; `None` estimates it.
    pub fixed_timeout: Option<Duration>,
    /// How many successors the peer keeps and pings (`--successors`).
    pub successor_count: usize,
    /// How many copies of each stored file the ring keeps (`--replicas`).
    pub replicas: usize,
    /// Whether files follow the ring even with one copy (`--handover`).
    pub handover: bool,
    /// The course version whose lines and commands the peer speaks: `p2p`
    /// or the older `cdht`.
    pub wording: Wording,
    /// The log, hidden pings and echoed commands (`--log`, `--quiet-pings`,
    /// `--echo-commands`).
    pub streams: StreamOptions,
}

impl Config {
    /// The configuration of `p2p`'s peer `peer`, with every option at its
    /// default (the course's).
    fn with_defaults(peer: PeerId, start: Start, ping_interval: Duration) -> Config {
        Config {
            peer,
            start,
            ping_interval,
            base_port: DEFAULT_BASE_PORT,
            dir: PathBuf::from("."),
            mss: DEFAULT_MSS,
            drop_probability: 0.0,
            seed: None,
            fixed_timeout: None,
            successor_count: MIN_SUCCESSORS,
            replicas: 1,
            handover: false,
            wording: Wording::P2p,
            streams: StreamOptions::default(),
        }
    }

    /// Whether this peer looks after the ring's files, moving and copying
    /// them as the ring changes; see `peer::placement`.
    pub fn looks_after_files(&self) -> bool {
        self.replicas > 1 || self.handover
    }
}

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum Invocation {
    Run(Config),
    Help,
    Version,
}

/// A command line that cannot be run, with a sentence that says why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageError {
    pub message: String,
}

impl UsageError {
    fn new(message: impl Into<String>) -> UsageError {
        UsageError {
            message: message.into(),
        }
    }
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for UsageError {}

/// Reads the arguments that follow the program name.
pub fn parse_args<I>(args: I) -> Result<Invocation, UsageError>
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
    } = split_options(&args)?;
    let Some((mode, positional)) = positional.split_first() else {
        return Err(UsageError::new(format!("missing the mode: {MODES}")));
    };
    let (peer, start, interval_text) = match mode.as_str() {
        // The older course's habit, `init 1 3 4 400 0.1`: five numbers
        // where this version takes four.
        "init" if positional.len() == 5 => {
            return Err(UsageError::new(format!(
                "unexpected argument {:?}; init takes <PEER> <FIRST_SUCCESSOR> \
                 <SECOND_SUCCESSOR> <PING_INTERVAL>. For the older course's \
                 <PEER> <FIRST> <SECOND> <MSS> <DROP>, run cdht {} (or give p2p --mss and \
                 --drop)",
                positional[4],
                positional.join(" ")
            )));
        }
        "init" => {
            let [peer, first, second, interval] = positional_args(
                positional,
                "init",
                &[
                    "<PEER>",
                    "<FIRST_SUCCESSOR>",
                    "<SECOND_SUCCESSOR>",
                    "<PING_INTERVAL>",
                ],
            )?;
            let (peer, start) = initial_peer(peer, first, second)?;
            (peer, start, interval)
        }
        "join" => {
            let [peer, known, interval] = positional_args(
                positional,
                "join",
                &["<PEER>", "<KNOWN_PEER>", "<PING_INTERVAL>"],
            )?;
            let peer = parse_peer("<PEER>", peer)?;
            let known = parse_peer("<KNOWN_PEER>", known)?;
            if known == peer {
                return Err(UsageError::new(format!(
                    "<KNOWN_PEER> is {known}, the joining peer itself; \
                     it must be a peer already in the ring"
                )));
            }
            (peer, Start::Join { known }, interval)
        }
        _ => return Err(unknown_mode(mode, positional)),
    };
    let mut config = Config::with_defaults(peer, start, parse_interval(interval_text)?);
    for (name, value) in options {
        apply_option(&mut config, name, value)?;
    }
    // Checked after every option is read, since `--successors` may come
    // after `--replicas`.
    let most_replicas = config.successor_count + 1;
    if config.replicas > most_replicas {
        return Err(UsageError::new(format!(
            "--replicas must be from 1 to {most_replicas} (R + 1, with --successors {}), \
             since the copies live on the successors a peer keeps, not {}",
            config.successor_count, config.replicas
        )));
    }
    check_directory(&config.dir)?;
    Ok(Invocation::Run(config))
}

/// The two modes, with an example of each, for the errors about a mode.
const MODES: &str = "init or join, as in p2p init 2 4 5 30 or p2p join 15 4 30";

/// What is wrong with a first word that is no mode. A number there is the
/// peer of a command line without its mode: three numbers are `join`'s,
/// four `init`'s, and five the older course's, which is `cdht`'s.
fn unknown_mode(mode: &str, rest: &[String]) -> UsageError {
    let lower = mode.to_lowercase();
    if lower == "init" || lower == "join" {
        return UsageError::new(format!(
            "unknown mode {mode:?}; a mode is written in lower case: {lower}"
        ));
    }
    if mode.parse::<PeerId>().is_err() {
        return UsageError::new(format!("unknown mode {mode:?}; the mode is {MODES}"));
    }
    let all = format!("{mode} {}", rest.join(" "));
    UsageError::new(match rest.len() {
        2 => format!("missing the mode (init or join) before {mode:?}: run p2p join {all}"),
        3 => format!("missing the mode (init or join) before {mode:?}: run p2p init {all}"),
        4 => format!(
            "missing the mode (init or join) before {mode:?}. For the older course's <PEER> \
             <FIRST> <SECOND> <MSS> <DROP>, run cdht {all}"
        ),
        _ => format!("missing the mode before {mode:?}: {MODES}"),
    })
}

/// A peer writes stored files, received files and its logs into its
/// directory, so one it cannot write to is refused now, rather than at the
/// first file that arrives. Trying is the only test that tells: permissions
/// say nothing of a read-only file system, and a user who may ignore them.
fn check_directory(dir: &Path) -> Result<(), UsageError> {
    if !dir.is_dir() {
        return Err(UsageError::new(format!(
            "--dir {}: no such directory; give an existing directory",
            dir.display()
        )));
    }
    // A name no other check uses at the same time, in this process or
    // another.
    static CHECKS: AtomicU64 = AtomicU64::new(0);
    let n = CHECKS.fetch_add(1, Ordering::Relaxed);
    let probe = dir.join(format!(".p2p-write-check-{}-{n}", std::process::id()));
    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .map(drop);
    let _ = fs::remove_file(&probe);
    written.map_err(|error| {
        UsageError::new(format!(
            "--dir {}: this peer cannot write there ({error}); give a directory it may write \
             files and logs into",
            dir.display()
        ))
    })
}

/// `--help` or `--version` anywhere on a command line is a question, and
/// answered before anything else is read.
fn help_or_version(args: &[String]) -> Option<Invocation> {
    if args.iter().any(|a| a == "--help" || a == "-h") {
        Some(Invocation::Help)
    } else if args.iter().any(|a| a == "--version" || a == "-V") {
        Some(Invocation::Version)
    } else {
        None
    }
}

/// Separates `--name value` (or `--name=value`) options from positional
/// arguments, in any order.
fn split_options(args: &[String]) -> Result<SplitArgs<'_>, UsageError> {
    split_options_of(args, &OPTIONS, unknown_option)
}

/// A peer of the initial ring and the two successors it is told, as both
/// programs take them: three identities, none of them the same.
fn initial_peer(peer: &str, first: &str, second: &str) -> Result<(PeerId, Start), UsageError> {
    let peer = parse_peer("<PEER>", peer)?;
    let first = parse_peer("<FIRST_SUCCESSOR>", first)?;
    let second = parse_peer("<SECOND_SUCCESSOR>", second)?;
    if first == peer || second == peer {
        return Err(UsageError::new(format!(
            "peer {peer} cannot be its own successor; \
             <FIRST_SUCCESSOR> and <SECOND_SUCCESSOR> must be other peers"
        )));
    }
    if first == second {
        return Err(UsageError::new(format!(
            "<FIRST_SUCCESSOR> and <SECOND_SUCCESSOR> are both {first}; \
             they must be two different peers"
        )));
    }
    Ok((peer, Start::Init { first, second }))
}

fn parse_peer(name: &str, text: &str) -> Result<PeerId, UsageError> {
    text.parse().map_err(|_| {
        UsageError::new(format!(
            "{name} must be a peer identity from 0 to 255, not {text:?}"
        ))
    })
}

fn parse_interval(text: &str) -> Result<Duration, UsageError> {
    let error = || {
        UsageError::new(format!(
            "<PING_INTERVAL> must be a number of seconds from {} to {}, such as 30 or 0.2, not {text:?}",
            MIN_PING_INTERVAL.as_secs_f64(),
            MAX_PING_INTERVAL.as_secs_f64(),
        ))
    };
    let seconds: f64 = text.parse().map_err(|_| error())?;
    // Comparing before converting keeps `Duration::from_secs_f64` away from
    // NaN, infinities and negative numbers, on which it would panic.
    let in_range =
        seconds >= MIN_PING_INTERVAL.as_secs_f64() && seconds <= MAX_PING_INTERVAL.as_secs_f64();
    if !in_range {
        return Err(error());
    }
    Ok(Duration::from_secs_f64(seconds))
}

fn apply_option(config: &mut Config, name: &str, value: String) -> Result<(), UsageError> {
    match name {
        "base-port" => config.base_port = parse_base_port(&value)?,
        "dir" => {
            if value.is_empty() {
                return Err(UsageError::new("--dir needs a directory path"));
            }
            config.dir = PathBuf::from(value);
        }
        "mss" => {
            config.mss = value
                .parse()
                .ok()
                .filter(|mss| (1..=MAX_MSS).contains(mss))
                .ok_or_else(|| {
                    UsageError::new(format!(
                        "--mss must be a number of bytes from 1 to {MAX_MSS}, so that a segment \
                         fits in one UDP datagram, not {value:?}"
                    ))
                })?;
        }
        "drop" => {
            config.drop_probability = value
                .parse::<f64>()
                .ok()
                .filter(|p| (0.0..=1.0).contains(p))
                .ok_or_else(|| {
                    UsageError::new(format!(
                        "--drop must be a probability from 0 to 1, such as 0.1, not {value:?}"
                    ))
                })?;
        }
        "seed" => {
            config.seed = Some(value.parse().map_err(|_| {
                UsageError::new(format!(
                    "--seed must be a whole number from 0 to {}, not {value:?}",
                    u64::MAX
                ))
            })?);
        }
        "fixed-timeout" => {
            config.fixed_timeout = Some(
                value
                    .parse::<f64>()
                    .ok()
                    .filter(|seconds| (0.001..=60.0).contains(seconds))
                    .map(Duration::from_secs_f64)
                    .ok_or_else(|| {
                        UsageError::new(format!(
                            "--fixed-timeout must be a number of seconds from 0.001 to 60, such as 1, not {value:?}"
                        ))
                    })?,
            );
        }
        "successors" => {
            config.successor_count = value
                .parse()
                .ok()
                .filter(|count| (MIN_SUCCESSORS..=MAX_SUCCESSORS).contains(count))
                .ok_or_else(|| {
                    UsageError::new(format!(
                        "--successors must be a number of successors from {MIN_SUCCESSORS} to \
                         {MAX_SUCCESSORS}, not {value:?}"
                    ))
                })?;
        }
        "replicas" => {
            config.replicas = value
                .parse()
                .ok()
                .filter(|count| (1..=MAX_SUCCESSORS + 1).contains(count))
                .ok_or_else(|| {
                    UsageError::new(format!(
                        "--replicas must be a number of copies from 1 to R + 1 (R is \
                         --successors), not {value:?}"
                    ))
                })?;
        }
        "handover" => config.handover = true,
        "log" => {
            if value.is_empty() {
                return Err(UsageError::new("--log needs a file path"));
            }
            config.streams.log = Some(PathBuf::from(value));
        }
        "quiet-pings" => config.streams.quiet_pings = true,
        "echo-commands" => config.streams.echo_commands = true,
        _ => return Err(unknown_option(&format!("--{name}"))),
    }
    Ok(())
}

/// Reads the value of `--base-port`, for the peers and for `p2p ring`.
pub fn parse_base_port(value: &str) -> Result<u16, UsageError> {
    value
        .parse()
        .ok()
        .filter(|port| (1..=MAX_BASE_PORT).contains(port))
        .ok_or_else(|| {
            UsageError::new(format!(
                "--base-port must be from 1 to {MAX_BASE_PORT}, so that peer 255's port \
                 (base + 255) is at most 65535, not {value:?}"
            ))
        })
}

/// An option `p2p` does not have, as it was typed (`--colour`, `-x`).
fn unknown_option(typed: &str) -> UsageError {
    UsageError::new(format!(
        "unknown option {typed}; the options are --base-port, --dir, --mss, --drop, --seed, \
         --fixed-timeout, --successors, --replicas, --handover, --log, --quiet-pings and \
         --echo-commands"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Invocation, UsageError> {
        parse_args(line.split_whitespace().map(String::from))
    }

    fn config(line: &str) -> Config {
        match parse(line) {
            Ok(Invocation::Run(config)) => config,
            other => panic!("{line}: {other:?}"),
        }
    }

    fn error(line: &str) -> String {
        match parse(line) {
            Err(error) => error.message,
            other => panic!("{line}: expected an error, got {other:?}"),
        }
    }

    #[test]
    fn init_with_defaults() {
        let config = config("init 2 4 5 30");
        assert_eq!(config.peer, PeerId(2));
        assert_eq!(
            config.start,
            Start::Init {
                first: PeerId(4),
                second: PeerId(5)
            }
        );
        assert_eq!(config.ping_interval, Duration::from_secs(30));
        assert_eq!(config.base_port, 12000);
        assert_eq!(config.dir, PathBuf::from("."));
        assert_eq!(config.mss, DEFAULT_MSS);
        assert_eq!(config.drop_probability, 0.0);
        assert_eq!(config.seed, None);
        assert_eq!(config.successor_count, 2);
        assert_eq!(config.replicas, 1);
        assert!(!config.handover);
        assert!(!config.looks_after_files());
    }

    #[test]
    fn replicas_from_one_to_one_more_than_the_successors() {
        for count in 1..=3 {
            let config = config(&format!("init 2 4 5 1 --replicas {count}"));
            assert_eq!(config.replicas, count);
            assert_eq!(config.looks_after_files(), count > 1);
        }
        // The order of the two options does not matter.
        assert_eq!(
            config("init 2 4 5 1 --replicas 4 --successors 3").replicas,
            4
        );
        let handover = config("init 2 4 5 1 --handover --mss 300");
        assert!(handover.handover && handover.looks_after_files());
        assert_eq!(handover.mss, 300);
    }

    #[test]
    fn the_options_of_the_streams() {
        assert_eq!(config("init 2 4 5 1").streams, StreamOptions::default());
        let streams = config("init 2 4 5 1 --log peer-2.log --quiet-pings --echo-commands").streams;
        assert_eq!(streams.log, Some(PathBuf::from("peer-2.log")));
        assert!(streams.quiet_pings && streams.echo_commands);
        assert!(error("init 2 4 5 1 --log").contains("--log needs a value"));
        assert!(error("init 2 4 5 1 --quiet-pings=1").contains("takes no value"));
    }

    #[test]
    fn successor_lists_of_every_allowed_length() {
        for count in 2..=8 {
            let line = format!("init 2 4 5 1 --successors {count}");
            assert_eq!(config(&line).successor_count, count);
        }
    }

    #[test]
    fn join_with_every_option_in_both_spellings() {
        let config =
            config("join 15 4 0.2 --base-port 20000 --mss=300 --drop 0.1 --seed=7 --dir .");
        assert_eq!(config.start, Start::Join { known: PeerId(4) });
        assert_eq!(config.ping_interval, Duration::from_millis(200));
        assert_eq!(config.base_port, 20000);
        assert_eq!(config.mss, 300);
        assert_eq!(config.drop_probability, 0.1);
        assert_eq!(config.seed, Some(7));
    }

    #[test]
    fn options_may_come_before_the_positional_arguments() {
        assert_eq!(config("--base-port 13000 init 2 4 5 1").base_port, 13000);
    }

    #[test]
    fn help_and_version() {
        assert_eq!(parse("--help"), Ok(Invocation::Help));
        assert_eq!(parse("init 2 4 5 1 -h"), Ok(Invocation::Help));
        assert_eq!(parse("--version"), Ok(Invocation::Version));
    }

    #[test]
    fn each_bad_argument_is_named() {
        let cases = [
            (
                "",
                "missing the mode: init or join, as in p2p init 2 4 5 30",
            ),
            ("start 2 4 5 1", "unknown mode \"start\""),
            ("Init 2 4 5 1", "a mode is written in lower case: init"),
            (
                "2 4 5 30",
                "missing the mode (init or join) before \"2\": run p2p init 2 4 5 30",
            ),
            ("15 4 30", "run p2p join 15 4 30"),
            (
                "1 3 4 400 0.1",
                "For the older course's <PEER> <FIRST> <SECOND> <MSS> <DROP>, run cdht 1 3 4 \
                 400 0.1",
            ),
            (
                "init 2 4 5",
                "missing <PING_INTERVAL>; init takes <PEER> <FIRST_SUCCESSOR> \
                 <SECOND_SUCCESSOR> <PING_INTERVAL>",
            ),
            (
                "init",
                "missing the arguments: init takes <PEER> <FIRST_SUCCESSOR> \
                 <SECOND_SUCCESSOR> <PING_INTERVAL>",
            ),
            (
                "join 15 4 30 40",
                "unexpected argument \"40\"; join takes <PEER> <KNOWN_PEER> <PING_INTERVAL>",
            ),
            (
                "init 2 4 5 1 -mss 300",
                "-mss: an option begins with two dashes: --mss",
            ),
            ("init 2 4 5 1 -x", "unknown option -x; the options are"),
            (
                "init 2",
                "missing <FIRST_SUCCESSOR> <SECOND_SUCCESSOR> <PING_INTERVAL>",
            ),
            ("init 2 4 5 1 6 7", "unexpected argument \"6\""),
            (
                "init 1 3 4 400 0.1",
                "For the older course's <PEER> <FIRST> <SECOND> <MSS> <DROP>, run cdht 1 3 4 400 \
                 0.1 (or give p2p --mss and --drop)",
            ),
            ("init 2 4 5 1 --mss --drop 0.1", "--mss needs a value"),
            (
                "init 256 4 5 1",
                "<PEER> must be a peer identity from 0 to 255",
            ),
            ("init 2 -4 5 1", "<FIRST_SUCCESSOR> must be a peer identity"),
            ("init 2 4 x 1", "<SECOND_SUCCESSOR> must be a peer identity"),
            ("init 2 2 5 1", "cannot be its own successor"),
            ("init 2 4 2 1", "cannot be its own successor"),
            ("init 2 4 4 1", "must be two different peers"),
            (
                "init 2 4 5 0",
                "<PING_INTERVAL> must be a number of seconds",
            ),
            (
                "init 2 4 5 -1",
                "<PING_INTERVAL> must be a number of seconds",
            ),
            (
                "init 2 4 5 NaN",
                "<PING_INTERVAL> must be a number of seconds",
            ),
            (
                "init 2 4 5 inf",
                "<PING_INTERVAL> must be a number of seconds",
            ),
            (
                "init 2 4 5 1e300",
                "<PING_INTERVAL> must be a number of seconds",
            ),
            (
                "init 2 4 5 abc",
                "<PING_INTERVAL> must be a number of seconds",
            ),
            ("join 15 15 1", "<KNOWN_PEER> is 15"),
            ("join 15 4", "missing <PING_INTERVAL>"),
            (
                "init 2 4 5 1 --base-port 65281",
                "--base-port must be from 1 to 65280",
            ),
            (
                "init 2 4 5 1 --base-port 0",
                "--base-port must be from 1 to 65280",
            ),
            (
                "init 2 4 5 1 --mss 0",
                "--mss must be a number of bytes from 1 to 65443",
            ),
            (
                "init 2 4 5 1 --mss 65444",
                "--mss must be a number of bytes",
            ),
            (
                "init 2 4 5 1 --drop 1.5",
                "--drop must be a probability from 0 to 1",
            ),
            ("init 2 4 5 1 --drop -0.1", "--drop must be a probability"),
            ("init 2 4 5 1 --drop NaN", "--drop must be a probability"),
            ("init 2 4 5 1 --seed x", "--seed must be a whole number"),
            (
                "init 2 4 5 1 --fixed-timeout 0",
                "--fixed-timeout must be a number of seconds",
            ),
            (
                "init 2 4 5 1 --fixed-timeout x",
                "--fixed-timeout must be a number of seconds",
            ),
            ("init 2 4 5 1 --colour red", "unknown option --colour"),
            ("init 2 4 5 1 --seed", "--seed needs a value"),
            ("init 2 4 5 1 --colour", "unknown option --colour"),
            ("init 2 4 5 1 --dir /no/such/place", "no such directory"),
            ("init 2 4 5 1 --dir /proc", "cannot write there"),
            (
                "init 2 4 5 1 --successors 1",
                "--successors must be a number of successors from 2 to 8",
            ),
            ("init 2 4 5 1 --successors 9", "--successors must be"),
            (
                "init 2 4 5 1 --replicas 4",
                "--replicas must be from 1 to 3 (R + 1, with --successors 2)",
            ),
            ("init 2 4 5 1 --replicas 0", "--replicas must be a number"),
            ("init 2 4 5 1 --replicas", "--replicas needs a value"),
            ("init 2 4 5 1 --handover=yes", "--handover takes no value"),
            (
                "init 2 4 5 1 --base-port 13000 --base-port=14000",
                "--base-port is given twice",
            ),
            (
                "init 2 4 5 1 --drop 0.1 --drop 0.1",
                "--drop is given twice",
            ),
        ];
        for (line, expected) in cases {
            let message = error(line);
            assert!(message.contains(expected), "{line:?} gave {message:?}");
        }
    }

    #[test]
    fn the_interval_bounds_are_inclusive() {
        assert_eq!(config("init 2 4 5 0.01").ping_interval, MIN_PING_INTERVAL);
        assert_eq!(config("init 2 4 5 3600").ping_interval, MAX_PING_INTERVAL);
    }
}
