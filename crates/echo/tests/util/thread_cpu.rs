//! The CPU time of one thread, read from another: how a test tells whether a server's loop,
//! on a thread of its own, sleeps or spins.
//!
//! Linux, Android and the BSDs give each thread a CPU-time clock that any thread of the
//! process may read (`pthread_getcpuclockid(3)`); Apple systems have none and report a
//! thread's times through Mach instead (`thread_info` with `THREAD_BASIC_INFO`); Windows
//! through a handle to the thread (`GetThreadTimes`).

use std::io;
use std::time::Duration;

/// The CPU-time clock of the thread that created it; readable while that thread runs.
#[derive(Clone, Copy, Debug)]
pub struct ThreadCpu(imp::Handle);

impl ThreadCpu {
    /// The calling thread's clock.
    pub fn current() -> io::Result<ThreadCpu> {
        imp::current().map(ThreadCpu)
    }

    /// The CPU time (user + system) the thread has used so far.
    pub fn used(&self) -> io::Result<Duration> {
        imp::used(self.0)
    }
}

#[cfg(all(unix, not(target_vendor = "apple")))]
mod imp {
    use std::io;
    use std::time::Duration;

    pub type Handle = libc::clockid_t;

    // In their libpthread, which std links; the libc crate declares it only elsewhere.
    #[cfg(any(target_os = "netbsd", target_os = "openbsd"))]
    unsafe extern "C" {
        fn pthread_getcpuclockid(thread: libc::pthread_t, clock: *mut libc::clockid_t) -> i32;
    }
    #[cfg(not(any(target_os = "netbsd", target_os = "openbsd")))]
    use libc::pthread_getcpuclockid;

    pub fn current() -> io::Result<Handle> {
        let me = nix::sys::pthread::pthread_self();
        let mut clock = Handle::default();
        // SAFETY: `me` is the live calling thread; one clockid_t is written to `clock`,
        // which is live.
        let r = unsafe { pthread_getcpuclockid(me, &mut clock) };
        // It returns the error number itself, not -1 and errno.
        if r != 0 {
            return Err(io::Error::from_raw_os_error(r));
        }
        Ok(clock)
    }

    pub fn used(clock: Handle) -> io::Result<Duration> {
        // libc, not nix: nix's `time` feature does not build for visionOS.
        let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: one timespec is written to `ts`, which is live.
        if unsafe { libc::clock_gettime(clock, &mut ts) } == -1 {
            return Err(io::Error::last_os_error());
        }
        let secs = u64::try_from(ts.tv_sec).unwrap_or(0);
        Ok(Duration::new(secs, u32::try_from(ts.tv_nsec).unwrap_or(0)))
    }
}

#[cfg(target_vendor = "apple")]
mod imp {
    use std::io;
    use std::time::Duration;

    pub type Handle = libc::thread_inspect_t;

    pub fn current() -> io::Result<Handle> {
        let me = nix::sys::pthread::pthread_self();
        // SAFETY: `me` is the live calling thread; the call only looks its port up (and
        // takes no reference that would need releasing).
        Ok(unsafe { libc::pthread_mach_thread_np(me) })
    }

    pub fn used(thread: Handle) -> io::Result<Duration> {
        // SAFETY: `thread_basic_info` is integers only; all-zero is a valid value.
        let mut info: libc::thread_basic_info = unsafe { std::mem::zeroed() };
        let mut count = libc::THREAD_BASIC_INFO_COUNT;
        // SAFETY: thread_info writes at most `count` integers to `info`, which holds
        // exactly that many (THREAD_BASIC_INFO_COUNT is its size in integers).
        let r = unsafe {
            libc::thread_info(
                thread,
                libc::THREAD_BASIC_INFO as libc::thread_flavor_t,
                (&raw mut info).cast(),
                &mut count,
            )
        };
        if r != libc::KERN_SUCCESS {
            return Err(io::Error::other(format!("thread_info: kern_return_t {r}")));
        }
        let time = |t: libc::time_value_t| {
            let secs = u64::try_from(t.seconds).unwrap_or(0);
            Duration::from_secs(secs)
                + Duration::from_micros(u64::try_from(t.microseconds).unwrap_or(0))
        };
        Ok(time(info.user_time) + time(info.system_time))
    }
}

#[cfg(windows)]
mod imp {
    use std::io;
    use std::time::Duration;

    use windows_sys::Win32::Foundation::{FALSE, FILETIME};
    use windows_sys::Win32::System::Threading::{
        GetCurrentThreadId, GetThreadTimes, OpenThread, THREAD_QUERY_LIMITED_INFORMATION,
    };

    /// The thread's handle, as a number so that it may be sent to the thread that reads
    /// it. Never closed: a test opens a few, and a closed one could be reused by another
    /// handle while a copy is still read.
    pub type Handle = usize;

    pub fn current() -> io::Result<Handle> {
        // SAFETY: GetCurrentThreadId takes no arguments.
        let me = unsafe { GetCurrentThreadId() };
        // SAFETY: OpenThread takes no pointers; it returns a new handle or null.
        let handle = unsafe { OpenThread(THREAD_QUERY_LIMITED_INFORMATION, FALSE, me) };
        if handle.is_null() {
            let e = io::Error::last_os_error();
            return Err(io::Error::new(e.kind(), format!("OpenThread of thread {me}: {e}")));
        }
        Ok(handle as usize)
    }

    pub fn used(thread: Handle) -> io::Result<Duration> {
        let zero = FILETIME { dwLowDateTime: 0, dwHighDateTime: 0 };
        let (mut created, mut exited, mut kernel, mut user) = (zero, zero, zero, zero);
        // SAFETY: `thread` is a handle OpenThread returned, never closed; GetThreadTimes
        // writes one FILETIME to each of the four, which are live.
        let ok = unsafe {
            GetThreadTimes(thread as _, &mut created, &mut exited, &mut kernel, &mut user)
        };
        if ok == FALSE {
            let e = io::Error::last_os_error();
            return Err(io::Error::new(e.kind(), format!("GetThreadTimes: {e}")));
        }
        // FILETIMEs count 100 ns ticks.
        let ticks = |t: FILETIME| u64::from(t.dwHighDateTime) << 32 | u64::from(t.dwLowDateTime);
        Ok(Duration::from_nanos((ticks(kernel) + ticks(user)) * 100))
    }
}
