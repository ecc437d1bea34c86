//! Failures: finding a dead successor, repairing the list, and a peer that
//! finds itself dropped from the ring.

use super::scenario::{INTERVAL, Scenario, entries, first_time};
use crate::peer::{AFTER_PORT_CLOSED, BY_PINGS, QUERY_RETRY, REJOIN_RETRY};

const T: f64 = INTERVAL.as_secs() as f64;

/// Peer 9 of the teaching ring, with successors 14 19 and predecessors 8 5,
/// all heard from at time 0.
fn nine() -> Scenario {
    Scenario::running(9, &[14, 19], &[8, 5])
}

#[test]
fn a_frozen_successor_is_found_within_one_interval_and_the_silence_limit() {
    let mut nine = nine();
    // 14 froze right after answering; 19 keeps answering.
    let log = nine.run_until(2.0 * T, &[19]);
    let found = first_time(&log, "print Peer 14 is no longer alive").expect("found");
    assert_eq!(found, T + BY_PINGS.silence_limit.as_secs_f64());
    // The probes went out quietly: one round line only, then the question
    // to the survivor.
    let before: Vec<&str> = log
        .iter()
        .filter(|(secs, _)| *secs <= found)
        .map(|(_, e)| e.as_str())
        .filter(|e| e.starts_with("print"))
        .collect();
    assert_eq!(
        before,
        [
            "print Ping requests sent to Peers 14 and 19",
            "print Peer 14 is no longer alive",
        ]
    );
    assert!(
        log.iter()
            .any(|(secs, e)| *secs == found && e == "tcp 19 QUERY 9"),
        "{log:?}"
    );
}

#[test]
fn a_closed_port_means_death_within_fifty_milliseconds_at_any_interval() {
    let mut nine = nine();
    let killed = T / 3.0;
    nine.step(killed, "closed 14");
    let log = nine.run_until(killed + 1.0, &[19]);
    let found = first_time(&log, "print Peer 14 is no longer alive").expect("found");
    assert!(found - killed <= 0.050, "{} s", found - killed);
    let limit = AFTER_PORT_CLOSED.silence_limit.as_secs_f64();
    assert!(
        (found - killed - limit).abs() < 1e-6,
        "{} s",
        found - killed
    );
}

#[test]
fn a_closed_port_of_a_live_successor_is_a_false_alarm() {
    let mut nine = nine();
    nine.step(1.0, "closed 14");
    let log = nine.run_until(3.0 * T, &[14, 19]);
    assert_eq!(first_time(&log, "print Peer 14 is no longer alive"), None);
    assert_eq!(nine.peer().successors(), super::ids(&[14, 19]));
}

#[test]
fn a_slow_but_live_successor_is_not_declared_dead() {
    // Answers that come a second late, every time, keep a successor alive.
    let mut nine = nine();
    for round in 1..=10 {
        let sent = round as f64 * T;
        let late = sent + 1.0;
        let log = nine.run_until(late, &[]);
        assert!(
            !entries(&log).iter().any(|e| e.contains("no longer alive")),
            "{log:?}"
        );
        nine.step(late, "udp PONG 14 9 0");
        nine.step(late, "udp PONG 19 9 0");
        // Its predecessors go on pinging it too, or it would think itself
        // dropped from the ring.
        nine.step(late, "udp PING 8 9 first 0");
        nine.step(late, "udp PING 5 9 second 0");
    }
    assert_eq!(nine.peer().successors(), super::ids(&[14, 19]));
}

#[test]
fn a_successor_that_never_answered_is_not_declared_dead() {
    let mut two = Scenario::member(2, &[4, 5]);
    two.step(0.0, "closed 4");
    let log = two.run_until(5.0 * T, &[]);
    assert!(
        !entries(&log).iter().any(|e| e.contains("no longer alive")),
        "{log:?}"
    );
}

#[test]
fn the_first_predecessor_repairs_with_its_second_successors_list() {
    // Kill 14 on the teaching ring: 9 asks 19, which answers 2 4.
    let mut nine = nine();
    nine.step(1.0, "closed 14");
    let log = nine.run_until(1.1, &[19]);
    assert!(entries(&log).contains(&"print Peer 14 is no longer alive"));
    assert!(entries(&log).contains(&"tcp 19 QUERY 9"));
    nine.expect(&[(
        1.1,
        "reply 19 NEIGHBOURS - 2 4",
        &[
            "print My new first successor is Peer 19",
            "print My new second successor is Peer 2",
        ],
    )]);
    assert_eq!(nine.peer().successors(), super::ids(&[19, 2]));
}

#[test]
fn the_second_predecessor_repairs_whether_or_not_the_first_has() {
    // 9 has repaired already and answers 19 2, or has not noticed yet and
    // answers 14 19: 8 takes 9 19 either way.
    for answer in ["NEIGHBOURS - 19 2", "NEIGHBOURS - 14 19"] {
        let mut eight = Scenario::running(8, &[9, 14], &[5, 4]);
        eight.step(1.0, "closed 14");
        eight.run_until(1.1, &[9]);
        eight.expect(&[(
            1.1,
            &format!("reply 9 {answer}"),
            &[
                "print My new first successor is Peer 9",
                "print My new second successor is Peer 19",
            ],
        )]);
    }
}

#[test]
fn a_failed_query_is_asked_again() {
    let mut eight = Scenario::running(8, &[9, 14], &[5, 4]);
    eight.step(1.0, "closed 14");
    eight.run_until(1.1, &[9]);
    assert!(eight.step(1.1, "reply 9 ERROR not-ready").is_empty());
    let again = 1.1 + QUERY_RETRY.as_secs_f64();
    let log = eight.run_until(again, &[9]);
    assert!(entries(&log).contains(&"tcp 9 QUERY 8"), "{log:?}");
}

#[test]
fn stale_answers_to_a_finished_repair_change_nothing() {
    let mut eight = Scenario::running(8, &[9, 14], &[5, 4]);
    eight.step(1.0, "closed 14");
    eight.run_until(1.1, &[9]);
    eight.step(1.1, "reply 9 NEIGHBOURS - 19 2");
    // A late answer to an expired question is no longer awaited.
    assert!(eight.step(1.2, "tcp QUERY 5").len() == 1);
    assert_eq!(eight.peer().successors(), super::ids(&[9, 19]));
}

#[test]
fn a_peer_asked_during_its_own_repair_gives_what_it_has() {
    let mut nine = nine();
    nine.step(1.0, "closed 14");
    nine.run_until(1.1, &[19]);
    nine.expect(&[(1.1, "tcp QUERY 8", &["reply NEIGHBOURS 8 19"])]);
}

#[test]
fn a_newcomer_is_not_placed_while_the_list_is_repaired() {
    let mut nine = nine();
    nine.step(1.0, "closed 14");
    nine.run_until(1.1, &[19]);
    nine.expect(&[(
        1.1,
        "tcp JOIN 12 8 3",
        &["reply OK", "tcp 12 REFUSE no-place"],
    )]);
}

#[test]
fn a_departing_first_successor_ends_a_repair() {
    let mut nine = nine();
    nine.step(1.0, "closed 14");
    nine.run_until(1.1, &[19]);
    // 19 answers the refill that it is leaving, which ends the repair, and
    // then the check of its notice.
    nine.expect(&[
        (1.1, "tcp LEAVE 19 2 4", &["tcp 19 QUERY 9"]),
        (
            1.1,
            "reply 19 QUERY: LEAVING 2 4",
            &[
                "print Peer 19 will depart from the network",
                "print My new first successor is Peer 2",
                "print My new second successor is Peer 4",
            ],
        ),
        (1.1, "reply 19 QUERY: LEAVING 2 4", &["reply OK"]),
    ]);
}

#[test]
fn quit_during_a_repair_leaves_with_what_the_list_holds() {
    let mut nine = nine();
    nine.step(1.0, "closed 14");
    nine.run_until(1.1, &[19]);
    nine.expect(&[(
        1.1,
        "typed Quit",
        &["tcp 8 LEAVE 9 19", "tcp 5 LEAVE 9 19", "warn Note"],
    )]);
}

#[test]
fn two_adjacent_deaths_are_survived_with_three_successors() {
    // 9 keeps 14 19 2; 14 and 19 die together. 9 goes on pinging 2 at once,
    // and announces its list once it is whole again.
    let mut nine = Scenario::running(9, &[14, 19, 2], &[8, 5, 4]);
    nine.step(1.0, "closed 14");
    nine.step(1.0, "closed 19");
    let log = nine.run_until(1.1, &[2]);
    let said: Vec<&str> = entries(&log)
        .into_iter()
        .filter(|e| e.starts_with("print") || e.starts_with("tcp"))
        .collect();
    assert_eq!(
        said,
        [
            "print Peer 14 is no longer alive",
            "print Peer 19 is no longer alive",
            "tcp 2 QUERY 9",
        ]
    );
    let pings_2_first = |e: &&str| e.starts_with("udp 2 PING 9 2 first");
    assert!(entries(&log).iter().any(pings_2_first), "{log:?}");
    nine.expect(&[(
        1.1,
        "reply 2 NEIGHBOURS - 4 5 8",
        &[
            "print My new first successor is Peer 2",
            "print My new second successor is Peer 4",
            "print My new third successor is Peer 5",
        ],
    )]);
}

#[test]
fn a_successor_whose_port_refused_and_that_a_refill_drops_is_said_to_be_dead() {
    // 8 keeps 9 14 19. 14 is found dead first; 19's port has refused too,
    // but before its own verdict 9's answer already leaves it out.
    let mut eight = Scenario::running(8, &[9, 14, 19], &[5, 4, 2]);
    eight.step(1.0, "closed 14");
    let log = eight.run_until(1.04, &[9, 19]);
    assert!(entries(&log).contains(&"print Peer 14 is no longer alive"));
    eight.step(1.041, "closed 19");
    eight.expect(&[(
        1.042,
        "reply 9 NEIGHBOURS - 2 4 5",
        &[
            "print Peer 19 is no longer alive",
            "print My new first successor is Peer 9",
            "print My new second successor is Peer 2",
            "print My new third successor is Peer 4",
        ],
    )]);
    // Said once: its own verdict does not come.
    let log = eight.run_until(2.0, &[9, 2, 4]);
    assert!(
        !entries(&log).iter().any(|e| e.contains("no longer alive")),
        "{log:?}"
    );
}

#[test]
fn a_repaired_list_is_announced_only_once_whole() {
    // 14 and 19 die; 9 (8's first successor) is repairing too and first
    // answers with the one successor it has left.
    let mut eight = Scenario::running(8, &[9, 14, 19], &[5, 4, 2]);
    eight.step(1.0, "closed 14");
    eight.step(1.0, "closed 19");
    eight.run_until(1.04, &[9]);
    assert!(eight.step(1.05, "reply 9 NEIGHBOURS - 2").is_empty());
    let log = eight.run_until(1.05, &[9, 2]);
    assert!(entries(&log).contains(&"tcp 9 QUERY 8"), "{log:?}");
    assert!(eight.step(1.06, "reply 9 NEIGHBOURS - 2").is_empty());
    let log = eight.run_until(1.2, &[9, 2]);
    assert!(entries(&log).contains(&"tcp 9 QUERY 8"), "{log:?}");
    eight.expect(&[(
        1.2,
        "reply 9 NEIGHBOURS - 2 4 5",
        &[
            "print My new first successor is Peer 9",
            "print My new second successor is Peer 2",
            "print My new third successor is Peer 4",
        ],
    )]);
}

#[test]
fn a_peer_that_loses_every_successor_says_so_and_stops_pinging() {
    let mut eight = Scenario::running(8, &[9, 14], &[5, 4]);
    eight.step(1.0, "closed 9");
    eight.step(1.0, "closed 14");
    let log = eight.run_until(1.1, &[]);
    assert!(entries(&log).contains(&"warn Note"), "{log:?}");
    // Nothing is due any more but forgetting its predecessors.
    let later = 10.0 * T;
    eight.step(later, "tick");
    assert!(eight.next_deadline().is_none_or(|at| at > later));
}

#[test]
fn a_peer_dropped_by_the_ring_joins_again_through_its_successor() {
    let mut fourteen = Scenario::running(14, &[19, 2], &[9, 8]);
    // Frozen for a long time, then resumed: nobody pings it any more.
    let resumed = 10.0 * T;
    let trace = fourteen.step(resumed, "tick");
    assert!(
        trace.contains(&"tcp 19 JOIN 14 14 0".to_string()),
        "{trace:?}"
    );
    assert!(trace.contains(&"warn Note".to_string()), "{trace:?}");
    // If the ring still holds it after all, it carries on as before.
    let trace = fourteen.step(resumed, "tcp REFUSE duplicate");
    assert_eq!(trace, ["reply OK", "warn Note"]);
    assert_eq!(fourteen.peer().successors(), super::ids(&[19, 2]));
}

#[test]
fn a_rejoining_peer_waits_between_attempts_and_tries_its_other_successors() {
    let mut fourteen = Scenario::running(14, &[19, 2], &[9, 8]);
    let resumed = 10.0 * T;
    fourteen.step(resumed, "tick");
    assert_eq!(fourteen.step(resumed, "refused 19 JOIN"), ["warn Note"]);
    // It stays a member meanwhile, pinging its list.
    let retry = resumed + REJOIN_RETRY.as_secs_f64();
    let log = fourteen.run_until(retry, &[19, 2]);
    assert_eq!(
        first_time(&log, "tcp 2 JOIN 14 14 0"),
        Some(retry),
        "{log:?}"
    );
}

#[test]
fn a_rejoining_peer_stays_a_member_so_a_ring_that_stalled_whole_recovers() {
    // Every peer of a ring was frozen at once and finds itself unpinged:
    // each rejoins, and each still places (or refuses) the others' joins.
    // 9's first successor is 14, so 9 tells 14 it never left.
    let mut nine = nine();
    let resumed = 10.0 * T;
    let trace = nine.step(resumed, "tick");
    assert!(
        trace.contains(&"tcp 14 JOIN 9 9 0".to_string()),
        "{trace:?}"
    );
    // Meanwhile it goes on pinging its list...
    assert!(
        trace
            .iter()
            .any(|t| t.starts_with("udp 14 PING 9 14 first")),
        "{trace:?}"
    );
    // ...and answers 14's own rejoin.
    nine.expect(&[(
        resumed,
        "tcp JOIN 14 8 3",
        &["reply OK", "warn Unexpected", "tcp 14 REFUSE duplicate"],
    )]);
    // Told in its turn that it never left, it carries on.
    assert_eq!(
        nine.step(resumed, "tcp REFUSE duplicate"),
        ["reply OK", "warn Note"]
    );
    assert_eq!(nine.peer().successors(), super::ids(&[14, 19]));
}

#[test]
fn a_peer_that_was_itself_stalled_does_not_blame_its_successors() {
    // 9 pings at T, then its own process stops for 5 s (frozen, or a
    // machine that hung) before it can hear the answers: when it runs
    // again, that silence is not its successors'.
    let mut nine = nine();
    nine.step(T, "tick");
    let resumed = T + 5.0;
    let trace = nine.step(resumed, "tick");
    assert!(
        !trace.iter().any(|t| t.contains("no longer alive")),
        "{trace:?}"
    );
    let log = nine.run_until(resumed + 1.0, &[]);
    assert!(
        !entries(&log).iter().any(|e| e.contains("no longer alive")),
        "{log:?}"
    );
    // A successor that really is silent is still found, one silence later.
    let log = nine.run_until(2.0 * T + 2.0, &[19]);
    assert!(
        entries(&log).contains(&"print Peer 14 is no longer alive"),
        "{log:?}"
    );
}

#[test]
fn no_deadline_is_left_in_the_past() {
    // A peer whose port-closed successor was pinged long before.
    let mut nine = nine();
    nine.step(T, "tick");
    let lost = T + 5.0;
    nine.step(lost, "closed 14");
    nine.step(lost, "tick");
    assert!(nine.next_deadline().is_none_or(|at| at > lost));
    // A peer repairing when it would count as cut off.
    let mut nine = self::nine();
    nine.step(1.0, "closed 14");
    nine.run_until(1.1, &[]);
    let later = 10.0 * T;
    nine.step(later, "tick");
    assert!(nine.next_deadline().is_none_or(|at| at > later));
}
