//! Positions on the ring of 256 identities and the arithmetic on them.
//!
//! Everything that asks "does this identity lie between those two, going
//! clockwise?" lives here, so that the wrap-around from 255 to 0 is handled
//! in exactly one place. Peer identities and file hashes share the same
//! circle of positions 0..=255.

use std::fmt;
use std::str::FromStr;

/// The number of positions on the ring.
pub const RING_SIZE: u16 = 256;

/// The identity of a peer: a position on the ring, 0..=255.
///
/// A newtype rather than a bare `u8` so that a peer identity cannot be
/// confused with a sequence number or a byte count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId(pub u8);

impl PeerId {
    /// The UDP and TCP port of this peer in a ring whose ports start at
    /// `base_port`. The caller must have checked that `base_port + 255` fits
    /// in a `u16`; the configuration does that once at start-up.
    pub fn port(self, base_port: u16) -> u16 {
        base_port + u16::from(self.0)
    }
}

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Why a piece of text is not a peer identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadPeerId;

impl FromStr for PeerId {
    type Err = BadPeerId;

    /// Accepts exactly the decimal numbers 0..=255, with no sign or spaces.
    fn from_str(text: &str) -> Result<PeerId, BadPeerId> {
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(BadPeerId);
        }
        text.parse::<u8>().map(PeerId).map_err(|_| BadPeerId)
    }
}

/// How many steps it takes to walk clockwise from `from` to `to`.
///
/// The result is in 0..=255; walking from a position to itself takes no
/// steps. Wrapping subtraction on `u8` is exactly arithmetic modulo 256.
pub fn clockwise_distance(from: u8, to: u8) -> u8 {
    to.wrapping_sub(from)
}

/// True when `position` lies on the clockwise arc that starts just after
/// `start` and ends at `end`, inclusive: the half-open interval
/// `(start, end]`.
///
/// This is the rule of a distributed hash table: a key belongs to the first
/// peer at or after it, so the peer `end` whose predecessor is `start` owns
/// exactly the positions `(start, end]`. When `start == end` the arc is the
/// whole ring, because a peer that is its own predecessor is alone and owns
/// everything.
pub fn is_in_arc(start: u8, position: u8, end: u8) -> bool {
    steps_after(start, position) <= steps_after(start, end)
}

/// The number of steps from `start` to the first arrival at `position`,
/// walking clockwise and leaving `start` first: 1..=256. Arriving back at
/// `start` itself takes the whole circle.
fn steps_after(start: u8, position: u8) -> u16 {
    match clockwise_distance(start, position) {
        0 => RING_SIZE,
        steps => u16::from(steps),
    }
}

/// True when `position` lies strictly between `start` and `end`, going
/// clockwise: the open interval `(start, end)`.
///
/// A newcomer belongs right after peer `start` when it lies strictly between
/// `start` and `start`'s first successor `end`; it may not be equal to
/// either, because then its identity is taken.
pub fn is_strictly_between(start: u8, position: u8, end: u8) -> bool {
    position != end && is_in_arc(start, position, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_wraps_past_255() {
        assert_eq!(clockwise_distance(2, 4), 2);
        assert_eq!(clockwise_distance(250, 3), 9);
        assert_eq!(clockwise_distance(255, 0), 1);
        assert_eq!(clockwise_distance(7, 7), 0);
        assert_eq!(clockwise_distance(4, 2), 254);
    }

    #[test]
    fn arc_without_wrap() {
        // Peer 8 follows peer 5, so it owns 6, 7 and 8.
        assert!(!is_in_arc(5, 5, 8));
        assert!(is_in_arc(5, 6, 8));
        assert!(is_in_arc(5, 8, 8));
        assert!(!is_in_arc(5, 9, 8));
        assert!(!is_in_arc(5, 200, 8));
    }

    #[test]
    fn arc_that_wraps_past_255() {
        // On the teaching ring peer 2 follows peer 19 and owns 20..=255 and 0..=2.
        assert!(is_in_arc(19, 20, 2));
        assert!(is_in_arc(19, 220, 2));
        assert!(is_in_arc(19, 255, 2));
        assert!(is_in_arc(19, 0, 2));
        assert!(is_in_arc(19, 2, 2));
        assert!(!is_in_arc(19, 3, 2));
        assert!(!is_in_arc(19, 19, 2));
        // The arc from 255 to 0 holds only 0.
        assert!(is_in_arc(255, 0, 0));
        assert!(!is_in_arc(255, 255, 0));
        assert!(!is_in_arc(255, 1, 0));
    }

    #[test]
    fn a_lone_peer_owns_the_whole_ring() {
        for position in 0..=255u8 {
            assert!(is_in_arc(42, position, 42));
        }
    }

    #[test]
    fn strictly_between_excludes_both_ends() {
        assert!(is_strictly_between(14, 15, 19));
        assert!(!is_strictly_between(14, 14, 19));
        assert!(!is_strictly_between(14, 19, 19));
        assert!(!is_strictly_between(14, 20, 19));
        // A newcomer above the largest identity or below the smallest one
        // belongs after the largest identity.
        assert!(is_strictly_between(19, 200, 2));
        assert!(is_strictly_between(19, 0, 2));
        assert!(is_strictly_between(253, 1, 3));
        assert!(!is_strictly_between(253, 3, 3));
    }

    #[test]
    fn every_position_belongs_to_exactly_one_peer() {
        // The arcs (predecessor, peer] of a ring cover the circle once.
        let ring = [2u8, 4, 5, 8, 9, 14, 19];
        for position in 0..=255u8 {
            let owners = (0..ring.len())
                .filter(|&i| {
                    let predecessor = ring[(i + ring.len() - 1) % ring.len()];
                    is_in_arc(predecessor, position, ring[i])
                })
                .count();
            assert_eq!(owners, 1, "position {position}");
        }
    }

    #[test]
    fn peer_ids_parse_only_plain_decimals_in_range() {
        assert_eq!("0".parse(), Ok(PeerId(0)));
        assert_eq!("255".parse(), Ok(PeerId(255)));
        assert_eq!("007".parse(), Ok(PeerId(7)));
        for bad in ["", "256", "-1", "+3", " 3", "3 ", "x", "1.0"] {
            assert_eq!(bad.parse::<PeerId>(), Err(BadPeerId), "{bad:?}");
        }
    }

    #[test]
    fn ports_are_offset_from_the_base() {
        assert_eq!(PeerId(8).port(12000), 12008);
        assert_eq!(PeerId(255).port(65280), 65535);
    }
}
