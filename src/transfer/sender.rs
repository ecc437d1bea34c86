//! The sending side: stop-and-wait, one segment at a time, with its timer.

use std::io::{self, Read};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use super::{
    DropGenerator, GIVE_UP_ATTEMPTS, GIVE_UP_SENDS, GIVE_UP_SILENCE, INITIAL_SEQ, LogEvent,
    RtoEstimator, SenderConfig, TimeoutRule, TransferError, TransferLog, TransferReport, end_of,
    is_timeout,
};
use crate::message::{MAX_SEGMENT_HEADER_LEN, Segment};

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
            let acknowledged_at = sender.send_segment(seq, &chunk[..len])?;
            seq += len as u64;
            sender
                .log
                .progress(seq - INITIAL_SEQ, size, acknowledged_at);
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
    /// its acknowledgement arrives: the heart of stop-and-wait. Returns
    /// when the acknowledgement was taken.
    fn send_segment(&mut self, seq: u64, payload: &[u8]) -> Result<Instant, TransferError> {
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
                let acknowledged_at = Instant::now();
                // Karn's rule: only a segment sent exactly once gives a
                // round trip that is surely its own.
                if transmissions == 1 {
                    self.estimator
                        .record_sample(acknowledged_at.duration_since(last_sent_at));
                } else if let Some(first_sent_at) = silent_since {
                    self.estimator
                        .record_ambiguous_sample(acknowledged_at.duration_since(first_sent_at));
                }
                self.report.segments += 1;
                return Ok(acknowledged_at);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
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
}
