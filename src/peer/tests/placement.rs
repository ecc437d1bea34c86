//! Files that follow the ring: the placement rule as a pure function, and
//! a peer that looks after files, round by round.

use std::collections::BTreeSet;

use super::ids;
use super::scenario::{Scenario, config};
use crate::message::Purpose;
use crate::output::HandoverReason;
use crate::peer::{Held, Neighbourhood, PeerConfig, QUIT_HANDOVER_LIMIT, Step, plan};
use crate::ring::{FileName, PeerId};

fn file(name: &str) -> FileName {
    FileName::parse(name).expect("a valid name")
}

/// Peer `me` of the teaching ring 2 4 5 8 9 14 19 as it sees it.
fn around(me: u8, predecessors: &[u8], successors: &[u8], replicas: usize) -> Neighbourhood {
    Neighbourhood {
        me: PeerId(me),
        replicas,
        predecessors: ids(predecessors),
        successors: ids(successors),
    }
}

fn stored(names: &[&str]) -> Vec<(FileName, Held)> {
    names.iter().map(|&n| (file(n), Held::Stored)).collect()
}

fn replicas(names: &[&str]) -> Vec<(FileName, Held)> {
    names.iter().map(|&n| (file(n), Held::Replica)).collect()
}

fn ring_files(names: &[&str]) -> BTreeSet<FileName> {
    names.iter().map(|&n| file(n)).collect()
}

fn offer(name: &str, to: u8, purpose: Purpose, reason: HandoverReason) -> Step {
    Step::Offer {
        file: file(name),
        to: PeerId(to),
        purpose,
        reason,
    }
}

fn nobody_has(_: PeerId, _: FileName) -> bool {
    false
}

#[test]
fn the_owner_is_counted_back_from_the_peer_round_the_wrap() {
    let two = around(2, &[19, 14, 9], &[4, 5], 3);
    // 2012 hashes to 220: between 19 and 2, past 255.
    assert_eq!(two.owner_index(file("2012")), Some(0));
    // 2067 hashes to 19, the first predecessor's own position.
    assert_eq!(two.owner_index(file("2067")), Some(1));
    assert_eq!(two.owner_index(file("2062")), Some(2));
    assert_eq!(two.owner_index(file("4103")), None);
}

#[test]
fn a_responsible_peer_copies_its_file_to_its_next_k_minus_one_successors() {
    let nineteen = around(19, &[14, 9], &[2, 4], 3);
    let steps = plan(&nineteen, &stored(&["2067"]), &ring_files(&[]), nobody_has);
    assert_eq!(
        steps,
        [
            Step::Adopt { file: file("2067") },
            offer("2067", 2, Purpose::Replica, HandoverReason::Responsible),
            offer("2067", 4, Purpose::Replica, HandoverReason::Responsible),
        ]
    );
    // Once both have confirmed, nothing more is done.
    let steps = plan(
        &nineteen,
        &stored(&["2067"]),
        &ring_files(&["2067"]),
        |_, _| true,
    );
    assert!(steps.is_empty(), "{steps:?}");
}

#[test]
fn the_successor_of_a_newcomer_hands_it_its_files_and_keeps_a_replica() {
    // 15 joined between 14 and 19: 19 now hears 15 as its first
    // predecessor, and 2063 (hash 15) is 15's.
    let nineteen = around(19, &[15, 14], &[2, 4], 2);
    let held = stored(&["2063", "2067"]);
    let files = ring_files(&["2063", "2067"]);
    let steps = plan(&nineteen, &held, &files, nobody_has);
    assert_eq!(
        steps,
        [
            offer("2063", 15, Purpose::Handover, HandoverReason::Responsible),
            offer("2067", 2, Purpose::Replica, HandoverReason::Responsible),
        ]
    );
    // Once 15 holds it, 19 is its first successor, so it keeps a replica.
    let steps = plan(&nineteen, &held, &files, |peer, _| peer == PeerId(15));
    assert_eq!(
        steps[0],
        Step::Relabel {
            file: file("2063"),
            to: Held::Replica
        }
    );
}

#[test]
fn with_one_copy_the_old_holder_removes_its_copy_only_once_handed_over() {
    let nineteen = around(19, &[15, 14], &[2, 4], 1);
    let held = stored(&["2063"]);
    let files = ring_files(&["2063"]);
    assert_eq!(
        plan(&nineteen, &held, &files, nobody_has),
        [offer(
            "2063",
            15,
            Purpose::Handover,
            HandoverReason::Responsible
        )]
    );
    assert_eq!(
        plan(&nineteen, &held, &files, |_, _| true),
        [Step::Discard {
            file: file("2063"),
            held: Held::Stored
        }]
    );
}

#[test]
fn a_replica_whose_responsible_peer_died_becomes_the_stored_copy() {
    // 19 died: 2 now hears 14 as its first predecessor, so 2067 (hash 19)
    // is in its arc, and its replica becomes the copy requests are
    // answered from.
    let two = around(2, &[14, 9], &[4, 5], 3);
    let steps = plan(&two, &replicas(&["2067"]), &ring_files(&[]), nobody_has);
    assert_eq!(
        steps,
        [
            Step::Adopt { file: file("2067") },
            Step::Relabel {
                file: file("2067"),
                to: Held::Stored
            },
            offer("2067", 4, Purpose::Replica, HandoverReason::Responsible),
            offer("2067", 5, Purpose::Replica, HandoverReason::Responsible),
        ]
    );
}

#[test]
fn a_file_the_user_put_outside_the_peers_arc_is_left_alone() {
    // 8 holds 2067.pdf to store it from there: it is the user's.
    let eight = around(8, &[5, 4], &[9, 14], 3);
    assert!(plan(&eight, &stored(&["2067"]), &ring_files(&[]), nobody_has).is_empty());
}

#[test]
fn a_file_beyond_every_known_predecessor_travels_towards_its_place() {
    let nineteen = around(19, &[14, 9], &[2, 4], 2);
    let held = replicas(&["4103"]);
    assert_eq!(
        plan(&nineteen, &held, &ring_files(&[]), nobody_has),
        [offer("4103", 9, Purpose::Handover, HandoverReason::Nearer)]
    );
    // Two predecessors known and two copies wanted: 19 is not among the
    // first successor of 4103's owner, so it removes its copy.
    assert_eq!(
        plan(&nineteen, &held, &ring_files(&[]), |_, _| true),
        [Step::Discard {
            file: file("4103"),
            held: Held::Replica
        }]
    );
    // With three copies and two predecessors known, it cannot tell, and
    // keeps its copy.
    let keeping_three = around(19, &[14, 9], &[2, 4], 3);
    assert!(plan(&keeping_three, &held, &ring_files(&[]), |_, _| true).is_empty());
}

#[test]
fn a_peer_that_does_not_know_its_arc_leaves_every_file_as_it_is() {
    let newcomer = around(15, &[], &[19, 2], 3);
    assert!(
        plan(
            &newcomer,
            &stored(&["2063"]),
            &ring_files(&["2063"]),
            nobody_has
        )
        .is_empty()
    );
}

/// The placement entries of a trace: the files moved, renamed and removed,
/// and the lines that say so.
fn placements(trace: &[String]) -> Vec<&str> {
    trace
        .iter()
        .map(String::as_str)
        .filter(|entry| {
            ["send-file", "relabel", "discard", "receive-file"]
                .iter()
                .any(|verb| entry.starts_with(verb))
                || ["Handed", "Took", "Sent a replica", "Received a replica"]
                    .iter()
                    .any(|line| entry.starts_with(&format!("print {line}")))
        })
        .collect()
}

fn keeping(id: u8, successor_count: usize, replicas: usize) -> PeerConfig {
    PeerConfig {
        replicas,
        ..config(id, successor_count)
    }
}

#[test]
fn at_the_course_defaults_no_file_ever_moves_by_itself() {
    let mut nineteen = Scenario::running(19, &[2, 4], &[14, 9]).holding(&["2067", "replica_2063"]);
    let log = nineteen.run_until(200.0, &[2, 4]);
    let entries: Vec<String> = log.into_iter().map(|(_, entry)| entry).collect();
    assert!(placements(&entries).is_empty(), "{entries:#?}");
    // And nobody can push one in.
    let trace = nineteen.step(200.0, "tcp OFFER 2063 14 100 handover");
    assert_eq!(trace, ["warn Unexpected", "reply ERROR unexpected"]);
}

#[test]
fn each_round_places_what_is_missing_and_each_movement_is_reported() {
    let mut nineteen =
        Scenario::running_with(keeping(19, 2, 3), &[2, 4], &[14, 9]).holding(&["2067"]);
    let round = nineteen.next_deadline().expect("a round is due");
    let trace = nineteen.step(round, "tick");
    assert_eq!(
        placements(&trace),
        ["send-file 2067 2 replica", "send-file 2067 4 replica"]
    );
    nineteen.expect(&[
        (
            round,
            "sent 2067 2 replica ok",
            &["print Sent a replica of File 2067 to Peer 2"],
        ),
        // A peer that had it already: no movement, no line.
        (round, "sent 2067 4 replica have", &[]),
    ]);
    // Confirmed, so the next rounds send nothing.
    let log = nineteen.run_until(round + 100.0, &[2, 4]);
    let entries: Vec<String> = log.into_iter().map(|(_, entry)| entry).collect();
    assert!(placements(&entries).is_empty(), "{entries:#?}");
}

#[test]
fn an_offer_for_the_ring_is_taken_from_neighbours_only() {
    let mut two =
        Scenario::running_with(keeping(2, 2, 3), &[4, 5], &[19, 14]).holding(&["replica_2067"]);
    two.expect(&[
        // A stranger cannot push a file in.
        (
            1.0,
            "tcp OFFER 2063 77 100 replica",
            &["warn Unexpected", "reply ERROR unexpected"],
        ),
        // A neighbour offering a file held already is told so.
        (1.0, "tcp OFFER 2067 19 100 replica", &["reply HAVE"]),
        (
            1.0,
            "tcp OFFER 2068 19 100 replica",
            &["receive-file 2068 19 100 replica"],
        ),
        (
            1.0,
            "received 2068 19 replica ok",
            &["print Received a replica of File 2068 from Peer 19"],
        ),
        (
            1.0,
            "tcp OFFER 2012 19 100 handover",
            &["receive-file 2012 19 100 handover"],
        ),
        (
            1.0,
            "received 2012 19 handover ok",
            &["print Took over File 2012 from Peer 19: this peer is responsible for it now"],
        ),
    ]);
}

fn handing_over(id: u8) -> PeerConfig {
    PeerConfig {
        handover: true,
        ..config(id, 2)
    }
}

#[test]
fn a_quitting_peer_hands_its_files_over_first_and_then_leaves() {
    let mut nine =
        Scenario::running_with(handing_over(9), &[14, 19], &[8, 5]).holding(&["2057", "2067"]);
    // 2057 (hash 9) is 9's own; 2067 is the user's, stored from here. The
    // `LEAVE` waits, so that 14 still hears 9 as its predecessor and takes
    // the file from it.
    nine.expect(&[
        (
            1.0,
            "typed Quit",
            &["warn Note", "send-file 2057 14 handover"],
        ),
        (
            1.2,
            "sent 2057 14 handover ok",
            &[
                "print Handed over File 2057 to Peer 14: this peer is leaving",
                "tcp 8 LEAVE 9 14 19",
                "tcp 5 LEAVE 9 14 19",
                "warn Note",
            ],
        ),
        (1.2, "reply 8 OK", &[]),
        (1.2, "reply 5 OK", &["warn Note", "exit 0"]),
    ]);
    // On standard error, the leaving peer says what it does.
    assert_eq!(
        nine.said(),
        [
            "handing 1 file over to peer 14 before leaving",
            "leaving the ring: telling peers 8 and 5",
            "left the ring",
        ]
    );
}

#[test]
fn at_the_course_defaults_quit_moves_nothing() {
    let mut nine = Scenario::running(9, &[14, 19], &[8, 5]).holding(&["2057"]);
    nine.expect(&[
        (
            1.0,
            "typed Quit",
            &["tcp 8 LEAVE 9 14 19", "tcp 5 LEAVE 9 14 19", "warn Note"],
        ),
        (1.0, "reply 8 OK", &[]),
        (1.0, "reply 5 OK", &["warn Note", "exit 0"]),
    ]);
}

#[test]
fn a_handover_that_never_ends_does_not_trap_a_leaving_peer() {
    let mut nine = Scenario::running_with(handing_over(9), &[14, 19], &[8, 5]).holding(&["2057"]);
    nine.step(1.0, "typed Quit");
    let limit = 1.0 + QUIT_HANDOVER_LIMIT.as_secs_f64();
    let log = nine.run_until(limit, &[14, 19]);
    let at_limit: Vec<&str> = log
        .iter()
        .filter(|(secs, _)| *secs == limit)
        .map(|(_, entry)| entry.as_str())
        .collect();
    assert_eq!(
        at_limit,
        [
            "warn Transfer",
            "tcp 8 LEAVE 9 14 19",
            "tcp 5 LEAVE 9 14 19",
            "warn Note"
        ]
    );
    nine.expect(&[
        (limit, "reply 8 LEAVE: OK", &[]),
        (limit, "reply 5 LEAVE: OK", &["warn Note", "exit 0"]),
    ]);
}

#[test]
fn a_second_offer_of_a_file_on_its_way_is_answered_busy() {
    let mut fifteen = Scenario::running_with(keeping(15, 2, 2), &[19, 2], &[14, 9]);
    fifteen.expect(&[
        (
            1.0,
            "tcp OFFER 2063 19 100 handover",
            &["receive-file 2063 19 100 handover"],
        ),
        (1.0, "tcp OFFER 2063 14 100 handover", &["reply ERROR busy"]),
        (
            1.5,
            "received 2063 19 handover ok",
            &["print Took over File 2063 from Peer 19: this peer is responsible for it now"],
        ),
    ]);
}

#[test]
fn the_successor_of_a_leaving_peer_takes_its_files_as_responsible_and_a_leaving_peer_takes_none() {
    // 14 hears 9 as its first predecessor still: 9's files are 14's once 9
    // has gone.
    let mut fourteen = Scenario::running_with(keeping(14, 2, 1), &[19, 2], &[9, 8]);
    fourteen.step(1.0, "tcp OFFER 2057 9 100 handover");
    assert_eq!(
        fourteen.step(1.5, "received 2057 9 handover ok"),
        ["print Took over File 2057 from Peer 9: this peer is responsible for it now"]
    );
    let mut nine = Scenario::running_with(handing_over(9), &[14, 19], &[8, 5]).holding(&["2057"]);
    nine.step(1.0, "typed Quit");
    assert_eq!(
        nine.step(1.0, "tcp OFFER 2057 14 100 handover"),
        ["warn Unexpected", "reply ERROR unexpected"]
    );
}

#[test]
fn a_failed_handover_at_quit_is_tried_once_more() {
    let mut nine = Scenario::running_with(handing_over(9), &[14, 19], &[8, 5]).holding(&["2057"]);
    nine.step(1.0, "typed Quit");
    assert_eq!(
        placements(&nine.step(1.1, "sent 2057 14 handover refused")),
        ["send-file 2057 14 handover"]
    );
    assert_eq!(
        nine.step(1.2, "sent 2057 14 handover refused"),
        [
            "warn Transfer",
            "tcp 8 LEAVE 9 14 19",
            "tcp 5 LEAVE 9 14 19",
            "warn Note"
        ]
    );
}

#[test]
fn a_file_handed_back_by_the_peer_that_confirmed_it_is_not_removed() {
    // 18 handed 5649 (hash 17) to the newcomer 17, which confirmed it;
    // then 17 quits and hands it back. 18 still hears 17 as its first
    // predecessor for a moment, but must not remove the copy it has just
    // taken over on the strength of 17's old confirmation.
    let mut eighteen =
        Scenario::running_with(handing_over(18), &[19, 22], &[17, 13]).holding(&["5649"]);
    // The file came to 18 through the ring (here: 19 offered it).
    assert_eq!(
        eighteen.step(0.0, "tcp OFFER 5649 19 100 handover"),
        ["reply HAVE"]
    );
    let round = eighteen.next_deadline().expect("a round is due");
    let first = eighteen.step(round, "tick");
    assert_eq!(placements(&first), ["send-file 5649 17 handover"]);
    eighteen.step(round, "sent 5649 17 handover ok");
    eighteen.step(round, "tcp OFFER 5649 17 100 handover");
    let later = eighteen.run_until(round + 1.0, &[19, 22]);
    let entries: Vec<String> = later.into_iter().map(|(_, entry)| entry).collect();
    assert!(
        !entries.iter().any(|entry| entry.starts_with("discard")),
        "{entries:#?}"
    );
}

#[test]
fn a_peer_with_many_files_offers_every_one_even_when_each_is_answered_at_once() {
    // Fifty files in 100's arc (hashes 71 to 100), three copies wanted.
    let names: Vec<String> = (0..50)
        .map(|n| format!("{:04}", 4167 + n % 30 + (n / 30) * 256))
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut hundred =
        Scenario::running_with(keeping(100, 3, 3), &[130, 160, 190], &[70, 40, 10]).holding(&names);
    let mut offered = BTreeSet::new();
    let mut pending: Vec<String> = Vec::new();
    let mut now = 0.0;
    // A bounded number of steps: a peer that goes on offering the same
    // files for ever at one moment must fail the test, not hang it.
    for _ in 0..10_000 {
        if now >= 60.0 {
            break;
        }
        // Each answer comes on its own, and the peer runs whatever it has
        // due straight after it, as the event loop does.
        let step = match pending.pop() {
            Some(answer) => {
                let mut step = hundred.step(now, &answer);
                if hundred.next_deadline().is_some_and(|due| due <= now) {
                    step.extend(hundred.step(now, "tick"));
                }
                step
            }
            None => {
                now = hundred.next_deadline().expect("something is due");
                hundred.step(now, "tick")
            }
        };
        for entry in step {
            if let Some(rest) = entry.strip_prefix("send-file ") {
                offered.insert(rest.to_string());
                // Every neighbour has every file already.
                pending.push(format!("sent {} have", rest));
            }
        }
    }
    let distinct: BTreeSet<&str> = names.iter().copied().collect();
    assert_eq!(offered.len(), distinct.len() * 2, "{offered:#?}");
}

/// Runs the peer's rounds from `from` for `secs`, answering every ping, and
/// returns the placement entries.
fn placements_during(peer: &mut Scenario, from: f64, secs: f64, alive: &[u8]) -> Vec<String> {
    let log = peer.run_until(from + secs, alive);
    let entries: Vec<String> = log.into_iter().map(|(_, entry)| entry).collect();
    placements(&entries).into_iter().map(String::from).collect()
}

#[test]
fn a_replicas_offer_leaves_a_confirmation_alone_and_a_handover_takes_it_back() {
    let mut twelve =
        Scenario::running_with(keeping(12, 2, 2), &[13, 14], &[8, 5]).holding(&["7947"]);
    let round = twelve.next_deadline().expect("a round is due");
    assert_eq!(
        placements(&twelve.step(round, "tick")),
        ["send-file 7947 13 replica"]
    );
    twelve.step(round, "sent 7947 13 replica have");
    // 13 offering its replica back (it sees 12 as responsible) changes
    // nothing: the two settle instead of offering each other for ever.
    assert_eq!(
        twelve.step(round, "tcp OFFER 7947 13 100 replica"),
        ["reply HAVE"]
    );
    assert!(placements_during(&mut twelve, round, 60.0, &[13, 14]).is_empty());
    // A handover from 13 means 13 gives its copy away: it is asked again.
    twelve.step(round + 60.0, "tcp OFFER 7947 13 100 handover");
    assert_eq!(
        placements_during(&mut twelve, round + 60.0, 15.0, &[13, 14]),
        ["send-file 7947 13 replica"]
    );
}

#[test]
fn a_file_that_becomes_the_peers_own_again_is_confirmed_afresh() {
    let mut twelve =
        Scenario::running_with(keeping(12, 2, 2), &[13, 14], &[8, 5]).holding(&["7947"]);
    let round = twelve.next_deadline().expect("a round is due");
    twelve.step(round, "tick");
    twelve.step(round, "sent 7947 13 replica have");
    // The newcomer 11 takes the file's arc (hash 11)...
    twelve.step(round, "udp PING 11 12 first 1");
    twelve.step(round, "udp PING 8 12 second 1");
    assert_eq!(
        placements_during(&mut twelve, round, 15.0, &[13, 14]),
        ["send-file 7947 11 handover"]
    );
    twelve.step(round + 15.0, "sent 7947 11 handover have");
    // ...and leaves again: 13 may have removed its copy meanwhile, since
    // it was no longer among the file's holders, so it is asked again.
    twelve.step(round + 15.0, "udp PING 8 12 first 2");
    twelve.step(round + 15.0, "udp PING 5 12 second 2");
    assert_eq!(
        placements_during(&mut twelve, round + 15.0, 15.0, &[13, 14]),
        ["send-file 7947 13 replica"]
    );
}

#[test]
fn a_quitting_peer_passes_its_replicas_on_too() {
    // 31 holds a replica of 1053 (hash 29) for 29, which has just quit: it
    // may be the last copy but one, so it goes to 32 as well.
    let mut thirty_one =
        Scenario::running_with(keeping(31, 2, 2), &[32, 35], &[29, 27]).holding(&["replica_1053"]);
    assert_eq!(
        placements(&thirty_one.step(1.0, "typed Quit")),
        ["send-file 1053 32 replica"]
    );
    assert_eq!(
        thirty_one.step(1.1, "sent 1053 32 replica ok"),
        [
            "print Sent a replica of File 1053 to Peer 32",
            "tcp 29 LEAVE 31 32 35",
            "tcp 27 LEAVE 31 32 35",
            "warn Note",
        ]
    );
    assert_eq!(
        thirty_one.said(),
        [
            "handing 1 replica over to peer 32 before leaving",
            "leaving the ring: telling peers 29 and 27",
        ]
    );
}
