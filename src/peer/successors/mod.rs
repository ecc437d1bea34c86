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

mod answers;
mod rounds;

pub use answers::Ask;
pub use rounds::FIRST_ROUND_RETRY;

use super::liveness::{Check, Liveness};
use crate::message::Ordinal;
use crate::ring::{PeerId, clockwise_distance};
use rounds::Rounds;

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

/// Whether, and when, to ask for a list: the first successor, to refill a
/// short list or to check a full one (the background repair of
/// `stabilize.rs`), or a peer nearer than it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Refill {
    /// Nothing to ask.
    Idle,
    /// Ask at `at`: `target`, or if `None` the first successor (or, with no
    /// successor left, a peer this one knows). `backoff` is how long to
    /// wait after the next answer if it changes nothing.
    Due {
        at: Instant,
        backoff: Duration,
        target: Option<PeerId>,
    },
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
    /// How long a successor that has never answered is waited for.
    never_answered_limit: Duration,
    entries: Vec<Successor>,
    /// The list as last printed.
    announced: Vec<PeerId>,
    /// Set when a death shortened the list: the new list is announced once
    /// the refill answers, or at the latest [`HOLD_LIMIT`] after this.
    held_since: Option<Instant>,
    refill: Refill,
    /// When the next regular round is due; see `rounds.rs`.
    rounds: Rounds,
    next_seq: u32,
    /// Set once the list has been full and every successor in it has
    /// answered: the ring is up. Successors learned after that, from other
    /// peers' lists, are presumed alive; before it, one that has never
    /// answered may simply not have started yet, and is not suspected.
    settled: bool,
    /// Successors that news dropped while they looked dead (their port
    /// had refused a connection, or an answer skipped them while silent):
    /// they are dead, and the peer says so. Taken after every event, so
    /// while it is not empty the current step has lost a successor.
    dropped_dead: Vec<PeerId>,
    /// Peers declared dead, or that left, lately, and until when to
    /// remember it: an answer that still names one of them comes from a
    /// peer that has not noticed yet.
    dead: Vec<(PeerId, Instant)>,
    dead_memory: Duration,
    /// Peers named as nearer predecessors that did not answer when asked,
    /// and until when not to ask them again.
    failed_candidates: Vec<(PeerId, Instant)>,
    /// The peer whose answer named the nearer peer being asked now.
    named_by: Option<PeerId>,
    /// Whether the next check of a whole list asks an acquaintance rather
    /// than the first successor; see [`Ask::Acquaintance`].
    ask_acquaintance: bool,
}

/// The settings of a successor list, from the peer's configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListConfig {
    pub me: PeerId,
    /// How many successors to keep (R).
    pub capacity: usize,
    pub ping_interval: Duration,
    /// How long a death or a departure is remembered.
    pub dead_memory: Duration,
    /// How long a successor that has never answered is waited for.
    pub never_answered_limit: Duration,
}

impl SuccessorList {
    /// A list of `initial` (as `init` names them), already announced.
    pub fn new(config: ListConfig, initial: &[PeerId], now: Instant) -> SuccessorList {
        let ListConfig {
            me,
            capacity,
            ping_interval,
            dead_memory,
            never_answered_limit,
        } = config;
        let mut list = SuccessorList {
            me,
            capacity,
            ping_interval,
            never_answered_limit,
            entries: Vec::new(),
            announced: Vec::new(),
            held_since: None,
            refill: Refill::Idle,
            rounds: Rounds::new(ping_interval, now),
            next_seq: 0,
            settled: false,
            dropped_dead: Vec::new(),
            dead: Vec::new(),
            dead_memory,
            failed_candidates: Vec::new(),
            ask_acquaintance: false,
            named_by: None,
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

    /// Takes the list a member that was joining again is given, together
    /// with the one it has: both, in ring order. The peer that placed it
    /// may have had no successors to give (its list is then just that
    /// peer), and this peer's own list may be stale; pings and the
    /// background repair settle what is left.
    pub fn welcome_back(&mut self, peers: &[PeerId], now: Instant) {
        let me = self.me;
        let mut union: Vec<PeerId> = peers
            .iter()
            .copied()
            .filter(|&peer| !self.is_dead(peer))
            .collect();
        union.extend(self.peers());
        union.sort_by_key(|&peer| clockwise_distance(me.0, peer.0));
        union.dedup();
        self.settled = true;
        self.set(union, now);
        self.announced = self.peers();
    }

    /// A newcomer joins right after this peer: it becomes the first
    /// successor and the others move down one place. It has acknowledged
    /// its welcome, so it is running.
    pub fn take_newcomer(&mut self, newcomer: PeerId, now: Instant) {
        let mut peers = vec![newcomer];
        peers.extend(self.peers());
        self.set(peers, now);
        if let Some(index) = self.position(newcomer) {
            self.entries[index].liveness.answered();
        }
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
        let changed = self.set(merged, now);
        // A stale answer that still names the leaver must not bring it back.
        self.remember_death(leaving, now);
        Some(changed)
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

    /// Whether `peer` was declared dead, or left, lately.
    pub fn is_dead(&self, peer: PeerId) -> bool {
        self.dead.iter().any(|&(dead, _)| dead == peer)
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
        if self.entries.iter().all(|s| s.liveness.is_proven()) {
            self.rounds.all_answered();
            if self.entries.len() == self.capacity {
                self.settled = true;
            }
        }
        true
    }

    /// `peer` answered the ping numbered `seq`. Returns whether it is a
    /// successor; the answer counts only if it can still prove the
    /// successor alive (see [`Liveness::counts_pong`]).
    pub fn pong(&mut self, peer: PeerId, seq: u32) -> bool {
        let Some(successor) = self.entries.iter().find(|s| s.peer == peer) else {
            return false;
        };
        if successor.liveness.counts_pong(seq) {
            self.answered(peer);
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
            successor.liveness.port_closed(now, self.next_seq);
        }
    }

    /// What is due next, and when; see the module documentation.
    pub fn next_due(&self) -> Option<(Instant, Due)> {
        let refill = match self.refill {
            Refill::Due { at, .. } => Some((at, Due::Refill)),
            Refill::Idle | Refill::Asked { .. } => None,
        };
        if self.entries.is_empty() {
            // Nothing to ping; only the search for the ring goes on.
            return refill;
        }
        let limit = self.never_answered_limit;
        let checks = self.entries.iter().filter_map(|s| {
            s.liveness.next_check(limit).map(|(at, check)| match check {
                Check::Probe => (at, Due::Probe(s.peer)),
                Check::Verdict => (at, Due::Verdict(s.peer)),
            })
        });
        let hold = self
            .held_since
            .map(|at| (at + HOLD_LIMIT, Due::ReleaseHold));
        std::iter::once((self.rounds.next_at(), Due::Round))
            .chain(checks)
            .chain(refill)
            .chain(hold)
            .min_by_key(|&(at, due)| (at, due.rank()))
    }

    /// Pings every successor: a regular round. The round's line is printed
    /// only when the list is announced as it is (not while a repair holds
    /// the announcement back). While a successor has never answered, the
    /// next round comes early (see `rounds.rs`).
    pub fn start_round(&mut self, now: Instant) -> Round {
        let waiting = self.entries.iter().any(|s| !s.liveness.is_proven());
        self.rounds.started(now, waiting);
        let seq = self.take_seq();
        let mut pings = Vec::new();
        for (index, successor) in self.entries.iter_mut().enumerate() {
            if let Some(position) = Ordinal::from_index(index) {
                successor.liveness.ping_sent(now);
                pings.push((successor.peer, position));
            }
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
        self.rounds.now(now);
        if self.entries.len() >= self.capacity {
            // A whole list has nothing to wait for.
            self.held_since = None;
        } else if !self.dropped_dead.is_empty() && !self.entries.is_empty() {
            // A successor found dead by news rather than by a verdict (its
            // port had refused, or an answer skipped it while it looked
            // dead; see `merge_answer`) is repaired like one found by a
            // verdict: the shortened list is announced once whole again.
            self.held_since.get_or_insert(now);
        }
        if self.entries.is_empty() {
            self.held_since = None;
        }
        // A question in flight to a peer other than the new first successor
        // (a check of the old list, say) must not hold up a repair: its
        // answer is taken in as news when it comes, but a short list asks
        // its first successor now.
        let waiting_on_first = match self.refill {
            Refill::Asked { asked, .. } => {
                Some(asked) == self.first() || self.entries.len() >= self.capacity
            }
            Refill::Idle | Refill::Due { .. } => false,
        };
        if !waiting_on_first {
            self.refill = if self.entries.is_empty() || self.entries.len() >= self.capacity {
                self.refill_after(now, QUERY_RETRY)
            } else {
                Refill::Due {
                    at: now,
                    backoff: QUERY_RETRY,
                    target: None,
                }
            };
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
        let config = ListConfig {
            me: PeerId(me),
            capacity,
            ping_interval: INTERVAL,
            dead_memory: INTERVAL * 3,
            never_answered_limit: INTERVAL * 10,
        };
        SuccessorList::new(config, &ids(initial), now)
    }

    impl SuccessorList {
        /// An answer that names no nearer predecessor.
        fn neighbours_answered_plain(&mut self, asked: PeerId, theirs: &[PeerId], now: Instant) {
            self.neighbours_answered(asked, None, theirs, now);
        }
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
            nine.neighbours_answered_plain(PeerId(19), &ring_after(19, capacity, &TEACHING), start);
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
            eight.neighbours_answered_plain(PeerId(9), &ids(answer), start);
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
            peer.neighbours_answered_plain(
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
        two.neighbours_answered_plain(PeerId(4), &ids(&[5, 8]), start);
        assert_eq!(two.peers(), ids(&[4, 5, 8]));
        assert_eq!(two.take_announcement(), None);
        two.start_round(start);
        assert_eq!(two.next_due(), Some((start, Due::Refill)));
        two.refill_sent(PeerId(4));
        // Nothing new yet: while held, ask again soon.
        two.neighbours_answered_plain(PeerId(4), &ids(&[5, 8]), start);
        assert_eq!(two.next_due(), Some((start + REPAIR_RETRY, Due::Refill)));
        let later = start + REPAIR_RETRY;
        two.refill_sent(PeerId(4));
        // 4 has learned more: the list is whole and announced, and it is
        // only checked again half an interval later, as a whole list is.
        two.neighbours_answered_plain(PeerId(4), &ids(&[5, 8, 9]), later);
        assert_eq!(two.peers(), ids(&[4, 5, 8, 9]));
        assert_eq!(two.take_announcement(), Some(ids(&[4, 5, 8, 9])));
        assert_eq!(next_refill(&two), Some(later + INTERVAL / 2));
    }

    /// When the list next asks for a list, if its successors all answer
    /// their pings meanwhile.
    fn next_refill(list: &SuccessorList) -> Option<Instant> {
        let mut probe = list.clone();
        for _ in 0..100 {
            let (when, due) = probe.next_due()?;
            match due {
                Due::Refill => return Some(when),
                Due::Round => {
                    probe.start_round(when);
                    for peer in probe.peers() {
                        probe.answered(peer);
                    }
                }
                Due::Probe(peer) => {
                    probe.answered(peer);
                }
                Due::Verdict(_) | Due::ReleaseHold => return None,
            }
        }
        None
    }

    #[test]
    fn a_list_as_long_as_a_small_ring_allows_is_asked_less_and_less_often() {
        // Three peers, R = 4: each can have only two successors. The answer
        // comes back round to this peer, so the list is complete.
        let start = Instant::now();
        let mut thirty = list(30, 4, &[40, 50], start);
        thirty.refill_sent(PeerId(40));
        thirty.neighbours_answered_plain(PeerId(40), &ids(&[50, 30]), start);
        assert_eq!(thirty.peers(), ids(&[40, 50]));
        assert!(!thirty.is_held());
        assert_eq!(thirty.take_announcement(), None);
        assert_eq!(next_refill(&thirty), Some(start + QUERY_RETRY));
        let later = start + QUERY_RETRY;
        thirty.refill_sent(PeerId(40));
        thirty.neighbours_answered_plain(PeerId(40), &ids(&[50, 30]), later);
        assert_eq!(next_refill(&thirty), Some(later + QUERY_RETRY * 2));
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
        two.answered(PeerId(4));
        two.answered(PeerId(5));
        let late = start + INTERVAL * 10;
        two.start_round(late);
        assert_eq!(two.rounds.next_at(), late + INTERVAL);
    }

    #[test]
    fn a_nearer_predecessor_of_the_first_successor_is_asked_and_taken() {
        // 5 was restarted between 4 and 8: 4's first successor 8 names it.
        let start = Instant::now();
        let mut four = list(4, 2, &[8, 9], start);
        four.refill_sent(PeerId(8));
        four.neighbours_answered(PeerId(8), Some(PeerId(5)), &ids(&[9, 14]), start);
        assert_eq!(four.peers(), ids(&[8, 9]));
        assert_eq!(four.refill_target(), Ask::Peer(PeerId(5)));
        four.refill_sent(PeerId(5));
        four.neighbours_answered(PeerId(5), Some(PeerId(4)), &ids(&[8, 9]), start);
        assert_eq!(four.peers(), ids(&[5, 8]));
        assert_eq!(four.take_announcement(), Some(ids(&[5, 8])));
        // A named peer that does not answer is not taken, nor asked again
        // at once.
        let mut four = list(4, 2, &[8, 9], start);
        four.refill_sent(PeerId(8));
        four.neighbours_answered(PeerId(8), Some(PeerId(5)), &ids(&[9, 14]), start);
        four.refill_sent(PeerId(5));
        four.refill_failed(PeerId(5), start);
        assert_eq!(four.peers(), ids(&[8, 9]));
        four.refill_sent(PeerId(8));
        four.neighbours_answered(PeerId(8), Some(PeerId(5)), &ids(&[9, 14]), start);
        assert_ne!(four.refill_target(), Ask::Peer(PeerId(5)));
    }

    #[test]
    fn a_peer_with_no_successor_walks_back_to_the_nearest() {
        // 8 and 9 died together; 5 (R = 2) asks its predecessor 4, which
        // names 2, which names 19, which names 14: 14 is the nearest.
        let start = Instant::now();
        let mut five = list(5, 2, &[8, 9], start);
        five.remove_dead(PeerId(8), start);
        five.remove_dead(PeerId(9), start);
        assert!(five.is_empty());
        assert_eq!(five.refill_target(), Ask::Acquaintance { or_else: None });
        for (asked, predecessor, theirs) in [(4, 2, &[5][..]), (2, 19, &[4, 5]), (19, 14, &[2, 4])]
        {
            five.refill_sent(PeerId(asked));
            five.neighbours_answered(
                PeerId(asked),
                Some(PeerId(predecessor)),
                &ids(theirs),
                start,
            );
            assert!(five.is_empty());
            assert_eq!(five.refill_target(), Ask::Peer(PeerId(predecessor)));
        }
        // 14 names 9 as its predecessor, which 5 knows to be dead: it is
        // asked all the same (a peer restarted would answer), does not
        // answer, and 14 is asked again and taken.
        five.refill_sent(PeerId(14));
        five.neighbours_answered(PeerId(14), Some(PeerId(9)), &ids(&[19, 2]), start);
        assert_eq!(five.refill_target(), Ask::Peer(PeerId(9)));
        five.refill_sent(PeerId(9));
        five.refill_failed(PeerId(9), start);
        assert_eq!(five.refill_target(), Ask::Peer(PeerId(14)));
        five.refill_sent(PeerId(14));
        five.neighbours_answered(PeerId(14), Some(PeerId(9)), &ids(&[19, 2]), start);
        assert_eq!(five.peers(), ids(&[14, 19]));
        assert_eq!(five.take_announcement(), Some(ids(&[14, 19])));
    }

    #[test]
    fn a_death_learned_from_an_answer_holds_the_shortened_list_too() {
        // R = 4 at 100 (ring 3 7 20 60 100 140 180 250): 250 and 3 die.
        // 140's answer skips 3, which looks dead already: the list drops it
        // and is announced only once whole again.
        let start = Instant::now();
        let mut hundred = list(100, 4, &[140, 180, 250, 3], start);
        hundred.start_round(start);
        for peer in [140, 180, 250, 3] {
            hundred.answered(PeerId(peer));
        }
        hundred.take_announcement();
        hundred.start_round(start + INTERVAL);
        let later = start + INTERVAL + Duration::from_millis(600);
        hundred.answered(PeerId(140));
        hundred.answered(PeerId(180));
        hundred.remove_dead(PeerId(250), later);
        hundred.release_hold();
        hundred.refill_sent(PeerId(140));
        hundred.neighbours_answered(PeerId(140), Some(PeerId(100)), &ids(&[180, 7]), later);
        assert_eq!(hundred.peers(), ids(&[140, 180, 7]));
        assert_eq!(hundred.take_dropped_dead(), ids(&[3]));
        assert!(hundred.is_held());
        assert_eq!(hundred.take_announcement(), None);
    }

    #[test]
    fn an_acquaintance_that_names_this_peer_does_not_end_a_repair() {
        // R = 3: 14 and 19 died; 8 is refilling, its list held. Its
        // predecessor 5, asked in passing, names 8 in its own list: that
        // says nothing about the size of the ring, and the hold stays.
        let start = Instant::now();
        let mut eight = list(8, 3, &[9, 14, 19], start);
        for peer in [9, 14, 19] {
            eight.answered(PeerId(peer));
        }
        eight.remove_dead(PeerId(19), start);
        eight.remove_dead(PeerId(14), start);
        assert!(eight.is_held());
        eight.refill_sent(PeerId(5));
        eight.neighbours_answered(PeerId(5), Some(PeerId(4)), &ids(&[8, 9, 14]), start);
        assert!(eight.is_held());
        assert_eq!(eight.take_announcement(), None);
    }

    #[test]
    fn a_successor_the_answer_skips_stays_while_it_answers_pings() {
        // 8 heard of newcomer 10 before 9 did; 9's answer skips it. 10 has
        // answered 8's pings, so it stays: 9 will hear of it too.
        let start = Instant::now();
        let mut eight = list(8, 3, &[9, 10, 14], start);
        for peer in [9, 10, 14] {
            eight.answered(PeerId(peer));
        }
        eight.refill_sent(PeerId(9));
        eight.neighbours_answered(PeerId(9), Some(PeerId(8)), &ids(&[14, 19]), start);
        assert_eq!(eight.peers(), ids(&[9, 10, 14]));
    }
}
