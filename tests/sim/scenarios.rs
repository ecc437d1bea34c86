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
use super::invariants::Keep;
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
    /// Datagrams lost at a seeded rate while peers are killed.
    DatagramLoss,
}

impl Scenario {
    pub const ALL: [Scenario; 13] = [
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
}

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
        }
        // The faults are applied in time order; a stable sort keeps the
        // order of faults planned for the same instant.
        plan.faults.sort_by_key(|(at, _)| *at);
        plan
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
