//! Closed sockets. In a test binary of their own (a process where no other test file makes
//! sockets), and one at a time (`ALONE`), so that nothing else takes the handle number a
//! test closed: Windows hands a freed number out again at once.
#![cfg(windows)]

mod util;

use std::io;
use std::os::windows::io::{AsRawSocket, BorrowedSocket};
use std::sync::{Mutex, MutexGuard};

use multipoll_iocp::{AsSource, Interest, Iocp, Mode, Poller};
use util::{expect_none, expect_one, tcp_pair};

/// Held by each test of this file for its whole run.
static ALONE: Mutex<()> = Mutex::new(());

fn alone() -> MutexGuard<'static, ()> {
    ALONE.lock().unwrap_or_else(|e| e.into_inner())
}

/// The number of a closed socket is refused with `InvalidInput`.
#[test]
fn add_closed_socket_invalid_input() -> io::Result<()> {
    let _alone = alone();
    let poller = Iocp::new()?;
    let (client, _server) = tcp_pair()?;
    let number = client.as_raw_socket();
    drop(client);
    // SAFETY: the number is closed, and no other test of this process makes a socket
    // meanwhile (`ALONE`); the poller only passes it to WSAIoctl, which refuses it.
    let closed = unsafe { BorrowedSocket::borrow_raw(number) };
    let err = poller.add(closed, 1, Interest::READABLE, Mode::Level).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    Ok(())
}

/// A socket closed without delete while its request is in flight is never reported; a new
/// socket that reuses its handle number is a new registration (`add` replaces the stale
/// one), and `delete` of the number then forgets it.
#[test]
fn closed_without_delete_is_replaced_by_reuse() -> io::Result<()> {
    let _alone = alone();
    let poller = Iocp::new()?;
    let (client, _server) = tcp_pair()?;
    poller.add(client.as_source(), 1, Interest::READABLE, Mode::Level)?;
    let number = client.as_raw_socket();
    drop(client);
    expect_none(&poller)?;
    // Windows hands out a freed handle number again soon; keep every miss open meanwhile.
    let mut misses = Vec::new();
    let reused = loop {
        let (client, server) = tcp_pair()?;
        if client.as_raw_socket() == number {
            break (client, server);
        }
        if server.as_raw_socket() == number {
            break (server, client);
        }
        assert!(misses.len() < 50, "handle number {number} was not reused");
        misses.push((client, server));
    };
    poller.add(reused.0.as_source(), 2, Interest::WRITABLE, Mode::Level)?;
    assert!(expect_one(&poller, 2)?.is_writable());
    poller.delete(reused.0.as_source())?;
    assert_eq!(poller.delete(reused.0.as_source()).unwrap_err().kind(), io::ErrorKind::NotFound);
    Ok(())
}
