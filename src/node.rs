//! The running peer: sockets, threads and the clock around the pure
//! [`Peer`] state machine.
//!
//! One thread, the event loop in [`run`], owns the `Peer`. Every other
//! thread (the UDP receiver, the TCP listener, the stdin reader) only turns
//! what it sees into an [`Event`] and sends it down one channel. The loop
//! takes events one at a time, asks the `Peer` what to do, and does it.
//! Because only the loop touches the state, there are no locks around it and
//! events are handled in the order they arrived.

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, UdpSocket};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Instant;

use crate::config::{Config, Start};
use crate::console;
use crate::output::print_line;
use crate::peer::{Action, Destination, Event, Peer, Successors, Timing};
use crate::ring::PeerId;
use crate::tcp;
use crate::udp;

/// All peers of a ring run on this host, as in the course.
pub const HOST: Ipv4Addr = Ipv4Addr::LOCALHOST;

/// The address of a peer's UDP and TCP ports.
pub fn peer_address(peer: PeerId, base_port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(HOST, peer.port(base_port)))
}

/// Why a peer could not start.
#[derive(Debug)]
pub enum StartError {
    /// Another program holds the peer's port: usually a ring that is still
    /// running with the same base port.
    PortInUse {
        peer: PeerId,
        port: u16,
        protocol: &'static str,
    },
    /// Anything else the operating system refused.
    Io { doing: String, source: io::Error },
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::PortInUse {
                peer,
                port,
                protocol,
            } => write!(
                f,
                "{protocol} port {port} for peer {peer} is already in use (is a ring still \
                 running? `make stop` stops one started by `make run-ring`); pick another \
                 base port with --base-port <N>, and peer {peer} will use port N + {peer}"
            ),
            StartError::Io { doing, source } => write!(f, "could not {doing}: {source}"),
        }
    }
}

impl std::error::Error for StartError {}

/// Binds the peer's ports, starts its threads and runs the event loop until
/// the peer exits. Returns the exit code.
pub fn run(config: &Config) -> Result<i32, StartError> {
    let peer_id = config.peer;
    let address = peer_address(peer_id, config.base_port);
    let bind_error = |protocol: &'static str| {
        move |source: io::Error| match source.kind() {
            io::ErrorKind::AddrInUse => StartError::PortInUse {
                peer: peer_id,
                port: address.port(),
                protocol,
            },
            _ => StartError::Io {
                doing: format!("open {protocol} port {} for peer {peer_id}", address.port()),
                source,
            },
        }
    };
    let udp_socket = UdpSocket::bind(address).map_err(bind_error("UDP"))?;
    let tcp_listener = TcpListener::bind(address).map_err(bind_error("TCP"))?;

    let successors = match config.start {
        Start::Init { first, second } => Successors { first, second },
        Start::Join { .. } => {
            eprintln!("p2p: join is not implemented yet; start every peer with init");
            return Ok(1);
        }
    };
    let mut peer = Peer::new(
        peer_id,
        successors,
        Timing::new(config.ping_interval),
        Instant::now(),
    );

    let thread_error = |source| StartError::Io {
        doing: "start a thread".to_string(),
        source,
    };
    let (events_sender, events) = mpsc::channel();
    let receive_socket = udp_socket.try_clone().map_err(|source| StartError::Io {
        doing: "share the UDP socket".to_string(),
        source,
    })?;
    udp::spawn_receiver(receive_socket, events_sender.clone()).map_err(thread_error)?;
    tcp::spawn_listener(tcp_listener).map_err(thread_error)?;
    console::spawn_stdin_reader(events_sender).map_err(thread_error)?;

    let outbox = Outbox {
        udp_socket,
        base_port: config.base_port,
    };
    loop {
        // Tick first whenever a deadline has passed, so that a steady stream
        // of messages can never starve the timers.
        let now = Instant::now();
        if now >= peer.next_deadline() {
            if let Some(code) = outbox.carry_out(peer.handle(Event::Tick, now)) {
                return Ok(code);
            }
            continue;
        }
        let event = match events.recv_timeout(peer.next_deadline() - now) {
            Ok(event) => event,
            Err(RecvTimeoutError::Timeout) => continue,
            // The receiving threads hold the senders and run for the life of
            // the process; should they all end, the timers still run.
            Err(RecvTimeoutError::Disconnected) => {
                std::thread::sleep(peer.next_deadline() - now);
                continue;
            }
        };
        if let Some(code) = outbox.carry_out(peer.handle(event, Instant::now())) {
            return Ok(code);
        }
    }
}

/// What the event loop needs to carry out actions.
struct Outbox {
    udp_socket: UdpSocket,
    base_port: u16,
}

impl Outbox {
    /// Does each action in order. Returns an exit code if one of them asks
    /// the peer to stop.
    fn carry_out(&self, actions: Vec<Action>) -> Option<i32> {
        for action in actions {
            match action {
                Action::Print(line) => print_line(&line),
                Action::Warn(text) => eprintln!("p2p: {text}"),
                Action::SendDatagram { to, message } => {
                    let address = match to {
                        Destination::Peer(peer) => peer_address(peer, self.base_port),
                        Destination::Address(address) => address,
                    };
                    // A lost datagram is normal for UDP; the ping rules
                    // already cope with one that never arrives.
                    if let Err(error) = self.udp_socket.send_to(&message.to_bytes(), address) {
                        eprintln!("p2p: could not send {message} to {address}: {error}");
                    }
                }
                Action::Exit { code } => return Some(code),
            }
        }
        None
    }
}
