//! What must hold in every run, and the figures measured on the way.
//!
//! The bounds are here, in one place, as the specification derives them. A run records every violation
//! with its virtual time; the figures (how long the ring took to converge,
//! how long each failure took to be detected) are recorded whether or not
//! they are within their bounds, so the report shows how much room is left.

use std::collections::BTreeSet;
use std::time::Duration;

use p2p::peer::FIRST_ROUND_RETRY;
use p2p::ring::{FileName, PeerId};

use super::faults::Fault;

/// How long after a kill each peer that held the dead peer in its list
/// must have declared it dead. The specification says 40 ms plus
/// scheduling delays (its port refuses, then four quick probes); the
/// simulated network adds a few milliseconds.
pub const KILL_DETECTION_BOUND: Duration = Duration::from_millis(250);

/// How long after a freeze each holder must have declared the frozen peer
/// dead: the specification's `PING_INTERVAL + 1.5 s`, plus the
/// stall tolerance for the simulated latencies.
pub fn freeze_detection_bound(ping_interval: Duration) -> Duration {
    ping_interval + Duration::from_millis(1500) + Duration::from_millis(250)
}

/// How many successors declared dead a peer remembers to ask again, one
/// every other acquaintance check, so that two rings formed during a
/// partition merge once it heals (`spec/protocol.md`, "The background
/// repair").
pub const MAX_LOST: u32 = 4;

/// How long after the last fault every live member must have exactly the
/// next R live members as its successors: the bound that
/// `spec/protocol.md` derives under "The convergence bound",
///
/// ```text
/// B = D + (R + 2) × T + 0.5 T
/// ```
///
/// where T is the ping interval, R the successor count, D the time to
/// declare dead the peers that the faults of the run leave failed, and
/// half an interval covers the round trips of the checks. After a
/// partition each peer may have to wait for its turn to ask its lost
/// successors, one every other check among up to `MAX_LOST`, so the
/// bound grows by 2 × `MAX_LOST` intervals.
///
/// No term covers the never-answered limit (ten intervals, at least
/// 30 s): the simulator restarts a peer only with an init line naming
/// live members (see `World::restart`), so no list names a peer that was
/// never there.
pub fn convergence_bound(
    faults: &[(Duration, Fault)],
    successor_count: usize,
    ping_interval: Duration,
) -> Duration {
    let detection = faults
        .iter()
        .map(|(_, fault)| detection_time(fault, ping_interval))
        .max()
        .unwrap_or(Duration::ZERO);
    let partitioned = faults
        .iter()
        .any(|(_, fault)| matches!(fault, Fault::Partition(_)));
    let lost_turns = if partitioned { 2 * MAX_LOST } else { 0 };
    let checks = lost_turns + successor_count as u32 + 2;
    detection + ping_interval * checks + ping_interval / 2
}

/// D for one fault: how long the peers may take to declare dead the peer
/// it leaves failed, if any.
fn detection_time(fault: &Fault, ping_interval: Duration) -> Duration {
    match fault {
        // A process that ends is found through its refusing port; a peer
        // that quits may end before all its predecessors heard its LEAVE,
        // and is then found the same way.
        Fault::Kill(_) | Fault::KillRandom | Fault::Quit(_) | Fault::QuitRandom => {
            KILL_DETECTION_BOUND
        }
        // A peer silent but not ended (frozen, cut off, or whose datagrams
        // are lost) is found by its pings only.
        Fault::Freeze { .. } | Fault::Partition(_) | Fault::Heal | Fault::SetLoss(_) => {
            freeze_detection_bound(ping_interval)
        }
        // A peer that starts or comes back leaves nobody failed; a forged
        // request neither (the repair checks it with the peer it names).
        Fault::Resume(_)
        | Fault::Start(_)
        | Fault::Restart(_)
        | Fault::RestartRandom
        | Fault::Join(_)
        | Fault::JoinRandom
        | Fault::Forge { .. } => Duration::ZERO,
    }
}

/// The room left, beyond the retry rule itself, for the round trip of an
/// answer in [`first_answer_deadline`]: the simulated network takes at
/// most a few milliseconds a message.
pub const FIRST_ANSWER_MARGIN: Duration = Duration::from_millis(100);

/// When a peer of a ring started one peer after another must have heard
/// both its successors answer, given when it started and when the later
/// of its successors started (`spec/protocol.md`, "Pings"):
///
/// ```text
/// heard by  start + 2 × wait + FIRST_ROUND_RETRY + margin
/// ```
///
/// where `wait` is how long after its own start its successors were both
/// running (zero if they were running already). While a successor has
/// never answered, the rounds come at `start + FIRST_ROUND_RETRY × (2^k -
/// 1)`, so the first round after the wait comes within twice the wait
/// plus the first retry delay, as long as the retry delay is still below
/// the interval. It does not depend on the interval: at the course's 30 s,
/// and starts a few seconds apart, it is well below one interval.
pub fn first_answer_deadline(start: Duration, successors_up: Duration) -> Duration {
    let wait = successors_up.saturating_sub(start);
    start + wait * 2 + FIRST_ROUND_RETRY + FIRST_ANSWER_MARGIN
}

/// How one peer of a ring started one peer after another heard its
/// successors: when it started, when both of them were running, and when
/// it had heard both answer, if it had.
#[derive(Clone, Debug)]
pub struct FirstAnswers {
    pub peer: PeerId,
    /// The successors of its init line.
    pub successors: Vec<PeerId>,
    pub started: Duration,
    pub successors_up: Duration,
    /// The successors heard so far.
    pub heard: Vec<PeerId>,
    pub heard_both: Option<Duration>,
}

impl FirstAnswers {
    pub fn deadline(&self) -> Duration {
        first_answer_deadline(self.started, self.successors_up)
    }

    /// The peer printed an answer from `from` at `at`.
    pub fn answered(&mut self, from: PeerId, at: Duration) {
        if self.successors.contains(&from) && !self.heard.contains(&from) {
            self.heard.push(from);
            if self.heard.len() == self.successors.len() {
                self.heard_both = Some(at);
            }
        }
    }
}

/// How long one placement can take once it is offered: the offer's round
/// trip and the transfer itself, at the simulated network's slowest
/// (`NetworkConfig`: 2 ms a message, 50 ms a file), with a little room.
pub const PLACEMENT_STEP: Duration = Duration::from_millis(60);

/// How many placements a peer has under way at once
/// (`MAX_PLACEMENTS_UNDER_WAY` in `src/peer/placement/`).
pub const PLACEMENTS_AT_ONCE: usize = 4;

/// How long after the last fault every ring file must be back at the K
/// peers that should hold it (the responsible peer, as `NNNN.pdf`, and
/// its next K - 1 live successors), given the run's convergence bound B
/// and the most placements one peer may have to make, P:
///
/// ```text
/// B_K = B + T + T/2 + ceil(P / 4) × step
/// ```
///
/// Once the lists are right (B), every peer has pinged its successors at
/// their right positions within one interval T, so every peer knows its
/// arc and its predecessors' arcs; the next placement round comes within
/// T/2; and a peer has at most four placements under way, each taking at
/// most one `PLACEMENT_STEP`, and starts its next round as soon as one
/// ends. The same bound, for one kill, is the *repair window* of the
/// replica scenarios: the faults keep to at most K - 1 failures within it.
pub fn placement_bound(
    convergence_bound: Duration,
    ping_interval: Duration,
    placements: usize,
) -> Duration {
    let batches = placements.div_ceil(PLACEMENTS_AT_ONCE) as u32;
    convergence_bound + ping_interval + ping_interval / 2 + PLACEMENT_STEP * batches
}

/// How long a `Store` typed in a settled ring may take to be accepted by
/// the responsible peer, and a `Request` to be answered.
pub const STORE_BOUND: Duration = Duration::from_secs(3);
pub const REQUEST_BOUND: Duration = Duration::from_secs(3);

/// How long the ring must have been converged before it counts as
/// settled, so that stores and requests can be checked: the predecessor
/// memory (three intervals and a second), after which every peer knows its
/// true first predecessor, and one interval more.
pub fn settle_time(ping_interval: Duration) -> Duration {
    ping_interval * 4 + Duration::from_secs(1)
}

/// How long after a peer was last unreachable (frozen, cut off, dead) a
/// verdict against it may still be the late result of that silence.
pub fn false_death_grace(ping_interval: Duration) -> Duration {
    ping_interval + Duration::from_secs(2)
}

/// How many hops a join, store or request may make in a ring that has had
/// at most `peers` members at once: one turn to find its place and one
/// more, which is already generous.
pub fn hop_limit(peers: usize) -> u32 {
    2 * peers as u32 + 4
}

/// Something that should not have happened, when, and what exactly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub at: Duration,
    pub what: String,
}

/// Which kind of failure a detection measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    Kill,
    Freeze,
}

/// A peer that must declare another dead, and whether it has.
#[derive(Clone, Debug)]
pub struct Detection {
    pub holder: PeerId,
    pub holder_incarnation: u32,
    pub dead: PeerId,
    pub dead_incarnation: u32,
    pub failure: Failure,
    pub since: Duration,
    pub declared_after: Option<Duration>,
    /// Set when the holder ended, or the failed peer came back (restarted,
    /// resumed), before the verdict: the detection then measures nothing.
    pub overtaken: bool,
}

/// A `Store` typed in a settled ring.
#[derive(Clone, Debug)]
pub struct StoreProbe {
    pub file: FileName,
    pub origin: PeerId,
    pub responsible: PeerId,
    pub typed_at: Duration,
    pub accepted: bool,
}

/// A `Request` typed in a settled ring.
#[derive(Clone, Debug)]
pub struct RequestProbe {
    pub file: FileName,
    pub origin: PeerId,
    pub typed_at: Duration,
    pub answered: bool,
}

/// A peer that must keep another in its successor list from a time on (a
/// forged `LEAVE` must not cut a live peer out).
#[derive(Clone, Copy, Debug)]
pub struct Keep {
    pub peer: PeerId,
    pub successor: PeerId,
    pub from: Duration,
}

/// Everything checked while a run goes on; see the module documentation.
#[derive(Debug, Default)]
pub struct Monitor {
    pub violations: Vec<Violation>,
    /// The keys of the violations reported only once per run (the same
    /// broken list would otherwise be reported at every step).
    reported_once: BTreeSet<String>,
    pub detections: Vec<Detection>,
    pub stores: Vec<StoreProbe>,
    pub requests: Vec<RequestProbe>,
    pub keeps: Vec<Keep>,
    /// From this time on, no live member's first live successor may be
    /// anyone but the next live member (fewer than R adjacent failures
    /// leave no gap).
    pub no_gap_from: Option<Duration>,
    /// Whether a live, reachable peer declared dead is a violation: not
    /// when datagrams are lost, since then a live peer can really look
    /// dead.
    pub checks_false_deaths: bool,
    /// Until when a verdict against each peer is excused, by identity.
    pub excused_until: Vec<Duration>,
}

impl Monitor {
    pub fn new(checks_false_deaths: bool) -> Monitor {
        Monitor {
            checks_false_deaths,
            excused_until: vec![Duration::ZERO; 256],
            ..Monitor::default()
        }
    }

    pub fn violate(&mut self, at: Duration, what: String) {
        self.violations.push(Violation { at, what });
    }

    /// Records a violation unless one with the same key was recorded in
    /// this run already; returns whether it was recorded.
    pub fn violate_once(&mut self, key: String, at: Duration, what: String) -> bool {
        if self.reported_once.insert(key) {
            self.violate(at, what);
            true
        } else {
            false
        }
    }

    pub fn excuse(&mut self, peer: PeerId, until: Duration) {
        let slot = &mut self.excused_until[usize::from(peer.0)];
        *slot = (*slot).max(until);
    }

    pub fn excuse_everyone(&mut self, until: Duration) {
        for slot in &mut self.excused_until {
            *slot = (*slot).max(until);
        }
    }

    /// `holder` printed that `dead` is no longer alive. `dead_is_live` says
    /// whether `dead` runs, unfrozen and reachable from `holder`.
    /// `dead_now` is the incarnation of `dead` now and how it fails, if it
    /// does: a verdict counts for a detection only if it is still about the
    /// same failure.
    pub fn on_declared_dead(
        &mut self,
        at: Duration,
        holder: PeerId,
        dead: PeerId,
        dead_is_live: bool,
        dead_now: (u32, Option<Failure>),
    ) {
        for detection in &mut self.detections {
            if detection.holder == holder
                && detection.dead == dead
                && detection.declared_after.is_none()
                && !detection.overtaken
            {
                if dead_now == (detection.dead_incarnation, Some(detection.failure)) {
                    detection.declared_after = Some(at - detection.since);
                } else {
                    detection.overtaken = true;
                }
            }
        }
        if self.checks_false_deaths && dead_is_live && at > self.excused_until[usize::from(dead.0)]
        {
            self.violate(
                at,
                format!(
                    "false death: peer {holder} declared peer {dead} dead, but {dead} runs \
                     and its messages arrive in time"
                ),
            );
        }
    }

    pub fn on_store_accepted(&mut self, at: Duration, peer: PeerId, file: FileName) {
        for probe in &mut self.stores {
            if probe.file == file {
                if probe.responsible == peer {
                    probe.accepted = true;
                } else {
                    let what = format!(
                        "Store {file} typed at peer {} was accepted by peer {peer}, but peer {} \
                         is responsible for it",
                        probe.origin, probe.responsible
                    );
                    self.violations.push(Violation { at, what });
                }
            }
        }
    }

    pub fn on_request_answered(&mut self, peer: PeerId, file: FileName) {
        for probe in &mut self.requests {
            if probe.file == file && probe.origin == peer {
                probe.answered = true;
            }
        }
    }
}

/// Whether the ring has converged: every live member's successor list is
/// exactly the next R live members in ring order, and every running peer
/// is a member.
#[derive(Debug)]
pub struct Convergence {
    successor_count: usize,
    /// The running members, in ring order.
    live: Vec<PeerId>,
    /// The running peers whose list is not what it should be, or that are
    /// not members yet.
    wrong: BTreeSet<PeerId>,
    /// Since when no peer has been wrong; `None` while one is.
    pub correct_since: Option<Duration>,
}

impl Convergence {
    pub fn new(successor_count: usize) -> Convergence {
        Convergence {
            successor_count,
            live: Vec::new(),
            wrong: BTreeSet::new(),
            correct_since: None,
        }
    }

    /// The running members, in ring order.
    pub fn live(&self) -> &[PeerId] {
        &self.live
    }

    /// Starts again from a new set of running members (after a fault, a
    /// join, an exit): `lists` gives the successors of each, and
    /// `outsiders` are the running peers that are not members yet.
    pub fn rebuild(
        &mut self,
        at: Duration,
        live: Vec<PeerId>,
        outsiders: &[PeerId],
        lists: impl Fn(PeerId) -> Vec<PeerId>,
    ) {
        self.live = live;
        self.wrong = outsiders.iter().copied().collect();
        for index in 0..self.live.len() {
            let peer = self.live[index];
            if lists(peer) != self.expected(peer) {
                self.wrong.insert(peer);
            }
        }
        self.note_time(at);
    }

    /// A live member's list may have changed.
    pub fn update(&mut self, at: Duration, peer: PeerId, successors: &[PeerId]) {
        if successors == self.expected(peer) {
            self.wrong.remove(&peer);
        } else {
            self.wrong.insert(peer);
        }
        self.note_time(at);
    }

    fn note_time(&mut self, at: Duration) {
        if !self.wrong.is_empty() {
            self.correct_since = None;
        } else if self.correct_since.is_none() {
            self.correct_since = Some(at);
        }
    }

    pub fn is_live(&self, peer: PeerId) -> bool {
        self.live.binary_search(&peer).is_ok()
    }

    /// The list `peer` should have: the next R live members after it.
    pub fn expected(&self, peer: PeerId) -> Vec<PeerId> {
        let Ok(position) = self.live.binary_search(&peer) else {
            return Vec::new();
        };
        let count = self.successor_count.min(self.live.len() - 1);
        (1..=count)
            .map(|step| self.live[(position + step) % self.live.len()])
            .collect()
    }

    /// The first live member at or after `position`, going clockwise: the
    /// peer responsible for a file with that hash.
    pub fn responsible_for(&self, position: u8) -> Option<PeerId> {
        self.live
            .iter()
            .copied()
            .find(|peer| peer.0 >= position)
            .or_else(|| self.live.first().copied())
    }

    /// A few of the wrong peers, to show in a violation.
    pub fn wrong_peers(&self, limit: usize) -> Vec<PeerId> {
        self.wrong.iter().copied().take(limit).collect()
    }

    pub fn wrong_count(&self) -> usize {
        self.wrong.len()
    }

    /// Whether `peer`'s first successor that is a live member is the next
    /// live member after it: then the ring has no gap at `peer`.
    pub fn has_no_gap_at(&self, peer: PeerId, successors: &[PeerId]) -> bool {
        let expected = self.expected(peer);
        let Some(&next) = expected.first() else {
            return true;
        };
        successors.iter().copied().find(|s| self.is_live(*s)) == Some(next)
    }
}
