//! The progress of a long transfer, for the person watching a peer.
//!
//! A transfer of a few megabytes with simulated loss can take many seconds,
//! and the course's lines say nothing between "Sending file" and "The file
//! has been sent". So a transfer that has run for more than a second writes
//! a line on standard error about once a second, such as
//!
//! ```text
//! p2p: receiving File 4103 from Peer 8: 512 KiB of 2.0 MiB (25%)
//! ```
//!
//! and one more when its last byte has moved. A transfer shorter than a
//! second writes nothing, and standard output never changes. The transfer
//! tells its progress after each segment, with the time it has just read
//! from the clock for its own needs, so following it costs one comparison
//! a segment and no system call.

use std::time::{Duration, Instant};

/// How long a transfer runs, from its first segment, before its first
/// progress line.
pub const PROGRESS_AFTER: Duration = Duration::from_secs(1);

/// How often a long transfer writes a progress line.
pub const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// The progress of one transfer; see the module documentation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Progress {
    /// What the transfer is, as the line names it: `receiving File 4103
    /// from Peer 8`.
    what: String,
    /// When the next line is due; `None` until the first segment.
    next_line_at: Option<Instant>,
    /// Whether a line has been written, so that the end gets one too.
    shown: bool,
}

impl Progress {
    pub fn new(what: impl Into<String>) -> Progress {
        Progress {
            what: what.into(),
            next_line_at: None,
            shown: false,
        }
    }

    /// `done` of `total` bytes have moved by `now`: returns the line to
    /// write, if one is due. The first call starts the transfer's clock.
    pub fn line_due(&mut self, done: u64, total: u64, now: Instant) -> Option<String> {
        let due = *self.next_line_at.get_or_insert(now + PROGRESS_AFTER);
        let last = done >= total;
        if now < due && !(last && self.shown) {
            return None;
        }
        self.next_line_at = Some(now + PROGRESS_EVERY);
        self.shown = true;
        Some(format!(
            "{}: {} of {} ({}%)",
            self.what,
            amount(done),
            amount(total),
            percent(done, total)
        ))
    }
}

/// A number of bytes as a person reads it: `900 B`, `512 KiB`, `2.0 MiB`,
/// `1.5 GiB`.
pub fn amount(bytes: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = KIB * 1024;
    const GIB: u64 = MIB * 1024;
    if bytes < KIB {
        format!("{bytes} B")
    } else if bytes < MIB {
        format!("{} KiB", bytes / KIB)
    } else if bytes < GIB {
        format!("{:.1} MiB", bytes as f64 / MIB as f64)
    } else {
        format!("{:.1} GiB", bytes as f64 / GIB as f64)
    }
}

/// `done` as a whole percentage of `total`, rounded down, so that 100%
/// means every byte; an empty total counts as done.
fn percent(done: u64, total: u64) -> u64 {
    if total == 0 {
        return 100;
    }
    let share = u128::from(done.min(total)) * 100 / u128::from(total);
    share as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Runs a transfer of `total` bytes that moves evenly, one segment every
    /// 10 ms, for `length`, and returns the lines it writes with their
    /// times after the start.
    fn lines_of(total: u64, length: Duration) -> Vec<(Duration, String)> {
        let start = Instant::now();
        let mut progress = Progress::new("receiving File 4103 from Peer 8");
        let steps = (length.as_millis() / 10) as u64;
        let mut lines = Vec::new();
        for step in 0..=steps {
            let at = ms(step * 10);
            let done = total * step / steps;
            if let Some(line) = progress.line_due(done, total, start + at) {
                lines.push((at, line));
            }
        }
        lines
    }

    #[test]
    fn amounts_are_written_in_the_unit_that_fits() {
        assert_eq!(amount(0), "0 B");
        assert_eq!(amount(1023), "1023 B");
        assert_eq!(amount(1024), "1 KiB");
        assert_eq!(amount(512 * 1024 + 700), "512 KiB");
        assert_eq!(amount(2 << 20), "2.0 MiB");
        assert_eq!(amount(3 << 29), "1.5 GiB");
    }

    #[test]
    fn a_transfer_shorter_than_a_second_writes_nothing() {
        assert_eq!(lines_of(2 << 20, ms(990)), []);
    }

    #[test]
    fn a_long_transfer_writes_a_line_a_second_and_one_at_the_end() {
        let lines = lines_of(2 << 20, ms(3500));
        let times: Vec<Duration> = lines.iter().map(|(at, _)| *at).collect();
        assert_eq!(times, [ms(1000), ms(2000), ms(3000), ms(3500)]);
        assert_eq!(
            lines[0].1,
            "receiving File 4103 from Peer 8: 585 KiB of 2.0 MiB (28%)"
        );
        assert_eq!(
            lines[3].1,
            "receiving File 4103 from Peer 8: 2.0 MiB of 2.0 MiB (100%)"
        );
    }

    #[test]
    fn the_percentage_is_rounded_down_and_bounded() {
        assert_eq!(percent(999, 1000), 99);
        assert_eq!(percent(1000, 1000), 100);
        assert_eq!(percent(5, 0), 100);
        assert_eq!(percent(u64::MAX, u64::MAX), 100);
        assert_eq!(percent(u64::MAX / 2, u64::MAX), 49);
    }
}
