//! The segment logs: `responding_log.txt` and `requesting_log.txt`, and
//! the progress line of a long transfer that a log may carry.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use super::progress::Progress;
use crate::output::diagnose;

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
///
/// A log is what a transfer tells the world as it goes, so it also carries
/// the transfer's [`Progress`], if it is to be shown
/// ([`TransferLog::showing_progress`]).
pub struct TransferLog {
    file: Option<File>,
    clock_start: Instant,
    progress: Option<Progress>,
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
        TransferLog {
            file,
            clock_start,
            progress: None,
        }
    }

    /// A log that writes nothing, for transfers nobody needs to read about.
    pub fn disabled() -> TransferLog {
        TransferLog {
            file: None,
            clock_start: Instant::now(),
            progress: None,
        }
    }

    /// Shows the progress of the transfer on standard error once it has run
    /// for more than a second (see [`Progress`]); `what` names it, as in
    /// `receiving File 4103 from Peer 8`.
    pub fn showing_progress(mut self, what: impl Into<String>) -> TransferLog {
        self.progress = Some(Progress::new(what));
        self
    }

    /// `done` of `total` bytes have moved by `now`, a time the transfer has
    /// just read from the clock: writes the progress line, if one is due.
    pub(super) fn progress(&mut self, done: u64, total: u64, now: Instant) {
        if let Some(line) = self
            .progress
            .as_mut()
            .and_then(|progress| progress.line_due(done, total, now))
        {
            diagnose!("{line}");
        }
    }

    pub(super) fn record(&mut self, event: LogEvent, seq: u64, bytes: usize, ack: u64) {
        if let Some(file) = &mut self.file {
            let time = self.clock_start.elapsed().as_secs_f64();
            let line = format!("{event} {time:.3} {seq} {bytes} {ack}\n");
            if file.write_all(line.as_bytes()).is_err() {
                self.file = None;
            }
        }
    }
}
