//! The successor list: the next R peers round the ring, how alive each
//! looks, and when to ping, probe or ask for more.
//!
//! A peer keeps its first R successors (`--successors R`, 2 by default as
//! in the course). `init` names two; the rest are learned the way Chord
//! learns them: a successor's own list, shifted by one, goes behind that
//! successor ([`merged`]). The same rule takes in a successor's news: a
//! `CHANGE` from a successor that took a newcomer, a `LEAVE` from one that
//! departs, the answer to the `QUERY` that refills a list grown short.
//!
//! When a successor dies, the peer drops it from the list at once and keeps
//! pinging the others, so with R successors it survives R - 1 adjacent
//! failures with no gap. It then refills the list from its new first
//! successor. As the course prints it, the new list is announced once that
//! refill has answered (the announcement is *held* until then).
//!
//! Everything that is due at a given time (a regular round of pings, a
//! probe, a verdict, a refill) is decided by one function, [`SuccessorList::
//! next_due`]: the peer does what it returns when the time comes, and asks
//! to be woken at the time it returns, so the two cannot disagree.

use std::time::{Duration, Instant};

use super::liveness::{Check, Liveness};
use crate::message::Ordinal;
use crate::ring::{PeerId, is_strictly_between};

/// How soon a refill that failed, or that brought news, is asked again.
/// Each answer that changes nothing doubles the wait, up to a ping interval.
pub const QUERY_RETRY: Duration = Duration::from_millis(200);

/// How soon a refill is asked again while the announcement of a repaired
/// list waits on it and the last answer brought nothing new.
pub const REPAIR_RETRY: Duration = Duration::from_millis(50);

/// The longest the announcement of a repaired list waits for the refill.
/// A first successor that cannot answer a query for this long is itself
/// about to be declared dead; the list is announced as it is meanwhile.
pub const HOLD_LIMIT: Duration = Duration::from_secs(5);

/// A successor and what its answers say about it.
#[derive(Clone, Debug, PartialEq)]
struct Successor {
    peer: PeerId,
    liveness: Liveness,
}

/// Whether, and when, to ask the first successor for its list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Refill {
    /// Nothing to ask: the list is full, or empty.
    Idle,
    /// Ask at `at`. `backoff` is how long to wait after the next answer if
    /// it changes nothing.
    Due { at: Instant, backoff: Duration },
    /// A question is on its way to `asked`.
    Asked { asked: PeerId, backoff: Duration },
}

/// What the successor list asks the peer to do; see
/// [`SuccessorList::next_due`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Due {
    /// Ping every successor: a regular round.
    Round,
    /// Send a quiet ping to this suspect.
    Probe(PeerId),
    /// This successor has been silent for too long: declare it dead.
    Verdict(PeerId),
    /// Ask the first successor for its list.
    Refill,
    /// Stop waiting for the refill before announcing the list.
    ReleaseHold,
}

impl Due {
    /// The order of work due at the same moment: a verdict first, so that a
    /// dead successor is not pinged again; the pings of a round before the
    /// refill, so that new successors hear from this peer at once.
    fn rank(self) -> u8 {
        match self {
            Due::Verdict(_) => 0,
            Due::Probe(_) => 1,
            Due::Round => 2,
            Due::Refill => 3,
            Due::ReleaseHold => 4,
        }
    }
}

/// A round of pings: whom to ping, in which position, with which number, and
/// the peers to name in the round's printed line, if it is printed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Round {
    pub pings: Vec<(PeerId, Ordinal)>,
    pub seq: u32,
    pub announce: Option<Vec<PeerId>>,
}

/// The successor list of one peer; see the module documentation.
#[derive(Clone, Debug)]
pub struct SuccessorList {
    me: PeerId,
    capacity: usize,
    ping_interval: Duration,
    entries: Vec<Successor>,
    /// The list as last printed.
    announced: Vec<PeerId>,
    /// Set when a death shortened the list: the new list is announced once
    /// the refill answers, or at the latest [`HOLD_LIMIT`] after this.
    held_since: Option<Instant>,
    refill: Refill,
    next_round_at: Instant,
    next_seq: u32,
    /// Set once the list has been full and every successor in it has
    /// answered: the ring is up. Successors learned after that, from other
    /// peers' lists, are presumed alive; before it, one that has never
    /// answered may simply not have started yet, and is not suspected.
    settled: bool,
    /// Successors that a merge dropped while their port had refused a
    /// connection: they are dead, and the peer says so.
    dropped_dead: Vec<PeerId>,
    /// Peers declared dead lately, and until when to remember it: a refill
    /// answer that still names one of them comes from a peer that has not
    /// noticed the death yet.
    dead: Vec<(PeerId, Instant)>,
    dead_memory: Duration,
}

impl SuccessorList {
    /// A list of `initial` (as `init` names them), already announced.
    /// `dead_memory` is how long a death is remembered.
    pub fn new(
        me: PeerId,
        capacity: usize,
        ping_interval: Duration,
        dead_memory: Duration,
        initial: &[PeerId],
        now: Instant,
    ) -> SuccessorList {
        let mut list = SuccessorList {
            me,
            capacity,
            ping_interval,
            entries: Vec::new(),
            announced: Vec::new(),
            held_since: None,
            refill: Refill::Idle,
            next_round_at: now,
            next_seq: 0,
            settled: false,
            dropped_dead: Vec::new(),
            dead: Vec::new(),
            dead_memory,
        };
        list.set(initial.to_vec(), now);
        list.announced = list.peers();
        // `init` names two successors; at R > 2 the list is announced once
        // the refill has learned the rest.
        if !list.entries.is_empty() && list.entries.len() < capacity {
            list.held_since = Some(now);
        }
        list
    }

    /// The successors, nearest first.
    pub fn peers(&self) -> Vec<PeerId> {
        self.entries.iter().map(|s| s.peer).collect()
    }

    pub fn first(&self) -> Option<PeerId> {
        self.entries.first().map(|s| s.peer)
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Where `peer` stands in the list: 0 for the first successor.
    pub fn position(&self, peer: PeerId) -> Option<usize> {
        self.entries.iter().position(|s| s.peer == peer)
    }

    /// Whether the announcement of the list is held for a refill.
    pub fn is_held(&self) -> bool {
        self.held_since.is_some()
    }

    /// The list to print, if it changed since it was last printed and is
    /// not held; it then counts as printed. A list with a successor whose
    /// port has refused a connection waits the few milliseconds until its
    /// verdict, rather than announce a peer that is gone.
    pub fn take_announcement(&mut self) -> Option<Vec<PeerId>> {
        let peers = self.peers();
        let condemned = self.entries.iter().any(|s| s.liveness.is_condemned());
        if self.is_held() || condemned || peers == self.announced || peers.is_empty() {
            return None;
        }
        self.announced = peers.clone();
        Some(peers)
    }

    /// Takes the list a newcomer is given. Its successors are running (the
    /// peer that placed it was pinging them), so the ring counts as up. The
    /// newcomer prints its first list in words of its own, so the list
    /// counts as announced.
    pub fn welcome(&mut self, peers: &[PeerId], now: Instant) {
        self.settled = true;
        self.set(peers.to_vec(), now);
        self.announced = self.peers();
    }

    /// A newcomer joins right after this peer: it becomes the first
    /// successor and the others move down one place.
    pub fn take_newcomer(&mut self, newcomer: PeerId, now: Instant) {
        let mut peers = vec![newcomer];
        peers.extend(self.peers());
        self.set(peers, now);
    }

    /// Takes in the news that `from`'s successors are now `theirs`: the list
    /// up to `from`, then `theirs`. Returns `None` when `from` is not a
    /// successor (the news is not for this peer), else whether the list
    /// changed.
    pub fn merge_after(&mut self, from: PeerId, theirs: &[PeerId], now: Instant) -> Option<bool> {
        let at = self.position(from)?;
        let before = self.peers();
        let merged = merged(&before[..=at], theirs, self.me, self.capacity, &[]);
        Some(self.set(merged, now))
    }

    /// Takes in the departure of `leaving`, whose successors were `theirs`:
    /// the list up to just before it, then `theirs`. Returns `None` when
    /// `leaving` is not a successor, else whether the list changed.
    pub fn merge_departure(
        &mut self,
        leaving: PeerId,
        theirs: &[PeerId],
        now: Instant,
    ) -> Option<bool> {
        let at = self.position(leaving)?;
        let before = self.peers();
        let merged = merged(&before[..at], theirs, self.me, self.capacity, &[leaving]);
        Some(self.set(merged, now))
    }

    /// Drops a successor declared dead. The others are kept, so pings go on
    /// at once to the next peers of the ring; the list is then refilled,
    /// and announced when the refill answers.
    pub fn remove_dead(&mut self, dead: PeerId, now: Instant) {
        self.remember_death(dead, now);
        let peers: Vec<PeerId> = self.peers().into_iter().filter(|&p| p != dead).collect();
        self.set(peers, now);
        if !self.entries.is_empty() {
            self.held_since = Some(now);
        }
    }

    /// The refill question to `asked` was answered with its list.
    pub fn refill_answered(&mut self, asked: PeerId, theirs: &[PeerId], now: Instant) {
        // An answer to another question than the one in flight is stale,
        // but still news from a successor: it is taken in, and leaves the
        // question in flight (and the hold) as they are.
        let in_flight = match self.refill {
            Refill::Asked { asked: a, backoff } if a == asked => Some(backoff),
            _ => None,
        };
        let Some(backoff) = in_flight else {
            self.merge_refill(asked, theirs, now);
            return;
        };
        self.refill = Refill::Idle;
        let (changed, complete) = self.merge_refill(asked, theirs, now);
        if complete {
            self.held_since = None;
        }
        if changed {
            // A list that is still short was set to be asked again at once.
            return;
        }
        self.refill = if self.is_held() && !self.entries.is_empty() {
            // The asked peer has not learned more yet (it is repairing its
            // own list, say); the announcement waits on it, so ask soon.
            Refill::Due {
                at: now + REPAIR_RETRY,
                backoff,
            }
        } else {
            // A list that stays short although the answer was taken in:
            // ask again, less and less often.
            self.refill_after(now, backoff)
        };
    }

    /// The refill question to `asked` got no answer, or an error.
    pub fn refill_failed(&mut self, asked: PeerId, now: Instant) {
        if let Refill::Asked { asked: a, backoff } = self.refill
            && a == asked
        {
            self.refill = self.refill_after(now, backoff);
        }
    }

    /// Records that a refill question was sent to the first successor.
    pub fn refill_sent(&mut self, asked: PeerId) {
        let backoff = match self.refill {
            Refill::Due { backoff, .. } | Refill::Asked { backoff, .. } => backoff,
            Refill::Idle => QUERY_RETRY,
        };
        self.refill = Refill::Asked { asked, backoff };
    }

    /// Stops holding the announcement; see [`HOLD_LIMIT`].
    pub fn release_hold(&mut self) {
        self.held_since = None;
    }

    /// `peer` answered a ping. Returns whether it is a successor.
    pub fn answered(&mut self, peer: PeerId) -> bool {
        let Some(successor) = self.entries.iter_mut().find(|s| s.peer == peer) else {
            return false;
        };
        successor.liveness.answered();
        if self.entries.len() == self.capacity
            && self.entries.iter().all(|s| s.liveness.is_proven())
        {
            self.settled = true;
        }
        true
    }

    /// This peer did not run for a while: the silences of its successors
    /// start again (see [`Liveness::forgive_silence`]).
    pub fn forgive_stall(&mut self) {
        for successor in &mut self.entries {
            successor.liveness.forgive_silence();
        }
    }

    /// `peer`'s port refused a connection after its watch closed.
    pub fn port_closed(&mut self, peer: PeerId, now: Instant) {
        if let Some(successor) = self.entries.iter_mut().find(|s| s.peer == peer) {
            successor.liveness.port_closed(now);
        }
    }

    /// What is due next, and when; see the module documentation.
    pub fn next_due(&self) -> Option<(Instant, Due)> {
        if self.entries.is_empty() {
            return None;
        }
        let checks = self.entries.iter().filter_map(|s| {
            s.liveness.next_check().map(|(at, check)| match check {
                Check::Probe => (at, Due::Probe(s.peer)),
                Check::Verdict => (at, Due::Verdict(s.peer)),
            })
        });
        let refill = match self.refill {
            Refill::Due { at, .. } => Some((at, Due::Refill)),
            Refill::Idle | Refill::Asked { .. } => None,
        };
        let hold = self
            .held_since
            .map(|at| (at + HOLD_LIMIT, Due::ReleaseHold));
        std::iter::once((self.next_round_at, Due::Round))
            .chain(checks)
            .chain(refill)
            .chain(hold)
            .min_by_key(|&(at, due)| (at, due.rank()))
    }

    /// Pings every successor: a regular round. The round's line is printed
    /// only when the list is announced as it is (not while a repair holds
    /// the announcement back).
    pub fn start_round(&mut self, now: Instant) -> Round {
        let seq = self.take_seq();
        let mut pings = Vec::new();
        for (index, successor) in self.entries.iter_mut().enumerate() {
            if let Some(position) = Ordinal::from_index(index) {
                successor.liveness.ping_sent(now);
                pings.push((successor.peer, position));
            }
        }
        // Keep a steady rhythm, but after a long stall (a suspended process,
        // say) start afresh rather than fire a burst of rounds.
        self.next_round_at += self.ping_interval;
        if self.next_round_at <= now {
            self.next_round_at = now + self.ping_interval;
        }
        let peers = self.peers();
        let announce = (!self.is_held() && peers == self.announced).then_some(peers);
        Round {
            pings,
            seq,
            announce,
        }
    }

    /// Sends a quiet ping to a suspect: returns its position and the ping's
    /// number, or `None` if it is no longer a successor.
    pub fn probe(&mut self, peer: PeerId, now: Instant) -> Option<(Ordinal, u32)> {
        let index = self.position(peer)?;
        let position = Ordinal::from_index(index)?;
        self.entries[index].liveness.probe_sent(now);
        Some((position, self.take_seq()))
    }

    fn take_seq(&mut self) -> u32 {
        let seq = self.next_seq;
        self.next_seq = seq.wrapping_add(1);
        seq
    }

    /// Takes in a refill answer: the list up to `asked`, then its list,
    /// without the peers this one knows to be dead. Returns whether the list
    /// changed, and whether it is now complete: full, or as long as the ring
    /// allows (the answer came back round to this peer or its list).
    fn merge_refill(&mut self, asked: PeerId, theirs: &[PeerId], now: Instant) -> (bool, bool) {
        let Some(at) = self.position(asked) else {
            return (false, false);
        };
        self.dead.retain(|&(_, until)| until > now);
        let dead: Vec<PeerId> = self.dead.iter().map(|&(peer, _)| peer).collect();
        let before = self.peers();
        let closes_the_ring = theirs
            .iter()
            .any(|&peer| peer == self.me || before[..=at].contains(&peer));
        let merged = merged(&before[..=at], theirs, self.me, self.capacity, &dead);
        // A successor of ours that the answer skips (it lies before the end
        // of the new list, yet is not in it) is gone from the ring: a peer
        // before it has found it dead (a peer that leaves tells this one
        // itself). It is said, as this peer's own verdict would have said
        // it a moment later. One that merely falls off the end of a full
        // list is not skipped.
        let last = merged.last().copied().unwrap_or(asked);
        for &skipped in &before[at + 1..] {
            let within = is_strictly_between(self.me.0, skipped.0, last.0);
            if within && !merged.contains(&skipped) && self.remember_death(skipped, now) {
                self.dropped_dead.push(skipped);
            }
        }
        let changed = self.set(merged, now);
        (
            changed,
            closes_the_ring || self.entries.len() >= self.capacity,
        )
    }

    /// Remembers that `peer` died, for the dead memory, and forgets deaths
    /// older than that. Returns whether the death is news.
    fn remember_death(&mut self, peer: PeerId, now: Instant) -> bool {
        self.dead.retain(|&(_, until)| until > now);
        if self.dead.iter().any(|&(dead, _)| dead == peer) {
            return false;
        }
        self.dead.push((peer, now + self.dead_memory));
        true
    }

    /// The successors a merge dropped as dead (their ports had refused a
    /// connection, or the answer skipped them), to be said to be dead.
    pub fn take_dropped_dead(&mut self) -> Vec<PeerId> {
        std::mem::take(&mut self.dropped_dead)
    }

    fn refill_after(&self, now: Instant, backoff: Duration) -> Refill {
        if self.entries.is_empty() || self.entries.len() >= self.capacity {
            return Refill::Idle;
        }
        Refill::Due {
            at: now + backoff,
            backoff: (backoff * 2).min(self.ping_interval.max(QUERY_RETRY)),
        }
    }

    /// Makes `peers` the list, keeping what is known of the successors that
    /// stay. A change pings the new list at once (so that new successors
    /// learn of this peer without waiting an interval) and asks for a
    /// refill if the list is short. Returns whether the list changed.
    fn set(&mut self, peers: Vec<PeerId>, now: Instant) -> bool {
        // Whatever the source, the list never holds this peer or a peer
        // twice: in a ring each peer has one place.
        let mut unique: Vec<PeerId> = Vec::with_capacity(self.capacity);
        for peer in peers {
            if peer != self.me && !unique.contains(&peer) {
                unique.push(peer);
            }
        }
        let mut peers = unique;
        peers.truncate(self.capacity);
        if peers == self.peers() {
            return false;
        }
        let old = std::mem::take(&mut self.entries);
        // A successor whose port refused a connection, and that the news
        // drops, is dead: the peer's own verdict was only milliseconds
        // away, and it is said all the same.
        for gone in old.iter().filter(|s| !peers.contains(&s.peer)) {
            if gone.liveness.is_condemned() && self.remember_death(gone.peer, now) {
                self.dropped_dead.push(gone.peer);
            }
        }
        let newcomer = if self.settled {
            Liveness::presumed_alive
        } else {
            Liveness::new
        };
        self.entries = peers
            .into_iter()
            .map(|peer| {
                let liveness = old
                    .iter()
                    .find(|s| s.peer == peer)
                    .map_or_else(newcomer, |s| s.liveness);
                Successor { peer, liveness }
            })
            .collect();
        // News of a successor ends any memory of its death.
        self.dead
            .retain(|&(dead, _)| !self.entries.iter().any(|s| s.peer == dead));
        self.next_round_at = now;
        if self.entries.len() >= self.capacity {
            // A whole list has nothing to wait for.
            self.held_since = None;
        }
        if self.entries.is_empty() {
            self.held_since = None;
            self.refill = Refill::Idle;
        } else if self.entries.len() < self.capacity {
            if !matches!(self.refill, Refill::Asked { .. }) {
                self.refill = Refill::Due {
                    at: now,
                    backoff: QUERY_RETRY,
                };
            }
        } else if !matches!(self.refill, Refill::Asked { .. }) {
            self.refill = Refill::Idle;
        }
        true
    }
}

/// The Chord rule for a successor list: `mine` (this peer's list up to and
/// including the successor whose news this is), then `theirs` (that
/// successor's list), at most `capacity` peers.
///
/// The list stops where the ring comes back round: at this peer itself
/// (`me`), or at a peer already in the list. Peers in `skip` are left out,
/// those known to be dead or leaving.
pub fn merged(
    mine: &[PeerId],
    theirs: &[PeerId],
    me: PeerId,
    capacity: usize,
    skip: &[PeerId],
) -> Vec<PeerId> {
    let mut list: Vec<PeerId> = mine.to_vec();
    for &peer in theirs {
        if list.len() >= capacity || peer == me || list.contains(&peer) {
            break;
        }
        if !skip.contains(&peer) {
            list.push(peer);
        }
    }
    list.truncate(capacity);
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    const INTERVAL: Duration = Duration::from_secs(30);

    fn ids(list: &[u8]) -> Vec<PeerId> {
        list.iter().copied().map(PeerId).collect()
    }

    fn list(me: u8, capacity: usize, initial: &[u8], now: Instant) -> SuccessorList {
        SuccessorList::new(
            PeerId(me),
            capacity,
            INTERVAL,
            INTERVAL * 3,
            &ids(initial),
            now,
        )
    }

    /// The teaching ring 2 4 5 8 9 14 19 and its successors as an answer to
    /// a query would give them: the `count` peers after `peer`.
    fn ring_after(peer: u8, count: usize, ring: &[u8]) -> Vec<PeerId> {
        let at = ring.iter().position(|&p| p == peer).expect("in the ring");
        (1..=count)
            .map(|k| PeerId(ring[(at + k) % ring.len()]))
            .collect()
    }

    const TEACHING: [u8; 7] = [2, 4, 5, 8, 9, 14, 19];
    const LARGER: [u8; 10] = [2, 4, 5, 8, 9, 14, 19, 25, 30, 40];
    const WRAPPING: [u8; 8] = [250, 253, 255, 3, 7, 11, 20, 30];

    #[test]
    fn the_chord_rule_puts_a_successors_list_behind_it() {
        let me = PeerId(9);
        assert_eq!(
            merged(&ids(&[14]), &ids(&[19, 2]), me, 2, &[]),
            ids(&[14, 19])
        );
        assert_eq!(
            merged(&ids(&[14]), &ids(&[19, 2, 4]), me, 4, &[]),
            ids(&[14, 19, 2, 4])
        );
        // It stops where the ring comes back round, at this peer...
        assert_eq!(merged(&ids(&[14]), &ids(&[9, 14]), me, 4, &[]), ids(&[14]));
        // ...or at a peer already in the list.
        assert_eq!(
            merged(&ids(&[14, 19]), &ids(&[2, 14]), me, 4, &[]),
            ids(&[14, 19, 2])
        );
        // Dead peers are left out, and the list goes on past them.
        assert_eq!(
            merged(&ids(&[19]), &ids(&[14, 2, 4]), me, 3, &ids(&[14])),
            ids(&[19, 2, 4])
        );
    }

    #[test]
    fn a_death_is_repaired_from_the_list_at_once_and_refilled_at_every_length() {
        // Kill 14 on the teaching ring: peer 9 keeps pinging the rest of its
        // list at once, then refills from its new first successor, 19.
        for capacity in [2, 3, 4] {
            let start = Instant::now();
            let mut nine = list(9, capacity, &[], start);
            nine.welcome(&ring_after(9, capacity, &TEACHING), start);
            nine.remove_dead(PeerId(14), start);
            assert_eq!(nine.first(), Some(PeerId(19)), "R = {capacity}");
            assert!(nine.is_held());
            assert_eq!(nine.take_announcement(), None);
            assert_eq!(nine.next_due(), Some((start, Due::Round)));
            nine.start_round(start);
            assert_eq!(nine.next_due(), Some((start, Due::Refill)));
            nine.refill_sent(PeerId(19));
            nine.refill_answered(PeerId(19), &ring_after(19, capacity, &TEACHING), start);
            let expected: Vec<PeerId> = ring_after(14, capacity, &TEACHING);
            assert_eq!(nine.peers(), expected, "R = {capacity}");
            assert_eq!(nine.take_announcement(), Some(expected), "R = {capacity}");
        }
    }

    #[test]
    fn the_second_predecessor_refills_whether_or_not_the_first_has_repaired() {
        let start = Instant::now();
        for answer in [&[19u8, 2][..], &[14, 19]] {
            let mut eight = list(8, 2, &[9, 14], start);
            eight.remove_dead(PeerId(14), start);
            eight.refill_sent(PeerId(9));
            eight.refill_answered(PeerId(9), &ids(answer), start);
            assert_eq!(eight.peers(), ids(&[9, 19]), "answer {answer:?}");
        }
    }

    #[test]
    fn adjacent_deaths_are_survived_with_one_successor_more_than_the_dead() {
        // R = 3 survives two adjacent deaths (14 and 19 at peer 9), R = 4
        // three (14, 19 and 2), including the wrap past 255 on a ring whose
        // identities cross it.
        for (ring, me, dead, capacity) in [
            (&TEACHING[..], 9u8, &[14u8, 19][..], 3usize),
            (&LARGER[..], 9, &[14, 19, 25], 4),
            (&WRAPPING[..], 253, &[255, 3], 3),
            (&WRAPPING[..], 253, &[255, 3, 7], 4),
        ] {
            let start = Instant::now();
            let mut peer = list(me, capacity, &[], start);
            peer.welcome(&ring_after(me, capacity, ring), start);
            for &d in dead {
                peer.remove_dead(PeerId(d), start);
            }
            let survivor = ring_after(me, dead.len() + 1, ring)[dead.len()];
            assert_eq!(peer.peers(), vec![survivor], "{me} after {dead:?}");
            peer.refill_sent(survivor);
            let survivors: Vec<u8> = ring.iter().copied().filter(|p| !dead.contains(p)).collect();
            peer.refill_answered(
                survivor,
                &ring_after(survivor.0, capacity, &survivors),
                start,
            );
            assert_eq!(
                peer.peers(),
                ring_after(me, capacity, &survivors),
                "{me} after {dead:?}"
            );
        }
    }

    #[test]
    fn a_short_list_is_refilled_and_announced_once_whole() {
        // `init` names two; at R = 4 the other two are learned.
        let start = Instant::now();
        let mut two = list(2, 4, &[4, 5], start);
        assert!(two.is_held());
        assert_eq!(two.next_due(), Some((start, Due::Round)));
        assert_eq!(two.start_round(start).announce, None);
        assert_eq!(two.next_due(), Some((start, Due::Refill)));
        two.refill_sent(PeerId(4));
        // 4 knows only two successors itself yet: news, but not enough.
        two.refill_answered(PeerId(4), &ids(&[5, 8]), start);
        assert_eq!(two.peers(), ids(&[4, 5, 8]));
        assert_eq!(two.take_announcement(), None);
        two.start_round(start);
        assert_eq!(two.next_due(), Some((start, Due::Refill)));
        two.refill_sent(PeerId(4));
        // Nothing new yet: while held, ask again soon.
        two.refill_answered(PeerId(4), &ids(&[5, 8]), start);
        assert_eq!(two.next_due(), Some((start + REPAIR_RETRY, Due::Refill)));
        let later = start + REPAIR_RETRY;
        two.refill_sent(PeerId(4));
        // 4 has learned more: the list is whole, announced, and nobody is
        // asked again.
        two.refill_answered(PeerId(4), &ids(&[5, 8, 9]), later);
        assert_eq!(two.peers(), ids(&[4, 5, 8, 9]));
        assert_eq!(two.take_announcement(), Some(ids(&[4, 5, 8, 9])));
        two.start_round(later);
        assert_eq!(two.next_due(), Some((later + INTERVAL, Due::Round)));
    }

    #[test]
    fn a_list_as_long_as_a_small_ring_allows_is_asked_less_and_less_often() {
        // Three peers, R = 4: each can have only two successors. The answer
        // comes back round to this peer, so the list is complete.
        let start = Instant::now();
        let mut thirty = list(30, 4, &[40, 50], start);
        thirty.refill_sent(PeerId(40));
        thirty.refill_answered(PeerId(40), &ids(&[50, 30]), start);
        assert_eq!(thirty.peers(), ids(&[40, 50]));
        assert!(!thirty.is_held());
        assert_eq!(thirty.take_announcement(), None);
        let due_refill = |list: &SuccessorList| {
            let mut at = None;
            let mut probe = list.clone();
            while let Some((when, due)) = probe.next_due() {
                if due == Due::Refill {
                    at = Some(when);
                    break;
                }
                probe.start_round(when);
            }
            at
        };
        assert_eq!(due_refill(&thirty), Some(start + QUERY_RETRY));
        let later = start + QUERY_RETRY;
        thirty.refill_sent(PeerId(40));
        thirty.refill_answered(PeerId(40), &ids(&[50, 30]), later);
        assert_eq!(due_refill(&thirty), Some(later + QUERY_RETRY * 2));
    }

    #[test]
    fn news_from_successors_is_merged_behind_them() {
        let now = Instant::now();
        // 9 hears from 14, which took 15 (R = 2 and R = 3).
        let mut nine = list(9, 2, &[14, 19], now);
        assert_eq!(
            nine.merge_after(PeerId(14), &ids(&[15, 19]), now),
            Some(true)
        );
        assert_eq!(nine.peers(), ids(&[14, 15]));
        let mut eight = list(8, 3, &[9, 14, 19], now);
        assert_eq!(
            eight.merge_after(PeerId(14), &ids(&[15, 19, 2]), now),
            Some(true)
        );
        assert_eq!(eight.peers(), ids(&[9, 14, 15]));
        // A departure: 9 leaves, with successors 14 19.
        let mut five = list(5, 2, &[8, 9], now);
        assert_eq!(
            five.merge_departure(PeerId(9), &ids(&[14, 19]), now),
            Some(true)
        );
        assert_eq!(five.peers(), ids(&[8, 14]));
        // News from a peer that is not a successor is not for this list.
        assert_eq!(five.merge_after(PeerId(200), &ids(&[1]), now), None);
    }

    #[test]
    fn a_stall_restarts_the_rhythm_instead_of_bursting() {
        let start = Instant::now();
        let mut two = list(2, 2, &[4, 5], start);
        two.start_round(start);
        let late = start + INTERVAL * 10;
        two.start_round(late);
        assert_eq!(two.next_due(), Some((late + INTERVAL, Due::Round)));
    }
}
