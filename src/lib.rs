//! A peer of a ring-shaped distributed hash table, as taught in networking
//! courses: peers ping their successors over UDP, join and leave over TCP,
//! and store files by hash.
//!
//! The crate is split so that the protocol can be read and tested without
//! sockets. [`peer`] is a pure state machine: events go in, actions come out.
//! [`node`] owns the sockets, threads and timers, turns what happens into
//! events and carries out the actions. See `ARCHITECTURE.md` for the map.

pub mod checker;
pub mod command;
pub mod config;
pub mod files;
pub mod inbox;
pub mod message;
pub mod node;
pub mod output;
pub mod peer;
pub mod program;
pub mod ring;
pub mod transfer;

mod console;
mod tcp;
mod udp;
mod watch;
