//! Pings: rounds, answers, predecessors, and input that is not for us.

use super::scenario::{INTERVAL, Scenario};

const T: f64 = INTERVAL.as_secs() as f64;

#[test]
fn pings_every_successor_at_once_and_then_every_interval() {
    let mut two = Scenario::member(2, &[4, 5]);
    assert_eq!(two.next_deadline(), Some(0.0));
    two.expect(&[
        (
            0.0,
            "tick",
            &[
                "print Ping requests sent to Peers 4 and 5",
                "udp 4 PING 2 4 first 0",
                "udp 5 PING 2 5 second 0",
            ],
        ),
        // Successors that have never answered are not probed: they may
        // simply not have started yet. Halfway through the interval the
        // list is checked with the first successor (see `stabilize.rs`).
        (T / 2.0, "tick", &["tcp 4 QUERY 2"]),
        (T / 2.0, "reply 4 QUERY: NEIGHBOURS 2 5 8", &[]),
        (
            T,
            "tick",
            &[
                "print Ping requests sent to Peers 4 and 5",
                "udp 4 PING 2 4 first 1",
                "udp 5 PING 2 5 second 1",
                "tcp 4 QUERY 2",
            ],
        ),
    ]);
}

#[test]
fn a_longer_list_is_learned_from_the_first_successor_and_pinged_in_full() {
    // The list is announced once whole, and its rounds printed from then on.
    let mut two = Scenario::member_keeping(2, &[4, 5], 3);
    two.expect(&[
        (
            0.0,
            "tick",
            &[
                "udp 4 PING 2 4 first 0",
                "udp 5 PING 2 5 second 0",
                "tcp 4 QUERY 2",
            ],
        ),
        (
            0.0,
            "reply 4 NEIGHBOURS - 5 8",
            &[
                "print My new first successor is Peer 4",
                "print My new second successor is Peer 5",
                "print My new third successor is Peer 8",
            ],
        ),
        (
            0.0,
            "tick",
            &[
                "print Ping requests sent to Peers 4, 5 and 8",
                "udp 4 PING 2 4 first 1",
                "udp 5 PING 2 5 second 1",
                "udp 8 PING 2 8 third 1",
            ],
        ),
    ]);
}

#[test]
fn after_a_long_stall_the_rhythm_restarts_instead_of_bursting() {
    let mut two = Scenario::member(2, &[4, 5]);
    two.step(0.0, "tick");
    let late = 10.0 * T;
    let pings = two.step(late, "tick");
    let pings: Vec<&String> = pings.iter().filter(|e| e.starts_with("udp")).collect();
    assert_eq!(pings.len(), 2, "{pings:?}");
    assert_eq!(two.next_deadline(), Some(late + T));
}

#[test]
fn a_ping_is_answered_the_way_it_came_and_names_a_predecessor() {
    let mut four = Scenario::member(4, &[5, 8]);
    four.expect(&[(
        0.0,
        "udp PING 2 4 first 7",
        &[
            "print Ping request message received from Peer 2",
            "udp-back PONG 4 2 7",
        ],
    )]);
    // The first predecessor decides which files this peer holds: hash 3
    // lies between 2 and 4.
    let four = four.holding(&["0003"]);
    let mut four = four;
    four.expect(&[(
        0.0,
        "typed Request 0003",
        &["print File 0003 is stored here"],
    )]);
}

#[test]
fn answers_from_successors_are_printed_and_stale_ones_ignored() {
    let mut two = Scenario::member(2, &[4, 5]);
    two.step(0.0, "tick");
    two.expect(&[
        (
            0.0,
            "udp PONG 4 2 0",
            &["print Ping response received from Peer 4"],
        ),
        (
            0.0,
            "udp PONG 5 2 0",
            &["print Ping response received from Peer 5"],
        ),
        (0.0, "udp PONG 9 2 0", &[]),
    ]);
}

#[test]
fn messages_for_another_peer_are_reported_not_obeyed() {
    let mut four = Scenario::member(4, &[5, 8]);
    four.step(0.0, "tick");
    four.expect(&[
        (0.0, "udp PING 2 9 first 0", &["warn Misaddressed"]),
        (0.0, "udp PONG 5 9 0", &["warn Misaddressed"]),
    ]);
}

#[test]
fn a_query_is_answered_with_the_list() {
    let mut nine = Scenario::member_keeping(9, &[14, 19], 3);
    nine.step(0.0, "tick");
    nine.step(0.0, "reply 14 NEIGHBOURS - 19 2");
    nine.expect(&[(0.0, "tcp QUERY 8", &["reply NEIGHBOURS - 14 19 2"])]);
    // A newcomer has no list yet.
    let (mut newcomer, _) = Scenario::joining(15, 4, 2);
    newcomer.expect(&[(0.0, "tcp QUERY 8", &["reply ERROR not-ready"])]);
}
