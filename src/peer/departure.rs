//! What a peer that quits says about its own departure. The course prints
//! nothing at the leaving peer, so without these lines its window would
//! show nothing between `Quit` and the end of the program. They go to
//! standard error as notes ([`Kind::Note`]), a few lines for each `Quit`,
//! and the rules of leaving stay in `membership.rs` and, for the files,
//! in `placement/leaving.rs`.

use super::LEAVE_TIMEOUT;
use super::{Action, Peer, warn};
use crate::output::Kind;
use crate::ring::{PeerId, peers_in_words};

/// How a departure ended, for the line that says so.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Departure {
    /// Every predecessor that was told has answered.
    Acknowledged,
    /// These predecessors had not answered when [`LEAVE_TIMEOUT`] passed.
    Unanswered(Vec<PeerId>),
    /// No predecessor had pinged this peer, so nobody was told.
    NobodyToTell,
    /// The peer had no successor to name in its place, so nobody was told.
    NoSuccessor,
    /// Every successor failed while the peer waited for its predecessors.
    SuccessorsFailed,
    /// `Quit` came while the peer was still joining the ring.
    NotJoined,
}

/// The `LEAVE` has gone to `told`, the predecessors that must answer
/// before the peer exits.
pub(super) fn say_leaving(told: &[PeerId], out: &mut Vec<Action>) {
    warn(
        out,
        Kind::Note,
        format!("leaving the ring: telling {}", peers(told)),
    );
}

/// `Quit` was typed again while the first one is still under way.
pub(super) fn say_already_leaving(out: &mut Vec<Action>) {
    warn(out, Kind::Note, "already leaving the ring");
}

/// A peer that looks after files hands `files` of its own and `replicas`
/// to its successor `to` before it tells its predecessors.
pub(super) fn say_handing_over(to: PeerId, files: usize, replicas: usize, out: &mut Vec<Action>) {
    let what = match (files, replicas) {
        (_, 0) => counted(files, "file"),
        (0, _) => counted(replicas, "replica"),
        _ => format!(
            "{} and {}",
            counted(files, "file"),
            counted(replicas, "replica")
        ),
    };
    warn(
        out,
        Kind::Note,
        format!("handing {what} over to peer {to} before leaving"),
    );
}

impl Peer {
    /// The peer gives up waiting for its predecessors' answers: it leaves,
    /// naming those that did not answer.
    pub(super) fn give_up_leaving(&mut self, out: &mut Vec<Action>) {
        let unanswered = self
            .leaving
            .as_ref()
            .map(|leaving| leaving.waiting_for.clone())
            .unwrap_or_default();
        self.finish_leaving(Departure::Unanswered(unanswered), out);
    }

    /// Nobody could be told of the departure: says why, and exits.
    pub(super) fn leave_untold(&mut self, out: &mut Vec<Action>) {
        let why = if self.successors.is_empty() {
            Departure::NoSuccessor
        } else {
            Departure::NobodyToTell
        };
        self.finish_leaving(why, out);
    }

    /// The departure is over: says how it ended and exits with code 0.
    pub(super) fn finish_leaving(&mut self, how: Departure, out: &mut Vec<Action>) {
        let text: String = match how {
            Departure::Acknowledged => "left the ring".into(),
            Departure::Unanswered(unanswered) => format!(
                "left the ring; {} did not answer within {} s",
                peers(&unanswered),
                LEAVE_TIMEOUT.as_secs()
            ),
            Departure::NobodyToTell => {
                "left the ring without telling anyone: no predecessor had pinged this peer".into()
            }
            Departure::NoSuccessor => {
                "left the ring without telling anyone: it had no successor to name in its place"
                    .into()
            }
            Departure::SuccessorsFailed => {
                "left the ring: every successor failed while it was leaving".into()
            }
            Departure::NotJoined => "left before joining the ring; nobody needed telling".into(),
        };
        warn(out, Kind::Note, text);
        self.exit(0, out);
    }
}

/// `peer 8`, `peers 8 and 5`, `peers 8, 5 and 4`.
fn peers(list: &[PeerId]) -> String {
    match list.len() {
        0 => "no peer".to_string(),
        1 => format!("peer {}", peers_in_words(list)),
        _ => format!("peers {}", peers_in_words(list)),
    }
}

/// `1 file`, `2 files`: a count with its noun.
fn counted(count: usize, noun: &str) -> String {
    match count {
        1 => format!("1 {noun}"),
        _ => format!("{count} {noun}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_of_peers_and_counts_read_as_sentences() {
        assert_eq!(peers(&[PeerId(8)]), "peer 8");
        assert_eq!(peers(&[PeerId(8), PeerId(5)]), "peers 8 and 5");
        assert_eq!(
            peers(&[PeerId(8), PeerId(5), PeerId(4)]),
            "peers 8, 5 and 4"
        );
        assert_eq!(counted(1, "file"), "1 file");
        assert_eq!(counted(3, "replica"), "3 replicas");
    }
}
