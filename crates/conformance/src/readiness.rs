//! Readiness: what is reported, and with which [`Event`] flags, on each kind of fd a
//! server polls — Unix sockets, TCP sockets, pipes, listening sockets — and what is not
//! (TCP urgent data).
//!
//! The flags are part of the contract (`readable` and `writable` filtered by interest,
//! `hangup` with `readable` on every backend, `error` only where
//! [`Capabilities::reports_errors`](multipoll_core::Capabilities::reports_errors)), and the
//! fd kinds are where backends differ most (a pipe's hang-up, a listener's readability, a
//! reset), so each pairing is checked on its own.

use std::io;
use std::net::{TcpListener, TcpStream};
#[cfg(unix)]
use std::thread;
use std::time::Duration;

use multipoll_core::backend::EventsExt;
use multipoll_core::{AsSource, Event, Events, Interest, Mode, Poller};

use crate::util::{
    LONG, QUIET, Want, close_with_reset, drain, expect_events, expect_no_events, refused_connect,
    send, stream_pair, tcp_pair, wait_checked,
};
#[cfg(unix)]
use crate::util::{expect_kind, pipe, send_urgent, take_urgent, urgent_byte};

/// A stream socket (a Unix socket; on Windows, TCP) with data queued is reported readable
/// (only readable: no writable flag for a readable-only interest, no hang-up, no error);
/// before the data, nothing is.
pub fn readable_on_data<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let (mut events, (a, b)) = (Events::new(), stream_pair()?);
    poller.add(b.as_source(), 1, Interest::READABLE, Mode::Level)?;
    expect_no_events(&poller, &mut events, QUIET)?;
    send(&a, b"hello")?;
    expect_events(&poller, &mut events, &[Want::readable(1)])?;
    Ok(())
}

/// A TCP socket (over 127.0.0.1) with data queued is reported readable.
pub fn readable_on_tcp<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let (mut events, (a, b)) = (Events::new(), tcp_pair()?);
    poller.add(b.as_source(), 1, Interest::READABLE, Mode::Level)?;
    expect_no_events(&poller, &mut events, QUIET)?;
    send(&a, b"hello")?;
    expect_events(&poller, &mut events, &[Want::readable(1)])?;
    Ok(())
}

#[cfg(unix)]
/// A pipe's read end with data queued is reported readable.
pub fn readable_on_pipe<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let (mut events, (read, write)) = (Events::new(), pipe()?);
    poller.add(read.as_source(), 1, Interest::READABLE, Mode::Level)?;
    expect_no_events(&poller, &mut events, QUIET)?;
    send(&write, b"hello")?;
    expect_events(&poller, &mut events, &[Want::readable(1)])?;
    Ok(())
}

/// A fresh, connected stream socket (a Unix socket; on Windows, TCP) is reported writable
/// (only writable).
pub fn writable_on_fresh_socket<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let (mut events, (a, _b)) = (Events::new(), stream_pair()?);
    poller.add(a.as_source(), 1, Interest::WRITABLE, Mode::Level)?;
    expect_events(&poller, &mut events, &[Want::writable(1)])?;
    Ok(())
}

/// A fresh, connected TCP socket is reported writable.
pub fn writable_on_tcp<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let (mut events, (a, _b)) = (Events::new(), tcp_pair()?);
    poller.add(a.as_source(), 1, Interest::WRITABLE, Mode::Level)?;
    expect_events(&poller, &mut events, &[Want::writable(1)])?;
    Ok(())
}

#[cfg(unix)]
/// A pipe's empty write end is reported writable.
pub fn writable_on_pipe<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let (mut events, (_read, write)) = (Events::new(), pipe()?);
    poller.add(write.as_source(), 1, Interest::WRITABLE, Mode::Level)?;
    expect_events(&poller, &mut events, &[Want::writable(1)])?;
    Ok(())
}

/// Flags are filtered by interest: with data queued on a writable socket, `BOTH` reports
/// readable and writable, `WRITABLE` reports writable only, and `READABLE` on a socket
/// with nothing to read reports nothing, though it is writable.
pub fn interest_filters_flags<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let mut events = Events::new();
    let (a, b) = stream_pair()?;
    let (c, d) = stream_pair()?;
    let (_e, f) = stream_pair()?;
    send(&a, b"x")?;
    send(&c, b"x")?;
    poller.add(b.as_source(), 1, Interest::BOTH, Mode::Level)?;
    poller.add(d.as_source(), 2, Interest::WRITABLE, Mode::Level)?;
    poller.add(f.as_source(), 3, Interest::READABLE, Mode::Level)?;
    expect_events(&poller, &mut events, &[Want::both(1), Want::writable(2)])?;
    Ok(())
}

/// The peer closing a stream socket (a Unix socket; on Windows, TCP) is reported as
/// `readable` + `hangup`, without `error`.
pub fn hangup_on_peer_close<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let (mut events, (a, b)) = (Events::new(), stream_pair()?);
    poller.add(b.as_source(), 1, Interest::READABLE, Mode::Level)?;
    expect_no_events(&poller, &mut events, QUIET)?;
    drop(a);
    expect_events(&poller, &mut events, &[Want::readable(1).hangup()])?;
    Ok(())
}

#[cfg(unix)]
/// The peer writing and then closing, on a Unix socket, a TCP connection and a pipe, is
/// reported as `readable` + `hangup` while the data is still queued (reading gives the
/// rest of the data, then end of file) where the backend has
/// [`early_hangup`](multipoll_core::Capabilities::early_hangup), as `readable` (hang-up
/// optional) elsewhere, and by every backend as `readable` + `hangup` once it is read.
pub fn hangup_with_data_pending<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let through_data = poller.capabilities().early_hangup().then_some(true);
    let mut events = Events::new();
    let (a, b) = stream_pair()?;
    let (c, d) = tcp_pair()?;
    let (read, write) = pipe()?;
    poller.add(b.as_source(), 1, Interest::READABLE, Mode::Level)?;
    poller.add(d.as_source(), 2, Interest::READABLE, Mode::Level)?;
    poller.add(read.as_source(), 3, Interest::READABLE, Mode::Level)?;
    send(&a, b"last words")?;
    send(&c, b"last words")?;
    send(&write, b"last words")?;
    drop((a, c, write));
    let queued = [1, 2, 3].map(|key| Want { hangup: through_data, ..Want::readable(key) });
    expect_events(&poller, &mut events, &queued)?;
    assert_eq!(drain(&b)? + drain(&d)? + drain(&read)?, 30);
    let drained = [1, 2, 3].map(|key| Want::readable(key).hangup());
    expect_events(&poller, &mut events, &drained)?;
    Ok(())
}

/// A hang-up is reported only to registrations with readable interest: a writable-only
/// registration of a socket whose peer closed (a stream socket closed, a TCP FIN) is reported
/// writable — the next write fails at once — without `hangup`.
pub fn hangup_not_reported_to_writers<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let mut events = Events::new();
    let (a, b) = stream_pair()?;
    let (c, d) = tcp_pair()?;
    poller.add(b.as_source(), 1, Interest::WRITABLE, Mode::Level)?;
    poller.add(d.as_source(), 2, Interest::WRITABLE, Mode::Level)?;
    drop((a, c));
    // Let the close reach both sockets before the check (the TCP FIN crosses loopback).
    let probe = P::new()?;
    probe.add(d.as_source(), 9, Interest::READABLE, Mode::Level)?;
    expect_events(&probe, &mut Events::new(), &[Want::readable(9).hangup().error(None)])?;
    expect_events(&poller, &mut events, &[Want::writable(1), Want::writable(2)])?;
    Ok(())
}

/// The peer closing a TCP connection (a FIN) is reported as `readable` + `hangup`, without
/// `error`.
pub fn hangup_on_tcp_close<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let (mut events, (a, b)) = (Events::new(), tcp_pair()?);
    poller.add(b.as_source(), 1, Interest::READABLE, Mode::Level)?;
    drop(a);
    expect_events(&poller, &mut events, &[Want::readable(1).hangup()])?;
    Ok(())
}

/// The peer resetting a TCP connection (`SO_LINGER` 0, then close: an RST) is reported as
/// `readable` + `hangup`, and `error` exactly when the backend
/// [reports errors](multipoll_core::Capabilities::reports_errors).
pub fn hangup_on_peer_reset<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let errors = poller.capabilities().reports_errors();
    let (mut events, (a, b)) = (Events::new(), tcp_pair()?);
    poller.add(b.as_source(), 1, Interest::READABLE, Mode::Level)?;
    close_with_reset(a)?;
    expect_events(&poller, &mut events, &[Want::readable(1).hangup().error(Some(errors))])?;
    Ok(())
}

/// A refused non-blocking connect (to a closed loopback port), registered
/// `READABLE | WRITABLE`, is reported as a failure — `readable` + `writable` + `hangup`,
/// and `error` exactly when the backend
/// [reports errors](multipoll_core::Capabilities::reports_errors) — and the refusal is
/// still pending afterwards: `take_error()` returns `ConnectionRefused`, so the user can
/// tell that the connect failed.
pub fn refused_connect_keeps_its_error<P: Poller>() -> io::Result<()> {
    refused_connect_reported::<P>(Interest::BOTH)
}

/// A refused non-blocking connect registered `WRITABLE` alone is reported `writable` with
/// `error` (a hang-up goes to readers only, so `error` is the failure a writer sees), and
/// `take_error()` afterwards returns `ConnectionRefused`.
pub fn refused_connect_reported_to_writers<P: Poller>() -> io::Result<()> {
    refused_connect_reported::<P>(Interest::WRITABLE)
}

/// [`refused_connect_keeps_its_error`] and [`refused_connect_reported_to_writers`]: one
/// refused connect registered with `interest`.
fn refused_connect_reported<P: Poller>(interest: Interest) -> io::Result<()> {
    let poller = P::new()?;
    let errors = poller.capabilities().reports_errors();
    let stream = refused_connect()?;
    poller.add(stream.as_source(), 1, interest, Mode::Level)?;
    let want = if interest.is_readable() {
        Want::both(1).hangup().error(Some(errors))
    } else {
        Want::writable(1).error(Some(errors))
    };
    let got = expect_events(&poller, &mut Events::new(), &[want])?;
    assert!(
        got[0].is_error() || got[0].is_hangup(),
        "a refused connect reported as {:?}: nothing says it failed",
        got[0]
    );
    expect_refused(&stream);
    Ok(())
}

/// Asserts that `stream`'s connect was refused and that the refusal is still pending.
#[track_caller]
fn expect_refused(stream: &TcpStream) {
    match stream.take_error() {
        Ok(Some(e)) if e.kind() == io::ErrorKind::ConnectionRefused => {}
        other => panic!("take_error after the wait: {other:?}, not ConnectionRefused"),
    }
}

#[cfg(unix)]
/// No backend's wait changes the state of the fds it reports (a probe that reads to find
/// a hang-up, say): after one wait has reported them, a refused connect's pending error
/// (`SO_ERROR`), a TCP urgent byte (`MSG_OOB`) and the queued data on a TCP and a Unix
/// socket are all still there.
pub fn wait_consumes_nothing<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let errors = poller.capabilities().reports_errors();
    let refused = refused_connect()?;
    let (a, b) = tcp_pair()?;
    let (c, d) = stream_pair()?;
    poller.add(refused.as_source(), 1, Interest::READABLE, Mode::Level)?;
    poller.add(b.as_source(), 2, Interest::READABLE, Mode::Level)?;
    poller.add(d.as_source(), 3, Interest::READABLE, Mode::Level)?;
    send_urgent(&a, b'!')?;
    urgent_byte(&b)?;
    send(&a, b"x")?;
    send(&c, b"hello")?;
    let wants =
        [Want::readable(1).hangup().error(Some(errors)), Want::readable(2), Want::readable(3)];
    expect_events(&poller, &mut Events::new(), &wants)?;
    expect_refused(&refused);
    assert_eq!(take_urgent(&b)?, b'!', "the urgent byte, still pending");
    assert_eq!(drain(&b)?, 1, "the TCP data, still queued");
    assert_eq!(drain(&d)?, 5, "the Unix socket's data, still queued");
    Ok(())
}

#[cfg(unix)]
/// A pipe whose write end is closed is reported on its read end as `readable` + `hangup`.
pub fn hangup_on_pipe<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let (mut events, (read, write)) = (Events::new(), pipe()?);
    poller.add(read.as_source(), 1, Interest::READABLE, Mode::Level)?;
    drop(write);
    expect_events(&poller, &mut events, &[Want::readable(1).hangup()])?;
    Ok(())
}

/// A listening socket with a pending connection is reported readable — not as a hang-up —
/// and stops being reported once the connection is accepted.
pub fn listener_readable_on_connect<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let mut events = Events::new();
    let listener = TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    poller.add(listener.as_source(), 1, Interest::READABLE, Mode::Level)?;
    expect_no_events(&poller, &mut events, QUIET)?;
    let _client = TcpStream::connect(listener.local_addr()?)?;
    expect_events(&poller, &mut events, &[Want::readable(1)])?;
    let (_server, _) = listener.accept()?;
    expect_no_events(&poller, &mut events, QUIET)?;
    Ok(())
}

#[cfg(unix)]
/// TCP urgent data (one `MSG_OOB` byte) alone is not reported to a readable registration:
/// `read(2)` does not return it (without `SO_OOBINLINE`), so a level-triggered loop told
/// "readable" would spin on `WouldBlock`. Normal data sent after it is reported readable,
/// not as a hang-up (Linux's `FIONREAD`, which a hang-up probe may ask, counts no bytes
/// while an urgent byte is next), and reading returns that data only. (select's `exceptfds`
/// and poll's `POLLPRI` would report urgent data; no backend asks for them.) Both for a
/// byte that is there when the wait begins and for one that arrives while a wait is
/// blocked (the socket wakes its readers for it as for data), where a backend that
/// declares [`urgent_wakes_readable`](multipoll_core::Capabilities::urgent_wakes_readable)
/// may report it readable once, and never again.
pub fn urgent_data_alone_is_not_readable<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let (mut events, (a, b)) = (Events::new(), tcp_pair()?);
    poller.add(b.as_source(), 1, Interest::READABLE, Mode::Level)?;
    send_urgent(&a, b'!')?;
    // The byte is there before the quiet period starts, so the period is not a race with
    // its delivery.
    assert_eq!(urgent_byte(&b)?, b'!', "the urgent byte that arrived");
    expect_no_events(&poller, &mut events, QUIET)?;
    send(&a, b"x")?;
    expect_events(&poller, &mut events, &[Want::readable(1)])?;
    assert_eq!(drain(&b)?, 1, "read returns the normal byte, not the urgent one");
    poller.delete(b.as_source())?;

    let (a, b) = tcp_pair()?;
    poller.add(b.as_source(), 2, Interest::READABLE, Mode::Level)?;
    let declared = poller.capabilities().urgent_wakes_readable();
    thread::scope(|s| -> io::Result<()> {
        let sender = s.spawn(|| {
            thread::sleep(URGENT_DURING_WAIT);
            send_urgent(&a, b'?')
        });
        let result = if declared {
            // The spurious report, if any, comes from the wait the byte woke; after it the
            // socket's state is asked, so even level mode, unread, is silent. (No `read`
            // here: on Linux, reading past the mark discards the urgent byte.)
            let got = wait_checked(&poller, &mut events, Some(QUIET))?;
            for event in &got {
                assert!(Want::readable(2).matches(event), "not the declared report: {got:?}");
            }
            expect_no_events(&poller, &mut events, QUIET)
        } else {
            expect_no_events(&poller, &mut events, QUIET)
        };
        sender.join().expect("the urgent sender panicked")?;
        result
    })?;
    assert_eq!(urgent_byte(&b)?, b'?', "the urgent byte sent during the wait");
    send(&a, b"y")?;
    expect_events(&poller, &mut events, &[Want::readable(2)])?;
    assert_eq!(drain(&b)?, 1, "read returns the normal byte, not the urgent one");
    Ok(())
}

/// How long after the wait begins the urgent byte of the blocked-wait case is sent: long
/// enough that the waiter is blocked in the kernel, well within [`QUIET`].
#[cfg(unix)]
const URGENT_DURING_WAIT: Duration = Duration::from_millis(50);

#[cfg(unix)]
/// With [`Interest::PRIORITY`] (beside readable), one TCP urgent byte is reported as
/// priority — not readable, since `read` will not return it — for as long as it is
/// pending in level mode, and no longer once it is read with `MSG_OOB`; normal data after
/// it is plain readable. `PRIORITY` alone is `InvalidInput`; a backend without it says
/// `Unsupported` (and its capabilities say so).
pub fn priority_on_urgent_data<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let (mut events, (a, b)) = (Events::new(), tcp_pair()?);
    let interest = Interest::READABLE | Interest::PRIORITY;
    if !poller.capabilities().priority() {
        let r = poller.add(b.as_source(), 1, interest, Mode::Level);
        expect_kind(r, io::ErrorKind::Unsupported, "priority interest on a backend without it");
        return Ok(());
    }
    let alone = poller.add(b.as_source(), 1, Interest::PRIORITY, Mode::Level);
    expect_kind(alone, io::ErrorKind::InvalidInput, "priority interest without readable");
    poller.add(b.as_source(), 1, interest, Mode::Level)?;
    expect_no_events(&poller, &mut events, QUIET)?;
    send_urgent(&a, b'!')?;
    expect_events(&poller, &mut events, &[Want::priority(1)])?;
    expect_events(&poller, &mut events, &[Want::priority(1)])?;
    assert_eq!(take_urgent(&b)?, b'!', "the urgent byte that was reported");
    expect_no_events(&poller, &mut events, QUIET)?;
    send(&a, b"x")?;
    expect_events(&poller, &mut events, &[Want::readable(1)])?;
    Ok(())
}

/// `wait` clears `events` first: what a previous wait (or anyone) left in the buffer is
/// gone, whether this wait reports something or nothing.
pub fn wait_clears_events<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let mut events = Events::with_capacity(4);
    let stale = Event::new(77).with_readable(true);
    events.push(stale);
    events.push(stale);
    assert_eq!(wait_checked(&poller, &mut events, Some(Duration::ZERO))?, []);

    let (a, b) = stream_pair()?;
    poller.add(b.as_source(), 1, Interest::READABLE, Mode::Level)?;
    send(&a, b"x")?;
    events.push(stale);
    expect_events(&poller, &mut events, &[Want::readable(1)])?;
    drain(&b)?;
    assert_eq!(wait_checked(&poller, &mut events, Some(Duration::ZERO))?, []);
    assert!(events.is_empty(), "events still holds {:?}", events.as_slice());
    Ok(())
}

/// `wait` never appends, whatever ended it and whoever used the buffer before: a wait
/// woken by a notify or by its timeout leaves `events` empty; a buffer full of stale
/// events still takes its whole capacity of new ones; one `Events` shared by two pollers
/// holds, after each wait, only that poller's events; the capacity never changes.
pub fn wait_never_appends<P: Poller>() -> io::Result<()> {
    let (one, two) = (P::new()?, P::new()?);
    let mut events = Events::with_capacity(2);
    let stale = Event::new(77).with_readable(true);
    let fill = |events: &mut Events| {
        while events.push(stale) {}
    };

    fill(&mut events);
    one.notify()?;
    assert_eq!(wait_checked(&one, &mut events, Some(LONG))?, [], "a notified wait");
    fill(&mut events);
    assert_eq!(wait_checked(&one, &mut events, Some(Duration::from_millis(10)))?, []);

    let pairs: Vec<_> = (0..3).map(|_| stream_pair()).collect::<io::Result<_>>()?;
    for (key, (a, b)) in pairs.iter().enumerate() {
        one.add(b.as_source(), key, Interest::READABLE, Mode::Level)?;
        send(a, b"x")?;
    }
    let (c, d) = stream_pair()?;
    two.add(d.as_source(), 9, Interest::READABLE, Mode::Level)?;
    send(&c, b"x")?;
    for _ in 0..3 {
        fill(&mut events);
        let got = wait_checked(&one, &mut events, Some(LONG))?;
        assert_eq!(got.len(), 2, "3 fds ready, room for 2 (stale events do not count): {got:?}");
        assert!(got.iter().all(|e| e.key() < 3 && Want::readable(e.key()).matches(e)), "{got:?}");
        let got = wait_checked(&two, &mut events, Some(LONG))?;
        assert!(got.len() == 1 && Want::readable(9).matches(&got[0]), "{got:?}");
        assert_eq!(events.capacity(), 2);
    }
    Ok(())
}
