//! The Winsock behaviours of the emulated backends (poll over `WSAPoll`, select over
//! Winsock `select`), generic over the poller, on loopback TCP pairs. Each crate's
//! `tests/winsock.rs` instantiates them with `winsock_tests!(Type)`, until the conformance
//! suite runs on Windows.
//!
//! Every test holds [`SERIAL`]: a socket closed while registered must not have its handle
//! value taken by another test's new socket before the wait that reports it (Windows
//! reuses handle values at once, and nothing tells the sockets apart).

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::windows::io::AsRawSocket;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use multipoll_core::{AsSource, Event, Events, Interest, Mode, Poller};

/// Long enough for loopback delivery under a loaded Wine; a passing test never waits it.
pub const PATIENCE: Duration = Duration::from_secs(5);

static SERIAL: Mutex<()> = Mutex::new(());

pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// A connected, non-blocking loopback pair.
pub fn tcp_pair() -> io::Result<(TcpStream, TcpStream)> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    let a = TcpStream::connect(listener.local_addr()?)?;
    let (b, _) = listener.accept()?;
    a.set_nonblocking(true)?;
    b.set_nonblocking(true)?;
    Ok((a, b))
}

/// Waits (up to [`PATIENCE`]) until a wait reports an event for `key` that `pred` accepts;
/// returns it.
#[track_caller]
pub fn expect_event<P: Poller>(
    poller: &P,
    key: usize,
    pred: impl Fn(&Event) -> bool,
) -> io::Result<Event> {
    let until = Instant::now() + PATIENCE;
    let mut events = Events::with_capacity(256);
    let mut seen = Vec::new();
    while Instant::now() < until {
        poller.wait(&mut events, Some(Duration::from_millis(100)))?;
        if let Some(ev) = events.iter().find(|e| e.key() == key && pred(e)) {
            return Ok(*ev);
        }
        seen.extend(events.iter().copied());
    }
    panic!("no matching event for key {key} within {PATIENCE:?}; saw {seen:?}");
}

/// One wait of `timeout` reports nothing.
#[track_caller]
pub fn expect_nothing<P: Poller>(poller: &P, timeout: Duration) -> io::Result<()> {
    let mut events = Events::new();
    let n = poller.wait(&mut events, Some(timeout))?;
    assert_eq!(n, 0, "expected no events, got {:?}", events.as_slice());
    Ok(())
}

pub fn readable_on_data<P: Poller>() -> io::Result<()> {
    let _serial = serial();
    let (mut a, b) = tcp_pair()?;
    let poller = P::new()?;
    poller.add(b.as_source(), 1, Interest::READABLE, Mode::Level)?;
    expect_nothing(&poller, Duration::ZERO)?;
    a.write_all(b"x")?;
    let ev = expect_event(&poller, 1, |e| e.is_readable())?;
    assert!(!ev.is_hangup() && !ev.is_error(), "{ev:?}");
    // Level: still readable until read.
    expect_event(&poller, 1, |e| e.is_readable())?;
    Ok(())
}

pub fn writable_when_connected<P: Poller>() -> io::Result<()> {
    let _serial = serial();
    let (a, _b) = tcp_pair()?;
    let poller = P::new()?;
    poller.add(a.as_source(), 2, Interest::WRITABLE, Mode::Level)?;
    let ev = expect_event(&poller, 2, |e| e.is_writable())?;
    assert!(!ev.is_readable() && !ev.is_error(), "{ev:?}");
    Ok(())
}

pub fn hangup_on_peer_close<P: Poller>() -> io::Result<()> {
    let _serial = serial();
    let (a, mut b) = tcp_pair()?;
    let poller = P::new()?;
    poller.add(b.as_source(), 3, Interest::READABLE, Mode::Level)?;
    expect_nothing(&poller, Duration::ZERO)?;
    drop(a);
    let ev = expect_event(&poller, 3, |e| e.is_hangup())?;
    assert!(ev.is_readable(), "a hang-up is readable (end of file): {ev:?}");
    assert_eq!(b.read(&mut [0; 8])?, 0, "end of file after the hang-up");
    Ok(())
}

/// The peer closes with data still queued: the hang-up comes with the data where the
/// backend declares `early_hangup`, and at the latest once the data is read. (Wine's
/// `WSAPoll` reports `POLLHUP` only once the receive queue is empty; Microsoft's `WSAPoll`
/// page does not say which.)
pub fn hangup_with_data_queued<P: Poller>() -> io::Result<()> {
    let _serial = serial();
    let (mut a, mut b) = tcp_pair()?;
    let poller = P::new()?;
    a.write_all(b"bye")?;
    drop(a);
    poller.add(b.as_source(), 4, Interest::READABLE, Mode::Level)?;
    let ev = expect_event(&poller, 4, |e| e.is_readable())?;
    if poller.capabilities().early_hangup() {
        assert!(ev.is_hangup(), "early_hangup declared, but no hang-up with data: {ev:?}");
    }
    let mut buf = [0; 8];
    let until = Instant::now() + PATIENCE;
    let mut got = 0;
    while got < 3 && Instant::now() < until {
        match b.read(&mut buf[got..]) {
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::yield_now(),
            Err(e) => return Err(e),
        }
    }
    assert_eq!(&buf[..got], b"bye");
    expect_event(&poller, 4, |e| e.is_hangup() && e.is_readable())?;
    Ok(())
}

/// A non-blocking connect to the port of a closed listener is refused: reported as an
/// error to a writable registration, and the error stays for `take_error`.
pub fn error_on_refused_connect<P: Poller>() -> io::Result<()> {
    use socket2::{Domain, Socket, Type};
    let _serial = serial();
    let closed: SocketAddr = {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        listener.local_addr()?
    };
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    socket.set_nonblocking(true)?;
    match socket.connect(&closed.into()) {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
        other => panic!("a non-blocking connect returned {other:?}, not WouldBlock"),
    }
    let poller = P::new()?;
    poller.add(socket.as_source(), 5, Interest::WRITABLE, Mode::Level)?;
    let ev = expect_event(&poller, 5, |e| e.is_error())?;
    assert!(ev.is_writable(), "an error makes a writer's next call return: {ev:?}");
    let pending = socket.take_error()?;
    assert!(pending.is_some(), "the wait consumed the connect's error");
    Ok(())
}

pub fn oneshot_rearmed_by_modify<P: Poller>() -> io::Result<()> {
    let _serial = serial();
    let (mut a, b) = tcp_pair()?;
    let poller = P::new()?;
    poller.add(b.as_source(), 6, Interest::READABLE, Mode::Oneshot)?;
    a.write_all(b"x")?;
    expect_event(&poller, 6, |e| e.is_readable())?;
    expect_nothing(&poller, Duration::from_millis(50))?;
    poller.modify(b.as_source(), 7, Interest::READABLE, Mode::Oneshot)?;
    expect_event(&poller, 7, |e| e.is_readable())?;
    expect_nothing(&poller, Duration::ZERO)?;
    Ok(())
}

pub fn delete_then_no_event<P: Poller>() -> io::Result<()> {
    let _serial = serial();
    let (mut a, b) = tcp_pair()?;
    let poller = P::new()?;
    poller.add(b.as_source(), 8, Interest::READABLE, Mode::Level)?;
    a.write_all(b"x")?;
    expect_event(&poller, 8, |e| e.is_readable())?;
    poller.delete(b.as_source())?;
    expect_nothing(&poller, Duration::from_millis(100))?;
    Ok(())
}

pub fn notify_wakes_a_blocked_wait<P: Poller + 'static>() -> io::Result<()> {
    let _serial = serial();
    let poller = Arc::new(P::new()?);
    let waiter = {
        let poller = Arc::clone(&poller);
        std::thread::spawn(move || -> io::Result<(usize, Duration)> {
            let start = Instant::now();
            let n = poller.wait(&mut Events::new(), Some(PATIENCE * 2))?;
            Ok((n, start.elapsed()))
        })
    };
    std::thread::sleep(Duration::from_millis(100));
    poller.notify()?;
    let (n, took) = waiter.join().expect("the waiter panicked")?;
    assert_eq!(n, 0, "a notify is not an event");
    assert!(took < PATIENCE, "the notify did not wake the wait ({took:?})");
    // Coalesced and consumed: the next wait blocks for its timeout.
    poller.notify()?;
    poller.notify()?;
    assert_eq!(poller.wait(&mut Events::new(), Some(PATIENCE))?, 0);
    expect_nothing(&*poller, Duration::from_millis(50))?;
    Ok(())
}

/// An `add` from another thread reaches a waiter blocked with no timeout.
pub fn add_wakes_a_blocked_wait<P: Poller + 'static>() -> io::Result<()> {
    let _serial = serial();
    let (a, _b) = tcp_pair()?;
    let poller = Arc::new(P::new()?);
    let waiter = {
        let poller = Arc::clone(&poller);
        std::thread::spawn(move || -> io::Result<Vec<Event>> {
            let mut events = Events::new();
            poller.wait(&mut events, Some(PATIENCE * 2))?;
            Ok(events.as_slice().to_vec())
        })
    };
    std::thread::sleep(Duration::from_millis(100));
    poller.add(a.as_source(), 9, Interest::WRITABLE, Mode::Level)?;
    let seen = waiter.join().expect("the waiter panicked")?;
    assert!(seen.iter().any(|e| e.key() == 9 && e.is_writable()), "{seen:?}");
    Ok(())
}

pub fn zero_and_short_timeouts<P: Poller>() -> io::Result<()> {
    let _serial = serial();
    let (_a, b) = tcp_pair()?;
    let poller = P::new()?;
    poller.add(b.as_source(), 10, Interest::READABLE, Mode::Level)?;
    let start = Instant::now();
    assert_eq!(poller.wait(&mut Events::new(), Some(Duration::ZERO))?, 0);
    let zero = start.elapsed();
    assert!(zero < Duration::from_millis(200), "a zero timeout blocked for {zero:?}");
    let short = Duration::from_millis(50);
    let start = Instant::now();
    assert_eq!(poller.wait(&mut Events::new(), Some(short))?, 0);
    let took = start.elapsed();
    assert!(took >= short, "returned early, after {took:?}");
    assert!(took < Duration::from_secs(2), "overslept: {took:?}");
    Ok(())
}

pub fn registration_errors<P: Poller>() -> io::Result<()> {
    let _serial = serial();
    let (a, b) = tcp_pair()?;
    let poller = P::new()?;
    poller.add(a.as_source(), 11, Interest::READABLE, Mode::Level)?;
    let raw = a.as_raw_socket();
    let err = poller.add(a.as_source(), 12, Interest::READABLE, Mode::Level).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AlreadyExists, "{err}");
    assert!(err.to_string().contains(&format!("socket {raw}")), "{err}");
    let err = poller.modify(b.as_source(), 12, Interest::READABLE, Mode::Level).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");
    let err = poller.delete(b.as_source()).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");
    let err = poller.add(b.as_source(), 12, Interest::READABLE, Mode::Edge).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::Unsupported, "{err}");
    let err = poller.add(b.as_source(), usize::MAX, Interest::READABLE, Mode::Level).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    poller.delete(a.as_source())?;
    Ok(())
}

/// A handle that is not an open socket (one just closed) is `InvalidInput`, naming it.
pub fn closed_socket_is_invalid_input<P: Poller>() -> io::Result<()> {
    use std::os::windows::io::BorrowedSocket;
    let _serial = serial();
    let (a, _b) = tcp_pair()?;
    // Made first: its own sockets would take the closed number.
    let poller = P::new()?;
    let raw = a.as_raw_socket();
    drop(a);
    // SAFETY: the borrow is only passed to `add`, which asks Winsock about the number and
    // does no I/O on it; `serial` keeps this process's other tests from taking the number.
    let closed = unsafe { BorrowedSocket::borrow_raw(raw) };
    let err = poller.add(closed, 13, Interest::READABLE, Mode::Level).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    assert!(err.to_string().contains(&format!("socket {raw}")), "{err}");
    Ok(())
}

/// A socket closed while registered is reported once, as an error, then forgotten; the
/// others keep being served.
pub fn closed_while_registered<P: Poller>() -> io::Result<()> {
    let _serial = serial();
    let (_a, b) = tcp_pair()?;
    let (c, _d) = tcp_pair()?;
    let poller = P::new()?;
    poller.add(b.as_source(), 14, Interest::READABLE, Mode::Level)?;
    poller.add(c.as_source(), 15, Interest::WRITABLE, Mode::Level)?;
    drop(b);
    let ev = expect_event(&poller, 14, |e| e.is_error())?;
    assert!(!ev.is_readable(), "a closed socket is not readable: {ev:?}");
    let mut events = Events::with_capacity(16);
    poller.wait(&mut events, Some(Duration::from_millis(100)))?;
    let keys: Vec<_> = events.iter().map(|e| e.key()).collect();
    assert_eq!(keys, [15], "the closed socket is forgotten, the other served");
    Ok(())
}

pub fn priority_is_declared<P: Poller>() -> io::Result<()> {
    let _serial = serial();
    let (_a, b) = tcp_pair()?;
    let poller = P::new()?;
    let added = poller.add(b.as_source(), 16, Interest::READABLE | Interest::PRIORITY, Mode::Level);
    match added {
        Err(e) => {
            assert_eq!(e.kind(), io::ErrorKind::Unsupported, "{e}");
            assert!(!poller.capabilities().priority());
        }
        Ok(()) => assert!(poller.capabilities().priority(), "priority accepted, not declared"),
    }
    Ok(())
}

/// More sockets than Winsock's default `FD_SETSIZE` (64), all ready at once and all
/// reported by one wait (level-triggered, so a set that silently held only 64 would never
/// get there).
pub fn more_than_64_sockets<P: Poller>() -> io::Result<()> {
    let _serial = serial();
    const N: usize = 100;
    let poller = P::new()?;
    let mut pairs = Vec::with_capacity(N);
    for key in 0..N {
        let (a, b) = tcp_pair()?;
        poller.add(b.as_source(), key, Interest::READABLE, Mode::Level)?;
        pairs.push((a, b));
    }
    for (a, _) in &mut pairs {
        a.write_all(b"x")?;
    }
    let until = Instant::now() + PATIENCE;
    let mut events = Events::with_capacity(2 * N);
    let mut most = 0;
    while Instant::now() < until {
        poller.wait(&mut events, Some(Duration::from_millis(100)))?;
        assert!(events.iter().all(|e| e.is_readable() && e.key() < N), "{:?}", events.as_slice());
        most = most.max(events.len());
        if most == N {
            return Ok(());
        }
    }
    panic!("one wait reported at most {most} of the {N} ready sockets");
}

/// One `#[test]` per behaviour above, on the poller type given.
macro_rules! winsock_tests {
    ($poller:ty) => {
        winsock_tests!(@each $poller;
            readable_on_data, writable_when_connected, hangup_on_peer_close,
            hangup_with_data_queued, error_on_refused_connect, oneshot_rearmed_by_modify,
            delete_then_no_event, notify_wakes_a_blocked_wait, add_wakes_a_blocked_wait,
            zero_and_short_timeouts, registration_errors, closed_socket_is_invalid_input,
            closed_while_registered, priority_is_declared, more_than_64_sockets);
    };
    (@each $poller:ty; $($name:ident),*) => {
        $(
            #[test]
            fn $name() -> std::io::Result<()> {
                behaviours::$name::<$poller>()
            }
        )*
    };
}
