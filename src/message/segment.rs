//! The segments of a file transfer, sent over UDP: one ASCII header line,
//! then, for `DATA`, the bytes of the file. They are not messages of the
//! ring (their payload is binary), but their header follows the same
//! grammar and is read with the same field reader.

use super::{Fields, ParseError};

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
                let mut f = Fields::exactly("DATA", &fields, 3)?;
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
                let mut f = Fields::exactly("ACK", &fields, 2)?;
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
