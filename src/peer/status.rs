//! What the peer says about itself when asked: its [`View`] of the ring and
//! the ring's files it holds. `p2p ring` asks every peer with `STATUS` and
//! `HOLDINGS` to draw and check the whole ring; `Status` typed at the peer
//! prints the same view.
//!
//! Both questions only read the state, so anyone may ask them, and the
//! answers are bounded: a view names at most [`MAX_SUCCESSORS`] peers of
//! each kind, and the files come a page of [`HELD_PAGE`] at a time.
//!
//! [`MAX_SUCCESSORS`]: crate::ring::MAX_SUCCESSORS

use std::time::Instant;

use super::{Action, ConnectionId, Held, Peer, Phase, reply};
use crate::message::{FilePolicy, HELD_PAGE, Page, Reply, Standing, View};
use crate::output::Line;
use crate::ring::{FileName, MAX_SUCCESSORS, is_in_arc};

impl Peer {
    /// This peer's view of the ring now.
    pub fn view(&self, now: Instant) -> View {
        let standing = match self.phase {
            Phase::Joining(_) => Standing::Joining,
            Phase::Done => Standing::Leaving,
            Phase::Member if self.rejoin.is_some() => Standing::Joining,
            Phase::Member if self.leaving.is_some() || self.placement.is_handing_over() => {
                Standing::Leaving
            }
            Phase::Member => Standing::Member,
        };
        let successors = match self.phase {
            Phase::Member => self.successors.peers(),
            Phase::Joining(_) | Phase::Done => Vec::new(),
        };
        // A predecessor's position is its own list's (it may keep more
        // successors than this peer), so every position a ping can name is
        // kept, and the unknown ones at the end are dropped.
        let mut predecessors = vec![None; MAX_SUCCESSORS];
        for (position, peer) in self.predecessors.heard(now) {
            if let Some(slot) = predecessors.get_mut(position.index()) {
                *slot = Some(peer);
            }
        }
        while predecessors.last() == Some(&None) {
            predecessors.pop();
        }
        View {
            peer: self.id(),
            standing,
            ping_interval: self.config.ping_interval,
            successor_count: self.config.successor_count,
            copies: self.config.replicas,
            files: if self.config.looks_after_files() {
                FilePolicy::Follow
            } else {
                FilePolicy::Stay
            },
            successors,
            predecessors,
        }
    }

    /// Answers `STATUS` with the view.
    pub(super) fn answer_status(
        &self,
        connection: ConnectionId,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        reply(out, connection, Reply::View(self.view(now)));
    }

    /// Answers `HOLDINGS`: the next page of the files held as `held`.
    pub(super) fn answer_holdings(
        &self,
        held: Held,
        after: Option<FileName>,
        connection: ConnectionId,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let mut files: Vec<FileName> = self
            .holdings(held, now)
            .into_iter()
            .filter(|&file| after.is_none_or(|after| file > after))
            .collect();
        let page = if files.len() > HELD_PAGE {
            files.truncate(HELD_PAGE);
            Page::More
        } else {
            Page::End
        };
        reply(out, connection, Reply::Held { page, files });
    }

    /// Prints the view and the files, for `Status` typed at the peer.
    pub(super) fn print_status(&self, now: Instant, out: &mut Vec<Action>) {
        out.push(Action::Print(Line::Status {
            view: self.view(now),
            stored: self.holdings(Held::Stored, now),
            replicas: self.holdings(Held::Replica, now),
        }));
    }

    /// The ring's files held as `held`, in ascending order, each once: what
    /// `HOLDINGS` pages through.
    ///
    /// A `NNNN.pdf` counts only if this peer is responsible for it (its
    /// hash lies in the peer's arc) or it came through the ring: one the
    /// user put here to `Store` is not the ring's yet. A peer that knows no
    /// predecessor cannot tell its arc, and counts every one.
    pub fn holdings(&self, held: Held, now: Instant) -> Vec<FileName> {
        let predecessor = self.predecessors.first(now);
        let me = self.id();
        let the_rings = |file: FileName| match (held, predecessor) {
            (Held::Replica, _) | (Held::Stored, None) => true,
            (Held::Stored, Some(predecessor)) => {
                is_in_arc(predecessor.0, file.hash(), me.0)
                    || (self.config.looks_after_files() && self.placement.is_ring_file(file))
            }
        };
        let mut files: Vec<FileName> = self
            .files
            .held()
            .into_iter()
            .filter(|&(file, kept)| kept == held && the_rings(file))
            .map(|(file, _)| file)
            .collect();
        files.sort_unstable();
        files.dedup();
        files
    }
}
