//! This peer's outgoing requests: each runs on a thread of its own, so that a
//! slow or dead peer at the other end never holds up the event loop, and
//! how many run at once is bounded.
//!
//! The bound is per destination as well as in all: a peer that never
//! answers (or a flood of requests that all go to it) can tie up a few
//! threads for a few seconds each, and no more; requests to every other
//! peer go on as usual. Requests beyond a destination's share wait in its
//! own short queue, and beyond that are refused at once, which the state
//! machine hears as "no answer".

use std::collections::{HashMap, VecDeque};
use std::thread;

use crate::inbox::{Inbox, Input};
use crate::message::Request;
use crate::node::peer_address;
use crate::peer::Token;
use crate::ring::PeerId;
use crate::tcp::{self, SMALL_STACK};

/// Requests under way at once, to all peers together.
pub const MAX_IN_FLIGHT: usize = 32;

/// Requests under way at once to one peer.
pub const MAX_IN_FLIGHT_PER_PEER: usize = 4;

/// Requests waiting for their turn, per peer.
pub const MAX_QUEUED_PER_PEER: usize = 16;

/// The outgoing requests of one peer; see the module documentation.
pub struct Requests {
    base_port: u16,
    inbox: Inbox,
    per_peer: HashMap<PeerId, Destination>,
    in_flight: usize,
}

#[derive(Default)]
struct Destination {
    in_flight: usize,
    queued: VecDeque<(Request, Token)>,
}

impl Requests {
    pub fn new(base_port: u16, inbox: Inbox) -> Requests {
        Requests {
            base_port,
            inbox,
            per_peer: HashMap::new(),
            in_flight: 0,
        }
    }

    /// Sends `request` to `to` now, or as soon as there is room. Returns the
    /// tokens of requests that failed at once (no room in the queue, or no
    /// thread to run them); the caller reports them as unanswered.
    pub fn send(&mut self, to: PeerId, request: Request, token: Token) -> Vec<Token> {
        let destination = self.per_peer.entry(to).or_default();
        if destination.queued.len() >= MAX_QUEUED_PER_PEER {
            return vec![token];
        }
        destination.queued.push_back((request, token));
        self.start_waiting()
    }

    /// A request to `to` has ended; others may start. Returns the tokens of
    /// requests that failed at once.
    pub fn finished(&mut self, to: PeerId) -> Vec<Token> {
        if let Some(destination) = self.per_peer.get_mut(&to) {
            destination.in_flight = destination.in_flight.saturating_sub(1);
            self.in_flight = self.in_flight.saturating_sub(1);
            if destination.in_flight == 0 && destination.queued.is_empty() {
                self.per_peer.remove(&to);
            }
        }
        self.start_waiting()
    }

    /// Starts as many waiting requests as the limits allow.
    fn start_waiting(&mut self) -> Vec<Token> {
        let mut failed = Vec::new();
        let mut progress = true;
        while progress && self.in_flight < MAX_IN_FLIGHT {
            progress = false;
            for (&to, destination) in &mut self.per_peer {
                if self.in_flight >= MAX_IN_FLIGHT {
                    break;
                }
                if destination.in_flight >= MAX_IN_FLIGHT_PER_PEER {
                    continue;
                }
                let Some((request, token)) = destination.queued.pop_front() else {
                    continue;
                };
                progress = true;
                if start(to, request, token, self.base_port, self.inbox.clone()) {
                    destination.in_flight += 1;
                    self.in_flight += 1;
                } else {
                    failed.push(token);
                }
            }
        }
        self.per_peer
            .retain(|_, d| d.in_flight > 0 || !d.queued.is_empty());
        failed
    }
}

/// Runs one request on a thread of its own; the answer, or its absence,
/// comes back through the inbox. Returns `false` if no thread could start.
fn start(to: PeerId, request: Request, token: Token, base_port: u16, inbox: Inbox) -> bool {
    let address = peer_address(to, base_port);
    thread::Builder::new()
        .name("tcp-request".into())
        .stack_size(SMALL_STACK)
        .spawn(move || {
            let reply = tcp::request(address, &request);
            inbox.send(Input::Answered { to, token, reply });
        })
        .is_ok()
}
