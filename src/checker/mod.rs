//! `p2p ring`: the whole ring at a glance, and whether it is healthy.
//!
//! A peer only knows its neighbours; nobody sees the ring. This program
//! asks every peer of a ring for its own view (`STATUS`) and its files
//! (`HOLDINGS`), prints them in ring order, and judges the whole: a ring is
//! consistent when every pointer, every key and every file is where the
//! live peers say it should be. The exit status says so too (0 only when
//! consistent), so scripts and tests can use it.
//!
//! - [`survey`]: the questions, asked of every port of the ring at once;
//! - [`verdict`]: the pure judgement of the answers;
//! - [`report`]: the answers and the verdict as text;
//! - [`draw`]: the ring as an SVG picture.

pub mod draw;
pub mod report;
pub mod survey;
pub mod verdict;

use std::io::{IsTerminal, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::config::{DEFAULT_BASE_PORT, parse_base_port};
use crate::ring::PeerId;
use survey::SurveyConfig;

/// The usage text of `p2p ring`.
pub const RING_USAGE: &str = "\
Usage:
  p2p ring [--base-port <N>] [--from <PEER>] [--svg <FILE>] [--watch]

Asks every peer of the ring on base port N (default 12000, on this host) for
its view and its files, prints them in ring order from PEER (default: the
lowest peer that answers), and says whether the ring is consistent: each
peer answers and points at the next live peers, each key has one peer that
answers for it, and each file has its copies. Exit status 0 only when it is.

Options:
  --base-port <N>   the ring's base port: peer i listens on N + i (default 12000)
  --from <PEER>     list the peers from this one, along first successors
  --svg <FILE>      also draw the ring as an SVG picture in FILE
  --watch           survey again and redraw every ping interval, until Ctrl-C";

/// How long one peer may take to answer one question. A live peer answers
/// within milliseconds; a frozen one never does.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(1);

/// The shortest and longest time between two surveys of `--watch`.
const WATCH_BOUNDS: (Duration, Duration) = (Duration::from_millis(200), Duration::from_secs(30));

/// What `p2p ring` was asked to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckConfig {
    pub base_port: u16,
    pub from: Option<PeerId>,
    pub svg: Option<PathBuf>,
    pub watch: bool,
}

/// What the command line of `p2p ring` asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RingInvocation {
    Help,
    Check(CheckConfig),
}

/// Reads the arguments that follow `p2p ring`.
pub fn parse_ring_args(args: &[String]) -> Result<RingInvocation, String> {
    let mut config = CheckConfig {
        base_port: DEFAULT_BASE_PORT,
        from: None,
        svg: None,
        watch: false,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .filter(|value| !value.starts_with("--"))
                .ok_or(format!("{name} needs a value"))
        };
        match arg.as_str() {
            "--help" | "-h" => return Ok(RingInvocation::Help),
            "--base-port" => {
                config.base_port =
                    parse_base_port(value("--base-port")?).map_err(|error| error.to_string())?;
            }
            "--from" => {
                let text = value("--from")?;
                let peer = text
                    .parse()
                    .map_err(|_| format!("--from must be a peer 0-255, not {text:?}"))?;
                config.from = Some(peer);
            }
            "--svg" => config.svg = Some(PathBuf::from(value("--svg")?)),
            "--watch" => config.watch = true,
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    Ok(RingInvocation::Check(config))
}

/// Runs `p2p ring` with the arguments after `ring`.
pub fn main(args: &[String]) -> ExitCode {
    let config = match parse_ring_args(args) {
        Ok(RingInvocation::Check(config)) => config,
        Ok(RingInvocation::Help) => {
            let _ = writeln!(std::io::stdout(), "{RING_USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("p2p ring: error: {error}\nRun 'p2p ring --help' for the usage.");
            return ExitCode::from(2);
        }
    };
    let survey_config = SurveyConfig {
        host: IpAddr::V4(Ipv4Addr::LOCALHOST),
        base_port: config.base_port,
        timeout: ANSWER_TIMEOUT,
    };
    loop {
        let outcome = check_once(&config, &survey_config);
        if !config.watch {
            return match outcome {
                Ok(Survey {
                    consistent: true, ..
                }) => ExitCode::SUCCESS,
                Ok(_) => ExitCode::FAILURE,
                Err(error) => {
                    eprintln!("p2p ring: {error}");
                    ExitCode::FAILURE
                }
            };
        }
        let pause = match outcome {
            Ok(survey) => survey.interval,
            Err(error) => {
                eprintln!("p2p ring: {error}");
                Duration::from_secs(1)
            }
        };
        std::thread::sleep(pause.clamp(WATCH_BOUNDS.0, WATCH_BOUNDS.1));
    }
}

/// The outcome of one survey that found the ring.
struct Survey {
    consistent: bool,
    /// The shortest ping interval among the peers: how often `--watch`
    /// looks again.
    interval: Duration,
}

/// Surveys the ring once, prints the report (and writes the picture), and
/// says whether it is consistent.
fn check_once(config: &CheckConfig, survey_config: &SurveyConfig) -> Result<Survey, String> {
    let observed = survey::survey(survey_config);
    let last_port = u32::from(config.base_port) + 255;
    let start = match config.from {
        Some(peer) if observed.answered.contains_key(&peer) => peer,
        Some(peer) => {
            return Err(format!(
                "peer {peer} does not answer on port {}",
                u32::from(config.base_port) + u32::from(peer.0)
            ));
        }
        None => match observed.answered.keys().next() {
            Some(&peer) => peer,
            None => {
                return Err(format!(
                    "no peer answers on ports {}-{last_port}{}",
                    config.base_port,
                    if observed.silent.is_empty() {
                        String::new()
                    } else {
                        format!(
                            " ({} ports take connections but do not answer)",
                            observed.silent.len()
                        )
                    }
                ));
            }
        },
    };
    let order = survey::walk(&observed, start);
    let problems = verdict::check(&observed);
    let mut text = report::render(config.base_port, &observed, &order, &problems);
    if let Some(path) = &config.svg {
        let picture = draw::svg(config.base_port, &observed, &problems);
        match std::fs::write(path, picture) {
            Ok(()) => text.push_str(&format!("Drew the ring in {}\n", path.display())),
            Err(error) => eprintln!("p2p ring: cannot write {}: {error}", path.display()),
        }
    }
    let interval = observed
        .answered
        .values()
        .map(|report| report.view.ping_interval)
        .min()
        .unwrap_or(Duration::from_secs(1));
    if config.watch {
        if std::io::stdout().is_terminal() {
            // Clear the terminal and start again at the top.
            text.insert_str(0, "\x1b[H\x1b[2J");
        }
        text.push_str(&format!(
            "(surveyed again every {} s; Ctrl-C stops)\n",
            interval.clamp(WATCH_BOUNDS.0, WATCH_BOUNDS.1).as_secs_f64()
        ));
    }
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
    Ok(Survey {
        consistent: problems.is_empty(),
        interval,
    })
}
