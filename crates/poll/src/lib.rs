//! A multipoll backend over `poll(2)`.
//!
//! `poll(2)` keeps no state in the kernel: every call passes the whole interest set and the
//! kernel scans all of it, so a wait costs O(registered fds), not O(ready fds). In return
//! it runs on every Unix and has no fd-number limit (unlike `select`).
//!
//! The registrations live in user space, in [`multipoll_core::backend::emulated::Emulated`], which
//! also emulates [`Mode::Oneshot`] and rebuilds the `pollfd` array only when the watched
//! set changed. This crate is only the syscall: lay out the `pollfd` array, call `poll`,
//! read `revents`. The edge modes are `Unsupported`: `poll` has no notion of "new since
//! last time". [`Interest::PRIORITY`] is `POLLPRI`.
//!
//! Quirks handled here: the timeout is whole milliseconds, rounded up (so 0.5 ms waits
//! 1 ms rather than spinning); `POLLRDHUP` (Linux) reports a peer's half-close, and where
//! it does not exist a readable fd with no queued bytes is reported as a hang-up; a closed
//! registered fd comes back as `POLLNVAL`, reported once as an error and then forgotten.
//! The contract — errors, timeouts, notify — is [`multipoll_core::Poller`]'s.
//!
//! ```
//! use std::io::Write;
//! use std::os::fd::AsFd;
//! use std::time::Duration;
//! use multipoll_poll::{Events, Interest, Mode, Poll, Poller};
//!
//! let (mut a, b) = std::os::unix::net::UnixStream::pair()?;
//! let poller = Poll::new()?;
//! poller.add(b.as_fd(), 7, Interest::READABLE, Mode::Level)?;
//! a.write_all(b"ping")?;
//! let mut events = Events::new();
//! poller.wait(&mut events, Some(Duration::from_secs(5)))?;
//! assert_eq!(events.iter().next().map(|e| (e.key(), e.is_readable())), Some((7, true)));
//! # Ok::<(), std::io::Error>(())
//! ```
#![deny(missing_docs, missing_debug_implementations)]
#![doc(test(attr(deny(warnings))))]
#![cfg(unix)]

use std::io;
use std::ops::Range;
use std::os::fd::RawFd;
use std::time::Duration;

pub use multipoll_core::Interest;
use multipoll_core::backend::emulated::{Emulated, ReadinessSyscall};
use multipoll_core::backend::probe::peer_closed;
use multipoll_core::backend::readiness::{POLL_RDHUP, Readiness};
use multipoll_core::backend::syscall::cvt;
use multipoll_core::backend::timeout::timeout_ms;

pub use multipoll_core::{Capabilities, Event, Events, Mode, Poller};

/// The `poll(2)` backend: runs on every Unix, and a wait costs O(registered fds).
///
/// Create it with [`Poll::new()`](Poller::new) and use it through the
/// [`Poller`] trait. What is particular to it:
///
/// - Modes: [`Level`](Mode::Level) and
///   [`Oneshot`](Mode::Oneshot) (emulated: the registration leaves the
///   `pollfd` array until `modify`); the edge modes are `Unsupported`.
/// - [`PRIORITY`](Interest::PRIORITY) interest is `POLLPRI`.
/// - Timeouts are whole milliseconds, rounded up; no fd-number limit.
/// - A registered fd closed without `delete` is reported once as an error, then forgotten.
///
/// The registrations live in user space, in the shared
/// [`Emulated`](https://docs.rs/multipoll-core/latest/multipoll_core/backend/emulated/struct.Emulated.html) type, of which this is an
/// alias; `PollSyscall` is the one `poll(2)` call. More in the
/// [`multipoll-poll` crate docs](https://docs.rs/multipoll-poll).
pub type Poll = Emulated<PollSyscall>;

/// The `poll(2)` call and its `pollfd` array (index 0 is the wake-up fd).
#[derive(Debug, Default)]
pub struct PollSyscall {
    fds: Vec<libc::pollfd>,
}

impl ReadinessSyscall for PollSyscall {
    const NAME: &'static str = "poll";
    const TIMEOUT_PRECISION: Duration = Duration::from_millis(1);
    const REPORTS_ERRORS: bool = true;
    const EARLY_HANGUP: bool = POLL_RDHUP != 0;

    fn max_fd() -> Option<RawFd> {
        None
    }

    fn new() -> io::Result<Self> {
        Ok(PollSyscall::default())
    }

    fn rebuild(&mut self, wake: RawFd, fds: &[(RawFd, Interest)]) {
        self.fds.clear();
        self.fds.push(libc::pollfd { fd: wake, events: libc::POLLIN, revents: 0 });
        self.fds.extend(fds.iter().map(|&(fd, interest)| libc::pollfd {
            fd,
            events: Readiness::poll_bits(interest),
            revents: 0,
        }));
    }

    fn wait(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        for pfd in &mut self.fds {
            pfd.revents = 0;
        }
        let nfds = self.fds.len() as libc::nfds_t;
        // SAFETY: `fds` is a live array of `nfds` pollfds that the kernel may write to.
        cvt(unsafe { libc::poll(self.fds.as_mut_ptr(), nfds, timeout_ms(timeout)) })?;
        Ok(())
    }

    fn woken(&self) -> bool {
        self.fds.first().is_some_and(|w| w.revents != 0)
    }

    #[inline] // The wait's hot loop (see the trait).
    fn scan(
        &self,
        range: Range<usize>,
        mut report: impl FnMut(usize, RawFd, Readiness) -> bool,
    ) -> bool {
        // Entry 0 is the wake-up fd.
        let Some(entries) = self.fds.get(range.start + 1..range.end + 1) else {
            return true;
        };
        for (index, pfd) in (range.start..).zip(entries) {
            if pfd.revents == 0 {
                continue;
            }
            let mut r = Readiness::from_poll_bits(i32::from(pfd.revents));
            if POLL_RDHUP == 0 && r.readable && !r.hangup && peer_closed(pfd.fd) {
                r.hangup = true;
            }
            if !report(index, pfd.fd, r) {
                return false;
            }
        }
        true
    }
}
