//! Helpers shared by the test files: loopback TCP pairs and waits that check what they got.
#![allow(dead_code)] // Each test file uses some of them.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use multipoll_iocp::{Event, Events, Poller};
use socket2::{Domain, Socket, Type};

/// Long enough for loopback to deliver anything; a wait this long that sees nothing failed.
pub const PATIENCE: Duration = Duration::from_secs(5);

/// A connected loopback pair, both non-blocking: (client, server).
pub fn tcp_pair() -> io::Result<(TcpStream, TcpStream)> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    let client = TcpStream::connect(listener.local_addr()?)?;
    let (server, _) = listener.accept()?;
    client.set_nonblocking(true)?;
    server.set_nonblocking(true)?;
    Ok((client, server))
}

/// A non-blocking connect to a loopback port nobody listens on, still in progress.
pub fn refused_connect() -> io::Result<Socket> {
    let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()?.port();
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    socket.set_nonblocking(true)?;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    match socket.connect(&addr.into()) {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(socket),
        other => panic!("a connect to a closed port did not go on in the background: {other:?}"),
    }
}

/// Waits up to `timeout` and returns the events of that one wait.
pub fn wait<P: Poller>(
    poller: &P,
    events: &mut Events,
    timeout: Duration,
) -> io::Result<Vec<Event>> {
    poller.wait(events, Some(timeout))?;
    Ok(events.iter().copied().collect())
}

/// One wait must report exactly one event, for `key`; returns it.
#[track_caller]
pub fn expect_one<P: Poller>(poller: &P, key: usize) -> io::Result<Event> {
    let got = wait(poller, &mut Events::new(), PATIENCE)?;
    assert_eq!(got.len(), 1, "expected one event for key {key}, got {got:?}");
    assert_eq!(got[0].key(), key, "{got:?}");
    Ok(got[0])
}

/// A wait of 100 ms must report nothing.
#[track_caller]
pub fn expect_none<P: Poller>(poller: &P) -> io::Result<()> {
    let got = wait(poller, &mut Events::new(), Duration::from_millis(100))?;
    assert!(got.is_empty(), "expected no event, got {got:?}");
    Ok(())
}
