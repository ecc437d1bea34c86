//! The UDP side of a peer: one thread that reads every datagram arriving on
//! the peer's port and hands the well-formed ones to the event loop.
//!
//! Parsing happens here, at the edge, so that garbage never reaches the
//! state machine: a datagram that is not a message is reported on standard
//! error (summarised when there are many) and dropped, and the thread goes
//! on reading.

use std::net::UdpSocket;
use std::thread;

use crate::inbox::Inbox;
use crate::message::{Datagram, MAX_DATAGRAM};
use crate::output::{Kind, report};
use crate::peer::Event;

/// Starts the thread that reads datagrams from `socket` and sends each
/// message to the event loop. The thread ends when the event loop has gone.
pub fn spawn_receiver(socket: UdpSocket, inbox: Inbox) -> std::io::Result<()> {
    thread::Builder::new()
        .name("udp-receiver".into())
        .spawn(move || receive_forever(&socket, &inbox))?;
    Ok(())
}

fn receive_forever(socket: &UdpSocket, inbox: &Inbox) {
    let mut buffer = vec![0u8; MAX_DATAGRAM];
    loop {
        let (len, from) = match socket.recv_from(&mut buffer) {
            Ok(received) => received,
            Err(error) => {
                // Linux can report an ICMP error from an earlier send here;
                // it concerns that send, not this socket, so keep reading.
                report!(
                    Kind::BadDatagram,
                    "UDP receive failed, still listening: {error}"
                );
                continue;
            }
        };
        match Datagram::from_bytes(&buffer[..len]) {
            Ok(datagram) => {
                if !inbox.event(Event::Datagram { datagram, from }) {
                    return;
                }
            }
            Err(error) => {
                report!(
                    Kind::BadDatagram,
                    "ignored a datagram of {len} bytes from {from}: {error}"
                )
            }
        }
    }
}
