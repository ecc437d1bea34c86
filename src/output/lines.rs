//! Every line a peer prints on standard output, as a value, and the wording
//! that turns it into text.
//!
//! These lines are a contract: markers and the black-box tests match them
//! character for character. The state machine says *what* happened
//! ([`Line`]); [`Wording::render`] says how the course words it, in this one
//! place. A course version that words the same events differently is one
//! more arm in each match, never a second copy of the decisions.

use crate::message::Ordinal;
use crate::message::{Standing, View};
use crate::ring::{FileName, PeerId, peers_in_words};

/// A line a peer prints, with the values it mentions: the reference's lines,
/// plus `FileNotFound`, which is ours.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Line {
    // Step 2: pings.
    /// A regular round of pings went to these successors, nearest first.
    PingRequestsSent {
        to: Vec<PeerId>,
    },
    PingRequestReceived {
        from: PeerId,
    },
    PingResponseReceived {
        from: PeerId,
    },

    // Changes of successor, shared by steps 3, 4 and 5: one line for each
    // position of the new list.
    NewSuccessor {
        position: Ordinal,
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
    /// One line for each position of a newcomer's first list.
    Successor {
        position: Ordinal,
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
    /// A request not for this peer went on to its successor (after
    /// `FileNotStoredHere`). The newer course says nothing more; the older
    /// one says so in a line of its own.
    RequestForwarded,
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

    // Ours, printed only by a peer that looks after the ring's files
    // (`--replicas`, `--handover`): one line at each end of each movement.
    /// This peer sent `file` to `to`, which keeps it as `NNNN.pdf`.
    FileHandedOver {
        file: FileName,
        to: PeerId,
        reason: HandoverReason,
    },
    /// This peer received `file` from `from`, and keeps it as `NNNN.pdf`.
    FileTakenOver {
        file: FileName,
        from: PeerId,
        reason: HandoverReason,
    },
    /// This peer sent a replica of `file` to `to`, one of its successors.
    ReplicaSent {
        file: FileName,
        to: PeerId,
    },
    /// This peer received a replica of `file` from `from`, the responsible
    /// peer before it.
    ReplicaReceived {
        file: FileName,
        from: PeerId,
    },

    // Ours, printed only when `Status` is typed.
    /// The peer's view of the ring and the ring's files it holds, in a few
    /// printed lines.
    Status {
        view: View,
        stored: Vec<FileName>,
        replicas: Vec<FileName>,
    },
}

impl Line {
    /// Whether this is one of the ping lines of step 2 (a round sent, a
    /// ping received, an answer received), which `--quiet-pings` keeps off
    /// standard output.
    pub fn is_ping(&self) -> bool {
        matches!(
            self,
            Line::PingRequestsSent { .. }
                | Line::PingRequestReceived { .. }
                | Line::PingResponseReceived { .. }
        )
    }
}

/// Why a file was handed over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandoverReason {
    /// The receiver is responsible for the file now: it joined, or the
    /// peer that was responsible left or died.
    Responsible,
    /// The sender is leaving the ring (`Quit`).
    Leaving,
    /// Neither peer is responsible, but the receiver is nearer the file's
    /// place in the ring: it travels on from there.
    Nearer,
}

/// How a course version words its lines.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Wording {
    /// The course as taught now: the program `p2p`.
    #[default]
    P2p,
    /// The older course version (2019): the program `cdht`.
    Cdht,
}

impl Wording {
    /// The text `line` is printed as, one entry a printed line, without
    /// newlines: usually one, none for a line the version does not print,
    /// two where the version says one thing in two sentences.
    pub fn render(self, line: &Line) -> Vec<String> {
        match self {
            Wording::P2p => render_p2p(line),
            Wording::Cdht => render_cdht(line),
        }
    }
}

/// The answer to `Status`, the same in both versions: what the peer is
/// doing, its neighbours by position, and the files it holds.
fn render_status(view: &View, stored: &[FileName], replicas: &[FileName]) -> Vec<String> {
    let standing = match view.standing {
        Standing::Member => "is a member of the ring",
        Standing::Joining => "is waiting to be placed in the ring",
        Standing::Leaving => "is leaving the ring",
    };
    let by_position = |peers: &[Option<PeerId>]| {
        if peers.is_empty() {
            return "none known".to_string();
        }
        let named: Vec<String> = peers
            .iter()
            .enumerate()
            .map(|(index, peer)| {
                let position = Ordinal::from_index(index).map_or("next", Ordinal::word);
                match peer {
                    Some(peer) => format!("{position} Peer {peer}"),
                    None => format!("{position} unknown"),
                }
            })
            .collect();
        named.join(", ")
    };
    let files = |files: &[FileName]| {
        if files.is_empty() {
            return "none".to_string();
        }
        let names: Vec<String> = files.iter().map(FileName::to_string).collect();
        names.join(" ")
    };
    let successors: Vec<Option<PeerId>> = view.successors.iter().copied().map(Some).collect();
    vec![
        format!(
            "Peer {} {standing}, pinging every {} s",
            view.peer,
            view.ping_interval.as_secs_f64()
        ),
        format!("Successors: {}", by_position(&successors)),
        format!("Predecessors: {}", by_position(&view.predecessors)),
        format!("Files stored here: {}", files(stored)),
        format!("Replicas kept here: {}", files(replicas)),
    ]
}

/// The older version's wording. Lines it has no words for (joins, stores,
/// the ring's file movements: that version has none of these) keep the
/// newer version's.
fn render_cdht(line: &Line) -> Vec<String> {
    let one = |text: String| vec![text];
    match line {
        Line::PingRequestsSent { .. } => Vec::new(),
        Line::PingRequestReceived { from } => one(format!(
            "A ping request message was received from Peer {from}."
        )),
        Line::PingResponseReceived { from } => one(format!(
            "A ping response message was received from Peer {from}."
        )),
        Line::NewSuccessor { position, peer } => {
            one(format!("My {position} successor is now peer {peer}."))
        }
        Line::WillDepart { peer } => one(format!("Peer {peer} will depart from the network.")),
        Line::NoLongerAlive { peer } => one(format!("Peer {peer} is no longer alive.")),
        Line::FileRequestSent { file } => one(format!(
            "File request message for {file} has been sent to my successor."
        )),
        Line::FileNotStoredHere { file } => one(format!("File {file} is not stored here.")),
        Line::RequestForwarded => {
            one("File request message has been forwarded to my successor.".to_string())
        }
        Line::FileStoredHere { file } => one(format!("File {file} is here.")),
        Line::SendingFile { to, .. } => vec![
            format!("A response message, destined for peer {to}, has been sent."),
            format!("We now start sending the file {CDHT_DOTS}"),
        ],
        Line::FileSent => one("The file is sent.".to_string()),
        Line::PeerHadFile { peer, file } => one(format!(
            "Received a response message from peer {peer}, which has the file {file}."
        )),
        Line::ReceivingFile { .. } => one(format!("We now start receiving the file {CDHT_DOTS}")),
        Line::FileReceived { .. } => one("The file is received.".to_string()),
        Line::FileNotFound { file, peer } => one(format!(
            "File {file} was not found: peer {peer}, which is responsible for it, does not have it."
        )),
        other => render_p2p(other),
    }
}

/// The run of dots the older version ends two lines with; its PDF shows
/// ellipsis characters, which we print as nine ASCII dots.
const CDHT_DOTS: &str = ".........";

fn render_p2p(line: &Line) -> Vec<String> {
    vec![match line {
        Line::PingRequestsSent { to } => match to.as_slice() {
            [one] => format!("Ping request sent to Peer {one}"),
            many => format!("Ping requests sent to Peers {}", peers_in_words(many)),
        },
        Line::PingRequestReceived { from } => {
            format!("Ping request message received from Peer {from}")
        }
        Line::PingResponseReceived { from } => format!("Ping response received from Peer {from}"),
        Line::NewSuccessor { position, peer } => {
            format!("My new {position} successor is Peer {peer}")
        }
        Line::JoinRequestForwarded { newcomer } => {
            format!("Peer {newcomer} Join request forwarded to my successor")
        }
        Line::JoinRequestReceived { newcomer } => format!("Peer {newcomer} Join request received"),
        Line::SuccessorChangeReceived => "Successor Change request received".to_string(),
        Line::JoinAccepted => "Join request has been accepted".to_string(),
        Line::Successor { position, peer } => format!("My {position} successor is Peer {peer}"),
        Line::WillDepart { peer } => format!("Peer {peer} will depart from the network"),
        Line::NoLongerAlive { peer } => format!("Peer {peer} is no longer alive"),
        Line::StoreForwarded { file } => format!("Store {file} request forwarded to my successor"),
        Line::StoreAccepted { file } => format!("Store {file} request accepted"),
        Line::FileRequestSent { file } => {
            format!("File request for {file} has been sent to my successor")
        }
        Line::FileNotStoredHere { file } => {
            format!("Request for File {file} has been received, but the file is not stored here")
        }
        Line::RequestForwarded => return Vec::new(),
        Line::FileStoredHere { file } => format!("File {file} is stored here"),
        Line::SendingFile { file, to } => format!("Sending file {file} to Peer {to}"),
        Line::FileSent => "The file has been sent".to_string(),
        Line::PeerHadFile { peer, file } => format!("Peer {peer} had File {file}"),
        Line::ReceivingFile { file, from } => format!("Receiving File {file} from Peer {from}"),
        Line::FileReceived { file } => format!("File {file} received"),
        Line::FileNotFound { file, peer } => format!(
            "File {file} was not found: Peer {peer}, which is responsible for it, does not have it"
        ),
        Line::FileHandedOver { file, to, reason } => {
            let why = match reason {
                HandoverReason::Responsible => "it is responsible for it now",
                HandoverReason::Leaving => "this peer is leaving",
                HandoverReason::Nearer => "it is nearer the file's place in the ring",
            };
            format!("Handed over File {file} to Peer {to}: {why}")
        }
        Line::FileTakenOver { file, from, reason } => {
            let why = match reason {
                HandoverReason::Nearer => "this peer is nearer the file's place in the ring",
                HandoverReason::Responsible | HandoverReason::Leaving => {
                    "this peer is responsible for it now"
                }
            };
            format!("Took over File {file} from Peer {from}: {why}")
        }
        Line::ReplicaSent { file, to } => format!("Sent a replica of File {file} to Peer {to}"),
        Line::ReplicaReceived { file, from } => {
            format!("Received a replica of File {file} from Peer {from}")
        }
        Line::Status {
            view,
            stored,
            replicas,
        } => return render_status(view, stored, replicas),
    }]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str) -> FileName {
        FileName::parse(name).expect("a valid name")
    }

    fn peers(ids: &[u8]) -> Vec<PeerId> {
        ids.iter().copied().map(PeerId).collect()
    }

    #[test]
    fn lines_match_the_reference_exactly() {
        let cases = [
            (
                Line::PingRequestsSent { to: peers(&[4, 5]) },
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
                Line::NewSuccessor {
                    position: Ordinal::First,
                    peer: PeerId(15),
                },
                "My new first successor is Peer 15",
            ),
            (
                Line::NewSuccessor {
                    position: Ordinal::Second,
                    peer: PeerId(19),
                },
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
                Line::Successor {
                    position: Ordinal::First,
                    peer: PeerId(19),
                },
                "My first successor is Peer 19",
            ),
            (
                Line::Successor {
                    position: Ordinal::Second,
                    peer: PeerId(2),
                },
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
            assert_eq!(Wording::P2p.render(&line), [text]);
        }
    }

    #[test]
    fn each_file_movement_of_the_ring_has_its_line() {
        let render = |line: Line| Wording::P2p.render(&line).join("\n");
        let handed = |reason| Line::FileHandedOver {
            file: file("2063"),
            to: PeerId(15),
            reason,
        };
        assert_eq!(
            render(handed(HandoverReason::Responsible)),
            "Handed over File 2063 to Peer 15: it is responsible for it now"
        );
        assert_eq!(
            render(handed(HandoverReason::Leaving)),
            "Handed over File 2063 to Peer 15: this peer is leaving"
        );
        assert_eq!(
            render(handed(HandoverReason::Nearer)),
            "Handed over File 2063 to Peer 15: it is nearer the file's place in the ring"
        );
        let taken = |reason| Line::FileTakenOver {
            file: file("2063"),
            from: PeerId(19),
            reason,
        };
        assert_eq!(
            render(taken(HandoverReason::Responsible)),
            "Took over File 2063 from Peer 19: this peer is responsible for it now"
        );
        assert_eq!(
            render(taken(HandoverReason::Nearer)),
            "Took over File 2063 from Peer 19: this peer is nearer the file's place in the ring"
        );
        assert_eq!(
            render(Line::ReplicaSent {
                file: file("2067"),
                to: PeerId(2)
            }),
            "Sent a replica of File 2067 to Peer 2"
        );
        assert_eq!(
            render(Line::ReplicaReceived {
                file: file("2067"),
                from: PeerId(19)
            }),
            "Received a replica of File 2067 from Peer 19"
        );
    }

    #[test]
    fn the_older_version_words_the_same_events_its_own_way() {
        let cdht = |line: Line| Wording::Cdht.render(&line);
        assert!(cdht(Line::PingRequestsSent { to: peers(&[3, 4]) }).is_empty());
        assert!(Wording::P2p.render(&Line::RequestForwarded).is_empty());
        let cases = [
            (
                Line::PingRequestReceived { from: PeerId(5) },
                vec!["A ping request message was received from Peer 5."],
            ),
            (
                Line::PingResponseReceived { from: PeerId(10) },
                vec!["A ping response message was received from Peer 10."],
            ),
            (
                Line::FileRequestSent { file: file("2012") },
                vec!["File request message for 2012 has been sent to my successor."],
            ),
            (
                Line::FileNotStoredHere { file: file("2012") },
                vec!["File 2012 is not stored here."],
            ),
            (
                Line::RequestForwarded,
                vec!["File request message has been forwarded to my successor."],
            ),
            (
                Line::FileStoredHere { file: file("2012") },
                vec!["File 2012 is here."],
            ),
            (
                Line::SendingFile {
                    file: file("2012"),
                    to: PeerId(8),
                },
                vec![
                    "A response message, destined for peer 8, has been sent.",
                    "We now start sending the file .........",
                ],
            ),
            (Line::FileSent, vec!["The file is sent."]),
            (
                Line::PeerHadFile {
                    peer: PeerId(1),
                    file: file("2012"),
                },
                vec!["Received a response message from peer 1, which has the file 2012."],
            ),
            (
                Line::ReceivingFile {
                    file: file("2012"),
                    from: PeerId(1),
                },
                vec!["We now start receiving the file ........."],
            ),
            (
                Line::FileReceived { file: file("2012") },
                vec!["The file is received."],
            ),
            (
                Line::WillDepart { peer: PeerId(10) },
                vec!["Peer 10 will depart from the network."],
            ),
            (
                Line::NewSuccessor {
                    position: Ordinal::First,
                    peer: PeerId(12),
                },
                vec!["My first successor is now peer 12."],
            ),
            (
                Line::NewSuccessor {
                    position: Ordinal::Second,
                    peer: PeerId(15),
                },
                vec!["My second successor is now peer 15."],
            ),
            (
                Line::NoLongerAlive { peer: PeerId(5) },
                vec!["Peer 5 is no longer alive."],
            ),
        ];
        for (line, text) in cases {
            assert_eq!(cdht(line), text);
        }
    }

    #[test]
    fn only_the_three_ping_lines_are_pings() {
        assert!(Line::PingRequestsSent { to: peers(&[4, 5]) }.is_ping());
        assert!(Line::PingRequestReceived { from: PeerId(2) }.is_ping());
        assert!(Line::PingResponseReceived { from: PeerId(4) }.is_ping());
        assert!(!Line::NoLongerAlive { peer: PeerId(4) }.is_ping());
        assert!(!Line::JoinAccepted.is_ping());
    }

    #[test]
    fn longer_successor_lists_are_named_in_full() {
        let render = |line: Line| Wording::P2p.render(&line).join("\n");
        assert_eq!(
            render(Line::PingRequestsSent {
                to: peers(&[4, 5, 8])
            }),
            "Ping requests sent to Peers 4, 5 and 8"
        );
        assert_eq!(
            render(Line::PingRequestsSent { to: peers(&[19]) }),
            "Ping request sent to Peer 19"
        );
        assert_eq!(
            render(Line::NewSuccessor {
                position: Ordinal::Third,
                peer: PeerId(8)
            }),
            "My new third successor is Peer 8"
        );
        assert_eq!(
            render(Line::Successor {
                position: Ordinal::Eighth,
                peer: PeerId(250)
            }),
            "My eighth successor is Peer 250"
        );
    }
}
