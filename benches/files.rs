//! The files benchmark, run by `make bench` after the others (that is,
//! `cargo bench --bench files`).
//!
//! It measures files that follow the ring (`--replicas K`, `--handover`,
//! src/peer/placement/) on real `p2p` processes on the loopback
//! interface, each peer with a directory of its own, and prints three sets
//! of figures:
//!
//! 1. `kill`: how long after the responsible peer of some files is killed
//!    (`kill -9`) every one of them is held by K = 3 peers of the new ring
//!    again: `NNNN.pdf` at the new responsible peer and `replica_NNNN.pdf`
//!    at its next two successors, for one file of 1 MiB, one of 4 MiB and a
//!    batch of eight of 1 MiB, at ping intervals of 1 s and 0.2 s;
//! 2. `join`: how long after a newcomer is started it holds the files of
//!    the arc it takes over as `NNNN.pdf`, with `--replicas 2` and with
//!    `--handover` (K = 1);
//! 3. `idle`: the CPU time per minute of idle peers holding 50 files, at
//!    K = 3 against K = 1 (with and without `--handover`).
//!
//! The copies are seen in the directories, which are polled every
//! [`POLL`]: a file counts once it is there under its name with its whole
//! size (a peer receives into a temporary file and renames it into place).
//! The lines the peers print are used only for the moments of the failure
//! detection and of the join's acceptance.
//!
//! It asserts nothing about speed: it measures and prints. A trial in which
//! the copies never come within a generous deadline is not a panic: it is
//! counted, and what every directory held is printed under the table, since
//! that is a finding about the program. `cargo bench --bench files -- join`
//! runs only the second section (see `support::rings::Sections`).
//!
//! The trials of one row run at the same time, each on a ring of its own,
//! the kills (and joins) [`TRIAL_SPACING`] or more apart, so that their
//! transfers do not compete for the cores, and at k/TRIALS of an interval
//! so that they land at every phase of the ping and placement cycles. The deliberate sleeps are that spread and the idle
//! window; both are marked where they are.

#[path = "../tests/common/mod.rs"]
mod common;
mod support;

use support::rings::{
    Sections, clock_ticks_per_second, cpu_ticks, dead_line, generous, ids_text, phase_offset,
    pings_sent_line, response_line, run_at_once,
};
use support::{median, millis, print_heading, print_machine, worst};

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use common::{Ring, TempDir, noise, predecessor_list, successor_list};

const KIB: usize = 1 << 10;
const MIB: usize = 1 << 20;

/// The ring of every trial: eight peers, evenly spread.
const RING: [u8; 8] = [10, 40, 70, 100, 130, 160, 190, 220];

/// The peer that is killed in the first section, and that holds the files
/// a newcomer takes over in the second: it is responsible for hashes 71 to
/// 100.
const VICTIM: u8 = 100;

/// The newcomer of the second section, which takes hashes 71 to 85 from
/// the victim, and the peer it knows.
const NEWCOMER: u8 = 85;
const KNOWN: u8 = 10;

/// How often the directories are looked at.
const POLL: Duration = Duration::from_millis(5);

/// Trials per row. They run at the same time, so this is also the number
/// of rings (of eight peers each) alive at once.
const TRIALS: u32 = 5;

/// The least time between the kills (or joins) of two trials of one row,
/// rounded up to whole ping intervals: the transfers that follow one take
/// well under this, so the trials of a row do not slow each other down.
const TRIAL_SPACING: Duration = Duration::from_secs(1);

/// When trial `k` of a row acts, from the moment its ring is ready:
/// `k` spacings, and `k / TRIALS` of an interval more, so that the trials
/// sample every phase of the ping cycle.
fn trial_offset(interval: f64, k: u32) -> Duration {
    let spacing = (TRIAL_SPACING.as_secs_f64() / interval).ceil() * interval;
    Duration::from_secs_f64(spacing * f64::from(k)) + phase_offset(interval, k, TRIALS)
}

/// [`trial_offset`] in words, for the headings.
fn spread_text() -> String {
    format!(
        "k x {} s (rounded up to whole intervals) + k/{TRIALS} of an interval",
        TRIAL_SPACING.as_secs()
    )
}

/// The ping intervals of the first two sections, in seconds.
const INTERVALS: [f64; 2] = [1.0, 0.2];

/// The files of the kill trials: how many, and how large each.
const KILL_BATCHES: [(usize, usize); 3] = [(1, MIB), (1, 4 * MIB), (8, MIB)];

/// The copies of each file in the kill trials, and the successors every
/// peer keeps (K - 1 successors hold the replicas, and the ring must
/// survive the kill with three copies).
const KILL_REPLICAS: usize = 3;
const KILL_SUCCESSORS: usize = 3;

/// The files the newcomer takes over.
const JOIN_FILES: usize = 10;
const JOIN_FILE_SIZE: usize = 256 * KIB;

/// The idle peers' files, their size, the ping interval and the window.
const IDLE_FILES: usize = 50;
const IDLE_FILE_SIZE: usize = 64 * KIB;
const IDLE_INTERVAL: f64 = 1.0;
const IDLE_WINDOW: Duration = Duration::from_secs(30);

/// How long a trial waits for the copies: far more than a correct program
/// needs (a few intervals and the transfers), so that only a broken run
/// reaches it.
fn copies_deadline(interval: f64) -> Duration {
    generous(interval) + Duration::from_secs(10)
}

const SECTIONS: [&str; 3] = ["kill", "join", "idle"];

fn main() {
    let Some(sections) = Sections::from_args() else {
        println!("benches/files.rs takes minutes: run it with `make bench`");
        return;
    };
    let started = Instant::now();
    print_machine("p2p files benchmark, produced by `make bench` (cargo bench --bench files)");
    println!("ring: {}", ids_text(&RING));
    sections.print(&SECTIONS);
    if sections.wants("kill") {
        print_kills();
    }
    if sections.wants("join") {
        print_joins();
    }
    if sections.wants("idle") {
        print_idle();
    }
    println!();
    println!("total run time: {:.0} s", started.elapsed().as_secs_f64());
}

// ----- Files, directories and rings -----

/// A file of the ring: its number, whose hash says where it belongs.
#[derive(Clone, Copy)]
struct RingFile {
    name: u32,
    size: usize,
}

/// `count` files of `size` bytes whose hashes lie in `first..=last`, one
/// hash after another, going round again with the next multiple of 256.
fn files_in_arc(first: u8, last: u8, count: usize, size: usize) -> Vec<RingFile> {
    let span = usize::from(last - first) + 1;
    (0..count)
        .map(|i| {
            let hash = u32::from(first) + (i % span) as u32;
            let round = 16 + (i / span) as u32;
            RingFile {
                name: round * 256 + hash,
                size,
            }
        })
        .collect()
}

/// How a copy is kept: `NNNN.pdf` or `replica_NNNN.pdf`.
#[derive(Clone, Copy, PartialEq)]
enum Kept {
    Stored,
    Replica,
}

impl Kept {
    fn file_name(self, file: RingFile) -> String {
        match self {
            Kept::Stored => format!("{}.pdf", file.name),
            Kept::Replica => format!("replica_{}.pdf", file.name),
        }
    }
}

/// One copy that a layout of the ring's files asks for, or forbids.
struct FileCopy {
    peer: u8,
    kept: Kept,
    file: RingFile,
}

/// A ring whose peers each have a directory of their own.
struct FileRing {
    /// Declared first so that it is dropped first: the peers are killed
    /// before their directories are removed.
    ring: Ring,
    dirs: BTreeMap<u8, TempDir>,
}

impl FileRing {
    /// Starts `RING` at `interval` with `args` for every peer, after
    /// writing `files` into `holder`'s directory as `NNNN.pdf`; a
    /// directory is made for each of `newcomers` too, and their ports are
    /// reserved.
    fn start(
        interval: f64,
        args: &[&str],
        holder: u8,
        files: &[RingFile],
        newcomers: &[u8],
    ) -> FileRing {
        let dirs: BTreeMap<u8, TempDir> = RING
            .iter()
            .chain(newcomers)
            .map(|&id| (id, TempDir::new(&format!("bench-files-peer{id}"))))
            .collect();
        for &file in files {
            let path = dirs[&holder].join(&Kept::Stored.file_name(file));
            fs::write(&path, noise(file.size, file.name))
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        }
        let mut builder = Ring::builder(&RING)
            .interval(interval)
            .also_reserve(newcomers)
            .args(args);
        for &id in &RING {
            builder = builder.peer_args(id, &["--dir", dirs[&id].arg()]);
        }
        FileRing {
            ring: builder.start(),
            dirs,
        }
    }

    fn dir(&self, peer: u8) -> &Path {
        self.dirs[&peer].path()
    }

    fn holds(&self, copy: &FileCopy) -> bool {
        let path = self.dir(copy.peer).join(copy.kept.file_name(copy.file));
        fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() == copy.file.size as u64)
    }

    fn holds_any(&self, copy: &FileCopy) -> bool {
        self.dir(copy.peer)
            .join(copy.kept.file_name(copy.file))
            .exists()
    }

    /// Polls the directories until every copy of `wanted` is there and
    /// none of `unwanted`, and returns when that was first seen, or `None`
    /// after `timeout`.
    fn wait_for_layout(
        &self,
        wanted: &[FileCopy],
        unwanted: &[FileCopy],
        timeout: Duration,
    ) -> Option<Instant> {
        let deadline = Instant::now() + timeout;
        loop {
            let now = Instant::now();
            if wanted.iter().all(|c| self.holds(c)) && !unwanted.iter().any(|c| self.holds_any(c)) {
                return Some(now);
            }
            if now >= deadline {
                return None;
            }
            // Directories cannot be waited on: they are looked at every
            // few milliseconds.
            thread::sleep(POLL);
        }
    }

    /// What every directory holds (but the transfer logs and the owner
    /// file), for the report of a trial that went wrong.
    fn listing(&self) -> String {
        let mut text = String::new();
        for (&peer, dir) in &self.dirs {
            let mut names: Vec<String> = fs::read_dir(dir.path())
                .map(|entries| {
                    entries
                        .flatten()
                        .filter_map(|entry| {
                            let name = entry.file_name().to_string_lossy().into_owned();
                            let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
                            (name != ".p2p-peer" && !name.ends_with("_log.txt"))
                                .then(|| format!("{name} ({size} B)"))
                        })
                        .collect()
                })
                .unwrap_or_default();
            names.sort();
            let state = if self.ring.peer_ids().contains(&peer) {
                ""
            } else {
                " (not started)"
            };
            text.push_str(&format!(
                "      peer {peer}{state}: {}\n",
                if names.is_empty() {
                    "-".to_string()
                } else {
                    names.join(", ")
                }
            ));
        }
        text
    }

    /// What `peers` printed besides the pings, and on standard error, for
    /// the report of a trial that went wrong.
    fn notes(&self, peers: &[u8]) -> String {
        let mut text = String::new();
        for &peer in peers {
            if !self.ring.peer_ids().contains(&peer) {
                continue;
            }
            let lines: Vec<String> = self
                .ring
                .lines(peer)
                .into_iter()
                .filter(|line| !line.starts_with("Ping "))
                .collect();
            let last_round = self
                .ring
                .lines(peer)
                .into_iter()
                .rfind(|line| {
                    line.starts_with("Ping request sent") || line.starts_with("Ping requests sent")
                })
                .unwrap_or_default();
            let stderr = self.ring.stderr_lines(peer);
            text.push_str(&format!(
                "      peer {peer} printed, besides its pings: {}\n",
                if lines.is_empty() {
                    "nothing".to_string()
                } else {
                    lines.join(" | ")
                }
            ));
            text.push_str(&format!("      peer {peer}'s last round: {last_round}\n"));
            if !stderr.is_empty() {
                text.push_str(&format!(
                    "      peer {peer} on stderr: {}\n",
                    stderr.join(" | ")
                ));
            }
        }
        text
    }

    /// Waits until every peer of `RING` pings its first `count` successors
    /// and has heard each of them answer since. Panics (with the
    /// transcripts) if that does not happen: that is not about files.
    fn wait_until_settled(&self, interval: f64, count: usize) {
        for &peer in &RING {
            let list = successor_list(&RING, peer, count);
            let pinged = self
                .ring
                .wait_for_line(peer, &pings_sent_line(&list), generous(interval));
            for &successor in &list {
                self.ring.wait_for_line_after(
                    peer,
                    pinged + 1,
                    &response_line(successor),
                    generous(interval),
                );
            }
        }
    }
}

/// The copies of `files` at K peers: `NNNN.pdf` at `responsible`, and
/// replicas at its next K - 1 successors in `ids`.
fn copies_at(ids: &[u8], responsible: u8, replicas: usize, files: &[RingFile]) -> Vec<FileCopy> {
    let mut copies = Vec::new();
    for &file in files {
        copies.push(FileCopy {
            peer: responsible,
            kept: Kept::Stored,
            file,
        });
        for peer in successor_list(ids, responsible, replicas - 1) {
            copies.push(FileCopy {
                peer,
                kept: Kept::Replica,
                file,
            });
        }
    }
    copies
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / MIB as f64
}

fn batch_text(count: usize, size: usize) -> String {
    let each = if size.is_multiple_of(MIB) {
        format!("{} MiB", size / MIB)
    } else {
        format!("{} KiB", size / KIB)
    };
    format!("{count} x {each}")
}

/// Seconds to the millisecond, with the unit.
fn secs(duration: Duration) -> String {
    format!("{:.3} s", duration.as_secs_f64())
}

/// When `peer` printed `line` at or after line `mark`, if it did.
fn line_time(ring: &Ring, peer: u8, mark: usize, line: &str) -> Option<Instant> {
    ring.lines_with_times(peer)
        .into_iter()
        .skip(mark)
        .find(|(_, printed)| printed == line)
        .map(|(at, _)| at)
}

/// A trial that did not end as it should: which one, what was missing,
/// and what the directories held.
struct Failure {
    what: String,
    listing: String,
}

fn print_failures(failures: &[Failure]) {
    if failures.is_empty() {
        return;
    }
    println!();
    println!("   trials that went wrong ({}):", failures.len());
    for failure in failures {
        println!("   - {}", failure.what);
        print!("{}", failure.listing);
    }
}

// ----- 1. A kill, and K copies again -----

/// The moments of one kill trial, from the kill.
struct KillTimes {
    /// The victim's first predecessor printed that it is no longer alive.
    detected: Option<Duration>,
    /// The new responsible peer holds every file as `NNNN.pdf`.
    responsible: Duration,
    /// Every file is at three peers of the new ring.
    copies: Duration,
}

fn print_kills() {
    let (first_predecessor, _) = common::predecessors(&RING, VICTIM);
    let after = common::without(&RING, &[VICTIM]);
    let new_holders = {
        let mut list = vec![successor_list(&RING, VICTIM, 1)[0]];
        list.extend(successor_list(&after, list[0], KILL_REPLICAS - 1));
        list
    };
    let old_holders = {
        let mut list = vec![VICTIM];
        list.extend(successor_list(&RING, VICTIM, KILL_REPLICAS - 1));
        list
    };
    print_heading(&[
        format!(
            "1. A kill, and {KILL_REPLICAS} copies again: every peer runs --successors \
             {KILL_SUCCESSORS} --replicas {KILL_REPLICAS} --dir <its own>;"
        ),
        format!(
            "the files are written into peer {VICTIM}'s directory (hashes 71-100, its arc) before \
             the ring starts, and once"
        ),
        format!(
            "they are at peers {} (NNNN.pdf, replica_, replica_) peer {VICTIM} is killed (kill -9).",
            ids_text(&old_holders)
        ),
        format!(
            "3 copies: seconds from the kill until every file is NNNN.pdf at peer {} and \
             replica_NNNN.pdf at",
            new_holders[0]
        ),
        format!(
            "peers {} and {} again, whole (directories polled every {} ms); responsible: until \
             peer {} holds",
            new_holders[1],
            new_holders[2],
            POLL.as_millis(),
            new_holders[0]
        ),
        format!(
            "them all as NNNN.pdf; detected: until peer {first_predecessor} printed \"{}\".",
            dead_line(VICTIM)
        ),
        "per MiB: the median of 3 copies divided by the MiB stored. The marginal cost, under the \
         table,"
            .to_string(),
        "is the difference of the medians of the two single files over their 3 MiB; where the \
         ping and"
            .to_string(),
        "placement cadence (a round every half interval) varies more than 3 MiB takes to send \
         (at 1 s), it"
            .to_string(),
        "is within the noise and may come out negative.".to_string(),
        format!(
            "Median and worst of {TRIALS} trials per row, at once, each on a ring of its own; \
             trial k kills"
        ),
        format!(
            "{} after the copies were complete and peer {first_predecessor} heard peer \
             {VICTIM} answer.",
            spread_text()
        ),
    ]);
    println!(
        "{:>8} | {:>10} | {:>6} | {:>9} | {:>11} | {:>19} | {:>13}",
        "interval", "files", "trials", "detected", "responsible", "3 copies", "per MiB"
    );
    println!(
        "{:>8} | {:>10} | {:>6} | {:>9} | {:>11} | {:>9} {:>9} | {:>13}",
        "", "", "ok", "median", "median", "median", "worst", "median"
    );
    let mut failures = Vec::new();
    for interval in INTERVALS {
        let mut single_medians = Vec::new();
        for (count, size) in KILL_BATCHES {
            let files = files_in_arc(71, 100, count, size);
            let outcomes = run_at_once(TRIALS, |k| {
                kill_trial(interval, &files, trial_offset(interval, k))
            });
            let mut times = Vec::new();
            for outcome in outcomes {
                match outcome {
                    Ok(t) => times.push(t),
                    Err(mut failure) => {
                        failure.what = format!(
                            "interval {interval} s, {}: {}",
                            batch_text(count, size),
                            failure.what
                        );
                        failures.push(failure);
                    }
                }
            }
            let stored = count * size;
            if times.is_empty() {
                println!(
                    "{:>6} s | {:>10} | {:>6} | no trial reached {KILL_REPLICAS} copies",
                    interval,
                    batch_text(count, size),
                    format!("0/{TRIALS}")
                );
                continue;
            }
            let copies: Vec<Duration> = times.iter().map(|t| t.copies).collect();
            let responsible: Vec<Duration> = times.iter().map(|t| t.responsible).collect();
            let detected: Vec<Duration> = times.iter().filter_map(|t| t.detected).collect();
            let per_mib = median(&copies).div_f64(mib(stored));
            if count == 1 {
                single_medians.push((size, median(&copies)));
            }
            println!(
                "{:>6} s | {:>10} | {:>6} | {:>9} | {:>11} | {:>9} {:>9} | {:>7.0} ms/MiB",
                interval,
                batch_text(count, size),
                format!("{}/{TRIALS}", times.len()),
                if detected.is_empty() {
                    "-".to_string()
                } else {
                    secs(median(&detected))
                },
                secs(median(&responsible)),
                secs(median(&copies)),
                secs(worst(&copies)),
                millis(per_mib),
            );
        }
        if let [(small, small_median), (large, large_median)] = single_medians[..] {
            let extra = mib(large - small);
            let marginal = large_median.as_secs_f64() - small_median.as_secs_f64();
            println!(
                "{:>6} s | marginal cost of a MiB: ({} - {}) / {extra} MiB = {:.0} ms/MiB",
                interval,
                secs(large_median),
                secs(small_median),
                marginal * 1000.0 / extra
            );
        }
    }
    print_failures(&failures);
}

/// One kill: a fresh ring with `files` at the victim; once their copies
/// are complete, waits `offset`, kills the victim and polls the
/// directories until the new ring holds three copies of each again.
fn kill_trial(interval: f64, files: &[RingFile], offset: Duration) -> Result<KillTimes, Failure> {
    let successors = KILL_SUCCESSORS.to_string();
    let replicas = KILL_REPLICAS.to_string();
    let args = ["--successors", &successors, "--replicas", &replicas];
    let mut ring = FileRing::start(interval, &args, VICTIM, files, &[]);
    let deadline = copies_deadline(interval);
    let before = copies_at(&RING, VICTIM, KILL_REPLICAS, files);
    if ring.wait_for_layout(&before, &[], deadline).is_none() {
        return Err(Failure {
            what: format!(
                "before the kill, the files never reached {KILL_REPLICAS} copies (NNNN.pdf at \
                 {VICTIM}, replicas at {}) within {} s",
                ids_text(&successor_list(&RING, VICTIM, KILL_REPLICAS - 1)),
                deadline.as_secs()
            ),
            listing: ring.listing() + &ring.notes(&[70, 130, 160, 190]),
        });
    }
    // Every predecessor that watches the victim has heard it answer, so
    // that its death is noticed at once.
    let (first_predecessor, _) = common::predecessors(&RING, VICTIM);
    for peer in predecessor_list(&RING, VICTIM, KILL_SUCCESSORS) {
        ring.ring
            .wait_for_line(peer, &response_line(VICTIM), generous(interval));
    }
    let mark = ring.ring.mark(first_predecessor);
    // A deliberate sleep: it sets where in the ping cycle the kill lands.
    thread::sleep(offset);
    let killed_at = Instant::now();
    ring.ring.kill(VICTIM);
    let after = common::without(&RING, &[VICTIM]);
    let responsible = successor_list(&RING, VICTIM, 1)[0];
    let wanted = copies_at(&after, responsible, KILL_REPLICAS, files);
    let stored: Vec<FileCopy> = files
        .iter()
        .map(|&file| FileCopy {
            peer: responsible,
            kept: Kept::Stored,
            file,
        })
        .collect();
    let Some(responsible_at) = ring.wait_for_layout(&stored, &[], deadline) else {
        return Err(Failure {
            what: format!(
                "after the kill of {VICTIM}, peer {responsible} never held the files as NNNN.pdf \
                 within {} s",
                deadline.as_secs()
            ),
            listing: ring.listing() + &ring.notes(&[70, 130, 160, 190]),
        });
    };
    let Some(copies_at) = ring.wait_for_layout(&wanted, &[], deadline) else {
        return Err(Failure {
            what: format!(
                "after the kill of {VICTIM}, the files never were at {KILL_REPLICAS} peers again \
                 (NNNN.pdf at {responsible}, replicas at {}) within {} s",
                ids_text(&successor_list(&after, responsible, KILL_REPLICAS - 1)),
                deadline.as_secs()
            ),
            listing: ring.listing() + &ring.notes(&[70, 130, 160, 190]),
        });
    };
    let detected = line_time(&ring.ring, first_predecessor, mark, &dead_line(VICTIM));
    Ok(KillTimes {
        detected: detected.map(|at| at.saturating_duration_since(killed_at)),
        responsible: responsible_at.saturating_duration_since(killed_at),
        copies: copies_at.saturating_duration_since(killed_at),
    })
}

// ----- 2. A newcomer, and its files -----

/// How the ring looks after files in the join trials.
#[derive(Clone, Copy)]
enum JoinMode {
    /// `--replicas 2`.
    Replicas2,
    /// `--handover`, K = 1.
    Handover,
}

impl JoinMode {
    fn args(self) -> &'static [&'static str] {
        match self {
            JoinMode::Replicas2 => &["--replicas", "2"],
            JoinMode::Handover => &["--handover"],
        }
    }

    fn replicas(self) -> usize {
        match self {
            JoinMode::Replicas2 => 2,
            JoinMode::Handover => 1,
        }
    }
}

struct JoinTimes {
    /// The newcomer printed "Join request has been accepted".
    accepted: Option<Duration>,
    /// The newcomer holds every file of its arc as `NNNN.pdf`.
    holds: Duration,
    /// Every file is where the new ring wants it, and nowhere else.
    settled: Option<Duration>,
}

fn print_joins() {
    let mut joined = RING.to_vec();
    joined.push(NEWCOMER);
    let (after_newcomer, _) = common::successors(&joined, NEWCOMER);
    let replica_peer = successor_list(&RING, VICTIM, 1)[0];
    print_heading(&[
        format!(
            "2. A newcomer, and its files: {JOIN_FILES} files of {} KiB with hashes 71-80 are \
             written into peer {VICTIM}'s directory",
            JOIN_FILE_SIZE / KIB
        ),
        format!(
            "before the ring starts; once they are placed (--replicas 2: also replica_NNNN.pdf at \
             peer {replica_peer}) and the"
        ),
        format!(
            "ring has settled, `p2p join {NEWCOMER} {KNOWN} <interval> --dir <its own>` is started \
             with the ring's options."
        ),
        format!(
            "holds: seconds from the spawn until peer {NEWCOMER}'s directory holds every file as \
             NNNN.pdf, whole;"
        ),
        "accepted: until it printed \"Join request has been accepted\"; settled: until the \
             files are nowhere"
            .to_string(),
        format!(
            "else than the new ring wants them (--replicas 2: replica_ at {after_newcomer}, none \
             at {replica_peer}; --handover: none at {after_newcomer})."
        ),
        format!(
            "Median and worst of {TRIALS} trials per row, at once, each on a ring of its own; \
             trial k starts it"
        ),
        format!("{} after its ring settled.", spread_text()),
    ]);
    println!(
        "{:>8} | {:>12} | {:>6} | {:>9} | {:>19} | {:>9}",
        "interval", "mode", "trials", "accepted", "holds", "settled"
    );
    println!(
        "{:>8} | {:>12} | {:>6} | {:>9} | {:>9} {:>9} | {:>9}",
        "", "", "ok", "median", "median", "worst", "median"
    );
    let mut failures = Vec::new();
    for interval in INTERVALS {
        for mode in [JoinMode::Replicas2, JoinMode::Handover] {
            let outcomes = run_at_once(TRIALS, |k| {
                join_trial(interval, mode, trial_offset(interval, k))
            });
            let mode_text = mode.args().join(" ");
            let mut times = Vec::new();
            for outcome in outcomes {
                match outcome {
                    Ok(t) => times.push(t),
                    Err(mut failure) => {
                        failure.what =
                            format!("interval {interval} s, {mode_text}: {}", failure.what);
                        failures.push(failure);
                    }
                }
            }
            if times.is_empty() {
                println!(
                    "{:>6} s | {:>12} | {:>6} | no newcomer ever held its files",
                    interval,
                    mode_text,
                    format!("0/{TRIALS}")
                );
                continue;
            }
            let holds: Vec<Duration> = times.iter().map(|t| t.holds).collect();
            let accepted: Vec<Duration> = times.iter().filter_map(|t| t.accepted).collect();
            let settled: Vec<Duration> = times.iter().filter_map(|t| t.settled).collect();
            let optional = |values: &[Duration]| {
                if values.len() == times.len() {
                    secs(median(values))
                } else if values.is_empty() {
                    "never".to_string()
                } else {
                    format!(
                        "{} ({}/{})",
                        secs(median(values)),
                        values.len(),
                        times.len()
                    )
                }
            };
            println!(
                "{:>6} s | {:>12} | {:>6} | {:>9} | {:>9} {:>9} | {:>9}",
                interval,
                mode_text,
                format!("{}/{TRIALS}", times.len()),
                optional(&accepted),
                secs(median(&holds)),
                secs(worst(&holds)),
                optional(&settled),
            );
        }
    }
    print_failures(&failures);
}

/// One join: a fresh ring with the newcomer's files at the victim; once
/// they are placed and the ring has settled, waits `offset`, starts the
/// newcomer and polls its directory until it holds them all.
fn join_trial(interval: f64, mode: JoinMode, offset: Duration) -> Result<JoinTimes, Failure> {
    let files = files_in_arc(71, 80, JOIN_FILES, JOIN_FILE_SIZE);
    let mut ring = FileRing::start(interval, mode.args(), VICTIM, &files, &[NEWCOMER]);
    let deadline = copies_deadline(interval);
    let before = copies_at(&RING, VICTIM, mode.replicas(), &files);
    if ring.wait_for_layout(&before, &[], deadline).is_none() {
        return Err(Failure {
            what: format!(
                "before the join, the files never were in place at {} within {} s",
                ids_text(&RING[3..3 + mode.replicas()]),
                deadline.as_secs()
            ),
            listing: ring.listing() + &ring.notes(&[70, NEWCOMER, VICTIM, 130]),
        });
    }
    ring.wait_until_settled(interval, 2);
    // A deliberate sleep: it sets where in the ping cycle the join lands.
    thread::sleep(offset);
    let mut args: Vec<&str> = mode.args().to_vec();
    let dir = ring.dirs[&NEWCOMER].arg().to_string();
    args.extend(["--dir", &dir]);
    let spawned_at = Instant::now();
    ring.ring
        .spawn_join_with_args(NEWCOMER, KNOWN, interval, &args);
    let stored: Vec<FileCopy> = files
        .iter()
        .map(|&file| FileCopy {
            peer: NEWCOMER,
            kept: Kept::Stored,
            file,
        })
        .collect();
    let Some(holds_at) = ring.wait_for_layout(&stored, &[], deadline) else {
        return Err(Failure {
            what: format!(
                "the newcomer {NEWCOMER} never held its {JOIN_FILES} files as NNNN.pdf within {} s",
                deadline.as_secs()
            ),
            listing: ring.listing() + &ring.notes(&[70, NEWCOMER, VICTIM, 130]),
        });
    };
    let mut joined = RING.to_vec();
    joined.push(NEWCOMER);
    let wanted = copies_at(&joined, NEWCOMER, mode.replicas(), &files);
    let holders: Vec<u8> = wanted.iter().map(|c| c.peer).collect();
    let unwanted: Vec<FileCopy> = [VICTIM, successor_list(&RING, VICTIM, 1)[0]]
        .into_iter()
        .flat_map(|peer| {
            files.iter().flat_map(move |&file| {
                [Kept::Stored, Kept::Replica].map(|kept| FileCopy { peer, kept, file })
            })
        })
        .filter(|c| !(holders.contains(&c.peer) && c.kept == Kept::Replica))
        .collect();
    let settled = ring.wait_for_layout(&wanted, &unwanted, deadline);
    let accepted = line_time(&ring.ring, NEWCOMER, 0, "Join request has been accepted");
    Ok(JoinTimes {
        accepted: accepted.map(|at| at.saturating_duration_since(spawned_at)),
        holds: holds_at.saturating_duration_since(spawned_at),
        settled: settled.map(|at| at.saturating_duration_since(spawned_at)),
    })
}

// ----- 3. Replicas at rest -----

/// How the ring keeps its files in one row of the idle figures.
#[derive(Clone, Copy)]
struct IdleMode {
    replicas: usize,
    handover: bool,
    files: usize,
}

impl IdleMode {
    fn text(self) -> String {
        let how = if self.handover {
            format!("K = {} --handover", self.replicas)
        } else if self.replicas == 1 {
            "K = 1 (course)".to_string()
        } else {
            format!("K = {}", self.replicas)
        };
        format!("{how}, {} files", self.files)
    }
}

/// The rows: K = 1 as the course has it, K = 1 with handover (placement
/// rounds, no replicas), and K = 3 with the brief's 50 files and with 25.
const IDLE_MODES: [IdleMode; 4] = [
    IdleMode {
        replicas: 1,
        handover: false,
        files: IDLE_FILES,
    },
    IdleMode {
        replicas: 1,
        handover: true,
        files: IDLE_FILES,
    },
    IdleMode {
        replicas: 3,
        handover: false,
        files: IDLE_FILES / 2,
    },
    IdleMode {
        replicas: 3,
        handover: false,
        files: IDLE_FILES,
    },
];

/// How long the copies of the idle files may stay the same before the
/// placement is taken to be over, complete or not.
const IDLE_STALL: Duration = Duration::from_secs(5);

/// The CPU time of each peer over the window, in clock ticks, and how
/// many of the wanted copies were in place.
struct IdleCost {
    ticks: BTreeMap<u8, u64>,
    window: Duration,
    wanted: usize,
    placed_before: usize,
    placed_after: usize,
}

fn print_idle() {
    let (ticks_per_second, source) = clock_ticks_per_second();
    let replica_peer = successor_list(&RING, VICTIM, 1)[0];
    print_heading(&[
        format!(
            "3. Replicas at rest: files of {} KiB (hashes 71-100) written into peer {VICTIM}'s \
             directory, every peer with",
            IDLE_FILE_SIZE / KIB
        ),
        format!(
            "--successors 3 --dir <its own> at interval {IDLE_INTERVAL} s; once the files are \
             placed (K = 3: replicas at {} and {}),",
            replica_peer,
            successor_list(&RING, VICTIM, 2)[1]
        ),
        format!(
            "or their copies have not changed for {} s, and the ring has settled, the peers are \
             left alone for {} s",
            IDLE_STALL.as_secs(),
            IDLE_WINDOW.as_secs()
        ),
        "(the rings of the rows at once). placed: the copies in place (NNNN.pdf at the \
         holder, replicas) of"
            .to_string(),
        "those wanted, at the start and at the end of the window.".to_string(),
        "CPU: utime + stime (fields 14 and 15 of /proc/<pid>/stat) over the window, scaled to \
         ms per minute,"
            .to_string(),
        format!(
            "at {ticks_per_second} ticks per second ({source}); one tick is {} ms. holder: peer \
             {VICTIM} (NNNN.pdf); replica: peer {replica_peer};",
            1000 / ticks_per_second.max(1)
        ),
        "ring: the mean of the eight peers. A placement round runs every half interval \
         (and after every"
            .to_string(),
        "placement that ends), and every 30 intervals (RECONFIRM_INTERVALS) each file is \
         offered again to its"
            .to_string(),
        "replica holders (answered HAVE).".to_string(),
    ]);
    println!(
        "{:<26} | {:>15} | {:>15} | {:>15} | {:>15} | {:>8}",
        "mode", "placed", "holder", "replica", "ring (mean)", "window"
    );
    let costs = run_at_once(IDLE_MODES.len() as u32, |k| {
        idle_trial(IDLE_MODES[k as usize])
    });
    let per_minute = |ticks: f64, window: Duration| {
        ticks * 1000.0 / ticks_per_second as f64 * 60.0 / window.as_secs_f64()
    };
    for (mode, cost) in IDLE_MODES.iter().zip(&costs) {
        let cell = |ticks: f64| format!("{:.1} ms/min", per_minute(ticks, cost.window));
        let total: u64 = cost.ticks.values().sum();
        println!(
            "{:<26} | {:>15} | {:>15} | {:>15} | {:>15} | {:>6.1} s",
            mode.text(),
            format!(
                "{}->{}/{}",
                cost.placed_before, cost.placed_after, cost.wanted
            ),
            cell(cost.ticks[&VICTIM] as f64),
            cell(cost.ticks[&replica_peer] as f64),
            cell(total as f64 / cost.ticks.len() as f64),
            cost.window.as_secs_f64(),
        );
    }
    println!();
    println!("   ticks of peers {} over the window:", ids_text(&RING));
    for (mode, cost) in IDLE_MODES.iter().zip(&costs) {
        let each: Vec<String> = cost.ticks.values().map(u64::to_string).collect();
        println!("   {:<26} {}", mode.text(), each.join(" "));
    }
}

/// Measures every peer of a fresh ring holding the idle files, once they
/// are placed (or their placement has stopped) and the ring has settled.
fn idle_trial(mode: IdleMode) -> IdleCost {
    let files = files_in_arc(71, 100, mode.files, IDLE_FILE_SIZE);
    let replicas = mode.replicas.to_string();
    let mut args = vec!["--successors", "3", "--replicas", &replicas];
    if mode.handover {
        args.push("--handover");
    }
    let ring = FileRing::start(IDLE_INTERVAL, &args, VICTIM, &files, &[]);
    let wanted = copies_at(&RING, VICTIM, mode.replicas, &files);
    let placed = || wanted.iter().filter(|c| ring.holds(c)).count();
    let deadline = Instant::now() + copies_deadline(IDLE_INTERVAL) + Duration::from_secs(20);
    let (mut last, mut changed_at) = (placed(), Instant::now());
    while last < wanted.len() && changed_at.elapsed() < IDLE_STALL && Instant::now() < deadline {
        // Directories cannot be waited on: they are looked at every few
        // milliseconds.
        thread::sleep(POLL);
        let now = placed();
        if now != last {
            (last, changed_at) = (now, Instant::now());
        }
    }
    ring.wait_until_settled(IDLE_INTERVAL, 3);
    let pids: BTreeMap<u8, u32> = RING.iter().map(|&id| (id, ring.ring.pid(id))).collect();
    let before: BTreeMap<u8, u64> = pids
        .iter()
        .map(|(&id, &pid)| (id, cpu_ticks(pid)))
        .collect();
    let placed_before = placed();
    let started = Instant::now();
    // The measurement window: the peers are left alone to do their idle
    // work.
    thread::sleep(IDLE_WINDOW);
    let ticks = pids
        .iter()
        .map(|(&id, &pid)| (id, cpu_ticks(pid) - before[&id]))
        .collect();
    IdleCost {
        ticks,
        window: started.elapsed(),
        wanted: wanted.len(),
        placed_before,
        placed_after: placed(),
    }
}
