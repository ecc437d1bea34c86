//! Black-box tests of pinging: real `p2p` processes on the loopback
//! interface, checked only through what they print and what they send.

mod common;

use common::lines::*;

use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{DEADLINE, Ring, noise, predecessors, successors};
use p2p::message::{Datagram as Message, Ordinal};
use p2p::ring::PeerId;

/// The ping interval of these tests: short so that the tests are quick, long
/// enough that seven peers on two cores are not busy all the time.
const INTERVAL: f64 = 0.2;

/// Checks that every peer of `ids` pings its two successors, is pinged by
/// its two predecessors, and hears both successors answer.
fn assert_every_peer_pings_and_is_pinged(ring: &Ring, ids: &[u8]) {
    for &peer in ids {
        let (first, second) = successors(ids, peer);
        let (first_predecessor, second_predecessor) = predecessors(ids, peer);
        let expected = [
            pings_sent(first, second),
            ping_received(first_predecessor),
            ping_received(second_predecessor),
            response_received(first),
            response_received(second),
        ];
        for line in &expected {
            ring.wait_for_line(peer, line, DEADLINE);
        }
    }
}

/// Checks that every "received from Peer N" line of every peer names one of
/// that peer's own neighbours: pings come only from the two predecessors and
/// answers only from the two successors.
fn assert_peers_hear_only_their_neighbours(ring: &Ring, ids: &[u8]) {
    for &peer in ids {
        let (first, second) = successors(ids, peer);
        let (first_predecessor, second_predecessor) = predecessors(ids, peer);
        let allowed = [
            ping_received(first_predecessor),
            ping_received(second_predecessor),
            response_received(first),
            response_received(second),
        ];
        for line in ring.lines(peer) {
            if line.contains("received from Peer") {
                assert!(
                    allowed.contains(&line),
                    "peer {peer} heard from a stranger: {line:?}\n{}",
                    ring.describe_all()
                );
            }
        }
    }
}

/// Checks that no peer's standard error shows a panic.
fn assert_no_panic(ring: &Ring) {
    for peer in ring.peer_ids() {
        for line in ring.stderr_lines(peer) {
            assert!(
                !line.contains("panicked"),
                "peer {peer} panicked: {line:?}\n{}",
                ring.describe_all()
            );
        }
    }
}

#[test]
fn every_peer_of_the_teaching_ring_pings_and_is_pinged() {
    let ids = [2, 4, 5, 8, 9, 14, 19];
    let ring = Ring::init(&ids, INTERVAL);
    // Spot checks of the expected lines against the assignment's example.
    assert_eq!(successors(&ids, 2), (4, 5));
    assert_eq!(successors(&ids, 19), (2, 4));
    assert_every_peer_pings_and_is_pinged(&ring, &ids);
    assert_peers_hear_only_their_neighbours(&ring, &ids);
    assert_no_panic(&ring);
}

/// The course's ping interval.
const COURSE_INTERVAL: f64 = 30.0;

/// How long a peer of a ring started one peer after another may take to
/// hear its successors: generous for a busy machine, and half the course's
/// interval, which is what it would take without the early rounds.
const FIRST_ANSWERS_DEADLINE: Duration = Duration::from_secs(15);

#[test]
fn a_ring_started_one_peer_after_another_at_30_s_hears_its_successors_within_seconds() {
    // As a ring is started by hand: each peer starts once the one before
    // it has sent its first pings, which reach a successor that is not
    // running yet. A successor that has not answered is pinged again
    // soon, so nobody waits an interval to hear it.
    let ids = [2, 4, 5, 8, 9, 14, 19];
    let mut ring = Ring::reserve(&ids);
    for &peer in &ids {
        let (first, second) = successors(&ids, peer);
        ring.spawn_init(peer, first, second, COURSE_INTERVAL, &[]);
        ring.wait_for_line(peer, &pings_sent(first, second), DEADLINE);
    }
    for &peer in &ids {
        let (first, second) = successors(&ids, peer);
        let (first_predecessor, second_predecessor) = predecessors(&ids, peer);
        for line in [
            response_received(first),
            response_received(second),
            ping_received(first_predecessor),
            ping_received(second_predecessor),
        ] {
            ring.wait_for_line(peer, &line, FIRST_ANSWERS_DEADLINE);
        }
    }
    assert_peers_hear_only_their_neighbours(&ring, &ids);
    assert_no_panic(&ring);
}

#[test]
fn a_ring_that_wraps_past_255_pings_across_the_wrap() {
    let ids = [250, 253, 3, 7];
    let ring = Ring::init(&ids, INTERVAL);
    assert_eq!(successors(&ids, 253), (3, 7));
    assert_every_peer_pings_and_is_pinged(&ring, &ids);
    assert_peers_hear_only_their_neighbours(&ring, &ids);
    assert_no_panic(&ring);
}

#[test]
fn the_smallest_and_largest_identities_work() {
    let ids = [0, 1, 255];
    let ring = Ring::init(&ids, INTERVAL);
    assert_eq!(successors(&ids, 255), (0, 1));
    assert_every_peer_pings_and_is_pinged(&ring, &ids);
    assert_no_panic(&ring);
}

#[test]
fn two_rings_with_the_same_identities_on_different_ports_stay_apart() {
    let ids = [10, 20, 30, 40];
    let left = Ring::init(&ids, INTERVAL);
    let right = Ring::init(&ids, INTERVAL);
    assert_ne!(left.base_port(), right.base_port());
    assert_every_peer_pings_and_is_pinged(&left, &ids);
    assert_every_peer_pings_and_is_pinged(&right, &ids);
    assert_peers_hear_only_their_neighbours(&left, &ids);
    assert_peers_hear_only_their_neighbours(&right, &ids);
    assert_no_panic(&left);
    assert_no_panic(&right);
}

#[test]
fn garbage_datagrams_are_reported_and_the_peer_goes_on() {
    let ids = [30, 40, 50];
    // The test socket plays peer 99, which is not in the ring.
    let stranger = 99;
    let target = 40;
    let mut ring = Ring::builder(&ids)
        .interval(INTERVAL)
        .also_reserve(&[stranger])
        .start();
    let (first, second) = successors(&ids, target);
    ring.wait_for_line(target, &pings_sent(first, second), DEADLINE);

    let socket = UdpSocket::bind(("127.0.0.1", ring.port(stranger))).unwrap();
    let peer_address = ("127.0.0.1", ring.port(target));

    // Lines derived from a valid ping, so that the test does not depend on
    // the exact text of the protocol.
    let valid_ping = Message::Ping {
        from: PeerId(stranger),
        to: PeerId(target),
        successor: Ordinal::First,
        seq: 424_242,
    };
    let valid_line = valid_ping.to_string();
    let bad_field = valid_line.replace("424242", "4242x42");
    let missing_field = valid_line.rsplit_once(' ').unwrap().0.to_string();
    let extra_field = format!("{valid_line} {valid_line}");
    let for_someone_else = Message::Ping {
        from: PeerId(stranger),
        to: PeerId(77),
        successor: Ordinal::Second,
        seq: 1,
    };
    assert!(Message::from_bytes(bad_field.as_bytes()).is_err());
    assert!(Message::from_bytes(missing_field.as_bytes()).is_err());

    let garbage: Vec<Vec<u8>> = vec![
        noise(100, 0),
        Vec::new(),
        vec![b'P'; 65_000],
        bad_field.into_bytes(),
        missing_field.into_bytes(),
        extra_field.into_bytes(),
        b"\n\n\n".to_vec(),
        for_someone_else.to_bytes(),
    ];
    for datagram in &garbage {
        socket.send_to(datagram, peer_address).unwrap();
    }

    // A well-formed ping from the test socket still gets its answer. The
    // peer reads its datagrams in order, so by the time this answer comes it
    // has dealt with all the garbage.
    let ping = Message::Ping {
        from: PeerId(stranger),
        to: PeerId(target),
        successor: Ordinal::Second,
        seq: 7,
    };
    let expected = Message::Pong {
        from: PeerId(target),
        to: PeerId(stranger),
        seq: 7,
    };
    socket.send_to(&ping.to_bytes(), peer_address).unwrap();
    let reply = receive_until(&socket, &expected);
    assert_eq!(reply, expected, "{}", ring.describe_all());

    // Each bad datagram was reported on standard error (a line at index
    // `garbage.len() - 1` means at least one line per datagram)...
    ring.wait_for_stderr_containing_after(target, garbage.len() - 1, "", DEADLINE);
    // ...and the peer goes on pinging, being pinged and being answered.
    let (first_predecessor, second_predecessor) = predecessors(&ids, target);
    let mark = ring.mark(target);
    ring.wait_for_lines_in_order_after(
        target,
        mark,
        &[&pings_sent(first, second), &pings_sent(first, second)],
        DEADLINE,
    );
    for line in [
        ping_received(first_predecessor),
        ping_received(second_predecessor),
        response_received(first),
        response_received(second),
    ] {
        ring.wait_for_line_after(target, mark, &line, DEADLINE);
    }

    assert_no_panic(&ring);
    ring.assert_running(target);
}

/// Receives datagrams on `socket` until one parses as `expected` or the
/// deadline passes; returns the last message parsed (or panics if none
/// came). The socket's read timeout bounds each wait, so no sleep is needed.
fn receive_until(socket: &UdpSocket, expected: &Message) -> Message {
    let deadline = Instant::now() + DEADLINE;
    let mut buffer = [0u8; 65_536];
    let mut last = None;
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            break;
        }
        socket.set_read_timeout(Some(remaining)).unwrap();
        let Ok((len, _from)) = socket.recv_from(&mut buffer) else {
            break;
        };
        let message = Message::from_bytes(&buffer[..len]).unwrap_or_else(|e| {
            panic!(
                "the peer sent a malformed reply {:?}: {e}",
                String::from_utf8_lossy(&buffer[..len])
            )
        });
        if &message == expected {
            return message;
        }
        last = Some(message);
    }
    last.unwrap_or_else(|| panic!("no reply within {DEADLINE:?}; expected {expected}"))
}

#[test]
fn the_end_of_standard_input_does_not_stop_a_peer() {
    let ids = [5, 6, 7];
    let peer = 6;
    let mut ring = Ring::init(&ids, INTERVAL);
    let (first, second) = successors(&ids, peer);
    ring.wait_for_line(peer, &pings_sent(first, second), DEADLINE);

    ring.close_stdin(peer);
    // Three more rounds: the peer has long read the end of its input by the
    // last of them.
    let mut next = ring.mark(peer);
    for _ in 0..3 {
        next = ring.wait_for_line_after(peer, next, &pings_sent(first, second), DEADLINE) + 1;
    }
    ring.wait_for_line_after(peer, next, &response_received(first), DEADLINE);
    ring.assert_running(peer);
    assert_no_panic(&ring);
}

#[test]
fn quit_makes_a_peer_exit_with_code_0() {
    let ids = [5, 6, 7];
    let mut ring = Ring::init(&ids, INTERVAL);
    for (peer, command) in [(6, "Quit"), (7, "quit")] {
        let (first, second) = successors(&ids, peer);
        ring.wait_for_line(peer, &pings_sent(first, second), DEADLINE);
        ring.type_command(peer, command);
        let status = ring.wait_exit(peer, DEADLINE);
        assert_eq!(status.code(), Some(0), "{command}: {}", ring.describe_all());
    }
    assert_no_panic(&ring);
}

#[test]
fn an_unknown_command_gets_a_hint_and_the_peer_goes_on() {
    let ids = [5, 6, 7];
    let peer = 5;
    let mut ring = Ring::init(&ids, INTERVAL);
    let (first, second) = successors(&ids, peer);
    ring.wait_for_line(peer, &pings_sent(first, second), DEADLINE);

    ring.type_command(peer, "Hello there");
    ring.wait_for_stderr_containing(peer, "the commands are Quit", DEADLINE);
    let mark = ring.mark(peer);
    ring.wait_for_line_after(peer, mark, &pings_sent(first, second), DEADLINE);
    ring.assert_running(peer);

    ring.type_command(peer, "Quit");
    let status = ring.wait_exit(peer, DEADLINE);
    assert_eq!(status.code(), Some(0), "{}", ring.describe_all());
    assert_no_panic(&ring);
}

/// A child process that is killed and reaped when dropped, even when the
/// test panics.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_peer_whose_output_is_closed_goes_on_answering() {
    // A peer whose log reader has gone (a `tee` killed, a terminal closed)
    // must not die of the broken pipe: the ring still needs it.
    let (peer, stranger) = (2, 99);
    let ring = Ring::reserve(&[peer, stranger]);
    let mut child = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_p2p"))
            .args(["init", "2", "4", "5", "0.1", "--base-port"])
            .arg(ring.base_port().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    // Wait for the first line, which shows the sockets are open, then close
    // both ends the peer writes to.
    let mut stdout = BufReader::new(child.0.stdout.take().unwrap());
    let mut first_line = String::new();
    stdout.read_line(&mut first_line).unwrap();
    assert_eq!(first_line.trim_end(), pings_sent(4, 5));
    drop(stdout);
    drop(child.0.stderr.take());

    // Garbage makes it write on standard error, pings on standard output.
    let socket = UdpSocket::bind(("127.0.0.1", ring.port(stranger))).unwrap();
    let peer_address = ("127.0.0.1", ring.port(peer));
    socket.send_to(b"garbage", peer_address).unwrap();
    let ping = Message::Ping {
        from: PeerId(stranger),
        to: PeerId(peer),
        successor: Ordinal::First,
        seq: 3,
    };
    let expected = Message::Pong {
        from: PeerId(peer),
        to: PeerId(stranger),
        seq: 3,
    };
    socket.send_to(&ping.to_bytes(), peer_address).unwrap();
    assert_eq!(receive_until(&socket, &expected), expected);
    assert!(
        child.0.try_wait().unwrap().is_none(),
        "the peer stopped when its output closed"
    );
}
