//! Step 4 of the tutorial: an echo server on one poller, with an output queue per client.
//!
//! This is the HOWTO's `select()` echo server (a dictionary of queues, one per client),
//! over any backend. What makes it correct is a handful of rules, each marked in the code:
//!
//! - **Everything non-blocking**: the listener, and every accepted socket (an accepted
//!   socket does not inherit the listener's non-blocking flag on Linux). One slow client
//!   must never stall the others.
//! - **Accept, read and write until `WouldBlock`**: readiness says "at least one", not
//!   "exactly one".
//! - **Write what you can, queue the rest**: a write may take part of what it is given
//!   (step 1, `nonblocking`); the rest goes to the client's queue, in order.
//! - **Ask for `WRITABLE` only while the queue is not empty.** A socket with room in its
//!   send buffer is writable almost always, so a permanent write interest makes every
//!   `wait` return at once: a busy loop in disguise (step 3, `busy_loop_vs_wait`).
//! - **Stop reading a client whose queue is over [`HIGH_WATER`]** until it drains. A client
//!   that sends without reading would otherwise grow our memory without bound.
//! - **`Ok(0)` is end of file**: send what is still queued, then close. An error (a reset)
//!   closes at once. Always `delete` from the poller before closing.
//!
//! The production version of this loop, with idle timeouts, fd-exhaustion back-off,
//! graceful shutdown and one loop per thread, is the `multipoll-echo` crate
//! (`crates/echo`).
//!
//! Run: `cargo run --example echo_queue -- --backend poll` serves 127.0.0.1 on a free port
//! (try `nc 127.0.0.1 PORT`) until stopped; `--once` instead connects a few clients to
//! itself, checks that every byte comes back in order, prints what the queues did and exits
//! (0 on success).

mod common;

use std::collections::{HashMap, VecDeque};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use multipoll::{AnyPoller, AsSource, Backend, Event, Events, Interest, Mode, Poller};
use socket2::SockRef;

/// Most bytes queued for one client before we stop reading from it.
pub const HIGH_WATER: usize = 1024 * 1024;
/// The listener's key; clients get 1, 2, ...
const LISTENER: usize = 0;
/// How long `--once` may take before it gives up (it takes milliseconds).
const SELF_TEST_LIMIT: Duration = Duration::from_secs(10);
/// The send buffer of the self-test's connections: small, so that the queues fill.
const SELF_TEST_SEND_BUFFER: usize = 16 * 1024;

fn main() -> ExitCode {
    let usage = "usage: echo_queue [--backend NAME] [--port N (0: any free port)] [--once]";
    common::run_main(usage, &["--once"], &["--port"], |args| {
        if args.flag("--once") {
            self_test(args.backend, 4, HIGH_WATER)?;
            println!("self-test passed");
            return Ok(());
        }
        let listener = TcpListener::bind(("127.0.0.1", args.value("--port", 0)?))?;
        let addr = listener.local_addr()?;
        println!(
            "echo_queue on {addr} (backend {}); try: nc {} {}",
            args.backend,
            addr.ip(),
            addr.port()
        );
        serve(args.backend, &listener, None).map(drop)
    })
}

/// What the server did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Connections accepted.
    pub accepted: usize,
    /// Bytes echoed back.
    pub echoed: usize,
    /// Times a write took less than it was offered, so that the rest was queued.
    pub queued_writes: usize,
    /// The most bytes one client's queue held.
    pub max_queued: usize,
    /// Times a client's reading was paused because its queue passed [`HIGH_WATER`].
    pub paused: usize,
    /// Clients closed because of an error (a reset, ...) rather than end of file.
    pub errors: usize,
}

/// One connected client: its socket and what it is still owed.
#[derive(Debug)]
struct Client {
    stream: TcpStream,
    queue: VecDeque<u8>,
    /// The client sent end of file: read no more, close once the queue is empty.
    eof: bool,
    /// What the poller was last told to watch for.
    registered: Interest,
}

impl Client {
    /// What to watch for now: reading while there is room in the queue and the client may
    /// still send; writing only while something is queued.
    fn interest(&self) -> Interest {
        Interest::new(!self.eof && self.queue.len() < HIGH_WATER, !self.queue.is_empty())
    }

    /// Whether the client is done with: it sent end of file and got everything back.
    fn finished(&self) -> bool {
        self.eof && self.queue.is_empty()
    }

    /// Tells the poller what the client now waits for, when that changed (a `modify` is a
    /// syscall: skip it when nothing changed).
    fn reregister(&mut self, poller: &AnyPoller, key: usize) -> io::Result<()> {
        let interest = self.interest();
        if interest != self.registered {
            poller.modify(self.stream.as_source(), key, interest, Mode::Level)?;
            self.registered = interest;
        }
        Ok(())
    }

    /// Unregisters the client, then closes its socket: delete before close, as the
    /// `Poller` contract asks (a closed fd number may be reused at once by a new socket).
    fn close(self, poller: &AnyPoller) -> io::Result<()> {
        poller.delete(self.stream.as_source())
        // `self.stream` is dropped, and the socket closed, here.
    }

    /// Handles one event: writes first (which may make room to read), then reads.
    fn on_event(&mut self, event: &Event, stats: &mut Stats) -> io::Result<()> {
        if event.is_writable() {
            self.flush(stats)?;
        }
        // A hang-up or error is learnt by reading: the read returns Ok(0) or the error.
        if event.is_readable() || event.is_hangup() || event.is_error() {
            self.read_and_echo(stats)?;
        }
        Ok(())
    }

    /// Reads until `WouldBlock`, end of file, or a full queue, echoing what it reads.
    fn read_and_echo(&mut self, stats: &mut Stats) -> io::Result<()> {
        let mut buf = [0; 64 * 1024];
        while !self.eof && self.queue.len() < HIGH_WATER {
            match self.stream.read(&mut buf) {
                Ok(0) => self.eof = true,
                Ok(n) => self.send(&buf[..n], stats)?,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if !self.eof {
            stats.paused += 1;
        }
        Ok(())
    }

    /// Write what you can, queue the rest.
    fn send(&mut self, mut data: &[u8], stats: &mut Stats) -> io::Result<()> {
        // Only with an empty queue: otherwise these bytes would overtake the queued ones.
        if self.queue.is_empty() {
            let n = write_some(&mut self.stream, data)?;
            stats.echoed += n;
            data = &data[n..];
        }
        if !data.is_empty() {
            stats.queued_writes += 1;
            self.queue.extend(data);
            stats.max_queued = stats.max_queued.max(self.queue.len());
        }
        Ok(())
    }

    /// Writes from the queue until it is empty or the socket is full.
    fn flush(&mut self, stats: &mut Stats) -> io::Result<()> {
        while !self.queue.is_empty() {
            let n = write_some(&mut self.stream, self.queue.as_slices().0)?;
            if n == 0 {
                return Ok(()); // full: wait for the next writable event
            }
            self.queue.drain(..n);
            stats.echoed += n;
        }
        Ok(())
    }
}

/// Writes as much of `data` as the socket takes now: 0 when it is full.
fn write_some(stream: &mut TcpStream, data: &[u8]) -> io::Result<usize> {
    loop {
        match stream.write(data) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(0),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Serves `listener` over `backend`: forever, or with `self_test = Some(n)`, until `n`
/// clients have come and gone (an error if that takes longer than [`SELF_TEST_LIMIT`]).
///
/// # Errors
/// Poller errors, accept errors other than `WouldBlock` (this tutorial server stops on
/// `EMFILE`; `multipoll-echo` backs off instead), and `TimedOut` for a stalled self-test.
/// A client's own errors only close that client.
pub fn serve(
    backend: Backend,
    listener: &TcpListener,
    self_test: Option<usize>,
) -> io::Result<Stats> {
    listener.set_nonblocking(true)?;
    let poller = AnyPoller::new(backend)?;
    poller.add(listener.as_source(), LISTENER, Interest::READABLE, Mode::Level)?;
    let deadline = self_test.map(|_| Instant::now() + SELF_TEST_LIMIT);
    let mut clients: HashMap<usize, Client> = HashMap::new();
    let mut next_key = LISTENER + 1;
    let mut events = Events::new();
    let mut stats = Stats::default();

    loop {
        if self_test.is_some_and(|n| stats.accepted >= n && clients.is_empty()) {
            return Ok(stats);
        }
        let timeout = match deadline {
            Some(deadline) if Instant::now() >= deadline => {
                let message = format!("self-test unfinished after {SELF_TEST_LIMIT:?}: {stats:?}");
                return Err(io::Error::new(io::ErrorKind::TimedOut, message));
            }
            Some(deadline) => Some(deadline - Instant::now()),
            None => None,
        };
        poller.wait(&mut events, timeout)?;

        for event in &events {
            let key = event.key();
            if key == LISTENER {
                accept_all(listener, &poller, &mut clients, &mut next_key, &mut stats)?;
                continue;
            }
            // An event for a client closed earlier in this batch: nothing to do.
            let Some(client) = clients.get_mut(&key) else { continue };
            match client.on_event(event, &mut stats) {
                Ok(()) if !client.finished() => client.reregister(&poller, key)?,
                outcome => {
                    if let Err(e) = outcome {
                        eprintln!("client {key}: {e}; closing it");
                        stats.errors += 1;
                    }
                    if let Some(client) = clients.remove(&key) {
                        client.close(&poller)?;
                    }
                }
            }
        }
    }
}

/// Accepts every pending connection and registers it for reading.
fn accept_all(
    listener: &TcpListener,
    poller: &AnyPoller,
    clients: &mut HashMap<usize, Client>,
    next_key: &mut usize,
    stats: &mut Stats,
) -> io::Result<()> {
    loop {
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            // The client gave up before we accepted: nothing to serve, go on.
            Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => continue,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        stream.set_nonblocking(true)?;
        poller.add(stream.as_source(), *next_key, Interest::READABLE, Mode::Level)?;
        let client =
            Client { stream, queue: VecDeque::new(), eof: false, registered: Interest::READABLE };
        clients.insert(*next_key, client);
        *next_key += 1;
        stats.accepted += 1;
    }
}

/// Starts the server on an ephemeral loopback port, has `clients` clients each send
/// `bytes` bytes and read them back, and checks that every byte came back in order.
///
/// Each client sends everything before it reads anything, so the server cannot pass the
/// bytes straight through: what the kernel's socket buffers cannot hold waits in the
/// client's queue (`bytes` up to [`HIGH_WATER`] always fit there, so the client and the
/// server never wait on each other forever).
///
/// # Errors
/// The server's errors; `InvalidData` when a client got back other bytes than it sent;
/// `InvalidInput` for `bytes` over [`HIGH_WATER`].
pub fn self_test(backend: Backend, clients: usize, bytes: usize) -> io::Result<Stats> {
    if bytes > HIGH_WATER {
        return Err(common::invalid(format!("{bytes} bytes per client: at most {HIGH_WATER}")));
    }
    let listener = TcpListener::bind("127.0.0.1:0")?;
    // Accepted sockets inherit the listener's buffer sizes. Left alone, Linux lets one
    // loopback connection's send buffer grow to 4 MiB and a megabyte would never reach the
    // queue; 16 KiB (Python: `setsockopt(SOL_SOCKET, SO_SNDBUF, 16384)`) makes it certain.
    SockRef::from(&listener).set_send_buffer_size(SELF_TEST_SEND_BUFFER)?;
    let addr = listener.local_addr()?;
    let threads: Vec<_> =
        (0..clients).map(|id| thread::spawn(move || echo_client(addr, id, bytes))).collect();
    let served = serve(backend, &listener, Some(clients));
    for thread in threads {
        thread.join().map_err(|_| io::Error::other("a client thread panicked"))??;
    }
    let stats = served?;
    println!(
        "backend {backend}: {clients} clients x {bytes} bytes echoed in order; \
         {} writes queued their rest, queues held up to {} bytes",
        stats.queued_writes, stats.max_queued
    );
    Ok(stats)
}

/// One self-test client: sends its pattern, then reads it back and compares.
fn echo_client(addr: SocketAddr, id: usize, bytes: usize) -> io::Result<()> {
    let mut stream = TcpStream::connect(addr)?;
    // Blocking calls, bounded: a server bug fails the test instead of hanging it.
    stream.set_read_timeout(Some(SELF_TEST_LIMIT))?;
    stream.set_write_timeout(Some(SELF_TEST_LIMIT))?;
    let sent = common::pattern(id, 0, bytes);
    stream.write_all(&sent)?;
    stream.shutdown(Shutdown::Write)?;
    let mut echoed = Vec::with_capacity(bytes);
    stream.read_to_end(&mut echoed)?;
    if echoed != sent {
        let at =
            sent.iter().zip(&echoed).position(|(a, b)| a != b).unwrap_or(echoed.len().min(bytes));
        let message =
            format!("client {id}: {} of {bytes} bytes back, first wrong at {at}", echoed.len());
        return Err(io::Error::new(io::ErrorKind::InvalidData, message));
    }
    Ok(())
}
