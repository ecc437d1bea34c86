//! The running peer: sockets, threads and the clock around the pure
//! [`Peer`] state machine.
//!
//! One thread, the event loop in [`run`], owns the `Peer`. Every other
//! thread (the UDP receiver, the TCP listener and its connections, the
//! stdin reader, the watch, request and file-transfer threads) only turns
//! what it sees into an [`Input`] and sends it down one channel. The loop
//! takes events one at a time, asks the `Peer` what to do, and does it.
//! Because only the loop touches the state, there are no locks around it and
//! events are handled in the order they arrived.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, UdpSocket};
use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::config::{Config, Start};
use crate::console;
use crate::files::{self, Directory, Offer, RECEIVER_LOG, SENDER_LOG};
use crate::message::{ErrorReason, Message, Purpose};
use crate::output::{diagnose, print_line};
use crate::peer::{Action, ConnectionId, Direction, Event, Peer, Source, Successors, Timing};
use crate::ring::{FileName, PeerId};
use crate::tcp::{self, Watch};
use crate::transfer::{self, SenderConfig, TimeoutRule, TransferLog};
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
        /// A newcomer's port is usually taken by a peer of the same
        /// identity, which deserves its own explanation.
        joining: bool,
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
            } => write!(
                f,
                "peer {peer} cannot join: its {protocol} port {port} is already in use, most \
                 likely by a peer {peer} that is already in the ring; choose another identity \
                 (or, if another program holds the port, another base port with --base-port <N>)"
            ),
            StartError::PortInUse {
                peer,
                port,
                protocol,
                joining: false,
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

/// A watch connection that has ended (it could not be made, or it closed
/// while its successor lives on) is opened again, but at most once this
/// long after the last attempt, so that a successor that is not running
/// yet does not cost a connection attempt on every event.
const WATCH_RETRY: Duration = Duration::from_secs(1);

/// What the other threads send to the event loop.
pub enum Input {
    /// Something for the state machine.
    Event(Event),
    /// A TCP request, with the way back to the connection it came on.
    Request {
        message: Message,
        reply: mpsc::Sender<Message>,
    },
}

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
    let (inputs, received) = mpsc::channel();
    let receive_socket = udp_socket.try_clone().map_err(|source| StartError::Io {
        doing: "share the UDP socket".to_string(),
        source,
    })?;
    udp::spawn_receiver(receive_socket, inputs.clone()).map_err(thread_error)?;
    tcp::spawn_listener(tcp_listener, inputs.clone()).map_err(thread_error)?;
    console::spawn_stdin_reader(inputs.clone()).map_err(thread_error)?;

    let timing = Timing::new(config.ping_interval);
    let now = Instant::now();
    let mut node = Node {
        me: peer_id,
        udp_socket,
        base_port: config.base_port,
        inputs,
        pending_replies: HashMap::new(),
        next_connection: 0,
        watches: HashMap::new(),
        started_at: now,
        transfers: TransferSettings::from_config(config),
        transfers_started: 0,
    };
    let directory = || Box::new(Directory::new(config.dir.clone()));
    let mut peer = match config.start {
        Start::Init { first, second } => {
            Peer::new(peer_id, Successors { first, second }, timing, now).with_files(directory())
        }
        Start::Join { known } => {
            let (peer, actions) = Peer::joining(peer_id, known, timing, now);
            if let Some(code) = node.carry_out(actions) {
                return Ok(code);
            }
            peer.with_files(directory())
        }
    };

    loop {
        // Tick first whenever a deadline has passed, so that a steady stream
        // of messages can never starve the timers; then take at most one
        // waiting input before looking at the clock again, so that timers
        // can never starve the inputs either.
        let now = Instant::now();
        let deadline = peer.next_deadline();
        let input = if deadline.is_some_and(|at| now >= at) {
            if let Some(code) = node.step(&mut peer, Event::Tick) {
                return Ok(code);
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
                // The loop holds a sender itself, so the channel stays open.
                Err(RecvTimeoutError::Disconnected) => return Ok(1),
            }
        };
        let event = match input {
            Input::Event(event) => event,
            Input::Request { message, reply } => node.accept_request(message, reply),
        };
        if let Some(code) = node.step(&mut peer, event) {
            return Ok(code);
        }
    }
}

/// How this peer sends files, from its command line.
struct TransferSettings {
    dir: PathBuf,
    mss: usize,
    drop_probability: f64,
    seed: u64,
    timeout: TimeoutRule,
}

impl TransferSettings {
    fn from_config(config: &Config) -> TransferSettings {
        let seed = config.seed.unwrap_or_else(|| {
            // Any seed will do when none is asked for; say which, so that a
            // surprising lossy run can be repeated.
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |elapsed| elapsed.subsec_nanos());
            let seed = u64::from(nanos) ^ u64::from(std::process::id());
            if config.drop_probability > 0.0 {
                diagnose!(
                    "dropping data segments with probability {}, seed {seed} (repeat with --seed {seed})",
                    config.drop_probability
                );
            }
            seed
        });
        TransferSettings {
            dir: config.dir.clone(),
            mss: config.mss,
            drop_probability: config.drop_probability,
            seed,
            timeout: config
                .fixed_timeout
                .map_or(TimeoutRule::Estimated, TimeoutRule::Fixed),
        }
    }
}

/// The input and output side of a running peer: what the event loop needs
/// to carry out the state machine's actions.
struct Node {
    me: PeerId,
    udp_socket: UdpSocket,
    base_port: u16,
    /// A sender into the event loop's own channel, for threads it starts.
    inputs: mpsc::Sender<Input>,
    /// The way back to each TCP request being handled.
    pending_replies: HashMap<ConnectionId, mpsc::Sender<Message>>,
    next_connection: u64,
    /// The watch connection to each successor, and when it was started.
    watches: HashMap<PeerId, (Watch, Instant)>,
    /// When the peer started: transfer logs count time from here.
    started_at: Instant,
    transfers: TransferSettings,
    /// How many transfers this peer has sent, so that each draws its own
    /// drops from the seed.
    transfers_started: u64,
}

impl Node {
    /// Hands one event to the peer and carries out what it asks, then
    /// brings the watch connections in line with its successors, which the
    /// event may have changed. Returns an exit code if the peer stops.
    fn step(&mut self, peer: &mut Peer, event: Event) -> Option<u8> {
        let code = self.carry_out(peer.handle(event, Instant::now()));
        // Answers not given while handling a request will never come.
        self.pending_replies.clear();
        self.keep_watching(&peer.watched_successors());
        code
    }

    /// Numbers a TCP request so the state machine can answer it.
    fn accept_request(&mut self, message: Message, reply: mpsc::Sender<Message>) -> Event {
        let id = ConnectionId(self.next_connection);
        self.next_connection += 1;
        self.pending_replies.insert(id, reply);
        Event::Received {
            message,
            source: Source::Connection(id),
        }
    }

    /// Does each action in order. Returns an exit code if one of them asks
    /// the peer to stop.
    fn carry_out(&mut self, actions: Vec<Action>) -> Option<u8> {
        for action in actions {
            match action {
                Action::Print(line) => print_line(&line),
                Action::Warn(text) => diagnose!("{text}"),
                Action::SendDatagram { to, message } => {
                    self.send_datagram(peer_address(to, self.base_port), &message)
                }
                Action::Send { to, message } => self.send_request(to, message),
                Action::Reply { to, message } => self.reply(to, message),
                Action::SendFile { to, file, purpose } => self.send_file(to, file, purpose),
                Action::ReceiveFile {
                    from,
                    file,
                    size,
                    purpose,
                    reply_to,
                } => self.receive_file(from, file, size, purpose, reply_to),
                Action::Exit { code } => return Some(code),
            }
        }
        None
    }

    fn reply(&mut self, to: Source, message: Message) {
        match to {
            Source::Datagram(address) => self.send_datagram(address, &message),
            Source::Connection(id) => {
                if let Some(reply) = self.pending_replies.remove(&id) {
                    let _ = reply.send(message);
                }
            }
        }
    }

    /// Offers a file of this peer's directory to a peer and sends it, on a
    /// thread of its own; the outcome comes back as an event.
    fn send_file(&mut self, to: PeerId, file: FileName, purpose: Purpose) {
        let settings = &self.transfers;
        let config = SenderConfig {
            mss: settings.mss,
            drop_probability: settings.drop_probability,
            seed: settings.seed.wrapping_add(self.transfers_started),
            timeout: settings.timeout,
            first_rtt: None,
        };
        self.transfers_started += 1;
        let directory = Directory::new(settings.dir.clone());
        let path = directory.stored_path(file);
        let log = TransferLog::append_to(&directory.log_path(SENDER_LOG), self.started_at);
        let offer = Offer {
            file,
            from: self.me,
            purpose,
        };
        let address = peer_address(to, self.base_port);
        let inputs = self.inputs.clone();
        self.spawn("file-sender", move || {
            let outcome = files::send_to_peer(&path, offer, address, config, log);
            let _ = inputs.send(Input::Event(Event::TransferFinished {
                file,
                peer: to,
                direction: Direction::Sent,
                purpose,
                outcome,
            }));
        });
    }

    /// Opens a socket for a file that `from` offers, tells it the port, and
    /// receives the file on a thread of its own.
    fn receive_file(
        &mut self,
        from: PeerId,
        file: FileName,
        size: u64,
        purpose: Purpose,
        reply_to: Source,
    ) {
        let socket = match UdpSocket::bind((HOST, 0)).and_then(|s| Ok((s.local_addr()?.port(), s)))
        {
            Ok((port, socket)) => {
                self.reply(reply_to, Message::Ready { port });
                socket
            }
            Err(error) => {
                diagnose!("cannot open a UDP socket to receive file {file}: {error}");
                let reason = ErrorReason::NotReady;
                self.reply(reply_to, Message::Error { reason });
                return;
            }
        };
        let directory = Directory::new(self.transfers.dir.clone());
        let final_path = directory.arrival_path(file, purpose);
        let mut log = TransferLog::append_to(&directory.log_path(RECEIVER_LOG), self.started_at);
        let inputs = self.inputs.clone();
        self.spawn("file-receiver", move || {
            let outcome = files::receive_to_path(&socket, &final_path, size, &mut log);
            let linger_for = outcome.as_ref().ok().and_then(|sender| *sender);
            let _ = inputs.send(Input::Event(Event::TransferFinished {
                file,
                peer: from,
                direction: Direction::Received,
                purpose,
                outcome: outcome.map(|_| ()),
            }));
            if let Some(sender) = linger_for {
                transfer::linger(&socket, sender, size, &mut log);
            }
        });
    }

    fn spawn(&self, name: &str, work: impl FnOnce() + Send + 'static) {
        if let Err(error) = std::thread::Builder::new().name(name.into()).spawn(work) {
            diagnose!("could not start a {name} thread: {error}");
        }
    }

    fn send_datagram(&self, address: SocketAddr, message: &Message) {
        // A lost datagram is normal for UDP; the ping rules already cope
        // with one that never arrives.
        if let Err(error) = self.udp_socket.send_to(&message.to_bytes(), address) {
            diagnose!("could not send {message} to {address}: {error}");
        }
    }

    /// Sends a TCP request on a thread of its own, so that a slow or dead
    /// peer never holds up the event loop; the answer comes back as an
    /// event.
    fn send_request(&self, to: PeerId, message: Message) {
        let address = peer_address(to, self.base_port);
        let inputs = self.inputs.clone();
        let spawned = std::thread::Builder::new()
            .name("tcp-request".into())
            .spawn(move || {
                let reply = tcp::request(address, &message);
                let event = Event::Replied {
                    peer: to,
                    request: message,
                    reply,
                };
                let _ = inputs.send(Input::Event(event));
            });
        if let Err(error) = spawned {
            diagnose!("could not start a thread to send a request to peer {to}: {error}");
        }
    }

    /// Keeps one watch connection open to each successor in `successors`,
    /// and none to anyone else. A watch that has ended (the successor has
    /// not started yet, or its connection closed in a false alarm) is
    /// opened again on a later call.
    fn keep_watching(&mut self, successors: &[PeerId]) {
        let now = Instant::now();
        let gone: Vec<PeerId> = self
            .watches
            .iter()
            .filter(|(peer, (watch, started_at))| {
                let retry = watch.has_ended() && now - *started_at >= WATCH_RETRY;
                !successors.contains(peer) || retry
            })
            .map(|(peer, _)| *peer)
            .collect();
        for peer in gone {
            if let Some((watch, _)) = self.watches.remove(&peer) {
                watch.stop();
            }
        }
        for &peer in successors {
            if !self.watches.contains_key(&peer) {
                let address = peer_address(peer, self.base_port);
                let watch = Watch::start(self.me, peer, address, self.inputs.clone());
                self.watches.insert(peer, (watch, now));
            }
        }
    }
}
