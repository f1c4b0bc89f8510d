//! What a wait reports for a socket's state: data, room, a peer's close, a reset, a
//! refused connect; and many sockets ready at once.
#![cfg(windows)]

mod util;

use std::collections::HashSet;
use std::io::{self, Read, Write};

use multipoll_iocp::{AsSource, Events, Interest, Iocp, Mode, Poller};
use util::{PATIENCE, expect_none, expect_one, refused_connect, tcp_pair, wait};

#[test]
fn readable_on_data() -> io::Result<()> {
    let poller = Iocp::new()?;
    let (mut client, server) = tcp_pair()?;
    poller.add(server.as_source(), 7, Interest::READABLE, Mode::Level)?;
    expect_none(&poller)?;
    client.write_all(b"x")?;
    let ev = expect_one(&poller, 7)?;
    assert!(ev.is_readable() && !ev.is_writable() && !ev.is_hangup() && !ev.is_error(), "{ev:?}");
    Ok(())
}

#[test]
fn writable_at_once() -> io::Result<()> {
    let poller = Iocp::new()?;
    let (client, _server) = tcp_pair()?;
    poller.add(client.as_source(), 3, Interest::WRITABLE, Mode::Level)?;
    let ev = expect_one(&poller, 3)?;
    assert!(ev.is_writable() && !ev.is_readable(), "{ev:?}");
    Ok(())
}

/// The peer's close is readable + hang-up.
#[test]
fn peer_close_is_readable_and_hangup() -> io::Result<()> {
    let poller = Iocp::new()?;
    let (client, server) = tcp_pair()?;
    poller.add(server.as_source(), 1, Interest::READABLE, Mode::Level)?;
    expect_none(&poller)?;
    drop(client);
    let ev = expect_one(&poller, 1)?;
    assert!(ev.is_readable() && ev.is_hangup() && !ev.is_error(), "{ev:?}");
    Ok(())
}

/// With data still queued behind the peer's close, the socket is readable, and once the
/// data is read, readable + hang-up (no early hang-up: see the crate docs on Wine).
#[test]
fn peer_close_after_data_hangs_up_once_read() -> io::Result<()> {
    let poller = Iocp::new()?;
    assert!(!poller.capabilities().early_hangup());
    let (mut client, mut server) = tcp_pair()?;
    client.write_all(b"last words")?;
    drop(client);
    poller.add(server.as_source(), 1, Interest::READABLE, Mode::Level)?;
    assert!(expect_one(&poller, 1)?.is_readable());
    let mut data = Vec::new();
    server.read_to_end(&mut data)?;
    assert_eq!(data, b"last words");
    let ev = expect_one(&poller, 1)?;
    assert!(ev.is_readable() && ev.is_hangup() && !ev.is_error(), "{ev:?}");
    Ok(())
}

/// A reset (the peer closed with linger 0) is readable + hang-up + error.
#[test]
fn reset_is_hangup_and_error() -> io::Result<()> {
    let poller = Iocp::new()?;
    let (client, server) = tcp_pair()?;
    socket2::SockRef::from(&client).set_linger(Some(std::time::Duration::ZERO))?;
    drop(client);
    poller.add(server.as_source(), 1, Interest::READABLE, Mode::Level)?;
    let ev = expect_one(&poller, 1)?;
    assert!(ev.is_readable() && ev.is_hangup() && ev.is_error(), "{ev:?}");
    Ok(())
}

/// A refused connect: readable + writable + hang-up + error, and the error still pending.
#[test]
fn refused_connect_is_error() -> io::Result<()> {
    let poller = Iocp::new()?;
    let socket = refused_connect()?;
    poller.add(socket.as_source(), 2, Interest::BOTH, Mode::Oneshot)?;
    let ev = expect_one(&poller, 2)?;
    assert!(ev.is_error() && ev.is_readable() && ev.is_writable() && ev.is_hangup(), "{ev:?}");
    let pending = socket.take_error()?.map(|e| e.kind());
    assert_eq!(pending, Some(io::ErrorKind::ConnectionRefused));
    Ok(())
}

/// A refused connect registered for writing alone: writable + error, no hang-up.
#[test]
fn refused_connect_reported_to_writers() -> io::Result<()> {
    let poller = Iocp::new()?;
    let socket = refused_connect()?;
    poller.add(socket.as_source(), 2, Interest::WRITABLE, Mode::Oneshot)?;
    let ev = expect_one(&poller, 2)?;
    assert!(ev.is_error() && ev.is_writable() && !ev.is_readable() && !ev.is_hangup(), "{ev:?}");
    Ok(())
}

#[test]
fn level_repeats_until_drained() -> io::Result<()> {
    let poller = Iocp::new()?;
    let (mut client, mut server) = tcp_pair()?;
    poller.add(server.as_source(), 4, Interest::READABLE, Mode::Level)?;
    client.write_all(b"abc")?;
    for _ in 0..3 {
        assert!(expect_one(&poller, 4)?.is_readable());
    }
    let mut buf = [0; 16];
    assert_eq!(server.read(&mut buf)?, 3);
    expect_none(&poller)
}

/// 200 sockets ready at once, an `Events` of 16: each wait reports each socket at most
/// once, and together the waits report every one exactly once (oneshot).
#[test]
fn many_ready_small_buffer() -> io::Result<()> {
    let poller = Iocp::new()?;
    let mut pairs = Vec::new();
    for key in 0..200 {
        let (mut client, server) = tcp_pair()?;
        poller.add(server.as_source(), key, Interest::READABLE, Mode::Oneshot)?;
        client.write_all(b"x")?;
        pairs.push((client, server));
    }
    let mut events = Events::with_capacity(16);
    let mut seen = HashSet::new();
    let deadline = std::time::Instant::now() + PATIENCE;
    while seen.len() < 200 && std::time::Instant::now() < deadline {
        let got = wait(&poller, &mut events, PATIENCE)?;
        assert!(got.len() <= 16, "{} events in a buffer of 16", got.len());
        let keys: HashSet<usize> = got.iter().map(|e| e.key()).collect();
        assert_eq!(keys.len(), got.len(), "a key twice in one wait: {got:?}");
        for key in keys {
            assert!(seen.insert(key), "oneshot key {key} reported twice");
        }
    }
    assert_eq!(
        seen.len(),
        200,
        "lost: {:?}",
        (0..200).filter(|k| !seen.contains(k)).collect::<Vec<_>>()
    );
    expect_none(&poller)
}
