//! polling's `tcp_client` example, ported to multipoll: a non-blocking TCP connect, then
//! a request and its answer, each step waiting on the poller.
//!
//! 1. Start a non-blocking connect: it returns at once, in progress (`EINPROGRESS`;
//!    Winsock's `WSAEWOULDBLOCK` on Windows).
//! 2. Wait for `WRITABLE`: the connect has finished. Whether it succeeded is the socket's
//!    pending error (`SO_ERROR`, `take_error`), which readiness does not say.
//! 3. Write the request; wait for `READABLE` and read until end of file.
//!
//! What changes from polling (see `multipoll::porting`): `add` is safe and takes a
//! `Source` (`as_source()`: a `BorrowedFd`, or a `BorrowedSocket` on Windows); the mode is
//! named ([`Mode::Oneshot`], polling's default, re-armed with `modify` for each step); `wait` clears the events itself; and the socket is deleted
//! from the poller before it is dropped.
//!
//! Run: `cargo run --example polling_tcp_client -- --backend poll --addr HOST:PORT` sends
//! an HTTP/1.0 `GET /` to a server of yours and prints the answer; `--once` instead starts
//! a loopback server, checks the answer it gets, and exits (0 on success).

mod common;

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use multipoll::{AnyPoller, AsSource, Backend, Events, Interest, Mode, Poller};
use socket2::{Domain, Socket, Type};

/// The socket's key.
const KEY: usize = 7;
/// The request sent.
pub const REQUEST: &[u8] = b"GET / HTTP/1.0\r\n\r\n";
/// The longest the client waits for each step.
const STEP_LIMIT: Duration = Duration::from_secs(10);

fn main() -> ExitCode {
    let usage = "usage: polling_tcp_client [--backend NAME] (--addr HOST:PORT | --once)";
    common::run_main(usage, &["--once"], &["--addr"], |args| {
        if args.flag("--once") {
            let answer = self_test(args.backend)?;
            println!("self-test passed: {} bytes answered", answer.len());
            return Ok(());
        }
        let addr: SocketAddr = args.value("--addr", SocketAddr::from(([127, 0, 0, 1], 80)))?;
        let answer = fetch(args.backend, addr, REQUEST)?;
        println!("{}", String::from_utf8_lossy(&answer));
        Ok(())
    })
}

/// Connects to `addr` without blocking, sends `request` and returns the whole answer.
pub fn fetch(backend: Backend, addr: SocketAddr, request: &[u8]) -> io::Result<Vec<u8>> {
    let poller = AnyPoller::new(backend)?;
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_nonblocking(true)?;
    match socket.connect(&addr.into()) {
        Ok(()) => {}
        // In progress: the normal answer of a non-blocking connect.
        Err(e) if common::connect_in_progress(&e) => {}
        Err(e) => return Err(io::Error::new(e.kind(), format!("connect to {addr}: {e}"))),
    }
    let mut stream = TcpStream::from(socket);
    let mut events = Events::new();

    poller.add(stream.as_source(), KEY, Interest::WRITABLE, Mode::Oneshot)?;
    wait_for(&poller, &mut events, "the connect")?;
    if let Some(e) = stream.take_error()? {
        poller.delete(stream.as_source())?;
        return Err(io::Error::new(e.kind(), format!("connect to {addr}: {e}")));
    }

    // A short request into an empty send buffer: written at once, or in a few rounds.
    let mut sent = 0;
    while sent < request.len() {
        match stream.write(&request[sent..]) {
            Ok(n) => sent += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                poller.modify(stream.as_source(), KEY, Interest::WRITABLE, Mode::Oneshot)?;
                wait_for(&poller, &mut events, "room to write")?;
            }
            Err(e) => return Err(e),
        }
    }

    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                poller.modify(stream.as_source(), KEY, Interest::READABLE, Mode::Oneshot)?;
                wait_for(&poller, &mut events, "the answer")?;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    poller.delete(stream.as_source())?;
    Ok(answer)
}

/// Waits until the socket is reported, at most [`STEP_LIMIT`].
fn wait_for(poller: &AnyPoller, events: &mut Events, what: &str) -> io::Result<()> {
    let deadline = Instant::now() + STEP_LIMIT;
    while Instant::now() < deadline {
        poller.wait_deadline(events, deadline)?;
        if events.iter().any(|e| e.key() == KEY) {
            return Ok(());
        }
    }
    Err(io::Error::new(io::ErrorKind::TimedOut, format!("no readiness for {what}")))
}

/// Fetches from a loopback server that checks the request and answers with a fixed body;
/// returns the answer, checked.
pub fn self_test(backend: Backend) -> io::Result<Vec<u8>> {
    const ANSWER: &[u8] = b"HTTP/1.0 200 OK\r\n\r\nhello from the loopback server\n";
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let server = thread::spawn(move || -> io::Result<()> {
        let (mut stream, _) = listener.accept()?;
        stream.set_read_timeout(Some(STEP_LIMIT))?;
        let mut request = vec![0; REQUEST.len()];
        stream.read_exact(&mut request)?;
        if request != REQUEST {
            return Err(io::Error::other(format!("request {request:?}")));
        }
        stream.write_all(ANSWER)
    });
    let answer = fetch(backend, addr, REQUEST)?;
    server.join().map_err(|_| io::Error::other("the server panicked"))??;
    if answer != ANSWER {
        return Err(io::Error::other(format!("answer {answer:?}")));
    }
    Ok(answer)
}
