//! The simulated network: how long a message takes, whether it arrives,
//! and who can reach whom.
//!
//! The simulator does not model bytes on a wire. A datagram is either
//! delivered whole, after a latency drawn for it alone (so two datagrams
//! sent one after the other may arrive in the other order), or lost, or
//! delivered twice. A TCP exchange is never lost or reordered, as TCP
//! promises, but it can fail: refused by a dead process, or left without an
//! answer by a frozen or unreachable one.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

use p2p::ring::PeerId;

use super::rng::Rng;

/// The ports of the simulated ring start here, as `--base-port` would say.
/// Only the addresses of datagrams use it: a peer answers a ping to the
/// address it came from, and the simulator maps that address back to the
/// peer.
pub const BASE_PORT: u16 = 20_000;

/// How the network behaves in one run.
#[derive(Clone, Debug)]
pub struct NetworkConfig {
    /// Every message takes between these two latencies, evenly spread.
    pub latency_min: Duration,
    pub latency_max: Duration,
    /// The share of datagrams lost. Changed during a run by the
    /// `SetLoss` fault.
    pub loss_rate: f64,
    /// The share of datagrams delivered twice.
    pub duplicate_rate: f64,
    /// How many datagrams a frozen peer's socket buffer holds; the rest
    /// are dropped, as the kernel drops them when a receive buffer is full.
    pub socket_buffer: usize,
    /// How long after a process ends its watchers hear that its port
    /// refused them: the watch connection closes, and the reconnection is
    /// refused, within a few milliseconds.
    pub port_closed_min: Duration,
    pub port_closed_max: Duration,
    /// How long a file takes to move once the receiver is ready.
    pub transfer_min: Duration,
    pub transfer_max: Duration,
}

impl Default for NetworkConfig {
    fn default() -> NetworkConfig {
        NetworkConfig {
            latency_min: Duration::from_micros(50),
            latency_max: Duration::from_millis(2),
            loss_rate: 0.0,
            duplicate_rate: 0.0,
            socket_buffer: 256,
            port_closed_min: Duration::from_millis(1),
            port_closed_max: Duration::from_millis(5),
            transfer_min: Duration::from_millis(5),
            transfer_max: Duration::from_millis(50),
        }
    }
}

impl NetworkConfig {
    pub fn latency(&self, rng: &mut Rng) -> Duration {
        rng.duration_between(self.latency_min, self.latency_max)
    }

    pub fn port_closed_delay(&self, rng: &mut Rng) -> Duration {
        rng.duration_between(self.port_closed_min, self.port_closed_max)
    }

    pub fn transfer_time(&self, rng: &mut Rng) -> Duration {
        rng.duration_between(self.transfer_min, self.transfer_max)
    }
}

/// The address a peer's datagrams come from.
pub fn address_of(peer: PeerId) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, peer.port(BASE_PORT)))
}

/// The peer at an address, if it is one of the ring's.
pub fn peer_at(address: SocketAddr) -> Option<PeerId> {
    let offset = address.port().checked_sub(BASE_PORT)?;
    u8::try_from(offset).ok().map(PeerId)
}

/// Which peers can reach which. With no partition everyone reaches
/// everyone. A partition puts each peer in a numbered group; peers of
/// different groups cannot reach each other, in either direction, until
/// the partition heals. A peer not named in any group (a newcomer started
/// during the partition) is in group 0.
#[derive(Clone, Debug, Default)]
pub struct Partition {
    /// The group of each peer, by identity; empty when there is no
    /// partition.
    groups: Vec<u8>,
}

impl Partition {
    /// A partition into the given groups of peers.
    pub fn split(groups: &[Vec<PeerId>]) -> Partition {
        let mut by_peer = vec![0u8; 256];
        for (number, group) in groups.iter().enumerate() {
            for peer in group {
                by_peer[usize::from(peer.0)] = number as u8;
            }
        }
        Partition { groups: by_peer }
    }

    pub fn heal(&mut self) {
        self.groups.clear();
    }

    pub fn is_active(&self) -> bool {
        !self.groups.is_empty()
    }

    pub fn reachable(&self, a: PeerId, b: PeerId) -> bool {
        self.groups.is_empty() || self.groups[usize::from(a.0)] == self.groups[usize::from(b.0)]
    }
}
