//! Registration: the contract's errors, oneshot re-arming, modify and delete.
#![cfg(windows)]

mod util;

use std::io::{self, Write};
use std::os::windows::io::{AsRawHandle, AsRawSocket, BorrowedSocket};

use multipoll_iocp::{AsSource, Interest, Iocp, Mode, Poller};
use util::{expect_none, expect_one, tcp_pair};

#[test]
fn add_twice_already_exists() -> io::Result<()> {
    let poller = Iocp::new()?;
    let (client, _server) = tcp_pair()?;
    poller.add(client.as_source(), 1, Interest::READABLE, Mode::Level)?;
    let err = poller.add(client.as_source(), 2, Interest::READABLE, Mode::Level).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AlreadyExists, "{err}");
    assert!(err.to_string().contains(&client.as_raw_socket().to_string()), "{err}");
    Ok(())
}

#[test]
fn modify_and_delete_unknown_not_found() -> io::Result<()> {
    let poller = Iocp::new()?;
    let (client, _server) = tcp_pair()?;
    let err = poller.modify(client.as_source(), 1, Interest::READABLE, Mode::Level).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");
    let err = poller.delete(client.as_source()).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");
    Ok(())
}

#[test]
fn reserved_key_invalid_input() -> io::Result<()> {
    let poller = Iocp::new()?;
    let (client, _server) = tcp_pair()?;
    let err =
        poller.add(client.as_source(), usize::MAX, Interest::READABLE, Mode::Level).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    Ok(())
}

#[test]
fn edge_modes_unsupported() -> io::Result<()> {
    let poller = Iocp::new()?;
    let (client, _server) = tcp_pair()?;
    for mode in [Mode::Edge, Mode::EdgeOneshot] {
        assert!(!poller.capabilities().supports(mode));
        let err = poller.add(client.as_source(), 1, Interest::READABLE, mode).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::Unsupported, "{err}");
    }
    poller.add(client.as_source(), 1, Interest::READABLE, Mode::Level)?;
    let err = poller.modify(client.as_source(), 1, Interest::READABLE, Mode::Edge).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::Unsupported, "{err}");
    Ok(())
}

#[test]
fn priority_unsupported() -> io::Result<()> {
    let poller = Iocp::new()?;
    let (client, _server) = tcp_pair()?;
    assert!(!poller.capabilities().priority());
    let interest = Interest::READABLE | Interest::PRIORITY;
    let err = poller.add(client.as_source(), 1, interest, Mode::Level).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::Unsupported, "{err}");
    Ok(())
}

/// A handle that is not a socket (a file) is refused with `InvalidInput` (a closed socket's
/// number: `tests/closed.rs`, where no other test can take the number meanwhile).
#[test]
fn add_non_socket_invalid_input() -> io::Result<()> {
    let poller = Iocp::new()?;
    let file = std::fs::File::open(std::env::current_exe()?)?;
    // SAFETY: the file stays open for the borrow; the poller only reads its number.
    let not_a_socket = unsafe { BorrowedSocket::borrow_raw(file.as_raw_handle() as u64) };
    let err = poller.add(not_a_socket, 1, Interest::READABLE, Mode::Level).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    Ok(())
}

#[test]
fn oneshot_rearmed_by_modify() -> io::Result<()> {
    let poller = Iocp::new()?;
    let (mut client, server) = tcp_pair()?;
    poller.add(server.as_source(), 5, Interest::READABLE, Mode::Oneshot)?;
    client.write_all(b"x")?;
    expect_one(&poller, 5)?;
    expect_none(&poller)?;
    poller.modify(server.as_source(), 6, Interest::READABLE, Mode::Oneshot)?;
    assert!(expect_one(&poller, 6)?.is_readable());
    expect_none(&poller)
}

#[test]
fn modify_changes_interest() -> io::Result<()> {
    let poller = Iocp::new()?;
    let (client, _server) = tcp_pair()?;
    poller.add(client.as_source(), 1, Interest::READABLE, Mode::Level)?;
    expect_none(&poller)?;
    poller.modify(client.as_source(), 2, Interest::WRITABLE, Mode::Level)?;
    let ev = expect_one(&poller, 2)?;
    assert!(ev.is_writable() && !ev.is_readable(), "{ev:?}");
    poller.modify(client.as_source(), 3, Interest::READABLE, Mode::Level)?;
    expect_none(&poller)?;
    poller.modify(client.as_source(), 4, Interest::NONE, Mode::Level)?;
    expect_none(&poller)
}

/// A ready socket deleted before the wait is not reported, even though its cancelled
/// request's completion is still dequeued.
#[test]
fn delete_then_no_event() -> io::Result<()> {
    let poller = Iocp::new()?;
    let (mut client, server) = tcp_pair()?;
    poller.add(server.as_source(), 1, Interest::READABLE, Mode::Level)?;
    client.write_all(b"x")?;
    std::thread::sleep(std::time::Duration::from_millis(50));
    poller.delete(server.as_source())?;
    expect_none(&poller)?;
    let err = poller.delete(server.as_source()).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");
    poller.add(server.as_source(), 2, Interest::READABLE, Mode::Level)?;
    expect_one(&poller, 2)?;
    Ok(())
}
