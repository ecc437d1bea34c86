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

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use super::{Action, ConnectionId, Direction, Peer, Phase, reply, unexpected, warn};
use crate::message::{ErrorReason, Purpose, Reply};
use crate::output::{HandoverReason, Kind, Line};
use crate::ring::{FileName, PeerId, is_in_arc};

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

/// How a file is kept in a peer's directory, when the peer looks after the
/// ring's files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Held {
    /// `NNNN.pdf`: the course's stored file, at the responsible peer.
    Stored,
    /// `replica_NNNN.pdf`: a copy kept for the responsible peer before it.
    Replica,
}

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

#[derive(Clone, Debug)]
struct QuitHandover {
    to: PeerId,
    /// Each file with the purpose it is offered for: its own files as
    /// handovers, its replicas as replicas.
    queue: Vec<(FileName, Purpose)>,
    /// When the peer stops waiting and leaves anyway.
    give_up_at: Instant,
    /// The files whose first handover failed and that were sent again: a
    /// second failure is left at that, since `Quit` must end.
    retried: BTreeSet<FileName>,
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

    /// Whether every file of a `Quit` has been handed over (or given up).
    fn handovers_done(&self) -> bool {
        self.leaving
            .as_ref()
            .is_some_and(|leaving| leaving.queue.is_empty())
            && !self.under_way.values().any(|m| m.belongs_to_quit())
    }
}

/// One thing the round decided to do about a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Offer {
        file: FileName,
        to: PeerId,
        purpose: Purpose,
        reason: HandoverReason,
    },
    Relabel {
        file: FileName,
        to: Held,
    },
    Discard {
        file: FileName,
        held: Held,
    },
    /// The file lies in this peer's arc: it is the ring's from now on.
    Adopt {
        file: FileName,
    },
}

/// What a peer sees of the ring around it, for [`plan`].
#[derive(Clone, Debug)]
pub struct Neighbourhood {
    pub me: PeerId,
    pub replicas: usize,
    /// The predecessors that ping this peer, nearest first, without gaps.
    pub predecessors: Vec<PeerId>,
    pub successors: Vec<PeerId>,
}

impl Neighbourhood {
    /// Which peer is responsible for `file`, counted back from this peer:
    /// `Some(0)` is this peer, `Some(j)` its j-th predecessor; `None` when
    /// the file lies beyond every predecessor it knows.
    pub fn owner_index(&self, file: FileName) -> Option<usize> {
        let hash = file.hash();
        let mut upper = self.me;
        for (j, &lower) in self.predecessors.iter().enumerate() {
            if is_in_arc(lower.0, hash, upper.0) {
                return Some(j);
            }
            upper = lower;
        }
        None
    }

    /// The peers that should hold a replica of the files this peer is
    /// responsible for.
    fn replica_holders(&self) -> impl Iterator<Item = PeerId> + '_ {
        let me = self.me;
        self.successors
            .iter()
            .copied()
            .filter(move |&peer| peer != me)
            .take(self.replicas - 1)
    }

    /// The peers whose confirmations still mean something.
    fn contains(&self, peer: PeerId) -> bool {
        self.predecessors.contains(&peer) || self.replica_holders().any(|p| p == peer)
    }
}

/// Decides what to do about the files of a directory, from what the peer
/// sees of the ring: the placement rule of the module documentation, as a
/// pure function. `held` lists each copy in the directory; `ring_files`
/// says which `NNNN.pdf` came through the ring; `settled(peer, file)` says
/// whether `peer` has confirmed it holds `file`.
pub fn plan(
    around: &Neighbourhood,
    held: &[(FileName, Held)],
    ring_files: &BTreeSet<FileName>,
    settled: impl Fn(PeerId, FileName) -> bool,
) -> Vec<Step> {
    let mut steps = Vec::new();
    if around.predecessors.is_empty() {
        // Without a predecessor the peer does not know its arc, so it
        // cannot tell whose any file is: it leaves everything as it is.
        return steps;
    }
    let mut files: BTreeMap<FileName, (bool, bool)> = BTreeMap::new();
    for &(file, how) in held {
        let entry = files.entry(file).or_default();
        match how {
            Held::Stored => entry.0 = true,
            Held::Replica => entry.1 = true,
        }
    }
    for (&file, &(stored, replica)) in &files {
        let owner = around.owner_index(file);
        let ours = ring_files.contains(&file) || owner == Some(0);
        if !replica && !ours {
            continue; // The user's own file, to be stored from here.
        }
        let ring_stored = stored && ours;
        match owner {
            Some(0) => {
                if !ring_files.contains(&file) {
                    steps.push(Step::Adopt { file });
                }
                if replica && stored {
                    steps.push(Step::Discard {
                        file,
                        held: Held::Replica,
                    });
                } else if replica {
                    steps.push(Step::Relabel {
                        file,
                        to: Held::Stored,
                    });
                }
                for holder in around.replica_holders() {
                    if !settled(holder, file) {
                        steps.push(Step::Offer {
                            file,
                            to: holder,
                            purpose: Purpose::Replica,
                            reason: HandoverReason::Responsible,
                        });
                    }
                }
            }
            Some(j) => {
                let responsible = around.predecessors[j - 1];
                if !settled(responsible, file) {
                    steps.push(Step::Offer {
                        file,
                        to: responsible,
                        purpose: Purpose::Handover,
                        reason: HandoverReason::Responsible,
                    });
                } else if j < around.replicas {
                    if ring_stored && replica {
                        steps.push(Step::Discard {
                            file,
                            held: Held::Stored,
                        });
                    } else if ring_stored {
                        steps.push(Step::Relabel {
                            file,
                            to: Held::Replica,
                        });
                    }
                } else {
                    discard_ring_copies(file, ring_stored, replica, &mut steps);
                }
            }
            None => {
                let farthest = around.predecessors[around.predecessors.len() - 1];
                if !settled(farthest, file) {
                    steps.push(Step::Offer {
                        file,
                        to: farthest,
                        purpose: Purpose::Handover,
                        reason: HandoverReason::Nearer,
                    });
                } else if around.predecessors.len() >= around.replicas {
                    // The responsible peer is at least as far back as the
                    // farthest known predecessor, so this peer is not one
                    // of its K - 1 successors.
                    discard_ring_copies(file, ring_stored, replica, &mut steps);
                }
            }
        }
    }
    steps
}

fn discard_ring_copies(file: FileName, stored: bool, replica: bool, steps: &mut Vec<Step>) {
    if stored {
        steps.push(Step::Discard {
            file,
            held: Held::Stored,
        });
    }
    if replica {
        steps.push(Step::Discard {
            file,
            held: Held::Replica,
        });
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

    /// One placement round: see the module documentation. While `Quit`
    /// waits for its handovers, the due work is the end of that wait.
    pub(super) fn placement_round(&mut self, now: Instant, out: &mut Vec<Action>) {
        if self.placement.leaving.is_some() {
            warn(
                out,
                Kind::Transfer,
                format!(
                    "left without waiting longer for files to reach the successor: {} s have \
                     passed",
                    QUIT_HANDOVER_LIMIT.as_secs()
                ),
            );
            self.placement.leaving = None;
            self.send_leave(now, out);
            return;
        }
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

    /// `Quit` was typed at a peer that looks after files: the files it is
    /// responsible for go to its first successor before it tells its
    /// predecessors that it leaves, while the successor still hears from it
    /// as its predecessor. So do its replicas: one of them may be a file
    /// whose responsible peer has just gone, of which it holds the last copy
    /// but one (two neighbours that quit one after the other). The
    /// successor sorts them out by the placement rule. Returns whether any
    /// file is on its way.
    pub(super) fn hand_over_before_leaving(&mut self, now: Instant, out: &mut Vec<Action>) -> bool {
        if !self.placement.active {
            return false;
        }
        let Some(to) = self.successors.first() else {
            return false;
        };
        let around = self.neighbourhood(now);
        let mut offers: BTreeMap<FileName, Purpose> = BTreeMap::new();
        for (file, how) in self.files.held() {
            match how {
                Held::Stored
                    if around.owner_index(file) == Some(0)
                        || self.placement.ring_files.contains(&file) =>
                {
                    offers.insert(file, Purpose::Handover);
                }
                Held::Replica => {
                    offers.entry(file).or_insert(Purpose::Replica);
                }
                Held::Stored => {} // The user's own file.
            }
        }
        if offers.is_empty() {
            return false;
        }
        self.placement.leaving = Some(QuitHandover {
            to,
            queue: offers.into_iter().collect(),
            give_up_at: now + QUIT_HANDOVER_LIMIT,
            retried: BTreeSet::new(),
        });
        self.send_leaving_handovers(out);
        true
    }

    fn send_leaving_handovers(&mut self, out: &mut Vec<Action>) {
        let Some(leaving) = &mut self.placement.leaving else {
            return;
        };
        let to = leaving.to;
        while self.placement.under_way.len() < MAX_PLACEMENTS_UNDER_WAY {
            let Some((file, purpose)) = leaving.queue.pop() else {
                break;
            };
            let movement = match purpose {
                Purpose::Replica => Movement::ReplicaOnLeaving,
                _ => Movement::Handover(HandoverReason::Leaving),
            };
            self.placement.under_way.insert((to, file), movement);
            out.push(Action::SendFile { to, file, purpose });
        }
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
        let refusal = if !self.placement.active {
            Some("this peer does not keep copies for the ring (no --replicas or --handover)")
        } else if self.leaving.is_some() || self.placement.is_handing_over() {
            Some("this peer is leaving the ring")
        } else if !neighbour {
            Some("it is not a neighbour of this peer")
        } else {
            None
        };
        if let Some(why) = refusal {
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
            reply(
                out,
                connection,
                Reply::Error {
                    reason: ErrorReason::Busy,
                },
            );
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
        if direction == Direction::Received {
            self.placement.arriving.remove(&file);
        }
        match direction {
            Direction::Sent => {
                let movement = self.placement.under_way.remove(&(peer, file));
                match outcome {
                    Ok(transferred) => {
                        self.placement.confirmed.insert((peer, file));
                        if transferred == super::Transferred::Whole {
                            let line = match movement {
                                Some(Movement::Handover(reason)) => Line::FileHandedOver {
                                    file,
                                    to: peer,
                                    reason,
                                },
                                _ => Line::ReplicaSent { file, to: peer },
                            };
                            out.push(Action::Print(line));
                        }
                        // More may be placed now that this one is done.
                        if self.placement.leaving.is_none() {
                            self.placement.next_round = now;
                        }
                    }
                    Err(reason) => {
                        warn(
                            out,
                            Kind::Transfer,
                            format!("could not place file {file} at peer {peer}: {reason}"),
                        );
                        if let Some(leaving) = &mut self.placement.leaving
                            && leaving.retried.insert(file)
                        {
                            leaving.queue.push((file, purpose));
                        }
                    }
                }
                if self.placement.leaving.is_some() {
                    self.send_leaving_handovers(out);
                    if self.placement.handovers_done() {
                        self.placement.leaving = None;
                        self.send_leave(now, out);
                    }
                }
            }
            Direction::Received => match outcome {
                Ok(_) => {
                    self.placement.ring_files.insert(file);
                    let line = if purpose == Purpose::Replica {
                        Line::ReplicaReceived { file, from: peer }
                    } else {
                        // A leaving predecessor hands over its own arc, which
                        // is this peer's once it has gone.
                        let around = self.neighbourhood(now);
                        let owner = around.owner_index(file);
                        let leavers =
                            owner == Some(1) && around.predecessors.first() == Some(&peer);
                        let reason = if owner == Some(0) || leavers {
                            HandoverReason::Responsible
                        } else {
                            HandoverReason::Nearer
                        };
                        Line::FileTakenOver {
                            file,
                            from: peer,
                            reason,
                        }
                    };
                    out.push(Action::Print(line));
                }
                Err(reason) => warn(
                    out,
                    Kind::Transfer,
                    format!("receiving file {file} from peer {peer} for the ring failed: {reason}"),
                ),
            },
        }
    }

    /// A file stored through the ring (typed here or fetched) belongs to it.
    pub(super) fn note_ring_file(&mut self, file: FileName) {
        if self.placement.active {
            self.placement.ring_files.insert(file);
        }
    }
}
