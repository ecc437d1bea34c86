//! Black-box tests of files that follow the ring: `--handover`, with which
//! a peer's files move to the peer that becomes responsible for them when a
//! peer joins or quits, and `--replicas K`, with which every stored file is
//! kept at the responsible peer and at its next K - 1 successors, so that
//! it survives peers that die without a word.
//!
//! Real `p2p` processes on the loopback interface, each with a directory of
//! its own, checked through what they print and the files in their
//! directories: `NNNN.pdf` at the peer responsible for file `NNNN`,
//! `replica_NNNN.pdf` at the peers that keep a copy for it.
//!
//! Without the two flags the program must behave as the course says, to
//! the line: files stay where they were stored, and nothing new is printed.

mod common;

use common::lines::*;

use std::collections::{BTreeMap, BTreeSet};
use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use common::{
    DEADLINE, Ring, TempDir, assert_same_bytes, noise, predecessor_list, predecessors,
    successor_list, successors, wait_for_file, without,
};

/// The ping interval of these tests: a placement round runs every half
/// interval, so files settle within a second or two, and rings of up to ten
/// peers on two cores are not busy all the time.
const INTERVAL: f64 = 0.5;

/// The ring of the assignment's examples.
const TEACHING_RING: [u8; 7] = [2, 4, 5, 8, 9, 14, 19];

/// How long the files of a ring may take to reach their places after a
/// change. Generous: a correct program needs a few placement rounds, a
/// second or two; this only bounds the wait of a failing one.
const PLACEMENT_DEADLINE: Duration = Duration::from_secs(20);

/// How long a quitting peer may take to hand its files over and exit: the
/// contract allows it 20 seconds at most.
const QUIT_DEADLINE: Duration = Duration::from_secs(25);

/// How often a wait on the file system looks again.
const POLL: Duration = Duration::from_millis(50);

// ----- The new lines, written from the contract -----

/// The sender's line once a file it handed over has arrived because the
/// receiver is responsible for it now.
fn handed_over(file: &str, to: u8) -> String {
    format!("Handed over File {file} to Peer {to}: it is responsible for it now")
}

/// The sender's line for a file it handed over because it is quitting.
fn handed_over_leaving(file: &str, to: u8) -> String {
    format!("Handed over File {file} to Peer {to}: this peer is leaving")
}

/// The receiver's line for a file handed over to it because it is
/// responsible for it now.
fn took_over(file: &str, from: u8) -> String {
    format!("Took over File {file} from Peer {from}: this peer is responsible for it now")
}

/// The starts of every line that only the new flags may print.
const MANAGED_PREFIXES: [&str; 4] = [
    "Handed over",
    "Took over",
    "Sent a replica",
    "Received a replica",
];

// ----- The ring and its files -----

/// The hash of file `NNNN`: its position on the ring, `NNNN mod 256`.
fn hash(file: &str) -> u8 {
    let number: u16 = file
        .parse()
        .unwrap_or_else(|_| panic!("{file:?} is not a file name of four digits"));
    (number % 256) as u8
}

/// The peer of the ring `ids` responsible for `file`: the first at or after
/// its hash, going clockwise, wrapping from 255 back to 0.
fn responsible(ids: &[u8], file: &str) -> u8 {
    let sorted: BTreeSet<u8> = ids.iter().copied().collect();
    let position = hash(file);
    sorted
        .range(position..)
        .next()
        .or_else(|| sorted.iter().next())
        .copied()
        .expect("a ring has peers")
}

/// The peers of the ring `ids` that should hold `file` with `k` copies,
/// the responsible peer first, then the ones keeping a replica for it.
fn holders(ids: &[u8], file: &str, k: usize) -> Vec<u8> {
    let owner = responsible(ids, file);
    let mut all = vec![owner];
    all.extend(successor_list(ids, owner, k - 1));
    all
}

/// `NNNN.pdf`: the name of the copy of the peer responsible for `file` (or
/// of the user's own file at the peer that stores it).
fn main_name(file: &str) -> String {
    format!("{file}.pdf")
}

/// `replica_NNNN.pdf`: the name of a copy kept for the responsible peer.
fn replica_name(file: &str) -> String {
    format!("replica_{file}.pdf")
}

/// A ring whose peers each run in a temporary directory of their own, as
/// the new flags require. It dereferences to the [`Ring`].
struct FileRing {
    /// Declared first so that it is dropped first: the peers are killed
    /// before their directories are removed.
    ring: Ring,
    dirs: BTreeMap<u8, TempDir>,
    /// The arguments every peer gets, newcomers too, besides its `--dir`.
    args: Vec<String>,
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
    /// Starts the ring `ids` with `args` for every peer, each peer with an
    /// empty directory of its own, and makes directories for `newcomers`,
    /// whose ports are reserved too, to join later. Returns once every
    /// peer pings its whole list of `successor_count` successors and has
    /// been pinged by every predecessor that has it in its list: from then
    /// on each peer knows the arc of the ring it is responsible for.
    fn start(ids: &[u8], newcomers: &[u8], args: &[&str], successor_count: usize) -> FileRing {
        let dirs: BTreeMap<u8, TempDir> = ids
            .iter()
            .chain(newcomers)
            .map(|&id| (id, TempDir::new(&format!("replicas-peer{id}"))))
            .collect();
        let mut builder = Ring::builder(ids)
            .interval(INTERVAL)
            .also_reserve(newcomers)
            .args(args);
        for &id in ids {
            builder = builder.peer_args(id, &["--dir", dirs[&id].arg()]);
        }
        let ring = FileRing {
            ring: builder.start(),
            dirs,
            args: args.iter().map(|a| a.to_string()).collect(),
        };
        for &id in ids {
            let list = successor_list(ids, id, successor_count);
            ring.wait_for_line(id, &pings_sent_to(&list), DEADLINE);
            for from in predecessor_list(ids, id, successor_count) {
                ring.wait_for_line(id, &ping_received(from), DEADLINE);
            }
        }
        ring
    }

    fn dir(&self, peer: u8) -> &TempDir {
        &self.dirs[&peer]
    }

    /// Starts `newcomer` with `p2p join`, through `known`, with the ring's
    /// arguments and its own directory, and waits until it is accepted.
    fn join(&mut self, newcomer: u8, known: u8) {
        let mut args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        let dir = self.dirs[&newcomer].arg().to_string();
        args.extend(["--dir", &dir]);
        self.ring
            .spawn_join_with_args(newcomer, known, INTERVAL, &args);
        self.ring.wait_for_line(newcomer, JOIN_ACCEPTED, DEADLINE);
    }

    /// Puts `contents` in `storer`'s directory as `NNNN.pdf`, types
    /// `Store NNNN` there and waits until `owner` accepts the store and
    /// holds the file.
    fn store(&mut self, storer: u8, file: &str, contents: &[u8], owner: u8) {
        let path = self.dir(storer).join(&main_name(file));
        std::fs::write(&path, contents)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        let mark = self.mark(owner);
        self.type_command(storer, &format!("Store {file}"));
        self.wait_for_line_after(owner, mark, &store_accepted(file), DEADLINE);
        let stored = wait_for_file(&self.dir(owner).join(&main_name(file)), DEADLINE);
        assert_same_bytes(&stored, contents, &format!("{file}.pdf at peer {owner}"));
    }

    /// Types `Request NNNN` at `requester`, waits until `owner` has sent it
    /// and `requester` has received it, and returns what arrived.
    fn request(&mut self, requester: u8, owner: u8, file: &str) -> Vec<u8> {
        let requester_mark = self.mark(requester);
        let owner_mark = self.mark(owner);
        self.type_command(requester, &format!("Request {file}"));
        self.wait_for_lines_in_order_after(
            requester,
            requester_mark,
            &[
                &request_sent(file),
                &peer_had(owner, file),
                &receiving(file, owner),
                &received(file),
            ],
            DEADLINE,
        );
        self.wait_for_lines_in_order_after(
            owner,
            owner_mark,
            &[&stored_here(file), &sending(file, requester), FILE_SENT],
            DEADLINE,
        );
        read(&self.dir(requester).join(&format!("received_{file}.pdf")))
    }

    /// Waits until every peer of `ids` (the ring as it is now) has started
    /// two more rounds of pings to its two successors in that ring, so that
    /// anything a wrong program would do because of what came before (a
    /// placement round runs every half interval) has long been done and
    /// printed. Used before checking that something did not happen; a
    /// correct program never makes such a check fail.
    fn settle(&self, ids: &[u8]) {
        // Every mark is taken before any wait, so that the peers' rounds
        // are waited for side by side rather than one peer after another.
        let marks = self.marks(ids);
        for &id in ids {
            let (first, second) = successors(ids, id);
            let round = pings_sent(first, second);
            let next = self.wait_for_line_after(id, marks[&id], &round, DEADLINE);
            self.wait_for_line_after(id, next + 1, &round, DEADLINE);
        }
    }

    /// Panics, showing every transcript, if a peer of `ids` printed a line
    /// that only `--handover` or `--replicas` may print.
    fn assert_no_managed_lines(&self, ids: &[u8]) {
        for &id in ids {
            for line in self.lines(id) {
                assert!(
                    !MANAGED_PREFIXES.iter().any(|p| line.starts_with(p)),
                    "peer {id} printed {line:?}, which only --handover or --replicas may print\n{}",
                    self.describe_all()
                );
            }
        }
    }

    /// Panics if a line starting with `prefix` was printed by `peer`.
    fn assert_no_line_starting_with(&self, peer: u8, prefix: &str) {
        if let Some(line) = self.lines(peer).iter().find(|l| l.starts_with(prefix)) {
            panic!(
                "peer {peer} should not have printed {line:?}\n{}",
                self.describe_all()
            );
        }
    }
}

/// Waits until there is no file at `path`, polling as [`wait_for_file`]
/// does and for the same reason.
fn wait_for_no_file(path: &Path, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while path.exists() {
        let now = Instant::now();
        assert!(
            now < deadline,
            "{} was still there after {timeout:?}",
            path.display()
        );
        std::thread::park_timeout((deadline - now).min(POLL));
    }
}

/// Reads a file that must exist now.
fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The names of the files in `dir` that start with `replica_`.
fn replica_files(dir: &TempDir) -> Vec<String> {
    std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("replica_"))
        .collect()
}

// ----- Handover with one copy (`--handover`) -----

#[test]
fn a_newcomer_receives_the_files_it_is_responsible_for() {
    // 2063 and 0271 both hash to 15: peer 19's until 15 joins, then 15's.
    // 2067 hashes to 19 and stays with 19.
    let moving = [("2063", noise(23_456, 1)), ("0271", noise(4_321, 2))];
    let staying = ("2067", noise(9_999, 3));
    let mut ring = FileRing::start(&TEACHING_RING, &[15], &["--handover"], 2);
    for (file, contents) in moving.iter().chain([&staying]) {
        ring.store(8, file, contents, 19);
    }

    let marks = ring.marks(&[19]);
    ring.join(15, 4);
    for (file, contents) in &moving {
        ring.wait_for_line(15, &took_over(file, 19), DEADLINE);
        ring.wait_for_line_after(19, marks[&19], &handed_over(file, 15), DEADLINE);
        let arrived = wait_for_file(&ring.dir(15).join(&main_name(file)), DEADLINE);
        assert_same_bytes(&arrived, contents, &format!("{file}.pdf at peer 15"));
        // With one copy, 19 keeps none once 15 has confirmed it has it.
        wait_for_no_file(&ring.dir(19).join(&main_name(file)), DEADLINE);
    }

    // The file that is still 19's stays there, and the storing peer's own
    // copies are never touched.
    let after = [2, 4, 5, 8, 9, 14, 15, 19];
    ring.settle(&after);
    assert_same_bytes(
        &read(&ring.dir(19).join(&main_name(staying.0))),
        &staying.1,
        "2067.pdf at peer 19",
    );
    assert!(
        !ring.dir(15).join(&main_name(staying.0)).exists(),
        "peer 15 got 2067.pdf, which is 19's\n{}",
        ring.describe_all()
    );
    ring.assert_no_line_starting_with(19, &format!("Handed over File {}", staying.0));
    for (file, contents) in moving.iter().chain([&staying]) {
        assert_same_bytes(
            &read(&ring.dir(8).join(&main_name(file))),
            contents,
            &format!("the storing peer 8's own {file}.pdf"),
        );
    }
    // One copy means no replicas, neither as lines nor as files.
    for id in after {
        ring.assert_no_line_starting_with(id, "Sent a replica");
        ring.assert_no_line_starting_with(id, "Received a replica");
        assert_eq!(
            replica_files(ring.dir(id)),
            Vec::<String>::new(),
            "peer {id}"
        );
    }

    // The newcomer now answers requests for its files.
    for (requester, (file, contents)) in [4, 2].into_iter().zip(&moving) {
        let arrived = ring.request(requester, 15, file);
        assert_same_bytes(&arrived, contents, &format!("received_{file}.pdf"));
    }
    ring.assert_no_panic();
}

#[test]
fn a_quitting_peer_hands_its_files_to_its_successor() {
    // 2057 hashes to 9: peer 9's until it quits, then 14's.
    let contents = noise(31_337, 4);
    let mut ring = FileRing::start(&TEACHING_RING, &[], &["--handover"], 2);
    ring.store(2, "2057", &contents, 9);

    let before = ring.marks(&TEACHING_RING);
    let stderr_before = ring.stderr_mark(9);
    ring.type_command(9, "Quit");
    ring.wait_for_line_after(9, before[&9], &handed_over_leaving("2057", 14), DEADLINE);
    ring.wait_for_line_after(14, before[&14], &took_over("2057", 9), DEADLINE);
    // The course's lines of a departure are unchanged.
    ring.wait_for_lines_in_order_after(
        8,
        before[&8],
        &[&will_depart(9), &new_first(14), &new_second(19)],
        DEADLINE,
    );
    ring.wait_for_lines_in_order_after(
        5,
        before[&5],
        &[&will_depart(9), &new_first(8), &new_second(14)],
        DEADLINE,
    );
    let status = ring.wait_exit(9, QUIT_DEADLINE);
    assert_eq!(
        status.code(),
        Some(0),
        "Quit should make 9 exit with code 0\n{}",
        ring.describe_all()
    );
    // On standard error, 9 says what it does, the handover first. (A
    // placement round of 14 that still counts 9 as its predecessor may
    // offer the file back meanwhile; 9 refuses it in a line of its own.)
    let said: Vec<String> = ring.stderr_lines(9)[stderr_before..]
        .iter()
        .filter(|line| !line.starts_with("p2p: refused file 2057 offered by peer 14"))
        .cloned()
        .collect();
    assert_eq!(
        said,
        [
            "p2p: handing 1 file over to peer 14 before leaving",
            "p2p: leaving the ring: telling peers 8 and 5",
            "p2p: left the ring",
        ],
        "9's standard error after Quit\n{}",
        ring.describe_all()
    );
    let arrived = wait_for_file(&ring.dir(14).join("2057.pdf"), DEADLINE);
    assert_same_bytes(&arrived, &contents, "2057.pdf at peer 14");

    // 14 now answers requests for it.
    let arrived = ring.request(4, 14, "2057");
    assert_same_bytes(&arrived, &contents, "received_2057.pdf at peer 4");
    // One copy means no replicas.
    for id in TEACHING_RING {
        ring.assert_no_line_starting_with(id, "Sent a replica");
        ring.assert_no_line_starting_with(id, "Received a replica");
        assert_eq!(
            replica_files(ring.dir(id)),
            Vec::<String>::new(),
            "peer {id}"
        );
    }
    ring.assert_no_panic();
}

// ----- Three copies (`--replicas 3`) -----

/// A file of the big test: its name, its bytes and the peer it is stored
/// from, whose own `NNNN.pdf` stays there.
struct StoredFile {
    name: &'static str,
    contents: Vec<u8>,
    storer: u8,
}

/// What is wrong with where the copies of `files` are in the ring `live`
/// (the peers that run now), with `k` copies each: nothing when each file
/// is `NNNN.pdf` at its responsible peer and `replica_NNNN.pdf` at the
/// next `k - 1`, byte for byte, and nowhere else but as the storing peer's
/// own file.
fn placement_problems(ring: &FileRing, live: &[u8], files: &[StoredFile], k: usize) -> Vec<String> {
    let mut problems = Vec::new();
    // Where each copy is first, which is cheap; the bytes only once every
    // copy is in its place.
    for file in files {
        let expected = holders(live, file.name, k);
        for &peer in live {
            let has_main = ring.dir(peer).join(&main_name(file.name)).exists();
            let has_replica = ring.dir(peer).join(&replica_name(file.name)).exists();
            let (main_wanted, replica_wanted) = if peer == expected[0] {
                (true, false)
            } else if expected.contains(&peer) {
                (false, true)
            } else {
                (peer == file.storer, false)
            };
            for (has, wanted, name) in [
                (has_main, main_wanted, main_name(file.name)),
                (has_replica, replica_wanted, replica_name(file.name)),
            ] {
                if has != wanted {
                    let state = if has { "holds" } else { "lacks" };
                    problems.push(format!(
                        "file {} (hash {}): peer {peer} {state} {name}; it should be held by \
                         {expected:?}",
                        file.name,
                        hash(file.name)
                    ));
                }
            }
        }
    }
    if !problems.is_empty() {
        return problems;
    }
    for file in files {
        let expected = holders(live, file.name, k);
        let mut copies: Vec<(u8, String)> = vec![(expected[0], main_name(file.name))];
        copies.extend(
            expected[1..]
                .iter()
                .map(|&peer| (peer, replica_name(file.name))),
        );
        if live.contains(&file.storer) {
            copies.push((file.storer, main_name(file.name)));
        }
        for (peer, name) in copies {
            match std::fs::read(ring.dir(peer).join(&name)) {
                Ok(bytes) if bytes == file.contents => {}
                Ok(bytes) => problems.push(format!(
                    "peer {peer}: {name} holds {} bytes that are not the {} stored",
                    bytes.len(),
                    file.contents.len()
                )),
                Err(e) => problems.push(format!("peer {peer}: cannot read {name}: {e}")),
            }
        }
    }
    problems
}

/// Waits until every one of `files` has its `k` copies exactly where the
/// ring `live` puts them (see [`placement_problems`]). The copies move
/// with no line at some of their ends, so this polls the directories, and
/// gives up at the deadline with what is still wrong; `after` says after
/// which step, for that message.
fn wait_for_placement(ring: &FileRing, live: &[u8], files: &[StoredFile], k: usize, after: &str) {
    let deadline = Instant::now() + PLACEMENT_DEADLINE;
    loop {
        let problems = placement_problems(ring, live, files, k);
        if problems.is_empty() {
            return;
        }
        let now = Instant::now();
        assert!(
            now < deadline,
            "{after}, the files of the ring {live:?} were not in their places within \
             {PLACEMENT_DEADLINE:?}:\n  {}",
            problems.join("\n  ")
        );
        std::thread::park_timeout((deadline - now).min(POLL));
    }
}

/// Waits until every peer of `live` that has one of `victims` among its
/// first `r` successors has heard it answer since `marks`: a successor
/// that never answered is not suspected, so a kill before that would test
/// something else.
fn wait_until_victims_answered(
    ring: &FileRing,
    live: &[u8],
    victims: &[u8],
    r: usize,
    marks: &BTreeMap<u8, usize>,
) {
    for &peer in live {
        for successor in successor_list(live, peer, r) {
            if victims.contains(&successor) && !victims.contains(&peer) {
                ring.wait_for_line_after(
                    peer,
                    marks[&peer],
                    &response_received(successor),
                    DEADLINE,
                );
            }
        }
    }
}

#[test]
fn twelve_files_survive_joins_quits_and_kills_with_three_replicas() {
    const R: usize = 3;
    const K: usize = 3;
    let start: Vec<u8> = vec![3, 30, 60, 90, 120, 150, 180, 210, 240];
    let newcomer = 100;
    let quitter = 180;
    let killed = 30;
    let killed_together = [120, 150];
    let joined: Vec<u8> = {
        let mut ids = start.clone();
        ids.push(newcomer);
        ids
    };
    let quit = without(&joined, &[quitter]);
    let one_killed = without(&quit, &[killed]);
    let end = without(&one_killed, &killed_together);
    let stages = [&start, &joined, &quit, &one_killed, &end];

    // Hashes spread round the ring: 4090 (250) lies past the last peer and
    // wraps round to 3; 0060 and 1716 (180) land exactly on a peer; 0097
    // belongs to the newcomer once it joins; 2419 (115) and 4492 (140) lose
    // their responsible peer and its first replica in the double kill; the
    // peer of 0005 and 3097 (25) is killed, the one of 1450 and 1716 quits.
    let names: [(&str, u8, usize); 12] = [
        ("4090", 250, 3_000),
        ("3097", 25, 100_000),
        ("0005", 5, 7_777),
        ("0060", 60, 64_000),
        ("6488", 88, 12_345),
        ("0097", 97, 99_999),
        ("2419", 115, 4_096),
        ("4492", 140, 50_000),
        ("1450", 170, 20_480),
        ("1716", 180, 8_192),
        ("7880", 200, 33_333),
        ("9958", 230, 70_001),
    ];
    let never_holders = |name: &str| -> Vec<u8> {
        let held: BTreeSet<u8> = stages
            .iter()
            .flat_map(|ids| holders(ids, name, K))
            .collect();
        end.iter()
            .copied()
            .filter(|id| start.contains(id) && !held.contains(id))
            .collect()
    };
    let files: Vec<StoredFile> = names
        .iter()
        .enumerate()
        .map(|(index, &(name, position, size))| {
            assert_eq!(hash(name), position, "the test is wrong about {name}");
            // Each file is stored from a peer that never holds a copy of it
            // and runs to the end, so that the user's own file, which is
            // never touched, is never mistaken for a copy.
            let candidates = never_holders(name);
            assert!(
                !candidates.is_empty(),
                "the test is wrong: every peer holds {name} at some point"
            );
            StoredFile {
                name,
                contents: noise(size, 100 + index as u32),
                storer: candidates[index % candidates.len()],
            }
        })
        .collect();
    // Each step moves some copy, so that the wait after it cannot be
    // satisfied by the files as they were before it.
    for pair in stages.windows(2) {
        assert!(
            files
                .iter()
                .any(|f| holders(pair[0], f.name, K) != holders(pair[1], f.name, K)),
            "the test is wrong: no copy moves from {:?} to {:?}",
            pair[0],
            pair[1]
        );
    }
    let storers: BTreeSet<u8> = files.iter().map(|f| f.storer).collect();
    assert!(storers.len() >= 4, "the test is wrong: storers {storers:?}");

    let r = R.to_string();
    let k = K.to_string();
    let mut ring = FileRing::start(
        &start,
        &[newcomer],
        &["--successors", &r, "--replicas", &k],
        R,
    );
    for file in &files {
        let owner = responsible(&start, file.name);
        ring.store(file.storer, file.name, &file.contents, owner);
    }
    wait_for_placement(&ring, &start, &files, K, "after the twelve stores");

    // A peer joins between 90 and 120.
    ring.join(newcomer, 3);
    wait_for_placement(&ring, &joined, &files, K, "after 100 joined");

    // A peer quits, once its predecessors know it from their pings.
    let marks = ring.marks(&joined);
    for from in predecessor_list(&joined, quitter, R) {
        ring.wait_for_line_after(quitter, marks[&quitter], &ping_received(from), DEADLINE);
    }
    ring.type_command(quitter, "Quit");
    let status = ring.wait_exit(quitter, QUIT_DEADLINE);
    assert_eq!(status.code(), Some(0), "{quitter} quitting");
    wait_for_placement(&ring, &quit, &files, K, "after 180 quit");

    // A peer is killed.
    let marks = ring.marks(&quit);
    wait_until_victims_answered(&ring, &quit, &[killed], R, &marks);
    ring.kill(killed);
    wait_for_placement(&ring, &one_killed, &files, K, "after 30 was killed");

    // Two adjacent peers are killed at the same moment: the files of 120
    // are left with one copy, at 210.
    let marks = ring.marks(&one_killed);
    wait_until_victims_answered(&ring, &one_killed, &killed_together, R, &marks);
    ring.kill_together(&killed_together);
    wait_for_placement(&ring, &end, &files, K, "after 120 and 150 were killed");

    // Every file can be fetched, whole, by a peer that has no copy of it.
    for (index, file) in files.iter().enumerate() {
        let held = holders(&end, file.name, K);
        let requesters: Vec<u8> = end
            .iter()
            .copied()
            .filter(|id| !held.contains(id) && *id != file.storer)
            .collect();
        let requester = requesters[index % requesters.len()];
        let arrived = ring.request(requester, held[0], file.name);
        assert_same_bytes(
            &arrived,
            &file.contents,
            &format!("received_{}.pdf at peer {requester}", file.name),
        );
    }
    ring.assert_no_panic();
}

// ----- The course's defaults -----

#[test]
fn course_defaults_print_only_course_lines() {
    // Without the flags, files stay where they were stored: 2063 (hash 15)
    // stays with 19 when 15 joins, 2057 (hash 9) leaves with 9.
    let at_19 = noise(12_000, 5);
    let at_9 = noise(5_000, 6);
    let mut ring = FileRing::start(&TEACHING_RING, &[15], &[], 2);
    ring.store(8, "2063", &at_19, 19);
    ring.store(2, "2057", &at_9, 9);
    let arrived = ring.request(4, 19, "2063");
    assert_same_bytes(&arrived, &at_19, "received_2063.pdf at peer 4");

    let joined = [2, 4, 5, 8, 9, 14, 15, 19];
    ring.join(15, 4);
    let (first, second) = successors(&joined, 15);
    ring.wait_for_line(15, &pings_sent(first, second), DEADLINE);
    for from in [predecessors(&joined, 9).0, predecessors(&joined, 9).1] {
        ring.wait_for_line(9, &ping_received(from), DEADLINE);
    }

    let before = ring.marks(&joined);
    ring.type_command(9, "Quit");
    ring.wait_for_lines_in_order_after(
        8,
        before[&8],
        &[&will_depart(9), &new_first(14), &new_second(15)],
        DEADLINE,
    );
    ring.wait_for_lines_in_order_after(
        5,
        before[&5],
        &[&will_depart(9), &new_first(8), &new_second(14)],
        DEADLINE,
    );
    let status = ring.wait_exit(9, DEADLINE);
    assert_eq!(status.code(), Some(0), "Quit at 9\n{}", ring.describe_all());

    let after = without(&joined, &[9]);
    ring.settle(&after);
    ring.assert_no_managed_lines(&joined);
    for id in joined {
        assert_eq!(
            replica_files(ring.dir(id)),
            Vec::<String>::new(),
            "peer {id}"
        );
    }
    assert!(
        !ring.dir(15).join("2063.pdf").exists(),
        "2063.pdf moved to 15 without --handover"
    );
    assert!(
        !ring.dir(14).join("2057.pdf").exists(),
        "2057.pdf moved to 14 without --handover"
    );
    assert_same_bytes(&read(&ring.dir(19).join("2063.pdf")), &at_19, "2063.pdf");
    ring.assert_no_panic();
}

#[test]
fn without_the_flags_peers_may_still_share_a_directory() {
    // The course's default directory is the current one, which a student
    // running every peer from one terminal shares between all of them.
    let ids = [2, 4, 5];
    let shared = TempDir::new("replicas-shared-course");
    let mut ring = Ring::builder(&ids)
        .interval(INTERVAL)
        .args(&["--dir", shared.arg()])
        .start();
    for id in ids {
        let (first, second) = successors(&ids, id);
        let (first_predecessor, _) = predecessors(&ids, id);
        ring.wait_for_line(id, &response_received(first), DEADLINE);
        ring.wait_for_line(id, &response_received(second), DEADLINE);
        ring.wait_for_line(id, &ping_received(first_predecessor), DEADLINE);
    }
    for id in ids {
        ring.assert_running(id);
    }
    ring.assert_no_panic();
}

// ----- Refusals -----

/// Waits until `dir` holds a `.p2p-peer` naming some peer and returns what
/// it says, trimmed. Polls, since the peer prints nothing when it writes it.
fn wait_for_marker(dir: &TempDir) -> String {
    let path = dir.join(".p2p-peer");
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Ok(text) = std::fs::read_to_string(&path)
            && !text.trim().is_empty()
        {
            return text.trim().to_string();
        }
        let now = Instant::now();
        assert!(
            now < deadline,
            "{} did not appear within {DEADLINE:?}",
            path.display()
        );
        std::thread::park_timeout((deadline - now).min(POLL));
    }
}

/// Checks that `peer` exited with code 2 and said on standard error, in
/// one line, that its directory is `owner`'s and why that is refused.
fn assert_refused_as_shared(ring: &mut Ring, peer: u8, owner: u8) {
    let status = ring.wait_exit(peer, DEADLINE);
    assert_eq!(
        status.code(),
        Some(2),
        "peer {peer} in peer {owner}'s directory\n{}",
        ring.describe_all()
    );
    let named = format!("is the directory of peer {owner}");
    let explained = ring
        .stderr_lines(peer)
        .iter()
        .any(|l| l.contains(&named) && l.contains("each peer needs a directory of its own"));
    assert!(
        explained,
        "peer {peer} should say {named:?} and \"each peer needs a directory of its own\"\n{}",
        ring.describe_all()
    );
}

#[test]
fn a_shared_directory_is_refused_with_replicas() {
    let shared = TempDir::new("replicas-shared");
    let mut ring = Ring::reserve(&[2, 4, 5]);
    ring.spawn_init(
        2,
        4,
        5,
        INTERVAL,
        &["--replicas", "2", "--dir", shared.arg()],
    );
    assert_eq!(wait_for_marker(&shared), "2", "peer 2's .p2p-peer");

    ring.spawn_init(
        4,
        5,
        2,
        INTERVAL,
        &["--replicas", "2", "--dir", shared.arg()],
    );
    assert_refused_as_shared(&mut ring, 4, 2);
    // One copy with --handover manages the directory too.
    ring.spawn_init(5, 2, 4, INTERVAL, &["--handover", "--dir", shared.arg()]);
    assert_refused_as_shared(&mut ring, 5, 2);

    // The first peer goes on, and its directory is still its own.
    ring.assert_running(2);
    assert_eq!(wait_for_marker(&shared), "2", "peer 2's .p2p-peer");
    ring.assert_no_panic();
}

/// Runs `p2p` with `args` and checks that it is a usage error about
/// `--replicas`: exit code 2, nothing on standard output, and a first line
/// `p2p: error: ...` on standard error that names the option (which must
/// be known, and refused for its value) and the range allowed, from 1, and
/// when `largest` is given, names the end of that range as a number.
///
/// A reserved `--base-port` is added, so that a program that wrongly
/// accepts the arguments starts a peer on ports no other test uses (and is
/// killed at the timeout).
fn assert_replicas_usage_error(args: &[&str], largest: Option<usize>) {
    let ports = Ring::reserve(&[2, 4, 5, 15]);
    let base_port = ports.base_port().to_string();
    let mut all_args = args.to_vec();
    all_args.extend(["--base-port", &base_port]);
    let output = Command::new(env!("CARGO_BIN_EXE_p2p"))
        .timeout(Duration::from_secs(10))
        .args(&all_args)
        .assert()
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let context = format!("p2p {}\nstderr:\n{stderr}", all_args.join(" "));
    assert_eq!(output.status.code(), Some(2), "exit status of {context}");
    assert!(
        output.stdout.is_empty(),
        "stdout should be empty: {context}"
    );
    let first_line = stderr.lines().next().unwrap_or_default();
    assert!(
        first_line.starts_with("p2p: error: ")
            && first_line.contains("--replicas")
            && first_line.contains("from 1 to")
            && !first_line.contains("unknown option"),
        "the first line should be an error about the value of --replicas: {context}"
    );
    if let Some(largest) = largest {
        assert!(
            first_line.contains(&largest.to_string()),
            "the first line should name the largest number of copies, {largest}: {context}"
        );
    }
    assert!(!stderr.contains("panicked"), "{context}");
}

#[test]
fn more_replicas_than_successors_plus_one_is_a_usage_error() {
    // With the default two successors, at most three copies can be kept.
    for args in [
        &["init", "2", "4", "5", "1", "--replicas", "4"][..],
        &["join", "15", "4", "1", "--replicas", "4"],
    ] {
        assert_replicas_usage_error(args, Some(3));
    }
    // Four successors let five copies be kept, not six.
    let four = [
        "init",
        "2",
        "4",
        "5",
        "1",
        "--successors",
        "4",
        "--replicas",
        "6",
    ];
    assert_replicas_usage_error(&four, Some(5));
    // No copy at all, or not a number of copies: the range may be named
    // in words, since it depends on --successors, which may come later.
    for bad in ["0", "-1", "x", ""] {
        assert_replicas_usage_error(&["init", "2", "4", "5", "1", "--replicas", bad], None);
    }
}
