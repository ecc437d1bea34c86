//! The event loop's inbox: what the threads at the edges of a peer (the UDP
//! reader, the TCP connections, the standard input reader, the watches, the
//! requests and the transfers) hand to the one thread that owns the state.
//!
//! This is a leaf: the edges depend on it, and it depends on no edge and
//! not on the event loop, so a reader can follow each edge on its own.
//!
//! The inbox is bounded. A thread that finds it full waits, which is the
//! right pressure: the UDP reader then leaves datagrams to the kernel, which
//! drops the excess, and a flood cannot make the queue grow without end.

use std::sync::mpsc::{self, Receiver, SyncSender};

use crate::message::{Reply, Request};
use crate::peer::{Event, NoAnswer, Token};
use crate::ring::PeerId;

/// The most inputs waiting for the event loop at once.
pub const INBOX_CAPACITY: usize = 1024;

/// Where the answer to an incoming request goes: the thread that holds its
/// connection waits on the other end.
pub type ReplySlot = mpsc::Sender<Reply>;

/// What the other threads send to the event loop.
pub enum Input {
    /// Something for the state machine, as it is.
    Event(Event),
    /// A request arrived on a connection; its answer goes into `reply`.
    Request { request: Request, reply: ReplySlot },
    /// A request this peer sent to `to` is over: answered, or not.
    Answered {
        to: PeerId,
        token: Token,
        reply: Result<Reply, NoAnswer>,
    },
}

/// The sending end of the inbox, one clone per thread.
#[derive(Clone)]
pub struct Inbox {
    sender: SyncSender<Input>,
}

impl Inbox {
    /// A new inbox and the receiving end that the event loop reads.
    pub fn new(capacity: usize) -> (Inbox, Receiver<Input>) {
        let (sender, receiver) = mpsc::sync_channel(capacity);
        (Inbox { sender }, receiver)
    }

    /// Hands `input` to the event loop, waiting while the inbox is full.
    /// Returns `false` when the event loop has gone (the peer is exiting):
    /// the calling thread should then end.
    pub fn send(&self, input: Input) -> bool {
        self.sender.send(input).is_ok()
    }

    /// Hands an event to the event loop; see [`Inbox::send`].
    pub fn event(&self, event: Event) -> bool {
        self.send(Input::Event(event))
    }
}
