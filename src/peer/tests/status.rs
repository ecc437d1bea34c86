//! What a peer says about itself: `STATUS` and `HOLDINGS` over TCP, and
//! `Status` typed at it.

use super::scenario::Scenario;

#[test]
fn status_is_answered_with_the_view_of_a_settled_peer() {
    let mut four = Scenario::running(4, &[5, 8], &[2, 19]);
    four.expect(&[(
        0.1,
        "tcp STATUS",
        &["reply VIEW 4 member 30000 2 1 stay 5,8 2,19"],
    )]);
}

#[test]
fn a_position_nobody_pings_from_is_a_dash() {
    let mut four = Scenario::member(4, &[5, 8]);
    four.expect(&[(
        0.0,
        "tcp STATUS",
        &["reply VIEW 4 member 30000 2 1 stay 5,8 -"],
    )]);
    four.step(0.0, "udp PING 19 4 second 0");
    four.expect(&[(
        0.0,
        "tcp STATUS",
        &["reply VIEW 4 member 30000 2 1 stay 5,8 -,19"],
    )]);
}

#[test]
fn a_newcomer_says_it_is_joining_and_has_no_successors() {
    let (mut fifteen, _) = Scenario::joining(15, 4, 2);
    fifteen.expect(&[(
        0.0,
        "tcp STATUS",
        &["reply VIEW 15 joining 30000 2 1 stay - -"],
    )]);
}

#[test]
fn a_peer_that_typed_quit_says_it_is_leaving() {
    let mut nine = Scenario::running(9, &[14, 19], &[8, 5]);
    nine.step(0.1, "typed Quit");
    nine.expect(&[(
        0.2,
        "tcp STATUS",
        &["reply VIEW 9 leaving 30000 2 1 stay 14,19 8,5"],
    )]);
}

#[test]
fn holdings_lists_the_files_of_its_arc_and_its_replicas() {
    // 2067 hashes to 19, in 19's arc (14, 19]; 4103 hashes to 7, so it is
    // the user's own file, kept here to be stored.
    let mut nineteen =
        Scenario::running(19, &[2, 4], &[14, 9]).holding(&["2067", "4103", "replica_2012"]);
    nineteen.expect(&[
        (0.1, "tcp HOLDINGS stored -", &["reply HELD end 2067"]),
        (0.1, "tcp HOLDINGS replica -", &["reply HELD end 2012"]),
        (0.1, "tcp HOLDINGS stored 2067", &["reply HELD end"]),
    ]);
}

#[test]
fn a_peer_that_knows_no_predecessor_lists_every_file() {
    let mut nineteen = Scenario::member(19, &[2, 4]).holding(&["2067", "4103"]);
    nineteen.expect(&[(0.0, "tcp HOLDINGS stored -", &["reply HELD end 2067 4103"])]);
}

#[test]
fn holdings_come_a_page_of_32_at_a_time() {
    // Forty files that all hash to 15, in 19's arc (14, 19]: 0015, 0271,
    // ..., 9999.
    let names: Vec<String> = (0..40).map(|n| format!("{:04}", n * 256 + 15)).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut nineteen = Scenario::running(19, &[2, 4], &[14, 9]).holding(&refs);
    let first_page = format!("reply HELD more {}", names[..32].join(" "));
    let second_page = format!("reply HELD end {}", names[32..].join(" "));
    nineteen.expect(&[
        (0.1, "tcp HOLDINGS stored -", &[first_page.as_str()]),
        (
            0.1,
            &format!("tcp HOLDINGS stored {}", names[31]),
            &[second_page.as_str()],
        ),
    ]);
}

#[test]
fn status_typed_at_the_peer_prints_its_view_and_files() {
    let mut nineteen = Scenario::running(19, &[2, 4], &[14, 9]).holding(&["2067"]);
    nineteen.expect(&[(
        0.1,
        "typed Status",
        &[
            "print Peer 19 is a member of the ring, pinging every 30 s",
            "print Successors: first Peer 2, second Peer 4",
            "print Predecessors: first Peer 14, second Peer 9",
            "print Files stored here: 2067",
            "print Replicas kept here: none",
        ],
    )]);
}

#[test]
fn a_predecessor_that_keeps_more_successors_is_named_at_its_position() {
    // 19 keeps two successors, but 9 keeps three and pings it as its third.
    let mut nineteen = Scenario::running(19, &[2, 4], &[14]);
    nineteen.step(0.1, "udp PING 9 19 third 0");
    nineteen.expect(&[(
        0.1,
        "tcp STATUS",
        &["reply VIEW 19 member 30000 2 1 stay 2,4 14,-,9"],
    )]);
}
