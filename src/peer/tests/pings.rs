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
        // Both have answered: the next round is an interval away. Halfway
        // through it the list is checked with the first successor (see
        // `stabilize.rs`).
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
    two.step(0.0, "udp PONG 4 2 0");
    two.step(0.0, "udp PONG 5 2 0");
    let late = 10.0 * T;
    let pings = two.step(late, "tick");
    let pings: Vec<&String> = pings.iter().filter(|e| e.starts_with("udp")).collect();
    assert_eq!(pings.len(), 2, "{pings:?}");
    two.step(late, "udp PONG 4 2 1");
    two.step(late, "udp PONG 5 2 1");
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

/// The times of the rounds in `log`: the entries that print the round line.
fn round_times(log: &[(f64, String)]) -> Vec<f64> {
    log.iter()
        .filter(|(_, entry)| entry.starts_with("print Ping requests sent"))
        .map(|(secs, _)| *secs)
        .collect()
}

fn assert_times(times: &[f64], expected: &[f64]) {
    assert_eq!(
        times.len(),
        expected.len(),
        "{times:?}, expected {expected:?}"
    );
    for (time, expected) in times.iter().zip(expected) {
        assert!(
            (time - expected).abs() < 1e-6,
            "{times:?}, expected {expected:?}"
        );
    }
}

#[test]
fn successors_that_have_not_answered_yet_are_pinged_again_soon() {
    // A ring started by hand: 4 starts a moment after 2's first round, 5
    // a second later. 2 does not wait an interval to hear them.
    let mut two = Scenario::member(2, &[4, 5]);
    let mut log = two.run_until(0.4, &[]);
    log.extend(two.run_until(1.0, &[4]));
    log.extend(two.run_until(2.0 * T, &[4, 5]));
    // Once both have answered, the rounds are an interval apart again.
    assert_times(&round_times(&log), &[0.0, 0.5, 1.5, 1.5 + T]);
    // An early round is a round like any other: each successor is told
    // its position, and its answer is printed.
    let early: Vec<&str> = log
        .iter()
        .filter(|(secs, _)| (secs - 0.5).abs() < 1e-6)
        .map(|(_, entry)| entry.as_str())
        .collect();
    assert_eq!(
        early,
        [
            "print Ping requests sent to Peers 4 and 5",
            "udp 4 PING 2 4 first 1",
            "udp 5 PING 2 5 second 1",
        ]
    );
}

#[test]
fn early_rounds_are_few_and_end_at_the_interval() {
    // A successor that never answers: the retry delay doubles from 0.5 s
    // and reaches the interval after six early rounds.
    let mut two = Scenario::member(2, &[4, 5]);
    let log = two.run_until(2.0 * T, &[4]);
    assert_times(&round_times(&log), &[0.0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5]);
}

#[test]
fn a_successor_that_never_answers_is_declared_dead_at_the_never_answered_limit() {
    // The early rounds change neither the rule nor its timing: the silence
    // is counted from the first ping.
    let mut two = Scenario::member(2, &[4, 5]);
    let limit = super::scenario::config(2, 2)
        .never_answered_limit()
        .as_secs_f64();
    let log = two.run_until(limit + 1.0, &[4]);
    assert_eq!(
        super::scenario::first_time(&log, "print Peer 5 is no longer alive"),
        Some(limit)
    );
}

#[test]
fn a_dead_successor_of_a_running_ring_costs_no_early_rounds() {
    // 14 answered at time 0 and then froze: it is pinged at the next
    // regular round and probed, as ever, and nothing more.
    let mut nine = Scenario::running(9, &[14, 19], &[8, 5]);
    let log = nine.run_until(T + 2.0, &[19]);
    let pings_to_14: Vec<f64> = log
        .iter()
        .filter(|(_, entry)| entry.starts_with("udp 14 PING"))
        .map(|(secs, _)| *secs)
        .collect();
    assert_times(&pings_to_14, &[T, T + 0.5, T + 0.8, T + 1.1, T + 1.4]);
    assert_times(&round_times(&log), &[T]);
}
