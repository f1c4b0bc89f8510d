//! CPU time: whether a wait blocked or spun.

use std::time::{Duration, Instant};

#[cfg(unix)]
use multipoll_core::backend::syscall::cvt;

#[cfg(all(unix, not(target_os = "netbsd")))]
const CLOCK_THREAD_CPUTIME_ID: libc::clockid_t = libc::CLOCK_THREAD_CPUTIME_ID;
// The libc crate lacks NetBSD's; this is its value in NetBSD's <time.h>.
#[cfg(target_os = "netbsd")]
const CLOCK_THREAD_CPUTIME_ID: libc::clockid_t = 0x2000_0000;

/// The CPU time the calling thread has used, or `None` where the clock is unavailable.
#[cfg(unix)]
pub fn thread_cpu_time() -> Option<Duration> {
    // libc, not nix: nix's `time` feature does not build for visionOS (no clock_settime).
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes one timespec into `ts`, which is live.
    cvt(unsafe { libc::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut ts) }).ok()?;
    Some(Duration::new(u64::try_from(ts.tv_sec).ok()?, u32::try_from(ts.tv_nsec).ok()?))
}

/// Tells a `wait` that blocks from one that spins inside (returning only at its timeout,
/// so that its caller sees nothing wrong): the first uses almost no CPU time.
///
/// A correct backend uses microseconds of CPU per wait, so the bound —a quarter of the
/// wall-clock time, plus 2 ms— never fails it, however loaded the machine. A spinning
/// backend uses all the CPU it is given: on a busy machine it may still pass, so this
/// catches spins best effort, never falsely.
#[derive(Debug)]
pub struct CpuMeter {
    cpu: Option<Duration>,
    wall: Instant,
}

impl CpuMeter {
    /// Starts measuring the calling thread.
    pub fn start() -> CpuMeter {
        CpuMeter { cpu: thread_cpu_time(), wall: Instant::now() }
    }

    /// Asserts that the calling thread (the one that started the meter) mostly slept.
    #[track_caller]
    pub fn assert_blocked(&self, what: &str) {
        let wall = self.wall.elapsed();
        let (Some(start), Some(now)) = (self.cpu, thread_cpu_time()) else { return };
        let cpu = now.saturating_sub(start);
        assert!(
            cpu <= wall / 4 + Duration::from_millis(2),
            "{what}: the thread used {cpu:?} of CPU in {wall:?}: waiting spins instead of blocking"
        );
    }
}

/// The CPU time the calling thread has used, or `None` where the clock is unavailable:
/// always on Windows, so that [`CpuMeter::assert_blocked`] (best effort everywhere) checks
/// nothing there. `QueryThreadCycleTime` counts cycles, which its docs say not to convert
/// to time, and `GetThreadTimes` documents no resolution; a meter that might fail a correct
/// backend (one charged a coarse unit for a short wake-up) is worse than none.
#[cfg(windows)]
pub fn thread_cpu_time() -> Option<Duration> {
    None
}
