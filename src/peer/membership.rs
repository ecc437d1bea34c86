//! Membership: a newcomer joining, the peer that places it, the successor
//! changes that follow, a graceful departure, and a peer that finds itself
//! dropped from the ring and joins again.
//!
//! The placement rule is the one of any distributed hash table: peer `p`
//! with first successor `s` owns the identities strictly between `p` and
//! `s`, so a `JOIN` travels from successor to successor until it reaches
//! the peer after which the newcomer belongs. That peer takes the newcomer
//! as its first successor, gives it its own list, and tells the
//! predecessors whose lists hold it (`CHANGE`). A peer that leaves tells
//! every predecessor whose list holds it (`LEAVE`), and each puts the
//! leaver's successors in its place.

use std::time::{Duration, Instant};

use super::outstanding::Awaiting;
use super::successors::merged;
use super::{Action, MAX_HOPS, Peer, Phase, warn};
use crate::message::{Ordinal, RefuseReason, Reply, Request};
use crate::output::{Kind, Line};
use crate::ring::{PeerId, is_strictly_between};

/// How long a newcomer waits to be placed in the ring before giving up.
pub const JOIN_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a peer that is joining again waits between attempts.
pub const REJOIN_RETRY: Duration = Duration::from_secs(1);

/// How long a leaving peer waits for its predecessors to acknowledge.
pub const LEAVE_TIMEOUT: Duration = Duration::from_secs(2);

/// A peer waiting to be placed, after sending `JOIN` to `via`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Joining {
    via: PeerId,
    give_up_at: Instant,
    /// The successors of a peer that was cut off and is joining again, in
    /// case the ring says it never left; `None` for a newcomer.
    previous: Option<Vec<PeerId>>,
    /// When to send the `JOIN`, if it has not been sent yet: a peer that
    /// rejoins waits a little between attempts.
    send_at: Option<Instant>,
}

/// `Quit` was typed: the peer stays a member, pinging and passing on joins,
/// until its predecessors have acknowledged that it leaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leaving {
    waiting_for: Vec<PeerId>,
    give_up_at: Instant,
}

/// What membership has due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Due {
    /// Nobody placed us in time.
    GiveUpJoin,
    /// Send the `JOIN` of a rejoin attempt.
    SendJoin,
    /// Not every predecessor acknowledged our departure in time.
    GiveUpLeave,
    /// Nobody has pinged us for the predecessor memory: the ring has
    /// dropped us.
    CutOff,
}

impl Peer {
    /// What membership has due next, and when.
    pub(super) fn membership_due(&self) -> Option<(Instant, Due)> {
        match &self.phase {
            Phase::Joining(joining) => {
                let send = joining.send_at.map(|at| (at, Due::SendJoin));
                [Some((joining.give_up_at, Due::GiveUpJoin)), send]
                    .into_iter()
                    .flatten()
                    .min_by_key(|&(at, _)| at)
            }
            Phase::Member => {
                let leave = self
                    .leaving
                    .as_ref()
                    .map(|l| (l.give_up_at, Due::GiveUpLeave));
                leave.or_else(|| self.cut_off_at().map(|at| (at, Due::CutOff)))
            }
            Phase::Done => None,
        }
    }

    pub(super) fn perform_membership_due(&mut self, due: Due, now: Instant, out: &mut Vec<Action>) {
        match due {
            Due::GiveUpJoin => {
                let via = match &self.phase {
                    Phase::Joining(joining) => joining.via,
                    _ => return,
                };
                warn(
                    out,
                    Kind::Note,
                    format!(
                        "no answer to the join request sent to peer {via} within {} s",
                        JOIN_TIMEOUT.as_secs()
                    ),
                );
                self.end_failed_join(now, out);
            }
            Due::SendJoin => {
                if let Phase::Joining(joining) = &mut self.phase {
                    joining.send_at = None;
                    let via = joining.via;
                    self.send_join(via, now, out);
                }
            }
            // A predecessor that does not acknowledge is dead or gone; it
            // must not keep us here.
            Due::GiveUpLeave => self.exit(0, out),
            Due::CutOff => self.rejoin(now, out),
        }
    }

    // ----- Joining -----

    pub(super) fn start_joining(
        &mut self,
        via: PeerId,
        previous: Option<Vec<PeerId>>,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        self.phase = Phase::Joining(Joining {
            via,
            give_up_at: now + JOIN_TIMEOUT,
            previous,
            send_at: None,
        });
        self.owed_changes.clear();
        self.send_join(via, now, out);
    }

    fn send_join(&mut self, via: PeerId, now: Instant, out: &mut Vec<Action>) {
        let me = self.id();
        let join = Request::Join {
            newcomer: me,
            sender: me,
            hops: 0,
        };
        if !self.outstanding.send(via, join, Awaiting::Join, now, out) {
            self.end_failed_join(now, out);
        }
    }

    /// Our own `JOIN` was answered. Only the `OK` that it arrived matters
    /// here; the placement itself comes as `WELCOME` or `REFUSE`.
    pub(super) fn on_join_answer(
        &mut self,
        via: PeerId,
        answer: Option<Reply>,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let asked_via = matches!(&self.phase, Phase::Joining(joining) if joining.via == via);
        if answer == Some(Reply::Ok) || !asked_via {
            return;
        }
        warn(
            out,
            Kind::Note,
            format!(
                "peer {via} does not answer, so peer {} cannot join through it; \
                 is peer {via} running, with the same --base-port?",
                self.id()
            ),
        );
        self.end_failed_join(now, out);
    }

    /// A newcomer that cannot join exits; a peer that was rejoining keeps
    /// trying, through each of its old successors in turn, as it has
    /// nowhere else to go.
    fn end_failed_join(&mut self, now: Instant, out: &mut Vec<Action>) {
        let Phase::Joining(joining) = &self.phase else {
            return;
        };
        let Some(previous) = joining.previous.clone().filter(|p| !p.is_empty()) else {
            self.exit(1, out);
            return;
        };
        let next = previous
            .iter()
            .position(|&peer| peer == joining.via)
            .map_or(0, |at| (at + 1) % previous.len());
        // Wait before trying again, so that a ring that cannot be reached
        // costs one attempt a second, not a busy loop.
        self.phase = Phase::Joining(Joining {
            via: previous[next],
            give_up_at: now + REJOIN_RETRY + JOIN_TIMEOUT,
            previous: Some(previous),
            send_at: Some(now + REJOIN_RETRY),
        });
    }

    /// A join request reached us: take the newcomer as our first successor
    /// if it belongs right after us, or pass the request on.
    pub(super) fn on_join(
        &mut self,
        newcomer: PeerId,
        sender: PeerId,
        hops: u32,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let me = self.id();
        let first = match (&self.phase, self.successors.first()) {
            (Phase::Member, Some(first)) => first,
            _ => {
                warn(
                    out,
                    Kind::Unexpected,
                    format!("cannot place joining peer {newcomer}: this peer is not in the ring"),
                );
                return;
            }
        };
        if newcomer == me || newcomer == first {
            warn(
                out,
                Kind::Unexpected,
                format!(
                    "refused joining peer {newcomer}: a peer with that identity is already in \
                     the ring"
                ),
            );
            self.refuse(newcomer, RefuseReason::Duplicate, now, out);
        } else if self.leaving.is_none() && is_strictly_between(me.0, newcomer.0, first.0) {
            if self.successors.is_held() {
                // Our list is being repaired, so we cannot give the newcomer
                // a full one; it may try again in a moment.
                self.refuse(newcomer, RefuseReason::NoPlace, now, out);
            } else {
                self.accept_newcomer(newcomer, sender, now, out);
            }
        } else if hops >= MAX_HOPS {
            warn(
                out,
                Kind::Unexpected,
                format!(
                    "refused joining peer {newcomer}: its request went round the ring without \
                     finding a place"
                ),
            );
            self.refuse(newcomer, RefuseReason::NoPlace, now, out);
        } else {
            // A leaving peer must not take a newcomer, and passes it on.
            out.push(Action::Print(Line::JoinRequestForwarded { newcomer }));
            let join = Request::Join {
                newcomer,
                sender: me,
                hops: hops + 1,
            };
            self.outstanding
                .send(first, join, Awaiting::Delivery, now, out);
        }
    }

    fn refuse(
        &mut self,
        newcomer: PeerId,
        reason: RefuseReason,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let refusal = Request::Refuse { reason };
        self.outstanding
            .send(newcomer, refusal, Awaiting::Delivery, now, out);
    }

    /// The newcomer lies between us and our first successor: it becomes our
    /// first successor, it gets our list as its own, and the predecessors
    /// whose lists hold us hear of the change.
    fn accept_newcomer(
        &mut self,
        newcomer: PeerId,
        sender: PeerId,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let me = self.id();
        let capacity = self.config.successor_count;
        let old = self.successors.peers();
        out.push(Action::Print(Line::JoinRequestReceived { newcomer }));
        self.successors.take_newcomer(newcomer, now);
        // In a ring too small to fill the newcomer's list, it comes back
        // round to us.
        let mut theirs = old;
        if theirs.len() < capacity {
            theirs.push(me);
        }
        theirs.truncate(capacity);
        let welcome = Request::Welcome { successors: theirs };
        self.outstanding
            .send(newcomer, welcome, Awaiting::Delivery, now, out);

        // The predecessor at position k holds us at position k and the
        // first R - 1 - k of our successors after us, so positions up to
        // R - 1 must hear of the newcomer. The peer that passed the request
        // on did so because we are its first successor: it is our first
        // predecessor. The others are known from their pings; one that has
        // not pinged yet is told when it does.
        let mut told = Vec::new();
        for index in 0..capacity.saturating_sub(1) {
            let Some(position) = Ordinal::from_index(index) else {
                break;
            };
            let predecessor = if position == Ordinal::First && sender != newcomer {
                Some(sender)
            } else {
                self.predecessors.at(position, now)
            };
            match predecessor {
                Some(peer) if peer == me || peer == newcomer || told.contains(&peer) => {}
                Some(peer) => {
                    self.send_change(peer, now, out);
                    told.push(peer);
                }
                None => self.owed_changes.push(position),
            }
        }
    }

    fn send_change(&mut self, predecessor: PeerId, now: Instant, out: &mut Vec<Action>) {
        let change = Request::Change {
            from: self.id(),
            successors: self.successors.peers(),
        };
        self.outstanding
            .send(predecessor, change, Awaiting::Delivery, now, out);
    }

    /// A predecessor pinged from `position`: if it is owed a change, tell it
    /// now.
    pub(super) fn settle_owed_change(
        &mut self,
        predecessor: PeerId,
        position: Ordinal,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        if let Some(at) = self.owed_changes.iter().position(|&p| p == position) {
            self.owed_changes.remove(at);
            if self.phase == Phase::Member && !self.successors.is_empty() {
                self.send_change(predecessor, now, out);
            }
        }
    }

    pub(super) fn on_welcome(
        &mut self,
        successors: &[PeerId],
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let me = self.id();
        let list = merged(&[], successors, me, self.config.successor_count, &[]);
        if !matches!(self.phase, Phase::Joining(_)) || list.is_empty() {
            warn(
                out,
                Kind::Unexpected,
                format!(
                    "ignored a welcome to the ring (successors {successors:?}): this peer is \
                     not joining"
                ),
            );
            return;
        }
        out.push(Action::Print(Line::JoinAccepted));
        for (index, &peer) in list.iter().enumerate() {
            if let Some(position) = Ordinal::from_index(index) {
                out.push(Action::Print(Line::Successor { position, peer }));
            }
        }
        self.phase = Phase::Member;
        self.successors.welcome(&list, now);
        self.successors.mark_announced();
    }

    pub(super) fn on_refuse(&mut self, reason: RefuseReason, now: Instant, out: &mut Vec<Action>) {
        let Phase::Joining(joining) = &self.phase else {
            warn(
                out,
                Kind::Unexpected,
                format!("ignored a refusal ({reason}): this peer is not joining"),
            );
            return;
        };
        let me = self.id();
        match (reason, joining.previous.clone()) {
            // We thought we had been dropped, but the ring still holds us.
            (RefuseReason::Duplicate, Some(previous)) => {
                warn(
                    out,
                    Kind::Note,
                    format!("the ring still holds peer {me}; carrying on as before"),
                );
                self.phase = Phase::Member;
                self.successors.welcome(&previous, now);
                self.successors.mark_announced();
            }
            (RefuseReason::Duplicate, None) => {
                warn(
                    out,
                    Kind::Note,
                    format!(
                        "peer {me} cannot join: a peer with that identity is already in the \
                         ring; choose another identity"
                    ),
                );
                self.exit(1, out);
            }
            (RefuseReason::NoPlace, _) => {
                warn(
                    out,
                    Kind::Note,
                    format!(
                        "peer {me} cannot join: the request found no place in the ring, which \
                         is changing; try again"
                    ),
                );
                self.end_failed_join(now, out);
            }
        }
    }

    /// `CHANGE`: a successor took a newcomer; its list goes behind it.
    pub(super) fn on_change(
        &mut self,
        from: PeerId,
        successors: &[PeerId],
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let merged = match self.phase {
            Phase::Member => self.successors.merge_after(from, successors, now),
            Phase::Joining(_) | Phase::Done => None,
        };
        match merged {
            None => warn(
                out,
                Kind::Unexpected,
                format!(
                    "ignored a successor change from peer {from}, which is not a successor of \
                     this peer"
                ),
            ),
            Some(true) => out.push(Action::Print(Line::SuccessorChangeReceived)),
            Some(false) => {}
        }
    }

    // ----- Leaving -----

    /// Tells every predecessor heard from pings which successors to take
    /// instead of us, and leaves once they have acknowledged.
    pub(super) fn quit(&mut self, now: Instant, out: &mut Vec<Action>) {
        if self.phase != Phase::Member || self.leaving.is_some() {
            // Not in the ring, nobody depends on us; already leaving, the
            // departure is under way.
            if self.leaving.is_none() {
                self.exit(0, out);
            }
            return;
        }
        let successors = self.successors.peers();
        let me = self.id();
        let mut waiting_for = Vec::new();
        if !successors.is_empty() {
            for (_, predecessor) in self.predecessors.heard(now) {
                if predecessor == me || waiting_for.contains(&predecessor) {
                    continue;
                }
                let leave = Request::Leave {
                    from: me,
                    successors: successors.clone(),
                };
                if self
                    .outstanding
                    .send(predecessor, leave, Awaiting::Leave, now, out)
                {
                    waiting_for.push(predecessor);
                }
            }
        }
        if waiting_for.is_empty() {
            self.exit(0, out);
            return;
        }
        self.leaving = Some(Leaving {
            waiting_for,
            give_up_at: now + LEAVE_TIMEOUT,
        });
    }

    /// A predecessor answered our `LEAVE` (or could not be reached, which
    /// counts the same: it cannot be waited for).
    pub(super) fn on_leave_acknowledged(&mut self, predecessor: PeerId, out: &mut Vec<Action>) {
        let Some(leaving) = &mut self.leaving else {
            return;
        };
        leaving.waiting_for.retain(|&p| p != predecessor);
        if leaving.waiting_for.is_empty() {
            self.exit(0, out);
        }
    }

    /// `LEAVE`: a successor is leaving; its successors take its place.
    pub(super) fn on_leave(
        &mut self,
        leaving: PeerId,
        successors: &[PeerId],
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let merged = match self.phase {
            Phase::Member => self.successors.merge_departure(leaving, successors, now),
            Phase::Joining(_) | Phase::Done => None,
        };
        match merged {
            Some(_) => out.push(Action::Print(Line::WillDepart { peer: leaving })),
            None => warn(
                out,
                Kind::Unexpected,
                format!(
                    "ignored the departure of peer {leaving}, which is not a successor of this \
                     peer"
                ),
            ),
        }
    }

    // ----- Rejoining -----

    /// When this member would count as dropped from the ring: it was pinged
    /// before, and nobody has pinged it for the predecessor memory (it was
    /// frozen, and its predecessors repaired round it). A peer whose list
    /// is being repaired finishes first: rejoining needs its successors,
    /// to fall back on if the ring says it never left.
    fn cut_off_at(&self) -> Option<Instant> {
        if self.successors.is_empty() || self.successors.is_held() {
            return None;
        }
        self.predecessors.all_forgotten_at()
    }

    fn rejoin(&mut self, now: Instant, out: &mut Vec<Action>) {
        let previous = self.successors.peers();
        let Some(&via) = previous.first() else {
            return;
        };
        warn(
            out,
            Kind::Note,
            format!(
                "no predecessor has pinged peer {} for {:.1} s, so the ring has dropped it \
                 (it was frozen or cut off); joining again through peer {via}",
                self.id(),
                self.config.predecessor_memory().as_secs_f64()
            ),
        );
        self.predecessors.forget_all();
        self.successors.clear(now);
        self.start_joining(via, Some(previous), now, out);
    }
}
