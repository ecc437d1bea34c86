//! The predecessors a peer has heard from: the peers that ping it.
//!
//! A ping says which of the sender's successors the receiver is (`first`,
//! `second`, ...), so the receiver learns that the sender is its first,
//! second, ... predecessor. A predecessor that has not pinged for a while
//! (the *memory*: three ping intervals and a second) is forgotten: it has
//! left, died, or now pings someone else. So after every change each peer's
//! view of its predecessors is right again within that time.

use std::time::{Duration, Instant};

use crate::message::Ordinal;
use crate::ring::{MAX_SUCCESSORS, PeerId};

/// A predecessor, learned from a ping, and when it last pinged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Heard {
    peer: PeerId,
    at: Instant,
}

/// The predecessors of one peer, by position; see the module documentation.
#[derive(Clone, Debug)]
pub struct Predecessors {
    heard: [Option<Heard>; MAX_SUCCESSORS],
    memory: Duration,
}

impl Predecessors {
    pub fn new(memory: Duration) -> Predecessors {
        Predecessors {
            heard: [None; MAX_SUCCESSORS],
            memory,
        }
    }

    /// `peer` pinged this peer as its successor at `position`.
    pub fn record(&mut self, peer: PeerId, position: Ordinal, now: Instant) {
        // A peer is one predecessor, never two: if it used to fill another
        // position, the ring has changed and that memory is stale.
        for slot in &mut self.heard {
            if slot.is_some_and(|heard| heard.peer == peer) {
                *slot = None;
            }
        }
        self.heard[position.index()] = Some(Heard { peer, at: now });
    }

    /// The predecessor at `position`, if it has pinged recently enough.
    pub fn at(&self, position: Ordinal, now: Instant) -> Option<PeerId> {
        let heard = self.heard[position.index()]?;
        (now < heard.at + self.memory).then_some(heard.peer)
    }

    /// The first predecessor, if it has pinged recently enough.
    pub fn first(&self, now: Instant) -> Option<PeerId> {
        self.at(Ordinal::First, now)
    }

    /// Every predecessor heard recently, nearest first, with its position.
    pub fn heard(&self, now: Instant) -> Vec<(Ordinal, PeerId)> {
        (0..MAX_SUCCESSORS)
            .filter_map(Ordinal::from_index)
            .filter_map(|position| self.at(position, now).map(|peer| (position, peer)))
            .collect()
    }

    /// When a predecessor last pinged, if one ever has.
    pub fn last_heard_at(&self) -> Option<Instant> {
        self.heard.iter().flatten().map(|heard| heard.at).max()
    }

    /// The moment every predecessor is forgotten: nobody has pinged for the
    /// whole memory.
    pub fn all_forgotten_at(&self) -> Option<Instant> {
        self.last_heard_at().map(|at| at + self.memory)
    }

    /// Forgets every predecessor, for a peer that joins the ring again.
    pub fn forget_all(&mut self) {
        self.heard = [None; MAX_SUCCESSORS];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MEMORY: Duration = Duration::from_secs(10);

    #[test]
    fn predecessors_are_learned_by_position_and_forgotten_after_the_memory() {
        let now = Instant::now();
        let mut predecessors = Predecessors::new(MEMORY);
        predecessors.record(PeerId(2), Ordinal::First, now);
        predecessors.record(PeerId(19), Ordinal::Second, now);
        predecessors.record(PeerId(14), Ordinal::Third, now);
        assert_eq!(predecessors.first(now), Some(PeerId(2)));
        assert_eq!(
            predecessors.heard(now),
            [
                (Ordinal::First, PeerId(2)),
                (Ordinal::Second, PeerId(19)),
                (Ordinal::Third, PeerId(14))
            ]
        );
        let just_before = now + MEMORY - Duration::from_millis(1);
        assert_eq!(predecessors.first(just_before), Some(PeerId(2)));
        assert_eq!(predecessors.first(now + MEMORY), None);
        assert_eq!(predecessors.all_forgotten_at(), Some(now + MEMORY));
    }

    #[test]
    fn a_predecessor_that_moves_to_another_position_leaves_the_old_one() {
        // 2 was our second predecessor; after a departure it pings us as its
        // first successor.
        let now = Instant::now();
        let mut predecessors = Predecessors::new(MEMORY);
        predecessors.record(PeerId(2), Ordinal::Second, now);
        predecessors.record(PeerId(2), Ordinal::First, now);
        assert_eq!(predecessors.heard(now), [(Ordinal::First, PeerId(2))]);
    }
}
