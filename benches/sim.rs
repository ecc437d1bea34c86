//! `make sim`: the deterministic simulator over a batch of seeds, or one
//! seed replayed with its trace.
//!
//! ```text
//! cargo bench --bench sim -- [--seeds N] [--peers P] [--seed S]
//!                            [--scenario NAME] [--threads T] [--trace]
//! ```
//!
//! Standard output is the report (`tests/sim/report.rs`), the same bytes
//! for the same arguments; its last line is
//! `sim: <seeds> seeds, <peers> peers, <events> events, <violations> violations`.
//! The exit code is 1 if any run found a violation. `SIM_TRACE=1` is
//! `--trace`; `SIM_TRACE=pings` traces the pings too.

#[path = "../tests/sim/mod.rs"]
mod sim;

use std::process::ExitCode;
use std::time::Instant;

use sim::report::{self, Request};
use sim::scenarios::Scenario;
use sim::trace::{TraceConfig, TraceMode};
use sim::{BatchConfig, RunConfig};

/// How many events before the first violation a replay shows.
const TRACE_TAIL: usize = 200;

/// The command line, read.
struct Arguments {
    seeds: u64,
    peers: usize,
    seed: Option<u64>,
    scenario: Option<Scenario>,
    threads: usize,
    trace: bool,
}

fn parse_arguments() -> Result<Arguments, String> {
    let mut arguments = Arguments {
        seeds: 100,
        peers: 64,
        seed: None,
        scenario: None,
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        trace: false,
    };
    let mut words = std::env::args().skip(1);
    while let Some(word) = words.next() {
        let mut value = |name: &str| {
            words
                .next()
                .filter(|v| !v.is_empty())
                .ok_or(format!("{name} needs a value"))
        };
        match word.as_str() {
            "--seeds" => arguments.seeds = number(&value("--seeds")?)?,
            "--peers" => arguments.peers = number(&value("--peers")?)?,
            "--seed" => arguments.seed = Some(number(&value("--seed")?)?),
            "--threads" => arguments.threads = number(&value("--threads")?)?,
            "--scenario" => {
                let name = value("--scenario")?;
                let scenario = Scenario::from_name(&name).ok_or_else(|| {
                    let names: Vec<&str> = Scenario::ALL.iter().map(|s| s.name()).collect();
                    format!(
                        "no scenario {name:?}; the scenarios are {}",
                        names.join(", ")
                    )
                })?;
                arguments.scenario = Some(scenario);
            }
            "--trace" => arguments.trace = true,
            // Cargo passes `--bench` to every benchmark it runs.
            "--bench" => {}
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if !(4..=256).contains(&arguments.peers) {
        return Err(format!("--peers must be 4 to 256, not {}", arguments.peers));
    }
    Ok(arguments)
}

fn number<T: std::str::FromStr>(text: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("{text:?} is not a number"))
}

fn main() -> ExitCode {
    let arguments = match parse_arguments() {
        Ok(arguments) => arguments,
        Err(error) => {
            eprintln!("sim: {error}");
            return ExitCode::from(2);
        }
    };
    let trace_variable = std::env::var("SIM_TRACE").unwrap_or_default();
    let pings = trace_variable == "pings";
    let full_trace = arguments.trace || trace_variable == "1" || pings;
    let request = Request {
        peers: arguments.peers,
        forced_scenario: arguments.scenario,
    };
    let started = Instant::now();
    let outcomes = match arguments.seed {
        Some(seed) => {
            let mode = if full_trace {
                TraceMode::Full
            } else {
                TraceMode::Tail(TRACE_TAIL)
            };
            let outcome = sim::run_seed(RunConfig {
                seed,
                peers: arguments.peers,
                scenario: arguments.scenario,
                trace: TraceConfig { mode, pings },
            });
            vec![outcome]
        }
        None => sim::run_batch(BatchConfig {
            first_seed: 0,
            seeds: arguments.seeds,
            peers: arguments.peers,
            scenario: arguments.scenario,
            threads: arguments.threads,
        }),
    };
    let elapsed = started.elapsed();
    let mut outcomes = outcomes;
    if arguments.seed.is_some() {
        let outcome = &mut outcomes[0];
        let trace = std::mem::replace(
            &mut outcome.result.trace,
            sim::trace::Trace::new(TraceConfig::OFF),
        );
        if full_trace {
            println!("trace of seed {}:", outcome.seed);
            for line in trace.into_lines() {
                println!("  {line}");
            }
        } else if let Some(tail) = trace.at_first_violation.clone() {
            println!(
                "trace of seed {}: the last {} events before the first violation \
                 (--trace or SIM_TRACE=1 for all of them):",
                outcome.seed,
                tail.len()
            );
            for line in tail {
                println!("  {line}");
            }
        }
    }
    print!("{}", report::render(&outcomes, request));
    eprint!("{}", report::render_speed(&outcomes));
    eprintln!(
        "sim: {:.1} s of wall-clock time on {} threads",
        elapsed.as_secs_f64(),
        if arguments.seed.is_some() {
            1
        } else {
            arguments.threads
        }
    );
    let violations: usize = outcomes.iter().map(|o| o.result.violations.len()).sum();
    if violations > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
