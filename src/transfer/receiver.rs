//! The receiving side: every segment acknowledged, each byte kept once, in
//! order, and a linger for a lost last acknowledgement.

use std::io::{self, Write};
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use super::{
    INITIAL_SEQ, LINGER, LogEvent, RECEIVE_IDLE_LIMIT, TransferError, TransferLog, TransferReport,
    end_of, is_timeout,
};
use crate::message::{MAX_DATAGRAM, Segment};

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
        log.progress(expected - INITIAL_SEQ, size, last_heard);
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
