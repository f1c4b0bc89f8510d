//! The `poll(2)` call on Unix.

use std::io;
use std::ops::Range;
use std::os::fd::RawFd;
use std::time::Duration;

use multipoll_core::Interest;
use multipoll_core::backend::emulated::ReadinessSyscall;
use multipoll_core::backend::probe::peer_closed;
use multipoll_core::backend::readiness::{POLL_RDHUP, Readiness};
use multipoll_core::backend::syscall::cvt;
use multipoll_core::backend::timeout::timeout_ms;

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
