//! When the next regular round of pings is due.
//!
//! Rounds come every ping interval, with one exception at the start. A
//! ring started by hand starts one peer after another, so a peer's first
//! pings often reach successors that are not running yet, and at the
//! course's interval of 30 s nobody would hear an answer for half a
//! minute. So while some successor has never answered, the next round
//! comes after a short *retry delay* instead: [`FIRST_ROUND_RETRY`] after
//! the first round, then twice as long each time, up to the interval.
//! Once every successor has answered, the interval applies again, counted
//! from the last round, and the retry delay starts again from the
//! beginning for the next successor that has never answered.
//!
//! This costs a few pings at the start, and nothing once the ring is up:
//! a successor that has answered once, or that another peer vouches for,
//! is never waited for this way. How long a successor that never answers
//! is waited for is decided elsewhere, by the never-answered limit (see
//! `liveness.rs`): the early rounds make it neither sooner nor later.

use std::time::{Duration, Instant};

/// The retry delay after the first round while a successor has never
/// answered. A peer started by hand takes a few tenths of a second to open
/// its ports, so half a second is a fair first guess; the delay then
/// doubles, so at an interval of 30 s at most six early rounds are sent
/// (after 0.5, 1, 2, 4, 8 and 16 s), however long a successor stays away.
pub const FIRST_ROUND_RETRY: Duration = Duration::from_millis(500);

/// The schedule of regular rounds; see the module documentation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rounds {
    interval: Duration,
    next_at: Instant,
    /// The wait before the next round if some successor has still never
    /// answered when the next round starts.
    retry_delay: Duration,
    /// When the last round started, if it was an early one.
    early_round_at: Option<Instant>,
}

impl Rounds {
    /// A schedule whose first round is due at `now`.
    pub fn new(interval: Duration, now: Instant) -> Rounds {
        Rounds {
            interval,
            next_at: now,
            retry_delay: FIRST_ROUND_RETRY,
            early_round_at: None,
        }
    }

    /// When the next round is due.
    pub fn next_at(&self) -> Instant {
        self.next_at
    }

    /// The list changed: its new successors are pinged at once.
    pub fn now(&mut self, now: Instant) {
        self.next_at = now;
        self.early_round_at = None;
    }

    /// A round started at `now`. `waiting` says whether some successor has
    /// never answered: then the next round comes after the retry delay,
    /// which doubles for the time after. Otherwise it comes an interval
    /// later, keeping a steady rhythm, but after a long stall (a suspended
    /// process, say) the rhythm starts afresh rather than fire a burst of
    /// rounds.
    pub fn started(&mut self, now: Instant, waiting: bool) {
        if waiting && self.retry_delay < self.interval {
            self.next_at = now + self.retry_delay;
            self.retry_delay = (self.retry_delay * 2).min(self.interval);
            self.early_round_at = Some(now);
            return;
        }
        if !waiting {
            self.retry_delay = FIRST_ROUND_RETRY;
        }
        self.early_round_at = None;
        self.next_at += self.interval;
        if self.next_at <= now {
            self.next_at = now + self.interval;
        }
    }

    /// Every successor has now answered: an early round planned is not
    /// needed, and the next round comes an interval after the last one.
    pub fn all_answered(&mut self) {
        self.retry_delay = FIRST_ROUND_RETRY;
        if let Some(last) = self.early_round_at.take() {
            self.next_at = last + self.interval;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INTERVAL: Duration = Duration::from_secs(30);

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    /// The times of the rounds until `until`, while a successor never
    /// answers.
    fn rounds_while_waiting(interval: Duration, until: Duration) -> Vec<Duration> {
        let start = Instant::now();
        let mut rounds = Rounds::new(interval, start);
        let mut times = Vec::new();
        while rounds.next_at() <= start + until {
            let at = rounds.next_at();
            times.push(at - start);
            rounds.started(at, true);
        }
        times
    }

    #[test]
    fn a_silent_successor_is_pinged_again_sooner_and_sooner_less_often() {
        let times = rounds_while_waiting(INTERVAL, secs(100.0));
        let expected: Vec<Duration> = [0.0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5, 61.5, 91.5]
            .into_iter()
            .map(secs)
            .collect();
        assert_eq!(times, expected);
    }

    #[test]
    fn a_short_interval_has_no_early_rounds() {
        let times = rounds_while_waiting(secs(0.2), secs(1.0));
        let expected: Vec<Duration> = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
            .into_iter()
            .map(secs)
            .collect();
        assert_eq!(times.len(), expected.len(), "{times:?}");
        for (time, expected) in times.iter().zip(&expected) {
            assert!(time.abs_diff(*expected) < secs(0.001), "{times:?}");
        }
    }

    #[test]
    fn an_answer_puts_the_next_round_an_interval_after_the_last() {
        let start = Instant::now();
        let mut rounds = Rounds::new(INTERVAL, start);
        rounds.started(start, true);
        rounds.started(start + secs(0.5), true);
        rounds.all_answered();
        assert_eq!(rounds.next_at(), start + secs(0.5) + INTERVAL);
        // The next successor that has never answered is retried from the
        // first delay again.
        rounds.now(start + secs(10.0));
        rounds.started(start + secs(10.0), true);
        assert_eq!(rounds.next_at(), start + secs(10.5));
    }

    #[test]
    fn answered_successors_keep_the_interval() {
        let start = Instant::now();
        let mut rounds = Rounds::new(INTERVAL, start);
        rounds.started(start, false);
        assert_eq!(rounds.next_at(), start + INTERVAL);
        // An answer when no early round is planned changes nothing.
        rounds.all_answered();
        assert_eq!(rounds.next_at(), start + INTERVAL);
    }
}
