//! How the successor list takes in the answers to its questions: the
//! refill of a short list, the background check of a whole one, and the
//! search of a peer that has lost every successor (see `stabilize.rs` for
//! the peer's side). Whom to ask ([`Ask`]), what an answer changes
//! ([`SuccessorList::neighbours_answered`]), and when to ask again.

use std::time::{Duration, Instant};

use super::{QUERY_RETRY, REPAIR_RETRY, Refill, SuccessorList};
use crate::ring::{PeerId, clockwise_distance};

/// How many named peers that did not answer are remembered at once. One
/// question is asked at a time and each is forgotten after an
/// interval, so a handful is plenty; the limit only bounds the memory.
const MAX_FAILED_CANDIDATES: usize = 8;

/// What taking in an answer did; see [`SuccessorList::merge_answer`].
struct Merged {
    /// The list changed.
    changed: bool,
    /// The list is as long as it can be: full, or as long as the ring
    /// allows.
    complete: bool,
    /// The nearest peer this one knows to be dead that the answer named
    /// where it would be a successor, to be asked in case it came back.
    named_dead: Option<PeerId>,
}

/// Whom to ask for a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ask {
    /// This peer: the first successor, or a nearer peer being checked.
    Peer(PeerId),
    /// A peer this one knows that is not a successor, or if there is none,
    /// `or_else`. Every other check of a whole list goes to such a peer, so
    /// that two rings that formed while the network was cut in two find
    /// each other again once it heals; a peer with no successors asks only
    /// such peers.
    Acquaintance { or_else: Option<PeerId> },
}

impl SuccessorList {
    /// `asked` answered a question with its nearest predecessor and its
    /// list. A peer the answer names that lies between this peer and its
    /// first successor is a peer this one has missed (it joined, or came
    /// back, in between): it is asked next, and taken once it answers.
    /// Otherwise the answer is merged into the list; see
    /// [`SuccessorList::merge_answer`].
    pub fn neighbours_answered(
        &mut self,
        asked: PeerId,
        predecessor: Option<PeerId>,
        theirs: &[PeerId],
        now: Instant,
    ) {
        // An answer to another question than the one in flight is stale,
        // but still news if it comes from a successor: it is taken in, and
        // leaves the question in flight (and the hold) as they are.
        let in_flight = match self.refill {
            Refill::Asked { asked: a, backoff } if a == asked => Some(backoff),
            _ => None,
        };
        let Some(backoff) = in_flight else {
            if self.position(asked).is_some() {
                self.merge_answer(asked, theirs, now);
            }
            return;
        };
        self.refill = Refill::Idle;
        // A walk towards a nearer peer sets this again below; an answer
        // that ends the walk ends what it named.
        self.named_by = None;
        self.failed_candidates.retain(|&(_, until)| until > now);
        // The nearest peer after this one that the answer names, if it is
        // nearer than the first successor: the asked peer itself (a peer
        // this one had missed), its predecessor (nearer still), or one of
        // its successors (when the asked peer lies before this one, as an
        // acquaintance of another ring may). It is asked before it is
        // taken, so a peer named from stale memory (even one this peer has
        // declared dead) costs one question a check and is never taken
        // unless it answers.
        let me = self.me;
        let distance = |peer: PeerId| clockwise_distance(me.0, peer.0);
        let bound = self.first().map_or(u8::MAX, distance);
        let nearest = [predecessor, Some(asked)]
            .into_iter()
            .flatten()
            .chain(theirs.iter().copied())
            .filter(|&peer| {
                peer != me
                    && (distance(peer) < bound || self.entries.is_empty())
                    && !self.failed_candidates.iter().any(|&(p, _)| p == peer)
            })
            .min_by_key(|&peer| distance(peer));
        if let Some(nearer) = nearest.filter(|&peer| peer != asked) {
            if self.position(asked).is_some() {
                self.merge_answer(asked, theirs, now);
            }
            self.named_by = Some(asked);
            self.refill = Refill::Due {
                at: now,
                backoff,
                target: Some(nearer),
            };
            return;
        }
        // Otherwise the answer is merged. From a peer that is not a
        // successor (an acquaintance, or a peer named dead that answered),
        // that changes the list only if the peer or its list belongs among
        // the nearest R.
        let was_empty = self.entries.is_empty();
        let Merged {
            changed,
            complete,
            named_dead,
        } = self.merge_answer(asked, theirs, now);
        if let Some(named) = named_dead {
            // A peer declared dead lately, that the answer names where it
            // would be a successor: it may have come back (restarted, or
            // resumed), so it is asked; if it answers, it is taken.
            self.named_by = Some(asked);
            self.refill = Refill::Due {
                at: now,
                backoff,
                target: Some(named),
            };
            return;
        }
        if complete {
            self.held_since = None;
        } else if was_empty && !self.entries.is_empty() {
            // A peer that had lost every successor has found the ring
            // again; its new list is announced once whole.
            self.held_since = Some(now);
        }
        if changed && !complete {
            // A list that is still short was set to be asked again at once.
            return;
        }
        self.refill = if self.is_held() && !self.entries.is_empty() {
            // The asked peer has not learned more yet (it is repairing its
            // own list, say); the announcement waits on it, so ask soon.
            Refill::Due {
                at: now + REPAIR_RETRY,
                backoff,
                target: None,
            }
        } else if changed {
            self.refill_after(now, QUERY_RETRY)
        } else {
            // A list that stays short although the answer was taken in:
            // ask again, less and less often.
            self.refill_after(now, backoff)
        };
    }

    /// The question to `asked` got no answer, or an error.
    pub fn refill_failed(&mut self, asked: PeerId, now: Instant) {
        if let Refill::Asked { asked: a, backoff } = self.refill
            && a == asked
        {
            if self.position(asked).is_none() {
                // A nearer peer that was named but does not answer: not
                // asked again for a while. The peer that named it is asked
                // again at once, to be taken if nobody nearer answers.
                self.failed_candidates.retain(|&(_, until)| until > now);
                if self.failed_candidates.len() >= MAX_FAILED_CANDIDATES {
                    self.failed_candidates.remove(0);
                }
                self.failed_candidates
                    .push((asked, now + self.ping_interval));
                if let Some(namer) = self.named_by.take().filter(|&namer| namer != asked) {
                    self.refill = Refill::Due {
                        at: now,
                        backoff,
                        target: Some(namer),
                    };
                    return;
                }
            }
            self.refill = self.refill_after(now, backoff);
        }
    }

    /// Whom the question due now goes to; see [`Ask`].
    pub fn refill_target(&self) -> Ask {
        match (self.refill, self.first()) {
            (
                Refill::Due {
                    target: Some(target),
                    ..
                },
                _,
            ) => Ask::Peer(target),
            (_, None) => Ask::Acquaintance { or_else: None },
            (_, Some(first)) if self.entries.len() >= self.capacity && self.ask_acquaintance => {
                Ask::Acquaintance {
                    or_else: Some(first),
                }
            }
            (_, Some(first)) => Ask::Peer(first),
        }
    }

    /// Records that a question was sent to `asked`.
    pub fn refill_sent(&mut self, asked: PeerId) {
        let backoff = match self.refill {
            Refill::Due { backoff, .. } | Refill::Asked { backoff, .. } => backoff,
            Refill::Idle => QUERY_RETRY,
        };
        self.refill = Refill::Asked { asked, backoff };
    }

    /// There was nobody to ask: ask again later.
    pub fn postpone_refill(&mut self, now: Instant) {
        let backoff = match self.refill {
            Refill::Due { backoff, .. } | Refill::Asked { backoff, .. } => backoff,
            Refill::Idle => QUERY_RETRY,
        };
        self.refill = self.refill_after(now, backoff);
    }

    /// Takes in `asked`'s answer: its list goes behind it, and the
    /// successors this peer already has stay where the answer does not
    /// contradict them. It is complete when full, or as long as the ring
    /// allows (the answer came back round to this peer, or to `asked`).
    ///
    /// The result is the union of what both know, in ring order: `asked`,
    /// its list up to where it comes back round to this peer (without the
    /// peers known to be dead or gone), and this peer's successors, except
    /// those the answer skips. A skipped successor that looks dead already
    /// is said to be dead (a peer nearer to it has found it so, and this
    /// peer's own verdict would say it a moment later); one that has never
    /// answered is dropped quietly (`asked` knows better); one that answers
    /// is kept, since `asked` may simply not have heard of it yet (a
    /// newcomer further on, told to both at once). Pings then settle it.
    fn merge_answer(&mut self, asked: PeerId, theirs: &[PeerId], now: Instant) -> Merged {
        let me = self.me;
        self.dead.retain(|&(_, until)| until > now);
        let distance = |peer: PeerId| clockwise_distance(me.0, peer.0);
        let reach = distance(asked);
        // Only an answer from a peer that is, or becomes, a successor can
        // show that the ring is too small for a whole list. An
        // acquaintance further round (a predecessor, say) names this peer
        // in its list as a matter of course.
        let becomes_a_successor = self.position(asked).is_some()
            || self.first().is_none_or(|first| reach < distance(first));
        let closes_the_ring = becomes_a_successor
            && theirs
                .iter()
                .any(|&peer| peer == me || distance(peer) <= reach);
        let theirs: Vec<PeerId> = theirs
            .iter()
            .copied()
            .take_while(|&peer| peer != me && distance(peer) > reach)
            .collect();
        // The peers the answer names that this one knows to be dead are
        // left out, since the answer may be stale; the nearest of them is
        // asked in a moment, in case it came back.
        self.failed_candidates.retain(|&(_, until)| until > now);
        let named_dead = theirs.iter().copied().take(self.capacity).find(|&peer| {
            self.is_dead(peer) && !self.failed_candidates.iter().any(|&(p, _)| p == peer)
        });
        let theirs: Vec<PeerId> = theirs
            .into_iter()
            .filter(|&peer| !self.is_dead(peer))
            .collect();
        let last = theirs.last().copied().unwrap_or(asked);
        let mut union = vec![asked];
        union.extend(&theirs);
        let mut skipped_dead = Vec::new();
        for successor in &self.entries {
            let peer = successor.peer;
            let skipped = distance(peer) > reach
                && distance(peer) < distance(last)
                && !theirs.contains(&peer);
            if !skipped {
                union.push(peer);
            } else if successor.liveness.is_proven() && successor.liveness.is_suspect(now) {
                skipped_dead.push(peer);
            } else if successor.liveness.is_proven() {
                union.push(peer);
            }
        }
        for peer in skipped_dead {
            if self.remember_death(peer, now) {
                self.dropped_dead.push(peer);
            }
        }
        union.sort_by_key(|&peer| distance(peer));
        union.dedup();
        let changed = self.set(union, now);
        // It answered a question: it is running.
        if let Some(index) = self.position(asked) {
            self.entries[index].liveness.answered();
        }
        Merged {
            changed,
            complete: closes_the_ring || self.entries.len() >= self.capacity,
            named_dead,
        }
    }

    /// When to ask next, after an answer that changed nothing or after no
    /// answer. A whole list is checked every half interval, the first
    /// successor and an acquaintance in turn (the background repair); a
    /// short or empty one is asked about again after `backoff`, which
    /// doubles each time, up to an interval.
    pub(super) fn refill_after(&mut self, now: Instant, backoff: Duration) -> Refill {
        if self.entries.len() >= self.capacity {
            // The first successor and an acquaintance in turn, each once an
            // interval.
            self.ask_acquaintance = !self.ask_acquaintance;
            return Refill::Due {
                at: now + self.ping_interval / 2,
                backoff: QUERY_RETRY,
                target: None,
            };
        }
        Refill::Due {
            at: now + backoff,
            backoff: (backoff * 2).min(self.ping_interval.max(QUERY_RETRY)),
            target: None,
        }
    }
}
