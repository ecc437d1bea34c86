//! The black-box test harness: start real `p2p` processes on the loopback
//! interface, type commands into them and wait for the lines they print.
//!
//! Each test file says `mod common;` and builds a [`Ring`]. A ring owns a
//! block of 256 ports that no other test can use while it lives, the peer
//! processes it started, and everything they printed. Dropping the ring
//! kills and reaps every peer, even when the test panicked, so no process
//! outlives its test.
//!
//! Nothing here sleeps to wait for something to happen. Every wait is on a
//! condition variable that the threads reading the peers' output signal,
//! with a deadline: a test is as fast as the program, and a broken program
//! fails the test with a message that shows what the peer printed.

#![allow(dead_code)]

pub mod lines;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream, UdpSocket};
use std::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

/// How long a test waits for something that should happen within a few ping
/// intervals. Generous, so that a slow or busy machine does not fail a
/// correct program; a passing test never waits this long.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// The first of the ports used as locks. Holding a TCP listener on
/// `LOCK_PORT_BASE + k` means "block k is mine". The kernel frees the port
/// when the listener is dropped or the process dies, so a crashed test run
/// never leaves a block locked.
const LOCK_PORT_BASE: u16 = 10_000;

/// How many blocks there are. Block k uses ports
/// `FIRST_BLOCK_BASE + 256 * k ..= FIRST_BLOCK_BASE + 256 * k + 255`; the
/// last block ends at port 32767, just below the ephemeral range from which
/// Linux picks the local ports of outgoing connections, so a ring's ports
/// are never taken by some unrelated client socket.
const BLOCK_COUNT: u16 = 77;

/// The base port of block 0. Well above the course's default of 12000, so a
/// student's own ring on the default ports never meets a test ring.
const FIRST_BLOCK_BASE: u16 = 13_056;

/// `ids` without `gone`: the ring that is left after they fail or leave.
pub fn without(ids: &[u8], gone: &[u8]) -> Vec<u8> {
    ids.iter()
        .copied()
        .filter(|id| !gone.contains(id))
        .collect()
}

/// The first and second successors of `peer` in a ring made of `ids`:
/// the next two identities in increasing order, wrapping from the largest
/// back to the smallest.
pub fn successors(ids: &[u8], peer: u8) -> (u8, u8) {
    let sorted = sorted_ring(ids, peer);
    let at = sorted.iter().position(|&id| id == peer).unwrap();
    let len = sorted.len();
    (sorted[(at + 1) % len], sorted[(at + 2) % len])
}

/// The first and second predecessors of `peer` in a ring made of `ids`: the
/// peers whose first and second successor `peer` is.
pub fn predecessors(ids: &[u8], peer: u8) -> (u8, u8) {
    let sorted = sorted_ring(ids, peer);
    let at = sorted.iter().position(|&id| id == peer).unwrap();
    let len = sorted.len();
    (sorted[(at + len - 1) % len], sorted[(at + len - 2) % len])
}

/// The first `count` successors of `peer` in a ring made of `ids`, nearest
/// first: what a peer started with `--successors count` keeps and pings. A
/// ring with fewer other peers than `count` gives all of them.
pub fn successor_list(ids: &[u8], peer: u8, count: usize) -> Vec<u8> {
    let sorted = sorted_ring(ids, peer);
    let at = sorted.iter().position(|&id| id == peer).unwrap();
    let len = sorted.len();
    (1..len.min(count + 1))
        .map(|step| sorted[(at + step) % len])
        .collect()
}

/// The first `count` predecessors of `peer` in a ring made of `ids`, nearest
/// first: the peers that have `peer` among their first `count` successors.
pub fn predecessor_list(ids: &[u8], peer: u8, count: usize) -> Vec<u8> {
    let sorted = sorted_ring(ids, peer);
    let at = sorted.iter().position(|&id| id == peer).unwrap();
    let len = sorted.len();
    (1..len.min(count + 1))
        .map(|step| sorted[(at + len - step) % len])
        .collect()
}

fn sorted_ring(ids: &[u8], peer: u8) -> Vec<u8> {
    let sorted: Vec<u8> = ids
        .iter()
        .copied()
        .collect::<BTreeSet<u8>>()
        .into_iter()
        .collect();
    assert!(
        sorted.len() >= 3,
        "a ring needs at least 3 different peers, got {ids:?}"
    );
    assert!(
        sorted.contains(&peer),
        "peer {peer} is not in the ring {ids:?}"
    );
    sorted
}

/// A block of 256 ports reserved for one ring, and the lock that reserves it.
struct PortBlock {
    base_port: u16,
    /// Never read: holding it is what keeps other tests off this block.
    _lock: TcpListener,
}

impl PortBlock {
    /// Reserves the first free block in which the UDP and TCP ports of every
    /// one of `ids` can be bound right now.
    ///
    /// The lock keeps other rings of this test run and of any other run on
    /// the machine off the block; the check that the ports are free skips a
    /// block in which some unrelated program happens to use one of them.
    fn reserve(ids: &[u8]) -> PortBlock {
        for k in 0..BLOCK_COUNT {
            let Ok(lock) = TcpListener::bind(("127.0.0.1", LOCK_PORT_BASE + k)) else {
                continue;
            };
            let base_port = FIRST_BLOCK_BASE + 256 * k;
            if ids
                .iter()
                .all(|&id| ports_are_free(base_port + u16::from(id)))
            {
                return PortBlock {
                    base_port,
                    _lock: lock,
                };
            }
        }
        panic!(
            "no free block of test ports: all {BLOCK_COUNT} lock ports from {LOCK_PORT_BASE} \
             are taken or every block has a port in use"
        );
    }
}

/// True when both the UDP and the TCP port `port` of 127.0.0.1 can be bound.
/// The sockets are closed again at once.
fn ports_are_free(port: u16) -> bool {
    UdpSocket::bind(("127.0.0.1", port)).is_ok() && TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// Everything one process printed so far, filled in by its reader threads.
#[derive(Default)]
struct Transcript {
    stdout: Vec<String>,
    stderr: Vec<String>,
    /// When the reader thread read each line of `stdout`, index for index:
    /// lets a benchmark time a line without racing the test's own thread.
    stdout_times: Vec<Instant>,
    stdout_closed: bool,
    stderr_closed: bool,
}

/// Which output stream of a peer a wait looks at.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

impl Transcript {
    fn lines(&self, stream: Stream) -> &[String] {
        match stream {
            Stream::Stdout => &self.stdout,
            Stream::Stderr => &self.stderr,
        }
    }

    fn is_closed(&self, stream: Stream) -> bool {
        match stream {
            Stream::Stdout => self.stdout_closed,
            Stream::Stderr => self.stderr_closed,
        }
    }
}

/// A transcript shared between the reader threads, which add lines, and the
/// test, which waits for them. The condition variable is signalled after
/// every change, so a waiting test wakes up as soon as a line arrives.
#[derive(Default)]
struct SharedTranscript {
    transcript: Mutex<Transcript>,
    changed: Condvar,
}

impl SharedTranscript {
    fn lock(&self) -> MutexGuard<'_, Transcript> {
        // A reader thread never panics while holding the lock, but a poisoned
        // lock must not hide the real failure of a test.
        self.transcript.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Starts a thread that reads `source` line by line into the transcript
/// until end of file, which comes when the process exits (or closes the
/// stream).
fn spawn_reader(source: impl Read + Send + 'static, shared: Arc<SharedTranscript>, stream: Stream) {
    thread::spawn(move || {
        let mut reader = BufReader::new(source);
        let mut buffer = Vec::new();
        loop {
            buffer.clear();
            // Read bytes rather than `String`s so that output that is not
            // UTF-8 shows up in the transcript instead of ending it.
            let read = reader.read_until(b'\n', &mut buffer).unwrap_or(0);
            let read_at = Instant::now();
            let mut transcript = shared.lock();
            if read == 0 {
                match stream {
                    Stream::Stdout => transcript.stdout_closed = true,
                    Stream::Stderr => transcript.stderr_closed = true,
                }
                shared.changed.notify_all();
                return;
            }
            let line = buffer.strip_suffix(b"\n").unwrap_or(&buffer);
            let line = String::from_utf8_lossy(line).into_owned();
            match stream {
                Stream::Stdout => {
                    transcript.stdout.push(line);
                    transcript.stdout_times.push(read_at);
                }
                Stream::Stderr => transcript.stderr.push(line),
            }
            shared.changed.notify_all();
        }
    });
}

/// An output stream of a peer that the test leaves unread: it is piped, so
/// the peer writes into a pipe, but nobody ever reads the pipe, which fills
/// up as a log nobody reads does, or a terminal paused with Ctrl-S.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Unread {
    Stdout,
    Stderr,
}

impl Unread {
    /// The file descriptor of the stream in the peer's process.
    fn fd(self) -> u32 {
        match self {
            Unread::Stdout => 1,
            Unread::Stderr => 2,
        }
    }
}

/// The reading end of an unread stream's pipe. Holding it keeps the pipe
/// open, so that the peer's writes block (or fill the pipe) instead of
/// failing with a broken pipe.
enum UnreadPipe {
    Stdout(ChildStdout),
    Stderr(ChildStderr),
}

impl UnreadPipe {
    fn stream(&self) -> Unread {
        match self {
            UnreadPipe::Stdout(_) => Unread::Stdout,
            UnreadPipe::Stderr(_) => Unread::Stderr,
        }
    }
}

/// One running (or finished) `p2p` process.
struct Peer {
    child: Child,
    /// `None` once the test closed the peer's standard input.
    stdin: Option<ChildStdin>,
    output: Arc<SharedTranscript>,
    /// The command line, to show in failure messages.
    command_line: String,
    /// The arguments it was started with, to start it again the same way
    /// ([`Ring::restart`]).
    args: Vec<String>,
    /// The binary it runs: `p2p`, or the one given to
    /// [`Ring::spawn_program`].
    program: String,
    /// Set once the process has been reaped.
    status: Option<ExitStatus>,
    /// True between `stop` and `cont`: a stopped process must be continued
    /// before it can be waited for.
    stopped: bool,
    /// The stream the test never reads, if any; see [`Unread`].
    unread: Option<UnreadPipe>,
}

impl Peer {
    /// Kills the process if it still runs and reaps it, ignoring errors: it
    /// is called while cleaning up, possibly during a panic.
    fn terminate(&mut self) {
        if self.status.is_some() {
            return;
        }
        if self.stopped {
            let _ = send_signal(self.child.id(), "-CONT");
            self.stopped = false;
        }
        let _ = self.child.kill();
        if let Ok(status) = self.child.wait() {
            self.status = Some(status);
        }
    }

    /// The command line and everything the process printed, for a failure
    /// message.
    fn describe(&self, heading: &str) -> String {
        let transcript = self.output.lock();
        let mut text = format!("{heading}\n  command: {}\n", self.command_line);
        for stream in [Stream::Stdout, Stream::Stderr] {
            let lines = transcript.lines(stream);
            let name = stream.name();
            let never_read = self.unread.as_ref().is_some_and(|pipe| {
                (pipe.stream() == Unread::Stdout) == (stream == Stream::Stdout)
            });
            let state = if never_read {
                " (never read by the test)"
            } else if transcript.is_closed(stream) {
                " (closed)"
            } else {
                ""
            };
            let _ = writeln!(text, "  {name}, {} lines{state}:", lines.len());
            for (index, line) in lines.iter().enumerate() {
                let _ = writeln!(text, "    {index:>4} | {line}");
            }
        }
        text
    }
}

/// Sends a signal with the `kill` command: the standard library has no
/// signal API, and the tests use no `libc`.
fn send_signal(pid: u32, signal: &str) -> std::io::Result<ExitStatus> {
    Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
}

/// Sends `request` and a newline to TCP port `port` of 127.0.0.1 on a
/// connection of its own, and returns the reply line without its newline:
/// empty when the other side closed the connection without a reply. An
/// error says which step failed (connecting, writing, reading within 5 s).
///
/// This is how a test plays a peer that does not exist, or one that lies:
/// it writes the protocol's lines itself.
pub fn exchange(port: u16, request: &str) -> Result<String, String> {
    let address = ([127, 0, 0, 1], port).into();
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(2))
        .map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .and_then(|()| stream.set_write_timeout(Some(Duration::from_secs(5))))
        .map_err(|e| format!("timeouts: {e}"))?;
    stream
        .write_all(format!("{request}\n").as_bytes())
        .map_err(|e| format!("write: {e}"))?;
    let mut reply = String::new();
    BufReader::new(&stream)
        .read_line(&mut reply)
        .map_err(|e| format!("read: {e}"))?;
    let _ = stream.shutdown(Shutdown::Both);
    Ok(reply.trim_end().to_string())
}

/// Options for starting a ring with [`Ring::builder`].
pub struct RingBuilder {
    ids: Vec<u8>,
    interval_secs: f64,
    also_reserve: Vec<u8>,
    args: Vec<String>,
    peer_args: BTreeMap<u8, Vec<String>>,
    unread: BTreeMap<u8, Unread>,
    peer_intervals: BTreeMap<u8, f64>,
}

impl RingBuilder {
    /// The ping interval of every peer, in seconds (default 0.2).
    pub fn interval(mut self, secs: f64) -> Self {
        self.interval_secs = secs;
        self
    }

    /// Also checks that these peers' ports are free, for peers that the test
    /// will start later (with [`Ring::spawn_join`], say) or for sockets the
    /// test binds itself.
    pub fn also_reserve(mut self, ids: &[u8]) -> Self {
        self.also_reserve.extend_from_slice(ids);
        self
    }

    /// Extra arguments for every peer, after `--base-port`.
    pub fn args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(|a| a.to_string()));
        self
    }

    /// Extra arguments for one peer only, after the ones for every peer (for
    /// example its own `--dir`).
    pub fn peer_args(mut self, peer: u8, args: &[&str]) -> Self {
        self.peer_args
            .entry(peer)
            .or_default()
            .extend(args.iter().map(|a| a.to_string()));
        self
    }

    /// The ping interval of one peer, instead of the ring's.
    pub fn peer_interval(mut self, peer: u8, secs: f64) -> Self {
        self.peer_intervals.insert(peer, secs);
        self
    }

    /// Leaves one output stream of `peer` unread (see [`Unread`]). Waits
    /// for lines on that stream would only time out.
    pub fn unread(mut self, peer: u8, stream: Unread) -> Self {
        self.unread.insert(peer, stream);
        self
    }

    /// Reserves the ports and starts every peer with `p2p init`.
    pub fn start(self) -> Ring {
        let mut reserved = self.ids.clone();
        reserved.extend_from_slice(&self.also_reserve);
        let mut ring = Ring::reserve(&reserved);
        for &id in &self.ids {
            let (first, second) = successors(&self.ids, id);
            let mut extra = self.args.clone();
            extra.extend(self.peer_args.get(&id).cloned().unwrap_or_default());
            let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
            let unread = self.unread.get(&id).copied();
            let interval = self
                .peer_intervals
                .get(&id)
                .copied()
                .unwrap_or(self.interval_secs);
            ring.spawn_init_with(id, first, second, interval, &extra, unread);
        }
        ring
    }
}

/// A group of `p2p` processes that share one reserved block of ports, and
/// what each of them printed.
///
/// Peers are named by their identity. Every method that names a peer panics
/// when the ring has no such peer, since that is a mistake in the test.
pub struct Ring {
    ports: PortBlock,
    /// The identities whose ports were checked to be free.
    reserved: BTreeSet<u8>,
    peers: BTreeMap<u8, Peer>,
    /// Processes replaced by a newer one with the same identity, kept so
    /// that they are still reaped at the end.
    replaced: Vec<Peer>,
}

impl Ring {
    /// Reserves a block of ports in which the ports of `ids` are free,
    /// without starting anything. Useful to start peers one by one, or to
    /// get ports for sockets the test binds itself.
    pub fn reserve(ids: &[u8]) -> Ring {
        Ring {
            ports: PortBlock::reserve(ids),
            reserved: ids.iter().copied().collect(),
            peers: BTreeMap::new(),
            replaced: Vec::new(),
        }
    }

    /// Starts a ring of `ids` with `p2p init`, each peer told its two
    /// successors, pinging every `interval_secs` seconds.
    pub fn init(ids: &[u8], interval_secs: f64) -> Ring {
        Ring::builder(ids).interval(interval_secs).start()
    }

    /// A ring of `ids` to configure before [`RingBuilder::start`].
    pub fn builder(ids: &[u8]) -> RingBuilder {
        RingBuilder {
            ids: ids.to_vec(),
            interval_secs: 0.2,
            also_reserve: Vec::new(),
            args: Vec::new(),
            peer_args: BTreeMap::new(),
            unread: BTreeMap::new(),
            peer_intervals: BTreeMap::new(),
        }
    }

    /// The base port of this ring: peer i uses port `base_port() + i`.
    pub fn base_port(&self) -> u16 {
        self.ports.base_port
    }

    /// The UDP and TCP port of `peer` in this ring.
    pub fn port(&self, peer: u8) -> u16 {
        self.base_port() + u16::from(peer)
    }

    /// The identities of the peers started so far.
    pub fn peer_ids(&self) -> Vec<u8> {
        self.peers.keys().copied().collect()
    }

    /// Starts `p2p init PEER FIRST SECOND INTERVAL --base-port B EXTRA...`.
    pub fn spawn_init(
        &mut self,
        peer: u8,
        first: u8,
        second: u8,
        interval_secs: f64,
        extra: &[&str],
    ) {
        self.spawn_init_with(peer, first, second, interval_secs, extra, None);
    }

    fn spawn_init_with(
        &mut self,
        peer: u8,
        first: u8,
        second: u8,
        interval_secs: f64,
        extra: &[&str],
        unread: Option<Unread>,
    ) {
        let mut args = vec![
            "init".to_string(),
            peer.to_string(),
            first.to_string(),
            second.to_string(),
            interval_secs.to_string(),
        ];
        args.extend(self.base_port_args());
        args.extend(extra.iter().map(|a| a.to_string()));
        self.spawn_reserved(peer, args, unread);
    }

    /// Starts `p2p join PEER KNOWN INTERVAL --base-port B`.
    pub fn spawn_join(&mut self, peer: u8, known: u8, interval_secs: f64) {
        self.spawn_join_with_args(peer, known, interval_secs, &[]);
    }

    /// Starts `p2p join PEER KNOWN INTERVAL --base-port B EXTRA...`.
    pub fn spawn_join_with_args(
        &mut self,
        peer: u8,
        known: u8,
        interval_secs: f64,
        extra: &[&str],
    ) {
        let mut args = vec![
            "join".to_string(),
            peer.to_string(),
            known.to_string(),
            interval_secs.to_string(),
        ];
        args.extend(self.base_port_args());
        args.extend(extra.iter().map(|a| a.to_string()));
        self.spawn_reserved(peer, args, None);
    }

    /// Starts `p2p` with exactly `args` (no `--base-port` is added: pass
    /// `ring.base_port()` yourself) and names the process `peer` in this
    /// ring. A process already named `peer` must have exited or been killed.
    pub fn spawn_raw(&mut self, peer: u8, args: &[&str]) {
        let args = args.iter().map(|a| a.to_string()).collect();
        self.spawn(peer, args, None);
    }

    /// Starts `peer` again with exactly the arguments its last process was
    /// started with, as a user who restarts a crashed peer by repeating its
    /// command line. The last process must have exited or been killed; it is
    /// still reaped at the end. Both output streams of the new process are
    /// read, and its transcript starts empty: [`Ring::lines`] and
    /// [`Ring::mark`] then speak of the new process.
    pub fn restart(&mut self, peer: u8) {
        let process = self.peer(peer);
        let (program, args) = (process.program.clone(), process.args.clone());
        self.spawn_with_program(&program, peer, args, None);
    }

    /// Starts another binary of the package (`env!("CARGO_BIN_EXE_cdht")`,
    /// say) with exactly `args`, and names the process `peer` in this ring:
    /// like [`Ring::spawn_raw`], for a program that is not `p2p`. Every wait,
    /// `type_command`, `kill` and the clean-up on drop work as for `p2p`.
    /// The peer's ports must have been reserved with the ring.
    pub fn spawn_program(&mut self, program: &str, peer: u8, args: &[&str]) {
        let args = args.iter().map(|a| a.to_string()).collect();
        assert!(
            self.reserved.contains(&peer),
            "peer {peer}'s ports were not checked when the ring reserved its block: \
             add it with RingBuilder::also_reserve or Ring::reserve"
        );
        self.spawn_with_program(program, peer, args, None);
    }

    /// Sends `request` and a newline to `peer`'s TCP port on a connection
    /// of its own, as another peer would, and returns the one line of reply
    /// without its newline; see [`exchange`].
    pub fn exchange(&self, peer: u8, request: &str) -> Result<String, String> {
        exchange(self.port(peer), request)
    }

    fn base_port_args(&self) -> [String; 2] {
        ["--base-port".to_string(), self.base_port().to_string()]
    }

    fn spawn_reserved(&mut self, peer: u8, args: Vec<String>, unread: Option<Unread>) {
        assert!(
            self.reserved.contains(&peer),
            "peer {peer}'s ports were not checked when the ring reserved its block: \
             add it with RingBuilder::also_reserve or Ring::reserve"
        );
        self.spawn(peer, args, unread);
    }

    fn spawn(&mut self, peer: u8, args: Vec<String>, unread: Option<Unread>) {
        self.spawn_with_program(env!("CARGO_BIN_EXE_p2p"), peer, args, unread);
    }

    fn spawn_with_program(
        &mut self,
        program: &str,
        peer: u8,
        args: Vec<String>,
        unread: Option<Unread>,
    ) {
        if let Some(old) = self.peers.get(&peer) {
            assert!(
                old.status.is_some(),
                "peer {peer} is still running; kill it or wait for it to exit before starting another"
            );
        }
        let name = std::path::Path::new(program)
            .file_name()
            .map_or_else(|| program.to_string(), |n| n.to_string_lossy().into_owned());
        let command_line = format!("{name} {}", args.join(" "));
        let mut child = Command::new(program)
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {command_line}: {e}"));
        let output = Arc::new(SharedTranscript::default());
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let unread = match unread {
            Some(Unread::Stdout) => {
                spawn_reader(stderr, output.clone(), Stream::Stderr);
                Some(UnreadPipe::Stdout(stdout))
            }
            Some(Unread::Stderr) => {
                spawn_reader(stdout, output.clone(), Stream::Stdout);
                Some(UnreadPipe::Stderr(stderr))
            }
            None => {
                spawn_reader(stdout, output.clone(), Stream::Stdout);
                spawn_reader(stderr, output.clone(), Stream::Stderr);
                None
            }
        };
        let new = Peer {
            stdin: child.stdin.take(),
            child,
            output,
            command_line,
            args,
            program: program.to_string(),
            status: None,
            stopped: false,
            unread,
        };
        if let Some(old) = self.peers.insert(peer, new) {
            self.replaced.push(old);
        }
    }

    fn peer(&self, peer: u8) -> &Peer {
        self.peers
            .get(&peer)
            .unwrap_or_else(|| panic!("the ring has no peer {peer}; it has {:?}", self.peer_ids()))
    }

    fn peer_mut(&mut self, peer: u8) -> &mut Peer {
        let ids = self.peer_ids();
        self.peers
            .get_mut(&peer)
            .unwrap_or_else(|| panic!("the ring has no peer {peer}; it has {ids:?}"))
    }

    /// The process id of `peer`.
    pub fn pid(&self, peer: u8) -> u32 {
        self.peer(peer).child.id()
    }

    /// Every line `peer` printed on standard output so far.
    pub fn lines(&self, peer: u8) -> Vec<String> {
        self.peer(peer).output.lock().stdout.clone()
    }

    /// Every line `peer` printed on standard output so far, each with the
    /// moment the harness read it (within a millisecond or so of the print,
    /// since peers flush every line).
    pub fn lines_with_times(&self, peer: u8) -> Vec<(Instant, String)> {
        let transcript = self.peer(peer).output.lock();
        let times = transcript.stdout_times.iter().copied();
        times.zip(transcript.stdout.iter().cloned()).collect()
    }

    /// Every line `peer` printed on standard error so far.
    pub fn stderr_lines(&self, peer: u8) -> Vec<String> {
        self.peer(peer).output.lock().stderr.clone()
    }

    /// How many lines `peer` has printed on standard output so far: pass it
    /// to [`Ring::wait_for_line_after`] to wait for a line printed after
    /// this moment, rather than an old one.
    pub fn mark(&self, peer: u8) -> usize {
        self.peer(peer).output.lock().stdout.len()
    }

    /// [`Ring::mark`] of each of `ids`: how many lines each has printed so
    /// far.
    pub fn marks(&self, ids: &[u8]) -> BTreeMap<u8, usize> {
        ids.iter().map(|&id| (id, self.mark(id))).collect()
    }

    /// How many lines `peer` has printed on standard error so far, for
    /// [`Ring::wait_for_stderr_containing_after`].
    pub fn stderr_mark(&self, peer: u8) -> usize {
        self.peer(peer).output.lock().stderr.len()
    }

    /// Waits until `peer` has printed exactly `line` on standard output, at
    /// any time since it started, and returns the line's index.
    pub fn wait_for_line(&self, peer: u8, line: &str, timeout: Duration) -> usize {
        self.wait_for_line_after(peer, 0, line, timeout)
    }

    /// Waits until `peer` prints exactly `line` on standard output as its
    /// line number `mark` or later, and returns the line's index.
    pub fn wait_for_line_after(
        &self,
        peer: u8,
        mark: usize,
        line: &str,
        timeout: Duration,
    ) -> usize {
        self.wait_until(
            peer,
            Stream::Stdout,
            mark,
            &format!("the line {line:?}"),
            timeout,
            |printed| printed == line,
        )
    }

    /// Waits until `peer` prints a line that starts with `prefix` on
    /// standard output as its line number `mark` or later, and returns the
    /// line's index: the next line of a kind, whatever it says.
    pub fn wait_for_line_starting_with_after(
        &self,
        peer: u8,
        mark: usize,
        prefix: &str,
        timeout: Duration,
    ) -> usize {
        self.wait_until(
            peer,
            Stream::Stdout,
            mark,
            &format!("a line starting with {prefix:?}"),
            timeout,
            |printed| printed.starts_with(prefix),
        )
    }

    /// Waits until `peer` prints a line on standard output, as its line
    /// number `mark` or later, for which `wanted` is true, and returns the
    /// line's index: the next line of a kind that no one prefix names.
    /// `what` says which line, for the failure message ("a regular round").
    pub fn wait_for_line_matching_after(
        &self,
        peer: u8,
        mark: usize,
        what: &str,
        timeout: Duration,
        wanted: impl Fn(&str) -> bool,
    ) -> usize {
        self.wait_until(peer, Stream::Stdout, mark, what, timeout, wanted)
    }

    /// Like [`Ring::wait_for_line_after`], but returns `None` instead of
    /// panicking when `peer`'s standard output closes first (the process
    /// ended): for a benchmark that counts a peer giving up as an outcome to
    /// report, not a failure. It still panics, with the transcript, when the
    /// deadline passes.
    pub fn wait_for_line_or_exit(
        &self,
        peer: u8,
        mark: usize,
        line: &str,
        timeout: Duration,
    ) -> Option<usize> {
        let process = self.peer(peer);
        let deadline = Instant::now() + timeout;
        let shared = &process.output;
        let mut transcript = shared.lock();
        loop {
            let found = transcript.stdout.iter().skip(mark).position(|l| l == line);
            if let Some(offset) = found {
                return Some(mark + offset);
            }
            if transcript.stdout_closed {
                return None;
            }
            let now = Instant::now();
            if now >= deadline {
                drop(transcript);
                panic!(
                    "{}",
                    process.describe(&format!(
                        "peer {peer}: waited {timeout:?} for the line {line:?} from line {mark} on"
                    ))
                );
            }
            transcript = shared
                .changed
                .wait_timeout(transcript, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Waits until `peer` has printed all of `lines` on standard output, in
    /// this order (other lines may come between them), and returns the index
    /// of the last one.
    pub fn wait_for_lines_in_order(&self, peer: u8, lines: &[&str], timeout: Duration) -> usize {
        self.wait_for_lines_in_order_after(peer, 0, lines, timeout)
    }

    /// Like [`Ring::wait_for_lines_in_order`], counting only lines from
    /// number `mark` on.
    pub fn wait_for_lines_in_order_after(
        &self,
        peer: u8,
        mark: usize,
        lines: &[&str],
        timeout: Duration,
    ) -> usize {
        let deadline = Instant::now() + timeout;
        let mut next = mark;
        let mut last = mark;
        for line in lines {
            let remaining = deadline.saturating_duration_since(Instant::now());
            last = self.wait_for_line_after(peer, next, line, remaining);
            next = last + 1;
        }
        last
    }

    /// Waits until `peer` prints a line that contains `fragment` on standard
    /// error, and returns the line's index. An empty `fragment` waits for any
    /// line at all.
    pub fn wait_for_stderr_containing(&self, peer: u8, fragment: &str, timeout: Duration) -> usize {
        self.wait_for_stderr_containing_after(peer, 0, fragment, timeout)
    }

    /// Like [`Ring::wait_for_stderr_containing`], counting only lines from
    /// number `mark` on (see [`Ring::stderr_mark`]).
    pub fn wait_for_stderr_containing_after(
        &self,
        peer: u8,
        mark: usize,
        fragment: &str,
        timeout: Duration,
    ) -> usize {
        self.wait_until(
            peer,
            Stream::Stderr,
            mark,
            &format!("a line containing {fragment:?}"),
            timeout,
            |printed| printed.contains(fragment),
        )
    }

    /// The one waiting loop: blocks on the peer's condition variable until a
    /// line from index `mark` on satisfies `wanted`, the stream ends, or the
    /// deadline passes. The last two panic with the peer's whole transcript.
    fn wait_until(
        &self,
        peer: u8,
        stream: Stream,
        mark: usize,
        what: &str,
        timeout: Duration,
        wanted: impl Fn(&str) -> bool,
    ) -> usize {
        let process = self.peer(peer);
        let deadline = Instant::now() + timeout;
        let shared = &process.output;
        let mut transcript = shared.lock();
        let mut checked = mark;
        loop {
            let lines = transcript.lines(stream);
            if let Some(offset) = lines.iter().skip(checked).position(|l| wanted(l)) {
                return checked + offset;
            }
            checked = checked.max(lines.len());
            let why = if transcript.is_closed(stream) {
                // No more lines can come: fail now rather than at the deadline.
                "the stream closed (the process ended?)"
            } else {
                let now = Instant::now();
                if now >= deadline {
                    "the deadline passed"
                } else {
                    transcript = shared
                        .changed
                        .wait_timeout(transcript, deadline - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                    continue;
                }
            };
            drop(transcript);
            let stream = stream.name();
            panic!(
                "{}",
                process.describe(&format!(
                    "peer {peer}: waited {timeout:?} for {what} on {stream} from line {mark} on, \
                     but {why}"
                ))
            );
        }
    }

    /// Types `command` and a newline on `peer`'s standard input.
    pub fn type_command(&mut self, peer: u8, command: &str) {
        let process = self.peer_mut(peer);
        let stdin = process
            .stdin
            .as_mut()
            .unwrap_or_else(|| panic!("peer {peer}'s standard input is already closed"));
        stdin
            .write_all(format!("{command}\n").as_bytes())
            .and_then(|()| stdin.flush())
            .unwrap_or_else(|e| panic!("cannot type {command:?} to peer {peer}: {e}"));
    }

    /// Closes `peer`'s standard input, as pressing Ctrl-D at a terminal does.
    pub fn close_stdin(&mut self, peer: u8) {
        self.peer_mut(peer).stdin = None;
    }

    /// Kills `peer` with SIGKILL, as a crash would, and reaps it. It gets no
    /// chance to say goodbye to anyone.
    pub fn kill(&mut self, peer: u8) {
        let process = self.peer_mut(peer);
        if process.status.is_some() {
            return;
        }
        process
            .child
            .kill()
            .unwrap_or_else(|e| panic!("cannot kill peer {peer}: {e}"));
        let status = process
            .child
            .wait()
            .unwrap_or_else(|e| panic!("cannot reap peer {peer}: {e}"));
        process.status = Some(status);
        process.stopped = false;
    }

    /// Kills all of `peers` with SIGKILL at (almost) the same moment, as a
    /// power cut of several machines would, then reaps them. Every signal is
    /// sent before any process is reaped, so that no peer notices one death
    /// before the next has happened.
    pub fn kill_together(&mut self, peers: &[u8]) {
        for &peer in peers {
            let process = self.peer_mut(peer);
            if process.status.is_none() {
                process
                    .child
                    .kill()
                    .unwrap_or_else(|e| panic!("cannot kill peer {peer}: {e}"));
            }
        }
        for &peer in peers {
            self.kill(peer);
        }
    }

    /// How many threads `peer`'s process has now, from the `Threads:` line
    /// of `/proc/PID/status` (Linux).
    pub fn thread_count(&self, peer: u8) -> usize {
        let path = format!("/proc/{}/status", self.pid(peer));
        let status = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {path} for peer {peer}: {e}"));
        status
            .lines()
            .find_map(|line| line.strip_prefix("Threads:"))
            .and_then(|count| count.trim().parse().ok())
            .unwrap_or_else(|| panic!("{path} has no Threads: line:\n{status}"))
    }

    /// Opens, for writing and without blocking, the pipe behind `peer`'s
    /// unread stream, through `/proc/PID/fd/N` (Linux), which gives the
    /// pipe itself rather than a copy of the peer's descriptor.
    fn open_unread_pipe(&self, peer: u8) -> std::fs::File {
        use std::os::unix::fs::OpenOptionsExt;
        // O_NONBLOCK on Linux (x86, x86-64, ARM, RISC-V): the standard
        // library names no open flags, and the tests use no `libc`.
        const O_NONBLOCK: i32 = 0o4000;
        let stream = self
            .peer(peer)
            .unread
            .as_ref()
            .unwrap_or_else(|| panic!("peer {peer} was not started with an unread stream"))
            .stream();
        let path = format!("/proc/{}/fd/{}", self.pid(peer), stream.fd());
        std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(O_NONBLOCK)
            .open(&path)
            .unwrap_or_else(|e| panic!("cannot open {path} for peer {peer}: {e}"))
    }

    /// Fills the pipe of `peer`'s unread stream to the brim, so that the
    /// peer's next write on that stream cannot complete, whatever the
    /// pipe's size; returns how many bytes it took. The peer's own lines
    /// would fill it too in the end, but maybe only after the moment the
    /// test is about, and a peer that prints little (diagnostics are
    /// summarised) might never fill it.
    pub fn fill_unread_pipe(&self, peer: u8) -> usize {
        let mut pipe = self.open_unread_pipe(peer);
        let mut written = 0;
        // Whole pages first, then single bytes for the last partial page:
        // a pipe takes a write only when it has room for all of it or, for
        // a large write, for some of it.
        for chunk in [4096, 1] {
            let bytes = vec![b'#'; chunk];
            loop {
                match pipe.write(&bytes) {
                    Ok(0) => break,
                    Ok(n) => written += n,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(e) => panic!("cannot fill peer {peer}'s unread pipe: {e}"),
                }
            }
        }
        written
    }

    /// True when the pipe of `peer`'s unread stream has no room for even
    /// one byte. Tries to write one: when there is room, that byte goes in,
    /// which is harmless since nobody reads the pipe.
    pub fn unread_pipe_is_full(&self, peer: u8) -> bool {
        match self.open_unread_pipe(peer).write(b"#") {
            Ok(_) => false,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => true,
            Err(e) => panic!("cannot check peer {peer}'s unread pipe: {e}"),
        }
    }

    /// Freezes `peer` with SIGSTOP: it stays alive, keeps its sockets, but
    /// answers nothing, like a peer on a machine that hangs.
    pub fn freeze(&mut self, peer: u8) {
        self.signal(peer, "-STOP");
        self.peer_mut(peer).stopped = true;
    }

    /// Lets a frozen `peer` go on with SIGCONT.
    pub fn thaw(&mut self, peer: u8) {
        self.signal(peer, "-CONT");
        self.peer_mut(peer).stopped = false;
    }

    fn signal(&self, peer: u8, signal: &str) {
        let process = self.peer(peer);
        assert!(
            process.status.is_none(),
            "cannot send {signal} to peer {peer}: it has already been reaped"
        );
        let status = send_signal(process.child.id(), signal)
            .unwrap_or_else(|e| panic!("cannot run kill {signal} for peer {peer}: {e}"));
        assert!(
            status.success(),
            "kill {signal} for peer {peer} failed: {status}"
        );
    }

    /// True while `peer`'s process has not exited. Does not wait.
    pub fn is_running(&mut self, peer: u8) -> bool {
        let process = self.peer_mut(peer);
        if process.status.is_none() {
            process.status = process
                .child
                .try_wait()
                .unwrap_or_else(|e| panic!("cannot check on peer {peer}: {e}"));
        }
        process.status.is_none()
    }

    /// Panics, showing the transcript, unless `peer` is still running.
    pub fn assert_running(&mut self, peer: u8) {
        if !self.is_running(peer) {
            let process = self.peer(peer);
            let status = process.status.unwrap();
            panic!(
                "{}",
                process.describe(&format!(
                    "peer {peer} should be running but exited: {status}"
                ))
            );
        }
    }

    /// Waits until `peer` exits by itself and returns how it ended.
    ///
    /// The standard library cannot wait for a child with a deadline, so this
    /// waits (on the condition variable, with the deadline) for the end of
    /// both output streams, which the kernel closes as the process exits,
    /// and only then reaps it; that last wait is immediate for a process
    /// that has exited.
    pub fn wait_exit(&mut self, peer: u8, timeout: Duration) -> ExitStatus {
        let process = self.peer(peer);
        if let Some(status) = process.status {
            return status;
        }
        let deadline = Instant::now() + timeout;
        let shared = &process.output;
        let mut transcript = shared.lock();
        while !(transcript.stdout_closed && transcript.stderr_closed) {
            let now = Instant::now();
            if now >= deadline {
                drop(transcript);
                panic!(
                    "{}",
                    process.describe(&format!("peer {peer} did not exit within {timeout:?}"))
                );
            }
            transcript = shared
                .changed
                .wait_timeout(transcript, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        drop(transcript);
        let process = self.peer_mut(peer);
        let status = process
            .child
            .wait()
            .unwrap_or_else(|e| panic!("cannot reap peer {peer}: {e}"));
        process.status = Some(status);
        status
    }

    /// Panics, showing every transcript, if some peer's standard error (of
    /// those the test reads) shows a panic or the panic hook's "internal
    /// error" line.
    pub fn assert_no_panic(&self) {
        for peer in self.peer_ids() {
            for line in self.stderr_lines(peer) {
                assert!(
                    !line.contains("panicked") && !line.contains("internal error"),
                    "peer {peer} panicked: {line:?}\n{}",
                    self.describe_all()
                );
            }
        }
    }

    /// Everything every peer printed, for a failure message.
    pub fn describe_all(&self) -> String {
        let mut text = format!("ring on base port {}:\n", self.base_port());
        for (id, peer) in &self.peers {
            text.push_str(&peer.describe(&format!("peer {id}:")));
        }
        text
    }
}

impl Drop for Ring {
    /// Kills and reaps every process still running. When the test is
    /// failing, first prints what every peer said, which the test runner
    /// shows next to the failure.
    fn drop(&mut self) {
        if thread::panicking() && !self.peers.is_empty() {
            eprintln!("{}", self.describe_all());
        }
        for peer in self.peers.values_mut().chain(self.replaced.iter_mut()) {
            peer.terminate();
        }
    }
}

/// A directory of its own under the system's temporary directory, for a
/// peer's `--dir`: created empty, and removed with everything in it when
/// dropped (errors ignored, since that happens while cleaning up).
///
/// Its name holds the test process's id, a counter and a label (say, the
/// ring's base port and the peer's identity), so no two directories of
/// this run, or of another run on the machine, are the same.
pub struct TempDir {
    path: std::path::PathBuf,
}

impl TempDir {
    /// Creates `p2p-test-<pid>-<n>-<label>` in the temporary directory.
    pub fn new(label: &str) -> TempDir {
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let name = format!("p2p-test-{}-{n}-{label}", std::process::id());
        let path = std::env::temp_dir().join(name);
        // A leftover of an earlier run whose process had the same id.
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
        TempDir { path }
    }

    /// The directory's path.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// The path as a string, for a command line.
    pub fn arg(&self) -> &str {
        self.path
            .to_str()
            .expect("the temporary directory's path is UTF-8")
    }

    /// The path of `name` in this directory.
    pub fn join(&self, name: &str) -> std::path::PathBuf {
        self.path.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// One line of a transfer log (`responding_log.txt` of the sender,
/// `requesting_log.txt` of the receiver): `<event> <time> <seq> <bytes> <ack>`.
#[derive(Clone, Debug, PartialEq)]
pub struct LogLine {
    /// `snd`, `rcv`, `Drop` or `RTX`.
    pub event: String,
    /// Seconds since the peer started.
    pub time: f64,
    pub seq: u64,
    pub bytes: u64,
    pub ack: u64,
}

/// Reads a transfer log, panicking (with the line) unless every line has
/// the documented format: one of the four events, a time in seconds with
/// exactly three decimals, and three whole numbers, separated by single
/// spaces, the last line ending in a newline.
pub fn read_transfer_log(path: &std::path::Path) -> Vec<LogLine> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read the log {}: {e}", path.display()));
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "{}: the last line is cut short",
        path.display()
    );
    text.lines()
        .map(|line| {
            let bad = || format!("{}: a malformed log line {line:?}", path.display());
            let fields: Vec<&str> = line.split(' ').collect();
            assert_eq!(fields.len(), 5, "{}", bad());
            assert!(
                ["snd", "rcv", "Drop", "RTX"].contains(&fields[0]),
                "{}",
                bad()
            );
            let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
            let time_ok = fields[1].split_once('.').is_some_and(|(whole, millis)| {
                digits(whole) && millis.len() == 3 && digits(millis)
            });
            assert!(time_ok, "{}", bad());
            let number = |s: &str| {
                assert!(digits(s), "{}", bad());
                s.parse::<u64>().unwrap_or_else(|_| panic!("{}", bad()))
            };
            LogLine {
                event: fields[0].to_string(),
                time: fields[1].parse().unwrap_or_else(|_| panic!("{}", bad())),
                seq: number(fields[2]),
                bytes: number(fields[3]),
                ack: number(fields[4]),
            }
        })
        .collect()
}

/// Checks a sender's log of transfers that all completed: every data
/// segment's history starts with `snd` (or `Drop`, when its first attempt
/// was dropped), goes on with only `Drop` and `RTX`, and ends with a real
/// send, so every `Drop` is followed by an `RTX` of the same segment. A
/// segment's history ends at the next line with another sequence number or
/// at the next `snd`, so several transfers may share the log. Returns the
/// number of `Drop` lines.
pub fn assert_every_drop_is_retransmitted(log: &[LogLine]) -> usize {
    let mut history: Vec<&LogLine> = Vec::new();
    let mut drops = 0;
    let check = |history: &[&LogLine]| {
        let Some(first) = history.first() else {
            return;
        };
        let last = history.last().unwrap();
        assert!(
            ["snd", "Drop"].contains(&first.event.as_str())
                && history[1..]
                    .iter()
                    .all(|l| ["Drop", "RTX"].contains(&l.event.as_str()))
                && ["snd", "RTX"].contains(&last.event.as_str()),
            "the segment at {} went {:?}",
            first.seq,
            history.iter().map(|l| l.event.as_str()).collect::<Vec<_>>()
        );
    };
    for line in log.iter().filter(|l| l.event != "rcv") {
        if line.event == "Drop" {
            drops += 1;
        }
        if history
            .last()
            .is_some_and(|h| h.seq != line.seq || line.event == "snd")
        {
            check(&history);
            history.clear();
        }
        history.push(line);
    }
    check(&history);
    drops
}

/// The first seed whose first draw at drop probability `drop` keeps the
/// first segment and whose next few draws drop at least one: a lossy run
/// whose sender's log starts with a plain `snd` and soon shows a `Drop`.
/// A peer's first transfer uses its `--seed` as it is.
pub fn seed_that_drops_soon_but_not_first(drop: f64) -> u64 {
    (0..)
        .find(|&seed| {
            let mut generator = p2p::transfer::DropGenerator::new(seed);
            generator.next_unit() >= drop && (0..3).any(|_| generator.next_unit() < drop)
        })
        .unwrap()
}

/// Checks that `received` is `sent`, byte for byte, without printing
/// megabytes when it is not.
pub fn assert_same_bytes(received: &[u8], sent: &[u8], what: &str) {
    if received == sent {
        return;
    }
    let first_difference = received
        .iter()
        .zip(sent)
        .position(|(a, b)| a != b)
        .unwrap_or(received.len().min(sent.len()));
    panic!(
        "{what}: {} bytes arrived for {} sent; the first difference is at byte {first_difference}",
        received.len(),
        sent.len()
    );
}

/// Deterministic bytes that look random: every byte value appears, newlines
/// and zeros included, so a transfer that treats a file as text fails.
/// Different seeds give different bytes.
pub fn noise(len: usize, seed: u32) -> Vec<u8> {
    let mut state = seed ^ 0x2545_f491;
    (0..len)
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 24) as u8
        })
        .collect()
}

/// A UDP socket on a free loopback port.
pub fn loopback() -> std::net::UdpSocket {
    std::net::UdpSocket::bind(("127.0.0.1", 0)).expect("a loopback socket")
}

/// Starts a receiver of `size` bytes on a thread of its own. The bytes come
/// back on the channel as soon as the last one has arrived; the thread then
/// lingers, as a peer does, so that a repeated last segment is still
/// acknowledged, but nobody waits for that.
pub fn spawn_receiver(
    size: u64,
    mut log: p2p::transfer::TransferLog,
) -> (
    std::net::SocketAddr,
    std::sync::mpsc::Receiver<Result<Vec<u8>, p2p::transfer::TransferError>>,
) {
    let socket = loopback();
    let address = socket.local_addr().expect("an address");
    let (done, outcome) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut received = Vec::new();
        match p2p::transfer::receive_file(&socket, &mut received, size, &mut log) {
            Ok((_, sender)) => {
                let _ = done.send(Ok(received));
                if let Some(sender) = sender {
                    p2p::transfer::linger(&socket, sender, size, &mut log);
                }
            }
            Err(error) => {
                let _ = done.send(Err(error));
            }
        }
    });
    (address, outcome)
}

/// Reads the file at `path` once it exists.
///
/// A file that is stored or moved for the ring ends with no line on
/// standard output at one of its ends, so there is no event to wait for:
/// this polls the file system instead, in a bounded loop that parks the
/// thread briefly between looks and gives up at the deadline.
/// The receiver writes a temporary file and renames it, so a file that
/// exists is complete.
pub fn wait_for_file(path: &std::path::Path, timeout: Duration) -> Vec<u8> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(contents) = std::fs::read(path) {
            return contents;
        }
        let now = Instant::now();
        assert!(
            now < deadline,
            "{} did not appear within {timeout:?}",
            path.display()
        );
        std::thread::park_timeout((deadline - now).min(Duration::from_millis(10)));
    }
}

/// Checks the receiver's log of one completed transfer of `size` bytes: it
/// has `rcv` lines for data, the first of them for byte 1, none longer than
/// `mss`, and `snd` lines for acknowledgements up to the end.
pub fn assert_receiver_log(log: &[LogLine], size: u64, mss: u64) {
    let data: Vec<&LogLine> = log.iter().filter(|l| l.event == "rcv").collect();
    assert!(
        data.len() as u64 >= size.div_ceil(mss),
        "too few rcv lines: {}",
        data.len()
    );
    assert_eq!((data[0].seq, data[0].bytes), (1, mss.min(size)));
    assert!(data.iter().all(|l| l.bytes <= mss && l.seq >= 1));
    for line in log {
        assert!(
            ["rcv", "snd"].contains(&line.event.as_str()),
            "the receiver logged {line:?}"
        );
    }
    assert!(
        log.iter().any(|l| l.event == "snd" && l.ack == 1 + size),
        "the receiver never acknowledged the last byte"
    );
}
