//! A writer that never blocks the thread that writes to it.
//!
//! Writing to a pipe or a terminal blocks when the reader does not keep up:
//! a log nobody reads, a terminal paused with Ctrl-S. If the event loop
//! printed its lines itself, such a reader would freeze the whole peer, and
//! its predecessors would soon take it for dead. So lines go into a bounded
//! queue instead, and a thread of their own writes them out. When the queue
//! is full, a line is counted rather than kept; once the reader has caught
//! up, one line says how many were lost. Memory stays bounded and the peer
//! goes on serving the ring, whoever reads its output.
//!
//! The queue is a `Mutex` around a `VecDeque` with a `Condvar` to wake the
//! writing thread, the way a thread pool hands out its jobs.
//!
//! The same kind of writer keeps the peer's log (`--log FILE`): a copy of
//! every line of standard output and standard error, each stamped with the
//! time it was queued, so that the logs of a whole ring can be merged in
//! time order. A slow disk can no more stall the peer than a slow terminal.

use std::collections::VecDeque;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long the writing thread waits for lines before it runs its periodic
/// work (see [`WriterConfig::every_second`]).
const PERIOD: Duration = Duration::from_secs(1);

/// Something to do about lines that were lost because the queue was full.
pub enum LossReport {
    /// Write a line saying so on this same stream, in these words.
    InStream { stream: &'static str },
    /// Hand the count to this function (which may report it elsewhere).
    Elsewhere(Box<dyn Fn(u64) + Send>),
}

/// Work the writing thread does about once a second, whether or not lines
/// arrive: it returns lines to write (summaries of suppressed diagnostics).
pub type Periodic = Box<dyn FnMut(Instant) -> Vec<String> + Send>;

/// How to start a [`LineWriter`].
pub struct WriterConfig {
    /// The name of the writing thread.
    pub name: &'static str,
    /// The most lines kept waiting; more are counted as lost.
    pub capacity: usize,
    pub loss: LossReport,
    pub every_second: Option<Periodic>,
    /// Whether every line of this stream is also copied to the log, when
    /// the peer keeps one (see [`open_log`]).
    pub copy_to_log: bool,
}

/// The sending end of a line queue; see the module documentation.
#[derive(Clone)]
pub struct LineWriter {
    shared: Arc<Shared>,
    /// Set only when no thread could be started: lines are then written by
    /// the caller itself, which is better than losing them.
    direct: Option<Arc<Mutex<Sink>>>,
    /// Whether [`LineWriter::push`] copies each line to the log.
    copy_to_log: bool,
}

type Sink = Box<dyn Write + Send>;

struct Shared {
    state: Mutex<State>,
    /// Signalled when lines are added, and when the writer has written some.
    changed: Condvar,
}

struct State {
    lines: VecDeque<String>,
    capacity: usize,
    /// Lines not kept since the last report of losses.
    lost: u64,
    /// True while the writer holds lines it took but has not written yet.
    writing: bool,
}

impl LineWriter {
    /// Starts the writing thread for `sink`. If no thread can be started,
    /// every line is written at once by [`LineWriter::push`] instead.
    pub fn start(sink: impl Write + Send + 'static, config: WriterConfig) -> LineWriter {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                lines: VecDeque::new(),
                capacity: config.capacity,
                lost: 0,
                writing: false,
            }),
            changed: Condvar::new(),
        });
        let sink: Arc<Mutex<Sink>> = Arc::new(Mutex::new(Box::new(sink)));
        let (thread_shared, thread_sink) = (Arc::clone(&shared), Arc::clone(&sink));
        let copy_to_log = config.copy_to_log;
        let started = thread::Builder::new()
            .name(config.name.to_string())
            .spawn(move || write_forever(&thread_shared, &thread_sink, config));
        LineWriter {
            shared,
            direct: started.is_err().then_some(sink),
            copy_to_log,
        }
    }

    /// Queues one line (without its newline). Never blocks on the output
    /// itself: a full queue loses the line and counts it. The log's copy
    /// is taken first, so a line lost here is still in the log.
    pub fn push(&self, line: String) {
        if self.copy_to_log {
            copy_to_log(&line);
        }
        if let Some(sink) = &self.direct {
            let mut sink = sink.lock().unwrap_or_else(|e| e.into_inner());
            let _ = writeln!(sink, "{line}");
            let _ = sink.flush();
            return;
        }
        let mut state = self.lock();
        if state.lines.len() >= state.capacity {
            state.lost += 1;
            return;
        }
        state.lines.push_back(line);
        drop(state);
        self.shared.changed.notify_all();
    }

    /// Waits until every queued line has been written, or `timeout` has
    /// passed; returns whether the queue was emptied. Used just before the
    /// process exits, so that its last words are not lost, but without
    /// letting a reader that has stopped reading hold the exit up for ever.
    pub fn flush(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut state = self.lock();
        while !state.lines.is_empty() || state.writing {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            state = self
                .shared
                .changed
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        true
    }

    /// How many lines wait to be written.
    pub fn queued(&self) -> usize {
        self.lock().lines.len()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // No code panics while holding this lock; a poisoned lock still
        // holds a usable queue.
        self.shared.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The writing thread: takes every waiting line, writes them, flushes, and
/// reports losses once the queue has drained.
fn write_forever(shared: &Shared, sink: &Mutex<Sink>, mut config: WriterConfig) {
    let mut next_period = Instant::now() + PERIOD;
    loop {
        let (batch, lost) = {
            let mut state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
            while state.lines.is_empty() && state.lost == 0 {
                let now = Instant::now();
                if now >= next_period {
                    break;
                }
                state = shared
                    .changed
                    .wait_timeout(state, next_period - now)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
            let batch: Vec<String> = state.lines.drain(..).collect();
            // Losses are reported once the queue has drained, so that the
            // report comes after the lines that were written before them.
            let lost = if batch.is_empty() {
                std::mem::take(&mut state.lost)
            } else {
                0
            };
            state.writing = !batch.is_empty();
            (batch, lost)
        };
        let mut extra = Vec::new();
        let now = Instant::now();
        if now >= next_period {
            next_period = now + PERIOD;
            if let Some(periodic) = &mut config.every_second {
                extra = periodic(now);
            }
        }
        if lost > 0 {
            match &config.loss {
                LossReport::InStream { stream } => extra.push(format!(
                    "{}: {lost} lines of {stream} were lost: nobody read them in time",
                    super::diagnostics::program_name()
                )),
                LossReport::Elsewhere(report) => report(lost),
            }
        }
        if config.copy_to_log {
            extra.iter().for_each(|line| copy_to_log(line));
        }
        if !batch.is_empty() || !extra.is_empty() {
            let mut sink = sink.lock().unwrap_or_else(|e| e.into_inner());
            // A closed stream (the reader has gone) is no reason to stop:
            // the lines are simply dropped, as a terminal that was closed
            // would drop them.
            for line in batch.iter().chain(&extra) {
                let _ = writeln!(sink, "{line}");
            }
            let _ = sink.flush();
        }
        let mut state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
        state.writing = false;
        drop(state);
        shared.changed.notify_all();
    }
}

/// The most lines kept waiting for the log file: those of standard output
/// and standard error together.
const LOG_QUEUE_CAPACITY: usize = 8192;

/// The writer of the peer's log, once [`open_log`] has opened it.
static LOG: OnceLock<LineWriter> = OnceLock::new();

/// Opens `path` for appending, and from now on copies every line of the
/// streams that ask for it ([`WriterConfig::copy_to_log`]) to it, each
/// after the UTC time of day it was queued at. Appending, so that a
/// peer restarted with the same log adds to its story; the first log
/// opened stays.
pub fn open_log(path: &Path) -> std::io::Result<()> {
    let file = OpenOptions::new().create(true).append(true).open(path)?;
    let writer = LineWriter::start(
        file,
        WriterConfig {
            name: "log-writer",
            capacity: LOG_QUEUE_CAPACITY,
            loss: LossReport::InStream { stream: "the log" },
            every_second: None,
            copy_to_log: false,
        },
    );
    let _ = LOG.set(writer);
    Ok(())
}

/// Queues a timestamped copy of `text` for the log, one log line for each
/// of its lines; does nothing when the peer keeps no log. Never blocks.
pub fn copy_to_log(text: &str) {
    let Some(log) = LOG.get() else {
        return;
    };
    let stamp = wall_clock(SystemTime::now());
    for line in text.lines() {
        log.push(format!("{stamp} {line}"));
    }
}

/// Waits, for at most `timeout`, until every line queued for the log has
/// been written. Called before the process exits.
pub fn flush_log(timeout: Duration) {
    if let Some(log) = LOG.get() {
        log.flush(timeout);
    }
}

/// The UTC time of day of `time` as `HH:MM:SS.mmm`: short enough to read,
/// and the same clock for every peer of a ring on one machine, so that
/// their logs merge by sorting. A clock set before 1970 reads as midnight.
pub fn wall_clock(time: SystemTime) -> String {
    let since_epoch = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let millis = since_epoch.as_millis() % 86_400_000;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        millis / 3_600_000,
        millis / 60_000 % 60,
        millis / 1000 % 60,
        millis % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    /// A sink that blocks every write until the test lets it go on, like a
    /// pipe nobody reads, and hands what it wrote to the test.
    struct Gate {
        open: mpsc::Receiver<()>,
        written: mpsc::Sender<String>,
    }

    impl Write for Gate {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            let _ = self.open.recv();
            let _ = self
                .written
                .send(String::from_utf8_lossy(bytes).into_owned());
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn config(capacity: usize) -> WriterConfig {
        WriterConfig {
            name: "test-writer",
            capacity,
            loss: LossReport::InStream {
                stream: "the test stream",
            },
            every_second: None,
            copy_to_log: false,
        }
    }

    #[test]
    fn the_wall_clock_is_the_utc_time_of_day_to_the_millisecond() {
        let at = |millis: u64| wall_clock(UNIX_EPOCH + Duration::from_millis(millis));
        assert_eq!(at(0), "00:00:00.000");
        // 2024-01-01 13:04:05.067 UTC is 19723 days and 47045067 ms after
        // the epoch.
        assert_eq!(at(19_723 * 86_400_000 + 47_045_067), "13:04:05.067");
        assert_eq!(at(86_400_000 - 1), "23:59:59.999");
        assert_eq!(
            wall_clock(UNIX_EPOCH - Duration::from_secs(1)),
            "00:00:00.000"
        );
    }

    #[test]
    fn a_reader_that_never_reads_cannot_block_the_writer_nor_swell_its_memory() {
        let (open, gate) = mpsc::channel();
        let (written, _lines) = mpsc::channel();
        let writer = LineWriter::start(
            Gate {
                open: gate,
                written,
            },
            config(10),
        );
        let started = Instant::now();
        for n in 0..10_000 {
            writer.push(format!("line {n}"));
        }
        // Every push returned at once, and the queue holds at most its
        // capacity, plus the batch the thread is stuck writing.
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(writer.queued() <= 10);
        drop(open);
    }

    #[test]
    fn lost_lines_are_counted_once_the_reader_catches_up() {
        let (open, gate) = mpsc::channel();
        let (written, lines) = mpsc::channel();
        let writer = LineWriter::start(
            Gate {
                open: gate,
                written,
            },
            config(3),
        );
        writer.push("first".to_string());
        // Wait until the thread has taken "first" and is stuck writing it.
        while writer.queued() > 0 {
            thread::yield_now();
        }
        for n in 0..10 {
            writer.push(format!("queued {n}"));
        }
        // Let everything through from now on.
        for _ in 0..100 {
            let _ = open.send(());
        }
        assert!(writer.flush(Duration::from_secs(10)));
        let mut text = String::new();
        while let Ok(part) = lines.recv_timeout(Duration::from_secs(5)) {
            text.push_str(&part);
            if text.contains("were lost") {
                break;
            }
        }
        assert!(
            text.starts_with("first\nqueued 0\nqueued 1\nqueued 2\n"),
            "{text}"
        );
        assert!(
            text.contains("p2p: 7 lines of the test stream were lost"),
            "{text}"
        );
    }
}
