//! The loop's socket syscalls, one place each: `accept`, `read` and `write` (where tests
//! inject faults, see [`multipoll_core::fault`]), and `ioctl(FIONREAD)` (core's, shared
//! with the backends' hang-up probe).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, BorrowedFd};

use multipoll_core::backend::probe;
use multipoll_core::fault::{self, Call};

/// Accepts one connection (`accept4` with `SOCK_CLOEXEC` on Linux, as std does).
pub(crate) fn accept(listener: &TcpListener) -> io::Result<(TcpStream, SocketAddr)> {
    fault::inject(Call::Accept)?;
    listener.accept()
}

/// Reads once from `stream` into `buf`.
pub(crate) fn read(mut stream: &TcpStream, buf: &mut [u8]) -> io::Result<usize> {
    fault::inject(Call::Read)?;
    stream.read(buf)
}

/// Writes once to `stream` (`send` with `MSG_NOSIGNAL` where the platform has it, as std
/// does: a closed peer gives `EPIPE`, never `SIGPIPE`).
pub(crate) fn write(mut stream: &TcpStream, data: &[u8]) -> io::Result<usize> {
    fault::inject(Call::Write)?;
    stream.write(data)
}

/// How many bytes are waiting in a socket's receive buffer (`ioctl(FIONREAD)`).
///
/// Shutdown answers exactly these bytes: "what the server had received" when it began.
pub(crate) fn bytes_readable(fd: BorrowedFd<'_>) -> io::Result<usize> {
    probe::bytes_queued(fd.as_raw_fd())
}
