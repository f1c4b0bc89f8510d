//! What a loop does when its wait fails: [`WaitBackoff`].
//!
//! Some failures pass: the kernel is short of memory or resources for a moment. poll(2),
//! select(2) and kevent(2) document `ENOMEM`; io_uring_enter(2) `EAGAIN` and `EBUSY`
//! (multipoll-uring retries those a while before it returns them); the poller's `Events`
//! buffer may fail to grow (`OutOfMemory`). On Windows, `WSAPoll` documents `WSAENOBUFS`
//! ("unable to allocate sufficient memory"), and std reads `ERROR_NOT_ENOUGH_MEMORY` and
//! `ERROR_OUTOFMEMORY` from the IOCP calls as `OutOfMemory`. After one of those the loop sleeps a short
//! back-off, doubling from [`FIRST`] up to [`LONGEST`] while the failures last, so it
//! neither spins nor gives up, and then goes on with its turn: the ready list and the
//! deadlines need no event, and the next wait tries again. An episode of failures ends
//! once the waits have worked for [`QUIET`]; its first failure is logged, and its end,
//! not every retry.
//!
//! Everything else would fail the same way on every retry (`EBADF`, `EINVAL`, `EFAULT`: a
//! poller that is broken, or a bug), so the loop stops on it and the server returns it.

use std::io;
use std::time::{Duration, Instant};

/// The first back-off of an episode: most shortages pass within it.
const FIRST: Duration = Duration::from_millis(1);
/// The longest back-off: it delays the deadlines and shutdown by at most this much.
const LONGEST: Duration = Duration::from_millis(100);
/// How long the waits must work for an episode to end. A wait can work between failures
/// without a syscall (io_uring reaps completions already in its ring), so one that works
/// proves little: without this, each failure would start an episode of its own, logged
/// twice, with the shortest back-off.
const QUIET: Duration = Duration::from_secs(1);

/// Whether a failed wait may succeed if tried again later; see the [module docs](self).
fn is_transient(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::OutOfMemory
        || e.raw_os_error().is_some_and(|n| SHORTAGES.contains(&n))
}

/// The wait errors, told by number, that mean a shortage; see the [module docs](self).
#[cfg(unix)]
const SHORTAGES: &[i32] = &[libc::ENOMEM, libc::EAGAIN, libc::EBUSY];
#[cfg(windows)]
const SHORTAGES: &[i32] = &[windows_sys::Win32::Networking::WinSock::WSAENOBUFS];

/// A run of failed waits, until the waits have worked for [`QUIET`].
#[derive(Debug)]
struct Episode {
    first: Instant,
    last: Instant,
    failures: u64,
    /// The next back-off.
    delay: Duration,
}

/// A loop's answer to failed waits; see the [module docs](self).
#[derive(Debug)]
pub(crate) struct WaitBackoff {
    /// `None` while the waits work.
    episode: Option<Episode>,
    /// The loop's index, for logs.
    index: usize,
}

impl WaitBackoff {
    pub(crate) fn new(index: usize) -> WaitBackoff {
        WaitBackoff { episode: None, index }
    }

    /// After a wait failed with `e`: sleeps the back-off if `e` may pass.
    ///
    /// # Errors
    /// `e`, if retrying cannot fix it: the loop must stop.
    pub(crate) fn failed(&mut self, e: io::Error) -> io::Result<()> {
        if !is_transient(&e) {
            return Err(e);
        }
        let now = Instant::now();
        self.end_if_quiet(now);
        let episode = self.episode.get_or_insert_with(|| {
            log::warn!(
                "loop {}: wait failed: {e}; retrying after back-offs of up to {LONGEST:?}",
                self.index
            );
            Episode { first: now, last: now, failures: 0, delay: FIRST }
        });
        episode.failures += 1;
        episode.last = now;
        let delay = episode.delay;
        episode.delay = (delay * 2).min(LONGEST);
        std::thread::sleep(delay);
        Ok(())
    }

    /// After a wait that worked: ends an episode of failures once they stopped for
    /// [`QUIET`].
    #[inline(always)]
    pub(crate) fn succeeded(&mut self) {
        if self.episode.is_some() {
            self.end_if_quiet(Instant::now());
        }
    }

    #[cold]
    #[inline(never)]
    fn end_if_quiet(&mut self, now: Instant) {
        if let Some(Episode { first, last, failures, .. }) = self.episode
            && now.saturating_duration_since(last) >= QUIET
        {
            let over = last - first;
            log::info!(
                "loop {}: waits work again, after {failures} failures over {over:?}",
                self.index
            );
            self.episode = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn only_shortages_are_transient() {
        let errno = |n| is_transient(&io::Error::from_raw_os_error(n));
        assert!([libc::ENOMEM, libc::EAGAIN, libc::EBUSY].into_iter().all(errno));
        assert!(![libc::EBADF, libc::EINVAL, libc::EFAULT, libc::EPERM].into_iter().any(errno));
        assert!(is_transient(&io::Error::from(io::ErrorKind::OutOfMemory)));
    }

    #[cfg(windows)]
    #[test]
    fn only_shortages_are_transient() {
        use windows_sys::Win32::Networking::WinSock::{WSAEBADF, WSAEFAULT, WSAEINVAL, WSAENOBUFS};
        // ERROR_NOT_ENOUGH_MEMORY and ERROR_OUTOFMEMORY, as GetQueuedCompletionStatusEx
        // would fail.
        let errno = |n| is_transient(&io::Error::from_raw_os_error(n));
        assert!([WSAENOBUFS, 8, 14].into_iter().all(errno));
        assert!(![WSAEBADF, WSAEINVAL, WSAEFAULT].into_iter().any(errno));
    }

    #[test]
    fn backoff_doubles_up_to_the_longest_until_quiet() -> io::Result<()> {
        let enomem = || io::Error::from(io::ErrorKind::OutOfMemory);
        let delay = |b: &WaitBackoff| b.episode.as_ref().map(|e| e.delay);
        let mut backoff = WaitBackoff::new(0);
        backoff.failed(enomem())?;
        assert_eq!(delay(&backoff), Some(FIRST * 2));
        // A wait that works between failures does not end the episode.
        backoff.succeeded();
        for _ in 0..6 {
            backoff.failed(enomem())?;
        }
        assert_eq!(delay(&backoff), Some(LONGEST));
        backoff.end_if_quiet(Instant::now() + QUIET / 2);
        assert_eq!(delay(&backoff), Some(LONGEST), "not quiet for long enough");
        backoff.end_if_quiet(Instant::now() + QUIET);
        assert_eq!(delay(&backoff), None, "the episode is over");
        let fatal = backoff.failed(io::Error::from(io::ErrorKind::InvalidInput));
        assert_eq!(fatal.err().map(|e| e.kind()), Some(io::ErrorKind::InvalidInput));
        assert_eq!(delay(&backoff), None, "a fatal error starts no episode");
        Ok(())
    }
}
