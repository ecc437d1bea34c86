//! The TCP side of a peer: the listener that serves requests (and holds the
//! watch connections of its predecessors open), and the client that sends
//! this peer's own requests.
//!
//! Every TCP exchange is one request line answered by one reply line, after
//! which the connection closes; the one exception is `WATCH`, whose
//! connection stays open for as long as both peers run (see `watch.rs`).
//! A request line that is too long or stalls, or a request the event loop
//! leaves unanswered for [`EXCHANGE_TIMEOUT`], gets no reply at all.
//! Every read and write has a timeout, so a peer that connects and then
//! says nothing (or a half-open connection) costs one worker for a few
//! seconds, never the peer's progress. Connections are served by a pool of
//! workers that grows as needed up to a fixed size and is then kept, so a
//! flood of connections never makes threads come and go.
//!
//! The number of open connections is bounded, and the bound cannot be used
//! to lock real requests out: when every place is taken, the connection
//! that has been idle longest (its worker looked, and found nothing sent)
//! is closed to make room. A flood of idle connections then only ever
//! evicts itself, while a real request, which sends its line as soon as it
//! connects, has it waiting when its worker looks, and is never idle.

use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use crate::inbox::{Inbox, Input};
use crate::message::{ErrorReason, MAX_LINE_LEN, ParseError, Reply, Request};
use crate::output::{Kind, report};
use crate::peer::NoAnswer;
use crate::ring::PeerId;

/// How long a connection attempt to another peer may take. On one host or a
/// LAN a live peer accepts in well under a millisecond.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// How long one side waits for the other's line (a request or its reply).
pub const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(2);

/// Incoming requests served at once. A peer answers each in microseconds,
/// so a few dozen places are plenty for a busy ring. Beyond this, an idle
/// connection is closed to make room.
pub const MAX_OPEN_REQUESTS: usize = 32;

/// The hard limit on connections with a request, idle or not: when none of
/// the first [`MAX_OPEN_REQUESTS`] is idle (no worker has even looked at
/// them yet, say, on a busy machine), a few more may wait; past this, a new
/// connection is closed at once.
pub const MAX_CONNECTIONS: usize = 64;

/// The most threads that serve connections: one for each request served at
/// once, and one for each watch held.
pub const MAX_WORKERS: usize = MAX_OPEN_REQUESTS + MAX_OPEN_WATCHES;

/// Watch connections held open at once. A peer has one watcher per
/// predecessor whose list holds it (at most 8), a few more while the ring
/// changes; watches have places of their own so that they can never use up
/// the requests'.
pub const MAX_OPEN_WATCHES: usize = 16;

/// The stack of a connection's thread. It parses and writes one short line;
/// a small stack keeps many open connections cheap.
pub const SMALL_STACK: usize = 256 * 1024;

/// What an open incoming connection is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// Accepted; no worker has looked for its request line yet.
    Accepted,
    /// Its worker looked and found no request line: it is idle, and may be
    /// closed to make room.
    Reading,
    /// Its request is with the event loop, waiting for the answer.
    Answering,
    /// A watch from this peer, held open.
    Watching(PeerId),
}

struct Open {
    id: u64,
    stage: Stage,
    since: Instant,
    /// A second handle on the connection, to close it from outside.
    stream: TcpStream,
}

/// The incoming connections open now, shared by the listener and the
/// connection threads.
#[derive(Default)]
struct Registry {
    open: Mutex<Vec<Open>>,
}

impl Registry {
    fn lock(&self) -> MutexGuard<'_, Vec<Open>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a new connection, first making room if every place for
    /// requests is taken. Returns `false` when no room can be made: no
    /// connection is idle (each is being answered, or no worker has looked
    /// at it yet, which is never held against it: a real request whose line
    /// is waiting must not be closed for a worker's delay).
    fn admit(&self, id: u64, stream: &TcpStream) -> bool {
        let Ok(handle) = stream.try_clone() else {
            return false;
        };
        let mut open = self.lock();
        let requests = open
            .iter()
            .filter(|o| !matches!(o.stage, Stage::Watching(_)))
            .count();
        let idle = open
            .iter()
            .enumerate()
            .filter(|(_, o)| o.stage == Stage::Reading)
            .min_by_key(|(_, o)| o.since)
            .map(|(index, _)| index);
        if requests >= MAX_CONNECTIONS && idle.is_none() {
            return false;
        }
        if requests >= MAX_OPEN_REQUESTS
            && let Some(index) = idle
        {
            let evicted = open.remove(index);
            let _ = evicted.stream.shutdown(Shutdown::Both);
            report!(
                Kind::BadConnection,
                "closed a TCP connection that had sent nothing for {:.1} s, to make room: \
                 {MAX_OPEN_REQUESTS} were open",
                evicted.since.elapsed().as_secs_f64()
            );
        }
        open.push(Open {
            id,
            stage: Stage::Accepted,
            since: Instant::now(),
            stream: handle,
        });
        true
    }

    /// Moves connection `id` to `stage`; returns `false` if it was closed
    /// meanwhile to make room.
    fn set_stage(&self, id: u64, stage: Stage) -> bool {
        let mut open = self.lock();
        let Some(entry) = open.iter_mut().find(|o| o.id == id) else {
            return false;
        };
        entry.stage = stage;
        entry.since = Instant::now();
        if let Stage::Watching(from) = stage {
            // A watcher that opens a new watch has given up its old one;
            // beyond the limit, the oldest watch makes room.
            let mut doomed: Vec<u64> = open
                .iter()
                .filter(|o| o.id != id && o.stage == Stage::Watching(from))
                .map(|o| o.id)
                .collect();
            let mut watches: Vec<(Instant, u64)> = open
                .iter()
                .filter(|o| matches!(o.stage, Stage::Watching(_)) && !doomed.contains(&o.id))
                .map(|o| (o.since, o.id))
                .collect();
            watches.sort();
            let excess = watches.len().saturating_sub(MAX_OPEN_WATCHES);
            doomed.extend(watches.iter().take(excess).map(|&(_, id)| id));
            for entry in open.iter().filter(|o| doomed.contains(&o.id)) {
                let _ = entry.stream.shutdown(Shutdown::Both);
            }
            open.retain(|o| !doomed.contains(&o.id));
        }
        true
    }

    fn is_open(&self, id: u64) -> bool {
        self.lock().iter().any(|o| o.id == id)
    }

    fn remove(&self, id: u64) {
        self.lock().retain(|o| o.id != id);
    }
}

/// Removes a connection from the registry when its worker is done with it, however it
/// ends.
struct Registered<'a> {
    registry: &'a Registry,
    id: u64,
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        self.registry.remove(self.id);
    }
}

/// The threads that serve connections: started as they are needed, up to
/// [`MAX_WORKERS`], and then kept, so that a flood of connections never
/// makes threads come and go (a thread that ends still counts for a while,
/// until the machine finds time to finish it). A connection waits in the
/// queue for the next free worker; how many wait is bounded by the
/// registry.
struct Workers {
    state: Mutex<WorkQueue>,
    work_arrived: Condvar,
}

#[derive(Default)]
struct WorkQueue {
    waiting: VecDeque<(u64, TcpStream)>,
    idle: usize,
    started: usize,
}

impl Workers {
    fn lock(&self) -> MutexGuard<'_, WorkQueue> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues a connection, and says whether a new worker should be
    /// started for it (none is free, and there is room for one more).
    fn hand(&self, id: u64, stream: TcpStream) -> bool {
        let mut queue = self.lock();
        queue.waiting.push_back((id, stream));
        let start = queue.idle == 0 && queue.started < MAX_WORKERS;
        if start {
            queue.started += 1;
        }
        drop(queue);
        self.work_arrived.notify_one();
        start
    }

    /// The next connection to serve, waiting for one.
    fn next(&self) -> (u64, TcpStream) {
        let mut queue = self.lock();
        loop {
            if let Some(work) = queue.waiting.pop_front() {
                return work;
            }
            queue.idle += 1;
            queue = self
                .work_arrived
                .wait(queue)
                .unwrap_or_else(|e| e.into_inner());
            queue.idle -= 1;
        }
    }

    /// A worker could not be started after all.
    fn not_started(&self) {
        let mut queue = self.lock();
        queue.started = queue.started.saturating_sub(1);
    }
}

/// Starts the thread that accepts connections on `listener`, and the
/// workers that serve them.
pub fn spawn_listener(listener: TcpListener, inbox: Inbox) -> io::Result<()> {
    let registry = Arc::new(Registry::default());
    let workers = Arc::new(Workers {
        state: Mutex::new(WorkQueue::default()),
        work_arrived: Condvar::new(),
    });
    thread::Builder::new()
        .name("tcp-listener".into())
        .spawn(move || {
            for (id, connection) in (0u64..).zip(listener.incoming()) {
                let stream = match connection {
                    Ok(stream) => stream,
                    Err(error) => {
                        report!(
                            Kind::BadConnection,
                            "could not accept a TCP connection: {error}"
                        );
                        continue;
                    }
                };
                if !registry.admit(id, &stream) {
                    report!(
                        Kind::Busy,
                        "closed a new TCP connection: {MAX_CONNECTIONS} are open and none is idle"
                    );
                    continue;
                }
                if workers.hand(id, stream) {
                    let (pool, known, inbox) =
                        (Arc::clone(&workers), Arc::clone(&registry), inbox.clone());
                    let started = thread::Builder::new()
                        .name("tcp-connection".into())
                        .stack_size(SMALL_STACK)
                        .spawn(move || serve_forever(&pool, &known, &inbox));
                    if let Err(error) = started {
                        workers.not_started();
                        report!(
                            Kind::Busy,
                            "could not start a thread for TCP connections: {error}"
                        );
                    }
                }
            }
        })?;
    Ok(())
}

/// A worker: serves one connection after another.
fn serve_forever(workers: &Workers, registry: &Registry, inbox: &Inbox) {
    loop {
        let (id, stream) = workers.next();
        serve_connection(stream, id, registry, inbox);
    }
}

/// Reads one request, hands it to the event loop and writes its reply; or
/// holds a watch open.
fn serve_connection(stream: TcpStream, id: u64, registry: &Registry, inbox: &Inbox) {
    let _registered = Registered { registry, id };
    let peer_address = stream
        .peer_addr()
        .map_or_else(|_| "an unknown address".to_string(), |a| a.to_string());
    if set_timeouts(&stream, Some(EXCHANGE_TIMEOUT)).is_err() {
        return;
    }
    let mut reader = match stream.try_clone() {
        Ok(clone) => BufReader::new(clone),
        Err(_) => return,
    };
    let mut writer = stream;
    // Only a connection that has sent nothing by the time its worker looks
    // counts as idle.
    if !has_waiting_bytes(&writer) && !registry.set_stage(id, Stage::Reading) {
        return;
    }
    if set_timeouts(&writer, Some(EXCHANGE_TIMEOUT)).is_err() {
        return;
    }
    let line = match read_line(&mut reader) {
        Ok(Some(line)) => line,
        // Connected and closed without a word (or closed by us to make
        // room, which was reported then): nothing to do.
        Ok(None) => return,
        Err(error) => {
            if registry.is_open(id) {
                report!(
                    Kind::BadConnection,
                    "gave up on a TCP connection from {peer_address}: {error}"
                );
            }
            return;
        }
    };
    let request = match Request::from_bytes(&line) {
        Ok(request) => request,
        Err(error) => {
            report!(
                Kind::BadConnection,
                "ignored a TCP request from {peer_address}: {error}"
            );
            let reason = match error {
                ParseError::WrongRole { .. } => ErrorReason::Unexpected,
                _ => ErrorReason::Malformed,
            };
            let _ = write_line(&mut writer, &Reply::Error { reason }.to_bytes());
            return;
        }
    };
    if let Request::Watch { from } = request {
        hold_watch(from, id, registry, reader, writer);
        return;
    }
    if !registry.set_stage(id, Stage::Answering) {
        return;
    }
    let (reply_slot, answer) = mpsc::channel();
    let handed = inbox.send(Input::Request {
        request,
        reply: reply_slot,
    });
    if !handed {
        return;
    }
    // The event loop answers at once, or, for a request whose answer takes
    // a moment (an offer: the receiver must get ready), a little later; a
    // request left unanswered this long is closed without a reply.
    if let Ok(reply) = answer.recv_timeout(EXCHANGE_TIMEOUT) {
        let _ = write_line(&mut writer, &reply.to_bytes());
    }
}

/// Whether bytes are waiting to be read on `stream` right now. A connection
/// that is closed counts as having something to read (its end), so that it
/// is not held as idle. The look does not wait: the socket is put in
/// non-blocking mode for the one peek (no other thread reads it).
fn has_waiting_bytes(stream: &TcpStream) -> bool {
    if stream.set_nonblocking(true).is_err() {
        return false;
    }
    let mut byte = [0u8; 1];
    let waiting = stream.peek(&mut byte).is_ok();
    let _ = stream.set_nonblocking(false);
    waiting
}

/// Holds a watch connection open until the watcher closes it or this
/// process ends; the closing is the whole message.
fn hold_watch(
    from: PeerId,
    id: u64,
    registry: &Registry,
    mut reader: BufReader<TcpStream>,
    mut writer: TcpStream,
) {
    if !registry.set_stage(id, Stage::Watching(from)) {
        return;
    }
    if write_line(&mut writer, &Reply::Ok.to_bytes()).is_ok() && set_timeouts(&writer, None).is_ok()
    {
        let _ = io::copy(&mut reader, &mut io::sink());
    }
}

/// Sends `request` to the peer at `address` and returns its reply, or why
/// there is none. Blocking: the event loop calls it from a thread of its
/// own.
pub fn request(address: SocketAddr, request: &Request) -> Result<Reply, NoAnswer> {
    request_within(address, request, EXCHANGE_TIMEOUT)
}

/// [`request`], waiting at most `timeout` for the connection and then for
/// the reply.
pub fn request_within(
    address: SocketAddr,
    request: &Request,
    timeout: Duration,
) -> Result<Reply, NoAnswer> {
    let stream =
        connect(address, CONNECT_TIMEOUT.min(timeout)).map_err(|error| match error.kind() {
            io::ErrorKind::ConnectionRefused => NoAnswer::Refused,
            _ => NoAnswer::Silent,
        })?;
    let silent = |_| NoAnswer::Silent;
    set_timeouts(&stream, Some(timeout)).map_err(silent)?;
    let mut writer = stream.try_clone().map_err(silent)?;
    write_line(&mut writer, &request.to_bytes()).map_err(silent)?;
    let line = read_line(&mut BufReader::new(stream))
        .map_err(silent)?
        .ok_or(NoAnswer::Silent)?;
    Reply::from_bytes(&line).map_err(|_| NoAnswer::Silent)
}

/// Opens a connection to `address`, and calls a connection to itself a
/// refusal.
///
/// When nothing listens on a local port that lies in the range the system
/// picks outgoing ports from, the system may pick that very port for the
/// connection, which then reaches itself (a TCP "simultaneous open") and
/// reads back what it writes. The port is closed all the same, so that is
/// what the caller is told.
pub(crate) fn connect(address: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&address, timeout)?;
    if stream.local_addr()? == stream.peer_addr()? {
        return Err(io::Error::new(
            io::ErrorKind::ConnectionRefused,
            "the connection reached itself: nothing listens on the port",
        ));
    }
    Ok(stream)
}

pub(crate) fn set_timeouts(stream: &TcpStream, timeout: Option<Duration>) -> io::Result<()> {
    stream.set_read_timeout(timeout)?;
    stream.set_write_timeout(timeout)
}

/// Reads one line of at most `MAX_LINE_LEN` bytes, newline included.
/// `Ok(None)` means the other side closed before sending anything; a line
/// that is too long, or cut off by the close, is an error.
pub(crate) fn read_line(reader: &mut impl BufRead) -> io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    reader
        .take(MAX_LINE_LEN as u64)
        .read_until(b'\n', &mut line)?;
    if line.is_empty() {
        return Ok(None);
    }
    if line.last() != Some(&b'\n') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "the line is too long or was cut off",
        ));
    }
    Ok(Some(line))
}

pub(crate) fn write_line(writer: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    writer.write_all(bytes)?;
    writer.flush()
}
