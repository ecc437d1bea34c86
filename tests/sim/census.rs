//! The checker's verdict on a simulated ring: once a run has settled, the
//! views the real state machines give of themselves must pass every rule
//! of `p2p ring` (`p2p::checker::verdict`). The simulator and the checker
//! then judge a ring by the same rules, and each rule of the checker is
//! proven on thousands of seeded rings, not only on the black-box tests'.
//!
//! Only the live peers are asked, as `p2p ring` would find them: a frozen
//! peer would be silent to it, and is left out here, since the rules under
//! test are the live ring's.

use std::time::Instant;

use p2p::checker::verdict::{Observed, PeerReport, Problem, check};
use p2p::peer::Peer;
use p2p::ring::Held;

/// Which of the checker's rules apply at a point of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rules {
    /// The shape of the ring: pointers, keys and standings. These hold
    /// once the ring has settled.
    Shape,
    /// The shape and every file's copies, which hold once the files have
    /// had their time to move (the placement bound).
    ShapeAndFiles,
}

/// The checker's problems with the ring formed by `peers`, as they see it
/// at `now`.
pub fn problems<'a>(
    peers: impl Iterator<Item = &'a Peer>,
    now: Instant,
    rules: Rules,
) -> Vec<Problem> {
    let mut observed = Observed::default();
    for peer in peers {
        let view = peer.view(now);
        let report = PeerReport {
            stored: peer.holdings(Held::Stored, now),
            replicas: peer.holdings(Held::Replica, now),
            view,
        };
        observed.answered.insert(report.view.peer, report);
    }
    let mut problems = check(&observed);
    if rules == Rules::Shape {
        problems.retain(|problem| {
            !matches!(
                problem,
                Problem::TooFewCopies { .. } | Problem::NotAtResponsible { .. }
            )
        });
    }
    problems
}
