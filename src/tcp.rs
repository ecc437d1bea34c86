//! The TCP side of a peer: the listener on the peer's port.
//!
//! The ring's TCP messages (join, departure, successor queries) arrive
//! here. Until they exist, the listener holds the port, so that the peer's
//! port pair is reserved as the reference requires, and closes every
//! connection it accepts.

use std::net::TcpListener;
use std::thread;

/// Starts the thread that accepts connections on `listener`.
pub fn spawn_listener(listener: TcpListener) -> std::io::Result<()> {
    thread::Builder::new()
        .name("tcp-listener".into())
        .spawn(move || {
            for connection in listener.incoming() {
                match connection {
                    Ok(stream) => {
                        let from = stream
                            .peer_addr()
                            .map_or_else(|_| "an unknown address".to_string(), |a| a.to_string());
                        eprintln!("p2p: closed a TCP connection from {from}: no TCP messages are expected yet");
                    }
                    Err(error) => eprintln!("p2p: could not accept a TCP connection: {error}"),
                }
            }
        })?;
    Ok(())
}
