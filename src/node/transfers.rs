//! File transfers as the event loop starts them: each on a thread of its
//! own, with its own sockets, so that pings go on during any transfer, and
//! a bounded number at once in each direction. Each names itself for its
//! progress line on standard error, shown when it lasts over a second.

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::config::Config;
use crate::files::{self, Arrival, Directory, Offer, RECEIVER_LOG, SENDER_LOG};
use crate::inbox::{Inbox, ReplySlot};
use crate::message::{ErrorReason, Purpose, Reply};
use crate::node::{HOST, peer_address};
use crate::output::diagnose;
use crate::peer::{Direction, Event, Transferred};
use crate::ring::{FileName, PeerId};
use crate::transfer::{self, SenderConfig, TimeoutRule, TransferLog};

/// File transfers under way at once, in each direction. A peer serves a
/// handful; a flood of requests for a file it holds is refused beyond this.
pub const MAX_TRANSFERS: usize = 8;

/// How this peer sends files, from its command line.
struct Settings {
    dir: PathBuf,
    /// Whether replicas count as the peer's copies (`--replicas`,
    /// `--handover`).
    with_replicas: bool,
    mss: usize,
    drop_probability: f64,
    seed: u64,
    timeout: TimeoutRule,
}

impl Settings {
    fn from_config(config: &Config) -> Settings {
        let seed = config.seed.unwrap_or_else(|| {
            // Any seed will do when none is asked for; say which, so that a
            // surprising lossy run can be repeated.
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |elapsed| elapsed.subsec_nanos());
            let seed = u64::from(nanos) ^ u64::from(std::process::id());
            if config.drop_probability > 0.0 {
                diagnose!(
                    "dropping data segments with probability {}, seed {seed} (repeat with --seed {seed})",
                    config.drop_probability
                );
            }
            seed
        });
        Settings {
            dir: config.dir.clone(),
            with_replicas: config.looks_after_files(),
            mss: config.mss,
            drop_probability: config.drop_probability,
            seed,
            timeout: config
                .fixed_timeout
                .map_or(TimeoutRule::Estimated, TimeoutRule::Fixed),
        }
    }
}

/// The transfers of one peer.
pub struct Transfers {
    me: PeerId,
    base_port: u16,
    inbox: Inbox,
    settings: Settings,
    /// When the peer started: transfer logs count time from here.
    started_at: Instant,
    /// How many transfers this peer has sent, so that each draws its own
    /// drops from the seed.
    sent: u64,
    sending: usize,
    receiving: usize,
}

impl Transfers {
    pub fn new(config: &Config, inbox: Inbox, started_at: Instant) -> Transfers {
        Transfers {
            me: config.peer,
            base_port: config.base_port,
            inbox,
            settings: Settings::from_config(config),
            started_at,
            sent: 0,
            sending: 0,
            receiving: 0,
        }
    }

    /// A transfer has ended (its `TransferFinished` event is on its way to
    /// the state machine).
    pub fn finished(&mut self, direction: Direction) {
        match direction {
            Direction::Sent => self.sending = self.sending.saturating_sub(1),
            Direction::Received => self.receiving = self.receiving.saturating_sub(1),
        }
    }

    /// Offers a file of this peer's directory to a peer and sends it; the
    /// outcome comes back as an event. Returns the failure event at once
    /// when too many transfers are under way.
    pub fn send_file(&mut self, to: PeerId, file: FileName, purpose: Purpose) -> Option<Event> {
        if self.sending >= MAX_TRANSFERS {
            return Some(finished(file, to, Direction::Sent, purpose, too_many()));
        }
        let settings = &self.settings;
        let config = SenderConfig {
            mss: settings.mss,
            drop_probability: settings.drop_probability,
            seed: settings.seed.wrapping_add(self.sent),
            timeout: settings.timeout,
            first_rtt: None,
        };
        let directory =
            Directory::new(settings.dir.clone()).keeping_replicas(settings.with_replicas);
        let path = directory.sending_path(file);
        let log = if logged(purpose) {
            TransferLog::append_to(&directory.log_path(SENDER_LOG), self.started_at)
        } else {
            TransferLog::disabled()
        }
        .showing_progress(format!("sending File {file} to Peer {to}"));
        let offer = Offer {
            file,
            from: self.me,
            purpose,
        };
        let address = peer_address(to, self.base_port);
        let inbox = self.inbox.clone();
        let started = thread::Builder::new()
            .name("file-sender".into())
            .spawn(move || {
                let outcome = files::send_to_peer(&path, offer, address, config, log);
                inbox.event(finished(file, to, Direction::Sent, purpose, outcome));
            });
        if let Err(error) = started {
            let outcome = Err(format!("could not start a thread: {error}"));
            return Some(finished(file, to, Direction::Sent, purpose, outcome));
        }
        self.sent += 1;
        self.sending += 1;
        None
    }

    /// Gets ready for a file that `from` offers, answers the offer with
    /// `READY` (or an error saying why not) through `reply`, and receives
    /// the file, all on a thread of its own. Returns the failure event at
    /// once when too many transfers are under way.
    pub fn receive_file(
        &mut self,
        from: PeerId,
        file: FileName,
        size: u64,
        purpose: Purpose,
        reply: Option<ReplySlot>,
    ) -> Option<Event> {
        if self.receiving >= MAX_TRANSFERS {
            answer(reply.as_ref(), ErrorReason::Busy);
            return Some(finished(
                file,
                from,
                Direction::Received,
                purpose,
                too_many(),
            ));
        }
        let directory = Directory::new(self.settings.dir.clone());
        let final_path = directory.arrival_path(file, purpose);
        let log_path = logged(purpose).then(|| directory.log_path(RECEIVER_LOG));
        let started_at = self.started_at;
        let inbox = self.inbox.clone();
        let started = thread::Builder::new()
            .name("file-receiver".into())
            .spawn(move || {
                let mut log = match &log_path {
                    Some(path) => TransferLog::append_to(path, started_at),
                    None => TransferLog::disabled(),
                }
                .showing_progress(format!("receiving File {file} from Peer {from}"));
                let (outcome, lingering) = match receive(&final_path, size, reply, &mut log) {
                    Ok(lingering) => (Ok(Transferred::Whole), lingering),
                    Err(error) => (Err(error), None),
                };
                inbox.event(finished(file, from, Direction::Received, purpose, outcome));
                if let Some((socket, sender)) = lingering {
                    transfer::linger(&socket, sender, size, &mut log);
                }
            });
        if let Err(error) = started {
            let outcome = Err(format!("could not start a thread: {error}"));
            return Some(finished(file, from, Direction::Received, purpose, outcome));
        }
        self.receiving += 1;
        None
    }
}

/// The receiving side of one transfer: ready the file and the socket, say
/// so (or why not), then take the segments. Returns the socket and the
/// sender to linger for, unless the file was empty.
fn receive(
    final_path: &Path,
    size: u64,
    reply: Option<ReplySlot>,
    log: &mut TransferLog,
) -> Result<Option<(UdpSocket, SocketAddr)>, String> {
    let arrival = match Arrival::prepare(final_path) {
        Ok(arrival) => arrival,
        Err(error) => {
            answer(reply.as_ref(), ErrorReason::CannotWrite);
            return Err(error);
        }
    };
    let socket = match UdpSocket::bind((HOST, 0)).and_then(|s| Ok((s.local_addr()?.port(), s))) {
        Ok((port, socket)) => {
            if let Some(reply) = &reply {
                let _ = reply.send(Reply::Ready { port });
            }
            socket
        }
        Err(error) => {
            answer(reply.as_ref(), ErrorReason::NotReady);
            return Err(format!("cannot open a UDP socket: {error}"));
        }
    };
    let sender = arrival.receive(&socket, size, log)?;
    Ok(sender.map(|sender| (socket, sender)))
}

fn answer(reply: Option<&ReplySlot>, reason: ErrorReason) {
    if let Some(reply) = reply {
        let _ = reply.send(Reply::Error { reason });
    }
}

/// Whether a transfer for `purpose` is written to the course's logs: the
/// ones the course has (a store's and a request's) are; the ring's own
/// handovers and replicas are not, so that the logs read as the course's.
fn logged(purpose: Purpose) -> bool {
    matches!(purpose, Purpose::Store | Purpose::Request)
}

fn too_many() -> Result<Transferred, String> {
    Err(format!(
        "{MAX_TRANSFERS} transfers are under way already; this one was not started"
    ))
}

fn finished(
    file: FileName,
    peer: PeerId,
    direction: Direction,
    purpose: Purpose,
    outcome: Result<Transferred, String>,
) -> Event {
    Event::TransferFinished {
        file,
        peer,
        direction,
        purpose,
        outcome,
    }
}
