//! What `make sim` prints: figures by scenario, the failed lookups against
//! the churn rate, then every violation with the command that replays it,
//! then one summary line.
//!
//! Standard output depends only on the seeds, so the same seeds print the
//! same bytes; what depends on the machine (how many events a second it
//! simulates) goes to standard error.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use super::Outcome;
use super::invariants::{Failure, KILL_DETECTION_BOUND, freeze_detection_bound};
use super::lookups::{LOOKUP_TIMEOUT, LookupTally};
use super::scenarios::{KILLED_SHARES, PING_INTERVAL, Scenario};

/// At most this many violations of one seed are printed; the count says
/// how many more there were.
const VIOLATIONS_SHOWN_PER_SEED: usize = 5;

/// How a batch was asked for, to spell the replay command.
#[derive(Clone, Copy, Debug)]
pub struct Request {
    pub peers: usize,
    /// Set when the scenario was chosen with `SCENARIO=` rather than from
    /// each seed, so that the replay command must say it too.
    pub forced_scenario: Option<Scenario>,
}

/// The figures of one list of measurements.
struct Figures {
    count: usize,
    median: f64,
    p99: f64,
    worst: f64,
}

impl Figures {
    fn of(mut values: Vec<f64>) -> Option<Figures> {
        if values.is_empty() {
            return None;
        }
        values.sort_by(f64::total_cmp);
        let at = |quantile: f64| {
            let rank = (quantile * values.len() as f64).ceil() as usize;
            values[rank.clamp(1, values.len()) - 1]
        };
        Some(Figures {
            count: values.len(),
            median: at(0.5),
            p99: at(0.99),
            worst: values[values.len() - 1],
        })
    }
}

/// The report for standard output; see the module documentation.
pub fn render(outcomes: &[Outcome], request: Request) -> String {
    let mut out = String::new();
    let mut by_scenario: BTreeMap<Scenario, Vec<&Outcome>> = BTreeMap::new();
    for outcome in outcomes {
        by_scenario
            .entry(outcome.scenario)
            .or_default()
            .push(outcome);
    }
    for (scenario, runs) in &by_scenario {
        render_scenario(&mut out, *scenario, runs);
    }
    render_lookups(&mut out, &by_scenario);
    render_churn_losses(&mut out, &by_scenario);
    render_k_failures(&mut out, &by_scenario);
    let mut violations = 0;
    for outcome in outcomes {
        violations += outcome.result.violations.len();
        render_violations(&mut out, outcome, request);
    }
    let events: u64 = outcomes.iter().map(|o| o.result.events).sum();
    let _ = writeln!(
        out,
        "sim: {} seeds, {} peers, {events} events, {violations} violations",
        outcomes.len(),
        request.peers
    );
    out
}

fn render_scenario(out: &mut String, scenario: Scenario, runs: &[&Outcome]) {
    let violations: usize = runs.iter().map(|o| o.result.violations.len()).sum();
    let failing = runs
        .iter()
        .filter(|o| !o.result.violations.is_empty())
        .count();
    let events: u64 = runs.iter().map(|o| o.result.events).sum();
    let _ = writeln!(
        out,
        "{}: {} seeds, {failing} failing, {violations} violations, {events} events",
        scenario.name(),
        runs.len()
    );
    // Every run of a scenario has the same interval.
    let interval = runs
        .first()
        .map_or(PING_INTERVAL, |o| o.result.ping_interval)
        .as_secs_f64();
    let bound = bound_in_intervals(runs, interval);
    let convergence: Vec<f64> = runs
        .iter()
        .filter_map(|o| o.result.convergence)
        .map(|d| d.as_secs_f64() / interval)
        .collect();
    let converged = convergence.len();
    // What is left of each seed's own bound, since the bound may differ
    // between seeds; below zero, a seed exceeded it.
    let least_room = runs
        .iter()
        .filter_map(|o| {
            let measured = o.result.convergence?;
            Some((o.result.convergence_bound.as_secs_f64() - measured.as_secs_f64()) / interval)
        })
        .fold(f64::INFINITY, f64::min);
    match Figures::of(convergence) {
        Some(f) => {
            let _ = writeln!(
                out,
                "  convergence after the last fault: median {:.2}, p99 {:.2}, worst {:.2} \
                 intervals (bound {bound}; least room {least_room:.2}; {converged} of {} seeds \
                 converged)",
                f.median,
                f.p99,
                f.worst,
                runs.len()
            );
        }
        None => {
            let _ = writeln!(
                out,
                "  convergence after the last fault: no seed converged (bound {bound} intervals)"
            );
        }
    }
    for (failure, name, bound) in [
        (Failure::Kill, "kill", KILL_DETECTION_BOUND),
        (
            Failure::Freeze,
            "freeze",
            freeze_detection_bound(PING_INTERVAL),
        ),
    ] {
        let detections: Vec<_> = runs
            .iter()
            .flat_map(|o| o.result.detections.iter())
            .filter(|d| d.failure == failure)
            .collect();
        if detections.is_empty() {
            continue;
        }
        let overtaken = detections.iter().filter(|d| d.overtaken).count();
        let missed = detections
            .iter()
            .filter(|d| d.declared_after.is_none() && !d.overtaken)
            .count();
        let times: Vec<f64> = detections
            .iter()
            .filter_map(|d| d.declared_after)
            .map(|d| d.as_secs_f64() * 1000.0)
            .collect();
        let line = match Figures::of(times) {
            Some(f) => format!(
                "  detection of a {name} by each holder: {} declared, median {:.1} ms, p99 \
                 {:.1} ms, worst {:.1} ms (bound {} ms); {missed} missed, {overtaken} overtaken \
                 (the holder ended or the peer came back first)",
                f.count,
                f.median,
                f.p99,
                f.worst,
                bound.as_millis()
            ),
            None => format!(
                "  detection of a {name} by each holder: none of {} declared (bound {} ms); \
                 {overtaken} overtaken",
                detections.len(),
                bound.as_millis()
            ),
        };
        let _ = writeln!(out, "{line}");
    }
    render_first_answers(out, runs);
    render_files(out, runs);
}

/// In a ring started one peer after another: how long after its start
/// each peer had heard both its successors answer, and the least room left
/// to its deadline (`invariants::first_answer_deadline`).
fn render_first_answers(out: &mut String, runs: &[&Outcome]) {
    let answers: Vec<_> = runs
        .iter()
        .flat_map(|o| o.result.first_answers.iter())
        .collect();
    if answers.is_empty() {
        return;
    }
    let missed = answers.iter().filter(|a| a.heard_both.is_none()).count();
    let times: Vec<f64> = answers
        .iter()
        .filter_map(|a| a.heard_both.map(|heard| (heard - a.started).as_secs_f64()))
        .collect();
    let least_room = answers
        .iter()
        .filter_map(|a| {
            let heard = a.heard_both?.as_secs_f64();
            Some(a.deadline().as_secs_f64() - heard)
        })
        .fold(f64::INFINITY, f64::min);
    let line = match Figures::of(times) {
        Some(f) => format!(
            "  both successors heard, after the peer's start: median {:.2} s, p99 {:.2} s, \
             worst {:.2} s (least room to the deadline {least_room:.2} s); {missed} of {} \
             peers never heard both",
            f.median,
            f.p99,
            f.worst,
            answers.len()
        ),
        None => format!(
            "  both successors heard, after the peer's start: none of {} peers heard both",
            answers.len()
        ),
    };
    let _ = writeln!(out, "{line}");
}

/// Median, p99 and worst of some durations, in intervals and in seconds.
fn durations(values: &[Duration]) -> Option<String> {
    let interval = PING_INTERVAL.as_secs_f64();
    let f = Figures::of(values.iter().map(Duration::as_secs_f64).collect())?;
    Some(format!(
        "median {:.2}, p99 {:.2}, worst {:.2} intervals ({:.2} s, {:.2} s, {:.2} s; {} measured)",
        f.median / interval,
        f.p99 / interval,
        f.worst / interval,
        f.median,
        f.p99,
        f.worst,
        f.count
    ))
}

/// The ring's files of a replica scenario, by K: how many were lost, how
/// long the ring took to have K copies of every file again after a kill,
/// and how long a newcomer took to hold its files.
fn render_files(out: &mut String, runs: &[&Outcome]) {
    let interval = PING_INTERVAL.as_secs_f64();
    for replicas in 1..=3 {
        let of_k: Vec<_> = runs
            .iter()
            .map(|o| &o.result.copies)
            .filter(|c| c.replicas == replicas)
            .collect();
        if of_k.is_empty() {
            continue;
        }
        let stored: u32 = of_k.iter().map(|c| c.files_stored).sum();
        let lost: u32 = of_k.iter().map(|c| c.files_lost).sum();
        let violations = if of_k.iter().all(|c| c.losses_are_violations) {
            "each one a violation"
        } else {
            "measured, not violations"
        };
        let bound = of_k
            .iter()
            .map(|c| c.placement_bound.as_secs_f64() / interval)
            .fold(0.0, f64::max);
        let _ = writeln!(
            out,
            "  K = {replicas}: {} seeds, {stored} files stored, {lost} lost ({violations}); \
             placement bound after the last fault up to {bound:.2} intervals",
            of_k.len()
        );
        let repairs: Vec<Duration> = of_k.iter().flat_map(|c| c.repairs.clone()).collect();
        let overtaken: u32 = of_k.iter().map(|c| c.repairs_overtaken).sum();
        let unfinished: u32 = of_k.iter().map(|c| c.repairs_unfinished).sum();
        if let Some(figures) = durations(&repairs) {
            let _ = writeln!(
                out,
                "    K copies of every file again after a kill: {figures}; {overtaken} \
                 overtaken by another kill, {unfinished} not done by the end"
            );
        } else if unfinished > 0 {
            let _ = writeln!(
                out,
                "    K copies of every file again after a kill: never ({unfinished} repairs not \
                 done by the end)"
            );
        }
        let newcomers: Vec<Duration> = of_k.iter().flat_map(|c| c.newcomers.clone()).collect();
        if let Some(figures) = durations(&newcomers) {
            let _ = writeln!(
                out,
                "    a newcomer holds the files of its arc as NNNN.pdf, from its join: {figures}"
            );
        }
    }
}

/// The table of files lost per 1,000 churn events in `ReplicasChurn`, at
/// each K.
fn render_churn_losses(out: &mut String, by_scenario: &BTreeMap<Scenario, Vec<&Outcome>>) {
    let Some(runs) = by_scenario.get(&Scenario::ReplicasChurn) else {
        return;
    };
    let _ = writeln!(
        out,
        "files lost per 1,000 churn events at K = 1, 2, 3 (replicas-churn: random joins, kills \
         and quits, departures at least a repair window apart; losses are violations at K >= 2):"
    );
    for replicas in 1..=3 {
        let of_k: Vec<_> = runs
            .iter()
            .map(|o| &o.result.copies)
            .filter(|c| c.replicas == replicas)
            .collect();
        let events: u32 = of_k.iter().map(|c| c.churn_events).sum();
        let stored: u32 = of_k.iter().map(|c| c.files_stored).sum();
        let lost: u32 = of_k.iter().map(|c| c.files_lost).sum();
        let per_thousand = 1000.0 * f64::from(lost) / f64::from(events.max(1));
        let share = 100.0 * f64::from(lost) / f64::from(stored.max(1));
        let _ = writeln!(
            out,
            "  K = {replicas}: {per_thousand:.1} files lost per 1,000 churn events ({lost} lost in \
             {events} churn events over {} seeds; {share:.2}% of {stored} files stored)",
            of_k.len()
        );
    }
}

/// The table of `ReplicasKFailures`: the share of files lost when a share
/// p of the peers is killed at once, against the estimate p^K (all K
/// holders of a file among the killed).
fn render_k_failures(out: &mut String, by_scenario: &BTreeMap<Scenario, Vec<&Outcome>>) {
    let Some(runs) = by_scenario.get(&Scenario::ReplicasKFailures) else {
        return;
    };
    let _ = writeln!(
        out,
        "loss with K failing at once: measured vs p^K (replicas-k-failures: a share p of the \
         peers killed at one moment, R = 3):"
    );
    for share in KILLED_SHARES {
        let mut cells = Vec::new();
        for replicas in 1..=3 {
            let of_cell: Vec<_> = runs
                .iter()
                .map(|o| &o.result.copies)
                .filter(|c| c.replicas == replicas && c.killed_share == Some(share))
                .collect();
            let stored: u32 = of_cell.iter().map(|c| c.files_stored).sum();
            let lost: u32 = of_cell.iter().map(|c| c.files_lost).sum();
            let estimate = share.powi(replicas as i32);
            cells.push(if stored == 0 {
                format!("K = {replicas}: no seed (p^K {estimate:.4})")
            } else {
                format!(
                    "K = {replicas}: {:.4} vs {estimate:.4} ({lost} of {stored} files, {} seeds)",
                    f64::from(lost) / f64::from(stored),
                    of_cell.len()
                )
            });
        }
        let _ = writeln!(out, "  p = {share:.1}: {}", cells.join("; "));
    }
}

/// The failed lookups against the churn rate, one line a churn scenario
/// (see `lookups.rs`); nothing when the batch has no churn.
fn render_lookups(out: &mut String, by_scenario: &BTreeMap<Scenario, Vec<&Outcome>>) {
    let mut lines = Vec::new();
    for (scenario, runs) in by_scenario {
        let mut tally = LookupTally::default();
        for outcome in runs {
            tally.add(&outcome.result.lookups);
        }
        if tally.churn_window.is_zero() {
            continue;
        }
        let intervals = tally.churn_window.as_secs_f64() / PING_INTERVAL.as_secs_f64();
        let rate = f64::from(tally.churn_events) / intervals;
        let share = 100.0 * f64::from(tally.failed()) / f64::from(tally.lookups.max(1));
        lines.push(format!(
            "  {}: {rate:.2} churn events per interval, {} lookups, {} failed ({share:.2}%): \
             {} unanswered, {} answered not found; {} not counted (the requester ended first)",
            scenario.name(),
            tally.lookups,
            tally.failed(),
            tally.timed_out,
            tally.wrong_peer,
            tally.requester_ended
        ));
    }
    if lines.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "failed lookups against churn: Requests typed at random live members during the churn, \
         for files the responsible peer holds; failed if unanswered within {} s or answered \
         not found (churn events: joins, restarts, kills, quits):",
        LOOKUP_TIMEOUT.as_secs()
    );
    for line in lines {
        let _ = writeln!(out, "{line}");
    }
}

/// The convergence bound of a scenario's runs, in intervals: one figure,
/// or the range when the successor count differs between seeds.
fn bound_in_intervals(runs: &[&Outcome], interval: f64) -> String {
    let bounds: Vec<f64> = runs
        .iter()
        .map(|o| o.result.convergence_bound.as_secs_f64() / interval)
        .collect();
    let least = bounds.iter().copied().fold(f64::INFINITY, f64::min);
    let most = bounds.iter().copied().fold(0.0, f64::max);
    if most - least < 0.005 {
        format!("{most:.2}")
    } else {
        format!("{least:.2} to {most:.2}, by R")
    }
}

fn render_violations(out: &mut String, outcome: &Outcome, request: Request) {
    let violations = &outcome.result.violations;
    if violations.is_empty() {
        return;
    }
    for violation in violations.iter().take(VIOLATIONS_SHOWN_PER_SEED) {
        let _ = writeln!(
            out,
            "violation: seed {} ({}, {} peers) at {}: {}",
            outcome.seed,
            outcome.scenario.name(),
            request.peers,
            seconds(violation.at),
            violation.what
        );
    }
    if violations.len() > VIOLATIONS_SHOWN_PER_SEED {
        let _ = writeln!(
            out,
            "  ... and {} more violations in seed {}",
            violations.len() - VIOLATIONS_SHOWN_PER_SEED,
            outcome.seed
        );
    }
    let scenario = match request.forced_scenario {
        Some(scenario) => format!(" SCENARIO={}", scenario.name()),
        None => String::new(),
    };
    let _ = writeln!(
        out,
        "  replay: make sim SEED={} PEERS={}{scenario}",
        outcome.seed, request.peers
    );
}

/// A virtual time in seconds, to the microsecond.
pub fn seconds(at: Duration) -> String {
    format!("{}.{:06} s", at.as_secs(), at.subsec_micros())
}

/// The machine-dependent figures, for standard error: simulated events a
/// second of wall-clock time, by scenario.
pub fn render_speed(outcomes: &[Outcome]) -> String {
    let mut by_scenario: BTreeMap<Scenario, (u64, Duration)> = BTreeMap::new();
    for outcome in outcomes {
        let entry = by_scenario.entry(outcome.scenario).or_default();
        entry.0 += outcome.result.events;
        entry.1 += outcome.wall_time;
    }
    let mut out = String::new();
    for (scenario, (events, wall)) in by_scenario {
        let rate = events as f64 / wall.as_secs_f64().max(1e-9);
        let _ = writeln!(
            out,
            "sim speed: {}: {events} events in {:.2} s of one thread, {:.0} events/s",
            scenario.name(),
            wall.as_secs_f64(),
            rate
        );
    }
    out
}
