//! The protocol logic of one peer, as a pure state machine.
//!
//! A [`Peer`] owns everything the peer knows about the ring: its successors
//! and how alive they look, the predecessors it has heard from, whether it is
//! joining, repairing or leaving. It never touches a socket, a thread or the
//! clock. Instead, [`Peer::handle`] takes one [`Event`] (a message arrived, a
//! command was typed, time passed) and the current time, and returns the
//! [`Action`]s to carry out (print a line, send a message, exit). The `node`
//! module does the input and output.
//!
//! Keeping the logic pure means every rule of the ring (where a newcomer
//! belongs, who repairs what after a failure, which answers are stale) is
//! tested below with plain function calls, no sockets and no waiting.

use std::time::{Duration, Instant};

use crate::command::Command;
use crate::message::{ErrorReason, Message, Ordinal, Purpose, RefuseReason, Target};
use crate::output::Line;
use crate::ring::{FileName, PeerId, is_in_arc, is_strictly_between};

/// A ping unanswered for this long makes its successor a suspect, which is
/// then probed every [`PROBE_SPACING`]. Half a second is hundreds of times a
/// loopback or LAN round trip, so a live peer is never this late.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_millis(500);

/// How often a suspect successor is probed.
pub const PROBE_SPACING: Duration = Duration::from_millis(300);

/// A successor that has answered nothing for this long, counted from the
/// first unanswered ping, is declared dead, provided at least
/// [`PINGS_TO_CONFIRM`] pings went unanswered. A frozen successor is thus
/// found at most one ping interval plus this long after it froze.
pub const SILENCE_LIMIT: Duration = Duration::from_millis(1500);

/// How often a successor is probed once its watch connection has closed.
pub const LINK_PROBE_SPACING: Duration = Duration::from_millis(100);

/// The silence that confirms a successor is dead once its watch connection
/// has closed. The kernel closes the connections of a process the moment it
/// dies, so a closed connection followed by this much silence is a death,
/// found well under a second after it happened, whatever the ping interval.
pub const LINK_SILENCE_LIMIT: Duration = Duration::from_millis(300);

/// The number of unanswered pings (regular ones and probes) needed, besides
/// the silence, before a successor is declared dead, so that a single lost
/// datagram never kills a peer.
pub const PINGS_TO_CONFIRM: u32 = 3;

/// How long a newcomer waits to be placed in the ring before giving up.
pub const JOIN_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a peer that is joining again waits between attempts.
pub const REJOIN_RETRY: Duration = Duration::from_secs(1);

/// How long a leaving peer waits for its predecessors to acknowledge.
pub const LEAVE_TIMEOUT: Duration = Duration::from_secs(2);

/// How soon a successor query that failed is asked again.
pub const QUERY_RETRY: Duration = Duration::from_millis(200);

/// A join, store or request message that has passed this many peers has
/// gone round the whole ring (which holds at most 256 peers) without finding
/// its place; it is dropped rather than passed on for ever.
pub const MAX_HOPS: u32 = 256;

/// What the state machine may ask about the files in the peer's directory.
/// The `node` module answers from the real directory; tests answer from a
/// list.
pub trait Files: std::fmt::Debug + Send {
    /// Whether the directory holds `NNNN.pdf`.
    fn has(&self, file: FileName) -> bool;
}

/// A directory with no files in it.
#[derive(Debug)]
pub struct NoFiles;

impl Files for NoFiles {
    fn has(&self, _: FileName) -> bool {
        false
    }
}

/// Which way a file went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Sent,
    Received,
}

/// The timers of a peer that depend on its ping interval.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
    /// How often the peer pings its successors.
    pub ping_interval: Duration,
}

impl Timing {
    pub fn new(ping_interval: Duration) -> Timing {
        Timing { ping_interval }
    }

    /// How long a predecessor is remembered after its last ping. A
    /// predecessor pings every interval, so three intervals without a ping
    /// mean it has left or now pings someone else; the extra second keeps
    /// very short intervals from forgetting a predecessor whose ping was
    /// merely late.
    pub fn predecessor_memory(&self) -> Duration {
        self.ping_interval * 3 + Duration::from_secs(1)
    }
}

/// Which connection a request arrived on, so that the answer goes back the
/// same way. The `node` module numbers connections; the state machine only
/// passes the number back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConnectionId(pub u64);

/// Where a message came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// A UDP datagram from this address.
    Datagram(std::net::SocketAddr),
    /// A request on an incoming TCP connection.
    Connection(ConnectionId),
}

/// Something that happened to the peer.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// The time returned by [`Peer::next_deadline`] has come.
    Tick,
    /// A well-formed message arrived.
    Received { message: Message, source: Source },
    /// A TCP request sent with [`Action::Send`] was answered with `reply`,
    /// or was not answered at all (`None`: no connection, or no reply in
    /// time).
    Replied {
        peer: PeerId,
        request: Message,
        reply: Option<Message>,
    },
    /// The watch connection to a successor closed, or could not be opened:
    /// its process has probably ended.
    LinkLost { peer: PeerId },
    /// The user typed a command.
    Typed(Command),
    /// A file transfer started with [`Action::SendFile`] or
    /// [`Action::ReceiveFile`] has ended, well or with the reason why not.
    TransferFinished {
        file: FileName,
        peer: PeerId,
        direction: Direction,
        purpose: Purpose,
        outcome: Result<(), String>,
    },
}

/// Something the peer wants done.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Print a line of the reference behaviour on standard output.
    Print(Line),
    /// Report something on standard error; the peer carries on.
    Warn(String),
    /// Send a UDP datagram to a peer.
    SendDatagram { to: PeerId, message: Message },
    /// Send a TCP request to a peer; its answer comes back as
    /// [`Event::Replied`].
    Send { to: PeerId, message: Message },
    /// Answer a message on the way it came.
    Reply { to: Source, message: Message },
    /// Send the file `NNNN.pdf` of this peer's directory to a peer: offer
    /// it with `OFFER`, then run the stop-and-wait transfer.
    SendFile {
        to: PeerId,
        file: FileName,
        purpose: Purpose,
    },
    /// Take the file that `from` offers: open a socket for it, answer the
    /// offer (which arrived on `reply_to`) with `READY`, and receive it.
    ReceiveFile {
        from: PeerId,
        file: FileName,
        size: u64,
        purpose: Purpose,
        reply_to: Source,
    },
    /// Stop the program with this exit code.
    Exit { code: u8 },
}

/// The identities of a peer's two successors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Successors {
    pub first: PeerId,
    pub second: PeerId,
}

/// A successor and what its answers say about whether it is alive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Successor {
    peer: PeerId,
    /// Only a successor that has answered once can be declared dead: one
    /// that has not started yet (peers of a ring start one by one) is not a
    /// failure.
    has_answered: bool,
    /// When the oldest ping still unanswered was sent.
    silent_since: Option<Instant>,
    /// Pings sent since the last answer.
    unanswered: u32,
    /// The watch connection to it has closed.
    link_lost: bool,
    /// When to probe it next, while it is a suspect.
    next_probe_at: Option<Instant>,
}

impl Successor {
    fn new(peer: PeerId) -> Successor {
        Successor {
            peer,
            has_answered: false,
            silent_since: None,
            unanswered: 0,
            link_lost: false,
            next_probe_at: None,
        }
    }

    fn record_ping(&mut self, now: Instant) {
        self.silent_since.get_or_insert(now);
        self.unanswered = self.unanswered.saturating_add(1);
    }

    fn record_answer(&mut self) {
        *self = Successor {
            has_answered: true,
            ..Successor::new(self.peer)
        };
    }

    fn record_link_lost(&mut self, now: Instant) {
        self.link_lost = true;
        self.next_probe_at = Some(now);
    }

    /// The silence after which this successor is dead, on the path that
    /// applies to it.
    fn silence_limit(&self) -> Duration {
        if self.link_lost {
            LINK_SILENCE_LIMIT
        } else {
            SILENCE_LIMIT
        }
    }

    fn is_dead(&self, now: Instant) -> bool {
        let Some(since) = self.silent_since else {
            return false;
        };
        self.has_answered
            && self.unanswered >= PINGS_TO_CONFIRM
            && now.saturating_duration_since(since) >= self.silence_limit()
    }

    /// When this successor next needs attention: a probe, or the moment its
    /// silence becomes long enough to decide.
    fn next_deadline(&self) -> Option<Instant> {
        // Until enough pings have gone unanswered, the next probe is the
        // next thing to do; a decision deadline before it would be a
        // deadline that passes without anything to decide.
        let decision = self
            .silent_since
            .filter(|_| self.has_answered && self.unanswered >= PINGS_TO_CONFIRM)
            .map(|since| since + self.silence_limit());
        let probe = self.probe_due_at();
        [decision, probe].into_iter().flatten().min()
    }

    /// When the next probe is due, if this successor is a suspect: at once
    /// and then often after its link closed, or once a ping is
    /// [`RESPONSE_TIMEOUT`] overdue and then every [`PROBE_SPACING`].
    fn probe_due_at(&self) -> Option<Instant> {
        if !self.has_answered {
            return None;
        }
        if self.link_lost {
            return self.next_probe_at;
        }
        let since = self.silent_since?;
        Some(self.next_probe_at.unwrap_or(since + RESPONSE_TIMEOUT))
    }

    fn probe_spacing(&self) -> Duration {
        if self.link_lost {
            LINK_PROBE_SPACING
        } else {
            PROBE_SPACING
        }
    }
}

/// A predecessor, learned from a ping, and when it last pinged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Heard {
    peer: PeerId,
    at: Instant,
}

/// Where the peer stands in the ring's life.
#[derive(Clone, Debug, PartialEq)]
enum Phase {
    /// Waiting to be placed, after sending `JOIN` to `via`. A peer that was
    /// cut off and is joining again keeps its old successors in `previous`,
    /// in case the ring says it never left.
    Joining {
        via: PeerId,
        give_up_at: Instant,
        previous: Option<Successors>,
        /// When to send the `JOIN`, if it has not been sent yet: a peer
        /// that rejoins waits a little between attempts.
        send_at: Option<Instant>,
    },
    /// In the ring. `first` is always known; `second` is being found again
    /// for a moment after a failure.
    Member { first: Successor, second: Second },
    /// Both successors failed, so this peer no longer knows anyone ahead
    /// of it in the ring.
    Stranded,
}

/// `Quit` was typed: the peer stays a member, pinging and passing on joins,
/// until its predecessors have acknowledged that it leaves.
#[derive(Clone, Debug, PartialEq)]
struct Leaving {
    waiting_for: Vec<PeerId>,
    give_up_at: Instant,
}

/// The second successor of a member.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Second {
    Known(Successor),
    /// A successor failed, and the peer is finding its new second one.
    Repairing(Repair),
}

impl Second {
    fn known(&self) -> Option<&Successor> {
        match self {
            Second::Known(successor) => Some(successor),
            Second::Repairing(_) => None,
        }
    }

    fn known_mut(&mut self) -> Option<&mut Successor> {
        match self {
            Second::Known(successor) => Some(successor),
            Second::Repairing(_) => None,
        }
    }
}

/// The state of a repair after a successor failed: the peer asks its
/// surviving first successor for its successors to find a new second one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Repair {
    dead: PeerId,
    /// When to ask again; `None` while a question is on its way.
    ask_again_at: Option<Instant>,
}

/// One peer of the ring.
#[derive(Debug)]
pub struct Peer {
    id: PeerId,
    timing: Timing,
    phase: Phase,
    leaving: Option<Leaving>,
    /// The first and second predecessor, as last heard from pings.
    predecessors: [Option<Heard>; 2],
    /// A newcomer was placed after us before we knew our first
    /// predecessor; it must be told of its new second successor as soon as
    /// it pings.
    change_owed_to_predecessor: bool,
    next_ping_at: Instant,
    next_ping_seq: u32,
    files: Box<dyn Files>,
    /// Files this peer expects someone to offer: those it requested, and
    /// those it accepted to store. An offer of anything else is refused.
    expected_offers: Vec<(FileName, Purpose)>,
    /// Files typed with `Store` here and on their way to the peer
    /// responsible, which will fetch them.
    stores_under_way: Vec<FileName>,
    /// `Quit` was typed during a repair; the peer leaves when it ends.
    quit_after_repair: bool,
}

impl Peer {
    /// A peer of the initial ring, which knows its two successors from the
    /// command line. It pings them when it is first ticked.
    pub fn new(id: PeerId, successors: Successors, timing: Timing, now: Instant) -> Peer {
        let mut peer = Peer::blank(id, timing, now);
        peer.phase = member(successors);
        peer
    }

    /// A newcomer that will ask `known` for a place in the ring. The
    /// returned actions send the request.
    pub fn joining(id: PeerId, known: PeerId, timing: Timing, now: Instant) -> (Peer, Vec<Action>) {
        let mut peer = Peer::blank(id, timing, now);
        let mut actions = Vec::new();
        peer.start_joining(known, None, now, &mut actions);
        (peer, actions)
    }

    /// The parts every peer starts with. Its phase is a placeholder that
    /// `new` and `joining` replace at once.
    fn blank(id: PeerId, timing: Timing, now: Instant) -> Peer {
        Peer {
            id,
            timing,
            phase: Phase::Stranded,
            leaving: None,
            predecessors: [None, None],
            change_owed_to_predecessor: false,
            next_ping_at: now,
            next_ping_seq: 0,
            files: Box::new(NoFiles),
            expected_offers: Vec::new(),
            stores_under_way: Vec::new(),
            quit_after_repair: false,
        }
    }

    /// Lets the peer see the files of its directory.
    pub fn with_files(mut self, files: Box<dyn Files>) -> Peer {
        self.files = files;
        self
    }

    pub fn id(&self) -> PeerId {
        self.id
    }

    /// The successors whose liveness matters right now: those the peer
    /// pings. The `node` module keeps a watch connection open to each.
    pub fn watched_successors(&self) -> Vec<PeerId> {
        match &self.phase {
            Phase::Member { first, second } => {
                let mut peers = vec![first.peer];
                peers.extend(second.known().map(|s| s.peer));
                peers
            }
            _ => Vec::new(),
        }
    }

    /// Both successors, or `None` while the peer is joining, stranded, or
    /// repairing after a failure (when its second successor is unknown).
    pub fn successors(&self) -> Option<Successors> {
        match &self.phase {
            Phase::Member {
                first,
                second: Second::Known(second),
            } => Some(Successors {
                first: first.peer,
                second: second.peer,
            }),
            _ => None,
        }
    }

    /// The first or second predecessor, if it has pinged recently enough.
    pub fn predecessor(&self, which: Ordinal, now: Instant) -> Option<PeerId> {
        let heard = self.predecessors[slot(which)]?;
        let fresh = now.saturating_duration_since(heard.at) <= self.timing.predecessor_memory();
        fresh.then_some(heard.peer)
    }

    /// When a predecessor last pinged us, if one has.
    fn last_pinged_at(&self) -> Option<Instant> {
        self.predecessors
            .iter()
            .flatten()
            .map(|heard| heard.at)
            .max()
    }

    /// When the peer next needs an [`Event::Tick`], even if nothing else
    /// happens.
    ///
    /// `None` means there is nothing to do until an event arrives (a
    /// stranded peer, say). Every deadline returned lies after the last
    /// tick: handling a tick always moves the deadlines it was due for, so
    /// the event loop never spins.
    pub fn next_deadline(&self) -> Option<Instant> {
        let leaving = self.leaving.as_ref().map(|l| l.give_up_at);
        let by_phase = match &self.phase {
            Phase::Joining {
                give_up_at,
                send_at,
                ..
            } => vec![Some(*give_up_at), *send_at],
            Phase::Member { first, second } => vec![
                Some(self.next_ping_at),
                first.next_deadline(),
                second.known().and_then(|s| s.next_deadline()),
                self.repair().and_then(|r| r.ask_again_at),
                // The moment it would count as cut off (see `is_cut_off`).
                self.last_pinged_at()
                    .filter(|_| self.successors().is_some())
                    .map(|at| at + self.timing.predecessor_memory()),
            ],
            Phase::Stranded => Vec::new(),
        };
        by_phase.into_iter().chain([leaving]).flatten().min()
    }

    /// Applies one event and returns what must be done about it, in order.
    pub fn handle(&mut self, event: Event, now: Instant) -> Vec<Action> {
        let mut actions = Vec::new();
        match event {
            Event::Tick => self.on_tick(now, &mut actions),
            Event::Received { message, source } => {
                self.on_message(message, source, now, &mut actions)
            }
            Event::Replied {
                peer,
                request,
                reply,
            } => self.on_reply(peer, request, reply, now, &mut actions),
            Event::LinkLost { peer } => {
                if let Some(successor) = self.successor_mut(peer) {
                    successor.record_link_lost(now);
                }
            }
            Event::Typed(command) => self.on_command(command, now, &mut actions),
            Event::TransferFinished {
                file,
                peer,
                direction,
                purpose,
                outcome,
            } => self.on_transfer_finished(file, peer, direction, purpose, outcome, &mut actions),
        }
        actions
    }

    // ----- Time -----

    fn on_tick(&mut self, now: Instant, actions: &mut Vec<Action>) {
        match &self.phase {
            Phase::Joining {
                give_up_at,
                previous,
                via,
                ..
            } if now >= *give_up_at => {
                let via = *via;
                actions.push(Action::Warn(format!(
                    "no answer to the join request sent to peer {via} within {} s",
                    JOIN_TIMEOUT.as_secs()
                )));
                self.end_failed_join(*previous, now, actions);
                return;
            }
            Phase::Joining {
                via,
                send_at: Some(send_at),
                previous,
                ..
            } if now >= *send_at => {
                let (via, previous) = (*via, *previous);
                self.start_joining(via, previous, now, actions);
                return;
            }
            _ => {}
        }
        if self.leaving.as_ref().is_some_and(|l| now >= l.give_up_at) {
            // A predecessor that does not acknowledge is dead or gone; it
            // must not keep us here.
            actions.push(Action::Exit { code: 0 });
            return;
        }
        if self.is_cut_off(now) {
            self.rejoin(now, actions);
            return;
        }
        self.check_successors(now, actions);
        if self
            .repair()
            .is_some_and(|repair| repair.ask_again_at.is_some_and(|at| now >= at))
        {
            self.ask_for_successors(actions);
        }
        if now >= self.next_ping_at {
            self.ping_round(now, actions);
            // Keep a steady rhythm, but after a long stall (a suspended
            // process, say) start afresh rather than fire a burst of pings.
            self.next_ping_at += self.timing.ping_interval;
            if self.next_ping_at <= now {
                self.next_ping_at = now + self.timing.ping_interval;
            }
        }
    }

    /// A member that used to be pinged and has heard nothing from any
    /// predecessor for the predecessor memory has been dropped from the
    /// ring: its predecessors took it for dead (it was frozen, say) and
    /// repaired around it.
    fn is_cut_off(&self, now: Instant) -> bool {
        let silent_too_long = self
            .last_pinged_at()
            .is_some_and(|at| now.saturating_duration_since(at) > self.timing.predecessor_memory());
        // A peer in the middle of a repair finishes it first: rejoining
        // needs both old successors, to fall back on if the ring says the
        // peer never left.
        silent_too_long && self.successors().is_some()
    }

    fn rejoin(&mut self, now: Instant, actions: &mut Vec<Action>) {
        let previous = self.successors();
        let Phase::Member { first, .. } = &self.phase else {
            return;
        };
        let via = first.peer;
        actions.push(Action::Warn(format!(
            "no predecessor has pinged peer {} for {:.1} s, so the ring has dropped it \
             (it was frozen or cut off); joining again through peer {via}",
            self.id,
            self.timing.predecessor_memory().as_secs_f64()
        )));
        self.predecessors = [None, None];
        self.start_joining(via, previous, now, actions);
    }

    /// Probes suspects and declares dead those whose silence is long enough.
    fn check_successors(&mut self, now: Instant, actions: &mut Vec<Action>) {
        let Phase::Member { first, second } = &mut self.phase else {
            return;
        };
        let mut dead = None;
        let slots = [
            (Some(first), Ordinal::First),
            (second.known_mut(), Ordinal::Second),
        ];
        for (successor, which) in slots {
            let Some(successor) = successor else {
                continue;
            };
            if successor.is_dead(now) {
                dead.get_or_insert(successor.peer);
            } else if successor.probe_due_at().is_some_and(|at| now >= at) {
                successor.record_ping(now);
                successor.next_probe_at = Some(now + successor.probe_spacing());
                let seq = self.next_ping_seq;
                self.next_ping_seq = seq.wrapping_add(1);
                // A probe names the same slot as a regular ping: the
                // receiver learns its predecessors from this word.
                actions.push(ping(self.id, successor.peer, which, seq));
            }
        }
        if let Some(dead) = dead {
            self.declare_dead(dead, actions);
        }
    }

    /// Sends the regular ping to each successor and says so.
    fn ping_round(&mut self, now: Instant, actions: &mut Vec<Action>) {
        let seq = self.next_ping_seq;
        let id = self.id;
        let Phase::Member { first, second } = &mut self.phase else {
            return;
        };
        self.next_ping_seq = seq.wrapping_add(1);
        if let Second::Known(second) = second {
            actions.push(Action::Print(Line::PingRequestsSent {
                first: first.peer,
                second: second.peer,
            }));
        }
        for (successor, which) in [
            (Some(first), Ordinal::First),
            (second.known_mut(), Ordinal::Second),
        ] {
            if let Some(successor) = successor {
                successor.record_ping(now);
                actions.push(ping(id, successor.peer, which, seq));
            }
        }
    }

    // ----- Messages -----

    fn on_message(
        &mut self,
        message: Message,
        source: Source,
        now: Instant,
        actions: &mut Vec<Action>,
    ) {
        match message {
            Message::Ping {
                from,
                to,
                successor,
                seq,
            } => {
                if to != self.id {
                    actions.push(misaddressed(&message, self.id));
                    return;
                }
                actions.push(Action::Print(Line::PingRequestReceived { from }));
                self.remember_predecessor(from, successor, now, actions);
                let pong = Message::Pong {
                    from: self.id,
                    to: from,
                    seq,
                };
                actions.push(Action::Reply {
                    to: source,
                    message: pong,
                });
            }
            Message::Pong { from, to, .. } => {
                if to != self.id {
                    actions.push(misaddressed(&message, self.id));
                    return;
                }
                // An answer from a peer that is no longer a successor is a
                // late answer to an old ping, and says nothing about the
                // current successors.
                if let Some(successor) = self.successor_mut(from) {
                    successor.record_answer();
                    actions.push(Action::Print(Line::PingResponseReceived { from }));
                }
            }
            Message::Join {
                newcomer,
                sender,
                hops,
            } => {
                actions.push(ok(source));
                self.on_join_request(newcomer, sender, hops, now, actions);
            }
            Message::Welcome { first, second } => {
                actions.push(ok(source));
                self.on_welcome(Successors { first, second }, now, actions);
            }
            Message::Refuse { reason } => {
                actions.push(ok(source));
                self.on_refuse(reason, now, actions);
            }
            Message::Change {
                from,
                first,
                second,
            } => {
                actions.push(ok(source));
                self.on_successor_change(from, Successors { first, second }, now, actions);
            }
            Message::Leave {
                from,
                first,
                second,
            } => {
                actions.push(ok(source));
                self.on_departure(from, Successors { first, second }, now, actions);
            }
            Message::Query { .. } => {
                let answer = match self.successors() {
                    Some(Successors { first, second }) => Message::Successors { first, second },
                    None => Message::Error {
                        reason: ErrorReason::NotReady,
                    },
                };
                actions.push(Action::Reply {
                    to: source,
                    message: answer,
                });
            }
            Message::Store {
                file,
                origin,
                hops,
                target,
            } => {
                actions.push(ok(source));
                self.on_store(file, origin, hops, target, now, actions);
            }
            Message::Request {
                file,
                origin,
                hops,
                target,
            } => {
                actions.push(ok(source));
                self.on_request(file, origin, hops, target, now, actions);
            }
            Message::Fetch { file, from } => {
                if let Some(index) = self.stores_under_way.iter().position(|&f| f == file) {
                    self.stores_under_way.remove(index);
                    actions.push(ok(source));
                    actions.push(Action::SendFile {
                        to: from,
                        file,
                        purpose: Purpose::Store,
                    });
                } else {
                    actions.push(Action::Warn(format!(
                        "refused to send file {file} to peer {from}: no Store {file} was typed here"
                    )));
                    actions.push(unexpected(source));
                }
            }
            Message::Offer {
                file,
                from,
                size,
                purpose,
            } => self.on_offer(file, from, size, purpose, source, actions),
            Message::NotFound { file, from } => {
                actions.push(ok(source));
                if self.take_expected_offer(file, Purpose::Request) {
                    actions.push(Action::Print(Line::FileNotFound { file, peer: from }));
                }
            }
            // Watch connections are kept open by the `node` module and never
            // reach the state machine; answers arrive as `Event::Replied`.
            Message::Watch { .. }
            | Message::Ok
            | Message::Ready { .. }
            | Message::Successors { .. }
            | Message::Error { .. } => {
                actions.push(Action::Warn(format!("ignored an unexpected {message}")));
                actions.push(unexpected(source));
            }
        }
    }

    /// Records that `peer` pinged us as its first or second successor, which
    /// makes it our first or second predecessor.
    fn remember_predecessor(
        &mut self,
        peer: PeerId,
        we_are_its: Ordinal,
        now: Instant,
        actions: &mut Vec<Action>,
    ) {
        let [this_slot, other_slot] = match we_are_its {
            Ordinal::First => [0, 1],
            Ordinal::Second => [1, 0],
        };
        self.predecessors[this_slot] = Some(Heard { peer, at: now });
        // A peer is one of our predecessors, never both: if it used to fill
        // the other slot, the ring has changed and that memory is stale.
        if self.predecessors[other_slot].is_some_and(|heard| heard.peer == peer) {
            self.predecessors[other_slot] = None;
        }
        if we_are_its == Ordinal::First && self.change_owed_to_predecessor {
            self.change_owed_to_predecessor = false;
            self.tell_predecessor_of_change(peer, actions);
        }
    }

    // ----- Joining -----

    fn start_joining(
        &mut self,
        via: PeerId,
        previous: Option<Successors>,
        now: Instant,
        actions: &mut Vec<Action>,
    ) {
        self.phase = Phase::Joining {
            via,
            give_up_at: now + JOIN_TIMEOUT,
            previous,
            send_at: None,
        };
        self.send_join(via, actions);
    }

    fn send_join(&self, via: PeerId, actions: &mut Vec<Action>) {
        actions.push(Action::Send {
            to: via,
            message: Message::Join {
                newcomer: self.id,
                sender: self.id,
                hops: 0,
            },
        });
    }

    /// A join request reached us: take the newcomer as our first successor
    /// if it belongs right after us, or pass the request on.
    fn on_join_request(
        &mut self,
        newcomer: PeerId,
        sender: PeerId,
        hops: u32,
        now: Instant,
        actions: &mut Vec<Action>,
    ) {
        let first = match &self.phase {
            Phase::Member { first, .. } => first.peer,
            Phase::Joining { .. } | Phase::Stranded => {
                actions.push(Action::Warn(format!(
                    "cannot place joining peer {newcomer}: this peer is not in the ring"
                )));
                return;
            }
        };
        // A leaving peer must not take a newcomer, and passes it on.
        let leaving = self.leaving.is_some();
        if newcomer == self.id || newcomer == first {
            actions.push(Action::Warn(format!(
                "refused joining peer {newcomer}: a peer with that identity is already in the ring"
            )));
            actions.push(refuse(newcomer, RefuseReason::Duplicate));
        } else if !leaving && is_strictly_between(self.id.0, newcomer.0, first.0) {
            if self.repair().is_some() {
                // Our second successor is unknown, so we cannot give the
                // newcomer two successors; it may try again in a moment.
                actions.push(refuse(newcomer, RefuseReason::NoPlace));
                return;
            }
            self.accept_newcomer(newcomer, sender, now, actions);
        } else if hops >= MAX_HOPS {
            actions.push(Action::Warn(format!(
                "refused joining peer {newcomer}: its request went round the ring without finding a place"
            )));
            actions.push(refuse(newcomer, RefuseReason::NoPlace));
        } else {
            actions.push(Action::Print(Line::JoinRequestForwarded { newcomer }));
            actions.push(Action::Send {
                to: first,
                message: Message::Join {
                    newcomer,
                    sender: self.id,
                    hops: hops + 1,
                },
            });
        }
    }

    /// The newcomer lies between us and our first successor: it becomes our
    /// first successor, and our first predecessor must take it as its
    /// second successor.
    fn accept_newcomer(
        &mut self,
        newcomer: PeerId,
        sender: PeerId,
        now: Instant,
        actions: &mut Vec<Action>,
    ) {
        let Some(Successors {
            first: old_first,
            second: old_second,
        }) = self.successors()
        else {
            return;
        };
        actions.push(Action::Print(Line::JoinRequestReceived { newcomer }));
        self.change_successors(
            Successors {
                first: newcomer,
                second: old_first,
            },
            now,
            actions,
        );
        actions.push(Action::Send {
            to: newcomer,
            message: Message::Welcome {
                first: old_first,
                second: old_second,
            },
        });
        // The peer that passed the request to us did so because we are its
        // first successor: it is our first predecessor. A request that came
        // straight from the newcomer says nothing, so ask the pings.
        let predecessor = if sender != newcomer {
            Some(sender)
        } else {
            self.predecessor(Ordinal::First, now)
        };
        match predecessor {
            Some(predecessor) => self.tell_predecessor_of_change(predecessor, actions),
            None => self.change_owed_to_predecessor = true,
        }
    }

    fn tell_predecessor_of_change(&self, predecessor: PeerId, actions: &mut Vec<Action>) {
        let Some(successors) = self.successors() else {
            return;
        };
        actions.push(Action::Send {
            to: predecessor,
            message: Message::Change {
                from: self.id,
                first: self.id,
                second: successors.first,
            },
        });
    }

    fn on_welcome(&mut self, successors: Successors, now: Instant, actions: &mut Vec<Action>) {
        if !matches!(self.phase, Phase::Joining { .. }) {
            actions.push(Action::Warn(format!(
                "ignored a welcome to the ring (successors {} and {}): this peer is not joining",
                successors.first, successors.second
            )));
            return;
        }
        actions.push(Action::Print(Line::JoinAccepted));
        actions.push(Action::Print(Line::FirstSuccessor {
            peer: successors.first,
        }));
        actions.push(Action::Print(Line::SecondSuccessor {
            peer: successors.second,
        }));
        self.phase = member(successors);
        self.next_ping_at = now;
    }

    fn on_refuse(&mut self, reason: RefuseReason, now: Instant, actions: &mut Vec<Action>) {
        let Phase::Joining { previous, .. } = self.phase else {
            actions.push(Action::Warn(format!(
                "ignored a refusal ({reason}): this peer is not joining"
            )));
            return;
        };
        match (reason, previous) {
            // We thought we had been dropped, but the ring still holds us.
            (RefuseReason::Duplicate, Some(previous)) => {
                actions.push(Action::Warn(format!(
                    "the ring still holds peer {}; carrying on as before",
                    self.id
                )));
                self.phase = member(previous);
                self.next_ping_at = now;
            }
            (RefuseReason::Duplicate, None) => {
                actions.push(Action::Warn(format!(
                    "peer {} cannot join: a peer with that identity is already in the ring; \
                     choose another identity",
                    self.id
                )));
                actions.push(Action::Exit { code: 1 });
            }
            (RefuseReason::NoPlace, previous) => {
                actions.push(Action::Warn(format!(
                    "peer {} cannot join: the request found no place in the ring, \
                     which is changing; try again",
                    self.id
                )));
                self.end_failed_join(previous, now, actions);
            }
        }
    }

    /// A newcomer that cannot join exits; a peer that was rejoining keeps
    /// trying, as it has nowhere else to go.
    fn end_failed_join(
        &mut self,
        previous: Option<Successors>,
        now: Instant,
        actions: &mut Vec<Action>,
    ) {
        match previous {
            None => actions.push(Action::Exit { code: 1 }),
            Some(previous) => {
                let Phase::Joining { via, .. } = self.phase else {
                    return;
                };
                let next_via = if via == previous.first {
                    previous.second
                } else {
                    previous.first
                };
                // Wait before trying again, so that a ring that cannot be
                // reached costs one attempt a second, not a busy loop.
                self.phase = Phase::Joining {
                    via: next_via,
                    give_up_at: now + REJOIN_RETRY + JOIN_TIMEOUT,
                    previous: Some(previous),
                    send_at: Some(now + REJOIN_RETRY),
                };
            }
        }
    }

    fn on_successor_change(
        &mut self,
        from: PeerId,
        successors: Successors,
        now: Instant,
        actions: &mut Vec<Action>,
    ) {
        let is_from_first =
            matches!(&self.phase, Phase::Member { first, .. } if first.peer == from);
        if !is_from_first {
            actions.push(Action::Warn(format!(
                "ignored a successor change from peer {from}, which is not this peer's first successor"
            )));
            return;
        }
        actions.push(Action::Print(Line::SuccessorChangeReceived));
        self.change_successors(successors, now, actions);
    }

    // ----- Leaving -----

    fn on_command(&mut self, command: Command, now: Instant, actions: &mut Vec<Action>) {
        match command {
            Command::Quit => self.quit(now, actions),
            Command::Store(file) => self.store_typed(file, now, actions),
            Command::Request(file) => self.request_typed(file, now, actions),
        }
    }

    /// Tells both predecessors, as last heard from pings, which successors
    /// to take instead of us, and leaves once they have acknowledged.
    fn quit(&mut self, now: Instant, actions: &mut Vec<Action>) {
        if self.repair().is_some() {
            // Our second successor is unknown until the repair ends, and
            // leaving now would look like a failure to our predecessors.
            actions.push(Action::Warn(
                "leaving as soon as the repair of this peer's successors is done".to_string(),
            ));
            self.quit_after_repair = true;
            return;
        }
        let Some(Successors { first, second }) = self.successors() else {
            // Not (fully) in the ring: nobody depends on us.
            actions.push(Action::Exit { code: 0 });
            return;
        };
        let mut waiting_for = Vec::new();
        for which in [Ordinal::First, Ordinal::Second] {
            if let Some(predecessor) = self.predecessor(which, now)
                && !waiting_for.contains(&predecessor)
            {
                waiting_for.push(predecessor);
                actions.push(Action::Send {
                    to: predecessor,
                    message: Message::Leave {
                        from: self.id,
                        first,
                        second,
                    },
                });
            }
        }
        if waiting_for.is_empty() {
            actions.push(Action::Exit { code: 0 });
            return;
        }
        self.leaving = Some(Leaving {
            waiting_for,
            give_up_at: now + LEAVE_TIMEOUT,
        });
    }

    /// A successor of ours is leaving: take its successors in its place.
    fn on_departure(
        &mut self,
        leaving: PeerId,
        its: Successors,
        now: Instant,
        actions: &mut Vec<Action>,
    ) {
        let Phase::Member { first, second } = &self.phase else {
            actions.push(Action::Warn(format!(
                "ignored the departure of peer {leaving}: this peer is not in the ring"
            )));
            return;
        };
        // During a repair the second successor is unknown, but a departing
        // first successor names both of its own, which ends the repair.
        let new = if first.peer == leaving {
            its
        } else if second.known().is_some_and(|second| second.peer == leaving) {
            Successors {
                first: first.peer,
                second: its.first,
            }
        } else {
            actions.push(Action::Warn(format!(
                "ignored the departure of peer {leaving}, which is not a successor of this peer"
            )));
            return;
        };
        actions.push(Action::Print(Line::WillDepart { peer: leaving }));
        self.change_successors(new, now, actions);
    }

    // ----- Failures -----

    /// A successor stopped answering: drop it, keep the survivor as first
    /// successor, and ask the survivor for its successors to find the new
    /// second one.
    fn declare_dead(&mut self, dead: PeerId, actions: &mut Vec<Action>) {
        let Phase::Member { first, second } = &self.phase else {
            return;
        };
        actions.push(Action::Print(Line::NoLongerAlive { peer: dead }));
        let survivor = if first.peer == dead {
            second.known().copied()
        } else {
            Some(*first)
        };
        let Some(survivor) = survivor else {
            actions.push(Action::Warn(format!(
                "both successors of peer {} have failed; it cannot find the ring again on its own",
                self.id
            )));
            self.phase = Phase::Stranded;
            if self.quit_after_repair {
                actions.push(Action::Exit { code: 0 });
            }
            return;
        };
        self.phase = Phase::Member {
            first: survivor,
            second: Second::Repairing(Repair {
                dead,
                ask_again_at: None,
            }),
        };
        self.ask_for_successors(actions);
    }

    /// Asks the first successor for its successors, to end a repair.
    fn ask_for_successors(&mut self, actions: &mut Vec<Action>) {
        let Phase::Member {
            first,
            second: Second::Repairing(repair),
        } = &mut self.phase
        else {
            return;
        };
        repair.ask_again_at = None;
        actions.push(Action::Send {
            to: first.peer,
            message: Message::Query { from: self.id },
        });
    }

    /// The repair under way, if any.
    fn repair(&self) -> Option<Repair> {
        match &self.phase {
            Phase::Member {
                second: Second::Repairing(repair),
                ..
            } => Some(*repair),
            _ => None,
        }
    }

    /// The survivor's successors, `(x, y)`, complete the repair: our new
    /// second successor is `x`, unless the survivor has not noticed the
    /// failure yet and still names the dead peer, in which case it is `y`.
    fn finish_repair(&mut self, answer: Successors, now: Instant, actions: &mut Vec<Action>) {
        let (Some(repair), Phase::Member { first, .. }) = (self.repair(), &self.phase) else {
            return;
        };
        let second = if answer.first == repair.dead {
            answer.second
        } else {
            answer.first
        };
        let first = first.peer;
        self.change_successors(Successors { first, second }, now, actions);
    }

    // ----- Files -----

    /// Where a store or request for `file` goes from here: this peer is
    /// responsible, or it passes the message to its first successor, or the
    /// message has travelled too far.
    ///
    /// This peer is responsible when the sender said so (`Target::Owner`),
    /// or when the file's hash lies between its first predecessor and
    /// itself. Before any predecessor has pinged, a peer cannot tell, and
    /// passes the message on; it comes back round marked `Owner` by the
    /// peer before it, at worst after one turn of the ring.
    fn route(&self, file: FileName, target: Target, hops: u32, now: Instant) -> Route {
        let hash = file.hash();
        let owned_by_predecessor_rule = self
            .predecessor(Ordinal::First, now)
            .is_some_and(|predecessor| is_in_arc(predecessor.0, hash, self.id.0));
        if target == Target::Owner || owned_by_predecessor_rule {
            return Route::Here;
        }
        let Phase::Member { first, .. } = &self.phase else {
            return Route::Nowhere;
        };
        if hops >= MAX_HOPS {
            return Route::Nowhere;
        }
        let target = if is_in_arc(self.id.0, hash, first.peer.0) {
            Target::Owner
        } else {
            Target::Search
        };
        Route::Onward {
            to: first.peer,
            target,
        }
    }

    fn store_typed(&mut self, file: FileName, now: Instant, actions: &mut Vec<Action>) {
        if !self.files.has(file) {
            actions.push(Action::Warn(format!(
                "cannot store file {file}: there is no {file}.pdf in this peer's directory (--dir)"
            )));
            return;
        }
        self.stores_under_way.push(file);
        self.on_store(file, self.id, 0, Target::Search, now, actions);
    }

    fn on_store(
        &mut self,
        file: FileName,
        origin: PeerId,
        hops: u32,
        target: Target,
        now: Instant,
        actions: &mut Vec<Action>,
    ) {
        match self.route(file, target, hops, now) {
            Route::Here => {
                actions.push(Action::Print(Line::StoreAccepted { file }));
                if origin == self.id {
                    // Typed here, and this peer is responsible: the file is
                    // where it belongs already.
                    self.stores_under_way.retain(|&f| f != file);
                } else {
                    self.expected_offers.push((file, Purpose::Store));
                    actions.push(Action::Send {
                        to: origin,
                        message: Message::Fetch {
                            file,
                            from: self.id,
                        },
                    });
                }
            }
            Route::Onward { to, target } => {
                actions.push(Action::Print(Line::StoreForwarded { file }));
                actions.push(Action::Send {
                    to,
                    message: Message::Store {
                        file,
                        origin,
                        hops: hops + 1,
                        target,
                    },
                });
            }
            Route::Nowhere => actions.push(Action::Warn(format!(
                "dropped Store {file} from peer {origin}: it found no responsible peer \
                 (this peer is not in the ring, or the ring is changing)"
            ))),
        }
    }

    fn request_typed(&mut self, file: FileName, now: Instant, actions: &mut Vec<Action>) {
        match self.route(file, Target::Search, 0, now) {
            Route::Here => self.answer_own_request(file, actions),
            Route::Onward { to, target } => {
                self.expected_offers.push((file, Purpose::Request));
                actions.push(Action::Print(Line::FileRequestSent { file }));
                actions.push(Action::Send {
                    to,
                    message: Message::Request {
                        file,
                        origin: self.id,
                        hops: 1,
                        target,
                    },
                });
            }
            Route::Nowhere => actions.push(Action::Warn(format!(
                "cannot request file {file}: this peer is not in the ring"
            ))),
        }
    }

    /// The requester is itself responsible for the file: it says whether it
    /// holds it, and nothing needs to move.
    fn answer_own_request(&mut self, file: FileName, actions: &mut Vec<Action>) {
        self.take_expected_offer(file, Purpose::Request);
        if self.files.has(file) {
            actions.push(Action::Print(Line::FileStoredHere { file }));
        } else {
            actions.push(Action::Print(Line::FileNotFound {
                file,
                peer: self.id,
            }));
        }
    }

    fn on_request(
        &mut self,
        file: FileName,
        origin: PeerId,
        hops: u32,
        target: Target,
        now: Instant,
        actions: &mut Vec<Action>,
    ) {
        match self.route(file, target, hops, now) {
            Route::Here if origin == self.id => self.answer_own_request(file, actions),
            Route::Here if self.files.has(file) => {
                actions.push(Action::Print(Line::FileStoredHere { file }));
                actions.push(Action::Print(Line::SendingFile { file, to: origin }));
                actions.push(Action::SendFile {
                    to: origin,
                    file,
                    purpose: Purpose::Request,
                });
            }
            Route::Here => {
                actions.push(Action::Print(Line::FileNotStoredHere { file }));
                actions.push(not_found(file, origin, self.id));
            }
            Route::Onward { to, target } => {
                actions.push(Action::Print(Line::FileNotStoredHere { file }));
                actions.push(Action::Send {
                    to,
                    message: Message::Request {
                        file,
                        origin,
                        hops: hops + 1,
                        target,
                    },
                });
            }
            Route::Nowhere => {
                actions.push(Action::Warn(format!(
                    "gave up Request {file} from peer {origin}: it found no responsible peer"
                )));
                actions.push(not_found(file, origin, self.id));
            }
        }
    }

    /// Someone is about to send us a file: take it if we asked for it.
    fn on_offer(
        &mut self,
        file: FileName,
        from: PeerId,
        size: u64,
        purpose: Purpose,
        source: Source,
        actions: &mut Vec<Action>,
    ) {
        if !self.take_expected_offer(file, purpose) {
            actions.push(Action::Warn(format!(
                "refused file {file} offered by peer {from}: this peer did not ask for it"
            )));
            actions.push(unexpected(source));
            return;
        }
        if purpose == Purpose::Request {
            actions.push(Action::Print(Line::PeerHadFile { peer: from, file }));
            actions.push(Action::Print(Line::ReceivingFile { file, from }));
        }
        actions.push(Action::ReceiveFile {
            from,
            file,
            size,
            purpose,
            reply_to: source,
        });
    }

    /// Removes one expected offer of `file` for `purpose`; returns whether
    /// there was one.
    fn take_expected_offer(&mut self, file: FileName, purpose: Purpose) -> bool {
        let found = self
            .expected_offers
            .iter()
            .position(|&expected| expected == (file, purpose));
        found
            .map(|index| self.expected_offers.remove(index))
            .is_some()
    }

    fn on_transfer_finished(
        &mut self,
        file: FileName,
        peer: PeerId,
        direction: Direction,
        purpose: Purpose,
        outcome: Result<(), String>,
        actions: &mut Vec<Action>,
    ) {
        match (outcome, direction, purpose) {
            (Ok(()), Direction::Sent, Purpose::Request) => {
                actions.push(Action::Print(Line::FileSent))
            }
            (Ok(()), Direction::Received, Purpose::Request) => {
                actions.push(Action::Print(Line::FileReceived { file }))
            }
            // A stored file moves silently: the reference prints nothing
            // for it beyond "accepted".
            (Ok(()), _, Purpose::Store) => {}
            (Err(reason), Direction::Sent, _) => actions.push(Action::Warn(format!(
                "sending file {file} to peer {peer} failed: {reason}"
            ))),
            (Err(reason), Direction::Received, _) => actions.push(Action::Warn(format!(
                "receiving file {file} from peer {peer} failed: {reason}"
            ))),
        }
    }

    // ----- Answers to our requests -----

    fn on_reply(
        &mut self,
        peer: PeerId,
        request: Message,
        reply: Option<Message>,
        now: Instant,
        actions: &mut Vec<Action>,
    ) {
        match (request, reply) {
            (Message::Query { .. }, reply) => {
                let asked_survivor =
                    matches!(&self.phase, Phase::Member { first, .. } if first.peer == peer);
                if self.repair().is_none() || !asked_survivor {
                    return; // A stale answer: the repair is over or moved on.
                }
                match reply {
                    Some(Message::Successors { first, second }) => {
                        self.finish_repair(Successors { first, second }, now, actions)
                    }
                    _ => {
                        if let Phase::Member {
                            second: Second::Repairing(repair),
                            ..
                        } = &mut self.phase
                        {
                            repair.ask_again_at = Some(now + QUERY_RETRY);
                        }
                    }
                }
            }
            (Message::Join { newcomer, .. }, None) if newcomer == self.id => {
                if let Phase::Joining { via, previous, .. } = self.phase {
                    actions.push(Action::Warn(format!(
                        "peer {via} does not answer, so peer {} cannot join through it; \
                         is peer {via} running, with the same --base-port?",
                        self.id
                    )));
                    self.end_failed_join(previous, now, actions);
                }
            }
            (Message::Leave { .. }, _) => {
                if let Some(leaving) = &mut self.leaving {
                    leaving.waiting_for.retain(|&p| p != peer);
                    if leaving.waiting_for.is_empty() {
                        actions.push(Action::Exit { code: 0 });
                    }
                }
            }
            (request, None) => actions.push(Action::Warn(format!(
                "peer {peer} did not answer {request}"
            ))),
            (request, Some(Message::Error { reason })) => actions.push(Action::Warn(format!(
                "peer {peer} answered {request} with an error: {reason}"
            ))),
            (_, Some(_)) => {}
        }
    }

    // ----- Helpers -----

    /// Takes new successors, says so with the reference lines, and pings
    /// them at once so that they learn of us without waiting an interval.
    fn change_successors(&mut self, new: Successors, now: Instant, actions: &mut Vec<Action>) {
        actions.push(Action::Print(Line::NewFirstSuccessor { peer: new.first }));
        actions.push(Action::Print(Line::NewSecondSuccessor { peer: new.second }));
        // A successor we keep keeps its liveness record.
        let keep = |peer: PeerId, phase: &Phase| match phase {
            Phase::Member { first, second } => [Some(*first), second.known().copied()]
                .into_iter()
                .flatten()
                .find(|s| s.peer == peer)
                .unwrap_or_else(|| Successor::new(peer)),
            _ => Successor::new(peer),
        };
        self.phase = Phase::Member {
            first: keep(new.first, &self.phase),
            second: Second::Known(keep(new.second, &self.phase)),
        };
        self.next_ping_at = now;
        if self.quit_after_repair {
            self.quit_after_repair = false;
            self.quit(now, actions);
        }
    }

    fn successor_mut(&mut self, peer: PeerId) -> Option<&mut Successor> {
        match &mut self.phase {
            Phase::Member { first, second } => std::iter::once(first)
                .chain(second.known_mut())
                .find(|s| s.peer == peer),
            _ => None,
        }
    }
}

/// Where a store or request goes next; see [`Peer::route`].
enum Route {
    Here,
    Onward { to: PeerId, target: Target },
    Nowhere,
}

fn not_found(file: FileName, requester: PeerId, me: PeerId) -> Action {
    Action::Send {
        to: requester,
        message: Message::NotFound { file, from: me },
    }
}

fn member(successors: Successors) -> Phase {
    Phase::Member {
        first: Successor::new(successors.first),
        second: Second::Known(Successor::new(successors.second)),
    }
}

fn slot(which: Ordinal) -> usize {
    match which {
        Ordinal::First => 0,
        Ordinal::Second => 1,
    }
}

fn ping(from: PeerId, to: PeerId, successor: Ordinal, seq: u32) -> Action {
    Action::SendDatagram {
        to,
        message: Message::Ping {
            from,
            to,
            successor,
            seq,
        },
    }
}

fn ok(source: Source) -> Action {
    Action::Reply {
        to: source,
        message: Message::Ok,
    }
}

fn unexpected(source: Source) -> Action {
    Action::Reply {
        to: source,
        message: Message::Error {
            reason: ErrorReason::Unexpected,
        },
    }
}

fn refuse(newcomer: PeerId, reason: RefuseReason) -> Action {
    Action::Send {
        to: newcomer,
        message: Message::Refuse { reason },
    }
}

fn misaddressed(message: &Message, me: PeerId) -> Action {
    Action::Warn(format!(
        "ignored {message}: it is not for this peer ({me}); \
         is another ring using the same ports?"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ring::FileName;
    use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

    const INTERVAL: Duration = Duration::from_secs(30);

    fn ids(first: u8, second: u8) -> Successors {
        Successors {
            first: PeerId(first),
            second: PeerId(second),
        }
    }

    /// A peer of the initial ring that has sent its first pings.
    fn member_peer(id: u8, first: u8, second: u8, now: Instant) -> Peer {
        let mut peer = Peer::new(PeerId(id), ids(first, second), Timing::new(INTERVAL), now);
        peer.handle(Event::Tick, now);
        peer
    }

    fn udp_from(peer: u8) -> Source {
        Source::Datagram(SocketAddr::V4(SocketAddrV4::new(
            Ipv4Addr::LOCALHOST,
            12000 + u16::from(peer),
        )))
    }

    fn tcp() -> Source {
        Source::Connection(ConnectionId(1))
    }

    fn received(message: Message, source: Source) -> Event {
        Event::Received { message, source }
    }

    fn ping_from(from: u8, to: u8, successor: Ordinal) -> Event {
        received(
            Message::Ping {
                from: PeerId(from),
                to: PeerId(to),
                successor,
                seq: 0,
            },
            udp_from(from),
        )
    }

    fn pong_from(from: u8, to: u8) -> Event {
        received(
            Message::Pong {
                from: PeerId(from),
                to: PeerId(to),
                seq: 0,
            },
            udp_from(from),
        )
    }

    fn join(newcomer: u8, sender: u8, hops: u32) -> Event {
        received(
            Message::Join {
                newcomer: PeerId(newcomer),
                sender: PeerId(sender),
                hops,
            },
            tcp(),
        )
    }

    fn replied(peer: u8, request: Message, reply: Option<Message>) -> Event {
        Event::Replied {
            peer: PeerId(peer),
            request,
            reply,
        }
    }

    fn printed(actions: &[Action]) -> Vec<String> {
        actions
            .iter()
            .filter_map(|action| match action {
                Action::Print(line) => Some(line.to_string()),
                _ => None,
            })
            .collect()
    }

    /// The TCP requests among the actions, as (recipient, line).
    fn requests(actions: &[Action]) -> Vec<(u8, String)> {
        actions
            .iter()
            .filter_map(|action| match action {
                Action::Send { to, message } => Some((to.0, message.to_string())),
                _ => None,
            })
            .collect()
    }

    /// The datagrams among the actions, as (recipient, line).
    fn datagrams(actions: &[Action]) -> Vec<(u8, String)> {
        actions
            .iter()
            .filter_map(|action| match action {
                Action::SendDatagram { to, message } => Some((to.0, message.to_string())),
                _ => None,
            })
            .collect()
    }

    fn exit_code(actions: &[Action]) -> Option<u8> {
        actions.iter().find_map(|action| match action {
            Action::Exit { code } => Some(*code),
            _ => None,
        })
    }

    // ----- Pings -----

    #[test]
    fn pings_both_successors_at_once_and_then_every_interval() {
        let start = Instant::now();
        let mut peer = Peer::new(PeerId(2), ids(4, 5), Timing::new(INTERVAL), start);
        assert_eq!(peer.next_deadline(), Some(start));
        let actions = peer.handle(Event::Tick, start);
        assert_eq!(printed(&actions), ["Ping requests sent to Peers 4 and 5"]);
        assert_eq!(
            datagrams(&actions),
            [
                (4, "PING 2 4 first 0".into()),
                (5, "PING 2 5 second 0".into())
            ]
        );
        // Successors that have never answered are not probed: they may
        // simply not have started yet.
        assert_eq!(peer.next_deadline(), Some(start + INTERVAL));
        assert!(peer.handle(Event::Tick, start + INTERVAL / 2).is_empty());
        let actions = peer.handle(Event::Tick, start + INTERVAL);
        assert_eq!(printed(&actions), ["Ping requests sent to Peers 4 and 5"]);
        assert_eq!(peer.next_deadline(), Some(start + INTERVAL * 2));
    }

    #[test]
    fn after_a_long_stall_the_rhythm_restarts_instead_of_bursting() {
        let start = Instant::now();
        let mut peer = member_peer(2, 4, 5, start);
        let late = start + INTERVAL * 10;
        peer.handle(Event::Tick, late);
        assert_eq!(peer.next_deadline(), Some(late + INTERVAL));
    }

    #[test]
    fn answers_a_ping_the_way_it_came_and_learns_a_predecessor() {
        let now = Instant::now();
        let mut peer = member_peer(4, 5, 8, now);
        let actions = peer.handle(ping_from(2, 4, Ordinal::First), now);
        assert_eq!(
            actions,
            [
                Action::Print(Line::PingRequestReceived { from: PeerId(2) }),
                Action::Reply {
                    to: udp_from(2),
                    message: Message::Pong {
                        from: PeerId(4),
                        to: PeerId(2),
                        seq: 0
                    },
                },
            ]
        );
        assert_eq!(peer.predecessor(Ordinal::First, now), Some(PeerId(2)));
        assert_eq!(peer.predecessor(Ordinal::Second, now), None);
        peer.handle(ping_from(19, 4, Ordinal::Second), now);
        assert_eq!(peer.predecessor(Ordinal::Second, now), Some(PeerId(19)));
    }

    #[test]
    fn predecessors_are_forgotten_when_they_stop_pinging() {
        let now = Instant::now();
        let mut peer = member_peer(4, 5, 8, now);
        peer.handle(ping_from(2, 4, Ordinal::First), now);
        let memory = Timing::new(INTERVAL).predecessor_memory();
        assert_eq!(
            peer.predecessor(Ordinal::First, now + memory),
            Some(PeerId(2))
        );
        let later = now + memory + Duration::from_millis(1);
        assert_eq!(peer.predecessor(Ordinal::First, later), None);
    }

    #[test]
    fn a_predecessor_that_moves_to_the_other_slot_leaves_the_old_one() {
        // Peer 2 was our second predecessor; after a departure it pings us
        // as its first successor.
        let now = Instant::now();
        let mut peer = member_peer(5, 8, 9, now);
        peer.handle(ping_from(2, 5, Ordinal::Second), now);
        peer.handle(ping_from(2, 5, Ordinal::First), now);
        assert_eq!(peer.predecessor(Ordinal::First, now), Some(PeerId(2)));
        assert_eq!(peer.predecessor(Ordinal::Second, now), None);
    }

    #[test]
    fn answers_from_successors_are_printed_and_stale_ones_ignored() {
        let now = Instant::now();
        let mut peer = member_peer(2, 4, 5, now);
        assert_eq!(
            printed(&peer.handle(pong_from(4, 2), now)),
            ["Ping response received from Peer 4"]
        );
        assert_eq!(
            printed(&peer.handle(pong_from(5, 2), now)),
            ["Ping response received from Peer 5"]
        );
        assert!(peer.handle(pong_from(9, 2), now).is_empty());
    }

    #[test]
    fn messages_for_another_peer_are_reported_not_obeyed() {
        let now = Instant::now();
        let mut peer = member_peer(4, 5, 8, now);
        let actions = peer.handle(ping_from(2, 9, Ordinal::First), now);
        assert!(matches!(actions.as_slice(), [Action::Warn(_)]));
        assert_eq!(peer.predecessor(Ordinal::First, now), None);
        let actions = peer.handle(pong_from(5, 9), now);
        assert!(matches!(actions.as_slice(), [Action::Warn(_)]));
    }

    // ----- Joining -----

    #[test]
    fn a_join_that_does_not_belong_here_is_passed_on() {
        let now = Instant::now();
        let mut peer = member_peer(4, 5, 8, now);
        let actions = peer.handle(join(15, 2, 1), now);
        assert_eq!(
            printed(&actions),
            ["Peer 15 Join request forwarded to my successor"]
        );
        assert_eq!(requests(&actions), [(5, "JOIN 15 4 2".into())]);
        assert!(actions.contains(&Action::Reply {
            to: tcp(),
            message: Message::Ok
        }));
        assert_eq!(peer.successors(), Some(ids(5, 8)));
    }

    #[test]
    fn the_peer_before_the_newcomer_takes_it_and_tells_its_predecessor() {
        let now = Instant::now();
        let mut peer = member_peer(14, 19, 2, now);
        let actions = peer.handle(join(15, 9, 4), now);
        assert_eq!(
            printed(&actions),
            [
                "Peer 15 Join request received",
                "My new first successor is Peer 15",
                "My new second successor is Peer 19",
            ]
        );
        assert_eq!(
            requests(&actions),
            [(15, "WELCOME 19 2".into()), (9, "CHANGE 14 14 15".into())]
        );
        assert_eq!(peer.successors(), Some(ids(15, 19)));
        // It pings its new successors at once.
        let actions = peer.handle(Event::Tick, now);
        assert_eq!(printed(&actions), ["Ping requests sent to Peers 15 and 19"]);
    }

    #[test]
    fn newcomers_beyond_the_largest_or_below_the_smallest_go_after_the_largest() {
        let now = Instant::now();
        for newcomer in [200, 255, 0, 1] {
            let mut largest = member_peer(19, 2, 4, now);
            let actions = largest.handle(join(newcomer, 14, 1), now);
            assert_eq!(
                largest.successors(),
                Some(ids(newcomer, 2)),
                "newcomer {newcomer}"
            );
            assert_eq!(requests(&actions)[0], (newcomer, "WELCOME 2 4".to_string()));
            // Every other peer passes such a newcomer on.
            let mut other = member_peer(14, 19, 2, now);
            other.handle(join(newcomer, 9, 1), now);
            assert_eq!(other.successors(), Some(ids(19, 2)));
        }
    }

    #[test]
    fn placement_on_a_ring_that_wraps_past_255() {
        // Ring 250 253 3 7: peer 1 belongs after 253, peer 255 too.
        let now = Instant::now();
        let mut peer = member_peer(253, 3, 7, now);
        peer.handle(join(1, 250, 1), now);
        assert_eq!(peer.successors(), Some(ids(1, 3)));
        let mut peer = member_peer(253, 3, 7, now);
        peer.handle(join(255, 250, 1), now);
        assert_eq!(peer.successors(), Some(ids(255, 3)));
        let mut peer = member_peer(250, 253, 3, now);
        let actions = peer.handle(join(1, 7, 1), now);
        assert_eq!(requests(&actions), [(253, "JOIN 1 250 2".into())]);
    }

    #[test]
    fn a_newcomer_with_a_taken_identity_is_refused() {
        let now = Instant::now();
        let mut peer = member_peer(9, 14, 19, now);
        let actions = peer.handle(join(14, 8, 3), now);
        assert_eq!(requests(&actions), [(14, "REFUSE duplicate".into())]);
        assert!(printed(&actions).is_empty());
        assert_eq!(peer.successors(), Some(ids(14, 19)));
        let actions = peer.handle(join(9, 8, 3), now);
        assert_eq!(requests(&actions), [(9, "REFUSE duplicate".into())]);
    }

    #[test]
    fn a_join_that_circles_the_ring_is_refused() {
        let now = Instant::now();
        let mut peer = member_peer(4, 5, 8, now);
        let actions = peer.handle(join(15, 2, MAX_HOPS), now);
        assert_eq!(requests(&actions), [(15, "REFUSE no-place".into())]);
    }

    #[test]
    fn a_join_straight_from_the_newcomer_asks_the_pings_for_the_predecessor() {
        let now = Instant::now();
        let mut peer = member_peer(14, 19, 2, now);
        peer.handle(ping_from(9, 14, Ordinal::First), now);
        let actions = peer.handle(join(15, 15, 0), now);
        assert_eq!(requests(&actions)[1], (9, "CHANGE 14 14 15".into()));
    }

    #[test]
    fn a_join_just_after_start_tells_the_predecessor_once_it_pings() {
        let now = Instant::now();
        let mut peer = member_peer(14, 19, 2, now);
        let actions = peer.handle(join(15, 15, 0), now);
        assert_eq!(requests(&actions), [(15, "WELCOME 19 2".into())]);
        let actions = peer.handle(ping_from(9, 14, Ordinal::First), now);
        assert_eq!(requests(&actions), [(9, "CHANGE 14 14 15".into())]);
        // Only once.
        let actions = peer.handle(ping_from(9, 14, Ordinal::First), now);
        assert!(requests(&actions).is_empty());
    }

    #[test]
    fn the_predecessor_takes_the_successor_change() {
        let now = Instant::now();
        let mut peer = member_peer(9, 14, 19, now);
        let change = Message::Change {
            from: PeerId(14),
            first: PeerId(14),
            second: PeerId(15),
        };
        let actions = peer.handle(received(change, tcp()), now);
        assert_eq!(
            printed(&actions),
            [
                "Successor Change request received",
                "My new first successor is Peer 14",
                "My new second successor is Peer 15",
            ]
        );
        assert_eq!(peer.successors(), Some(ids(14, 15)));
    }

    #[test]
    fn a_successor_change_from_a_stranger_is_ignored() {
        let now = Instant::now();
        let mut peer = member_peer(9, 14, 19, now);
        let change = Message::Change {
            from: PeerId(19),
            first: PeerId(19),
            second: PeerId(20),
        };
        let actions = peer.handle(received(change, tcp()), now);
        assert!(printed(&actions).is_empty());
        assert_eq!(peer.successors(), Some(ids(14, 19)));
    }

    #[test]
    fn the_newcomer_learns_its_successors_and_pings_at_once() {
        let now = Instant::now();
        let (mut peer, actions) = Peer::joining(PeerId(15), PeerId(4), Timing::new(INTERVAL), now);
        assert_eq!(requests(&actions), [(4, "JOIN 15 15 0".into())]);
        assert_eq!(peer.successors(), None);
        let welcome = Message::Welcome {
            first: PeerId(19),
            second: PeerId(2),
        };
        let actions = peer.handle(received(welcome, tcp()), now);
        assert_eq!(
            printed(&actions),
            [
                "Join request has been accepted",
                "My first successor is Peer 19",
                "My second successor is Peer 2",
            ]
        );
        let actions = peer.handle(Event::Tick, now);
        assert_eq!(printed(&actions), ["Ping requests sent to Peers 19 and 2"]);
    }

    #[test]
    fn a_newcomer_gives_up_when_nobody_answers() {
        let now = Instant::now();
        let (mut peer, _) = Peer::joining(PeerId(15), PeerId(7), Timing::new(INTERVAL), now);
        let request = Message::Join {
            newcomer: PeerId(15),
            sender: PeerId(15),
            hops: 0,
        };
        let actions = peer.handle(replied(7, request, None), now);
        assert_eq!(exit_code(&actions), Some(1));

        let (mut peer, _) = Peer::joining(PeerId(15), PeerId(4), Timing::new(INTERVAL), now);
        peer.handle(Event::Tick, now);
        assert_eq!(peer.next_deadline(), Some(now + JOIN_TIMEOUT));
        let actions = peer.handle(Event::Tick, now + JOIN_TIMEOUT);
        assert_eq!(exit_code(&actions), Some(1));
    }

    #[test]
    fn a_refused_newcomer_exits_with_an_error() {
        let now = Instant::now();
        let (mut peer, _) = Peer::joining(PeerId(14), PeerId(4), Timing::new(INTERVAL), now);
        let refuse = Message::Refuse {
            reason: RefuseReason::Duplicate,
        };
        let actions = peer.handle(received(refuse, tcp()), now);
        assert_eq!(exit_code(&actions), Some(1));
    }

    // ----- Leaving -----

    #[test]
    fn quit_tells_both_predecessors_and_waits_for_them() {
        let now = Instant::now();
        let mut peer = member_peer(9, 14, 19, now);
        peer.handle(ping_from(8, 9, Ordinal::First), now);
        peer.handle(ping_from(5, 9, Ordinal::Second), now);
        let actions = peer.handle(Event::Typed(Command::Quit), now);
        assert_eq!(
            requests(&actions),
            [(8, "LEAVE 9 14 19".into()), (5, "LEAVE 9 14 19".into())]
        );
        assert_eq!(exit_code(&actions), None);
        let leave = Message::Leave {
            from: PeerId(9),
            first: PeerId(14),
            second: PeerId(19),
        };
        let actions = peer.handle(replied(8, leave.clone(), Some(Message::Ok)), now);
        assert_eq!(exit_code(&actions), None);
        let actions = peer.handle(replied(5, leave, Some(Message::Ok)), now);
        assert_eq!(exit_code(&actions), Some(0));
    }

    #[test]
    fn a_silent_predecessor_does_not_trap_a_leaving_peer() {
        let now = Instant::now();
        let mut peer = member_peer(9, 14, 19, now);
        peer.handle(ping_from(8, 9, Ordinal::First), now);
        peer.handle(Event::Typed(Command::Quit), now);
        assert_eq!(peer.next_deadline(), Some(now + LEAVE_TIMEOUT));
        let actions = peer.handle(Event::Tick, now + LEAVE_TIMEOUT);
        assert_eq!(exit_code(&actions), Some(0));
    }

    #[test]
    fn quit_without_known_predecessors_exits_at_once() {
        let now = Instant::now();
        let mut peer = member_peer(9, 14, 19, now);
        let actions = peer.handle(Event::Typed(Command::Quit), now);
        assert_eq!(exit_code(&actions), Some(0));
    }

    #[test]
    fn each_predecessor_takes_the_right_successors_from_a_departure() {
        let now = Instant::now();
        let leave = Message::Leave {
            from: PeerId(9),
            first: PeerId(14),
            second: PeerId(19),
        };
        let mut first_predecessor = member_peer(8, 9, 14, now);
        let actions = first_predecessor.handle(received(leave.clone(), tcp()), now);
        assert_eq!(
            printed(&actions),
            [
                "Peer 9 will depart from the network",
                "My new first successor is Peer 14",
                "My new second successor is Peer 19",
            ]
        );
        let mut second_predecessor = member_peer(5, 8, 9, now);
        let actions = second_predecessor.handle(received(leave.clone(), tcp()), now);
        assert_eq!(
            printed(&actions),
            [
                "Peer 9 will depart from the network",
                "My new first successor is Peer 8",
                "My new second successor is Peer 14",
            ]
        );
        let mut stranger = member_peer(2, 4, 5, now);
        let actions = stranger.handle(received(leave, tcp()), now);
        assert!(printed(&actions).is_empty());
        assert_eq!(stranger.successors(), Some(ids(4, 5)));
    }

    #[test]
    fn a_leaving_peer_passes_joins_on_instead_of_taking_them() {
        let now = Instant::now();
        let mut peer = member_peer(14, 19, 2, now);
        peer.handle(ping_from(9, 14, Ordinal::First), now);
        peer.handle(Event::Typed(Command::Quit), now);
        let actions = peer.handle(join(15, 9, 3), now);
        assert_eq!(requests(&actions), [(19, "JOIN 15 14 4".into())]);
    }

    // ----- Failures -----

    /// A peer whose successors have both answered a first ping at `start`.
    fn answered_peer(id: u8, first: u8, second: u8, start: Instant) -> Peer {
        let mut peer = member_peer(id, first, second, start);
        peer.handle(pong_from(first, id), start);
        peer.handle(pong_from(second, id), start);
        peer
    }

    /// Ticks the peer at each deadline until `until`, answering every ping
    /// of the successors in `alive`; returns all actions.
    fn run_until(peer: &mut Peer, until: Instant, alive: &[u8]) -> Vec<(Instant, Action)> {
        let mut log = Vec::new();
        loop {
            let Some(at) = peer.next_deadline().filter(|&at| at <= until) else {
                return log;
            };
            for action in peer.handle(Event::Tick, at) {
                if let Action::SendDatagram {
                    to,
                    message: Message::Ping { .. },
                } = &action
                    && alive.contains(&to.0)
                {
                    peer.handle(pong_from(to.0, peer.id().0), at);
                }
                log.push((at, action));
            }
        }
    }

    fn first_print_of(log: &[(Instant, Action)], text: &str) -> Option<Instant> {
        log.iter().find_map(|(at, action)| match action {
            Action::Print(line) if line.to_string() == text => Some(*at),
            _ => None,
        })
    }

    #[test]
    fn a_frozen_successor_is_found_within_one_interval_and_the_silence_limit() {
        let start = Instant::now();
        let mut peer = answered_peer(9, 14, 19, start);
        // 14 froze right after answering; 19 keeps answering.
        let log = run_until(&mut peer, start + INTERVAL * 2, &[19]);
        let found = first_print_of(&log, "Peer 14 is no longer alive").expect("found");
        assert_eq!(found, start + INTERVAL + SILENCE_LIMIT);
        // The probes went out quietly: one regular round line only.
        let rounds = log
            .iter()
            .filter(|(at, a)| {
                *at < found && matches!(a, Action::Print(Line::PingRequestsSent { .. }))
            })
            .count();
        assert_eq!(rounds, 1);
        // And it asked its surviving successor for its successors.
        let asked: Vec<_> = log
            .iter()
            .filter_map(|(_, a)| match a {
                Action::Send { to, message } => Some((to.0, message.to_string())),
                _ => None,
            })
            .collect();
        assert_eq!(asked, [(19, "QUERY 9".to_string())]);
    }

    #[test]
    fn a_closed_link_and_a_short_silence_mean_death_within_a_second() {
        let start = Instant::now();
        let mut peer = answered_peer(9, 14, 19, start);
        let killed = start + INTERVAL / 3;
        peer.handle(Event::LinkLost { peer: PeerId(14) }, killed);
        let log = run_until(&mut peer, killed + Duration::from_secs(1), &[19]);
        let found = first_print_of(&log, "Peer 14 is no longer alive").expect("found");
        assert!(found - killed <= LINK_SILENCE_LIMIT, "{:?}", found - killed);
    }

    #[test]
    fn a_closed_link_to_a_live_successor_is_a_false_alarm() {
        let start = Instant::now();
        let mut peer = answered_peer(9, 14, 19, start);
        peer.handle(Event::LinkLost { peer: PeerId(14) }, start);
        let log = run_until(&mut peer, start + INTERVAL * 3, &[14, 19]);
        assert_eq!(first_print_of(&log, "Peer 14 is no longer alive"), None);
        assert_eq!(peer.successors(), Some(ids(14, 19)));
    }

    #[test]
    fn a_slow_but_live_successor_is_not_declared_dead() {
        // Answers that come back after a second, every time, keep a
        // successor alive.
        let start = Instant::now();
        let mut peer = answered_peer(9, 14, 19, start);
        let mut now = start;
        for _ in 0..10 {
            now += INTERVAL;
            peer.handle(Event::Tick, now);
            let late = now + Duration::from_millis(1000);
            while let Some(at) = peer.next_deadline().filter(|&at| at <= late) {
                let actions = peer.handle(Event::Tick, at);
                assert!(printed(&actions).iter().all(|l| !l.contains("alive")));
            }
            peer.handle(pong_from(14, 9), late);
            peer.handle(pong_from(19, 9), late);
        }
        assert_eq!(peer.successors(), Some(ids(14, 19)));
    }

    #[test]
    fn a_successor_that_never_answered_is_not_declared_dead() {
        let start = Instant::now();
        let mut peer = member_peer(2, 4, 5, start);
        let log = run_until(&mut peer, start + INTERVAL * 5, &[]);
        assert!(
            log.iter()
                .all(|(_, a)| !matches!(a, Action::Print(Line::NoLongerAlive { .. })))
        );
    }

    fn query_reply(first: u8, second: u8) -> Option<Message> {
        Some(Message::Successors {
            first: PeerId(first),
            second: PeerId(second),
        })
    }

    fn declared_dead(peer: &mut Peer, dead: u8, now: Instant) -> Vec<Action> {
        peer.handle(Event::LinkLost { peer: PeerId(dead) }, now);
        let log = run_until(peer, now + Duration::from_secs(1), &[]);
        log.into_iter().map(|(_, action)| action).collect()
    }

    #[test]
    fn the_first_predecessor_repairs_with_its_second_successors_first() {
        // Kill 14 on the teaching ring: 9 asks 19, which answers 2 4.
        let start = Instant::now();
        let mut peer = answered_peer(9, 14, 19, start);
        let actions = declared_dead(&mut peer, 14, start);
        assert!(printed(&actions).contains(&"Peer 14 is no longer alive".to_string()));
        let query = Message::Query { from: PeerId(9) };
        assert!(requests(&actions).contains(&(19, query.to_string())));
        let actions = peer.handle(replied(19, query, query_reply(2, 4)), start);
        assert_eq!(
            printed(&actions),
            [
                "My new first successor is Peer 19",
                "My new second successor is Peer 2",
            ]
        );
        assert_eq!(peer.successors(), Some(ids(19, 2)));
    }

    #[test]
    fn the_second_predecessor_repairs_whether_or_not_the_first_has() {
        let start = Instant::now();
        let query = Message::Query { from: PeerId(8) };
        // 9 has repaired already and answers 19 2.
        let mut peer = answered_peer(8, 9, 14, start);
        declared_dead(&mut peer, 14, start);
        let actions = peer.handle(replied(9, query.clone(), query_reply(19, 2)), start);
        assert_eq!(
            printed(&actions),
            [
                "My new first successor is Peer 9",
                "My new second successor is Peer 19",
            ]
        );
        // 9 has not noticed yet and answers 14 19: take 19 all the same.
        let mut peer = answered_peer(8, 9, 14, start);
        declared_dead(&mut peer, 14, start);
        peer.handle(replied(9, query, query_reply(14, 19)), start);
        assert_eq!(peer.successors(), Some(ids(9, 19)));
    }

    #[test]
    fn a_query_that_fails_is_asked_again() {
        let start = Instant::now();
        let query = Message::Query { from: PeerId(8) };
        let mut peer = answered_peer(8, 9, 14, start);
        declared_dead(&mut peer, 14, start);
        let not_ready = Some(Message::Error {
            reason: ErrorReason::NotReady,
        });
        let later = start + Duration::from_secs(1);
        peer.handle(replied(9, query.clone(), not_ready), later);
        assert_eq!(peer.successors(), None);
        let actions = peer.handle(Event::Tick, later + QUERY_RETRY);
        assert_eq!(requests(&actions), [(9, query.to_string())]);
    }

    #[test]
    fn stale_answers_to_a_finished_repair_are_ignored() {
        let start = Instant::now();
        let query = Message::Query { from: PeerId(8) };
        let mut peer = answered_peer(8, 9, 14, start);
        declared_dead(&mut peer, 14, start);
        peer.handle(replied(9, query.clone(), query_reply(19, 2)), start);
        let actions = peer.handle(replied(9, query, query_reply(20, 21)), start);
        assert!(printed(&actions).is_empty());
        assert_eq!(peer.successors(), Some(ids(9, 19)));
    }

    #[test]
    fn a_peer_asked_during_its_own_repair_says_it_is_not_ready() {
        let start = Instant::now();
        let mut peer = answered_peer(9, 14, 19, start);
        declared_dead(&mut peer, 14, start);
        let actions = peer.handle(received(Message::Query { from: PeerId(8) }, tcp()), start);
        assert_eq!(
            actions,
            [Action::Reply {
                to: tcp(),
                message: Message::Error {
                    reason: ErrorReason::NotReady
                }
            }]
        );
    }

    #[test]
    fn a_peer_dropped_by_the_ring_joins_again_through_its_successor() {
        let start = Instant::now();
        let mut peer = answered_peer(14, 19, 2, start);
        peer.handle(ping_from(9, 14, Ordinal::First), start);
        // Frozen for a long time, then resumed: nobody pings it any more.
        let resumed = start + INTERVAL * 10;
        let actions = peer.handle(Event::Tick, resumed);
        assert_eq!(requests(&actions), [(19, "JOIN 14 14 0".into())]);
        // If the ring still holds it after all, it carries on as before.
        let refuse = Message::Refuse {
            reason: RefuseReason::Duplicate,
        };
        let actions = peer.handle(received(refuse, tcp()), resumed);
        assert_eq!(exit_code(&actions), None);
        assert_eq!(peer.successors(), Some(ids(19, 2)));
    }

    // ----- Files -----

    /// The files a test peer holds.
    #[derive(Debug)]
    struct Holding(Vec<&'static str>);

    impl Files for Holding {
        fn has(&self, file: FileName) -> bool {
            self.0.contains(&file.to_string().as_str())
        }
    }

    fn name(text: &str) -> FileName {
        FileName::parse(text).expect("a valid name")
    }

    /// A teaching-ring peer holding `files`, whose first predecessor has
    /// pinged.
    fn holder(
        id: u8,
        first: u8,
        second: u8,
        predecessor: u8,
        files: Vec<&'static str>,
        now: Instant,
    ) -> Peer {
        let mut peer = member_peer(id, first, second, now).with_files(Box::new(Holding(files)));
        peer.handle(ping_from(predecessor, id, Ordinal::First), now);
        peer
    }

    fn store(file: &str, origin: u8, hops: u32, target: Target) -> Event {
        received(
            Message::Store {
                file: name(file),
                origin: PeerId(origin),
                hops,
                target,
            },
            tcp(),
        )
    }

    fn request(file: &str, origin: u8, hops: u32, target: Target) -> Event {
        received(
            Message::Request {
                file: name(file),
                origin: PeerId(origin),
                hops,
                target,
            },
            tcp(),
        )
    }

    #[test]
    fn store_2067_travels_from_8_to_19() {
        let now = Instant::now();
        let mut eight = holder(8, 9, 14, 5, vec!["2067"], now);
        let actions = eight.handle(Event::Typed(Command::Store(name("2067"))), now);
        assert_eq!(
            printed(&actions),
            ["Store 2067 request forwarded to my successor"]
        );
        assert_eq!(requests(&actions), [(9, "STORE 2067 8 1 search".into())]);

        let mut fourteen = holder(14, 19, 2, 9, vec![], now);
        let actions = fourteen.handle(store("2067", 8, 2, Target::Search), now);
        assert_eq!(
            printed(&actions),
            ["Store 2067 request forwarded to my successor"]
        );
        assert_eq!(requests(&actions), [(19, "STORE 2067 8 3 owner".into())]);

        let mut nineteen = holder(19, 2, 4, 14, vec![], now);
        let actions = nineteen.handle(store("2067", 8, 3, Target::Owner), now);
        assert_eq!(printed(&actions), ["Store 2067 request accepted"]);
        assert_eq!(requests(&actions), [(8, "FETCH 2067 19".into())]);

        // 8 sends the file to 19 when asked, and only then.
        let fetch = Message::Fetch {
            file: name("2067"),
            from: PeerId(19),
        };
        let actions = eight.handle(received(fetch.clone(), tcp()), now);
        assert!(actions.contains(&Action::SendFile {
            to: PeerId(19),
            file: name("2067"),
            purpose: Purpose::Store
        }));
        let actions = eight.handle(received(fetch, tcp()), now);
        assert!(!actions.iter().any(|a| matches!(a, Action::SendFile { .. })));

        // 19 takes the offer it expects.
        let offer = Message::Offer {
            file: name("2067"),
            from: PeerId(8),
            size: 5183,
            purpose: Purpose::Store,
        };
        let actions = nineteen.handle(received(offer, tcp()), now);
        assert!(printed(&actions).is_empty());
        assert!(matches!(
            actions.as_slice(),
            [Action::ReceiveFile { size: 5183, .. }]
        ));
    }

    #[test]
    fn a_peer_that_is_responsible_accepts_a_store_at_once() {
        let now = Instant::now();
        let mut nineteen = holder(19, 2, 4, 14, vec!["2067"], now);
        let actions = nineteen.handle(Event::Typed(Command::Store(name("2067"))), now);
        assert_eq!(printed(&actions), ["Store 2067 request accepted"]);
        assert!(requests(&actions).is_empty());
    }

    #[test]
    fn a_hash_that_wraps_belongs_to_the_smallest_peer() {
        // 2012 mod 256 = 220, after 19: peer 2 is responsible.
        let now = Instant::now();
        let mut nineteen = holder(19, 2, 4, 14, vec![], now);
        let actions = nineteen.handle(store("2012", 8, 3, Target::Search), now);
        assert_eq!(requests(&actions), [(2, "STORE 2012 8 4 owner".into())]);
        let mut two = holder(2, 4, 5, 19, vec![], now);
        let actions = two.handle(store("2012", 8, 4, Target::Search), now);
        assert_eq!(printed(&actions), ["Store 2012 request accepted"]);
    }

    #[test]
    fn a_peer_that_has_not_heard_its_predecessor_lets_the_ring_decide() {
        // 19 is responsible for 2067 but has not been pinged yet: it passes
        // the request on, and it comes back round marked for it.
        let now = Instant::now();
        let mut nineteen = member_peer(19, 2, 4, now).with_files(Box::new(Holding(vec!["2067"])));
        let actions = nineteen.handle(Event::Typed(Command::Store(name("2067"))), now);
        assert_eq!(requests(&actions), [(2, "STORE 2067 19 1 search".into())]);
        let actions = nineteen.handle(store("2067", 19, 6, Target::Owner), now);
        assert_eq!(printed(&actions), ["Store 2067 request accepted"]);
        assert!(requests(&actions).is_empty());
    }

    #[test]
    fn storing_a_missing_file_sends_nothing() {
        let now = Instant::now();
        let mut eight = holder(8, 9, 14, 5, vec![], now);
        let actions = eight.handle(Event::Typed(Command::Store(name("2067"))), now);
        assert!(matches!(actions.as_slice(), [Action::Warn(_)]));
    }

    #[test]
    fn request_4103_travels_from_2_to_8_which_sends_it_directly() {
        let now = Instant::now();
        let mut two = holder(2, 4, 5, 19, vec![], now);
        let actions = two.handle(Event::Typed(Command::Request(name("4103"))), now);
        assert_eq!(
            printed(&actions),
            ["File request for 4103 has been sent to my successor"]
        );
        assert_eq!(requests(&actions), [(4, "REQUEST 4103 2 1 search".into())]);

        let mut five = holder(5, 8, 9, 4, vec![], now);
        let actions = five.handle(request("4103", 2, 2, Target::Search), now);
        assert_eq!(
            printed(&actions),
            ["Request for File 4103 has been received, but the file is not stored here"]
        );
        assert_eq!(requests(&actions), [(8, "REQUEST 4103 2 3 owner".into())]);

        let mut eight = holder(8, 9, 14, 5, vec!["4103"], now);
        let actions = eight.handle(request("4103", 2, 3, Target::Owner), now);
        assert_eq!(
            printed(&actions),
            ["File 4103 is stored here", "Sending file 4103 to Peer 2"]
        );
        assert!(actions.contains(&Action::SendFile {
            to: PeerId(2),
            file: name("4103"),
            purpose: Purpose::Request
        }));
        let actions = eight.handle(
            Event::TransferFinished {
                file: name("4103"),
                peer: PeerId(2),
                direction: Direction::Sent,
                purpose: Purpose::Request,
                outcome: Ok(()),
            },
            now,
        );
        assert_eq!(printed(&actions), ["The file has been sent"]);

        let offer = Message::Offer {
            file: name("4103"),
            from: PeerId(8),
            size: 20_543,
            purpose: Purpose::Request,
        };
        let actions = two.handle(received(offer, tcp()), now);
        assert_eq!(
            printed(&actions),
            ["Peer 8 had File 4103", "Receiving File 4103 from Peer 8"]
        );
        let actions = two.handle(
            Event::TransferFinished {
                file: name("4103"),
                peer: PeerId(8),
                direction: Direction::Received,
                purpose: Purpose::Request,
                outcome: Ok(()),
            },
            now,
        );
        assert_eq!(printed(&actions), ["File 4103 received"]);
    }

    #[test]
    fn a_request_for_a_file_nobody_has_gets_an_answer() {
        let now = Instant::now();
        let mut two = holder(2, 4, 5, 19, vec![], now);
        two.handle(Event::Typed(Command::Request(name("4103"))), now);
        let mut eight = holder(8, 9, 14, 5, vec![], now);
        let actions = eight.handle(request("4103", 2, 3, Target::Owner), now);
        assert_eq!(
            printed(&actions),
            ["Request for File 4103 has been received, but the file is not stored here"]
        );
        assert_eq!(requests(&actions), [(2, "NOTFOUND 4103 8".into())]);
        let not_found = Message::NotFound {
            file: name("4103"),
            from: PeerId(8),
        };
        let actions = two.handle(received(not_found, tcp()), now);
        assert_eq!(
            printed(&actions),
            ["File 4103 was not found: Peer 8, which is responsible for it, does not have it"]
        );
    }

    #[test]
    fn requests_and_stores_stop_after_going_round_the_ring() {
        let now = Instant::now();
        let mut four = member_peer(4, 5, 8, now);
        let actions = four.handle(request("4103", 2, MAX_HOPS, Target::Search), now);
        assert_eq!(requests(&actions), [(2, "NOTFOUND 4103 4".into())]);
        let actions = four.handle(store("4103", 2, MAX_HOPS, Target::Search), now);
        assert!(matches!(
            actions.as_slice(),
            [Action::Reply { .. }, Action::Warn(_)]
        ));
    }

    #[test]
    fn a_peer_that_requests_a_file_it_holds_says_so() {
        let now = Instant::now();
        let mut eight = holder(8, 9, 14, 5, vec!["4103"], now);
        let actions = eight.handle(Event::Typed(Command::Request(name("4103"))), now);
        assert_eq!(printed(&actions), ["File 4103 is stored here"]);
        assert!(requests(&actions).is_empty());
    }

    #[test]
    fn offers_and_fetches_nobody_asked_for_are_refused() {
        let now = Instant::now();
        let mut two = holder(2, 4, 5, 19, vec!["4103"], now);
        let offer = Message::Offer {
            file: name("4103"),
            from: PeerId(8),
            size: 10,
            purpose: Purpose::Request,
        };
        let actions = two.handle(received(offer, tcp()), now);
        assert!(actions.contains(&unexpected(tcp())));
        assert!(
            !actions
                .iter()
                .any(|a| matches!(a, Action::ReceiveFile { .. }))
        );
        let fetch = Message::Fetch {
            file: name("4103"),
            from: PeerId(8),
        };
        let actions = two.handle(received(fetch, tcp()), now);
        assert!(actions.contains(&unexpected(tcp())));
        assert!(!actions.iter().any(|a| matches!(a, Action::SendFile { .. })));
    }

    // ----- The repair window and other corners -----

    /// A peer 9 of the teaching ring whose successor 14 has just been
    /// declared dead, and which is waiting for 19's answer.
    fn repairing_nine(now: Instant) -> Peer {
        let mut peer = answered_peer(9, 14, 19, now);
        peer.handle(ping_from(8, 9, Ordinal::First), now);
        peer.handle(ping_from(5, 9, Ordinal::Second), now);
        declared_dead(&mut peer, 14, now);
        assert_eq!(peer.successors(), None, "the repair is under way");
        peer
    }

    #[test]
    fn probes_name_the_slot_the_receiver_fills() {
        let start = Instant::now();
        let mut peer = answered_peer(8, 9, 14, start);
        peer.handle(Event::LinkLost { peer: PeerId(14) }, start);
        let actions = peer.handle(Event::Tick, start);
        assert_eq!(datagrams(&actions), [(14, "PING 8 14 second 1".into())]);
    }

    #[test]
    fn quit_during_a_repair_waits_for_it_to_end() {
        let now = Instant::now();
        let mut peer = repairing_nine(now);
        let actions = peer.handle(Event::Typed(Command::Quit), now);
        assert_eq!(exit_code(&actions), None);
        assert!(requests(&actions).is_empty());
        let query = Message::Query { from: PeerId(9) };
        let actions = peer.handle(replied(19, query, query_reply(2, 4)), now);
        assert_eq!(
            requests(&actions),
            [(8, "LEAVE 9 19 2".into()), (5, "LEAVE 9 19 2".into())]
        );
    }

    #[test]
    fn a_departing_first_successor_ends_a_repair() {
        let now = Instant::now();
        let mut peer = repairing_nine(now);
        let leave = Message::Leave {
            from: PeerId(19),
            first: PeerId(2),
            second: PeerId(4),
        };
        let actions = peer.handle(received(leave, tcp()), now);
        assert_eq!(
            printed(&actions),
            [
                "Peer 19 will depart from the network",
                "My new first successor is Peer 2",
                "My new second successor is Peer 4",
            ]
        );
        assert_eq!(peer.successors(), Some(ids(2, 4)));
    }

    #[test]
    fn a_newcomer_is_not_placed_during_a_repair() {
        let now = Instant::now();
        let mut peer = repairing_nine(now);
        let actions = peer.handle(join(12, 8, 3), now);
        assert_eq!(requests(&actions), [(12, "REFUSE no-place".into())]);
    }

    #[test]
    fn no_deadline_is_left_in_the_past() {
        // A stranded peer that was pinged long ago must not ask to be
        // ticked again and again.
        let start = Instant::now();
        let mut peer = answered_peer(8, 9, 14, start);
        peer.handle(ping_from(5, 8, Ordinal::First), start);
        declared_dead(&mut peer, 9, start);
        declared_dead(&mut peer, 14, start + Duration::from_secs(2));
        let later = start + INTERVAL * 10;
        peer.handle(Event::Tick, later);
        assert!(peer.next_deadline().is_none_or(|at| at > later));
        // Nor a peer that is repairing when it would count as cut off.
        let mut peer = repairing_nine(start);
        let later = start + INTERVAL * 10;
        peer.handle(Event::Tick, later);
        assert!(peer.next_deadline().is_none_or(|at| at > later));
        // Nor a successor whose link closed long after its last ping.
        let mut peer = answered_peer(9, 14, 19, start);
        peer.handle(Event::Tick, start + INTERVAL);
        let lost = start + INTERVAL + Duration::from_secs(5);
        peer.handle(Event::LinkLost { peer: PeerId(14) }, lost);
        peer.handle(Event::Tick, lost);
        assert!(peer.next_deadline().is_none_or(|at| at > lost));
    }

    #[test]
    fn a_rejoining_peer_waits_between_attempts() {
        let start = Instant::now();
        let mut peer = answered_peer(14, 19, 2, start);
        peer.handle(ping_from(9, 14, Ordinal::First), start);
        let resumed = start + INTERVAL * 10;
        peer.handle(Event::Tick, resumed);
        let join = Message::Join {
            newcomer: PeerId(14),
            sender: PeerId(14),
            hops: 0,
        };
        let actions = peer.handle(replied(19, join, None), resumed);
        assert!(requests(&actions).is_empty());
        assert_eq!(peer.next_deadline(), Some(resumed + REJOIN_RETRY));
        let actions = peer.handle(Event::Tick, resumed + REJOIN_RETRY);
        assert_eq!(requests(&actions), [(2, "JOIN 14 14 0".into())]);
    }
}
