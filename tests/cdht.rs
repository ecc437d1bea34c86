//! Black-box tests of `cdht`, the older (2019) course version of the
//! assignment: real `cdht` processes on the loopback interface, started
//! with the five positional arguments of that version
//! (`<PEER> <FIRST> <SECOND> <MSS> <DROP>`) and checked through the exact
//! lines the 2019 reference gives, the files that appear in their
//! directories and their transfer logs.
//!
//! Most tests use the demo ring of the reference, 1 3 4 5 8 10 12 15, in
//! which file 2012 (hash 220) belongs to peer 1 and a request typed at 8
//! goes 8, 10, 12, 15, 1. One test uses a ring that wraps past 255.
//!
//! The harness is the one of the `p2p` tests ([`Ring`]): its port blocks,
//! its waits with deadlines and its clean-up on drop; only the command line
//! differs, which [`CdhtRing`] builds.

mod common;

use std::collections::BTreeMap;
use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::time::Duration;

use assert_cmd::Command;
use common::{
    DEADLINE, LogLine, Ring, TempDir, assert_every_drop_is_retransmitted, assert_receiver_log,
    assert_same_bytes, noise, read_transfer_log, seed_that_drops_soon_but_not_first,
};

/// The `cdht` binary.
const CDHT: &str = env!("CARGO_BIN_EXE_cdht");

/// The ping interval of these tests (`--ping-interval`), in seconds.
const INTERVAL: &str = "0.2";

/// The demo ring of the reference: each peer and its two successors.
const DEMO_RING: [(u8, u8, u8); 8] = [
    (1, 3, 4),
    (3, 4, 5),
    (4, 5, 8),
    (5, 8, 10),
    (8, 10, 12),
    (10, 12, 15),
    (12, 15, 1),
    (15, 1, 3),
];

/// A ring that wraps past 255: 200 230 250 3 9.
const WRAPPING_RING: [(u8, u8, u8); 5] = [
    (200, 230, 250),
    (230, 250, 3),
    (250, 3, 9),
    (3, 9, 200),
    (9, 200, 230),
];

/// How long a lossy transfer of a few hundred KiB may take on a busy
/// machine. A passing test never waits this long.
const TRANSFER_DEADLINE: Duration = Duration::from_secs(40);

// ----- The lines of the 2019 reference, written from it -----

fn ping_request_from(peer: u8) -> String {
    format!("A ping request message was received from Peer {peer}.")
}

fn ping_response_from(peer: u8) -> String {
    format!("A ping response message was received from Peer {peer}.")
}

/// Every ping line starts with this; no other line does.
const PING_LINE: &str = "A ping ";

/// Every ping response line starts with this.
const RESPONSE_LINE: &str = "A ping response message was received from Peer ";

fn request_sent(file: &str) -> String {
    format!("File request message for {file} has been sent to my successor.")
}

fn not_stored_here(file: &str) -> String {
    format!("File {file} is not stored here.")
}

const FORWARDED: &str = "File request message has been forwarded to my successor.";

fn is_here(file: &str) -> String {
    format!("File {file} is here.")
}

fn response_sent(requester: u8) -> String {
    format!("A response message, destined for peer {requester}, has been sent.")
}

const START_SENDING: &str = "We now start sending the file .........";

const FILE_SENT: &str = "The file is sent.";

fn response_received(holder: u8, file: &str) -> String {
    format!("Received a response message from peer {holder}, which has the file {file}.")
}

const START_RECEIVING: &str = "We now start receiving the file .........";

const FILE_RECEIVED: &str = "The file is received.";

fn will_depart(peer: u8) -> String {
    format!("Peer {peer} will depart from the network.")
}

fn no_longer_alive(peer: u8) -> String {
    format!("Peer {peer} is no longer alive.")
}

fn first_is_now(peer: u8) -> String {
    format!("My first successor is now peer {peer}.")
}

fn second_is_now(peer: u8) -> String {
    format!("My second successor is now peer {peer}.")
}

/// The lines of the holder of `file` that sends it to `requester`.
fn holder_lines(file: &str, requester: u8) -> Vec<String> {
    vec![
        is_here(file),
        response_sent(requester),
        START_SENDING.to_string(),
        FILE_SENT.to_string(),
    ]
}

/// The lines of `requester` that asks for `file` and gets it from `holder`.
fn requester_lines(file: &str, holder: u8) -> Vec<String> {
    vec![
        request_sent(file),
        response_received(holder, file),
        START_RECEIVING.to_string(),
        FILE_RECEIVED.to_string(),
    ]
}

/// The lines of a peer on the way that does not hold `file`.
fn forwarder_lines(file: &str) -> Vec<String> {
    vec![not_stored_here(file), FORWARDED.to_string()]
}

/// The three lines of a predecessor of `gone`, which learned of its
/// departure or death, with its new successors.
fn change_lines(first_line: String, first: u8, second: u8) -> Vec<String> {
    vec![first_line, first_is_now(first), second_is_now(second)]
}

// ----- The harness -----

/// A ring of `cdht` peers, each with a directory of its own (`--dir`), and
/// the table of successors it was started with. It dereferences to the
/// [`Ring`].
struct CdhtRing {
    /// Declared first so that it is dropped first: the peers are killed
    /// before their directories are removed.
    ring: Ring,
    dirs: BTreeMap<u8, TempDir>,
    table: Vec<(u8, u8, u8)>,
}

impl Deref for CdhtRing {
    type Target = Ring;
    fn deref(&self) -> &Ring {
        &self.ring
    }
}

impl DerefMut for CdhtRing {
    fn deref_mut(&mut self) -> &mut Ring {
        &mut self.ring
    }
}

impl CdhtRing {
    /// Starts `cdht PEER FIRST SECOND MSS DROP --ping-interval 0.2
    /// --base-port B --dir D EXTRA...` for every row of `table`, after
    /// putting `files` (peer, `NNNN`, contents) in the peers' directories as
    /// `NNNN.pdf`. Returns once every peer has been pinged by both its
    /// predecessors and has heard from both its successors, so that every
    /// peer knows its predecessors (which `quit` needs).
    fn start(
        table: &[(u8, u8, u8)],
        mss: &str,
        drop: &str,
        files: &[(u8, &str, &[u8])],
        extra: &[&str],
    ) -> CdhtRing {
        let ids: Vec<u8> = table.iter().map(|&(peer, _, _)| peer).collect();
        let mut ring = Ring::reserve(&ids);
        let base_port = ring.base_port().to_string();
        let dirs: BTreeMap<u8, TempDir> = ids
            .iter()
            .map(|&id| (id, TempDir::new(&format!("cdht-{base_port}-peer{id}"))))
            .collect();
        for &(peer, name, contents) in files {
            let path = dirs[&peer].join(&format!("{name}.pdf"));
            std::fs::write(&path, contents)
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        }
        for &(peer, first, second) in table {
            let (peer_arg, first_arg, second_arg) =
                (peer.to_string(), first.to_string(), second.to_string());
            let mut args = vec![
                peer_arg.as_str(),
                &first_arg,
                &second_arg,
                mss,
                drop,
                "--ping-interval",
                INTERVAL,
                "--base-port",
                &base_port,
                "--dir",
                dirs[&peer].arg(),
            ];
            args.extend_from_slice(extra);
            ring.spawn_program(CDHT, peer, &args);
        }
        let ring = CdhtRing {
            ring,
            dirs,
            table: table.to_vec(),
        };
        for &(peer, first, second) in table {
            for predecessor in ring.predecessors(peer) {
                ring.wait_for_line(peer, &ping_request_from(predecessor), DEADLINE);
            }
            ring.wait_for_line(peer, &ping_response_from(first), DEADLINE);
            ring.wait_for_line(peer, &ping_response_from(second), DEADLINE);
        }
        ring
    }

    /// The peers that `peer` was started as a successor of.
    fn predecessors(&self, peer: u8) -> Vec<u8> {
        self.table
            .iter()
            .filter(|&&(_, first, second)| first == peer || second == peer)
            .map(|&(p, _, _)| p)
            .collect()
    }

    /// The successors `peer` was started with.
    fn successors(&self, peer: u8) -> (u8, u8) {
        let &(_, first, second) = self.table.iter().find(|row| row.0 == peer).unwrap();
        (first, second)
    }

    fn dir(&self, peer: u8) -> &TempDir {
        &self.dirs[&peer]
    }

    /// The lines `peer` printed that are not about pings.
    fn other_lines(&self, peer: u8) -> Vec<String> {
        self.lines(peer)
            .into_iter()
            .filter(|line| !line.starts_with(PING_LINE))
            .collect()
    }

    /// Waits until each of `peers` has heard one more ping response, from
    /// whichever successor, so that anything a wrong program would print
    /// because of what came before has long been printed. A correct program
    /// never makes a later check fail because of this wait.
    fn settle(&self, peers: &[u8]) {
        let marks = self.marks(peers);
        for (&peer, &mark) in &marks {
            // Two responses, so that a line printed just after the first
            // one is in too.
            let seen = self.wait_for_line_starting_with_after(peer, mark, RESPONSE_LINE, DEADLINE);
            self.wait_for_line_starting_with_after(peer, seen + 1, RESPONSE_LINE, DEADLINE);
        }
    }

    /// Checks that each of `peers` printed exactly the given lines besides
    /// its ping lines, in this order; a peer of `peers` that `expected` does
    /// not name printed none.
    fn assert_other_lines(&self, peers: &[u8], expected: &[(u8, Vec<String>)]) {
        for &peer in peers {
            let wanted: Vec<String> = expected
                .iter()
                .filter(|(p, _)| *p == peer)
                .flat_map(|(_, lines)| lines.iter().cloned())
                .collect();
            assert_eq!(
                self.other_lines(peer),
                wanted,
                "the lines of peer {peer} other than pings\n{}",
                self.describe_all()
            );
        }
    }

    /// Waits until `peer` hears a ping response from each of `successors`
    /// after its line number `mark`: it pings them.
    fn wait_for_responses_after(&self, peer: u8, mark: usize, successors: &[u8]) {
        for &successor in successors {
            self.wait_for_line_after(peer, mark, &ping_response_from(successor), DEADLINE);
        }
    }

    /// Waits until `peer` receives a ping request from each of
    /// `predecessors` after its line number `mark`.
    fn wait_for_requests_after(&self, peer: u8, mark: usize, predecessors: &[u8]) {
        for &predecessor in predecessors {
            self.wait_for_line_after(peer, mark, &ping_request_from(predecessor), DEADLINE);
        }
    }
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Checks a sender's log of one completed transfer of `size` bytes in
/// segments of at most `mss`: it starts with a plain `snd` of byte 1, every
/// `Drop` is followed by an `RTX` of the same segment, at least one segment
/// was dropped, and the segments sent cover the file.
fn assert_sender_log(log: &[LogLine], size: u64, mss: u64) {
    let first = log.first().expect("the sender's log is not empty");
    assert_eq!(
        (first.event.as_str(), first.seq, first.bytes),
        ("snd", 1, mss.min(size)),
        "the first line of the sender's log"
    );
    let drops = assert_every_drop_is_retransmitted(log);
    assert!(drops > 0, "the sender's log shows no Drop at drop 0.1");
    for (index, line) in log.iter().enumerate() {
        if line.event == "Drop" {
            let next = log[index + 1..]
                .iter()
                .find(|l| l.event != "rcv")
                .unwrap_or_else(|| panic!("the Drop at {} is the last line", line.seq));
            assert!(
                next.seq == line.seq && ["Drop", "RTX"].contains(&next.event.as_str()),
                "the Drop of {} is followed by {next:?}",
                line.seq
            );
        }
        if line.event != "rcv" {
            assert!(
                line.bytes >= 1 && line.bytes <= mss,
                "a data segment of the wrong size: {line:?}"
            );
        }
    }
    let end = log
        .iter()
        .filter(|l| l.event != "rcv")
        .map(|l| l.seq + l.bytes)
        .max()
        .unwrap();
    assert_eq!(end, 1 + size, "the last byte the sender sent");
}

// ----- Pings -----

#[test]
fn the_demo_ring_pings_with_the_2019_lines_only() {
    let mut ring = CdhtRing::start(&DEMO_RING, "400", "0.1", &[], &[]);
    // start() waited for both requests and both responses at every peer.
    // Another round, then: nothing but the two kinds of ping lines, each
    // naming a real predecessor or successor, and no "requests sent" line.
    ring.settle(&ring.peer_ids());
    for &(peer, first, second) in &DEMO_RING {
        let predecessors = ring.predecessors(peer);
        for line in ring.lines(peer) {
            assert!(
                !line.contains("requests sent") && !line.contains("Ping requests"),
                "peer {peer} printed {line:?}\n{}",
                ring.describe_all()
            );
            let known = predecessors.iter().any(|&p| line == ping_request_from(p))
                || line == ping_response_from(first)
                || line == ping_response_from(second);
            assert!(
                known,
                "peer {peer} (successors {first} {second}, predecessors {predecessors:?}) \
                 printed {line:?}\n{}",
                ring.describe_all()
            );
        }
    }

    // join and store do not exist in this version: a line on standard
    // error, and the peer goes on pinging.
    for command in ["join 4", "store 2012"] {
        let (stderr_mark, mark) = (ring.stderr_mark(3), ring.mark(3));
        ring.type_command(3, command);
        let word = command.split(' ').next().unwrap();
        ring.wait_for_stderr_containing_after(3, stderr_mark, word, DEADLINE);
        ring.wait_for_responses_after(3, mark, &[4, 5]);
        ring.assert_running(3);
    }
    ring.assert_other_lines(&ring.peer_ids(), &[]);
    ring.assert_no_panic();
}

// ----- Requesting a file -----

#[test]
fn a_request_at_8_goes_round_the_demo_ring_and_the_file_arrives_from_1() {
    let contents = noise(300 * 1024, 2012);
    let seed = seed_that_drops_soon_but_not_first(0.1).to_string();
    let mut ring = CdhtRing::start(
        &DEMO_RING,
        "400",
        "0.1",
        &[(1, "2012", &contents)],
        &["--seed", &seed],
    );
    ring.type_command(8, "request 2012");
    ring.wait_for_line(8, FILE_RECEIVED, TRANSFER_DEADLINE);
    ring.wait_for_line(1, FILE_SENT, TRANSFER_DEADLINE);

    let arrived = read(&ring.dir(8).join("received_2012.pdf"));
    assert_same_bytes(&arrived, &contents, "received_2012.pdf at peer 8");
    // The holder keeps its copy; nobody else got one.
    assert_same_bytes(&read(&ring.dir(1).join("2012.pdf")), &contents, "2012.pdf");

    ring.settle(&ring.peer_ids());
    ring.assert_other_lines(
        &ring.peer_ids(),
        &[
            (8, requester_lines("2012", 1)),
            (10, forwarder_lines("2012")),
            (12, forwarder_lines("2012")),
            (15, forwarder_lines("2012")),
            (1, holder_lines("2012", 8)),
        ],
    );

    let sent_log = read_transfer_log(&ring.dir(1).join("responding_log.txt"));
    assert_sender_log(&sent_log, contents.len() as u64, 400);
    let received_log = read_transfer_log(&ring.dir(8).join("requesting_log.txt"));
    assert_receiver_log(&received_log, contents.len() as u64, 400);
    ring.assert_no_panic();
}

// ----- Departures -----

#[test]
fn peer_10_quits_then_peer_5_is_killed_and_the_demo_ring_heals() {
    let mut ring = CdhtRing::start(&DEMO_RING, "400", "0.1", &[], &[]);

    // Graceful departure of 10: its predecessors 8 and 5 are told.
    let marks = ring.marks(&[5, 8, 12]);
    let stderr_before = ring.stderr_mark(10);
    ring.type_command(10, "quit");
    ring.wait_for_lines_in_order(
        8,
        &[&will_depart(10), &first_is_now(12), &second_is_now(15)],
        DEADLINE,
    );
    ring.wait_for_lines_in_order(
        5,
        &[&will_depart(10), &first_is_now(8), &second_is_now(12)],
        DEADLINE,
    );
    let status = ring.wait_exit(10, DEADLINE);
    assert_eq!(status.code(), Some(0), "peer 10's exit after quit");
    assert_eq!(
        ring.stderr_lines(10)[stderr_before..],
        [
            "cdht: leaving the ring: telling peers 8 and 5",
            "cdht: left the ring"
        ],
        "10's standard error after quit\n{}",
        ring.describe_all()
    );
    // 8 and 5 ping their new successors: 12 hears from both.
    ring.wait_for_responses_after(8, marks[&8], &[12, 15]);
    ring.wait_for_responses_after(5, marks[&5], &[8, 12]);
    ring.wait_for_requests_after(12, marks[&12], &[8, 5]);

    // Abrupt departure of 5: its predecessors 4 and 3 find out.
    let marks = ring.marks(&[3, 4]);
    ring.kill(5);
    ring.wait_for_lines_in_order_after(
        4,
        marks[&4],
        &[&no_longer_alive(5), &first_is_now(8), &second_is_now(12)],
        DEADLINE,
    );
    ring.wait_for_lines_in_order_after(
        3,
        marks[&3],
        &[&no_longer_alive(5), &first_is_now(4), &second_is_now(8)],
        DEADLINE,
    );
    // Afterwards 3 and 4 ping their new successors.
    let marks = ring.marks(&[3, 4]);
    ring.wait_for_responses_after(4, marks[&4], &[8, 12]);
    ring.wait_for_responses_after(3, marks[&3], &[4, 8]);

    let alive = [1, 3, 4, 8, 12, 15];
    ring.settle(&alive);
    ring.assert_other_lines(
        &[1, 3, 4, 5, 8, 12, 15],
        &[
            (8, change_lines(will_depart(10), 12, 15)),
            (5, change_lines(will_depart(10), 8, 12)),
            (4, change_lines(no_longer_alive(5), 8, 12)),
            (3, change_lines(no_longer_alive(5), 4, 8)),
        ],
    );
    ring.assert_no_panic();
}

// ----- A ring that wraps past 255 -----

#[test]
fn a_ring_that_wraps_past_255_routes_a_wrapping_hash_and_heals_after_a_quit_and_a_kill() {
    // 1279 mod 256 = 255: past the largest peer, 250, so it belongs to 3.
    let contents = noise(20_000, 1279);
    let mut ring = CdhtRing::start(&WRAPPING_RING, "500", "0", &[(3, "1279", &contents)], &[]);
    assert_eq!(ring.successors(250), (3, 9));

    // A request at 200 goes 200, 230, 250, 3, wrapping past 255.
    ring.type_command(200, "request 1279");
    ring.wait_for_line(200, FILE_RECEIVED, TRANSFER_DEADLINE);
    ring.wait_for_line(3, FILE_SENT, TRANSFER_DEADLINE);
    let arrived = read(&ring.dir(200).join("received_1279.pdf"));
    assert_same_bytes(&arrived, &contents, "received_1279.pdf at peer 200");
    ring.settle(&ring.peer_ids());
    let mut expected = vec![
        (200, requester_lines("1279", 3)),
        (230, forwarder_lines("1279")),
        (250, forwarder_lines("1279")),
        (3, holder_lines("1279", 200)),
    ];
    ring.assert_other_lines(&ring.peer_ids(), &expected);

    // 250 quits: its predecessors 230 and 200 take 3 (and 9) instead.
    let marks = ring.marks(&[200, 230]);
    ring.type_command(250, "quit");
    ring.wait_for_lines_in_order_after(
        230,
        marks[&230],
        &[&will_depart(250), &first_is_now(3), &second_is_now(9)],
        DEADLINE,
    );
    ring.wait_for_lines_in_order_after(
        200,
        marks[&200],
        &[&will_depart(250), &first_is_now(230), &second_is_now(3)],
        DEADLINE,
    );
    assert_eq!(ring.wait_exit(250, DEADLINE).code(), Some(0), "250's exit");
    ring.wait_for_responses_after(230, marks[&230], &[3, 9]);
    ring.wait_for_responses_after(200, marks[&200], &[230, 3]);

    // 3 is killed: its predecessors 230 and 200 go on with 9, 200 and
    // 230, 9; the ring is 9 200 230.
    let marks = ring.marks(&[200, 230]);
    ring.kill(3);
    ring.wait_for_lines_in_order_after(
        230,
        marks[&230],
        &[&no_longer_alive(3), &first_is_now(9), &second_is_now(200)],
        DEADLINE,
    );
    ring.wait_for_lines_in_order_after(
        200,
        marks[&200],
        &[&no_longer_alive(3), &first_is_now(230), &second_is_now(9)],
        DEADLINE,
    );
    let marks = ring.marks(&[9, 200, 230]);
    ring.wait_for_responses_after(230, marks[&230], &[9, 200]);
    ring.wait_for_responses_after(200, marks[&200], &[230, 9]);
    ring.wait_for_responses_after(9, marks[&9], &[200, 230]);

    ring.settle(&[9, 200, 230]);
    expected[0].1.extend(change_lines(will_depart(250), 230, 3));
    expected[0]
        .1
        .extend(change_lines(no_longer_alive(3), 230, 9));
    expected[1].1.extend(change_lines(will_depart(250), 3, 9));
    expected[1]
        .1
        .extend(change_lines(no_longer_alive(3), 9, 200));
    ring.assert_other_lines(&[9, 200, 230], &expected);
    ring.assert_no_panic();
}

// ----- Bad command lines -----

/// Runs `cdht` with `args` and checks the usage error: exit code 2, nothing
/// on standard output, and on standard error exactly two lines: `cdht:
/// error: ...`, which contains `fragment`, and the way to the usage.
///
/// When there are at least five arguments, a reserved `--base-port` goes
/// after the fifth, so that a program that wrongly accepts the arguments
/// starts a peer on ports no other test uses (and is killed at the
/// timeout).
fn assert_usage_error(args: &[&str], fragment: &str) {
    let ports = Ring::reserve(&[1, 3, 4, 5, 8]);
    let base_port = ports.base_port().to_string();
    let mut all_args = args.to_vec();
    if args.len() >= 5 {
        all_args.splice(5..5, ["--base-port", &base_port]);
    }
    let output = Command::new(CDHT)
        .args(&all_args)
        .timeout(DEADLINE)
        .assert()
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let context = format!("cdht {}\nstderr:\n{stderr}", all_args.join(" "));
    assert_eq!(output.status.code(), Some(2), "exit status of {context}");
    assert!(
        output.stdout.is_empty(),
        "stdout should be empty: {context}"
    );
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "two lines, not the usage: {context}");
    assert!(
        lines[0].starts_with("cdht: error: "),
        "the first line should be the error: {context}"
    );
    assert!(
        lines[0].contains(fragment),
        "the first line should contain {fragment:?}: {context}"
    );
    assert_eq!(lines[1], "Run 'cdht --help' for the usage.", "{context}");
}

#[test]
fn bad_command_lines_exit_with_code_2_and_say_what_is_wrong() {
    // Missing arguments.
    assert_usage_error(&["1", "3", "4"], "missing");
    assert_usage_error(&["1", "3", "4", "400"], "missing");
    // A bad MSS.
    for bad in ["x", "0", "-1", "1.5", ""] {
        assert_usage_error(&["1", "3", "4", bad, "0.1"], "<MSS>");
    }
    // A drop probability outside [0, 1].
    for bad in ["1.5", "-0.1", "x", "nan"] {
        assert_usage_error(&["1", "3", "4", "400", bad], "<DROP_PROBABILITY>");
    }
    // A peer that is its own successor.
    assert_usage_error(&["1", "1", "4", "400", "0.1"], "own successor");
    assert_usage_error(&["1", "3", "1", "400", "0.1"], "own successor");
    // An unknown option.
    assert_usage_error(&["1", "3", "4", "400", "0.1", "--bogus"], "--bogus");
    // The newer version's habit: a mode.
    assert_usage_error(
        &["init", "1", "3", "4", "400", "0.1"],
        "cdht has no mode \"init\": run cdht 1 3 4 400 0.1",
    );
}

#[test]
fn help_and_version_exit_0_and_name_cdht() {
    let help = Command::new(CDHT)
        .arg("--help")
        .timeout(DEADLINE)
        .assert()
        .success()
        .get_output()
        .clone();
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(
        text.contains("cdht <PEER> <FIRST_SUCCESSOR> <SECOND_SUCCESSOR> <MSS> <DROP_PROBABILITY>"),
        "the usage of cdht --help:\n{text}"
    );
    let version = Command::new(CDHT)
        .arg("--version")
        .timeout(DEADLINE)
        .assert()
        .success()
        .get_output()
        .clone();
    let text = String::from_utf8_lossy(&version.stdout);
    assert!(text.starts_with("cdht "), "cdht --version printed {text:?}");
}
