//! A deterministic simulator of whole rings, in the style of FoundationDB's
//! and TigerBeetle's: the real `Peer` state machines, hundreds at once, in
//! one process, on a virtual clock, over a made-up network, with every
//! random choice drawn from one seed.
//!
//! Why: a ring of real processes shows a bug once in a hundred runs, and
//! never the same way twice. Here a run of 256 peers over a minute of
//! virtual time takes well under a second, so thousands of runs with
//! faults (kills, freezes, partitions, lost datagrams, churn) are cheap,
//! and a failing seed replays exactly, as often as needed, with a trace.
//! Nothing in `src/` knows it is simulated: the simulator only hands the
//! peers events and carries out their actions, as `src/node/mod.rs` does.
//!
//! The parts:
//!
//! - [`rng`]: the seeded generator;
//! - [`network`]: latency, loss, duplication, partitions;
//! - [`files`]: the peers' directories;
//! - [`census`]: the checker's verdict (`p2p ring`) on the settled ring;
//! - [`copies`]: the ring's files and their copies, in the replica
//!   scenarios;
//! - [`faults`]: what a scenario does to the ring;
//! - [`scenarios`]: the named scenarios, each planned from a seed;
//! - [`world`]: the peers, the event queue and the virtual clock;
//! - [`invariants`]: what must hold, with its bounds, and the figures;
//! - [`lookups`]: the lookups typed during churn, and how many fail;
//! - [`trace`]: what happened, for debugging a seed;
//! - [`report`]: what `make sim` prints.
//!
//! `tests/simulation.rs` runs each scenario at a small size as an ordinary
//! test; `benches/sim.rs` is `make sim`.

#![allow(dead_code)]

pub mod census;
pub mod copies;
pub mod faults;
pub mod files;
pub mod invariants;
pub mod lookups;
pub mod network;
pub mod report;
pub mod rng;
pub mod scenarios;
pub mod trace;
pub mod world;

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use rng::Rng;
use scenarios::{Plan, Scenario};
use trace::TraceConfig;
use world::{RunResult, World};

/// One run to make.
#[derive(Clone, Copy, Debug)]
pub struct RunConfig {
    pub seed: u64,
    pub peers: usize,
    /// The scenario; when `None`, the seed chooses it.
    pub scenario: Option<Scenario>,
    pub trace: TraceConfig,
}

/// What one run found.
#[derive(Debug)]
pub struct Outcome {
    pub seed: u64,
    pub scenario: Scenario,
    pub result: RunResult,
    /// How long the run took on this machine: for standard error only.
    pub wall_time: Duration,
}

/// The scenario a seed chooses, when none is given.
pub fn scenario_of_seed(seed: u64) -> Scenario {
    // A generator of its own, so that choosing the scenario draws nothing
    // from the generators of the plan and of the run.
    let mut choice = Rng::new(seed ^ 0x5CE0_A410_5CE0_A410);
    Scenario::ALL[choice.index(Scenario::ALL.len())]
}

/// Makes one run. The same configuration always gives the same outcome
/// (but for its wall time).
pub fn run_seed(config: RunConfig) -> Outcome {
    let started = Instant::now();
    let scenario = config
        .scenario
        .unwrap_or_else(|| scenario_of_seed(config.seed));
    let mut seeds = Rng::new(config.seed);
    let mut planning = seeds.fork();
    let running = seeds.fork();
    let plan = Plan::build(scenario, config.peers, &mut planning);
    let result = World::new(plan, running, config.trace).run();
    Outcome {
        seed: config.seed,
        scenario,
        result,
        wall_time: started.elapsed(),
    }
}

/// A batch of runs: the seeds `first_seed..first_seed + seeds`.
#[derive(Clone, Copy, Debug)]
pub struct BatchConfig {
    pub first_seed: u64,
    pub seeds: u64,
    pub peers: usize,
    pub scenario: Option<Scenario>,
    /// How many runs go on at once; each run is on one thread.
    pub threads: usize,
}

/// Makes every run of a batch, on several threads, and returns the
/// outcomes in seed order, whatever order they finished in.
pub fn run_batch(config: BatchConfig) -> Vec<Outcome> {
    let next = AtomicUsize::new(0);
    let outcomes = Mutex::new(Vec::new());
    let threads = config.threads.clamp(1, 64);
    thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed) as u64;
                    if index >= config.seeds {
                        return;
                    }
                    let outcome = run_seed(RunConfig {
                        seed: config.first_seed + index,
                        peers: config.peers,
                        scenario: config.scenario,
                        trace: TraceConfig::OFF,
                    });
                    outcomes
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(outcome);
                }
            });
        }
    });
    let mut outcomes = outcomes.into_inner().unwrap_or_else(|e| e.into_inner());
    outcomes.sort_by_key(|outcome| outcome.seed);
    outcomes
}

/// A one-line account of a run's violations, for a test's failure message.
pub fn describe_violations(outcome: &Outcome) -> String {
    let mut text = format!(
        "seed {} ({}): {} violations\n",
        outcome.seed,
        outcome.scenario.name(),
        outcome.result.violations.len()
    );
    for violation in &outcome.result.violations {
        text.push_str(&format!(
            "  at {}: {}\n",
            report::seconds(violation.at),
            violation.what
        ));
    }
    text
}
