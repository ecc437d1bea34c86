//! The wire protocol: every message peers send each other, parsed and printed
//! in this one place.
//!
//! A message is one line of ASCII text: a verb in capitals, then fields
//! separated by single spaces, then a newline. A UDP datagram carries exactly
//! one line; a TCP connection carries one request line and one reply line (a
//! `WATCH` connection then stays open). File segments, a header line and the
//! bytes, are read by [`Segment`]. Because every
//! message ends at a newline and is short (see [`MAX_LINE_LEN`]), a reader
//! always knows where a message stops, whatever the socket hands it in one
//! read. `spec/protocol.md` documents each message, its replies and its error
//! cases; a change here changes that file in the same commit.

use std::fmt;
use std::str::FromStr;

use crate::ring::{FileName, PeerId};

/// The longest line a peer accepts, newline included. Every message fits in
/// far less; anything longer is garbage and is rejected before it is parsed.
pub const MAX_LINE_LEN: usize = 256;

/// Which of two neighbours: the first (nearest) or the second successor, or
/// the first or second predecessor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ordinal {
    First,
    Second,
}

impl fmt::Display for Ordinal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Ordinal::First => "first",
            Ordinal::Second => "second",
        })
    }
}

impl FromStr for Ordinal {
    type Err = ();

    fn from_str(text: &str) -> Result<Ordinal, ()> {
        match text {
            "first" => Ok(Ordinal::First),
            "second" => Ok(Ordinal::Second),
            _ => Err(()),
        }
    }
}

/// Every message of the protocol.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// `PING <from> <to> <first|second> <seq>` over UDP: "are you alive?".
    ///
    /// `successor` says which of the sender's successors the receiver is, so
    /// the receiver learns that the sender is its first or second
    /// predecessor. `to` lets the receiver notice a ping meant for someone
    /// else (for example from a ring that uses other ports).
    Ping {
        from: PeerId,
        to: PeerId,
        successor: Ordinal,
        seq: u32,
    },
    /// `PONG <from> <to> <seq>` over UDP: the answer to the ping with the
    /// same `seq`.
    Pong { from: PeerId, to: PeerId, seq: u32 },

    /// `JOIN <newcomer> <sender> <hops>` over TCP: `newcomer` asks for a
    /// place in the ring. Each peer that cannot place it passes it on to its
    /// first successor, naming itself as `sender` and adding one to `hops`.
    Join {
        newcomer: PeerId,
        sender: PeerId,
        hops: u32,
    },
    /// `WELCOME <first> <second>` over TCP, to the newcomer: you are placed,
    /// and these are your successors.
    Welcome { first: PeerId, second: PeerId },
    /// `REFUSE <reason>` over TCP, to the newcomer: you cannot join.
    Refuse { reason: RefuseReason },
    /// `CHANGE <from> <first> <second>` over TCP: `from`, your first
    /// successor, has taken a newcomer, so your successors are now `first`
    /// and `second`.
    Change {
        from: PeerId,
        first: PeerId,
        second: PeerId,
    },
    /// `LEAVE <from> <first> <second>` over TCP: `from` is leaving the ring
    /// gracefully; its successors were `first` and `second`.
    Leave {
        from: PeerId,
        first: PeerId,
        second: PeerId,
    },
    /// `QUERY <from>` over TCP: which are your successors? Answered with
    /// [`Message::Successors`].
    Query { from: PeerId },
    /// `WATCH <from>` over TCP: keep this connection open for as long as you
    /// run. Answered with `OK`; after that nothing more is sent, and the
    /// connection closing tells `from` that this peer's process has ended.
    Watch { from: PeerId },

    /// `STORE <file> <origin> <hops> <owner|search>` over TCP: `origin`
    /// wants `file` stored by the peer responsible for it. `owner` says
    /// the sender has worked out that the receiver is that peer; `search`
    /// that the receiver must decide.
    Store {
        file: FileName,
        origin: PeerId,
        hops: u32,
        target: Target,
    },
    /// `REQUEST <file> <origin> <hops> <owner|search>` over TCP: `origin`
    /// wants a copy of `file`; the fields are those of `STORE`.
    Request {
        file: FileName,
        origin: PeerId,
        hops: u32,
        target: Target,
    },
    /// `FETCH <file> <from>` over TCP: `from` has accepted to store `file`
    /// and asks the peer where it was typed to send it.
    Fetch { file: FileName, from: PeerId },
    /// `OFFER <file> <from> <size> <store|request>` over TCP: `from` is
    /// about to send `size` bytes of `file`. Answered with `READY <port>`.
    Offer {
        file: FileName,
        from: PeerId,
        size: u64,
        purpose: Purpose,
    },
    /// `NOTFOUND <file> <from>` over TCP, to the requester: `from` is
    /// responsible for `file` but does not have it.
    NotFound { file: FileName, from: PeerId },

    /// `OK`: the request was received and handled.
    Ok,
    /// `READY <port>`: the answer to `OFFER`: send the segments to this UDP
    /// port.
    Ready { port: u16 },
    /// `SUCCESSORS <first> <second>`: the answer to `QUERY`.
    Successors { first: PeerId, second: PeerId },
    /// `ERROR <reason>`: the request could not be handled.
    Error { reason: ErrorReason },
}

/// Whether the receiver of a `STORE` or `REQUEST` is known to be the peer
/// responsible for the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The sender found that the file's hash lies between itself and the
    /// receiver, so the receiver is responsible.
    Owner,
    /// The receiver must check, and pass the message on if it is not.
    Search,
}

/// Why a file is being transferred, which decides the name it is saved
/// under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// The receiver stores the file as `NNNN.pdf`.
    Store,
    /// The receiver asked for it and saves it as `received_NNNN.pdf`.
    Request,
}

/// Why a join is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefuseReason {
    /// A peer with the newcomer's identity is already in the ring.
    Duplicate,
    /// The request went round the ring without finding a place, which
    /// happens only while the ring is changing.
    NoPlace,
}

/// Why a request could not be handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorReason {
    /// The line is not a message.
    Malformed,
    /// The message is not a request this peer answers.
    Unexpected,
    /// The peer cannot answer yet (it is joining, or repairing its
    /// successors); asking again shortly will work.
    NotReady,
}

/// Spells the words of a field that takes one of a few words, in one table
/// for each such field.
macro_rules! reason_words {
    ($type:ty { $($variant:ident => $word:literal),+ $(,)? }) => {
        impl fmt::Display for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(match self { $(Self::$variant => $word),+ })
            }
        }

        impl FromStr for $type {
            type Err = ();

            fn from_str(text: &str) -> Result<Self, ()> {
                match text {
                    $($word => Ok(Self::$variant),)+
                    _ => Err(()),
                }
            }
        }
    };
}

reason_words!(Target { Owner => "owner", Search => "search" });
reason_words!(Purpose { Store => "store", Request => "request" });
reason_words!(RefuseReason { Duplicate => "duplicate", NoPlace => "no-place" });
reason_words!(ErrorReason { Malformed => "malformed", Unexpected => "unexpected", NotReady => "not-ready" });

/// Why a line is not a valid message. Each variant says enough to write a
/// useful diagnostic without the line itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// The bytes are longer than [`MAX_LINE_LEN`].
    TooLong { len: usize },
    /// The bytes are not printable ASCII (a stray binary datagram, say).
    NotText,
    /// The line holds nothing.
    Empty,
    /// The first word is not a verb of the protocol.
    UnknownVerb { verb: String },
    /// The verb is known but is followed by the wrong number of fields.
    WrongFieldCount {
        verb: &'static str,
        expected: usize,
        found: usize,
    },
    /// One field does not have the form its position requires.
    BadField {
        verb: &'static str,
        field: &'static str,
        value: String,
    },
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::TooLong { len } => {
                write!(
                    f,
                    "{len} bytes is longer than the {MAX_LINE_LEN}-byte limit of a message"
                )
            }
            ParseError::NotText => f.write_str("it is not a line of printable ASCII text"),
            ParseError::Empty => f.write_str("it is empty"),
            ParseError::UnknownVerb { verb } => write!(f, "unknown verb {verb:?}"),
            ParseError::WrongFieldCount {
                verb,
                expected,
                found,
            } => write!(f, "{verb} takes {expected} fields, found {found}"),
            ParseError::BadField { verb, field, value } => {
                write!(f, "{verb} has a bad <{field}> field {value:?}")
            }
        }
    }
}

impl std::error::Error for ParseError {}

impl Message {
    /// Parses one line, without its newline.
    pub fn parse(line: &str) -> Result<Message, ParseError> {
        // The newline is not part of `line`, so the longest line allowed is
        // one byte shorter than the limit.
        if line.len() >= MAX_LINE_LEN {
            return Err(ParseError::TooLong { len: line.len() });
        }
        if !line.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
            return Err(ParseError::NotText);
        }
        let mut words = line.split(' ');
        let verb = words.next().unwrap_or_default();
        if verb.is_empty() {
            return Err(ParseError::Empty);
        }
        let fields: Vec<&str> = words.collect();
        match verb {
            "PING" => {
                let mut f = Fields::new("PING", &fields, 4)?;
                Ok(Message::Ping {
                    from: f.next("from")?,
                    to: f.next("to")?,
                    successor: f.next("first|second")?,
                    seq: f.next("seq")?,
                })
            }
            "PONG" => {
                let mut f = Fields::new("PONG", &fields, 3)?;
                Ok(Message::Pong {
                    from: f.next("from")?,
                    to: f.next("to")?,
                    seq: f.next("seq")?,
                })
            }
            "JOIN" => {
                let mut f = Fields::new("JOIN", &fields, 3)?;
                Ok(Message::Join {
                    newcomer: f.next("newcomer")?,
                    sender: f.next("sender")?,
                    hops: f.next("hops")?,
                })
            }
            "WELCOME" => {
                let mut f = Fields::new("WELCOME", &fields, 2)?;
                Ok(Message::Welcome {
                    first: f.next("first")?,
                    second: f.next("second")?,
                })
            }
            "REFUSE" => {
                let mut f = Fields::new("REFUSE", &fields, 1)?;
                Ok(Message::Refuse {
                    reason: f.next("reason")?,
                })
            }
            "CHANGE" => {
                let mut f = Fields::new("CHANGE", &fields, 3)?;
                Ok(Message::Change {
                    from: f.next("from")?,
                    first: f.next("first")?,
                    second: f.next("second")?,
                })
            }
            "LEAVE" => {
                let mut f = Fields::new("LEAVE", &fields, 3)?;
                Ok(Message::Leave {
                    from: f.next("from")?,
                    first: f.next("first")?,
                    second: f.next("second")?,
                })
            }
            "QUERY" => {
                let mut f = Fields::new("QUERY", &fields, 1)?;
                Ok(Message::Query {
                    from: f.next("from")?,
                })
            }
            "WATCH" => {
                let mut f = Fields::new("WATCH", &fields, 1)?;
                Ok(Message::Watch {
                    from: f.next("from")?,
                })
            }
            "STORE" | "REQUEST" => {
                // `Fields` names the verb in its errors, which must outlive
                // the line; hence the literal rather than `verb` itself.
                let verb = if verb == "STORE" { "STORE" } else { "REQUEST" };
                let mut f = Fields::new(verb, &fields, 4)?;
                let (file, origin, hops, target) = (
                    f.next("file")?,
                    f.next("origin")?,
                    f.next("hops")?,
                    f.next("owner|search")?,
                );
                Ok(if verb == "STORE" {
                    Message::Store {
                        file,
                        origin,
                        hops,
                        target,
                    }
                } else {
                    Message::Request {
                        file,
                        origin,
                        hops,
                        target,
                    }
                })
            }
            "FETCH" => {
                let mut f = Fields::new("FETCH", &fields, 2)?;
                Ok(Message::Fetch {
                    file: f.next("file")?,
                    from: f.next("from")?,
                })
            }
            "OFFER" => {
                let mut f = Fields::new("OFFER", &fields, 4)?;
                Ok(Message::Offer {
                    file: f.next("file")?,
                    from: f.next("from")?,
                    size: f.next("size")?,
                    purpose: f.next("store|request")?,
                })
            }
            "NOTFOUND" => {
                let mut f = Fields::new("NOTFOUND", &fields, 2)?;
                Ok(Message::NotFound {
                    file: f.next("file")?,
                    from: f.next("from")?,
                })
            }
            "READY" => {
                let mut f = Fields::new("READY", &fields, 1)?;
                Ok(Message::Ready {
                    port: f.next("port")?,
                })
            }
            "OK" => {
                Fields::new("OK", &fields, 0)?;
                Ok(Message::Ok)
            }
            "SUCCESSORS" => {
                let mut f = Fields::new("SUCCESSORS", &fields, 2)?;
                Ok(Message::Successors {
                    first: f.next("first")?,
                    second: f.next("second")?,
                })
            }
            "ERROR" => {
                let mut f = Fields::new("ERROR", &fields, 1)?;
                Ok(Message::Error {
                    reason: f.next("reason")?,
                })
            }
            _ => Err(ParseError::UnknownVerb {
                verb: verb.chars().take(20).collect(),
            }),
        }
    }

    /// Parses the bytes of one datagram or one TCP line. A single trailing
    /// newline is allowed and removed; the length limit is checked before
    /// anything else, so a huge datagram costs nothing to reject.
    pub fn from_bytes(bytes: &[u8]) -> Result<Message, ParseError> {
        if bytes.len() > MAX_LINE_LEN {
            return Err(ParseError::TooLong { len: bytes.len() });
        }
        let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
        let line = std::str::from_utf8(bytes).map_err(|_| ParseError::NotText)?;
        Message::parse(line)
    }

    /// The message as it travels: its line, newline included.
    pub fn to_bytes(&self) -> Vec<u8> {
        format!("{self}\n").into_bytes()
    }
}

impl fmt::Display for Message {
    /// Prints the line without its newline; [`Message::parse`] reads it back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Message::Ping {
                from,
                to,
                successor,
                seq,
            } => write!(f, "PING {from} {to} {successor} {seq}"),
            Message::Pong { from, to, seq } => write!(f, "PONG {from} {to} {seq}"),
            Message::Join {
                newcomer,
                sender,
                hops,
            } => write!(f, "JOIN {newcomer} {sender} {hops}"),
            Message::Welcome { first, second } => write!(f, "WELCOME {first} {second}"),
            Message::Refuse { reason } => write!(f, "REFUSE {reason}"),
            Message::Change {
                from,
                first,
                second,
            } => write!(f, "CHANGE {from} {first} {second}"),
            Message::Leave {
                from,
                first,
                second,
            } => write!(f, "LEAVE {from} {first} {second}"),
            Message::Query { from } => write!(f, "QUERY {from}"),
            Message::Watch { from } => write!(f, "WATCH {from}"),
            Message::Store {
                file,
                origin,
                hops,
                target,
            } => write!(f, "STORE {file} {origin} {hops} {target}"),
            Message::Request {
                file,
                origin,
                hops,
                target,
            } => write!(f, "REQUEST {file} {origin} {hops} {target}"),
            Message::Fetch { file, from } => write!(f, "FETCH {file} {from}"),
            Message::Offer {
                file,
                from,
                size,
                purpose,
            } => write!(f, "OFFER {file} {from} {size} {purpose}"),
            Message::NotFound { file, from } => write!(f, "NOTFOUND {file} {from}"),
            Message::Ok => f.write_str("OK"),
            Message::Ready { port } => write!(f, "READY {port}"),
            Message::Successors { first, second } => write!(f, "SUCCESSORS {first} {second}"),
            Message::Error { reason } => write!(f, "ERROR {reason}"),
        }
    }
}

/// The largest datagram UDP can carry. Reading into a buffer this big means
/// an oversized datagram is seen whole and rejected by its length, instead
/// of being cut short and perhaps mistaken for a valid message.
pub const MAX_DATAGRAM: usize = 65_536;

/// The longest header a segment of the file transfer can have, newline
/// included: `DATA` and two 20-digit numbers and a length.
pub const MAX_SEGMENT_HEADER_LEN: usize = 64;

/// A segment of the file transfer, sent over UDP: one ASCII header line,
/// then, for `DATA`, the bytes of the file. Numbers count bytes, as in TCP:
/// `seq` is the number of the first byte carried, `ack` the number of the
/// next byte the sender of the segment expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Segment<'a> {
    /// `DATA <seq> <ack> <len>\n` followed by exactly `len` bytes.
    Data {
        seq: u64,
        ack: u64,
        payload: &'a [u8],
    },
    /// `ACK <seq> <ack>\n`: every byte before `ack` has arrived.
    Ack { seq: u64, ack: u64 },
}

impl<'a> Segment<'a> {
    /// Reads a datagram. The header must end within
    /// [`MAX_SEGMENT_HEADER_LEN`] bytes, and a `DATA` segment must carry
    /// exactly the bytes its header announces, so that a cut or padded
    /// datagram is rejected rather than written into a file.
    pub fn decode(datagram: &'a [u8]) -> Result<Segment<'a>, ParseError> {
        let search = &datagram[..datagram.len().min(MAX_SEGMENT_HEADER_LEN)];
        let Some(end) = search.iter().position(|&b| b == b'\n') else {
            return Err(ParseError::NotText);
        };
        let header = std::str::from_utf8(&datagram[..end]).map_err(|_| ParseError::NotText)?;
        if !header.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
            return Err(ParseError::NotText);
        }
        let payload = &datagram[end + 1..];
        let mut words = header.split(' ');
        let verb = words.next().unwrap_or_default();
        let fields: Vec<&str> = words.collect();
        match verb {
            "DATA" => {
                let mut f = Fields::new("DATA", &fields, 3)?;
                let (seq, ack, len): (u64, u64, usize) =
                    (f.next("seq")?, f.next("ack")?, f.next("len")?);
                if len != payload.len() {
                    return Err(ParseError::BadField {
                        verb: "DATA",
                        field: "len",
                        value: format!("{len} (the datagram carries {})", payload.len()),
                    });
                }
                Ok(Segment::Data { seq, ack, payload })
            }
            "ACK" => {
                let mut f = Fields::new("ACK", &fields, 2)?;
                let ack = Segment::Ack {
                    seq: f.next("seq")?,
                    ack: f.next("ack")?,
                };
                if !payload.is_empty() {
                    return Err(ParseError::TooLong {
                        len: datagram.len(),
                    });
                }
                Ok(ack)
            }
            "" => Err(ParseError::Empty),
            _ => Err(ParseError::UnknownVerb {
                verb: verb.chars().take(20).collect(),
            }),
        }
    }

    /// Writes the segment as it travels into `out`, replacing what was
    /// there, so that a sender can reuse one buffer for every segment.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.clear();
        match self {
            Segment::Data { seq, ack, payload } => {
                out.extend_from_slice(format!("DATA {seq} {ack} {}\n", payload.len()).as_bytes());
                out.extend_from_slice(payload);
            }
            Segment::Ack { seq, ack } => {
                out.extend_from_slice(format!("ACK {seq} {ack}\n").as_bytes())
            }
        }
    }
}

/// Reads the fields of one verb in order, turning each into its type and
/// naming the field when it does not fit.
struct Fields<'a> {
    verb: &'static str,
    remaining: std::slice::Iter<'a, &'a str>,
}

impl<'a> Fields<'a> {
    fn new(verb: &'static str, fields: &'a [&'a str], expected: usize) -> Result<Self, ParseError> {
        if fields.len() != expected {
            return Err(ParseError::WrongFieldCount {
                verb,
                expected,
                found: fields.len(),
            });
        }
        Ok(Fields {
            verb,
            remaining: fields.iter(),
        })
    }

    fn next<T: FromStr>(&mut self, field: &'static str) -> Result<T, ParseError> {
        let text = self.remaining.next().copied().unwrap_or_default();
        // `u32::from_str` accepts a leading '+'; the grammar does not.
        let plain = !text.starts_with('+');
        match text.parse() {
            Ok(value) if plain => Ok(value),
            _ => Err(ParseError::BadField {
                verb: self.verb,
                field,
                value: text.chars().take(20).collect(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn examples() -> Vec<Message> {
        vec![
            Message::Ping {
                from: PeerId(2),
                to: PeerId(4),
                successor: Ordinal::First,
                seq: 0,
            },
            Message::Ping {
                from: PeerId(255),
                to: PeerId(0),
                successor: Ordinal::Second,
                seq: u32::MAX,
            },
            Message::Pong {
                from: PeerId(4),
                to: PeerId(2),
                seq: 17,
            },
            Message::Join {
                newcomer: PeerId(15),
                sender: PeerId(9),
                hops: 4,
            },
            Message::Welcome {
                first: PeerId(19),
                second: PeerId(2),
            },
            Message::Refuse {
                reason: RefuseReason::Duplicate,
            },
            Message::Refuse {
                reason: RefuseReason::NoPlace,
            },
            Message::Change {
                from: PeerId(14),
                first: PeerId(14),
                second: PeerId(15),
            },
            Message::Leave {
                from: PeerId(9),
                first: PeerId(14),
                second: PeerId(19),
            },
            Message::Query { from: PeerId(8) },
            Message::Watch { from: PeerId(8) },
            Message::Ok,
            Message::Successors {
                first: PeerId(14),
                second: PeerId(19),
            },
            Message::Error {
                reason: ErrorReason::Malformed,
            },
            Message::Error {
                reason: ErrorReason::Unexpected,
            },
            Message::Error {
                reason: ErrorReason::NotReady,
            },
            Message::Store {
                file: file("2067"),
                origin: PeerId(8),
                hops: 2,
                target: Target::Owner,
            },
            Message::Request {
                file: file("0042"),
                origin: PeerId(2),
                hops: 0,
                target: Target::Search,
            },
            Message::Fetch {
                file: file("2067"),
                from: PeerId(19),
            },
            Message::Offer {
                file: file("4103"),
                from: PeerId(8),
                size: 20_543,
                purpose: Purpose::Request,
            },
            Message::Offer {
                file: file("2067"),
                from: PeerId(8),
                size: 0,
                purpose: Purpose::Store,
            },
            Message::NotFound {
                file: file("4103"),
                from: PeerId(8),
            },
            Message::Ready { port: 40_123 },
        ]
    }

    fn file(name: &str) -> FileName {
        FileName::parse(name).expect("a valid name")
    }

    #[test]
    fn every_message_round_trips() {
        for message in examples() {
            let line = message.to_string();
            assert_eq!(Message::parse(&line), Ok(message.clone()), "{line}");
            assert_eq!(Message::from_bytes(&message.to_bytes()), Ok(message));
        }
    }

    #[test]
    fn the_printed_form_is_the_documented_one() {
        assert_eq!(examples()[0].to_string(), "PING 2 4 first 0");
        assert_eq!(examples()[2].to_bytes(), b"PONG 4 2 17\n");
        let lines: Vec<String> = examples()[3..].iter().map(Message::to_string).collect();
        assert_eq!(
            lines,
            [
                "JOIN 15 9 4",
                "WELCOME 19 2",
                "REFUSE duplicate",
                "REFUSE no-place",
                "CHANGE 14 14 15",
                "LEAVE 9 14 19",
                "QUERY 8",
                "WATCH 8",
                "OK",
                "SUCCESSORS 14 19",
                "ERROR malformed",
                "ERROR unexpected",
                "ERROR not-ready",
                "STORE 2067 8 2 owner",
                "REQUEST 0042 2 0 search",
                "FETCH 2067 19",
                "OFFER 4103 8 20543 request",
                "OFFER 2067 8 0 store",
                "NOTFOUND 4103 8",
                "READY 40123",
            ]
        );
    }

    #[test]
    fn garbage_is_rejected_with_a_reason() {
        let cases: Vec<(&[u8], ParseError)> = vec![
            (b"", ParseError::Empty),
            (b"\n", ParseError::Empty),
            (b"\xff\x00\x13", ParseError::NotText),
            (b"PING 2 4 first 0\r\n", ParseError::NotText),
            (b"PING 2 4 first 0\n\n", ParseError::NotText),
            (b"PING\t2 4 first 0", ParseError::NotText),
            (
                b"HELLO 1",
                ParseError::UnknownVerb {
                    verb: "HELLO".into(),
                },
            ),
            (
                b"ping 2 4 first 0",
                ParseError::UnknownVerb {
                    verb: "ping".into(),
                },
            ),
            (
                b"PING 2 4 first",
                ParseError::WrongFieldCount {
                    verb: "PING",
                    expected: 4,
                    found: 3,
                },
            ),
            (
                b"PING 2  4 first 0",
                ParseError::WrongFieldCount {
                    verb: "PING",
                    expected: 4,
                    found: 5,
                },
            ),
            (
                b"PING 256 4 first 0",
                ParseError::BadField {
                    verb: "PING",
                    field: "from",
                    value: "256".into(),
                },
            ),
            (
                b"PING 2 4 third 0",
                ParseError::BadField {
                    verb: "PING",
                    field: "first|second",
                    value: "third".into(),
                },
            ),
            (
                b"PONG 4 2 -1",
                ParseError::BadField {
                    verb: "PONG",
                    field: "seq",
                    value: "-1".into(),
                },
            ),
            (
                b"OK 1",
                ParseError::WrongFieldCount {
                    verb: "OK",
                    expected: 0,
                    found: 1,
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
                b"READY 70000",
                ParseError::BadField {
                    verb: "READY",
                    field: "port",
                    value: "70000".into(),
                },
            ),
            (
                b"PONG 4 2 +1",
                ParseError::BadField {
                    verb: "PONG",
                    field: "seq",
                    value: "+1".into(),
                },
            ),
        ];
        for (bytes, expected) in cases {
            assert_eq!(Message::from_bytes(bytes), Err(expected), "{bytes:?}");
        }
    }

    #[test]
    fn huge_input_is_rejected_before_parsing() {
        let huge = vec![b'A'; 70_000];
        assert_eq!(
            Message::from_bytes(&huge),
            Err(ParseError::TooLong { len: 70_000 })
        );
    }

    #[test]
    fn segments_round_trip_with_binary_payloads() {
        let payload: Vec<u8> = (0..=255).collect();
        let segments = [
            Segment::Data {
                seq: 1,
                ack: 0,
                payload: &payload,
            },
            Segment::Data {
                seq: u64::MAX,
                ack: u64::MAX,
                payload: b"\n\nDATA 1 0 3\n",
            },
            Segment::Ack { seq: 0, ack: 301 },
        ];
        let mut buffer = Vec::new();
        for segment in segments {
            segment.encode(&mut buffer);
            assert!(buffer.len() <= MAX_SEGMENT_HEADER_LEN + payload.len());
            assert_eq!(Segment::decode(&buffer), Ok(segment));
        }
        Segment::Ack { seq: 0, ack: 301 }.encode(&mut buffer);
        assert_eq!(buffer, b"ACK 0 301\n");
    }

    #[test]
    fn cut_padded_or_garbled_segments_are_rejected() {
        for bad in [
            &b"DATA 1 0 5\nabcd"[..],
            b"DATA 1 0 5\nabcdef",
            b"DATA 1 0\nabc",
            b"ACK 0 301\nextra",
            b"ACK 0\n",
            b"NACK 0 1\n",
            b"\n",
            b"DATA 1 0 3",
            b"\xff\xfe\n",
        ] {
            assert!(Segment::decode(bad).is_err(), "{bad:?}");
        }
        let long_header = [b'1'; 100];
        assert!(Segment::decode(&long_header).is_err());
    }

    #[test]
    fn errors_read_as_sentences() {
        let error = Message::from_bytes(b"PING 2 4 first").unwrap_err();
        assert_eq!(error.to_string(), "PING takes 4 fields, found 3");
    }
}
