//! Black-box tests of a ring that heals itself: real `p2p` processes on the
//! loopback interface, put through faults that the course's repair alone
//! does not undo, and checked through the lines they print and what they
//! answer over TCP.
//!
//! Each test asserts where the ring ends, not the path it takes there: a
//! peer's list is *settled* on a list when two of its regular rounds in a
//! row name it, and the last list it announced since the fault, if it
//! announced any, is that one. Deadlines only bound the waiting.
//!
//! The faults:
//!
//! - two adjacent peers killed at once at `--successors 2`, so that their
//!   first predecessor loses its whole list;
//! - a peer killed and started again with its `init` line, soon or late;
//! - a `JOIN` for a newcomer that never answers;
//! - a forged `LEAVE` for a peer that is alive.
//!
//! A frozen peer resumed after its predecessors declared it dead is covered
//! by `a_frozen_peer_14_is_dropped_then_rejoins_when_it_wakes_up` in
//! `tests/membership.rs`: it ends back between its neighbours, in the
//! course's lines.

mod common;

use common::lines::*;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::{DEADLINE, Ring, TempDir, predecessors, successors, without};

/// The ping interval of these tests: short enough that each test takes a
/// few seconds, long enough that several rings of seven peers on two cores
/// are not busy all the time.
const INTERVAL: f64 = 0.5;

/// The ring of the assignment's examples.
const TEACHING_RING: [u8; 7] = [2, 4, 5, 8, 9, 14, 19];

/// How long a ring may take to heal after a fault. Generous: at R = 2 some
/// faults heal only once a peer that nobody pings any more notices it (the
/// predecessor memory, three intervals plus a second) and finds its way
/// back; a correct program needs a few seconds.
const HEAL_DEADLINE: Duration = Duration::from_secs(20);

/// How many rounds a peer that must not change its list is watched for
/// after the input that could make a wrong program change it.
const WATCHED_ROUNDS: usize = 4;

// ----- Helpers -----

/// True for the line of a regular round of pings, whatever the list it
/// names: `Ping requests sent to Peers 4 and 5`, or `Ping request sent to
/// Peer 4` from a peer whose list has shrunk to one.
fn is_round(line: &str) -> bool {
    line.starts_with("Ping requests sent to Peers ")
        || line.starts_with("Ping request sent to Peer ")
}

/// Waits until `peer` prints a regular round of pings as its line `from`
/// or later, and returns the line's index. A peer that runs prints one
/// every interval; one whose list is held after a failure pings without
/// the line for at most a few seconds, so this waits up to [`DEADLINE`].
fn next_round(ring: &Ring, peer: u8, from: usize) -> usize {
    ring.wait_for_line_matching_after(peer, from, "a regular round of pings", DEADLINE, is_round)
}

/// A directory of its own for every one of `ids`, so that no file a test
/// moves lands in the working directory, whichever peer takes it.
fn directories(ids: &[u8]) -> BTreeMap<u8, TempDir> {
    ids.iter()
        .map(|&id| (id, TempDir::new(&format!("healing-peer{id}"))))
        .collect()
}

/// Starts the teaching ring pinging every [`INTERVAL`], each peer with its
/// directory from `dirs`, and with the ports of `also_reserve` checked free
/// (for peers that must not exist).
fn teaching_ring(dirs: &BTreeMap<u8, TempDir>, also_reserve: &[u8]) -> Ring {
    let mut builder = Ring::builder(&TEACHING_RING)
        .interval(INTERVAL)
        .also_reserve(also_reserve);
    for (&id, dir) in dirs {
        builder = builder.peer_args(id, &["--dir", dir.arg()]);
    }
    builder.start()
}

/// Waits until the ring `ids` is up: every peer has heard both of its
/// successors answer (a successor that never answered is never suspected)
/// and has been pinged by both of its predecessors (so it knows whom to
/// tell when it leaves, and which files are its own).
fn wait_until_ring_is_up(ring: &Ring, ids: &[u8]) {
    for &peer in ids {
        let (first, second) = successors(ids, peer);
        let (first_predecessor, second_predecessor) = predecessors(ids, peer);
        for line in [
            response_received(first),
            response_received(second),
            ping_received(first_predecessor),
            ping_received(second_predecessor),
        ] {
            ring.wait_for_line(peer, &line, DEADLINE);
        }
    }
}

/// The block of consecutive "My new ... successor" lines that starts at the
/// last line of `lines[from..to]` beginning "My new first successor", or
/// `None` if there is none: the last list the peer announced in that span.
fn last_announcement(lines: &[String], from: usize, to: usize) -> Option<Vec<String>> {
    let to = to.min(lines.len());
    let from = from.min(to);
    let start = from
        + lines[from..to]
            .iter()
            .rposition(|line| line.starts_with("My new first successor is Peer "))?;
    Some(
        lines[start..to]
            .iter()
            .take_while(|line| line.starts_with("My new ") && line.contains(" successor is Peer "))
            .cloned()
            .collect(),
    )
}

/// Waits until two regular rounds of `peer` in a row, both from its line
/// `since` on, name `list` (first, second), and returns the index of the
/// second: the peer pings that list and has stopped changing it. Panics
/// with every transcript and the rounds seen if that does not happen
/// within `timeout`.
fn wait_until_settled(
    ring: &Ring,
    peer: u8,
    since: usize,
    list: (u8, u8),
    timeout: Duration,
) -> usize {
    let wanted = pings_sent(list.0, list.1);
    let deadline = Instant::now() + timeout;
    let mut from = since;
    let mut previous: Option<String> = None;
    let mut seen: Vec<String> = Vec::new();
    loop {
        if Instant::now() >= deadline {
            panic!(
                "peer {peer} should settle on the successors {} {} within {timeout:?} (two rounds \
                 in a row saying {wanted:?}), but its rounds from its line {since} on said \
                 {seen:?}\n{}",
                list.0,
                list.1,
                ring.describe_all()
            );
        }
        let at = next_round(ring, peer, from);
        let line = ring.lines(peer)[at].clone();
        if line == wanted && previous.as_deref() == Some(wanted.as_str()) {
            return at;
        }
        if seen.last() != Some(&line) {
            seen.push(line.clone());
        }
        previous = Some(line);
        from = at + 1;
    }
}

/// Panics, showing every transcript, unless the last list `peer` announced
/// between its lines `since` and `until` is `list`, in the course's lines
/// (`My new first successor is Peer ..`, `My new second successor is Peer
/// ..`). When `required` is false, announcing nothing at all passes too: the
/// peer may never have noticed the fault.
fn assert_last_announcement(
    ring: &Ring,
    peer: u8,
    since: usize,
    until: usize,
    list: (u8, u8),
    required: bool,
) {
    let expected = vec![new_first(list.0), new_second(list.1)];
    let announced = last_announcement(&ring.lines(peer), since, until);
    let fine = match &announced {
        Some(lines) => *lines == expected,
        None => !required,
    };
    assert!(
        fine,
        "peer {peer} should end by announcing {expected:?} (in its lines {since}..{until}), but \
         its last announcement there was {announced:?}\n{}",
        ring.describe_all()
    );
}

/// Panics, showing every transcript, if `peer` printed a line containing
/// `fragment` from its line `since` on.
fn assert_not_printed_since(ring: &Ring, peer: u8, since: usize, fragment: &str) {
    if let Some(line) = ring.lines(peer)[since..]
        .iter()
        .find(|line| line.contains(fragment))
    {
        panic!(
            "peer {peer} should not have printed a line containing {fragment:?} after its line \
             {since}, but printed {line:?}\n{}",
            ring.describe_all()
        );
    }
}

/// Waits until `peer` has printed [`WATCHED_ROUNDS`] regular rounds from its
/// line `since` on, and panics, showing every transcript, unless each of
/// them names `list`: the peer went on pinging the same successors
/// throughout.
fn assert_keeps_pinging(ring: &Ring, peer: u8, since: usize, list: (u8, u8)) {
    let wanted = pings_sent(list.0, list.1);
    let mut from = since;
    for _ in 0..WATCHED_ROUNDS {
        let at = next_round(ring, peer, from);
        let line = &ring.lines(peer)[at];
        assert_eq!(
            *line,
            wanted,
            "peer {peer} should have gone on pinging {} and {}, but its line {at} says \
             otherwise\n{}",
            list.0,
            list.1,
            ring.describe_all()
        );
        from = at + 1;
    }
}

/// Checks that every peer of `ids` settles on its two successors in the
/// ring `ids`, in rounds from its mark in `since` on, and returns the index
/// of each one's settling round.
fn wait_until_ring_settles(
    ring: &Ring,
    ids: &[u8],
    since: &BTreeMap<u8, usize>,
    timeout: Duration,
) -> BTreeMap<u8, usize> {
    ids.iter()
        .map(|&peer| {
            let at = wait_until_settled(ring, peer, since[&peer], successors(ids, peer), timeout);
            (peer, at)
        })
        .collect()
}

/// Waits until every peer of the ring `ids` is pinged by both of its
/// predecessors and hears both of its successors answer, in lines from its
/// mark in `since` on: the ring is whole in both directions.
fn wait_until_ring_pings(ring: &Ring, ids: &[u8], since: &BTreeMap<u8, usize>) {
    for &peer in ids {
        let (first, second) = successors(ids, peer);
        let (first_predecessor, second_predecessor) = predecessors(ids, peer);
        for line in [
            ping_received(first_predecessor),
            ping_received(second_predecessor),
            response_received(first),
            response_received(second),
        ] {
            ring.wait_for_line_after(peer, since[&peer], &line, DEADLINE);
        }
    }
}

/// Writes `NNNN.pdf` with `contents` into `dir`.
fn place_file(dir: &TempDir, name: &str, contents: &[u8]) {
    let path = dir.join(&format!("{name}.pdf"));
    std::fs::write(&path, contents)
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

// ----- Two adjacent peers killed together at R = 2 -----

#[test]
fn two_adjacent_peers_killed_together_at_r_2_leave_a_whole_ring() {
    // 8 and 9 die at once: 5 loses both its successors, and nobody pings
    // 14 any more. The ring must still close round the gap: 5 takes 14 19,
    // 4 takes 5 14.
    const FILE: &str = "2057"; // hash 9: 14's once 8 and 9 are gone
    assert_eq!(2057 % 256, 9);
    let survivors = without(&TEACHING_RING, &[8, 9]);
    assert_eq!(successors(&survivors, 5), (14, 19));
    assert_eq!(successors(&survivors, 4), (5, 14));

    let dirs = directories(&TEACHING_RING);
    place_file(&dirs[&2], FILE, b"healed");
    let mut ring = teaching_ring(&dirs, &[]);
    wait_until_ring_is_up(&ring, &TEACHING_RING);

    let before = ring.marks(&survivors);
    ring.kill_together(&[8, 9]);

    let settled = wait_until_ring_settles(&ring, &survivors, &before, HEAL_DEADLINE);
    // The two whose lists held 8 or 9 say so in the course's lines.
    assert_last_announcement(&ring, 5, before[&5], settled[&5], (14, 19), true);
    assert_last_announcement(&ring, 4, before[&4], settled[&4], (5, 14), true);
    for &peer in &[2, 14, 19] {
        let list = successors(&survivors, peer);
        assert_last_announcement(&ring, peer, before[&peer], settled[&peer], list, false);
    }
    wait_until_ring_pings(&ring, &survivors, &ring.marks(&survivors));

    // The ring is whole: a store typed at 2 travels 2, 4, 5 and reaches 14,
    // which is responsible for hash 9 now.
    let before_store = ring.marks(&survivors);
    ring.type_command(2, &format!("Store {FILE}"));
    for peer in [2, 4, 5] {
        ring.wait_for_line_after(peer, before_store[&peer], &store_forwarded(FILE), DEADLINE);
    }
    ring.wait_for_line_after(14, before_store[&14], &store_accepted(FILE), DEADLINE);
    for &peer in &survivors {
        ring.assert_running(peer);
    }
    ring.assert_no_panic();
}

// ----- A peer killed and started again -----

/// Kills 5, starts it again with its own `init` line after `downtime`, and
/// checks that it ends back between its neighbours: 4 pings 5 8 and 2 pings
/// 4 5 again (announced in the course's lines if they had dropped 5), the
/// new 5 pings 8 9 and is pinged by 4 and 2, and the rest of the ring is
/// as it was.
fn check_restart_of_5(downtime: Duration) {
    assert_eq!(successors(&TEACHING_RING, 4), (5, 8));
    assert_eq!(successors(&TEACHING_RING, 2), (4, 5));
    let mut ring = Ring::builder(&TEACHING_RING).interval(INTERVAL).start();
    wait_until_ring_is_up(&ring, &TEACHING_RING);

    let before = ring.marks(&TEACHING_RING);
    ring.kill(5);
    // A deliberate pause, the time the peer is down: not a wait for
    // anything. After 0.3 s its predecessors may not even have noticed.
    std::thread::sleep(downtime);
    ring.restart(5);
    // The new process's transcript starts empty.
    let since = BTreeMap::from_iter(before.iter().map(|(&id, &mark)| {
        let mark = if id == 5 { 0 } else { mark };
        (id, mark)
    }));

    let settled_4 = wait_until_settled(&ring, 4, since[&4], (5, 8), HEAL_DEADLINE);
    let settled_2 = wait_until_settled(&ring, 2, since[&2], (4, 5), HEAL_DEADLINE);
    assert_last_announcement(&ring, 4, since[&4], settled_4, (5, 8), false);
    assert_last_announcement(&ring, 2, since[&2], settled_2, (4, 5), false);

    // The new 5 is in its place both ways, in lines printed from now on:
    // its predecessors ping it, it pings 8 and 9, and they answer.
    let now = ring.marks(&TEACHING_RING);
    wait_until_ring_settles(&ring, &TEACHING_RING, &now, DEADLINE);
    wait_until_ring_pings(&ring, &TEACHING_RING, &ring.marks(&TEACHING_RING));
    for &peer in &TEACHING_RING {
        ring.assert_running(peer);
    }
    ring.assert_no_panic();
}

#[test]
fn a_peer_killed_and_started_again_after_0_3_s_is_back_between_its_neighbours() {
    check_restart_of_5(Duration::from_millis(300));
}

#[test]
fn a_peer_killed_and_started_again_after_1_s_is_back_between_its_neighbours() {
    check_restart_of_5(Duration::from_secs(1));
}

#[test]
fn a_peer_killed_and_started_again_after_2_s_is_back_between_its_neighbours() {
    check_restart_of_5(Duration::from_secs(2));
}

// ----- A newcomer that never answers -----

#[test]
fn a_join_from_a_newcomer_that_never_answers_leaves_no_hole() {
    // 10 lies between 9 and 14, so 9 would place it; nothing runs on 10's
    // ports (they are reserved, so nothing else does either).
    const GHOST: u8 = 10;
    const FILE: &str = "2058"; // hash 10: 14's, since no peer 10 is in the ring
    assert_eq!(2058 % 256, u32::from(GHOST));
    let contents = b"across the place of a peer that never came";

    let dirs = directories(&TEACHING_RING);
    place_file(&dirs[&14], FILE, contents);
    let mut ring = teaching_ring(&dirs, &[GHOST]);
    wait_until_ring_is_up(&ring, &TEACHING_RING);

    let before = ring.marks(&TEACHING_RING);
    let reply = ring.exchange(9, &format!("JOIN {GHOST} {GHOST} 0"));
    assert!(
        reply.is_ok(),
        "peer 9 should answer a JOIN, but: {reply:?}\n{}",
        ring.describe_all()
    );

    // A request across the place 10 would have taken is answered by 14.
    ring.type_command(8, &format!("Request {FILE}"));
    ring.wait_for_line_after(8, before[&8], &request_sent(FILE), DEADLINE);
    ring.wait_for_line_after(9, before[&9], &not_stored_here(FILE), DEADLINE);
    ring.wait_for_lines_in_order_after(
        14,
        before[&14],
        &[&stored_here(FILE), &sending(FILE, 8), FILE_SENT],
        DEADLINE,
    );
    ring.wait_for_lines_in_order_after(
        8,
        before[&8],
        &[&peer_had(14, FILE), &receiving(FILE, 14), &received(FILE)],
        DEADLINE,
    );
    let path = dirs[&8].join(&format!("received_{FILE}.pdf"));
    let arrived =
        std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    assert_eq!(
        arrived,
        contents,
        "{} differs from what 14 holds",
        path.display()
    );

    // 9 never took 10, and neither 9 nor 8 changed its list at all.
    assert_keeps_pinging(&ring, 9, before[&9], (14, 19));
    assert_keeps_pinging(&ring, 8, before[&8], (9, 14));
    assert_not_printed_since(&ring, 9, before[&9], &new_first(GHOST));
    for peer in [9, 8] {
        assert_not_printed_since(&ring, peer, before[&peer], " successor is Peer ");
    }
    for &peer in &TEACHING_RING {
        ring.assert_running(peer);
    }
    ring.assert_no_panic();
}

// ----- A forged departure -----

#[test]
fn a_forged_leave_is_refused_and_the_real_departure_still_works() {
    let mut ring = Ring::builder(&TEACHING_RING).interval(INTERVAL).start();
    wait_until_ring_is_up(&ring, &TEACHING_RING);

    // Somebody says, in 8's name, that 8 leaves; 8 runs and said nothing.
    let before = ring.marks(&TEACHING_RING);
    let reply = ring.exchange(5, "LEAVE 8 9 14");
    assert_eq!(
        reply.as_deref(),
        Ok("ERROR not-leaving"),
        "peer 5 should refuse a LEAVE for peer 8, which is alive and not leaving\n{}",
        ring.describe_all()
    );
    assert_keeps_pinging(&ring, 5, before[&5], (8, 9));
    assert_not_printed_since(&ring, 5, before[&5], &will_depart(8));
    assert_not_printed_since(&ring, 5, before[&5], " successor is Peer ");

    // 8 really leaves: both its predecessors take its successors.
    let before_quit = ring.marks(&TEACHING_RING);
    ring.type_command(8, "Quit");
    ring.wait_for_lines_in_order_after(
        5,
        before_quit[&5],
        &[&will_depart(8), &new_first(9), &new_second(14)],
        DEADLINE,
    );
    ring.wait_for_lines_in_order_after(
        4,
        before_quit[&4],
        &[&will_depart(8), &new_first(5), &new_second(9)],
        DEADLINE,
    );
    let status = ring.wait_exit(8, DEADLINE);
    assert_eq!(
        status.code(),
        Some(0),
        "Quit should make 8 exit with code 0\n{}",
        ring.describe_all()
    );
    let remaining = without(&TEACHING_RING, &[8]);
    let since = ring.marks(&remaining);
    wait_until_ring_settles(&ring, &remaining, &since, DEADLINE);
    for &peer in &remaining {
        assert_not_printed_since(&ring, peer, before[&peer], "is no longer alive");
    }
    ring.assert_no_panic();
}
