//! Watch connections: how a peer learns, within microseconds, that a
//! successor's process has ended.
//!
//! A peer opens a TCP connection to each successor and sends `WATCH`; the
//! successor answers `OK` and keeps the connection open, sending nothing
//! more. When a process ends for any reason (a crash, Ctrl-C, `kill -9`),
//! its operating system closes its connections and its listening port at
//! once. So when the watch connection closes, the watcher tries to watch
//! again, every 5 ms for a moment: if the port refuses, nothing listens
//! there any more, and the state machine hears [`Event::PortClosed`] and
//! confirms with quick probes. If a new watch is answered, the successor
//! lives (its watch was closed for some other reason, such as making room)
//! and it is simply watched again. A connection that is accepted and then
//! reset decides nothing: a dying process's port can accept for a moment.
//!
//! A frozen process keeps its connections and its port, so a freeze is left
//! to the pings; that is why a closed watch alone never decides anything.

use std::io::{self, BufReader};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use crate::inbox::Inbox;
use crate::message::{Reply, Request};
use crate::peer::Event;
use crate::ring::PeerId;
use crate::tcp::{CONNECT_TIMEOUT, SMALL_STACK, connect, read_line, set_timeouts, write_line};

/// The time between two attempts to open a watch after a refusal, so that a
/// successor that is not running yet costs at most a connection attempt a
/// second.
pub const WATCH_RETRY: Duration = Duration::from_secs(1);

/// A watch connection to one successor, kept up by a thread of its own.
pub struct Watch {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    /// Wakes the thread from its wait between attempts when it is stopped.
    stopped_signal: Condvar,
}

#[derive(Default)]
struct State {
    /// Set when this peer no longer cares (the successor changed), so that
    /// the closing it causes is not reported.
    stopped: bool,
    /// The open connection, to close it when stopped.
    stream: Option<TcpStream>,
}

impl Watch {
    /// Starts watching `peer` at `address`.
    pub fn start(me: PeerId, peer: PeerId, address: SocketAddr, inbox: Inbox) -> Watch {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            stopped_signal: Condvar::new(),
        });
        let thread_shared = Arc::clone(&shared);
        let spawned = thread::Builder::new()
            .name(format!("watch-{peer}"))
            .stack_size(SMALL_STACK)
            .spawn(move || watch_forever(me, peer, address, &thread_shared, &inbox));
        if spawned.is_err() {
            // Without a watch the peer still finds a dead successor by its
            // pings, only more slowly.
            shared.lock().stopped = true;
        }
        Watch { shared }
    }

    /// Closes the connection without reporting anything, and ends the
    /// thread.
    pub fn stop(self) {
        let mut state = self.shared.lock();
        state.stopped = true;
        if let Some(stream) = state.stream.take() {
            let _ = stream.shutdown(Shutdown::Both);
        }
        drop(state);
        self.shared.stopped_signal.notify_all();
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn is_stopped(&self) -> bool {
        self.lock().stopped
    }

    /// Waits until `until`, or until the watch is stopped; returns whether
    /// it was stopped.
    fn wait_until(&self, until: Instant) -> bool {
        let mut state = self.lock();
        while !state.stopped {
            let now = Instant::now();
            if now >= until {
                return false;
            }
            state = self
                .stopped_signal
                .wait_timeout(state, until - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        true
    }
}

fn watch_forever(me: PeerId, peer: PeerId, address: SocketAddr, shared: &Shared, inbox: &Inbox) {
    // When to try next: at once at first; a second after a refusal (the
    // successor is not running, or is dead and has been reported); soon
    // after any other failure, which says nothing, so that a successor
    // killed just then is not watched a second late.
    let mut next_attempt = Instant::now();
    loop {
        if shared.wait_until(next_attempt) {
            return;
        }
        let attempted_at = Instant::now();
        let refused = match connect(address, CONNECT_TIMEOUT) {
            Err(error) => error.kind() == io::ErrorKind::ConnectionRefused,
            Ok(stream) => match open_watch(me, stream, shared) {
                Some(reader) => {
                    hold(reader);
                    // The watch has closed: find out at once whether the
                    // successor lives.
                    watch_again(me, address, shared)
                }
                None => false,
            },
        };
        next_attempt = attempted_at + if refused { WATCH_RETRY } else { QUICK_RETRY };
        // A refused connection is reported whether or not the successor was
        // ever seen alive: the state machine only suspects one that has
        // answered a ping, so a peer that has not started yet is safe.
        if refused && !shared.is_stopped() && !inbox.event(Event::PortClosed { peer }) {
            return;
        }
    }
}

/// How soon a watch that failed for another reason than a refusal (no
/// answer, a connection reset) is tried again.
const QUICK_RETRY: Duration = Duration::from_millis(50);

/// How many times, 5 ms apart, a closed watch is tried again before the
/// watcher falls back to its slower pace.
const QUICK_ATTEMPTS: u32 = 20;
const QUICK_SPACING: Duration = Duration::from_millis(5);

/// Tries to watch the successor again, right after its watch closed, and
/// returns whether its port refused: nothing listens there any more. A
/// process that is being killed can still accept a connection for a moment
/// (its listening socket goes last), and then resets it; so a connection
/// alone proves nothing, and only a refusal or a new watch's `OK` decide.
/// Each new watch that is answered is held until it closes too, and the
/// count of attempts starts afresh. After that many attempts that decided
/// nothing, the watcher falls back to its slower pace.
fn watch_again(me: PeerId, address: SocketAddr, shared: &Shared) -> bool {
    let mut attempts = 0;
    while attempts < QUICK_ATTEMPTS {
        if shared.is_stopped() {
            return false;
        }
        match connect(address, CONNECT_TIMEOUT) {
            Err(error) if error.kind() == io::ErrorKind::ConnectionRefused => return true,
            Err(_) => {}
            Ok(stream) => {
                if let Some(reader) = open_watch(me, stream, shared) {
                    hold(reader);
                    attempts = 0;
                    continue;
                }
            }
        }
        attempts += 1;
        if shared.wait_until(Instant::now() + QUICK_SPACING) {
            return false;
        }
    }
    false
}

/// How long a watch waits for its `OK`. A live peer's connection worker
/// answers at once, without its event loop; a connection that a dying
/// process accepted never answers, and should not hold the watcher up.
const WATCH_ANSWER_TIMEOUT: Duration = Duration::from_millis(250);

/// Sends `WATCH` and waits for the `OK`; returns the reading end.
fn open_watch(me: PeerId, stream: TcpStream, shared: &Shared) -> Option<BufReader<TcpStream>> {
    set_timeouts(&stream, Some(WATCH_ANSWER_TIMEOUT)).ok()?;
    let mut writer = stream.try_clone().ok()?;
    write_line(&mut writer, &Request::Watch { from: me }.to_bytes()).ok()?;
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let answer = read_line(&mut reader).ok()??;
    if Reply::from_bytes(&answer) != Ok(Reply::Ok) {
        return None;
    }
    stream.set_read_timeout(None).ok()?;
    let mut state = shared.lock();
    if state.stopped {
        return None;
    }
    state.stream = Some(writer);
    Some(reader)
}

/// Waits until the watch connection closes. Nothing is ever sent on it, so
/// the read returns only then.
fn hold(mut reader: BufReader<TcpStream>) {
    let _ = io::copy(&mut reader, &mut io::sink());
}
