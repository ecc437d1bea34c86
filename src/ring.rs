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

/// The fewest successors a peer keeps: the course's two.
pub const MIN_SUCCESSORS: usize = 2;

/// The most successors a peer keeps (`--successors 8`), and so the longest
/// list of peers that any message carries.
pub const MAX_SUCCESSORS: usize = 8;

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

/// A file name of the ring: exactly four decimal digits, 0000-9999. The
/// file itself is `NNNN.pdf` in a peer's directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileName(u16);

impl FileName {
    /// Reads a four-digit name; anything else is not a file name of the
    /// ring.
    pub fn parse(text: &str) -> Option<FileName> {
        if text.len() == 4 && text.bytes().all(|b| b.is_ascii_digit()) {
            text.parse().ok().map(FileName)
        } else {
            None
        }
    }

    /// The position of the file on the ring: its number modulo 256.
    pub fn hash(self) -> u8 {
        // The remainder of a division by 256 always fits in a byte.
        (self.0 % 256) as u8
    }
}

impl FromStr for FileName {
    type Err = BadFileName;

    fn from_str(text: &str) -> Result<FileName, BadFileName> {
        FileName::parse(text).ok_or(BadFileName)
    }
}

/// How a peer keeps one of the ring's files in its directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Held {
    /// `NNNN.pdf`: the course's stored file, at the responsible peer.
    Stored,
    /// `replica_NNNN.pdf`: a copy kept for the responsible peer before it,
    /// by a peer that looks after the ring's files (`--replicas`).
    Replica,
}

/// Why a piece of text is not a file name of the ring.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadFileName;

impl fmt::Display for FileName {
    /// Always four digits, so 0042 stays 0042.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}", self.0)
    }
}

/// Peers as an English sentence lists them: `4`, `4 and 5`, `4, 5 and 8`;
/// nothing for no peer. The printed lines, the diagnostics and `p2p ring`
/// all list peers this way.
pub fn peers_in_words(peers: &[PeerId]) -> String {
    let names: Vec<String> = peers.iter().map(PeerId::to_string).collect();
    match names.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
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
    fn peers_are_listed_as_a_sentence_lists_them() {
        let peers =
            |ids: &[u8]| peers_in_words(&ids.iter().copied().map(PeerId).collect::<Vec<_>>());
        assert_eq!(peers(&[]), "");
        assert_eq!(peers(&[4]), "4");
        assert_eq!(peers(&[4, 5]), "4 and 5");
        assert_eq!(peers(&[4, 5, 8]), "4, 5 and 8");
    }

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

    fn file(text: &str) -> FileName {
        FileName::parse(text).expect("a valid name")
    }

    #[test]
    fn hashes_of_the_reference() {
        assert_eq!(file("2067").hash(), 19);
        assert_eq!(file("4103").hash(), 7);
        assert_eq!(file("2012").hash(), 220);
        assert_eq!(file("0000").hash(), 0);
        assert_eq!(file("9999").hash(), 15);
        assert_eq!(file("0042").to_string(), "0042");
    }

    #[test]
    fn file_names_are_exactly_four_digits() {
        for bad in [
            "",
            "206",
            "20677",
            "abcd",
            "-123",
            "+123",
            "20 67",
            "２０６７",
        ] {
            assert_eq!(bad.parse::<FileName>(), Err(BadFileName), "{bad:?}");
        }
    }

    #[test]
    fn ports_are_offset_from_the_base() {
        assert_eq!(PeerId(8).port(12000), 12008);
        assert_eq!(PeerId(255).port(65280), 65535);
    }
}
