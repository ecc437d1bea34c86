//! The placement rule as a pure function: from what a peer sees of the
//! ring and what its directory holds, what it should offer, rename and
//! remove. See the parent module for the rule in words.

use std::collections::{BTreeMap, BTreeSet};

use crate::message::Purpose;
use crate::output::HandoverReason;
pub use crate::ring::Held;
use crate::ring::{FileName, PeerId, is_in_arc};

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
    pub(super) fn replica_holders(&self) -> impl Iterator<Item = PeerId> + '_ {
        let me = self.me;
        self.successors
            .iter()
            .copied()
            .filter(move |&peer| peer != me)
            .take(self.replicas - 1)
    }

    /// The peers whose confirmations still mean something.
    pub(super) fn contains(&self, peer: PeerId) -> bool {
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
                keep_one_copy_as(Held::Stored, file, stored, replica, &mut steps);
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
                    keep_one_copy_as(Held::Replica, file, ring_stored, replica, &mut steps);
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

/// Keeps the file under the name `kept` only: the copy under the other
/// name is removed when both are here, or renamed when it is the only one.
/// `stored` and `replica` say which of the ring's copies the peer holds.
fn keep_one_copy_as(
    kept: Held,
    file: FileName,
    stored: bool,
    replica: bool,
    steps: &mut Vec<Step>,
) {
    let (has_kept, other, has_other) = match kept {
        Held::Stored => (stored, Held::Replica, replica),
        Held::Replica => (replica, Held::Stored, stored),
    };
    if has_other && has_kept {
        steps.push(Step::Discard { file, held: other });
    } else if has_other {
        steps.push(Step::Relabel { file, to: kept });
    }
}

/// Removes every copy of the ring's that the peer holds of `file`.
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
