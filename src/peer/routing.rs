//! Files: routing a store or a request to the peer responsible for it, and
//! the offers and fetches that move the file itself.
//!
//! The hash of file `NNNN` is `NNNN mod 256`, a position on the ring; the
//! peer responsible for it is the first peer at or after that position. A
//! `STORE` or `REQUEST` travels from successor to successor until it
//! reaches that peer. The file then moves directly between the two peers
//! concerned, never round the ring: the owner fetches a stored file from the
//! peer where `Store` was typed, and sends a requested one straight to the
//! requester.
//!
//! Nobody can push a file into a peer's directory: an offer is taken only if
//! this peer expects it (it asked for the file, or accepted to store it),
//! and a fetch only for a file whose `Store` was typed here. Those
//! *expectations* are bounded in number and expire.

use std::time::{Duration, Instant};

use super::Held;
use super::outstanding::Awaiting;
use super::{Action, ConnectionId, Direction, Peer, Phase, Transferred, reply, unexpected, warn};
use crate::message::{Purpose, Reply, Request, Target};
use crate::output::{Kind, Line};
use crate::ring::{FileName, PeerId, is_in_arc};

/// A join, store or request message that has passed this many peers has
/// gone round the whole ring (which holds at most 256 peers) without
/// finding its place; it is dropped rather than passed on for ever.
pub const MAX_HOPS: u32 = 256;

/// How long an expected offer or fetch is waited for. A store or request
/// crosses a ring of hundreds of peers in well under a second; a minute is
/// a generous bound that still frees what a lost message leaves behind.
pub const EXPECTATION_LIFETIME: Duration = Duration::from_secs(60);

/// The most expectations of one kind kept at once: offers of stored files
/// (which remote requests create), offers of requested files, and fetches
/// of typed stores. Beyond it the oldest is forgotten.
pub const MAX_EXPECTATIONS: usize = 32;

/// What the state machine may ask about the files in the peer's directory.
/// The `node` module answers from the real directory; tests answer from a
/// list.
pub trait Files: std::fmt::Debug + Send {
    /// Whether the directory holds `NNNN.pdf`, or (for a peer that looks
    /// after the ring's files) `replica_NNNN.pdf`.
    fn has(&self, file: FileName) -> bool;

    /// Every file of the ring the directory holds, as `NNNN.pdf` or as
    /// `replica_NNNN.pdf`; a file held under both names is listed twice.
    fn held(&self) -> Vec<(FileName, Held)>;
}

/// A directory with no files in it.
#[derive(Debug)]
pub struct NoFiles;

impl Files for NoFiles {
    fn has(&self, _: FileName) -> bool {
        false
    }

    fn held(&self) -> Vec<(FileName, Held)> {
        Vec::new()
    }
}

/// What this peer waits for another to do with a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Expected {
    /// An `OFFER` of `file`, sent for this purpose.
    Offer(FileName, Purpose),
    /// A `FETCH` of `file`, whose `Store` was typed here.
    Fetch(FileName),
}

impl Expected {
    /// The expectations that share a limit.
    fn group(self) -> u8 {
        match self {
            Expected::Offer(_, Purpose::Store) => 0,
            Expected::Offer(_, Purpose::Request) => 1,
            Expected::Fetch(_) => 2,
            // Placement offers are never expected: they are judged by who
            // sends them (see `placement`).
            Expected::Offer(_, Purpose::Handover | Purpose::Replica) => 3,
        }
    }
}

/// The expectations of one peer, each with its expiry.
#[derive(Clone, Debug, Default)]
pub struct Expectations {
    waiting: Vec<(Expected, Instant)>,
}

impl Expectations {
    /// Starts waiting for `what`. Returns `false` when the oldest of its
    /// kind had to be forgotten to make room.
    fn expect(&mut self, what: Expected, now: Instant) -> bool {
        let same_group = self
            .waiting
            .iter()
            .filter(|(w, _)| w.group() == what.group())
            .count();
        let mut room = true;
        if same_group >= MAX_EXPECTATIONS
            && let Some(oldest) = self
                .waiting
                .iter()
                .position(|(w, _)| w.group() == what.group())
        {
            self.waiting.remove(oldest);
            room = false;
        }
        self.waiting.push((what, now + EXPECTATION_LIFETIME));
        room
    }

    /// Stops waiting for one `what`; returns whether it was awaited.
    fn take(&mut self, what: Expected, now: Instant) -> bool {
        let found = self
            .waiting
            .iter()
            .position(|&(w, until)| w == what && until > now);
        found.map(|at| self.waiting.remove(at)).is_some()
    }

    pub fn next_expiry(&self) -> Option<Instant> {
        self.waiting.iter().map(|&(_, until)| until).min()
    }

    /// Forgets what has expired, and returns it.
    fn expire(&mut self, now: Instant) -> Vec<Expected> {
        let (gone, kept) = self.waiting.iter().partition(|&&(_, until)| until <= now);
        self.waiting = kept;
        gone.into_iter().map(|(what, _)| what).collect()
    }
}

/// Where a store or request goes next; see [`Peer::route`].
enum Route {
    Here,
    Onward { to: PeerId, target: Target },
    Nowhere,
}

impl Peer {
    /// Where a store or request for `file` goes from here.
    ///
    /// This peer is responsible when the sender said so (`Target::Owner`),
    /// or when the file's hash lies between its first predecessor and
    /// itself. Before any predecessor has pinged, a peer cannot tell, and
    /// passes the message on; it comes back round marked `Owner` by the
    /// peer before it, at worst after one turn of the ring.
    fn route(&self, file: FileName, target: Target, hops: u32, now: Instant) -> Route {
        let me = self.id();
        let hash = file.hash();
        let owned = self
            .predecessors
            .first(now)
            .is_some_and(|predecessor| is_in_arc(predecessor.0, hash, me.0));
        if target == Target::Owner || owned {
            return Route::Here;
        }
        let first = match self.phase {
            Phase::Member => self.successors.first(),
            Phase::Joining(_) | Phase::Done => None,
        };
        let Some(first) = first.filter(|_| hops < MAX_HOPS) else {
            return Route::Nowhere;
        };
        let target = if is_in_arc(me.0, hash, first.0) {
            Target::Owner
        } else {
            Target::Search
        };
        Route::Onward { to: first, target }
    }

    pub(super) fn store_typed(&mut self, file: FileName, now: Instant, out: &mut Vec<Action>) {
        if !self.files.has(file) {
            warn(
                out,
                Kind::Typing,
                format!(
                    "cannot store file {file}: there is no {file}.pdf in this peer's \
                     directory (--dir)"
                ),
            );
            return;
        }
        self.expect(Expected::Fetch(file), now, out);
        let me = self.id();
        self.on_store(file, me, 0, Target::Search, now, out);
    }

    pub(super) fn on_store(
        &mut self,
        file: FileName,
        origin: PeerId,
        hops: u32,
        target: Target,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let me = self.id();
        match self.route(file, target, hops, now) {
            Route::Here => {
                out.push(Action::Print(Line::StoreAccepted { file }));
                if origin == me {
                    // Typed here, and this peer is responsible: the file is
                    // where it belongs already.
                    self.expected.take(Expected::Fetch(file), now);
                    self.note_ring_file(file);
                } else {
                    self.expect(Expected::Offer(file, Purpose::Store), now, out);
                    let fetch = Request::Fetch { file, from: me };
                    self.send(origin, fetch, now, out);
                }
            }
            Route::Onward { to, target } => {
                out.push(Action::Print(Line::StoreForwarded { file }));
                let store = Request::Store {
                    file,
                    origin,
                    hops: hops + 1,
                    target,
                };
                self.send(to, store, now, out);
            }
            Route::Nowhere => warn(
                out,
                Kind::Delivery,
                format!(
                    "dropped Store {file} from peer {origin}: it found no responsible peer \
                     (this peer is not in the ring, or the ring is changing)"
                ),
            ),
        }
    }

    pub(super) fn request_typed(&mut self, file: FileName, now: Instant, out: &mut Vec<Action>) {
        match self.route(file, Target::Search, 0, now) {
            Route::Here => self.answer_own_request(file, now, out),
            Route::Onward { to, target } => {
                self.expect(Expected::Offer(file, Purpose::Request), now, out);
                out.push(Action::Print(Line::FileRequestSent { file }));
                let request = Request::FileRequest {
                    file,
                    origin: self.id(),
                    hops: 1,
                    target,
                };
                self.send(to, request, now, out);
            }
            Route::Nowhere => warn(
                out,
                Kind::Typing,
                format!("cannot request file {file}: this peer is not in the ring"),
            ),
        }
    }

    /// The requester is itself responsible for the file: it says whether it
    /// holds it, and nothing needs to move.
    fn answer_own_request(&mut self, file: FileName, now: Instant, out: &mut Vec<Action>) {
        self.expected
            .take(Expected::Offer(file, Purpose::Request), now);
        if self.files.has(file) {
            out.push(Action::Print(Line::FileStoredHere { file }));
        } else {
            out.push(Action::Print(Line::FileNotFound {
                file,
                peer: self.id(),
            }));
        }
    }

    pub(super) fn on_file_request(
        &mut self,
        file: FileName,
        origin: PeerId,
        hops: u32,
        target: Target,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let me = self.id();
        match self.route(file, target, hops, now) {
            Route::Here if origin == me => self.answer_own_request(file, now, out),
            Route::Here if self.files.has(file) => {
                out.push(Action::Print(Line::FileStoredHere { file }));
                out.push(Action::Print(Line::SendingFile { file, to: origin }));
                out.push(Action::SendFile {
                    to: origin,
                    file,
                    purpose: Purpose::Request,
                });
            }
            Route::Here => {
                out.push(Action::Print(Line::FileNotStoredHere { file }));
                self.send(origin, Request::NotFound { file, from: me }, now, out);
            }
            Route::Onward { to, target } => {
                out.push(Action::Print(Line::FileNotStoredHere { file }));
                out.push(Action::Print(Line::RequestForwarded));
                let request = Request::FileRequest {
                    file,
                    origin,
                    hops: hops + 1,
                    target,
                };
                self.send(to, request, now, out);
            }
            Route::Nowhere => {
                warn(
                    out,
                    Kind::Delivery,
                    format!(
                        "gave up Request {file} from peer {origin}: it found no responsible peer"
                    ),
                );
                self.send(origin, Request::NotFound { file, from: me }, now, out);
            }
        }
    }

    /// `FETCH`: the owner of a file typed with `Store` here asks for it.
    pub(super) fn on_fetch(
        &mut self,
        file: FileName,
        from: PeerId,
        connection: ConnectionId,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        if !self.expected.take(Expected::Fetch(file), now) {
            warn(
                out,
                Kind::Unexpected,
                format!(
                    "refused to send file {file} to peer {from}: no Store {file} was typed here"
                ),
            );
            reply(out, connection, unexpected());
            return;
        }
        reply(out, connection, Reply::Ok);
        out.push(Action::SendFile {
            to: from,
            file,
            purpose: Purpose::Store,
        });
    }

    /// `OFFER`: someone is about to send us a file; take it if we asked for
    /// it. The reply (`READY`, or why not) comes from the receiving side
    /// once it is ready.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn on_offer(
        &mut self,
        file: FileName,
        from: PeerId,
        size: u64,
        purpose: Purpose,
        connection: ConnectionId,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        if matches!(purpose, Purpose::Handover | Purpose::Replica) {
            self.on_placement_offer(file, from, size, purpose, connection, now, out);
            return;
        }
        if !self.expected.take(Expected::Offer(file, purpose), now) {
            warn(
                out,
                Kind::Unexpected,
                format!("refused file {file} offered by peer {from}: this peer did not ask for it"),
            );
            reply(out, connection, unexpected());
            return;
        }
        if purpose == Purpose::Request {
            out.push(Action::Print(Line::PeerHadFile { peer: from, file }));
            out.push(Action::Print(Line::ReceivingFile { file, from }));
        }
        out.push(Action::ReceiveFile {
            from,
            file,
            size,
            purpose,
            connection,
        });
    }

    pub(super) fn on_not_found(
        &mut self,
        file: FileName,
        from: PeerId,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        if self
            .expected
            .take(Expected::Offer(file, Purpose::Request), now)
        {
            out.push(Action::Print(Line::FileNotFound { file, peer: from }));
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn on_transfer_finished(
        &mut self,
        file: FileName,
        peer: PeerId,
        direction: Direction,
        purpose: Purpose,
        outcome: Result<Transferred, String>,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        if matches!(purpose, Purpose::Handover | Purpose::Replica) {
            self.placement_finished(file, peer, direction, purpose, outcome, now, out);
            return;
        }
        match (outcome, direction, purpose) {
            (Ok(_), Direction::Sent, Purpose::Request) => out.push(Action::Print(Line::FileSent)),
            (Ok(_), Direction::Received, Purpose::Request) => {
                out.push(Action::Print(Line::FileReceived { file }))
            }
            // A stored file moves silently: the reference prints nothing
            // for it beyond "accepted".
            (Ok(_), Direction::Received, Purpose::Store) => self.note_ring_file(file),
            (Ok(_), _, _) => {}
            (Err(reason), Direction::Sent, _) => warn(
                out,
                Kind::Transfer,
                format!("sending file {file} to peer {peer} failed: {reason}"),
            ),
            (Err(reason), Direction::Received, _) => warn(
                out,
                Kind::Transfer,
                format!("receiving file {file} from peer {peer} failed: {reason}"),
            ),
        }
    }

    /// Forgets the expectations that have waited too long. A request typed
    /// here that nobody answered is worth a word to the user.
    pub(super) fn expire_expectations(&mut self, now: Instant, out: &mut Vec<Action>) {
        for expired in self.expected.expire(now) {
            if let Expected::Offer(file, Purpose::Request) = expired {
                warn(
                    out,
                    Kind::Note,
                    format!(
                        "no answer came to Request {file} within {} s; the ring may have lost \
                         it: type it again",
                        EXPECTATION_LIFETIME.as_secs()
                    ),
                );
            }
        }
    }

    fn expect(&mut self, what: Expected, now: Instant, out: &mut Vec<Action>) {
        if !self.expected.expect(what, now) {
            warn(
                out,
                Kind::Busy,
                format!(
                    "forgot the oldest of {MAX_EXPECTATIONS} files awaited, to make room for \
                     another"
                ),
            );
        }
    }

    /// Sends a request whose answer only matters if it fails.
    fn send(&mut self, to: PeerId, request: Request, now: Instant, out: &mut Vec<Action>) {
        if !self
            .outstanding
            .send(to, request.clone(), Awaiting::Delivery, now, out)
        {
            warn(
                out,
                Kind::Busy,
                format!("did not send {request} to peer {to}: too many requests are under way"),
            );
        }
    }
}
