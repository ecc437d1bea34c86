//! The protocol logic of one peer, as a pure state machine.
//!
//! A [`Peer`] owns everything the peer knows about the ring: its successors,
//! the predecessors it has heard from, and when it must ping next. It never
//! touches a socket, a thread or the clock. Instead, [`Peer::handle`] takes
//! one [`Event`] (a message arrived, a command was typed, time passed) and the
//! current time, and returns the [`Action`]s to carry out (print a line, send
//! a message, exit). The `node` module does the input and output.
//!
//! Keeping the logic pure means every rule of the ring (who is my successor,
//! whom do I tell, what do I print) is tested below with plain function calls,
//! no sockets and no waiting.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::command::Command;
use crate::message::{Message, Ordinal};
use crate::output::Line;
use crate::ring::PeerId;

/// The timers of a peer, derived from its ping interval.
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

/// Where a message came from, so that an answer can go back the same way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// A UDP datagram from this address.
    Datagram(SocketAddr),
}

/// Something that happened to the peer.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// The time returned by [`Peer::next_deadline`] has come.
    Tick,
    /// A well-formed message arrived.
    Received { message: Message, source: Source },
    /// The user typed a command.
    Typed(Command),
}

/// Where a message is to be sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Destination {
    /// The UDP port of a peer of the ring.
    Peer(PeerId),
    /// The address a datagram came from: answers go back there.
    Address(SocketAddr),
}

/// Something the peer wants done.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Print a line of the reference behaviour on standard output.
    Print(Line),
    /// Report something odd on standard error; the peer carries on.
    Warn(String),
    /// Send a datagram.
    SendDatagram { to: Destination, message: Message },
    /// Stop the program with this exit code.
    Exit { code: i32 },
}

/// The two successors, which a peer always knows once it is in the ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Successors {
    pub first: PeerId,
    pub second: PeerId,
}

/// A predecessor, learned from a ping, and when it last pinged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Heard {
    peer: PeerId,
    at: Instant,
}

/// One peer of the ring.
#[derive(Debug)]
pub struct Peer {
    id: PeerId,
    timing: Timing,
    successors: Successors,
    /// The first and second predecessor, as last heard from pings.
    predecessors: [Option<Heard>; 2],
    next_ping_at: Instant,
    /// The sequence number of the next ping, so that an answer can be
    /// matched to its ping.
    next_ping_seq: u32,
}

impl Peer {
    /// A peer of the initial ring, which knows its two successors from the
    /// command line. It pings them as soon as it is first ticked.
    pub fn new(id: PeerId, successors: Successors, timing: Timing, now: Instant) -> Peer {
        Peer {
            id,
            timing,
            successors,
            predecessors: [None, None],
            next_ping_at: now,
            next_ping_seq: 0,
        }
    }

    pub fn id(&self) -> PeerId {
        self.id
    }

    pub fn successors(&self) -> Successors {
        self.successors
    }

    /// The first or second predecessor, if one has pinged recently enough.
    pub fn predecessor(&self, which: Ordinal, now: Instant) -> Option<PeerId> {
        let heard = self.predecessors[slot(which)]?;
        let fresh = now.saturating_duration_since(heard.at) <= self.timing.predecessor_memory();
        fresh.then_some(heard.peer)
    }

    /// When the peer next needs a [`Event::Tick`], even if nothing else
    /// happens.
    pub fn next_deadline(&self) -> Instant {
        self.next_ping_at
    }

    /// Applies one event and returns what must be done about it, in order.
    pub fn handle(&mut self, event: Event, now: Instant) -> Vec<Action> {
        let mut actions = Vec::new();
        match event {
            Event::Tick => self.on_tick(now, &mut actions),
            Event::Received { message, source } => {
                self.on_message(message, source, now, &mut actions)
            }
            Event::Typed(command) => self.on_command(command, &mut actions),
        }
        actions
    }

    fn on_tick(&mut self, now: Instant, actions: &mut Vec<Action>) {
        if now >= self.next_ping_at {
            self.ping_successors(actions);
            // Keep a steady rhythm, but after a long stall (a suspended
            // process, say) start afresh rather than fire a burst of pings.
            self.next_ping_at += self.timing.ping_interval;
            if self.next_ping_at <= now {
                self.next_ping_at = now + self.timing.ping_interval;
            }
        }
    }

    fn ping_successors(&mut self, actions: &mut Vec<Action>) {
        let Successors { first, second } = self.successors;
        actions.push(Action::Print(Line::PingRequestsSent { first, second }));
        let seq = self.next_ping_seq;
        self.next_ping_seq = seq.wrapping_add(1);
        for (successor, which) in [(first, Ordinal::First), (second, Ordinal::Second)] {
            actions.push(Action::SendDatagram {
                to: Destination::Peer(successor),
                message: Message::Ping {
                    from: self.id,
                    to: successor,
                    successor: which,
                    seq,
                },
            });
        }
    }

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
                self.remember_predecessor(from, successor, now);
                let Source::Datagram(address) = source;
                actions.push(Action::SendDatagram {
                    to: Destination::Address(address),
                    message: Message::Pong {
                        from: self.id,
                        to: from,
                        seq,
                    },
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
                if from == self.successors.first || from == self.successors.second {
                    actions.push(Action::Print(Line::PingResponseReceived { from }));
                }
            }
        }
    }

    /// Records that `peer` pinged us as its first or second successor, which
    /// makes it our first or second predecessor.
    fn remember_predecessor(&mut self, peer: PeerId, we_are_its: Ordinal, now: Instant) {
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
    }

    fn on_command(&mut self, command: Command, actions: &mut Vec<Action>) {
        match command {
            Command::Quit => actions.push(Action::Exit { code: 0 }),
            Command::Store(_) | Command::Request(_) => actions.push(Action::Warn(
                "Store and Request are not implemented yet".to_string(),
            )),
        }
    }
}

fn slot(which: Ordinal) -> usize {
    match which {
        Ordinal::First => 0,
        Ordinal::Second => 1,
    }
}

fn misaddressed(message: &Message, me: PeerId) -> Action {
    Action::Warn(format!(
        "ignored {message:?}: it is not for this peer ({me}); \
         is another ring using the same ports?"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, SocketAddrV4};

    const INTERVAL: Duration = Duration::from_secs(30);

    fn peer(id: u8, first: u8, second: u8, now: Instant) -> Peer {
        Peer::new(
            PeerId(id),
            Successors {
                first: PeerId(first),
                second: PeerId(second),
            },
            Timing::new(INTERVAL),
            now,
        )
    }

    fn address(port: u16) -> SocketAddr {
        SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port))
    }

    fn ping(from: u8, to: u8, successor: Ordinal, seq: u32) -> Event {
        Event::Received {
            message: Message::Ping {
                from: PeerId(from),
                to: PeerId(to),
                successor,
                seq,
            },
            source: Source::Datagram(address(12000 + u16::from(from))),
        }
    }

    fn pong(from: u8, to: u8, seq: u32) -> Event {
        Event::Received {
            message: Message::Pong {
                from: PeerId(from),
                to: PeerId(to),
                seq,
            },
            source: Source::Datagram(address(12000 + u16::from(from))),
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

    #[test]
    fn pings_both_successors_at_once_and_then_every_interval() {
        let start = Instant::now();
        let mut peer = peer(2, 4, 5, start);
        assert_eq!(peer.next_deadline(), start);

        let actions = peer.handle(Event::Tick, start);
        assert_eq!(printed(&actions), ["Ping requests sent to Peers 4 and 5"]);
        let sent: Vec<_> = actions
            .iter()
            .filter_map(|action| match action {
                Action::SendDatagram { to, message } => Some((*to, message.to_string())),
                _ => None,
            })
            .collect();
        assert_eq!(
            sent,
            [
                (Destination::Peer(PeerId(4)), "PING 2 4 first 0".to_string()),
                (
                    Destination::Peer(PeerId(5)),
                    "PING 2 5 second 0".to_string()
                ),
            ]
        );

        assert_eq!(peer.next_deadline(), start + INTERVAL);
        assert!(peer.handle(Event::Tick, start + INTERVAL / 2).is_empty());
        let actions = peer.handle(Event::Tick, start + INTERVAL);
        assert_eq!(printed(&actions), ["Ping requests sent to Peers 4 and 5"]);
        assert_eq!(peer.next_deadline(), start + INTERVAL * 2);
    }

    #[test]
    fn after_a_long_stall_the_rhythm_restarts_instead_of_bursting() {
        let start = Instant::now();
        let mut peer = peer(2, 4, 5, start);
        peer.handle(Event::Tick, start);
        let late = start + INTERVAL * 10;
        peer.handle(Event::Tick, late);
        assert_eq!(peer.next_deadline(), late + INTERVAL);
    }

    #[test]
    fn answers_a_ping_to_its_sender_and_learns_a_predecessor() {
        let now = Instant::now();
        let mut peer = peer(4, 5, 8, now);
        let actions = peer.handle(ping(2, 4, Ordinal::First, 7), now);
        assert_eq!(
            actions,
            [
                Action::Print(Line::PingRequestReceived { from: PeerId(2) }),
                Action::SendDatagram {
                    to: Destination::Address(address(12002)),
                    message: Message::Pong {
                        from: PeerId(4),
                        to: PeerId(2),
                        seq: 7
                    },
                },
            ]
        );
        assert_eq!(peer.predecessor(Ordinal::First, now), Some(PeerId(2)));
        assert_eq!(peer.predecessor(Ordinal::Second, now), None);

        peer.handle(ping(19, 4, Ordinal::Second, 3), now);
        assert_eq!(peer.predecessor(Ordinal::Second, now), Some(PeerId(19)));
    }

    #[test]
    fn predecessors_are_forgotten_when_they_stop_pinging() {
        let now = Instant::now();
        let mut peer = peer(4, 5, 8, now);
        peer.handle(ping(2, 4, Ordinal::First, 0), now);
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
        let mut peer = peer(5, 8, 9, now);
        peer.handle(ping(2, 5, Ordinal::Second, 0), now);
        peer.handle(ping(2, 5, Ordinal::First, 1), now);
        assert_eq!(peer.predecessor(Ordinal::First, now), Some(PeerId(2)));
        assert_eq!(peer.predecessor(Ordinal::Second, now), None);
    }

    #[test]
    fn answers_from_successors_are_printed_and_stale_ones_ignored() {
        let now = Instant::now();
        let mut peer = peer(2, 4, 5, now);
        peer.handle(Event::Tick, now);
        assert_eq!(
            printed(&peer.handle(pong(4, 2, 0), now)),
            ["Ping response received from Peer 4"]
        );
        assert_eq!(
            printed(&peer.handle(pong(5, 2, 0), now)),
            ["Ping response received from Peer 5"]
        );
        assert!(peer.handle(pong(9, 2, 0), now).is_empty());
    }

    #[test]
    fn messages_for_another_peer_are_reported_not_obeyed() {
        let now = Instant::now();
        let mut peer = peer(4, 5, 8, now);
        let actions = peer.handle(ping(2, 9, Ordinal::First, 0), now);
        assert!(matches!(actions.as_slice(), [Action::Warn(_)]));
        assert_eq!(peer.predecessor(Ordinal::First, now), None);
        let actions = peer.handle(pong(5, 9, 0), now);
        assert!(matches!(actions.as_slice(), [Action::Warn(_)]));
    }

    #[test]
    fn quit_exits_cleanly() {
        let now = Instant::now();
        let mut peer = peer(4, 5, 8, now);
        assert_eq!(
            peer.handle(Event::Typed(Command::Quit), now),
            [Action::Exit { code: 0 }]
        );
    }
}
