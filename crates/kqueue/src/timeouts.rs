//! The timeout precision each kernel's `kevent` really has: the one place that decides the
//! backend's [`Capabilities::timeout_precision`](multipoll_core::Capabilities::timeout_precision).
//! Plain Rust keyed by `target_os`, so that the unit tests pin every kernel's value on any
//! host, Linux included.
//!
//! - FreeBSD, `sys/kern/kern_event.c`, `kqueue_scan()`: the timespec becomes a `sbintime_t`
//!   deadline (`tstosbt`) slept on with `msleep_sbt`, so event timers, not clock ticks,
//!   end the wait: nanoseconds as asked (the slack it allows is a fraction of the timeout,
//!   `tc_precexp`).
//! - macOS and Apple's other systems, xnu `bsd/kern/kern_event.c`, `kqueue_scan()`: an
//!   absolute deadline in `mach_absolute_time` units, waited for with
//!   `waitq_assert_wait64_leeway` and no leeway asked: nanoseconds as asked.
//! - NetBSD, `sys/kern/kern_event.c` (rev. 1.88 and later), `kevent1()` ->
//!   `kqueue_scan()`: `timeout = tstohz(&ats)`, then `cv_timedwait_sig` for that many
//!   clock ticks. `tstohz` rounds up to whole ticks and adds one (the current tick is
//!   partly over), so a wait lasts up to one tick more than its timeout rounded up.
//! - OpenBSD, `sys/kern/kern_event.c`, `kqueue_sleep()`: `msleep_nsec(…, nsecs)`, which
//!   sleeps for `(nsecs + tick_nsec - 1) / (tick_nsec + 1) + 1` clock ticks
//!   (`sys/kern/kern_synch.c`): rounded up and one more, as on NetBSD.
//! - DragonFly, `sys/kern/kern_event.c`, `kern_kevent()`: `tstohz_high(&atx)` ticks to
//!   `tsleep` (`sys_kevent` does not ask for `KEVENT_TIMEOUT_PRECISE`, which only its
//!   `poll`/`select` use); `tstohz_high` (`sys/kern/kern_clock.c`) also rounds up and adds
//!   one.
//!
//! A tick is `1/hz`; the kernels' default is `HZ=100`, 10 ms (a kernel built with another
//! `HZ` has another tick, which this cannot know at compile time). The tick these three
//! add is not in the precision: a wait that starts just after a tick (as one that follows
//! a timed-out wait does) lasts its timeout rounded up to ticks, plus one tick, which the
//! contract allows (a wait may last one unit of precision more: `Poller`, *Waiting*;
//! conformance `timeouts_are_accurate`).

use std::time::Duration;

/// One clock tick at the default `HZ=100` of NetBSD, OpenBSD and DragonFly.
const TICK: Duration = Duration::from_millis(10);

/// The finest timeout `kevent` honours on `target_os` (`std::env::consts::OS`'s names).
/// Unknown systems get a tick: claiming nanoseconds that a kernel rounds to ticks makes
/// timeouts look broken, while claiming a tick where it is finer only underpromises.
pub(crate) const fn timeout_precision(target_os: &str) -> Duration {
    match target_os.as_bytes() {
        b"freebsd" | b"macos" | b"ios" | b"tvos" | b"watchos" | b"visionos" => {
            Duration::from_nanos(1)
        }
        _ => TICK,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_timer_kernels_keep_nanoseconds() {
        for os in ["freebsd", "macos", "ios", "tvos", "watchos", "visionos"] {
            assert_eq!(timeout_precision(os), Duration::from_nanos(1), "{os}");
        }
    }

    #[test]
    fn tick_kernels_declare_a_tick() {
        // NetBSD's tstohz made wait(10 µs) take 20 ms while 1 ns was declared.
        for os in ["netbsd", "openbsd", "dragonfly"] {
            assert_eq!(timeout_precision(os), Duration::from_millis(10), "{os}");
        }
    }

    #[test]
    fn unknown_kernel_is_not_promised_nanoseconds() {
        assert_eq!(timeout_precision("haiku"), Duration::from_millis(10));
    }
}
