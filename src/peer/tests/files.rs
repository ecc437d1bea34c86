//! Files: stores and requests routed to the responsible peer, the file
//! moving between the two peers concerned, and the offers and fetches that
//! nobody asked for.

use super::scenario::Scenario;
use crate::peer::{EXPECTATION_LIFETIME, MAX_EXPECTATIONS, MAX_HOPS};

/// A teaching-ring peer holding `files`, whose first predecessor has
/// pinged.
fn holder(id: u8, successors: &[u8], predecessor: u8, files: &[&str]) -> Scenario {
    let mut peer = Scenario::member(id, successors).holding(files);
    peer.step(0.0, &format!("udp PING {predecessor} {id} first 0"));
    peer
}

#[test]
fn store_2067_travels_from_8_to_19_which_fetches_it() {
    let mut eight = holder(8, &[9, 14], 5, &["2067"]);
    eight.expect(&[(
        0.0,
        "typed Store 2067",
        &[
            "print Store 2067 request forwarded to my successor",
            "tcp 9 STORE 2067 8 1 search",
        ],
    )]);
    let mut fourteen = holder(14, &[19, 2], 9, &[]);
    fourteen.expect(&[(
        0.0,
        "tcp STORE 2067 8 2 search",
        &[
            "reply OK",
            "print Store 2067 request forwarded to my successor",
            "tcp 19 STORE 2067 8 3 owner",
        ],
    )]);
    let mut nineteen = holder(19, &[2, 4], 14, &[]);
    nineteen.expect(&[
        (
            0.0,
            "tcp STORE 2067 8 3 owner",
            &[
                "reply OK",
                "print Store 2067 request accepted",
                "tcp 8 FETCH 2067 19",
            ],
        ),
        // 19 takes the offer it expects, silently.
        (
            0.0,
            "tcp OFFER 2067 8 5183 store",
            &["receive-file 2067 8 5183 store"],
        ),
    ]);
    // 8 sends the file to 19 when asked, and only once.
    eight.expect(&[
        (
            0.0,
            "tcp FETCH 2067 19",
            &["reply OK", "send-file 2067 19 store"],
        ),
        (
            0.0,
            "tcp FETCH 2067 19",
            &["warn Unexpected", "reply ERROR unexpected"],
        ),
        (0.0, "sent 2067 19 store ok", &[]),
    ]);
}

#[test]
fn a_peer_that_is_responsible_accepts_a_store_at_once() {
    let mut nineteen = holder(19, &[2, 4], 14, &["2067"]);
    nineteen.expect(&[(
        0.0,
        "typed Store 2067",
        &["print Store 2067 request accepted"],
    )]);
}

#[test]
fn a_hash_that_wraps_belongs_to_the_smallest_peer() {
    // 2012 mod 256 = 220, after 19: peer 2 is responsible.
    let mut nineteen = holder(19, &[2, 4], 14, &[]);
    let trace = nineteen.step(0.0, "tcp STORE 2012 8 3 search");
    assert!(
        trace.contains(&"tcp 2 STORE 2012 8 4 owner".to_string()),
        "{trace:?}"
    );
    let mut two = holder(2, &[4, 5], 19, &[]);
    let trace = two.step(0.0, "tcp STORE 2012 8 4 search");
    assert!(
        trace.contains(&"print Store 2012 request accepted".to_string()),
        "{trace:?}"
    );
}

#[test]
fn a_peer_that_has_not_heard_its_predecessor_lets_the_ring_decide() {
    // 19 is responsible for 2067 but has not been pinged yet: it passes the
    // request on, and it comes back round marked for it.
    let mut nineteen = Scenario::member(19, &[2, 4]).holding(&["2067"]);
    nineteen.expect(&[
        (
            0.0,
            "typed Store 2067",
            &[
                "print Store 2067 request forwarded to my successor",
                "tcp 2 STORE 2067 19 1 search",
            ],
        ),
        (
            0.0,
            "tcp STORE 2067 19 6 owner",
            &["reply OK", "print Store 2067 request accepted"],
        ),
    ]);
}

#[test]
fn storing_a_missing_file_sends_nothing() {
    let mut eight = holder(8, &[9, 14], 5, &[]);
    eight.expect(&[(0.0, "typed Store 2067", &["warn Typing"])]);
}

#[test]
fn request_4103_travels_from_2_to_8_which_sends_it_directly() {
    let mut two = holder(2, &[4, 5], 19, &[]);
    two.expect(&[(
        0.0,
        "typed Request 4103",
        &[
            "print File request for 4103 has been sent to my successor",
            "tcp 4 REQUEST 4103 2 1 search",
        ],
    )]);
    let mut five = holder(5, &[8, 9], 4, &[]);
    five.expect(&[(
        0.0,
        "tcp REQUEST 4103 2 2 search",
        &[
            "reply OK",
            "print Request for File 4103 has been received, but the file is not stored here",
            "tcp 8 REQUEST 4103 2 3 owner",
        ],
    )]);
    let mut eight = holder(8, &[9, 14], 5, &["4103"]);
    eight.expect(&[
        (
            0.0,
            "tcp REQUEST 4103 2 3 owner",
            &[
                "reply OK",
                "print File 4103 is stored here",
                "print Sending file 4103 to Peer 2",
                "send-file 4103 2 request",
            ],
        ),
        (
            0.0,
            "sent 4103 2 request ok",
            &["print The file has been sent"],
        ),
    ]);
    two.expect(&[
        (
            0.0,
            "tcp OFFER 4103 8 20543 request",
            &[
                "print Peer 8 had File 4103",
                "print Receiving File 4103 from Peer 8",
                "receive-file 4103 8 20543 request",
            ],
        ),
        (
            0.0,
            "received 4103 8 request ok",
            &["print File 4103 received"],
        ),
    ]);
}

#[test]
fn a_request_for_a_file_nobody_has_gets_an_answer() {
    let mut two = holder(2, &[4, 5], 19, &[]);
    two.step(0.0, "typed Request 4103");
    let mut eight = holder(8, &[9, 14], 5, &[]);
    eight.expect(&[(
        0.0,
        "tcp REQUEST 4103 2 3 owner",
        &[
            "reply OK",
            "print Request for File 4103 has been received, but the file is not stored here",
            "tcp 2 NOTFOUND 4103 8",
        ],
    )]);
    two.expect(&[(
        0.0,
        "tcp NOTFOUND 4103 8",
        &[
            "reply OK",
            "print File 4103 was not found: Peer 8, which is responsible for it, does not have it",
        ],
    )]);
}

#[test]
fn requests_and_stores_stop_after_going_round_the_ring() {
    let mut four = Scenario::member(4, &[5, 8]);
    let request = format!("tcp REQUEST 4103 2 {MAX_HOPS} search");
    let store = format!("tcp STORE 4103 2 {MAX_HOPS} search");
    four.expect(&[
        (
            0.0,
            &request,
            &["reply OK", "warn Delivery", "tcp 2 NOTFOUND 4103 4"],
        ),
        (0.0, &store, &["reply OK", "warn Delivery"]),
    ]);
}

#[test]
fn a_peer_that_requests_a_file_it_holds_says_so() {
    let mut eight = holder(8, &[9, 14], 5, &["4103"]);
    eight.expect(&[(
        0.0,
        "typed Request 4103",
        &["print File 4103 is stored here"],
    )]);
}

#[test]
fn offers_and_fetches_nobody_asked_for_are_refused() {
    let mut two = holder(2, &[4, 5], 19, &["4103"]);
    two.expect(&[
        (
            0.0,
            "tcp OFFER 4103 8 10 request",
            &["warn Unexpected", "reply ERROR unexpected"],
        ),
        (
            0.0,
            "tcp FETCH 4103 8",
            &["warn Unexpected", "reply ERROR unexpected"],
        ),
    ]);
}

#[test]
fn a_flood_of_stores_keeps_a_bounded_number_of_offers_awaited() {
    // Every `STORE ... owner` from a stranger makes this peer await an
    // offer; a flood of them keeps only the newest few.
    let mut nineteen = holder(19, &[2, 4], 14, &[]);
    for n in 0..1000 {
        let origin = 100 + n % 100;
        nineteen.step(0.0, &format!("tcp STORE {:04} {origin} 0 owner", 1000 + n));
    }
    // Only the newest MAX_EXPECTATIONS offers are still awaited.
    let kept = MAX_EXPECTATIONS as u32;
    let forgotten = 1000 - kept - 1;
    assert_eq!(
        nineteen.step(
            0.0,
            &format!(
                "tcp OFFER {:04} {} 5 store",
                1000 + forgotten,
                100 + forgotten % 100
            )
        ),
        ["warn Unexpected", "reply ERROR unexpected"]
    );
    for n in (1000 - kept)..1000 {
        let offer = format!("tcp OFFER {:04} {} 5 store", 1000 + n, 100 + n % 100);
        let expected = format!("receive-file {:04} {} 5 store", 1000 + n, 100 + n % 100);
        assert_eq!(nineteen.step(0.0, &offer), [expected]);
    }
}

#[test]
fn an_awaited_file_that_never_comes_is_forgotten_and_the_user_told() {
    let mut two = holder(2, &[4, 5], 19, &[]);
    two.step(0.0, "typed Request 4103");
    let expiry = EXPECTATION_LIFETIME.as_secs_f64();
    assert_eq!(
        two.step(expiry, "tick").last().map(String::as_str),
        Some("warn Note")
    );
    assert_eq!(
        two.step(expiry, "tcp OFFER 4103 8 10 request"),
        ["warn Unexpected", "reply ERROR unexpected"]
    );
}
