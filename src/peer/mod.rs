//! The protocol logic of one peer, as a pure state machine.
//!
//! A [`Peer`] owns everything the peer knows about the ring. It never
//! touches a socket, a thread or the clock. Instead, [`Peer::handle`] takes
//! one [`Event`] (a message arrived, a command was typed, time passed) and
//! the current time, and returns the [`Action`]s to carry out (print a
//! line, send a message, exit). The `node` module does the input and output.
//!
//! The state is split by concern, one part a file:
//!
//! - [`successors`]: the successor list and, in [`liveness`], how alive each
//!   successor looks: pings, probes, verdicts and refills;
//! - [`predecessors`]: the peers that ping this one;
//! - [`outstanding`]: the requests this peer sent and awaits answers to;
//! - [`joining`]: this peer's own joins, a newcomer's and a rejoin;
//! - [`membership`]: the ring's side: welcoming, changes and leaving;
//! - [`departure`]: what a quitting peer says of its own departure;
//! - [`stabilize`]: the background repair: the questions that check and
//!   refill the list, their answers, and the answer to `QUERY`;
//! - [`routing`]: stores, requests and the files they move;
//! - [`pings`]: the peer's side of the successor list (what a ping or a
//!   verdict makes it do);
//! - [`status`]: the peer's answer to "what do you see?", for `p2p ring`
//!   and the `Status` command.
//!
//! `handle` only dispatches to them. Time is handled the same way for every
//! part: each says what it has due next and when ([`Peer::next_deadline`]
//! is the earliest of those), and a tick does whatever is due, in time
//! order. Keeping the logic pure means every rule of the ring is tested with
//! plain function calls, no sockets and no waiting; see `tests/` here.

mod departure;
mod joining;
mod liveness;
mod membership;
mod outstanding;
mod pings;
mod placement;
mod predecessors;
mod routing;
mod stabilize;
mod status;
mod successors;

#[cfg(test)]
mod tests;

pub use joining::{JOIN_RESEND, JOIN_RETRY, JOIN_TIMEOUT, REJOIN_RETRY};
pub use liveness::{AFTER_PORT_CLOSED, BY_PINGS, DetectionRule, PINGS_TO_CONFIRM};
pub use membership::LEAVE_TIMEOUT;
pub use outstanding::{MAX_OUTSTANDING, REQUEST_EXPIRY};
pub use placement::{
    Held, MAX_PLACEMENTS_UNDER_WAY, Neighbourhood, QUIT_HANDOVER_LIMIT, RECONFIRM_INTERVALS, Step,
    plan,
};
pub use routing::{EXPECTATION_LIFETIME, Files, MAX_EXPECTATIONS, MAX_HOPS, NoFiles};
pub use successors::{FIRST_ROUND_RETRY, HOLD_LIMIT, QUERY_RETRY, merged};

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::command::Command;
use crate::message::{Datagram, Purpose, Reply, Request};
use crate::output::{Kind, Line, Warning};
use crate::ring::{FileName, PeerId};

use outstanding::{Awaiting, Outstanding};
use predecessors::Predecessors;
use routing::Expectations;
use stabilize::Acquaintances;
use successors::SuccessorList;

/// What a peer is told at start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerConfig {
    pub id: PeerId,
    /// How often the peer pings its successors.
    pub ping_interval: Duration,
    /// How many successors it keeps (`--successors`, 2 in the course).
    pub successor_count: usize,
    /// How many copies of each stored file the ring keeps (`--replicas`,
    /// 1 in the course).
    pub replicas: usize,
    /// Whether files follow the ring on join and `Quit` even with one copy
    /// (`--handover`).
    pub handover: bool,
}

impl PeerConfig {
    /// Whether the peer looks after the ring's files; see [`placement`].
    pub fn looks_after_files(&self) -> bool {
        self.replicas > 1 || self.handover
    }

    /// How long a predecessor is remembered after its last ping, and a
    /// death after its verdict. A predecessor pings every interval, so
    /// three intervals without a ping mean it has left or now pings someone
    /// else; the extra second keeps very short intervals from forgetting a
    /// predecessor whose ping was merely late.
    pub fn predecessor_memory(&self) -> Duration {
        self.ping_interval * 3 + Duration::from_secs(1)
    }

    /// How long a successor that has never answered a ping is waited for
    /// before it is declared dead: ten intervals, and at least
    /// [`NEVER_ANSWERED_FLOOR`], long enough for a ring started by hand,
    /// one terminal after another.
    pub fn never_answered_limit(&self) -> Duration {
        (self.ping_interval * 10).max(NEVER_ANSWERED_FLOOR)
    }

    fn list_config(&self) -> successors::ListConfig {
        successors::ListConfig {
            me: self.id,
            capacity: self.successor_count,
            ping_interval: self.ping_interval,
            dead_memory: self.predecessor_memory(),
            never_answered_limit: self.never_answered_limit(),
        }
    }
}

/// The least time a successor that has never answered is waited for; see
/// [`PeerConfig::never_answered_limit`].
pub const NEVER_ANSWERED_FLOOR: Duration = Duration::from_secs(30);

/// Numbers one request of this peer's, so that its answer, which comes in
/// a later event, is matched to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Token(pub u64);

/// Numbers an incoming TCP connection, so that a reply to its request goes
/// back on it. The `node` module numbers connections; the state machine
/// only passes the number back, possibly in a later step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(pub u64);

/// Why a request got no reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoAnswer {
    /// Nothing listens on the peer's port: the request was never delivered.
    Refused,
    /// The connection failed or closed, or no reply came in time (or the
    /// request could not even be sent, with too many under way): it may or
    /// may not have been delivered.
    Silent,
}

/// How a transfer that went well went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transferred {
    /// Every byte of the file moved.
    Whole,
    /// The receiver answered `HAVE`: it held the file already, and nothing
    /// was sent.
    AlreadyHeld,
}

/// Which way a file went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Sent,
    Received,
}

/// Something that happened to the peer.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// The time returned by [`Peer::next_deadline`] has come.
    Tick,
    /// A datagram arrived from this address.
    Datagram {
        datagram: Datagram,
        from: SocketAddr,
    },
    /// A request arrived on an incoming connection. It must be answered,
    /// now or in a later step, with exactly one [`Action::Reply`] (or by
    /// the transfer that [`Action::ReceiveFile`] starts). The `node` module
    /// keeps the connection for a while (`EXCHANGE_TIMEOUT`) and then
    /// closes it, answered or not.
    Request {
        request: Request,
        connection: ConnectionId,
    },
    /// The request sent with [`Action::Send`] and this token was answered
    /// with `reply`, or not at all, and why.
    Replied {
        token: Token,
        reply: Result<Reply, NoAnswer>,
    },
    /// The watch connection to a successor closed and its port refused a
    /// new connection: its process has most likely ended.
    PortClosed { peer: PeerId },
    /// The user typed a command.
    Typed(Command),
    /// A file transfer started with [`Action::SendFile`] or
    /// [`Action::ReceiveFile`] has ended, well or with the reason why not.
    TransferFinished {
        file: FileName,
        peer: PeerId,
        direction: Direction,
        purpose: Purpose,
        outcome: Result<Transferred, String>,
    },
}

/// Something the peer wants done.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Print a line of the reference behaviour on standard output.
    Print(Line),
    /// Report something on standard error; the peer carries on.
    Warn(Warning),
    /// Send a datagram to a peer's port.
    SendDatagram { to: PeerId, datagram: Datagram },
    /// Send a datagram back to the address one came from.
    AnswerDatagram { to: SocketAddr, datagram: Datagram },
    /// Send a request to a peer; its answer comes back as
    /// [`Event::Replied`] with the same token.
    Send {
        to: PeerId,
        request: Request,
        token: Token,
    },
    /// Answer the request that arrived on `connection`.
    Reply {
        connection: ConnectionId,
        reply: Reply,
    },
    /// Send the file `NNNN.pdf` of this peer's directory to a peer: offer it
    /// with `OFFER`, then run the stop-and-wait transfer.
    SendFile {
        to: PeerId,
        file: FileName,
        purpose: Purpose,
    },
    /// Take the file that `from` offers on `connection`: get ready for it,
    /// answer the offer with `READY` (or an `ERROR` saying why not), and
    /// receive it.
    ReceiveFile {
        from: PeerId,
        file: FileName,
        size: u64,
        purpose: Purpose,
        connection: ConnectionId,
    },
    /// Rename a file of the ring in this peer's directory to the name for
    /// `to` (`NNNN.pdf` or `replica_NNNN.pdf`), from the other one.
    Relabel { file: FileName, to: Held },
    /// Remove this peer's copy of a file of the ring, kept as `held`: the
    /// peers that should hold it have confirmed they do.
    Discard { file: FileName, held: Held },
    /// Stop the program with this exit code.
    Exit { code: u8 },
}

/// Where the peer stands in the ring's life.
#[derive(Clone, Debug, PartialEq)]
enum Phase {
    /// A newcomer waiting to be placed; see [`joining`].
    Joining(joining::Attempt),
    /// In the ring. Its successors are in the successor list, which is
    /// empty only if every one of them failed.
    Member,
    /// It has asked to exit; nothing more happens.
    Done,
}

/// What is due, across the parts of the peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Due {
    Successors(successors::Due),
    Joining(joining::Due),
    Membership(membership::Due),
    /// Give up waiting for the answer to this request.
    Expired(Token),
    /// Forget the expectations that have expired.
    Expectations,
    /// Check that the files here and at the neighbours are where they
    /// belong; see [`placement`].
    Placement,
}

/// A tick that comes this much later than the deadline the peer asked for
/// means the peer itself did not run meanwhile (its process was frozen, its
/// machine hung), rather than that its successors were silent: an event
/// loop wakes within milliseconds of its deadline.
pub const STALL_TOLERANCE: Duration = Duration::from_millis(250);

/// A tick does at most this much due work. Each piece of work moves its own
/// deadline past the tick's time (a round schedules the next round, a
/// verdict removes its successor), so a tick always ends long before; the
/// bound only keeps a bug from becoming a hang.
const MAX_STEPS_PER_TICK: usize = 10_000;

/// One peer of the ring; see the module documentation.
#[derive(Debug)]
pub struct Peer {
    config: PeerConfig,
    phase: Phase,
    successors: SuccessorList,
    predecessors: Predecessors,
    outstanding: Outstanding,
    files: Box<dyn Files>,
    expected: Expectations,
    leaving: Option<membership::Leaving>,
    /// Set while a member that found itself dropped asks to be placed
    /// again; see [`joining`].
    rejoin: Option<joining::Attempt>,
    /// The welcomes this peer sent lately, to answer a repeated `JOIN`
    /// with the same one: (newcomer, welcome, until when).
    welcomed: Vec<(PeerId, Request, Instant)>,
    /// The newcomer welcomed and not yet taken: it is taken as first
    /// successor once it acknowledges its welcome.
    pending_welcome: Option<membership::PendingWelcome>,
    /// Departure notices being checked with the peers they name.
    leave_checks: Vec<membership::LeaveCheck>,
    /// The positions of predecessors that must hear of a newcomer taken
    /// before they had pinged: each is told as soon as it pings.
    owed_changes: Vec<crate::message::Ordinal>,
    /// The predecessors told of our newcomer by a `CHANGE` they have not
    /// answered yet, each with the list it knew before.
    changes_unanswered: Vec<(PeerId, Vec<PeerId>)>,
    /// Our list before we took the newcomer last.
    list_before_change: Vec<PeerId>,
    /// Peers heard from lately, asked for the ring by a peer that has lost
    /// every successor; see [`stabilize`].
    acquaintances: Acquaintances,
    /// The ring's files this peer looks after; see [`placement`].
    placement: placement::Placement,
}

impl Peer {
    /// A peer of the initial ring, which knows its first successors from
    /// the command line. It pings them when it is first ticked.
    pub fn new(config: PeerConfig, successors: &[PeerId], now: Instant) -> Peer {
        let mut peer = Peer::blank(config, now);
        peer.phase = Phase::Member;
        peer.successors = SuccessorList::new(config.list_config(), successors, now);
        peer
    }

    /// A newcomer that will ask `known` for a place in the ring. The
    /// returned actions send the request.
    pub fn joining(config: PeerConfig, known: PeerId, now: Instant) -> (Peer, Vec<Action>) {
        let mut peer = Peer::blank(config, now);
        let mut out = Vec::new();
        peer.start_joining(known, now, &mut out);
        (peer, out)
    }

    fn blank(config: PeerConfig, now: Instant) -> Peer {
        Peer {
            config,
            phase: Phase::Member,
            successors: SuccessorList::new(config.list_config(), &[], now),
            predecessors: Predecessors::new(
                config.id,
                config.predecessor_memory(),
                config.ping_interval * 2,
            ),
            outstanding: Outstanding::default(),
            files: Box::new(NoFiles),
            expected: Expectations::default(),
            leaving: None,
            rejoin: None,
            welcomed: Vec::new(),
            pending_welcome: None,
            leave_checks: Vec::new(),
            owed_changes: Vec::new(),
            changes_unanswered: Vec::new(),
            list_before_change: Vec::new(),
            acquaintances: Acquaintances::default(),
            placement: placement::Placement::new(
                config.replicas,
                config.looks_after_files(),
                now + config.ping_interval / 2,
            ),
        }
    }

    /// Lets the peer see the files of its directory.
    pub fn with_files(mut self, files: Box<dyn Files>) -> Peer {
        self.files = files;
        self
    }

    pub fn id(&self) -> PeerId {
        self.config.id
    }

    /// The successors, nearest first; empty while the peer is joining.
    pub fn successors(&self) -> Vec<PeerId> {
        match self.phase {
            Phase::Member => self.successors.peers(),
            Phase::Joining(_) | Phase::Done => Vec::new(),
        }
    }

    /// The successors whose liveness matters right now: those the peer
    /// pings. The `node` module keeps a watch connection open to each.
    pub fn watched_successors(&self) -> Vec<PeerId> {
        self.successors()
    }

    /// When the peer next needs an [`Event::Tick`], even if nothing else
    /// happens; `None` when nothing is due until an event arrives.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.next_due().map(|(at, _)| at)
    }

    /// Applies one event and returns what must be done about it, in order.
    pub fn handle(&mut self, event: Event, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        if self.phase == Phase::Done {
            return out;
        }
        match event {
            Event::Tick => self.tick(now, &mut out),
            Event::Datagram { datagram, from } => self.on_datagram(datagram, from, now, &mut out),
            Event::Request {
                request,
                connection,
            } => self.on_request(request, connection, now, &mut out),
            Event::Replied { token, reply } => self.on_reply(token, reply, now, &mut out),
            Event::PortClosed { peer } => self.successors.port_closed(peer, now),
            Event::Typed(command) => self.on_command(command, now, &mut out),
            Event::TransferFinished {
                file,
                peer,
                direction,
                purpose,
                outcome,
            } => self.on_transfer_finished(file, peer, direction, purpose, outcome, now, &mut out),
        }
        self.announce_successors(&mut out);
        out
    }

    /// Does every piece of work due at or before `now`, in time order.
    fn tick(&mut self, now: Instant, out: &mut Vec<Action>) {
        if self
            .next_deadline()
            .is_some_and(|due| now > due + STALL_TOLERANCE)
        {
            // Pings sent before the stall were answered while this peer
            // could not listen; counting that silence would declare live
            // successors dead.
            self.successors.forgive_stall();
        }
        for _ in 0..MAX_STEPS_PER_TICK {
            match self.next_due() {
                Some((at, due)) if at <= now => self.perform(due, now, out),
                _ => return,
            }
        }
        debug_assert!(false, "a tick did not settle");
        warn(
            out,
            Kind::Note,
            "internal error: a tick did not settle; please report it",
        );
    }

    /// The earliest work due in any part of the peer.
    fn next_due(&self) -> Option<(Instant, Due)> {
        let successors = match self.phase {
            Phase::Member => self.successors.next_due(),
            Phase::Joining(_) | Phase::Done => None,
        };
        [
            successors.map(|(at, due)| (at, Due::Successors(due))),
            self.joining_due().map(|(at, due)| (at, Due::Joining(due))),
            self.membership_due()
                .map(|(at, due)| (at, Due::Membership(due))),
            self.outstanding
                .next_expiry()
                .map(|(at, token)| (at, Due::Expired(token))),
            self.expected
                .next_expiry()
                .map(|at| (at, Due::Expectations)),
            self.placement.next_due().map(|at| (at, Due::Placement)),
        ]
        .into_iter()
        .flatten()
        .min_by_key(|&(at, _)| at)
    }

    fn perform(&mut self, due: Due, now: Instant, out: &mut Vec<Action>) {
        match due {
            Due::Successors(due) => self.perform_successor_due(due, now, out),
            Due::Joining(due) => self.perform_joining_due(due, now, out),
            Due::Membership(due) => self.perform_membership_due(due, out),
            Due::Expired(token) => self.on_reply(token, Err(NoAnswer::Silent), now, out),
            Due::Expectations => self.expire_expectations(now, out),
            Due::Placement => self.perform_placement_due(now, out),
        }
    }

    /// Hands a request to the part it concerns. Every request gets exactly
    /// one reply: most an `OK` at once, the others from their handler.
    fn on_request(
        &mut self,
        request: Request,
        connection: ConnectionId,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let ok = |out: &mut Vec<Action>| reply(out, connection, Reply::Ok);
        match request {
            Request::Join {
                newcomer,
                sender,
                hops,
            } => {
                ok(out);
                self.on_join(newcomer, sender, hops, now, out);
            }
            Request::Welcome { successors } => {
                ok(out);
                self.on_welcome(&successors, now, out);
            }
            Request::Refuse { reason } => {
                ok(out);
                self.on_refuse(reason, now, out);
            }
            Request::Change { from, successors } => {
                ok(out);
                self.acquaintances.heard(from);
                self.on_change(from, &successors, now, out);
            }
            Request::Leave { from, successors } => {
                self.on_leave(from, &successors, connection, now, out);
            }
            Request::Query { from } => self.answer_query(from, connection, now, out),
            Request::Store {
                file,
                origin,
                hops,
                target,
            } => {
                ok(out);
                self.on_store(file, origin, hops, target, now, out);
            }
            Request::FileRequest {
                file,
                origin,
                hops,
                target,
            } => {
                ok(out);
                self.on_file_request(file, origin, hops, target, now, out);
            }
            Request::Fetch { file, from } => self.on_fetch(file, from, connection, now, out),
            Request::Offer {
                file,
                from,
                size,
                purpose,
            } => self.on_offer(file, from, size, purpose, connection, now, out),
            Request::NotFound { file, from } => {
                ok(out);
                self.on_not_found(file, from, now, out);
            }
            Request::Status => self.answer_status(connection, now, out),
            Request::Holdings { held, after } => {
                self.answer_holdings(held, after, connection, now, out)
            }
            // The TCP edge holds watch connections itself; one that reached
            // the state machine is a mistake, answered as one.
            Request::Watch { from } => {
                warn(
                    out,
                    Kind::Unexpected,
                    format!("ignored a watch from peer {from} passed to the state machine"),
                );
                reply(out, connection, unexpected());
            }
        }
    }

    /// Hands the answer to one of this peer's requests to the part that
    /// sent it. An answer whose token is unknown (it came after the request
    /// expired) is stale and ignored.
    fn on_reply(
        &mut self,
        token: Token,
        answer: Result<Reply, NoAnswer>,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let Some(sent) = self.outstanding.take(token) else {
            return;
        };
        match sent.awaiting {
            Awaiting::Refill => self.on_refill_answer(sent.to, answer, now, out),
            Awaiting::Join => self.on_join_answer(sent.to, answer, now, out),
            Awaiting::Welcome => self.on_welcome_answer(sent.to, answer, now, out),
            Awaiting::Leave => self.on_leave_acknowledged(sent.to, out),
            Awaiting::LeaveCheck => self.on_leave_check_answer(sent.to, answer, now, out),
            Awaiting::Change => {
                self.on_change_answered(sent.to);
                self.report_delivery(&sent, &answer, out);
            }
            Awaiting::Delivery => self.report_delivery(&sent, &answer, out),
        }
    }

    /// Says on standard error that a request whose answer only matters if
    /// it failed did fail.
    fn report_delivery(
        &self,
        sent: &outstanding::Sent,
        answer: &Result<Reply, NoAnswer>,
        out: &mut Vec<Action>,
    ) {
        match answer {
            Err(_) => warn(
                out,
                Kind::Delivery,
                format!("peer {} did not answer {}", sent.to, sent.request),
            ),
            Ok(Reply::Error { reason }) => warn(
                out,
                Kind::Delivery,
                format!(
                    "peer {} answered {} with an error: {reason}",
                    sent.to, sent.request
                ),
            ),
            Ok(_) => {}
        }
    }

    fn on_command(&mut self, command: Command, now: Instant, out: &mut Vec<Action>) {
        match command {
            Command::Quit => self.quit(now, out),
            Command::Store(file) => self.store_typed(file, now, out),
            Command::Request(file) => self.request_typed(file, now, out),
            Command::Status => self.print_status(now, out),
        }
    }

    /// Asks to stop with `code`; nothing more happens after this.
    fn exit(&mut self, code: u8, out: &mut Vec<Action>) {
        out.push(Action::Exit { code });
        self.phase = Phase::Done;
    }
}

/// Pushes a diagnostic.
fn warn(out: &mut Vec<Action>, kind: Kind, text: impl Into<String>) {
    out.push(Action::Warn(Warning::new(kind, text)));
}

/// Pushes the reply to the request that came on `connection`.
fn reply(out: &mut Vec<Action>, connection: ConnectionId, reply: Reply) {
    out.push(Action::Reply { connection, reply });
}

/// The reply that says why a request could not be handled.
fn refusal(reason: crate::message::ErrorReason) -> Reply {
    Reply::Error { reason }
}

/// The reply to a request this peer does not answer now.
fn unexpected() -> Reply {
    refusal(crate::message::ErrorReason::Unexpected)
}
