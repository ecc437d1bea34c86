//! Files that follow the ring: handover on join and `Quit`, and replicas.
//!
//! In the course a stored file stays at the peer that accepted it. With
//! `--handover` or `--replicas K` (K of 2 or more) a peer *looks after* the
//! ring's files instead: the file with hash `h` belongs at the responsible
//! peer (the first at or after `h`) and, as replicas, at its next K - 1
//! successors, and every peer keeps its own directory in line with that.
//!
//! The rule is Chord's DHash, cut down to what a peer can see from its own
//! place. A peer knows its arc from its first predecessor, and the arcs of
//! the predecessors that ping it from their order. So for each file it
//! holds it can tell who should hold it:
//!
//! - the file is in its own arc: it is responsible; it keeps the file as
//!   `NNNN.pdf` and makes sure its first K - 1 successors hold a copy;
//! - the file is in the arc of its j-th predecessor: that peer is
//!   responsible, and is made sure to hold it (a newcomer gets its files
//!   this way); this peer keeps a replica if it is one of the K - 1
//!   successors of that peer (j < K), and otherwise removes its copy once
//!   the other has confirmed it holds the file;
//! - the file lies beyond every predecessor it knows: it goes to the
//!   farthest of them, which is nearer the file's place, and so on.
//!
//! "Makes sure" is an `OFFER`: answered `HAVE` when the other peer holds
//! the file already, or `READY`, and then the file moves. A copy is removed
//! only after such a confirmation, so a file is never in nobody's hands.
//! The check runs every half interval, and is cheap when nothing changed:
//! confirmations are remembered until the peer that gave one leaves this
//! peer's neighbourhood, and forgotten every [`RECONFIRM_INTERVALS`]
//! intervals in case a neighbour lost its directory without leaving the
//! ring.
//!
//! `Quit` is the one movement that does not wait for a round: the leaving
//! peer hands its files and its replicas to its first successor, and only
//! then sends its `LEAVE`, so that the successor still hears it as its
//! predecessor, and so a neighbour, while the files arrive.
//!
//! A file the user put in the directory to `Store` from here is the user's,
//! not the ring's: a `NNNN.pdf` outside the peer's arc is moved only if it
//! came through the ring.

mod leaving;
mod rule;

use leaving::QuitHandover;

pub use rule::{Held, Neighbourhood, Step, plan};

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use super::{Action, ConnectionId, Direction, Peer, Phase, refusal, reply, unexpected, warn};
use crate::message::{ErrorReason, Purpose, Reply};
use crate::output::{HandoverReason, Kind, Line};
use crate::ring::{FileName, PeerId};

/// How many files a peer offers to its neighbours at once for placement.
/// The rest wait for the next round; the node's own transfer limit is
/// higher, so requests typed by users still get through.
pub const MAX_PLACEMENTS_UNDER_WAY: usize = 4;

/// After this many ping intervals every confirmation is forgotten and
/// asked for again, so that a neighbour that lost its files without leaving
/// the ring (a restart with an empty directory) gets them back. Counted in
/// time, not in rounds: a round also runs as soon as a placement ends, and
/// a busy peer would otherwise forget its confirmations faster than it can
/// gather them.
pub const RECONFIRM_INTERVALS: u32 = 30;

/// The longest a leaving peer waits for its files to reach its successor
/// before it exits anyway: `Quit` must end.
pub const QUIT_HANDOVER_LIMIT: Duration = Duration::from_secs(20);

/// What one file movement is for, so that its end can be reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Movement {
    Replica,
    Handover(HandoverReason),
    /// A replica a leaving peer passes to its successor.
    ReplicaOnLeaving,
}

impl Movement {
    /// Whether `Quit` waits for this movement.
    fn belongs_to_quit(self) -> bool {
        matches!(
            self,
            Movement::Handover(HandoverReason::Leaving) | Movement::ReplicaOnLeaving
        )
    }
}

/// The placement state of one peer.
#[derive(Clone, Debug)]
pub struct Placement {
    /// Copies wanted of each file (`--replicas`).
    replicas: usize,
    /// Whether this peer looks after files at all.
    active: bool,
    /// Files that reached this peer through the ring (or lie in its arc),
    /// which it may therefore move, rename and remove.
    ring_files: BTreeSet<FileName>,
    /// Peers that confirmed they hold a file.
    confirmed: BTreeSet<(PeerId, FileName)>,
    /// The files this peer was responsible for at its last round. A file
    /// that becomes its own again (a newcomer before it took the file's arc
    /// and left) is confirmed afresh: a holder may have removed its copy
    /// meanwhile.
    responsible: BTreeSet<FileName>,
    /// Offers sent and not finished yet.
    under_way: BTreeMap<(PeerId, FileName), Movement>,
    /// Files on their way here for the ring. A second offer of one of them
    /// (two holders offering a newcomer its file at once) is answered
    /// `busy`, and asked again next round, when `HAVE` settles it.
    arriving: BTreeSet<FileName>,
    /// When the next round is due.
    next_round: Instant,
    /// When every confirmation is next forgotten.
    reconfirm_at: Instant,
    /// Set once `Quit` is typed: the files still to hand to the successor.
    leaving: Option<QuitHandover>,
}

impl Placement {
    pub fn new(replicas: usize, active: bool, first_round: Instant) -> Placement {
        Placement {
            replicas: replicas.max(1),
            active,
            ring_files: BTreeSet::new(),
            confirmed: BTreeSet::new(),
            responsible: BTreeSet::new(),
            under_way: BTreeMap::new(),
            arriving: BTreeSet::new(),
            next_round: first_round,
            reconfirm_at: first_round,
            leaving: None,
        }
    }

    /// When placement next has work due: a round, or, while `Quit` waits
    /// for its handovers, the moment it stops waiting.
    pub fn next_due(&self) -> Option<Instant> {
        match &self.leaving {
            Some(leaving) => Some(leaving.give_up_at),
            None => self.active.then_some(self.next_round),
        }
    }

    /// Whether `Quit` is waiting for this peer's files to reach its
    /// successor.
    pub fn is_handing_over(&self) -> bool {
        self.leaving.is_some()
    }

    /// Whether `file`'s `NNNN.pdf` here came through the ring (and is not
    /// the user's own).
    pub fn is_ring_file(&self, file: FileName) -> bool {
        self.ring_files.contains(&file)
    }
}

impl Peer {
    fn neighbourhood(&self, now: Instant) -> Neighbourhood {
        let mut predecessors = Vec::new();
        for (expected, (position, peer)) in self.predecessors.heard(now).into_iter().enumerate() {
            // Stop at the first gap: an arc is known only from the one
            // before it.
            if position.index() != expected || predecessors.contains(&peer) || peer == self.id() {
                break;
            }
            predecessors.push(peer);
        }
        Neighbourhood {
            me: self.id(),
            replicas: self.placement.replicas,
            predecessors,
            successors: self.successors.peers(),
        }
    }

    fn round_period(&self) -> Duration {
        self.config.ping_interval / 2
    }

    /// What placement has due: a round, or, while `Quit` waits for its
    /// handovers, the end of that wait.
    pub(super) fn perform_placement_due(&mut self, now: Instant, out: &mut Vec<Action>) {
        if self.placement.leaving.is_some() {
            self.stop_waiting_for_handovers(now, out);
        } else {
            self.placement_round(now, out);
        }
    }

    /// One placement round: see the module documentation.
    fn placement_round(&mut self, now: Instant, out: &mut Vec<Action>) {
        self.placement.next_round = now + self.round_period();
        if self.phase != Phase::Member || self.leaving.is_some() {
            return;
        }
        let around = self.neighbourhood(now);
        let held = self.files.held();
        self.forget_stale_confirmations(&around, &held, now);
        let placement = &self.placement;
        let steps = plan(&around, &held, &placement.ring_files, |peer, file| {
            placement.confirmed.contains(&(peer, file))
                || placement.under_way.contains_key(&(peer, file))
        });
        for step in steps {
            match step {
                Step::Offer {
                    file,
                    to,
                    purpose,
                    reason,
                } => {
                    if self.placement.under_way.len() >= MAX_PLACEMENTS_UNDER_WAY {
                        continue;
                    }
                    let movement = match purpose {
                        Purpose::Replica => Movement::Replica,
                        _ => Movement::Handover(reason),
                    };
                    self.placement.under_way.insert((to, file), movement);
                    out.push(Action::SendFile { to, file, purpose });
                }
                // An offer under way counts as settled for the plan, so
                // that it is not made twice; but a copy is renamed or
                // removed only once the offer has ended and been confirmed,
                // and is not touched while a transfer reads it.
                Step::Relabel { file, to } => {
                    if !self.placement.under_way.keys().any(|&(_, f)| f == file) {
                        out.push(Action::Relabel { file, to });
                    }
                }
                Step::Discard { file, held } => {
                    if self.placement.under_way.keys().any(|&(_, f)| f == file) {
                        continue;
                    }
                    out.push(Action::Discard { file, held });
                    if held == Held::Stored {
                        self.placement.ring_files.remove(&file);
                    }
                }
                Step::Adopt { file } => {
                    self.placement.ring_files.insert(file);
                }
            }
        }
    }

    /// Forgets the confirmations that may no longer hold: all of them
    /// every [`RECONFIRM_INTERVALS`], those of peers that left the
    /// neighbourhood, and those of a file that has just become this peer's
    /// own (see [`Placement`]).
    fn forget_stale_confirmations(
        &mut self,
        around: &Neighbourhood,
        held: &[(FileName, Held)],
        now: Instant,
    ) {
        let placement = &mut self.placement;
        if now >= placement.reconfirm_at {
            placement.confirmed.clear();
            placement.reconfirm_at = now + self.config.ping_interval * RECONFIRM_INTERVALS;
        }
        placement
            .confirmed
            .retain(|&(peer, _)| around.contains(peer));
        let responsible: BTreeSet<FileName> = held
            .iter()
            .map(|&(file, _)| file)
            .filter(|&file| around.owner_index(file) == Some(0))
            .collect();
        for file in responsible.difference(&placement.responsible) {
            placement.confirmed.retain(|&(_, f)| f != *file);
        }
        placement.responsible = responsible;
    }

    /// An `OFFER` to hand over or replicate a file: taken from a neighbour
    /// only, by a peer that looks after files; answered `HAVE` when the
    /// file is here already.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn on_placement_offer(
        &mut self,
        file: FileName,
        from: PeerId,
        size: u64,
        purpose: Purpose,
        connection: ConnectionId,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let neighbour = self.successors.position(from).is_some()
            || self
                .predecessors
                .heard(now)
                .iter()
                .any(|&(_, peer)| peer == from);
        let refused_because = if !self.placement.active {
            Some("this peer does not keep copies for the ring (no --replicas or --handover)")
        } else if self.leaving.is_some() || self.placement.is_handing_over() {
            Some("this peer is leaving the ring")
        } else if !neighbour {
            Some("it is not a neighbour of this peer")
        } else {
            None
        };
        if let Some(why) = refused_because {
            warn(
                out,
                Kind::Unexpected,
                format!("refused file {file} offered by peer {from} for the ring: {why}"),
            );
            reply(out, connection, unexpected());
            return;
        }
        // A peer that hands a file over gives its own copy away (before it
        // leaves, or on towards the file's place): what it confirmed before
        // holds no longer, or this peer could remove the copy it is just
        // taking over. A replica's offer takes nothing away.
        if purpose == Purpose::Handover {
            self.placement.confirmed.remove(&(from, file));
        }
        if self.placement.arriving.contains(&file) {
            reply(out, connection, refusal(ErrorReason::Busy));
            return;
        }
        if self.files.has(file) {
            self.placement.ring_files.insert(file);
            reply(out, connection, Reply::Have);
            return;
        }
        self.placement.arriving.insert(file);
        out.push(Action::ReceiveFile {
            from,
            file,
            size,
            purpose,
            connection,
        });
    }

    /// A placement transfer ended: a confirmation, and its line.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn placement_finished(
        &mut self,
        file: FileName,
        peer: PeerId,
        direction: Direction,
        purpose: Purpose,
        outcome: Result<super::Transferred, String>,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        match direction {
            Direction::Sent => self.placement_sent(file, peer, purpose, outcome, now, out),
            Direction::Received => self.placement_received(file, peer, purpose, outcome, now, out),
        }
    }

    /// One of this peer's offers ended: a confirmation and its line, or a
    /// failure, which the next round offers again.
    fn placement_sent(
        &mut self,
        file: FileName,
        to: PeerId,
        purpose: Purpose,
        outcome: Result<super::Transferred, String>,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let movement = self.placement.under_way.remove(&(to, file));
        let delivered = outcome.is_ok();
        match outcome {
            Ok(transferred) => {
                self.placement.confirmed.insert((to, file));
                if transferred == super::Transferred::Whole {
                    let line = match movement {
                        Some(Movement::Handover(reason)) => {
                            Line::FileHandedOver { file, to, reason }
                        }
                        _ => Line::ReplicaSent { file, to },
                    };
                    out.push(Action::Print(line));
                }
                // More may be placed now that this one is done.
                self.placement.next_round = now;
            }
            Err(reason) => warn(
                out,
                Kind::Transfer,
                format!("could not place file {file} at peer {to}: {reason}"),
            ),
        }
        if self.placement.leaving.is_some() {
            self.leaving_handover_ended(file, purpose, delivered, now, out);
        }
    }

    /// A file offered by a neighbour has arrived (or not).
    fn placement_received(
        &mut self,
        file: FileName,
        from: PeerId,
        purpose: Purpose,
        outcome: Result<super::Transferred, String>,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        self.placement.arriving.remove(&file);
        if let Err(reason) = outcome {
            warn(
                out,
                Kind::Transfer,
                format!("receiving file {file} from peer {from} for the ring failed: {reason}"),
            );
            return;
        }
        self.placement.ring_files.insert(file);
        let line = if purpose == Purpose::Replica {
            Line::ReplicaReceived { file, from }
        } else {
            Line::FileTakenOver {
                file,
                from,
                reason: self.taken_over_because(file, from, now),
            }
        };
        out.push(Action::Print(line));
    }

    /// Why a file handed over by `from` is here, as this peer sees it now:
    /// it is responsible for it, or only nearer its place. A leaving first
    /// predecessor hands over its own arc, which is this peer's once it has
    /// gone.
    fn taken_over_because(&self, file: FileName, from: PeerId, now: Instant) -> HandoverReason {
        let around = self.neighbourhood(now);
        let owner = around.owner_index(file);
        let from_leaver = owner == Some(1) && around.predecessors.first() == Some(&from);
        if owner == Some(0) || from_leaver {
            HandoverReason::Responsible
        } else {
            HandoverReason::Nearer
        }
    }

    /// A file stored through the ring (typed here or fetched) belongs to it.
    pub(super) fn note_ring_file(&mut self, file: FileName) {
        if self.placement.active {
            self.placement.ring_files.insert(file);
        }
    }
}
