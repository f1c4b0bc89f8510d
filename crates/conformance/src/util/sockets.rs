//! What every platform can poll: connected stream pairs, TCP pairs, a refused connect,
//! the one-way pair that behaviours make readable, and sending, draining and resetting
//! over any of them.
//!
//! A behaviour that only needs "two connected sockets" or "something that becomes
//! readable" asks for a [`Stream`] pair or a [`one_way`] pair, and so runs unchanged on
//! Unix and Windows: the helpers pick what each OS offers.

use std::io::{self, ErrorKind};
use std::net::{TcpListener, TcpStream};
#[cfg(unix)]
use std::os::fd::{AsFd, OwnedFd};
#[cfg(unix)]
use std::os::unix::net::UnixStream;
use std::time::Duration;

use multipoll_core::backend::errors::SOURCE;
use multipoll_core::backend::raw_source;
use multipoll_core::{AsSource, Interest, Mode, Poller, Source};

#[cfg(unix)]
use super::{pipe, unix_pair};

/// One end of a connected stream socket pair ([`stream_pair`]): a Unix socket on Unix, a
/// loopback TCP socket on Windows (which has no socket pairs).
#[cfg(unix)]
pub type Stream = UnixStream;
/// One end of a connected stream socket pair ([`stream_pair`]): a Unix socket on Unix, a
/// loopback TCP socket on Windows (which has no socket pairs).
#[cfg(windows)]
pub type Stream = TcpStream;

/// A connected, non-blocking stream socket pair: `unix_pair` on Unix, [`tcp_pair`] on
/// Windows.
///
/// ```
/// use multipoll_conformance::util::{drain, send, stream_pair};
///
/// let (a, b) = stream_pair()?;
/// send(&a, b"hello")?;
/// # std::thread::sleep(std::time::Duration::from_millis(50));
/// assert_eq!(drain(&b)?, 5);
/// assert_eq!(drain(&b)?, 0, "empty now, and non-blocking");
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Errors
/// The socket calls'.
pub fn stream_pair() -> io::Result<(Stream, Stream)> {
    #[cfg(unix)]
    return unix_pair();
    #[cfg(windows)]
    return tcp_pair();
}

/// One end of a [`one_way`] pair.
#[cfg(unix)]
pub type OneWayEnd = OwnedFd;
/// One end of a [`one_way`] pair.
#[cfg(windows)]
pub type OneWayEnd = TcpStream;

/// A one-way pair, `(read end, write end)`, for behaviours that need something to become
/// readable (or be writable) and do not care what it is: a `pipe` on Unix; on Windows,
/// where only sockets can be polled, a [`tcp_pair`].
///
/// # Errors
/// `pipe(2)`'s, or the socket calls'.
pub fn one_way() -> io::Result<(OneWayEnd, OneWayEnd)> {
    #[cfg(unix)]
    return pipe();
    #[cfg(windows)]
    return tcp_pair();
}

/// A connected, non-blocking TCP pair over `127.0.0.1` (an ephemeral port).
///
/// ```
/// use multipoll_conformance::util::tcp_pair;
///
/// let (a, b) = tcp_pair()?;
/// assert_eq!(a.local_addr()?, b.peer_addr()?);
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Errors
/// The socket calls'.
pub fn tcp_pair() -> io::Result<(TcpStream, TcpStream)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let a = TcpStream::connect(listener.local_addr()?)?;
    let (b, _) = listener.accept()?;
    for s in [&a, &b] {
        s.set_nonblocking(true)?;
        // Small writes go out at once, so the peer's readiness follows our writes.
        s.set_nodelay(true)?;
    }
    Ok((a, b))
}

/// A non-blocking TCP socket whose connect to `127.0.0.1` is being refused: a listener is
/// bound to an ephemeral port and closed, then a non-blocking `connect` to that port is
/// started. The kernel's reset leaves the refusal pending on the socket (`SO_ERROR`), to be
/// reported by a wait and fetched by `take_error()`.
///
/// # Errors
/// The socket calls'; `connect`'s own if it failed with anything but "in progress"
/// (`EINPROGRESS` on Unix, `WSAEWOULDBLOCK` on Windows): a kernel that refused at once
/// left no error pending, so there is nothing to poll for.
pub fn refused_connect() -> io::Result<TcpStream> {
    let addr = TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    socket.set_nonblocking(true)?;
    match socket.connect(&addr.into()) {
        Err(e) if in_progress(&e) => Ok(socket.into()),
        Err(e) => Err(io::Error::new(
            e.kind(),
            format!("non-blocking connect to closed port {addr}: {e} at once, not in progress"),
        )),
        Ok(()) => Err(io::Error::other(format!("connect to closed port {addr} succeeded"))),
    }
}

/// Whether a non-blocking `connect` failed only because it has not finished.
fn in_progress(e: &io::Error) -> bool {
    #[cfg(unix)]
    return e.raw_os_error() == Some(libc::EINPROGRESS);
    // Winsock's `connect` says `WSAEWOULDBLOCK`, which std calls `WouldBlock`.
    #[cfg(windows)]
    return e.kind() == ErrorKind::WouldBlock;
}

/// Writes all of `data` to `source` (a socket or, on Unix, a pipe, with room for it).
///
/// # Errors
/// `write(2)`'s or `send`'s; `WriteZero` if the source took only part of `data`.
pub fn send(source: impl AsSource, data: &[u8]) -> io::Result<()> {
    let source = source.as_source();
    // `write(2)`, not `send(2)`: on Unix the source may be a pipe.
    #[cfg(unix)]
    let n = nix::unistd::write(source, data)?;
    #[cfg(windows)]
    let n = socket2::SockRef::from(&source).send(data)?;
    if n == data.len() {
        Ok(())
    } else {
        let raw = raw_source(source);
        Err(io::Error::new(ErrorKind::WriteZero, format!("short write to {SOURCE} {raw}")))
    }
}

/// Reads from non-blocking `source` until it would block or reaches end of file; returns
/// how many bytes it read.
///
/// ```
/// use multipoll_conformance::util::{drain, send, tcp_pair};
///
/// let (a, b) = tcp_pair()?;
/// send(&a, b"hello")?;
/// # std::thread::sleep(std::time::Duration::from_millis(50));
/// assert_eq!(drain(&b)?, 5);
/// assert_eq!(drain(&b)?, 0, "empty now, and non-blocking");
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Errors
/// `read(2)`'s or `recv`'s, except `WouldBlock` (the normal end) and `Interrupted`
/// (retried).
pub fn drain(source: impl AsSource) -> io::Result<usize> {
    let source = source.as_source();
    let mut buf = [0u8; 4096];
    let mut total = 0;
    loop {
        match read(source, &mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => total += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(total),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// One read: `read(2)` on Unix (the source may be a pipe), `recv` on Windows.
fn read(source: Source<'_>, buf: &mut [u8]) -> io::Result<usize> {
    #[cfg(unix)]
    return Ok(nix::unistd::read(source.as_fd(), buf)?);
    #[cfg(windows)]
    return io::Read::read(&mut &*socket2::SockRef::from(&source), buf);
}

/// Closes `stream` with `SO_LINGER` 0, so the peer gets a reset (`RST`) instead of an end
/// of file.
///
/// # Errors
/// `setsockopt`'s.
pub fn close_with_reset(stream: TcpStream) -> io::Result<()> {
    socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO))?;
    drop(stream);
    Ok(())
}

/// `count` [`one_way`] pairs with a byte queued, registered under keys `0..count` in
/// `mode` (read end first in each pair).
///
/// # Errors
/// Those of [`one_way`], the write, and `add`.
pub fn ready_one_ways<P: Poller>(
    poller: &P,
    count: usize,
    mode: Mode,
) -> io::Result<Vec<(OneWayEnd, OneWayEnd)>> {
    let mut pairs = Vec::with_capacity(count);
    for key in 0..count {
        let (read, write) = one_way()?;
        send(&write, b"x")?;
        poller.add(read.as_source(), key, Interest::READABLE, mode)?;
        pairs.push((read, write));
    }
    Ok(pairs)
}

/// `count` pipes with a byte queued, registered under keys `0..count` in `mode` (read end
/// first in each pair): [`ready_one_ways`], which are pipes on Unix.
#[cfg(unix)]
pub use ready_one_ways as ready_pipes;
