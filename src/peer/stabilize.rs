//! The background repair: how a peer keeps its successor list right
//! whatever happened to the ring.
//!
//! This is Chord's *stabilize and notify*, fitted to this ring:
//!
//! - *Notify* needs no message of its own: a ping says which of the
//!   sender's successors the receiver is, so every peer knows which peers
//!   ping it as their first successor, and names the nearest of them as its
//!   predecessor (see `predecessors.rs`).
//! - *Stabilize*: every half interval, in turn, a peer asks its first
//!   successor and an acquaintance `QUERY` (its first successor at once
//!   when the list is short), and the answer
//!   `NEIGHBOURS <predecessor> <successors>` says two things. If that
//!   predecessor lies between the two of them, it is a peer this one has
//!   missed (a newcomer whose welcome went astray, a peer restarted, one
//!   that was frozen and came back), so it is asked in turn, and taken as
//!   first successor once it answers. Otherwise the successor's list goes
//!   behind it, merged with what this peer knows (`successors/answers.rs`), so a
//!   list that drifted from the truth is put right within an interval.
//! - A peer that has lost every successor keeps its place and asks the
//!   peers it knows (the peers that pinged it, any peer heard from) in
//!   turn. Each answer names a peer nearer after it, or confirms one, so
//!   the search walks towards its true successor and ends there.
//!
//! - Every other acquaintance asked is one of the last few successors
//!   this peer declared dead, so that two rings formed while the network
//!   was cut in two become one again once it heals (see [`Acquaintances`]).
//!
//! A peer asks one question at a time, so the repair costs two TCP
//! exchanges per interval per peer while nothing changes: one with its
//! first successor, one with an acquaintance.

use std::time::Instant;

use super::outstanding::Awaiting;
use super::successors::Ask;
use super::{Action, ConnectionId, NoAnswer, Peer, Phase, refusal, reply};
use crate::message::{ErrorReason, Reply, Request};
use crate::ring::PeerId;

/// How many peers heard from are remembered, to be asked every other
/// check and by a peer that loses every successor. A handful is enough:
/// any live peer of the ring leads to the others.
const MAX_ACQUAINTANCES: usize = 16;

/// How many lost successors are remembered: the last few successors this
/// peer declared dead, which it goes on asking now and then.
const MAX_LOST: usize = 4;

/// The peers this one heard from lately (pings, questions, news), most
/// recent last, and the successors it lost lately. They are asked in turn,
/// a lost successor every other time: if the network was cut in two, the
/// successors lost when it was cut are the peers of the other side that
/// lie right after this one, and asking them is how the two rings that
/// formed meanwhile become one again once it heals.
#[derive(Clone, Debug, Default)]
pub struct Acquaintances {
    /// Peers heard from, most recent last, at most [`MAX_ACQUAINTANCES`].
    peers: Vec<PeerId>,
    /// Successors declared dead, most recent last, at most [`MAX_LOST`].
    lost: Vec<PeerId>,
    /// Where the turn has got to in `peers` and in `lost`.
    asked: usize,
    asked_lost: usize,
    /// Whether the next question goes to a lost successor.
    lost_next: bool,
}

impl Acquaintances {
    /// `peer` was heard from.
    pub fn heard(&mut self, peer: PeerId) {
        remember_last(&mut self.peers, peer, MAX_ACQUAINTANCES);
    }

    /// `peer`, a successor, was declared dead.
    pub fn lost(&mut self, peer: PeerId) {
        remember_last(&mut self.lost, peer, MAX_LOST);
    }

    /// `peer` answered: it is no longer lost.
    pub fn found(&mut self, peer: PeerId) {
        self.lost.retain(|&p| p != peer);
        self.heard(peer);
    }

    /// The next peer to ask, in turn: a lost successor every other time
    /// (unless `skip` rules it out), else a peer heard from lately that is
    /// not known to be dead (`dead`) either.
    fn next(
        &mut self,
        skip: impl Fn(PeerId) -> bool,
        dead: impl Fn(PeerId) -> bool,
    ) -> Option<PeerId> {
        self.lost_next = !self.lost_next;
        let lost = next_in_turn(&self.lost, &mut self.asked_lost, &skip);
        if self.lost_next && lost.is_some() {
            return lost;
        }
        let skip_recent = |peer| skip(peer) || dead(peer);
        next_in_turn(&self.peers, &mut self.asked, &skip_recent).or(lost)
    }
}

/// Puts `peer` last in `peers`, once, forgetting the oldest to keep at most
/// `limit`.
fn remember_last(peers: &mut Vec<PeerId>, peer: PeerId, limit: usize) {
    peers.retain(|&p| p != peer);
    if peers.len() >= limit {
        peers.remove(0);
    }
    peers.push(peer);
}

/// The next of `peers` after the one at `asked` that `skip` does not rule
/// out, moving `asked` on.
fn next_in_turn(
    peers: &[PeerId],
    asked: &mut usize,
    skip: &impl Fn(PeerId) -> bool,
) -> Option<PeerId> {
    for _ in 0..peers.len() {
        *asked = (*asked + 1) % peers.len();
        let peer = peers[*asked];
        if !skip(peer) {
            return Some(peer);
        }
    }
    None
}

impl Peer {
    /// Asks for a list: the peer the successor list names (a nearer
    /// predecessor being checked, or the first successor), or with no
    /// successor left, a peer this one knows.
    pub(super) fn ask_for_successors(&mut self, now: Instant, out: &mut Vec<Action>) {
        let me = self.id();
        let target = match self.successors.refill_target() {
            Ask::Peer(peer) => Some(peer),
            Ask::Acquaintance { or_else } => {
                // The peers that pinged this one are among the acquaintances.
                // A lost successor is asked even while its death is
                // remembered: it may be alive on the other side of a cut.
                let successors = &self.successors;
                self.acquaintances
                    .next(
                        |peer| peer == me || successors.position(peer).is_some(),
                        |peer| successors.is_dead(peer),
                    )
                    .or(or_else)
            }
        };
        let Some(target) = target else {
            self.successors.postpone_refill(now);
            return;
        };
        let query = Request::Query { from: me };
        let sent = self
            .outstanding
            .send(target, query, Awaiting::Refill, now, out);
        self.successors.refill_sent(target);
        if !sent {
            self.successors.refill_failed(target, now);
        }
    }

    /// The answer to a `QUERY` this peer sent to refill or check its list.
    pub(super) fn on_refill_answer(
        &mut self,
        asked: PeerId,
        answer: Result<Reply, NoAnswer>,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        match answer {
            Ok(Reply::Neighbours {
                predecessor,
                successors,
            }) => {
                self.acquaintances.found(asked);
                self.successors
                    .neighbours_answered(asked, predecessor, &successors, now)
            }
            // A successor that answers that it is leaving is taken at its
            // word, as if its `LEAVE` had come: it said so itself.
            Ok(Reply::Leaving { successors }) if self.successors.position(asked).is_some() => {
                self.successors.refill_failed(asked, now);
                self.depart(asked, &successors, now, out);
            }
            _ => self.successors.refill_failed(asked, now),
        }
    }

    /// `QUERY`: the nearest predecessor and the successors of this peer; a
    /// leaving peer gives the successors that take its place; a peer with
    /// no successors to give (it is joining, or every one failed) answers
    /// `ERROR not-ready`.
    pub(super) fn answer_query(
        &mut self,
        from: PeerId,
        connection: ConnectionId,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let successors = match self.phase {
            Phase::Member => self.list_for(from),
            Phase::Joining(_) | Phase::Done => Vec::new(),
        };
        let answer = if successors.is_empty() {
            refusal(ErrorReason::NotReady)
        } else if self.leaving.is_some() {
            Reply::Leaving { successors }
        } else {
            Reply::Neighbours {
                predecessor: self.predecessors.nearest_first(now),
                successors,
            }
        };
        if self.phase == Phase::Member && from != self.id() {
            self.acquaintances.heard(from);
        }
        reply(out, connection, answer);
    }
}
