//! What a scenario does to a ring: the faults it injects and the work it
//! gives the peers, each at a virtual time.
//!
//! A scenario is a list of `(time, Fault)`. Most faults name their peers,
//! chosen when the scenario was planned. The `Random...` ones choose when
//! they happen, from the state of the ring at that moment (which peers are
//! alive then), with the run's generator: random churn cannot know in
//! advance who will still be alive. Both are deterministic.

use std::time::Duration;

use p2p::message::Request;
use p2p::ring::PeerId;

/// One thing done to the ring; see the module documentation.
#[derive(Clone, Debug)]
pub enum Fault {
    /// The process ends at once, as with `kill -9`: its port refuses from
    /// now on, and its watchers hear so within milliseconds.
    Kill(PeerId),
    /// The process stops, as with `kill -STOP`, for this long: it is not
    /// stepped, its port stays open, its datagrams wait in its socket
    /// buffer, and requests to it get no answer. Then it resumes.
    Freeze { peer: PeerId, duration: Duration },
    /// A frozen process goes on; the simulator plans this itself after a
    /// `Freeze`.
    Resume(PeerId),
    /// A peer of the initial ring starts late, as in a ring started by
    /// hand one peer after another, with the init line the course gives
    /// it: the next two peers of the planned ring, running yet or not.
    Start(PeerId),
    /// A killed peer is started again as a peer of the initial ring, with
    /// an init line naming the next two live members as its successors.
    Restart(PeerId),
    /// A new peer asks a random live member for a place in the ring.
    Join(PeerId),
    /// The user types `Quit` at this peer: a graceful departure.
    Quit(PeerId),
    /// The live peers are split into groups that cannot reach each other.
    Partition(Vec<Vec<PeerId>>),
    /// Everyone reaches everyone again.
    Heal,
    /// From now on this share of datagrams is lost.
    SetLoss(f64),
    /// A request arrives at `at` from nobody in particular: a forged or
    /// stray message, as anyone on the network can send.
    Forge { at: PeerId, request: Request },
    /// Kills a random live member, if more than the minimum remain.
    KillRandom,
    /// Starts a newcomer with a random unused identity.
    JoinRandom,
    /// A random live member quits, if more than the minimum remain.
    QuitRandom,
    /// Restarts a random killed peer, if there is one.
    RestartRandom,
}
