//! The lines of the reference behaviour, as the tests expect them.
//!
//! They are written here, from the assignment, and not taken from
//! `src/output.rs`: the tests check the program against the assignment, so
//! a typo in the program's copy must make them fail.

pub fn pings_sent(first: u8, second: u8) -> String {
    format!("Ping requests sent to Peers {first} and {second}")
}

pub fn ping_received(from: u8) -> String {
    format!("Ping request message received from Peer {from}")
}

pub fn response_received(from: u8) -> String {
    format!("Ping response received from Peer {from}")
}

pub fn new_first(peer: u8) -> String {
    format!("My new first successor is Peer {peer}")
}

pub fn new_second(peer: u8) -> String {
    format!("My new second successor is Peer {peer}")
}

pub fn join_forwarded(newcomer: u8) -> String {
    format!("Peer {newcomer} Join request forwarded to my successor")
}

pub fn join_received(newcomer: u8) -> String {
    format!("Peer {newcomer} Join request received")
}

pub fn first_successor(peer: u8) -> String {
    format!("My first successor is Peer {peer}")
}

pub fn second_successor(peer: u8) -> String {
    format!("My second successor is Peer {peer}")
}

pub fn will_depart(peer: u8) -> String {
    format!("Peer {peer} will depart from the network")
}

pub fn no_longer_alive(peer: u8) -> String {
    format!("Peer {peer} is no longer alive")
}

pub const SUCCESSOR_CHANGE: &str = "Successor Change request received";

pub const JOIN_ACCEPTED: &str = "Join request has been accepted";

pub fn store_forwarded(file: &str) -> String {
    format!("Store {file} request forwarded to my successor")
}

pub fn store_accepted(file: &str) -> String {
    format!("Store {file} request accepted")
}

pub fn request_sent(file: &str) -> String {
    format!("File request for {file} has been sent to my successor")
}

pub fn not_stored_here(file: &str) -> String {
    format!("Request for File {file} has been received, but the file is not stored here")
}

pub fn stored_here(file: &str) -> String {
    format!("File {file} is stored here")
}

pub fn sending(file: &str, to: u8) -> String {
    format!("Sending file {file} to Peer {to}")
}

pub fn peer_had(peer: u8, file: &str) -> String {
    format!("Peer {peer} had File {file}")
}

pub fn receiving(file: &str, from: u8) -> String {
    format!("Receiving File {file} from Peer {from}")
}

pub fn received(file: &str) -> String {
    format!("File {file} received")
}

pub const FILE_SENT: &str = "The file has been sent";
