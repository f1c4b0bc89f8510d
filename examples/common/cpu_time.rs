//! The CPU time a thread has used, as its OS counts it: `getrusage(2)` on Unix,
//! `GetThreadTimes` on Windows. Both split it into user time (our code) and system time
//! (the kernel, on our behalf).

use std::io;
use std::time::Duration;

/// CPU time used by the calling thread, split as the OS reports it.
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuTime {
    /// Time spent running our code.
    pub user: Duration,
    /// Time spent in the kernel on our behalf (answering reads and waits, say).
    pub system: Duration,
}

impl CpuTime {
    /// The calling thread's CPU time so far.
    ///
    /// # Errors
    /// Those of `getrusage(2)` or `GetThreadTimes` (none in practice: the arguments are
    /// valid).
    pub fn now() -> io::Result<CpuTime> {
        imp::now()
    }

    /// User plus system time.
    pub fn total(self) -> Duration {
        self.user + self.system
    }

    /// The time used since `earlier`.
    pub fn since(self, earlier: CpuTime) -> CpuTime {
        CpuTime {
            user: self.user.saturating_sub(earlier.user),
            system: self.system.saturating_sub(earlier.system),
        }
    }
}

#[cfg(unix)]
mod imp {
    use std::io;
    use std::time::Duration;

    use nix::sys::resource::{UsageWho, getrusage};
    use nix::sys::time::TimeVal;

    use super::CpuTime;

    // The calling thread's usage where the kernel offers it. Elsewhere (macOS, NetBSD) the
    // process's, which is the same for an example that runs one thread, but not for
    // tests/examples.rs, where other tests run beside it.
    #[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd"))]
    const WHO: UsageWho = UsageWho::RUSAGE_THREAD;
    #[cfg(not(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd")))]
    const WHO: UsageWho = UsageWho::RUSAGE_SELF;

    pub(super) fn now() -> io::Result<CpuTime> {
        let usage = getrusage(WHO)?;
        Ok(CpuTime { user: duration(usage.user_time()), system: duration(usage.system_time()) })
    }

    /// A `timeval` as a `Duration` (its fields are never negative in a `rusage`).
    fn duration(tv: TimeVal) -> Duration {
        let secs = u64::try_from(tv.tv_sec()).unwrap_or(0);
        let micros = u64::try_from(tv.tv_usec()).unwrap_or(0);
        Duration::from_secs(secs) + Duration::from_micros(micros)
    }
}

#[cfg(windows)]
mod imp {
    use std::io;
    use std::time::Duration;

    use windows_sys::Win32::Foundation::FILETIME;
    use windows_sys::Win32::System::Threading::{GetCurrentThread, GetThreadTimes};

    use super::CpuTime;

    pub(super) fn now() -> io::Result<CpuTime> {
        // SAFETY: no arguments; the pseudo-handle it returns needs no closing.
        let thread = unsafe { GetCurrentThread() };
        let zero = FILETIME { dwLowDateTime: 0, dwHighDateTime: 0 };
        let (mut created, mut exited, mut kernel, mut user) = (zero, zero, zero, zero);
        // SAFETY: `thread` is this thread's pseudo-handle, which has THREAD_QUERY_INFORMATION
        // access; the four pointers are to live, writable FILETIMEs.
        let ok =
            unsafe { GetThreadTimes(thread, &mut created, &mut exited, &mut kernel, &mut user) };
        if ok == 0 {
            let e = io::Error::last_os_error();
            return Err(io::Error::new(e.kind(), format!("GetThreadTimes(current thread): {e}")));
        }
        Ok(CpuTime { user: duration(user), system: duration(kernel) })
    }

    /// A `FILETIME` span (a count of 100-nanosecond intervals) as a `Duration`.
    fn duration(t: FILETIME) -> Duration {
        let ticks = (u64::from(t.dwHighDateTime) << 32) | u64::from(t.dwLowDateTime);
        Duration::from_nanos(ticks.saturating_mul(100))
    }
}
