//! `Quit` at a peer that looks after files: its files and replicas go to
//! its first successor before its `LEAVE` (see the parent module), within
//! [`QUIT_HANDOVER_LIMIT`].

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use super::{Held, MAX_PLACEMENTS_UNDER_WAY, Movement, QUIT_HANDOVER_LIMIT};
use crate::message::Purpose;
use crate::output::{HandoverReason, Kind};
use crate::peer::departure::say_handing_over;
use crate::peer::{Action, Peer, warn};
use crate::ring::{FileName, PeerId};

#[derive(Clone, Debug)]
pub(super) struct QuitHandover {
    pub(super) to: PeerId,
    /// Each file with the purpose it is offered for: its own files as
    /// handovers, its replicas as replicas.
    pub(super) queue: Vec<(FileName, Purpose)>,
    /// When the peer stops waiting and leaves anyway.
    pub(super) give_up_at: Instant,
    /// The files whose first handover failed and that were sent again: a
    /// second failure is left at that, since `Quit` must end.
    pub(super) retried: BTreeSet<FileName>,
}

impl super::Placement {
    /// Whether every file of a `Quit` has been handed over (or given up).
    fn handovers_done(&self) -> bool {
        self.leaving
            .as_ref()
            .is_some_and(|leaving| leaving.queue.is_empty())
            && !self.under_way.values().any(|m| m.belongs_to_quit())
    }
}

impl Peer {
    /// `Quit` was typed at a peer that looks after files: the files it is
    /// responsible for go to its first successor before it tells its
    /// predecessors that it leaves, while the successor still hears from it
    /// as its predecessor. So do its replicas: one of them may be a file
    /// whose responsible peer has just gone, of which it holds the last copy
    /// but one (two neighbours that quit one after the other). The
    /// successor sorts them out by the placement rule. Returns whether any
    /// file is on its way.
    pub(in crate::peer) fn hand_over_before_leaving(
        &mut self,
        now: Instant,
        out: &mut Vec<Action>,
    ) -> bool {
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
        let replicas = offers.values().filter(|&&p| p == Purpose::Replica).count();
        say_handing_over(to, offers.len() - replicas, replicas, out);
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

    /// One of the offers of a `Quit` ended: a failed one is made once more,
    /// the next ones go out, and once all have ended the `LEAVE` follows.
    pub(super) fn leaving_handover_ended(
        &mut self,
        file: FileName,
        purpose: Purpose,
        delivered: bool,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        if let Some(leaving) = &mut self.placement.leaving
            && !delivered
            && leaving.retried.insert(file)
        {
            leaving.queue.push((file, purpose));
        }
        self.send_leaving_handovers(out);
        if self.placement.handovers_done() {
            self.placement.leaving = None;
            self.send_leave(now, out);
        }
    }

    /// `Quit` has waited [`QUIT_HANDOVER_LIMIT`] for its files: it leaves
    /// anyway, since it must end.
    pub(super) fn stop_waiting_for_handovers(&mut self, now: Instant, out: &mut Vec<Action>) {
        warn(
            out,
            Kind::Transfer,
            format!(
                "stopped waiting for files to reach the successor after {} s; leaving anyway",
                QUIT_HANDOVER_LIMIT.as_secs()
            ),
        );
        self.placement.leaving = None;
        self.send_leave(now, out);
    }
}
