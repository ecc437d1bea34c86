//! Whether one successor is alive, from what its answers (and its port) say.
//!
//! A successor is declared dead after a *silence*: pings that went
//! unanswered for long enough, and enough of them. How long and how often to
//! probe depend on the evidence at hand, and each kind of evidence has its
//! [`DetectionRule`]:
//!
//! - [`BY_PINGS`]: only pings are unanswered. The successor may be frozen,
//!   or the network slow, so the rule is patient: a suspect after half a
//!   second, probes every 0.3 s, dead after 1.5 s of silence.
//! - [`AFTER_PORT_CLOSED`]: besides, its watch connection closed and its
//!   port refused a new connection. On one host that happens only when its
//!   process has ended (the kernel closes a dead process's sockets at once),
//!   so quick probes need only confirm it: dead after 40 ms of silence.
//!
//! In both cases at least [`PINGS_TO_CONFIRM`] pings must go unanswered, so
//! that a single lost datagram never kills a peer. A successor that has
//! never answered is not suspected in this way: in a ring started by hand,
//! it may simply not have started yet. It is given a long grace instead (the
//! never-answered limit, `PeerConfig::never_answered_limit`), after which it
//! is declared dead like any other. (Once the ring is up, a successor
//! learned from another peer's list is presumed alive instead; see
//! `successors/`.)

use std::time::{Duration, Instant};

/// When to probe a silent successor and when to give up on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DetectionRule {
    /// A ping unanswered for this long makes its successor a suspect, which
    /// is then probed.
    pub first_probe_after: Duration,
    /// How often a suspect is probed (quiet pings, without a printed line).
    pub probe_spacing: Duration,
    /// The silence, counted from the oldest unanswered ping, after which the
    /// successor is declared dead.
    pub silence_limit: Duration,
}

/// The rule when only pings tell: see the module documentation. Half a
/// second is hundreds of times a loopback or LAN round trip, so a live peer
/// is never this late; a frozen successor is found at most one ping
/// interval plus [`DetectionRule::silence_limit`] after it froze.
pub const BY_PINGS: DetectionRule = DetectionRule {
    first_probe_after: Duration::from_millis(500),
    probe_spacing: Duration::from_millis(300),
    silence_limit: Duration::from_millis(1500),
};

/// The rule once the successor's port has refused a connection. A loopback
/// round trip takes tens of microseconds, and even a loaded machine
/// schedules a live peer within a few milliseconds, so four probes 10 ms
/// apart give a verdict within 50 ms of the death, at any ping interval.
pub const AFTER_PORT_CLOSED: DetectionRule = DetectionRule {
    first_probe_after: Duration::from_millis(10),
    probe_spacing: Duration::from_millis(10),
    silence_limit: Duration::from_millis(40),
};

/// The number of unanswered pings (regular ones and probes) needed, besides
/// the silence, before a successor is declared dead.
pub const PINGS_TO_CONFIRM: u32 = 3;

/// What a successor's answers say about it; see the module documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Liveness {
    /// It has answered at least once, so it is running (or was).
    proven: bool,
    /// The pings it has not answered yet, if any.
    silence: Option<Silence>,
    evidence: Evidence,
}

/// Pings sent since the last answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Silence {
    /// When the oldest of them was sent.
    since: Instant,
    /// How many there are.
    unanswered: u32,
    /// When to probe next.
    next_probe: Instant,
}

/// What there is to go on besides unanswered pings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Evidence {
    Pings,
    /// The port refused a connection at `at`; `first_seq` is the number
    /// of the first ping sent after that.
    PortClosed {
        at: Instant,
        first_seq: u32,
    },
}

/// What is due for a successor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// Send a quiet ping.
    Probe,
    /// The silence is long enough: declare it dead.
    Verdict,
}

impl Default for Liveness {
    fn default() -> Liveness {
        Liveness::new()
    }
}

impl Liveness {
    /// A successor nothing is known of yet.
    pub fn new() -> Liveness {
        Liveness {
            proven: false,
            silence: None,
            evidence: Evidence::Pings,
        }
    }

    /// A successor another peer vouches for (one learned from a
    /// successor's list once the ring is up): it is taken to be running, so
    /// it is suspected like one that has answered.
    pub fn presumed_alive() -> Liveness {
        Liveness {
            proven: true,
            ..Liveness::new()
        }
    }

    /// Whether it has answered (or was presumed alive).
    pub fn is_proven(&self) -> bool {
        self.proven
    }

    /// Whether its port has refused a connection: a verdict is at most a few
    /// probes away.
    pub fn is_condemned(&self) -> bool {
        self.proven && matches!(self.evidence, Evidence::PortClosed { .. })
    }

    /// Whether it looks dead already: its port refused a connection, or a
    /// ping has gone unanswered for long enough to probe it.
    pub fn is_suspect(&self, now: Instant) -> bool {
        self.is_condemned()
            || self
                .silence
                .is_some_and(|silence| now >= silence.since + self.rule().first_probe_after)
    }

    /// The rule that applies now.
    pub fn rule(&self) -> DetectionRule {
        match self.evidence {
            Evidence::Pings => BY_PINGS,
            Evidence::PortClosed { .. } => AFTER_PORT_CLOSED,
        }
    }

    /// A ping of a regular round was sent.
    pub fn ping_sent(&mut self, now: Instant) {
        let first_probe = now + self.rule().first_probe_after;
        let silence = self.silence.get_or_insert(Silence {
            since: now,
            unanswered: 0,
            next_probe: first_probe,
        });
        silence.unanswered = silence.unanswered.saturating_add(1);
    }

    /// A probe was sent; the next one is due a probe spacing later.
    pub fn probe_sent(&mut self, now: Instant) {
        self.ping_sent(now);
        let spacing = self.rule().probe_spacing;
        if let Some(silence) = &mut self.silence {
            silence.next_probe = now + spacing;
        }
    }

    /// It answered: it is alive, whatever was suspected.
    pub fn answered(&mut self) {
        *self = Liveness {
            proven: true,
            silence: None,
            evidence: Evidence::Pings,
        };
    }

    /// This peer itself did not run for a while (its process was frozen,
    /// its machine hung): pings it sent before could not be answered in its
    /// eyes, so the silence they started says nothing, and is forgotten.
    pub fn forgive_silence(&mut self) {
        self.silence = None;
    }

    /// Whether a `PONG` with this number says the successor is alive. Once
    /// its port has refused a connection, only an answer to a ping sent
    /// after that counts: a `PONG` still on its way when the process died
    /// (it answered just before) proves nothing about it now.
    pub fn counts_pong(&self, seq: u32) -> bool {
        match self.evidence {
            Evidence::Pings => true,
            // Numbers wrap; a ping is "after" when it is less than half the
            // number space ahead.
            Evidence::PortClosed { first_seq, .. } => seq.wrapping_sub(first_seq) < u32::MAX / 2,
        }
    }

    /// Its port refused a connection: probe at once, and decide fast.
    /// `next_seq` is the number the next ping will carry.
    /// A successor that has never answered may simply not have started
    /// yet (its port refuses until it does), so for it this says nothing.
    pub fn port_closed(&mut self, now: Instant, next_seq: u32) {
        if !self.proven || matches!(self.evidence, Evidence::PortClosed { .. }) {
            return;
        }
        self.evidence = Evidence::PortClosed {
            at: now,
            first_seq: next_seq,
        };
        if let Some(silence) = &mut self.silence {
            silence.next_probe = silence.next_probe.min(now);
        }
    }

    /// What is due next, and when. This one function decides both, so the
    /// work a tick does and the deadline it asks for can never disagree.
    ///
    /// A successor that has never answered is given `never_answered_limit`
    /// of silence instead: in a ring started by hand it may not have
    /// started yet, but one that stays silent that long was never there
    /// (a peer restarted with an `init` line naming a peer that has died
    /// since, say).
    pub fn next_check(&self, never_answered_limit: Duration) -> Option<(Instant, Check)> {
        if !self.proven {
            let silence = self.silence?;
            return (silence.unanswered >= PINGS_TO_CONFIRM)
                .then_some((silence.since + never_answered_limit, Check::Verdict));
        }
        let Some(silence) = self.silence else {
            return match self.evidence {
                Evidence::PortClosed { at, .. } => Some((at, Check::Probe)),
                Evidence::Pings => None,
            };
        };
        let probe = (silence.next_probe, Check::Probe);
        if silence.unanswered < PINGS_TO_CONFIRM {
            // Until enough pings have gone unanswered there is nothing to
            // decide, only more probes to send.
            return Some(probe);
        }
        let verdict = (silence.since + self.rule().silence_limit, Check::Verdict);
        Some(if verdict.0 <= probe.0 { verdict } else { probe })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRACE: Duration = Duration::from_secs(30);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Follows the checks of `liveness` until `until`, as ticks would: each
    /// check is done when it is due, or at once if it is already overdue.
    /// Sends every probe due, and returns when the successor was declared
    /// dead, if it was.
    fn verdict_time(liveness: &mut Liveness, until: Instant) -> Option<Instant> {
        let mut now: Option<Instant> = None;
        while let Some((at, check)) = liveness.next_check(GRACE) {
            let at = now.map_or(at, |now| now.max(at));
            if at > until {
                return None;
            }
            now = Some(at);
            match check {
                Check::Probe => liveness.probe_sent(at),
                Check::Verdict => return Some(at),
            }
        }
        None
    }

    #[test]
    fn a_successor_that_never_answered_is_given_a_long_grace() {
        let start = Instant::now();
        let mut liveness = Liveness::new();
        liveness.ping_sent(start);
        liveness.port_closed(start, 1);
        // Its port refused before it started; its answer to the ping sent
        // before that still counts.
        assert!(liveness.counts_pong(0));
        assert_eq!(liveness.next_check(GRACE), None);
        liveness.ping_sent(start + ms(1000));
        liveness.ping_sent(start + ms(2000));
        assert_eq!(
            liveness.next_check(GRACE),
            Some((start + GRACE, Check::Verdict))
        );
    }

    #[test]
    fn a_frozen_successor_is_dead_after_the_silence_limit() {
        let start = Instant::now();
        let mut liveness = Liveness::new();
        liveness.answered();
        liveness.ping_sent(start);
        assert_eq!(
            liveness.next_check(GRACE),
            Some((start + BY_PINGS.first_probe_after, Check::Probe))
        );
        let dead = verdict_time(&mut liveness, start + ms(5000));
        assert_eq!(dead, Some(start + BY_PINGS.silence_limit));
    }

    #[test]
    fn a_closed_port_gives_a_verdict_within_fifty_milliseconds() {
        let start = Instant::now();
        let mut liveness = Liveness::new();
        liveness.answered();
        liveness.port_closed(start, 0);
        assert_eq!(liveness.next_check(GRACE), Some((start, Check::Probe)));
        let dead = verdict_time(&mut liveness, start + ms(1000)).expect("a verdict");
        assert!(dead - start <= ms(50), "{:?}", dead - start);
        assert_eq!(dead - start, AFTER_PORT_CLOSED.silence_limit);
    }

    #[test]
    fn a_closed_port_hastens_a_silence_already_under_way() {
        let start = Instant::now();
        let mut liveness = Liveness::new();
        liveness.answered();
        liveness.ping_sent(start);
        let closed = start + ms(100);
        liveness.port_closed(closed, 0);
        assert_eq!(liveness.next_check(GRACE), Some((closed, Check::Probe)));
        let dead = verdict_time(&mut liveness, start + ms(1000)).expect("a verdict");
        // Three unanswered pings are still needed: the probes at 100 and 110 ms.
        assert_eq!(dead, closed + AFTER_PORT_CLOSED.probe_spacing);
    }

    #[test]
    fn a_pong_to_a_ping_sent_before_the_port_closed_does_not_count() {
        let start = Instant::now();
        let mut liveness = Liveness::new();
        liveness.answered();
        liveness.ping_sent(start);
        liveness.port_closed(start + ms(1), 8);
        assert!(!liveness.counts_pong(7));
        assert!(liveness.counts_pong(8));
        assert!(liveness.counts_pong(9));
    }

    #[test]
    fn an_answer_ends_every_suspicion() {
        let start = Instant::now();
        let mut liveness = Liveness::new();
        liveness.answered();
        liveness.port_closed(start, 0);
        liveness.probe_sent(start);
        liveness.answered();
        assert_eq!(liveness.next_check(GRACE), None);
        assert_eq!(liveness.rule(), BY_PINGS);
    }

    #[test]
    fn a_slow_answer_within_the_limit_keeps_it_alive() {
        let start = Instant::now();
        let mut liveness = Liveness::new();
        liveness.answered();
        liveness.ping_sent(start);
        assert_eq!(verdict_time(&mut liveness, start + ms(1400)), None);
        liveness.answered();
        assert_eq!(liveness.next_check(GRACE), None);
    }
}
