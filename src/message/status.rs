//! The words of the two questions anyone may ask a peer about itself:
//! `STATUS`, answered with the peer's [`View`] of the ring, and `HOLDINGS`,
//! answered with the ring's files it holds, a page at a time. `p2p ring`
//! asks them of every peer to draw and check the whole ring.
//!
//! A view's lists are single fields, so that one line can carry two of
//! them: the peers are joined by commas, and `-` stands for an empty list
//! (or, among the predecessors, for a position nobody has pinged from).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use super::{Fields, ParseError};
use crate::ring::{MAX_SUCCESSORS, PeerId};

/// The most files a `HELD` reply lists; the next page starts after the
/// last one. 32 four-digit names keep the line far below the length limit.
pub const HELD_PAGE: usize = 32;

/// Whether a `HELD` reply is the last page of the list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Page {
    /// More files follow: ask again after the last one listed.
    More,
    /// The list ends here.
    End,
}

/// Where a peer stands in the ring's life, as its view says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    /// In the ring, pinging its successors.
    Member,
    /// Waiting to be placed (a newcomer, or a member placing itself again).
    Joining,
    /// `Quit` was typed: it is handing its files over or saying goodbye.
    Leaving,
}

/// Whether a peer moves the ring's files when the ring changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilePolicy {
    /// The course's rule: a file stays where it was stored.
    Stay,
    /// `--handover` or `--replicas`: files follow the ring.
    Follow,
}

/// A peer's own view of the ring: who it is, how it runs, and the
/// neighbours it knows. It is what `STATUS` returns and what `Status`
/// typed at the peer prints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct View {
    pub peer: PeerId,
    pub standing: Standing,
    /// How often it pings, to the millisecond.
    pub ping_interval: Duration,
    /// How many successors it keeps (`--successors`).
    pub successor_count: usize,
    /// How many copies of each file the ring should keep (`--replicas`).
    pub copies: usize,
    pub files: FilePolicy,
    /// Its successors, nearest first.
    pub successors: Vec<PeerId>,
    /// Its predecessors by position, nearest first: `None` where no peer
    /// pings it from that position. The list ends at the last one known.
    pub predecessors: Vec<Option<PeerId>>,
}

impl View {
    /// The peer it believes comes right before it, whose arc ends where
    /// its own begins.
    pub fn first_predecessor(&self) -> Option<PeerId> {
        self.predecessors.first().copied().flatten()
    }

    /// Reads the fields of `VIEW`, in order.
    pub(super) fn from_fields(f: &mut Fields<'_>) -> Result<View, ParseError> {
        let peer = f.next("peer")?;
        let standing = f.next("standing")?;
        let milliseconds: u64 = f.next("interval-ms")?;
        let successor_count = f.next("successor-count")?;
        let copies = f.next("copies")?;
        let files = f.next("stay|follow")?;
        let successors = f.next::<PeerList>("successors")?.0;
        let predecessors = f.next::<PositionList>("predecessors")?.0;
        let too_many = |count: usize| count == 0 || count > MAX_SUCCESSORS;
        if too_many(successor_count) || successors.len() > successor_count {
            return Err(f.bad("successor-count", successor_count.to_string()));
        }
        Ok(View {
            peer,
            standing,
            ping_interval: Duration::from_millis(milliseconds),
            successor_count,
            copies,
            files,
            successors,
            predecessors,
        })
    }
}

impl fmt::Display for View {
    /// The fields of `VIEW`, without the verb.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {} {} {} ",
            self.peer,
            self.standing,
            self.ping_interval.as_millis(),
            self.successor_count,
            self.copies,
            self.files,
        )?;
        write_list(f, self.successors.iter().map(|&peer| Some(peer)))?;
        f.write_str(" ")?;
        write_list(f, self.predecessors.iter().copied())
    }
}

/// Writes peers joined by commas, `-` for a missing one, and `-` alone for
/// an empty list.
fn write_list(
    f: &mut fmt::Formatter<'_>,
    peers: impl Iterator<Item = Option<PeerId>>,
) -> fmt::Result {
    let mut empty = true;
    for (index, peer) in peers.enumerate() {
        empty = false;
        if index > 0 {
            f.write_str(",")?;
        }
        match peer {
            Some(peer) => write!(f, "{peer}")?,
            None => f.write_str("-")?,
        }
    }
    if empty {
        f.write_str("-")?;
    }
    Ok(())
}

/// A comma-joined list of distinct peers, as a view's successors.
struct PeerList(Vec<PeerId>);

impl FromStr for PeerList {
    type Err = ();

    fn from_str(text: &str) -> Result<PeerList, ()> {
        let positions = text.parse::<PositionList>()?.0;
        let peers: Option<Vec<PeerId>> = positions.into_iter().collect();
        peers.map(PeerList).ok_or(())
    }
}

/// A comma-joined list of peers by position, `-` where a position is
/// empty, as a view's predecessors. No peer appears twice, and the list is
/// no longer than a successor list can be.
struct PositionList(Vec<Option<PeerId>>);

impl FromStr for PositionList {
    type Err = ();

    fn from_str(text: &str) -> Result<PositionList, ()> {
        if text == "-" {
            return Ok(PositionList(Vec::new()));
        }
        let mut positions = Vec::new();
        for word in text.split(',') {
            let position = match word {
                "-" => None,
                _ if word.starts_with('+') => return Err(()),
                _ => Some(word.parse::<PeerId>().map_err(|_| ())?),
            };
            if position.is_some() && positions.contains(&position) {
                return Err(());
            }
            positions.push(position);
        }
        if positions.len() > MAX_SUCCESSORS || positions.last() == Some(&None) {
            return Err(());
        }
        Ok(PositionList(positions))
    }
}

field_words!(Standing {
    Member => "member",
    Joining => "joining",
    Leaving => "leaving",
});
field_words!(Page { More => "more", End => "end" });
field_words!(FilePolicy { Stay => "stay", Follow => "follow" });
field_words!(crate::ring::Held {
    Stored => "stored",
    Replica => "replica",
});
