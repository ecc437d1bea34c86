//! The running peer: sockets, threads and the clock around the pure
//! [`Peer`] state machine.
//!
//! One thread, the event loop in [`run`], owns the `Peer`. Every other
//! thread (the UDP receiver, the TCP listener and its connections, the
//! stdin reader, the watch, request and file-transfer threads) only turns
//! what it sees into an [`Input`] and hands it to the [`Inbox`]. The loop
//! takes inputs one at a time, asks the `Peer` what to do, and does it,
//! without ever waiting on anything but the inbox: printing goes through a
//! queue, and everything that waits on another peer runs on a thread of its
//! own. Because only the loop touches the state, there are no locks around
//! it and events are handled in the order they arrived.

mod requests;
mod transfers;

pub use requests::{MAX_IN_FLIGHT, MAX_IN_FLIGHT_PER_PEER, MAX_QUEUED_PER_PEER};
pub use transfers::MAX_TRANSFERS;

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, UdpSocket};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use crate::config::{Config, Start};
use crate::console;
use crate::files::Directory;
use crate::inbox::{INBOX_CAPACITY, Inbox, Input, ReplySlot};
use crate::message::Datagram;
use crate::output::{Kind, Printer, report, report_diagnostic};
use crate::peer::{Action, ConnectionId, Event, NoAnswer, Peer, PeerConfig, Token};
use crate::ring::PeerId;
use crate::tcp::{self, EXCHANGE_TIMEOUT};
use crate::udp;
use crate::watch::Watch;

use requests::Requests;
use transfers::Transfers;

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
        /// A newcomer's port is usually taken by a peer of the same
        /// identity, which deserves its own explanation.
        joining: bool,
        /// Started by the lab's `make` targets, whose settings the hint
        /// names instead of the options; see [`LAUNCHED_BY`].
        by_make: bool,
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
                joining: true,
                by_make,
            } => write!(
                f,
                "peer {peer} cannot join: its {protocol} port {port} is already in use, most \
                 likely by a peer {peer} that is already in the ring; choose another identity{} \
                 (or, if another program holds the port, another base port with {})",
                if *by_make { " with PEER=<N>" } else { "" },
                base_port_setting(*by_make)
            ),
            StartError::PortInUse {
                peer,
                port,
                protocol,
                joining: false,
                by_make,
            } => write!(
                f,
                "{protocol} port {port} for peer {peer} is already in use (is a ring still \
                 running? `make stop` stops one started by `make run-ring`); pick another \
                 base port with {}, and peer {peer} will use port N + {peer}",
                base_port_setting(*by_make)
            ),
            StartError::Io { doing, source } => write!(f, "could not {doing}: {source}"),
        }
    }
}

impl std::error::Error for StartError {}

/// The environment variable that says who started the peer: `make` when
/// the lab's `make` targets did (scripts/ring.sh sets it), so that hints
/// name make's settings, which the user typed, rather than the options.
pub const LAUNCHED_BY: &str = "P2P_LAUNCHED_BY";

fn launched_by_make() -> bool {
    std::env::var_os(LAUNCHED_BY).is_some_and(|who| who == "make")
}

/// How the user chooses another base port, in the words of what started
/// the peer.
fn base_port_setting(by_make: bool) -> &'static str {
    if by_make {
        "make run-ring BASE_PORT=<N>"
    } else {
        "--base-port <N>"
    }
}

/// How long the last lines may take to reach a slow reader when the peer
/// exits; a reader that has stopped reading cannot hold the exit up longer.
pub const EXIT_FLUSH: Duration = Duration::from_secs(1);

/// Binds the peer's ports, starts its threads and runs the event loop until
/// the peer exits. Returns the exit code.
pub fn run(config: &Config) -> Result<u8, StartError> {
    let peer_id = config.peer;
    let address = peer_address(peer_id, config.base_port);
    let bind_error = |protocol: &'static str| {
        move |source: io::Error| match source.kind() {
            io::ErrorKind::AddrInUse => StartError::PortInUse {
                peer: peer_id,
                port: address.port(),
                protocol,
                joining: matches!(config.start, Start::Join { .. }),
                by_make: launched_by_make(),
            },
            _ => StartError::Io {
                doing: format!("open {protocol} port {} for peer {peer_id}", address.port()),
                source,
            },
        }
    };
    let udp_socket = UdpSocket::bind(address).map_err(bind_error("UDP"))?;
    let tcp_listener = TcpListener::bind(address).map_err(bind_error("TCP"))?;

    let thread_error = |source| StartError::Io {
        doing: "start a thread".to_string(),
        source,
    };
    let (inbox, received) = Inbox::new(INBOX_CAPACITY);
    let receive_socket = udp_socket.try_clone().map_err(|source| StartError::Io {
        doing: "share the UDP socket".to_string(),
        source,
    })?;
    udp::spawn_receiver(receive_socket, inbox.clone()).map_err(thread_error)?;
    tcp::spawn_listener(tcp_listener, inbox.clone()).map_err(thread_error)?;
    console::spawn_stdin_reader(inbox.clone(), config.wording).map_err(thread_error)?;

    let printer = Printer::stdout(config.wording);
    let now = Instant::now();
    let peer_config = PeerConfig {
        id: peer_id,
        ping_interval: config.ping_interval,
        successor_count: config.successor_count,
        replicas: config.replicas,
        handover: config.handover,
    };
    let mut node = Node {
        me: peer_id,
        udp_socket,
        base_port: config.base_port,
        inbox: inbox.clone(),
        printer: printer.clone(),
        replies: HashMap::new(),
        next_connection: 0,
        watches: HashMap::new(),
        requests: Requests::new(config.base_port, inbox.clone()),
        transfers: Transfers::new(config, inbox, now),
        made_up: VecDeque::new(),
        directory: Directory::new(config.dir.clone()).keeping_replicas(config.looks_after_files()),
    };
    let directory = Box::new(node.directory.clone());
    let code = match config.start {
        Start::Init { first, second } => {
            let mut peer = Peer::new(peer_config, &[first, second], now).with_files(directory);
            node.run_loop(&mut peer, &received)
        }
        Start::Join { known } => {
            let (peer, actions) = Peer::joining(peer_config, known, now);
            let mut peer = peer.with_files(directory);
            match node.carry_out(actions) {
                Some(code) => code,
                None => node.run_loop(&mut peer, &received),
            }
        }
    };
    printer.flush(EXIT_FLUSH);
    Ok(code)
}

/// The input and output side of a running peer: what the event loop needs
/// to carry out the state machine's actions.
struct Node {
    me: PeerId,
    udp_socket: UdpSocket,
    base_port: u16,
    /// A sender into the event loop's own inbox, for threads it starts.
    inbox: Inbox,
    printer: Printer,
    /// The way back to each incoming request not yet answered, and when to
    /// give up on it (its connection's thread has given up by then).
    replies: HashMap<ConnectionId, (ReplySlot, Instant)>,
    next_connection: u64,
    /// The watch connection to each successor.
    watches: HashMap<PeerId, Watch>,
    requests: Requests,
    transfers: Transfers,
    /// Events the node makes up itself, such as the failure of a request it
    /// could not start. They are handled before the next input, and never
    /// go through the inbox: the loop must not wait on its own inbox.
    made_up: VecDeque<Event>,
    /// The peer's directory, for the renames and removals the state machine
    /// asks for: quick file-system calls, done on the event loop.
    directory: Directory,
}

impl Node {
    /// Hands every input and every deadline to the peer until it exits;
    /// returns the exit code.
    fn run_loop(&mut self, peer: &mut Peer, received: &Receiver<Input>) -> u8 {
        loop {
            if let Some(event) = self.made_up.pop_front() {
                if let Some(code) = self.step(peer, event) {
                    return code;
                }
                continue;
            }
            // Tick first whenever a deadline has passed, so that a steady
            // stream of messages can never starve the timers; then take at
            // most one waiting input before looking at the clock again, so
            // that timers can never starve the inputs either.
            let now = Instant::now();
            let deadline = peer.next_deadline();
            let input = if deadline.is_some_and(|at| now >= at) {
                if let Some(code) = self.step(peer, Event::Tick) {
                    return code;
                }
                match received.try_recv() {
                    Ok(input) => input,
                    Err(_) => continue,
                }
            } else {
                let waited = match deadline {
                    Some(at) => received.recv_timeout(at - now),
                    None => received.recv().map_err(|_| RecvTimeoutError::Disconnected),
                };
                match waited {
                    Ok(input) => input,
                    Err(RecvTimeoutError::Timeout) => continue,
                    // The node holds a sender itself, so the inbox stays open.
                    Err(RecvTimeoutError::Disconnected) => return 1,
                }
            };
            let event = self.accept(input);
            if let Some(code) = self.step(peer, event) {
                return code;
            }
        }
    }

    /// Turns an input into the event the peer sees, doing the node's own
    /// bookkeeping on the way.
    fn accept(&mut self, input: Input) -> Event {
        match input {
            Input::Event(event) => event,
            Input::Request { request, reply } => {
                let connection = ConnectionId(self.next_connection);
                self.next_connection += 1;
                let expires_at = Instant::now() + EXCHANGE_TIMEOUT;
                self.replies.insert(connection, (reply, expires_at));
                Event::Request {
                    request,
                    connection,
                }
            }
            Input::Answered { to, token, reply } => {
                let failed = self.requests.finished(to);
                self.fail_requests(failed);
                Event::Replied { token, reply }
            }
        }
    }

    /// Hands one event to the peer and carries out what it asks, then
    /// brings the watch connections in line with its successors, which the
    /// event may have changed. Returns an exit code if the peer stops.
    fn step(&mut self, peer: &mut Peer, event: Event) -> Option<u8> {
        if let Event::TransferFinished { direction, .. } = &event {
            self.transfers.finished(*direction);
        }
        let code = self.carry_out(peer.handle(event, Instant::now()));
        let now = Instant::now();
        self.replies.retain(|_, (_, expires_at)| *expires_at > now);
        self.keep_watching(&peer.watched_successors());
        code
    }

    /// Does each action in order. Returns an exit code if one of them asks
    /// the peer to stop.
    fn carry_out(&mut self, actions: Vec<Action>) -> Option<u8> {
        for action in actions {
            match action {
                Action::Print(line) => self.printer.print(&line),
                Action::Warn(warning) => {
                    report_diagnostic(warning.kind, format_args!("{}", warning.text))
                }
                Action::SendDatagram { to, datagram } => {
                    self.send_datagram(peer_address(to, self.base_port), &datagram)
                }
                Action::AnswerDatagram { to, datagram } => self.send_datagram(to, &datagram),
                Action::Send { to, request, token } => {
                    let failed = self.requests.send(to, request, token);
                    self.fail_requests(failed);
                }
                Action::Reply { connection, reply } => {
                    if let Some((slot, _)) = self.replies.remove(&connection) {
                        let _ = slot.send(reply);
                    }
                }
                Action::SendFile { to, file, purpose } => {
                    let failed = self.transfers.send_file(to, file, purpose);
                    self.made_up.extend(failed);
                }
                Action::ReceiveFile {
                    from,
                    file,
                    size,
                    purpose,
                    connection,
                } => {
                    let reply = self.replies.remove(&connection).map(|(slot, _)| slot);
                    let failed = self
                        .transfers
                        .receive_file(from, file, size, purpose, reply);
                    self.made_up.extend(failed);
                }
                Action::Relabel { file, to } => {
                    if let Err(error) = self.directory.relabel(file, to) {
                        report!(Kind::Transfer, "{error}");
                    }
                }
                Action::Discard { file, held } => {
                    if let Err(error) = self.directory.discard(file, held) {
                        report!(Kind::Transfer, "{error}");
                    }
                }
                Action::Exit { code } => return Some(code),
            }
        }
        None
    }

    /// Requests that could not even start are answered "no answer" at once.
    fn fail_requests(&mut self, tokens: Vec<Token>) {
        if !tokens.is_empty() {
            report!(
                Kind::Busy,
                "did not send {} request(s): too many are waiting for the same peer",
                tokens.len()
            );
        }
        self.made_up
            .extend(tokens.into_iter().map(|token| Event::Replied {
                token,
                reply: Err(NoAnswer::Silent),
            }));
    }

    fn send_datagram(&self, address: SocketAddr, datagram: &Datagram) {
        // A lost datagram is normal for UDP; the ping rules already cope
        // with one that never arrives.
        if let Err(error) = self.udp_socket.send_to(&datagram.to_bytes(), address) {
            report!(
                Kind::Delivery,
                "could not send {datagram} to {address}: {error}"
            );
        }
    }

    /// Keeps one watch connection open to each successor in `successors`,
    /// and none to anyone else. Each watch keeps itself up; see `watch.rs`.
    fn keep_watching(&mut self, successors: &[PeerId]) {
        let gone: Vec<PeerId> = self
            .watches
            .keys()
            .filter(|peer| !successors.contains(peer))
            .copied()
            .collect();
        for peer in gone {
            if let Some(watch) = self.watches.remove(&peer) {
                watch.stop();
            }
        }
        for &peer in successors {
            if !self.watches.contains_key(&peer) {
                let address = peer_address(peer, self.base_port);
                let watch = Watch::start(self.me, peer, address, self.inbox.clone());
                self.watches.insert(peer, watch);
            }
        }
    }
}
