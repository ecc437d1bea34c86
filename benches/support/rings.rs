//! What the two ring benchmarks (`ring.rs` and `stress.rs`) share: choosing
//! which sections run, starting the teaching ring and waiting until it has
//! settled, timing the lines its peers print, running the trials of one row
//! side by side, and reading a peer's figures from `/proc`.
//!
//! Each benchmark uses only part of this, and `transfer.rs`, which includes
//! `support` for its printing helpers, uses none of it, so unused items are
//! allowed here, as in `tests/common`.

#![allow(dead_code)]

use std::fs;
use std::thread;
use std::time::{Duration, Instant};

use crate::common::{DEADLINE, Ring, successors};
use crate::support::command_output;

/// The ring of the course's examples.
pub const TEACHING_RING: [u8; 7] = [2, 4, 5, 8, 9, 14, 19];

// ----- Sections -----

/// The sections of a benchmark that were asked for.
///
/// `cargo bench --bench ring -- detection join` runs only those two
/// sections of `ring.rs`; with no names, every section runs, which is what
/// `make bench` does. A name that is not a section of this benchmark is
/// ignored, so that `cargo bench --bench ring --bench stress -- load` runs
/// the `load` section of `stress.rs` and nothing of `ring.rs`.
pub struct Sections {
    names: Vec<String>,
}

impl Sections {
    /// The sections named on the command line, or `None` when the benchmark
    /// was not started by `cargo bench`. `cargo bench` passes `--bench`;
    /// `cargo test --benches` does not, and must not start a run of several
    /// minutes.
    pub fn from_args() -> Option<Sections> {
        let args: Vec<String> = std::env::args().skip(1).collect();
        if !args.iter().any(|arg| arg == "--bench") {
            return None;
        }
        let names = args.into_iter().filter(|arg| !arg.starts_with('-'));
        Some(Sections {
            names: names.collect(),
        })
    }

    /// Whether `section` is to run.
    pub fn wants(&self, section: &str) -> bool {
        self.names.is_empty() || self.names.iter().any(|name| name == section)
    }

    /// Prints which of `all`, this benchmark's sections, will run.
    pub fn print(&self, all: &[&str]) {
        let chosen: Vec<&str> = all.iter().copied().filter(|s| self.wants(s)).collect();
        if chosen.len() == all.len() {
            println!("sections: all ({})", all.join(", "));
        } else if chosen.is_empty() {
            println!(
                "sections: none of {} was asked for (names given: {})",
                all.join(", "),
                self.names.join(" ")
            );
        } else {
            println!("sections: {} (of {})", chosen.join(", "), all.join(", "));
        }
    }
}

// ----- The teaching ring -----

/// The identities of a ring, as a line of text.
pub fn ids_text(ids: &[u8]) -> String {
    let ids: Vec<String> = ids.iter().map(u8::to_string).collect();
    ids.join(" ")
}

/// The first `count` successors of `peer` in `ids`, nearest first.
pub fn successor_list(ids: &[u8], peer: u8, count: usize) -> Vec<u8> {
    let mut sorted = ids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let at = sorted
        .iter()
        .position(|&id| id == peer)
        .expect("the peer is in the ring");
    (1..=count.min(sorted.len() - 1))
        .map(|k| sorted[(at + k) % sorted.len()])
        .collect()
}

/// How long to wait for a line that should come within about one ping
/// interval: two intervals plus the tests' deadline, so that only a broken
/// run ever reaches it.
pub fn generous(interval: f64) -> Duration {
    Duration::from_secs_f64(2.0 * interval) + DEADLINE
}

/// Starts the teaching ring with ping interval `interval`, peer
/// `starts_first` before the others, every peer with the extra arguments
/// `args` (such as `--successors 3`). The ports of `also_reserve` are
/// checked to be free too, for newcomers or sockets the benchmark binds.
///
/// A peer pings its successors the moment it starts, and next only one
/// interval later. Started in the usual order, the predecessors of a peer
/// that starts late would ping it before it exists and, at 30 s, hear it
/// answer only half a minute later. So the peer a trial is about starts
/// alone, and the others once it has printed its first line, which it does
/// after opening its ports.
pub fn start_teaching_ring(
    interval: f64,
    starts_first: u8,
    also_reserve: &[u8],
    args: &[&str],
) -> Ring {
    let mut reserved = TEACHING_RING.to_vec();
    reserved.extend_from_slice(also_reserve);
    let mut ring = Ring::reserve(&reserved);
    spawn_member(&mut ring, starts_first, interval, args);
    let (first, second) = successors(&TEACHING_RING, starts_first);
    let first_line = pings_sent_line(&[first, second]);
    ring.wait_for_line(starts_first, &first_line, generous(interval));
    for &id in TEACHING_RING.iter().filter(|&&id| id != starts_first) {
        spawn_member(&mut ring, id, interval, args);
    }
    ring
}

/// Starts `p2p init` for `peer` of the teaching ring, told its two
/// successors as the course's `init` is.
fn spawn_member(ring: &mut Ring, peer: u8, interval: f64, args: &[&str]) {
    let (first, second) = successors(&TEACHING_RING, peer);
    ring.spawn_init(peer, first, second, interval, args);
}

/// Waits until every peer of the teaching ring pings its first `count`
/// successors (the list it was started with, for `count` = 2, or the one it
/// learned, for more) and has heard each of them answer since: the ring is
/// then complete and quiet, and every successor is known to be alive, so
/// that its death would be noticed.
pub fn wait_until_settled(ring: &Ring, interval: f64, count: usize) {
    for &peer in &TEACHING_RING {
        let list = successor_list(&TEACHING_RING, peer, count);
        let pinged = ring.wait_for_line(peer, &pings_sent_line(&list), generous(interval));
        for &successor in &list {
            ring.wait_for_line_after(
                peer,
                pinged + 1,
                &response_line(successor),
                generous(interval),
            );
        }
    }
}

/// The line of a round of pings to `peers`, as the course words it:
/// "Peers 4 and 5", "Peers 4, 5 and 8".
pub fn pings_sent_line(peers: &[u8]) -> String {
    let names: Vec<String> = peers.iter().map(u8::to_string).collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => {
            format!("Ping requests sent to Peers {} and {last}", rest.join(", "))
        }
        _ => format!("Ping request sent to Peer {}", names.join("")),
    }
}

pub fn response_line(from: u8) -> String {
    format!("Ping response received from Peer {from}")
}

pub fn dead_line(peer: u8) -> String {
    format!("Peer {peer} is no longer alive")
}

/// Waits until `peer` prints exactly `line` as its line number `mark` or
/// later, and returns when the harness's reader thread read it.
pub fn time_of_line(ring: &Ring, peer: u8, mark: usize, line: &str, timeout: Duration) -> Instant {
    let index = ring.wait_for_line_after(peer, mark, line, timeout);
    ring.lines_with_times(peer)[index].0
}

// ----- Trials -----

/// Runs `trial(0)` to `trial(count - 1)` on threads of their own, all at
/// once, and returns their results in that order. A panic in a trial is
/// passed on once every trial has ended (their rings are dropped, so no
/// peer outlives the benchmark).
pub fn run_at_once<T: Send>(count: u32, trial: impl Fn(u32) -> T + Sync) -> Vec<T> {
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

/// When trial `k` of `count` acts, counted from a moment fixed in the ping
/// cycle: `k / count` of an interval. Reproducible, and spread evenly over
/// the cycle.
pub fn phase_offset(interval: f64, k: u32, count: u32) -> Duration {
    Duration::from_secs_f64(interval * f64::from(k) / f64::from(count))
}

// ----- Figures from /proc -----

/// The kernel's clock ticks per second (CLK_TCK), in which /proc gives CPU
/// times, and where the figure came from. It is 100 on every usual Linux;
/// that is assumed if `getconf` cannot say.
pub fn clock_ticks_per_second() -> (u64, &'static str) {
    match command_output("getconf", &["CLK_TCK"]).parse() {
        Ok(ticks) => (ticks, "getconf CLK_TCK"),
        Err(_) => (100, "assumed: getconf CLK_TCK failed"),
    }
}

/// The user plus system CPU time of process `pid` so far, in clock ticks:
/// fields 14 (utime) and 15 (stime) of `/proc/<pid>/stat`. Field 2, the
/// command name, is in parentheses and may contain spaces, so the fields are
/// counted from the last `)`, which ends field 2.
pub fn cpu_ticks(pid: u32) -> u64 {
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
pub fn status_field(pid: u32, name: &str) -> u64 {
    let path = format!("/proc/{pid}/status");
    let status = fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    status_number(&status, name).unwrap_or_else(|| panic!("{path} has no number for {name}"))
}

/// The number in the line `NAME: <number> ...` of a `/proc/<pid>/status`
/// text, if there is one.
pub fn status_number(status: &str, name: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
}
