//! The wake-up fd behind [`Poller::notify`](crate::Poller::notify) for backends whose
//! kernel has no user event of its own: an `eventfd` on Linux, a pipe elsewhere.
//!
//! Coalescing lives here once: a wake writes only when none is pending, so a thousand
//! notifies before a wait cost one `write(2)` and one wake-up.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::backend::sys::cvt;

/// A coalescing wake-up fd: readable while a wake is pending.
#[derive(Debug)]
pub struct Notifier {
    read: OwnedFd,
    /// `None` for an eventfd, which is read and written through the same fd.
    write: Option<OwnedFd>,
    pending: AtomicBool,
}

impl Notifier {
    /// Creates the fd(s), non-blocking and close-on-exec.
    ///
    /// # Errors
    /// `EMFILE`/`ENFILE` and the like from `eventfd(2)` / `pipe(2)`.
    pub fn new() -> io::Result<Notifier> {
        let (read, write) = new_fds()?;
        Ok(Notifier { read, write, pending: AtomicBool::new(false) })
    }

    /// The fd to watch for readability.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.read.as_fd()
    }

    /// Makes the fd readable, unless a wake is already pending.
    ///
    /// Async-signal-safe: one atomic swap and at most one `write(2)`.
    ///
    /// # Errors
    /// Only an unexpected OS error of `write(2)` (a full pipe or counter is not one).
    pub fn wake(&self) -> io::Result<()> {
        if self.pending.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        if let Err(e) = crate::fault::inject(crate::fault::Call::Notify) {
            self.pending.store(false, Ordering::Release);
            return Err(e);
        }
        let fd = self.write.as_ref().unwrap_or(&self.read).as_raw_fd();
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from `one`, which is 8 bytes long; the fd is ours and open.
        match cvt(unsafe { libc::write(fd, (&raw const one).cast(), 8) }) {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            Err(e) => {
                self.pending.store(false, Ordering::Release);
                Err(e)
            }
        }
    }

    /// Consumes a pending wake so the fd stops being readable.
    ///
    /// Reads first and clears the pending flag after, so that a wake racing with this call
    /// is never lost: it either leaves its byte in the fd or finds the flag still set, and
    /// its caller's own flag (checked after `drain`) carries the news.
    pub fn drain(&self) {
        let mut buf = [0u8; 64];
        loop {
            // SAFETY: reads at most `buf.len()` bytes into `buf`; the fd is ours and open.
            let r =
                unsafe { libc::read(self.read.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            // An eventfd is emptied by one read; a pipe holds at most one byte per pending
            // wake, so a short read means it is empty. EAGAIN/EINTR end the drain as well:
            // the flag below keeps any wake we did not read.
            if r <= 0 || self.write.is_none() || (r as usize) < buf.len() {
                break;
            }
        }
        self.pending.store(false, Ordering::Release);
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn new_fds() -> io::Result<(OwnedFd, Option<OwnedFd>)> {
    // SAFETY: eventfd has no memory arguments.
    let fd = cvt(unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) })?;
    // SAFETY: `fd` was just returned by eventfd, is open, and nothing else owns it.
    Ok((unsafe { OwnedFd::from_raw_fd(fd) }, None))
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn new_fds() -> io::Result<(OwnedFd, Option<OwnedFd>)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: pipe writes two fds into `fds`, which has room for two.
    cvt(unsafe { libc::pipe(fds.as_mut_ptr()) })?;
    // SAFETY: both fds were just returned by pipe, are open, and nothing else owns them.
    let read = unsafe { OwnedFd::from_raw_fd(fds[0]) };
    // SAFETY: as above.
    let write = unsafe { OwnedFd::from_raw_fd(fds[1]) };
    for fd in [&read, &write] {
        crate::backend::sys::set_cloexec_nonblocking(fd.as_raw_fd())?;
    }
    Ok((read, Some(write)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn readable(n: &Notifier) -> bool {
        let mut pfd = libc::pollfd { fd: n.fd().as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one pollfd, which lives on the stack for the call.
        cvt(unsafe { libc::poll(&mut pfd, 1, 0) }).unwrap() == 1
    }

    #[test]
    fn wake_then_drain() {
        let n = Notifier::new().unwrap();
        assert!(!readable(&n));
        n.wake().unwrap();
        n.wake().unwrap();
        assert!(readable(&n));
        n.drain();
        assert!(!readable(&n), "one drain empties coalesced wakes");
        n.wake().unwrap();
        assert!(readable(&n), "a wake after drain writes again");
    }
}
