//! The loop's socket syscalls, one place each: `accept`, `recv` and `send`, where tests
//! inject faults ([`SocketCall`], armed through [`multipoll_core::fault`]), and
//! `ioctl(FIONREAD)` (rustix's).
//!
//! Each one retries `EINTR` itself and reports `EAGAIN` as `Ok(None)`, so a caller has
//! three cases to handle, not five. `recv` and `send` are libc's, called directly, once
//! per echoed message each: std's `Read`/`Write` for `TcpStream` and nix's wrappers are
//! not inlined across crates, and matching an `io::ErrorKind` is one more call per error,
//! where an errno is compared by its number (the costs: docs/benchmarks.md).

use std::io;
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;

use multipoll_core::fault::{self, Point};
use nix::errno::Errno;

/// The echo server's own fault points: the socket calls of its loop, where a test armed
/// through [`multipoll_core::fault`] (with its `fault-injection` feature) makes the next
/// calls fail. The poller's calls are [`multipoll_core::fault::Call`]'s.
///
/// ```
/// use multipoll_echo::SocketCall;
///
/// // A no-op unless multipoll-core's `fault-injection` feature is on and a test armed it.
/// assert!(multipoll_core::fault::inject(SocketCall::Read).is_ok());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SocketCall {
    /// Accepting a connection (`accept`, `accept4`).
    Accept,
    /// Reading from a connection (`recv`).
    Read,
    /// Writing to a connection (`send`).
    Write,
}

impl Point for SocketCall {}

/// `send`'s flags: `MSG_NOSIGNAL`, as std's `TcpStream::write` sends it, so that a closed
/// peer gives `EPIPE`, never `SIGPIPE`. On Apple systems std sends no flag and relies on
/// its runtime ignoring `SIGPIPE`; so do we.
#[cfg(not(target_vendor = "apple"))]
const SEND_FLAGS: libc::c_int = libc::MSG_NOSIGNAL;
#[cfg(target_vendor = "apple")]
const SEND_FLAGS: libc::c_int = 0;

/// Accepts one connection (`accept4` with `SOCK_CLOEXEC` on Linux, as std does); `None`
/// when none is waiting.
///
/// # Errors
/// The `accept` error, `EINTR` and `EAGAIN` aside.
pub(crate) fn accept(listener: &TcpListener) -> io::Result<Option<TcpStream>> {
    loop {
        let result = fault::inject(SocketCall::Accept).and_then(|()| listener.accept());
        match result {
            Ok((stream, _)) => return Ok(Some(stream)),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
            Err(e) => return Err(e),
        }
    }
}

/// Reads once from `stream` into `buf`: `Some(0)` at end of file, `None` when nothing is
/// there now.
///
/// # Errors
/// The `recv` error (`ECONNRESET`, ...), `EINTR` and `EAGAIN` aside.
#[inline(always)]
pub(crate) fn read(stream: &TcpStream, buf: &mut [u8]) -> io::Result<Option<usize>> {
    let fd = stream.as_raw_fd();
    retry(SocketCall::Read, || {
        // SAFETY: recv writes at most `buf.len()` bytes to `buf`, which is live and ours.
        unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) }
    })
}

/// Writes once to `stream`: how much the kernel took, `None` when it takes nothing now.
///
/// # Errors
/// The `send` error (`EPIPE`, `ECONNRESET`, ...), `EINTR` and `EAGAIN` aside.
#[inline(always)]
pub(crate) fn write(stream: &TcpStream, data: &[u8]) -> io::Result<Option<usize>> {
    let fd = stream.as_raw_fd();
    retry(SocketCall::Write, || {
        // SAFETY: send reads at most `data.len()` bytes from `data`, which is live.
        unsafe { libc::send(fd, data.as_ptr().cast(), data.len(), SEND_FLAGS) }
    })
}

/// Runs `syscall` (after the fault point `call`) until it is not interrupted. The errno
/// is told by its number: nix's `Errno::last` maps it through a match over every errno,
/// on every `EAGAIN` (once per message in the edge modes).
#[inline(always)]
fn retry(call: SocketCall, mut syscall: impl FnMut() -> isize) -> io::Result<Option<usize>> {
    loop {
        let errno = match fault::inject(call) {
            Ok(()) => match usize::try_from(syscall()) {
                Ok(n) => return Ok(Some(n)),
                Err(_) => Errno::last_raw(),
            },
            // Injected faults are errnos (`fault::fail_next` takes one).
            Err(e) => e.raw_os_error().unwrap_or(libc::EIO),
        };
        match errno {
            libc::EINTR => {}
            // The same number on every platform we build for, but POSIX allows two.
            e if e == libc::EAGAIN || e == libc::EWOULDBLOCK => return Ok(None),
            e => return Err(io::Error::from_raw_os_error(e)),
        }
    }
}

/// How many bytes are waiting in `stream`'s receive buffer (`ioctl(FIONREAD)`, which
/// neither std nor socket2 wraps; rustix does, safely).
///
/// Shutdown answers exactly these bytes: "what the server had received" when it began.
pub(crate) fn bytes_readable(stream: &TcpStream) -> io::Result<usize> {
    let queued = rustix::io::ioctl_fionread(stream)?;
    Ok(usize::try_from(queued).unwrap_or(usize::MAX))
}
