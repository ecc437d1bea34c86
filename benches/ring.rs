//! The ring benchmark, run by `make bench` (that is, `cargo bench --bench
//! ring`).
//!
//! It starts real rings of `p2p` peers on the loopback interface with the
//! black-box test harness, and prints three sets of figures:
//!
//! 1. how long the two predecessors of a peer take to declare it dead after
//!    it is killed (`kill -9`) or frozen (`kill -STOP`), at three ping
//!    intervals, next to the bounds that `spec/protocol.md` promises;
//! 2. how long a newcomer takes to be accepted into a running ring;
//! 3. what an idle peer costs: resident memory, threads and CPU time.
//!
//! It asserts nothing about speed: it measures and prints. It panics only
//! when a run goes wrong (a line never appears within a generous deadline),
//! and the harness then shows what every peer printed.
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

use support::{command_output, median, millis, print_heading, print_machine, worst};

use std::fs;
use std::thread;
use std::time::{Duration, Instant};

use common::{DEADLINE, Ring, predecessors, successors};
use p2p::peer::{AFTER_PORT_CLOSED, BY_PINGS};

/// The ring of the course's examples. Every trial runs one.
const TEACHING_RING: [u8; 7] = [2, 4, 5, 8, 9, 14, 19];

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

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not, and
    // must not start a run of several minutes.
    if !std::env::args().any(|arg| arg == "--bench") {
        println!("benches/ring.rs takes minutes: run it with `make bench`");
        return;
    }
    let started = Instant::now();
    print_machine("p2p ring benchmark, produced by `make bench` (cargo bench --bench ring)");
    println!("ring: {}", ids_text(&TEACHING_RING));
    print_detection();
    print_join();
    print_idle_cost();
    println!();
    println!("total run time: {:.0} s", started.elapsed().as_secs_f64());
}

// ----- The machine -----

fn ids_text(ids: &[u8]) -> String {
    let ids: Vec<String> = ids.iter().map(u8::to_string).collect();
    ids.join(" ")
}

// ----- Rings -----

/// How long to wait for a line that should come within about one ping
/// interval: two intervals plus the tests' deadline, so that only a broken
/// run ever reaches it.
fn generous(interval: f64) -> Duration {
    Duration::from_secs_f64(2.0 * interval) + DEADLINE
}

/// Starts the teaching ring with ping interval `interval`, the victim first.
///
/// A peer pings its successors the moment it starts, and next only one
/// interval later. Started in the usual order, 8 and 9 would ping 14 before
/// it exists and, at 30 s, hear it answer only half a minute later. So 14
/// starts alone, and the others once it has printed its first line, which
/// it does after opening its ports.
fn start_ring(interval: f64) -> Ring {
    let mut reserved = TEACHING_RING.to_vec();
    reserved.push(NEWCOMER);
    let mut ring = Ring::reserve(&reserved);
    spawn_member(&mut ring, VICTIM, interval);
    ring.wait_for_line(VICTIM, &pings_sent_line(VICTIM), generous(interval));
    for &id in TEACHING_RING.iter().filter(|&&id| id != VICTIM) {
        spawn_member(&mut ring, id, interval);
    }
    ring
}

/// Starts `p2p init` for `peer` of the teaching ring.
fn spawn_member(ring: &mut Ring, peer: u8, interval: f64) {
    let (first, second) = successors(&TEACHING_RING, peer);
    ring.spawn_init(peer, first, second, interval, &[]);
}

/// Waits until every peer has heard both its successors answer a ping: the
/// ring is then complete and quiet.
fn wait_until_settled(ring: &Ring, interval: f64) {
    for &peer in &TEACHING_RING {
        let (first, second) = successors(&TEACHING_RING, peer);
        for successor in [first, second] {
            ring.wait_for_line(peer, &response_line(successor), generous(interval));
        }
    }
}

fn pings_sent_line(peer: u8) -> String {
    let (first, second) = successors(&TEACHING_RING, peer);
    format!("Ping requests sent to Peers {first} and {second}")
}

fn response_line(from: u8) -> String {
    format!("Ping response received from Peer {from}")
}

/// Waits until `peer` prints exactly `line` as its line number `mark` or
/// later, and returns when the harness's reader thread read it.
fn time_of_line(ring: &Ring, peer: u8, mark: usize, line: &str, timeout: Duration) -> Instant {
    let index = ring.wait_for_line_after(peer, mark, line, timeout);
    ring.lines_with_times(peer)[index].0
}

/// Runs `trial(0)` to `trial(count - 1)` on threads of their own, all at
/// once, and returns their results in that order. A panic in a trial is
/// passed on once every trial has ended (their rings are dropped, so no
/// peer outlives the benchmark).
fn run_at_once<T: Send>(count: u32, trial: impl Fn(u32) -> T + Sync) -> Vec<T> {
    let trial = &trial;
    thread::scope(|scope| {
        let handles: Vec<_> = (0..count).map(|k| scope.spawn(move || trial(k))).collect();
        handles
            .into_iter()
            .map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|e| std::panic::resume_unwind(e))
            })
            .collect()
    })
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

    /// The bound that spec/protocol.md ("Failures") gives for this failure.
    fn spec_bound(self, interval: f64) -> String {
        match self {
            Signal::Kill => format!(
                "<= {:.3} s (AFTER_PORT_CLOSED silence limit, any interval)",
                AFTER_PORT_CLOSED.silence_limit.as_secs_f64()
            ),
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
            "1. Failure detection: seconds from the signal to \"Peer {VICTIM} is no longer \
             alive\" on peer {first}"
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
        "spec bound: spec/protocol.md, \"Failures\"; kill -9 is about 0.3 s, plus scheduling."
            .to_string(),
    ]);
    println!(
        "{:<10} {:>8} | {:>17} | {:>17} | {:>17} | spec bound",
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
                detection_trial(signal, interval, phase_offset(interval, k))
            });
            print_detection_row(signal, interval, &trials);
            rows.push((signal, interval, trials));
        }
    }
    print_detection_by_phase(&rows);
}

/// When trial `k` sends its signal, counted from the moment both
/// predecessors have heard the victim answer: `k / TRIALS` of an interval.
/// Reproducible, and spread evenly over the ping cycle.
fn phase_offset(interval: f64, k: u32) -> Duration {
    Duration::from_secs_f64(interval * f64::from(k) / f64::from(TRIALS))
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
        signal.spec_bound(interval),
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
    wait_until_settled(&ring, JOIN_INTERVAL);
    let spawned_at = Instant::now();
    ring.spawn_join(NEWCOMER, KNOWN, JOIN_INTERVAL);
    let accepted = "Join request has been accepted";
    let accepted_at = time_of_line(&ring, NEWCOMER, 0, accepted, generous(JOIN_INTERVAL));
    accepted_at.saturating_duration_since(spawned_at)
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

/// The kernel's clock ticks per second (CLK_TCK), in which /proc gives CPU
/// times, and where the figure came from. It is 100 on every usual Linux;
/// that is assumed if `getconf` cannot say.
fn clock_ticks_per_second() -> (u64, &'static str) {
    match command_output("getconf", &["CLK_TCK"]).parse() {
        Ok(ticks) => (ticks, "getconf CLK_TCK"),
        Err(_) => (100, "assumed: getconf CLK_TCK failed"),
    }
}

/// Measures peer `IDLE_PEER` of a fresh ring with ping interval `interval`
/// once every peer has heard from its successors.
fn idle_trial(interval: f64, ticks_per_second: u64) -> IdleCost {
    let ring = start_ring(interval);
    wait_until_settled(&ring, interval);
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

/// The user plus system CPU time of process `pid` so far, in clock ticks:
/// fields 14 (utime) and 15 (stime) of `/proc/<pid>/stat`. Field 2, the
/// command name, is in parentheses and may contain spaces, so the fields are
/// counted from the last `)`, which ends field 2.
fn cpu_ticks(pid: u32) -> u64 {
    let path = format!("/proc/{pid}/stat");
    let stat = fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    let after_name = &stat[stat.rfind(')').expect("field 2 ends with ')'") + 1..];
    // `after_name` starts with field 3.
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let field = |number: usize| -> u64 {
        fields[number - 3]
            .parse()
            .unwrap_or_else(|e| panic!("field {number} of {path} is not a number: {e}"))
    };
    field(14) + field(15)
}

/// The number in the line `NAME: <number> ...` of `/proc/<pid>/status`
/// (`VmRSS` is in kB, that is KiB).
fn status_field(pid: u32, name: &str) -> u64 {
    let path = format!("/proc/{pid}/status");
    let status = fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    status
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("{path} has no number for {name}"))
}
