//! The seeded generator of the simulated loss.

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
