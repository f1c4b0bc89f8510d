//! Timeouts: the deadline of one `wait` and the conversions to each syscall's timeout type.
//!
//! Every backend rounds the same way, *up* (0.5 ms must not become a zero timeout, a busy
//! loop), and keeps one deadline across `EINTR` and its own re-waits, so that a signal or a
//! stale wake-up never shortens or lengthens a `wait` (the contract's *Timeouts*).

use std::time::{Duration, Instant};

/// A point in time a `wait` must return by, robust to `EINTR` and internal re-waits.
#[derive(Clone, Copy, Debug)]
pub struct Deadline {
    end: Option<Instant>,
    zero: bool,
}

impl Deadline {
    /// The deadline of a timeout: `None` is never, a timeout too large to represent is
    /// never as well.
    #[inline]
    pub fn after(timeout: Option<Duration>) -> Deadline {
        match timeout {
            None => Deadline { end: None, zero: false },
            // A zero timeout needs no clock: it is up at once (a cheap poll stays cheap).
            Some(t) if t.is_zero() => Deadline { end: None, zero: true },
            Some(t) => Deadline { end: Instant::now().checked_add(t), zero: false },
        }
    }

    /// The time left, for the next syscall: `None` blocks, `Some(ZERO)` polls.
    pub fn remaining(&self) -> Option<Duration> {
        if self.zero {
            return Some(Duration::ZERO);
        }
        self.end.map(|end| end.saturating_duration_since(Instant::now()))
    }

    /// Whether the time is up (a zero timeout is up at once).
    pub fn expired(&self) -> bool {
        self.zero || self.end.is_some_and(|end| Instant::now() >= end)
    }
}

/// A timeout in whole milliseconds for `poll(2)`/`epoll_wait(2)`: `-1` for none, rounded
/// *up* so that 0.5 ms does not become a zero timeout (a busy loop), clamped to `c_int`.
pub fn timeout_ms(timeout: Option<Duration>) -> libc::c_int {
    match timeout {
        None => -1,
        Some(t) => {
            // Whole seconds are whole milliseconds, so only the fraction rounds; in `u64`,
            // where `as_nanos()`'s `u128` division is a call of ~60 instructions per wait.
            let fraction = u64::from(t.subsec_nanos().div_ceil(1_000_000));
            let ms = t.as_secs().saturating_mul(1000).saturating_add(fraction);
            libc::c_int::try_from(ms).unwrap_or(libc::c_int::MAX)
        }
    }
}

/// A `timespec` for `epoll_pwait2(2)`/`kevent(2)`, clamped to what `time_t` holds.
#[cfg(unix)]
pub fn timeout_timespec(t: Duration) -> libc::timespec {
    libc::timespec {
        tv_sec: libc::time_t::try_from(t.as_secs()).unwrap_or(libc::time_t::MAX),
        // Always < 1e9, so it fits every platform's `c_long`.
        tv_nsec: t.subsec_nanos() as _,
    }
}

/// A `timeval` for `select(2)`, rounded *up* to the microsecond (see [`timeout_ms`]).
#[cfg(unix)]
pub fn timeout_timeval(t: Duration) -> libc::timeval {
    let micros = t.as_nanos().div_ceil(1_000);
    let secs = micros / 1_000_000;
    libc::timeval {
        tv_sec: libc::time_t::try_from(secs).unwrap_or(libc::time_t::MAX),
        // Always < 1e6, so it fits every platform's `suseconds_t`.
        tv_usec: (micros % 1_000_000) as _,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeout_ms_rounds_up() {
        assert_eq!(timeout_ms(None), -1);
        assert_eq!(timeout_ms(Some(Duration::ZERO)), 0);
        assert_eq!(timeout_ms(Some(Duration::from_nanos(1))), 1);
        assert_eq!(timeout_ms(Some(Duration::from_micros(500))), 1);
        assert_eq!(timeout_ms(Some(Duration::from_micros(1001))), 2);
        assert_eq!(timeout_ms(Some(Duration::from_millis(7))), 7);
        assert_eq!(timeout_ms(Some(Duration::new(2, 999_000_001))), 3000);
        assert_eq!(timeout_ms(Some(Duration::new(3, 0))), 3000);
        assert_eq!(timeout_ms(Some(Duration::MAX)), libc::c_int::MAX);
    }

    #[cfg(unix)]
    #[test]
    fn timeval_rounds_up() {
        let tv = timeout_timeval(Duration::from_nanos(1));
        assert_eq!((tv.tv_sec, tv.tv_usec), (0, 1));
        let tv = timeout_timeval(Duration::new(2, 999_999_001));
        assert_eq!((tv.tv_sec, tv.tv_usec), (3, 0));
        let tv = timeout_timeval(Duration::ZERO);
        assert_eq!((tv.tv_sec, tv.tv_usec), (0, 0));
    }

    #[cfg(unix)]
    #[test]
    fn timespec_keeps_nanos() {
        let ts = timeout_timespec(Duration::new(1, 5));
        assert_eq!((ts.tv_sec, ts.tv_nsec), (1, 5));
        assert_eq!(timeout_timespec(Duration::MAX).tv_sec, libc::time_t::MAX);
    }

    #[test]
    fn deadline_zero_and_none() {
        let d = Deadline::after(Some(Duration::ZERO));
        assert!(d.expired());
        assert_eq!(d.remaining(), Some(Duration::ZERO));
        let d = Deadline::after(None);
        assert!(!d.expired());
        assert_eq!(d.remaining(), None);
        let d = Deadline::after(Some(Duration::MAX));
        assert_eq!(d.remaining(), None, "unrepresentable deadline blocks");
    }
}
