//! The simulator's scenarios as ordinary tests: each at a small size over
//! a few seeds, and a short random batch. `make sim` runs the same
//! scenarios over many more seeds and bigger rings; see `tests/sim/`.
//!
//! A failing test prints each violation with its virtual time and the
//! command that replays the seed with a trace.

mod sim;

use sim::scenarios::{Scenario, TEACHING_RING};
use sim::trace::TraceConfig;
use sim::{BatchConfig, Outcome, RunConfig};

/// Runs `scenario` over `seeds` seeds on rings of `peers` peers and fails
/// with every violation found.
fn check(scenario: Scenario, peers: usize, seeds: u64) {
    let outcomes: Vec<Outcome> = (0..seeds)
        .map(|seed| {
            sim::run_seed(RunConfig {
                seed,
                peers,
                scenario: Some(scenario),
                trace: TraceConfig::OFF,
            })
        })
        .collect();
    assert_no_violations(&outcomes, peers, Some(scenario));
}

fn assert_no_violations(outcomes: &[Outcome], peers: usize, scenario: Option<Scenario>) {
    let failing: Vec<String> = outcomes
        .iter()
        .filter(|o| !o.result.violations.is_empty())
        .map(|o| {
            let forced = scenario.map_or(String::new(), |s| format!(" SCENARIO={}", s.name()));
            format!(
                "{}  replay: make sim SEED={} PEERS={peers}{forced}\n",
                sim::describe_violations(o),
                o.seed
            )
        })
        .collect();
    assert!(failing.is_empty(), "\n{}", failing.concat());
}

const TEACHING: usize = TEACHING_RING.len();

#[test]
fn two_adjacent_peers_killed_at_r2() {
    check(Scenario::AdjacentKills, TEACHING, 3);
    check(Scenario::AdjacentKills, 24, 3);
}

#[test]
fn a_peer_restarted_after_300_ms() {
    check(Scenario::RestartAfter300Ms, TEACHING, 3);
}

#[test]
fn a_peer_restarted_after_1_s() {
    check(Scenario::RestartAfter1S, TEACHING, 3);
}

#[test]
fn a_peer_restarted_after_2_s() {
    check(Scenario::RestartAfter2S, TEACHING, 3);
}

#[test]
fn a_forged_join_leaves_no_hole() {
    check(Scenario::ForgedJoin, TEACHING, 3);
}

#[test]
fn a_forged_leave_cuts_nobody_out() {
    check(Scenario::ForgedLeave, TEACHING, 3);
}

#[test]
fn a_frozen_peer_resumed_rejoins() {
    check(Scenario::FreezeResume, TEACHING, 3);
}

#[test]
fn slow_churn() {
    check(Scenario::ChurnSlow, 16, 3);
}

#[test]
fn medium_churn() {
    check(Scenario::ChurnMedium, 16, 3);
}

#[test]
fn fast_churn() {
    check(Scenario::ChurnFast, 16, 3);
}

#[test]
fn lookups_are_typed_and_counted_during_churn() {
    let outcome = sim::run_seed(RunConfig {
        seed: 7,
        peers: 16,
        scenario: Some(Scenario::ChurnMedium),
        trace: TraceConfig::OFF,
    });
    let tally = &outcome.result.lookups;
    assert!(tally.churn_events > 0, "no churn happened: {tally:?}");
    assert!(tally.lookups > 0, "no lookup was counted: {tally:?}");
    assert!(tally.failed() <= tally.lookups, "{tally:?}");
}

#[test]
fn adjacent_failures_at_r3_and_more_leave_no_gap() {
    check(Scenario::AdjacentKillsWide, TEACHING, 3);
    check(Scenario::AdjacentKillsWide, 24, 3);
}

#[test]
fn a_partition_that_heals() {
    check(Scenario::PartitionHeals, 16, 3);
}

#[test]
fn lost_datagrams() {
    check(Scenario::DatagramLoss, 16, 3);
}

#[test]
fn a_ring_started_one_peer_after_another_hears_its_successors_within_seconds() {
    check(Scenario::StaggeredStart, TEACHING, 4);
    let outcome = sim::run_seed(RunConfig {
        seed: 1,
        peers: TEACHING,
        scenario: Some(Scenario::StaggeredStart),
        trace: TraceConfig::OFF,
    });
    let answers = &outcome.result.first_answers;
    assert_eq!(answers.len(), TEACHING, "{answers:?}");
    assert!(
        answers.iter().all(|a| a.heard_both.is_some()),
        "{answers:?}"
    );
}

#[test]
fn a_random_batch() {
    let peers = 32;
    let outcomes = sim::run_batch(BatchConfig {
        first_seed: 1000,
        seeds: 16,
        peers,
        scenario: None,
        threads: 2,
    });
    assert_no_violations(&outcomes, peers, None);
}

#[test]
fn the_same_seed_replays_the_same_run() {
    let run = || {
        sim::run_seed(RunConfig {
            seed: 42,
            peers: 32,
            scenario: Some(Scenario::ChurnMedium),
            trace: TraceConfig::OFF,
        })
    };
    let (first, second) = (run(), run());
    assert_eq!(first.result.events, second.result.events);
    assert_eq!(first.result.violations, second.result.violations);
    assert_eq!(first.result.convergence, second.result.convergence);
    assert_eq!(first.result.lookups, second.result.lookups);
}

#[test]
fn replicas_survive_one_kill() {
    check(Scenario::ReplicasKill, TEACHING, 3);
    check(Scenario::ReplicasKill, 24, 3);
}

#[test]
fn replicas_survive_k_minus_1_adjacent_kills_repeated() {
    check(Scenario::ReplicasAdjacentKills, 24, 4);
}

#[test]
fn files_follow_joins_and_quits() {
    check(Scenario::ReplicasJoinQuit, 24, 4);
}

#[test]
fn replicas_survive_churn_within_the_assumption() {
    check(Scenario::ReplicasChurn, 24, 4);
}

#[test]
fn losses_beyond_the_assumption_are_measured_not_violations() {
    check(Scenario::ReplicasKFailures, 24, 3);
    let outcome = sim::run_seed(RunConfig {
        seed: 0,
        peers: 24,
        scenario: Some(Scenario::ReplicasKFailures),
        trace: TraceConfig::OFF,
    });
    let copies = &outcome.result.copies;
    assert!(copies.files_stored > 0, "no file was stored: {copies:?}");
    assert!(copies.files_lost <= copies.files_stored, "{copies:?}");
}
