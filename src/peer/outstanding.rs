//! The requests this peer has sent and not yet heard back about.
//!
//! Each request gets a [`Token`]. The answer comes back in a later event,
//! [`Event::Replied`](super::Event::Replied), with the same token, and the
//! table says what the request was for. So an answer is matched by what it
//! answers, never by comparing messages, and an answer that comes after the
//! peer has moved on (a stale refill, a late acknowledgement) finds its
//! token gone and is ignored. Every entry expires, so that a lost answer
//! cannot keep memory for ever, and the table has a size limit.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::{Action, Token};
use crate::message::Request;
use crate::ring::PeerId;

/// How long an answer is waited for at most. The event loop reports every
/// request within a few seconds (a connection attempt, then a line), even
/// when it has to queue it; this is only a backstop.
pub const REQUEST_EXPIRY: Duration = Duration::from_secs(30);

/// The most requests waiting for an answer at once. A peer sends a handful;
/// only a flood of remote input could ask for more, and it is refused.
pub const MAX_OUTSTANDING: usize = 512;

/// What an answer is awaited for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Awaiting {
    /// A `QUERY` to refill the successor list.
    Refill,
    /// This peer's own `JOIN`.
    Join,
    /// A `WELCOME`: the newcomer is taken once it acknowledges.
    Welcome,
    /// A `CHANGE` to a predecessor; see `Peer::list_for`.
    Change,
    /// A `QUERY` to a peer named by a `LEAVE`, to check that it is leaving.
    LeaveCheck,
    /// A `LEAVE`: any answer, or none, counts as acknowledged.
    Leave,
    /// Anything else: only a failure is worth a word.
    Delivery,
}

/// A request sent, as the table remembers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    pub to: PeerId,
    pub request: Request,
    pub awaiting: Awaiting,
}

/// The table of requests in flight; see the module documentation.
#[derive(Clone, Debug, Default)]
pub struct Outstanding {
    next_token: u64,
    waiting: BTreeMap<Token, (Sent, Instant)>,
}

impl Outstanding {
    /// Sends `request` to `to`, remembering what for. Returns `false`, and
    /// sends nothing, when the table is full.
    pub fn send(
        &mut self,
        to: PeerId,
        request: Request,
        awaiting: Awaiting,
        now: Instant,
        out: &mut Vec<Action>,
    ) -> bool {
        if self.waiting.len() >= MAX_OUTSTANDING {
            return false;
        }
        let token = Token(self.next_token);
        self.next_token += 1;
        out.push(Action::Send {
            to,
            request: request.clone(),
            token,
        });
        let sent = Sent {
            to,
            request,
            awaiting,
        };
        self.waiting.insert(token, (sent, now + REQUEST_EXPIRY));
        true
    }

    /// The request `token` answers, which is no longer waiting.
    pub fn take(&mut self, token: Token) -> Option<Sent> {
        self.waiting.remove(&token).map(|(sent, _)| sent)
    }

    /// The next request to give up on, and when.
    pub fn next_expiry(&self) -> Option<(Instant, Token)> {
        self.waiting
            .iter()
            .map(|(&token, &(_, expires_at))| (expires_at, token))
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_matched_by_token_and_every_entry_expires() {
        let now = Instant::now();
        let mut table = Outstanding::default();
        let mut out = Vec::new();
        let query = Request::Query { from: PeerId(9) };
        assert!(table.send(PeerId(19), query.clone(), Awaiting::Refill, now, &mut out));
        let Some(Action::Send { token, .. }) = out.first().cloned() else {
            panic!("a request was sent: {out:?}");
        };
        assert_eq!(table.next_expiry(), Some((now + REQUEST_EXPIRY, token)));
        let sent = table.take(token).expect("waiting");
        assert_eq!((sent.to, sent.awaiting), (PeerId(19), Awaiting::Refill));
        // A second answer with the same token is stale.
        assert_eq!(table.take(token), None);
        assert_eq!(table.next_expiry(), None);
    }

    #[test]
    fn the_table_has_a_limit() {
        let now = Instant::now();
        let mut table = Outstanding::default();
        let mut out = Vec::new();
        let query = Request::Query { from: PeerId(9) };
        for _ in 0..MAX_OUTSTANDING {
            assert!(table.send(PeerId(19), query.clone(), Awaiting::Delivery, now, &mut out));
        }
        assert!(!table.send(PeerId(19), query, Awaiting::Delivery, now, &mut out));
        assert_eq!(out.len(), MAX_OUTSTANDING);
    }
}
