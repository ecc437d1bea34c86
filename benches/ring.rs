//! The ring benchmark, run by `make bench` (that is, `cargo bench --bench
//! ring`).
//!
//! It starts real rings of `p2p` peers on the loopback interface with the
//! black-box test harness, and prints three sets of figures:
//!
//! 1. how long the two predecessors of a peer take to declare it dead after
//!    it is killed (`kill -9`) or frozen (`kill -STOP`), at three ping
//!    intervals, next to the bounds that follow from the detection rules
//!    (`BY_PINGS` and `AFTER_PORT_CLOSED` in `src/peer/liveness.rs`);
//! 2. how long a newcomer takes to be accepted into a running ring;
//! 3. what an idle peer costs: resident memory, threads and CPU time;
//! 4. how long `p2p ring` takes to survey and judge the ring, settled and
//!    with one peer frozen.
//!
//! It asserts nothing about speed: it measures and prints. It panics only
//! when a run goes wrong (a line never appears within a generous deadline),
//! and the harness then shows what every peer printed.
//!
//! `cargo bench --bench ring -- detection` runs only the first section;
//! the others are `join`, `idle` and `checker`. `benches/stress.rs` measures the same
//! ring under load, floods and two failures at once.
//!
//! Each trial has a ring of its own, and the trials of one row run at the
//! same time, so the whole benchmark takes about three minutes although a
//! single 30 s trial can last half a minute. Nothing sleeps to wait for
//! something to happen: every wait is for a line that a peer prints. The two
//! deliberate sleeps set the phase of a failure in the ping cycle and make
//! the idle measurement window; both are marked where they are.

#[path = "../tests/common/mod.rs"]
mod common;
mod support;

use support::rings::{
    Sections, TEACHING_RING, clock_ticks_per_second, cpu_ticks, generous, ids_text, phase_offset,
    response_line, run_at_once, start_teaching_ring, status_field, time_of_line,
    wait_until_settled,
};
use support::{median, millis, print_heading, print_machine, worst};

use std::thread;
use std::time::{Duration, Instant};

use common::{Ring, predecessors};
use p2p::peer::{AFTER_PORT_CLOSED, BY_PINGS};

/// The peer that is killed or frozen in the failure trials.
const VICTIM: u8 = 14;

/// The newcomer of the join trials, and the peer it knows.
const NEWCOMER: u8 = 15;
const KNOWN: u8 = 4;

/// The ping interval of the join trials, in seconds.
const JOIN_INTERVAL: f64 = 1.0;

/// The peer whose resources are measured, and the ping intervals it is
/// measured at, in seconds.
const IDLE_PEER: u8 = 9;
const IDLE_INTERVALS: [f64; 2] = [1.0, 5.0];

/// How long an idle peer's CPU time is counted.
const IDLE_WINDOW: Duration = Duration::from_secs(60);

/// The ping intervals of the failure trials, in seconds: short, the
/// default of `make run-ring`, and the course's.
const DETECTION_INTERVALS: [f64; 3] = [1.0, 5.0, 30.0];

/// Trials per figure. The trials of one row run at the same time, so this
/// is also the number of rings (of seven peers each) alive at once.
const TRIALS: u32 = 10;

/// The sections, in the order they run; name some after `--` to run only
/// those (see `support::rings::Sections`).
const SECTIONS: [&str; 4] = ["detection", "join", "idle", "checker"];

/// Surveys per figure of the checker section.
const SURVEYS: u32 = 20;

fn main() {
    let Some(sections) = Sections::from_args() else {
        println!("benches/ring.rs takes minutes: run it with `make bench`");
        return;
    };
    let started = Instant::now();
    print_machine("p2p ring benchmark, produced by `make bench` (cargo bench --bench ring)");
    println!("ring: {}", ids_text(&TEACHING_RING));
    sections.print(&SECTIONS);
    if sections.wants("detection") {
        print_detection();
    }
    if sections.wants("join") {
        print_join();
    }
    if sections.wants("idle") {
        print_idle_cost();
    }
    if sections.wants("checker") {
        print_checker();
    }
    println!();
    println!("total run time: {:.0} s", started.elapsed().as_secs_f64());
}

// ----- Rings -----

/// Starts the teaching ring for a trial of this benchmark: the victim
/// first (see `start_teaching_ring`), the newcomer's ports reserved.
fn start_ring(interval: f64) -> Ring {
    start_teaching_ring(interval, VICTIM, &[NEWCOMER], &[])
}

// ----- Statistics -----

/// Seconds with millisecond precision, right-aligned in 8 columns.
fn secs(duration: Duration) -> String {
    format!("{:>8.3}", duration.as_secs_f64())
}

// ----- 1. Failure detection -----

/// How the victim fails.
#[derive(Clone, Copy)]
enum Signal {
    /// `kill -9`: the process dies and the kernel closes its connections.
    Kill,
    /// `kill -STOP`: the process freezes, its connections stay open.
    Stop,
}

impl Signal {
    fn name(self) -> &'static str {
        match self {
            Signal::Kill => "kill -9",
            Signal::Stop => "kill -STOP",
        }
    }

    /// Sends the signal through the harness. `kill` signals the child
    /// directly; `stop` runs the `kill` command, so its signal lands a few
    /// milliseconds after the call, which the figures include. A stopped
    /// peer is continued and killed when its ring is dropped.
    fn send(self, ring: &mut Ring, peer: u8) {
        match self {
            Signal::Kill => ring.kill(peer),
            Signal::Stop => ring.freeze(peer),
        }
    }

    /// The bound that the detection rules give for this failure.
    ///
    /// A killed peer's watch connections close, its port refuses the
    /// watcher's new connection, and probes then go out at once and every
    /// probe spacing: the verdict is due a silence limit after the first
    /// one, and at most a probe spacing more when the ping that opened the
    /// silence was already on its way, so about 40-50 ms at any interval.
    fn bound(self, interval: f64) -> String {
        match self {
            Signal::Kill => {
                let limit = AFTER_PORT_CLOSED.silence_limit.as_millis();
                let spacing = AFTER_PORT_CLOSED.probe_spacing.as_millis();
                format!(
                    "~{limit}-{} ms (AFTER_PORT_CLOSED: probes {spacing} ms apart, dead after \
                     {limit} ms; any interval)",
                    limit + spacing
                )
            }
            Signal::Stop => format!(
                "<= {:.1} s (interval + BY_PINGS silence limit)",
                interval + BY_PINGS.silence_limit.as_secs_f64()
            ),
        }
    }
}

/// How long after the signal each predecessor of the victim printed that it
/// is no longer alive.
struct Detection {
    /// On the first predecessor (9 on the teaching ring).
    first: Duration,
    /// On the second predecessor (8).
    second: Duration,
}

impl Detection {
    /// The ring as a whole knows once both predecessors do.
    fn both(&self) -> Duration {
        self.first.max(self.second)
    }
}

fn print_detection() {
    let (first, second) = predecessors(&TEACHING_RING, VICTIM);
    print_heading(&[
        format!(
            "1. Failure detection: seconds (to the millisecond) from the signal to \"Peer \
             {VICTIM} is no longer alive\" on peer {first}"
        ),
        format!(
            "and on peer {second}, its first and second predecessors; \"both\" is the later \
             of the two lines"
        ),
        format!(
            "(the headline). Median and worst of {TRIALS} trials per row, each on a ring of its \
             own. Trial k"
        ),
        format!(
            "signals peer {VICTIM} k/{TRIALS} of an interval after {first} and {second} have \
             both heard it answer a ping,"
        ),
        "so that the failures land at every phase of the ping cycle. The clock starts just \
         before the"
            .to_string(),
        "signal (kill -STOP runs kill(1), a few ms more); a line counts when the harness reads it."
            .to_string(),
        "bound: from the rules BY_PINGS and AFTER_PORT_CLOSED (src/peer/liveness.rs), plus \
         scheduling."
            .to_string(),
    ]);
    println!(
        "{:<10} {:>8} | {:>17} | {:>17} | {:>17} | bound",
        "",
        "",
        "both",
        format!("peer {first}"),
        format!("peer {second}"),
    );
    println!(
        "{:<10} {:>8} | {:>8} {:>8} | {:>8} {:>8} | {:>8} {:>8} |",
        "signal", "interval", "median", "worst", "median", "worst", "median", "worst"
    );
    let mut rows = Vec::new();
    for signal in [Signal::Kill, Signal::Stop] {
        for interval in DETECTION_INTERVALS {
            let trials = run_at_once(TRIALS, |k| {
                detection_trial(signal, interval, phase_offset(interval, k, TRIALS))
            });
            print_detection_row(signal, interval, &trials);
            rows.push((signal, interval, trials));
        }
    }
    print_detection_by_phase(&rows);
}

/// One failure: a fresh ring with ping interval `interval`; once both
/// predecessors of the victim have heard it answer (a successor that never
/// answered is never declared dead), waits `offset`, signals the victim and
/// times the two "no longer alive" lines.
fn detection_trial(signal: Signal, interval: f64, offset: Duration) -> Detection {
    let (first, second) = predecessors(&TEACHING_RING, VICTIM);
    let mut ring = start_ring(interval);
    let timeout = generous(interval);
    for predecessor in [first, second] {
        ring.wait_for_line(predecessor, &response_line(VICTIM), timeout);
    }
    // A deliberate sleep, not a wait for something to happen: it sets where
    // in the ping cycle the failure lands, which is what the trials sample.
    thread::sleep(offset);
    let marks = [ring.mark(first), ring.mark(second)];
    let signalled_at = Instant::now();
    signal.send(&mut ring, VICTIM);
    let dead = format!("Peer {VICTIM} is no longer alive");
    let [first_at, second_at] = [(first, marks[0]), (second, marks[1])]
        .map(|(peer, mark)| time_of_line(&ring, peer, mark, &dead, timeout));
    Detection {
        first: first_at.saturating_duration_since(signalled_at),
        second: second_at.saturating_duration_since(signalled_at),
    }
}

fn print_detection_row(signal: Signal, interval: f64, trials: &[Detection]) {
    let both: Vec<Duration> = trials.iter().map(Detection::both).collect();
    let first: Vec<Duration> = trials.iter().map(|t| t.first).collect();
    let second: Vec<Duration> = trials.iter().map(|t| t.second).collect();
    println!(
        "{:<10} {:>6} s | {} {} | {} {} | {} {} | {}",
        signal.name(),
        interval,
        secs(median(&both)),
        secs(worst(&both)),
        secs(median(&first)),
        secs(worst(&first)),
        secs(median(&second)),
        secs(worst(&second)),
        signal.bound(interval),
    );
}

/// The headline latency of every trial, by phase, so that an outlier can be
/// traced to the moment its failure happened (and, for `kill -STOP`, the
/// latency be seen to shrink as the signal comes later in the cycle).
fn print_detection_by_phase(rows: &[(Signal, f64, Vec<Detection>)]) {
    println!();
    println!(
        "   \"both\" of each trial, in seconds, by k (the signal came k/{TRIALS} of an \
         interval after the pings):"
    );
    let phases: String = (0..TRIALS)
        .map(|k| format!(" {:>7}", format!("k={k}")))
        .collect();
    println!("{:<10} {:>8} |{phases}", "signal", "interval");
    for (signal, interval, trials) in rows {
        let latencies: String = trials
            .iter()
            .map(|trial| format!(" {:>7.3}", trial.both().as_secs_f64()))
            .collect();
        println!("{:<10} {:>6} s |{latencies}", signal.name(), interval);
    }
}

// ----- 2. Joining -----

fn print_join() {
    print_heading(&[
        format!(
            "2. Join latency: milliseconds from starting `p2p join {NEWCOMER} {KNOWN} \
             {JOIN_INTERVAL}` to its line"
        ),
        format!(
            "\"Join request has been accepted\", on a settled ring at interval {JOIN_INTERVAL} s: \
             the process starts,"
        ),
        "its JOIN is passed 4 -> 5 -> 8 -> 9 -> 14 over TCP, and 14 sends the WELCOME.".to_string(),
        format!(
            "{TRIALS} trials, each on a ring of its own, one after another so that the \
             newcomers do not"
        ),
        "compete for the cores.".to_string(),
    ]);
    let trials: Vec<Duration> = (0..TRIALS).map(|_| join_trial()).collect();
    println!(
        "{:>8} {:>8} {:>8} {:>8}",
        "trials", "median", "best", "worst"
    );
    let best = trials.iter().copied().min().unwrap_or_default();
    println!(
        "{:>8} {:>8.1} {:>8.1} {:>8.1}",
        trials.len(),
        millis(median(&trials)),
        millis(best),
        millis(worst(&trials)),
    );
}

/// One join into a fresh, settled ring.
fn join_trial() -> Duration {
    let mut ring = start_ring(JOIN_INTERVAL);
    wait_until_settled(&ring, JOIN_INTERVAL, 2);
    let spawned_at = Instant::now();
    ring.spawn_join(NEWCOMER, KNOWN, JOIN_INTERVAL);
    let accepted = "Join request has been accepted";
    let accepted_at = time_of_line(&ring, NEWCOMER, 0, accepted, generous(JOIN_INTERVAL));
    accepted_at.saturating_duration_since(spawned_at)
}

// ----- 4. The checker -----

fn print_checker() {
    print_heading(&[
        "4. p2p ring: milliseconds for one survey of the teaching ring at interval 1 s (every"
            .to_string(),
        "port of the range asked, each peer's view and files read, the verdict printed), on a"
            .to_string(),
        format!("settled ring and with peer {VICTIM} frozen (kill -STOP); {SURVEYS} surveys each."),
    ]);
    let mut ring = start_ring(JOIN_INTERVAL);
    wait_until_settled(&ring, JOIN_INTERVAL, 2);
    println!(
        "{:<10} {:>8} {:>8} {:>8} {:>8}",
        "ring", "surveys", "median", "best", "worst"
    );
    print_surveys("settled", &ring, 0);
    ring.freeze(VICTIM);
    print_surveys("frozen", &ring, 1);
    ring.thaw(VICTIM);
}

/// Times `SURVEYS` runs of `p2p ring` and prints a row; each run must end
/// with `expected_status`.
fn print_surveys(label: &str, ring: &Ring, expected_status: i32) {
    let base_port = ring.base_port().to_string();
    let trials: Vec<Duration> = (0..SURVEYS)
        .map(|_| {
            let started = Instant::now();
            let output = std::process::Command::new(env!("CARGO_BIN_EXE_p2p"))
                .args(["ring", "--base-port", &base_port])
                .output()
                .expect("p2p ring runs");
            let took = started.elapsed();
            assert_eq!(
                output.status.code(),
                Some(expected_status),
                "{}",
                String::from_utf8_lossy(&output.stdout)
            );
            took
        })
        .collect();
    let best = trials.iter().copied().min().unwrap_or_default();
    println!(
        "{label:<10} {:>8} {:>8.1} {:>8.1} {:>8.1}",
        trials.len(),
        millis(median(&trials)),
        millis(best),
        millis(worst(&trials)),
    );
}

// ----- 3. The cost of an idle peer -----

/// What one idle peer uses.
struct IdleCost {
    /// Resident memory at the end of the window, in KiB.
    rss_kib: u64,
    threads: u64,
    /// User and system CPU time over the window, in clock ticks.
    cpu_ticks: u64,
    /// The same, in milliseconds and scaled to one minute.
    cpu_ms_per_minute: f64,
    window: Duration,
}

fn print_idle_cost() {
    let (ticks_per_second, source) = clock_ticks_per_second();
    print_heading(&[
        format!(
            "3. Idle peer cost: peer {IDLE_PEER} of a settled ring of seven, left alone for {} s \
             (both rings at once).",
            IDLE_WINDOW.as_secs()
        ),
        "RSS and threads: VmRSS and Threads in /proc/<pid>/status at the end of the window."
            .to_string(),
        "CPU: utime + stime (fields 14 and 15 of /proc/<pid>/stat) over the window, in clock \
         ticks,"
            .to_string(),
        format!(
            "and scaled to ms per minute at {ticks_per_second} ticks per second ({source}): one \
             tick is {} ms.",
            1000 / ticks_per_second.max(1)
        ),
    ]);
    println!(
        "{:>8} | {:>9} | {:>7} | {:>9} | {:>12} | {:>8}",
        "interval", "RSS (KiB)", "threads", "CPU ticks", "CPU (ms/min)", "window"
    );
    let costs = run_at_once(IDLE_INTERVALS.len() as u32, |k| {
        idle_trial(IDLE_INTERVALS[k as usize], ticks_per_second)
    });
    for (interval, cost) in IDLE_INTERVALS.iter().zip(&costs) {
        println!(
            "{:>6} s | {:>9} | {:>7} | {:>9} | {:>12.1} | {:>6.1} s",
            interval,
            cost.rss_kib,
            cost.threads,
            cost.cpu_ticks,
            cost.cpu_ms_per_minute,
            cost.window.as_secs_f64(),
        );
    }
}

/// Measures peer `IDLE_PEER` of a fresh ring with ping interval `interval`
/// once every peer has heard from its successors.
fn idle_trial(interval: f64, ticks_per_second: u64) -> IdleCost {
    let ring = start_ring(interval);
    wait_until_settled(&ring, interval, 2);
    let pid = ring.pid(IDLE_PEER);
    let ticks_before = cpu_ticks(pid);
    let started = Instant::now();
    // The measurement window: the peer is left alone to do its idle work.
    thread::sleep(IDLE_WINDOW);
    let ticks = cpu_ticks(pid) - ticks_before;
    let window = started.elapsed();
    let cpu_ms = ticks as f64 * 1000.0 / ticks_per_second as f64;
    IdleCost {
        rss_kib: status_field(pid, "VmRSS"),
        threads: status_field(pid, "Threads"),
        cpu_ticks: ticks,
        cpu_ms_per_minute: cpu_ms * 60.0 / window.as_secs_f64(),
        window,
    }
}
