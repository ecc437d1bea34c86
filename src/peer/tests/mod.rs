//! The state machine's tests, by topic. Every test goes through the one
//! helper in [`scenario`]: events in, written as the protocol writes them,
//! and the lines and messages that come out, written the same way.

mod scenario;

mod failures;
mod files;
mod joining;
mod leaving;
mod pings;
mod placement;
mod repair;
mod status;

use crate::ring::PeerId;

/// Peer identities from numbers, for comparing lists.
fn ids(list: &[u8]) -> Vec<PeerId> {
    list.iter().copied().map(PeerId).collect()
}
