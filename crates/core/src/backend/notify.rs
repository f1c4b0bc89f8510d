//! The wake-up fd behind [`Poller::notify`](crate::Poller::notify) for backends whose
//! kernel has no user event of its own: an `eventfd` on Linux, a pipe elsewhere.
//!
//! Coalescing lives here once: a wake writes only when none is pending, so a thousand
//! notifies before a wait cost one `write(2)` and one wake-up.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};

use nix::errno::Errno;

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
    /// `EMFILE`/`ENFILE` and the like from `eventfd(2)` / `pipe2(2)`.
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
        let fd = self.write.as_ref().unwrap_or(&self.read);
        // 8 bytes: the only size an eventfd accepts (a pipe takes any).
        match nix::unistd::write(fd, &1u64.to_ne_bytes()) {
            Ok(_) => Ok(()),
            Err(Errno::EAGAIN) => Ok(()),
            Err(e) => {
                self.pending.store(false, Ordering::Release);
                Err(e.into())
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
            let r = nix::unistd::read(&self.read, &mut buf);
            // An eventfd is emptied by one read; a pipe holds at most one byte per pending
            // wake, so a short read means it is empty. EAGAIN/EINTR end the drain as well:
            // the flag below keeps any wake we did not read.
            if !r.is_ok_and(|n| n == buf.len() && self.write.is_some()) {
                break;
            }
        }
        self.pending.store(false, Ordering::Release);
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn new_fds() -> io::Result<(OwnedFd, Option<OwnedFd>)> {
    use nix::sys::eventfd::{EfdFlags, EventFd};
    let fd = EventFd::from_value_and_flags(0, EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK)?;
    Ok((fd.into(), None))
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn new_fds() -> io::Result<(OwnedFd, Option<OwnedFd>)> {
    let (read, write) = crate::backend::syscall::nonblocking_pipe()?;
    Ok((read, Some(write)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn readable(n: &Notifier) -> bool {
        use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
        poll(&mut [PollFd::new(n.fd(), PollFlags::POLLIN)], PollTimeout::ZERO).unwrap() == 1
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
