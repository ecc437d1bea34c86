//! Black-box tests of a peer's bounded resources: real `p2p` processes on
//! the loopback interface, put under loads that would stall or exhaust a
//! naive peer (an output nobody reads, junk datagrams, a flood of requests,
//! a flood of idle connections), and checked through what their neighbours
//! print, what they answer, and what `/proc` says of them.
//!
//! The property every test checks in the end is the one the ring needs: the
//! peer under load is never taken for dead, and it still answers.

mod common;

use common::lines::*;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use common::{DEADLINE, Ring, Unread, exchange, noise, predecessors, successors};
use p2p::message::{Datagram as Message, Ordinal};
use p2p::ring::PeerId;

/// The ping interval of most of these tests: short so that a stalled peer
/// would soon be declared dead, long enough that several rings on two cores
/// are not busy all the time.
const INTERVAL: f64 = 0.2;

/// The small ring of these tests; its middle peer is the one put under load.
const SMALL_RING: [u8; 3] = [30, 40, 50];
const TARGET: u8 = 40;

/// The identity the test's own sockets play: in no ring, with its ports
/// reserved so that the peer's answers come back to the test.
const STRANGER: u8 = 99;

/// Panics, showing every transcript, if a peer of `ring` printed a line
/// saying that some peer is no longer alive.
fn assert_nobody_declared_dead(ring: &Ring, peers: &[u8]) {
    for &peer in peers {
        if let Some(line) = ring
            .lines(peer)
            .into_iter()
            .find(|line| line.ends_with(" is no longer alive"))
        {
            panic!(
                "peer {peer} printed {line:?}, but nobody died\n{}",
                ring.describe_all()
            );
        }
    }
}

/// Waits until both predecessors of `peer` in `ids` print that `peer`
/// answered their pings, in lines after their marks in `from`.
fn wait_until_predecessors_hear(ring: &Ring, ids: &[u8], peer: u8, from: &BTreeMap<u8, usize>) {
    let (first, second) = predecessors(ids, peer);
    for predecessor in [first, second] {
        let mark = from.get(&predecessor).copied().unwrap_or(0);
        ring.wait_for_line_after(predecessor, mark, &response_received(peer), DEADLINE);
    }
}

/// Sends well-formed pings numbered from `seq` on from `socket` (which
/// plays [`STRANGER`]) to `peer` until one is answered, or panics at the
/// deadline. A ping is sent again, with the next number, when no answer
/// has come for a quarter of a second: right after a flood, the peer's
/// socket buffer may be full, and the kernel then drops the ping before the
/// peer can see it. Answers to earlier pings of the test may be waiting in
/// the socket; they are skipped. The socket's read timeout bounds each
/// wait, so no sleep is needed.
fn assert_answers_a_ping(ring: &Ring, socket: &UdpSocket, peer: u8, seq: u32) {
    let deadline = Instant::now() + DEADLINE;
    let mut buffer = [0u8; 65_536];
    for seq in seq.. {
        let ping = Message::Ping {
            from: PeerId(STRANGER),
            to: PeerId(peer),
            successor: Ordinal::Second,
            seq,
        };
        let expected = Message::Pong {
            from: PeerId(peer),
            to: PeerId(STRANGER),
            seq,
        };
        socket
            .send_to(&ping.to_bytes(), ("127.0.0.1", ring.port(peer)))
            .unwrap();
        let resend_at = Instant::now() + Duration::from_millis(250);
        loop {
            let now = Instant::now();
            assert!(
                now < deadline,
                "peer {peer} did not answer a ping within {DEADLINE:?}\n{}",
                ring.describe_all()
            );
            if now >= resend_at {
                break;
            }
            socket.set_read_timeout(Some(resend_at - now)).unwrap();
            let Ok((len, _)) = socket.recv_from(&mut buffer) else {
                continue;
            };
            if Message::from_bytes(&buffer[..len]).is_ok_and(|reply| reply == expected) {
                return;
            }
        }
    }
}

/// `count` datagrams that are not valid messages for `peer`, of every kind
/// a peer reports: noise, empty, a whole 64 KiB, fields that do not parse,
/// too few or too many fields, and a valid ping addressed to another peer.
fn junk(peer: u8, count: usize) -> Vec<Vec<u8>> {
    let valid = Message::Ping {
        from: PeerId(STRANGER),
        to: PeerId(peer),
        successor: Ordinal::First,
        seq: 424_242,
    }
    .to_string();
    let for_someone_else = Message::Ping {
        from: PeerId(STRANGER),
        to: PeerId(peer.wrapping_add(77)),
        successor: Ordinal::First,
        seq: 1,
    };
    let kinds: Vec<Vec<u8>> = vec![
        noise(100, 1),
        Vec::new(),
        vec![b'P'; 65_000],
        valid.replace("424242", "4242x42").into_bytes(),
        valid.rsplit_once(' ').unwrap().0.as_bytes().to_vec(),
        format!("{valid} {valid}").into_bytes(),
        for_someone_else.to_bytes(),
    ];
    for datagram in &kinds {
        assert!(
            Message::from_bytes(datagram).map_or(true, |m| m.to() != PeerId(peer)),
            "not junk: {:?}",
            String::from_utf8_lossy(datagram)
        );
    }
    (0..count).map(|i| kinds[i % kinds.len()].clone()).collect()
}

// ----- An output nobody reads -----

#[test]
fn a_peer_whose_standard_error_is_never_read_survives_3000_junk_datagrams() {
    let ids = SMALL_RING;
    let mut ring = Ring::builder(&ids)
        .interval(INTERVAL)
        .also_reserve(&[STRANGER])
        .unread(TARGET, Unread::Stderr)
        .start();
    // The pipe is full before the junk comes, so that every diagnostic the
    // junk causes finds its way out blocked; a peer that wrote diagnostics
    // from its event loop would stop there, and stop answering pings.
    let filled = ring.fill_unread_pipe(TARGET);
    assert!(filled > 0, "the pipe took no bytes");
    let (first, second) = successors(&ids, TARGET);
    ring.wait_for_line(TARGET, &pings_sent(first, second), DEADLINE);
    wait_until_predecessors_hear(&ring, &ids, TARGET, &BTreeMap::new());

    let socket = UdpSocket::bind(("127.0.0.1", ring.port(STRANGER))).unwrap();
    let peer_address = ("127.0.0.1", ring.port(TARGET));
    for datagram in junk(TARGET, 3_000) {
        socket.send_to(&datagram, peer_address).unwrap();
    }
    // The peer reads its datagrams in order, so once this answer comes it
    // has dealt with every junk datagram that reached it.
    assert_answers_a_ping(&ring, &socket, TARGET, 7);

    // It goes on as a member of the ring: its predecessors hear its answers
    // in lines printed after the junk, and it pings its successors.
    let after_junk = ring.marks(&ids);
    wait_until_predecessors_hear(&ring, &ids, TARGET, &after_junk);
    let mark = ring.mark(TARGET);
    ring.wait_for_line_after(TARGET, mark, &pings_sent(first, second), DEADLINE);
    assert_answers_a_ping(&ring, &socket, TARGET, 100);

    // Nobody read the pipe, so the peer's standard error was blocked all
    // along: the test did test what it says.
    assert!(
        ring.unread_pipe_is_full(TARGET),
        "peer {TARGET}'s standard error should still be full\n{}",
        ring.describe_all()
    );
    ring.assert_running(TARGET);
    assert_nobody_declared_dead(&ring, &ids);
    ring.assert_no_panic();
}

#[test]
fn a_burst_of_junk_datagrams_is_summarised_on_standard_error() {
    let ids = SMALL_RING;
    let ring = Ring::builder(&ids)
        .interval(INTERVAL)
        .also_reserve(&[STRANGER])
        .start();
    let (first, second) = successors(&ids, TARGET);
    ring.wait_for_line(TARGET, &pings_sent(first, second), DEADLINE);

    let socket = UdpSocket::bind(("127.0.0.1", ring.port(STRANGER))).unwrap();
    let peer_address = ("127.0.0.1", ring.port(TARGET));
    let sent = 3_000;
    for datagram in junk(TARGET, sent) {
        socket.send_to(&datagram, peer_address).unwrap();
    }
    assert_answers_a_ping(&ring, &socket, TARGET, 7);

    // A burst of lines, then one that counts the rest.
    let summary = ring.wait_for_stderr_containing(TARGET, "more like this in the last", DEADLINE);
    let stderr = ring.stderr_lines(TARGET);
    let line = &stderr[summary];
    let more: usize = line
        .split("p2p: ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| panic!("the summary {line:?} should start with p2p: N more"));
    assert!(
        (1..sent).contains(&more),
        "the summary {line:?} should count some, not all, of the {sent} datagrams"
    );
    assert!(
        stderr.len() < 100,
        "{sent} junk datagrams should give a short summary, not {} lines\n{}",
        stderr.len(),
        ring.describe_all()
    );
    assert_nobody_declared_dead(&ring, &ids);
    ring.assert_no_panic();
}

#[test]
fn a_peer_whose_standard_output_is_never_read_pinging_every_50_ms_for_30_s_stays_alive() {
    let ids = SMALL_RING;
    // Only the peer under test pings every 50 ms. Its neighbours ping at the
    // usual pace, so that they remember their predecessors for 1.6 s rather
    // than 1.15 s: a machine that hangs for a second or so (a shared,
    // loaded test machine does) must not make the whole ring believe it
    // was dropped, which is another matter than an unread output, tested
    // in membership.rs.
    let mut ring = Ring::builder(&ids)
        .interval(INTERVAL)
        .peer_interval(TARGET, 0.05)
        .also_reserve(&[STRANGER])
        .unread(TARGET, Unread::Stdout)
        .start();
    // Full from the start, so that the peer's output is blocked for the
    // whole run rather than from the moment its own lines would fill it.
    let filled = ring.fill_unread_pipe(TARGET);
    assert!(filled > 0, "the pipe took no bytes");
    wait_until_predecessors_hear(&ring, &ids, TARGET, &BTreeMap::new());

    // Extra pings from the test socket make the peer print a line each, far
    // more lines than any bounded queue keeps, so that lines are dropped
    // rather than kept without end. They come in bursts, and a deliberate
    // sleep between bursts spreads this load over the 30 s (it waits for
    // nothing).
    let socket = UdpSocket::bind(("127.0.0.1", ring.port(STRANGER))).unwrap();
    let peer_address = ("127.0.0.1", ring.port(TARGET));
    let run = Duration::from_secs(30);
    let started = Instant::now();
    let mut seq = 1_000;
    while started.elapsed() < run {
        for _ in 0..100 {
            let ping = Message::Ping {
                from: PeerId(STRANGER),
                to: PeerId(TARGET),
                successor: Ordinal::Second,
                seq,
            };
            socket.send_to(&ping.to_bytes(), peer_address).unwrap();
            seq += 1;
        }
        thread::sleep(Duration::from_millis(50));
    }

    // 30 s at 20 rounds a second: the peer was never taken for dead, and
    // its predecessors still hear its answers now.
    assert_nobody_declared_dead(&ring, &[30, 50]);
    let now = ring.marks(&ids);
    wait_until_predecessors_hear(&ring, &ids, TARGET, &now);
    assert_answers_a_ping(&ring, &socket, TARGET, 1);
    assert!(
        ring.unread_pipe_is_full(TARGET),
        "peer {TARGET}'s standard output should still be full\n{}",
        ring.describe_all()
    );
    ring.assert_running(TARGET);
    assert_nobody_declared_dead(&ring, &[30, 50]);
    ring.assert_no_panic();
}

// ----- Floods of requests and connections -----

/// The most threads the flooded peer may have. Its bounds (32 outgoing
/// requests, 32 incoming connections and 16 watches, 8 transfers each way,
/// and its few threads of its own) come to about 100.
const MAX_THREADS: usize = 120;

/// A peer that accepts connections on a port and never answers, as a hung
/// peer does: it reads the first line of each connection, keeps the
/// connection open, and says nothing.
struct SilentPeer {
    stop: Arc<AtomicBool>,
    port: u16,
    accepter: Option<thread::JoinHandle<Vec<String>>>,
}

impl SilentPeer {
    fn start(port: u16) -> SilentPeer {
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let accepter = thread::spawn(move || {
            let mut first_lines = Vec::new();
            let mut held = Vec::new();
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                // The line comes right after the connection; a short wait
                // keeps the accepting going if it does not.
                let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
                let mut line = String::new();
                let _ = BufReader::new(&stream).read_line(&mut line);
                first_lines.push(line.trim_end().to_string());
                held.push(stream);
            }
            first_lines
        });
        SilentPeer {
            stop,
            port,
            accepter: Some(accepter),
        }
    }

    /// Stops accepting and returns the first line of every connection.
    fn finish(mut self) -> Vec<String> {
        self.stop_accepting();
        self.accepter.take().unwrap().join().unwrap()
    }

    fn stop_accepting(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accepting thread, which then sees the flag.
        let _ =
            TcpStream::connect_timeout(&([127, 0, 0, 1], self.port).into(), Duration::from_secs(1));
    }
}

impl Drop for SilentPeer {
    fn drop(&mut self) {
        if let Some(accepter) = self.accepter.take() {
            self.stop_accepting();
            let _ = accepter.join();
        }
    }
}

#[test]
fn a_flood_of_stores_whose_origin_never_answers_leaves_a_bounded_thread_count() {
    let ids = SMALL_RING;
    // The test plays peer 200, the origin of every store: the flooded peer
    // owns the file at once and sends FETCH to 200, which never answers.
    let origin = 200;
    let mut ring = Ring::builder(&ids)
        .interval(INTERVAL)
        .also_reserve(&[origin])
        .start();
    wait_until_predecessors_hear(&ring, &ids, TARGET, &BTreeMap::new());
    let silent = SilentPeer::start(ring.port(origin));
    let before_flood = ring.thread_count(TARGET);

    let clients = 8;
    let per_client = 1_250;
    let request = format!("STORE 2067 {origin} 0 owner");
    let port = ring.port(TARGET);
    let (done, finished) = mpsc::channel();
    for _ in 0..clients {
        let done = done.clone();
        let request = request.clone();
        thread::spawn(move || {
            let mut unexpected = Vec::new();
            for _ in 0..per_client {
                match exchange(port, &request) {
                    Ok(reply) if reply == "OK" => {}
                    other => unexpected.push(format!("{other:?}")),
                }
            }
            let _ = done.send(unexpected);
        });
    }
    drop(done);

    // Sample the thread count while the clients run. The pause between
    // samples is the channel's timeout: the loop ends as soon as the last
    // client is done.
    let flood_deadline = Instant::now() + Duration::from_secs(25);
    let mut most = before_flood;
    let mut samples = 0;
    let mut unexpected = Vec::new();
    let mut running = clients;
    while running > 0 {
        most = most.max(ring.thread_count(TARGET));
        samples += 1;
        assert!(
            Instant::now() < flood_deadline,
            "the flood did not end within 25 s\n{}",
            ring.describe_all()
        );
        match finished.recv_timeout(Duration::from_millis(20)) {
            Ok(mut replies) => {
                unexpected.append(&mut replies);
                running -= 1;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    let flood_ended = Instant::now();
    assert!(
        unexpected.is_empty(),
        "{} of {} stores did not get OK, e.g. {:?}\n{}",
        unexpected.len(),
        clients * per_client,
        &unexpected[..unexpected.len().min(5)],
        ring.describe_all()
    );

    // After the flood, the fetches already under way or queued run out
    // (each waits for an answer that never comes); the count is watched
    // for as long as one of them may take, a deliberate duration.
    while flood_ended.elapsed() < Duration::from_secs(3) {
        most = most.max(ring.thread_count(TARGET));
        samples += 1;
        thread::sleep(Duration::from_millis(20));
    }
    assert!(
        most <= MAX_THREADS,
        "peer {TARGET} had up to {most} threads (from {before_flood}) during the flood, \
         more than {MAX_THREADS}\n{}",
        ring.describe_all()
    );
    assert!(samples > 10, "only {samples} samples of the thread count");

    // The flood did reach the origin: the flooded peer asked it for the
    // file, as the protocol says.
    let fetches = silent.finish();
    assert!(
        !fetches.is_empty() && fetches.iter().all(|l| *l == format!("FETCH 2067 {TARGET}")),
        "peer 200 should have been sent FETCH 2067 {TARGET}, but got {:?}",
        &fetches[..fetches.len().min(5)]
    );
    ring.wait_for_line(TARGET, &store_accepted("2067"), DEADLINE);

    // And the ring never lost the flooded peer.
    let now = ring.marks(&ids);
    wait_until_predecessors_hear(&ring, &ids, TARGET, &now);
    ring.assert_running(TARGET);
    assert_nobody_declared_dead(&ring, &ids);
    ring.assert_no_panic();
    eprintln!(
        "threads of peer {TARGET}: {before_flood} before the flood, at most {most} in \
         {samples} samples; {} fetches reached peer {origin}",
        fetches.len()
    );
}

/// Counts of a flood of idle connections, shared by its threads and the
/// test, which waits on the condition variable for them to change.
#[derive(Default)]
struct FloodCounts {
    /// Connections made so far.
    opened: usize,
    /// Connections the peer closed (or that failed) so far.
    closed: usize,
}

#[derive(Default)]
struct Flood {
    counts: Mutex<FloodCounts>,
    changed: Condvar,
    stop: AtomicBool,
}

impl Flood {
    fn update(&self, change: impl FnOnce(&mut FloodCounts)) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        change(&mut counts);
        self.changed.notify_all();
    }

    fn snapshot(&self) -> (usize, usize) {
        let counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        (counts.opened, counts.closed)
    }

    /// Waits until `wanted` holds of the counts, or panics at the deadline.
    fn wait_until(&self, what: &str, wanted: impl Fn(&FloodCounts) -> bool) {
        let deadline = Instant::now() + DEADLINE;
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        while !wanted(&counts) {
            let now = Instant::now();
            assert!(
                now < deadline,
                "the flood did not reach {what} within {DEADLINE:?}: {} opened, {} closed",
                counts.opened,
                counts.closed
            );
            counts = self
                .changed
                .wait_timeout(counts, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

/// Keeps one idle connection open to `port` until the flood stops: it
/// connects and sends nothing, and when the peer closes the connection, it
/// connects again at once. The read timeout only lets it see the stop.
fn hold_idle_connection(port: u16, flood: &Flood) {
    let address = ([127, 0, 0, 1], port).into();
    let mut buffer = [0u8; 64];
    while !flood.stop.load(Ordering::SeqCst) {
        let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_secs(1)) else {
            flood.update(|c| c.closed += 1);
            continue;
        };
        flood.update(|c| c.opened += 1);
        let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
        loop {
            if flood.stop.load(Ordering::SeqCst) {
                return;
            }
            match std::io::Read::read(&mut stream, &mut buffer) {
                Ok(0) => break,
                Ok(_) => continue,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    continue;
                }
                Err(_) => break,
            }
        }
        flood.update(|c| c.closed += 1);
    }
}

#[test]
fn a_join_through_a_peer_flooded_with_idle_connections_is_accepted() {
    const TEACHING_RING: [u8; 7] = [2, 4, 5, 8, 9, 14, 19];
    let (known, newcomer) = (8, 15);
    let mut ring = Ring::builder(&TEACHING_RING)
        .interval(INTERVAL)
        .also_reserve(&[newcomer])
        .start();
    for &peer in &TEACHING_RING {
        let (first, second) = successors(&TEACHING_RING, peer);
        ring.wait_for_line(peer, &response_received(first), DEADLINE);
        ring.wait_for_line(peer, &response_received(second), DEADLINE);
    }

    // About ten times as many idle connections as the peer keeps open, each
    // replaced as soon as the peer closes it.
    let connections = 300;
    let flood = Arc::new(Flood::default());
    let port = ring.port(known);
    let holders: Vec<thread::JoinHandle<()>> = (0..connections)
        .map(|_| {
            let flood = flood.clone();
            thread::Builder::new()
                .stack_size(64 * 1024)
                .spawn(move || hold_idle_connection(port, &flood))
                .unwrap()
        })
        .collect();
    // The peer is full and evicting before the join starts.
    flood.wait_until("300 connections and evictions", |c| {
        c.opened >= connections && c.closed >= 50
    });

    let before = ring.marks(&TEACHING_RING);
    let mark = |peer: u8| before[&peer];
    let (_, closed_at_join) = flood.snapshot();
    ring.spawn_join(newcomer, known, INTERVAL);
    ring.wait_for_lines_in_order(
        newcomer,
        &[
            JOIN_ACCEPTED,
            &first_successor(19),
            &second_successor(2),
            &pings_sent(19, 2),
        ],
        DEADLINE,
    );
    let (_, closed_after_join) = flood.snapshot();
    for forwarder in [8, 9] {
        ring.wait_for_line_after(
            forwarder,
            mark(forwarder),
            &join_forwarded(newcomer),
            DEADLINE,
        );
    }
    ring.wait_for_lines_in_order_after(
        14,
        mark(14),
        &[&join_received(newcomer), &new_first(15), &new_second(19)],
        DEADLINE,
    );
    ring.wait_for_lines_in_order_after(
        9,
        mark(9),
        &[SUCCESSOR_CHANGE, &new_first(14), &new_second(15)],
        DEADLINE,
    );

    flood.stop.store(true, Ordering::SeqCst);
    for holder in holders {
        holder.join().unwrap();
    }
    // The flood was on while the join went through: the peer went on
    // closing idle connections meanwhile.
    assert!(
        closed_after_join > closed_at_join,
        "the flood should have gone on during the join ({closed_at_join} closed before, \
         {closed_after_join} after)"
    );
    let mut all = TEACHING_RING.to_vec();
    all.push(newcomer);
    assert_nobody_declared_dead(&ring, &all);
    ring.assert_no_panic();
}
