//! The TCP side of a peer: the listener that serves requests, the client
//! that sends them, and the watch connections that reveal a dead successor.
//!
//! Every TCP exchange is one request line answered by one reply line, after
//! which the connection closes; the one exception is `WATCH`, whose
//! connection stays open for as long as both peers run. Every read and write
//! has a timeout, so a peer that connects and then says nothing (or a
//! half-open connection) costs one thread for a few seconds, never the
//! peer's progress.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use crate::message::{ErrorReason, MAX_LINE_LEN, Message};
use crate::node::Input;
use crate::output::diagnose;
use crate::peer::Event;
use crate::ring::PeerId;

/// How long a connection attempt to another peer may take. On one host or a
/// LAN a live peer accepts in well under a millisecond.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// How long one side waits for the other's line (a request or its reply).
pub const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(2);

/// Incoming requests served at once; more are closed at once, so that a
/// flood of idle connections cannot exhaust the peer's threads.
const MAX_OPEN_REQUESTS: usize = 64;

/// Watch connections held open at once. A peer has two watchers (its two
/// predecessors), a few more while the ring changes; they get a limit of
/// their own so that long-lived watches can never use up the requests'.
const MAX_OPEN_WATCHES: usize = 16;

/// How many connections of each kind are open, to enforce the limits.
#[derive(Default)]
struct OpenConnections {
    requests: AtomicUsize,
    watches: AtomicUsize,
}

/// Takes one place of a counted kind if one is free; the place is given
/// back when the returned guard is dropped.
fn take_place(counter: &AtomicUsize, limit: usize) -> Option<Place<'_>> {
    if counter.fetch_add(1, Ordering::SeqCst) >= limit {
        counter.fetch_sub(1, Ordering::SeqCst);
        return None;
    }
    Some(Place(counter))
}

struct Place<'a>(&'a AtomicUsize);

impl Drop for Place<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Starts the thread that accepts connections on `listener` and serves each
/// one on a thread of its own.
pub fn spawn_listener(listener: TcpListener, inputs: Sender<Input>) -> io::Result<()> {
    let open = Arc::new(OpenConnections::default());
    thread::Builder::new()
        .name("tcp-listener".into())
        .spawn(move || {
            for connection in listener.incoming() {
                let stream = match connection {
                    Ok(stream) => stream,
                    Err(error) => {
                        diagnose!("could not accept a TCP connection: {error}");
                        continue;
                    }
                };
                if open.requests.load(Ordering::SeqCst) >= MAX_OPEN_REQUESTS {
                    diagnose!("closed a TCP connection: {MAX_OPEN_REQUESTS} are open already");
                    continue;
                }
                let inputs = inputs.clone();
                let open = Arc::clone(&open);
                let spawned = thread::Builder::new()
                    .name("tcp-connection".into())
                    .spawn(move || serve_connection(stream, &inputs, &open));
                if let Err(error) = spawned {
                    diagnose!("could not start a thread for a TCP connection: {error}");
                }
            }
        })?;
    Ok(())
}

/// Reads one request, hands it to the event loop and writes its reply.
fn serve_connection(stream: TcpStream, inputs: &Sender<Input>, open: &OpenConnections) {
    let Some(request_place) = take_place(&open.requests, MAX_OPEN_REQUESTS) else {
        return;
    };
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
    let message = match read_line(&mut reader) {
        Ok(Some(line)) => match Message::from_bytes(&line) {
            Ok(message) => message,
            Err(error) => {
                diagnose!("ignored a TCP request from {peer_address}: {error}");
                let _ = write_message(
                    &mut writer,
                    &Message::Error {
                        reason: ErrorReason::Malformed,
                    },
                );
                return;
            }
        },
        Ok(None) => return, // Connected and closed without a word: nothing to do.
        Err(error) => {
            diagnose!("gave up on a TCP connection from {peer_address}: {error}");
            return;
        }
    };
    if let Message::Watch { from } = message {
        // A watch moves from the requests' places to the watches' own.
        drop(request_place);
        let Some(_watch_place) = take_place(&open.watches, MAX_OPEN_WATCHES) else {
            diagnose!("refused a watch from peer {from}: {MAX_OPEN_WATCHES} are open already");
            return;
        };
        // Hold the connection open until the watcher closes it or this
        // process ends; the closing is the whole message.
        if write_message(&mut writer, &Message::Ok).is_ok() && set_timeouts(&writer, None).is_ok() {
            let _ = io::copy(&mut reader, &mut io::sink());
        }
        return;
    }
    let (reply_sender, reply) = mpsc::channel();
    if inputs
        .send(Input::Request {
            message,
            reply: reply_sender,
        })
        .is_err()
    {
        return;
    }
    // The event loop answers at once; the timeout only guards against a bug
    // leaving this thread waiting for ever.
    if let Ok(answer) = reply.recv_timeout(EXCHANGE_TIMEOUT) {
        let _ = write_message(&mut writer, &answer);
    }
}

/// Sends `message` to the peer at `address` and returns its reply, or
/// `None` when the peer cannot be reached or does not answer in time.
/// Blocking: the event loop calls it from a thread of its own.
pub fn request(address: SocketAddr, message: &Message) -> Option<Message> {
    let stream = TcpStream::connect_timeout(&address, CONNECT_TIMEOUT).ok()?;
    set_timeouts(&stream, Some(EXCHANGE_TIMEOUT)).ok()?;
    let mut writer = stream.try_clone().ok()?;
    write_message(&mut writer, message).ok()?;
    let line = read_line(&mut BufReader::new(stream)).ok()??;
    Message::from_bytes(&line).ok()
}

/// A watch connection to a successor, kept open so that the successor's
/// death is noticed the moment its process ends.
pub struct Watch {
    shared: Arc<WatchShared>,
}

struct WatchShared {
    /// Set when this peer no longer cares (the successor changed), so that
    /// the closing it causes is not reported as a failure.
    stopped: AtomicBool,
    /// Set when the connection could not be made, or has closed: the
    /// caller may open a new one.
    ended: AtomicBool,
    stream: Mutex<Option<TcpStream>>,
}

impl Watch {
    /// Opens a watch connection to `peer` on a thread of its own. When the
    /// connection closes, or cannot be opened, `Event::LinkLost` goes to the
    /// event loop.
    pub fn start(me: PeerId, peer: PeerId, address: SocketAddr, inputs: Sender<Input>) -> Watch {
        let shared = Arc::new(WatchShared {
            stopped: AtomicBool::new(false),
            ended: AtomicBool::new(false),
            stream: Mutex::new(None),
        });
        let thread_shared = Arc::clone(&shared);
        let spawned = thread::Builder::new()
            .name(format!("watch-{peer}"))
            .spawn(move || {
                let shared = thread_shared;
                // Nothing is ever sent on a watch connection: this read
                // returns only when the connection closes.
                if let Some(mut reader) = open_watch(me, address, &shared) {
                    let _ = io::copy(&mut reader, &mut io::sink());
                }
                shared.ended.store(true, Ordering::SeqCst);
                // A watch that closes, or cannot even be opened, is reported
                // either way: a successor that died just after answering its
                // first ping refuses the connection rather than closing it.
                // The state machine probes only a successor that has
                // answered, so a peer that has not started yet is not
                // suspected.
                if !shared.stopped.load(Ordering::SeqCst) {
                    let _ = inputs.send(Input::Event(Event::LinkLost { peer }));
                }
            });
        if spawned.is_err() {
            shared.ended.store(true, Ordering::SeqCst);
        }
        Watch { shared }
    }

    /// True when the connection could not be made, or has closed.
    pub fn has_ended(&self) -> bool {
        self.shared.ended.load(Ordering::SeqCst)
    }

    /// Closes the connection without reporting a failure.
    pub fn stop(self) {
        self.shared.stopped.store(true, Ordering::SeqCst);
        if let Ok(mut stream) = self.shared.stream.lock()
            && let Some(stream) = stream.take()
        {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }
}

/// Connects, asks to watch and waits for the `OK`; returns the reading end.
fn open_watch(
    me: PeerId,
    address: SocketAddr,
    shared: &WatchShared,
) -> Option<BufReader<TcpStream>> {
    let stream = TcpStream::connect_timeout(&address, CONNECT_TIMEOUT).ok()?;
    set_timeouts(&stream, Some(EXCHANGE_TIMEOUT)).ok()?;
    let mut writer = stream.try_clone().ok()?;
    write_message(&mut writer, &Message::Watch { from: me }).ok()?;
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let answer = read_line(&mut reader).ok()??;
    if Message::from_bytes(&answer) != Ok(Message::Ok) {
        return None;
    }
    stream.set_read_timeout(None).ok()?;
    let mut slot = shared.stream.lock().ok()?;
    if shared.stopped.load(Ordering::SeqCst) {
        return None;
    }
    *slot = Some(writer);
    Some(reader)
}

fn set_timeouts(stream: &TcpStream, timeout: Option<Duration>) -> io::Result<()> {
    stream.set_read_timeout(timeout)?;
    stream.set_write_timeout(timeout)
}

/// Reads one line of at most `MAX_LINE_LEN` bytes, newline included.
/// `Ok(None)` means the other side closed before sending anything; a line
/// that is too long, or cut off by the close, is an error.
fn read_line(reader: &mut impl BufRead) -> io::Result<Option<Vec<u8>>> {
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

fn write_message(writer: &mut impl Write, message: &Message) -> io::Result<()> {
    writer.write_all(&message.to_bytes())?;
    writer.flush()
}
