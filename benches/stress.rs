//! The stress benchmark, run by `make bench` after the ring benchmark (that
//! is, `cargo bench --bench stress`).
//!
//! The ring benchmark measures the teaching ring left alone; this one
//! measures it where things go wrong, and prints three sets of figures:
//!
//! 1. `load`: the kills of the ring benchmark's first section (`kill -9`,
//!    ten per row, at ping intervals of 1, 5 and 30 s) while two CPU
//!    burners keep the cores busy, and every false death on the way: a line
//!    "Peer N is no longer alive" about a peer that was not killed;
//! 2. `floods`: the threads and resident memory of one peer while it is
//!    sent 10,000 junk datagrams, 10,000 requests that each make it fetch a
//!    file from a peer that never answers, and 20 s of idle connections,
//!    and how long a join through that peer takes during the last;
//! 3. `adjacent`: how long a ring whose peers keep three successors
//!    (`--successors 3`) takes to heal after two adjacent peers are killed
//!    at once.
//!
//! `cargo bench --bench stress -- floods` runs only the second section, and
//! any of the three names may be given (see `support::rings::Sections`).
//!
//! Like the ring benchmark, it asserts nothing about speed: it measures and
//! prints. It panics only when a run goes wrong (a line never appears within
//! a generous deadline, a peer stops), and the harness then shows what every
//! peer printed. Every wait is for a line a peer prints, except where a
//! figure is a length of time on purpose (the phase of a kill, a window in
//! which to look for false deaths, the pace of a flood) and where /proc,
//! which cannot be waited on, is read every few milliseconds; each of those
//! is marked where it is.

#[path = "../tests/common/mod.rs"]
mod common;
mod support;

use support::rings::{
    Sections, TEACHING_RING, clock_ticks_per_second, cpu_ticks, dead_line, generous, ids_text,
    phase_offset, pings_sent_line, response_line, run_at_once, start_teaching_ring, status_number,
    successor_list, time_of_line, wait_until_settled,
};
use support::{median, millis, print_heading, print_machine, worst};

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use common::{Ring, loopback, noise, predecessors};
use p2p::peer::AFTER_PORT_CLOSED;

/// The sections, in the order they run.
const SECTIONS: [&str; 3] = ["load", "floods", "adjacent"];

fn main() {
    let Some(sections) = Sections::from_args() else {
        println!("benches/stress.rs takes minutes: run it with `make bench`");
        return;
    };
    let started = Instant::now();
    print_machine("p2p stress benchmark, produced by `make bench` (cargo bench --bench stress)");
    println!("ring: {}", ids_text(&TEACHING_RING));
    sections.print(&SECTIONS);
    if sections.wants("load") {
        print_kills_under_load();
    }
    if sections.wants("floods") {
        print_floods();
    }
    if sections.wants("adjacent") {
        print_adjacent_kills();
    }
    println!();
    println!("total run time: {:.0} s", started.elapsed().as_secs_f64());
}

/// Milliseconds to a tenth, right-aligned in 7 columns.
fn ms(duration: Duration) -> String {
    format!("{:>7.1}", millis(duration))
}

/// The lines of every peer of `ring` but those in `killed` that declare a
/// peer dead wrongly: one that was not killed, or a killed one before it
/// was (before the peer's line number in `marks`, taken just before the
/// kill). Each comes as "peer P: Peer N is no longer alive".
fn false_deaths(ring: &Ring, marks: &BTreeMap<u8, usize>, killed: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    for peer in ring.peer_ids() {
        if killed.contains(&peer) {
            continue;
        }
        let mark = marks.get(&peer).copied().unwrap_or(0);
        for (index, line) in ring.lines(peer).iter().enumerate() {
            let Some(dead) = line
                .strip_prefix("Peer ")
                .and_then(|rest| rest.strip_suffix(" is no longer alive"))
                .and_then(|id| id.parse::<u8>().ok())
            else {
                continue;
            };
            if !killed.contains(&dead) || index < mark {
                found.push(format!("peer {peer}: {line}"));
            }
        }
    }
    found
}

/// Every peer's line count now, to tell later lines from earlier ones.
fn marks(ring: &Ring) -> BTreeMap<u8, usize> {
    ring.peer_ids()
        .into_iter()
        .map(|peer| (peer, ring.mark(peer)))
        .collect()
}

// ----- 1. kill -9 under load -----

/// The peer killed in the trials under load, as in the ring benchmark.
const VICTIM: u8 = 14;

/// The ping intervals of the trials under load, in seconds, as in the ring
/// benchmark's detection table.
const LOAD_INTERVALS: [f64; 3] = [1.0, 5.0, 30.0];

/// Kills per row; they run at the same time, each on a ring of its own.
const LOAD_TRIALS: u32 = 10;

/// The CPU burners. Two keep both cores of a small machine (such as the
/// two-core one of the figures in REPORT.md) busy; on a larger machine they
/// load only part of it, which the share of a core they got, printed with
/// the table, shows.
const BURNERS: usize = 2;

/// How long after the kill a trial's ring is still watched for false
/// deaths: the repair happens meanwhile, under load too, and a peer slowed
/// down enough to miss pings would be declared dead within 1.5 s.
const LOAD_WATCH_AFTER_KILL: Duration = Duration::from_secs(5);

/// Processes that keep one core busy each for as long as the value lives:
/// `yes` writing into /dev/null, which never blocks. Dropping the value
/// kills and reaps them, also when a trial panics, so that no burner
/// outlives the benchmark.
struct CpuBurners {
    children: Vec<Child>,
}

impl CpuBurners {
    fn start(count: usize) -> CpuBurners {
        // Built one child at a time, so that if a later one cannot start,
        // the earlier ones are stopped by the drop that the panic causes.
        let mut burners = CpuBurners {
            children: Vec::new(),
        };
        for _ in 0..count {
            let child = Command::new("yes")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("cannot start `yes > /dev/null`, the CPU burner");
            burners.children.push(child);
        }
        burners
    }

    fn pids(&self) -> Vec<u32> {
        self.children.iter().map(Child::id).collect()
    }
}

impl Drop for CpuBurners {
    fn drop(&mut self) {
        for child in &mut self.children {
            // Errors are ignored: this runs while cleaning up, maybe during
            // a panic, and a burner that already ended needs nothing.
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// One kill under load: how long each predecessor took to declare the
/// victim dead, and the false deaths of the whole ring.
struct LoadedKill {
    /// On the first predecessor (9).
    first: Duration,
    /// On the second predecessor (8).
    second: Duration,
    false_deaths: Vec<String>,
    /// How long the ring ran under load, from its start to the last look.
    observed: Duration,
}

impl LoadedKill {
    fn both(&self) -> Duration {
        self.first.max(self.second)
    }
}

fn print_kills_under_load() {
    let (first, second) = predecessors(&TEACHING_RING, VICTIM);
    let limit = AFTER_PORT_CLOSED.silence_limit.as_millis();
    let spacing = AFTER_PORT_CLOSED.probe_spacing.as_millis();
    print_heading(&[
        format!(
            "1. kill -9 under load: milliseconds from kill -9 of peer {VICTIM} to \"Peer \
             {VICTIM} is no longer alive\""
        ),
        format!(
            "on peers {first} and {second} (\"both\": the later line), while {BURNERS} CPU \
             burners (`yes > /dev/null`) run"
        ),
        format!(
            "all along. {LOAD_TRIALS} kills per row at once, each on a ring of its own, at \
             phases k/{LOAD_TRIALS} of an interval,"
        ),
        "as in section 1 of benches/ring.rs, which times the same kills with no load.".to_string(),
        format!(
            "A line counts when the benchmark reads it, so its own delays under load count too. \
             Bound: ~{limit}-{} ms",
            limit + spacing
        ),
        "(AFTER_PORT_CLOSED in src/peer/liveness.rs) at any interval.".to_string(),
        format!(
            "false deaths: \"Peer N is no longer alive\" for N other than {VICTIM}, or before \
             the kill, on any peer of"
        ),
        format!(
            "the ring, from its start until {} s after the kill; \"watched\": the rings' time \
             under load, added up;",
            LOAD_WATCH_AFTER_KILL.as_secs()
        ),
        "\"both over\": the kills whose later line came after the upper end of the bound."
            .to_string(),
    ]);
    let bound = AFTER_PORT_CLOSED.silence_limit + AFTER_PORT_CLOSED.probe_spacing;
    println!(
        "{:>8} | {:>15} | {:>15} | {:>15} | {:>9} | {:>12} | {:>8}",
        "",
        "both (ms)",
        format!("peer {first} (ms)"),
        format!("peer {second} (ms)"),
        "both over",
        "false deaths",
        "watched"
    );
    println!(
        "{:>8} | {:>7} {:>7} | {:>7} {:>7} | {:>7} {:>7} | {:>9} | {:>12} | {:>8}",
        "interval",
        "median",
        "worst",
        "median",
        "worst",
        "median",
        "worst",
        format!("{} ms", bound.as_millis()),
        "",
        ""
    );
    let (ticks_per_second, _) = clock_ticks_per_second();
    let burners = CpuBurners::start(BURNERS);
    let load_started = Instant::now();
    let ticks_before: Vec<u64> = burners.pids().into_iter().map(cpu_ticks).collect();
    let mut all_false_deaths = Vec::new();
    for interval in LOAD_INTERVALS {
        let trials = run_at_once(LOAD_TRIALS, |k| {
            loaded_kill_trial(interval, phase_offset(interval, k, LOAD_TRIALS))
        });
        let both: Vec<Duration> = trials.iter().map(LoadedKill::both).collect();
        let firsts: Vec<Duration> = trials.iter().map(|t| t.first).collect();
        let seconds: Vec<Duration> = trials.iter().map(|t| t.second).collect();
        let false_count: usize = trials.iter().map(|t| t.false_deaths.len()).sum();
        let watched: Duration = trials.iter().map(|t| t.observed).sum();
        let over = both.iter().filter(|&&latency| latency > bound).count();
        println!(
            "{:>6} s | {} {} | {} {} | {} {} | {:>9} | {:>12} | {:>6.0} s",
            interval,
            ms(median(&both)),
            ms(worst(&both)),
            ms(median(&firsts)),
            ms(worst(&firsts)),
            ms(median(&seconds)),
            ms(worst(&seconds)),
            format!("{over} of {LOAD_TRIALS}"),
            false_count,
            watched.as_secs_f64(),
        );
        all_false_deaths.extend(trials.into_iter().flat_map(|t| t.false_deaths));
    }
    let window = load_started.elapsed().as_secs_f64();
    let shares: Vec<String> = burners
        .pids()
        .into_iter()
        .zip(ticks_before)
        .map(|(pid, before)| {
            let seconds = (cpu_ticks(pid) - before) as f64 / ticks_per_second as f64;
            format!("{:.0} %", 100.0 * seconds / window)
        })
        .collect();
    drop(burners);
    println!();
    println!(
        "   the burners used {} of a core each over the {window:.0} s of this section",
        shares.join(" and ")
    );
    for line in &all_false_deaths {
        println!("   false death: {line}");
    }
}

/// One kill under load: a fresh ring; once both predecessors have heard
/// the victim answer, waits `offset`, kills it, times the two lines, and
/// looks for false deaths until [`LOAD_WATCH_AFTER_KILL`] after the kill.
fn loaded_kill_trial(interval: f64, offset: Duration) -> LoadedKill {
    let (first, second) = predecessors(&TEACHING_RING, VICTIM);
    let started = Instant::now();
    let mut ring = start_teaching_ring(interval, VICTIM, &[], &[]);
    let timeout = generous(interval);
    for predecessor in [first, second] {
        ring.wait_for_line(predecessor, &response_line(VICTIM), timeout);
    }
    // A deliberate sleep: it sets where in the ping cycle the kill lands.
    thread::sleep(offset);
    let marks = marks(&ring);
    let killed_at = Instant::now();
    ring.kill(VICTIM);
    let dead = dead_line(VICTIM);
    let [first_at, second_at] =
        [first, second].map(|peer| time_of_line(&ring, peer, marks[&peer], &dead, timeout));
    // A deliberate sleep: the window in which false deaths are looked for.
    thread::sleep((killed_at + LOAD_WATCH_AFTER_KILL).saturating_duration_since(Instant::now()));
    LoadedKill {
        first: first_at.saturating_duration_since(killed_at),
        second: second_at.saturating_duration_since(killed_at),
        false_deaths: false_deaths(&ring, &marks, &[VICTIM]),
        observed: started.elapsed(),
    }
}

// ----- 2. Floods -----

/// The peer that is flooded, and the ping interval of its ring.
const FLOODED: u8 = 9;
const FLOOD_INTERVAL: f64 = 1.0;

/// How many junk datagrams, and how many `STORE` requests, are sent.
const JUNK_DATAGRAMS: u32 = 10_000;
const STORES: u32 = 10_000;

/// The `STORE` request of the second flood. It says that peer 200 typed
/// `Store 2067` and that the flooded peer is responsible, so the flooded
/// peer accepts it and asks peer 200 for the file. Port `base + 200` is a
/// listener that the benchmark holds and never accepts on: the kernel
/// completes each connection, so the peer's `FETCH` goes out and then waits
/// for an answer that never comes.
const SILENT_PEER: u8 = 200;
const STORE_LINE: &str = "STORE 2067 200 0 owner\n";

/// How many idle connections the third flood keeps open, for how long, and
/// how often it looks for the ones the peer has closed, to open new ones
/// instead (a deliberate pace: without it the flood would be a busy loop of
/// its own on the benchmark's cores).
const IDLE_CONNECTIONS: usize = 300;
const IDLE_FLOOD: Duration = Duration::from_secs(20);
const IDLE_FLOOD_PASS: Duration = Duration::from_millis(10);

/// How long the idle flood waits for one connection. When the peer's
/// queue of connections not yet accepted is full, the kernel drops the
/// attempt and would try again only a second later; the flood gives up on
/// it sooner and goes on.
const IDLE_CONNECT_TIMEOUT: Duration = Duration::from_millis(50);

/// The newcomers that join through the flooded peer: the first before the
/// idle flood, then one every [`JOIN_SPACING`] during it, the next identity
/// each time. Each is placed right after the one before, past 19, so each
/// `JOIN` reaches the flooded peer first, through its flooded listener, and
/// then goes on round the ring, a hop longer each time (a few tenths of a
/// millisecond).
const JOIN_BEFORE_FLOOD: u8 = 20;
const JOINS_DURING_FLOOD: u8 = 9;
const JOIN_SPACING: Duration = Duration::from_secs(2);

/// How often /proc is read while a flood runs (it cannot be waited on).
const SAMPLE_EVERY: Duration = Duration::from_millis(5);

/// How long after a flood the peer's threads may take to come back to
/// their number before it.
const SETTLE_LIMIT: Duration = Duration::from_secs(20);

/// The ids whose ports a flood ring reserves besides the teaching ring's.
fn flood_ring_extras() -> Vec<u8> {
    let mut extras = vec![SILENT_PEER];
    extras.extend(JOIN_BEFORE_FLOOD..=JOIN_BEFORE_FLOOD + JOINS_DURING_FLOOD);
    extras
}

/// What a peer uses, from `/proc/<pid>/status`.
#[derive(Clone, Copy, Debug, Default)]
struct Usage {
    threads: u64,
    rss_kib: u64,
}

impl Usage {
    /// Reads it, or `None` once the process is gone.
    fn read(pid: u32) -> Option<Usage> {
        let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        Some(Usage {
            threads: status_number(&status, "Threads")?,
            rss_kib: status_number(&status, "VmRSS")?,
        })
    }

    /// Reads it; the peer must be running.
    fn of(pid: u32) -> Usage {
        Usage::read(pid).expect("the flooded peer is running, so /proc has its status")
    }

    fn max(self, other: Usage) -> Usage {
        Usage {
            threads: self.threads.max(other.threads),
            rss_kib: self.rss_kib.max(other.rss_kib),
        }
    }
}

/// The names of the threads that a peer starts when first needed and keeps:
/// the standard error writer (from the first diagnostic) and the workers
/// that serve TCP connections (a pool that grows to its size and stays).
const KEPT_THREADS: [&str; 2] = ["stderr-writer", "tcp-connection"];

/// The number of threads of process `pid`, not counting those that start
/// when first needed and then stay for good (the standard error writer, and
/// the pool of TCP connection workers): the names in
/// `/proc/<pid>/task/*/comm`. `None` once the process is gone.
fn threads_but_kept(pid: u32) -> Option<u64> {
    let tasks = fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut count = 0;
    for task in tasks {
        // A thread that ends while it is being read is simply not counted.
        let Ok(task) = task else { continue };
        let Ok(name) = fs::read_to_string(task.path().join("comm")) else {
            continue;
        };
        if !KEPT_THREADS.contains(&name.trim_end()) {
            count += 1;
        }
    }
    Some(count)
}

/// Reads a process's usage every [`SAMPLE_EVERY`] on a thread of its own,
/// until [`Sampler::finish`], or until it is dropped (say, during a
/// panic), which stops the thread too.
struct Sampler {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Vec<(Instant, Usage)>>>,
}

impl Sampler {
    fn start(pid: u32) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = Arc::clone(&stop);
        let thread = thread::spawn(move || {
            let mut samples = Vec::new();
            while !thread_stop.load(Ordering::Relaxed) {
                let Some(usage) = Usage::read(pid) else {
                    break;
                };
                samples.push((Instant::now(), usage));
                // A deliberate pause: /proc has nothing to wait on.
                thread::sleep(SAMPLE_EVERY);
            }
            samples
        });
        Sampler {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops sampling and returns every sample, with the time it was read.
    fn finish(mut self) -> Vec<(Instant, Usage)> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread
            .take()
            .and_then(|thread| thread.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The middle one of `values` (the upper middle of an even count).
fn middle(values: &mut [u64]) -> u64 {
    values.sort_unstable();
    values.get(values.len() / 2).copied().unwrap_or_default()
}

/// What one flood did to the flooded peer.
struct FloodOutcome {
    name: String,
    /// Datagrams, requests or connections sent.
    sent: u64,
    /// How long sending them took.
    took: Duration,
    before: Usage,
    /// The median number of threads while the flood was sent.
    median_threads: u64,
    /// The highest figures from the flood's start until the peer settled.
    peak: Usage,
    after: Usage,
    /// How long after the flood the peer's threads, but for the standard
    /// error writer, were back to their number before it, if they were
    /// within [`SETTLE_LIMIT`].
    settled_after: Option<Duration>,
    /// Lines the peer wrote on standard error from the flood's start until
    /// it settled: the diagnostics, summarised per kind.
    stderr_lines: usize,
    false_deaths: Vec<String>,
    /// What the flood saw of the peer's answers, in words.
    notes: Vec<String>,
}

fn print_floods() {
    print_heading(&[
        format!(
            "2. Floods: the threads and resident memory (Threads, VmRSS in /proc/<pid>/status) \
             of peer {FLOODED}"
        ),
        format!(
            "of a settled ring at interval {FLOOD_INTERVAL} s: before a flood; the median while \
             it is sent and the peak until"
        ),
        format!(
            "the peer settles (read every {} ms); after it settles, that is once its threads are \
             back to their number",
            SAMPLE_EVERY.as_millis()
        ),
        format!(
            "before, but for the stderr writer and the TCP connection workers, which start when \
             first needed and stay (\"settled\", within {} s).",
            SETTLE_LIMIT.as_secs()
        ),
        format!(
            "Junk: {JUNK_DATAGRAMS} datagrams of noise and malformed or misaddressed lines, as \
             fast as one socket sends."
        ),
        format!(
            "STORE: {STORES} x `{}` over TCP, one per connection, one after another; each \
             makes peer {FLOODED}",
            STORE_LINE.trim_end()
        ),
        format!(
            "fetch 2067 from port base+{SILENT_PEER}, a listener that never answers (the \
             outgoing requests are capped)."
        ),
        format!(
            "Idle: {IDLE_CONNECTIONS} connections that never send a byte, for {} s, each that \
             the peer closes replaced within {} ms;",
            IDLE_FLOOD.as_secs(),
            IDLE_FLOOD_PASS.as_millis()
        ),
        format!(
            "newcomers join through peer {FLOODED} before it and during it. Each flood has a \
             fresh ring. \"stderr\": the peer's"
        ),
        "diagnostic lines meanwhile; false deaths: as in section 1, on every peer.".to_string(),
    ]);
    let junk = {
        let flooded = FloodedRing::start();
        let sent = send_junk_datagrams(flooded.ring.port(FLOODED), JUNK_DATAGRAMS);
        flooded.finish("junk datagrams", u64::from(sent), Vec::new())
    };
    let stores = {
        let flooded = FloodedRing::start();
        // Held until the peer has settled, so that each fetch waits the
        // whole exchange timeout.
        let silent = TcpListener::bind(("127.0.0.1", flooded.ring.port(SILENT_PEER)))
            .expect("the silent peer's port was reserved with the ring");
        let answers = send_stores(flooded.ring.port(FLOODED), STORES);
        let mut outcome = flooded.finish("STORE requests", u64::from(STORES), vec![answers.text()]);
        outcome.notes.push(silent_note(&silent));
        outcome
    };
    let (idle, joins) = {
        let mut flooded = FloodedRing::start();
        let (flood, joins) = idle_flood_with_joins(&mut flooded.ring);
        let outcome = flooded.finish("idle connections", flood.opened, vec![flood.text()]);
        (outcome, joins)
    };
    println!(
        "{:<16} | {:>6} | {:>7} | {:>28} | {:>26} | {:>8} | {:>6} | {:>5}",
        "", "", "", "threads", "VmRSS (KiB)", "", "", "false"
    );
    println!(
        "{:<16} | {:>6} | {:>7} | {:>6} {:>6} {:>6} {:>7} | {:>8} {:>8} {:>8} | {:>8} | {:>6} \
         | {:>5}",
        "flood",
        "sent",
        "took",
        "before",
        "median",
        "peak",
        "after",
        "before",
        "peak",
        "after",
        "settled",
        "stderr",
        "dead"
    );
    for outcome in [&junk, &stores, &idle] {
        let settled = outcome
            .settled_after
            .map_or_else(|| "no".to_string(), |d| format!("{:.1} s", d.as_secs_f64()));
        println!(
            "{:<16} | {:>6} | {:>5.2} s | {:>6} {:>6} {:>6} {:>7} | {:>8} {:>8} {:>8} | {:>8} \
             | {:>6} | {:>5}",
            outcome.name,
            outcome.sent,
            outcome.took.as_secs_f64(),
            outcome.before.threads,
            outcome.median_threads,
            outcome.peak.threads,
            outcome.after.threads,
            outcome.before.rss_kib,
            outcome.peak.rss_kib,
            outcome.after.rss_kib,
            settled,
            outcome.stderr_lines,
            outcome.false_deaths.len(),
        );
    }
    println!();
    for outcome in [&junk, &stores, &idle] {
        for note in &outcome.notes {
            println!("   {}: {note}", outcome.name);
        }
        for line in &outcome.false_deaths {
            println!("   {}: false death: {line}", outcome.name);
        }
    }
    println!();
    println!(
        "   join through peer {FLOODED} (`p2p join N {FLOODED} {FLOOD_INTERVAL}` to \"Join \
         request has been accepted\"):"
    );
    for (when, newcomer, outcome) in &joins {
        match outcome {
            Ok(took) => println!("   {when:<20} newcomer {newcomer:>3}: {} ms", ms(*took)),
            Err(why) => println!("   {when:<20} newcomer {newcomer:>3}: NOT ACCEPTED, {why}"),
        }
    }
}

/// A fresh, settled ring whose peer [`FLOODED`] is being measured: what it
/// used before the flood, and a sampler of its figures since.
struct FloodedRing {
    ring: Ring,
    pid: u32,
    before: Usage,
    threads_before: u64,
    marks: BTreeMap<u8, usize>,
    stderr_mark: usize,
    sampler: Sampler,
    started: Instant,
}

impl FloodedRing {
    /// Starts the ring, waits until it has settled and starts measuring.
    fn start() -> FloodedRing {
        let ring = start_teaching_ring(FLOOD_INTERVAL, FLOODED, &flood_ring_extras(), &[]);
        wait_until_settled(&ring, FLOOD_INTERVAL, 2);
        let pid = ring.pid(FLOODED);
        FloodedRing {
            pid,
            before: Usage::of(pid),
            threads_before: threads_but_kept(pid)
                .expect("the flooded peer is running, so /proc has its threads"),
            marks: marks(&ring),
            stderr_mark: ring.stderr_mark(FLOODED),
            sampler: Sampler::start(pid),
            started: Instant::now(),
            ring,
        }
    }

    /// Called when the flood `name` has sent `sent` (datagrams, requests or
    /// connections): waits until the peer has settled, checks that it still
    /// pings and is pinged, and returns what the flood did to it, with
    /// `notes` on what the flood saw.
    fn finish(self, name: &str, sent: u64, notes: Vec<String>) -> FloodOutcome {
        let ended = Instant::now();
        let settled_after = wait_for_threads(self.pid, self.threads_before, SETTLE_LIMIT);
        let samples = self.sampler.finish();
        let after = Usage::of(self.pid);
        let peak = samples
            .iter()
            .fold(after, |peak, &(_, usage)| peak.max(usage));
        let mut during: Vec<u64> = samples
            .iter()
            .filter(|&&(at, _)| at <= ended)
            .map(|&(_, usage)| usage.threads)
            .collect();
        let mut ring = self.ring;
        ring.assert_running(FLOODED);
        still_in_the_ring(&ring);
        FloodOutcome {
            name: name.to_string(),
            sent,
            took: ended - self.started,
            before: self.before,
            median_threads: middle(&mut during),
            peak,
            after,
            settled_after,
            stderr_lines: ring.stderr_mark(FLOODED) - self.stderr_mark,
            false_deaths: false_deaths(&ring, &self.marks, &[]),
            notes,
        }
    }
}

/// Waits until process `pid` has at most `threads` threads besides the
/// standard error writer, reading /proc every [`SAMPLE_EVERY`], for at most
/// `limit`. Returns how long it took, or `None` if it did not happen.
fn wait_for_threads(pid: u32, threads: u64, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    loop {
        let now =
            threads_but_kept(pid).expect("the flooded peer is running, so /proc has its threads");
        if now <= threads {
            return Some(started.elapsed());
        }
        if started.elapsed() >= limit {
            return None;
        }
        // A deliberate pause: /proc has nothing to wait on.
        thread::sleep(SAMPLE_EVERY);
    }
}

/// Waits until the flooded peer has heard its first successor answer, and
/// its first predecessor has heard it answer, both after this moment: the
/// flood did not cut it off.
fn still_in_the_ring(ring: &Ring) {
    let first_successor = ring_successor(ring, FLOODED);
    let (first_predecessor, _) = predecessors(&TEACHING_RING, FLOODED);
    for (peer, from) in [(FLOODED, first_successor), (first_predecessor, FLOODED)] {
        let mark = ring.mark(peer);
        ring.wait_for_line_after(peer, mark, &response_line(from), generous(FLOOD_INTERVAL));
    }
}

/// The first successor of `peer` as it last announced it: the nearest peer
/// of its last "Ping requests sent to Peers a and b" line.
fn ring_successor(ring: &Ring, peer: u8) -> u8 {
    ring.lines(peer)
        .iter()
        .rev()
        .find_map(|line| {
            line.strip_prefix("Ping requests sent to Peers ")?
                .split([',', ' '])
                .next()?
                .parse()
                .ok()
        })
        .expect("a settled peer has announced a round of pings")
}

/// Sends `count` datagrams that are not messages for the peer at
/// `port`: in turn, random bytes, a line with an unknown verb, a ping with
/// an identity out of range, and a valid ping addressed to another peer.
/// Returns how many the socket sent.
fn send_junk_datagrams(port: u16, count: u32) -> u32 {
    let socket: UdpSocket = loopback();
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let mut sent = 0;
    for n in 0..count {
        let datagram = match n % 4 {
            0 => noise(1 + (n as usize * 37) % 300, n),
            1 => format!("HELLO {n}\n").into_bytes(),
            2 => format!("PING 300 {FLOODED} first {n}\n").into_bytes(),
            _ => format!("PING 8 {SILENT_PEER} first {n}\n").into_bytes(),
        };
        // A datagram the kernel will not take (its buffer is full) is as
        // good as one the peer drops: it is not counted, and the flood goes
        // on.
        if socket.send_to(&datagram, address).is_ok() {
            sent += 1;
        }
    }
    sent
}

/// How the `STORE` requests were answered.
#[derive(Default)]
struct StoreAnswers {
    ok: u32,
    other: BTreeMap<String, u32>,
    unanswered: u32,
    not_connected: u32,
}

impl StoreAnswers {
    fn text(&self) -> String {
        let mut parts = vec![format!("{} answered OK", self.ok)];
        parts.extend(
            self.other
                .iter()
                .map(|(reply, count)| format!("{count} answered {reply:?}")),
        );
        parts.push(format!("{} unanswered", self.unanswered));
        parts.push(format!("{} could not connect", self.not_connected));
        parts.join(", ")
    }
}

/// Sends [`STORE_LINE`] `count` times to the peer at `port`, each on a
/// connection of its own, and reads each answer.
fn send_stores(port: u16, count: u32) -> StoreAnswers {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let mut answers = StoreAnswers::default();
    for _ in 0..count {
        match store_once(address) {
            Err(_) => answers.not_connected += 1,
            Ok(None) => answers.unanswered += 1,
            Ok(Some(reply)) if reply == "OK" => answers.ok += 1,
            Ok(Some(reply)) => *answers.other.entry(reply).or_default() += 1,
        }
    }
    answers
}

/// One `STORE` on a connection of its own: the reply line without its
/// newline, `None` if there was none, an error if the connection failed.
fn store_once(address: SocketAddr) -> io::Result<Option<String>> {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(1))?;
    // A peer answers within its exchange timeout of 2 s, or never.
    stream.set_read_timeout(Some(Duration::from_secs(3)))?;
    stream.write_all(STORE_LINE.as_bytes())?;
    let mut reply = String::new();
    match BufReader::new(stream).read_line(&mut reply) {
        Ok(0) | Err(_) => Ok(None),
        Ok(_) => Ok(Some(reply.trim_end().to_string())),
    }
}

/// How many connections the peer's fetches left in the silent peer's
/// queue: each is one `FETCH` that went out and waited in vain.
fn silent_note(silent: &TcpListener) -> String {
    let mut queued = 0;
    if silent.set_nonblocking(true).is_ok() {
        while silent.accept().is_ok() {
            queued += 1;
        }
    }
    format!(
        "{queued} FETCH connections reached the silent port base+{SILENT_PEER} (the rest were \
         refused by the peer's cap on outgoing requests)"
    )
}

/// What the idle flood did.
struct IdleFlood {
    opened: u64,
    closed_by_peer: u64,
    failed: u64,
    duration: Duration,
}

impl IdleFlood {
    fn text(&self) -> String {
        let rate = self.opened as f64 / self.duration.as_secs_f64();
        format!(
            "{} connections opened ({rate:.0} a second), {} closed by the peer, {} attempts \
             failed",
            self.opened, self.closed_by_peer, self.failed
        )
    }
}

/// Joins [`JOIN_BEFORE_FLOOD`] through the flooded peer, then floods it
/// with idle connections on a thread of its own while
/// [`JOINS_DURING_FLOOD`] more newcomers join through it. Returns the flood, and each
/// join: when it was made, the newcomer, how long it took.
fn idle_flood_with_joins(ring: &mut Ring) -> (IdleFlood, Vec<(String, u8, JoinOutcome)>) {
    let mut joins = vec![(
        "before the flood".to_string(),
        JOIN_BEFORE_FLOOD,
        join_through_flooded(ring, JOIN_BEFORE_FLOOD),
    )];
    let address = SocketAddr::from(([127, 0, 0, 1], ring.port(FLOODED)));
    let flood_started = Instant::now();
    let flood = thread::scope(|scope| {
        let flood = scope.spawn(move || idle_flood(address, IDLE_FLOOD));
        for k in 1..=JOINS_DURING_FLOOD {
            let newcomer = JOIN_BEFORE_FLOOD + k;
            let at = JOIN_SPACING * u32::from(k);
            // A deliberate sleep: the join is made at a set time into the
            // flood.
            thread::sleep((flood_started + at).saturating_duration_since(Instant::now()));
            let outcome = join_through_flooded(ring, newcomer);
            let when = format!("during it, at {} s", at.as_secs());
            joins.push((when, newcomer, outcome));
        }
        flood
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e))
    });
    (flood, joins)
}

/// How one join went: how long the newcomer took to be accepted, or, if
/// it gave up and exited, what it said on standard error.
type JoinOutcome = Result<Duration, String>;

/// Starts `newcomer` with `p2p join` through the flooded peer and waits
/// until it is accepted or gives up. A newcomer that gives up is a figure
/// to report, so the benchmark goes on.
fn join_through_flooded(ring: &mut Ring, newcomer: u8) -> JoinOutcome {
    let spawned_at = Instant::now();
    ring.spawn_join(newcomer, FLOODED, FLOOD_INTERVAL);
    let accepted = "Join request has been accepted";
    match ring.wait_for_line_or_exit(newcomer, 0, accepted, generous(FLOOD_INTERVAL)) {
        Some(index) => {
            let accepted_at = ring.lines_with_times(newcomer)[index].0;
            Ok(accepted_at.saturating_duration_since(spawned_at))
        }
        None => {
            let said = ring.stderr_lines(newcomer).join(" / ");
            Err(format!(
                "gave up after {:.0} ms: {said}",
                millis(spawned_at.elapsed())
            ))
        }
    }
}

/// Keeps [`IDLE_CONNECTIONS`] connections open to `address` for
/// `duration`, sending nothing on them, and opens a new one for each that
/// the other side closes.
fn idle_flood(address: SocketAddr, duration: Duration) -> IdleFlood {
    let started = Instant::now();
    let mut open: Vec<TcpStream> = Vec::new();
    let mut flood = IdleFlood {
        opened: 0,
        closed_by_peer: 0,
        failed: 0,
        duration,
    };
    while started.elapsed() < duration {
        let before = open.len();
        open.retain(is_still_open);
        flood.closed_by_peer += (before - open.len()) as u64;
        while open.len() < IDLE_CONNECTIONS && started.elapsed() < duration {
            let opened = TcpStream::connect_timeout(&address, IDLE_CONNECT_TIMEOUT)
                .and_then(|stream| stream.set_nonblocking(true).map(|()| stream));
            match opened {
                Ok(stream) => {
                    open.push(stream);
                    flood.opened += 1;
                }
                Err(_) => {
                    flood.failed += 1;
                    break;
                }
            }
        }
        // A deliberate pause: the pace of the flood (see IDLE_FLOOD_PASS).
        thread::sleep(IDLE_FLOOD_PASS);
    }
    flood.duration = started.elapsed();
    flood
}

/// Whether the other side of a non-blocking `stream` has not closed it.
fn is_still_open(stream: &TcpStream) -> bool {
    let mut byte = [0u8; 1];
    match (&*stream).read(&mut byte) {
        // The end of the stream: closed.
        Ok(0) => false,
        // Something arrived (nothing should); the connection is still up.
        Ok(_) => true,
        Err(error) => error.kind() == io::ErrorKind::WouldBlock,
    }
}

// ----- 3. Two adjacent kills at R = 3 -----

/// The two adjacent peers killed, and the length of every peer's list.
const ADJACENT_KILLED: [u8; 2] = [14, 19];
const ADJACENT_SUCCESSORS: usize = 3;

/// The ping intervals of the trials, in seconds, and the trials per row,
/// which run at the same time, each on a ring of its own.
const ADJACENT_INTERVALS: [f64; 2] = [1.0, 30.0];
const ADJACENT_TRIALS: u32 = 10;

/// How long the survivors are watched once every one prints its right
/// list, for a later line that would undo it. A repair is over within
/// milliseconds; a refill asked again backs off from 0.2 s.
const HEAL_WATCH: Duration = Duration::from_secs(2);

/// One double kill.
struct Heal {
    /// From the first kill until every survivor pings its right list.
    healed: Duration,
    /// The survivor that got there last.
    last: u8,
    /// Until the first predecessor of the pair (9) had declared both dead.
    detected: Duration,
    false_deaths: Vec<String>,
}

fn print_adjacent_kills() {
    let [near, far] = ADJACENT_KILLED;
    let (predecessor, _) = predecessors(&TEACHING_RING, near);
    let survivors: Vec<u8> = survivors();
    print_heading(&[
        format!(
            "3. Two adjacent kills at R = {ADJACENT_SUCCESSORS}: peers {near} and {far} of the \
             teaching ring, started with"
        ),
        format!(
            "--successors {ADJACENT_SUCCESSORS}, are killed (kill -9) one right after the other \
             once the ring has settled. \"healed\": ms"
        ),
        "from the first kill until every survivor's last line \"Ping requests sent to Peers a, \
         b and c\""
            .to_string(),
        format!(
            "names its right successors and no later one names others (watched {} s more); a \
             survivor whose",
            HEAL_WATCH.as_secs()
        ),
        "list held neither dead peer and never changed counts as healed at once. \"detected\": \
         until peer"
            .to_string(),
        format!(
            "{predecessor} has printed both \"no longer alive\" lines. {ADJACENT_TRIALS} trials \
             per row, at once, at phases k/{ADJACENT_TRIALS}."
        ),
        format!(
            "The right lists: {}.",
            survivors
                .iter()
                .map(|&peer| format!(
                    "{peer}: {}",
                    ids_text(&successor_list(&survivors, peer, ADJACENT_SUCCESSORS))
                ))
                .collect::<Vec<_>>()
                .join("; ")
        ),
    ]);
    println!(
        "{:>8} | {:>15} | {:>15} | {:>5} | last survivor to heal, by trial",
        "", "healed (ms)", "detected (ms)", "false"
    );
    println!(
        "{:>8} | {:>7} {:>7} | {:>7} {:>7} | {:>5} |",
        "interval", "median", "worst", "median", "worst", "dead"
    );
    let mut all_false_deaths = Vec::new();
    for interval in ADJACENT_INTERVALS {
        let trials = run_at_once(ADJACENT_TRIALS, |k| {
            adjacent_trial(interval, phase_offset(interval, k, ADJACENT_TRIALS))
        });
        let healed: Vec<Duration> = trials.iter().map(|t| t.healed).collect();
        let detected: Vec<Duration> = trials.iter().map(|t| t.detected).collect();
        let last: Vec<String> = trials.iter().map(|t| t.last.to_string()).collect();
        let false_count: usize = trials.iter().map(|t| t.false_deaths.len()).sum();
        println!(
            "{:>6} s | {} {} | {} {} | {:>5} | {}",
            interval,
            ms(median(&healed)),
            ms(worst(&healed)),
            ms(median(&detected)),
            ms(worst(&detected)),
            false_count,
            last.join(" "),
        );
        all_false_deaths.extend(trials.into_iter().flat_map(|t| t.false_deaths));
    }
    for line in &all_false_deaths {
        println!("   false death: {line}");
    }
}

/// The peers of the teaching ring that are not killed.
fn survivors() -> Vec<u8> {
    TEACHING_RING
        .iter()
        .copied()
        .filter(|peer| !ADJACENT_KILLED.contains(peer))
        .collect()
}

/// One double kill: a fresh ring at R = 3; once settled, waits `offset`,
/// kills both peers, waits until every survivor pings its right list and
/// then [`HEAL_WATCH`] more, and reads the survivors' lines.
fn adjacent_trial(interval: f64, offset: Duration) -> Heal {
    let count = ADJACENT_SUCCESSORS.to_string();
    let args = ["--successors", count.as_str()];
    let [near, far] = ADJACENT_KILLED;
    let mut ring = start_teaching_ring(interval, near, &[], &args);
    wait_until_settled(&ring, interval, ADJACENT_SUCCESSORS);
    // A deliberate sleep: it sets where in the ping cycle the kills land.
    thread::sleep(offset);
    let marks = marks(&ring);
    let killed_at = Instant::now();
    ring.kill(near);
    ring.kill(far);
    let survivors = survivors();
    let right_lines: BTreeMap<u8, String> = survivors
        .iter()
        .map(|&peer| {
            let list = successor_list(&survivors, peer, ADJACENT_SUCCESSORS);
            (peer, pings_sent_line(&list))
        })
        .collect();
    for (&peer, line) in &right_lines {
        ring.wait_for_line_after(peer, marks[&peer], line, generous(interval));
    }
    let (predecessor, _) = predecessors(&TEACHING_RING, near);
    let detected = ADJACENT_KILLED
        .map(|dead| {
            time_of_line(
                &ring,
                predecessor,
                marks[&predecessor],
                &dead_line(dead),
                generous(interval),
            )
        })
        .into_iter()
        .max()
        .unwrap_or(killed_at);
    // A deliberate sleep: the window in which a later line would undo the
    // repair.
    thread::sleep(HEAL_WATCH);
    let (last, healed_at) = right_lines
        .iter()
        .map(|(&peer, line)| (peer, healed_at(&ring, peer, marks[&peer], line, killed_at)))
        .max_by_key(|&(_, at)| at)
        .expect("the ring has survivors");
    Heal {
        healed: healed_at.saturating_duration_since(killed_at),
        last,
        detected: detected.saturating_duration_since(killed_at),
        false_deaths: false_deaths(&ring, &marks, &ADJACENT_KILLED),
    }
}

/// When `peer` started pinging its right list for good: the time of its
/// first round line `right` after the last round line naming other peers,
/// counting from line `mark` (taken at the kills). A peer that printed no
/// other round line was right all along, and healed at `killed_at`, unless
/// its list before the kills was another (then it healed at its first right
/// line).
fn healed_at(ring: &Ring, peer: u8, mark: usize, right: &str, killed_at: Instant) -> Instant {
    let lines = ring.lines_with_times(peer);
    let is_round = |line: &str| {
        line.starts_with("Ping requests sent to ") || line.starts_with("Ping request sent to ")
    };
    let last_round_before = lines[..mark].iter().rev().find(|(_, l)| is_round(l));
    let right_before = last_round_before.is_some_and(|(_, line)| line == right);
    let after = &lines[mark..];
    let last_wrong = after
        .iter()
        .rposition(|(_, line)| is_round(line) && line != right);
    if last_wrong.is_none() && right_before {
        return killed_at;
    }
    let from = last_wrong.map_or(0, |index| index + 1);
    after[from..]
        .iter()
        .find(|(_, line)| line == right)
        .map(|&(at, _)| at)
        .unwrap_or_else(|| {
            panic!("peer {peer} named other successors after its right list {right:?}")
        })
}
