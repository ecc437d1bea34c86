//! The transfer benchmark, run by `make bench` after the ring benchmark
//! (that is, `cargo bench --bench transfer`).
//!
//! It prints three sets of figures about the stop-and-wait file transfer
//! (`src/transfer.rs`, spec/protocol.md "The file transfer (UDP)"):
//!
//! 1. how long 1 MiB takes between two loopback sockets of this process,
//!    for two MSS, three drop probabilities and both timeout rules: the
//!    estimated one (RFC 6298) and the classic fixed 1 s;
//!    and, for the 1 MiB lossy transfers with the estimated timeout, how
//!    many of the timer's expiries were spurious (the segment had really
//!    been sent, and its acknowledgement was on its way);
//! 2. how close the loss-free transfers come to the stop-and-wait bound,
//!    MSS / RTT, with the round trip measured in the same run;
//! 3. how long `Request` takes end to end on the teaching ring of real
//!    `p2p` processes, from typing the command to the line saying the file
//!    arrived.
//!
//! It asserts nothing about speed: it measures and prints. It panics only
//! when a run goes wrong (a file arrives damaged, a line never appears).
//!
//! A lost segment costs a whole timeout, and the fixed timeout is 1 s, so a
//! lossy 1 MiB transfer with it would take up to twenty minutes. Those runs
//! send only the start of the file, enough for about a minute of timeouts,
//! and the time 1 MiB would take is projected from their throughput and
//! labelled so. They mostly sleep, so they run at the same time as each
//! other and as the lossy runs of the estimated rule; the loss-free runs,
//! which keep a core busy, run one at a time and alone.

#[path = "../tests/common/mod.rs"]
mod common;
mod support;

use support::{median, millis, print_heading, print_machine, worst};

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream, UdpSocket};
use std::thread;
use std::time::{Duration, Instant};

use common::{DEADLINE, Ring, TempDir, loopback, noise, spawn_receiver, successors};
use p2p::config::DEFAULT_MSS;
use p2p::message::Segment;
use p2p::transfer::{
    MAX_FLOOR, MIN_RTO, PEAK_DECAY, PEAK_MULTIPLE, SenderConfig, TimeoutRule, TransferLog,
    TransferReport, send_file,
};

const KIB: usize = 1 << 10;
const MIB: usize = 1 << 20;

/// The file of the transfer figures.
const FILE_SIZE: usize = MIB;

/// The drops a lossy run with the fixed timeout is sized for: about a
/// minute of 1 s timeouts, and enough drops that the share of segments
/// dropped, on which the projection to 1 MiB rests, is close to the drop
/// probability. See [`sample_size`].
const SAMPLE_DROPS: f64 = 60.0;

/// Samples are whole multiples of this.
const SAMPLE_STEP: usize = 64 * KIB;

/// The segment sizes measured: a small one, and the program's default.
const MSS_VALUES: [usize; 2] = [400, DEFAULT_MSS];

/// The simulated drop probabilities.
const DROP_PROBABILITIES: [f64; 3] = [0.0, 0.1, 0.3];

/// The classic timeout that the estimated one is compared with.
const FIXED_TIMEOUT: Duration = Duration::from_secs(1);

/// The seed of the drop generator of every run, so that the two rules of
/// one row see the same drops, and a rerun the same ones again.
const SEED: u64 = 2024;

/// Round trips timed for the stop-and-wait bound, half just before and half
/// just after the loss-free transfers of the same MSS, each half after some
/// untimed ones that wake the threads and warm the caches.
const RTT_SAMPLES: usize = 2000;
const RTT_WARM_UP: usize = 200;

/// The ring of the course's examples, its ping interval in seconds, and the
/// peers of the `Request` figures: 2 asks, 8 holds the files.
const TEACHING_RING: [u8; 7] = [2, 4, 5, 8, 9, 14, 19];
const RING_INTERVAL: f64 = 1.0;
const REQUESTER: u8 = 2;
const HOLDER: u8 = 8;

/// The files 8 holds: `NNNN mod 256` is 7 and 8, so 8 is responsible for
/// both.
const REQUESTED_FILES: [(&str, usize); 2] = [("4103", 20 * KIB), ("4104", MIB)];

/// Requests timed per file.
const REQUESTS: usize = 7;

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not, and
    // must not start a run of minutes.
    if !std::env::args().any(|arg| arg == "--bench") {
        println!("benches/transfer.rs takes minutes: run it with `make bench`");
        return;
    }
    let started = Instant::now();
    println!();
    print_machine(
        "p2p transfer benchmark, produced by `make bench` (cargo bench --bench transfer)",
    );
    let (rtts, outcomes) = run_all(&plan());
    print_transfers(&outcomes);
    print_spurious(&outcomes);
    print_bound(&rtts, &outcomes);
    print_requests(&outcomes);
    println!();
    println!("total run time: {:.0} s", started.elapsed().as_secs_f64());
}

// ----- The machine -----

// ----- Statistics and printing -----

/// The value below which `fraction` of `values` lie (nearest rank).
fn percentile(values: &[Duration], fraction: f64) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort();
    let rank = (fraction * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn best(values: &[Duration]) -> Duration {
    values.iter().copied().min().unwrap_or_default()
}

/// Prints the conclusions under a table, indented like a heading.
fn print_conclusions(lines: &[String]) {
    println!();
    for line in lines {
        println!("   {line}");
    }
}

fn micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}

/// Bytes per second in KiB/s.
fn kib_per_second(bytes: usize, elapsed: Duration) -> f64 {
    bytes as f64 / KIB as f64 / elapsed.as_secs_f64()
}

/// Bytes per second in MB/s (10^6 bytes), the unit of the bound.
fn mb_per_second(bytes: usize, elapsed: Duration) -> f64 {
    bytes as f64 / 1e6 / elapsed.as_secs_f64()
}

fn size_text(bytes: usize) -> String {
    if bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{} KiB", bytes / KIB)
    }
}

fn rule_text(rule: TimeoutRule) -> String {
    match rule {
        TimeoutRule::Estimated => "estimated".to_string(),
        TimeoutRule::Fixed(timeout) => format!("fixed {} s", timeout.as_secs_f64()),
    }
}

// ----- One transfer over loopback -----

/// One row of the transfer table: what to send, and how.
#[derive(Clone, Copy)]
struct Run {
    mss: usize,
    drop: f64,
    rule: TimeoutRule,
    size: usize,
}

/// A finished run.
struct Outcome {
    run: Run,
    /// The sender's report; its `elapsed` runs from the first segment to
    /// the last acknowledgement.
    report: TransferReport,
    /// What the estimator was started with (`None` for the fixed rule).
    first_rtt: Option<Duration>,
}

impl Outcome {
    fn kib_per_second(&self) -> f64 {
        kib_per_second(self.run.size, self.report.elapsed)
    }

    fn mb_per_second(&self) -> f64 {
        mb_per_second(self.run.size, self.report.elapsed)
    }

    /// The mean time of one segment, retransmissions included.
    fn per_segment(&self) -> Duration {
        self.report.elapsed / self.report.segments.max(1) as u32
    }

    /// How long 1 MiB takes: measured when 1 MiB was sent, otherwise
    /// projected at the measured throughput.
    fn time_for_file(&self) -> Duration {
        self.report
            .elapsed
            .mul_f64(FILE_SIZE as f64 / self.run.size as f64)
    }

    fn is_projected(&self) -> bool {
        self.run.size != FILE_SIZE
    }
}

/// How much of the file a lossy run with the fixed timeout sends: enough
/// segments for [`SAMPLE_DROPS`] expected drops (each segment is dropped
/// p / (1 - p) times on average), rounded up to [`SAMPLE_STEP`], and at
/// most the whole file.
fn sample_size(mss: usize, drop: f64) -> usize {
    let segments = (SAMPLE_DROPS * (1.0 - drop) / drop).ceil() as usize;
    (segments * mss)
        .next_multiple_of(SAMPLE_STEP)
        .min(FILE_SIZE)
}

/// Every row of the transfer table, in the order printed. The estimated
/// rule runs on the whole file; the fixed rule too when nothing is dropped,
/// and otherwise on a sample (see [`sample_size`]), next to an estimated
/// run on the same sample, so that the two can also be compared on exactly
/// the same drops.
fn plan() -> Vec<Run> {
    let fixed = TimeoutRule::Fixed(FIXED_TIMEOUT);
    let mut runs = Vec::new();
    for mss in MSS_VALUES {
        for drop in DROP_PROBABILITIES {
            let run = |rule, size| Run {
                mss,
                drop,
                rule,
                size,
            };
            runs.push(run(TimeoutRule::Estimated, FILE_SIZE));
            let sample = if drop == 0.0 {
                FILE_SIZE
            } else {
                sample_size(mss, drop)
            };
            if sample != FILE_SIZE {
                runs.push(run(TimeoutRule::Estimated, sample));
            }
            runs.push(run(fixed, sample));
        }
    }
    runs
}

/// Runs every row and returns the round trips of each MSS and the
/// outcomes in the order of `runs`.
///
/// The loss-free runs come first, one at a time: they are limited by how
/// fast the two threads pass datagrams, so they must have the cores to
/// themselves. The round trips of each MSS are timed just before and just
/// after its loss-free runs, so that bound and throughput are measured
/// under the same conditions. The lossy runs spend nearly all their time
/// waiting for timers, so the slow fixed-timeout runs each get a thread,
/// and the estimated ones share one more, all at once.
fn run_all(runs: &[Run]) -> (Vec<RoundTrips>, Vec<Outcome>) {
    let mut outcomes: Vec<Option<Outcome>> = runs.iter().map(|_| None).collect();
    let mut rtts = Vec::new();
    for mss in MSS_VALUES {
        let before = round_trips(mss, RTT_SAMPLES / 2);
        for index in indices(runs, |run| run.mss == mss && run.drop == 0.0) {
            outcomes[index] = Some(measure(runs[index]));
        }
        let after = round_trips(mss, RTT_SAMPLES - RTT_SAMPLES / 2);
        rtts.push(RoundTrips::join(before, after));
    }
    for (index, outcome) in run_lossy(runs) {
        outcomes[index] = Some(outcome);
    }
    let outcomes = outcomes
        .into_iter()
        .map(|outcome| outcome.expect("every run was measured"))
        .collect();
    (rtts, outcomes)
}

/// The lossy runs, all at once: each with the fixed timeout on a thread of
/// its own, and those with the estimated one after one another on one more
/// thread. Returns each outcome with the index of its run in `runs`.
fn run_lossy(runs: &[Run]) -> Vec<(usize, Outcome)> {
    let is_fixed = |run: &Run| matches!(run.rule, TimeoutRule::Fixed(_));
    let fixed = indices(runs, |run| run.drop > 0.0 && is_fixed(run));
    let estimated = indices(runs, |run| run.drop > 0.0 && !is_fixed(run));
    let groups = fixed
        .into_iter()
        .map(|index| vec![index])
        .chain([estimated]);
    let measure_group = |group: Vec<usize>| -> Vec<(usize, Outcome)> {
        group
            .into_iter()
            .map(|index| (index, measure(runs[index])))
            .collect()
    };
    let measure_group = &measure_group;
    thread::scope(|scope| {
        let handles: Vec<_> = groups
            .map(|group| scope.spawn(move || measure_group(group)))
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|e| std::panic::resume_unwind(e))
            })
            .collect()
    })
}

/// The indices of the runs that are `wanted`.
fn indices(runs: &[Run], wanted: impl Fn(&Run) -> bool) -> Vec<usize> {
    (0..runs.len())
        .filter(|&index| wanted(&runs[index]))
        .collect()
}

/// Sends `run.size` bytes from one loopback socket to another, checks that
/// they arrived intact, and returns the sender's report.
///
/// The estimated rule starts from a measured round trip, as the program
/// does (see [`offer_round_trip`]); the fixed rule has no use for one.
fn measure(run: Run) -> Outcome {
    let data = noise(run.size, 0);
    let size = run.size as u64;
    let first_rtt = match run.rule {
        TimeoutRule::Estimated => Some(offer_round_trip()),
        TimeoutRule::Fixed(_) => None,
    };
    let config = SenderConfig {
        mss: run.mss,
        drop_probability: run.drop,
        seed: SEED,
        timeout: run.rule,
        first_rtt,
    };
    let (receiver, arrived) = spawn_receiver(size, TransferLog::disabled());
    let report = send_file(
        &loopback(),
        receiver,
        &data[..],
        size,
        &config,
        &mut TransferLog::disabled(),
    )
    .unwrap_or_else(|e| panic!("sending with {config:?} failed: {e}"));
    let received = arrived
        .recv()
        .expect("the receiver thread answers")
        .unwrap_or_else(|e| panic!("receiving with {config:?} failed: {e}"));
    assert!(
        received == data,
        "with {config:?}, {} bytes arrived for {} sent, or they differ",
        received.len(),
        data.len()
    );
    Outcome {
        run,
        report,
        first_rtt,
    }
}

/// The round trip the program starts its estimator with: it times its
/// `OFFER` over TCP, connection included, until the `READY` comes back
/// (`files::send_to_peer`). This does the same on loopback: connect, one
/// line out, one line back.
fn offer_round_trip() -> Duration {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("a loopback listener");
    let address = listener.local_addr().expect("an address");
    let answerer = thread::spawn(move || {
        let (stream, _) = listener.accept().expect("the offer's connection");
        let mut offer = String::new();
        BufReader::new(&stream)
            .read_line(&mut offer)
            .expect("the offer");
        (&stream).write_all(b"READY 40000\n").expect("the answer");
    });
    let started = Instant::now();
    let mut stream = TcpStream::connect(address).expect("a connection");
    stream
        .write_all(b"OFFER 4103 8 1048576 request\n")
        .expect("the offer is sent");
    let mut ready = String::new();
    BufReader::new(&stream)
        .read_line(&mut ready)
        .expect("the answer arrives");
    let rtt = started.elapsed();
    answerer.join().expect("the answering thread");
    rtt
}

// ----- 1. Transfers over loopback -----

fn print_transfers(outcomes: &[Outcome]) {
    let first_rtts: Vec<Duration> = outcomes.iter().filter_map(|o| o.first_rtt).collect();
    print_heading(&[
        format!(
            "1. Transfer over loopback: {} of noise from one UDP socket to another, both on \
             127.0.0.1,",
            size_text(FILE_SIZE)
        ),
        format!(
            "with the library (send_file, and receive_file on a thread), logs off, seed {SEED} \
             for every run."
        ),
        "time: first segment sent to last acknowledgement received (TransferReport::elapsed), \
         in seconds;"
            .to_string(),
        "KiB/s: the bytes sent over that time. segments, retx (retransmissions: timer expiries) \
         and drops:"
            .to_string(),
        "the sender's report. srtt: the smoothed RTT the estimator ended with, in microseconds. \
         ms/drop:"
            .to_string(),
        "the time beyond what as many segments take at drop 0, per drop: what one loss costs \
         (blurred by how"
            .to_string(),
        "much the drop-0 run's round trip varies: table 1b also measures it directly).".to_string(),
        "The estimator starts from a measured round trip, as the program's OFFER/READY: a TCP \
         connect and"
            .to_string(),
        format!(
            "one line each way on loopback ({:.0} to {:.0} us here), so its timeout is the \
             floor at once:",
            micros(best(&first_rtts)),
            micros(worst(&first_rtts)),
        ),
        floor_rule_text(),
        format!(
            "With drops, the fixed {} s timeout would take up to 20 minutes for {}, so it sends \
             only the",
            FIXED_TIMEOUT.as_secs_f64(),
            size_text(FILE_SIZE)
        ),
        format!(
            "start of the file: enough segments for about {SAMPLE_DROPS:.0} drops, rounded up to \
             {}. Its \"1 MiB takes\"",
            size_text(SAMPLE_STEP)
        ),
        "is then projected: 1 MiB / the measured throughput. The estimated rule sends the same \
         sample too,"
            .to_string(),
        "so that both are also compared on exactly the same drops. Drop 0 runs one at a time, \
         alone; the"
            .to_string(),
        "lossy runs, which mostly wait for timers, all run at once.".to_string(),
    ]);
    println!(
        "{:>4} {:>4} {:<10} {:>7} | {:>9} {:>9} | {:>8} {:>5} {:>5} | {:>8} {:>8} | 1 MiB takes",
        "MSS",
        "drop",
        "timeout",
        "sent",
        "time (s)",
        "KiB/s",
        "segments",
        "retx",
        "drops",
        "srtt(us)",
        "ms/drop"
    );
    for outcome in outcomes {
        print_transfer_row(outcome, outcomes);
    }
    print_conclusions(&transfer_conclusions(outcomes));
}

fn print_transfer_row(outcome: &Outcome, outcomes: &[Outcome]) {
    let Run {
        mss,
        drop,
        rule,
        size,
    } = outcome.run;
    let report = &outcome.report;
    let srtt = report
        .smoothed_rtt
        .map_or("-".to_string(), |rtt| format!("{:.0}", micros(rtt)));
    let cost =
        cost_per_drop(outcome, outcomes).map_or("-".to_string(), |c| format!("{:.1}", millis(c)));
    let projected = if outcome.is_projected() {
        " (projected)"
    } else {
        ""
    };
    println!(
        "{mss:>4} {drop:>4.1} {:<10} {:>7} | {:>9.3} {:>9.1} | {:>8} {:>5} {:>5} | {srtt:>8} \
         {cost:>8} | {:>9.3} s{projected}",
        rule_text(rule),
        size_text(size),
        report.elapsed.as_secs_f64(),
        outcome.kib_per_second(),
        report.segments,
        report.retransmissions,
        report.drops,
        outcome.time_for_file().as_secs_f64(),
    );
}

/// What one drop cost in a lossy run: its time beyond what as many
/// segments take without loss (the estimated run at drop 0, same MSS),
/// divided by the drops. About one timeout, more when drops come in a row
/// and the estimator backs off.
fn cost_per_drop(outcome: &Outcome, outcomes: &[Outcome]) -> Option<Duration> {
    if outcome.report.drops == 0 {
        return None;
    }
    let loss_free = find(
        outcomes,
        outcome.run.mss,
        0.0,
        TimeoutRule::Estimated,
        FILE_SIZE,
    )?;
    let without_loss = loss_free.per_segment() * outcome.report.segments as u32;
    let extra = outcome.report.elapsed.saturating_sub(without_loss);
    Some(extra / outcome.report.drops as u32)
}

fn find(
    outcomes: &[Outcome],
    mss: usize,
    drop: f64,
    rule: TimeoutRule,
    size: usize,
) -> Option<&Outcome> {
    outcomes.iter().find(|o| {
        o.run.mss == mss && o.run.drop == drop && o.run.rule == rule && o.run.size == size
    })
}

/// The run of the fixed rule in a row, whatever it sent.
fn find_fixed(outcomes: &[Outcome], mss: usize, drop: f64) -> Option<&Outcome> {
    let fixed = TimeoutRule::Fixed(FIXED_TIMEOUT);
    outcomes
        .iter()
        .find(|o| o.run.mss == mss && o.run.drop == drop && o.run.rule == fixed)
}

/// How many times faster the estimated timeout is than the fixed one, for
/// each lossy row, what the rule changes without loss, and why.
fn transfer_conclusions(outcomes: &[Outcome]) -> Vec<String> {
    let mut lines = Vec::new();
    for mss in MSS_VALUES {
        for drop in DROP_PROBABILITIES {
            let estimated = find(outcomes, mss, drop, TimeoutRule::Estimated, FILE_SIZE);
            let (Some(estimated), Some(fixed)) = (estimated, find_fixed(outcomes, mss, drop))
            else {
                continue;
            };
            lines.extend(speedup_lines(estimated, fixed, outcomes));
        }
    }
    let costs = |estimated: bool| -> Vec<Duration> {
        outcomes
            .iter()
            .filter(|o| (o.run.rule == TimeoutRule::Estimated) == estimated)
            .filter_map(wait_per_expiry)
            .collect()
    };
    let (estimated_costs, fixed_costs) = (costs(true), costs(false));
    lines.push(format!(
        "Why: a drop costs one timeout. An expired timer cost {:.1} to {:.1} ms with the estimated \
         timeout (its floor, a",
        millis(best(&estimated_costs)),
        millis(worst(&estimated_costs)),
    ));
    lines.push(format!(
        "few ms, doubled for each further drop in a row) and {:.0} to {:.0} ms with the fixed {} \
         s one, while",
        millis(best(&fixed_costs)),
        millis(worst(&fixed_costs)),
        FIXED_TIMEOUT.as_secs_f64(),
    ));
    lines.push(
        "a segment without loss takes tens of microseconds. A projection assumes".to_string(),
    );
    lines.push(
        "that the whole file loses the same share of segments as the sample; with the same seed, \
         the"
        .to_string(),
    );
    lines.push("estimated 1 MiB run shows how many the whole file loses.".to_string());
    lines
}

/// One row's comparison: on 1 MiB (the fixed rule's time projected unless
/// it sent the whole file) and, when the fixed rule sent a sample, on that
/// same sample with the same drops.
fn speedup_lines(estimated: &Outcome, fixed: &Outcome, outcomes: &[Outcome]) -> Vec<String> {
    let Run { mss, drop, .. } = estimated.run;
    let secs = |o: &Outcome| o.report.elapsed.as_secs_f64();
    if drop == 0.0 {
        return vec![
            format!(
                "MSS {mss}, drop 0: {:.3} s estimated, {:.3} s fixed. No timer expires (retx 0), \
                 so both run",
                secs(estimated),
                secs(fixed),
            ),
            "    the same code: any gap is the round trip varying from run to run (table 2)."
                .to_string(),
        ];
    }
    let whole_file = fixed.time_for_file().as_secs_f64() / secs(estimated);
    let how = if fixed.is_projected() {
        "projected"
    } else {
        "measured"
    };
    let mut lines = vec![format!(
        "MSS {mss}, drop {drop}: the estimated timeout is {whole_file:.0} times faster for 1 MiB \
         ({:.1} s against {:.0} s {how}),",
        secs(estimated),
        fixed.time_for_file().as_secs_f64(),
    )];
    if let Some(sample) = find(outcomes, mss, drop, TimeoutRule::Estimated, fixed.run.size)
        .filter(|sample| sample.run.size != FILE_SIZE)
    {
        lines.push(format!(
            "    and {:.0} times on the same {} with the same drops ({:.2} s against {:.1} s).",
            secs(fixed) / secs(sample),
            size_text(sample.run.size),
            secs(sample),
            secs(fixed),
        ));
    }
    lines
}

/// The rule of the estimated timeout's floor, in one line.
fn floor_rule_text() -> String {
    format!(
        "floor = {} ms + {PEAK_MULTIPLE} x the largest recent round trip (which loses 1/{PEAK_DECAY} \
         of itself per sample), at most {} ms.",
        millis(MIN_RTO),
        millis(MAX_FLOOR),
    )
}

/// The mean wait of a timer that expired: the cost of a drop, measured
/// directly.
fn wait_per_expiry(outcome: &Outcome) -> Option<Duration> {
    let expiries = outcome.report.retransmissions;
    (expiries > 0).then(|| outcome.report.expired_timer_wait / expiries as u32)
}

/// Table 1b: the spurious retransmissions of the 1 MiB lossy runs with the
/// estimated timeout.
fn print_spurious(outcomes: &[Outcome]) {
    print_heading(&[
        format!(
            "1b. Spurious retransmissions: the {} lossy runs of table 1 with the estimated \
             timeout. The timeout's",
            size_text(FILE_SIZE)
        ),
        floor_rule_text(),
        "expiries: timer expiries (retx); spurious: expiries after a real, not dropped, \
         transmission. Loopback"
            .to_string(),
        "loses nothing, so each of these fired although the acknowledgement was on its way; \
         share: of segments."
            .to_string(),
        "ms/drop: as in table 1. ms/expiry: the mean wait of a timer that expired \
         (TransferReport::expired_timer_wait),"
            .to_string(),
        "the cost of a drop measured directly, which the drop-0 runs' own variation does not \
         blur."
            .to_string(),
    ]);
    println!(
        "{:>4} {:>4} | {:>8} {:>5} {:>8} {:>8} {:>6} | {:>8} {:>9}",
        "MSS", "drop", "segments", "drops", "expiries", "spurious", "share", "ms/drop", "ms/expiry"
    );
    let lossy = outcomes.iter().filter(|o| {
        o.run.rule == TimeoutRule::Estimated && o.run.drop > 0.0 && o.run.size == FILE_SIZE
    });
    for outcome in lossy {
        let report = &outcome.report;
        let cost = cost_per_drop(outcome, outcomes)
            .map_or("-".to_string(), |c| format!("{:.2}", millis(c)));
        let per_expiry =
            wait_per_expiry(outcome).map_or("-".to_string(), |w| format!("{:.2}", millis(w)));
        println!(
            "{:>4} {:>4.1} | {:>8} {:>5} {:>8} {:>8} {:>5.2}% | {cost:>8} {per_expiry:>9}",
            outcome.run.mss,
            outcome.run.drop,
            report.segments,
            report.drops,
            report.retransmissions,
            report.spurious_timeouts,
            100.0 * report.spurious_timeouts as f64 / report.segments.max(1) as f64,
        );
    }
}

// ----- 2. The stop-and-wait bound -----

/// The round trips of one datagram size over loopback, timed before and
/// after the loss-free transfers of that MSS.
struct RoundTrips {
    mss: usize,
    /// The size of the datagram timed: a `DATA` segment carrying MSS bytes.
    datagram_len: usize,
    before: Vec<Duration>,
    after: Vec<Duration>,
}

impl RoundTrips {
    fn join(before: RoundTrips, after: RoundTrips) -> RoundTrips {
        RoundTrips {
            after: after.before,
            ..before
        }
    }

    fn all(&self) -> Vec<Duration> {
        [&self.before[..], &self.after[..]].concat()
    }
}

/// Times `count` round trips of a `DATA` segment of `mss` bytes, answered
/// by an `ACK`, between two loopback sockets in two threads: the least that
/// sending one segment and hearing its acknowledgement costs.
fn round_trips(mss: usize, count: usize) -> RoundTrips {
    let payload = vec![b'x'; mss];
    let mut datagram = Vec::new();
    Segment::Data {
        seq: 1,
        ack: 0,
        payload: &payload,
    }
    .encode(&mut datagram);
    let echo = loopback();
    let echo_address = echo.local_addr().expect("an address");
    let total = RTT_WARM_UP + count;
    let answerer = thread::spawn(move || answer_datagrams(&echo, total, mss));
    let socket = loopback();
    socket
        .set_read_timeout(Some(DEADLINE))
        .expect("a read timeout");
    let mut answer = [0u8; 128];
    let mut samples = Vec::with_capacity(count);
    for index in 0..total {
        let sent_at = Instant::now();
        socket
            .send_to(&datagram, echo_address)
            .expect("a datagram is sent");
        socket.recv_from(&mut answer).expect("the answer arrives");
        if index >= RTT_WARM_UP {
            samples.push(sent_at.elapsed());
        }
    }
    answerer.join().expect("the answering thread");
    RoundTrips {
        mss,
        datagram_len: datagram.len(),
        before: samples,
        after: Vec::new(),
    }
}

/// Answers `count` datagrams on `socket` with the `ACK` a receiver would
/// send for the first segment of `mss` bytes.
fn answer_datagrams(socket: &UdpSocket, count: usize, mss: usize) {
    let mut ack = Vec::new();
    Segment::Ack {
        seq: 0,
        ack: 1 + mss as u64,
    }
    .encode(&mut ack);
    socket
        .set_read_timeout(Some(DEADLINE))
        .expect("a read timeout");
    let mut buffer = vec![0u8; 65_536];
    for _ in 0..count {
        let (_, from) = socket.recv_from(&mut buffer).expect("a datagram arrives");
        socket.send_to(&ack, from).expect("the answer is sent");
    }
}

fn print_bound(rtts: &[RoundTrips], outcomes: &[Outcome]) {
    print_heading(&[
        "2. The stop-and-wait bound: one segment per round trip, so at most MSS / RTT.".to_string(),
        format!(
            "RTT: {RTT_SAMPLES} round trips of a DATA segment of MSS bytes answered by an ACK, \
             between two loopback"
        ),
        "sockets in two threads, half just before and half just after the drop-0 transfers of \
         that MSS"
            .to_string(),
        format!(
            "(each half after {RTT_WARM_UP} untimed ones): 10th percentile, median and 90th \
             percentile of all, and"
        ),
        "the medians of each half, in microseconds. bound = MSS / median RTT, in MB/s (10^6 \
         bytes), next to"
            .to_string(),
        "the drop-0 throughputs of table 1 and the share of the bound they reach. srtt: the \
         smoothed RTT"
            .to_string(),
        "the estimator ended the drop-0 transfer with, the transfer's own view of the round \
         trip. On a"
            .to_string(),
        "virtual machine the round trip depends on whether the kernel runs both threads on one \
         core or"
            .to_string(),
        "on two, which can change from one moment to the next: a before/after gap shows it."
            .to_string(),
    ]);
    println!(
        "{:>4} {:>9} | {:>7} {:>7} {:>7} | {:>7} {:>7} | {:>7} | {:>9} {:>8} | {:>9} {:>8} | {:>8}",
        "MSS",
        "datagram",
        "RTT p10",
        "median",
        "p90",
        "before",
        "after",
        "bound",
        "estimated",
        "of bound",
        "fixed",
        "of bound",
        "srtt(us)"
    );
    let mut conclusions = Vec::new();
    for rtt in rtts {
        let all = rtt.all();
        let median_rtt = median(&all);
        let bound = mb_per_second(rtt.mss, median_rtt);
        let loss_free = |rule| find(outcomes, rtt.mss, 0.0, rule, FILE_SIZE);
        let (Some(estimated), Some(fixed)) = (
            loss_free(TimeoutRule::Estimated),
            loss_free(TimeoutRule::Fixed(FIXED_TIMEOUT)),
        ) else {
            continue;
        };
        let srtt = estimated
            .report
            .smoothed_rtt
            .map_or("-".to_string(), |s| format!("{:.0}", micros(s)));
        println!(
            "{:>4} {:>7} B | {:>7.1} {:>7.1} {:>7.1} | {:>7.1} {:>7.1} | {:>7.2} | {:>9.2} \
             {:>7.0}% | {:>9.2} {:>7.0}% | {srtt:>8}",
            rtt.mss,
            rtt.datagram_len,
            micros(percentile(&all, 0.1)),
            micros(median_rtt),
            micros(percentile(&all, 0.9)),
            micros(median(&rtt.before)),
            micros(median(&rtt.after)),
            bound,
            estimated.mb_per_second(),
            100.0 * estimated.mb_per_second() / bound,
            fixed.mb_per_second(),
            100.0 * fixed.mb_per_second() / bound,
        );
        conclusions.push(format!(
            "MSS {}: a segment took {:.1} us in the estimated drop-0 transfer against a median \
             bare round trip of {:.1} us.",
            rtt.mss,
            micros(estimated.per_segment()),
            micros(median_rtt),
        ));
    }
    println!(
        "{:>4} {:>9} | {:>39} | {:>7} | {:>9} {:>8} | {:>9} {:>8} |",
        "", "bytes", "microseconds", "MB/s", "MB/s", "", "MB/s", ""
    );
    conclusions.push(
        "A transfer also does per-segment work that the bare round trip does not (reading and \
         encoding"
            .to_string(),
    );
    conclusions.push(
        "the segment, setting the timer, decoding and copying it), so it should come close to \
         the bound"
            .to_string(),
    );
    conclusions.push(
        "but below it; above 100% means the round trip changed between the two measurements."
            .to_string(),
    );
    print_conclusions(&conclusions);
}

// ----- 3. Request on the teaching ring -----

/// The teaching ring with a directory of its own for every peer.
struct FileRing {
    /// Declared first so that it is dropped first: the peers are killed
    /// before their directories are removed.
    ring: Ring,
    requester_dir: TempDir,
    _other_dirs: Vec<TempDir>,
}

/// Starts the teaching ring at [`RING_INTERVAL`], with the files of
/// [`REQUESTED_FILES`] in the holder's directory, and waits until every
/// peer has heard both its successors answer: every peer then knows its
/// predecessor, so a request goes straight to the responsible peer.
fn start_file_ring(contents: &[Vec<u8>]) -> FileRing {
    let mut builder = Ring::builder(&TEACHING_RING).interval(RING_INTERVAL);
    let mut dirs = Vec::new();
    for &peer in &TEACHING_RING {
        let dir = TempDir::new(&format!("bench-peer-{peer}"));
        if peer == HOLDER {
            for ((name, _), bytes) in REQUESTED_FILES.iter().zip(contents) {
                fs::write(dir.join(&format!("{name}.pdf")), bytes).expect("a file to request");
            }
        }
        builder = builder.peer_args(peer, &["--dir", dir.arg()]);
        dirs.push((peer, dir));
    }
    let ring = builder.start();
    let timeout = generous();
    for &peer in &TEACHING_RING {
        let (first, second) = successors(&TEACHING_RING, peer);
        for successor in [first, second] {
            let line = format!("Ping response received from Peer {successor}");
            ring.wait_for_line(peer, &line, timeout);
        }
    }
    let position = dirs.iter().position(|(peer, _)| *peer == REQUESTER);
    let (_, requester_dir) = dirs.remove(position.expect("the requester is in the ring"));
    FileRing {
        ring,
        requester_dir,
        _other_dirs: dirs.into_iter().map(|(_, dir)| dir).collect(),
    }
}

/// Long enough for anything here; only a broken run ever reaches it.
fn generous() -> Duration {
    Duration::from_secs_f64(2.0 * RING_INTERVAL) + DEADLINE
}

/// One timed request: when its milestones were read by the harness,
/// counted from the moment before the command was typed.
struct RequestTiming {
    /// To "Receiving File NNNN from Peer 8": the request went 2 -> 4 -> 5
    /// -> 8 over TCP, and 8's OFFER was answered READY.
    offered: Duration,
    /// To "File NNNN received": the UDP transfer, and the rename.
    received: Duration,
}

impl RequestTiming {
    fn transfer(&self) -> Duration {
        self.received.saturating_sub(self.offered)
    }
}

/// Types `Request NNNN` at the requester, times its lines, waits for the
/// holder to say it has sent the file, checks that the file arrived byte
/// for byte, and deletes it so that the next request starts afresh.
fn request_once(ring: &mut FileRing, file: &str, contents: &[u8]) -> RequestTiming {
    let timeout = generous();
    let (requester_mark, holder_mark) = (ring.ring.mark(REQUESTER), ring.ring.mark(HOLDER));
    let typed_at = Instant::now();
    ring.ring
        .type_command(REQUESTER, &format!("Request {file}"));
    let line_time = |line: String| {
        let index = ring
            .ring
            .wait_for_line_after(REQUESTER, requester_mark, &line, timeout);
        let (read_at, _) = ring.ring.lines_with_times(REQUESTER)[index].clone();
        read_at.saturating_duration_since(typed_at)
    };
    let offered = line_time(format!("Receiving File {file} from Peer {HOLDER}"));
    let received = line_time(format!("File {file} received"));
    ring.ring
        .wait_for_line_after(HOLDER, holder_mark, "The file has been sent", timeout);
    let path = ring.requester_dir.join(&format!("received_{file}.pdf"));
    let arrived = fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    assert!(
        arrived == contents,
        "{}: {} bytes arrived for {} sent, or they differ",
        path.display(),
        arrived.len(),
        contents.len()
    );
    fs::remove_file(&path).unwrap_or_else(|e| panic!("cannot remove {}: {e}", path.display()));
    RequestTiming { offered, received }
}

fn print_requests(outcomes: &[Outcome]) {
    let contents: Vec<Vec<u8>> = REQUESTED_FILES
        .iter()
        .map(|&(_, len)| noise(len, 0))
        .collect();
    let mut ring = start_file_ring(&contents);
    let timings: Vec<Vec<RequestTiming>> = REQUESTED_FILES
        .iter()
        .zip(&contents)
        .map(|((name, _), bytes)| {
            (0..REQUESTS)
                .map(|_| request_once(&mut ring, name, bytes))
                .collect()
        })
        .collect();
    drop(ring);
    print_heading(&[
        format!(
            "3. Request end to end: milliseconds from typing `Request NNNN` at peer {REQUESTER} \
             to its line"
        ),
        format!(
            "\"File NNNN received\", on the teaching ring ({}) of real p2p processes at interval \
             {RING_INTERVAL} s,",
            TEACHING_RING.map(|id| id.to_string()).join(" ")
        ),
        format!(
            "each with a --dir of its own; peer {HOLDER} holds the file (4103 and 4104 hash to 7 \
             and 8). Defaults:"
        ),
        format!(
            "MSS {DEFAULT_MSS}, drop 0, estimated timeout. A line counts when the harness reads \
             it. Each received file"
        ),
        format!(
            "is checked byte for byte, then deleted. {REQUESTS} requests per file, one after \
             another. \"routing\": to the"
        ),
        format!(
            "line \"Receiving File NNNN from Peer {HOLDER}\" (REQUEST over TCP 2 -> 4 -> 5 -> 8, \
             then OFFER and READY);"
        ),
        "\"transfer\": from there to \"File NNNN received\" (the UDP transfer and the rename)."
            .to_string(),
    ]);
    println!(
        "{:>4} {:>7} {:>8} | {:>8} {:>8} {:>8} | {:>8} {:>8} | {:>8}",
        "file", "size", "requests", "median", "best", "worst", "routing", "transfer", "MB/s"
    );
    let mut conclusions = Vec::new();
    for (((name, len), contents), timings) in REQUESTED_FILES.iter().zip(&contents).zip(&timings) {
        let total: Vec<Duration> = timings.iter().map(|t| t.received).collect();
        let routing: Vec<Duration> = timings.iter().map(|t| t.offered).collect();
        let transfer: Vec<Duration> = timings.iter().map(RequestTiming::transfer).collect();
        println!(
            "{name:>4} {:>7} {:>8} | {:>8.1} {:>8.1} {:>8.1} | {:>8.1} {:>8.1} | {:>8.2}",
            size_text(*len),
            timings.len(),
            millis(median(&total)),
            millis(best(&total)),
            millis(worst(&total)),
            millis(median(&routing)),
            millis(median(&transfer)),
            mb_per_second(contents.len(), median(&transfer)),
        );
        conclusions.push(format!(
            "{}: routing and the offer took {:.1} ms, the transfer {:.1} ms ({:.0}% of the \
             median total).",
            size_text(*len),
            millis(median(&routing)),
            millis(median(&transfer)),
            100.0 * median(&transfer).as_secs_f64() / median(&total).as_secs_f64(),
        ));
        if *len == FILE_SIZE {
            conclusions.extend(compare_with_library(median(&transfer), outcomes));
        }
    }
    println!(
        "{:>4} {:>7} {:>8} | {:>26} | {:>8} {:>8} | {:>8}",
        "", "", "", "milliseconds", "median", "median", "transfer"
    );
    print_conclusions(&conclusions);
}

/// Sets the transfer inside the program beside the library's own at the
/// program's defaults (table 1, MSS 1400, drop 0, estimated), per segment.
fn compare_with_library(transfer: Duration, outcomes: &[Outcome]) -> Vec<String> {
    let Some(library) = find(
        outcomes,
        DEFAULT_MSS,
        0.0,
        TimeoutRule::Estimated,
        FILE_SIZE,
    ) else {
        return Vec::new();
    };
    let per_segment = transfer / library.report.segments as u32;
    // The program does more per segment than the library alone: it writes
    // the file and each side logs two lines per segment. Faster per segment
    // can then only mean a shorter round trip. Within a tenth either way,
    // the round trip's own variation (table 2) is larger than the gap.
    let ratio = per_segment.as_secs_f64() / library.per_segment().as_secs_f64();
    let verdict = if ratio < 0.9 {
        "It was faster although the program does more per segment (it writes the file, and each \
         side logs"
    } else if ratio > 1.1 {
        "It was slower: the program does more per segment (it writes the file, and each side \
         logs"
    } else {
        "About the same: the program does more per segment (it writes the file, and each side \
         logs"
    };
    let cause = if ratio < 0.9 {
        "two lines), so its round trip was shorter: where the kernel runs sender and receiver \
         changes it."
    } else if ratio > 1.1 {
        "two lines), and where the kernel runs sender and receiver changes the round trip \
         (table 2)."
    } else {
        "two lines), but that is less than the round trip varies from run to run (table 2)."
    };
    vec![
        format!(
            "The 1 MiB transfer inside the program took {:.0} ms (median), {:.1} us per segment; \
             the library",
            millis(transfer),
            micros(per_segment),
        ),
        format!(
            "alone in table 1 took {:.0} ms, {:.1} us per segment.",
            millis(library.report.elapsed),
            micros(library.per_segment()),
        ),
        verdict.to_string(),
        cause.to_string(),
    ]
}
