//! The lab ring: `make run-ring`, `make send` and `make timeline` (through
//! scripts/ring.sh), and the peer options they rely on (`--log`,
//! `--echo-commands`, `--quiet-pings`).
//!
//! Each lab ring runs in the background on a port block of the tests' own,
//! with its logs and directories in a temporary directory, so that it meets
//! neither another test nor a ring the user started in run/. Dropping a
//! [`LabRing`] stops it with `make stop`, even when the test panicked.

mod common;

use std::net::{TcpListener, UdpSocket};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::lines::{
    ping_received, request_sent, response_received, store_accepted, store_forwarded,
};
use common::{DEADLINE, Ring, TempDir, successors};

/// The ring `make run-ring` starts by default.
const TEACHING_RING: [u8; 7] = [2, 4, 5, 8, 9, 14, 19];

/// The settings of the Makefile and scripts/ring.sh that a user's
/// environment could hold; each run starts without them, so that only what
/// the test gives counts.
const SETTINGS: [&str; 19] = [
    "RING",
    "INTERVAL",
    "BASE_PORT",
    "BASE_PORT_GIVEN",
    "TERM_UI",
    "TMUX_LAYOUT",
    "PEER_ARGS",
    "P2P",
    "CDHT",
    "COURSE",
    "MSS",
    "DROP",
    "PEER",
    "KNOWN",
    "CMD",
    "QUIET_PINGS",
    "RUN_DIR",
    "RING_ARGS",
    "P2P_LAUNCHED_BY",
];

/// A lab ring: a block of test ports, a run directory of its own, and the
/// `make` targets that act on them. Nothing runs until [`LabRing::make`]
/// starts it.
struct LabRing {
    /// Holds the port block; starts no peer itself.
    ports: Ring,
    run_dir: TempDir,
}

impl LabRing {
    /// Reserves a block in which the ports of `ids` are free.
    fn reserve(ids: &[u8]) -> LabRing {
        let ports = Ring::reserve(ids);
        let run_dir = TempDir::new(&format!("lab-{}", ports.base_port()));
        LabRing { ports, run_dir }
    }

    fn base_port(&self) -> u16 {
        self.ports.base_port()
    }

    /// Runs `make TARGET` on this ring: the test's binary, in the
    /// background, on this ring's ports and run directory, with `settings`
    /// (`NAME=value`) on top.
    fn make(&self, target: &str, settings: &[&str]) -> Output {
        let mut command = Command::new("make");
        command
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["-s", "--no-print-directory", target])
            .arg(format!("P2P={}", env!("CARGO_BIN_EXE_p2p")))
            .arg("TERM_UI=background")
            .arg(format!("BASE_PORT={}", self.base_port()))
            .arg(format!("RUN_DIR={}", self.run_dir.arg()))
            .args(settings);
        // A make above this one (`make test`) must not lend it its jobs.
        for name in SETTINGS.iter().chain(&["MAKEFLAGS", "MFLAGS", "MAKELEVEL"]) {
            command.env_remove(name);
        }
        command
            .output()
            .unwrap_or_else(|e| panic!("cannot run make {target}: {e}"))
    }

    /// Runs `make TARGET` and checks that it succeeded.
    fn make_ok(&self, target: &str, settings: &[&str]) -> Output {
        let output = self.make(target, settings);
        assert!(
            output.status.success(),
            "make {target} {settings:?} failed\n{}",
            describe(&output)
        );
        output
    }

    /// The directory of this ring's files, `RUN_DIR/BASE_PORT`.
    fn dir(&self) -> PathBuf {
        self.run_dir.join(&self.base_port().to_string())
    }

    fn log(&self, peer: u8) -> PathBuf {
        self.dir().join(format!("peer-{peer}.log"))
    }

    /// Waits until `peer`'s log has a line whose text (after its time
    /// stamp) is `text`, and returns the log's lines.
    fn wait_for_log_line(&self, peer: u8, text: &str) -> Vec<String> {
        let path = self.log(peer);
        wait_for_lines(&path, |lines| lines.iter().any(|l| text_of(l) == text))
    }
}

impl Drop for LabRing {
    /// Stops whatever this ring still runs, before its run directory goes.
    fn drop(&mut self) {
        let _ = self.make("stop", &[]);
    }
}

/// The exit status and both streams of a finished command, for a failure
/// message.
fn describe(output: &Output) -> String {
    format!(
        "status: {}\nstdout:\n{}stderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Whether `line` begins with a UTC time of day, `HH:MM:SS.mmm `.
fn is_stamped(line: &str) -> bool {
    let bytes = line.as_bytes();
    bytes.len() > 13
        && bytes[..12].iter().enumerate().all(|(i, &b)| match i {
            2 | 5 => b == b':',
            8 => b == b'.',
            _ => b.is_ascii_digit(),
        })
        && bytes[12] == b' '
}

/// The text of a log line after its time stamp.
fn text_of(line: &str) -> &str {
    assert!(
        is_stamped(line),
        "a log line without a time stamp: {line:?}"
    );
    &line[13..]
}

/// Waits until the file at `path` exists and its lines satisfy `done`, and
/// returns them. A log is written by the peer's own thread, and no line on
/// a stream the test reads says when: this looks at the file in a bounded
/// loop that parks the thread briefly between looks, up to the deadline.
fn wait_for_lines(path: &std::path::Path, done: impl Fn(&[String]) -> bool) -> Vec<String> {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let lines: Vec<String> = text.lines().map(String::from).collect();
        if done(&lines) {
            return lines;
        }
        let now = Instant::now();
        assert!(
            now < deadline,
            "{} did not get the lines expected within {DEADLINE:?}; it holds:\n{text}",
            path.display()
        );
        std::thread::park_timeout((deadline - now).min(Duration::from_millis(10)));
    }
}

#[test]
fn a_taken_port_stops_make_run_ring_before_any_peer_starts() {
    let lab = LabRing::reserve(&TEACHING_RING);
    let taken = lab.base_port() + 8;
    let _other_program = UdpSocket::bind(("127.0.0.1", taken)).expect("peer 8's port is free");

    let output = lab.make("run-ring", &["INTERVAL=0.2"]);
    assert!(!output.status.success(), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let refusals: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("ring.sh:"))
        .collect();
    assert_eq!(
        refusals.len(),
        1,
        "one line of refusal\n{}",
        describe(&output)
    );
    let refusal = refusals[0];
    assert!(
        refusal.contains(&format!("port {taken} of peer 8 is in use (UDP)")),
        "{refusal}"
    );
    assert!(
        refusal.contains("no peer was started") && refusal.contains("make run-ring BASE_PORT="),
        "{refusal}"
    );

    // No peer runs: none wrote a pid file, and every other port of the ring
    // is still free.
    let pid_files = std::fs::read_dir(lab.dir())
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().ends_with(".pid"))
                .count()
        })
        .unwrap_or(0);
    assert_eq!(pid_files, 0);
    for id in TEACHING_RING.iter().filter(|&&id| id != 8) {
        let port = lab.base_port() + u16::from(*id);
        assert!(
            UdpSocket::bind(("127.0.0.1", port)).is_ok()
                && TcpListener::bind(("127.0.0.1", port)).is_ok(),
            "peer {id}'s port {port} is in use: part of the ring runs"
        );
    }
}

#[test]
fn a_ring_too_small_is_refused_with_its_cause() {
    let lab = LabRing::reserve(&[2, 4]);
    let output = lab.make("run-ring", &["RING=2 4"]);
    assert!(!output.status.success(), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("ring.sh: RING='2 4' has 2 peers, but a ring needs at least 3"),
        "{}",
        describe(&output)
    );
}

/// At the course's interval of 30 s, peers that started before their
/// successors still hear both successors' answers within seconds.
#[test]
fn every_peer_hears_both_successors_soon_at_the_course_interval() {
    let lab = LabRing::reserve(&TEACHING_RING);
    lab.make_ok("run-ring", &["INTERVAL=30"]);
    for peer in TEACHING_RING {
        let (first, second) = successors(&TEACHING_RING, peer);
        let wanted = [response_received(first), response_received(second)];
        wait_for_lines(&lab.log(peer), |lines| {
            wanted
                .iter()
                .all(|w| lines.iter().any(|l| is_stamped(l) && text_of(l) == w))
        });
    }
}

/// A custom ring: the hint's `make send` names the peer that holds the
/// sample files; `make send` says what it sent and the peer's log shows it;
/// `make timeline` merges the logs in time order without the pings.
#[test]
fn make_send_echoes_and_make_timeline_tells_the_story_without_pings() {
    let ring = [1, 3, 7, 12];
    let lab = LabRing::reserve(&ring);
    let started = lab.make_ok(
        "run-ring",
        &["RING=1 3 7 12", "INTERVAL=0.2", "QUIET_PINGS=1"],
    );
    let hint = String::from_utf8_lossy(&started.stdout);
    assert!(
        hint.contains("make send PEER=12 CMD='Store 2067'"),
        "{hint}"
    );
    assert!(lab.dir().join("peer-12/2067.pdf").is_file());
    let command_line = std::fs::read_to_string(lab.dir().join("peer-12.cmd")).unwrap_or_default();
    assert!(command_line.contains("--quiet-pings"), "{command_line}");

    let sent = lab.make_ok("send", &["PEER=12", "CMD=Store 2067"]);
    assert!(
        String::from_utf8_lossy(&sent.stdout).contains("Sent 'Store 2067' to peer 12"),
        "{}",
        describe(&sent)
    );
    // 2067 hashes to 19, whose responsible peer in this ring is 1.
    lab.wait_for_log_line(1, &store_accepted("2067"));
    let log = lab.wait_for_log_line(12, "> Store 2067");
    assert!(log.iter().all(|l| is_stamped(l)), "{log:?}");
    // Quiet pings stay off standard output but not out of the log.
    lab.wait_for_log_line(12, &response_received(1));

    let timeline = lab.make_ok("timeline", &[]);
    let timeline = String::from_utf8_lossy(&timeline.stdout).into_owned();
    let lines: Vec<&str> = timeline.lines().collect();
    assert!(lines.iter().all(|l| is_stamped(l)), "{timeline}");
    let stamps: Vec<&str> = lines.iter().map(|l| &l[..12]).collect();
    assert!(stamps.windows(2).all(|w| w[0] <= w[1]), "{timeline}");
    assert!(!timeline.contains("Ping "), "{timeline}");
    let position = |wanted: &str| {
        lines
            .iter()
            .position(|l| l[13..] == *wanted)
            .unwrap_or_else(|| panic!("no {wanted:?} in the timeline:\n{timeline}"))
    };
    // A peer's own lines keep their order; lines of two peers in the same
    // millisecond may come in either order.
    let typed = position("peer 12  > Store 2067");
    let forwarded = position(&format!("peer 12  {}", store_forwarded("2067")));
    let accepted = position(&format!("peer 1   {}", store_accepted("2067")));
    assert!(typed < forwarded, "{timeline}");
    assert!(stamps[forwarded] <= stamps[accepted], "{timeline}");
}

/// The three options as a peer started by hand sees them.
#[test]
fn a_peer_logs_with_time_stamps_echoes_commands_and_can_hide_its_pings() {
    let dir = TempDir::new("lab-options");
    let log = dir.join("peer-1.log");
    let log_arg = log.to_str().expect("a UTF-8 path").to_string();
    let mut ring = common::Ring::builder(&[1, 2, 3])
        .peer_args(1, &["--log", &log_arg, "--quiet-pings", "--echo-commands"])
        .start();
    wait_for_lines(&log, |lines| {
        lines.iter().any(|l| text_of(l) == response_received(2))
    });
    ring.type_command(1, "Request 0002");
    ring.wait_for_line(1, &request_sent("0002"), DEADLINE);
    ring.wait_for_stderr_containing(1, "> Request 0002", DEADLINE);
    let printed = ring.lines(1);
    assert!(
        printed.iter().all(|l| !l.starts_with("Ping ")),
        "--quiet-pings printed a ping line: {printed:?}"
    );
    // Every line is in the log, the hidden ping lines included.
    wait_for_lines(&log, |lines| {
        [
            "> Request 0002".to_string(),
            request_sent("0002"),
            ping_received(3),
        ]
        .iter()
        .all(|wanted| lines.iter().any(|l| text_of(l) == wanted))
    });
}
