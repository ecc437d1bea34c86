//! The UDP side of a peer: one thread that reads every datagram arriving on
//! the peer's port and hands the well-formed ones to the event loop.
//!
//! Parsing happens here, at the edge, so that garbage never reaches the
//! state machine: a datagram that is not a message is reported on standard
//! error and dropped, and the thread goes on reading.

use std::net::UdpSocket;
use std::sync::mpsc::Sender;
use std::thread;

use crate::message::{MAX_DATAGRAM, Message};
use crate::node::Input;
use crate::output::diagnose;
use crate::peer::{Event, Source};

/// Starts the thread that reads datagrams from `socket` and sends each
/// message to the event loop through `inputs`. The thread ends when the event loop has gone.
pub fn spawn_receiver(socket: UdpSocket, inputs: Sender<Input>) -> std::io::Result<()> {
    thread::Builder::new()
        .name("udp-receiver".into())
        .spawn(move || receive_forever(&socket, &inputs))?;
    Ok(())
}

fn receive_forever(socket: &UdpSocket, inputs: &Sender<Input>) {
    let mut buffer = vec![0u8; MAX_DATAGRAM];
    loop {
        let (len, source) = match socket.recv_from(&mut buffer) {
            Ok(received) => received,
            Err(error) => {
                // Linux can report an ICMP error from an earlier send here;
                // it concerns that send, not this socket, so keep reading.
                diagnose!("UDP receive failed, still listening: {error}");
                continue;
            }
        };
        match Message::from_bytes(&buffer[..len]) {
            Ok(message) => {
                let event = Event::Received {
                    message,
                    source: Source::Datagram(source),
                };
                if inputs.send(Input::Event(event)).is_err() {
                    return;
                }
            }
            Err(error) => {
                diagnose!("ignored a datagram of {len} bytes from {source}: {error}")
            }
        }
    }
}
