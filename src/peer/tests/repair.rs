//! The background repair: a peer checks its list with its first successor
//! and takes a peer it has missed; a peer asked about its neighbours names
//! the nearest peer that pings it as first successor.

use super::scenario::{INTERVAL, Scenario};

const T: f64 = INTERVAL.as_secs() as f64;

/// Runs peer 4 (successors 8 9, predecessors 2 19) until it checks its
/// list with 8, answering its check with an acquaintance on the way (the
/// checks take turns); returns the time of the check with 8.
fn first_check_with_first_successor(four: &mut Scenario) -> f64 {
    let log = four.run_until(T / 2.0, &[8, 9]);
    let (secs, acquaintance) = log
        .iter()
        .find_map(|(secs, entry)| {
            let to = entry.strip_prefix("tcp ")?.strip_suffix(" QUERY 4")?;
            Some((*secs, to.to_string()))
        })
        .expect("a check with an acquaintance within half an interval");
    assert_ne!(acquaintance, "8");
    four.step(
        secs,
        &format!("reply {acquaintance} QUERY: NEIGHBOURS - 4 8"),
    );
    four.run_until(T, &[8, 9])
        .into_iter()
        .find(|(_, entry)| entry == "tcp 8 QUERY 4")
        .map(|(secs, _)| secs)
        .expect("a check with the first successor within an interval")
}

#[test]
fn a_query_names_the_nearest_peer_that_pings_as_first_successor() {
    // 8 pings 9 as its first successor; so does 5, which has not yet
    // learned that 8 came back in front of 9. 8 is named.
    let mut nine = Scenario::running(9, &[14, 19], &[5, 4]);
    nine.step(0.1, "udp PING 8 9 first 0");
    nine.expect(&[(0.1, "tcp QUERY 5", &["reply NEIGHBOURS 8 14 19"])]);
}

#[test]
fn a_peer_missed_between_us_and_the_first_successor_is_asked_then_taken() {
    // 5 was killed and started again; 4 repaired to 8 9 meanwhile. At its
    // next check 4 hears from 8 that 5 pings it, asks 5, and takes it.
    let mut four = Scenario::running(4, &[8, 9], &[2, 19]);
    let check = first_check_with_first_successor(&mut four);
    four.expect(&[
        (check, "reply 8 QUERY: NEIGHBOURS 5 9 14", &[]),
        (check, "tick", &["tcp 5 QUERY 4"]),
        (
            check,
            "reply 5 QUERY: NEIGHBOURS - 8 9",
            &[
                "print My new first successor is Peer 5",
                "print My new second successor is Peer 8",
            ],
        ),
    ]);
}

#[test]
fn a_missed_peer_that_does_not_answer_is_not_taken() {
    let mut four = Scenario::running(4, &[8, 9], &[2, 19]);
    let check = first_check_with_first_successor(&mut four);
    four.step(check, "reply 8 QUERY: NEIGHBOURS 5 9 14");
    four.step(check, "tick");
    // 5 is dead after all: 8 is asked again at once, and nothing changes.
    four.expect(&[
        (check, "refused 5", &[]),
        (check, "tick", &["tcp 8 QUERY 4"]),
        (check, "reply 8 QUERY: NEIGHBOURS 5 9 14", &[]),
    ]);
    assert_eq!(four.peer().successors(), super::ids(&[8, 9]));
}

#[test]
fn a_successor_that_answered_once_and_froze_is_declared_dead() {
    // 14 answers the first round only, then freezes; the check of the list
    // that goes to it meanwhile gets no answer either.
    let mut nine = Scenario::member(9, &[14, 19]);
    nine.step(0.0, "tick");
    nine.step(0.001, "udp PONG 14 9 0");
    nine.step(0.001, "udp PONG 19 9 0");
    let log = nine.run_until(10.0 * T, &[19]);
    assert!(
        log.iter()
            .any(|(_, entry)| entry == "print Peer 14 is no longer alive"),
        "{log:?}"
    );
}
