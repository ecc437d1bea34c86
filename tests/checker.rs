//! Black-box tests of `p2p ring`, the checker of a whole ring, and of
//! `Status` typed at a peer: real rings on the loopback interface, checked
//! through what the checker prints and its exit status.

mod common;

use std::process::Output;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use common::{DEADLINE, Ring, TempDir};

/// The ring of the assignment's examples.
const TEACHING_RING: [u8; 7] = [2, 4, 5, 8, 9, 14, 19];

/// The longest one run of the checker may take: a survey waits at most a
/// second or two for a silent peer.
const ONE_RUN: Duration = Duration::from_secs(20);

/// Runs `p2p ring` with `args` and returns what it printed and its status.
fn check(ring: &Ring, args: &[&str]) -> Output {
    Command::cargo_bin("p2p")
        .expect("the p2p binary")
        .arg("ring")
        .args(["--base-port", &ring.base_port().to_string()])
        .args(args)
        .timeout(ONE_RUN)
        .output()
        .expect("p2p ring runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Runs the checker until it says the ring is consistent, as a student
/// would after starting a ring, and returns that run's output.
fn wait_until_consistent(ring: &Ring, args: &[&str]) -> Output {
    wait_until_consistent_with(ring, args, "")
}

/// [`wait_until_consistent`], until the table also has the line `row`. A
/// ring is consistent once each peer knows its first predecessor; a peer
/// may learn its second one a ping later, so a test that checks a whole
/// row waits for it.
fn wait_until_consistent_with(ring: &Ring, args: &[&str], row: &str) -> Output {
    let give_up = Instant::now() + DEADLINE;
    loop {
        let output = check(ring, args);
        let has_row = stdout(&output).lines().any(|line| line.contains(row));
        if (output.status.success() && has_row) || Instant::now() > give_up {
            return output;
        }
    }
}

/// The first column of the table: the peers in the order listed.
fn peers_listed(text: &str) -> Vec<u8> {
    text.lines()
        .skip(2)
        .map_while(|line| line.split_whitespace().next()?.parse().ok())
        .collect()
}

#[test]
fn a_settled_ring_is_listed_in_ring_order_and_is_consistent() {
    let ring = Ring::init(&TEACHING_RING, 0.2);
    let nine = "     9  14 19       8 5           -      -";
    let output = wait_until_consistent_with(&ring, &["--from", "9"], nine);
    let text = stdout(&output);
    assert!(output.status.success(), "not consistent:\n{text}");
    assert_eq!(peers_listed(&text), [9, 14, 19, 2, 4, 5, 8], "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        format!(
            "Ring on base port {}: 7 peers answered, from peer 9",
            ring.base_port()
        )
    );
    assert!(lines.contains(&nine), "{text}");
    assert_eq!(
        lines.last().copied(),
        Some(
            "Consistent: each peer points at the next live peers, each key has one peer that \
             answers for it, and no peer holds a file."
        )
    );
}

#[test]
fn a_frozen_peer_makes_the_ring_inconsistent_and_is_named() {
    let mut ring = Ring::init(&[2, 4, 5, 8], 0.2);
    let output = wait_until_consistent(&ring, &[]);
    assert!(output.status.success(), "{}", stdout(&output));
    ring.freeze(5);
    let output = check(&ring, &[]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("\n     5  (does not answer)\n"), "{text}");
    assert!(text.contains("Not consistent: "), "{text}");
    assert!(
        text.contains("  - peer 5 does not answer"),
        "the frozen peer is not named:\n{text}"
    );
    ring.thaw(5);
}

#[test]
fn the_picture_has_every_peer_and_file() {
    let dir = TempDir::new("checker-svg");
    let ring = Ring::builder(&[2, 4, 5, 8])
        .peer_args(4, &["--dir", dir.arg()])
        .start();
    std::fs::write(dir.join("0004.pdf"), b"four").expect("a file at peer 4");
    let picture = dir.join("ring.svg");
    let picture_arg = picture.to_string_lossy().into_owned();
    let four = "     4  5 8         2 8           0004   -";
    let output = wait_until_consistent_with(&ring, &["--svg", &picture_arg], four);
    assert!(output.status.success(), "{}", stdout(&output));
    let svg = std::fs::read_to_string(&picture).expect("the SVG was written");
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(svg.trim_end().ends_with("</svg>"));
    for peer in [2, 4, 5, 8] {
        assert!(
            svg.contains(&format!(">{peer}</text>")),
            "peer {peer}:\n{svg}"
        );
    }
    assert!(svg.contains(">0004</text>"), "{svg}");
    assert!(svg.contains("consistent</text>"), "{svg}");
    let text = stdout(&output);
    assert!(
        text.contains("     4  5 8         2 8           0004   -"),
        "{text}"
    );
}

#[test]
fn watch_surveys_again_every_interval() {
    let mut ring = Ring::builder(&[2, 4, 5]).also_reserve(&[250]).start();
    let base_port = ring.base_port().to_string();
    ring.spawn_raw(250, &["ring", "--watch", "--base-port", &base_port]);
    let consistent = |line: &str| line.starts_with("Consistent: ");
    let first = ring.wait_for_line_matching_after(250, 0, "a verdict", DEADLINE, consistent);
    ring.wait_for_line_matching_after(250, first + 1, "a second verdict", DEADLINE, consistent);
    ring.wait_for_line(250, "(surveyed again every 0.2 s; Ctrl-C stops)", DEADLINE);
    ring.kill(250);
}

#[test]
fn status_typed_at_a_peer_prints_its_view() {
    let mut ring = Ring::init(&[2, 4, 5, 8], 0.2);
    ring.wait_for_line(4, "Ping request message received from Peer 2", DEADLINE);
    ring.wait_for_line(4, "Ping request message received from Peer 8", DEADLINE);
    ring.wait_for_line(4, "Ping response received from Peer 8", DEADLINE);
    let mark = ring.mark(4);
    ring.type_command(4, "status");
    let at = ring.wait_for_line_after(
        4,
        mark,
        "Peer 4 is a member of the ring, pinging every 0.2 s",
        DEADLINE,
    );
    ring.wait_for_line_after(4, at, "Replicas kept here: none", DEADLINE);
    let lines = ring.lines(4);
    assert_eq!(
        lines[at + 1..at + 5],
        [
            "Successors: first Peer 5, second Peer 8",
            "Predecessors: first Peer 2, second Peer 8",
            "Files stored here: none",
            "Replicas kept here: none",
        ]
    );
}

#[test]
fn bad_arguments_and_an_empty_range_are_said_in_one_line() {
    let ring = Ring::reserve(&[]);
    let output = check(&ring, &["--from", "300"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "p2p ring: error: --from must be a peer 0-255, not \"300\"\n\
         Run 'p2p ring --help' for the usage.\n"
    );
    let output = check(&ring, &[]);
    assert_eq!(output.status.code(), Some(1));
    let last = u32::from(ring.base_port()) + 255;
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        format!(
            "p2p ring: no peer answers on ports {}-{last}\n",
            ring.base_port()
        )
    );
}
