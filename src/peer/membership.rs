//! Membership, the ring's side: the peer that places a newcomer, the
//! successor changes that follow, and a graceful departure. (This peer's
//! own joins are in `joining.rs`.)
//!
//! The placement rule is the one of any distributed hash table: peer `p`
//! with first successor `s` owns the identities strictly between `p` and
//! `s`, so a `JOIN` travels from successor to successor until it reaches
//! the peer after which the newcomer belongs. That peer gives the newcomer
//! its own list (`WELCOME`) and, once the newcomer has acknowledged it,
//! takes it as its first successor and tells the predecessors whose lists
//! hold it (`CHANGE`). A newcomer that never acknowledges (it crashed, or
//! the `JOIN` was forged) is never taken, so it leaves no hole.
//!
//! A peer that leaves tells every predecessor whose list holds it
//! (`LEAVE`), and each puts the leaver's successors in its place, once it
//! has checked with the leaver itself (`QUERY`, answered `LEAVING`) that the
//! notice is true. On one host any program can send a `LEAVE`, and its
//! address proves nothing; the check guarantees that a live peer is never
//! cut out by a notice it did not send, since whatever answers on its port
//! is asked. It does not guard against a program that takes over a dead
//! peer's port, and a notice naming a dead peer is obeyed, which is right
//! anyway.

use std::time::{Duration, Instant};

use super::departure::{Departure, say_already_leaving, say_leaving};
use super::joining::JOIN_TIMEOUT;
use super::outstanding::Awaiting;
use super::{Action, ConnectionId, MAX_HOPS, NoAnswer, Peer, Phase, refusal, reply, warn};
use crate::message::{ErrorReason, Ordinal, RefuseReason, Reply, Request};
use crate::output::{Kind, Line};
use crate::ring::{MAX_SUCCESSORS, PeerId, is_strictly_between};

/// How many recent welcomes are remembered, to answer a repeated `JOIN`.
const MAX_RECENT_WELCOMES: usize = 8;

/// How long a leaving peer waits for its predecessors to acknowledge.
pub const LEAVE_TIMEOUT: Duration = Duration::from_secs(2);

/// The most departure notices being checked at once. A peer has at most R
/// predecessors' worth of successors, so more are a flood, and refused.
const MAX_LEAVE_CHECKS: usize = 8;

/// A newcomer that was sent its welcome and has not acknowledged it yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingWelcome {
    newcomer: PeerId,
    /// The peer that passed the `JOIN` on: our first predecessor.
    sender: PeerId,
    welcome: Request,
}

/// A `LEAVE` being checked with the peer it names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaveCheck {
    leaving: PeerId,
    /// The successors the notice names, used if the leaver has gone.
    successors: Vec<PeerId>,
    connection: ConnectionId,
}

/// `Quit` was typed: the peer stays a member, pinging and passing on joins,
/// until its predecessors have acknowledged that it leaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leaving {
    pub(super) waiting_for: Vec<PeerId>,
    give_up_at: Instant,
}

/// What membership has due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Due {
    /// Not every predecessor acknowledged our departure in time.
    GiveUpLeave,
}

impl Peer {
    /// What membership has due next, and when.
    pub(super) fn membership_due(&self) -> Option<(Instant, Due)> {
        let leaving = self
            .leaving
            .as_ref()
            .filter(|_| self.phase == Phase::Member);
        leaving.map(|l| (l.give_up_at, Due::GiveUpLeave))
    }

    pub(super) fn perform_membership_due(&mut self, due: Due, out: &mut Vec<Action>) {
        match due {
            // A predecessor that does not acknowledge is dead or gone; it
            // must not keep us here.
            Due::GiveUpLeave => self.give_up_leaving(out),
        }
    }

    // ----- Placing newcomers -----

    /// A join request reached us: welcome the newcomer if it belongs right
    /// after us, or pass the request on. A peer with no successor left
    /// welcomes any newcomer: its `JOIN` is news of the ring, and the
    /// background repair puts the rest right.
    pub(super) fn on_join(
        &mut self,
        newcomer: PeerId,
        sender: PeerId,
        hops: u32,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let me = self.id();
        if self.phase != Phase::Member {
            warn(
                out,
                Kind::Unexpected,
                format!("cannot place joining peer {newcomer}: this peer is not in the ring"),
            );
            return;
        }
        let first = self.successors.first();
        let pending = self.pending_welcome.as_ref();
        if let Some(welcome) = self.recent_welcome(newcomer, now) {
            // We placed this newcomer a moment ago, and it asks again: its
            // first `JOIN` or our answer was lost. The same welcome again
            // is the answer, not a refusal.
            self.outstanding
                .send(newcomer, welcome, Awaiting::Delivery, now, out);
        } else if let Some(pending) = pending.filter(|p| p.newcomer == newcomer) {
            let welcome = pending.welcome.clone();
            self.outstanding
                .send(newcomer, welcome, Awaiting::Welcome, now, out);
        } else if newcomer == me || Some(newcomer) == first {
            warn(
                out,
                Kind::Unexpected,
                format!(
                    "refused joining peer {newcomer}: a peer with that identity is already in \
                     the ring"
                ),
            );
            self.refuse(newcomer, RefuseReason::Duplicate, now, out);
        } else if self.leaving.is_none()
            && first.is_none_or(|first| is_strictly_between(me.0, newcomer.0, first.0))
        {
            if self.successors.is_held() || pending.is_some() {
                // Our list is being repaired, or another newcomer is being
                // placed here: we cannot give this one a list that will
                // hold; it tries again in a moment.
                self.refuse(newcomer, RefuseReason::NoPlace, now, out);
            } else {
                self.welcome_newcomer(newcomer, sender, now, out);
            }
        } else if let (Some(first), true) = (first, hops < MAX_HOPS) {
            // A leaving peer must not take a newcomer, and passes it on.
            out.push(Action::Print(Line::JoinRequestForwarded { newcomer }));
            let join = Request::Join {
                newcomer,
                sender: me,
                hops: hops + 1,
            };
            self.outstanding
                .send(first, join, Awaiting::Delivery, now, out);
        } else {
            warn(
                out,
                Kind::Unexpected,
                format!(
                    "refused joining peer {newcomer}: its request went round the ring without \
                     finding a place"
                ),
            );
            self.refuse(newcomer, RefuseReason::NoPlace, now, out);
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

    /// The newcomer lies between us and our first successor: it gets our
    /// list as its own, and is taken once it acknowledges.
    fn welcome_newcomer(
        &mut self,
        newcomer: PeerId,
        sender: PeerId,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let me = self.id();
        let capacity = self.config.successor_count;
        out.push(Action::Print(Line::JoinRequestReceived { newcomer }));
        // In a ring too small to fill the newcomer's list, it comes back
        // round to us.
        let mut theirs = self.successors.peers();
        if theirs.len() < capacity {
            theirs.push(me);
        }
        theirs.truncate(capacity);
        let welcome = Request::Welcome { successors: theirs };
        if self
            .outstanding
            .send(newcomer, welcome.clone(), Awaiting::Welcome, now, out)
        {
            self.pending_welcome = Some(PendingWelcome {
                newcomer,
                sender,
                welcome,
            });
        }
    }

    /// The newcomer answered its welcome, or could not be reached.
    pub(super) fn on_welcome_answer(
        &mut self,
        newcomer: PeerId,
        answer: Result<Reply, NoAnswer>,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let Some(pending) = self.pending_welcome.take_if(|p| p.newcomer == newcomer) else {
            return;
        };
        if answer != Ok(Reply::Ok) {
            warn(
                out,
                Kind::Delivery,
                format!(
                    "joining peer {newcomer} did not acknowledge its welcome, so it is not taken \
                     into the ring"
                ),
            );
            return;
        }
        let me = self.id();
        let belongs = self
            .successors
            .first()
            .is_none_or(|first| is_strictly_between(me.0, newcomer.0, first.0));
        if self.leaving.is_some() || !belongs {
            // The ring changed meanwhile; the background repair will find
            // the newcomer where it now belongs.
            return;
        }
        self.take_newcomer(pending, now, out);
    }

    /// The newcomer acknowledged its welcome: it becomes our first
    /// successor, and the predecessors whose lists hold us hear of it.
    fn take_newcomer(&mut self, pending: PendingWelcome, now: Instant, out: &mut Vec<Action>) {
        let me = self.id();
        let capacity = self.config.successor_count;
        let PendingWelcome {
            newcomer,
            sender,
            welcome,
        } = pending;
        self.list_before_change = self.successors.peers();
        self.successors.take_newcomer(newcomer, now);
        self.welcomed
            .retain(|&(peer, _, until)| peer != newcomer && until > now);
        if self.welcomed.len() >= MAX_RECENT_WELCOMES {
            // The oldest is forgotten first.
            self.welcomed.remove(0);
        }
        self.welcomed.push((newcomer, welcome, now + JOIN_TIMEOUT));

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
                // Each position is owed at most one change: the one it is
                // told carries the list as it is then.
                None if !self.owed_changes.contains(&position) => self.owed_changes.push(position),
                None => {}
            }
        }
    }

    /// The welcome sent to `newcomer` lately, if it was placed here within
    /// its join's timeout and is still our first successor.
    fn recent_welcome(&self, newcomer: PeerId, now: Instant) -> Option<Request> {
        let first = self.successors.first()?;
        self.welcomed
            .iter()
            .find(|&&(peer, _, until)| peer == newcomer && peer == first && until > now)
            .map(|(_, welcome, _)| welcome.clone())
    }

    /// Tells a predecessor our new list. Until it has answered, a `QUERY`
    /// from it gets the list it knew before (see [`Peer::list_for`]), so
    /// that it hears of the newcomer by this `CHANGE` first and prints the
    /// course's "Successor Change request received", whichever message
    /// comes first.
    fn send_change(&mut self, predecessor: PeerId, now: Instant, out: &mut Vec<Action>) {
        let change = Request::Change {
            from: self.id(),
            successors: self.successors.peers(),
        };
        if self
            .outstanding
            .send(predecessor, change, Awaiting::Change, now, out)
        {
            self.changes_unanswered
                .retain(|&(peer, _)| peer != predecessor);
            if self.changes_unanswered.len() >= MAX_SUCCESSORS {
                self.changes_unanswered.remove(0);
            }
            self.changes_unanswered
                .push((predecessor, self.list_before_change.clone()));
        }
    }

    /// A predecessor answered our `CHANGE` (or could not be reached).
    pub(super) fn on_change_answered(&mut self, predecessor: PeerId) {
        self.changes_unanswered
            .retain(|&(peer, _)| peer != predecessor);
    }

    /// The list to give `asker` in answer to a `QUERY`: our list, or, while
    /// a `CHANGE` to it is unanswered, the list it knew before.
    pub(super) fn list_for(&self, asker: PeerId) -> Vec<PeerId> {
        self.changes_unanswered
            .iter()
            .find(|&&(peer, _)| peer == asker)
            .map_or_else(|| self.successors.peers(), |(_, old)| old.clone())
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
        if self.leaving.is_some() || self.placement.is_handing_over() {
            // Typed twice: the departure is under way already.
            say_already_leaving(out);
            return;
        }
        if self.phase != Phase::Member {
            // Not in the ring yet: nobody depends on us.
            self.finish_leaving(Departure::NotJoined, out);
            return;
        }
        // A peer that looks after files first hands its own to its
        // successor, while it is still a member its successor hears from,
        // and sends its `LEAVE` once they have arrived.
        if !self.hand_over_before_leaving(now, out) {
            self.send_leave(now, out);
        }
    }

    /// Tells every predecessor that this peer leaves, and exits once they
    /// have answered (or at once if there is nobody to tell).
    pub(super) fn send_leave(&mut self, now: Instant, out: &mut Vec<Action>) {
        if self.leaving.is_some() || self.phase != Phase::Member {
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
            self.leave_untold(out);
            return;
        }
        say_leaving(&waiting_for, out);
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
            self.finish_leaving(Departure::Acknowledged, out);
        }
    }

    /// `LEAVE`: a successor says it is leaving. The notice is checked with
    /// the leaver before it is obeyed (see the module documentation); the
    /// reply waits for the check.
    pub(super) fn on_leave(
        &mut self,
        leaving: PeerId,
        successors: &[PeerId],
        connection: ConnectionId,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let successor = self.phase == Phase::Member && self.successors.position(leaving).is_some();
        if !successor && self.successors.is_dead(leaving) {
            // Its departure is known already (it answered a check, say).
            reply(out, connection, Reply::Ok);
            return;
        }
        if !successor {
            reply(out, connection, Reply::Ok);
            warn(
                out,
                Kind::Unexpected,
                format!(
                    "ignored the departure of peer {leaving}, which is not a successor of this \
                     peer"
                ),
            );
            return;
        }
        if self.leave_checks.len() >= MAX_LEAVE_CHECKS {
            reply(out, connection, refusal(ErrorReason::Busy));
            return;
        }
        let asking = self.leave_checks.iter().any(|c| c.leaving == leaving);
        self.leave_checks.push(LeaveCheck {
            leaving,
            successors: successors.to_vec(),
            connection,
        });
        if !asking {
            let query = Request::Query { from: self.id() };
            if !self
                .outstanding
                .send(leaving, query, Awaiting::LeaveCheck, now, out)
            {
                self.on_leave_check_answer(leaving, Err(NoAnswer::Silent), now, out);
            }
        }
    }

    /// The leaver answered the check of its notice (or did not).
    pub(super) fn on_leave_check_answer(
        &mut self,
        leaving: PeerId,
        answer: Result<Reply, NoAnswer>,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let (checks, others): (Vec<LeaveCheck>, Vec<LeaveCheck>) =
            std::mem::take(&mut self.leave_checks)
                .into_iter()
                .partition(|check| check.leaving == leaving);
        self.leave_checks = others;
        let Some(claimed) = checks.first().map(|check| check.successors.clone()) else {
            return;
        };
        let answer_to_notice = match answer {
            // It says so itself: its own list takes its place.
            Ok(Reply::Leaving { successors }) => {
                self.depart(leaving, &successors, now, out);
                Reply::Ok
            }
            // Nothing listens on its port any more: it has gone, and the
            // notice is as good a guide as any.
            Err(NoAnswer::Refused) => {
                self.depart(leaving, &claimed, now, out);
                Reply::Ok
            }
            Ok(
                Reply::Neighbours { .. }
                | Reply::View(_)
                | Reply::Held { .. }
                | Reply::Error { .. },
            ) => {
                warn(
                    out,
                    Kind::Unexpected,
                    format!(
                        "ignored a notice that peer {leaving} is leaving: asked, it says it is not"
                    ),
                );
                refusal(ErrorReason::NotLeaving)
            }
            // It could not be asked: the notice is not obeyed, and pings
            // will tell whether the peer is still there.
            Ok(Reply::Ok | Reply::Ready { .. } | Reply::Have) | Err(NoAnswer::Silent) => {
                warn(
                    out,
                    Kind::Delivery,
                    format!(
                        "could not check with peer {leaving} that it is leaving; its pings will tell"
                    ),
                );
                Reply::Ok
            }
        };
        for check in checks {
            reply(out, check.connection, answer_to_notice.clone());
        }
    }

    /// A successor leaves: its successors take its place.
    pub(super) fn depart(
        &mut self,
        leaving: PeerId,
        successors: &[PeerId],
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        if self
            .successors
            .merge_departure(leaving, successors, now)
            .is_some()
        {
            out.push(Action::Print(Line::WillDepart { peer: leaving }));
        }
    }
}
