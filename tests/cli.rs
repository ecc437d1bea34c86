//! Black-box tests of the command line: what `p2p` says and how it exits
//! when it is called with bad arguments, for help, or on a port that is
//! already taken.

mod common;

use std::net::{TcpListener, UdpSocket};
use std::time::Duration;

use assert_cmd::Command;
use common::Ring;
use predicates::prelude::*;
use predicates::str::contains;

/// Long enough for a slow machine; a program that wrongly starts a peer
/// instead of refusing its arguments is killed after this.
const TIMEOUT: Duration = Duration::from_secs(10);

fn p2p() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_p2p"));
    command.timeout(TIMEOUT);
    command
}

/// The line that follows every usage error, instead of the whole usage.
const SEE_THE_USAGE: &str = "Run 'p2p --help' for the usage.";

/// Runs `p2p` with `args` and checks the usage error: exit code 2, nothing on
/// standard output, and on standard error exactly two lines: `p2p: error:
/// ...`, which contains `fragment`, and the way to the usage.
fn assert_usage_error(args: &[&str], fragment: &str) {
    let stderr = usage_error(args);
    let lines: Vec<&str> = stderr.lines().collect();
    let context = format!("p2p {}\nstderr:\n{stderr}", args.join(" "));
    assert_eq!(lines.len(), 2, "two lines, not the usage: {context}");
    assert!(
        lines[0].starts_with("p2p: error: "),
        "the first line should be the error: {context}"
    );
    assert!(
        lines[0].contains(fragment),
        "the first line should contain {fragment:?}: {context}"
    );
    assert_eq!(lines[1], SEE_THE_USAGE, "{context}");
}

/// Runs `p2p` with `args`, checks that it exits with code 2 and prints
/// nothing on standard output, and returns its standard error.
///
/// A reserved `--base-port` is added at the end unless the case is about
/// `--base-port` or about a missing value, so that a program that wrongly
/// accepts the arguments starts a peer on ports no other test uses (and is
/// killed at the timeout).
fn usage_error(args: &[&str]) -> String {
    let ports = Ring::reserve(&[0, 2, 4, 5, 255]);
    let base_port = ports.base_port().to_string();
    let mut all_args = args.to_vec();
    let about_base_port = args.contains(&"--base-port");
    let ends_in_option = args.last().is_some_and(|a| a.starts_with("--"));
    if !about_base_port && !ends_in_option && args.len() >= 4 {
        all_args.extend(["--base-port", &base_port]);
    }
    let output = p2p().args(&all_args).assert().get_output().clone();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let context = format!("p2p {}\nstderr:\n{stderr}", all_args.join(" "));
    assert_eq!(output.status.code(), Some(2), "exit status of {context}");
    assert!(
        output.stdout.is_empty(),
        "stdout should be empty: {context}"
    );
    stderr
}

/// Checks the whole of what `p2p` says to the command line `args`: its
/// one error line and the way to the usage.
fn assert_says_exactly(args: &[&str], error: &str) {
    assert_eq!(
        usage_error(args),
        format!("p2p: error: {error}\n{SEE_THE_USAGE}\n"),
        "p2p {}",
        args.join(" ")
    );
}

#[test]
fn the_older_courses_habits_point_at_cdht_and_the_options() {
    assert_says_exactly(
        &["init", "1", "3", "4", "400", "0.1"],
        "unexpected argument \"0.1\"; init takes <PEER> <FIRST_SUCCESSOR> <SECOND_SUCCESSOR> \
         <PING_INTERVAL>. For the older course's <PEER> <FIRST> <SECOND> <MSS> <DROP>, run cdht \
         1 3 4 400 0.1 (or give p2p --mss and --drop)",
    );
    assert_says_exactly(
        &["1", "3", "4", "400", "0.1"],
        "missing the mode (init or join) before \"1\". For the older course's <PEER> <FIRST> \
         <SECOND> <MSS> <DROP>, run cdht 1 3 4 400 0.1",
    );
    assert_says_exactly(
        &["init", "2", "4", "5", "1", "--mss", "--drop", "0.1"],
        "--mss needs a value",
    );
    assert_says_exactly(
        &["init", "2", "4", "5", "1", "-mss", "400"],
        "-mss: an option begins with two dashes: --mss",
    );
}

#[test]
fn a_peer_out_of_range_is_refused() {
    for bad in ["256", "-1", "x", "", "1.5", "+3"] {
        assert_usage_error(
            &["init", bad, "4", "5", "1"],
            "<PEER> must be a peer identity from 0 to 255",
        );
    }
    assert_usage_error(
        &["join", "300", "4", "1"],
        "must be a peer identity from 0 to 255",
    );
    assert_usage_error(
        &["join", "2", "256", "1"],
        "must be a peer identity from 0 to 255",
    );
    assert_usage_error(
        &["init", "2", "256", "5", "1"],
        "must be a peer identity from 0 to 255",
    );
    assert_usage_error(
        &["init", "2", "4", "999", "1"],
        "must be a peer identity from 0 to 255",
    );
}

#[test]
fn a_peer_cannot_be_its_own_successor() {
    assert_usage_error(&["init", "2", "2", "5", "1"], "cannot be its own successor");
    assert_usage_error(&["init", "2", "4", "2", "1"], "cannot be its own successor");
}

#[test]
fn the_two_successors_must_differ() {
    assert_usage_error(&["init", "2", "4", "4", "1"], "must be two different peers");
}

#[test]
fn the_ping_interval_must_be_a_sane_number_of_seconds() {
    for bad in ["0", "0.001", "-1", "3601", "abc", "nan", "inf", "1e999", ""] {
        assert_usage_error(
            &["init", "2", "4", "5", bad],
            "<PING_INTERVAL> must be a number of seconds",
        );
    }
    assert_usage_error(
        &["join", "2", "4", "0"],
        "<PING_INTERVAL> must be a number of seconds",
    );
}

#[test]
fn the_base_port_must_leave_room_for_peer_255() {
    for bad in ["0", "65281", "70000", "-5", "x"] {
        assert_usage_error(
            &["init", "2", "4", "5", "1", "--base-port", bad],
            "--base-port must be from 1 to 65280",
        );
    }
}

#[test]
fn the_mss_must_fit_a_datagram() {
    for bad in ["0", "65444", "-1", "x"] {
        assert_usage_error(
            &["init", "2", "4", "5", "1", "--mss", bad],
            "--mss must be a number of bytes",
        );
    }
}

#[test]
fn the_drop_probability_must_be_from_0_to_1() {
    for bad in ["1.5", "-0.1", "x", "nan"] {
        assert_usage_error(
            &["init", "2", "4", "5", "1", "--drop", bad],
            "--drop must be a probability from 0 to 1",
        );
    }
}

#[test]
fn an_unknown_option_is_named() {
    assert_usage_error(
        &["init", "2", "4", "5", "1", "--colour", "red"],
        "unknown option --colour",
    );
    // Even as the last argument, with nothing after it that could be its
    // value, the option is unknown rather than missing a value.
    assert_usage_error(
        &["init", "2", "4", "5", "1", "--colour"],
        "unknown option --colour",
    );
}

#[test]
fn an_option_without_its_value_is_named() {
    assert_usage_error(
        &["init", "2", "4", "5", "1", "--seed"],
        "--seed needs a value",
    );
}

#[test]
fn a_missing_argument_is_named() {
    assert_usage_error(&["init", "2", "4", "5"], "missing <PING_INTERVAL>");
    assert_usage_error(&["join", "2", "4"], "missing <PING_INTERVAL>");
}

#[test]
fn a_missing_or_unknown_mode_is_refused() {
    assert_usage_error(&[], "init or join");
    assert_usage_error(&["start", "2", "4", "5", "1"], "start");
}

#[test]
fn an_extra_argument_is_named() {
    assert_usage_error(&["init", "2", "4", "5", "1", "extra"], "extra");
    assert_usage_error(&["join", "2", "4", "1", "extra"], "extra");
}

#[test]
fn a_missing_directory_is_refused() {
    let missing = std::env::temp_dir().join("p2p-test-no-such-directory/really-not-there");
    assert_usage_error(
        &[
            "init",
            "2",
            "4",
            "5",
            "1",
            "--dir",
            missing.to_str().unwrap(),
        ],
        "--dir",
    );
}

#[test]
fn help_prints_the_usage_on_standard_output() {
    p2p()
        .arg("--help")
        .assert()
        .code(0)
        .stdout(
            contains("Usage:")
                .and(contains("p2p init"))
                .and(contains("p2p join")),
        )
        .stderr("");
}

#[test]
fn version_prints_the_name_and_version() {
    p2p()
        .arg("--version")
        .assert()
        .code(0)
        .stdout(format!("p2p {}\n", env!("CARGO_PKG_VERSION")))
        .stderr("");
}

/// Starts `p2p init 3 4 5 ...` while the test holds one of peer 3's ports,
/// and checks that it gives up with exit code 1 and a message that names the
/// port, the peer and the way out (`--base-port`).
fn assert_port_in_use_is_reported(ring: &Ring) {
    let port = ring.port(3).to_string();
    p2p()
        .args(["init", "3", "4", "5", "0.1", "--base-port"])
        .arg(ring.base_port().to_string())
        .assert()
        .code(1)
        .stdout(predicate::str::contains("Ping").not())
        .stderr(
            contains(port)
                .and(contains("peer 3"))
                .and(contains("--base-port"))
                .and(contains("panicked").not()),
        );
}

#[test]
fn a_udp_port_in_use_is_reported() {
    let ring = Ring::reserve(&[3]);
    let _taken = UdpSocket::bind(("127.0.0.1", ring.port(3))).unwrap();
    assert_port_in_use_is_reported(&ring);
}

#[test]
fn a_tcp_port_in_use_is_reported() {
    let ring = Ring::reserve(&[3]);
    let _taken = TcpListener::bind(("127.0.0.1", ring.port(3))).unwrap();
    assert_port_in_use_is_reported(&ring);
}

#[test]
fn a_directory_the_peer_cannot_write_into_is_refused() {
    // Nobody, not even root, can create a file in /proc, so this holds
    // whoever runs the tests; a check of the permission bits alone would
    // let root through and fail at the first file.
    assert_usage_error(
        &["init", "2", "4", "5", "1", "--dir", "/proc"],
        "cannot write there",
    );
    assert_usage_error(
        &["join", "2", "4", "1", "--dir", "/proc"],
        "cannot write there",
    );
}

#[test]
fn an_option_given_twice_is_refused() {
    let ports = Ring::reserve(&[2, 4, 5]);
    let base_port = ports.base_port().to_string();
    // Which of the two values was meant cannot be known, so neither is
    // taken, whether the values differ or not.
    assert_usage_error(
        &[
            "init",
            "2",
            "4",
            "5",
            "1",
            "--base-port",
            &base_port,
            "--base-port",
            &base_port,
        ],
        "--base-port is given twice",
    );
    // The two spellings of an option are the same option.
    assert_usage_error(
        &["init", "2", "4", "5", "1", "--mss=300", "--mss", "400"],
        "--mss is given twice",
    );
    assert_usage_error(
        &["join", "2", "4", "1", "--successors=3", "--successors", "3"],
        "--successors is given twice",
    );
}
