//! An echo server as a plain mio event loop: edge-triggered (mio's only mode), so each
//! readable event reads until `WouldBlock`, as mio's documentation requires.

use std::io::{self, Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use mio::net::{TcpListener as MioListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

use super::{ECHO_BUF, EchoServer, stopping};

const LISTENER: Token = Token(usize::MAX);

/// Starts the server on `listener`.
///
/// # Errors
/// As [`EchoServer::spawn`].
pub fn spawn(listener: TcpListener) -> io::Result<EchoServer> {
    EchoServer::spawn("mio-echo", listener, serve)
}

/// A connection and the echo bytes it could not write yet.
struct Conn {
    stream: TcpStream,
    pending: Vec<u8>,
}

/// Serves `listener` on the calling thread until `stop` is set (checked at each accept).
///
/// # Errors
/// The poll cannot be created or fails.
pub fn serve(listener: TcpListener, stop: Arc<AtomicBool>) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    let mut listener = MioListener::from_std(listener);
    let mut poll = Poll::new()?;
    poll.registry().register(&mut listener, LISTENER, Interest::READABLE)?;
    let mut conns: Vec<Option<Conn>> = Vec::new();
    let mut events = Events::with_capacity(1024);
    let mut buf = vec![0u8; ECHO_BUF];
    loop {
        match poll.poll(&mut events, None) {
            Ok(()) => {}
            // A signal (or a debugger attaching) interrupts the wait: wait again.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        for event in &events {
            if event.token() == LISTENER {
                loop {
                    let mut stream = match listener.accept() {
                        Ok((stream, _)) => stream,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) => return Err(e),
                    };
                    if stopping(&stop) {
                        return Ok(());
                    }
                    stream.set_nodelay(true)?;
                    let slot = conns.iter().position(Option::is_none).unwrap_or(conns.len());
                    let interest = Interest::READABLE | Interest::WRITABLE;
                    poll.registry().register(&mut stream, Token(slot), interest)?;
                    let conn = Some(Conn { stream, pending: Vec::new() });
                    match conns.get_mut(slot) {
                        Some(free) => *free = conn,
                        None => conns.push(conn),
                    }
                }
                continue;
            }
            let slot = event.token().0;
            let Some(conn) = conns[slot].as_mut() else { continue };
            if !serve_conn(conn, &mut buf)
                && let Some(mut conn) = conns[slot].take()
            {
                poll.registry().deregister(&mut conn.stream)?;
            }
        }
    }
}

/// Echoes what can be echoed now; returns false when the connection is over.
fn serve_conn(conn: &mut Conn, buf: &mut [u8]) -> bool {
    if !flush(conn) {
        return false;
    }
    while conn.pending.is_empty() {
        match conn.stream.read(buf) {
            Ok(0) => return false,
            Ok(n) => {
                // Echo straight from `buf`; keep only what the socket did not take.
                let written = match conn.stream.write(&buf[..n]) {
                    Ok(w) => w,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => 0,
                    Err(_) => return false,
                };
                conn.pending.extend_from_slice(&buf[written..n]);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    // Stopped reading with echo bytes pending: the writable edge resumes us.
    true
}

/// Writes pending bytes until done or `WouldBlock`; false on a write error.
fn flush(conn: &mut Conn) -> bool {
    while !conn.pending.is_empty() {
        match conn.stream.write(&conn.pending) {
            Ok(n) => {
                conn.pending.drain(..n);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    true
}
