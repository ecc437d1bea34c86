//! The simulated world: the real peers, one event queue, one clock.
//!
//! Each peer is a real `p2p::peer::Peer`, the same state machine the
//! program runs. The world does for it what `src/node/mod.rs` does for one
//! peer with sockets and threads: it hands the peer events, one at a time,
//! with the current time, and carries out the actions that come back. The
//! difference is that the time is virtual and the network is made up:
//! sending a datagram schedules its arrival a seeded latency later, and
//! nothing ever waits. A run of thousands of peers over a minute of virtual
//! time takes a fraction of a second.
//!
//! Everything that will happen is an entry of one priority queue, ordered
//! by virtual time and then by the order in which it was scheduled, so two
//! entries for the same instant always come out in the same order. Every
//! random choice comes from the run's one generator. Nothing iterates a
//! hash map. So a seed replays its run exactly.
//!
//! The peers only ever see an `Instant`: a base taken once when the world
//! is made, plus the virtual time. The state machine only compares and
//! subtracts instants, so it cannot tell.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use p2p::command::Command;
use p2p::message::{Datagram, Purpose, Reply, Request};
use p2p::output::Line;
use p2p::peer::{
    Action, ConnectionId, Direction, Event, Held, NoAnswer, Peer, PeerConfig, Token, Transferred,
};
use p2p::ring::{FileName, PeerId};

use super::census::{self, Rules};
use super::copies::{
    CopyFigures, Leaver, Newcomer, PLACEMENT_POLL, Repair, RingFile, ideal_holders,
};
use super::faults::Fault;
use super::files::{Directory, FILE_SIZE, file_named};
use super::invariants::{
    Convergence, Detection, Failure, FirstAnswers, KILL_DETECTION_BOUND, Monitor, REQUEST_BOUND,
    RequestProbe, STORE_BOUND, StoreProbe, convergence_bound, false_death_grace,
    freeze_detection_bound, hop_limit, placement_bound, settle_time,
};
use super::lookups::{LOOKUP_TIMEOUT, Lookup, LookupEnd, LookupTally};
use super::network::{NetworkConfig, Partition, address_of, peer_at};
use super::rng::Rng;
use super::scenarios::{Plan, Probe, RING_STORES_AT, RING_STORES_SPREAD, most_placements};
use super::trace::{self, Trace, TraceConfig};

/// How long a TCP exchange may take before the sender gives up, as
/// `EXCHANGE_TIMEOUT` in `src/tcp.rs` (which the crate keeps private).
pub const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(2);

/// How soon a connection to a port nobody listens on is refused.
pub const REFUSAL_DELAY: Duration = Duration::from_micros(100);

/// How often a watch to a port that refused is tried again, as
/// `WATCH_RETRY` in `src/watch.rs`; each refusal is one more
/// `PortClosed`.
pub const WATCH_RETRY: Duration = Duration::from_secs(1);

/// What happened in a run, for the report.
#[derive(Debug)]
pub struct RunResult {
    /// How many events the peers handled.
    pub events: u64,
    /// How long after the last fault the ring was converged for good, if
    /// it was.
    pub convergence: Option<Duration>,
    /// The bound it had to converge within, derived for this run's faults
    /// and successor count.
    pub convergence_bound: Duration,
    pub detections: Vec<Detection>,
    /// The lookups typed during churn and how they ended (all zero but in
    /// the churn scenarios).
    pub lookups: LookupTally,
    /// The ring's files, in the replica scenarios (all zero elsewhere).
    pub copies: CopyFigures,
    /// How each peer heard its successors, in a ring started one peer
    /// after another (empty elsewhere).
    pub first_answers: Vec<FirstAnswers>,
    pub ping_interval: Duration,
    pub violations: Vec<super::invariants::Violation>,
    pub trace: Trace,
}

/// Whether a peer's process runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Process {
    Running,
    Frozen,
    Dead,
}

/// One identity of the ring and the process, if any, that has it.
#[derive(Debug)]
struct Slot {
    /// The state machine; `None` once the process has ended.
    peer: Option<Peer>,
    process: Process,
    /// Counts the processes started with this identity, so that an answer
    /// meant for a process that has ended never reaches its successor.
    incarnation: u32,
    /// Whether it has been in the ring: started as a peer of the initial
    /// ring, or a newcomer that has been given successors.
    member: bool,
    directory: Directory,
    /// Numbers the requests this peer receives, across its processes.
    next_connection: u64,
    /// Inputs that arrived while the process was frozen, in order.
    buffered: VecDeque<Event>,
    buffered_datagrams: usize,
    /// The tick scheduled for the peer, and its generation: a tick whose
    /// generation is not the latest is stale.
    tick_at: Option<Duration>,
    tick_generation: u64,
    /// The successors watched, each with the number of its watch.
    watching: Vec<(PeerId, u64)>,
}

impl Slot {
    fn new() -> Slot {
        Slot {
            peer: None,
            process: Process::Dead,
            incarnation: 0,
            member: false,
            directory: Directory::default(),
            next_connection: 0,
            buffered: VecDeque::new(),
            buffered_datagrams: 0,
            tick_at: None,
            tick_generation: 0,
            watching: Vec::new(),
        }
    }
}

/// What the sender of a TCP exchange waits for.
#[derive(Clone, Copy, Debug)]
enum Awaiting {
    /// The answer to an `Action::Send`, which goes back with its token.
    Answer(Token),
    /// The `READY` to the offer of a file (`Action::SendFile`).
    Ready { file: FileName, purpose: Purpose },
    /// Nothing: a forged request, whose answer goes nowhere.
    Nothing,
}

/// One TCP exchange: a request on its way or waiting for its answer.
#[derive(Debug)]
struct Exchange {
    from: PeerId,
    from_incarnation: u32,
    to: PeerId,
    request: Request,
    awaiting: Awaiting,
    /// The connection at the receiver, once the request has arrived.
    connection: Option<ConnectionId>,
    /// Whether the sender has its outcome (an answer, a refusal, a
    /// timeout) already.
    done: bool,
}

/// A file on its way, after the receiver answered `READY`.
#[derive(Debug)]
struct Transfer {
    sender: PeerId,
    sender_incarnation: u32,
    receiver: PeerId,
    receiver_incarnation: u32,
    file: FileName,
    purpose: Purpose,
}

/// The checks the world makes at planned times.
#[derive(Clone, Copy, Debug)]
enum Check {
    /// Has this detection been made in time?
    Detection(usize),
    /// Is the ring settled, so that stores and requests can be typed?
    Settle,
    /// The bound on convergence after the last fault.
    ConvergenceDeadline,
    /// The stores must have been accepted; type the requests.
    Requests,
    /// The requests must have been answered; the run ends.
    ProbesDone,
    /// A lookup typed during churn must have been answered by now, or it
    /// has failed.
    LookupDeadline(usize),
    /// Are the ring's files where they belong again (after a kill), and
    /// does each newcomer hold its own?
    Placement,
    /// The bound on placement after the last fault: every kept file must
    /// be at its K peers.
    PlacementDeadline,
    /// In a ring started one peer after another, every peer must have
    /// heard both its successors answer by now.
    FirstAnswers,
}

/// One entry of the event queue.
#[derive(Debug)]
enum Pending {
    /// A datagram arrives at `to`'s port.
    Datagram {
        to: PeerId,
        from: PeerId,
        datagram: Datagram,
    },
    /// An event for one process of `to` (an answer, a closed port, the end
    /// of a transfer, an input held while it was frozen).
    Deliver {
        to: PeerId,
        incarnation: u32,
        event: Event,
    },
    Tick {
        peer: PeerId,
        incarnation: u32,
        generation: u64,
    },
    RequestArrives(u64),
    ExchangeTimeout(u64),
    TransferDone(u64),
    /// The watcher tries its watch of `watched` again.
    WatchProbe {
        watcher: PeerId,
        incarnation: u32,
        watched: PeerId,
        watch: u64,
    },
    Fault(Fault),
    Check(Check),
    /// A lookup is typed during churn.
    Lookup,
    /// A `Store` of one of the ring's files is typed at a random member.
    RingStore,
}

struct Scheduled {
    at: Duration,
    sequence: u64,
    what: Pending,
}

// The queue is a max-heap: the earliest time, then the lowest sequence
// number, must compare greatest.
impl Ord for Scheduled {
    fn cmp(&self, other: &Scheduled) -> Ordering {
        (other.at, other.sequence).cmp(&(self.at, self.sequence))
    }
}

impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Scheduled) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Scheduled) -> bool {
        self.sequence == other.sequence
    }
}

impl Eq for Scheduled {}

/// The whole simulated ring; see the module documentation.
pub struct World {
    plan: Plan,
    network: NetworkConfig,
    base: Instant,
    now: Duration,
    rng: Rng,
    queue: BinaryHeap<Scheduled>,
    next_sequence: u64,
    /// One slot per identity, 0 to 255.
    slots: Vec<Slot>,
    exchanges: BTreeMap<u64, Exchange>,
    /// The exchange of each request waiting for its answer, by receiver
    /// and connection.
    connections: BTreeMap<(PeerId, ConnectionId), u64>,
    next_exchange: u64,
    transfers: BTreeMap<u64, Transfer>,
    next_transfer: u64,
    next_watch: u64,
    partition: Partition,
    monitor: Monitor,
    convergence: Convergence,
    trace: Trace,
    events: u64,
    /// The most peers running at once, for the hop limit.
    most_peers: usize,
    last_fault: Duration,
    /// How long after the last fault the ring must have converged.
    convergence_bound: Duration,
    end_at: Duration,
    settled: bool,
    convergence_failed: bool,
    /// The lookups typed during churn, and the churn events carried out.
    lookups: Vec<Lookup>,
    churn_events: u32,
    /// The ring's files and what is being timed about them (see
    /// `copies.rs`), in the replica scenarios.
    ring_files: Vec<RingFile>,
    repairs: Vec<Repair>,
    newcomers: Vec<Newcomer>,
    leavers: Vec<Leaver>,
    /// Whether a `Check::Placement` is scheduled.
    polling_placement: bool,
    placement_bound: Duration,
    /// When every kept file must be at its K peers; `None` when the run
    /// keeps no files of the ring.
    placement_deadline: Option<Duration>,
    /// How the peers of a ring started one after another hear their
    /// successors; empty when the whole ring starts at once.
    first_answers: Vec<FirstAnswers>,
}

impl World {
    pub fn new(plan: Plan, rng: Rng, trace: TraceConfig) -> World {
        let last_fault = plan
            .faults
            .iter()
            .map(|(at, fault)| match fault {
                Fault::Freeze { duration, .. } => *at + *duration,
                _ => *at,
            })
            .max()
            .unwrap_or(Duration::ZERO);
        let interval = plan.ping_interval;
        let convergence_bound = convergence_bound(&plan.faults, plan.successor_count, interval);
        let end_at = last_fault
            + convergence_bound
            + settle_time(interval)
            + STORE_BOUND
            + REQUEST_BOUND
            + Duration::from_secs(1);
        let placement_bound = placement_bound(convergence_bound, interval, most_placements(&plan));
        let placement_deadline = (plan.ring_files > 0).then_some(last_fault + placement_bound);
        let end_at = end_at.max(placement_deadline.unwrap_or_default() + Duration::from_millis(1));
        let mut monitor = Monitor::new(plan.checks_false_deaths);
        monitor.keeps = plan.keeps.clone();
        let first_answers = first_answers_to_watch(&plan);
        World {
            network: plan.network.clone(),
            convergence: Convergence::new(plan.successor_count),
            plan,
            base: Instant::now(),
            now: Duration::ZERO,
            rng,
            queue: BinaryHeap::new(),
            next_sequence: 0,
            slots: (0..256).map(|_| Slot::new()).collect(),
            exchanges: BTreeMap::new(),
            connections: BTreeMap::new(),
            next_exchange: 0,
            transfers: BTreeMap::new(),
            next_transfer: 0,
            next_watch: 0,
            partition: Partition::default(),
            monitor,
            trace: Trace::new(trace),
            events: 0,
            most_peers: 0,
            last_fault,
            convergence_bound,
            end_at,
            settled: false,
            convergence_failed: false,
            lookups: Vec::new(),
            churn_events: 0,
            ring_files: Vec::new(),
            repairs: Vec::new(),
            newcomers: Vec::new(),
            leavers: Vec::new(),
            polling_placement: false,
            placement_bound,
            placement_deadline,
            first_answers,
        }
    }

    /// Runs the plan to its end and says what happened.
    pub fn run(mut self) -> RunResult {
        self.start_initial_ring();
        let faults = std::mem::take(&mut self.plan.faults);
        for (at, fault) in faults {
            if let Fault::Freeze { peer, duration } = fault {
                self.schedule_at(at + duration, Pending::Fault(Fault::Resume(peer)));
            }
            self.schedule_at(at, Pending::Fault(fault));
        }
        let lookup_times = self
            .plan
            .churn
            .as_ref()
            .map(|churn| churn.lookups.clone())
            .unwrap_or_default();
        for at in lookup_times {
            self.schedule_at(at, Pending::Lookup);
        }
        let stores = self.plan.ring_files;
        for index in 0..stores {
            let at = RING_STORES_AT + RING_STORES_SPREAD * index as u32 / stores as u32;
            self.schedule_at(at, Pending::RingStore);
        }
        if let Some(deadline) = self.placement_deadline {
            self.schedule_at(deadline, Pending::Check(Check::PlacementDeadline));
        }
        if let Some(deadline) = self.first_answers.iter().map(FirstAnswers::deadline).max() {
            self.schedule_at(deadline, Pending::Check(Check::FirstAnswers));
        }
        self.schedule_at(self.last_fault, Pending::Check(Check::Settle));
        self.schedule_at(
            self.last_fault + self.convergence_bound,
            Pending::Check(Check::ConvergenceDeadline),
        );
        let mut violations_seen = 0;
        while let Some(next) = self.queue.peek() {
            if next.at > self.end_at {
                break;
            }
            let Some(next) = self.queue.pop() else { break };
            self.now = next.at;
            self.dispatch(next.what);
            if self.monitor.violations.len() > violations_seen {
                violations_seen = self.monitor.violations.len();
                self.trace.violation_found();
            }
        }
        self.finish()
    }

    fn finish(mut self) -> RunResult {
        if !self.convergence_failed
            && self.convergence.correct_since.is_none()
            && self.plan.killed_share.is_none()
        {
            let what = format!(
                "the ring changed again after it had converged: {}",
                self.describe_wrong_lists()
            );
            self.monitor.violate(self.now, what);
        }
        let convergence = self
            .convergence
            .correct_since
            .map(|since| since.saturating_sub(self.last_fault));
        let churn_window = self
            .plan
            .churn
            .as_ref()
            .map_or(Duration::ZERO, |churn| churn.window);
        let lookups = LookupTally::count(&self.lookups, self.churn_events, churn_window);
        let copies = self.copy_figures();
        RunResult {
            events: self.events,
            lookups,
            copies,
            first_answers: self.first_answers,
            ping_interval: self.plan.ping_interval,
            convergence,
            convergence_bound: self.convergence_bound,
            detections: self.monitor.detections,
            violations: self.monitor.violations,
            trace: self.trace,
        }
    }

    // ---- The queue.

    fn schedule_at(&mut self, at: Duration, what: Pending) {
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        self.queue.push(Scheduled { at, sequence, what });
    }

    fn schedule(&mut self, delay: Duration, what: Pending) {
        self.schedule_at(self.now + delay, what);
    }

    fn instant(&self) -> Instant {
        self.base + self.now
    }

    fn slot(&self, peer: PeerId) -> &Slot {
        &self.slots[usize::from(peer.0)]
    }

    fn slot_mut(&mut self, peer: PeerId) -> &mut Slot {
        &mut self.slots[usize::from(peer.0)]
    }

    fn process(&self, peer: PeerId) -> Process {
        self.slot(peer).process
    }

    fn dispatch(&mut self, what: Pending) {
        match what {
            Pending::Datagram { to, from, datagram } => {
                let event = Event::Datagram {
                    datagram,
                    from: address_of(from),
                };
                match self.process(to) {
                    Process::Dead => {}
                    Process::Frozen => {
                        let buffer = self.network.socket_buffer;
                        let slot = self.slot_mut(to);
                        if slot.buffered_datagrams < buffer {
                            slot.buffered_datagrams += 1;
                            slot.buffered.push_back(event);
                        }
                    }
                    Process::Running => self.step(to, event),
                }
            }
            Pending::Deliver {
                to,
                incarnation,
                event,
            } => self.deliver_now(to, incarnation, event),
            Pending::Tick {
                peer,
                incarnation,
                generation,
            } => {
                let slot = self.slot_mut(peer);
                if slot.incarnation == incarnation
                    && slot.tick_generation == generation
                    && slot.process == Process::Running
                {
                    slot.tick_at = None;
                    self.step(peer, Event::Tick);
                }
            }
            Pending::RequestArrives(exchange) => self.request_arrives(exchange),
            Pending::ExchangeTimeout(exchange) => {
                if let Some(sent) = self.exchanges.get(&exchange)
                    && !sent.done
                {
                    self.resolve(exchange, Err(NoAnswer::Silent), Duration::ZERO);
                }
                if let Some(sent) = self.exchanges.remove(&exchange)
                    && let Some(connection) = sent.connection
                {
                    self.connections.remove(&(sent.to, connection));
                }
            }
            Pending::TransferDone(transfer) => self.transfer_done(transfer),
            Pending::WatchProbe {
                watcher,
                incarnation,
                watched,
                watch,
            } => self.watch_probe(watcher, incarnation, watched, watch),
            Pending::Fault(fault) => self.apply_fault(fault),
            Pending::Check(check) => self.check(check),
            Pending::Lookup => self.type_lookup(),
            Pending::RingStore => self.type_ring_store(),
        }
    }

    /// Hands an event to one process of `to`, or holds it while the
    /// process is frozen.
    fn deliver_now(&mut self, to: PeerId, incarnation: u32, event: Event) {
        let slot = self.slot_mut(to);
        if slot.incarnation != incarnation {
            return;
        }
        match slot.process {
            Process::Dead => {}
            Process::Frozen => slot.buffered.push_back(event),
            Process::Running => self.step(to, event),
        }
    }

    fn deliver(&mut self, to: PeerId, event: Event, delay: Duration) {
        let incarnation = self.slot(to).incarnation;
        self.schedule(
            delay,
            Pending::Deliver {
                to,
                incarnation,
                event,
            },
        );
    }

    // ---- Peers.

    fn peer_config(&self, id: PeerId) -> PeerConfig {
        PeerConfig {
            id,
            ping_interval: self.plan.ping_interval,
            successor_count: self.plan.successor_count,
            replicas: self.plan.replicas,
            handover: self.plan.handover,
        }
    }

    /// Starts every peer of the initial ring, each with the init line the
    /// course gives it (its next two peers), but those the plan starts
    /// later.
    fn start_initial_ring(&mut self) {
        let late = late_starts(&self.plan);
        for id in self.plan.ring.clone() {
            if !late.iter().any(|&(_, peer)| peer == id) {
                self.start_member(id, &init_line(&self.plan.ring, id));
            }
        }
        self.rebuild_convergence();
    }

    /// Starts a process of the initial ring's kind with `id`.
    fn start_member(&mut self, id: PeerId, successors: &[PeerId]) {
        let config = self.peer_config(id);
        let now = self.instant();
        let slot = self.slot_mut(id);
        let peer = Peer::new(config, successors, now).with_files(Box::new(slot.directory.clone()));
        slot.peer = Some(peer);
        slot.process = Process::Running;
        slot.incarnation += 1;
        slot.member = true;
        slot.tick_at = None;
        slot.watching.clear();
        // The peer pings its successors when it is first ticked.
        self.schedule_tick(id);
        self.trace.record(self.now, || {
            format!(
                "peer {:>3} starts with successors {}",
                id.to_string(),
                list(successors)
            )
        });
    }

    /// Hands one event to a running peer and carries out its actions.
    fn step(&mut self, id: PeerId, event: Event) {
        self.events += 1;
        if self.trace.is_on() && (self.trace.shows_pings() || !trace::is_ping_event(&event)) {
            let text = trace::describe_event(id, &event);
            self.trace.record(self.now, || text);
        }
        let now = self.instant();
        let description = format!("{event:?}");
        let Some(peer) = self.slot_mut(id).peer.as_mut() else {
            return;
        };
        let result = catch_unwind(AssertUnwindSafe(|| peer.handle(event, now)));
        match result {
            Ok(actions) => {
                if self.carry_out(id, actions) {
                    self.after_step(id);
                }
            }
            Err(panic) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|text| text.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a panic without a message".to_string());
                self.monitor.violate(
                    self.now,
                    format!("peer {id} panicked handling {description}: {message}"),
                );
                self.end_process(id);
                self.rebuild_convergence();
            }
        }
    }

    /// Carries out a peer's actions in order, as the node does. Returns
    /// whether the peer still runs (it has not exited).
    fn carry_out(&mut self, id: PeerId, actions: Vec<Action>) -> bool {
        for action in actions {
            if self.trace.is_on() && (self.trace.shows_pings() || !trace::is_ping_action(&action)) {
                let text = trace::describe_action(id, &action);
                self.trace.record(self.now, || text);
            }
            match action {
                Action::Print(line) => self.on_line(id, line),
                Action::Warn(warning) => {
                    if warning.text.contains("internal error") {
                        self.monitor
                            .violate(self.now, format!("peer {id} warned: {}", warning.text));
                    }
                }
                Action::SendDatagram { to, datagram } => self.send_datagram(id, to, datagram),
                Action::AnswerDatagram { to, datagram } => {
                    if let Some(to) = peer_at(to) {
                        self.send_datagram(id, to, datagram);
                    }
                }
                Action::Send { to, request, token } => {
                    self.start_exchange(id, to, request, Awaiting::Answer(token))
                }
                Action::Reply { connection, reply } => self.on_reply(id, connection, reply),
                Action::SendFile { to, file, purpose } => self.send_file(id, to, file, purpose),
                Action::ReceiveFile {
                    file,
                    purpose,
                    connection,
                    ..
                } => self.receive_file(id, file, purpose, connection),
                Action::Relabel { file, to } => self.slot(id).directory.relabel(file, to),
                Action::Discard { file, held } => {
                    self.slot(id).directory.discard(file, held);
                    self.check_loss(file);
                }
                Action::Exit { .. } => {
                    self.check_leaver(id);
                    self.end_process(id);
                    self.rebuild_convergence();
                    return false;
                }
            }
        }
        true
    }

    /// After a peer has handled an event: check its list, bring its
    /// watches in line with it, and schedule its next tick.
    fn after_step(&mut self, id: PeerId) {
        let Some(peer) = self.slot(id).peer.as_ref() else {
            return;
        };
        let successors = peer.successors();
        let watched = peer.watched_successors();
        self.check_list(id, &successors);
        let slot = self.slot_mut(id);
        if !slot.member && !successors.is_empty() {
            slot.member = true;
            self.rebuild_convergence();
        } else if slot.member {
            self.convergence.update(self.now, id, &successors);
        }
        self.keep_watching(id, &watched);
        self.schedule_tick(id);
    }

    fn schedule_tick(&mut self, id: PeerId) {
        let base = self.base;
        let now = self.now;
        let slot = self.slot_mut(id);
        let Some(deadline) = slot.peer.as_ref().and_then(Peer::next_deadline) else {
            return;
        };
        let at = deadline.saturating_duration_since(base).max(now);
        if slot.tick_at == Some(at) {
            return;
        }
        slot.tick_at = Some(at);
        slot.tick_generation += 1;
        let what = Pending::Tick {
            peer: id,
            incarnation: slot.incarnation,
            generation: slot.tick_generation,
        };
        self.schedule_at(at, what);
    }

    /// Ends a process: killed, crashed or exited. Its port refuses from
    /// now on, so its watchers hear of it, and the requests it was
    /// answering fail.
    fn end_process(&mut self, id: PeerId) {
        let slot = self.slot_mut(id);
        slot.peer = None;
        slot.process = Process::Dead;
        slot.member = false;
        slot.buffered.clear();
        slot.buffered_datagrams = 0;
        slot.watching.clear();
        slot.tick_at = None;
        self.check_losses_at(id);
        // The connections it had accepted close without an answer.
        let broken: Vec<u64> = self
            .exchanges
            .iter()
            .filter(|(_, sent)| sent.to == id && sent.connection.is_some() && !sent.done)
            .map(|(&number, _)| number)
            .collect();
        for exchange in broken {
            let delay = self.network.latency(&mut self.rng);
            self.resolve(exchange, Err(NoAnswer::Silent), delay);
        }
        // Its watchers find its port closed.
        for index in 0..self.slots.len() {
            let watcher = PeerId(index as u8);
            let slot = &self.slots[index];
            if slot.process == Process::Dead {
                continue;
            }
            if let Some(&(_, watch)) = slot.watching.iter().find(|(peer, _)| *peer == id) {
                let incarnation = slot.incarnation;
                let delay = self.network.port_closed_delay(&mut self.rng);
                self.schedule(
                    delay,
                    Pending::WatchProbe {
                        watcher,
                        incarnation,
                        watched: id,
                        watch,
                    },
                );
            }
        }
    }

    // ---- Invariants checked at every step.

    fn check_list(&mut self, id: PeerId, successors: &[PeerId]) {
        let mut seen = successors.to_vec();
        seen.sort();
        seen.dedup();
        if successors.contains(&id) || seen.len() != successors.len() {
            self.monitor.violate_once(
                format!("list {id}"),
                self.now,
                format!(
                    "peer {id} lists itself or a peer twice: {}",
                    list(successors)
                ),
            );
        }
        if let Some(from) = self.monitor.no_gap_from
            && self.now >= from
            && self.convergence.is_live(id)
            && !self.convergence.has_no_gap_at(id, successors)
        {
            let expected = self.convergence.expected(id);
            self.monitor.violate_once(
                format!("gap {id}"),
                self.now,
                format!(
                    "gap: peer {id}'s first live successor is not the next live member \
                     ({}, the next live members are {})",
                    list(successors),
                    list(&expected)
                ),
            );
        }
        let keeps: Vec<_> = self
            .monitor
            .keeps
            .iter()
            .filter(|keep| keep.peer == id && self.now >= keep.from)
            .copied()
            .collect();
        for keep in keeps {
            if self.process(keep.successor) == Process::Running
                && !successors.contains(&keep.successor)
            {
                self.monitor.violate_once(
                    format!("keep {id} {}", keep.successor),
                    self.now,
                    format!(
                        "peer {id} cut live peer {} out of its list: {}",
                        keep.successor,
                        list(successors)
                    ),
                );
            }
        }
    }

    fn on_line(&mut self, id: PeerId, line: Line) {
        match line {
            Line::PingResponseReceived { from } => {
                if let Some(answers) = self.first_answers.iter_mut().find(|a| a.peer == id) {
                    answers.answered(from, self.now);
                }
            }
            Line::NoLongerAlive { peer: dead } => {
                let live =
                    self.process(dead) == Process::Running && self.partition.reachable(id, dead);
                let failure = match self.process(dead) {
                    Process::Running => None,
                    Process::Frozen => Some(Failure::Freeze),
                    Process::Dead => Some(Failure::Kill),
                };
                let dead_now = (self.slot(dead).incarnation, failure);
                self.monitor
                    .on_declared_dead(self.now, id, dead, live, dead_now);
            }
            Line::StoreAccepted { file } => {
                self.monitor.on_store_accepted(self.now, id, file);
                // Accepted where it was typed: the file is at the
                // responsible peer already.
                if self
                    .ring_files
                    .iter()
                    .any(|ring| ring.file == file && ring.origin == id)
                {
                    self.ring_file_arrived(id, file);
                }
            }
            Line::FileReceived { file } => {
                self.monitor.on_request_answered(id, file);
                self.end_lookup(id, file, LookupEnd::Found);
            }
            Line::FileStoredHere { file } => self.monitor.on_request_answered(id, file),
            Line::FileNotFound { file, peer } => {
                self.monitor.on_request_answered(id, file);
                self.end_lookup(id, file, LookupEnd::WrongPeer(peer));
            }
            _ => {}
        }
    }

    /// Checks that a join, store or request has not gone round the ring
    /// more than it can need to.
    fn check_hops(&mut self, at: PeerId, request: &Request) {
        let (verb, hops) = match request {
            Request::Join { hops, .. } => ("JOIN", *hops),
            Request::Store { hops, .. } => ("STORE", *hops),
            Request::FileRequest { hops, .. } => ("REQUEST", *hops),
            _ => return,
        };
        let limit = hop_limit(self.most_peers);
        if hops > limit {
            self.monitor.violate_once(
                format!("hops {verb}"),
                self.now,
                format!(
                    "a message circles: {request} reached peer {at} after {hops} hops, more \
                     than {limit} in a ring of at most {} peers",
                    self.most_peers
                ),
            );
        }
    }

    /// Starts the convergence check again from the running peers as they
    /// are now.
    fn rebuild_convergence(&mut self) {
        let mut live = Vec::new();
        let mut outsiders = Vec::new();
        for (index, slot) in self.slots.iter().enumerate() {
            if slot.process == Process::Running {
                if slot.member {
                    live.push(PeerId(index as u8));
                } else {
                    outsiders.push(PeerId(index as u8));
                }
            }
        }
        let running = self
            .slots
            .iter()
            .filter(|slot| slot.process != Process::Dead)
            .count();
        self.most_peers = self.most_peers.max(running);
        let slots = &self.slots;
        self.convergence
            .rebuild(self.now, live, &outsiders, |peer| {
                slots[usize::from(peer.0)]
                    .peer
                    .as_ref()
                    .map(Peer::successors)
                    .unwrap_or_default()
            });
    }

    fn describe_wrong_lists(&self) -> String {
        let wrong = self.convergence.wrong_peers(3);
        let mut parts: Vec<String> = wrong
            .iter()
            .map(|&peer| {
                let slot = self.slot(peer);
                if !slot.member {
                    return format!("peer {peer} is not in the ring");
                }
                let has = slot.peer.as_ref().map(Peer::successors).unwrap_or_default();
                format!(
                    "peer {peer} has {}, expected {}",
                    list(&has),
                    list(&self.convergence.expected(peer))
                )
            })
            .collect();
        let more = self.convergence.wrong_count().saturating_sub(wrong.len());
        if more > 0 {
            parts.push(format!("and {more} more"));
        }
        parts.join("; ")
    }

    // ---- The network.

    fn send_datagram(&mut self, from: PeerId, to: PeerId, datagram: Datagram) {
        if !self.partition.reachable(from, to) || self.rng.chance(self.network.loss_rate) {
            return;
        }
        let copies = if self.rng.chance(self.network.duplicate_rate) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let delay = self.network.latency(&mut self.rng);
            let datagram = datagram.clone();
            self.schedule(delay, Pending::Datagram { to, from, datagram });
        }
    }

    fn start_exchange(&mut self, from: PeerId, to: PeerId, request: Request, awaiting: Awaiting) {
        let number = self.next_exchange;
        self.next_exchange += 1;
        let from_incarnation = self.slot(from).incarnation;
        self.exchanges.insert(
            number,
            Exchange {
                from,
                from_incarnation,
                to,
                request,
                awaiting,
                connection: None,
                done: false,
            },
        );
        self.schedule(EXCHANGE_TIMEOUT, Pending::ExchangeTimeout(number));
        match self.process(to) {
            Process::Dead => self.resolve(number, Err(NoAnswer::Refused), REFUSAL_DELAY),
            // A frozen process's kernel accepts the connection, but nobody
            // reads the request; a cut-off one never sees it. Either way
            // the sender's timeout decides.
            Process::Frozen => {}
            Process::Running if !self.partition.reachable(from, to) => {}
            Process::Running => {
                let delay = self.network.latency(&mut self.rng);
                self.schedule(delay, Pending::RequestArrives(number));
            }
        }
    }

    fn request_arrives(&mut self, number: u64) {
        let Some(sent) = self.exchanges.get(&number) else {
            return;
        };
        if sent.done {
            return;
        }
        let (from, to) = (sent.from, sent.to);
        match self.process(to) {
            Process::Dead => {
                let delay = self.network.latency(&mut self.rng);
                self.resolve(number, Err(NoAnswer::Refused), delay);
            }
            Process::Frozen => {}
            Process::Running if !self.partition.reachable(from, to) => {}
            Process::Running => {
                let slot = self.slot_mut(to);
                let connection = ConnectionId(slot.next_connection);
                slot.next_connection += 1;
                self.connections.insert((to, connection), number);
                let sent = self.exchanges.get_mut(&number).expect("looked up above");
                sent.connection = Some(connection);
                let request = sent.request.clone();
                self.check_hops(to, &request);
                self.step(
                    to,
                    Event::Request {
                        request,
                        connection,
                    },
                );
            }
        }
    }

    /// Gives the sender of an exchange its outcome, `delay` from now.
    fn resolve(&mut self, number: u64, outcome: Result<Reply, NoAnswer>, delay: Duration) {
        let Some(sent) = self.exchanges.get_mut(&number) else {
            return;
        };
        if sent.done {
            return;
        }
        sent.done = true;
        let (from, incarnation, to, awaiting) =
            (sent.from, sent.from_incarnation, sent.to, sent.awaiting);
        if let Some(connection) = sent.connection {
            self.connections.remove(&(to, connection));
        }
        let event = match awaiting {
            Awaiting::Answer(token) => Event::Replied {
                token,
                reply: outcome,
            },
            Awaiting::Ready { file, purpose } => Event::TransferFinished {
                file,
                peer: to,
                direction: Direction::Sent,
                purpose,
                outcome: match outcome {
                    Ok(Reply::Have) => Ok(Transferred::AlreadyHeld),
                    Ok(reply) => Err(format!("peer {to} answered the offer with {reply}")),
                    Err(why) => Err(format!("peer {to} did not take the offer: {why:?}")),
                },
            },
            Awaiting::Nothing => return,
        };
        self.schedule(
            delay,
            Pending::Deliver {
                to: from,
                incarnation,
                event,
            },
        );
    }

    fn on_reply(&mut self, id: PeerId, connection: ConnectionId, reply: Reply) {
        // A reply on a connection that has expired, or that was never
        // opened, goes nowhere, as in the node.
        let Some(&number) = self.connections.get(&(id, connection)) else {
            return;
        };
        let from = self.exchanges[&number].from;
        if !self.partition.reachable(id, from) {
            return;
        }
        let delay = self.network.latency(&mut self.rng);
        self.resolve(number, Ok(reply), delay);
    }

    fn send_file(&mut self, id: PeerId, to: PeerId, file: FileName, purpose: Purpose) {
        if !self.slot(id).directory.holds(file) {
            let event = Event::TransferFinished {
                file,
                peer: to,
                direction: Direction::Sent,
                purpose,
                outcome: Err(format!("there is no {file}.pdf to send")),
            };
            self.deliver(id, event, Duration::ZERO);
            return;
        }
        let offer = Request::Offer {
            file,
            from: id,
            size: FILE_SIZE,
            purpose,
        };
        self.start_exchange(id, to, offer, Awaiting::Ready { file, purpose });
    }

    fn receive_file(
        &mut self,
        id: PeerId,
        file: FileName,
        purpose: Purpose,
        connection: ConnectionId,
    ) {
        let Some(number) = self.connections.remove(&(id, connection)) else {
            return;
        };
        let Some(sent) = self.exchanges.get_mut(&number) else {
            return;
        };
        if sent.done {
            return;
        }
        sent.done = true;
        let transfer = Transfer {
            sender: sent.from,
            sender_incarnation: sent.from_incarnation,
            receiver: id,
            receiver_incarnation: self.slots[usize::from(id.0)].incarnation,
            file,
            purpose,
        };
        let number = self.next_transfer;
        self.next_transfer += 1;
        self.transfers.insert(number, transfer);
        let delay = self.network.transfer_time(&mut self.rng);
        self.schedule(delay, Pending::TransferDone(number));
    }

    fn transfer_done(&mut self, number: u64) {
        let Some(transfer) = self.transfers.remove(&number) else {
            return;
        };
        let sender_runs = self.slot(transfer.sender).incarnation == transfer.sender_incarnation
            && self.process(transfer.sender) != Process::Dead;
        let receiver_runs = self.slot(transfer.receiver).incarnation
            == transfer.receiver_incarnation
            && self.process(transfer.receiver) != Process::Dead;
        let whole = sender_runs
            && receiver_runs
            && self.partition.reachable(transfer.sender, transfer.receiver);
        let outcome = if whole {
            Ok(Transferred::Whole)
        } else {
            Err("the other side went away during the transfer".to_string())
        };
        if whole {
            let directory = &self.slot(transfer.receiver).directory;
            match transfer.purpose {
                Purpose::Store | Purpose::Handover => directory.add(transfer.file),
                Purpose::Replica => directory.add_as(transfer.file, Held::Replica),
                Purpose::Request => {}
            }
            if transfer.purpose == Purpose::Store {
                self.ring_file_arrived(transfer.receiver, transfer.file);
            }
        }
        let finished = |peer, direction| Event::TransferFinished {
            file: transfer.file,
            peer,
            direction,
            purpose: transfer.purpose,
            outcome: outcome.clone(),
        };
        if receiver_runs {
            let event = finished(transfer.sender, Direction::Received);
            self.deliver_now(transfer.receiver, transfer.receiver_incarnation, event);
        }
        if sender_runs {
            let event = finished(transfer.receiver, Direction::Sent);
            let delay = self.network.latency(&mut self.rng);
            self.deliver(transfer.sender, event, delay);
        }
    }

    // ---- Watches.

    /// Keeps a watch on each of `watched` and none on anyone else, as the
    /// node does. A watch on a port that refuses reports it at once.
    fn keep_watching(&mut self, id: PeerId, watched: &[PeerId]) {
        let slot = self.slot_mut(id);
        slot.watching.retain(|(peer, _)| watched.contains(peer));
        let new: Vec<PeerId> = watched
            .iter()
            .copied()
            .filter(|peer| !slot.watching.iter().any(|(w, _)| w == peer))
            .collect();
        for peer in new {
            let watch = self.next_watch;
            self.next_watch += 1;
            let slot = self.slot_mut(id);
            slot.watching.push((peer, watch));
            let incarnation = slot.incarnation;
            if self.process(peer) == Process::Dead {
                let delay = self.network.port_closed_delay(&mut self.rng);
                self.schedule(
                    delay,
                    Pending::WatchProbe {
                        watcher: id,
                        incarnation,
                        watched: peer,
                        watch,
                    },
                );
            }
        }
    }

    fn watch_probe(&mut self, watcher: PeerId, incarnation: u32, watched: PeerId, watch: u64) {
        let slot = self.slot(watcher);
        if slot.incarnation != incarnation
            || slot.process == Process::Dead
            || !slot.watching.contains(&(watched, watch))
            || self.process(watched) != Process::Dead
        {
            // The watcher has gone, or no longer watches, or the port
            // accepts again (the peer was restarted): nothing to report.
            return;
        }
        if self.partition.reachable(watcher, watched) {
            self.deliver_now(watcher, incarnation, Event::PortClosed { peer: watched });
        }
        self.schedule(
            WATCH_RETRY,
            Pending::WatchProbe {
                watcher,
                incarnation,
                watched,
                watch,
            },
        );
    }

    // ---- Faults.

    fn apply_fault(&mut self, fault: Fault) {
        self.trace.record(self.now, || format!("fault: {fault:?}"));
        let grace = false_death_grace(self.plan.ping_interval);
        match fault {
            Fault::Kill(peer) => self.kill(peer),
            Fault::Freeze { peer, duration } => self.freeze(peer, duration),
            Fault::Resume(peer) => {
                if self.process(peer) == Process::Frozen {
                    let slot = self.slot_mut(peer);
                    slot.process = Process::Running;
                    slot.tick_at = None;
                    slot.buffered_datagrams = 0;
                    let held: Vec<Event> = slot.buffered.drain(..).collect();
                    let incarnation = slot.incarnation;
                    // The event loop ticks first when its deadline has
                    // passed, then takes what waited.
                    self.schedule_tick(peer);
                    for event in held {
                        self.schedule(
                            Duration::ZERO,
                            Pending::Deliver {
                                to: peer,
                                incarnation,
                                event,
                            },
                        );
                    }
                    self.monitor.excuse(peer, self.now + grace);
                }
            }
            Fault::Start(peer) => {
                if self.process(peer) == Process::Dead {
                    self.start_member(peer, &init_line(&self.plan.ring, peer));
                }
            }
            Fault::Restart(peer) => self.restart(peer),
            Fault::Join(peer) => self.join(peer),
            Fault::Quit(peer) => {
                if self.process(peer) == Process::Running {
                    self.note_leaver(peer);
                    self.step(peer, Event::Typed(Command::Quit));
                }
            }
            Fault::Partition(groups) => self.partition = Partition::split(&groups),
            Fault::Heal => {
                if self.partition.is_active() {
                    self.partition.heal();
                    self.monitor.excuse_everyone(self.now + grace);
                }
            }
            Fault::SetLoss(rate) => self.network.loss_rate = rate,
            Fault::Forge { at, request } => self.forge(at, request),
            Fault::KillRandom => {
                if let Some(peer) = self.random_victim() {
                    self.count_churn_event();
                    self.kill(peer);
                }
            }
            Fault::QuitRandom => {
                if let Some(peer) = self.random_victim() {
                    self.count_churn_event();
                    self.trace.record(self.now, || {
                        format!("peer {:>3} is told to quit", peer.to_string())
                    });
                    self.note_leaver(peer);
                    self.step(peer, Event::Typed(Command::Quit));
                }
            }
            Fault::JoinRandom => {
                let unused: Vec<PeerId> = (0..=255u8)
                    .map(PeerId)
                    .filter(|&peer| self.process(peer) == Process::Dead)
                    .collect();
                if !unused.is_empty() {
                    let peer = self.rng.pick(&unused);
                    self.count_churn_event();
                    self.join(peer);
                }
            }
            Fault::RestartRandom => {
                let killed: Vec<PeerId> = (0..=255u8)
                    .map(PeerId)
                    .filter(|&peer| {
                        self.process(peer) == Process::Dead && self.slot(peer).incarnation > 0
                    })
                    .collect();
                if !killed.is_empty() {
                    let peer = self.rng.pick(&killed);
                    self.count_churn_event();
                    self.restart(peer);
                }
            }
        }
        self.rebuild_convergence();
    }

    /// Counts a join, kill, quit or restart of a churn scenario, for the
    /// rate the lookup figures are set against.
    fn count_churn_event(&mut self) {
        if self.plan.churn.is_some() {
            self.churn_events += 1;
        }
    }

    /// A live member that may be killed or may quit, keeping the ring at
    /// its planned minimum.
    fn random_victim(&mut self) -> Option<PeerId> {
        let live = self.convergence.live().to_vec();
        if live.len() <= self.plan.min_live {
            return None;
        }
        Some(self.rng.pick(&live))
    }

    fn holders_of(&self, peer: PeerId) -> Vec<PeerId> {
        (0..=255u8)
            .map(PeerId)
            .filter(|&holder| {
                let slot = self.slot(holder);
                slot.process == Process::Running
                    && slot.member
                    && self.partition.reachable(holder, peer)
                    && slot
                        .peer
                        .as_ref()
                        .is_some_and(|p| p.successors().contains(&peer))
            })
            .collect()
    }

    fn expect_detections(&mut self, dead: PeerId, failure: Failure, bound: Duration) {
        for holder in self.holders_of(dead) {
            let detection = Detection {
                holder,
                holder_incarnation: self.slot(holder).incarnation,
                dead,
                dead_incarnation: self.slot(dead).incarnation,
                failure,
                since: self.now,
                declared_after: None,
                overtaken: false,
            };
            let index = self.monitor.detections.len();
            self.monitor.detections.push(detection);
            self.schedule(bound, Pending::Check(Check::Detection(index)));
        }
    }

    fn kill(&mut self, peer: PeerId) {
        if self.process(peer) == Process::Dead {
            return;
        }
        self.trace.record(self.now, || {
            format!("peer {:>3} is killed", peer.to_string())
        });
        self.expect_detections(peer, Failure::Kill, KILL_DETECTION_BOUND);
        let grace = false_death_grace(self.plan.ping_interval);
        self.monitor.excuse(peer, self.now + grace);
        self.end_process(peer);
        self.start_repair();
    }

    fn freeze(&mut self, peer: PeerId, duration: Duration) {
        if self.process(peer) != Process::Running {
            return;
        }
        self.trace.record(self.now, || {
            format!("peer {:>3} is frozen for {duration:?}", peer.to_string())
        });
        let bound = freeze_detection_bound(self.plan.ping_interval);
        if duration > bound {
            self.expect_detections(peer, Failure::Freeze, bound);
        }
        self.slot_mut(peer).process = Process::Frozen;
    }

    fn restart(&mut self, peer: PeerId) {
        if self.process(peer) != Process::Dead {
            return;
        }
        // The init line names the next two live members, never a peer that
        // has died since: a successor that never answers would be dropped
        // only after the never-answered limit (ten intervals, at least
        // 30 s), which the convergence bound does not cover.
        let live = self.convergence.live();
        let after: Vec<PeerId> = live
            .iter()
            .copied()
            .filter(|&p| p > peer)
            .chain(live.iter().copied().filter(|&p| p < peer))
            .take(2)
            .collect();
        if after.is_empty() {
            return;
        }
        self.start_member(peer, &after);
        let grace = false_death_grace(self.plan.ping_interval);
        self.monitor.excuse(peer, self.now + grace);
    }

    fn join(&mut self, newcomer: PeerId) {
        if self.process(newcomer) != Process::Dead {
            return;
        }
        let live = self.convergence.live().to_vec();
        if live.is_empty() {
            return;
        }
        let known = self.rng.pick(&live);
        let config = self.peer_config(newcomer);
        let now = self.instant();
        let slot = self.slot_mut(newcomer);
        let (peer, actions) = Peer::joining(config, known, now);
        slot.peer = Some(peer.with_files(Box::new(slot.directory.clone())));
        slot.process = Process::Running;
        slot.incarnation += 1;
        slot.member = false;
        slot.tick_at = None;
        slot.watching.clear();
        let incarnation = slot.incarnation;
        if self.plan.ring_files > 0 {
            self.newcomers.push(Newcomer {
                peer: newcomer,
                incarnation,
                since: self.now,
                held_after: None,
                files: None,
                gone: false,
            });
            self.poll_placement();
        }
        self.trace.record(self.now, || {
            format!(
                "peer {:>3} starts, joining through peer {known}",
                newcomer.to_string()
            )
        });
        if self.carry_out(newcomer, actions) {
            self.after_step(newcomer);
        }
    }

    fn forge(&mut self, at: PeerId, request: Request) {
        if self.process(at) != Process::Running {
            return;
        }
        let number = self.next_exchange;
        self.next_exchange += 1;
        let slot = self.slot_mut(at);
        let connection = ConnectionId(slot.next_connection);
        slot.next_connection += 1;
        let incarnation = slot.incarnation;
        self.exchanges.insert(
            number,
            Exchange {
                from: at,
                from_incarnation: incarnation,
                to: at,
                request: request.clone(),
                awaiting: Awaiting::Nothing,
                connection: Some(connection),
                done: false,
            },
        );
        self.connections.insert((at, connection), number);
        self.schedule(EXCHANGE_TIMEOUT, Pending::ExchangeTimeout(number));
        self.check_hops(at, &request);
        self.step(
            at,
            Event::Request {
                request,
                connection,
            },
        );
    }

    // ---- Planned checks.

    fn check(&mut self, check: Check) {
        match check {
            Check::Detection(index) => self.check_detection(index),
            Check::Settle => self.check_settled(),
            Check::ConvergenceDeadline => {
                if self.convergence.correct_since.is_none()
                    && !self.settled
                    && self.plan.killed_share.is_some()
                {
                    // A mass kill may cut the ring (R adjacent peers
                    // killed): the assumption is broken on purpose, and
                    // the losses, counted at the kills, are all this
                    // scenario measures.
                    self.convergence_failed = true;
                    self.end_at = self.now;
                } else if self.convergence.correct_since.is_none() && !self.settled {
                    let what = format!(
                        "not converged {:.2} intervals after the last fault (at {:.3} s): {}",
                        self.convergence_bound.as_secs_f64()
                            / self.plan.ping_interval.as_secs_f64(),
                        self.last_fault.as_secs_f64(),
                        self.describe_wrong_lists()
                    );
                    self.monitor.violate(self.now, what);
                    self.convergence_failed = true;
                    self.end_at = self.now;
                }
            }
            Check::Requests => self.check_stores_and_type_requests(),
            Check::LookupDeadline(index) => self.check_lookup(index),
            Check::ProbesDone => {
                let unanswered: Vec<RequestProbe> = self
                    .monitor
                    .requests
                    .iter()
                    .filter(|probe| !probe.answered)
                    .cloned()
                    .collect();
                for probe in unanswered {
                    let what = format!(
                        "Request {} typed at peer {} in a settled ring got no answer within {} s",
                        probe.file,
                        probe.origin,
                        REQUEST_BOUND.as_secs()
                    );
                    self.monitor.violate(self.now, what);
                }
                self.end_at = self.now.max(self.placement_deadline.unwrap_or_default());
            }
            Check::Placement => self.check_placement(),
            Check::PlacementDeadline => self.check_placement_deadline(),
            Check::FirstAnswers => self.check_first_answers(),
        }
    }

    /// Every peer of a ring started one after another has heard both its
    /// successors answer within its deadline.
    fn check_first_answers(&mut self) {
        for answers in self.first_answers.clone() {
            let deadline = answers.deadline();
            if answers.heard_both.is_none_or(|heard| heard > deadline) {
                let what = format!(
                    "peer {} started at {:.3} s, its successors {} by {:.3} s, and it had not \
                     heard both answer by {:.3} s (heard {})",
                    answers.peer,
                    answers.started.as_secs_f64(),
                    list(&answers.successors),
                    answers.successors_up.as_secs_f64(),
                    deadline.as_secs_f64(),
                    list(&answers.heard)
                );
                self.monitor.violate(self.now, what);
            }
        }
    }

    /// Runs the checker's verdict on the live peers; each problem it finds
    /// is a violation (the first few, then a count).
    fn check_census(&mut self, rules: Rules) {
        let now = self.instant();
        let live = self
            .slots
            .iter()
            .filter(|slot| slot.process == Process::Running && slot.member)
            .filter_map(|slot| slot.peer.as_ref());
        let problems = census::problems(live, now, rules);
        for problem in problems.iter().take(3) {
            let what = format!("checker ({rules:?}): {problem}");
            self.monitor.violate(self.now, what);
        }
        if problems.len() > 3 {
            let what = format!("checker: and {} more problems", problems.len() - 3);
            self.monitor.violate(self.now, what);
        }
    }

    fn check_detection(&mut self, index: usize) {
        let detection = self.monitor.detections[index].clone();
        if detection.declared_after.is_some() || detection.overtaken {
            return;
        }
        let holder = self.slot(detection.holder);
        let holder_runs = holder.incarnation == detection.holder_incarnation
            && holder.process == Process::Running;
        let dead = self.slot(detection.dead);
        let still_failed = dead.incarnation == detection.dead_incarnation
            && match detection.failure {
                Failure::Kill => dead.process == Process::Dead,
                Failure::Freeze => dead.process == Process::Frozen,
            };
        if !holder_runs || !still_failed {
            self.monitor.detections[index].overtaken = true;
        } else {
            let (how, bound) = match detection.failure {
                Failure::Kill => ("killed", KILL_DETECTION_BOUND),
                Failure::Freeze => ("frozen", freeze_detection_bound(self.plan.ping_interval)),
            };
            let what = format!(
                "detection: peer {} had {how} peer {} in its list at {:.3} s and did not \
                 declare it dead within {} ms",
                detection.holder,
                detection.dead,
                detection.since.as_secs_f64(),
                bound.as_millis()
            );
            self.monitor.violate(self.now, what);
        }
    }

    /// Once the ring has been converged long enough, and the last fault is
    /// that long past too (a peer told to quit at the last fault is still
    /// in the ring for a moment), types the stores and requests of the
    /// plan.
    fn check_settled(&mut self) {
        if self.settled || self.convergence_failed {
            return;
        }
        let interval = self.plan.ping_interval;
        let settled = self
            .convergence
            .correct_since
            .is_some_and(|since| self.now >= since.max(self.last_fault) + settle_time(interval));
        if !settled {
            self.schedule(interval / 4, Pending::Check(Check::Settle));
            return;
        }
        self.settled = true;
        self.check_census(Rules::Shape);
        if self.plan.probes.is_empty() {
            // Nothing to type: the run ends once the placement deadline,
            // if any, has been checked.
            self.end_at = self.now.max(self.placement_deadline.unwrap_or_default())
                + Duration::from_millis(1);
            return;
        }
        let probes = self.plan.probes.clone();
        for probe in probes {
            if let Probe::StoreAndRequest = probe {
                self.type_store();
            }
        }
        self.schedule(STORE_BOUND, Pending::Check(Check::Requests));
        self.end_at = (self.now + STORE_BOUND + REQUEST_BOUND)
            .max(self.placement_deadline.unwrap_or_default())
            + Duration::from_millis(1);
        self.schedule(
            STORE_BOUND + REQUEST_BOUND,
            Pending::Check(Check::ProbesDone),
        );
    }

    /// A file number not used yet in this run whose hash is `position`,
    /// or any if `position` is `None`.
    fn fresh_file(&mut self, position: Option<u8>) -> FileName {
        loop {
            let number = match position {
                Some(position) => {
                    let turns = (9_999 - u64::from(position)) / 256;
                    u64::from(position) + 256 * self.rng.below(turns + 1)
                }
                None => self.rng.below(10_000),
            };
            let file = file_named(number as u16);
            let used = self.monitor.stores.iter().any(|probe| probe.file == file)
                || self.ring_files.iter().any(|ring| ring.file == file)
                || self.monitor.requests.iter().any(|probe| probe.file == file)
                || self.lookups.iter().any(|lookup| lookup.file == file);
            if !used {
                return file;
            }
        }
    }

    fn type_store(&mut self) {
        let live = self.convergence.live().to_vec();
        if live.is_empty() {
            return;
        }
        let origin = self.rng.pick(&live);
        let file = self.fresh_file(None);
        let Some(responsible) = self.convergence.responsible_for(file.hash()) else {
            return;
        };
        self.slot(origin).directory.add(file);
        self.monitor.stores.push(StoreProbe {
            file,
            origin,
            responsible,
            typed_at: self.now,
            accepted: false,
        });
        self.step(origin, Event::Typed(Command::Store(file)));
    }

    fn check_stores_and_type_requests(&mut self) {
        let stores = self.monitor.stores.clone();
        for probe in &stores {
            if !probe.accepted {
                let what = format!(
                    "Store {} (hash {}) typed at peer {} in a settled ring was not accepted by \
                     peer {}, responsible for it, within {} s",
                    probe.file,
                    probe.file.hash(),
                    probe.origin,
                    probe.responsible,
                    STORE_BOUND.as_secs()
                );
                self.monitor.violate(self.now, what);
            } else if !self.slot(probe.responsible).directory.holds(probe.file) {
                let what = format!(
                    "Store {} typed at peer {} was accepted by peer {}, but the file never \
                     arrived there",
                    probe.file, probe.origin, probe.responsible
                );
                self.monitor.violate(self.now, what);
            }
        }
        let live = self.convergence.live().to_vec();
        if live.is_empty() {
            return;
        }
        for probe in &stores {
            let origin = self.rng.pick(&live);
            self.type_request(origin, probe.file);
        }
        let positions: Vec<u8> = self
            .plan
            .probes
            .iter()
            .filter_map(|probe| match probe {
                Probe::RequestAt(position) => Some(*position),
                Probe::StoreAndRequest => None,
            })
            .collect();
        for position in positions {
            let origin = self.rng.pick(&live);
            let file = self.fresh_file(Some(position));
            self.type_request(origin, file);
        }
    }

    fn type_request(&mut self, origin: PeerId, file: FileName) {
        self.monitor.requests.push(RequestProbe {
            file,
            origin,
            typed_at: self.now,
            answered: false,
        });
        self.step(origin, Event::Typed(Command::Request(file)));
    }

    // ---- The ring's files (see `copies.rs`).

    /// Types `Store` of a fresh file at a random member, which holds it
    /// as the user's own `NNNN.pdf`.
    fn type_ring_store(&mut self) {
        let live = self.convergence.live().to_vec();
        if live.is_empty() {
            return;
        }
        let origin = self.rng.pick(&live);
        let file = self.fresh_file(None);
        self.slot(origin).directory.add(file);
        self.ring_files.push(RingFile {
            file,
            origin,
            stored_at: None,
            lost_at: None,
        });
        self.step(origin, Event::Typed(Command::Store(file)));
    }

    /// A file stored through the ring has arrived at `at`, the peer that
    /// accepted it: it is the ring's from now on, and the user's copy at
    /// the origin goes (see the module documentation of `copies.rs`).
    fn ring_file_arrived(&mut self, at: PeerId, file: FileName) {
        let Some(ring) = self
            .ring_files
            .iter_mut()
            .find(|ring| ring.file == file && ring.stored_at.is_none())
        else {
            return;
        };
        ring.stored_at = Some(self.now);
        let origin = ring.origin;
        if origin != at {
            self.slot(origin).directory.discard(file, Held::Stored);
        }
        self.trace.record(self.now, || {
            format!("file {file} is the ring's: stored at peer {at}, typed at peer {origin}")
        });
    }

    /// Whether a peer whose process has not ended holds `file`, under
    /// either name.
    fn is_held(&self, file: FileName) -> bool {
        self.slots
            .iter()
            .any(|slot| slot.process != Process::Dead && slot.directory.holds(file))
    }

    /// A copy of `file` may have gone: if it was the last, the file is
    /// lost.
    fn check_loss(&mut self, file: FileName) {
        let Some(index) = self
            .ring_files
            .iter()
            .position(|ring| ring.file == file && ring.is_kept())
        else {
            return;
        };
        if self.is_held(file) {
            return;
        }
        self.ring_files[index].lost_at = Some(self.now);
        self.trace.record(self.now, || {
            format!("file {file} is lost: no live peer holds it")
        });
        if self.plan.losses_are_violations {
            let what = format!(
                "file {file} (hash {}) was lost: no live peer holds a copy, although at most \
                 K - 1 = {} peers failed within a repair window",
                file.hash(),
                self.plan.replicas - 1
            );
            self.monitor.violate(self.now, what);
        }
    }

    /// The process of `peer` has ended: the files it held may be lost.
    fn check_losses_at(&mut self, peer: PeerId) {
        let held: Vec<FileName> = self
            .ring_files
            .iter()
            .filter(|ring| ring.is_kept() && self.slot(peer).directory.holds(ring.file))
            .map(|ring| ring.file)
            .collect();
        for file in held {
            self.check_loss(file);
        }
    }

    /// `peer` is told to quit: the files it is responsible for must be at
    /// its successor when it exits.
    fn note_leaver(&mut self, peer: PeerId) {
        if self.plan.ring_files == 0 || !self.plan.handover {
            return;
        }
        let live = self.convergence.live();
        let files: Vec<FileName> = self
            .ring_files
            .iter()
            .filter(|ring| {
                ring.is_kept()
                    && ideal_holders(live, ring.file.hash(), 1) == [peer]
                    && self.slot(peer).directory.holds_as(ring.file, Held::Stored)
            })
            .map(|ring| ring.file)
            .collect();
        self.leavers.push(Leaver {
            peer,
            incarnation: self.slot(peer).incarnation,
            files,
        });
    }

    /// `peer` exits: if it was told to quit, its files must be at its
    /// successor, the next live member, or already at the peer now
    /// responsible for them.
    fn check_leaver(&mut self, peer: PeerId) {
        let incarnation = self.slot(peer).incarnation;
        let Some(index) = self
            .leavers
            .iter()
            .position(|leaver| leaver.peer == peer && leaver.incarnation == incarnation)
        else {
            return;
        };
        let leaver = self.leavers.remove(index);
        let live = self.convergence.live();
        let Some(successor) = live
            .iter()
            .copied()
            .find(|&p| p > peer)
            .or_else(|| live.first().copied())
            .filter(|&p| p != peer)
        else {
            return;
        };
        // A newcomer that joined just before the leaver's arc changed hands
        // may be responsible by now, and hold the file instead: the
        // successor passes such a file on at once.
        let missing: Vec<FileName> = leaver
            .files
            .iter()
            .copied()
            .filter(|&file| {
                let responsible = ideal_holders(live, file.hash(), 1);
                !self.slot(successor).directory.holds(file)
                    && !responsible
                        .iter()
                        .any(|&holder| self.slot(holder).directory.holds(file))
            })
            .collect();
        if !missing.is_empty() {
            let names: Vec<String> = missing.iter().map(FileName::to_string).collect();
            let what = format!(
                "peer {peer} quit, but its successor {successor} does not hold the files it was \
                 responsible for: {}",
                names.join(" ")
            );
            self.monitor.violate(self.now, what);
        }
    }

    /// A kill: times how long the ring takes to put every kept file back
    /// at its K peers. Kills at the same instant are one repair; a kill
    /// during a repair overtakes it.
    fn start_repair(&mut self) {
        if self.plan.ring_files == 0 || !self.ring_files.iter().any(RingFile::is_kept) {
            return;
        }
        if let Some(open) = self
            .repairs
            .iter_mut()
            .find(|repair| repair.done_after.is_none() && !repair.overtaken)
        {
            if open.since == self.now {
                return;
            }
            open.overtaken = true;
        }
        self.repairs.push(Repair {
            since: self.now,
            done_after: None,
            overtaken: false,
        });
        self.poll_placement();
    }

    fn poll_placement(&mut self) {
        if !self.polling_placement {
            self.polling_placement = true;
            self.schedule(PLACEMENT_POLL, Pending::Check(Check::Placement));
        }
    }

    /// The first way in which a kept file is not where it belongs, if
    /// there is one: one of its K peers does not hold it, or the
    /// responsible peer holds it only as a replica.
    fn placement_gap(&self, ring: &RingFile) -> Option<String> {
        let holders = ideal_holders(
            self.convergence.live(),
            ring.file.hash(),
            self.plan.replicas,
        );
        for (index, &holder) in holders.iter().enumerate() {
            let directory = &self.slot(holder).directory;
            if index == 0 && !directory.holds_as(ring.file, Held::Stored) {
                let how = if directory.holds(ring.file) {
                    "only as a replica"
                } else {
                    "not at all"
                };
                return Some(format!(
                    "file {} (hash {}): peer {holder}, responsible for it, holds it {how} \
                     (it should be at {})",
                    ring.file,
                    ring.file.hash(),
                    list(&holders)
                ));
            }
            if !directory.holds(ring.file) {
                return Some(format!(
                    "file {} (hash {}): peer {holder} does not hold it (it should be at {})",
                    ring.file,
                    ring.file.hash(),
                    list(&holders)
                ));
            }
        }
        None
    }

    fn check_placement(&mut self) {
        self.polling_placement = false;
        let open_repair = self
            .repairs
            .iter()
            .position(|repair| repair.done_after.is_none() && !repair.overtaken);
        if let Some(index) = open_repair {
            let placed = self
                .ring_files
                .iter()
                .filter(|ring| ring.is_kept())
                .all(|ring| self.placement_gap(ring).is_none());
            if placed {
                let since = self.repairs[index].since;
                self.repairs[index].done_after = Some(self.now - since);
            }
        }
        let live = self.convergence.live().to_vec();
        for index in 0..self.newcomers.len() {
            let newcomer = &self.newcomers[index];
            if newcomer.held_after.is_some() || newcomer.gone {
                continue;
            }
            let slot = self.slot(newcomer.peer);
            if slot.incarnation != newcomer.incarnation || slot.process == Process::Dead {
                self.newcomers[index].gone = true;
                continue;
            }
            if !slot.member || live.binary_search(&newcomer.peer).is_err() {
                continue;
            }
            let own = match &newcomer.files {
                Some(files) => files.clone(),
                None => {
                    let files: Vec<FileName> = self
                        .ring_files
                        .iter()
                        .filter(|ring| {
                            ring.is_kept()
                                && ideal_holders(&live, ring.file.hash(), 1) == [newcomer.peer]
                        })
                        .map(|ring| ring.file)
                        .collect();
                    self.newcomers[index].files = Some(files.clone());
                    if files.is_empty() {
                        self.newcomers[index].gone = true;
                        continue;
                    }
                    files
                }
            };
            let slot = self.slot(self.newcomers[index].peer);
            if own
                .iter()
                .all(|&file| slot.directory.holds_as(file, Held::Stored))
            {
                let newcomer = &self.newcomers[index];
                let since = newcomer.since;
                self.newcomers[index].held_after = Some(self.now - since);
            }
        }
        let waiting = self
            .repairs
            .iter()
            .any(|repair| repair.done_after.is_none() && !repair.overtaken)
            || self
                .newcomers
                .iter()
                .any(|newcomer| newcomer.held_after.is_none() && !newcomer.gone);
        if waiting {
            self.poll_placement();
        }
    }

    /// At the placement bound after the last fault, every kept file must
    /// be at its K peers (but where the faults broke the assumption on
    /// purpose, or the ring did not converge, which is reported already).
    fn check_placement_deadline(&mut self) {
        if self.convergence_failed || self.plan.killed_share.is_some() {
            return;
        }
        self.check_census(Rules::ShapeAndFiles);
        let gaps: Vec<String> = self
            .ring_files
            .iter()
            .filter(|ring| ring.is_kept())
            .filter_map(|ring| self.placement_gap(ring))
            .collect();
        let bound = self.placement_bound.as_secs_f64() / self.plan.ping_interval.as_secs_f64();
        for gap in gaps.iter().take(3) {
            let what = format!(
                "placement: {gap}, {bound:.2} intervals after the last fault (at {:.3} s)",
                self.last_fault.as_secs_f64()
            );
            self.monitor.violate(self.now, what);
        }
        if gaps.len() > 3 {
            let what = format!("placement: and {} more files out of place", gaps.len() - 3);
            self.monitor.violate(self.now, what);
        }
    }

    fn copy_figures(&self) -> CopyFigures {
        if self.plan.ring_files == 0 {
            return CopyFigures::default();
        }
        let count = |keep: fn(&RingFile) -> bool| {
            self.ring_files.iter().filter(|ring| keep(ring)).count() as u32
        };
        CopyFigures {
            replicas: self.plan.replicas,
            files_stored: count(|ring| ring.stored_at.is_some()),
            files_lost: count(|ring| ring.lost_at.is_some()),
            losses_are_violations: self.plan.losses_are_violations,
            killed_share: self.plan.killed_share,
            repairs: self.repairs.iter().filter_map(|r| r.done_after).collect(),
            repairs_overtaken: self.repairs.iter().filter(|r| r.overtaken).count() as u32,
            repairs_unfinished: self
                .repairs
                .iter()
                .filter(|r| r.done_after.is_none() && !r.overtaken)
                .count() as u32,
            newcomers: self.newcomers.iter().filter_map(|n| n.held_after).collect(),
            newcomers_unfinished: self
                .newcomers
                .iter()
                .filter(|n| n.held_after.is_none() && !n.gone)
                .count() as u32,
            churn_events: self.churn_events,
            placement_bound: self.placement_bound,
        }
    }

    // ---- Lookups during churn (see `lookups.rs`).

    /// Types a `Request` at a random live member for a file that the peer
    /// responsible for it holds: the simulator puts a fresh file, whose
    /// hash falls in that peer's arc, in its directory.
    fn type_lookup(&mut self) {
        let live = self.convergence.live().to_vec();
        if live.len() < 2 {
            return;
        }
        let index = self.rng.index(live.len());
        let holder = live[index];
        let before = live[(index + live.len() - 1) % live.len()];
        // The holder's arc runs from just after the member before it up to
        // itself, round through 255 and 0 if need be.
        let arc = usize::from(holder.0.wrapping_sub(before.0)).max(1);
        let offset = self.rng.index(arc) as u8;
        let position = before.0.wrapping_add(1).wrapping_add(offset);
        let Some(file) = self.unused_file_at(position) else {
            return;
        };
        let others: Vec<PeerId> = live.into_iter().filter(|&p| p != holder).collect();
        let origin = self.rng.pick(&others);
        self.slot(holder).directory.add(file);
        let number = self.lookups.len();
        self.lookups.push(Lookup {
            file,
            origin,
            origin_incarnation: self.slot(origin).incarnation,
            holder,
            typed_at: self.now,
            end: None,
        });
        self.trace.record(self.now, || {
            format!("lookup: Request {file} typed at peer {origin}; peer {holder} holds it")
        });
        self.schedule(
            LOOKUP_TIMEOUT,
            Pending::Check(Check::LookupDeadline(number)),
        );
        self.step(origin, Event::Typed(Command::Request(file)));
    }

    /// A file whose hash is `position` and that no probe or lookup of this
    /// run has used yet, if one is left (there are 39 or 40 a position).
    fn unused_file_at(&mut self, position: u8) -> Option<FileName> {
        let turns = (9_999 - u64::from(position)) / 256;
        let first_turn = self.rng.below(turns + 1);
        (0..=turns)
            .map(|step| (first_turn + step) % (turns + 1))
            .map(|turn| file_named((u64::from(position) + 256 * turn) as u16))
            .find(|&file| {
                !self.lookups.iter().any(|lookup| lookup.file == file)
                    && !self.monitor.stores.iter().any(|probe| probe.file == file)
                    && !self.monitor.requests.iter().any(|probe| probe.file == file)
                    && !self.ring_files.iter().any(|ring| ring.file == file)
            })
    }

    /// The requester `peer` printed an answer about `file`: it ends the
    /// lookup, if one is waiting for it there.
    fn end_lookup(&mut self, peer: PeerId, file: FileName, end: LookupEnd) {
        let incarnation = self.slot(peer).incarnation;
        if let Some(lookup) = self.lookups.iter_mut().find(|lookup| {
            lookup.file == file
                && lookup.origin == peer
                && lookup.origin_incarnation == incarnation
                && lookup.end.is_none()
        }) {
            lookup.end = Some(end);
        }
    }

    fn check_lookup(&mut self, index: usize) {
        let lookup = &self.lookups[index];
        if lookup.end.is_some() {
            return;
        }
        let origin = self.slot(lookup.origin);
        let origin_runs =
            origin.incarnation == lookup.origin_incarnation && origin.process != Process::Dead;
        self.lookups[index].end = Some(if origin_runs {
            LookupEnd::TimedOut
        } else {
            LookupEnd::RequesterEnded
        });
    }
}

/// A list of peers as the reports show it: `[5 14]`.
pub fn list(peers: &[PeerId]) -> String {
    let words: Vec<String> = peers.iter().map(PeerId::to_string).collect();
    format!("[{}]", words.join(" "))
}

/// The successors the course's init line gives `id` in `ring`: its next
/// two peers.
fn init_line(ring: &[PeerId], id: PeerId) -> Vec<PeerId> {
    let Some(index) = ring.iter().position(|&peer| peer == id) else {
        return Vec::new();
    };
    (1..=2)
        .map(|step| ring[(index + step) % ring.len()])
        .filter(|&peer| peer != id)
        .collect()
}

/// The peers of the initial ring that the plan starts late, with when.
fn late_starts(plan: &Plan) -> Vec<(Duration, PeerId)> {
    plan.faults
        .iter()
        .filter_map(|(at, fault)| match fault {
            Fault::Start(peer) => Some((*at, *peer)),
            _ => None,
        })
        .collect()
}

/// What to watch of each peer's first answers when the plan starts peers
/// one after another: nothing when the whole ring starts at once.
fn first_answers_to_watch(plan: &Plan) -> Vec<FirstAnswers> {
    let late = late_starts(plan);
    if late.is_empty() {
        return Vec::new();
    }
    let start_of = |peer: PeerId| {
        late.iter()
            .find(|&&(_, late_peer)| late_peer == peer)
            .map_or(Duration::ZERO, |&(at, _)| at)
    };
    plan.ring
        .iter()
        .map(|&peer| {
            let successors = init_line(&plan.ring, peer);
            let successors_up = successors.iter().map(|&s| start_of(s)).max();
            FirstAnswers {
                peer,
                started: start_of(peer),
                successors_up: successors_up.unwrap_or_default(),
                successors,
                heard: Vec::new(),
                heard_both: None,
            }
        })
        .collect()
}
