//! The wire protocol: every message peers send each other, parsed and printed
//! in this one place.
//!
//! A message is one line of ASCII text: a verb in capitals, then fields
//! separated by single spaces, then a newline. Messages come in three roles,
//! each with a type of its own, so that a part of the program can only be
//! handed the messages that can reach it:
//!
//! - [`Datagram`]: the pings, one per UDP datagram;
//! - [`Request`]: the first line of a TCP connection, from the side that
//!   opened it;
//! - [`Reply`]: the one line that answers a request on the same connection.
//!
//! File segments, a header line and the bytes, are read by [`Segment`].
//! Because every message ends at a newline and is short (see
//! [`MAX_LINE_LEN`]), a reader always knows where a message stops, whatever
//! the socket hands it in one read. `spec/protocol.md` documents each
//! message, its replies and its error cases; a change here changes that file
//! in the same commit.
//!
//! This file holds what the three roles share: the framing rules, the words
//! some fields take, the field reader and the errors. Each role's file holds
//! its verbs, and nothing else parses or prints a message.

mod datagram;
mod reply;
mod request;
mod segment;

pub use datagram::Datagram;
pub use reply::Reply;
pub use request::Request;
pub use segment::{MAX_DATAGRAM, MAX_SEGMENT_HEADER_LEN, Segment};

use std::fmt;
use std::str::FromStr;

use crate::ring::{MAX_SUCCESSORS, PeerId};

/// The longest line a peer accepts, newline included. Every message fits in
/// far less; anything longer is garbage and is rejected before it is parsed.
pub const MAX_LINE_LEN: usize = 256;

/// A position in a successor list, or in the list of a peer's predecessors:
/// the first (nearest), the second, and so on up to [`MAX_SUCCESSORS`].
///
/// The same words appear in a `PING` ("you are my second successor") and in
/// the lines a peer prints ("My new second successor is Peer 19").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ordinal {
    First,
    Second,
    Third,
    Fourth,
    Fifth,
    Sixth,
    Seventh,
    Eighth,
}

/// Every ordinal, nearest first; `ORDINALS[i]` is the position at index `i`.
const ORDINALS: [Ordinal; MAX_SUCCESSORS] = [
    Ordinal::First,
    Ordinal::Second,
    Ordinal::Third,
    Ordinal::Fourth,
    Ordinal::Fifth,
    Ordinal::Sixth,
    Ordinal::Seventh,
    Ordinal::Eighth,
];

impl Ordinal {
    /// The position at `index` of a list (0 is the first), if a list can be
    /// that long.
    pub fn from_index(index: usize) -> Option<Ordinal> {
        ORDINALS.get(index).copied()
    }

    /// The index of this position in a list: 0 for the first.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The word, as it is written on the wire and in printed lines.
    pub fn word(self) -> &'static str {
        match self {
            Ordinal::First => "first",
            Ordinal::Second => "second",
            Ordinal::Third => "third",
            Ordinal::Fourth => "fourth",
            Ordinal::Fifth => "fifth",
            Ordinal::Sixth => "sixth",
            Ordinal::Seventh => "seventh",
            Ordinal::Eighth => "eighth",
        }
    }
}

impl fmt::Display for Ordinal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

impl FromStr for Ordinal {
    type Err = ();

    fn from_str(text: &str) -> Result<Ordinal, ()> {
        ORDINALS
            .iter()
            .copied()
            .find(|ordinal| ordinal.word() == text)
            .ok_or(())
    }
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// The receiver stores the file as `NNNN.pdf`.
    Store,
    /// The receiver asked for it and saves it as `received_NNNN.pdf`.
    Request,
    /// The receiver is responsible for the file now (or nearer its place
    /// than the sender), and keeps it as `NNNN.pdf`.
    Handover,
    /// The receiver keeps a replica for the responsible peer before it, as
    /// `replica_NNNN.pdf`.
    Replica,
}

/// Why a join is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefuseReason {
    /// A peer with the newcomer's identity is already in the ring.
    Duplicate,
    /// The request found no place it could be given: it went round the ring,
    /// or reached a peer busy repairing its own successors. This happens
    /// only while the ring is changing.
    NoPlace,
}

/// Why a request could not be handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorReason {
    /// The line is not a message.
    Malformed,
    /// The message is not a request this peer answers now.
    Unexpected,
    /// The peer cannot answer yet (it is joining, or has no successors);
    /// asking again shortly may work.
    NotReady,
    /// The peer cannot write the offered file into its directory.
    CannotWrite,
    /// The peer is doing as much of this as it allows itself to at once.
    Busy,
    /// The answer to a `LEAVE` that the peer it names did not send: asked,
    /// that peer said it is not leaving.
    NotLeaving,
}

/// Spells the words of a field that takes one of a few words, in one table
/// for each such field.
macro_rules! field_words {
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

field_words!(Target { Owner => "owner", Search => "search" });
field_words!(Purpose {
    Store => "store",
    Request => "request",
    Handover => "handover",
    Replica => "replica",
});
field_words!(RefuseReason { Duplicate => "duplicate", NoPlace => "no-place" });
mod status;

pub use status::{FilePolicy, HELD_PAGE, Page, Standing, View};

field_words!(ErrorReason {
    Malformed => "malformed",
    Unexpected => "unexpected",
    NotReady => "not-ready",
    CannotWrite => "cannot-write",
    Busy => "busy",
    NotLeaving => "not-leaving",
});

/// The three roles a message can have; each verb belongs to exactly one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Datagram,
    Request,
    Reply,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Datagram => "a datagram",
            Role::Request => "a request",
            Role::Reply => "a reply",
        })
    }
}

/// The role of each verb, so that a message in the wrong place (an `OK`
/// sent as a request, a `PING` over TCP) is told apart from garbage.
fn role_of(verb: &str) -> Option<Role> {
    match verb {
        "PING" | "PONG" => Some(Role::Datagram),
        "JOIN" | "WELCOME" | "REFUSE" | "CHANGE" | "LEAVE" | "QUERY" | "WATCH" | "STORE"
        | "REQUEST" | "FETCH" | "OFFER" | "NOTFOUND" | "STATUS" | "HOLDINGS" => Some(Role::Request),
        "OK" | "READY" | "HAVE" | "NEIGHBOURS" | "LEAVING" | "VIEW" | "HELD" | "ERROR" => {
            Some(Role::Reply)
        }
        _ => None,
    }
}

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
    /// The verb is one of the protocol's, but of another role: a reply
    /// where a request was expected, say.
    WrongRole {
        verb: &'static str,
        role: Role,
        expected: Role,
    },
    /// The verb is known but is followed by the wrong number of fields.
    WrongFieldCount {
        verb: &'static str,
        expected: FieldCount,
        found: usize,
    },
    /// One field does not have the form its position requires.
    BadField {
        verb: &'static str,
        field: &'static str,
        value: String,
    },
}

/// How many fields a verb takes: an exact number, or a range for a verb that
/// ends in a list of peers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldCount {
    Exactly(usize),
    Between(usize, usize),
}

impl fmt::Display for FieldCount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldCount::Exactly(count) => write!(f, "{count}"),
            FieldCount::Between(low, high) => write!(f, "{low} to {high}"),
        }
    }
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
            ParseError::WrongRole {
                verb,
                role,
                expected,
            } => write!(f, "{verb} is {role}, not {expected}"),
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

/// A line cut into its verb and fields, once the framing rules have been
/// checked: printable ASCII, at most [`MAX_LINE_LEN`] bytes, single spaces.
pub(crate) struct Words<'a> {
    pub verb: &'a str,
    pub fields: Vec<&'a str>,
}

impl<'a> Words<'a> {
    /// Checks the bytes of one datagram or one TCP line and cuts them into
    /// words. A single trailing newline is allowed and removed; the length
    /// limit is checked before anything else, so a huge datagram costs
    /// nothing to reject.
    pub fn of_bytes(bytes: &'a [u8]) -> Result<Words<'a>, ParseError> {
        if bytes.len() > MAX_LINE_LEN {
            return Err(ParseError::TooLong { len: bytes.len() });
        }
        let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
        let line = std::str::from_utf8(bytes).map_err(|_| ParseError::NotText)?;
        Words::of_line(line)
    }

    /// Checks one line, without its newline, and cuts it into words.
    pub fn of_line(line: &'a str) -> Result<Words<'a>, ParseError> {
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
        Ok(Words {
            verb,
            fields: words.collect(),
        })
    }

    /// The error for a verb that the parser of `expected` does not know: a
    /// verb of another role, or no verb of the protocol at all.
    pub fn not_a(&self, expected: Role) -> ParseError {
        match role_of(self.verb) {
            Some(role) if role != expected => ParseError::WrongRole {
                verb: known_verb(self.verb),
                role,
                expected,
            },
            _ => ParseError::UnknownVerb {
                verb: self.verb.chars().take(20).collect(),
            },
        }
    }
}

/// The verb as a `'static` string, for errors that outlive the line.
fn known_verb(verb: &str) -> &'static str {
    const VERBS: [&str; 24] = [
        "PING",
        "PONG",
        "JOIN",
        "WELCOME",
        "REFUSE",
        "CHANGE",
        "LEAVE",
        "QUERY",
        "WATCH",
        "STORE",
        "REQUEST",
        "FETCH",
        "OFFER",
        "NOTFOUND",
        "STATUS",
        "HOLDINGS",
        "OK",
        "READY",
        "HAVE",
        "NEIGHBOURS",
        "LEAVING",
        "VIEW",
        "HELD",
        "ERROR",
    ];
    VERBS.into_iter().find(|&v| v == verb).unwrap_or("?")
}

/// Reads the fields of one verb in order, turning each into its type and
/// naming the field when it does not fit.
pub(crate) struct Fields<'a> {
    verb: &'static str,
    remaining: std::slice::Iter<'a, &'a str>,
}

impl<'a> Fields<'a> {
    /// Fields of a verb that takes exactly `expected` of them.
    pub fn exactly(
        verb: &'static str,
        fields: &'a [&'a str],
        expected: usize,
    ) -> Result<Self, ParseError> {
        if fields.len() != expected {
            return Err(ParseError::WrongFieldCount {
                verb,
                expected: FieldCount::Exactly(expected),
                found: fields.len(),
            });
        }
        Ok(Fields {
            verb,
            remaining: fields.iter(),
        })
    }

    /// Fields of a verb that takes `fixed` fields and then a list of 1 to
    /// [`MAX_SUCCESSORS`] peers, read with [`Fields::peers`].
    pub fn with_list(
        verb: &'static str,
        fields: &'a [&'a str],
        fixed: usize,
    ) -> Result<Self, ParseError> {
        let (low, high) = (fixed + 1, fixed + MAX_SUCCESSORS);
        if !(low..=high).contains(&fields.len()) {
            return Err(ParseError::WrongFieldCount {
                verb,
                expected: FieldCount::Between(low, high),
                found: fields.len(),
            });
        }
        Ok(Fields {
            verb,
            remaining: fields.iter(),
        })
    }

    /// The next field, as a `T`.
    pub fn next<T: FromStr>(&mut self, field: &'static str) -> Result<T, ParseError> {
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

    /// Fields of a verb that takes `fixed` fields and then a list of 0 to
    /// `most` more, read with [`Fields::rest`].
    pub fn up_to(
        verb: &'static str,
        fields: &'a [&'a str],
        fixed: usize,
        most: usize,
    ) -> Result<Self, ParseError> {
        if !(fixed..=fixed + most).contains(&fields.len()) {
            return Err(ParseError::WrongFieldCount {
                verb,
                expected: FieldCount::Between(fixed, fixed + most),
                found: fields.len(),
            });
        }
        Ok(Fields {
            verb,
            remaining: fields.iter(),
        })
    }

    /// The error for a field of this verb whose value does not fit.
    pub fn bad(&self, field: &'static str, value: String) -> ParseError {
        ParseError::BadField {
            verb: self.verb,
            field,
            value: value.chars().take(20).collect(),
        }
    }

    /// The next field, as a `T`, or `None` for `-`, the word for "none".
    pub fn optional<T: FromStr>(&mut self, field: &'static str) -> Result<Option<T>, ParseError> {
        if self.remaining.as_slice().first() == Some(&"-") {
            self.remaining.next();
            return Ok(None);
        }
        self.next(field).map(Some)
    }

    /// Every remaining field, as a `T` each.
    pub fn rest<T: FromStr>(&mut self, field: &'static str) -> Result<Vec<T>, ParseError> {
        let mut values = Vec::new();
        while self.remaining.len() > 0 {
            values.push(self.next(field)?);
        }
        Ok(values)
    }

    /// The next field, as a peer, or `None` for `-`, the word for "no peer
    /// known".
    pub fn optional_peer(&mut self, field: &'static str) -> Result<Option<PeerId>, ParseError> {
        self.optional(field)
    }

    /// Every remaining field, as a list of peers. A list never names the
    /// same peer twice: in a ring each peer has one place.
    pub fn peers(&mut self, field: &'static str) -> Result<Vec<PeerId>, ParseError> {
        let mut peers = Vec::new();
        while self.remaining.len() > 0 {
            let peer: PeerId = self.next(field)?;
            if peers.contains(&peer) {
                return Err(ParseError::BadField {
                    verb: self.verb,
                    field,
                    value: format!("{peer} (named twice)"),
                });
            }
            peers.push(peer);
        }
        Ok(peers)
    }
}

/// Writes a list of peers as list fields: each preceded by one space.
pub(crate) fn write_peers(f: &mut fmt::Formatter<'_>, peers: &[PeerId]) -> fmt::Result {
    for peer in peers {
        write!(f, " {peer}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinals_have_a_word_and_an_index() {
        for (index, word) in ["first", "second", "third", "eighth"]
            .into_iter()
            .zip([0, 1, 2, 7])
            .map(|(word, index)| (index, word))
        {
            let ordinal = Ordinal::from_index(index).expect("an ordinal");
            assert_eq!(ordinal.word(), word);
            assert_eq!(ordinal.index(), index);
            assert_eq!(word.parse(), Ok(ordinal));
        }
        assert_eq!(Ordinal::from_index(MAX_SUCCESSORS), None);
        assert_eq!("ninth".parse::<Ordinal>(), Err(()));
    }

    #[test]
    fn a_message_of_another_role_is_named_as_such() {
        assert_eq!(
            Request::from_bytes(b"OK\n"),
            Err(ParseError::WrongRole {
                verb: "OK",
                role: Role::Reply,
                expected: Role::Request
            })
        );
        assert_eq!(
            Request::from_bytes(b"PING 2 4 first 0").map_err(|e| e.to_string()),
            Err("PING is a datagram, not a request".to_string())
        );
        assert!(matches!(
            Datagram::from_bytes(b"JOIN 15 15 0"),
            Err(ParseError::WrongRole { .. })
        ));
        assert!(matches!(
            Reply::from_bytes(b"HELLO"),
            Err(ParseError::UnknownVerb { .. })
        ));
    }

    #[test]
    fn framing_errors_are_the_same_for_every_role() {
        let cases: Vec<(&[u8], ParseError)> = vec![
            (b"", ParseError::Empty),
            (b"\n", ParseError::Empty),
            (b"\xff\x00\x13", ParseError::NotText),
            (b"OK\r\n", ParseError::NotText),
            (b"OK\n\n", ParseError::NotText),
            (b"OK\t", ParseError::NotText),
        ];
        for (bytes, expected) in cases {
            assert_eq!(Datagram::from_bytes(bytes), Err(expected.clone()));
            assert_eq!(Request::from_bytes(bytes), Err(expected.clone()));
            assert_eq!(Reply::from_bytes(bytes), Err(expected), "{bytes:?}");
        }
        let huge = vec![b'A'; 70_000];
        assert_eq!(
            Request::from_bytes(&huge),
            Err(ParseError::TooLong { len: 70_000 })
        );
    }

    #[test]
    fn errors_read_as_sentences() {
        let error = Datagram::from_bytes(b"PING 2 4 first").unwrap_err();
        assert_eq!(error.to_string(), "PING takes 4 fields, found 3");
        let error = Reply::from_bytes(b"NEIGHBOURS").unwrap_err();
        assert_eq!(error.to_string(), "NEIGHBOURS takes 2 to 9 fields, found 0");
    }
}
