//! The predecessors a peer has heard from: the peers that ping it.
//!
//! A ping says which of the sender's successors the receiver is (`first`,
//! `second`, ...), so the receiver learns that the sender is its first,
//! second, ... predecessor. A predecessor that has not pinged for a while
//! (the *memory*: three ping intervals and a second) is forgotten: it has
//! left, died, or now pings someone else. So after every change each peer's
//! view of its predecessors is right again within that time.
//!
//! For the background repair (`stabilize.rs`) a peer also says which peer
//! pinging it as first successor lies nearest before it. Two peers may both
//! ping it as their first successor for a while: one that has just joined
//! (or come back) in front of it, and the one before that, which has not
//! learned of the newcomer yet. The nearer one is the true predecessor, and
//! naming it is how the farther one learns of it.

use std::time::{Duration, Instant};

use crate::message::Ordinal;
use crate::ring::{MAX_SUCCESSORS, PeerId, clockwise_distance};

/// How many peers pinging as first successor are remembered at once. A
/// peer has one true first predecessor; the others are peers that have not
/// yet learned of a newcomer, or a forger, and the nearest is kept.
const MAX_FIRST_PINGERS: usize = 4;

/// A predecessor, learned from a ping, and when it last pinged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Heard {
    peer: PeerId,
    at: Instant,
}

/// The predecessors of one peer, by position; see the module documentation.
#[derive(Clone, Debug)]
pub struct Predecessors {
    me: PeerId,
    heard: [Option<Heard>; MAX_SUCCESSORS],
    /// Every peer that pinged as first successor lately, for
    /// [`Predecessors::nearest_first`].
    first_pingers: Vec<Heard>,
    memory: Duration,
    /// How long a first-successor ping counts for `nearest_first`: a live
    /// predecessor pings every interval, so a peer silent for two has moved
    /// on or died.
    first_pinger_memory: Duration,
}

impl Predecessors {
    pub fn new(me: PeerId, memory: Duration, first_pinger_memory: Duration) -> Predecessors {
        Predecessors {
            me,
            heard: [None; MAX_SUCCESSORS],
            first_pingers: Vec::new(),
            memory,
            first_pinger_memory,
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
        self.first_pingers
            .retain(|heard| heard.peer != peer && now < heard.at + self.first_pinger_memory);
        if position == Ordinal::First {
            self.first_pingers.push(Heard { peer, at: now });
            // Keep the nearest ones: a far one is a peer that will learn of
            // a nearer one soon.
            let me = self.me;
            self.first_pingers
                .sort_by_key(|heard| clockwise_distance(heard.peer.0, me.0));
            self.first_pingers.truncate(MAX_FIRST_PINGERS);
        }
    }

    /// The nearest peer before this one that pinged it as first successor
    /// lately: the predecessor it names in its answer to `QUERY`.
    pub fn nearest_first(&self, now: Instant) -> Option<PeerId> {
        self.first_pingers
            .iter()
            .find(|heard| now < heard.at + self.first_pinger_memory)
            .map(|heard| heard.peer)
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
        self.first_pingers.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MEMORY: Duration = Duration::from_secs(10);

    #[test]
    fn predecessors_are_learned_by_position_and_forgotten_after_the_memory() {
        let now = Instant::now();
        let mut predecessors = Predecessors::new(PeerId(4), MEMORY, MEMORY);
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
        let mut predecessors = Predecessors::new(PeerId(4), MEMORY, MEMORY);
        predecessors.record(PeerId(2), Ordinal::Second, now);
        predecessors.record(PeerId(2), Ordinal::First, now);
        assert_eq!(predecessors.heard(now), [(Ordinal::First, PeerId(2))]);
    }

    #[test]
    fn the_nearest_peer_pinging_as_first_successor_is_the_predecessor() {
        // 2 has not learned yet that 3 joined in front of us (4): both ping
        // us as first successor, and 3 is named, whatever the order.
        let now = Instant::now();
        for order in [[2, 3], [3, 2]] {
            let mut predecessors = Predecessors::new(PeerId(4), MEMORY, MEMORY);
            for peer in order {
                predecessors.record(PeerId(peer), Ordinal::First, now);
            }
            assert_eq!(predecessors.nearest_first(now), Some(PeerId(3)));
            // Once 3 falls silent, 2 is named again.
            let later = now + MEMORY / 2;
            predecessors.record(PeerId(2), Ordinal::First, later);
            assert_eq!(predecessors.nearest_first(now + MEMORY), Some(PeerId(2)));
        }
        // Across the wrap: 250 is nearer before 4 than 200.
        let mut predecessors = Predecessors::new(PeerId(4), MEMORY, MEMORY);
        predecessors.record(PeerId(200), Ordinal::First, now);
        predecessors.record(PeerId(250), Ordinal::First, now);
        assert_eq!(predecessors.nearest_first(now), Some(PeerId(250)));
    }
}
