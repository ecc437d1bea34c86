//! The ring's files and their copies, in the replica scenarios.
//!
//! A file counts as the ring's once it has been stored: the `Store` was
//! accepted and the file arrived at the responsible peer. From then on the
//! simulator knows, at each step that can remove a copy (a peer's process
//! ends, a peer discards a copy), whether any peer whose process has not
//! ended still holds it, under either name; a frozen peer still holds its
//! files, since its disk is there. A file that nobody holds any more is
//! *lost*.
//!
//! The user's own copy at the peer where `Store` was typed is removed as
//! soon as the file has arrived at the responsible peer (as if the user
//! had tidied up): otherwise that copy, which the ring never looks after,
//! would keep files alive that the ring itself lost, and the loss figures
//! would measure the users rather than the replicas.
//!
//! Besides losses, the simulator measures how long the ring takes to put
//! every file back at the K peers that should hold it after a kill, and
//! how long a newcomer takes to hold the files of its arc.

use std::time::Duration;

use p2p::ring::{FileName, PeerId};

/// How often the simulator looks whether every file is where it belongs,
/// while it measures a repair or a newcomer.
pub const PLACEMENT_POLL: Duration = Duration::from_millis(50);

/// One file of the ring.
#[derive(Clone, Debug)]
pub struct RingFile {
    pub file: FileName,
    /// The peer where `Store` was typed.
    pub origin: PeerId,
    /// When it arrived at the responsible peer; `None` until it has.
    pub stored_at: Option<Duration>,
    /// When the last copy went.
    pub lost_at: Option<Duration>,
}

impl RingFile {
    /// Whether the file is the ring's and still held somewhere.
    pub fn is_kept(&self) -> bool {
        self.stored_at.is_some() && self.lost_at.is_none()
    }
}

/// A repair being timed: from a kill until every kept file is back at its
/// K peers.
#[derive(Clone, Debug)]
pub struct Repair {
    pub since: Duration,
    pub done_after: Option<Duration>,
    /// Another kill came first, so this repair measures nothing.
    pub overtaken: bool,
}

/// A newcomer being timed: from its join until it holds, as `NNNN.pdf`,
/// every kept file of its arc.
#[derive(Clone, Debug)]
pub struct Newcomer {
    pub peer: PeerId,
    pub incarnation: u32,
    pub since: Duration,
    pub held_after: Option<Duration>,
    /// The files of its arc when it became a member: the files it is timed
    /// for. Files that become its own later (its predecessor leaves) are a
    /// repair, not a join.
    pub files: Option<Vec<FileName>>,
    /// Its process ended first, or it had no file in its arc.
    pub gone: bool,
}

/// A peer told to quit, and the files it was responsible for then, which
/// must be at its successor when it exits.
#[derive(Clone, Debug)]
pub struct Leaver {
    pub peer: PeerId,
    pub incarnation: u32,
    pub files: Vec<FileName>,
}

/// What a run found about its files, for the report.
#[derive(Clone, Debug, Default)]
pub struct CopyFigures {
    /// K of the run; 0 when the run kept no files of the ring.
    pub replicas: usize,
    pub files_stored: u32,
    pub files_lost: u32,
    pub losses_are_violations: bool,
    /// The share of peers killed at once, in `ReplicasKFailures`.
    pub killed_share: Option<f64>,
    /// Time from each kill to K copies of every file again.
    pub repairs: Vec<Duration>,
    /// Repairs overtaken by another kill, and not finished by the end.
    pub repairs_overtaken: u32,
    pub repairs_unfinished: u32,
    /// Time from each join to the newcomer holding its files.
    pub newcomers: Vec<Duration>,
    pub newcomers_unfinished: u32,
    /// Churn events carried out (joins, kills, quits), in churn scenarios.
    pub churn_events: u32,
    /// The bound on placement after the last fault.
    pub placement_bound: Duration,
}

/// The peers that should hold a file with hash `hash`: the first live
/// member at or after it, and the next K - 1 live members. `live` is in
/// ring order.
pub fn ideal_holders(live: &[PeerId], hash: u8, replicas: usize) -> Vec<PeerId> {
    if live.is_empty() {
        return Vec::new();
    }
    let first = live.partition_point(|peer| peer.0 < hash) % live.len();
    (0..replicas.min(live.len()))
        .map(|step| live[(first + step) % live.len()])
        .collect()
}
