//! Tests of the stop-and-wait transfer module on its own, over the loopback
//! interface: a sender and a receiver in two threads of this process, each
//! with a socket on a free port that the kernel picks, so these tests need
//! no reserved port block and run beside any ring.
//!
//! What is checked is what the protocol promises (spec/protocol.md, "The
//! file transfer (UDP)"): every byte arrives once and in order whatever the
//! size and the simulated loss, the logs have the documented format, and
//! the segments on the wire are the documented ones.

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use common::lines::*;
use common::{
    LogLine, Ring, TempDir, assert_every_drop_is_retransmitted, assert_same_bytes, loopback, noise,
    predecessors, read_transfer_log, seed_that_drops_soon_but_not_first, spawn_receiver,
    successors, wait_for_file,
};
use p2p::config::DEFAULT_MSS;
use p2p::transfer::{
    DropGenerator, LINGER, ReceiverConfig, SenderConfig, TimeoutRule, TransferError, TransferLog,
    TransferReport, linger, linger_with, receive_file_with, send_file,
};

/// Far longer than any transfer of these tests takes on a busy machine; a
/// passing test never waits this long.
const DEADLINE: Duration = Duration::from_secs(30);

fn config(mss: usize, drop_probability: f64, seed: u64) -> SenderConfig {
    SenderConfig {
        mss,
        drop_probability,
        seed,
        timeout: TimeoutRule::Estimated,
        first_rtt: None,
    }
}

/// Sends `data` from one loopback socket to another with `config`, and
/// returns what arrived and the sender's report.
fn transfer_with_logs(
    data: &[u8],
    config: &SenderConfig,
    sender_log: TransferLog,
    receiver_log: TransferLog,
) -> (Vec<u8>, TransferReport) {
    let mut sender_log = sender_log;
    let size = data.len() as u64;
    let (receiver, outcome) = spawn_receiver(size, receiver_log);
    let socket = loopback();
    let report = send_file(&socket, receiver, data, size, config, &mut sender_log)
        .unwrap_or_else(|e| panic!("sending {size} bytes with {config:?} failed: {e}"));
    let received = outcome
        .recv_timeout(DEADLINE)
        .expect("the receiver finishes")
        .unwrap_or_else(|e| panic!("receiving {size} bytes with {config:?} failed: {e}"));
    (received, report)
}

fn transfer(data: &[u8], config: &SenderConfig) -> (Vec<u8>, TransferReport) {
    transfer_with_logs(
        data,
        config,
        TransferLog::disabled(),
        TransferLog::disabled(),
    )
}

#[test]
fn files_of_every_awkward_size_arrive_intact() {
    for mss in [1, 7, DEFAULT_MSS] {
        for len in [
            0,
            1,
            mss - 1,
            mss,
            mss + 1,
            2 * mss,
            2 * mss + 1,
            10 * mss - 1,
        ] {
            let data = noise(len, len as u32);
            let (received, report) = transfer(&data, &config(mss, 0.0, 1));
            assert_same_bytes(&received, &data, &format!("{len} bytes at MSS {mss}"));
            assert_eq!(
                report.segments,
                len.div_ceil(mss) as u64,
                "{len} bytes at MSS {mss}"
            );
            assert_eq!(report.drops, 0);
        }
    }
}

#[test]
fn three_mebibytes_arrive_intact_at_the_default_mss() {
    let data = noise(3 << 20, 3);
    let (received, report) = transfer(&data, &config(DEFAULT_MSS, 0.0, 1));
    assert_same_bytes(&received, &data, "3 MiB");
    assert_eq!(report.segments, (3u64 << 20).div_ceil(DEFAULT_MSS as u64));
}

#[test]
fn the_largest_mss_fills_a_datagram() {
    // 65443 bytes of data and the header fit one UDP datagram.
    let mss = 65_443;
    let data = noise(3 * mss + 5, 4);
    let (received, report) = transfer(&data, &config(mss, 0.0, 1));
    assert_same_bytes(&received, &data, "MSS 65443");
    assert_eq!(report.segments, 4);
}

/// Sends `data` with drop probability `drop` and checks that it arrives
/// whole and that some segments were in fact dropped and sent again.
fn assert_lossy_transfer_is_intact(len: usize, mss: usize, drop: f64, seed: u64) {
    let data = noise(len, seed as u32);
    let (received, report) = transfer(&data, &config(mss, drop, seed));
    assert_same_bytes(&received, &data, &format!("drop {drop}"));
    assert!(
        report.drops > 0,
        "drop {drop}: nothing was dropped: {report:?}"
    );
    assert!(
        report.retransmissions >= report.drops,
        "drop {drop}: every drop needs a retransmission: {report:?}"
    );
    assert_eq!(report.segments, len.div_ceil(mss) as u64);
}

#[test]
fn a_tenth_of_segments_dropped_still_delivers_every_byte() {
    assert_lossy_transfer_is_intact(200_000, DEFAULT_MSS, 0.1, 11);
}

#[test]
fn three_tenths_of_segments_dropped_still_delivers_every_byte() {
    assert_lossy_transfer_is_intact(100_000, 1000, 0.3, 12);
}

#[test]
fn half_the_segments_dropped_still_delivers_every_byte() {
    assert_lossy_transfer_is_intact(60_000, 1000, 0.5, 13);
}

#[test]
fn both_logs_record_every_segment_event_in_the_documented_format() {
    let dir = TempDir::new("transfer-logs");
    let sender_path = dir.join("responding_log.txt");
    let receiver_path = dir.join("requesting_log.txt");
    let mss = 300;
    let drop = 0.3;
    let seed = seed_that_drops_soon_but_not_first(drop);
    let data = noise(20 * mss + 17, 5);
    let start = Instant::now();
    let (received, report) = transfer_with_logs(
        &data,
        &config(mss, drop, seed),
        TransferLog::append_to(&sender_path, start),
        TransferLog::append_to(&receiver_path, start),
    );
    assert_same_bytes(&received, &data, "logged transfer");
    assert!(report.drops > 0);

    let sent = read_transfer_log(&sender_path);
    // As in the spec's example: `snd <t> 1 300 0`, then the acknowledgement.
    assert_eq!(
        (
            sent[0].event.as_str(),
            sent[0].seq,
            sent[0].bytes,
            sent[0].ack
        ),
        ("snd", 1, mss as u64, 0),
        "{sent:?}"
    );
    assert_eq!(
        (
            sent[1].event.as_str(),
            sent[1].seq,
            sent[1].bytes,
            sent[1].ack
        ),
        ("rcv", 0, 0, 1 + mss as u64),
        "{sent:?}"
    );
    assert!(
        sent.windows(2).all(|pair| pair[0].time <= pair[1].time),
        "the times of the sender's log go backwards: {sent:?}"
    );
    // Every data segment is sent with the right seq and length...
    let end = 1 + data.len() as u64;
    for line in &sent {
        match line.event.as_str() {
            "snd" | "Drop" | "RTX" => {
                assert!(line.seq >= 1 && line.seq < end, "{line:?}");
                assert_eq!(line.bytes, (end - line.seq).min(mss as u64), "{line:?}");
                assert_eq!(line.ack, 0, "{line:?}");
                assert_eq!((line.seq - 1) % mss as u64, 0, "{line:?}");
            }
            _ => assert_eq!((line.seq, line.bytes), (0, 0), "{line:?}"),
        }
    }
    // ...and every drop is followed by a retransmission of the same segment.
    assert_eq!(
        assert_every_drop_is_retransmitted(&sent) as u64,
        report.drops
    );
    let segments = sent
        .iter()
        .filter(|l| l.event != "rcv")
        .map(|l| l.seq)
        .collect::<std::collections::BTreeSet<_>>();
    assert_eq!(segments.len() as u64, report.segments, "{sent:?}");
    assert_eq!(sent.last().map(|l| l.ack), Some(end), "{sent:?}");

    let got = read_transfer_log(&receiver_path);
    let data_lines: Vec<&LogLine> = got.iter().filter(|l| l.event == "rcv").collect();
    assert!(data_lines.len() as u64 >= report.segments, "{got:?}");
    assert_eq!(
        (data_lines[0].seq, data_lines[0].bytes, data_lines[0].ack),
        (1, mss as u64, 0)
    );
    for line in &got {
        match line.event.as_str() {
            "rcv" => assert!(line.seq >= 1 && line.seq < end, "{line:?}"),
            "snd" => assert_eq!((line.seq, line.bytes), (0, 0), "{line:?}"),
            _ => panic!("the receiver logged {line:?}"),
        }
    }
    assert!(got.iter().any(|l| l.event == "snd" && l.ack == end));
}

#[test]
fn two_transfers_at_once_do_not_mix() {
    let first = noise(300_000, 21);
    let second = noise(250_001, 22);
    let other = {
        let data = second.clone();
        thread::spawn(move || transfer(&data, &config(999, 0.1, 2)).0)
    };
    let (received, _) = transfer(&first, &config(1200, 0.1, 1));
    let received_other = other.join().expect("the other transfer");
    assert_same_bytes(&received, &first, "the first transfer");
    assert_same_bytes(&received_other, &second, "the second transfer");
}

/// Waits up to a few seconds for one datagram on `socket`.
fn receive(socket: &UdpSocket) -> Vec<u8> {
    let mut buffer = vec![0u8; 65_536];
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let (len, _) = socket.recv_from(&mut buffer).expect("an answer within 5 s");
    buffer.truncate(len);
    buffer
}

fn data_segment(seq: u64, payload: &[u8]) -> Vec<u8> {
    let mut datagram = format!("DATA {seq} 0 {}\n", payload.len()).into_bytes();
    datagram.extend_from_slice(payload);
    datagram
}

#[test]
fn the_receiver_acknowledges_every_segment_and_keeps_each_byte_once() {
    // The sender is played by hand, writing segments as the spec spells them.
    let size = 10u64;
    let (receiver, outcome) = spawn_receiver(size, TransferLog::disabled());
    let sender = loopback();
    let stranger = loopback();

    sender
        .send_to(&data_segment(1, b"\n\0abc"), receiver)
        .unwrap();
    assert_eq!(receive(&sender), b"ACK 0 6\n");
    // A repeat is acknowledged again, not kept twice.
    sender
        .send_to(&data_segment(1, b"\n\0abc"), receiver)
        .unwrap();
    assert_eq!(receive(&sender), b"ACK 0 6\n");
    // Ignored: a segment from another address, a header whose length
    // disagrees with the data, and garbage.
    stranger
        .send_to(&data_segment(6, b"XXXXX"), receiver)
        .unwrap();
    sender.send_to(b"DATA 6 0 9\nshort", receiver).unwrap();
    sender.send_to(b"\xff\xfe rubbish", receiver).unwrap();
    // A segment that does not start at the next byte is only acknowledged.
    sender.send_to(&data_segment(8, b"zz"), receiver).unwrap();
    assert_eq!(receive(&sender), b"ACK 0 6\n");
    sender
        .send_to(&data_segment(6, b"de\nf\0"), receiver)
        .unwrap();
    assert_eq!(receive(&sender), b"ACK 0 11\n");

    let received = outcome
        .recv_timeout(DEADLINE)
        .expect("the receiver finishes")
        .expect("the file arrives");
    assert_eq!(received, b"\n\0abcde\nf\0");
    // After the last byte, a repeat of the last segment (its ACK was lost,
    // say) is still acknowledged while the receiver lingers.
    sender
        .send_to(&data_segment(6, b"de\nf\0"), receiver)
        .unwrap();
    assert_eq!(receive(&sender), b"ACK 0 11\n");
    // The stranger never heard anything.
    stranger.set_nonblocking(true).unwrap();
    let mut buffer = [0u8; 100];
    assert!(stranger.recv_from(&mut buffer).is_err());
}

#[test]
fn linger_stops_once_the_sender_has_been_quiet_for_two_seconds() {
    let socket = loopback();
    let sender = loopback();
    let sender_address = sender.local_addr().unwrap();
    let receiver_address = socket.local_addr().unwrap();
    let started = Instant::now();
    let lingering = thread::spawn(move || {
        linger(&socket, sender_address, 3, &mut TransferLog::disabled());
        started.elapsed()
    });
    sender
        .send_to(&data_segment(1, b"abc"), receiver_address)
        .unwrap();
    assert_eq!(receive(&sender), b"ACK 0 4\n");
    let elapsed = lingering.join().unwrap();
    assert!(
        elapsed >= LINGER && elapsed < LINGER + Duration::from_secs(3),
        "linger lasted {elapsed:?}"
    );
}

#[test]
fn the_sender_gives_up_when_the_receiver_goes_quiet_mid_transfer() {
    // A receiver that acknowledges the first three segments by hand and is
    // then never heard from again, as if it had crashed.
    let receiver = loopback();
    let receiver_address = receiver.local_addr().unwrap();
    let mss = 100;
    let data = noise(100 * mss, 31);
    let sender = thread::spawn(move || {
        let socket = loopback();
        let started = Instant::now();
        let result = send_file(
            &socket,
            receiver_address,
            &data[..],
            data.len() as u64,
            &config(mss, 0.0, 1),
            &mut TransferLog::disabled(),
        );
        (result, started.elapsed())
    });
    let mut next = 1u64;
    while next < 1 + 3 * mss as u64 {
        let mut buffer = vec![0u8; 65_536];
        receiver
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let (len, from) = receiver.recv_from(&mut buffer).expect("a segment");
        let header_end = buffer[..len].iter().position(|&b| b == b'\n').unwrap();
        let header = String::from_utf8_lossy(&buffer[..header_end]).into_owned();
        let fields: Vec<&str> = header.split(' ').collect();
        assert_eq!(fields[0], "DATA", "{header}");
        let seq: u64 = fields[1].parse().unwrap();
        if seq == next {
            next += fields[3].parse::<u64>().unwrap();
        }
        receiver
            .send_to(format!("ACK 0 {next}\n").as_bytes(), from)
            .unwrap();
    }
    let (result, elapsed) = sender.join().unwrap();
    assert!(
        matches!(result, Err(TransferError::Silent { .. })),
        "{result:?}"
    );
    // Five seconds of silence over at least five sends, with the timeout
    // backing off to at most a second: well under ten seconds in all.
    assert!(
        elapsed < Duration::from_secs(10),
        "gave up after {elapsed:?}"
    );
    assert!(
        elapsed >= Duration::from_secs(5),
        "gave up after {elapsed:?}"
    );
}

#[test]
fn an_mss_of_zero_is_refused_at_once() {
    // Nobody listens: the sender must refuse before it sends anything.
    let nobody = loopback();
    let started = Instant::now();
    let result = send_file(
        &loopback(),
        nobody.local_addr().unwrap(),
        &b"some bytes"[..],
        10,
        &config(0, 0.0, 1),
        &mut TransferLog::disabled(),
    );
    let elapsed = started.elapsed();
    let Err(error) = result else {
        panic!("an MSS of 0 was accepted: {result:?}");
    };
    assert!(matches!(error, TransferError::BadMss), "{error:?}");
    assert!(
        error.to_string().contains("at least 1"),
        "the error does not say what the MSS must be: {error}"
    );
    assert!(
        elapsed < Duration::from_secs(1),
        "refused after {elapsed:?}"
    );
    nobody.set_nonblocking(true).unwrap();
    let mut buffer = [0u8; 100];
    assert!(nobody.recv_from(&mut buffer).is_err(), "a segment was sent");
}

/// The idle limit and linger of the receivers in the stranger tests, much
/// shorter than the peer's 20 s and 2 s so that the tests stay fast.
const SHORT_LIMIT: Duration = Duration::from_millis(300);

/// How long a stranger goes on sending at most. A receiver that the
/// stranger kept alive would outlast it, far beyond its own limit.
const STRANGER_SENDS_FOR: Duration = Duration::from_secs(8);

/// How late past its limit a receiver may stop on a busy machine; well
/// under [`STRANGER_SENDS_FOR`], so that a receiver kept alive fails.
const LATE_STOP: Duration = Duration::from_secs(3);

fn short_receiver_config() -> ReceiverConfig {
    ReceiverConfig {
        idle_limit: SHORT_LIMIT,
        linger: SHORT_LIMIT,
    }
}

/// A peer that has nothing to do with the transfer, sending datagrams to
/// the receiver every 2 ms from a thread of its own.
struct Stranger {
    stop: Arc<AtomicBool>,
    thread: thread::JoinHandle<(UdpSocket, usize)>,
}

impl Stranger {
    /// Starts sending `datagrams` to `target` in turn, over and over.
    fn start(target: SocketAddr, datagrams: Vec<Vec<u8>>) -> Stranger {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = Arc::clone(&stop);
            thread::spawn(move || {
                let socket = loopback();
                let started = Instant::now();
                let mut sent = 0;
                while !stop.load(Ordering::SeqCst) && started.elapsed() < STRANGER_SENDS_FOR {
                    let datagram = &datagrams[sent % datagrams.len()];
                    socket.send_to(datagram, target).unwrap();
                    sent += 1;
                    thread::sleep(Duration::from_millis(2));
                }
                (socket, sent)
            })
        };
        Stranger { stop, thread }
    }

    /// Stops sending, checks that the stranger really was busy and that
    /// nobody answered it.
    fn stop(self) {
        self.stop.store(true, Ordering::SeqCst);
        let (socket, sent) = self.thread.join().unwrap();
        assert!(sent >= 10, "the stranger sent only {sent} datagrams");
        socket.set_nonblocking(true).unwrap();
        let mut buffer = [0u8; 100];
        assert!(
            socket.recv_from(&mut buffer).is_err(),
            "the stranger got an answer"
        );
    }
}

/// Datagrams that are not segments of any transfer.
fn junk() -> Vec<Vec<u8>> {
    vec![
        b"\xff\xfe rubbish".to_vec(),
        b"ACK 0 6\n".to_vec(),
        b"DATA 1 0 9\nshort".to_vec(),
        b"PING 3 1\n".to_vec(),
    ]
}

/// Asserts that a receiver that should stop [`SHORT_LIMIT`] after the
/// sender's last segment (or its own start) took at least that long, and
/// stopped soon after: `elapsed` runs from before either.
fn assert_stopped_at_its_limit(elapsed: Duration, what: &str) {
    assert!(
        elapsed >= SHORT_LIMIT && elapsed < SHORT_LIMIT + LATE_STOP,
        "{what} stopped after {elapsed:?}, with a limit of {SHORT_LIMIT:?}"
    );
}

#[test]
fn a_stranger_sending_junk_does_not_keep_a_receiver_waiting_for_its_first_segment() {
    let socket = loopback();
    let stranger = Stranger::start(socket.local_addr().unwrap(), junk());
    let started = Instant::now();
    let result = receive_file_with(
        &socket,
        Vec::new(),
        10,
        &short_receiver_config(),
        &mut TransferLog::disabled(),
    );
    let elapsed = started.elapsed();
    stranger.stop();
    match result {
        Err(TransferError::Silent { waited }) => assert!(waited >= SHORT_LIMIT, "{waited:?}"),
        other => panic!("the receiver did not give up: {other:?}"),
    }
    assert_stopped_at_its_limit(elapsed, "the receiver");
}

#[test]
fn a_stranger_does_not_keep_a_receiver_alive_once_its_sender_is_quiet() {
    let socket = loopback();
    let receiver_address = socket.local_addr().unwrap();
    let receiver = thread::spawn(move || {
        receive_file_with(
            &socket,
            Vec::new(),
            10,
            &short_receiver_config(),
            &mut TransferLog::disabled(),
        )
    });
    let started = Instant::now();
    let sender = loopback();
    sender
        .send_to(&data_segment(1, b"hello"), receiver_address)
        .unwrap();
    assert_eq!(receive(&sender), b"ACK 0 6\n");
    // Now the sender is quiet, and the stranger sends junk and even the
    // rest of the file, which must not count either: it is not the sender.
    let mut datagrams = junk();
    datagrams.push(data_segment(6, b"world"));
    let stranger = Stranger::start(receiver_address, datagrams);
    let result = receiver.join().unwrap();
    let elapsed = started.elapsed();
    stranger.stop();
    match result {
        Err(TransferError::Silent { waited }) => assert!(waited >= SHORT_LIMIT, "{waited:?}"),
        other => panic!("the receiver did not give up: {other:?}"),
    }
    assert_stopped_at_its_limit(elapsed, "the receiver");
}

#[test]
fn a_stranger_does_not_keep_a_receiver_lingering() {
    let socket = loopback();
    let receiver_address = socket.local_addr().unwrap();
    let sender = loopback();
    let sender_address = sender.local_addr().unwrap();
    let started = Instant::now();
    let lingering = thread::spawn(move || {
        linger_with(
            &socket,
            sender_address,
            3,
            &short_receiver_config(),
            &mut TransferLog::disabled(),
        );
    });
    sender
        .send_to(&data_segment(1, b"abc"), receiver_address)
        .unwrap();
    assert_eq!(receive(&sender), b"ACK 0 4\n");
    let mut datagrams = junk();
    datagrams.push(data_segment(1, b"abc"));
    let stranger = Stranger::start(receiver_address, datagrams);
    lingering.join().unwrap();
    let elapsed = started.elapsed();
    stranger.stop();
    assert_stopped_at_its_limit(elapsed, "linger");
}

#[test]
fn a_timer_that_expires_after_a_real_transmission_counts_as_spurious() {
    // A receiver played by hand that answers a segment only when it comes
    // the second time: the sender's first timer expires although nothing
    // was lost, which is what a spurious timeout is.
    let receiver = loopback();
    let receiver_address = receiver.local_addr().unwrap();
    let answerer = thread::spawn(move || {
        let mut buffer = vec![0u8; 65_536];
        receiver
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let (first, _) = receiver.recv_from(&mut buffer).expect("the segment");
        let first = buffer[..first].to_vec();
        let (second, from) = receiver.recv_from(&mut buffer).expect("its repeat");
        assert_eq!(buffer[..second], first[..], "the repeat differs");
        receiver.send_to(b"ACK 0 4\n", from).unwrap();
    });
    let config = SenderConfig {
        timeout: TimeoutRule::Fixed(Duration::from_millis(50)),
        ..config(100, 0.0, 1)
    };
    let report = send_file(
        &loopback(),
        receiver_address,
        &b"abc"[..],
        3,
        &config,
        &mut TransferLog::disabled(),
    )
    .expect("the file is sent");
    answerer.join().unwrap();
    assert_eq!(
        (
            report.segments,
            report.retransmissions,
            report.drops,
            report.spurious_timeouts
        ),
        (1, 1, 0, 1),
        "{report:?}"
    );
}

#[test]
fn a_timer_that_expires_after_a_drop_is_not_spurious() {
    let mss = 300;
    let drop = 0.3;
    // Four segments: the seed drops one of the last three at least once.
    let data = noise(4 * mss, 6);
    let config = SenderConfig {
        // Far longer than any round trip, so that no timer expires
        // while an acknowledgement is on its way.
        timeout: TimeoutRule::Fixed(Duration::from_secs(1)),
        ..config(mss, drop, seed_that_drops_soon_but_not_first(drop))
    };
    let (received, report) = transfer(&data, &config);
    assert_same_bytes(&received, &data, "drops with a long timeout");
    assert!(report.drops > 0, "{report:?}");
    assert_eq!(report.spurious_timeouts, 0, "{report:?}");
    assert_eq!(report.retransmissions, report.drops, "{report:?}");
}

#[test]
fn a_dropped_retransmission_is_sent_again_even_if_a_late_acknowledgement_comes() {
    // The first copy is really sent, and its acknowledgement comes late:
    // the timer expires (a spurious timeout), the retransmission is
    // dropped, and the acknowledgement arrives while the dropped copy's
    // timer runs. The sender waits that timer out and sends the segment
    // again, so that, as documented, the `Drop` is followed by an `RTX`;
    // the acknowledgement then counts.
    let drop = 0.5;
    let seed = (0..)
        .find(|&seed| {
            let mut generator = p2p::transfer::DropGenerator::new(seed);
            let draws = [(); 3].map(|_| generator.next_unit() < drop);
            draws == [false, true, false]
        })
        .unwrap();
    let receiver = loopback();
    let receiver_address = receiver.local_addr().unwrap();
    let answerer = thread::spawn(move || {
        let mut buffer = vec![0u8; 65_536];
        receiver
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let (_, from) = receiver.recv_from(&mut buffer).expect("the segment");
        // The sender's timer of 200 ms expires, the retransmission is
        // dropped, and its own timer runs to 400 ms: answer in between.
        thread::sleep(Duration::from_millis(250));
        receiver.send_to(b"ACK 0 4\n", from).unwrap();
    });
    let dir = TempDir::new("late-acknowledgement");
    let log_path = dir.join("responding_log.txt");
    let config = SenderConfig {
        timeout: TimeoutRule::Fixed(Duration::from_millis(200)),
        ..config(100, drop, seed)
    };
    let report = send_file(
        &loopback(),
        receiver_address,
        &b"abc"[..],
        3,
        &config,
        &mut TransferLog::append_to(&log_path, Instant::now()),
    )
    .expect("the file is sent");
    answerer.join().unwrap();
    assert_eq!(
        (
            report.segments,
            report.retransmissions,
            report.drops,
            report.spurious_timeouts
        ),
        (1, 2, 1, 1),
        "{report:?}"
    );
    let sent = read_transfer_log(&log_path);
    let events: Vec<&str> = sent.iter().map(|line| line.event.as_str()).collect();
    assert_eq!(events, ["snd", "Drop", "RTX", "rcv"], "{sent:?}");
    assert_eq!(assert_every_drop_is_retransmitted(&sent), 1);
}

// ----- Progress, shown by the real peers -----

/// The sender's settings in the progress test. Each dropped copy waits out
/// the whole fixed timeout, so the drops its seed draws decide, whatever
/// the machine, how long the transfer lasts at least.
const PROGRESS_DROP: f64 = 0.5;
const PROGRESS_TIMEOUT: Duration = Duration::from_millis(50);
const PROGRESS_MSS: usize = 1000;

/// How many segments a first transfer with drop seed `seed` must have for
/// its drops to wait out at least `wait`: the draws of the sender, one per
/// copy of a segment, each below [`PROGRESS_DROP`] a drop.
fn segments_dropped_for(seed: u64, wait: Duration) -> usize {
    let mut generator = DropGenerator::new(seed);
    let mut waited = Duration::ZERO;
    let mut segments = 0;
    while waited < wait {
        segments += 1;
        while generator.next_unit() < PROGRESS_DROP {
            waited += PROGRESS_TIMEOUT;
        }
    }
    segments
}

#[test]
fn a_transfer_longer_than_a_second_shows_its_progress_on_standard_error_only() {
    // Peer 8 of the ring 2 5 8 holds 4103 (hash 7) and sends it to 2 with
    // drops that wait out two seconds in all. Its first segment is not
    // dropped, so both sides count those seconds.
    let seed = seed_that_drops_soon_but_not_first(PROGRESS_DROP);
    let size = segments_dropped_for(seed, Duration::from_secs(2)) * PROGRESS_MSS;
    assert!(size < 1 << 20, "the expected lines count in KiB");
    let contents = noise(size, 12);
    let ids = [2, 5, 8];
    let mut ring = Ring::reserve(&ids);
    let dirs: Vec<(u8, TempDir)> = ids
        .iter()
        .map(|&id| {
            (
                id,
                TempDir::new(&format!("progress-{}-peer{id}", ring.base_port())),
            )
        })
        .collect();
    let dir = |peer: u8| &dirs.iter().find(|(id, _)| *id == peer).expect("a peer").1;
    std::fs::write(dir(8).join("4103.pdf"), &contents).expect("the file is written");
    let (seed, mss, timeout) = (
        seed.to_string(),
        PROGRESS_MSS.to_string(),
        PROGRESS_TIMEOUT.as_secs_f64().to_string(),
    );
    for &id in &ids {
        let (first, second) = successors(&ids, id);
        let mut args = vec!["--dir", dir(id).arg()];
        if id == 8 {
            args.extend_from_slice(&[
                "--mss",
                &mss,
                "--drop",
                "0.5",
                "--seed",
                &seed,
                "--fixed-timeout",
                &timeout,
            ]);
        }
        ring.spawn_init(id, first, second, 0.2, &args);
    }
    for &id in &ids {
        // A peer knows the files it is responsible for once its first
        // predecessor has pinged it.
        let (first_predecessor, _) = predecessors(&ids, id);
        ring.wait_for_line(id, &ping_received(first_predecessor), DEADLINE);
    }
    ring.type_command(2, "Request 4103");
    let whole = format!("{} KiB", size / 1024);
    for (peer, what) in [
        (8, "p2p: sending File 4103 to Peer 2: "),
        (2, "p2p: receiving File 4103 from Peer 8: "),
    ] {
        // A line while the transfer goes on, and one at its end.
        ring.wait_for_stderr_containing(peer, what, DEADLINE);
        let end = format!("{what}{whole} of {whole} (100%)");
        ring.wait_for_stderr_containing(peer, &end, DEADLINE);
    }
    let arrived = wait_for_file(&dir(2).join("received_4103.pdf"), DEADLINE);
    assert_same_bytes(&arrived, &contents, "received_4103.pdf");
    ring.wait_for_line(2, &received("4103"), DEADLINE);
    ring.wait_for_line(8, FILE_SENT, DEADLINE);
    // Standard output has the course's lines only.
    for (peer, expected) in [
        (
            2,
            vec![
                request_sent("4103"),
                peer_had(8, "4103"),
                receiving("4103", 8),
                received("4103"),
            ],
        ),
        (
            8,
            vec![
                stored_here("4103"),
                sending("4103", 2),
                FILE_SENT.to_string(),
            ],
        ),
    ] {
        let lines: Vec<String> = ring
            .lines(peer)
            .into_iter()
            .filter(|line| !line.starts_with("Ping "))
            .collect();
        assert_eq!(lines, expected, "peer {peer}\n{}", ring.describe_all());
    }
}
