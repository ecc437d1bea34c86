//! The named scenarios: which ring, which faults, when, and what extra
//! must hold.
//!
//! Each scenario is planned from a seed: the ring's identities, the peers
//! that fail, the times and durations are drawn from the run's generator.
//! At seven peers the scenarios use the teaching ring of the course
//! (2 4 5 8 9 14 19) and the very peers the assignment talks about, so a
//! failing seed there reads like the walkthrough.
//!
//! Every run has the same shape: the initial ring starts at time 0 and
//! settles for `WARMUP`; the faults come after that, within
//! `FAULT_WINDOW`; then the ring must converge within the bound, and once
//! it has settled, stores and requests are typed and must be answered.

use std::time::Duration;

use p2p::message::Request;
use p2p::ring::PeerId;

use super::faults::Fault;
use super::invariants::{Keep, convergence_bound, placement_bound};
use super::lookups::LOOKUPS_PER_INTERVAL;
use super::network::NetworkConfig;
use super::rng::Rng;

/// The ring of the course's walkthrough.
pub const TEACHING_RING: [u8; 7] = [2, 4, 5, 8, 9, 14, 19];

/// The ping interval of every simulated ring. One second keeps a run to a
/// few tens of simulated seconds; the protocol's timings that do not scale
/// with the interval (probes, timeouts) are then the tight ones.
pub const PING_INTERVAL: Duration = Duration::from_secs(1);

/// How long the initial ring runs before the first fault: long enough for
/// every peer to have pinged its successors and refilled its list.
pub const WARMUP: Duration = Duration::from_secs(3);

/// The faults of a scenario happen within this time after the warm-up.
pub const FAULT_WINDOW: Duration = Duration::from_secs(10);

/// One kind of run; see the module documentation for what they share.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scenario {
    /// Two adjacent peers killed at once at R = 2 (8 and 9 on the
    /// teaching ring: 5 must end with 14 19, and 4 with 5 14).
    AdjacentKills,
    /// A peer killed and started again with its init line after 0.3 s,
    /// 1 s or 2 s.
    RestartAfter300Ms,
    RestartAfter1S,
    RestartAfter2S,
    /// A forged `JOIN x x 0` for a peer `x` that does not exist (10 on the
    /// teaching ring): it must leave no hole, and a request for a file at
    /// `x`'s place must be answered.
    ForgedJoin,
    /// A forged `LEAVE` naming a live peer (`LEAVE 8 9 14` to peer 5 on
    /// the teaching ring) must not cut that peer out.
    ForgedLeave,
    /// A peer frozen long enough to be declared dead, then resumed: it
    /// must find its way back into the ring.
    FreezeResume,
    /// Random kills, joins, quits and restarts, at three rates.
    ChurnSlow,
    ChurnMedium,
    ChurnFast,
    /// R - 1 adjacent peers killed at once at R = 3 or 4: the ring must
    /// never have a gap.
    AdjacentKillsWide,
    /// The ring split in two, then healed.
    PartitionHeals,
    /// A ring started by hand at the course's interval of 30 s: its peers
    /// start one after another over a few seconds, in ring order or in any
    /// order, so first pings reach successors that are not running yet.
    /// Every peer must hear both its successors answer within a bound well
    /// below the interval (`invariants::first_answer_deadline`).
    StaggeredStart,
    /// Datagrams lost at a seeded rate while peers are killed.
    DatagramLoss,
    /// The replica scenarios: files are stored from random peers before
    /// the faults, every peer looks after them (`--replicas K`, with
    /// handover), and none may be lost while the faults keep to the
    /// assumption of at most K - 1 failures per repair window (see
    /// `invariants::placement_bound`). Each seed chooses K.
    ///
    /// One kill, at K = 2 or 3.
    ReplicasKill,
    /// K - 1 adjacent peers killed at the same moment, three times, with a
    /// pause longer than the repair window between.
    ReplicasAdjacentKills,
    /// Joins and `Quit`s only, at K = 1 (with `--handover`), 2 or 3: every
    /// newcomer must come to hold its files, and a leaver's files must be
    /// at its successor when it exits.
    ReplicasJoinQuit,
    /// Random joins, quits and kills at K = 1, 2 or 3, with departures at
    /// least one repair window apart: at K = 1 a kill loses the files of
    /// its peer (the figure), at K of 2 or more nothing may be lost.
    ReplicasChurn,
    /// The assumption broken on purpose: a share p of the peers (0.1, 0.2
    /// or 0.3) killed at one moment, at K = 1, 2 or 3. The files lost are
    /// measured against the estimate p^K, not counted as violations.
    ReplicasKFailures,
}

impl Scenario {
    pub const ALL: [Scenario; 19] = [
        Scenario::AdjacentKills,
        Scenario::RestartAfter300Ms,
        Scenario::RestartAfter1S,
        Scenario::RestartAfter2S,
        Scenario::ForgedJoin,
        Scenario::ForgedLeave,
        Scenario::FreezeResume,
        Scenario::ChurnSlow,
        Scenario::ChurnMedium,
        Scenario::ChurnFast,
        Scenario::AdjacentKillsWide,
        Scenario::PartitionHeals,
        Scenario::DatagramLoss,
        Scenario::StaggeredStart,
        Scenario::ReplicasKill,
        Scenario::ReplicasAdjacentKills,
        Scenario::ReplicasJoinQuit,
        Scenario::ReplicasChurn,
        Scenario::ReplicasKFailures,
    ];

    /// The name the report and `SCENARIO=` use.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::AdjacentKills => "adjacent-kills",
            Scenario::RestartAfter300Ms => "restart-after-0.3s",
            Scenario::RestartAfter1S => "restart-after-1s",
            Scenario::RestartAfter2S => "restart-after-2s",
            Scenario::ForgedJoin => "forged-join",
            Scenario::ForgedLeave => "forged-leave",
            Scenario::FreezeResume => "freeze-resume",
            Scenario::ChurnSlow => "churn-slow",
            Scenario::ChurnMedium => "churn-medium",
            Scenario::ChurnFast => "churn-fast",
            Scenario::AdjacentKillsWide => "adjacent-kills-wide",
            Scenario::PartitionHeals => "partition-heals",
            Scenario::DatagramLoss => "datagram-loss",
            Scenario::StaggeredStart => "staggered-start",
            Scenario::ReplicasKill => "replicas-kill",
            Scenario::ReplicasAdjacentKills => "replicas-adjacent-kills",
            Scenario::ReplicasJoinQuit => "replicas-join-quit",
            Scenario::ReplicasChurn => "replicas-churn",
            Scenario::ReplicasKFailures => "replicas-k-failures",
        }
    }

    pub fn from_name(name: &str) -> Option<Scenario> {
        Scenario::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// What a scenario asks of the ring once it has settled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probe {
    /// Type `Store` of a new file at a random member (the responsible
    /// peer must accept it and get the file), then `Request` it from
    /// another (it must be answered).
    StoreAndRequest,
    /// Type `Request` of a file whose hash is this position at a random
    /// member: it must be answered.
    RequestAt(u8),
}

/// The churn of a churn scenario, and the lookups typed during it.
#[derive(Clone, Debug)]
pub struct Churn {
    pub start: Duration,
    pub window: Duration,
    /// When each lookup is typed, in time order.
    pub lookups: Vec<Duration>,
}

/// Everything a run needs to know about its scenario.
#[derive(Clone, Debug)]
pub struct Plan {
    pub scenario: Scenario,
    /// The initial ring, in ring order.
    pub ring: Vec<PeerId>,
    pub successor_count: usize,
    pub ping_interval: Duration,
    pub network: NetworkConfig,
    pub faults: Vec<(Duration, Fault)>,
    pub probes: Vec<Probe>,
    pub keeps: Vec<Keep>,
    /// From when no gap may appear in the ring.
    pub no_gap_from: Option<Duration>,
    pub checks_false_deaths: bool,
    /// Random kills and quits leave at least this many members.
    pub min_live: usize,
    /// Set for the churn scenarios only.
    pub churn: Option<Churn>,
    /// `--replicas` and `--handover` of every peer: 1 and no handover, as
    /// in the course, but in the replica scenarios.
    pub replicas: usize,
    pub handover: bool,
    /// The ring's files: how many are stored from random peers before the
    /// faults, and whether one lost is a violation (it is not where the
    /// faults break the assumption, or at K = 1).
    pub ring_files: usize,
    pub losses_are_violations: bool,
    /// The share of the peers killed at one moment, in
    /// `ReplicasKFailures`, for the report.
    pub killed_share: Option<f64>,
}

/// When the stores of the ring's files are typed, spread over a second so
/// that no peer has them all under way at once.
pub const RING_STORES_AT: Duration = WARMUP;
pub const RING_STORES_SPREAD: Duration = Duration::from_secs(1);

/// The first fault of a replica scenario comes this long after the
/// stores began: time for every store to arrive and be replicated (a
/// store takes milliseconds, a replica one placement round of half an
/// interval), with room to spare.
pub const RING_FILES_SETTLE: Duration = Duration::from_secs(3);

/// The shares of peers killed at once in `ReplicasKFailures`.
pub const KILLED_SHARES: [f64; 3] = [0.1, 0.2, 0.3];

impl Plan {
    /// Plans one run of `scenario` on a ring of `peers` peers (the
    /// teaching ring at 7).
    pub fn build(scenario: Scenario, peers: usize, rng: &mut Rng) -> Plan {
        let peers = peers.clamp(4, 256);
        let ring = if peers == TEACHING_RING.len() {
            TEACHING_RING.iter().copied().map(PeerId).collect()
        } else {
            random_ring(peers, rng)
        };
        let teaching = peers == TEACHING_RING.len();
        let mut network = NetworkConfig::default();
        if rng.chance(0.5) {
            network.duplicate_rate = 0.01;
        }
        let mut plan = Plan {
            scenario,
            ring,
            successor_count: 2,
            ping_interval: PING_INTERVAL,
            network,
            faults: Vec::new(),
            probes: vec![Probe::StoreAndRequest; 3],
            keeps: Vec::new(),
            no_gap_from: None,
            checks_false_deaths: true,
            min_live: 4,
            churn: None,
            replicas: 1,
            handover: false,
            ring_files: 0,
            losses_are_violations: false,
            killed_share: None,
        };
        let n = plan.ring.len();
        let at = |i: usize| plan.ring[i % n];
        let start = rng.index(n);
        // The first fault comes at a random phase of the ping rounds, which
        // all peers of the initial ring start together.
        let fault_at = WARMUP + rng.duration_between(Duration::ZERO, PING_INTERVAL);
        match scenario {
            Scenario::AdjacentKills => {
                let (a, b) = if teaching {
                    (PeerId(8), PeerId(9))
                } else {
                    (at(start), at(start + 1))
                };
                plan.faults.push((fault_at, Fault::Kill(a)));
                plan.faults.push((fault_at, Fault::Kill(b)));
            }
            Scenario::RestartAfter300Ms | Scenario::RestartAfter1S | Scenario::RestartAfter2S => {
                let delay = match scenario {
                    Scenario::RestartAfter300Ms => Duration::from_millis(300),
                    Scenario::RestartAfter1S => Duration::from_secs(1),
                    _ => Duration::from_secs(2),
                };
                let victim = if teaching { PeerId(8) } else { at(start) };
                let when = fault_at;
                plan.faults.push((when, Fault::Kill(victim)));
                plan.faults.push((when + delay, Fault::Restart(victim)));
            }
            Scenario::ForgedJoin => {
                let (ghost, target) = if teaching {
                    (PeerId(10), PeerId(4))
                } else {
                    (unused_id(&plan.ring, rng), at(start))
                };
                let request = Request::Join {
                    newcomer: ghost,
                    sender: ghost,
                    hops: 0,
                };
                plan.faults.push((
                    fault_at,
                    Fault::Forge {
                        at: target,
                        request,
                    },
                ));
                plan.probes.push(Probe::RequestAt(ghost.0));
            }
            Scenario::ForgedLeave => {
                let (target, leaver, successors) = if teaching {
                    (PeerId(5), PeerId(8), vec![PeerId(9), PeerId(14)])
                } else {
                    (at(start), at(start + 1), vec![at(start + 2), at(start + 3)])
                };
                let request = Request::Leave {
                    from: leaver,
                    successors,
                };
                plan.faults.push((
                    fault_at,
                    Fault::Forge {
                        at: target,
                        request,
                    },
                ));
                plan.keeps.push(Keep {
                    peer: target,
                    successor: leaver,
                    from: fault_at,
                });
            }
            Scenario::FreezeResume => {
                let victim = if teaching { PeerId(8) } else { at(start) };
                let duration = rng.duration_between(Duration::from_secs(4), Duration::from_secs(6));
                plan.faults.push((
                    fault_at,
                    Fault::Freeze {
                        peer: victim,
                        duration,
                    },
                ));
            }
            Scenario::ChurnSlow | Scenario::ChurnMedium | Scenario::ChurnFast => {
                let per_second = match scenario {
                    Scenario::ChurnSlow => 0.3,
                    Scenario::ChurnMedium => 1.0,
                    _ => 3.0,
                };
                plan.successor_count = 2 + rng.index(2);
                plan.min_live = plan.successor_count + 2;
                plan.faults = churn(fault_at, per_second, rng);
                plan.churn = Some(Churn {
                    start: fault_at,
                    window: FAULT_WINDOW,
                    lookups: lookup_times(fault_at, FAULT_WINDOW, plan.ping_interval, rng),
                });
            }
            Scenario::AdjacentKillsWide => {
                plan.successor_count = 3 + rng.index(2);
                plan.min_live = plan.successor_count + 2;
                let run = plan.successor_count - 1;
                let first_victim = if teaching { 5 } else { start };
                for step in 0..run {
                    plan.faults
                        .push((fault_at, Fault::Kill(at(first_victim + step))));
                }
                plan.no_gap_from = Some(fault_at);
            }
            Scenario::PartitionHeals => {
                let groups = split_in_two(&plan.ring, rng);
                let duration = rng.duration_between(Duration::from_secs(2), Duration::from_secs(8));
                plan.faults.push((fault_at, Fault::Partition(groups)));
                plan.faults.push((fault_at + duration, Fault::Heal));
            }
            Scenario::DatagramLoss => {
                let rate = 0.05 + 0.25 * rng.unit();
                plan.checks_false_deaths = false;
                plan.faults.push((fault_at, Fault::SetLoss(rate)));
                let kills = 1 + rng.index(2);
                for _ in 0..kills {
                    let when = fault_at
                        + rng.duration_between(Duration::from_secs(1), Duration::from_secs(8));
                    plan.faults.push((when, Fault::KillRandom));
                }
                plan.faults
                    .push((fault_at + FAULT_WINDOW, Fault::SetLoss(0.0)));
            }
            Scenario::StaggeredStart => plan_staggered_start(&mut plan, rng),
            Scenario::ReplicasKill
            | Scenario::ReplicasAdjacentKills
            | Scenario::ReplicasJoinQuit
            | Scenario::ReplicasChurn
            | Scenario::ReplicasKFailures => plan_replicas(&mut plan, start, rng),
        }
        // The faults are applied in time order; a stable sort keeps the
        // order of faults planned for the same instant.
        plan.faults.sort_by_key(|(at, _)| *at);
        plan
    }
}

/// The ping interval of `StaggeredStart`: the course's.
pub const STAGGERED_START_INTERVAL: Duration = Duration::from_secs(30);

/// The peers of `StaggeredStart` all start within this long, at least the
/// first and at most the second (each seed draws one): a person starting
/// seven terminals, or a script starting its peers one by one.
pub const START_WINDOW: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(8));

/// Plans `StaggeredStart`: the first peer starts with the run, the others
/// evenly spread over the start window, in ring order from a random peer
/// (as `make run-ring` does) or, for half the seeds, in a random order,
/// where a successor may start the whole window after its predecessor.
fn plan_staggered_start(plan: &mut Plan, rng: &mut Rng) {
    plan.ping_interval = STAGGERED_START_INTERVAL;
    let window = rng.duration_between(START_WINDOW.0, START_WINDOW.1);
    let mut order = plan.ring.clone();
    if rng.chance(0.5) {
        rng.shuffle(&mut order);
    } else {
        let first = rng.index(order.len());
        order.rotate_left(first);
    }
    let last = (order.len() - 1).max(1) as u32;
    for (index, &peer) in order.iter().enumerate().skip(1) {
        plan.faults
            .push((window * index as u32 / last, Fault::Start(peer)));
    }
}

/// How long the churn of `ReplicasChurn` lasts: long enough for a few
/// departures, which come at least a repair window apart.
pub const REPLICA_CHURN_WINDOW: Duration = Duration::from_secs(15);

/// How many churn events `ReplicasChurn` and `ReplicasJoinQuit` plan a
/// second, on average, before departures too close together are dropped.
const REPLICA_CHURN_RATE: f64 = 1.0;
const JOIN_QUIT_RATE: f64 = 0.5;

/// How many times `ReplicasAdjacentKills` kills its K - 1 adjacent peers.
const ADJACENT_KILL_ROUNDS: u32 = 3;

/// Plans a replica scenario (see [`Scenario::ReplicasKill`] and the ones
/// after it): the seed chooses K, the files are stored before the faults,
/// and the faults keep to the assumption but in `ReplicasKFailures`.
fn plan_replicas(plan: &mut Plan, start: usize, rng: &mut Rng) {
    let scenario = plan.scenario;
    let n = plan.ring.len();
    let at = |i: usize| plan.ring[i % n];
    plan.replicas = match scenario {
        Scenario::ReplicasKill | Scenario::ReplicasAdjacentKills => 2 + rng.index(2),
        _ => 1 + rng.index(3),
    };
    plan.handover = true;
    // R >= K - 1 keeps a peer's replica holders in its list; R = 3 at
    // K = 3, and everywhere in `ReplicasKFailures`, whose mass kills would
    // otherwise cut the ring as well as lose files.
    plan.successor_count = if plan.replicas == 3 || scenario == Scenario::ReplicasKFailures {
        3
    } else {
        2
    };
    plan.min_live = plan.successor_count + 2;
    plan.ring_files = 2 * n;
    // The settled ring's stores and requests are left to the other
    // scenarios: here the ring's own files are the probes, and the run
    // ends soon after the placement deadline.
    plan.probes.clear();
    plan.losses_are_violations = match scenario {
        Scenario::ReplicasKFailures => false,
        Scenario::ReplicasChurn => plan.replicas >= 2,
        _ => true,
    };
    let window = repair_window(plan);
    let fault_at = RING_STORES_AT
        + RING_FILES_SETTLE
        + rng.duration_between(Duration::ZERO, plan.ping_interval);
    match scenario {
        Scenario::ReplicasKill => plan.faults.push((fault_at, Fault::Kill(at(start)))),
        Scenario::ReplicasAdjacentKills => {
            // Each round kills the K - 1 peers after a random one; the
            // pause between rounds is longer than the repair window.
            let pause = window + Duration::from_secs(1);
            for round in 0..ADJACENT_KILL_ROUNDS {
                let when = fault_at + pause * round;
                let first = rng.index(n);
                for step in 0..plan.replicas - 1 {
                    plan.faults.push((when, Fault::Kill(at(first + step))));
                }
            }
        }
        Scenario::ReplicasJoinQuit => {
            plan.faults = spaced_churn(
                fault_at,
                FAULT_WINDOW,
                JOIN_QUIT_RATE,
                &[Fault::JoinRandom, Fault::QuitRandom],
                None,
                rng,
            );
        }
        Scenario::ReplicasChurn => {
            // Departures (kills and quits) at least a repair window apart
            // at every K, so that one churn process serves all three:
            // within the assumption at K >= 2, and the plain loss at K = 1.
            plan.faults = spaced_churn(
                fault_at,
                REPLICA_CHURN_WINDOW,
                REPLICA_CHURN_RATE,
                &[
                    Fault::JoinRandom,
                    Fault::JoinRandom,
                    Fault::KillRandom,
                    Fault::QuitRandom,
                ],
                Some(window),
                rng,
            );
            plan.churn = Some(Churn {
                start: fault_at,
                window: REPLICA_CHURN_WINDOW,
                lookups: lookup_times(fault_at, REPLICA_CHURN_WINDOW, plan.ping_interval, rng),
            });
        }
        _ => {
            let share = KILLED_SHARES[rng.index(KILLED_SHARES.len())];
            plan.killed_share = Some(share);
            let most = n.saturating_sub(plan.min_live).max(1);
            let count = ((share * n as f64).round() as usize).clamp(1, most);
            let mut victims = plan.ring.clone();
            rng.shuffle(&mut victims);
            for &victim in victims.iter().take(count) {
                plan.faults.push((fault_at, Fault::Kill(victim)));
            }
        }
    }
}

/// The repair window of a replica scenario as planned: the bound on
/// placement after one kill (`invariants::placement_bound`).
pub fn repair_window(plan: &Plan) -> Duration {
    let kill = [(Duration::ZERO, Fault::Kill(PeerId(0)))];
    let convergence = convergence_bound(&kill, plan.successor_count, plan.ping_interval);
    placement_bound(convergence, plan.ping_interval, most_placements(plan))
}

/// The most placements one peer may have to make after a fault: K times
/// the files of K + 1 arcs (its own, its K - 1 predecessors' and one more,
/// merged by a failure), taking an arc to hold twice its average share of
/// the files, since arcs are uneven.
pub fn most_placements(plan: &Plan) -> usize {
    let per_arc = plan.ring_files.div_ceil(plan.ring.len().max(1));
    plan.replicas * 2 * per_arc * (plan.replicas + 1)
}

/// Churn of the given kinds at `per_second` events a second on average
/// over `window` from `start`. With `spacing`, a departure (a kill or a
/// quit) that would come within `spacing` of the one before is dropped.
fn spaced_churn(
    start: Duration,
    window: Duration,
    per_second: f64,
    kinds: &[Fault],
    spacing: Option<Duration>,
    rng: &mut Rng,
) -> Vec<(Duration, Fault)> {
    let mut faults = Vec::new();
    let mut at = 0.0;
    let mut last_departure: Option<Duration> = None;
    loop {
        at += -(1.0 - rng.unit()).ln() / per_second;
        if at >= window.as_secs_f64() {
            return faults;
        }
        let when = start + Duration::from_secs_f64(at);
        let fault = kinds[rng.index(kinds.len())].clone();
        let departure = matches!(fault, Fault::KillRandom | Fault::QuitRandom);
        if departure {
            if let (Some(spacing), Some(last)) = (spacing, last_departure)
                && when < last + spacing
            {
                continue;
            }
            last_departure = Some(when);
        }
        faults.push((when, fault));
    }
}

/// `count` distinct random identities, in ring order.
fn random_ring(count: usize, rng: &mut Rng) -> Vec<PeerId> {
    let mut ids: Vec<u8> = (0..=255).collect();
    rng.shuffle(&mut ids);
    let mut ring: Vec<PeerId> = ids.into_iter().take(count).map(PeerId).collect();
    ring.sort();
    ring
}

/// An identity that is not in the ring, if there is one.
fn unused_id(ring: &[PeerId], rng: &mut Rng) -> PeerId {
    let unused: Vec<PeerId> = (0..=255u8)
        .map(PeerId)
        .filter(|id| !ring.contains(id))
        .collect();
    if unused.is_empty() {
        // A full ring: the forged newcomer is then a duplicate, which is
        // worth testing too.
        return ring[rng.index(ring.len())];
    }
    rng.pick(&unused)
}

/// Random churn over the fault window from `start`: events at random times, `per_second`
/// of them a second on average, each a kill, join, quit or restart.
fn churn(start: Duration, per_second: f64, rng: &mut Rng) -> Vec<(Duration, Fault)> {
    let mut faults = Vec::new();
    let mut at = 0.0;
    loop {
        // Exponential gaps make a Poisson process: no two runs have the
        // same rhythm.
        at += -(1.0 - rng.unit()).ln() / per_second;
        if at >= FAULT_WINDOW.as_secs_f64() {
            return faults;
        }
        let fault = match rng.below(10) {
            0..=2 => Fault::KillRandom,
            3..=5 => Fault::JoinRandom,
            6..=7 => Fault::QuitRandom,
            _ => Fault::RestartRandom,
        };
        faults.push((start + Duration::from_secs_f64(at), fault));
    }
}

/// When the lookups of a churn are typed: `LOOKUPS_PER_INTERVAL` an
/// interval on average, at random times over the window from `start`.
fn lookup_times(
    start: Duration,
    window: Duration,
    interval: Duration,
    rng: &mut Rng,
) -> Vec<Duration> {
    let count =
        (window.as_secs_f64() / interval.as_secs_f64()).round() as u32 * LOOKUPS_PER_INTERVAL;
    let mut times: Vec<Duration> = (0..count)
        .map(|_| start + rng.duration_between(Duration::ZERO, window))
        .collect();
    times.sort();
    times
}

/// Two groups: either two arcs of the ring (the cut of a network between
/// two sites) or a random half each (the worst case for a ring).
fn split_in_two(ring: &[PeerId], rng: &mut Rng) -> Vec<Vec<PeerId>> {
    let n = ring.len();
    if rng.chance(0.5) {
        let start = rng.index(n);
        let length = 1 + rng.index(n - 1);
        let first: Vec<PeerId> = (0..length).map(|i| ring[(start + i) % n]).collect();
        let second: Vec<PeerId> = ring
            .iter()
            .copied()
            .filter(|p| !first.contains(p))
            .collect();
        vec![first, second]
    } else {
        let mut shuffled = ring.to_vec();
        rng.shuffle(&mut shuffled);
        let half = n / 2;
        vec![shuffled[..half].to_vec(), shuffled[half..].to_vec()]
    }
}
