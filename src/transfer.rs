//! The reliable file transfer: stop-and-wait over UDP.
//!
//! UDP may lose, repeat or reorder datagrams; this module turns it into a
//! reliable byte stream the simplest way there is. The sender cuts the file
//! into segments of at most MSS bytes and sends one at a time. Each segment
//! carries the number of its first byte (`seq`, counting from 1, as in TCP).
//! The receiver answers every segment, duplicates included, with an
//! acknowledgement naming the next byte it expects (`ack`). The sender sends
//! the next segment only when the acknowledgement for the current one
//! arrives; if none arrives before its timer expires, it sends the same
//! segment again.
//!
//! How long to wait before retransmitting is the interesting part. A fixed
//! timeout (the classic 1 s) is far longer than a round trip on a LAN, so a
//! lossy transfer spends almost all its time waiting. [`RtoEstimator`]
//! follows RFC 6298 instead: it measures round trips and keeps a smoothed
//! average and variation, so the timeout stays a little above the real
//! round trip, and it backs off (doubles) when a timer does expire. Its
//! floor is measured too, from the longest recent round trips, so that a
//! busy machine does not retransmit for nothing and an idle one does not
//! wait for nothing. Two more pieces keep the timer honest: an alarm
//! thread, because a socket's own read timeout is far coarser than the
//! timeouts of a few milliseconds used here, and a last look at the socket
//! before a timer counts as expired.
//!
//! Loss is simulated at the sender, on data segments only: after forming a
//! segment and starting its timer, the sender draws a number in [0, 1) and,
//! below the drop probability, does not send it. The timer then expires and
//! the segment is retransmitted, as if the network had lost it.
//!
//! Both sides write a log line for every segment event, in the format
//! `<event> <time> <seq> <bytes> <ack>` with event `snd`, `rcv`, `Drop` or
//! `RTX`; see [`TransferLog`].

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::path::Path;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use crate::message::{MAX_DATAGRAM, MAX_SEGMENT_HEADER_LEN, Segment};
use crate::output::diagnose;

/// The number of the first byte of a file, as in the reference.
pub const INITIAL_SEQ: u64 = 1;

/// The retransmission timeout before any round trip has been measured
/// (RFC 6298, section 2.1).
pub const INITIAL_RTO: Duration = Duration::from_secs(1);

/// The absolute part of the timeout's floor (see [`RtoEstimator::floor`]).
/// RFC 6298 asks for a floor of 1 s, a figure chosen for the Internet of
/// 2011. On one host a round trip takes tens of microseconds, but a
/// timer is only as good as the wake-up it ends in, and waking a thread
/// that has gone to sleep takes a few tenths of a millisecond on the course's
/// machine, sometimes more; 1 ms is of that order.
pub const MIN_RTO: Duration = Duration::from_millis(1);

/// The measured part of the floor is this many times the largest recent
/// round trip (see [`RtoEstimator::floor`]).
pub const PEAK_MULTIPLE: u32 = 2;

/// The largest recent round trip loses `1 / PEAK_DECAY` of itself with each
/// new measurement, so one long round trip raises the floor for about
/// this many segments (to a third of its height after 64, a tenth after 150).
pub const PEAK_DECAY: u32 = 64;

/// The floor never rises above this. It is there for scheduling hiccups of
/// a few milliseconds. A stall of tens or hundreds of milliseconds (on the
/// course's machine under load, one 1 MiB transfer in ten met one) is too
/// rare to be worth waiting for after every drop, and `SRTT + 4 RTTVAR`
/// grows for a few segments after it anyway.
pub const MAX_FLOOR: Duration = Duration::from_millis(10);

/// The largest timeout, reached only by backing off after repeated losses.
/// Capping it keeps a long run of simulated drops from stalling a transfer
/// for minutes.
pub const MAX_RTO: Duration = Duration::from_secs(1);

/// The sender gives up when the receiver has not acknowledged anything for
/// this long, over at least [`GIVE_UP_SENDS`] real transmissions (simulated
/// drops do not count: they say nothing about the receiver).
pub const GIVE_UP_SILENCE: Duration = Duration::from_secs(5);

/// See [`GIVE_UP_SILENCE`].
pub const GIVE_UP_SENDS: u32 = 5;

/// The sender also gives up after this many attempts in a row at one
/// segment, drops included, so that `--drop 1` (every segment dropped)
/// ends too. Bad luck alone never gets here: at a drop probability of 0.5
/// the chance is 2^-100.
pub const GIVE_UP_ATTEMPTS: u32 = 100;

/// The receiver gives up when no segment of its transfer has arrived for
/// this long (see [`receive_file_with`]). The sender may be silent for a
/// while after a run of simulated drops, each followed by a timeout of up
/// to [`MAX_RTO`], so this is generous.
pub const RECEIVE_IDLE_LIMIT: Duration = Duration::from_secs(20);

/// After the last byte has arrived, the receiver goes on acknowledging
/// repeated segments until the sender has sent none for this long, in case
/// its last acknowledgement was lost (see [`linger_with`]).
pub const LINGER: Duration = Duration::from_secs(2);

/// How the sender chooses its retransmission timeout.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TimeoutRule {
    /// Estimated from measured round trips (RFC 6298).
    Estimated,
    /// Always the same, as in the classic version of the assignment.
    Fixed(Duration),
}

/// The settings of one sender.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SenderConfig {
    /// The most bytes of the file one segment carries.
    pub mss: usize,
    /// The chance, 0..=1, that a data segment is dropped instead of sent.
    pub drop_probability: f64,
    /// The seed of the drop generator, so that a lossy run can be repeated.
    pub seed: u64,
    pub timeout: TimeoutRule,
    /// A round trip measured before the transfer (for example, of the
    /// exchange that set it up), to start the estimator with instead of
    /// [`INITIAL_RTO`].
    pub first_rtt: Option<Duration>,
}

/// What a finished transfer achieved, for the benchmarks and the logs.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct TransferReport {
    pub bytes: u64,
    pub segments: u64,
    /// Timer expiries, each followed by another attempt at the segment
    /// (sent or dropped). On the receiving side: repeated segments that
    /// arrived.
    pub retransmissions: u64,
    pub drops: u64,
    /// Timer expiries after a real (not dropped) transmission. Loopback
    /// loses nothing, so there each of these is a spurious retransmission:
    /// the acknowledgement was on its way, and the timeout was too short.
    /// Over a real network some would be real losses. Always 0 on the
    /// receiving side.
    pub spurious_timeouts: u64,
    /// The time spent waiting for timers that then expired, from the start
    /// of each to the moment the sender saw it had expired: what the drops
    /// and spurious timeouts cost, measured directly. Zero on the
    /// receiving side.
    pub expired_timer_wait: Duration,
    pub elapsed: Duration,
    /// The smoothed round trip at the end, if one was measured.
    pub smoothed_rtt: Option<Duration>,
}

/// Why a transfer failed.
#[derive(Debug)]
pub enum TransferError {
    /// The other side stopped answering.
    Silent { waited: Duration },
    /// Reading the file, writing it, or the socket failed.
    Io(io::Error),
    /// The file ended before the size announced for it.
    ShortFile { expected: u64, read: u64 },
    /// One segment was tried this many times without an acknowledgement.
    TooManyAttempts { attempts: u32 },
    /// The size announced cannot be numbered: its last byte would pass the
    /// largest sequence number.
    TooLarge { size: u64 },
    /// The sender was asked for segments of 0 bytes, which would never
    /// carry the file to its end.
    BadMss,
}

impl fmt::Display for TransferError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransferError::Silent { waited } => {
                write!(
                    f,
                    "the other peer was silent for {:.1} s",
                    waited.as_secs_f64()
                )
            }
            TransferError::Io(error) => write!(f, "{error}"),
            TransferError::ShortFile { expected, read } => {
                write!(
                    f,
                    "the file holds {read} bytes, not the {expected} announced"
                )
            }
            TransferError::TooLarge { size } => {
                write!(f, "{size} bytes cannot be numbered from {INITIAL_SEQ}")
            }
            TransferError::TooManyAttempts { attempts } => write!(
                f,
                "one segment went unacknowledged through {attempts} attempts"
            ),
            TransferError::BadMss => {
                write!(f, "the MSS must be at least 1 byte, not 0")
            }
        }
    }
}

impl std::error::Error for TransferError {}

impl From<io::Error> for TransferError {
    fn from(error: io::Error) -> TransferError {
        TransferError::Io(error)
    }
}

/// The retransmission timeout: RFC 6298, with a floor measured from the
/// round trips themselves instead of a fixed one.
///
/// After each round-trip sample `r`: the first sets `srtt = r` and
/// `rttvar = r / 2`; later ones set `rttvar = 3/4 rttvar + 1/4 |srtt - r|`
/// and then `srtt = 7/8 srtt + 1/8 r`. The timeout is `srtt + 4 rttvar`,
/// but at least [`floor`](RtoEstimator::floor) and at most [`MAX_RTO`].
/// Each expiry doubles it (back-off) until the next sample. Karn's rule,
/// that a retransmitted segment gives no sample, is the caller's to follow.
///
/// Why a floor at all: on loopback `srtt + 4 rttvar` is a few tens of
/// microseconds, but now and then an acknowledgement comes milliseconds
/// late, because the receiver's or the sender's thread was not running
/// (another program had the core, or the core was asleep). A timeout that
/// short would retransmit for nothing whenever that happens. Why not a
/// fixed floor: how late these late acknowledgements are depends on the
/// machine and on how busy it is, and a drop costs one timeout, so a floor
/// high enough for a busy machine makes every drop cost that much on an
/// idle one. So the floor is [`MIN_RTO`] plus [`PEAK_MULTIPLE`] times the
/// largest recent round trip, which decays (see [`PEAK_DECAY`]), and at
/// most [`MAX_FLOOR`]: a hiccup raises the floor for the next hundred
/// segments or so, and on a quiet machine it falls back to about a
/// millisecond.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RtoEstimator {
    smoothed: Option<Duration>,
    variation: Duration,
    /// The largest recent round trip, decaying: see [`PEAK_DECAY`].
    peak: Duration,
    timeout: Duration,
}

impl Default for RtoEstimator {
    fn default() -> RtoEstimator {
        RtoEstimator::new()
    }
}

impl RtoEstimator {
    pub fn new() -> RtoEstimator {
        RtoEstimator {
            smoothed: None,
            variation: Duration::ZERO,
            peak: Duration::ZERO,
            timeout: INITIAL_RTO,
        }
    }

    /// The current retransmission timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The smoothed round trip, once one has been measured.
    pub fn smoothed_rtt(&self) -> Option<Duration> {
        self.smoothed
    }

    /// The largest recent round trip, as it has decayed since.
    pub fn peak_rtt(&self) -> Duration {
        self.peak
    }

    /// The least the timeout can be: [`MIN_RTO`] plus [`PEAK_MULTIPLE`]
    /// times the largest recent round trip, and at most [`MAX_FLOOR`].
    pub fn floor(&self) -> Duration {
        (MIN_RTO + self.peak * PEAK_MULTIPLE).min(MAX_FLOOR)
    }

    /// Takes one round-trip measurement of a segment sent once.
    pub fn record_sample(&mut self, rtt: Duration) {
        match self.smoothed {
            None => {
                self.smoothed = Some(rtt);
                self.variation = rtt / 2;
            }
            Some(smoothed) => {
                let error = smoothed.abs_diff(rtt);
                self.variation = self.variation * 3 / 4 + error / 4;
                self.smoothed = Some(smoothed * 7 / 8 + rtt / 8);
            }
        }
        self.remember_peak(rtt);
        let smoothed = self.smoothed.unwrap_or(rtt);
        self.timeout = (smoothed + self.variation * 4)
            .max(self.floor())
            .min(MAX_RTO);
    }

    /// Takes the time from the first transmission of a segment that was
    /// sent more than once to its acknowledgement.
    ///
    /// Karn's rule keeps this out of `srtt` and `rttvar`: the
    /// acknowledgement may answer any of the copies, so the round trip is
    /// unknown. But it is at most this time, since every copy was sent
    /// during it, so as a round trip for the floor this errs on the safe
    /// side. It matters because on loopback a segment is sent twice only
    /// after a spurious timeout: its round trip was longer than the floor
    /// allowed, and the floor should learn that. The timeout keeps its
    /// back-off, and is raised to the new floor if it is below it.
    pub fn record_ambiguous_sample(&mut self, at_most: Duration) {
        self.remember_peak(at_most);
        self.timeout = self.timeout.max(self.floor()).min(MAX_RTO);
    }

    /// The peak loses a little of itself, then takes the new round trip if
    /// it is longer.
    fn remember_peak(&mut self, rtt: Duration) {
        let decayed = self.peak - self.peak / PEAK_DECAY;
        self.peak = decayed.max(rtt);
    }

    /// A timer expired: wait twice as long next time.
    pub fn back_off(&mut self) {
        self.timeout = (self.timeout * 2).min(MAX_RTO);
    }
}

/// A small, seeded generator of numbers in [0, 1) for the simulated loss:
/// SplitMix64, which is fast, passes the usual statistical tests, and needs
/// no crate. The same seed gives the same drops.
#[derive(Clone, Debug)]
pub struct DropGenerator {
    state: u64,
}

impl DropGenerator {
    pub fn new(seed: u64) -> DropGenerator {
        DropGenerator { state: seed }
    }

    /// The next number in [0, 1).
    pub fn next_unit(&mut self) -> f64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        // The top 53 bits make an evenly spread f64 below 1.
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// One event of the transfer log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogEvent {
    /// A segment was sent for the first time.
    Send,
    /// A segment arrived.
    Receive,
    /// A data segment was dropped by the simulated loss.
    Drop,
    /// A data segment was sent again after its timer expired.
    Retransmit,
}

impl fmt::Display for LogEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LogEvent::Send => "snd",
            LogEvent::Receive => "rcv",
            LogEvent::Drop => "Drop",
            LogEvent::Retransmit => "RTX",
        })
    }
}

/// The log of segment events of one side of a transfer, one line each:
/// `<event> <time> <seq> <bytes> <ack>`, with time in seconds since the
/// peer started. Lines are appended, so several transfers (or several
/// peers sharing a directory) add to the same file. Each line is written
/// whole with one system call and no buffer, so `tail -f` shows a transfer
/// as it happens and concurrent writers never interleave within a line.
pub struct TransferLog {
    file: Option<File>,
    clock_start: Instant,
}

impl TransferLog {
    /// Appends to the log at `path`. A log that cannot be opened is
    /// reported once and then skipped: the file matters more than its log.
    pub fn append_to(path: &Path, clock_start: Instant) -> TransferLog {
        let file = match OpenOptions::new().create(true).append(true).open(path) {
            Ok(file) => Some(file),
            Err(error) => {
                diagnose!("cannot write the log {}: {error}", path.display());
                None
            }
        };
        TransferLog { file, clock_start }
    }

    /// A log that writes nothing, for transfers nobody needs to read about.
    pub fn disabled() -> TransferLog {
        TransferLog {
            file: None,
            clock_start: Instant::now(),
        }
    }

    fn record(&mut self, event: LogEvent, seq: u64, bytes: usize, ack: u64) {
        if let Some(file) = &mut self.file {
            let time = self.clock_start.elapsed().as_secs_f64();
            let line = format!("{event} {time:.3} {seq} {bytes} {ack}\n");
            if file.write_all(line.as_bytes()).is_err() {
                self.file = None;
            }
        }
    }
}

/// Sends `size` bytes read from `file` to the receiver at `receiver`, one
/// segment at a time, from `socket`.
///
/// An MSS of 0 is refused at once with [`TransferError::BadMss`]: a segment
/// of no bytes would never move the sequence number forward, so the sender
/// would send the same empty segment for ever.
pub fn send_file(
    socket: &UdpSocket,
    receiver: SocketAddr,
    mut file: impl Read,
    size: u64,
    config: &SenderConfig,
    log: &mut TransferLog,
) -> Result<TransferReport, TransferError> {
    if config.mss == 0 {
        return Err(TransferError::BadMss);
    }
    let end = end_of(size)?;
    let started = Instant::now();
    let alarm = Alarm::new();
    thread::scope(|scope| {
        let alarm = &alarm;
        scope.spawn(move || alarm.run(socket));
        // Dropped when this closure ends, however it ends, so that the
        // alarm's thread always stops and the scope can end.
        let _stop_alarm = StopAlarm(alarm);
        let mut sender = Sender::new(socket, receiver, config, log, alarm);
        let mut chunk = vec![0u8; config.mss];
        let mut seq = INITIAL_SEQ;
        while seq < end {
            let len = (end - seq).min(config.mss as u64) as usize;
            file.read_exact(&mut chunk[..len])
                .map_err(|error| match error.kind() {
                    io::ErrorKind::UnexpectedEof => TransferError::ShortFile {
                        expected: size,
                        read: seq - INITIAL_SEQ,
                    },
                    _ => TransferError::Io(error),
                })?;
            sender.send_segment(seq, &chunk[..len])?;
            seq += len as u64;
        }
        let mut report = sender.report;
        report.bytes = size;
        report.elapsed = started.elapsed();
        report.smoothed_rtt = sender.estimator.smoothed_rtt();
        Ok(report)
    })
}

/// The sender's alarm clock: a thread that wakes the sender when its timer
/// expires.
///
/// The sender waits for an acknowledgement in `recv_from`, and a socket's
/// read timeout is too coarse for a timer of a few milliseconds: the kernel
/// counts it in clock ticks. Measured on the course's Linux machine (250
/// ticks a second), a read timeout of 1 ms ends after about 8 ms, one of
/// 4 ms after 8 ms too, and one of 20 ms after 24 ms. A thread waiting on a
/// condition variable, though, wakes within a fraction of a millisecond of
/// when it asked. So the alarm's thread sleeps until the sender's deadline
/// and then sends an empty datagram from the sender's socket to itself; the
/// sender's `recv_from` returns at once, the sender finds its deadline
/// passed, and retransmits. On the same machine the sender is then awake
/// 0.15 to 0.25 ms after its deadline (median; a tenth of the time more
/// than 0.4 ms). The socket's read timeout stays, as a backstop.
///
/// The sender sets a new deadline for every segment, thousands of times a
/// second, and waking the alarm's thread each time would cost more than
/// the round trip itself. So setting a later deadline only writes it down:
/// the alarm, when it wakes for the old one, finds the new one and sleeps
/// again. Only a deadline earlier than the one it sleeps towards wakes it.
struct Alarm {
    state: Mutex<AlarmState>,
    changed: Condvar,
}

struct AlarmState {
    /// When to wake the sender; `None` once it has been woken for it.
    deadline: Option<Instant>,
    /// The deadline the alarm's thread is sleeping towards, if any.
    sleeping_until: Option<Instant>,
    /// Set when the transfer is over, to end the alarm's thread.
    stopped: bool,
}

impl Alarm {
    fn new() -> Alarm {
        Alarm {
            state: Mutex::new(AlarmState {
                deadline: None,
                sleeping_until: None,
                stopped: false,
            }),
            changed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, AlarmState> {
        // The state is a few plain values, valid even if a thread panicked
        // while holding the lock.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Wakes the sender at `deadline` (unless it is set again before).
    fn set(&self, deadline: Instant) {
        let mut state = self.lock();
        state.deadline = Some(deadline);
        if state.sleeping_until.is_none_or(|until| deadline < until) {
            self.changed.notify_one();
        }
    }

    fn stop(&self) {
        self.lock().stopped = true;
        self.changed.notify_one();
    }

    /// The alarm's thread: sleeps until the deadline, then wakes the sender
    /// waiting on `socket`, until stopped.
    fn run(&self, socket: &UdpSocket) {
        let mut state = self.lock();
        while !state.stopped {
            let now = Instant::now();
            match state.deadline {
                Some(deadline) if deadline <= now => {
                    state.deadline = None;
                    drop(state);
                    knock(socket);
                    state = self.lock();
                }
                Some(deadline) => {
                    state.sleeping_until = Some(deadline);
                    state = match self.changed.wait_timeout(state, deadline - now) {
                        Ok((state, _)) => state,
                        Err(poisoned) => poisoned.into_inner().0,
                    };
                }
                None => {
                    state.sleeping_until = None;
                    state = match self.changed.wait(state) {
                        Ok(state) => state,
                        Err(poisoned) => poisoned.into_inner(),
                    };
                }
            }
        }
    }
}

/// Stops the alarm when dropped.
struct StopAlarm<'a>(&'a Alarm);

impl Drop for StopAlarm<'_> {
    fn drop(&mut self) {
        self.0.stop();
    }
}

/// Waits for the timer of a dropped copy to run out, without looking at
/// the socket.
///
/// A dropped copy waits for its whole timer, as a lost one would, and the
/// segment is then sent again. An acknowledgement may arrive meanwhile, if
/// an earlier copy was really sent and its timer expired spuriously; it is
/// read after the retransmission, and counts then. Taking it at once would
/// save part of a timeout in that rare case, but the log would show a
/// `Drop` with no retransmission after it, and the documented log promises
/// that every `Drop` is followed by an `RTX` of the same segment.
fn wait_out(deadline: Instant) {
    // A plain sleep is as precise as the alarm, so the alarm is not used.
    thread::sleep(deadline.saturating_duration_since(Instant::now()));
}

/// Sends an empty datagram from `socket` to itself, which ends a wait in
/// `recv_from` on it at once.
fn knock(socket: &UdpSocket) {
    let Ok(mut own_address) = socket.local_addr() else {
        return;
    };
    // A socket bound to every address is reached on loopback.
    if own_address.ip().is_unspecified() {
        own_address.set_ip(match own_address {
            SocketAddr::V4(_) => Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => Ipv6Addr::LOCALHOST.into(),
        });
    }
    // If this fails, the socket's read timeout still ends the wait, later.
    let _ = socket.send_to(&[], own_address);
}

/// The sending side of one transfer: its socket, its timer and drop
/// generator, and what it has counted so far.
struct Sender<'a> {
    socket: &'a UdpSocket,
    receiver: SocketAddr,
    config: &'a SenderConfig,
    log: &'a mut TransferLog,
    estimator: RtoEstimator,
    alarm: &'a Alarm,
    drops: DropGenerator,
    report: TransferReport,
    /// One buffer for every datagram sent, and one for every answer.
    datagram: Vec<u8>,
    answer: Vec<u8>,
}

impl<'a> Sender<'a> {
    fn new(
        socket: &'a UdpSocket,
        receiver: SocketAddr,
        config: &'a SenderConfig,
        log: &'a mut TransferLog,
        alarm: &'a Alarm,
    ) -> Sender<'a> {
        let mut estimator = RtoEstimator::new();
        if let Some(rtt) = config.first_rtt {
            estimator.record_sample(rtt);
        }
        Sender {
            socket,
            receiver,
            config,
            log,
            estimator,
            alarm,
            drops: DropGenerator::new(config.seed),
            report: TransferReport::default(),
            datagram: Vec::with_capacity(MAX_SEGMENT_HEADER_LEN + config.mss),
            answer: vec![0u8; MAX_SEGMENT_HEADER_LEN + 1],
        }
    }

    fn timeout(&self) -> Duration {
        match self.config.timeout {
            TimeoutRule::Estimated => self.estimator.timeout(),
            TimeoutRule::Fixed(timeout) => timeout,
        }
    }

    /// Sends the segment of `payload`, which starts at byte `seq`, until
    /// its acknowledgement arrives: the heart of stop-and-wait.
    fn send_segment(&mut self, seq: u64, payload: &[u8]) -> Result<(), TransferError> {
        let len = payload.len();
        let wanted_ack = seq + len as u64;
        Segment::Data {
            seq,
            ack: 0,
            payload,
        }
        .encode(&mut self.datagram);
        let mut attempts = 0u32;
        // Real transmissions (not simulated drops), and the time of the
        // first one, tell a dead receiver from bad luck with the drops.
        let mut transmissions = 0u32;
        let mut silent_since: Option<Instant> = None;
        let mut last_sent_at = Instant::now();
        loop {
            // Start the timer, then draw: a dropped segment waits for its
            // timer like a lost one.
            let timer_started = Instant::now();
            let deadline = timer_started + self.timeout();
            let event = if attempts == 0 {
                LogEvent::Send
            } else {
                LogEvent::Retransmit
            };
            attempts += 1;
            if attempts > 1 {
                self.report.retransmissions += 1;
            }
            let dropped = self.drops.next_unit() < self.config.drop_probability;
            if dropped {
                self.log.record(LogEvent::Drop, seq, len, 0);
                self.report.drops += 1;
            } else {
                self.socket.send_to(&self.datagram, self.receiver)?;
                self.log.record(event, seq, len, 0);
                last_sent_at = Instant::now();
                transmissions += 1;
                silent_since.get_or_insert(last_sent_at);
            }
            let acknowledged = if dropped {
                wait_out(deadline);
                false
            } else {
                self.alarm.set(deadline);
                self.wait_for_ack(wanted_ack, deadline)?
            };
            if acknowledged {
                // Karn's rule: only a segment sent exactly once gives a
                // round trip that is surely its own.
                if transmissions == 1 {
                    self.estimator.record_sample(last_sent_at.elapsed());
                } else if let Some(first_sent_at) = silent_since {
                    self.estimator
                        .record_ambiguous_sample(first_sent_at.elapsed());
                }
                self.report.segments += 1;
                return Ok(());
            }
            self.report.expired_timer_wait += timer_started.elapsed();
            if !dropped {
                // The segment really went out and no acknowledgement came
                // in time. On loopback nothing is lost, so the timeout was
                // too short: the acknowledgement was on its way.
                self.report.spurious_timeouts += 1;
            }
            self.estimator.back_off();
            if let Some(since) = silent_since {
                let waited = since.elapsed();
                if transmissions >= GIVE_UP_SENDS && waited >= GIVE_UP_SILENCE {
                    return Err(TransferError::Silent { waited });
                }
            }
            if attempts >= GIVE_UP_ATTEMPTS {
                return Err(TransferError::TooManyAttempts { attempts });
            }
        }
    }

    /// Waits until `deadline` for the acknowledgement `wanted_ack`, after a
    /// real transmission. Older acknowledgements (answers to a repeat) and
    /// datagrams from anyone else, the alarm's among them, are ignored.
    /// Returns whether the acknowledgement arrived.
    fn wait_for_ack(&mut self, wanted_ack: u64, deadline: Instant) -> io::Result<bool> {
        loop {
            let now = Instant::now();
            if now >= deadline {
                return self.ack_already_arrived(wanted_ack);
            }
            // A zero timeout would mean "wait for ever", hence the floor.
            // The alarm normally ends the wait first, at the deadline.
            let wait = (deadline - now).max(Duration::from_millis(1));
            self.socket.set_read_timeout(Some(wait))?;
            match self.socket.recv_from(&mut self.answer) {
                Ok((len, from)) => {
                    if self.is_wanted_ack(wanted_ack, len, from) {
                        return Ok(true);
                    }
                }
                // Look at the clock again: past the deadline, the loop
                // still reads what has arrived.
                Err(error) if is_timeout(&error) => {}
                Err(error) => return Err(error),
            }
        }
    }

    /// Reads, without waiting, every datagram that has already arrived, and
    /// returns whether the acknowledgement `wanted_ack` was among them.
    ///
    /// The timer has expired, but an acknowledgement may be waiting in the
    /// socket, unread only because this thread was kept off the core for a
    /// while (on a busy machine, a few milliseconds at times). Then the
    /// acknowledgement was not late, the sender was, and retransmitting
    /// would be spurious. Measured with two CPU burners beside the
    /// transfer, this check cut the spurious timeouts to a third.
    fn ack_already_arrived(&mut self, wanted_ack: u64) -> io::Result<bool> {
        self.socket.set_nonblocking(true)?;
        let found = loop {
            match self.socket.recv_from(&mut self.answer) {
                Ok((len, from)) => {
                    if self.is_wanted_ack(wanted_ack, len, from) {
                        break Ok(true);
                    }
                }
                Err(error) if is_timeout(&error) => break Ok(false),
                Err(error) => break Err(error),
            }
        };
        self.socket.set_nonblocking(false)?;
        found
    }

    /// Looks at the datagram of `len` bytes in the answer buffer, from
    /// `from`: logs it if it is an acknowledgement from the receiver, and
    /// returns whether it is the one wanted.
    fn is_wanted_ack(&mut self, wanted_ack: u64, len: usize, from: SocketAddr) -> bool {
        if from != self.receiver {
            return false;
        }
        match Segment::decode(&self.answer[..len]) {
            Ok(Segment::Ack { seq, ack }) => {
                self.log.record(LogEvent::Receive, seq, 0, ack);
                ack == wanted_ack
            }
            _ => false,
        }
    }
}

/// The settings of one receiver: how long it waits for its sender before
/// giving up, and how long it lingers after the last byte. The peer always
/// uses the defaults, [`RECEIVE_IDLE_LIMIT`] and [`LINGER`]; tests shorten
/// them so that they need not wait twenty seconds to see a receiver give up.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReceiverConfig {
    /// Give up when the sender has sent no segment for this long.
    pub idle_limit: Duration,
    /// After the last byte, stop acknowledging repeats once the sender has
    /// sent no segment for this long.
    pub linger: Duration,
}

impl Default for ReceiverConfig {
    fn default() -> ReceiverConfig {
        ReceiverConfig {
            idle_limit: RECEIVE_IDLE_LIMIT,
            linger: LINGER,
        }
    }
}

/// Receives `size` bytes on `socket` and writes them to `file` in order,
/// with the default [`ReceiverConfig`]. See [`receive_file_with`].
pub fn receive_file(
    socket: &UdpSocket,
    file: impl Write,
    size: u64,
    log: &mut TransferLog,
) -> Result<(TransferReport, Option<SocketAddr>), TransferError> {
    receive_file_with(socket, file, size, &ReceiverConfig::default(), log)
}

/// Receives `size` bytes on `socket` and writes them to `file` in order.
/// Returns once every byte has arrived, with the sender's address (`None`
/// for an empty file, which has no segments); the acknowledgements of any
/// repeats that follow are left to [`linger`].
///
/// It gives up when no `DATA` segment of this transfer has arrived for
/// `config.idle_limit`: counted from the start until the first segment, and
/// then from the last segment of the sender. Only those segments count. A
/// socket's own read timeout would start again at every datagram, so a
/// stranger sending junk could keep the receiver waiting for ever; instead
/// the receiver keeps the deadline itself, and each read waits only for
/// what is left of it.
pub fn receive_file_with(
    socket: &UdpSocket,
    mut file: impl Write,
    size: u64,
    config: &ReceiverConfig,
    log: &mut TransferLog,
) -> Result<(TransferReport, Option<SocketAddr>), TransferError> {
    let started = Instant::now();
    let mut report = TransferReport {
        bytes: size,
        ..TransferReport::default()
    };
    let mut buffer = vec![0u8; MAX_DATAGRAM];
    let mut reply = Vec::new();
    let mut expected = INITIAL_SEQ;
    let end = end_of(size)?;
    // The first segment fixes who the sender is; datagrams from anyone else
    // are ignored.
    let mut sender: Option<SocketAddr> = None;
    let mut last_heard = started;
    while expected < end {
        let Some((len, from)) =
            receive_before(socket, &mut buffer, last_heard + config.idle_limit)?
        else {
            return Err(TransferError::Silent {
                waited: last_heard.elapsed(),
            });
        };
        if sender.is_some_and(|s| s != from) {
            continue;
        }
        let Ok(Segment::Data { seq, ack, payload }) = Segment::decode(&buffer[..len]) else {
            continue;
        };
        sender = Some(from);
        last_heard = Instant::now();
        log.record(LogEvent::Receive, seq, payload.len(), ack);
        // In order: keep it. A repeat (its acknowledgement was lost or late)
        // or anything out of order: only acknowledge again.
        if seq == expected && expected + payload.len() as u64 <= end {
            file.write_all(payload)?;
            expected += payload.len() as u64;
            report.segments += 1;
        } else {
            // On the receiving side this counts repeats that arrived.
            report.retransmissions += 1;
        }
        acknowledge(socket, from, expected, &mut reply, log)?;
    }
    file.flush()?;
    report.elapsed = started.elapsed();
    Ok((report, sender))
}

/// Acknowledges repeats of the last segment until the sender has been quiet
/// for [`LINGER`], in case the last acknowledgement was lost and the sender
/// is still waiting for it. See [`linger_with`].
pub fn linger(socket: &UdpSocket, sender: SocketAddr, size: u64, log: &mut TransferLog) {
    linger_with(socket, sender, size, &ReceiverConfig::default(), log);
}

/// Acknowledges repeats of the last segment until `sender` has sent no
/// segment for `config.linger`. As in [`receive_file_with`], only the
/// sender's `DATA` segments keep it lingering: datagrams from anyone else,
/// and anything that is not a `DATA` segment, get no answer and do not
/// move the deadline.
pub fn linger_with(
    socket: &UdpSocket,
    sender: SocketAddr,
    size: u64,
    config: &ReceiverConfig,
    log: &mut TransferLog,
) {
    let done_ack = INITIAL_SEQ.saturating_add(size);
    let mut buffer = vec![0u8; MAX_DATAGRAM];
    let mut reply = Vec::new();
    let mut last_heard = Instant::now();
    while let Ok(Some((len, from))) =
        receive_before(socket, &mut buffer, last_heard + config.linger)
    {
        if from != sender {
            continue;
        }
        if let Ok(Segment::Data { seq, ack, payload }) = Segment::decode(&buffer[..len]) {
            last_heard = Instant::now();
            log.record(LogEvent::Receive, seq, payload.len(), ack);
            if acknowledge(socket, from, done_ack, &mut reply, log).is_err() {
                return;
            }
        }
    }
}

/// Waits for one datagram on `socket` until `deadline`. Returns `None` once
/// the deadline has passed.
///
/// The read timeout is set again before every read, to what is left until
/// the deadline, so that datagrams that the caller ignores do not extend
/// the wait.
fn receive_before(
    socket: &UdpSocket,
    buffer: &mut [u8],
    deadline: Instant,
) -> io::Result<Option<(usize, SocketAddr)>> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        // A zero timeout is refused by the socket (it would mean "no
        // timeout"), so the deadline counts as passed.
        if left.is_zero() {
            return Ok(None);
        }
        socket.set_read_timeout(Some(left))?;
        match socket.recv_from(buffer) {
            Ok(received) => return Ok(Some(received)),
            // The kernel counts a read timeout in clock ticks, so it may
            // end a little before the deadline: look at the clock again.
            Err(error) if is_timeout(&error) => continue,
            Err(error) => return Err(error),
        }
    }
}

/// Tells the sender at `to` that every byte before `ack` has arrived.
fn acknowledge(
    socket: &UdpSocket,
    to: SocketAddr,
    ack: u64,
    reply: &mut Vec<u8>,
    log: &mut TransferLog,
) -> io::Result<()> {
    Segment::Ack { seq: 0, ack }.encode(reply);
    socket.send_to(reply, to)?;
    log.record(LogEvent::Send, 0, 0, ack);
    Ok(())
}

/// The sequence number just after the last byte of a file of `size` bytes,
/// checked because the size comes from another peer.
fn end_of(size: u64) -> Result<u64, TransferError> {
    INITIAL_SEQ
        .checked_add(size)
        .ok_or(TransferError::TooLarge { size })
}

fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;
    use std::thread;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn the_estimator_follows_rfc_6298() {
        let mut rto = RtoEstimator::new();
        assert_eq!(rto.timeout(), INITIAL_RTO);
        rto.record_sample(ms(100));
        // srtt 100, rttvar 50: 100 + 4 * 50.
        assert_eq!(rto.timeout(), ms(300));
        rto.record_sample(ms(200));
        // rttvar = 3/4 * 50 + 1/4 * 100 = 62.5; srtt = 7/8 * 100 + 1/8 * 200 = 112.5.
        assert_eq!(rto.smoothed_rtt(), Some(Duration::from_micros(112_500)));
        assert_eq!(
            rto.timeout(),
            Duration::from_micros(112_500 + 4 * 62_500).min(MAX_RTO)
        );
    }

    #[test]
    fn the_estimator_stays_within_its_floor_and_ceiling() {
        let mut rto = RtoEstimator::new();
        rto.record_sample(Duration::from_micros(50));
        // srtt + 4 rttvar is 150 us, below the floor of 1 ms + 2 * 50 us.
        assert_eq!(rto.floor(), MIN_RTO + Duration::from_micros(100));
        assert_eq!(rto.timeout(), rto.floor());
        for _ in 0..10 {
            rto.back_off();
        }
        assert_eq!(rto.timeout(), MAX_RTO);
        // A fresh sample ends the back-off.
        rto.record_sample(Duration::from_micros(50));
        assert_eq!(rto.timeout(), rto.floor());
        assert!(rto.timeout() < ms(2), "{rto:?}");
    }

    #[test]
    fn one_long_round_trip_raises_the_floor_for_a_while() {
        let mut rto = RtoEstimator::new();
        let usual = Duration::from_micros(20);
        for _ in 0..100 {
            rto.record_sample(usual);
        }
        let quiet_floor = rto.floor();
        assert_eq!(quiet_floor, MIN_RTO + usual * PEAK_MULTIPLE);
        rto.record_sample(ms(3));
        assert_eq!(rto.floor(), MIN_RTO + ms(3) * PEAK_MULTIPLE);
        assert!(rto.timeout() >= rto.floor());
        // It decays by 1/64 per sample: after 64 quiet ones it is down to
        // about a third, and after 400 it is gone.
        for _ in 0..64 {
            rto.record_sample(usual);
        }
        let peak = rto.peak_rtt();
        assert!(peak > ms(1) && peak < ms(3) / 2, "{peak:?}");
        for _ in 0..400 {
            rto.record_sample(usual);
        }
        assert_eq!(rto.floor(), quiet_floor);
        assert_eq!(rto.timeout(), quiet_floor);
    }

    #[test]
    fn the_floor_stops_at_its_ceiling_but_srtt_and_rttvar_do_not() {
        let mut rto = RtoEstimator::new();
        rto.record_sample(ms(100));
        assert_eq!(rto.floor(), MAX_FLOOR);
        // A slow link's own estimate stays what RFC 6298 says.
        assert_eq!(rto.timeout(), ms(300));
    }

    #[test]
    fn an_ambiguous_round_trip_raises_only_the_floor() {
        let mut rto = RtoEstimator::new();
        for _ in 0..10 {
            rto.record_sample(Duration::from_micros(20));
        }
        let smoothed = rto.smoothed_rtt();
        rto.back_off();
        let backed_off = rto.timeout();
        rto.record_ambiguous_sample(ms(4));
        assert_eq!(rto.smoothed_rtt(), smoothed);
        assert_eq!(rto.floor(), MIN_RTO + ms(4) * PEAK_MULTIPLE);
        assert_eq!(rto.timeout(), backed_off.max(rto.floor()));
        // The next real sample keeps the raised floor.
        rto.record_sample(Duration::from_micros(20));
        assert!(rto.timeout() > ms(8), "{rto:?}");
    }

    #[test]
    fn back_off_doubles() {
        let mut rto = RtoEstimator::new();
        rto.record_sample(ms(40));
        let before = rto.timeout();
        rto.back_off();
        assert_eq!(rto.timeout(), (before * 2).min(MAX_RTO));
    }

    #[test]
    fn the_drop_generator_is_repeatable_and_roughly_uniform() {
        let draws = |seed| {
            let mut generator = DropGenerator::new(seed);
            (0..10_000)
                .map(|_| generator.next_unit())
                .collect::<Vec<_>>()
        };
        assert_eq!(draws(7), draws(7));
        assert_ne!(draws(7), draws(8));
        let values = draws(7);
        assert!(values.iter().all(|v| (0.0..1.0).contains(v)));
        let below_tenth = values.iter().filter(|&&v| v < 0.1).count();
        assert!((800..1200).contains(&below_tenth), "{below_tenth}");
    }

    fn loopback() -> UdpSocket {
        UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("a loopback socket")
    }

    /// Sets the alarm of a fresh socket with `set`, then waits on the
    /// socket, as the sender does, and returns how long after `set` was
    /// called the alarm's datagram arrived.
    fn time_the_alarm(set: impl FnOnce(&Alarm, Instant)) -> Duration {
        let socket = loopback();
        let alarm = Alarm::new();
        thread::scope(|scope| {
            scope.spawn(|| alarm.run(&socket));
            let _stop_alarm = StopAlarm(&alarm);
            // Far longer than any wait here: only the alarm ends it.
            socket
                .set_read_timeout(Some(Duration::from_secs(20)))
                .expect("a read timeout");
            let started = Instant::now();
            set(&alarm, started);
            let mut buffer = [0u8; 16];
            let (len, from) = socket.recv_from(&mut buffer).expect("the alarm");
            assert_eq!(len, 0);
            assert_eq!(Some(from), socket.local_addr().ok());
            started.elapsed()
        })
    }

    #[test]
    fn an_acknowledgement_already_waiting_counts_although_the_deadline_passed() {
        let socket = loopback();
        let receiver = loopback();
        let config = SenderConfig {
            mss: 100,
            drop_probability: 0.0,
            seed: 1,
            timeout: TimeoutRule::Fixed(ms(50)),
            first_rtt: None,
        };
        let mut log = TransferLog::disabled();
        let alarm = Alarm::new();
        let receiver_address = receiver.local_addr().expect("an address");
        let mut sender = Sender::new(&socket, receiver_address, &config, &mut log, &alarm);
        let own_address = socket.local_addr().expect("an address");
        // A stale acknowledgement and the wanted one, both already there
        // when the sender, late, looks at the socket.
        receiver.send_to(b"ACK 0 1\n", own_address).expect("sent");
        receiver.send_to(b"ACK 0 101\n", own_address).expect("sent");
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("a read timeout");
        let mut buffer = [0u8; 16];
        socket
            .peek_from(&mut buffer)
            .expect("the acknowledgements arrive");
        let deadline_passed = Instant::now() - ms(1);
        assert!(sender.wait_for_ack(101, deadline_passed).expect("no error"));
        // Nothing waiting: the timer has expired.
        assert!(!sender.wait_for_ack(201, deadline_passed).expect("no error"));
    }

    #[test]
    fn the_alarm_ends_a_wait_on_the_socket_at_its_deadline() {
        let elapsed = time_the_alarm(|alarm, now| alarm.set(now + ms(5)));
        assert!(elapsed >= ms(5) && elapsed < ms(5000), "{elapsed:?}");
    }

    #[test]
    fn a_later_deadline_replaces_the_one_the_alarm_sleeps_towards() {
        let elapsed = time_the_alarm(|alarm, now| {
            alarm.set(now + ms(5));
            alarm.set(now + ms(200));
        });
        assert!(elapsed >= ms(200) && elapsed < ms(5000), "{elapsed:?}");
    }

    #[test]
    fn an_earlier_deadline_wakes_the_alarm() {
        let elapsed = time_the_alarm(|alarm, now| {
            alarm.set(now + Duration::from_secs(10));
            // Let the alarm's thread go to sleep towards the first one.
            thread::sleep(ms(20));
            alarm.set(now + ms(30));
        });
        assert!(elapsed >= ms(30) && elapsed < ms(5000), "{elapsed:?}");
    }

    /// Sends `data` across loopback with the given MSS and drop
    /// probability, and returns what arrived with both reports.
    fn transfer(data: &[u8], mss: usize, drop: f64) -> (Vec<u8>, TransferReport, TransferReport) {
        let sender_socket = loopback();
        let receiver_socket = loopback();
        let receiver_address = receiver_socket.local_addr().expect("an address");
        let size = data.len() as u64;
        let receiver = thread::spawn(move || {
            let mut received = Vec::new();
            let (report, _) = receive_file(
                &receiver_socket,
                &mut received,
                size,
                &mut TransferLog::disabled(),
            )
            .expect("the file arrives");
            (received, report)
        });
        let config = SenderConfig {
            mss,
            drop_probability: drop,
            seed: 42,
            timeout: TimeoutRule::Estimated,
            first_rtt: Some(ms(1)),
        };
        let sent = send_file(
            &sender_socket,
            receiver_address,
            data,
            size,
            &config,
            &mut TransferLog::disabled(),
        )
        .expect("the file is sent");
        let (received, received_report) = receiver.join().expect("the receiver thread");
        (received, sent, received_report)
    }

    fn sample(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 256) as u8).collect()
    }

    #[test]
    fn files_of_every_awkward_size_arrive_intact() {
        for len in [0, 1, 300, 301, 5000] {
            let data = sample(len);
            let (received, sent, _) = transfer(&data, 300, 0.0);
            assert_eq!(received, data, "{len} bytes");
            assert_eq!(sent.segments, len.div_ceil(300) as u64);
            // Nothing is dropped, so a timer can only expire spuriously:
            // with a timeout of a few milliseconds, that happens now and
            // then on a busy machine (the receiver's thread may not even
            // have started when the first segment is sent).
            assert_eq!(sent.drops, 0);
            assert_eq!(sent.retransmissions, sent.spurious_timeouts);
        }
    }

    #[test]
    fn dropped_segments_are_retransmitted_until_they_arrive() {
        let data = sample(20_000);
        let (received, sent, _) = transfer(&data, 500, 0.3);
        assert_eq!(received, data);
        assert!(sent.drops > 0);
        assert!(sent.retransmissions >= sent.drops);
    }

    #[test]
    fn a_silent_receiver_makes_the_sender_give_up() {
        let sender_socket = loopback();
        let nobody = loopback();
        let config = SenderConfig {
            mss: 100,
            drop_probability: 0.0,
            seed: 1,
            timeout: TimeoutRule::Estimated,
            first_rtt: None,
        };
        let data = sample(1000);
        let started = Instant::now();
        let result = send_file(
            &sender_socket,
            nobody.local_addr().expect("an address"),
            &data[..],
            1000,
            &config,
            &mut TransferLog::disabled(),
        );
        assert!(matches!(result, Err(TransferError::Silent { .. })));
        assert!(started.elapsed() < GIVE_UP_SILENCE + MAX_RTO * 2);
    }

    #[test]
    fn dropping_every_segment_ends_in_failure_not_a_hang() {
        let sender_socket = loopback();
        let receiver = loopback();
        let config = SenderConfig {
            mss: 100,
            drop_probability: 1.0,
            seed: 1,
            timeout: TimeoutRule::Fixed(Duration::from_millis(1)),
            first_rtt: None,
        };
        let result = send_file(
            &sender_socket,
            receiver.local_addr().expect("an address"),
            &sample(100)[..],
            100,
            &config,
            &mut TransferLog::disabled(),
        );
        assert!(matches!(
            result,
            Err(TransferError::TooManyAttempts {
                attempts: GIVE_UP_ATTEMPTS
            })
        ));
    }

    #[test]
    fn an_impossible_size_is_refused_not_wrapped() {
        let receiver = loopback();
        let result = receive_file(
            &receiver,
            Vec::new(),
            u64::MAX,
            &mut TransferLog::disabled(),
        );
        assert!(matches!(result, Err(TransferError::TooLarge { .. })));
    }

    #[test]
    fn a_file_shorter_than_announced_is_an_error() {
        let sender_socket = loopback();
        let receiver = loopback();
        let config = SenderConfig {
            mss: 100,
            drop_probability: 0.0,
            seed: 1,
            timeout: TimeoutRule::Fixed(ms(50)),
            first_rtt: None,
        };
        let result = send_file(
            &sender_socket,
            receiver.local_addr().expect("an address"),
            &b"short"[..],
            1000,
            &config,
            &mut TransferLog::disabled(),
        );
        assert!(matches!(result, Err(TransferError::ShortFile { .. })));
    }
}
