//! Black-box tests of storing and requesting files: real `p2p` processes on
//! the loopback interface, each with a directory of its own, checked through
//! what they print, the files that appear in their directories and the
//! transfer logs they write (spec/protocol.md, "Files (TCP)" and "The file
//! transfer (UDP)").
//!
//! Most tests use the teaching ring 2 4 5 8 9 14 19, where file 2067 (hash
//! 19) belongs to peer 19, 4103 (hash 7) to peer 8 and 2012 (hash 220) to
//! peer 2. Transfer tests that need no routing use the small ring 2 5 8, in
//! which 4103 still belongs to 8 and a request typed at 2 goes 2, 5, 8.

mod common;

use common::lines::*;

use std::collections::BTreeMap;
use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::time::{Duration, Instant};

use common::{
    DEADLINE, LogLine, Ring, TempDir, assert_every_drop_is_retransmitted, assert_receiver_log,
    assert_same_bytes, noise, predecessors, read_transfer_log, seed_that_drops_soon_but_not_first,
    successors, wait_for_file,
};

/// The ping interval of these tests: short so that a peer soon knows its
/// predecessor, long enough that seven peers on two cores are not busy all
/// the time.
const INTERVAL: f64 = 0.2;

const TEACHING_RING: [u8; 7] = [2, 4, 5, 8, 9, 14, 19];

/// The ring of the transfer tests: 4103 (hash 7) belongs to 8.
const SMALL_RING: [u8; 3] = [2, 5, 8];

/// How long a lossy or large transfer may take on a busy machine. A passing
/// test never waits this long: the slowest transfer here takes a few
/// seconds.
const TRANSFER_DEADLINE: Duration = Duration::from_secs(40);

/// A ring whose peers each run in a temporary directory of their own
/// (`--dir`). It dereferences to the [`Ring`].
struct FileRing {
    /// Declared first so that it is dropped first: the peers are killed
    /// before their directories are removed.
    ring: Ring,
    dirs: BTreeMap<u8, TempDir>,
}

impl Deref for FileRing {
    type Target = Ring;
    fn deref(&self) -> &Ring {
        &self.ring
    }
}

impl DerefMut for FileRing {
    fn deref_mut(&mut self) -> &mut Ring {
        &mut self.ring
    }
}

impl FileRing {
    /// Starts a ring of `ids`, each peer pinging its two successors with its
    /// own empty directory, after putting `files` (peer, `NNNN`, contents)
    /// in them as `NNNN.pdf`; `options` are extra arguments for some peers
    /// (`--mss`, `--drop`, `--seed`). Returns once every peer has been
    /// pinged by its first predecessor, since a peer learns from those pings
    /// which files it is responsible for.
    fn start(ids: &[u8], files: &[(u8, &str, &[u8])], options: &[(u8, &[&str])]) -> FileRing {
        let mut ring = Ring::reserve(ids);
        let base_port = ring.base_port();
        let dirs: BTreeMap<u8, TempDir> = ids
            .iter()
            .map(|&id| (id, TempDir::new(&format!("{base_port}-peer{id}"))))
            .collect();
        for &(peer, name, contents) in files {
            let path = dirs[&peer].join(&format!("{name}.pdf"));
            std::fs::write(&path, contents)
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        }
        for &id in ids {
            let (first, second) = successors(ids, id);
            let mut args = vec!["--dir", dirs[&id].arg()];
            for (peer, extra) in options {
                if *peer == id {
                    args.extend_from_slice(extra);
                }
            }
            ring.spawn_init(id, first, second, INTERVAL, &args);
        }
        let ring = FileRing { ring, dirs };
        for &id in ids {
            let (first_predecessor, _) = predecessors(ids, id);
            ring.wait_for_line(id, &ping_received(first_predecessor), DEADLINE);
        }
        ring
    }

    fn dir(&self, peer: u8) -> &TempDir {
        &self.dirs[&peer]
    }

    /// The lines `peer` printed that are not about pings: the ones about
    /// files (and about changes of the ring, which none of these tests
    /// expects).
    fn file_lines(&self, peer: u8) -> Vec<String> {
        self.lines(peer)
            .into_iter()
            .filter(|line| !line.starts_with("Ping "))
            .collect()
    }

    /// Waits until every peer has started one more round of pings, so that
    /// anything a wrong program would send because of what came before has
    /// long arrived and been printed. Used before checking that peers
    /// printed nothing; a correct program never makes such a check fail.
    fn settle(&self) {
        let ids = self.peer_ids();
        let marks: Vec<(u8, usize)> = ids.iter().map(|&id| (id, self.mark(id))).collect();
        for (id, mark) in marks {
            let (first, second) = successors(&ids, id);
            self.wait_for_line_after(id, mark, &pings_sent(first, second), DEADLINE);
        }
    }

    /// Checks that each peer printed exactly the given lines besides its
    /// ping lines, in this order; peers not named printed none.
    fn assert_file_lines(&self, expected: &[(u8, &[&str])]) {
        for id in self.peer_ids() {
            let wanted: Vec<&str> = expected
                .iter()
                .filter(|(peer, _)| *peer == id)
                .flat_map(|(_, lines)| lines.iter().copied())
                .collect();
            assert_eq!(
                self.file_lines(id),
                wanted,
                "the lines of peer {id} other than pings\n{}",
                self.describe_all()
            );
        }
    }

    /// Checks that no peer's standard error shows a panic.
    fn assert_no_panic(&self) {
        for id in self.peer_ids() {
            for line in self.stderr_lines(id) {
                assert!(
                    !line.contains("panicked"),
                    "peer {id} panicked: {line:?}\n{}",
                    self.describe_all()
                );
            }
        }
    }
}

/// Waits until the temporary file that a transfer into `dir` is writing
/// for `name` (`.NAME.partial-*`) holds at least `len` bytes: the transfer
/// is under way. Polls the file system as [`wait_for_file`] does, and for
/// the same reason.
fn wait_for_partial_file(dir: &TempDir, name: &str, len: u64, timeout: Duration) {
    let prefix = format!(".{name}.partial-");
    let deadline = Instant::now() + timeout;
    loop {
        let written = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(Result::ok)
            .filter(|entry| entry.file_name().to_string_lossy().starts_with(&prefix))
            .filter_map(|entry| entry.metadata().ok())
            .map(|metadata| metadata.len())
            .max();
        if written.is_some_and(|written| written >= len) {
            return;
        }
        let now = Instant::now();
        assert!(
            now < deadline,
            "no {prefix}* of {len} bytes or more appeared in {} within {timeout:?} (largest: {written:?})",
            dir.path().display()
        );
        std::thread::park_timeout((deadline - now).min(Duration::from_millis(10)));
    }
}

/// Reads a file that must exist now.
fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Checks that no temporary `.NAME.partial-*` file is left in `dir`.
fn assert_no_partial_files(dir: &TempDir) {
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            !name.contains(".partial-"),
            "a temporary file is left in {}: {name}",
            dir.path().display()
        );
    }
}

/// The names of the files in `dir`, sorted.
fn file_names(dir: &TempDir) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Checks the first data line of a sender's log: `snd <t> 1 <mss> 0`, as
/// in the spec's example.
fn assert_log_starts_with_first_segment(log: &[LogLine], mss: u64) {
    let first = log.first().expect("the sender's log is not empty");
    assert_eq!(
        (first.event.as_str(), first.seq, first.bytes, first.ack),
        ("snd", 1, mss, 0),
        "the first line of the sender's log"
    );
}

// ----- Storing -----

#[test]
fn a_store_is_forwarded_round_the_ring_and_the_file_moves_to_the_responsible_peer() {
    let contents = noise(12_345, 1);
    let mut ring = FileRing::start(&TEACHING_RING, &[(8, "2067", &contents)], &[]);
    ring.type_command(8, "Store 2067");
    for peer in [8, 9, 14] {
        ring.wait_for_line(peer, &store_forwarded("2067"), DEADLINE);
    }
    ring.wait_for_line(19, &store_accepted("2067"), DEADLINE);
    let stored = wait_for_file(&ring.dir(19).join("2067.pdf"), DEADLINE);
    assert_same_bytes(&stored, &contents, "2067.pdf at peer 19");
    // The storing peer keeps its copy.
    assert_same_bytes(
        &read(&ring.dir(8).join("2067.pdf")),
        &contents,
        "2067.pdf at 8",
    );
    assert_no_partial_files(ring.dir(19));

    ring.settle();
    let forwarded = store_forwarded("2067");
    let accepted = store_accepted("2067");
    ring.assert_file_lines(&[
        (8, &[&forwarded]),
        (9, &[&forwarded]),
        (14, &[&forwarded]),
        (19, &[&accepted]),
    ]);
    ring.assert_no_panic();
}

#[test]
fn a_peer_responsible_for_the_file_it_stores_accepts_at_once() {
    let contents = noise(999, 2);
    let mut ring = FileRing::start(&TEACHING_RING, &[(19, "2067", &contents)], &[]);
    ring.type_command(19, "Store 2067");
    ring.wait_for_line(19, &store_accepted("2067"), DEADLINE);

    ring.settle();
    ring.assert_file_lines(&[(19, &[&store_accepted("2067")])]);
    // Nothing moved: the file is where it belongs, and no transfer was
    // logged anywhere.
    assert_same_bytes(&read(&ring.dir(19).join("2067.pdf")), &contents, "2067.pdf");
    for id in TEACHING_RING {
        let expected: Vec<String> = if id == 19 {
            vec!["2067.pdf".to_string()]
        } else {
            vec![]
        };
        assert_eq!(file_names(ring.dir(id)), expected, "the files of peer {id}");
    }
    ring.assert_no_panic();
}

#[test]
fn a_store_whose_hash_lies_past_the_last_peer_wraps_round_to_the_first() {
    // 2012 mod 256 = 220: after 19, so peer 2 is responsible.
    let contents = noise(3000, 3);
    let mut ring = FileRing::start(&TEACHING_RING, &[(8, "2012", &contents)], &[]);
    ring.type_command(8, "Store 2012");
    for peer in [8, 9, 14, 19] {
        ring.wait_for_line(peer, &store_forwarded("2012"), DEADLINE);
    }
    ring.wait_for_line(2, &store_accepted("2012"), DEADLINE);
    let stored = wait_for_file(&ring.dir(2).join("2012.pdf"), DEADLINE);
    assert_same_bytes(&stored, &contents, "2012.pdf at peer 2");
    assert_no_partial_files(ring.dir(2));

    ring.settle();
    let forwarded = store_forwarded("2012");
    ring.assert_file_lines(&[
        (8, &[&forwarded]),
        (9, &[&forwarded]),
        (14, &[&forwarded]),
        (19, &[&forwarded]),
        (2, &[&store_accepted("2012")]),
    ]);
    ring.assert_no_panic();
}

#[test]
fn storing_a_file_the_peer_does_not_have_is_refused_and_nothing_is_sent() {
    let mut ring = FileRing::start(&TEACHING_RING, &[], &[]);
    ring.type_command(8, "Store 4444");
    ring.wait_for_stderr_containing(8, "no 4444.pdf", DEADLINE);
    ring.settle();
    ring.assert_file_lines(&[]);
    ring.assert_running(8);
    ring.assert_no_panic();
}

#[test]
fn a_store_whose_owner_cannot_write_the_file_tells_the_storing_peer_why() {
    let contents = noise(5_000, 2);
    let mut ring = FileRing::start(&TEACHING_RING, &[(8, "2067", &contents)], &[]);
    // 19 passed the check of its --dir at start; then its directory goes,
    // as when someone deletes it under a running peer, so 19 can accept
    // the store but not write the file.
    std::fs::remove_dir_all(ring.dir(19).path())
        .unwrap_or_else(|e| panic!("cannot remove peer 19's directory: {e}"));
    let stderr_mark = ring.stderr_mark(8);
    ring.type_command(8, "Store 2067");
    ring.wait_for_line(19, &store_accepted("2067"), DEADLINE);

    // The storing peer is told why the file did not move, rather than
    // left to believe it did, or to see only a transfer that failed.
    let at = ring.wait_for_stderr_containing_after(8, stderr_mark, "cannot write", DEADLINE);
    let line = &ring.stderr_lines(8)[at];
    assert!(
        line.contains("2067") && line.contains("peer 19"),
        "peer 8 should say that peer 19 cannot write file 2067, but said {line:?}\n{}",
        ring.describe_all()
    );
    assert_same_bytes(
        &read(&ring.dir(8).join("2067.pdf")),
        &contents,
        "2067.pdf at 8",
    );

    // Nobody printed anything else about the file, and the ring goes on.
    ring.settle();
    let forwarded = store_forwarded("2067");
    let accepted = store_accepted("2067");
    ring.assert_file_lines(&[
        (8, &[&forwarded]),
        (9, &[&forwarded]),
        (14, &[&forwarded]),
        (19, &[&accepted]),
    ]);
    ring.assert_running(19);
    ring.assert_running(8);
    ring.assert_no_panic();
}

#[test]
fn file_names_that_are_not_four_digits_get_a_hint_and_nothing_is_sent() {
    let contents = noise(500, 4);
    let mut ring = FileRing::start(&TEACHING_RING, &[(8, "2067", &contents)], &[]);
    for typed in [
        "Store 206",
        "Store abcd",
        "Request 12345",
        "Store",
        "Request",
        "Store 2067 4103",
    ] {
        let mark = ring.stderr_mark(8);
        ring.type_command(8, typed);
        let at = ring.wait_for_stderr_containing_after(8, mark, "four digits", DEADLINE);
        assert_eq!(
            ring.stderr_lines(8).len(),
            at + 1,
            "{typed:?}: one line of hint\n{}",
            ring.describe_all()
        );
    }
    ring.settle();
    ring.assert_file_lines(&[]);

    // The peer goes on: a good command typed next works as usual, and is
    // all that the ring ever heard of.
    ring.type_command(8, "Store 2067");
    ring.wait_for_line(19, &store_accepted("2067"), DEADLINE);
    let stored = wait_for_file(&ring.dir(19).join("2067.pdf"), DEADLINE);
    assert_same_bytes(&stored, &contents, "2067.pdf at peer 19");
    ring.settle();
    let forwarded = store_forwarded("2067");
    ring.assert_file_lines(&[
        (8, &[&forwarded]),
        (9, &[&forwarded]),
        (14, &[&forwarded]),
        (19, &[&store_accepted("2067")]),
    ]);
    ring.assert_no_panic();
}

// ----- Requesting -----

#[test]
fn a_request_travels_to_the_responsible_peer_and_the_file_comes_straight_back() {
    let contents = noise(54_321, 5);
    let mut ring = FileRing::start(&TEACHING_RING, &[(8, "4103", &contents)], &[]);
    ring.type_command(2, "Request 4103");
    ring.wait_for_lines_in_order(
        8,
        &[&stored_here("4103"), &sending("4103", 2), FILE_SENT],
        DEADLINE,
    );
    ring.wait_for_line(2, &received("4103"), DEADLINE);
    let arrived = read(&ring.dir(2).join("received_4103.pdf"));
    assert_same_bytes(&arrived, &contents, "received_4103.pdf at peer 2");
    assert_no_partial_files(ring.dir(2));

    ring.settle();
    let passed_on = not_stored_here("4103");
    ring.assert_file_lines(&[
        (
            2,
            &[
                &request_sent("4103"),
                &peer_had(8, "4103"),
                &receiving("4103", 8),
                &received("4103"),
            ],
        ),
        (4, &[&passed_on]),
        (5, &[&passed_on]),
        (8, &[&stored_here("4103"), &sending("4103", 2), FILE_SENT]),
    ]);

    // The transfer was logged on both sides, at the default MSS.
    let sent_log = read_transfer_log(&ring.dir(8).join("responding_log.txt"));
    assert_log_starts_with_first_segment(&sent_log, 1400);
    let received_log = read_transfer_log(&ring.dir(2).join("requesting_log.txt"));
    assert_receiver_log(&received_log, contents.len() as u64, 1400);
    ring.assert_no_panic();
}

#[test]
fn a_stored_file_can_then_be_requested_from_another_peer() {
    let contents = noise(77_777, 6);
    let mut ring = FileRing::start(&TEACHING_RING, &[(8, "2067", &contents)], &[]);
    ring.type_command(8, "Store 2067");
    ring.wait_for_line(19, &store_accepted("2067"), DEADLINE);
    let stored = wait_for_file(&ring.dir(19).join("2067.pdf"), DEADLINE);
    assert_same_bytes(&stored, &contents, "2067.pdf at peer 19");

    ring.type_command(4, "Request 2067");
    ring.wait_for_lines_in_order(
        19,
        &[&stored_here("2067"), &sending("2067", 4), FILE_SENT],
        DEADLINE,
    );
    ring.wait_for_line(4, &received("2067"), DEADLINE);
    let arrived = read(&ring.dir(4).join("received_2067.pdf"));
    assert_same_bytes(&arrived, &contents, "received_2067.pdf at peer 4");

    ring.settle();
    let forwarded = store_forwarded("2067");
    let passed_on = not_stored_here("2067");
    ring.assert_file_lines(&[
        (
            4,
            &[
                &request_sent("2067"),
                &peer_had(19, "2067"),
                &receiving("2067", 19),
                &received("2067"),
            ],
        ),
        (5, &[&passed_on]),
        (8, &[&forwarded, &passed_on]),
        (9, &[&forwarded, &passed_on]),
        (14, &[&forwarded, &passed_on]),
        (
            19,
            &[
                &store_accepted("2067"),
                &stored_here("2067"),
                &sending("2067", 4),
                FILE_SENT,
            ],
        ),
    ]);
    ring.assert_no_panic();
}

#[test]
fn a_request_for_a_file_nobody_has_is_answered_not_found() {
    // 0005 mod 256 = 5: peer 5 is responsible, and has nothing.
    let mut ring = FileRing::start(&TEACHING_RING, &[], &[]);
    ring.type_command(2, "Request 0005");
    let not_found =
        "File 0005 was not found: Peer 5, which is responsible for it, does not have it";
    ring.wait_for_line(2, not_found, DEADLINE);

    ring.settle();
    let passed_on = not_stored_here("0005");
    ring.assert_file_lines(&[
        (2, &[&request_sent("0005"), not_found]),
        (4, &[&passed_on]),
        (5, &[&passed_on]),
    ]);
    assert!(!ring.dir(2).join("received_0005.pdf").exists());
    ring.assert_no_panic();
}

#[test]
fn a_peer_that_requests_a_file_it_holds_itself_says_so_and_nothing_moves() {
    let contents = noise(100, 7);
    let mut ring = FileRing::start(&TEACHING_RING, &[(8, "4103", &contents)], &[]);
    ring.type_command(8, "Request 4103");
    ring.wait_for_line(8, &stored_here("4103"), DEADLINE);

    ring.settle();
    ring.assert_file_lines(&[(8, &[&stored_here("4103")])]);
    assert_eq!(file_names(ring.dir(8)), ["4103.pdf"]);
    ring.assert_no_panic();
}

// ----- The transfer -----

/// Requests `file` at `requester`, which must get it from `sender`, and
/// returns what arrived once both sides have said they are done.
fn request_and_receive(
    ring: &mut FileRing,
    requester: u8,
    sender: u8,
    file: &str,
    timeout: Duration,
) -> Vec<u8> {
    let sender_mark = ring.mark(sender);
    let requester_mark = ring.mark(requester);
    ring.type_command(requester, &format!("Request {file}"));
    ring.wait_for_lines_in_order_after(
        requester,
        requester_mark,
        &[
            &request_sent(file),
            &peer_had(sender, file),
            &receiving(file, sender),
            &received(file),
        ],
        timeout,
    );
    ring.wait_for_lines_in_order_after(
        sender,
        sender_mark,
        &[&stored_here(file), &sending(file, requester), FILE_SENT],
        timeout,
    );
    read(&ring.dir(requester).join(&format!("received_{file}.pdf")))
}

#[test]
fn files_of_awkward_sizes_arrive_intact() {
    // With MSS 500: exactly one segment, one segment and one byte, a single
    // byte, and nothing at all. 0262 mod 256 = 6, so all four are 8's.
    let mss = 500;
    let files = [
        ("0008", noise(mss, 8)),
        ("0262", noise(mss + 1, 9)),
        ("0007", noise(1, 10)),
        ("0006", Vec::new()),
    ];
    let placed: Vec<(u8, &str, &[u8])> = files
        .iter()
        .map(|(name, contents)| (8, *name, contents.as_slice()))
        .collect();
    let mut ring = FileRing::start(&SMALL_RING, &placed, &[(8, &["--mss", "500"])]);
    for (name, contents) in &files {
        let arrived = request_and_receive(&mut ring, 2, 8, name, DEADLINE);
        assert_same_bytes(
            &arrived,
            contents,
            &format!("{name} ({} bytes)", contents.len()),
        );
    }
    assert_no_partial_files(ring.dir(2));
    let sent_log = read_transfer_log(&ring.dir(8).join("responding_log.txt"));
    assert_log_starts_with_first_segment(&sent_log, mss as u64);
    assert!(
        sent_log
            .iter()
            .all(|l| l.event == "rcv" || (l.bytes >= 1 && l.bytes <= mss as u64)),
        "a segment of the wrong size: {sent_log:?}"
    );
    read_transfer_log(&ring.dir(2).join("requesting_log.txt"));
    ring.assert_no_panic();
}

#[test]
fn a_request_of_three_mebibytes_arrives_intact_at_the_default_mss() {
    let contents = noise(3 << 20, 11);
    let mut ring = FileRing::start(&SMALL_RING, &[(8, "4103", &contents)], &[]);
    let arrived = request_and_receive(&mut ring, 2, 8, "4103", TRANSFER_DEADLINE);
    assert_same_bytes(&arrived, &contents, "3 MiB");
    let sent_log = read_transfer_log(&ring.dir(8).join("responding_log.txt"));
    assert_log_starts_with_first_segment(&sent_log, 1400);
    let received_log = read_transfer_log(&ring.dir(2).join("requesting_log.txt"));
    assert_receiver_log(&received_log, contents.len() as u64, 1400);
    ring.assert_no_panic();
}

/// Sends a file of `len` bytes from 8 to 2 with `--mss mss --drop drop` on
/// the sender, and checks that it arrives whole and that both logs show
/// what happened: drops, each followed by a retransmission.
fn assert_lossy_request_arrives_intact(len: usize, mss: usize, drop: f64) {
    let contents = noise(len, (drop * 100.0) as u32);
    let seed = seed_that_drops_soon_but_not_first(drop).to_string();
    let (mss_arg, drop_arg) = (mss.to_string(), drop.to_string());
    let options: &[&str] = &["--mss", &mss_arg, "--drop", &drop_arg, "--seed", &seed];
    let mut ring = FileRing::start(&SMALL_RING, &[(8, "4103", &contents)], &[(8, options)]);
    let arrived = request_and_receive(&mut ring, 2, 8, "4103", TRANSFER_DEADLINE);
    assert_same_bytes(&arrived, &contents, &format!("drop {drop}"));

    let sent_log = read_transfer_log(&ring.dir(8).join("responding_log.txt"));
    assert_log_starts_with_first_segment(&sent_log, mss as u64);
    let drops = assert_every_drop_is_retransmitted(&sent_log);
    assert!(drops > 0, "drop {drop}: the sender's log shows no Drop");
    let received_log = read_transfer_log(&ring.dir(2).join("requesting_log.txt"));
    assert_receiver_log(&received_log, len as u64, mss as u64);
    ring.assert_no_panic();
}

#[test]
fn a_request_with_a_tenth_of_segments_dropped_arrives_intact() {
    assert_lossy_request_arrives_intact(200_000, 1400, 0.1);
}

#[test]
fn a_request_with_three_tenths_of_segments_dropped_arrives_intact() {
    assert_lossy_request_arrives_intact(100_000, 1000, 0.3);
}

#[test]
fn a_request_with_half_the_segments_dropped_arrives_intact() {
    assert_lossy_request_arrives_intact(60_000, 1000, 0.5);
}

#[test]
fn a_sender_whose_receiver_dies_gives_up_and_goes_on_working() {
    // A large file sent with heavy loss takes far longer than the test:
    // the requester is killed as soon as the transfer starts.
    let large = noise(3 << 20, 12);
    let small = noise(20_000, 13);
    let mut ring = FileRing::start(
        &TEACHING_RING,
        &[(8, "4103", &large), (8, "0263", &small)],
        &[(8, &["--drop", "0.3", "--seed", "1"])],
    );
    let stderr_mark = ring.stderr_mark(8);
    ring.type_command(2, "Request 4103");
    ring.wait_for_line(2, &receiving("4103", 8), DEADLINE);
    // That line comes just before the requester answers the offer: kill it
    // only once data is flowing, so that it dies in mid-transfer.
    wait_for_partial_file(ring.dir(2), "received_4103.pdf", 20_000, DEADLINE);
    ring.kill(2);
    let killed_at = Instant::now();

    let at = ring.wait_for_stderr_containing_after(
        8,
        stderr_mark,
        "sending file 4103 to peer 2 failed",
        Duration::from_secs(20),
    );
    let gave_up_after = killed_at.elapsed();
    assert!(
        gave_up_after <= Duration::from_secs(10),
        "the sender gave up {gave_up_after:?} after the receiver died: {:?}",
        ring.stderr_lines(8)[at]
    );
    assert!(
        !ring.lines(8).iter().any(|line| line == FILE_SENT),
        "the failed transfer was reported as sent\n{}",
        ring.describe_all()
    );

    // Still pinging and pinged...
    let mark = ring.mark(8);
    ring.wait_for_line_after(8, mark, &response_received(9), DEADLINE);
    ring.wait_for_line_after(8, mark, &ping_received(5), DEADLINE);
    // ...and still serving files.
    let arrived = request_and_receive(&mut ring, 4, 8, "0263", TRANSFER_DEADLINE);
    assert_same_bytes(&arrived, &small, "0263 at peer 4");
    let sent = ring
        .lines(8)
        .iter()
        .filter(|line| *line == FILE_SENT)
        .count();
    assert_eq!(sent, 1, "{}", ring.describe_all());
    ring.assert_running(8);
    ring.assert_no_panic();
}

#[test]
fn concurrent_transfers_all_arrive_intact() {
    // Two peers ask 8 for the same file at once while a third asks 19 for
    // another; the loss makes each transfer last long enough to overlap.
    let first = noise(400_000, 14);
    let second = noise(300_001, 15);
    let mut ring = FileRing::start(
        &TEACHING_RING,
        &[(8, "4103", &first), (19, "2067", &second)],
        &[
            (8, &["--drop", "0.1", "--seed", "2"]),
            (19, &["--drop", "0.1", "--seed", "3"]),
        ],
    );
    ring.type_command(2, "Request 4103");
    ring.type_command(4, "Request 4103");
    ring.type_command(9, "Request 2067");
    for (peer, file, from) in [(2, "4103", 8), (4, "4103", 8), (9, "2067", 19)] {
        ring.wait_for_lines_in_order(
            peer,
            &[&receiving(file, from), &received(file)],
            TRANSFER_DEADLINE,
        );
    }
    for (peer, file, contents) in [
        (2, "4103", &first),
        (4, "4103", &first),
        (9, "2067", &second),
    ] {
        let arrived = read(&ring.dir(peer).join(&format!("received_{file}.pdf")));
        assert_same_bytes(&arrived, contents, &format!("{file} at peer {peer}"));
    }
    // 8 reports both transfers done, and its log, written by both at once,
    // still holds only whole lines.
    let last_sent = ring.wait_for_line(8, FILE_SENT, TRANSFER_DEADLINE);
    ring.wait_for_line_after(8, last_sent + 1, FILE_SENT, TRANSFER_DEADLINE);
    ring.wait_for_line(19, FILE_SENT, TRANSFER_DEADLINE);
    // The two transfers from 8 overlapped: each takes far longer than a
    // request takes to reach it.
    let lines = ring.file_lines(8);
    let first_done = lines.iter().position(|l| l == FILE_SENT).unwrap();
    for requester in [2, 4] {
        let started = lines.iter().position(|l| *l == sending("4103", requester));
        assert!(
            started.is_some_and(|at| at < first_done),
            "the transfers of peer 8 did not overlap\n{}",
            ring.describe_all()
        );
    }
    read_transfer_log(&ring.dir(8).join("responding_log.txt"));
    read_transfer_log(&ring.dir(19).join("responding_log.txt"));
    ring.assert_no_panic();
}

#[test]
fn pings_go_on_during_a_large_transfer_and_nobody_is_declared_dead() {
    // 3 MiB with a little loss, each drop waiting out a fixed 25 ms timer
    // (the estimated timeout makes a drop cost a millisecond or two), takes
    // a few seconds: many ping rounds.
    let contents = noise(3 << 20, 16);
    let mut ring = FileRing::start(
        &TEACHING_RING,
        &[(8, "4103", &contents)],
        &[(
            8,
            &["--drop", "0.05", "--seed", "4", "--fixed-timeout", "0.025"],
        )],
    );
    let arrived = request_and_receive(&mut ring, 2, 8, "4103", TRANSFER_DEADLINE);
    assert_same_bytes(&arrived, &contents, "3 MiB");

    // Between the start and the end of the transfer, both ends went on
    // hearing from their neighbours.
    let during = |peer: u8, start: &str, end: &str| -> Vec<String> {
        let lines = ring.lines(peer);
        let from = lines.iter().position(|l| l == start).unwrap();
        let to = from + lines[from..].iter().position(|l| l == end).unwrap();
        lines[from..to].to_vec()
    };
    let at_sender = during(8, &sending("4103", 2), FILE_SENT);
    let at_receiver = during(2, &receiving("4103", 8), &received("4103"));
    for (peer, lines, expected) in [
        (8, &at_sender, [response_received(9), ping_received(5)]),
        (2, &at_receiver, [response_received(4), ping_received(19)]),
    ] {
        for line in expected {
            let count = lines.iter().filter(|l| **l == line).count();
            assert!(
                count >= 2,
                "peer {peer} printed {line:?} {count} times during the transfer\n{}",
                ring.describe_all()
            );
        }
    }
    for id in TEACHING_RING {
        for line in ring.lines(id) {
            assert!(
                !line.contains("is no longer alive"),
                "peer {id}: {line:?}\n{}",
                ring.describe_all()
            );
        }
    }
    ring.assert_no_panic();
}
