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
use crate::peer::{Files, Held, Transferred};
use crate::ring::{FileName, PeerId};
use crate::tcp;
use crate::transfer::{self, SenderConfig, TransferLog};

/// The log the sending side of a transfer appends to.
pub const SENDER_LOG: &str = "responding_log.txt";

/// The log the receiving side of a transfer appends to.
pub const RECEIVER_LOG: &str = "requesting_log.txt";

/// The name of the file, in a directory kept by a peer that looks after
/// the ring's files, that says which peer it belongs to.
pub const OWNER_FILE: &str = ".p2p-peer";

/// The prefix of a replica's name: `replica_NNNN.pdf`.
const REPLICA_PREFIX: &str = "replica_";

/// A peer's directory, as the state machine sees it.
#[derive(Clone, Debug)]
pub struct Directory {
    path: PathBuf,
    /// Whether `replica_NNNN.pdf` files count: only for a peer that looks
    /// after the ring's files. At the course's defaults such a file is
    /// nothing of the ring's, whatever its name.
    with_replicas: bool,
}

impl Directory {
    /// The directory of a peer at the course's defaults.
    pub fn new(path: PathBuf) -> Directory {
        Directory {
            path,
            with_replicas: false,
        }
    }

    /// The directory of a peer that looks after the ring's files
    /// (`replicas` is `true`) or not.
    pub fn keeping_replicas(self, replicas: bool) -> Directory {
        Directory {
            with_replicas: replicas,
            ..self
        }
    }

    /// Where file `NNNN` is kept: `NNNN.pdf`.
    pub fn stored_path(&self, file: FileName) -> PathBuf {
        self.path_of(file, Held::Stored)
    }

    /// Where a copy of file `NNNN` kept as `held` is: `NNNN.pdf` or
    /// `replica_NNNN.pdf`.
    pub fn path_of(&self, file: FileName, held: Held) -> PathBuf {
        match held {
            Held::Stored => self.path.join(format!("{file}.pdf")),
            Held::Replica => self.path.join(format!("{REPLICA_PREFIX}{file}.pdf")),
        }
    }

    /// The copy of `file` to send: `NNNN.pdf`, or the replica when that is
    /// all this peer holds (a replica whose peer has just become
    /// responsible for it, before the file is renamed).
    pub fn sending_path(&self, file: FileName) -> PathBuf {
        let stored = self.stored_path(file);
        let replica = self.path_of(file, Held::Replica);
        if self.with_replicas && !stored.is_file() && replica.is_file() {
            replica
        } else {
            stored
        }
    }

    /// Where a file arriving for `purpose` is saved: `NNNN.pdf` when it is
    /// stored or handed over here, `replica_NNNN.pdf` for a replica, and
    /// `received_NNNN.pdf` when this peer asked for it.
    pub fn arrival_path(&self, file: FileName, purpose: Purpose) -> PathBuf {
        match purpose {
            Purpose::Store | Purpose::Handover => self.stored_path(file),
            Purpose::Replica => self.path_of(file, Held::Replica),
            Purpose::Request => self.path.join(format!("received_{file}.pdf")),
        }
    }

    pub fn log_path(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Renames the copy of `file` to the name for `to`. A copy already
    /// under that name is the same file, and the other one is removed.
    pub fn relabel(&self, file: FileName, to: Held) -> Result<(), String> {
        let from = match to {
            Held::Stored => Held::Replica,
            Held::Replica => Held::Stored,
        };
        let (old, new) = (self.path_of(file, from), self.path_of(file, to));
        if new.is_file() {
            return self.discard(file, from);
        }
        fs::rename(&old, &new).map_err(|error| {
            format!(
                "cannot rename {} to {}: {error}",
                old.display(),
                new.display()
            )
        })
    }

    /// Removes the copy of `file` kept as `held`.
    pub fn discard(&self, file: FileName, held: Held) -> Result<(), String> {
        let path = self.path_of(file, held);
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(error) => Err(format!("cannot remove {}: {error}", path.display())),
        }
    }
}

impl Files for Directory {
    fn has(&self, file: FileName) -> bool {
        self.stored_path(file).is_file()
            || (self.with_replicas && self.path_of(file, Held::Replica).is_file())
    }

    fn held(&self) -> Vec<(FileName, Held)> {
        let Ok(entries) = fs::read_dir(&self.path) else {
            return Vec::new();
        };
        let mut held = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else {
                continue;
            };
            if let Some(copy) = held_file(name)
                && (self.with_replicas || copy.1 == Held::Stored)
                && entry.file_type().is_ok_and(|kind| kind.is_file())
            {
                held.push(copy);
            }
        }
        held.sort();
        held
    }
}

/// Which file of the ring a directory entry named `name` is, if any:
/// `NNNN.pdf` or `replica_NNNN.pdf`.
fn held_file(name: &str) -> Option<(FileName, Held)> {
    let stem = name.strip_suffix(".pdf")?;
    match stem.strip_prefix(REPLICA_PREFIX) {
        Some(number) => FileName::parse(number).map(|file| (file, Held::Replica)),
        None => FileName::parse(stem).map(|file| (file, Held::Stored)),
    }
}

/// Claims `dir` for peer `me`, for a peer that looks after the ring's
/// files: one directory cannot hold the copies of several peers, so a
/// directory another peer has claimed is refused. The claim is the file
/// [`OWNER_FILE`] with the peer's identity in it; the same peer started
/// again finds its own claim.
pub fn claim_directory(dir: &Path, me: PeerId) -> Result<(), String> {
    let path = dir.join(OWNER_FILE);
    match fs::read_to_string(&path) {
        Ok(text) => match text.trim().parse::<PeerId>() {
            Ok(owner) if owner == me => Ok(()),
            Ok(owner) => Err(format!(
                "--dir {} is the directory of peer {owner} ({} says so): with --replicas or \
                 --handover each peer needs a directory of its own; give peer {me} another --dir \
                 (or remove {} if peer {owner} no longer uses it)",
                dir.display(),
                OWNER_FILE,
                path.display()
            )),
            Err(_) => write_claim(&path, me),
        },
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => write_claim(&path, me),
        Err(error) => Err(format!("cannot read {}: {error}", path.display())),
    }
}

fn write_claim(path: &Path, me: PeerId) -> Result<(), String> {
    fs::write(path, format!("{me}\n"))
        .map_err(|error| format!("cannot write {}: {error}", path.display()))
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
) -> Result<Transferred, String> {
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
        Ok(Reply::Have) => return Ok(Transferred::AlreadyHeld),
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
    .map(|_| Transferred::Whole)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str) -> FileName {
        FileName::parse(name).expect("a valid name")
    }

    #[test]
    fn only_the_names_of_ring_files_are_held_files() {
        assert_eq!(held_file("2067.pdf"), Some((file("2067"), Held::Stored)));
        assert_eq!(
            held_file("replica_0042.pdf"),
            Some((file("0042"), Held::Replica))
        );
        for other in [
            "received_2067.pdf",
            "2067.txt",
            "206.pdf",
            "replica_20677.pdf",
            ".2067.pdf.partial-1-0",
            "responding_log.txt",
        ] {
            assert_eq!(held_file(other), None, "{other}");
        }
    }
}
