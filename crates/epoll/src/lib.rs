//! A multipoll backend over Linux `epoll(7)`.
//!
//! The kernel keeps the interest list, so registration is one `epoll_ctl(2)` and a wait
//! costs O(ready fds), not O(registered): the backend to use on Linux. It does every
//! [`Mode`] natively: `EPOLLET` for [`Mode::Edge`], `EPOLLONESHOT` for
//! [`Mode::Oneshot`] (re-armed by `EPOLL_CTL_MOD`), both for [`Mode::EdgeOneshot`]; and
//! [`Interest::PRIORITY`] as `EPOLLPRI`.
//!
//! Quirks handled here, so the [`Poller`] contract holds as on every backend:
//!
//! - **Timeouts.** `epoll_wait` counts whole milliseconds; `epoll_pwait2` (Linux 5.11)
//!   takes a `timespec`. The backend probes for `epoll_pwait2` once, at creation, and
//!   falls back to `epoll_wait` with the timeout rounded *up* to 1 ms.
//!   [`Capabilities::timeout_precision`] says which one this kernel gave. A wait with no
//!   timeout, or one of whole milliseconds, is an `epoll_wait` either way: it loses nothing
//!   there and is the cheaper call.
//! - **The registration record.** epoll's `data` field carries a *tag*: the fd, the
//!   generation of its registration, which every `add`, `modify` and `delete` moves on,
//!   and its interest.
//!   The key and interest live in a record per fd that waiters read without a lock
//!   (`records.rs`); an event is reported only while its fd's record shows its tag, under
//!   the key and interest the record holds. That buys, for no lock per wait, three
//!   things: events are filtered by the *current* interest (so a hang-up on a read-only
//!   registration is not reported as writable, as on the other backends); an event the
//!   kernel handed out before a `delete` or `modify` returned is dropped, so nothing is
//!   reported after `delete` returns (a `modify` makes the kernel check readiness again,
//!   so a ready fd is reported anew under its new registration); and [`Interest::NONE`]
//!   can be exact. Changes run one at a time, under one lock, and give the kernel the new
//!   tag before the record shows it: a waiter handed a tag its record does not show yet
//!   takes that lock once, for that event, and so waits for the change in progress rather
//!   than drop an event of the new registration.
//! - **`Interest::NONE`.** The kernel always reports `EPOLLHUP`/`EPOLLERR`, even with an
//!   empty event mask, so a silenced fd would wake every wait. Silencing takes the fd out
//!   of the kernel's list (`EPOLL_CTL_DEL`) and keeps its record; re-enabling adds it
//!   back.
//! - **Closed fds.** The kernel forgets a closed fd by itself (unless a `dup` of it is
//!   still open). Its record is then stale; an `add` of the reused fd number asks the
//!   kernel, and succeeds if the kernel no longer knows the fd. The new registration has a
//!   new tag, so events of the old file (still registered through a `dup`) are dropped.
//! - **Notify** is an `eventfd` (the shared [`multipoll_core::backend::notify::Notifier`])
//!   registered level-triggered; its events never reach the caller.
//!
//! ```
//! use std::io::Write;
//! use std::net::{TcpListener, TcpStream};
//! use std::os::fd::AsFd;
//! use std::time::Duration;
//! use multipoll_epoll::{Epoll, Events, Interest, Mode, Poller};
//!
//! let listener = TcpListener::bind("127.0.0.1:0")?;
//! let mut client = TcpStream::connect(listener.local_addr()?)?;
//! let (server, _) = listener.accept()?;
//!
//! let poller = Epoll::new()?;
//! poller.add(server.as_fd(), 1, Interest::READABLE, Mode::Edge)?;
//! client.write_all(b"hello")?;
//!
//! let mut events = Events::new();
//! poller.wait(&mut events, Some(Duration::from_secs(5)))?;
//! let event = events.iter().next().expect("readable");
//! assert!(event.key() == 1 && event.is_readable());
//! # Ok::<(), std::io::Error>(())
//! ```
#![deny(missing_docs, missing_debug_implementations)]
#![doc(test(attr(deny(warnings))))]
#![cfg(any(target_os = "linux", target_os = "android"))]

mod records;
mod sys;

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::Mutex;
use std::time::Duration;

use multipoll_core::backend::checks::check_registration;
use multipoll_core::backend::errors::{already_registered, not_registered, registration_error};
use multipoll_core::backend::notify::Notifier;
use multipoll_core::backend::readiness::Readiness;
use multipoll_core::backend::table::lock;
use multipoll_core::backend::timeout::{timeout_ms, timeout_timespec};
use multipoll_core::backend::wait::wait_until;
use multipoll_core::backend::{EventsExt, Sink};
use multipoll_core::fault::{self, Call};

pub use multipoll_core::{Capabilities, Event, Events, Interest, Mode, ModeSet, Poller};

use records::{Found, Records, WAKE};

/// The `epoll(7)` backend, Linux and Android: the kernel keeps the registrations, and a
/// wait costs O(ready fds). multipoll's default on Linux.
///
/// Create it with [`Epoll::new()`](Poller::new) and use it through the
/// [`Poller`] trait. What is particular to it:
///
/// - Every [`Mode`], natively (`EPOLLET`, `EPOLLONESHOT`, both);
///   [`PRIORITY`](Interest::PRIORITY) interest is `EPOLLPRI`.
/// - Nanosecond timeouts where the kernel has `epoll_pwait2` (Linux 5.11), else whole
///   milliseconds rounded up
///   ([`Capabilities::timeout_precision`]
///   says which).
/// - It is [`AsFd`]: register it in another poller or a runtime's
///   reactor to nest it.
///
/// More in the [`multipoll-epoll` crate docs](https://docs.rs/multipoll-epoll).
#[derive(Debug)]
pub struct Epoll {
    epfd: OwnedFd,
    notifier: Notifier,
    /// Each fd's key, interest and tag, read by waiters without a lock.
    records: Records,
    /// Held by each registration change across its `epoll_ctl` and its record update, so
    /// that changes run one at a time and a waiter handed a tag its record does not show
    /// yet can wait for the change in progress (`Epoll::off_record`).
    changes: Mutex<()>,
    pwait2: bool,
}

/// The kernel's event mask for a registration.
fn event_mask(interest: Interest, mode: Mode) -> u32 {
    // POLL* and EPOLL* bits are equal on Linux, so the shared mapping applies.
    let mut bits = Readiness::poll_bits(interest) as u16 as u32;
    if mode.is_edge() {
        bits |= libc::EPOLLET as u32;
    }
    if mode.is_oneshot() {
        bits |= libc::EPOLLONESHOT as u32;
    }
    bits
}

/// An entry of the array `epoll_wait` fills, before it does.
const BLANK: libc::epoll_event = libc::epoll_event { events: 0, u64: 0 };

/// The event for what the kernel reported on a registration.
#[inline]
fn to_event(bits: u32, reg: Found) -> Event {
    // Data on a readable registration, and nothing else, is nearly every event of a busy
    // server: it needs none of the general mapping's cases (hang-up, error, interest
    // filtering), which cost ~50 instructions per event (callgrind). Same result.
    if bits == libc::EPOLLIN as u32 && reg.is_readable() {
        return Event::new(reg.key).with_readable(true);
    }
    Readiness::from_poll_bits(bits as i32).to_event(reg.key, reg.interest())
}

const _: () = {
    assert!(libc::EPOLLIN == libc::POLLIN as i32 && libc::EPOLLOUT == libc::POLLOUT as i32);
    assert!(libc::EPOLLHUP == libc::POLLHUP as i32 && libc::EPOLLERR == libc::POLLERR as i32);
    assert!(libc::EPOLLRDHUP == libc::POLLRDHUP as i32 && libc::EPOLLPRI == libc::POLLPRI as i32);
};

impl Epoll {
    const NAME: &'static str = "epoll";

    fn caps(&self) -> Capabilities {
        let precision =
            if self.pwait2 { Duration::from_nanos(1) } else { Duration::from_millis(1) };
        Capabilities::new(Self::NAME, ModeSet::of(Mode::ALL))
            .with_timeout_precision(precision)
            .with_priority(true)
    }

    fn ctl(&self, op: libc::c_int, fd: RawFd, mask: u32, tag: u64) -> io::Result<()> {
        fault::inject(Call::Register)
            .and_then(|()| sys::epoll_ctl(self.epfd.as_raw_fd(), op, fd, mask, tag))
            .map_err(|e| registration_error(fd, e))
    }

    /// One `epoll_wait`/`epoll_pwait2` into `buffer`; returns how many entries it filled.
    #[inline]
    fn epoll_wait(
        &self,
        buffer: &mut [libc::epoll_event],
        timeout: Option<Duration>,
    ) -> io::Result<usize> {
        fault::inject(Call::Wait)?;
        let epfd = self.epfd.as_raw_fd();
        // `epoll_wait` where it loses nothing (no timeout, or whole milliseconds): it is the
        // cheaper call of the two (no timespec or signal mask to handle; ~1 % per wait here).
        match timeout {
            Some(t) if self.pwait2 && t.subsec_nanos() % 1_000_000 != 0 => {
                Self::epoll_pwait2(epfd, buffer, t)
            }
            _ => sys::epoll_wait(epfd, buffer, timeout_ms(timeout)),
        }
    }

    /// `epoll_pwait2` for a timeout finer than a millisecond. Out of line, so that the
    /// `timespec` it builds costs the other waits nothing.
    #[inline(never)]
    fn epoll_pwait2(
        epfd: RawFd,
        buffer: &mut [libc::epoll_event],
        timeout: Duration,
    ) -> io::Result<usize> {
        sys::epoll_pwait2(epfd, buffer, Some(timeout_timespec(timeout)))
    }

    /// One turn of the wait rule ([`wait_until`]): one kernel wait into the array kept in
    /// the caller's `Events` (no lock, and threads waiting at once each have their own;
    /// never longer than `events` has room for, since what the kernel hands over is
    /// consumed), its events mapped through the records; whether a notify woke it.
    #[inline]
    fn turn(&self, events: &mut Events, left: Option<Duration>) -> io::Result<bool> {
        let (array, mut sink) = events.kernel_array(i32::MAX as usize, BLANK);
        let filled = self.epoll_wait(array, left)?;
        let returned = &array[..filled.min(array.len())];
        // The loop calls nothing, so what it keeps stays in registers: an entry whose tag
        // its record does not show, or that reports nothing the registration asked for,
        // ends it, and `off_record` does the rest.
        let mapped = sink.push_while(returned, |entry| {
            self.records.get(entry.u64).map(|reg| to_event(entry.events, reg))
        });
        if mapped < returned.len() {
            return Ok(self.off_record(&returned[mapped..], sink));
        }
        Ok(false)
    }

    /// The events of `rest`, the entries from the first whose tag its record did not
    /// show (or that reported nothing asked for: its event is dropped); whether the
    /// notifier's was among them (its wake-up is then drained). An
    /// entry whose tag its record does not show is the notifier's, or of a registration
    /// deleted, changed or silenced since the kernel handed it out, or of a change that
    /// gave the kernel the tag and has not yet published the record: under the writers'
    /// lock no change is in progress, so the record's answer is then final. Off the path
    /// of an event that reports.
    #[cold]
    #[inline(never)]
    fn off_record(&self, rest: &[libc::epoll_event], mut sink: Sink<'_>) -> bool {
        let mut woken = false;
        for entry in rest {
            let (bits, tag) = (entry.events, entry.u64);
            // The notifier's tag has no record, so it needs no test of its own there.
            let reg = match self.records.get(tag) {
                Some(reg) => reg,
                None if tag == WAKE => {
                    woken = true;
                    continue;
                }
                None => {
                    let _changes = lock(&self.changes);
                    let Some(reg) = self.records.get(tag) else { continue };
                    reg
                }
            };
            sink.push(to_event(bits, reg));
        }
        if woken {
            self.notifier.drain();
        }
        woken
    }
}

/// The epoll fd itself, so that this poller can be registered in another poller (or in
/// an async runtime's reactor, such as tokio's `AsyncFd`): it is readable while this
/// poller has something to report (an event or a notify). Use it to watch, never to change
/// the interest list behind the backend's back.
///
/// ```
/// use std::io::Write;
/// use std::os::fd::AsFd;
/// use std::time::Duration;
/// use multipoll_epoll::{Epoll, Events, Interest, Mode, Poller};
///
/// let (inner, outer) = (Epoll::new()?, Epoll::new()?);
/// outer.add(inner.as_fd(), 1, Interest::READABLE, Mode::Level)?;
/// let (mut a, b) = std::os::unix::net::UnixStream::pair()?;
/// inner.add(b.as_fd(), 2, Interest::READABLE, Mode::Level)?;
/// a.write_all(b"x")?;
/// let mut events = Events::new();
/// outer.wait(&mut events, Some(Duration::from_secs(5)))?; // the inner poller is ready
/// assert_eq!(events.iter().next().map(|e| e.key()), Some(1));
/// inner.wait(&mut events, Some(Duration::ZERO))?; // so its wait returns at once
/// assert_eq!(events.iter().next().map(|e| e.key()), Some(2));
/// # Ok::<(), std::io::Error>(())
/// ```
impl AsFd for Epoll {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.epfd.as_fd()
    }
}

impl Poller for Epoll {
    fn new() -> io::Result<Self> {
        let epfd = sys::epoll_create()?;
        let notifier = Notifier::new()?;
        let wake = notifier.fd().as_raw_fd();
        sys::epoll_ctl(epfd.as_raw_fd(), libc::EPOLL_CTL_ADD, wake, libc::EPOLLIN as u32, WAKE)?;
        let pwait2 = sys::has_epoll_pwait2(epfd.as_raw_fd());
        Ok(Epoll { epfd, notifier, records: Records::default(), changes: Mutex::new(()), pwait2 })
    }

    fn add(
        &self,
        fd: BorrowedFd<'_>,
        key: usize,
        interest: Interest,
        mode: Mode,
    ) -> io::Result<()> {
        check_registration(&self.caps(), key, interest, mode)?;
        let fd = fd.as_raw_fd();
        let _changes = lock(&self.changes);
        if self.records.current(fd).is_some_and(|r| r.interest.is_none()) {
            return Err(already_registered(fd));
        }
        let tag = self.records.next_tag(fd, interest);
        if interest.is_none() {
            // Not in the kernel's list, but the kernel still has to say the fd is valid
            // and not already registered: add it, then take it out again.
            self.ctl(libc::EPOLL_CTL_ADD, fd, 0, tag)?;
            self.ctl(libc::EPOLL_CTL_DEL, fd, 0, 0)?;
        } else {
            // A stale record (fd closed without delete) is replaced when the kernel agrees.
            self.ctl(libc::EPOLL_CTL_ADD, fd, event_mask(interest, mode), tag)?;
        }
        self.records.publish(tag, key);
        Ok(())
    }

    fn modify(
        &self,
        fd: BorrowedFd<'_>,
        key: usize,
        interest: Interest,
        mode: Mode,
    ) -> io::Result<()> {
        check_registration(&self.caps(), key, interest, mode)?;
        let fd = fd.as_raw_fd();
        let _changes = lock(&self.changes);
        let old = self.records.current(fd).ok_or_else(|| not_registered(fd))?;
        // A new tag even for the same key and interest: an event the kernel handed out
        // before this change is dropped, and the kernel reports a ready fd again after it.
        let tag = self.records.next_tag(fd, interest);
        let mask = event_mask(interest, mode);
        match (old.interest.is_none(), interest.is_none()) {
            (true, true) => {}
            (true, false) => self.ctl(libc::EPOLL_CTL_ADD, fd, mask, tag)?,
            (false, true) => self.ctl(libc::EPOLL_CTL_DEL, fd, 0, 0)?,
            (false, false) => self.ctl(libc::EPOLL_CTL_MOD, fd, mask, tag)?,
        }
        self.records.publish(tag, key);
        Ok(())
    }

    fn delete(&self, fd: BorrowedFd<'_>) -> io::Result<()> {
        let fd = fd.as_raw_fd();
        let _changes = lock(&self.changes);
        let old = self.records.current(fd).ok_or_else(|| not_registered(fd))?;
        if !old.interest.is_none() {
            match self.ctl(libc::EPOLL_CTL_DEL, fd, 0, 0) {
                // The kernel already forgot it (closed and reopened): forget it too.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                other => other?,
            }
        }
        self.records.remove(fd);
        Ok(())
    }

    // Inline, so that a wait that reports at its first turn is part of the caller's loop:
    // no call, and no registers saved for it. The rest of the rule stays out of line.
    #[inline]
    fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<usize> {
        wait_until(events, timeout, |events, left| self.turn(events, left))
    }

    fn notify(&self) -> io::Result<()> {
        self.notifier.wake()
    }

    fn capabilities(&self) -> Capabilities {
        self.caps()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_event_fast_path_matches_general_mapping() {
        let interests = [Interest::NONE, Interest::READABLE, Interest::WRITABLE, Interest::BOTH];
        let bits =
            [libc::EPOLLIN, libc::EPOLLOUT, libc::EPOLLIN | libc::EPOLLRDHUP, libc::EPOLLHUP];
        let records = Records::default();
        for interest in interests {
            let tag = records.next_tag(3, interest);
            records.publish(tag, 7);
            let reg = records.get(tag).expect("just published");
            for b in bits {
                let general = Readiness::from_poll_bits(b).to_event(7, interest);
                assert_eq!(to_event(b as u32, reg), general, "{interest:?} {b:#x}");
            }
        }
    }
}
