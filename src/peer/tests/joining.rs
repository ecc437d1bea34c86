//! Joining: placing a newcomer, the changes that follow, and the newcomer's
//! side of it.

use super::scenario::Scenario;
use crate::peer::{JOIN_RESEND, JOIN_RETRY, JOIN_TIMEOUT, MAX_HOPS};

#[test]
fn a_join_that_does_not_belong_here_is_passed_on() {
    let mut four = Scenario::member(4, &[5, 8]);
    four.expect(&[(
        0.0,
        "tcp JOIN 15 2 1",
        &[
            "reply OK",
            "print Peer 15 Join request forwarded to my successor",
            "tcp 5 JOIN 15 4 2",
        ],
    )]);
}

#[test]
fn the_peer_before_the_newcomer_takes_it_and_tells_its_predecessor() {
    let mut fourteen = Scenario::member(14, &[19, 2]);
    fourteen.step(0.0, "tick");
    fourteen.expect(&[
        (
            0.0,
            "tcp JOIN 15 9 4",
            &[
                "reply OK",
                "print Peer 15 Join request received",
                "tcp 15 WELCOME 19 2",
            ],
        ),
        // The newcomer is taken once it acknowledges its welcome.
        (
            0.0,
            "reply 15 WELCOME: OK",
            &[
                "tcp 9 CHANGE 14 15 19",
                "print My new first successor is Peer 15",
                "print My new second successor is Peer 19",
            ],
        ),
        // It pings its new successors at once.
        (
            0.0,
            "tick",
            &[
                "print Ping requests sent to Peers 15 and 19",
                "udp 15 PING 14 15 first 1",
                "udp 19 PING 14 19 second 1",
            ],
        ),
    ]);
}

#[test]
fn with_three_successors_the_two_nearest_predecessors_hear_of_a_newcomer() {
    // 14 keeps 19 2 4; 9 and 8 hold it first and second. The peer that
    // passed the join on is the first predecessor; the second is known from
    // its pings.
    let mut fourteen = Scenario::running(14, &[19, 2, 4], &[9, 8, 5]);
    fourteen.expect(&[
        (
            0.0,
            "tcp JOIN 15 9 4",
            &[
                "reply OK",
                "print Peer 15 Join request received",
                "tcp 15 WELCOME 19 2 4",
            ],
        ),
        (
            0.0,
            "reply 15 WELCOME: OK",
            &[
                "tcp 9 CHANGE 14 15 19 2",
                "tcp 8 CHANGE 14 15 19 2",
                "print My new first successor is Peer 15",
                "print My new second successor is Peer 19",
                "print My new third successor is Peer 2",
            ],
        ),
    ]);
    // Each merges the list behind 14: 9 had 14 19 2, 8 had 9 14 19.
    let mut nine = Scenario::running(9, &[14, 19, 2], &[8, 5, 4]);
    nine.expect(&[(
        0.0,
        "tcp CHANGE 14 15 19 2",
        &[
            "reply OK",
            "print Successor Change request received",
            "print My new first successor is Peer 14",
            "print My new second successor is Peer 15",
            "print My new third successor is Peer 19",
        ],
    )]);
    let mut eight = Scenario::running(8, &[9, 14, 19], &[5, 4, 2]);
    eight.expect(&[(
        0.0,
        "tcp CHANGE 14 15 19 2",
        &[
            "reply OK",
            "print Successor Change request received",
            "print My new first successor is Peer 9",
            "print My new second successor is Peer 14",
            "print My new third successor is Peer 15",
        ],
    )]);
}

#[test]
fn newcomers_beyond_the_largest_or_below_the_smallest_go_after_the_largest() {
    for newcomer in [200, 255, 0, 1] {
        let mut nineteen = Scenario::member(19, &[2, 4]);
        let trace = nineteen.step(0.0, &format!("tcp JOIN {newcomer} 14 1"));
        assert!(
            trace.contains(&format!("tcp {newcomer} WELCOME 2 4")),
            "{newcomer}: {trace:?}"
        );
        nineteen.step(0.0, &format!("reply {newcomer} WELCOME: OK"));
        assert_eq!(nineteen.peer().successors(), super::ids(&[newcomer, 2]));
        // Every other peer passes such a newcomer on.
        let mut fourteen = Scenario::member(14, &[19, 2]);
        let trace = fourteen.step(0.0, &format!("tcp JOIN {newcomer} 9 1"));
        assert!(
            trace.contains(&format!("tcp 19 JOIN {newcomer} 14 2")),
            "{trace:?}"
        );
    }
}

#[test]
fn placement_on_a_ring_that_wraps_past_255() {
    // Ring 250 253 3 7: peers 1 and 255 belong after 253.
    for newcomer in [1, 255] {
        let mut peer = Scenario::member(253, &[3, 7]);
        peer.step(0.0, &format!("tcp JOIN {newcomer} 250 1"));
        peer.step(0.0, &format!("reply {newcomer} WELCOME: OK"));
        assert_eq!(peer.peer().successors(), super::ids(&[newcomer, 3]));
    }
    let mut peer = Scenario::member(250, &[253, 3]);
    let trace = peer.step(0.0, "tcp JOIN 1 7 1");
    assert!(
        trace.contains(&"tcp 253 JOIN 1 250 2".to_string()),
        "{trace:?}"
    );
}

#[test]
fn a_newcomer_with_a_taken_identity_is_refused() {
    let mut nine = Scenario::member(9, &[14, 19]);
    nine.expect(&[
        (
            0.0,
            "tcp JOIN 14 8 3",
            &["reply OK", "warn Unexpected", "tcp 14 REFUSE duplicate"],
        ),
        (
            0.0,
            "tcp JOIN 9 8 3",
            &["reply OK", "warn Unexpected", "tcp 9 REFUSE duplicate"],
        ),
    ]);
    assert_eq!(nine.peer().successors(), super::ids(&[14, 19]));
}

#[test]
fn a_join_that_circles_the_ring_is_refused() {
    let mut four = Scenario::member(4, &[5, 8]);
    let join = format!("tcp JOIN 15 2 {MAX_HOPS}");
    four.expect(&[(
        0.0,
        &join,
        &["reply OK", "warn Unexpected", "tcp 15 REFUSE no-place"],
    )]);
}

#[test]
fn a_join_straight_from_the_newcomer_asks_the_pings_for_the_predecessor() {
    let mut fourteen = Scenario::member(14, &[19, 2]);
    fourteen.step(0.0, "udp PING 9 14 first 0");
    fourteen.step(0.0, "tcp JOIN 15 15 0");
    let trace = fourteen.step(0.0, "reply 15 WELCOME: OK");
    assert!(
        trace.contains(&"tcp 9 CHANGE 14 15 19".to_string()),
        "{trace:?}"
    );
}

#[test]
fn a_join_just_after_start_tells_the_predecessor_once_it_pings() {
    let mut fourteen = Scenario::member(14, &[19, 2]);
    fourteen.step(0.0, "tcp JOIN 15 15 0");
    let trace = fourteen.step(0.0, "reply 15 WELCOME: OK");
    assert!(!trace.iter().any(|t| t.contains("CHANGE")), "{trace:?}");
    fourteen.expect(&[
        (
            0.0,
            "udp PING 9 14 first 0",
            &[
                "print Ping request message received from Peer 9",
                "tcp 9 CHANGE 14 15 19",
                "udp-back PONG 14 9 0",
            ],
        ),
        // Only once.
        (
            0.0,
            "udp PING 9 14 first 1",
            &[
                "print Ping request message received from Peer 9",
                "udp-back PONG 14 9 1",
            ],
        ),
    ]);
}

#[test]
fn a_newcomer_that_never_acknowledges_its_welcome_is_not_taken() {
    // A crashed newcomer, or a forged JOIN: nothing listens on 10's port.
    let mut nine = Scenario::member(9, &[14, 19]);
    nine.step(0.0, "tcp JOIN 10 10 0");
    assert_eq!(nine.step(0.0, "refused 10"), ["warn Delivery"]);
    assert_eq!(nine.peer().successors(), super::ids(&[14, 19]));
    // One that acknowledges, later, is taken.
    nine.step(1.0, "tcp JOIN 11 11 0");
    nine.step(1.0, "reply 11 WELCOME: OK");
    assert_eq!(nine.peer().successors(), super::ids(&[11, 14]));
}

#[test]
fn a_second_newcomer_waits_while_a_welcome_is_unanswered() {
    let mut nine = Scenario::member(9, &[14, 19]);
    nine.step(0.0, "tcp JOIN 10 10 0");
    nine.expect(&[(
        0.0,
        "tcp JOIN 12 12 0",
        &["reply OK", "tcp 12 REFUSE no-place"],
    )]);
    // The refused newcomer asks again a moment later.
    let (mut twelve, _) = Scenario::joining(12, 9, 2);
    twelve.step(0.0, "reply 9 OK");
    let retry = JOIN_RETRY.as_secs_f64();
    twelve.expect(&[
        (0.0, "tcp REFUSE no-place", &["reply OK"]),
        (retry, "tick", &["tcp 9 JOIN 12 12 0"]),
    ]);
}

#[test]
fn a_peer_with_no_successor_left_welcomes_a_newcomer_with_itself() {
    // Both successors of 5 died; 14, which nobody pings any more, asks to
    // join again, and its request reaches 5.
    let mut five = Scenario::running(5, &[8, 9], &[4, 2]);
    five.step(0.0, "closed 8");
    five.step(0.0, "closed 9");
    for tick in 1..10 {
        five.step(f64::from(tick) * 0.01, "tick");
    }
    assert!(five.peer().successors().is_empty());
    five.expect(&[(
        0.2,
        "tcp JOIN 14 4 1",
        &[
            "reply OK",
            "print Peer 14 Join request received",
            "tcp 14 WELCOME 5",
        ],
    )]);
    five.step(0.2, "reply 14 WELCOME: OK");
    assert_eq!(five.peer().successors(), super::ids(&[14]));
}

#[test]
fn a_successor_change_from_a_stranger_is_ignored() {
    let mut nine = Scenario::member(9, &[14, 19]);
    nine.expect(&[(0.0, "tcp CHANGE 20 21 22", &["reply OK", "warn Unexpected"])]);
    assert_eq!(nine.peer().successors(), super::ids(&[14, 19]));
}

#[test]
fn the_newcomer_learns_its_successors_and_pings_at_once() {
    let (mut fifteen, start) = Scenario::joining(15, 4, 2);
    assert_eq!(start, ["tcp 4 JOIN 15 15 0"]);
    fifteen.expect(&[
        (0.0, "reply 4 OK", &[]),
        (
            0.0,
            "tcp WELCOME 19 2",
            &[
                "reply OK",
                "print Join request has been accepted",
                "print My first successor is Peer 19",
                "print My second successor is Peer 2",
            ],
        ),
        (
            0.0,
            "tick",
            &[
                "print Ping requests sent to Peers 19 and 2",
                "udp 19 PING 15 19 first 0",
                "udp 2 PING 15 2 second 0",
            ],
        ),
    ]);
    // At R = 3 it is given three.
    let (mut fifteen, _) = Scenario::joining(15, 4, 3);
    let trace = fifteen.step(0.0, "tcp WELCOME 19 2 4");
    assert_eq!(
        trace.last().map(String::as_str),
        Some("print My third successor is Peer 4")
    );
}

#[test]
fn a_newcomer_gives_up_when_nobody_answers() {
    // Nothing listens on 7's port: the newcomer says so at once.
    let (mut fifteen, _) = Scenario::joining(15, 7, 2);
    let trace = fifteen.step(0.0, "refused 7");
    assert_eq!(trace, ["warn Note", "exit 1"]);

    // Delivered, but no welcome comes: the JOIN was lost further on, so it
    // is sent again every second, until the join gives up.
    let (mut fifteen, _) = Scenario::joining(15, 4, 2);
    fifteen.step(0.0, "reply 4 OK");
    let resend = JOIN_RESEND.as_secs_f64();
    let give_up = JOIN_TIMEOUT.as_secs_f64();
    let mut at = 0.0;
    while at + resend < give_up {
        at += resend;
        assert_eq!(fifteen.next_deadline(), Some(at));
        assert_eq!(fifteen.step(at, "tick"), ["tcp 4 JOIN 15 15 0"]);
        fifteen.step(at, "reply 4 OK");
    }
    assert_eq!(fifteen.next_deadline(), Some(give_up));
    assert_eq!(fifteen.step(give_up, "tick"), ["warn Note", "exit 1"]);
    // Nothing more happens after an exit.
    assert_eq!(fifteen.next_deadline(), None);
    assert!(fifteen.step(give_up, "tcp WELCOME 19 2").is_empty());
}

#[test]
fn a_join_whose_connection_failed_is_sent_again_and_answered_with_the_same_welcome() {
    // The newcomer's JOIN may not have arrived: it asks again.
    let (mut fifteen, _) = Scenario::joining(15, 14, 2);
    assert!(fifteen.step(0.0, "noreply 14").is_empty());
    let retry = JOIN_RETRY.as_secs_f64();
    assert_eq!(fifteen.next_deadline(), Some(retry));
    assert_eq!(fifteen.step(retry, "tick"), ["tcp 14 JOIN 15 15 0"]);
    // It had arrived after all: the peer that placed 15 welcomes it again,
    // rather than refuse it as a duplicate of itself.
    let mut fourteen = Scenario::member(14, &[19, 2]);
    let first = fourteen.step(0.0, "tcp JOIN 15 15 0");
    assert!(
        first.contains(&"tcp 15 WELCOME 19 2".to_string()),
        "{first:?}"
    );
    fourteen.expect(&[(
        retry,
        "tcp JOIN 15 15 0",
        &["reply OK", "tcp 15 WELCOME 19 2"],
    )]);
    // The newcomer takes the first welcome, and the second quietly.
    fifteen.step(retry, "tcp WELCOME 19 2");
    fifteen.expect(&[(retry, "tcp WELCOME 19 2", &["reply OK"])]);
}

#[test]
fn a_refused_newcomer_exits_with_an_error() {
    let (mut fourteen, _) = Scenario::joining(14, 4, 2);
    fourteen.expect(&[(
        0.0,
        "tcp REFUSE duplicate",
        &["reply OK", "warn Note", "exit 1"],
    )]);
}

#[test]
fn a_welcome_or_refusal_for_a_peer_that_is_not_joining_is_ignored() {
    let mut nine = Scenario::member(9, &[14, 19]);
    nine.expect(&[
        (0.0, "tcp WELCOME 1 2", &["reply OK", "warn Unexpected"]),
        (0.0, "tcp REFUSE no-place", &["reply OK", "warn Unexpected"]),
    ]);
}
