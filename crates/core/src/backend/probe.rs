//! Probes of a raw fd's state now: open or not, bytes queued, peer gone.
//!
//! For backends whose syscall does not say (select has no hang-up bit and fails the whole
//! call with `EBADF` for one closed fd; poll has no `POLLRDHUP` outside Linux). A probe
//! changes nothing and injects no fault, so it is safe
//! inside `wait`; the registration check, which also asks what the file is, is
//! [`checks::check_file`](super::checks::check_file).
//!
//! They take a raw number that may already be closed (that is what they ask): nix's
//! wrappers take `AsFd`, and a `BorrowedFd` of a closed number would break I/O safety's
//! promise, so these are libc calls.

use std::io;
use std::os::fd::RawFd;

use nix::errno::Errno;
use nix::sys::socket::{MsgFlags, recv};

use super::readiness::POLL_RDHUP;
use super::syscall::cvt;

/// Whether `fd` is open now (`fcntl(F_GETFD)`): a probe, with no fault injection, for use
/// inside `wait` (select's `EBADF` recovery), where an armed registration fault must not
/// make an open fd look closed.
pub fn is_open(fd: RawFd) -> bool {
    descriptor_flags(fd).is_ok()
}

/// `fcntl(F_GETFD)`: the descriptor flags, or `EBADF` for a number that is not open.
fn descriptor_flags(fd: RawFd) -> io::Result<libc::c_int> {
    // SAFETY: F_GETFD only reads the descriptor flags; any fd number is acceptable.
    cvt(unsafe { libc::fcntl(fd, libc::F_GETFD) })
}

/// Whether a readable fd is readable only because its peer closed.
///
/// For backends whose syscall has no half-close flag (poll where there is no `POLLRDHUP`;
/// select there, after its [`poll_now`] found no `POLLHUP`). One `ioctl(FIONREAD)` per
/// readable fd: bytes queued, no hang-up. A zero is not yet an answer: the peer may have
/// closed, but another thread may also have read the data since the wait returned (a live
/// connection must not be called closed: conformance `concurrent_read_is_not_a_hangup`),
/// and Linux's `FIONREAD` on TCP counts only the bytes before the urgent mark
/// (`tcp_inq`). So then the fd itself is asked (on that path only): first by [`poll_now`]
/// for `POLLHUP`, `POLL_RDHUP` and `POLLERR`, which read the state without changing it;
/// where that cannot tell a half-close (no `POLLRDHUP`), a socket by a one-byte peek (end
/// of file, data, or nothing yet).
///
/// The probe never changes the fd's state: the peek is made only where `POLLRDHUP` does
/// not exist (the BSDs, Apple), whose kernels leave a pending socket error in place on a
/// `MSG_PEEK`; Linux's clears it (`sock_error`), and there `poll(2)` alone answers. A
/// listening socket with a pending connection is not a hang-up (Linux refuses `FIONREAD`
/// on it; elsewhere `SO_ACCEPTCONN` tells). A zero-length datagram looks like a hang-up
/// where there is no `POLLRDHUP`: a documented quirk.
#[inline] // Once per readable fd where there is no POLLRDHUP: the usual answer is one ioctl.
pub fn peer_closed(fd: RawFd) -> bool {
    matches!(bytes_queued(fd), Ok(0)) && drained_and_closed(fd)
}

/// [`peer_closed`] once `FIONREAD` has counted no bytes: out of line, as it is rare.
#[inline(never)]
fn drained_and_closed(fd: RawFd) -> bool {
    if is_listening(fd) {
        return false;
    }
    let mut pfd = [libc::pollfd { fd, events: libc::POLLIN | POLL_RDHUP as i16, revents: 0 }];
    if poll_now(&mut pfd).is_err() {
        return false;
    }
    if pfd[0].revents & (libc::POLLHUP | libc::POLLERR | POLL_RDHUP as i16) != 0 {
        return true;
    }
    if POLL_RDHUP != 0 {
        return false; // The kernel would have said `POLLRDHUP`; a peek would clear errors.
    }
    let mut byte = [0u8];
    match recv(fd, &mut byte, MsgFlags::MSG_PEEK | MsgFlags::MSG_DONTWAIT) {
        Ok(n) => n == 0,
        // A pipe or FIFO (no POLLHUP above: its writer is still there), or drained by
        // another thread since the wait (or a signal): not a hang-up.
        Err(Errno::ENOTSOCK | Errno::EAGAIN | Errno::EINTR) => false,
        // A pending error (a reset), left in place by this peek: the connection is over.
        Err(_) => true,
    }
}

/// What `poll(2)` says of every fd in `fds` now: one call with a zero timeout fills in
/// each entry's `revents` (`POLLNVAL` for a closed number) and returns how many have some.
/// It never blocks, and with no time to wait out it is not interrupted either. For
/// backends whose kernel reports a wake-up rather than the file's state (io_uring's poll
/// requests), to ask the files themselves.
///
/// # Errors
/// `poll(2)`'s (`ENOMEM`), or `InvalidInput` for more entries than `nfds_t` counts.
pub fn poll_now(fds: &mut [libc::pollfd]) -> io::Result<usize> {
    let n = libc::nfds_t::try_from(fds.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "too many fds for poll(2)"))?;
    // SAFETY: `fds` is `n` live pollfds, which the kernel may write; a zero timeout never
    // blocks.
    let ready = cvt(unsafe { libc::poll(fds.as_mut_ptr(), n, 0) })?;
    Ok(usize::try_from(ready).unwrap_or(0))
}

/// How many bytes wait in `fd`'s receive buffer (`ioctl(FIONREAD)`), which neither the
/// standard library nor socket2 wraps.
///
/// # Errors
/// The ioctl's: `EINVAL` for a listening socket on Linux, `ENOTTY` for an fd without a
/// queue.
#[inline]
fn bytes_queued(fd: RawFd) -> io::Result<usize> {
    let mut queued: libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int through the pointer, which points to `queued`.
    cvt(unsafe { libc::ioctl(fd, libc::FIONREAD as _, &mut queued) })?;
    Ok(usize::try_from(queued).unwrap_or(0))
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn is_listening(_fd: RawFd) -> bool {
    false // FIONREAD already failed with EINVAL for listening sockets.
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn is_listening(fd: RawFd) -> bool {
    let mut on: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: the kernel writes at most `len` bytes into `on`, which has that size.
    let r = unsafe {
        libc::getsockopt(fd, libc::SOL_SOCKET, libc::SO_ACCEPTCONN, (&raw mut on).cast(), &mut len)
    };
    r == 0 && on != 0
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;

    use super::*;

    #[test]
    fn open_and_not() -> io::Result<()> {
        let (a, _b) = UnixStream::pair()?;
        assert!(is_open(a.as_raw_fd()));
        // A number that is never open; closing a real one would race with the other tests'
        // threads, which may be given the number at once.
        assert!(!is_open(-1));
        Ok(())
    }

    #[test]
    fn queued_and_peer_closed() -> io::Result<()> {
        let (mut a, b) = UnixStream::pair()?;
        a.write_all(b"abc")?;
        assert_eq!(bytes_queued(b.as_raw_fd())?, 3);
        assert!(!peer_closed(b.as_raw_fd()), "data queued: not a hang-up");
        drop(a);
        assert!(!peer_closed(b.as_raw_fd()), "data still queued after the close");
        let mut rest = [0; 3];
        std::io::Read::read_exact(&mut &b, &mut rest)?;
        assert!(peer_closed(b.as_raw_fd()), "drained and the peer gone");
        Ok(())
    }
}
