//! Fds for the behaviours: socket pairs, pipes, sending and draining, urgent data, fd
//! numbers and the fd limit.

use std::io::{self, ErrorKind};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;

use multipoll_core::{Interest, Mode, Poller};
use nix::errno::Errno;
use nix::fcntl::{FcntlArg, fcntl};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::resource::{Resource, getrlimit, setrlimit};
use nix::sys::socket::{MsgFlags, recv, setsockopt, sockopt};

use super::*;

/// A connected, non-blocking Unix stream socket pair.
///
/// # Errors
/// `socketpair(2)`'s.
pub fn unix_pair() -> io::Result<(UnixStream, UnixStream)> {
    let (a, b) = UnixStream::pair()?;
    a.set_nonblocking(true)?;
    b.set_nonblocking(true)?;
    Ok((a, b))
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
/// bound to an ephemeral port and closed, then a non-blocking `connect(2)` to that port is
/// started. The kernel's reset leaves the refusal pending on the socket (`SO_ERROR`), to be
/// reported by a wait and fetched by `take_error()`.
///
/// # Errors
/// The socket calls'; `connect(2)`'s own if it failed with anything but `EINPROGRESS` (a
/// kernel that refused at once left no error pending, so there is nothing to poll for).
pub fn refused_connect() -> io::Result<TcpStream> {
    let addr = TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    socket.set_nonblocking(true)?;
    match socket.connect(&addr.into()) {
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => Ok(socket.into()),
        Err(e) => Err(io::Error::new(
            e.kind(),
            format!("non-blocking connect to closed port {addr}: {e} at once, not EINPROGRESS"),
        )),
        Ok(()) => Err(io::Error::other(format!("connect to closed port {addr} succeeded"))),
    }
}

/// A non-blocking, close-on-exec pipe, `(read end, write end)`: the backends' own
/// (core's `nonblocking_pipe`), under a short name.
pub use multipoll_core::backend::syscall::nonblocking_pipe as pipe;

/// Writes all of `data` to `fd` (a socket or pipe with room for it).
///
/// # Errors
/// `write(2)`'s; `WriteZero` if the fd took only part of `data`.
pub fn send(fd: impl AsFd, data: &[u8]) -> io::Result<()> {
    let raw = fd.as_fd().as_raw_fd();
    let n = nix::unistd::write(fd, data)?;
    if n == data.len() {
        Ok(())
    } else {
        Err(io::Error::new(ErrorKind::WriteZero, format!("short write to fd {raw}")))
    }
}

/// Reads from non-blocking `fd` until it would block or reaches end of file; returns how
/// many bytes it read.
///
/// ```
/// use multipoll_conformance::util::{drain, send, unix_pair};
///
/// let (a, b) = unix_pair()?;
/// send(&a, b"hello")?;
/// assert_eq!(drain(&b)?, 5);
/// assert_eq!(drain(&b)?, 0, "empty now, and non-blocking");
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Errors
/// `read(2)`'s, except `WouldBlock` (the normal end) and `Interrupted` (retried).
pub fn drain(fd: impl AsFd) -> io::Result<usize> {
    let mut buf = [0u8; 4096];
    let mut total = 0;
    loop {
        match nix::unistd::read(fd.as_fd(), &mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => total += n,
            Err(Errno::EAGAIN) => return Ok(total),
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// Closes `stream` with `SO_LINGER` 0, so the peer gets a reset (`RST`) instead of an end
/// of file.
///
/// # Errors
/// `setsockopt(2)`'s.
pub fn close_with_reset(stream: TcpStream) -> io::Result<()> {
    let linger = libc::linger { l_onoff: 1, l_linger: 0 };
    setsockopt(&stream, sockopt::Linger, &linger)?;
    drop(stream);
    Ok(())
}

/// Sends one byte of TCP urgent (out-of-band) data on `stream` (`send(2)` with `MSG_OOB`).
///
/// # Errors
/// `send(2)`'s; `WriteZero` if the byte was not sent.
pub fn send_urgent(stream: &TcpStream, byte: u8) -> io::Result<()> {
    let raw = stream.as_raw_fd();
    let n = nix::sys::socket::send(raw, &[byte], MsgFlags::MSG_OOB)?;
    if n == 1 {
        Ok(())
    } else {
        Err(io::Error::new(ErrorKind::WriteZero, format!("urgent byte not sent on fd {raw}")))
    }
}

/// Waits (up to [`LONG`]) until urgent data has arrived on `stream`, and returns its byte,
/// left in place (`poll(2)` for `POLLPRI`, then `recv(2)` with `MSG_OOB | MSG_PEEK`).
///
/// # Errors
/// `poll(2)`'s and `recv(2)`'s; `TimedOut` if none arrived within [`LONG`].
pub fn urgent_byte(stream: &TcpStream) -> io::Result<u8> {
    let raw = stream.as_raw_fd();
    let ms = PollTimeout::try_from(LONG).unwrap_or(PollTimeout::MAX);
    if poll(&mut [PollFd::new(stream.as_fd(), PollFlags::POLLPRI)], ms)? == 0 {
        return Err(io::Error::new(
            ErrorKind::TimedOut,
            format!("no urgent data arrived on fd {raw} within {LONG:?}"),
        ));
    }
    let mut byte = [0u8];
    let n = recv(raw, &mut byte, MsgFlags::MSG_OOB | MsgFlags::MSG_PEEK)?;
    if n == 1 {
        Ok(byte[0])
    } else {
        Err(io::Error::new(ErrorKind::UnexpectedEof, format!("no urgent byte on fd {raw}")))
    }
}

/// Reads the urgent byte waiting on `stream` (`recv(2)` with `MSG_OOB`), which clears the
/// urgent condition.
///
/// # Errors
/// `recv(2)`'s (`EINVAL` when no urgent byte is waiting).
pub fn take_urgent(stream: &TcpStream) -> io::Result<u8> {
    let mut byte = [0u8];
    let n = recv(stream.as_raw_fd(), &mut byte, MsgFlags::MSG_OOB)?;
    if n == 1 {
        Ok(byte[0])
    } else {
        Err(io::Error::new(ErrorKind::UnexpectedEof, "no urgent byte to read"))
    }
}

/// A new close-on-exec fd for the same file as `fd`, numbered `min` or above.
///
/// # Errors
/// `fcntl(F_DUPFD_CLOEXEC)`'s: `EINVAL` when `min` is at or above the fd limit.
pub fn dup_at_least(fd: BorrowedFd<'_>, min: RawFd) -> io::Result<OwnedFd> {
    let new = fcntl(fd, FcntlArg::F_DUPFD_CLOEXEC(min))?;
    // SAFETY: `new` was just returned by fcntl, is open, and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

/// Makes the number of `target` refer to `source`'s file, closing what `target` was, in one
/// atomic step (`dup2(2)`): no other thread can take the number in between.
///
/// # Errors
/// `dup2(2)`'s.
pub fn replace_fd(source: BorrowedFd<'_>, mut target: OwnedFd) -> io::Result<OwnedFd> {
    nix::unistd::dup2(source, &mut target)?;
    Ok(target)
}

/// Whether `fd` is an open file descriptor number: the backends' own probe (core's).
pub use multipoll_core::backend::probe::is_open;

/// Raises the soft `RLIMIT_NOFILE` to at least `want` (if the hard limit allows) and
/// returns the soft limit now in force: `u64::MAX` raises it to the hard limit. The one
/// place the workspace raises it (the suite, the select and echo tests, the benches).
///
/// # Errors
/// `getrlimit(2)`/`setrlimit(2)`'s.
// `rlim_t` is `u64` on Linux and macOS but `i64` on FreeBSD: the conversions are needed.
#[allow(clippy::useless_conversion)]
pub fn raise_fd_limit(want: u64) -> io::Result<u64> {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE)?;
    // RLIM_INFINITY is rlim_t's largest value everywhere: u64::MAX after conversion.
    let cur = u64::try_from(soft).unwrap_or(u64::MAX);
    let max = u64::try_from(hard).unwrap_or(u64::MAX);
    if cur >= want {
        return Ok(cur);
    }
    let new = want.min(max);
    setrlimit(Resource::RLIMIT_NOFILE, libc::rlim_t::try_from(new).unwrap_or(hard), hard)?;
    Ok(new)
}

/// `count` pipes with a byte queued, registered under keys `0..count` in `mode` (read end
/// first in each pair).
///
/// # Errors
/// Those of `pipe(2)`, the write, and `add`.
pub fn ready_pipes<P: Poller>(
    poller: &P,
    count: usize,
    mode: Mode,
) -> io::Result<Vec<(OwnedFd, OwnedFd)>> {
    let mut pipes = Vec::with_capacity(count);
    for key in 0..count {
        let (read, write) = pipe()?;
        send(&write, b"x")?;
        poller.add(read.as_fd(), key, Interest::READABLE, mode)?;
        pipes.push((read, write));
    }
    Ok(pipes)
}
