//! The `WSAPoll` call on Windows: `poll(2)`'s twin over sockets.

use std::fmt;
use std::io;
use std::ops::Range;
use std::time::Duration;

use multipoll_core::backend::emulated::ReadinessSyscall;
use multipoll_core::backend::readiness::Readiness;
use multipoll_core::backend::syscall::wsa_poll;
use multipoll_core::backend::timeout::timeout_ms;
use multipoll_core::{Interest, RawSource};
use windows_sys::Win32::Networking::WinSock::{POLLRDNORM, SOCKET, WSAPOLLFD};

/// The `WSAPoll` call and its `WSAPOLLFD` array (index 0 is the wake-up socket).
#[derive(Default)]
pub struct PollSyscall {
    fds: Vec<WSAPOLLFD>,
}

/// windows-sys's structs have no `Debug`: the sockets watched and what each asked for.
impl fmt::Debug for PollSyscall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let entries = self.fds.iter().map(|p| (p.fd, p.events, p.revents));
        f.debug_struct("PollSyscall").field("fds", &entries.collect::<Vec<_>>()).finish()
    }
}

impl ReadinessSyscall for PollSyscall {
    const NAME: &'static str = "poll";
    const TIMEOUT_PRECISION: Duration = Duration::from_millis(1);
    /// Not before Windows 10 version 2004, which does not report a failed connect (see
    /// the crate docs' *Windows*).
    const REPORTS_ERRORS: bool = true;
    /// Wine's `WSAPoll` reports `POLLHUP` only once the data queued before the peer's close
    /// is read (`tests/winsock/behaviours.rs`, `hangup_with_data_queued`); Microsoft's
    /// page does not promise more.
    const EARLY_HANGUP: bool = false;
    /// `WSAPoll` refuses `POLLPRI` in `events` with `WSAEINVAL`.
    const PRIORITY: bool = false;

    fn max_fd() -> Option<RawSource> {
        None
    }

    fn new() -> io::Result<Self> {
        Ok(PollSyscall::default())
    }

    fn rebuild(&mut self, wake: RawSource, fds: &[(RawSource, Interest)]) {
        self.fds.clear();
        self.fds.push(WSAPOLLFD { fd: wake as SOCKET, events: POLLRDNORM, revents: 0 });
        self.fds.extend(fds.iter().map(|&(s, interest)| WSAPOLLFD {
            fd: s as SOCKET,
            events: Readiness::poll_bits(interest),
            revents: 0,
        }));
    }

    fn wait(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        for pfd in &mut self.fds {
            pfd.revents = 0;
        }
        wsa_poll(&mut self.fds, timeout_ms(timeout))?;
        Ok(())
    }

    fn woken(&self) -> bool {
        self.fds.first().is_some_and(|w| w.revents != 0)
    }

    #[inline] // The wait's hot loop (see the trait).
    fn scan(
        &self,
        range: Range<usize>,
        mut report: impl FnMut(usize, RawSource, Readiness) -> bool,
    ) -> bool {
        // Entry 0 is the wake-up socket.
        let Some(entries) = self.fds.get(range.start + 1..range.end + 1) else {
            return true;
        };
        for (index, pfd) in (range.start..).zip(entries) {
            if pfd.revents == 0 {
                continue;
            }
            if !report(index, pfd.fd as RawSource, Readiness::from_poll_bits(pfd.revents)) {
                return false;
            }
        }
        true
    }
}
