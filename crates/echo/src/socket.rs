//! The loop's socket syscalls, one place each: `accept`, `recv` and `send`, where tests
//! inject faults ([`SocketCall`], armed through [`multipoll_core::fault`]), and
//! `FIONREAD` (rustix's `ioctl` on Unix, Winsock's `ioctlsocket` on Windows).
//!
//! Each one retries `EINTR` itself and reports `EAGAIN` (`WSAEWOULDBLOCK`) as `Ok(None)`,
//! so a caller has three cases to handle, not five. On Unix `recv` and `send` are libc's,
//! called directly, once per echoed message each: std's `Read`/`Write` for `TcpStream`
//! and nix's wrappers are not inlined across crates, and matching an `io::ErrorKind` is
//! one more call per error, where an errno is compared by its number (the costs:
//! docs/benchmarks.md). On Windows they are std's, whose `recv` and `send` are Winsock's
//! with no flags: Windows raises no `SIGPIPE` to suppress.

use std::io;
use std::net::{TcpListener, TcpStream};

use multipoll_core::fault::{self, Point};

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
#[cfg(all(unix, not(target_vendor = "apple")))]
const SEND_FLAGS: libc::c_int = libc::MSG_NOSIGNAL;
#[cfg(target_vendor = "apple")]
const SEND_FLAGS: libc::c_int = 0;

/// Accepts one connection (`accept4` with `SOCK_CLOEXEC` on Linux, as std does); `None`
/// when none is waiting.
///
/// # Errors
/// The `accept` error, `EINTR` and `EAGAIN` aside.
pub(crate) fn accept(listener: &TcpListener) -> io::Result<Option<TcpStream>> {
    let accepted = retry_io(SocketCall::Accept, || listener.accept())?;
    Ok(accepted.map(|(stream, _)| stream))
}

/// Runs `op` (after the fault point `call`) until it is not interrupted; `None` when it
/// would block. Errors are told by their kind: once per accept (both families), and once
/// per message on Windows, where std's calls are the ones to make.
#[inline(always)]
fn retry_io<T>(call: SocketCall, mut op: impl FnMut() -> io::Result<T>) -> io::Result<Option<T>> {
    loop {
        match fault::inject(call).and_then(|()| op()) {
            Ok(done) => return Ok(Some(done)),
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
#[cfg(unix)]
#[inline(always)]
pub(crate) fn read(stream: &TcpStream, buf: &mut [u8]) -> io::Result<Option<usize>> {
    let fd = std::os::fd::AsRawFd::as_raw_fd(stream);
    retry(SocketCall::Read, || {
        // SAFETY: recv writes at most `buf.len()` bytes to `buf`, which is live and ours.
        unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) }
    })
}

/// Writes once to `stream`: how much the kernel took, `None` when it takes nothing now.
///
/// # Errors
/// The `send` error (`EPIPE`, `ECONNRESET`, ...), `EINTR` and `EAGAIN` aside.
#[cfg(unix)]
#[inline(always)]
pub(crate) fn write(stream: &TcpStream, data: &[u8]) -> io::Result<Option<usize>> {
    let fd = std::os::fd::AsRawFd::as_raw_fd(stream);
    retry(SocketCall::Write, || {
        // SAFETY: send reads at most `data.len()` bytes from `data`, which is live.
        unsafe { libc::send(fd, data.as_ptr().cast(), data.len(), SEND_FLAGS) }
    })
}

/// Runs `syscall` (after the fault point `call`) until it is not interrupted. The errno
/// is told by its number: nix's `Errno::last` maps it through a match over every errno,
/// on every `EAGAIN` (once per message in the edge modes).
#[cfg(unix)]
#[inline(always)]
fn retry(call: SocketCall, mut syscall: impl FnMut() -> isize) -> io::Result<Option<usize>> {
    loop {
        let errno = match fault::inject(call) {
            Ok(()) => match usize::try_from(syscall()) {
                Ok(n) => return Ok(Some(n)),
                Err(_) => nix::errno::Errno::last_raw(),
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

/// Reads once from `stream` into `buf`: `Some(0)` at end of file, `None` when nothing is
/// there now.
///
/// # Errors
/// The `recv` error (`WSAECONNRESET`, ...), `WSAEINTR` and `WSAEWOULDBLOCK` aside.
#[cfg(windows)]
#[inline(always)]
pub(crate) fn read(stream: &TcpStream, buf: &mut [u8]) -> io::Result<Option<usize>> {
    use std::io::Read;
    retry_io(SocketCall::Read, || (&mut &*stream).read(buf))
}

/// Writes once to `stream`: how much the kernel took, `None` when it takes nothing now.
///
/// # Errors
/// The `send` error (`WSAECONNRESET`, `WSAECONNABORTED`, ...), `WSAEINTR` and
/// `WSAEWOULDBLOCK` aside.
#[cfg(windows)]
#[inline(always)]
pub(crate) fn write(stream: &TcpStream, data: &[u8]) -> io::Result<Option<usize>> {
    use std::io::Write;
    retry_io(SocketCall::Write, || (&mut &*stream).write(data))
}

/// How many bytes are waiting in `stream`'s receive buffer (`ioctl(FIONREAD)`, which
/// neither std nor socket2 wraps; rustix does, safely).
///
/// Shutdown answers exactly these bytes: "what the server had received" when it began.
#[cfg(unix)]
pub(crate) fn bytes_readable(stream: &TcpStream) -> io::Result<usize> {
    let queued = rustix::io::ioctl_fionread(stream)?;
    Ok(usize::try_from(queued).unwrap_or(usize::MAX))
}

/// How many bytes are waiting in `stream`'s receive buffer (`ioctlsocket(FIONREAD)`,
/// which neither std nor socket2 wraps).
///
/// Shutdown answers exactly these bytes: "what the server had received" when it began.
///
/// # Errors
/// The `ioctlsocket` error, naming the socket.
#[cfg(windows)]
pub(crate) fn bytes_readable(stream: &TcpStream) -> io::Result<usize> {
    use std::os::windows::io::AsRawSocket;
    use windows_sys::Win32::Networking::WinSock::{
        FIONREAD, SOCKET_ERROR, WSAGetLastError, ioctlsocket,
    };

    let socket = stream.as_raw_socket();
    let mut queued: u32 = 0;
    // SAFETY: ioctlsocket(FIONREAD) writes one u_long to `queued`, which is live; the
    // socket is borrowed from `stream`, so open.
    if unsafe { ioctlsocket(socket as usize, FIONREAD, &mut queued) } == SOCKET_ERROR {
        // SAFETY: WSAGetLastError takes no arguments; it reads this thread's last error.
        let e = io::Error::from_raw_os_error(unsafe { WSAGetLastError() });
        return Err(io::Error::new(
            e.kind(),
            format!("ioctlsocket(FIONREAD) on socket {socket}: {e}"),
        ));
    }
    Ok(usize::try_from(queued).unwrap_or(usize::MAX))
}
