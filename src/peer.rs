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
use crate::message::{ErrorReason, Message, Ordinal, RefuseReason};
use crate::output::Line;
use crate::ring::{PeerId, is_strictly_between};

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

/// How long a leaving peer waits for its predecessors to acknowledge.
pub const LEAVE_TIMEOUT: Duration = Duration::from_secs(2);

/// How soon a successor query that failed is asked again.
pub const QUERY_RETRY: Duration = Duration::from_millis(200);

/// A join request that has passed this many peers has gone round the whole
/// ring (which holds at most 256 peers) without finding a place.
pub const MAX_JOIN_HOPS: u32 = 256;

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
    /// The watch connection to a successor closed: its process has probably
    /// ended.
    LinkLost { peer: PeerId },
    /// The user typed a command.
    Typed(Command),
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
        let decision = self
            .silent_since
            .filter(|_| self.has_answered)
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
    },
    /// In the ring. `first` is always known; `second` is `None` only while
    /// the ring is being repaired after a failure.
    Member {
        first: Successor,
        second: Option<Successor>,
    },
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
    repair: Option<Repair>,
    leaving: Option<Leaving>,
    /// The first and second predecessor, as last heard from pings.
    predecessors: [Option<Heard>; 2],
    /// When any peer last pinged us, once one has.
    last_pinged_at: Option<Instant>,
    /// A newcomer was placed after us before we knew our first
    /// predecessor; it must be told of its new second successor as soon as
    /// it pings.
    change_owed_to_predecessor: bool,
    next_ping_at: Instant,
    next_ping_seq: u32,
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

    fn blank(id: PeerId, timing: Timing, now: Instant) -> Peer {
        Peer {
            id,
            timing,
            phase: Phase::Stranded,
            repair: None,
            leaving: None,
            predecessors: [None, None],
            last_pinged_at: None,
            change_owed_to_predecessor: false,
            next_ping_at: now,
            next_ping_seq: 0,
        }
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
                peers.extend(second.map(|s| s.peer));
                peers
            }
            _ => Vec::new(),
        }
    }

    /// Both successors, when the peer is a member that knows both.
    pub fn successors(&self) -> Option<Successors> {
        match &self.phase {
            Phase::Member {
                first,
                second: Some(second),
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

    /// When the peer next needs an [`Event::Tick`], even if nothing else
    /// happens.
    pub fn next_deadline(&self) -> Instant {
        let mut deadline = self.next_ping_at;
        let mut consider = |at: Option<Instant>| {
            if let Some(at) = at {
                deadline = deadline.min(at);
            }
        };
        consider(self.leaving.as_ref().map(|l| l.give_up_at));
        match &self.phase {
            Phase::Joining { give_up_at, .. } => consider(Some(*give_up_at)),
            Phase::Member { first, second } => {
                consider(first.next_deadline());
                consider(second.and_then(|s| s.next_deadline()));
            }
            Phase::Stranded => {}
        }
        consider(self.repair.and_then(|r| r.ask_again_at));
        consider(
            self.last_pinged_at
                .map(|at| at + self.timing.predecessor_memory()),
        );
        deadline
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
            } if now >= *give_up_at => {
                let via = *via;
                actions.push(Action::Warn(format!(
                    "no answer to the join request sent to peer {via} within {} s",
                    JOIN_TIMEOUT.as_secs()
                )));
                self.end_failed_join(*previous, now, actions);
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
        if let Some(repair) = self.repair
            && repair.ask_again_at.is_some_and(|at| now >= at)
        {
            self.ask_for_successors(repair.dead, actions);
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
            .last_pinged_at
            .is_some_and(|at| now.saturating_duration_since(at) > self.timing.predecessor_memory());
        silent_too_long && matches!(self.phase, Phase::Member { .. })
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
        self.last_pinged_at = None;
        self.predecessors = [None, None];
        self.start_joining(via, previous, now, actions);
    }

    /// Probes suspects and declares dead those whose silence is long enough.
    fn check_successors(&mut self, now: Instant, actions: &mut Vec<Action>) {
        let Phase::Member { first, second } = &mut self.phase else {
            return;
        };
        let mut dead = None;
        for successor in std::iter::once(first).chain(second.as_mut()) {
            if successor.is_dead(now) {
                dead.get_or_insert(successor.peer);
            } else if successor.probe_due_at().is_some_and(|at| now >= at) {
                successor.record_ping(now);
                successor.next_probe_at = Some(now + successor.probe_spacing());
                let seq = self.next_ping_seq;
                self.next_ping_seq = seq.wrapping_add(1);
                actions.push(ping(self.id, successor.peer, Ordinal::First, seq));
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
        if let Some(second) = second {
            actions.push(Action::Print(Line::PingRequestsSent {
                first: first.peer,
                second: second.peer,
            }));
        }
        for (successor, which) in [
            (Some(first), Ordinal::First),
            (second.as_mut(), Ordinal::Second),
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
            // Watch connections are kept open by the `node` module and never
            // reach the state machine; answers arrive as `Event::Replied`.
            Message::Watch { .. }
            | Message::Ok
            | Message::Successors { .. }
            | Message::Error { .. } => {
                actions.push(Action::Warn(format!("ignored an unexpected {message}")));
                actions.push(Action::Reply {
                    to: source,
                    message: Message::Error {
                        reason: ErrorReason::Unexpected,
                    },
                });
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
        self.last_pinged_at = Some(now);
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
        };
        self.repair = None;
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
            self.accept_newcomer(newcomer, sender, now, actions);
        } else if hops >= MAX_JOIN_HOPS {
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
        let Phase::Member { first, second } = &self.phase else {
            return;
        };
        let old_first = first.peer;
        // While a repair is under way the old second successor is unknown;
        // the newcomer then gets our first successor twice, as we would
        // have, and its own repair sorts it out.
        let old_second = second.map_or(old_first, |s| s.peer);
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
                self.start_joining(next_via, Some(previous), now, actions);
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
            Command::Store(_) | Command::Request(_) => actions.push(Action::Warn(
                "Store and Request are not implemented yet".to_string(),
            )),
        }
    }

    /// Tells both predecessors, as last heard from pings, which successors
    /// to take instead of us, and leaves once they have acknowledged.
    fn quit(&mut self, now: Instant, actions: &mut Vec<Action>) {
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
        let Some(ours) = self.successors() else {
            actions.push(Action::Warn(format!(
                "ignored the departure of peer {leaving}: this peer's successors are not settled"
            )));
            return;
        };
        let new = if ours.first == leaving {
            its
        } else if ours.second == leaving {
            Successors {
                first: ours.first,
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
            *second
        } else {
            Some(*first)
        };
        let Some(survivor) = survivor else {
            actions.push(Action::Warn(format!(
                "both successors of peer {} have failed; it cannot find the ring again on its own",
                self.id
            )));
            self.phase = Phase::Stranded;
            self.repair = None;
            return;
        };
        self.phase = Phase::Member {
            first: survivor,
            second: None,
        };
        self.ask_for_successors(dead, actions);
    }

    fn ask_for_successors(&mut self, dead: PeerId, actions: &mut Vec<Action>) {
        let Phase::Member { first, .. } = &self.phase else {
            return;
        };
        self.repair = Some(Repair {
            dead,
            ask_again_at: None,
        });
        actions.push(Action::Send {
            to: first.peer,
            message: Message::Query { from: self.id },
        });
    }

    /// The survivor's successors, `(x, y)`, complete the repair: our new
    /// second successor is `x`, unless the survivor has not noticed the
    /// failure yet and still names the dead peer, in which case it is `y`.
    fn finish_repair(&mut self, answer: Successors, now: Instant, actions: &mut Vec<Action>) {
        let (Some(repair), Phase::Member { first, .. }) = (self.repair, &self.phase) else {
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
                if self.repair.is_none() || !asked_survivor {
                    return; // A stale answer: the repair is over or moved on.
                }
                match reply {
                    Some(Message::Successors { first, second }) => {
                        self.finish_repair(Successors { first, second }, now, actions)
                    }
                    _ => {
                        if let Some(repair) = &mut self.repair {
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
            Phase::Member { first, second } => [Some(*first), *second]
                .into_iter()
                .flatten()
                .find(|s| s.peer == peer)
                .unwrap_or_else(|| Successor::new(peer)),
            _ => Successor::new(peer),
        };
        self.phase = Phase::Member {
            first: keep(new.first, &self.phase),
            second: Some(keep(new.second, &self.phase)),
        };
        self.repair = None;
        self.next_ping_at = now;
    }

    fn successor_mut(&mut self, peer: PeerId) -> Option<&mut Successor> {
        match &mut self.phase {
            Phase::Member { first, second } => std::iter::once(first)
                .chain(second.as_mut())
                .find(|s| s.peer == peer),
            _ => None,
        }
    }
}

fn member(successors: Successors) -> Phase {
    Phase::Member {
        first: Successor::new(successors.first),
        second: Some(Successor::new(successors.second)),
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
