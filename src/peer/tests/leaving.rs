//! Leaving gracefully: the departing peer, and its predecessors.

use super::scenario::Scenario;
use crate::peer::LEAVE_TIMEOUT;

#[test]
fn quit_tells_every_predecessor_and_waits_for_them() {
    let mut nine = Scenario::member(9, &[14, 19]);
    nine.step(0.0, "udp PING 8 9 first 0");
    nine.step(0.0, "udp PING 5 9 second 0");
    nine.expect(&[
        (
            0.0,
            "typed Quit",
            &["tcp 8 LEAVE 9 14 19", "tcp 5 LEAVE 9 14 19", "warn Note"],
        ),
        (0.0, "typed Quit", &["warn Note"]),
        (0.0, "reply 8 OK", &[]),
        (0.0, "reply 5 OK", &["warn Note", "exit 0"]),
    ]);
    // On standard error, since the course prints nothing at the leaver.
    assert_eq!(
        nine.said(),
        [
            "leaving the ring: telling peers 8 and 5",
            "already leaving the ring",
            "left the ring",
        ]
    );
}

#[test]
fn with_three_successors_three_predecessors_are_told() {
    let mut nine = Scenario::running(9, &[14, 19, 2], &[8, 5, 4]);
    nine.expect(&[(
        0.0,
        "typed Quit",
        &[
            "tcp 8 LEAVE 9 14 19 2",
            "tcp 5 LEAVE 9 14 19 2",
            "tcp 4 LEAVE 9 14 19 2",
            "warn Note",
        ],
    )]);
    // A predecessor that cannot be reached counts as told.
    nine.expect(&[
        (0.0, "noreply 8", &[]),
        (0.0, "reply 5 OK", &[]),
        (0.0, "reply 4 OK", &["warn Note", "exit 0"]),
    ]);
    assert_eq!(
        nine.said(),
        [
            "leaving the ring: telling peers 8, 5 and 4",
            "left the ring"
        ]
    );
}

#[test]
fn a_silent_predecessor_does_not_trap_a_leaving_peer() {
    let mut nine = Scenario::member(9, &[14, 19]);
    nine.step(0.0, "udp PING 8 9 first 0");
    nine.step(0.0, "typed Quit");
    let give_up = LEAVE_TIMEOUT.as_secs_f64();
    assert_eq!(nine.next_deadline(), Some(0.0));
    nine.step(0.0, "tick");
    // Its successors answer, so no early round comes before the limit.
    nine.step(0.0, "udp PONG 14 9 0");
    nine.step(0.0, "udp PONG 19 9 0");
    assert_eq!(nine.next_deadline(), Some(give_up));
    assert_eq!(nine.step(give_up, "tick"), ["warn Note", "exit 0"]);
    assert_eq!(
        nine.said(),
        [
            "leaving the ring: telling peer 8",
            "left the ring; peer 8 did not answer within 2 s",
        ]
    );
}

#[test]
fn quit_without_known_predecessors_exits_at_once() {
    let mut nine = Scenario::member(9, &[14, 19]);
    nine.expect(&[(0.0, "typed Quit", &["warn Note", "exit 0"])]);
    assert_eq!(
        nine.said(),
        ["left the ring without telling anyone: no predecessor had pinged this peer"]
    );
    let (mut newcomer, _) = Scenario::joining(15, 4, 2);
    newcomer.expect(&[(0.0, "typed quit", &["warn Note", "exit 0"])]);
    assert_eq!(
        newcomer.said(),
        ["left before joining the ring; nobody needed telling"]
    );
}

#[test]
fn each_predecessor_takes_the_right_successors_from_a_departure() {
    // Each first checks with 9 that it is leaving; the answer to the
    // notice waits for that.
    let mut eight = Scenario::member(8, &[9, 14]);
    eight.expect(&[
        (0.0, "tcp LEAVE 9 14 19", &["tcp 9 QUERY 8"]),
        (
            0.0,
            "reply 9 QUERY: LEAVING 14 19",
            &[
                "print Peer 9 will depart from the network",
                "reply OK",
                "print My new first successor is Peer 14",
                "print My new second successor is Peer 19",
            ],
        ),
    ]);
    let mut five = Scenario::member(5, &[8, 9]);
    five.expect(&[
        (0.0, "tcp LEAVE 9 14 19", &["tcp 9 QUERY 5"]),
        (
            0.0,
            "reply 9 QUERY: LEAVING 14 19",
            &[
                "print Peer 9 will depart from the network",
                "reply OK",
                "print My new first successor is Peer 8",
                "print My new second successor is Peer 14",
            ],
        ),
    ]);
    let mut two = Scenario::member(2, &[4, 5]);
    two.expect(&[(0.0, "tcp LEAVE 9 14 19", &["reply OK", "warn Unexpected"])]);
    assert_eq!(two.peer().successors(), super::ids(&[4, 5]));
}

#[test]
fn with_three_successors_the_third_predecessor_takes_the_leavers_first() {
    let mut four = Scenario::running(4, &[5, 8, 9], &[2, 19, 14]);
    four.expect(&[
        (0.0, "tcp LEAVE 9 14 19 2", &["tcp 9 QUERY 4"]),
        (
            0.0,
            "reply 9 QUERY: LEAVING 14 19 2",
            &[
                "print Peer 9 will depart from the network",
                "reply OK",
                "print My new first successor is Peer 5",
                "print My new second successor is Peer 8",
                "print My new third successor is Peer 14",
            ],
        ),
    ]);
}

#[test]
fn a_leaving_peer_says_so_when_asked() {
    let mut nine = Scenario::member(9, &[14, 19]);
    nine.step(0.0, "udp PING 8 9 first 0");
    nine.step(0.0, "typed Quit");
    nine.expect(&[(0.0, "tcp QUERY 8", &["reply LEAVING 14 19"])]);
}

#[test]
fn a_departure_notice_the_named_peer_did_not_send_is_refused() {
    // `LEAVE 8 9 14` sent to 5 by someone else: 8 says it is not leaving.
    let mut five = Scenario::member(5, &[8, 9]);
    five.expect(&[
        (0.0, "tcp LEAVE 8 9 14", &["tcp 8 QUERY 5"]),
        (
            0.0,
            "reply 8 QUERY: NEIGHBOURS 5 9 14",
            &["warn Unexpected", "reply ERROR not-leaving"],
        ),
    ]);
    assert_eq!(five.peer().successors(), super::ids(&[8, 9]));
    // A notice naming a peer that has gone (its port refuses) is obeyed:
    // it has left the ring either way.
    five.step(1.0, "tcp LEAVE 8 9 14");
    five.expect(&[(
        1.0,
        "refused 8",
        &[
            "print Peer 8 will depart from the network",
            "reply OK",
            "print My new first successor is Peer 9",
            "print My new second successor is Peer 14",
        ],
    )]);
}

#[test]
fn a_leaving_peer_passes_joins_on_instead_of_taking_them() {
    let mut fourteen = Scenario::member(14, &[19, 2]);
    fourteen.step(0.0, "udp PING 9 14 first 0");
    fourteen.step(0.0, "typed Quit");
    let trace = fourteen.step(0.0, "tcp JOIN 15 9 3");
    assert!(
        trace.contains(&"tcp 19 JOIN 15 14 4".to_string()),
        "{trace:?}"
    );
}

#[test]
fn a_leaving_peer_whose_successors_all_fail_says_why_it_left() {
    let mut nine = Scenario::running(9, &[14, 19], &[8, 5]);
    nine.step(1.0, "typed Quit");
    nine.said();
    nine.step(1.0, "closed 14");
    nine.step(1.0, "closed 19");
    let log = nine.run_until(1.5, &[]);
    assert!(
        super::scenario::entries(&log).contains(&"exit 0"),
        "{log:?}"
    );
    assert_eq!(
        nine.said(),
        ["left the ring: every successor failed while it was leaving"]
    );
}
