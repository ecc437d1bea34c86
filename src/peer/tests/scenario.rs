//! A data-driven way to test the state machine: a scenario is one peer, a
//! clock, and a table of steps. Each step is a time, an input written as
//! text, and the trace it must produce, also as text:
//!
//! ```text
//! (0.0, "tcp JOIN 15 9 4", &["reply OK", "print Peer 15 Join request received", ...])
//! ```
//!
//! Inputs:
//!
//! - `tick`: the time has come (the peer does whatever is due by then);
//! - `udp <DATAGRAM>`: a datagram from the port of the peer it names;
//! - `tcp <REQUEST>`: a request on a new incoming connection;
//! - `reply <peer> [<VERB>:] <REPLY>`, `noreply <peer> [<VERB>]` and
//!   `refused <peer> [<VERB>]`: the answer to the oldest request this peer
//!   sent to `<peer>` (with that verb, if one is given), or its failure:
//!   no reply, or nothing listening on the peer's port;
//! - `closed <peer>`: that successor's port refused a connection;
//! - `typed <command>`: the user typed a line;
//! - `sent|received <file> <peer> <store|request> ok|<reason>`: a transfer
//!   ended.
//!
//! Trace entries: `print <line>` (as the course words it), `warn <Kind>`
//! (its text is kept for [`Scenario::said`]),
//! `udp <to> <DATAGRAM>`, `udp-back <DATAGRAM>` (an answer to the datagram's
//! sender), `tcp <to> <REQUEST>`, `reply <REPLY>`, `send-file <file> <to>
//! <purpose>`, `receive-file <file> <from> <size> <purpose>`, `exit <code>`.
//! Messages are parsed and printed by the real `message` module, so the
//! tests check the grammar too.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::{Duration, Instant};

use crate::command::parse_command;
use crate::message::{Datagram, Purpose, Reply, Request};
use crate::output::Wording;
use crate::peer::{
    Action, ConnectionId, Direction, Event, Files, Held, NoAnswer, Peer, PeerConfig, Token,
    Transferred,
};
use crate::ring::{FileName, PeerId};

/// The ping interval of every scenario unless it says otherwise: the
/// course's, long enough that rounds never get in the way of a step.
pub const INTERVAL: Duration = Duration::from_secs(30);

/// The base port the scenario's datagrams come from.
const BASE_PORT: u16 = 12000;

/// One peer under test, its clock, and the requests it sent that the
/// scenario has not answered yet.
pub struct Scenario {
    peer: Peer,
    start: Instant,
    unanswered: Vec<(u8, String, Token)>,
    next_connection: u64,
    /// The text of every diagnostic since [`Scenario::said`] was last
    /// asked, for the tests of what a peer says; the trace names only
    /// their kind.
    said: Vec<String>,
}

/// The files a scenario peer holds: `NNNN` for `NNNN.pdf`, and
/// `replica_NNNN` for a replica.
#[derive(Debug)]
struct Holding(Vec<String>);

impl Files for Holding {
    fn has(&self, file: FileName) -> bool {
        self.0.contains(&file.to_string()) || self.0.contains(&format!("replica_{file}"))
    }

    fn held(&self) -> Vec<(FileName, Held)> {
        self.0
            .iter()
            .filter_map(|name| match name.strip_prefix("replica_") {
                Some(number) => FileName::parse(number).map(|file| (file, Held::Replica)),
                None => FileName::parse(name).map(|file| (file, Held::Stored)),
            })
            .collect()
    }
}

fn ids(list: &[u8]) -> Vec<PeerId> {
    list.iter().copied().map(PeerId).collect()
}

impl Scenario {
    /// Peer `id` of the initial ring, told its two successors by `init`,
    /// keeping two, as in the course.
    pub fn member(id: u8, successors: &[u8]) -> Scenario {
        Scenario::member_keeping(id, successors, 2)
    }

    /// Peer `id` of the initial ring, told two successors, keeping `count`.
    pub fn member_keeping(id: u8, successors: &[u8], count: usize) -> Scenario {
        Scenario::member_with(config(id, count), successors)
    }

    /// A peer of the initial ring with this configuration (made from
    /// [`config`]), told `successors`.
    pub fn member_with(config: PeerConfig, successors: &[u8]) -> Scenario {
        let start = Instant::now();
        Scenario {
            peer: Peer::new(config, &ids(successors), start),
            start,
            unanswered: Vec::new(),
            next_connection: 0,
            said: Vec::new(),
        }
    }

    /// A newcomer `id` that joins through `known`, keeping `count`
    /// successors; returns the scenario and the trace of its start.
    pub fn joining(id: u8, known: u8, count: usize) -> (Scenario, Vec<String>) {
        let start = Instant::now();
        let (peer, actions) = Peer::joining(config(id, count), PeerId(known), start);
        let mut scenario = Scenario {
            peer,
            start,
            unanswered: Vec::new(),
            next_connection: 0,
            said: Vec::new(),
        };
        let trace = scenario.record(actions);
        (scenario, trace)
    }

    /// A peer whose successors have answered a first round at time 0, and
    /// whose predecessors (nearest first) have pinged: the settled peer of
    /// a running ring. Its list is `successors` in full (learned, as at
    /// R > 2, without printing).
    pub fn running(id: u8, successors: &[u8], predecessors: &[u8]) -> Scenario {
        Scenario::running_with(config(id, successors.len()), successors, predecessors)
    }

    /// [`Scenario::running`], with this configuration.
    pub fn running_with(config: PeerConfig, successors: &[u8], predecessors: &[u8]) -> Scenario {
        let id = config.id.0;
        let mut scenario = Scenario::member_with(config, &successors[..2]);
        scenario.step(0.0, "tick");
        if successors.len() > 2 {
            let first = successors[0];
            let rest: Vec<String> = successors[1..].iter().map(u8::to_string).collect();
            scenario.step(
                0.0,
                &format!("reply {first} QUERY: NEIGHBOURS - {}", rest.join(" ")),
            );
            scenario.step(0.0, "tick");
        }
        for &successor in successors {
            scenario.step(0.0, &format!("udp PONG {successor} {id} 0"));
        }
        for (index, &predecessor) in predecessors.iter().enumerate() {
            let position = crate::message::Ordinal::from_index(index).expect("a position");
            scenario.step(0.0, &format!("udp PING {predecessor} {id} {position} 0"));
        }
        scenario.unanswered.clear();
        scenario
    }

    /// Lets the peer see these files (four-digit names) in its directory.
    pub fn holding(self, files: &[&str]) -> Scenario {
        let files = Holding(files.iter().map(|f| f.to_string()).collect());
        Scenario {
            peer: self.peer.with_files(Box::new(files)),
            ..self
        }
    }

    /// The peer under test.
    pub fn peer(&self) -> &Peer {
        &self.peer
    }

    /// The time `secs` after the start.
    pub fn at(&self, secs: f64) -> Instant {
        self.start + Duration::from_secs_f64(secs)
    }

    /// The peer's next deadline, in seconds after the start.
    pub fn next_deadline(&self) -> Option<f64> {
        self.peer
            .next_deadline()
            .map(|at| at.saturating_duration_since(self.start).as_secs_f64())
    }

    /// Hands one input to the peer at `secs` and returns its trace.
    pub fn step(&mut self, secs: f64, input: &str) -> Vec<String> {
        let now = self.at(secs);
        let event = self.event(input);
        let actions = self.peer.handle(event, now);
        self.record(actions)
    }

    /// Runs a table of steps, each with the trace it must give exactly.
    pub fn expect(&mut self, steps: &[(f64, &str, &[&str])]) {
        for &(secs, input, expected) in steps {
            let trace = self.step(secs, input);
            assert_eq!(
                trace, expected,
                "at {secs} s, after {input:?}: the trace was {trace:#?}"
            );
        }
    }

    /// Ticks the peer at each of its deadlines until `until` seconds,
    /// answering every ping to a peer in `alive` at once; returns what it
    /// did, each entry with its time in seconds.
    pub fn run_until(&mut self, until: f64, alive: &[u8]) -> Vec<(f64, String)> {
        let mut log = Vec::new();
        let me = self.peer.id();
        while let Some(secs) = self.next_deadline().filter(|&secs| secs <= until) {
            for entry in self.step(secs, "tick") {
                if let Some((to, seq)) = ping_target(&entry)
                    && alive.contains(&to)
                {
                    self.step(secs, &format!("udp PONG {to} {me} {seq}"));
                }
                log.push((secs, entry));
            }
        }
        log
    }

    /// The text of each diagnostic written since the last call, in order.
    pub fn said(&mut self) -> Vec<String> {
        std::mem::take(&mut self.said)
    }

    /// The requests sent and not answered yet, as `<to> <REQUEST>`.
    pub fn unanswered(&self) -> Vec<String> {
        self.unanswered
            .iter()
            .map(|(to, line, _)| format!("{to} {line}"))
            .collect()
    }

    fn event(&mut self, input: &str) -> Event {
        let (verb, rest) = input.split_once(' ').unwrap_or((input, ""));
        match verb {
            "tick" => Event::Tick,
            "udp" => {
                let datagram = Datagram::parse(rest).expect("a datagram");
                let from = match &datagram {
                    Datagram::Ping { from, .. } | Datagram::Pong { from, .. } => *from,
                };
                Event::Datagram {
                    datagram,
                    from: address_of(from.0),
                }
            }
            "tcp" => {
                let connection = ConnectionId(self.next_connection);
                self.next_connection += 1;
                Event::Request {
                    request: Request::parse(rest).expect("a request"),
                    connection,
                }
            }
            "reply" | "noreply" | "refused" => {
                let (peer, rest) = rest.split_once(' ').unwrap_or((rest, ""));
                let peer: u8 = peer.parse().expect("a peer");
                let (wanted_verb, reply) = match rest.split_once(": ") {
                    Some((verb, reply)) => (Some(verb), reply),
                    None if verb != "reply" && !rest.is_empty() => (Some(rest), ""),
                    None => (None, rest),
                };
                let index = self
                    .unanswered
                    .iter()
                    .position(|(to, line, _)| {
                        *to == peer && wanted_verb.is_none_or(|v| line.starts_with(v))
                    })
                    .unwrap_or_else(|| {
                        panic!("no request to {peer} to answer: {:?}", self.unanswered())
                    });
                let (_, _, token) = self.unanswered.remove(index);
                let reply = match verb {
                    "reply" => Ok(Reply::parse(reply).expect("a reply")),
                    "refused" => Err(NoAnswer::Refused),
                    _ => Err(NoAnswer::Silent),
                };
                Event::Replied { token, reply }
            }
            "closed" => Event::PortClosed {
                peer: PeerId(rest.parse().expect("a peer")),
            },
            "typed" => Event::Typed(
                parse_command(rest)
                    .expect("a command")
                    .expect("not a blank line"),
            ),
            "sent" | "received" => {
                let words: Vec<&str> = rest.splitn(4, ' ').collect();
                let [file, peer, purpose, outcome] = words[..] else {
                    panic!("a transfer: {input:?}");
                };
                Event::TransferFinished {
                    file: FileName::parse(file).expect("a file"),
                    peer: PeerId(peer.parse().expect("a peer")),
                    direction: if verb == "sent" {
                        Direction::Sent
                    } else {
                        Direction::Received
                    },
                    purpose: purpose.parse::<Purpose>().expect("a purpose"),
                    outcome: match outcome {
                        "ok" => Ok(Transferred::Whole),
                        "have" => Ok(Transferred::AlreadyHeld),
                        reason => Err(reason.to_string()),
                    },
                }
            }
            _ => panic!("unknown scenario input {input:?}"),
        }
    }

    fn record(&mut self, actions: Vec<Action>) -> Vec<String> {
        let mut trace = Vec::new();
        for action in actions {
            // A line the course prints as nothing leaves no entry.
            if let Action::Print(line) = &action {
                for text in Wording::P2p.render(line) {
                    trace.push(format!("print {text}"));
                }
                continue;
            }
            trace.push(self.describe(action));
        }
        trace
    }

    fn describe(&mut self, action: Action) -> String {
        match action {
            Action::Print(line) => format!("print {:?}", line),
            Action::Warn(warning) => {
                self.said.push(warning.text);
                format!("warn {:?}", warning.kind)
            }
            Action::SendDatagram { to, datagram } => format!("udp {to} {datagram}"),
            Action::AnswerDatagram { datagram, .. } => format!("udp-back {datagram}"),
            Action::Send { to, request, token } => {
                self.unanswered.push((to.0, request.to_string(), token));
                format!("tcp {to} {request}")
            }
            Action::Reply { reply, .. } => format!("reply {reply}"),
            Action::SendFile { to, file, purpose } => {
                format!("send-file {file} {to} {purpose}")
            }
            Action::ReceiveFile {
                from,
                file,
                size,
                purpose,
                ..
            } => format!("receive-file {file} {from} {size} {purpose}"),
            Action::Relabel { file, to } => format!("relabel {file} {to:?}"),
            Action::Discard { file, held } => format!("discard {file} {held:?}"),
            Action::Exit { code } => format!("exit {code}"),
        }
    }
}

/// The configuration of peer `id` keeping `successor_count` successors, at
/// the course's interval and with the course's one copy of each file.
pub fn config(id: u8, successor_count: usize) -> PeerConfig {
    PeerConfig {
        id: PeerId(id),
        ping_interval: INTERVAL,
        successor_count,
        replicas: 1,
        handover: false,
    }
}

fn address_of(peer: u8) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(
        Ipv4Addr::LOCALHOST,
        BASE_PORT + u16::from(peer),
    ))
}

/// The peer a `udp <to> PING ...` entry pings.
/// The peer a traced ping goes to, and its number.
fn ping_target(entry: &str) -> Option<(u8, u32)> {
    let rest = entry.strip_prefix("udp ")?;
    let (to, datagram) = rest.split_once(' ')?;
    if !datagram.starts_with("PING ") {
        return None;
    }
    let seq = datagram.rsplit(' ').next()?.parse().ok()?;
    Some((to.parse().ok()?, seq))
}

/// The time of the first entry of `log` equal to `entry`.
pub fn first_time(log: &[(f64, String)], entry: &str) -> Option<f64> {
    log.iter().find(|(_, e)| e == entry).map(|(secs, _)| *secs)
}

/// Every entry of `log`, without times.
pub fn entries(log: &[(f64, String)]) -> Vec<&str> {
    log.iter().map(|(_, e)| e.as_str()).collect()
}
