//! The retransmission timeout: RFC 6298's estimator, with a floor measured
//! from the round trips themselves.

use std::time::Duration;

use super::{INITIAL_RTO, MAX_FLOOR, MAX_RTO, MIN_RTO, PEAK_DECAY, PEAK_MULTIPLE};

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
