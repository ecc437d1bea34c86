//! Files in a peer's directory, and moving them between peers.
//!
//! This is the glue between the state machine's decisions ("send file 4103
//! to peer 2") and the stop-and-wait transfer of the `transfer` module: it
//! opens the file, offers it to the other peer over TCP, runs the transfer
//! on a socket of its own, and on the receiving side writes a temporary file
//! that is renamed into place only once every byte has arrived, so that no
//! reader ever sees half a file.

use std::fs::{self, File};
use std::io::{BufReader, BufWriter};
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::message::{ErrorReason, Purpose, Reply, Request};
use crate::peer::Files;
use crate::ring::{FileName, PeerId};
use crate::tcp;
use crate::transfer::{self, SenderConfig, TransferLog};

/// The log the sending side of a transfer appends to.
pub const SENDER_LOG: &str = "responding_log.txt";

/// The log the receiving side of a transfer appends to.
pub const RECEIVER_LOG: &str = "requesting_log.txt";

/// A peer's directory, as the state machine sees it.
#[derive(Debug)]
pub struct Directory {
    path: PathBuf,
}

impl Directory {
    pub fn new(path: PathBuf) -> Directory {
        Directory { path }
    }

    /// Where file `NNNN` is kept: `NNNN.pdf`.
    pub fn stored_path(&self, file: FileName) -> PathBuf {
        self.path.join(format!("{file}.pdf"))
    }

    /// Where a file arriving for `purpose` is saved: `NNNN.pdf` when it is
    /// stored here, `received_NNNN.pdf` when this peer asked for it.
    pub fn arrival_path(&self, file: FileName, purpose: Purpose) -> PathBuf {
        match purpose {
            Purpose::Store => self.stored_path(file),
            Purpose::Request => self.path.join(format!("received_{file}.pdf")),
        }
    }

    pub fn log_path(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }
}

impl Files for Directory {
    fn has(&self, file: FileName) -> bool {
        self.stored_path(file).is_file()
    }
}

/// Offers file `NNNN.pdf` from `path` to the peer at `address` and, once it
/// answers `READY`, sends it. The size offered is that of the file opened,
/// so that a file replaced in the meantime cannot be offered with one size
/// and sent with another. Returns a sentence saying what went wrong.
pub fn send_to_peer(
    path: &Path,
    offer: Offer,
    address: SocketAddr,
    mut config: SenderConfig,
    mut log: TransferLog,
) -> Result<(), String> {
    let file =
        File::open(path).map_err(|error| format!("cannot open {}: {error}", path.display()))?;
    let size = file
        .metadata()
        .map_err(|error| format!("cannot read the size of {}: {error}", path.display()))?
        .len();
    let socket = UdpSocket::bind((address.ip(), 0))
        .map_err(|error| format!("cannot open a UDP socket: {error}"))?;
    let asked_at = Instant::now();
    let offered = Request::Offer {
        file: offer.file,
        from: offer.from,
        size,
        purpose: offer.purpose,
    };
    let port = match tcp::request(address, &offered) {
        Ok(Reply::Ready { port }) => port,
        Ok(Reply::Error {
            reason: ErrorReason::CannotWrite,
        }) => return Err("it cannot write the file into its directory".to_string()),
        Ok(Reply::Error {
            reason: ErrorReason::Busy,
        }) => return Err("it is receiving as many files as it takes at once".to_string()),
        Ok(other) => return Err(format!("the offer was answered with {other}")),
        Err(_) => return Err("the offer was not answered".to_string()),
    };
    // The offer and its answer make a first round trip for the timeout
    // estimator: longer than a datagram's, so a safe start.
    config.first_rtt = Some(asked_at.elapsed());
    let receiver = SocketAddr::new(address.ip(), port);
    transfer::send_file(
        &socket,
        receiver,
        BufReader::new(file),
        size,
        &config,
        &mut log,
    )
    .map(|_| ())
    .map_err(|error| error.to_string())
}

/// What an `OFFER` says besides the size, which is read from the file.
pub struct Offer {
    pub file: FileName,
    pub from: PeerId,
    pub purpose: Purpose,
}

/// A file on its way into the directory: a temporary file beside its final
/// name, renamed into place only once every byte has arrived, so that no
/// reader ever sees half a file. Dropped before then, it removes the
/// temporary file, so a failed transfer leaves nothing behind.
pub struct Arrival {
    temporary: PathBuf,
    final_path: PathBuf,
    file: Option<File>,
}

impl Arrival {
    /// Creates the temporary file, before the sender is told to start: a
    /// directory that cannot take the file is found out now, and the sender
    /// is told why, instead of sending into the void.
    pub fn prepare(final_path: &Path) -> Result<Arrival, String> {
        let temporary = temporary_path(final_path);
        let file = File::create(&temporary)
            .map_err(|error| format!("cannot create {}: {error}", temporary.display()))?;
        Ok(Arrival {
            temporary,
            final_path: final_path.to_path_buf(),
            file: Some(file),
        })
    }

    /// Receives `size` bytes on `socket` and renames the file into place.
    /// Returns the sender's address for [`transfer::linger`], or `None` for
    /// an empty file, which has no segments and so no sender.
    pub fn receive(
        mut self,
        socket: &UdpSocket,
        size: u64,
        log: &mut TransferLog,
    ) -> Result<Option<SocketAddr>, String> {
        let file = self
            .file
            .take()
            .ok_or_else(|| "the file was already received".to_string())?;
        let (_, sender) = transfer::receive_file(socket, BufWriter::new(file), size, log)
            .map_err(|error| error.to_string())?;
        fs::rename(&self.temporary, &self.final_path)
            .map_err(|error| format!("cannot rename to {}: {error}", self.final_path.display()))?;
        self.temporary = PathBuf::new();
        Ok(sender)
    }
}

impl Drop for Arrival {
    fn drop(&mut self) {
        if !self.temporary.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.temporary);
        }
    }
}

/// A name in the same directory (so the rename is atomic) that no other
/// transfer, in this process or another sharing the directory, will use,
/// and that never looks like a file of the ring.
fn temporary_path(final_path: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let name = final_path
        .file_name()
        .map_or_else(|| "file".into(), |name| name.to_string_lossy().into_owned());
    final_path.with_file_name(format!(".{name}.partial-{}-{n}", std::process::id()))
}
