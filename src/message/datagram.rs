//! The messages that travel alone in UDP datagrams: the pings.

use std::fmt;

use super::{Fields, Ordinal, ParseError, Role, Words};
use crate::ring::PeerId;

/// A message carried by one UDP datagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Datagram {
    /// `PING <from> <to> <ordinal> <seq>`: "are you alive?".
    ///
    /// `successor` says which of the sender's successors the receiver is
    /// (`first`, `second`, and on up to `eighth`), so the receiver learns
    /// that the sender is its first, second, ... predecessor. `to` lets the
    /// receiver notice a ping meant for someone else (for example from a
    /// ring that uses other ports).
    Ping {
        from: PeerId,
        to: PeerId,
        successor: Ordinal,
        seq: u32,
    },
    /// `PONG <from> <to> <seq>`: the answer to the ping with the same `seq`.
    Pong { from: PeerId, to: PeerId, seq: u32 },
}

impl Datagram {
    /// Parses one line, without its newline.
    pub fn parse(line: &str) -> Result<Datagram, ParseError> {
        Datagram::from_words(Words::of_line(line)?)
    }

    /// Parses the bytes of one datagram; a single trailing newline is
    /// allowed.
    pub fn from_bytes(bytes: &[u8]) -> Result<Datagram, ParseError> {
        Datagram::from_words(Words::of_bytes(bytes)?)
    }

    fn from_words(words: Words<'_>) -> Result<Datagram, ParseError> {
        let fields = &words.fields;
        match words.verb {
            "PING" => {
                let mut f = Fields::exactly("PING", fields, 4)?;
                Ok(Datagram::Ping {
                    from: f.next("from")?,
                    to: f.next("to")?,
                    successor: f.next("ordinal")?,
                    seq: f.next("seq")?,
                })
            }
            "PONG" => {
                let mut f = Fields::exactly("PONG", fields, 3)?;
                Ok(Datagram::Pong {
                    from: f.next("from")?,
                    to: f.next("to")?,
                    seq: f.next("seq")?,
                })
            }
            _ => Err(words.not_a(Role::Datagram)),
        }
    }

    /// The datagram as it travels: its line, newline included.
    pub fn to_bytes(&self) -> Vec<u8> {
        format!("{self}\n").into_bytes()
    }

    /// The peer this datagram is addressed to.
    pub fn to(&self) -> PeerId {
        match self {
            Datagram::Ping { to, .. } | Datagram::Pong { to, .. } => *to,
        }
    }
}

impl fmt::Display for Datagram {
    /// Prints the line without its newline; [`Datagram::parse`] reads it
    /// back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Datagram::Ping {
                from,
                to,
                successor,
                seq,
            } => write!(f, "PING {from} {to} {successor} {seq}"),
            Datagram::Pong { from, to, seq } => write!(f, "PONG {from} {to} {seq}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn examples() -> Vec<(Datagram, &'static str)> {
        vec![
            (
                Datagram::Ping {
                    from: PeerId(2),
                    to: PeerId(4),
                    successor: Ordinal::First,
                    seq: 0,
                },
                "PING 2 4 first 0",
            ),
            (
                Datagram::Ping {
                    from: PeerId(255),
                    to: PeerId(0),
                    successor: Ordinal::Eighth,
                    seq: u32::MAX,
                },
                "PING 255 0 eighth 4294967295",
            ),
            (
                Datagram::Pong {
                    from: PeerId(4),
                    to: PeerId(2),
                    seq: 17,
                },
                "PONG 4 2 17",
            ),
        ]
    }

    #[test]
    fn every_datagram_round_trips_in_its_documented_form() {
        for (datagram, line) in examples() {
            assert_eq!(datagram.to_string(), line);
            assert_eq!(Datagram::parse(line), Ok(datagram.clone()));
            assert_eq!(datagram.to_bytes(), format!("{line}\n").into_bytes());
            assert_eq!(Datagram::from_bytes(&datagram.to_bytes()), Ok(datagram));
        }
    }

    #[test]
    fn bad_fields_are_named() {
        let cases: Vec<(&[u8], ParseError)> = vec![
            (
                b"ping 2 4 first 0",
                ParseError::UnknownVerb {
                    verb: "ping".into(),
                },
            ),
            (
                b"PING 2  4 first 0",
                ParseError::WrongFieldCount {
                    verb: "PING",
                    expected: super::super::FieldCount::Exactly(4),
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
                b"PING 2 4 ninth 0",
                ParseError::BadField {
                    verb: "PING",
                    field: "ordinal",
                    value: "ninth".into(),
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
                b"PONG 4 2 +1",
                ParseError::BadField {
                    verb: "PONG",
                    field: "seq",
                    value: "+1".into(),
                },
            ),
        ];
        for (bytes, expected) in cases {
            assert_eq!(Datagram::from_bytes(bytes), Err(expected), "{bytes:?}");
        }
    }
}
