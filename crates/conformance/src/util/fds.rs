//! What only Unix has, for the behaviours that need it: Unix socket pairs, pipes, TCP
//! urgent data (through `poll(2)` and `MSG_OOB`), fd numbers and the fd limit.

use std::io::{self, ErrorKind};
use std::net::TcpStream;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;

use nix::fcntl::{FcntlArg, fcntl};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::resource::{Resource, getrlimit, setrlimit};
use nix::sys::socket::{MsgFlags, recv};

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

/// A non-blocking, close-on-exec pipe, `(read end, write end)`: the backends' own
/// (core's `nonblocking_pipe`), under a short name.
pub use multipoll_core::backend::syscall::nonblocking_pipe as pipe;

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
