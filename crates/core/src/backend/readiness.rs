//! Readiness as the kernel reports it, and its mapping to [`Event`] flags: once for every
//! backend, so that a hang-up, an error or a closed fd means the same on each.
//!
//! The `poll(2)` bits are the common currency (`epoll(7)`'s are equal on Linux; kqueue and
//! select fill a [`Readiness`] by hand; on Windows `from_poll_bits` and `poll_bits` read
//! and write `WSAPoll`'s, in `windows/readiness.rs`), and [`Readiness::to_event`] is the
//! one place that filters by interest.

use crate::{Event, Interest};

#[cfg(windows)]
#[path = "windows/readiness.rs"]
mod wsapoll;

/// Readiness reported by the kernel for one fd, before interest filtering.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Readiness {
    /// Data, end of file or a pending connection can be read.
    pub readable: bool,
    /// Data can be written.
    pub writable: bool,
    /// Peer closed or reset.
    pub hangup: bool,
    /// A socket error is pending.
    pub error: bool,
    /// Urgent data is pending (`POLLPRI`, `exceptfds`).
    pub priority: bool,
    /// The fd was closed while registered (`POLLNVAL`, `EBADF`).
    pub closed: bool,
}

/// The `poll(2)` bit that means "the peer's write side is closed", where the platform has
/// one (`POLLRDHUP`, Linux); 0 elsewhere, where
/// [`probe::peer_closed`](super::probe::peer_closed) fills in.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub const POLL_RDHUP: i32 = libc::POLLRDHUP as i32;
/// The `poll(2)` bit that means "the peer's write side is closed", where the platform has
/// one (`POLLRDHUP`, Linux); 0 elsewhere, where
/// [`probe::peer_closed`](super::probe::peer_closed) fills in.
#[cfg(all(unix, not(any(target_os = "linux", target_os = "android"))))]
pub const POLL_RDHUP: i32 = 0;

#[cfg(unix)]
impl Readiness {
    /// Reads `poll(2)` `revents` bits (equal to `epoll(7)` bits on Linux).
    ///
    /// Hang-up and error make a registration readable and writable too, because the next
    /// read or write will not block (it returns end of file or the error).
    #[inline] // Once per event, from the backend crates.
    pub fn from_poll_bits(bits: i32) -> Readiness {
        let bit = |b: i16| bits & i32::from(b) != 0;
        // Flags combined with `|`, not `||`: once per event, and no branch is cheaper
        // than a short-circuit over bits already in a register.
        // Through `bit`, not `bits & POLL_RDHUP`: where it is 0 the latter is a
        // constant `& 0`, which clippy denies (bad_bit_mask) on every non-Linux target.
        let hangup = bit(libc::POLLHUP) | bit(POLL_RDHUP as i16);
        let error = bit(libc::POLLERR);
        Readiness {
            // Not POLLPRI (urgent data): `read` does not return it, so a level-triggered
            // loop told "readable" would spin on EAGAIN. It is `priority` instead.
            readable: bit(libc::POLLIN) | hangup | error,
            // A hang-up or an error makes the next write fail at once instead of blocking.
            // Reporting it also keeps a level-triggered wait from spinning on a kernel
            // report (epoll and poll always report HUP) that no flag would carry.
            writable: bit(libc::POLLOUT) | bit(libc::POLLHUP) | error,
            hangup,
            error,
            priority: bit(libc::POLLPRI),
            closed: bit(libc::POLLNVAL),
        }
    }

    /// The `poll(2)` `events` bits that ask for `interest` (hang-up and error are always
    /// reported by the kernel). `POLLPRI` only for [`Interest::PRIORITY`]: urgent data is
    /// not readable (see [`Interest::READABLE`]).
    pub fn poll_bits(interest: Interest) -> i16 {
        let mut bits = 0;
        if interest.is_readable() {
            bits |= libc::POLLIN | POLL_RDHUP as i16;
        }
        if interest.is_writable() {
            bits |= libc::POLLOUT;
        }
        if interest.is_priority() {
            bits |= libc::POLLPRI;
        }
        bits
    }
}

impl Readiness {
    /// Whether nothing is reported.
    pub fn is_empty(&self) -> bool {
        *self == Readiness::default()
    }

    /// The event for a registration with `key` and `interest`, or an empty event when the
    /// readiness is nothing the registration asked for.
    ///
    /// A closed fd is reported as an error regardless of interest (except `NONE`); a
    /// hang-up only to registrations with readable interest.
    #[inline] // Once per event, from the backend crates.
    pub fn to_event(self, key: usize, interest: Interest) -> Event {
        // `&` and `|`, not `&&` and `||`: see `from_poll_bits`.
        let readable = self.readable & interest.is_readable();
        let writable = self.writable & interest.is_writable();
        let priority = self.priority & interest.is_priority();
        if interest.is_none() || !(readable | writable | priority | self.closed) {
            return Event::new(key);
        }
        Event::new(key)
            .with_readable(readable)
            .with_writable(writable)
            // Only readable registrations hear of a hang-up: "the peer sends no more" is
            // news to a reader; a writer learns of a closed peer from `EPIPE` or `error`.
            .with_hangup(self.hangup & interest.is_readable())
            .with_error(self.error | self.closed)
            .with_priority(priority)
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn poll_bits_map_to_flags() {
        let r = Readiness::from_poll_bits(i32::from(libc::POLLIN));
        assert!(r.readable && !r.writable && !r.hangup && !r.error);
        let r = Readiness::from_poll_bits(i32::from(libc::POLLHUP | libc::POLLERR));
        assert!(r.readable && r.writable && r.hangup && r.error);
        let r = Readiness::from_poll_bits(i32::from(libc::POLLPRI));
        assert!(r.priority && !r.readable, "urgent data alone is not readable: {r:?}");
        assert!(r.to_event(3, Interest::READABLE).is_empty(), "nor reported to readers");
        let ev = r.to_event(3, Interest::READABLE | Interest::PRIORITY);
        assert!(ev.is_priority() && !ev.is_readable(), "{ev:?}");
        let r = Readiness::from_poll_bits(i32::from(libc::POLLNVAL));
        assert!(r.closed);
        let ev = r.to_event(3, Interest::READABLE);
        assert!(ev.is_error() && !ev.is_readable());
    }

    #[test]
    fn interest_filters_event() {
        let r = Readiness { readable: true, writable: true, ..Readiness::default() };
        let ev = r.to_event(1, Interest::WRITABLE);
        assert!(ev.is_writable() && !ev.is_readable());
        assert!(r.to_event(1, Interest::NONE).is_empty());
        let w = Readiness { writable: true, ..Readiness::default() };
        assert!(w.to_event(1, Interest::READABLE).is_empty());
    }
}
