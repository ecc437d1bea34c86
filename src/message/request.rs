//! The requests: the first line of a TCP connection, sent by the side that
//! opened it. Each is answered by one [`Reply`](super::Reply).

use std::fmt;

use super::{Fields, ParseError, Purpose, RefuseReason, Role, Target, Words, write_peers};
use crate::ring::{FileName, Held, PeerId};

/// A request, sent over TCP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// `JOIN <newcomer> <sender> <hops>`: `newcomer` asks for a place in the
    /// ring. Each peer that cannot place it passes it on to its first
    /// successor, naming itself as `sender` and adding one to `hops`.
    Join {
        newcomer: PeerId,
        sender: PeerId,
        hops: u32,
    },
    /// `WELCOME <successor>...`, to the newcomer: you are placed, and these
    /// are your successors, nearest first.
    Welcome { successors: Vec<PeerId> },
    /// `REFUSE <reason>`, to the newcomer: you cannot join.
    Refuse { reason: RefuseReason },
    /// `CHANGE <from> <successor>...`: `from`, one of your successors, has
    /// taken a newcomer; these are its successors now.
    Change {
        from: PeerId,
        successors: Vec<PeerId>,
    },
    /// `LEAVE <from> <successor>...`: `from` is leaving the ring gracefully;
    /// these were its successors.
    Leave {
        from: PeerId,
        successors: Vec<PeerId>,
    },
    /// `QUERY <from>`: who are your neighbours? Answered with
    /// [`Reply::Neighbours`](super::Reply::Neighbours) (the nearest
    /// predecessor and the successors), [`Reply::Leaving`](super::Reply::Leaving)
    /// by a peer that is leaving, or `ERROR not-ready`.
    Query { from: PeerId },
    /// `WATCH <from>`: keep this connection open for as long as you run.
    /// Answered with `OK`; after that nothing more is sent, and the
    /// connection closing tells `from` that this peer's process has ended.
    Watch { from: PeerId },
    /// `STORE <file> <origin> <hops> <owner|search>`: `origin` wants `file`
    /// stored by the peer responsible for it. `owner` says the sender has
    /// worked out that the receiver is that peer; `search` that the
    /// receiver must decide.
    Store {
        file: FileName,
        origin: PeerId,
        hops: u32,
        target: Target,
    },
    /// `REQUEST <file> <origin> <hops> <owner|search>`: `origin` wants a
    /// copy of `file`; the fields are those of `STORE`.
    FileRequest {
        file: FileName,
        origin: PeerId,
        hops: u32,
        target: Target,
    },
    /// `FETCH <file> <from>`: `from` has accepted to store `file` and asks
    /// the peer where it was typed to send it.
    Fetch { file: FileName, from: PeerId },
    /// `OFFER <file> <from> <size> <store|request>`: `from` is about to send
    /// `size` bytes of `file`. Answered with `READY <port>`.
    Offer {
        file: FileName,
        from: PeerId,
        size: u64,
        purpose: Purpose,
    },
    /// `NOTFOUND <file> <from>`, to the requester: `from` is responsible for
    /// `file` but does not have it.
    NotFound { file: FileName, from: PeerId },
    /// `STATUS`: what is your view of the ring? Answered with
    /// [`Reply::View`](super::Reply::View). Anyone may ask; `p2p ring` does.
    Status,
    /// `HOLDINGS <stored|replica> <after>`: which of the ring's files do you
    /// keep under this name, after `after` (`-` for the first)? Answered
    /// with [`Reply::Held`](super::Reply::Held), one page at a time.
    Holdings { held: Held, after: Option<FileName> },
}

impl Request {
    /// Parses one line, without its newline.
    pub fn parse(line: &str) -> Result<Request, ParseError> {
        Request::from_words(Words::of_line(line)?)
    }

    /// Parses the bytes of one line read from a connection; a single
    /// trailing newline is allowed.
    pub fn from_bytes(bytes: &[u8]) -> Result<Request, ParseError> {
        Request::from_words(Words::of_bytes(bytes)?)
    }

    fn from_words(words: Words<'_>) -> Result<Request, ParseError> {
        let fields = &words.fields;
        match words.verb {
            "JOIN" => {
                let mut f = Fields::exactly("JOIN", fields, 3)?;
                Ok(Request::Join {
                    newcomer: f.next("newcomer")?,
                    sender: f.next("sender")?,
                    hops: f.next("hops")?,
                })
            }
            "WELCOME" => {
                let mut f = Fields::with_list("WELCOME", fields, 0)?;
                Ok(Request::Welcome {
                    successors: f.peers("successor")?,
                })
            }
            "REFUSE" => {
                let mut f = Fields::exactly("REFUSE", fields, 1)?;
                Ok(Request::Refuse {
                    reason: f.next("reason")?,
                })
            }
            "CHANGE" => {
                let mut f = Fields::with_list("CHANGE", fields, 1)?;
                Ok(Request::Change {
                    from: f.next("from")?,
                    successors: f.peers("successor")?,
                })
            }
            "LEAVE" => {
                let mut f = Fields::with_list("LEAVE", fields, 1)?;
                Ok(Request::Leave {
                    from: f.next("from")?,
                    successors: f.peers("successor")?,
                })
            }
            "QUERY" => {
                let mut f = Fields::exactly("QUERY", fields, 1)?;
                Ok(Request::Query {
                    from: f.next("from")?,
                })
            }
            "WATCH" => {
                let mut f = Fields::exactly("WATCH", fields, 1)?;
                Ok(Request::Watch {
                    from: f.next("from")?,
                })
            }
            "STORE" => {
                let mut f = Fields::exactly("STORE", fields, 4)?;
                Ok(Request::Store {
                    file: f.next("file")?,
                    origin: f.next("origin")?,
                    hops: f.next("hops")?,
                    target: f.next("owner|search")?,
                })
            }
            "REQUEST" => {
                let mut f = Fields::exactly("REQUEST", fields, 4)?;
                Ok(Request::FileRequest {
                    file: f.next("file")?,
                    origin: f.next("origin")?,
                    hops: f.next("hops")?,
                    target: f.next("owner|search")?,
                })
            }
            "FETCH" => {
                let mut f = Fields::exactly("FETCH", fields, 2)?;
                Ok(Request::Fetch {
                    file: f.next("file")?,
                    from: f.next("from")?,
                })
            }
            "OFFER" => {
                let mut f = Fields::exactly("OFFER", fields, 4)?;
                Ok(Request::Offer {
                    file: f.next("file")?,
                    from: f.next("from")?,
                    size: f.next("size")?,
                    purpose: f.next("store|request")?,
                })
            }
            "NOTFOUND" => {
                let mut f = Fields::exactly("NOTFOUND", fields, 2)?;
                Ok(Request::NotFound {
                    file: f.next("file")?,
                    from: f.next("from")?,
                })
            }
            "STATUS" => {
                Fields::exactly("STATUS", fields, 0)?;
                Ok(Request::Status)
            }
            "HOLDINGS" => {
                let mut f = Fields::exactly("HOLDINGS", fields, 2)?;
                Ok(Request::Holdings {
                    held: f.next("stored|replica")?,
                    after: f.optional("after")?,
                })
            }
            _ => Err(words.not_a(Role::Request)),
        }
    }

    /// The request as it travels: its line, newline included.
    pub fn to_bytes(&self) -> Vec<u8> {
        format!("{self}\n").into_bytes()
    }
}

impl fmt::Display for Request {
    /// Prints the line without its newline; [`Request::parse`] reads it
    /// back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Request::Join {
                newcomer,
                sender,
                hops,
            } => write!(f, "JOIN {newcomer} {sender} {hops}"),
            Request::Welcome { successors } => {
                f.write_str("WELCOME")?;
                write_peers(f, successors)
            }
            Request::Refuse { reason } => write!(f, "REFUSE {reason}"),
            Request::Change { from, successors } => {
                write!(f, "CHANGE {from}")?;
                write_peers(f, successors)
            }
            Request::Leave { from, successors } => {
                write!(f, "LEAVE {from}")?;
                write_peers(f, successors)
            }
            Request::Query { from } => write!(f, "QUERY {from}"),
            Request::Watch { from } => write!(f, "WATCH {from}"),
            Request::Store {
                file,
                origin,
                hops,
                target,
            } => write!(f, "STORE {file} {origin} {hops} {target}"),
            Request::FileRequest {
                file,
                origin,
                hops,
                target,
            } => write!(f, "REQUEST {file} {origin} {hops} {target}"),
            Request::Fetch { file, from } => write!(f, "FETCH {file} {from}"),
            Request::Offer {
                file,
                from,
                size,
                purpose,
            } => write!(f, "OFFER {file} {from} {size} {purpose}"),
            Request::NotFound { file, from } => write!(f, "NOTFOUND {file} {from}"),
            Request::Status => f.write_str("STATUS"),
            Request::Holdings { held, after } => match after {
                Some(file) => write!(f, "HOLDINGS {held} {file}"),
                None => write!(f, "HOLDINGS {held} -"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::FieldCount;
    use super::*;

    fn file(name: &str) -> FileName {
        FileName::parse(name).expect("a valid name")
    }

    fn peers(ids: &[u8]) -> Vec<PeerId> {
        ids.iter().copied().map(PeerId).collect()
    }

    fn examples() -> Vec<(Request, &'static str)> {
        vec![
            (
                Request::Join {
                    newcomer: PeerId(15),
                    sender: PeerId(9),
                    hops: 4,
                },
                "JOIN 15 9 4",
            ),
            (
                Request::Welcome {
                    successors: peers(&[19, 2]),
                },
                "WELCOME 19 2",
            ),
            (
                Request::Welcome {
                    successors: peers(&[19, 2, 4, 5, 8, 9, 14, 250]),
                },
                "WELCOME 19 2 4 5 8 9 14 250",
            ),
            (
                Request::Refuse {
                    reason: RefuseReason::Duplicate,
                },
                "REFUSE duplicate",
            ),
            (
                Request::Refuse {
                    reason: RefuseReason::NoPlace,
                },
                "REFUSE no-place",
            ),
            (
                Request::Change {
                    from: PeerId(14),
                    successors: peers(&[15, 19]),
                },
                "CHANGE 14 15 19",
            ),
            (
                Request::Leave {
                    from: PeerId(9),
                    successors: peers(&[14, 19, 2]),
                },
                "LEAVE 9 14 19 2",
            ),
            (Request::Query { from: PeerId(8) }, "QUERY 8"),
            (Request::Watch { from: PeerId(8) }, "WATCH 8"),
            (
                Request::Store {
                    file: file("2067"),
                    origin: PeerId(8),
                    hops: 2,
                    target: Target::Owner,
                },
                "STORE 2067 8 2 owner",
            ),
            (
                Request::FileRequest {
                    file: file("0042"),
                    origin: PeerId(2),
                    hops: 0,
                    target: Target::Search,
                },
                "REQUEST 0042 2 0 search",
            ),
            (
                Request::Fetch {
                    file: file("2067"),
                    from: PeerId(19),
                },
                "FETCH 2067 19",
            ),
            (
                Request::Offer {
                    file: file("4103"),
                    from: PeerId(8),
                    size: 20_543,
                    purpose: Purpose::Request,
                },
                "OFFER 4103 8 20543 request",
            ),
            (
                Request::Offer {
                    file: file("2067"),
                    from: PeerId(8),
                    size: 0,
                    purpose: Purpose::Store,
                },
                "OFFER 2067 8 0 store",
            ),
            (
                Request::Offer {
                    file: file("2063"),
                    from: PeerId(19),
                    size: 512,
                    purpose: Purpose::Handover,
                },
                "OFFER 2063 19 512 handover",
            ),
            (
                Request::Offer {
                    file: file("2067"),
                    from: PeerId(19),
                    size: 512,
                    purpose: Purpose::Replica,
                },
                "OFFER 2067 19 512 replica",
            ),
            (
                Request::NotFound {
                    file: file("4103"),
                    from: PeerId(8),
                },
                "NOTFOUND 4103 8",
            ),
            (Request::Status, "STATUS"),
            (
                Request::Holdings {
                    held: Held::Stored,
                    after: None,
                },
                "HOLDINGS stored -",
            ),
            (
                Request::Holdings {
                    held: Held::Replica,
                    after: Some(file("0042")),
                },
                "HOLDINGS replica 0042",
            ),
        ]
    }

    #[test]
    fn every_request_round_trips_in_its_documented_form() {
        for (request, line) in examples() {
            assert_eq!(request.to_string(), line);
            assert_eq!(Request::parse(line), Ok(request.clone()), "{line}");
            assert_eq!(Request::from_bytes(&request.to_bytes()), Ok(request));
        }
    }

    #[test]
    fn bad_requests_are_named() {
        let cases: Vec<(&[u8], ParseError)> = vec![
            (
                b"STATUS 4",
                ParseError::WrongFieldCount {
                    verb: "STATUS",
                    expected: FieldCount::Exactly(0),
                    found: 1,
                },
            ),
            (
                b"HOLDINGS copies -",
                ParseError::BadField {
                    verb: "HOLDINGS",
                    field: "stored|replica",
                    value: "copies".into(),
                },
            ),
            (
                b"REFUSE maybe",
                ParseError::BadField {
                    verb: "REFUSE",
                    field: "reason",
                    value: "maybe".into(),
                },
            ),
            (
                b"STORE 206 8 0 search",
                ParseError::BadField {
                    verb: "STORE",
                    field: "file",
                    value: "206".into(),
                },
            ),
            (
                b"WELCOME",
                ParseError::WrongFieldCount {
                    verb: "WELCOME",
                    expected: FieldCount::Between(1, 8),
                    found: 0,
                },
            ),
            (
                b"CHANGE 14",
                ParseError::WrongFieldCount {
                    verb: "CHANGE",
                    expected: FieldCount::Between(2, 9),
                    found: 1,
                },
            ),
            (
                b"LEAVE 9 1 2 3 4 5 6 7 8 10",
                ParseError::WrongFieldCount {
                    verb: "LEAVE",
                    expected: FieldCount::Between(2, 9),
                    found: 10,
                },
            ),
            (
                b"WELCOME 19 2 19",
                ParseError::BadField {
                    verb: "WELCOME",
                    field: "successor",
                    value: "19 (named twice)".into(),
                },
            ),
            (
                b"JOIN 15 15 4294967296",
                ParseError::BadField {
                    verb: "JOIN",
                    field: "hops",
                    value: "4294967296".into(),
                },
            ),
        ];
        for (bytes, expected) in cases {
            assert_eq!(Request::from_bytes(bytes), Err(expected), "{bytes:?}");
        }
    }
}
