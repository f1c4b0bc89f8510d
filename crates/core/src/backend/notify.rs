//! The wake-up fd behind [`Poller::notify`](crate::Poller::notify) for backends whose
//! kernel has no user event of its own: an `eventfd` on Linux, a pipe elsewhere.
//!
//! Coalescing is core's one rule ([`Coalesce`]): a wake writes only when none is pending,
//! so a thousand notifies before a wait cost one `write(2)` and one wake-up.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;

use super::coalesce::Coalesce;

/// A coalescing wake-up fd: readable while a wake is pending.
#[derive(Debug)]
pub struct Notifier {
    read: OwnedFd,
    /// `None` for an eventfd, which is read and written through the same fd.
    write: Option<OwnedFd>,
    pending: Coalesce,
}

impl Notifier {
    /// Creates the fd(s), non-blocking and close-on-exec.
    ///
    /// # Errors
    /// `EMFILE`/`ENFILE` and the like from `eventfd(2)` / `pipe2(2)`.
    pub fn new() -> io::Result<Notifier> {
        let (read, write) = new_fds()?;
        Ok(Notifier { read, write, pending: Coalesce::default() })
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
        self.pending.wake(|| {
            let fd = self.write.as_ref().unwrap_or(&self.read);
            // 8 bytes: the only size an eventfd accepts (a pipe takes any).
            match nix::unistd::write(fd, &1u64.to_ne_bytes()) {
                Ok(_) | Err(Errno::EAGAIN) => Ok(()),
                Err(e) => Err(e.into()),
            }
        })
    }

    /// Consumes a pending wake so the fd stops being readable.
    ///
    /// Reads first and clears the pending flag after ([`Coalesce::drained`]).
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
        self.pending.drained();
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
