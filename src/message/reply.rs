//! The replies: the one line that answers a [`Request`](super::Request) on
//! its connection.

use std::fmt;

use super::{ErrorReason, Fields, HELD_PAGE, Page, ParseError, Role, View, Words, write_peers};
use crate::ring::{FileName, PeerId};

/// A reply to a request, sent over TCP on the request's connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// `OK`: the request was received and handled.
    Ok,
    /// `READY <port>`: the answer to `OFFER`: send the segments to this UDP
    /// port.
    Ready { port: u16 },
    /// `HAVE`: the answer to an `OFFER` of a file the receiver holds
    /// already: nothing needs to be sent.
    Have,
    /// `NEIGHBOURS <predecessor> <successor>...`: the answer to `QUERY`:
    /// the nearest peer known to ping this one as its first successor (`-`
    /// if none), then the successors, nearest first.
    Neighbours {
        predecessor: Option<PeerId>,
        successors: Vec<PeerId>,
    },
    /// `LEAVING <successor>...`: the answer to `QUERY` from a peer that is
    /// leaving the ring: the successors that take its place.
    Leaving { successors: Vec<PeerId> },
    /// `VIEW <peer> <standing> <interval-ms> <successor-count> <copies>
    /// <stay|follow> <successors> <predecessors>`: the answer to `STATUS`;
    /// see [`View`].
    View(View),
    /// `HELD <more|end> <file>...`: the answer to `HOLDINGS`: up to
    /// [`HELD_PAGE`] files in ascending order, and whether more follow.
    Held { page: Page, files: Vec<FileName> },
    /// `ERROR <reason>`: the request could not be handled.
    Error { reason: ErrorReason },
}

impl Reply {
    /// Parses one line, without its newline.
    pub fn parse(line: &str) -> Result<Reply, ParseError> {
        Reply::from_words(Words::of_line(line)?)
    }

    /// Parses the bytes of one line read from a connection; a single
    /// trailing newline is allowed.
    pub fn from_bytes(bytes: &[u8]) -> Result<Reply, ParseError> {
        Reply::from_words(Words::of_bytes(bytes)?)
    }

    fn from_words(words: Words<'_>) -> Result<Reply, ParseError> {
        let fields = &words.fields;
        match words.verb {
            "OK" => {
                Fields::exactly("OK", fields, 0)?;
                Ok(Reply::Ok)
            }
            "READY" => {
                let mut f = Fields::exactly("READY", fields, 1)?;
                Ok(Reply::Ready {
                    port: f.next("port")?,
                })
            }
            "HAVE" => {
                Fields::exactly("HAVE", fields, 0)?;
                Ok(Reply::Have)
            }
            "NEIGHBOURS" => {
                let mut f = Fields::with_list("NEIGHBOURS", fields, 1)?;
                Ok(Reply::Neighbours {
                    predecessor: f.optional_peer("predecessor")?,
                    successors: f.peers("successor")?,
                })
            }
            "LEAVING" => {
                let mut f = Fields::with_list("LEAVING", fields, 0)?;
                Ok(Reply::Leaving {
                    successors: f.peers("successor")?,
                })
            }
            "VIEW" => {
                let mut f = Fields::exactly("VIEW", fields, 8)?;
                Ok(Reply::View(View::from_fields(&mut f)?))
            }
            "HELD" => {
                let mut f = Fields::up_to("HELD", fields, 1, HELD_PAGE)?;
                let page = f.next("more|end")?;
                let files: Vec<FileName> = f.rest("file")?;
                if !files.windows(2).all(|pair| pair[0] < pair[1]) {
                    return Err(f.bad("file", "not in ascending order".to_string()));
                }
                Ok(Reply::Held { page, files })
            }
            "ERROR" => {
                let mut f = Fields::exactly("ERROR", fields, 1)?;
                Ok(Reply::Error {
                    reason: f.next("reason")?,
                })
            }
            _ => Err(words.not_a(Role::Reply)),
        }
    }

    /// The reply as it travels: its line, newline included.
    pub fn to_bytes(&self) -> Vec<u8> {
        format!("{self}\n").into_bytes()
    }
}

impl fmt::Display for Reply {
    /// Prints the line without its newline; [`Reply::parse`] reads it back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reply::Ok => f.write_str("OK"),
            Reply::Ready { port } => write!(f, "READY {port}"),
            Reply::Have => f.write_str("HAVE"),
            Reply::Neighbours {
                predecessor,
                successors,
            } => {
                match predecessor {
                    Some(peer) => write!(f, "NEIGHBOURS {peer}")?,
                    None => f.write_str("NEIGHBOURS -")?,
                }
                write_peers(f, successors)
            }
            Reply::Leaving { successors } => {
                f.write_str("LEAVING")?;
                write_peers(f, successors)
            }
            Reply::View(view) => write!(f, "VIEW {view}"),
            Reply::Held { page, files } => {
                write!(f, "HELD {page}")?;
                files.iter().try_for_each(|file| write!(f, " {file}"))
            }
            Reply::Error { reason } => write!(f, "ERROR {reason}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{FilePolicy, Standing};
    use std::time::Duration;

    fn examples() -> Vec<(Reply, &'static str)> {
        vec![
            (Reply::Ok, "OK"),
            (Reply::Ready { port: 40_123 }, "READY 40123"),
            (Reply::Have, "HAVE"),
            (
                Reply::View(View {
                    peer: PeerId(8),
                    standing: Standing::Member,
                    ping_interval: Duration::from_millis(5000),
                    successor_count: 3,
                    copies: 2,
                    files: FilePolicy::Follow,
                    successors: vec![PeerId(9), PeerId(14), PeerId(19)],
                    predecessors: vec![Some(PeerId(5)), None, Some(PeerId(2))],
                }),
                "VIEW 8 member 5000 3 2 follow 9,14,19 5,-,2",
            ),
            (
                Reply::View(View {
                    peer: PeerId(15),
                    standing: Standing::Joining,
                    ping_interval: Duration::from_millis(200),
                    successor_count: 2,
                    copies: 1,
                    files: FilePolicy::Stay,
                    successors: vec![],
                    predecessors: vec![],
                }),
                "VIEW 15 joining 200 2 1 stay - -",
            ),
            (
                Reply::Held {
                    page: Page::End,
                    files: vec![],
                },
                "HELD end",
            ),
            (
                Reply::Held {
                    page: Page::More,
                    files: vec![file(2012), file(2067)],
                },
                "HELD more 2012 2067",
            ),
            (
                Reply::Neighbours {
                    predecessor: Some(PeerId(8)),
                    successors: vec![PeerId(14), PeerId(19)],
                },
                "NEIGHBOURS 8 14 19",
            ),
            (
                Reply::Neighbours {
                    predecessor: None,
                    successors: vec![PeerId(2)],
                },
                "NEIGHBOURS - 2",
            ),
            (
                Reply::Leaving {
                    successors: vec![PeerId(14), PeerId(19)],
                },
                "LEAVING 14 19",
            ),
            (
                Reply::Error {
                    reason: ErrorReason::Malformed,
                },
                "ERROR malformed",
            ),
            (
                Reply::Error {
                    reason: ErrorReason::Unexpected,
                },
                "ERROR unexpected",
            ),
            (
                Reply::Error {
                    reason: ErrorReason::NotReady,
                },
                "ERROR not-ready",
            ),
            (
                Reply::Error {
                    reason: ErrorReason::CannotWrite,
                },
                "ERROR cannot-write",
            ),
            (
                Reply::Error {
                    reason: ErrorReason::Busy,
                },
                "ERROR busy",
            ),
            (
                Reply::Error {
                    reason: ErrorReason::NotLeaving,
                },
                "ERROR not-leaving",
            ),
        ]
    }

    #[test]
    fn every_reply_round_trips_in_its_documented_form() {
        for (reply, line) in examples() {
            assert_eq!(reply.to_string(), line);
            assert_eq!(Reply::parse(line), Ok(reply.clone()), "{line}");
            assert_eq!(Reply::from_bytes(&reply.to_bytes()), Ok(reply));
        }
    }

    fn file(number: u16) -> FileName {
        FileName::parse(&format!("{number:04}")).expect("a file name")
    }

    #[test]
    fn bad_views_and_pages_are_refused() {
        for line in [
            "VIEW 8 member 5000 2 1 stay 9,9 5",
            "VIEW 8 member 5000 2 1 stay 9,14,19 5",
            "VIEW 8 member 5000 0 1 stay - -",
            "VIEW 8 member 5000 2 1 stay 9,14 5,-",
            "VIEW 8 member 5000 2 1 stay 9, 5",
            "VIEW 8 resting 5000 2 1 stay 9 5",
            "VIEW 8 member 5000 2 1 keep 9 5",
            "VIEW 8 member 5000 2 1 stay 9,+14 5",
            "HELD end 2067 2012",
            "HELD maybe",
            "HELD more 206",
        ] {
            assert!(Reply::parse(line).is_err(), "{line}");
        }
        let page: Vec<String> = (0..=32).map(|n| format!("{n:04}")).collect();
        let line = format!("HELD more {}", page.join(" "));
        assert!(line.len() < crate::message::MAX_LINE_LEN);
        assert!(matches!(
            Reply::parse(&line),
            Err(ParseError::WrongFieldCount { verb: "HELD", .. })
        ));
    }

    #[test]
    fn bad_replies_are_named() {
        assert_eq!(
            Reply::from_bytes(b"READY 70000"),
            Err(ParseError::BadField {
                verb: "READY",
                field: "port",
                value: "70000".into(),
            })
        );
        assert!(matches!(
            Reply::from_bytes(b"OK 1"),
            Err(ParseError::WrongFieldCount { verb: "OK", .. })
        ));
        assert!(matches!(
            Reply::from_bytes(b"NEIGHBOURS 8"),
            Err(ParseError::WrongFieldCount {
                verb: "NEIGHBOURS",
                ..
            })
        ));
        assert!(matches!(
            Reply::from_bytes(b"ERROR sorry"),
            Err(ParseError::BadField { verb: "ERROR", .. })
        ));
    }
}
