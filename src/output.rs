//! Every line a peer prints on standard output.
//!
//! These lines are a contract: markers and the black-box tests match them
//! character for character, so each one is written in exactly one place,
//! here. Diagnostics (bad datagrams, hints, warnings) go to standard error
//! instead and are not part of the contract.

use std::fmt;
use std::io::Write;

use crate::ring::{FileName, PeerId};

/// A line a peer prints, with the values it mentions: the reference's lines,
/// plus `FileNotFound`, which is ours.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Line {
    // Step 2: pings.
    PingRequestsSent {
        first: PeerId,
        second: PeerId,
    },
    PingRequestReceived {
        from: PeerId,
    },
    PingResponseReceived {
        from: PeerId,
    },

    // Changes of successor, shared by steps 3, 4 and 5.
    NewFirstSuccessor {
        peer: PeerId,
    },
    NewSecondSuccessor {
        peer: PeerId,
    },

    // Step 3: a peer joins.
    JoinRequestForwarded {
        newcomer: PeerId,
    },
    JoinRequestReceived {
        newcomer: PeerId,
    },
    SuccessorChangeReceived,
    JoinAccepted,
    FirstSuccessor {
        peer: PeerId,
    },
    SecondSuccessor {
        peer: PeerId,
    },

    // Step 4: graceful departure.
    WillDepart {
        peer: PeerId,
    },

    // Step 5: abrupt departure.
    NoLongerAlive {
        peer: PeerId,
    },

    // Step 6: storing a file.
    StoreForwarded {
        file: FileName,
    },
    StoreAccepted {
        file: FileName,
    },

    // Step 7: requesting a file and the transfer.
    FileRequestSent {
        file: FileName,
    },
    FileNotStoredHere {
        file: FileName,
    },
    FileStoredHere {
        file: FileName,
    },
    SendingFile {
        file: FileName,
        to: PeerId,
    },
    FileSent,
    PeerHadFile {
        peer: PeerId,
        file: FileName,
    },
    ReceivingFile {
        file: FileName,
        from: PeerId,
    },
    FileReceived {
        file: FileName,
    },
    /// Not in the reference, which leaves a request for a missing file
    /// unanswered: the requester is told instead of waiting for ever.
    FileNotFound {
        file: FileName,
        peer: PeerId,
    },
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Line::PingRequestsSent { first, second } => {
                write!(f, "Ping requests sent to Peers {first} and {second}")
            }
            Line::PingRequestReceived { from } => {
                write!(f, "Ping request message received from Peer {from}")
            }
            Line::PingResponseReceived { from } => {
                write!(f, "Ping response received from Peer {from}")
            }
            Line::NewFirstSuccessor { peer } => write!(f, "My new first successor is Peer {peer}"),
            Line::NewSecondSuccessor { peer } => {
                write!(f, "My new second successor is Peer {peer}")
            }
            Line::JoinRequestForwarded { newcomer } => {
                write!(f, "Peer {newcomer} Join request forwarded to my successor")
            }
            Line::JoinRequestReceived { newcomer } => {
                write!(f, "Peer {newcomer} Join request received")
            }
            Line::SuccessorChangeReceived => f.write_str("Successor Change request received"),
            Line::JoinAccepted => f.write_str("Join request has been accepted"),
            Line::FirstSuccessor { peer } => write!(f, "My first successor is Peer {peer}"),
            Line::SecondSuccessor { peer } => write!(f, "My second successor is Peer {peer}"),
            Line::WillDepart { peer } => write!(f, "Peer {peer} will depart from the network"),
            Line::NoLongerAlive { peer } => write!(f, "Peer {peer} is no longer alive"),
            Line::StoreForwarded { file } => {
                write!(f, "Store {file} request forwarded to my successor")
            }
            Line::StoreAccepted { file } => write!(f, "Store {file} request accepted"),
            Line::FileRequestSent { file } => {
                write!(f, "File request for {file} has been sent to my successor")
            }
            Line::FileNotStoredHere { file } => write!(
                f,
                "Request for File {file} has been received, but the file is not stored here"
            ),
            Line::FileStoredHere { file } => write!(f, "File {file} is stored here"),
            Line::SendingFile { file, to } => write!(f, "Sending file {file} to Peer {to}"),
            Line::FileSent => f.write_str("The file has been sent"),
            Line::PeerHadFile { peer, file } => write!(f, "Peer {peer} had File {file}"),
            Line::ReceivingFile { file, from } => {
                write!(f, "Receiving File {file} from Peer {from}")
            }
            Line::FileReceived { file } => write!(f, "File {file} received"),
            Line::FileNotFound { file, peer } => write!(
                f,
                "File {file} was not found: Peer {peer}, which is responsible for it, does not have it"
            ),
        }
    }
}

/// Prints one contract line and flushes it at once, because peers usually
/// run with their output piped into a log or a test, where nothing would
/// otherwise appear until a buffer fills.
///
/// A closed standard output (the reader went away) is not a reason to stop
/// a peer: the ring still needs it, so write errors are ignored here rather
/// than turned into the panic that `println!` would raise.
pub fn print_line(line: &Line) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}

/// Writes one diagnostic line on standard error, prefixed with `p2p: `.
/// Like [`print_line`], it ignores a closed stream: `eprintln!` would panic
/// there, and a peer whose log reader went away must go on serving the ring.
pub fn write_diagnostic(message: std::fmt::Arguments<'_>) {
    let _ = writeln!(std::io::stderr().lock(), "p2p: {message}");
}

/// `diagnose!("...", args)` writes a diagnostic line; see
/// [`write_diagnostic`].
macro_rules! diagnose {
    ($($argument:tt)*) => {
        $crate::output::write_diagnostic(format_args!($($argument)*))
    };
}
pub(crate) use diagnose;

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str) -> FileName {
        FileName::parse(name).expect("a valid name")
    }

    #[test]
    fn lines_match_the_reference_exactly() {
        let cases = [
            (
                Line::PingRequestsSent {
                    first: PeerId(4),
                    second: PeerId(5),
                },
                "Ping requests sent to Peers 4 and 5",
            ),
            (
                Line::PingRequestReceived { from: PeerId(2) },
                "Ping request message received from Peer 2",
            ),
            (
                Line::PingResponseReceived { from: PeerId(4) },
                "Ping response received from Peer 4",
            ),
            (
                Line::NewFirstSuccessor { peer: PeerId(15) },
                "My new first successor is Peer 15",
            ),
            (
                Line::NewSecondSuccessor { peer: PeerId(19) },
                "My new second successor is Peer 19",
            ),
            (
                Line::JoinRequestForwarded {
                    newcomer: PeerId(15),
                },
                "Peer 15 Join request forwarded to my successor",
            ),
            (
                Line::JoinRequestReceived {
                    newcomer: PeerId(15),
                },
                "Peer 15 Join request received",
            ),
            (
                Line::SuccessorChangeReceived,
                "Successor Change request received",
            ),
            (Line::JoinAccepted, "Join request has been accepted"),
            (
                Line::FirstSuccessor { peer: PeerId(19) },
                "My first successor is Peer 19",
            ),
            (
                Line::SecondSuccessor { peer: PeerId(2) },
                "My second successor is Peer 2",
            ),
            (
                Line::WillDepart { peer: PeerId(9) },
                "Peer 9 will depart from the network",
            ),
            (
                Line::NoLongerAlive { peer: PeerId(14) },
                "Peer 14 is no longer alive",
            ),
            (
                Line::StoreForwarded { file: file("2067") },
                "Store 2067 request forwarded to my successor",
            ),
            (
                Line::StoreAccepted { file: file("2067") },
                "Store 2067 request accepted",
            ),
            (
                Line::FileRequestSent { file: file("4103") },
                "File request for 4103 has been sent to my successor",
            ),
            (
                Line::FileNotStoredHere { file: file("4103") },
                "Request for File 4103 has been received, but the file is not stored here",
            ),
            (
                Line::FileStoredHere { file: file("4103") },
                "File 4103 is stored here",
            ),
            (
                Line::SendingFile {
                    file: file("4103"),
                    to: PeerId(2),
                },
                "Sending file 4103 to Peer 2",
            ),
            (Line::FileSent, "The file has been sent"),
            (
                Line::PeerHadFile {
                    peer: PeerId(8),
                    file: file("4103"),
                },
                "Peer 8 had File 4103",
            ),
            (
                Line::ReceivingFile {
                    file: file("4103"),
                    from: PeerId(8),
                },
                "Receiving File 4103 from Peer 8",
            ),
            (
                Line::FileReceived { file: file("4103") },
                "File 4103 received",
            ),
            (
                Line::FileNotFound {
                    file: file("0005"),
                    peer: PeerId(5),
                },
                "File 0005 was not found: Peer 5, which is responsible for it, does not have it",
            ),
        ];
        for (line, text) in cases {
            assert_eq!(line.to_string(), text);
        }
    }
}
