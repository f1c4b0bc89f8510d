//! mio's `tcp_server` example, ported to multipoll: a TCP server that greets each client,
//! then echoes what it sends, its connections kept in a map keyed by their token.
//!
//! What changes from mio (see `multipoll::porting`):
//!
//! - mio's `Token(n)` is the key `n`; `SERVER` is key 0, and each connection takes the
//!   next number, as in mio's example.
//! - mio is always edge-triggered. Here the mode is chosen from the backend's
//!   capabilities: [`Mode::Edge`] where it has it (epoll, kqueue, io_uring), else
//!   [`Mode::Level`] (select, poll and IOCP refuse the edge modes with `Unsupported` rather
//!   than downgrade them). The handlers read, write and accept until `WouldBlock`, which is
//!   right in both modes; what differs is write interest: in edge mode the connection is
//!   registered readable and writable once, as in mio, while in level mode it asks for
//!   `WRITABLE` only while output is pending, because a writable socket would otherwise be
//!   reported by every `wait`.
//! - mio's sockets are non-blocking by construction; std's are not, so the listener and
//!   every accepted socket are set so here.
//! - `delete` before the socket is dropped, as mio's `deregister`.
//!
//! Run: `cargo run --example mio_tcp_server -- --backend poll` serves 127.0.0.1 on a free
//! port until stopped; `--once` connects a few clients to itself, checks the greeting and
//! every echoed byte, and exits (0 on success).

mod common;

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use multipoll::{AnyPoller, AsSource, Backend, Events, Interest, Mode, Poller};

/// The listener's token.
const SERVER: usize = 0;
/// What each client is sent first.
pub const GREETING: &[u8] = b"Hello world!\n";
/// How long `--once` may take before it gives up (it takes milliseconds).
const SELF_TEST_LIMIT: Duration = Duration::from_secs(10);

fn main() -> ExitCode {
    let usage = "usage: mio_tcp_server [--backend NAME] [--port N] [--once]";
    common::run_main(usage, &["--once"], &["--port"], |args| {
        if args.flag("--once") {
            let report = self_test(args.backend, 4, 64 * 1024)?;
            println!("self-test passed in {:?} mode: {report:?}", report.mode);
            return Ok(());
        }
        let listener = TcpListener::bind(("127.0.0.1", args.value("--port", 0)?))?;
        println!("mio_tcp_server on {} (backend {})", listener.local_addr()?, args.backend);
        serve(args.backend, &listener, None).map(drop)
    })
}

/// What the server did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Report {
    /// The mode it registered in: edge where the backend has it.
    pub mode: Mode,
    /// Connections accepted.
    pub accepted: usize,
    /// Bytes echoed back (the greetings not counted).
    pub echoed: usize,
}

/// The mode to port mio's edge-triggered loop to on `poller`'s backend.
pub fn pick_mode(poller: &impl Poller) -> Mode {
    if poller.capabilities().supports(Mode::Edge) { Mode::Edge } else { Mode::Level }
}

/// One client: its socket and the bytes not yet written to it.
struct Connection {
    stream: TcpStream,
    pending: Vec<u8>,
    /// Whether its registration asks for `WRITABLE` (level mode changes it).
    writable_interest: bool,
    /// Bytes of the greeting still in `pending`, so that echoes are counted apart.
    greeting_left: usize,
}

impl Connection {
    /// Reads until `WouldBlock`, queueing what came for echo; `Ok(true)` at end of file.
    fn read_all(&mut self) -> io::Result<bool> {
        let mut buf = [0u8; 4096];
        loop {
            match self.stream.read(&mut buf) {
                Ok(0) => return Ok(true),
                Ok(n) => self.pending.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Writes pending bytes until done or `WouldBlock`; returns how many went out.
    fn write_all(&mut self) -> io::Result<usize> {
        let mut written = 0;
        while !self.pending.is_empty() {
            match self.stream.write(&self.pending) {
                Ok(n) => {
                    self.pending.drain(..n);
                    written += n;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(written)
    }
}

/// Serves `listener` over `backend` until `stop_after` connections have closed (or
/// forever), or `deadline` passes.
pub fn serve(
    backend: Backend,
    listener: &TcpListener,
    stop_after: Option<(usize, Instant)>,
) -> io::Result<Report> {
    let poller = AnyPoller::new(backend)?;
    let mode = pick_mode(&poller);
    listener.set_nonblocking(true)?;
    poller.add(listener.as_source(), SERVER, Interest::READABLE, mode)?;

    let mut connections: HashMap<usize, Connection> = HashMap::new();
    let mut next_token = SERVER + 1;
    let mut report = Report { mode, accepted: 0, echoed: 0 };
    let mut closed = 0;
    let mut events = Events::new();
    loop {
        if let Some((count, deadline)) = stop_after {
            if closed >= count {
                return Ok(report);
            }
            if Instant::now() >= deadline {
                return Err(io::Error::new(io::ErrorKind::TimedOut, format!("{report:?}")));
            }
        }
        poller.wait(&mut events, Some(Duration::from_millis(100)))?;
        for event in &events {
            if event.key() == SERVER {
                // Accept until WouldBlock: one event may stand for several connections.
                loop {
                    let (stream, _) = match listener.accept() {
                        Ok(accepted) => accepted,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) => return Err(e),
                    };
                    stream.set_nonblocking(true)?;
                    let token = next_token;
                    next_token += 1;
                    // Edge mode: readable and writable once, as mio. Level mode: writable
                    // only while output is pending, and the greeting is pending.
                    poller.add(stream.as_source(), token, Interest::BOTH, mode)?;
                    let pending = GREETING.to_vec();
                    let conn = Connection {
                        stream,
                        pending,
                        writable_interest: true,
                        greeting_left: GREETING.len(),
                    };
                    connections.insert(token, conn);
                    report.accepted += 1;
                }
                continue;
            }
            let token = event.key();
            let Some(conn) = connections.get_mut(&token) else { continue };
            let mut done = event.is_error();
            if !done && (event.is_readable() || event.is_hangup()) {
                done = conn.read_all()?;
            }
            let wrote = conn.write_all()?;
            // The greeting goes out first; every byte after it is an echo.
            let greeting = wrote.min(conn.greeting_left);
            conn.greeting_left -= greeting;
            report.echoed += wrote - greeting;
            if done {
                let conn = connections.remove(&token).expect("looked up above");
                poller.delete(conn.stream.as_source())?;
                closed += 1;
            } else if !mode.is_edge() {
                let wants = !conn.pending.is_empty();
                if wants != conn.writable_interest {
                    let interest = if wants { Interest::BOTH } else { Interest::READABLE };
                    poller.modify(conn.stream.as_source(), token, interest, mode)?;
                    conn.writable_interest = wants;
                }
            }
        }
    }
}

/// Runs the server on a loopback port with `clients` clients, each sending `bytes` bytes
/// and checking the greeting and the echo; returns what the server did.
pub fn self_test(backend: Backend, clients: usize, bytes: usize) -> io::Result<Report> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let deadline = Instant::now() + SELF_TEST_LIMIT;
    let handles: Vec<_> =
        (0..clients).map(|seed| thread::spawn(move || client(addr, seed, bytes))).collect();
    let report = serve(backend, &listener, Some((clients, deadline)))?;
    for handle in handles {
        handle.join().map_err(|_| io::Error::other("a client panicked"))??;
    }
    Ok(report)
}

/// One blocking client: reads the greeting, sends its pattern while reading the echo
/// back, and checks every byte.
fn client(addr: std::net::SocketAddr, seed: usize, bytes: usize) -> io::Result<()> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(SELF_TEST_LIMIT))?;
    let mut greeting = vec![0; GREETING.len()];
    stream.read_exact(&mut greeting)?;
    if greeting != GREETING {
        return Err(io::Error::other(format!("client {seed}: greeting {greeting:?}")));
    }
    let sent = common::pattern(seed, 0, bytes);
    let mut writer = stream.try_clone()?;
    let sender = thread::spawn(move || writer.write_all(&sent));
    let mut echoed = vec![0; bytes];
    stream.read_exact(&mut echoed)?;
    sender.join().map_err(|_| io::Error::other("sender panicked"))??;
    if echoed != common::pattern(seed, 0, bytes) {
        return Err(io::Error::other(format!("client {seed}: echo differs")));
    }
    Ok(())
}
