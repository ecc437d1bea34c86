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

// ----- Successor lists longer than two (`--successors R`) -----

/// The position words of a successor list, nearest first, as the lines that
/// name a position spell them: "My new third successor is Peer 8".
const POSITIONS: [&str; 8] = [
    "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth",
];

/// The word for position `index` of a successor list (0 is the first).
pub fn position_word(index: usize) -> &'static str {
    POSITIONS.get(index).unwrap_or_else(|| {
        panic!(
            "a successor list has at most 8 positions, not {}",
            index + 1
        )
    })
}

/// `4 and 5`, `4, 5 and 8`: peers named as an English sentence names them.
fn peers_in_words(peers: &[u8]) -> String {
    match peers {
        [] => panic!("a list of peers in words needs at least one peer"),
        [one] => one.to_string(),
        [rest @ .., last] => {
            let rest: Vec<String> = rest.iter().map(u8::to_string).collect();
            format!("{} and {last}", rest.join(", "))
        }
    }
}

/// The line of a round of pings to a whole successor list, nearest first:
/// `Ping requests sent to Peers 4, 5 and 8`. For two peers it is
/// [`pings_sent`].
pub fn pings_sent_to(peers: &[u8]) -> String {
    assert!(
        peers.len() >= 2,
        "a round to {peers:?} is not printed with \"Peers\""
    );
    format!("Ping requests sent to Peers {}", peers_in_words(peers))
}

/// `My new <position> successor is Peer <peer>`, for any position.
pub fn new_successor_at(index: usize, peer: u8) -> String {
    format!("My new {} successor is Peer {peer}", position_word(index))
}

/// The lines that announce a whole new successor list, one per position.
pub fn new_successor_lines(peers: &[u8]) -> Vec<String> {
    peers
        .iter()
        .enumerate()
        .map(|(index, &peer)| new_successor_at(index, peer))
        .collect()
}

/// `My <position> successor is Peer <peer>`: a newcomer's first list.
pub fn successor_at(index: usize, peer: u8) -> String {
    format!("My {} successor is Peer {peer}", position_word(index))
}
