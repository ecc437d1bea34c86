//! Diagnostics: the lines a peer writes on standard error, and the summary
//! that keeps a flood of bad input from becoming a flood of lines.
//!
//! Every diagnostic has a [`Kind`]. The kinds that bad input from another
//! program can cause (a junk datagram, a message for another peer, a
//! connection closed to make room) are limited per kind: a short burst is
//! written in full, then about one line a second, and the rest are counted
//! and summarised in one line. What the user typed and what the peer says
//! about itself are never summarised.
//!
//! Standard error is one stream per process, written from many threads (the
//! UDP reader, the TCP connections, the transfers), so it has one writer
//! for the whole process, started on first use.

use std::fmt;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::writer::{LineWriter, LossReport, WriterConfig};

/// The most diagnostic lines kept waiting for a slow reader.
const QUEUE_CAPACITY: usize = 1024;

/// How many lines of one limited kind are written in a burst, before the
/// limit of about one a second applies.
const BURST: f64 = 10.0;

/// How many lines of one limited kind are written per second in the long
/// run.
const PER_SECOND: f64 = 1.0;

/// What a diagnostic is about, which decides whether it may be summarised.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// Something the peer says about itself: it started, it rejoins, its
    /// successors failed, it leaves the ring. Rare, and never summarised.
    Note,
    /// A mistake in what the user typed; one line for each, never
    /// summarised: the user needs every hint.
    Typing,
    /// A datagram that is not a message of the protocol.
    BadDatagram,
    /// A valid message addressed to another peer.
    Misaddressed,
    /// A TCP connection that broke the rules: garbage, a line too long, a
    /// silence, or a close to make room for others.
    BadConnection,
    /// A valid message that this peer did not expect: a change from a peer
    /// that is not its successor, an offer nobody asked for.
    Unexpected,
    /// A limit was reached: requests, transfers or expectations refused.
    Busy,
    /// A store, request or message that could not be delivered.
    Delivery,
    /// A file transfer that failed.
    Transfer,
    /// Lines of standard output lost because nobody read them.
    LostOutput,
}

impl Kind {
    /// Whether bad input from outside can produce lines of this kind at
    /// will, so that they must be summarised.
    fn is_limited(self) -> bool {
        !matches!(self, Kind::Note | Kind::Typing)
    }
}

/// A diagnostic the state machine asks the peer to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    pub kind: Kind,
    pub text: String,
}

impl Warning {
    pub fn new(kind: Kind, text: impl Into<String>) -> Warning {
        Warning {
            kind,
            text: text.into(),
        }
    }
}

/// The process's standard error: the writer and the limits per kind.
struct Diagnostics {
    writer: LineWriter,
    limiter: Arc<Mutex<Limiter>>,
}

static DIAGNOSTICS: OnceLock<Diagnostics> = OnceLock::new();

fn diagnostics() -> &'static Diagnostics {
    DIAGNOSTICS.get_or_init(|| {
        let limiter = Arc::new(Mutex::new(Limiter::default()));
        let summaries = Arc::clone(&limiter);
        let writer = LineWriter::start(
            std::io::stderr(),
            WriterConfig {
                name: "stderr-writer",
                capacity: QUEUE_CAPACITY,
                loss: LossReport::InStream {
                    stream: "standard error",
                },
                every_second: Some(Box::new(move |now| {
                    summaries
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .summaries(now)
                })),
                copy_to_log: true,
            },
        );
        Diagnostics { writer, limiter }
    })
}

/// The name of the program, which begins every diagnostic: `p2p`, or
/// `cdht` for the older course version. Set once, at start.
static PROGRAM_NAME: OnceLock<&'static str> = OnceLock::new();

/// Names the program for every diagnostic that follows; the first name
/// given stays.
pub fn set_program_name(name: &'static str) {
    let _ = PROGRAM_NAME.set(name);
}

/// The program's name, `p2p` unless another was set.
pub fn program_name() -> &'static str {
    PROGRAM_NAME.get().copied().unwrap_or("p2p")
}

/// Writes one diagnostic of `kind`, unless its kind has had its share of
/// lines lately; then it is counted for the next summary.
pub fn report_diagnostic(kind: Kind, text: fmt::Arguments<'_>) {
    let diagnostics = diagnostics();
    let admitted = diagnostics
        .limiter
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .admit(kind, Instant::now(), &text);
    if admitted {
        diagnostics
            .writer
            .push(format!("{}: {text}", program_name()));
    }
}

/// Waits until the diagnostics written so far have reached standard error,
/// for at most `timeout`. Called before the process exits.
pub fn flush_diagnostics(timeout: Duration) {
    if let Some(diagnostics) = DIAGNOSTICS.get() {
        diagnostics.writer.flush(timeout);
    }
}

/// Writes one diagnostic line on standard error at once, prefixed with
/// the program's name (`p2p: `), without the queue: for the command line's errors before a peer
/// runs, and for the panic hook. It ignores a closed stream: `eprintln!`
/// would panic there.
pub fn write_diagnostic(message: fmt::Arguments<'_>) {
    let line = format!("{}: {message}", program_name());
    let _ = writeln!(std::io::stderr().lock(), "{line}");
    super::copy_to_log(&line);
}

/// Queues `line` for standard error as it is, without the program's name
/// and never summarised: the echo of a typed command (`--echo-commands`),
/// which is the user's own words rather than the program's.
pub(super) fn write_echo(line: String) {
    diagnostics().writer.push(line);
}

/// `diagnose!("...", args)` writes a diagnostic line about the peer itself
/// ([`Kind::Note`]); see [`report_diagnostic`].
macro_rules! diagnose {
    ($($argument:tt)*) => {
        $crate::output::report_diagnostic($crate::output::Kind::Note, format_args!($($argument)*))
    };
}
pub(crate) use diagnose;

/// `report!(Kind::BadDatagram, "...", args)` writes a diagnostic of that
/// kind; see [`report_diagnostic`].
macro_rules! report {
    ($kind:expr, $($argument:tt)*) => {
        $crate::output::report_diagnostic($kind, format_args!($($argument)*))
    };
}
pub(crate) use report;

/// The limits per kind: a token bucket each, and what was suppressed.
#[derive(Default)]
struct Limiter {
    kinds: Vec<(Kind, Bucket)>,
}

struct Bucket {
    tokens: f64,
    refilled_at: Instant,
    suppressed: u64,
    suppressed_since: Instant,
    /// The last line suppressed, to show what the summary is about.
    sample: String,
}

impl Limiter {
    /// Whether a line of `kind` may be written now.
    fn admit(&mut self, kind: Kind, now: Instant, text: &fmt::Arguments<'_>) -> bool {
        if !kind.is_limited() {
            return true;
        }
        let bucket = match self.kinds.iter().position(|(k, _)| *k == kind) {
            Some(index) => &mut self.kinds[index].1,
            None => {
                self.kinds.push((
                    kind,
                    Bucket {
                        tokens: BURST,
                        refilled_at: now,
                        suppressed: 0,
                        suppressed_since: now,
                        sample: String::new(),
                    },
                ));
                let last = self.kinds.len() - 1;
                &mut self.kinds[last].1
            }
        };
        let elapsed = now.saturating_duration_since(bucket.refilled_at);
        bucket.tokens = (bucket.tokens + elapsed.as_secs_f64() * PER_SECOND).min(BURST);
        bucket.refilled_at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return true;
        }
        if bucket.suppressed == 0 {
            bucket.suppressed_since = now;
        }
        bucket.suppressed += 1;
        bucket.sample = text.to_string();
        false
    }

    /// One line for each kind whose suppressed lines have waited a second
    /// or more.
    fn summaries(&mut self, now: Instant) -> Vec<String> {
        let mut lines = Vec::new();
        for (_, bucket) in &mut self.kinds {
            let waited = now.saturating_duration_since(bucket.suppressed_since);
            if bucket.suppressed > 0 && waited >= Duration::from_secs(1) {
                lines.push(format!(
                    "{}: {} more like this in the last {:.1} s, the last one: {}",
                    program_name(),
                    bucket.suppressed,
                    waited.as_secs_f64(),
                    bucket.sample
                ));
                bucket.suppressed = 0;
            }
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admit(limiter: &mut Limiter, kind: Kind, at: Instant) -> bool {
        limiter.admit(kind, at, &format_args!("a line"))
    }

    #[test]
    fn a_flood_is_summarised_after_a_burst() {
        let mut limiter = Limiter::default();
        let start = Instant::now();
        let admitted = (0..3000)
            .filter(|_| admit(&mut limiter, Kind::BadDatagram, start))
            .count();
        assert_eq!(admitted, BURST as usize);
        // Nothing to summarise until a second has passed...
        assert!(limiter.summaries(start).is_empty());
        // ...then one line counts the rest.
        let later = start + Duration::from_secs(1);
        let summaries = limiter.summaries(later);
        assert_eq!(summaries.len(), 1);
        assert!(
            summaries[0].starts_with("p2p: 2990 more like this"),
            "{summaries:?}"
        );
        assert!(limiter.summaries(later).is_empty());
        // About one line a second gets through in the long run.
        assert!(admit(&mut limiter, Kind::BadDatagram, later));
        assert!(!admit(&mut limiter, Kind::BadDatagram, later));
    }

    #[test]
    fn kinds_are_limited_separately_and_typing_never() {
        let mut limiter = Limiter::default();
        let now = Instant::now();
        for _ in 0..100 {
            admit(&mut limiter, Kind::BadDatagram, now);
        }
        assert!(admit(&mut limiter, Kind::Misaddressed, now));
        assert!((0..100).all(|_| admit(&mut limiter, Kind::Typing, now)));
        assert!((0..100).all(|_| admit(&mut limiter, Kind::Note, now)));
    }
}
