//! The simulated directories: which `NNNN.pdf` files each peer holds.
//!
//! The state machine asks one question of the outside world, through the
//! `Files` trait: does this peer's directory hold a file? The simulator
//! answers from a set of file numbers per peer, which the peer and the
//! simulator share: the simulator adds a file when a scenario puts it
//! there or when a stored file arrives, and the peer reads it. A restarted
//! peer keeps its directory, as a real one keeps its files on disk.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard};

use p2p::peer::{Files, Held};
use p2p::ring::FileName;

/// The size every simulated file is offered with; the state machine only
/// passes it on.
pub const FILE_SIZE: u64 = 10_000;

/// One peer's directory, shared between the peer and the simulator.
#[derive(Clone, Debug, Default)]
pub struct Directory {
    // `Files` must be `Send`, so the set is behind a mutex rather than a
    // `RefCell`, although only one thread ever uses a given run.
    files: Arc<Mutex<BTreeSet<(u16, Held)>>>,
}

impl Directory {
    /// Puts `NNNN.pdf` in the directory.
    pub fn add(&self, file: FileName) {
        self.add_as(file, Held::Stored);
    }

    pub fn add_as(&self, file: FileName, held: Held) {
        self.lock().insert((number_of(file), held));
    }

    /// Whether the directory holds the file under either name.
    pub fn holds(&self, file: FileName) -> bool {
        let number = number_of(file);
        let files = self.lock();
        files.contains(&(number, Held::Stored)) || files.contains(&(number, Held::Replica))
    }

    /// Whether the directory holds the file under this name.
    pub fn holds_as(&self, file: FileName, held: Held) -> bool {
        self.lock().contains(&(number_of(file), held))
    }

    /// Renames a copy, as `Action::Relabel` asks.
    pub fn relabel(&self, file: FileName, to: Held) {
        let number = number_of(file);
        let mut files = self.lock();
        files.remove(&(number, Held::Stored));
        files.remove(&(number, Held::Replica));
        files.insert((number, to));
    }

    /// Removes a copy, as `Action::Discard` asks.
    pub fn discard(&self, file: FileName, held: Held) {
        self.lock().remove(&(number_of(file), held));
    }

    fn lock(&self) -> MutexGuard<'_, BTreeSet<(u16, Held)>> {
        self.files.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Files for Directory {
    fn has(&self, file: FileName) -> bool {
        self.holds(file)
    }

    fn held(&self) -> Vec<(FileName, Held)> {
        self.lock()
            .iter()
            .map(|&(number, held)| (file_named(number), held))
            .collect()
    }
}

/// The file named by a number, 0 to 9999.
pub fn file_named(number: u16) -> FileName {
    FileName::parse(&format!("{:04}", number % 10_000)).expect("four digits make a file name")
}

/// The number of a file. `FileName` keeps its number to itself, but
/// always prints it as four digits.
pub fn number_of(file: FileName) -> u16 {
    file.to_string()
        .parse()
        .expect("a file name prints as four digits")
}
