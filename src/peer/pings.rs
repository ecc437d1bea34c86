//! The peer's side of its successor list: answering pings, the rounds and
//! probes the list asks for, declaring a silent successor dead, and
//! announcing the list when it changes. (Refilling and checking the list
//! is in `stabilize.rs`.)

use std::net::SocketAddr;
use std::time::Instant;

use super::departure::Departure;
use super::successors::Due;
use super::{Action, Peer, Phase, warn};
use crate::message::{Datagram, Ordinal};
use crate::output::{Kind, Line};
use crate::ring::PeerId;

impl Peer {
    /// A ping is answered at once, the way it came, and tells this peer who
    /// its predecessors are; a pong tells it that a successor is alive.
    pub(super) fn on_datagram(
        &mut self,
        datagram: Datagram,
        from: SocketAddr,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let me = self.id();
        if datagram.to() != me {
            warn(
                out,
                Kind::Misaddressed,
                format!(
                    "ignored {datagram}: it is not for this peer ({me}); \
                     is another ring using the same ports?"
                ),
            );
            return;
        }
        match datagram {
            Datagram::Ping {
                from: sender,
                successor,
                seq,
                ..
            } => {
                out.push(Action::Print(Line::PingRequestReceived { from: sender }));
                self.predecessors.record(sender, successor, now);
                self.acquaintances.heard(sender);
                self.settle_owed_change(sender, successor, now, out);
                out.push(Action::AnswerDatagram {
                    to: from,
                    datagram: Datagram::Pong {
                        from: me,
                        to: sender,
                        seq,
                    },
                });
            }
            Datagram::Pong {
                from: sender, seq, ..
            } => {
                // An answer from a peer that is no longer a successor is a
                // late answer to an old ping, and says nothing about the
                // current successors.
                if self.phase == Phase::Member && self.successors.pong(sender, seq) {
                    out.push(Action::Print(Line::PingResponseReceived { from: sender }));
                }
            }
        }
    }

    /// Does what the successor list has due.
    pub(super) fn perform_successor_due(&mut self, due: Due, now: Instant, out: &mut Vec<Action>) {
        let me = self.id();
        match due {
            Due::Round => {
                let round = self.successors.start_round(now);
                if let Some(peers) = round.announce {
                    out.push(Action::Print(Line::PingRequestsSent { to: peers }));
                }
                for (peer, position) in round.pings {
                    out.push(ping(me, peer, position, round.seq));
                }
            }
            Due::Probe(peer) => {
                if let Some((position, seq)) = self.successors.probe(peer, now) {
                    // A probe names the position as a regular ping does: the
                    // receiver learns its predecessors from this word.
                    out.push(ping(me, peer, position, seq));
                }
            }
            Due::Verdict(peer) => self.declare_dead(peer, now, out),
            Due::Refill => self.ask_for_successors(now, out),
            Due::ReleaseHold => self.successors.release_hold(),
        }
    }

    /// A successor stayed silent for too long: drop it, go on with the rest
    /// of the list, and refill it.
    fn declare_dead(&mut self, dead: PeerId, now: Instant, out: &mut Vec<Action>) {
        out.push(Action::Print(Line::NoLongerAlive { peer: dead }));
        self.successors.remove_dead(dead, now);
        self.acquaintances.lost(dead);
        if self.successors.is_empty() {
            if self.leaving.is_some() {
                self.finish_leaving(Departure::SuccessorsFailed, out);
                return;
            }
            warn(
                out,
                Kind::Note,
                format!(
                    "every successor of peer {} has failed; it keeps its place and asks the \
                     peers it knows for the ring",
                    self.id()
                ),
            );
        }
    }

    /// Prints the successor list if it changed and is not held: one line
    /// per position, the course's "My new first successor is Peer N".
    pub(super) fn announce_successors(&mut self, out: &mut Vec<Action>) {
        if self.phase != Phase::Member {
            return;
        }
        for dead in self.successors.take_dropped_dead() {
            self.acquaintances.lost(dead);
            out.push(Action::Print(Line::NoLongerAlive { peer: dead }));
        }
        if let Some(peers) = self.successors.take_announcement() {
            for (index, &peer) in peers.iter().enumerate() {
                if let Some(position) = Ordinal::from_index(index) {
                    out.push(Action::Print(Line::NewSuccessor { position, peer }));
                }
            }
        }
    }
}

fn ping(from: PeerId, to: PeerId, position: Ordinal, seq: u32) -> Action {
    Action::SendDatagram {
        to,
        datagram: Datagram::Ping {
            from,
            to,
            successor: position,
            seq,
        },
    }
}
