//! Black-box tests of membership: peers joining the ring, leaving it with
//! `Quit`, and failing (killed, or frozen and woken up again). Real `p2p`
//! processes on the loopback interface, checked only through what they
//! print.
//!
//! Every "afterwards X hears from Y" check counts only lines printed after
//! the change (see [`Ring::mark`]), so that lines from before it do not pass
//! the test by accident.

mod common;

use common::lines::*;

use std::collections::BTreeMap;

use common::{DEADLINE, Ring, predecessors, successors, without};

/// The ping interval of these tests: short so that the tests are quick, long
/// enough that several rings of seven peers on two cores are not busy all
/// the time.
const INTERVAL: f64 = 0.2;

/// The ring of the assignment's examples.
const TEACHING_RING: [u8; 7] = [2, 4, 5, 8, 9, 14, 19];

/// A ring whose identities wrap past 255.
const WRAPPING_RING: [u8; 4] = [250, 253, 3, 7];

// ----- The lines of the reference behaviour -----

// ----- Helpers -----

/// Waits until `peer` prints `lines` in this order (other lines may come
/// between them), counting only lines from number `mark` on, and returns
/// the index of the last one.
fn wait_in_order(ring: &Ring, peer: u8, mark: usize, lines: &[String]) -> usize {
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    ring.wait_for_lines_in_order_after(peer, mark, &lines, DEADLINE)
}

/// Waits until every peer of `ids` has started its first round of pings,
/// which it does as soon as its sockets are open: from then on it answers.
fn wait_until_every_peer_runs(ring: &Ring, ids: &[u8]) {
    for &peer in ids {
        let (first, second) = successors(ids, peer);
        ring.wait_for_line(peer, &pings_sent(first, second), DEADLINE);
    }
}

/// Waits until every peer of `ids` has pinged its two successors, been
/// pinged by its two predecessors and heard both successors answer, at any
/// time since it started.
fn wait_until_pings_are_exchanged(ring: &Ring, ids: &[u8]) {
    let from_start: BTreeMap<u8, usize> = ids.iter().map(|&id| (id, 0)).collect();
    wait_for_ring_pings(ring, ids, &from_start);
}

/// Checks that the ring made of `ids` is consistent from now on: every peer
/// pings exactly its two successors in that ring, is pinged by its two
/// predecessors and hears both successors answer, all in lines printed
/// after this call starts.
fn assert_ring_settles(ring: &Ring, ids: &[u8]) {
    let now = ring.marks(ids);
    wait_for_ring_pings(ring, ids, &now);
}

fn wait_for_ring_pings(ring: &Ring, ids: &[u8], from: &BTreeMap<u8, usize>) {
    for &peer in ids {
        let mark = from[&peer];
        let (first, second) = successors(ids, peer);
        let (first_predecessor, second_predecessor) = predecessors(ids, peer);
        for line in [
            pings_sent(first, second),
            ping_received(first_predecessor),
            ping_received(second_predecessor),
            response_received(first),
            response_received(second),
        ] {
            ring.wait_for_line_after(peer, mark, &line, DEADLINE);
        }
    }
}

/// Panics, showing every transcript, if one of `peers` printed a line that
/// contains `fragment` on standard output.
fn assert_nobody_printed(ring: &Ring, peers: &[u8], fragment: &str) {
    for &peer in peers {
        if let Some(line) = ring.lines(peer).iter().find(|l| l.contains(fragment)) {
            panic!(
                "peer {peer} should not have printed a line containing {fragment:?}, \
                 but printed {line:?}\n{}",
                ring.describe_all()
            );
        }
    }
}

/// What a join should make the peers print.
struct ExpectedJoin<'a> {
    newcomer: u8,
    /// The peers that pass the request on, each printing the forward line.
    forwarders: &'a [u8],
    /// The peer after which the newcomer belongs; it takes the newcomer as
    /// its first successor.
    acceptor: u8,
    /// The acceptor's new first and second successors.
    acceptor_successors: (u8, u8),
    /// The acceptor's first predecessor, which gets a successor change.
    predecessor: u8,
    /// The predecessor's new first and second successors.
    predecessor_successors: (u8, u8),
    /// The successors the newcomer is given.
    newcomer_successors: (u8, u8),
}

/// Waits for every line of `join`, counting for each peer only the lines
/// from its mark in `from` on (0 for a peer without a mark, such as the
/// newcomer). Also checks that the acceptor and the newcomer then ping their
/// new successors.
fn wait_for_join(ring: &Ring, join: &ExpectedJoin, from: &BTreeMap<u8, usize>) {
    let mark = |peer: u8| from.get(&peer).copied().unwrap_or(0);
    let newcomer = join.newcomer;

    for &forwarder in join.forwarders {
        ring.wait_for_line_after(
            forwarder,
            mark(forwarder),
            &join_forwarded(newcomer),
            DEADLINE,
        );
    }

    let (first, second) = join.acceptor_successors;
    let changed = wait_in_order(
        ring,
        join.acceptor,
        mark(join.acceptor),
        &[
            join_received(newcomer),
            new_first(first),
            new_second(second),
        ],
    );
    ring.wait_for_line_after(
        join.acceptor,
        changed + 1,
        &pings_sent(first, second),
        DEADLINE,
    );

    let (first, second) = join.predecessor_successors;
    wait_in_order(
        ring,
        join.predecessor,
        mark(join.predecessor),
        &[
            SUCCESSOR_CHANGE.to_string(),
            new_first(first),
            new_second(second),
        ],
    );

    let (first, second) = join.newcomer_successors;
    wait_in_order(
        ring,
        newcomer,
        mark(newcomer),
        &[
            JOIN_ACCEPTED.to_string(),
            first_successor(first),
            second_successor(second),
            pings_sent(first, second),
        ],
    );
}

/// Starts the teaching ring, and reserves the ports of `later`, peers the
/// test starts afterwards.
fn teaching_ring(later: &[u8]) -> Ring {
    Ring::builder(&TEACHING_RING)
        .interval(INTERVAL)
        .also_reserve(later)
        .start()
}

/// `ids` with `newcomer` added.
fn with(ids: &[u8], newcomer: u8) -> Vec<u8> {
    let mut all = ids.to_vec();
    all.push(newcomer);
    all
}

// ----- Joining -----

/// The lines of `join 15 4` on the teaching ring 2 4 5 8 9 14 19.
fn join_of_15_via_4() -> ExpectedJoin<'static> {
    ExpectedJoin {
        newcomer: 15,
        forwarders: &[4, 5, 8, 9],
        acceptor: 14,
        acceptor_successors: (15, 19),
        predecessor: 9,
        predecessor_successors: (14, 15),
        newcomer_successors: (19, 2),
    }
}

/// After `join 15 4` on the teaching ring: the new ring pings as it should,
/// the peers that did not forward printed no join line, and nobody was
/// taken for dead.
fn assert_teaching_ring_with_15(ring: &Ring, marks_before_join: &BTreeMap<u8, usize>) {
    let mark = |peer: u8| marks_before_join[&peer];
    // The assignment's lines about pings in the new ring.
    ring.wait_for_line_after(14, mark(14), &pings_sent(15, 19), DEADLINE);
    ring.wait_for_line(15, &pings_sent(19, 2), DEADLINE);
    ring.wait_for_line_after(19, mark(19), &ping_received(15), DEADLINE);
    ring.wait_for_line_after(2, mark(2), &ping_received(15), DEADLINE);
    ring.wait_for_line(15, &ping_received(14), DEADLINE);
    ring.wait_for_line(15, &ping_received(9), DEADLINE);

    let after = with(&TEACHING_RING, 15);
    assert_ring_settles(ring, &after);
    assert_nobody_printed(ring, &[2, 19], "Join");
    assert_nobody_printed(ring, &after, "is no longer alive");
    ring.assert_no_panic();
}

#[test]
fn join_of_15_via_4_on_the_teaching_ring() {
    let mut ring = teaching_ring(&[15]);
    wait_until_pings_are_exchanged(&ring, &TEACHING_RING);

    let before = ring.marks(&TEACHING_RING);
    ring.spawn_join(15, 4, INTERVAL);
    wait_for_join(&ring, &join_of_15_via_4(), &before);
    assert_teaching_ring_with_15(&ring, &before);
}

#[test]
fn join_of_15_via_4_right_after_the_ring_starts() {
    let mut ring = teaching_ring(&[15]);
    // As early as can be without racing the peers' start: each has opened
    // its sockets and sent its first pings, but few if any answers or
    // pings have arrived yet, so peers know little of their predecessors.
    wait_until_every_peer_runs(&ring, &TEACHING_RING);

    let before = ring.marks(&TEACHING_RING);
    ring.spawn_join(15, 4, INTERVAL);
    wait_for_join(&ring, &join_of_15_via_4(), &before);
    assert_teaching_ring_with_15(&ring, &before);
}

/// Runs `join NEWCOMER KNOWN` on the ring `ids` once it pings, waits for
/// `expected`, then checks that the ring with the newcomer settles and that
/// only the forwarders and the acceptor printed a join line.
fn check_join(ids: &[u8], known: u8, expected: &ExpectedJoin) {
    let newcomer = expected.newcomer;
    let mut ring = Ring::builder(ids)
        .interval(INTERVAL)
        .also_reserve(&[newcomer])
        .start();
    wait_until_pings_are_exchanged(&ring, ids);

    let before = ring.marks(ids);
    ring.spawn_join(newcomer, known, INTERVAL);
    wait_for_join(&ring, expected, &before);

    let after = with(ids, newcomer);
    assert_ring_settles(&ring, &after);
    let mut bystanders = without(ids, expected.forwarders);
    bystanders.retain(|&id| id != expected.acceptor);
    assert_nobody_printed(&ring, &bystanders, "Join");
    assert_nobody_printed(&ring, &after, "is no longer alive");
    ring.assert_no_panic();
}

#[test]
fn join_of_200_via_4_is_placed_after_the_largest_identity() {
    check_join(
        &TEACHING_RING,
        4,
        &ExpectedJoin {
            newcomer: 200,
            forwarders: &[4, 5, 8, 9, 14],
            acceptor: 19,
            acceptor_successors: (200, 2),
            predecessor: 14,
            predecessor_successors: (19, 200),
            newcomer_successors: (2, 4),
        },
    );
}

#[test]
fn join_of_0_via_9_is_placed_after_the_largest_identity() {
    check_join(
        &TEACHING_RING,
        9,
        &ExpectedJoin {
            newcomer: 0,
            forwarders: &[9, 14],
            acceptor: 19,
            acceptor_successors: (0, 2),
            predecessor: 14,
            predecessor_successors: (19, 0),
            newcomer_successors: (2, 4),
        },
    );
}

#[test]
fn join_of_1_via_7_on_a_ring_that_wraps_past_255_is_placed_after_253() {
    check_join(
        &WRAPPING_RING,
        7,
        &ExpectedJoin {
            newcomer: 1,
            forwarders: &[7, 250],
            acceptor: 253,
            acceptor_successors: (1, 3),
            predecessor: 250,
            predecessor_successors: (253, 1),
            newcomer_successors: (3, 7),
        },
    );
}

#[test]
fn join_of_255_via_3_on_a_ring_that_wraps_past_255_is_placed_after_253() {
    check_join(
        &WRAPPING_RING,
        3,
        &ExpectedJoin {
            newcomer: 255,
            forwarders: &[3, 7, 250],
            acceptor: 253,
            acceptor_successors: (255, 3),
            predecessor: 250,
            predecessor_successors: (253, 255),
            newcomer_successors: (3, 7),
        },
    );
}

#[test]
fn join_of_14_while_14_runs_fails_and_leaves_the_ring_unchanged() {
    let mut ring = teaching_ring(&[]);
    wait_until_pings_are_exchanged(&ring, &TEACHING_RING);

    // The harness names processes by identity and 14 is taken, so the
    // second process that claims identity 14 is filed under another name.
    // Its ports are 14's, which the ring reserved.
    const IMPOSTOR: u8 = 114;
    let base_port = ring.base_port().to_string();
    let interval = INTERVAL.to_string();
    ring.spawn_raw(
        IMPOSTOR,
        &["join", "14", "4", &interval, "--base-port", &base_port],
    );
    let status = ring.wait_exit(IMPOSTOR, DEADLINE);
    assert!(
        !status.success() && status.code().is_some(),
        "a second peer 14 should exit with a non-zero code, but: {status}\n{}",
        ring.describe_all()
    );
    let stderr = ring.stderr_lines(IMPOSTOR);
    let port = ring.port(14).to_string();
    assert!(
        stderr.len() == 1 && stderr[0].contains("peer 14") && stderr[0].contains(&port),
        "a second peer 14 should say on one line of standard error that peer 14's port \
         {port} is in use, but printed {stderr:?}\n{}",
        ring.describe_all()
    );
    assert!(
        ring.lines(IMPOSTOR).is_empty(),
        "a second peer 14 should print nothing on standard output\n{}",
        ring.describe_all()
    );

    // The ring goes on as before, 14 included.
    assert_ring_settles(&ring, &TEACHING_RING);
    ring.assert_running(14);
    assert_nobody_printed(&ring, &TEACHING_RING, "Join");
    assert_nobody_printed(&ring, &TEACHING_RING, "successor is");
    assert_nobody_printed(&ring, &TEACHING_RING, "is no longer alive");
    ring.assert_no_panic();
}

#[test]
fn join_of_15_via_7_fails_when_nobody_runs_7() {
    // 7's ports are reserved, so that nothing answers on them.
    let mut ring = teaching_ring(&[15, 7]);
    wait_until_pings_are_exchanged(&ring, &TEACHING_RING);

    ring.spawn_join(15, 7, INTERVAL);
    let status = ring.wait_exit(15, DEADLINE);
    assert!(
        !status.success() && status.code().is_some(),
        "a peer that cannot join should exit with a non-zero code, but: {status}\n{}",
        ring.describe_all()
    );
    ring.wait_for_stderr_containing(15, "peer 7", DEADLINE);

    assert_ring_settles(&ring, &TEACHING_RING);
    assert_nobody_printed(&ring, &TEACHING_RING, "Join");
    assert_nobody_printed(&ring, &TEACHING_RING, "successor is");
    ring.assert_no_panic();
}

// ----- Graceful departure -----

/// Waits until 9 knows both its predecessors from their pings, types
/// `command` at 9, and checks the departure lines at 8 and 5, that 9
/// exits with code 0, and what 9 says of its departure on standard error.
/// Returns the marks of every peer taken just before the command.
fn quit_9_on_the_teaching_ring(ring: &mut Ring, command: &str) -> BTreeMap<u8, usize> {
    wait_until_pings_are_exchanged(ring, &TEACHING_RING);
    ring.wait_for_line(9, &ping_received(8), DEADLINE);
    ring.wait_for_line(9, &ping_received(5), DEADLINE);

    let before = ring.marks(&TEACHING_RING);
    let stderr_before = ring.stderr_mark(9);
    ring.type_command(9, command);
    wait_in_order(
        ring,
        8,
        before[&8],
        &[will_depart(9), new_first(14), new_second(19)],
    );
    wait_in_order(
        ring,
        5,
        before[&5],
        &[will_depart(9), new_first(8), new_second(14)],
    );
    let status = ring.wait_exit(9, DEADLINE);
    assert_eq!(
        status.code(),
        Some(0),
        "{command:?} should make 9 exit with code 0\n{}",
        ring.describe_all()
    );
    // The course prints nothing at the leaver; it says what it does on
    // standard error.
    assert_eq!(
        ring.stderr_lines(9)[stderr_before..],
        [
            "p2p: leaving the ring: telling peers 8 and 5",
            "p2p: left the ring"
        ],
        "9's standard error after {command:?}\n{}",
        ring.describe_all()
    );
    before
}

fn check_quit_of_9(command: &str) {
    let mut ring = teaching_ring(&[]);
    let before = quit_9_on_the_teaching_ring(&mut ring, command);

    // The new neighbours hear from each other.
    for (peer, from) in [(8, 5), (8, 4), (14, 8), (14, 5)] {
        ring.wait_for_line_after(peer, before[&peer], &ping_received(from), DEADLINE);
    }
    let after = without(&TEACHING_RING, &[9]);
    assert_ring_settles(&ring, &after);

    // Only 9's two predecessors were told, and nobody took 9 for dead.
    assert_nobody_printed(&ring, &without(&TEACHING_RING, &[8, 5]), "will depart");
    assert_nobody_printed(&ring, &TEACHING_RING, &no_longer_alive(9));
    assert_nobody_printed(&ring, &TEACHING_RING, "is no longer alive");
    ring.assert_no_panic();
}

#[test]
fn quit_at_9_hands_its_successors_to_8_and_5() {
    check_quit_of_9("Quit");
}

#[test]
fn lowercase_quit_at_9_hands_its_successors_to_8_and_5() {
    check_quit_of_9("quit");
}

// ----- Abrupt departure -----

/// Waits until 9 and 8 have heard 14 answer (a successor that never
/// answered is not declared dead), kills 14, and waits for 9 and 8 to
/// repair the ring. Returns the marks of every peer taken just before the
/// kill.
fn kill_14_on_the_teaching_ring(ring: &mut Ring) -> BTreeMap<u8, usize> {
    ring.wait_for_line(9, &response_received(14), DEADLINE);
    ring.wait_for_line(8, &response_received(14), DEADLINE);

    let before = ring.marks(&TEACHING_RING);
    ring.kill(14);
    wait_for_repair_after_14_fails(ring, &before);
    before
}

/// The lines of 9 and 8 once 14 has failed (killed or frozen).
fn wait_for_repair_after_14_fails(ring: &Ring, before: &BTreeMap<u8, usize>) {
    wait_in_order(
        ring,
        9,
        before[&9],
        &[no_longer_alive(14), new_first(19), new_second(2)],
    );
    wait_in_order(
        ring,
        8,
        before[&8],
        &[no_longer_alive(14), new_first(9), new_second(19)],
    );
}

#[test]
fn a_killed_peer_14_is_declared_dead_by_9_and_8_and_the_ring_repaired() {
    let mut ring = teaching_ring(&[]);
    let before = kill_14_on_the_teaching_ring(&mut ring);

    for (peer, from) in [(2, 19), (2, 9), (19, 9), (19, 8)] {
        ring.wait_for_line_after(peer, before[&peer], &ping_received(from), DEADLINE);
    }
    let after = without(&TEACHING_RING, &[14]);
    assert_ring_settles(&ring, &after);
    // Only 14's two predecessors ping it, so only they notice.
    assert_nobody_printed(&ring, &without(&after, &[9, 8]), "is no longer alive");
    ring.assert_no_panic();
}

#[test]
fn a_frozen_peer_14_is_dropped_then_rejoins_when_it_wakes_up() {
    let mut ring = teaching_ring(&[]);
    ring.wait_for_line(9, &response_received(14), DEADLINE);
    ring.wait_for_line(8, &response_received(14), DEADLINE);

    let before_stop = ring.marks(&TEACHING_RING);
    ring.freeze(14);
    wait_for_repair_after_14_fails(&ring, &before_stop);

    let before_cont = ring.marks(&TEACHING_RING);
    ring.thaw(14);
    // Nobody pings 14 any more, and it is back in its old place soon after.
    // Two paths lead there, and either may win: 14 finds that nobody pings
    // it and joins again, and its JOIN reaches 9 (which takes it, and tells
    // 8 with a CHANGE); or the background repair finds it first (9's check
    // of its list with 19 names 14, and 8's check with 9 brings it), and a
    // JOIN, if 14 sends one, is refused as a duplicate. Both end in the same lists, printed
    // with the course's lines.
    wait_in_order(&ring, 9, before_cont[&9], &[new_first(14), new_second(19)]);
    wait_in_order(&ring, 8, before_cont[&8], &[new_first(9), new_second(14)]);

    // The repaired ring is the original one again, not a corrupted one.
    let after_rejoin = ring.marks(&TEACHING_RING);
    for (peer, from) in [(19, 14), (19, 9), (2, 19), (2, 14)] {
        ring.wait_for_line_after(peer, after_rejoin[&peer], &ping_received(from), DEADLINE);
    }
    // 14 is pinged again by its predecessors, in lines after its return
    // (not pings that waited in its socket while it was frozen).
    ring.wait_for_line_after(14, after_rejoin[&14], &ping_received(9), DEADLINE);
    ring.wait_for_line_after(14, after_rejoin[&14], &ping_received(8), DEADLINE);
    ring.wait_for_line_after(9, after_rejoin[&9], &pings_sent(14, 19), DEADLINE);
    ring.wait_for_line_after(8, after_rejoin[&8], &pings_sent(9, 14), DEADLINE);
    assert_ring_settles(&ring, &TEACHING_RING);
    ring.assert_running(14);
    ring.assert_no_panic();
}

#[test]
fn join_of_15_via_4_after_14_was_killed_is_placed_after_9() {
    let mut ring = teaching_ring(&[15]);
    kill_14_on_the_teaching_ring(&mut ring);

    let remaining = without(&TEACHING_RING, &[14]);
    let before = ring.marks(&remaining);
    ring.spawn_join(15, 4, INTERVAL);
    wait_for_join(
        &ring,
        &ExpectedJoin {
            newcomer: 15,
            forwarders: &[4, 5, 8],
            acceptor: 9,
            acceptor_successors: (15, 19),
            predecessor: 8,
            predecessor_successors: (9, 15),
            newcomer_successors: (19, 2),
        },
        &before,
    );

    let after = with(&remaining, 15);
    assert_ring_settles(&ring, &after);
    ring.assert_no_panic();
}

#[test]
fn kills_of_5_and_then_14_are_both_repaired() {
    let mut ring = teaching_ring(&[]);

    ring.wait_for_line(4, &response_received(5), DEADLINE);
    ring.wait_for_line(2, &response_received(5), DEADLINE);
    let before = ring.marks(&TEACHING_RING);
    ring.kill(5);
    wait_in_order(
        &ring,
        4,
        before[&4],
        &[no_longer_alive(5), new_first(8), new_second(9)],
    );
    wait_in_order(
        &ring,
        2,
        before[&2],
        &[no_longer_alive(5), new_first(4), new_second(8)],
    );
    let without_5 = without(&TEACHING_RING, &[5]);
    assert_ring_settles(&ring, &without_5);

    kill_14_on_the_teaching_ring(&mut ring);
    let without_5_and_14 = without(&TEACHING_RING, &[5, 14]);
    assert_eq!(without_5_and_14, [2, 4, 8, 9, 19]);
    assert_ring_settles(&ring, &without_5_and_14);
    ring.assert_no_panic();
}

// ----- The markers' sequence -----

#[test]
fn quit_of_9_then_join_of_15_then_a_kill_of_14_on_a_fresh_ring() {
    {
        let mut ring = teaching_ring(&[15]);
        wait_until_pings_are_exchanged(&ring, &TEACHING_RING);
        quit_9_on_the_teaching_ring(&mut ring, "Quit");

        // The ring is now 2 4 5 8 14 19.
        let remaining = without(&TEACHING_RING, &[9]);
        let before = ring.marks(&remaining);
        ring.spawn_join(15, 4, INTERVAL);
        wait_for_join(
            &ring,
            &ExpectedJoin {
                newcomer: 15,
                forwarders: &[4, 5, 8],
                acceptor: 14,
                acceptor_successors: (15, 19),
                predecessor: 8,
                predecessor_successors: (14, 15),
                newcomer_successors: (19, 2),
            },
            &before,
        );
        assert_ring_settles(&ring, &with(&remaining, 15));
        assert_nobody_printed(&ring, &TEACHING_RING, "is no longer alive");
        ring.assert_no_panic();
    }

    let mut ring = teaching_ring(&[]);
    kill_14_on_the_teaching_ring(&mut ring);
    assert_ring_settles(&ring, &without(&TEACHING_RING, &[14]));
    ring.assert_no_panic();
}

#[test]
fn a_whole_ring_frozen_for_longer_than_its_predecessor_memory_goes_on_when_thawed() {
    // As when the machine that runs every peer hangs for a moment (a
    // virtual machine paused, a laptop's lid closed): every peer goes
    // without pings for longer than it remembers its predecessors, but
    // nobody was dropped, since nobody pinged anybody meanwhile.
    let mut ring = teaching_ring(&[]);
    wait_until_pings_are_exchanged(&ring, &TEACHING_RING);
    for &peer in &TEACHING_RING {
        ring.freeze(peer);
    }
    // A deliberate pause, the length of the hang: longer than the
    // predecessor memory of three intervals plus one second.
    std::thread::sleep(std::time::Duration::from_secs_f64(3.0 * INTERVAL + 1.5));
    for &peer in &TEACHING_RING {
        ring.thaw(peer);
    }
    assert_ring_settles(&ring, &TEACHING_RING);
    // Settled for good: a second look, once the rejoin attempts a hang may
    // cause are long over, finds the same ring.
    assert_ring_settles(&ring, &TEACHING_RING);
    for &peer in &TEACHING_RING {
        ring.assert_running(peer);
    }
    assert_nobody_printed(&ring, &TEACHING_RING, "is no longer alive");
    ring.assert_no_panic();
}
