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
//! `RTX`; see [`TransferLog`]. A transfer that takes more than a second
//! also shows its progress on standard error; see [`Progress`].

mod drops;
mod estimator;
mod log;
mod progress;
mod receiver;
mod sender;

pub use drops::DropGenerator;
pub use estimator::RtoEstimator;
pub use log::{LogEvent, TransferLog};
pub use progress::{PROGRESS_AFTER, PROGRESS_EVERY, Progress};
pub use receiver::{ReceiverConfig, linger, linger_with, receive_file, receive_file_with};
pub use sender::send_file;

use std::fmt;
use std::io;
use std::time::Duration;

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
    use std::net::{Ipv4Addr, UdpSocket};
    use std::thread;
    use std::time::Instant;

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
