//! Lookups typed while the ring churns, and how many of them fail: a figure
//! in the manner of the churn experiment of the Chord paper.
//!
//! In a settled ring every `Request` must be answered, and the invariants
//! check that. While peers join, die and leave, a lookup can fail: it is
//! passed to a peer that dies on the way, or the file's holder dies, or a
//! newcomer has become responsible for the file and says it has none. How
//! often that happens, against how fast the ring changes, says how well
//! the ring serves its users while it repairs itself. It is a figure, not
//! an invariant: some failures are expected.
//!
//! A lookup is typed at a random live member, for a file that the
//! simulator has just put in the directory of the peer responsible for it
//! (as if it had been stored there before), so a correct ring always finds
//! it. It has failed if the requester gets no answer within
//! `LOOKUP_TIMEOUT`, or is told that the file was not found: only the
//! holder has the file, so a not-found answer comes from the wrong peer.
//! A lookup whose requester ended (killed, or quit) before its answer or
//! its timeout is not counted: nobody was left to be answered.

use std::time::Duration;

use p2p::ring::{FileName, PeerId};

/// How long a lookup typed during churn may take before it counts as
/// failed: the bound on a request in a settled ring.
pub const LOOKUP_TIMEOUT: Duration = Duration::from_secs(3);

/// How many lookups a churn scenario types per ping interval, spread at
/// random over its churn.
pub const LOOKUPS_PER_INTERVAL: u32 = 4;

/// How one lookup ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LookupEnd {
    /// The requester received the file.
    Found,
    /// The requester was told that the file was not found, by this peer.
    WrongPeer(PeerId),
    /// No answer within `LOOKUP_TIMEOUT`.
    TimedOut,
    /// The requester ended first; the lookup is not counted.
    RequesterEnded,
}

/// One lookup typed during churn.
#[derive(Clone, Debug)]
pub struct Lookup {
    pub file: FileName,
    pub origin: PeerId,
    /// The process of the origin that typed it.
    pub origin_incarnation: u32,
    /// The peer whose directory holds the file.
    pub holder: PeerId,
    pub typed_at: Duration,
    /// `None` while the lookup waits for its answer.
    pub end: Option<LookupEnd>,
}

/// The lookups of one run, with how fast the ring churned meanwhile.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LookupTally {
    /// Joins (restarts among them), kills and quits carried out during
    /// the churn.
    pub churn_events: u32,
    /// How long the churn lasted.
    pub churn_window: Duration,
    /// The lookups counted, and how those failed.
    pub lookups: u32,
    pub timed_out: u32,
    pub wrong_peer: u32,
    /// The lookups not counted, since their requester ended first.
    pub requester_ended: u32,
}

impl LookupTally {
    /// Counts the ends of a run's lookups. A lookup still waiting when the
    /// run ended (only when it ended early, on a violation) is left out.
    pub fn count(lookups: &[Lookup], churn_events: u32, churn_window: Duration) -> LookupTally {
        let mut tally = LookupTally {
            churn_events,
            churn_window,
            ..LookupTally::default()
        };
        for lookup in lookups {
            match lookup.end {
                Some(LookupEnd::Found) => tally.lookups += 1,
                Some(LookupEnd::WrongPeer(_)) => {
                    tally.lookups += 1;
                    tally.wrong_peer += 1;
                }
                Some(LookupEnd::TimedOut) => {
                    tally.lookups += 1;
                    tally.timed_out += 1;
                }
                Some(LookupEnd::RequesterEnded) => tally.requester_ended += 1,
                None => {}
            }
        }
        tally
    }

    pub fn failed(&self) -> u32 {
        self.timed_out + self.wrong_peer
    }

    /// Adds the tally of another run of the same churn rate.
    pub fn add(&mut self, other: &LookupTally) {
        self.churn_events += other.churn_events;
        self.churn_window += other.churn_window;
        self.lookups += other.lookups;
        self.timed_out += other.timed_out;
        self.wrong_peer += other.wrong_peer;
        self.requester_ended += other.requester_ended;
    }
}
