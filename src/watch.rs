//! Watch connections: how a peer learns, within microseconds, that a
//! successor's process has ended.
//!
//! A peer opens a TCP connection to each successor and sends `WATCH`; the
//! successor answers `OK` and keeps the connection open, sending nothing
//! more. When a process ends for any reason (a crash, Ctrl-C, `kill -9`),
//! its operating system closes its connections and its listening port at
//! once. So when the watch connection closes, the watcher tries to connect
//! again: if the port refuses, nothing listens there any more, and the
//! state machine hears [`Event::PortClosed`] and confirms with quick probes.
//! If the port accepts, the successor lives (its watch was closed for some
//! other reason, such as making room) and it is simply watched again.
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
use crate::tcp::{
    CONNECT_TIMEOUT, EXCHANGE_TIMEOUT, SMALL_STACK, read_line, set_timeouts, write_line,
};

/// The least time between two attempts to open a watch, so that a successor
/// that is not running yet, or that keeps closing the watch, costs at most
/// a connection attempt a second.
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
    let mut last_attempt: Option<Instant> = None;
    loop {
        if let Some(at) = last_attempt
            && shared.wait_until(at + WATCH_RETRY)
        {
            return;
        }
        if shared.is_stopped() {
            return;
        }
        last_attempt = Some(Instant::now());
        let refused = match TcpStream::connect_timeout(&address, CONNECT_TIMEOUT) {
            Err(error) => error.kind() == io::ErrorKind::ConnectionRefused,
            Ok(stream) => {
                if let Some(reader) = open_watch(me, stream, shared) {
                    hold(reader);
                    // The watch has closed: does the port still answer?
                    port_refuses(address)
                } else {
                    false
                }
            }
        };
        // A refused connection is reported whether or not the successor was
        // ever seen alive: the state machine only suspects one that has
        // answered a ping, so a peer that has not started yet is safe.
        if refused && !shared.is_stopped() && !inbox.event(Event::PortClosed { peer }) {
            return;
        }
    }
}

/// Sends `WATCH` and waits for the `OK`; returns the reading end.
fn open_watch(me: PeerId, stream: TcpStream, shared: &Shared) -> Option<BufReader<TcpStream>> {
    set_timeouts(&stream, Some(EXCHANGE_TIMEOUT)).ok()?;
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

/// Whether nothing listens at `address` any more. The connection made to
/// find out, if one is made, is closed at once without a word, which the
/// other side takes as nothing at all.
fn port_refuses(address: SocketAddr) -> bool {
    match TcpStream::connect_timeout(&address, CONNECT_TIMEOUT) {
        Ok(_) => false,
        Err(error) => error.kind() == io::ErrorKind::ConnectionRefused,
    }
}
