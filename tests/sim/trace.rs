//! The trace of a run: what happened, at which virtual time, to whom.
//!
//! A trace is for debugging a failing seed. It is off in batches (it costs
//! a string per event); `make sim SEED=<n>` keeps the last events and
//! prints them before the first violation, and `--trace` (or
//! `SIM_TRACE=1`) prints every event. Pings and their answers are the bulk
//! of a run and rarely the story, so they are left out unless
//! `SIM_TRACE=pings` asks for them. Times are virtual, so a trace is as
//! deterministic as the run.

use std::collections::VecDeque;
use std::time::Duration;

use p2p::output::{Line, Wording};
use p2p::peer::{Action, Event};
use p2p::ring::PeerId;

/// How much of a run is traced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceMode {
    /// Nothing: the fast way, for batches.
    Off,
    /// The last this many events, shown when a violation is found.
    Tail(usize),
    /// Every event.
    Full,
}

/// Which events a trace shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceConfig {
    pub mode: TraceMode,
    /// Also the pings, their answers and the lines they print.
    pub pings: bool,
}

impl TraceConfig {
    pub const OFF: TraceConfig = TraceConfig {
        mode: TraceMode::Off,
        pings: false,
    };
}

/// The trace being written; see the module documentation.
#[derive(Debug)]
pub struct Trace {
    config: TraceConfig,
    lines: VecDeque<String>,
    /// The tail as it was at the first violation.
    pub at_first_violation: Option<Vec<String>>,
}

impl Trace {
    pub fn new(config: TraceConfig) -> Trace {
        Trace {
            config,
            lines: VecDeque::new(),
            at_first_violation: None,
        }
    }

    pub fn is_on(&self) -> bool {
        self.config.mode != TraceMode::Off
    }

    pub fn shows_pings(&self) -> bool {
        self.config.pings
    }

    /// Adds a line, made only if the trace is on.
    pub fn record(&mut self, at: Duration, text: impl FnOnce() -> String) {
        match self.config.mode {
            TraceMode::Off => {}
            TraceMode::Tail(limit) => {
                if self.lines.len() == limit {
                    self.lines.pop_front();
                }
                self.lines.push_back(format!("{} {}", time(at), text()));
            }
            TraceMode::Full => self.lines.push_back(format!("{} {}", time(at), text())),
        }
    }

    /// Remembers the tail when the first violation is found.
    pub fn violation_found(&mut self) {
        if self.config.mode != TraceMode::Off && self.at_first_violation.is_none() {
            self.at_first_violation = Some(self.lines.iter().cloned().collect());
        }
    }

    /// Every line kept, oldest first.
    pub fn into_lines(self) -> Vec<String> {
        self.lines.into()
    }
}

/// A virtual time as the trace shows it: seconds, to the microsecond.
pub fn time(at: Duration) -> String {
    format!("[{:>4}.{:06}]", at.as_secs(), at.subsec_micros())
}

/// Whether an event is part of the pinging, which traces leave out by
/// default.
pub fn is_ping_event(event: &Event) -> bool {
    matches!(event, Event::Datagram { .. } | Event::Tick)
}

/// Whether an action is part of the pinging.
pub fn is_ping_action(action: &Action) -> bool {
    match action {
        Action::SendDatagram { .. } | Action::AnswerDatagram { .. } => true,
        Action::Print(line) => matches!(
            line,
            Line::PingRequestsSent { .. }
                | Line::PingRequestReceived { .. }
                | Line::PingResponseReceived { .. }
        ),
        _ => false,
    }
}

/// An event as the trace shows it, with the wire's own words where there
/// are some.
pub fn describe_event(peer: PeerId, event: &Event) -> String {
    let what = match event {
        Event::Tick => "tick".to_string(),
        Event::Datagram { datagram, .. } => format!("datagram {datagram}"),
        Event::Request {
            request,
            connection,
        } => format!("request {request} (connection {})", connection.0),
        Event::Replied { token, reply } => match reply {
            Ok(reply) => format!("answer {reply} (token {})", token.0),
            Err(why) => format!("no answer: {why:?} (token {})", token.0),
        },
        Event::PortClosed { peer } => format!("port of peer {peer} closed"),
        Event::Typed(command) => format!("typed {command:?}"),
        Event::TransferFinished {
            file,
            peer,
            direction,
            outcome,
            ..
        } => format!("transfer of {file} with peer {peer} ({direction:?}): {outcome:?}"),
    };
    format!("peer {:>3} <- {what}", peer.to_string())
}

/// An action as the trace shows it.
pub fn describe_action(peer: PeerId, action: &Action) -> String {
    let what = match action {
        Action::Print(line) => format!("prints \"{}\"", Wording::P2p.render(line).join(" / ")),
        Action::Warn(warning) => format!("warns: {}", warning.text),
        Action::SendDatagram { to, datagram } => format!("datagram to {to}: {datagram}"),
        Action::AnswerDatagram { to, datagram } => format!("datagram to {to}: {datagram}"),
        Action::Send { to, request, token } => {
            format!("sends {request} to {to} (token {})", token.0)
        }
        Action::Reply { connection, reply } => {
            format!("answers {reply} (connection {})", connection.0)
        }
        Action::SendFile { to, file, .. } => format!("sends file {file} to {to}"),
        Action::ReceiveFile { from, file, .. } => format!("receives file {file} from {from}"),
        Action::Relabel { file, to } => format!("renames its copy of {file} to {to:?}"),
        Action::Discard { file, held } => format!("removes its {held:?} copy of {file}"),
        Action::Exit { code } => format!("exits with code {code}"),
    };
    format!("peer {:>3} -> {what}", peer.to_string())
}
