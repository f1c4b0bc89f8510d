//! A poll request holds a reference to its file, so closing a registered fd closes the file
//! only once the kernel has dropped the request. `delete` drops it before returning: a
//! socket deleted and then closed sends its FIN at once, with no further `wait`, whichever
//! thread armed the request and wherever it is. Closing *without* `delete` keeps the file
//! open while the request is armed, until an `add` of the reused number notices.
#![cfg(all(any(target_os = "linux", target_os = "android"), not(uring_unavailable)))]

use std::io::{self, Read};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsFd, AsRawFd};
use std::thread;
use std::time::{Duration, Instant};

use multipoll_conformance::util::{
    LONG, QUIET, Want, drain, dup_at_least, expect_events, expect_no_events, is_open, send,
    wait_checked,
};
use multipoll_uring::{Events, Interest, Mode, Poller, Uring};

/// How long the peer may take to see the close: far more than a FIN takes on loopback,
/// far less than anything that waited for a later `wait`.
const FIN: Duration = Duration::from_secs(1);

fn tcp_pair() -> io::Result<(TcpStream, TcpStream)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let client = TcpStream::connect(listener.local_addr()?)?;
    let (server, _) = listener.accept()?;
    // `drain` reads until `WouldBlock`.
    server.set_nonblocking(true)?;
    Ok((client, server))
}

/// Whether `peer` reads end of file within `within` (not data, not a timeout).
fn sees_eof(peer: &mut TcpStream, within: Duration) -> io::Result<bool> {
    peer.set_read_timeout(Some(within))?;
    let mut byte = [0u8; 1];
    match peer.read(&mut byte) {
        Ok(0) => Ok(true),
        Ok(_) => Err(io::Error::other("the peer read data, not end of file")),
        Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

/// Deletes `server` and closes it; the peer must see end of file within [`FIN`].
#[track_caller]
fn delete_close_sees_fin(poller: &Uring, server: TcpStream, client: &mut TcpStream) {
    poller.delete(server.as_fd()).expect("delete");
    drop(server);
    let start = Instant::now();
    let eof = sees_eof(client, FIN).expect("peer read");
    assert!(eof, "no FIN within {FIN:?} of delete + close: the poll request kept the socket");
    assert!(start.elapsed() < FIN);
}

/// Requests armed by this thread, in every mode: in the kernel (a wait submitted them),
/// and still queued (no wait yet).
#[test]
fn fin_after_delete_and_close() -> io::Result<()> {
    let poller = Uring::new()?;
    let mut events = Events::new();
    for &mode in Mode::ALL {
        for waited in [true, false] {
            let (mut client, server) = tcp_pair()?;
            poller.add(server.as_fd(), 1, Interest::READABLE, mode)?;
            if waited {
                expect_no_events(&poller, &mut events, Duration::from_millis(10))?;
            }
            delete_close_sees_fin(&poller, server, &mut client);
        }
    }
    Ok(())
}

/// A level registration that was just reported (its re-arm not submitted yet) and an edge
/// one (its multishot request still armed).
#[test]
fn fin_after_a_report() -> io::Result<()> {
    let poller = Uring::new()?;
    let mut events = Events::new();
    for mode in [Mode::Level, Mode::Edge, Mode::Oneshot] {
        let (mut client, server) = tcp_pair()?;
        poller.add(server.as_fd(), 1, Interest::READABLE, mode)?;
        send(&client, b"x")?;
        expect_events(&poller, &mut events, &[Want::readable(1)])?;
        // Read, or the close would reset the connection instead of ending it.
        assert_eq!(drain(&server)?, 1);
        delete_close_sees_fin(&poller, server, &mut client);
    }
    Ok(())
}

/// The request was submitted by another thread, which is still blocked in `wait`: the
/// kernel completes the removed request on that thread, which it wakes for the purpose.
#[test]
fn fin_when_armed_by_a_blocked_waiter() -> io::Result<()> {
    let poller = Uring::new()?;
    let (mut client, server) = tcp_pair()?;
    // Queued here, submitted by the waiter's enter.
    poller.add(server.as_fd(), 1, Interest::READABLE, Mode::Edge)?;
    thread::scope(|s| -> io::Result<()> {
        let waiter = s.spawn(|| {
            let mut events = Events::new();
            poller.wait(&mut events, Some(LONG)).map(|_| events.len())
        });
        thread::sleep(QUIET);
        delete_close_sees_fin(&poller, server, &mut client);
        poller.notify()?;
        let reported = waiter.join().expect("the waiter panicked")?;
        assert_eq!(reported, 0, "the deleted fd was reported");
        Ok(())
    })
}

/// The request was submitted by a thread that has exited since: the kernel completes the
/// removed request from a worker instead, a moment later.
#[test]
fn fin_when_armed_by_an_exited_thread() -> io::Result<()> {
    let poller = Uring::new()?;
    let (mut client, server) = tcp_pair()?;
    poller.add(server.as_fd(), 1, Interest::READABLE, Mode::Edge)?;
    thread::scope(|s| {
        s.spawn(|| {
            let mut events = Events::new();
            poller.wait(&mut events, Some(Duration::ZERO)).map(drop)
        })
        .join()
        .expect("the waiter panicked")
    })?;
    delete_close_sees_fin(&poller, server, &mut client);
    Ok(())
}

/// Closed without `delete` while its request is armed, the socket stays open (its request
/// holds it), and nothing is reported for it. An `add` of a new file under the same number
/// replaces the stale registration and releases the old socket: the peer sees its FIN, and
/// the new file is reported under its new key.
#[test]
fn closed_without_delete_keeps_the_socket_until_the_number_is_reused() -> io::Result<()> {
    let poller = Uring::new()?;
    let mut events = Events::new();
    let (mut client, original) = tcp_pair()?;
    // A number of its own, far above what the other tests here open, so that none of
    // them takes it while it is closed.
    let server = dup_at_least(original.as_fd(), 900)?;
    drop(original);
    let number = server.as_raw_fd();
    poller.add(server.as_fd(), 1, Interest::READABLE, Mode::Level)?;
    expect_no_events(&poller, &mut events, Duration::from_millis(10))?;
    drop(server);
    assert!(!is_open(number));
    assert!(!sees_eof(&mut client, QUIET)?, "the socket closed though its poll was armed");
    expect_no_events(&poller, &mut events, QUIET)?;

    let (_other_client, other) = tcp_pair()?;
    let reused = dup_at_least(other.as_fd(), number)?;
    assert_eq!(reused.as_raw_fd(), number, "fd {number} was taken meanwhile");
    poller.add(reused.as_fd(), 2, Interest::WRITABLE, Mode::Level)?;
    assert!(sees_eof(&mut client, FIN)?, "the old socket was not released by the new add");
    expect_events(&poller, &mut events, &[Want::writable(2)])?;
    poller.delete(reused.as_fd())?;
    Ok(())
}

/// Closed without `delete` before its request reached the kernel: the request fails with
/// `EBADF`, reported once as an error, and the registration is forgotten (`delete` says
/// `NotFound`), as poll(2) does with `POLLNVAL`.
#[test]
fn closed_before_submission_is_reported_once() -> io::Result<()> {
    let poller = Uring::new()?;
    let mut events = Events::new();
    let (_client, original) = tcp_pair()?;
    let server = dup_at_least(original.as_fd(), 950)?;
    drop(original);
    let number = server.as_raw_fd();
    poller.add(server.as_fd(), 1, Interest::READABLE, Mode::Level)?;
    drop(server);
    let got = wait_checked(&poller, &mut events, Some(LONG))?;
    assert!(got.len() == 1 && got[0].key() == 1 && got[0].is_error(), "{got:?}");
    expect_no_events(&poller, &mut events, QUIET)?;
    assert!(!is_open(number), "fd {number} was reopened during the test");
    // SAFETY: this breaks I/O safety on purpose: the number is closed (checked above),
    // which is the input under test; the poller only looks it up in its table.
    let closed = unsafe { std::os::fd::BorrowedFd::borrow_raw(number) };
    let err = poller.delete(closed).expect_err("the registration was forgotten");
    assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");
    Ok(())
}
