//! Every line a peer prints on standard output.
//!
//! These lines are a contract: markers and the black-box tests match them
//! character for character, so each one is written in exactly one place,
//! here. Diagnostics (bad datagrams, hints, warnings) go to standard error
//! instead and are not part of the contract.

use std::fmt;
use std::io::Write;

use crate::ring::PeerId;

/// A line of the reference behaviour, with the values it mentions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Line {
    // Step 2: pings.
    PingRequestsSent { first: PeerId, second: PeerId },
    PingRequestReceived { from: PeerId },
    PingResponseReceived { from: PeerId },

    // Changes of successor, shared by steps 3, 4 and 5.
    NewFirstSuccessor { peer: PeerId },
    NewSecondSuccessor { peer: PeerId },

    // Step 3: a peer joins.
    JoinRequestForwarded { newcomer: PeerId },
    JoinRequestReceived { newcomer: PeerId },
    SuccessorChangeReceived,
    JoinAccepted,
    FirstSuccessor { peer: PeerId },
    SecondSuccessor { peer: PeerId },

    // Step 4: graceful departure.
    WillDepart { peer: PeerId },

    // Step 5: abrupt departure.
    NoLongerAlive { peer: PeerId },
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

#[cfg(test)]
mod tests {
    use super::*;

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
        ];
        for (line, text) in cases {
            assert_eq!(line.to_string(), text);
        }
    }
}
