//! The one source of randomness of a simulated run.
//!
//! Every random choice of a run (latencies, losses, which peer is killed
//! and when) is drawn from one generator seeded with the run's seed, in the
//! order the run makes its choices. Since the order of events is itself
//! deterministic, the same seed always replays the same run, event for
//! event. That is the whole point of the simulator: a failure found once is
//! found again with `make sim SEED=<n>`.
//!
//! The generator is SplitMix64 (Steele, Lea and Flood, 2014): a 64-bit
//! counter passed through a mixing function. It is tiny, fast, and good
//! enough for simulation; it is not meant for cryptography.

use std::time::Duration;

/// A seeded pseudo-random generator; see the module documentation.
#[derive(Clone, Debug)]
pub struct Rng {
    state: u64,
}

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng { state: seed }
    }

    /// A generator for a separate purpose, derived from this one, so that
    /// drawing more numbers for one purpose does not shift the numbers of
    /// another (the plan of a scenario does not change when the network
    /// draws one more latency).
    pub fn fork(&mut self) -> Rng {
        Rng::new(self.next_u64())
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..bound`; `bound` must not be zero. The slight bias of
    /// taking a remainder does not matter for simulation.
    pub fn below(&mut self, bound: u64) -> u64 {
        assert!(bound > 0, "below(0) has no value to return");
        self.next_u64() % bound
    }

    /// An index into a slice of `len` elements.
    pub fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    /// A number in `[0, 1)`, with 53 bits of precision.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `probability`.
    pub fn chance(&mut self, probability: f64) -> bool {
        probability > 0.0 && self.unit() < probability
    }

    /// A duration between `low` and `high`, evenly spread, to the
    /// nanosecond.
    pub fn duration_between(&mut self, low: Duration, high: Duration) -> Duration {
        let span = high.saturating_sub(low).as_nanos() as u64;
        if span == 0 {
            return low;
        }
        low + Duration::from_nanos(self.below(span + 1))
    }

    /// One element of a non-empty slice.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.index(items.len())]
    }

    /// Shuffles in place (Fisher-Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for last in (1..items.len()).rev() {
            let other = self.index(last + 1);
            items.swap(last, other);
        }
    }
}
