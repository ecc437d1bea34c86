//! This peer's own joins: a newcomer asking the ring for a place, and a
//! member that finds itself dropped from the ring and asks again.
//!
//! A peer that was frozen long enough to be declared dead comes back to a
//! ring that has closed round it. It notices because nobody pings it any
//! more, and joins again through its first successor. It stays a member
//! meanwhile, with its list, pinging and placing newcomers: if the whole
//! ring stalled at once (a machine that hung), every peer rejoins at once,
//! and each must still be able to tell the others that they were never
//! dropped (`REFUSE duplicate`, from the peer whose first successor it is).
//!
//! A `JOIN` whose connection failed may not have arrived, so it is sent
//! again a moment later, until the attempt gives up. That is safe: a peer
//! that placed this one answers a second `JOIN` with the same `WELCOME`
//! (see `membership.rs`).

use std::time::{Duration, Instant};

use super::outstanding::Awaiting;
use super::successors::merged;
use super::{Action, NoAnswer, Peer, Phase, warn};
use crate::message::{Ordinal, RefuseReason, Reply, Request};
use crate::output::{Kind, Line};
use crate::ring::PeerId;

/// How long a newcomer waits to be placed in the ring before giving up.
pub const JOIN_TIMEOUT: Duration = Duration::from_secs(5);

/// How soon a `JOIN` whose connection failed is sent again.
pub const JOIN_RETRY: Duration = Duration::from_millis(250);

/// How long a newcomer whose `JOIN` was delivered waits for its welcome
/// before sending the `JOIN` again. A welcome takes a few round trips, so a
/// second means the request was lost further on.
pub const JOIN_RESEND: Duration = Duration::from_secs(1);

/// How long a peer that is joining again waits between attempts.
pub const REJOIN_RETRY: Duration = Duration::from_secs(1);

/// One attempt at being placed: a `JOIN` sent through `via`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    via: PeerId,
    give_up_at: Instant,
    /// When to send the `JOIN` (again), if it is to be sent.
    send_at: Option<Instant>,
}

/// What this peer's own join has due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Due {
    /// Send the attempt's `JOIN`.
    Send,
    /// Nobody placed us in time.
    GiveUp,
    /// Nobody has pinged us for the predecessor memory: the ring has
    /// dropped us.
    CutOff,
}

impl Peer {
    /// The join attempt under way: a newcomer's, or a member's rejoin.
    fn attempt_mut(&mut self) -> Option<&mut Attempt> {
        match &mut self.phase {
            Phase::Joining(attempt) => Some(attempt),
            Phase::Member => self.rejoin.as_mut(),
            Phase::Done => None,
        }
    }

    /// What this peer's own join has due next, and when.
    pub(super) fn joining_due(&self) -> Option<(Instant, Due)> {
        let attempt = match &self.phase {
            Phase::Joining(attempt) => Some(attempt),
            Phase::Member => self.rejoin.as_ref(),
            Phase::Done => return None,
        };
        match attempt {
            Some(attempt) => [
                attempt.send_at.map(|at| (at, Due::Send)),
                Some((attempt.give_up_at, Due::GiveUp)),
            ]
            .into_iter()
            .flatten()
            .min_by_key(|&(at, _)| at),
            None => self.cut_off_at().map(|at| (at, Due::CutOff)),
        }
    }

    pub(super) fn perform_joining_due(&mut self, due: Due, now: Instant, out: &mut Vec<Action>) {
        match due {
            Due::Send => {
                if let Some(attempt) = self.attempt_mut() {
                    attempt.send_at = None;
                    let via = attempt.via;
                    self.send_join(via, now, out);
                }
            }
            Due::GiveUp => {
                let Some(via) = self.attempt_mut().map(|attempt| attempt.via) else {
                    return;
                };
                let why = format!(
                    "no answer to the join request sent to peer {via} within {} s",
                    JOIN_TIMEOUT.as_secs()
                );
                self.fail_attempt(&why, now, out);
            }
            Due::CutOff => self.rejoin(now, out),
        }
    }

    /// Starts a newcomer's join through `known`.
    pub(super) fn start_joining(&mut self, known: PeerId, now: Instant, out: &mut Vec<Action>) {
        self.phase = Phase::Joining(Attempt {
            via: known,
            give_up_at: now + JOIN_TIMEOUT,
            send_at: Some(now),
        });
        self.perform_joining_due(Due::Send, now, out);
    }

    fn send_join(&mut self, via: PeerId, now: Instant, out: &mut Vec<Action>) {
        let me = self.id();
        let join = Request::Join {
            newcomer: me,
            sender: me,
            hops: 0,
        };
        if !self.outstanding.send(via, join, Awaiting::Join, now, out) {
            self.fail_attempt("too many requests are under way", now, out);
        }
    }

    /// Our own `JOIN` was answered. Only its delivery matters here; the
    /// placement itself comes as `WELCOME` or `REFUSE`.
    pub(super) fn on_join_answer(
        &mut self,
        via: PeerId,
        answer: Result<Reply, NoAnswer>,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let Some(attempt) = self.attempt_mut().filter(|attempt| attempt.via == via) else {
            return;
        };
        match answer {
            // Delivered. If no welcome comes soon, the request was lost on
            // its way round the ring (a peer passed it to a successor that
            // had just died), and it is sent again.
            Ok(Reply::Ok) if now + JOIN_RESEND < attempt.give_up_at => {
                attempt.send_at = Some(now + JOIN_RESEND);
            }
            Ok(Reply::Ok) => {}
            // The connection failed, so the request may not have arrived:
            // ask again in a moment, while the attempt lasts.
            Err(NoAnswer::Silent) if now + JOIN_RETRY < attempt.give_up_at => {
                attempt.send_at = Some(now + JOIN_RETRY);
            }
            _ => {
                let why = format!(
                    "peer {via} does not answer, so peer {} cannot join through it; \
                     is peer {via} running, with the same --base-port?",
                    self.id()
                );
                self.fail_attempt(&why, now, out);
            }
        }
    }

    /// A newcomer that cannot join says why and exits; a member that was
    /// rejoining keeps trying, through each of its successors in turn, a
    /// second apart, as it has nowhere else to go.
    fn fail_attempt(&mut self, why: &str, now: Instant, out: &mut Vec<Action>) {
        warn(out, Kind::Note, why);
        match &self.phase {
            Phase::Joining(_) => self.exit(1, out),
            Phase::Member => {
                let successors = self.successors.peers();
                let Some(rejoin) = &mut self.rejoin else {
                    return;
                };
                let next = successors
                    .iter()
                    .position(|&peer| peer == rejoin.via)
                    .map_or(0, |at| (at + 1) % successors.len());
                match successors.get(next) {
                    Some(&via) => {
                        *rejoin = Attempt {
                            via,
                            give_up_at: now + REJOIN_RETRY + JOIN_TIMEOUT,
                            send_at: Some(now + REJOIN_RETRY),
                        }
                    }
                    None => self.rejoin = None,
                }
            }
            Phase::Done => {}
        }
    }

    /// `WELCOME`: we are placed, with these successors.
    pub(super) fn on_welcome(
        &mut self,
        successors: &[PeerId],
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let me = self.id();
        let list = merged(&[], successors, me, self.config.successor_count, &[]);
        let joining = matches!(self.phase, Phase::Joining(_)) || self.rejoin.is_some();
        if !joining || list.is_empty() {
            // A repeat of a welcome already taken (our `JOIN` was sent
            // twice) says nothing new either.
            if !(self.phase == Phase::Member && self.successors.peers() == list) {
                warn(
                    out,
                    Kind::Unexpected,
                    format!(
                        "ignored a welcome to the ring (successors {successors:?}): this peer \
                         is not joining"
                    ),
                );
            }
            return;
        }
        if self.rejoin.is_some() {
            // A member placed again keeps what it knows as well.
            self.successors.welcome_back(&list, now);
        } else {
            self.successors.welcome(&list, now);
        }
        out.push(Action::Print(Line::JoinAccepted));
        for (index, peer) in self.successors.peers().into_iter().enumerate() {
            if let Some(position) = Ordinal::from_index(index) {
                out.push(Action::Print(Line::Successor { position, peer }));
            }
        }
        self.phase = Phase::Member;
        self.rejoin = None;
    }

    /// `REFUSE`: we cannot be placed.
    pub(super) fn on_refuse(&mut self, reason: RefuseReason, now: Instant, out: &mut Vec<Action>) {
        let me = self.id();
        let newcomer = matches!(self.phase, Phase::Joining(_));
        if !newcomer && self.rejoin.is_none() {
            warn(
                out,
                Kind::Unexpected,
                format!("ignored a refusal ({reason}): this peer is not joining"),
            );
            return;
        }
        match reason {
            RefuseReason::Duplicate if newcomer => {
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
            // We thought we had been dropped, but the ring still holds us.
            RefuseReason::Duplicate => {
                warn(
                    out,
                    Kind::Note,
                    format!("the ring still holds peer {me}; carrying on as before"),
                );
                self.rejoin = None;
            }
            RefuseReason::NoPlace => {
                // The ring is changing where we belong: ask again in a
                // moment, while the attempt lasts.
                if let Some(attempt) = self
                    .attempt_mut()
                    .filter(|attempt| now + JOIN_RETRY < attempt.give_up_at)
                {
                    attempt.send_at = Some(now + JOIN_RETRY);
                    return;
                }
                let why = format!(
                    "peer {me} cannot join: the request found no place in the ring, which is \
                     changing; try again"
                );
                self.fail_attempt(&why, now, out);
            }
        }
    }

    /// When this member would count as dropped from the ring: it was pinged
    /// before, and nobody has pinged it for the predecessor memory. A peer
    /// whose list is held after a failure finishes the repair first, and a
    /// leaving peer does not care.
    fn cut_off_at(&self) -> Option<Instant> {
        let settled = !self.successors.is_empty() && !self.successors.is_held();
        if self.phase != Phase::Member || !settled || self.leaving.is_some() {
            return None;
        }
        self.predecessors.all_forgotten_at()
    }

    fn rejoin(&mut self, now: Instant, out: &mut Vec<Action>) {
        let Some(via) = self.successors.first() else {
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
        self.rejoin = Some(Attempt {
            via,
            give_up_at: now + JOIN_TIMEOUT,
            send_at: None,
        });
        self.send_join(via, now, out);
    }
}
