//! Black-box tests of successor lists longer than the course's two
//! (`--successors R`): real `p2p` processes on the loopback interface,
//! checked only through what they print.
//!
//! A peer with R successors survives R - 1 adjacent failures: it drops the
//! dead from its list at once, keeps pinging the others, says which peers
//! are no longer alive, refills its list from its new first successor and
//! announces the whole new list, one "My new ... successor" line for each
//! position.

mod common;

use common::lines::*;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::{DEADLINE, Ring, predecessor_list, successor_list, without};

/// The ping interval of these tests: short so that the tests are quick, long
/// enough that several rings on two cores are not busy all the time.
const INTERVAL: f64 = 0.2;

/// The ring of the assignment's examples.
const TEACHING_RING: [u8; 7] = [2, 4, 5, 8, 9, 14, 19];

/// Nine peers whose identities wrap past 255, so that the three peers
/// killed together (220, 250 and 3) straddle the wrap.
const WRAPPING_RING: [u8; 9] = [3, 7, 20, 60, 100, 140, 180, 220, 250];

/// How long after the kill every survivor may take to ping the right
/// successors. A killed peer is noticed within about 50 ms and a refill is
/// one TCP exchange, so a correct program needs well under a second; the
/// rest is room for a busy machine.
const REPAIR_DEADLINE: Duration = Duration::from_secs(5);

/// The start of every regular ping line, whatever the list it names.
const ROUND_PREFIX: &str = "Ping requests sent to Peers ";

/// The start of the announcement of a new list, at its first position.
const ANNOUNCEMENT_PREFIX: &str = "My new first successor is Peer ";

/// The block of "My new ... successor" lines that starts at the last
/// announcement before line `end` of `lines`, or `None` if there is none.
/// A peer prints a new list in one go, so its lines are consecutive.
fn last_announcement_before(lines: &[String], end: usize) -> Option<Vec<String>> {
    let start = lines[..end]
        .iter()
        .rposition(|line| line.starts_with(ANNOUNCEMENT_PREFIX))?;
    Some(
        lines[start..end]
            .iter()
            .take_while(|line| line.starts_with("My new ") && line.contains(" successor is Peer "))
            .cloned()
            .collect(),
    )
}

/// Panics, showing every transcript, unless every list that `peer`
/// announced in its lines from `from` up to `to` names all `r` positions,
/// in order: a new list is announced whole, never the part of it known so
/// far. Only for rings of more than `r` peers, where every list is `r` long.
fn assert_every_announcement_is_whole(ring: &Ring, peer: u8, from: usize, to: usize, r: usize) {
    let lines = ring.lines(peer);
    for index in from..to.min(lines.len()) {
        if !lines[index].starts_with(ANNOUNCEMENT_PREFIX) {
            continue;
        }
        let positions: Vec<&str> = lines[index..]
            .iter()
            .take_while(|line| line.starts_with("My new ") && line.contains(" successor is Peer "))
            .map(|line| line.split(' ').nth(2).unwrap_or_default())
            .collect();
        let whole: Vec<&str> = (0..r).map(position_word).collect();
        assert_eq!(
            positions,
            whole,
            "peer {peer} announced the positions {positions:?} at its line {index}, where it \
             keeps {r} successors: a new list is announced whole\n{}",
            ring.describe_all()
        );
    }
}

/// The victims that `peer` may come to take for dead: those with fewer
/// than `r` survivors between it and them, going clockwise round the
/// original ring `ids`. Such a victim is in `peer`'s list from the start,
/// or can enter it from a list that a successor sent before it noticed the
/// failure (a dead peer learned that way is found dead in its turn). A
/// victim further away can never be in `peer`'s list.
fn victims_within_reach(ids: &[u8], victims: &[u8], peer: u8, r: usize) -> Vec<u8> {
    let clockwise = successor_list(ids, peer, ids.len());
    let mut survivors_between = 0;
    let mut reach = Vec::new();
    for id in clockwise {
        if victims.contains(&id) {
            if survivors_between < r {
                reach.push(id);
            }
        } else {
            survivors_between += 1;
        }
    }
    reach
}

/// Starts the ring `ids` with `--successors r` and waits until every peer
/// pings its whole list of `r` successors (`init` names only the first two;
/// the others are learned from successors). Returns, for each peer, the
/// index of its first round to the whole list.
fn start_with_full_lists(ids: &[u8], r: usize) -> (Ring, BTreeMap<u8, usize>) {
    let ring = Ring::builder(ids)
        .interval(INTERVAL)
        .args(&["--successors", &r.to_string()])
        .start();
    let mut full = BTreeMap::new();
    for &peer in ids {
        let list = successor_list(ids, peer, r);
        full.insert(
            peer,
            ring.wait_for_line(peer, &pings_sent_to(&list), DEADLINE),
        );
    }
    (ring, full)
}

/// Checks the lines of a ring started with `--successors r`: before its
/// first round to its whole list, each peer announces that list, one line
/// per position, and every list it announced until then was whole.
fn check_lists_are_announced_whole_at_start(ids: &[u8], r: usize) {
    let (ring, full) = start_with_full_lists(ids, r);
    for &peer in ids {
        let list = successor_list(ids, peer, r);
        let round = full[&peer];
        assert_eq!(
            last_announcement_before(&ring.lines(peer), round),
            Some(new_successor_lines(&list)),
            "peer {peer} should announce its whole list {list:?} before pinging it\n{}",
            ring.describe_all()
        );
        assert_every_announcement_is_whole(&ring, peer, 0, round, r);
        // Once announced, the list stays: the next round names it again.
        let next = ring.wait_for_line_starting_with_after(peer, round + 1, ROUND_PREFIX, DEADLINE);
        assert_eq!(
            ring.lines(peer)[next],
            pings_sent_to(&list),
            "peer {peer} changed its list after learning it whole\n{}",
            ring.describe_all()
        );
    }
    ring.assert_no_panic();
}

/// Kills `victims`, adjacent peers of the ring `ids` whose peers keep `r`
/// successors, all at the same moment, and checks that the survivors end
/// up pinging exactly the right `r` successors of the ring without them:
/// the peers that had a victim in their list say it is no longer alive and
/// announce their whole new list, the others print nothing about it, and
/// nobody panics.
fn check_adjacent_kills(ids: &[u8], r: usize, victims: &[u8]) {
    assert!(
        victims.len() < r,
        "R = {r} successors survive at most {} adjacent failures",
        r - 1
    );
    let (mut ring, full) = start_with_full_lists(ids, r);
    let survivors = without(ids, victims);

    // A successor that has never answered is not suspected, so wait until
    // every peer with a victim in its list has heard that victim answer.
    for &peer in &survivors {
        for victim in successor_list(ids, peer, r) {
            if victims.contains(&victim) {
                ring.wait_for_line_after(peer, full[&peer], &response_received(victim), DEADLINE);
            }
        }
    }

    let before = ring.marks(&survivors);
    let killed_at = Instant::now();
    ring.kill_together(victims);

    // Every survivor soon pings its right successors, and the round after
    // that names the same list: the repair is over, not passing through.
    let mut repaired = BTreeMap::new();
    for &peer in &survivors {
        let list = successor_list(&survivors, peer, r);
        let remaining = REPAIR_DEADLINE.saturating_sub(killed_at.elapsed());
        let round = ring.wait_for_line_after(peer, before[&peer], &pings_sent_to(&list), remaining);
        let next = ring.wait_for_line_starting_with_after(peer, round + 1, ROUND_PREFIX, DEADLINE);
        assert_eq!(
            ring.lines(peer)[next],
            pings_sent_to(&list),
            "peer {peer} changed its list again after pinging the right one\n{}",
            ring.describe_all()
        );
        repaired.insert(peer, round);
    }

    for &peer in &survivors {
        let lines = ring.lines(peer);
        let after_kill = &lines[before[&peer]..];
        let list_before = successor_list(ids, peer, r);
        let list_after = successor_list(&survivors, peer, r);

        // Deaths: every victim in the peer's list, each said once, and no
        // peer that could never have been in its list.
        let deaths: Vec<&String> = after_kill
            .iter()
            .filter(|line| line.ends_with(" is no longer alive"))
            .collect();
        let reach = victims_within_reach(ids, victims, peer, r);
        for line in &deaths {
            let named_victim = reach
                .iter()
                .any(|&victim| **line == no_longer_alive(victim));
            assert!(
                named_victim,
                "peer {peer} printed {line:?}, but only {reach:?} could be in its list\n{}",
                ring.describe_all()
            );
        }
        for victim in list_before.iter().filter(|v| victims.contains(v)) {
            let count = deaths
                .iter()
                .filter(|line| ***line == no_longer_alive(*victim))
                .count();
            assert_eq!(
                count,
                1,
                "peer {peer} had {victim} in its list {list_before:?}, so it should say once \
                 that {victim} is no longer alive\n{}",
                ring.describe_all()
            );
        }

        // Announcements: a peer whose list changed announces the whole new
        // list, after the deaths it reported; the others announce nothing.
        let round = repaired[&peer];
        assert_every_announcement_is_whole(&ring, peer, before[&peer], round, r);
        if list_before == list_after {
            let changes: Vec<&String> = after_kill
                .iter()
                .filter(|line| line.contains(" successor is Peer "))
                .collect();
            assert!(
                changes.is_empty(),
                "peer {peer} kept its list {list_before:?}, but printed {changes:?}\n{}",
                ring.describe_all()
            );
        } else {
            assert_eq!(
                last_announcement_before(&lines, round),
                Some(new_successor_lines(&list_after)),
                "peer {peer} should announce its whole new list {list_after:?} before pinging \
                 it\n{}",
                ring.describe_all()
            );
            let announced_at = lines[..round]
                .iter()
                .rposition(|line| line.starts_with(ANNOUNCEMENT_PREFIX))
                .unwrap();
            let last_death = lines[..=round]
                .iter()
                .rposition(|line| line.ends_with(" is no longer alive"));
            assert!(
                last_death.is_some_and(|death| death < announced_at),
                "peer {peer} should say who died before it announces its new list\n{}",
                ring.describe_all()
            );
        }
    }

    // The repaired ring pings as a ring of R successors does: every survivor
    // hears from its R nearest predecessors and from all its successors.
    for &peer in &survivors {
        for predecessor in predecessor_list(&survivors, peer, r) {
            ring.wait_for_line_after(peer, repaired[&peer], &ping_received(predecessor), DEADLINE);
        }
        for successor in successor_list(&survivors, peer, r) {
            ring.wait_for_line_after(
                peer,
                repaired[&peer],
                &response_received(successor),
                DEADLINE,
            );
        }
        ring.assert_running(peer);
    }
    ring.assert_no_panic();
}

#[test]
fn at_r_3_every_peer_announces_its_list_of_three_once_it_has_learned_it() {
    check_lists_are_announced_whole_at_start(&TEACHING_RING, 3);
}

#[test]
fn at_r_4_every_peer_announces_its_list_of_four_once_it_has_learned_it() {
    // The first successor of a peer may itself know only part of its list
    // yet, so at R = 4 a peer may learn its list in more than one step; it
    // announces it when it is whole.
    check_lists_are_announced_whole_at_start(&WRAPPING_RING, 4);
}

#[test]
fn at_r_3_two_adjacent_peers_killed_together_are_both_replaced() {
    // Spot checks of the expected lists against the teaching ring.
    assert_eq!(successor_list(&TEACHING_RING, 8, 3), [9, 14, 19]);
    assert_eq!(successor_list(&[2, 4, 5, 8, 9], 8, 3), [9, 2, 4]);
    assert_eq!(predecessor_list(&TEACHING_RING, 2, 3), [19, 14, 9]);
    assert_eq!(
        victims_within_reach(&TEACHING_RING, &[14, 19], 5, 3),
        [14, 19]
    );
    assert!(victims_within_reach(&TEACHING_RING, &[14, 19], 4, 3).is_empty());
    check_adjacent_kills(&TEACHING_RING, 3, &[14, 19]);
}

#[test]
fn at_r_4_three_adjacent_peers_killed_together_across_the_wrap_are_all_replaced() {
    assert_eq!(successor_list(&WRAPPING_RING, 180, 4), [220, 250, 3, 7]);
    assert_eq!(
        successor_list(&[7, 20, 60, 100, 140, 180], 180, 4),
        [7, 20, 60, 100]
    );
    check_adjacent_kills(&WRAPPING_RING, 4, &[220, 250, 3]);
}
