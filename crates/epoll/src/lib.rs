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
//!   [`Capabilities::timeout_precision`] says which one this kernel gave.
//! - **The registration record.** epoll's `data` field carries the fd, and the key and
//!   interest live in a small table indexed by fd. That costs one uncontended lock per wait
//!   and buys three things: events are filtered by the *current* interest (so a hang-up on
//!   a read-only registration is not reported as writable, as on the other backends); an
//!   event fetched by a wait that races with `delete` is dropped, so nothing is reported
//!   after `delete` returns; and [`Interest::NONE`] can be exact.
//! - **`Interest::NONE`.** The kernel always reports `EPOLLHUP`/`EPOLLERR`, even with an
//!   empty event mask, so a silenced fd would wake every wait. Silencing takes the fd out
//!   of the kernel's list (`EPOLL_CTL_DEL`) and keeps it in the table; re-enabling adds it
//!   back.
//! - **Closed fds.** The kernel forgets a closed fd by itself (unless a `dup` of it is
//!   still open). The table then holds a stale entry; an `add` of the reused fd number
//!   asks the kernel, and succeeds if the kernel no longer knows the fd.
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

mod sys;

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::Mutex;
use std::time::Duration;

use multipoll_core::backend::EventsExt;
use multipoll_core::backend::checks::check_registration;
use multipoll_core::backend::errors::{already_registered, not_registered, registration_error};
use multipoll_core::backend::notify::Notifier;
use multipoll_core::backend::readiness::Readiness;
use multipoll_core::backend::table::{FdTable, lock};
use multipoll_core::backend::timeout::{Deadline, retry_interrupted, timeout_ms, timeout_timespec};
use multipoll_core::fault::{self, Call};

pub use multipoll_core::{Capabilities, Event, Events, Interest, Mode, ModeSet, Poller};

#[derive(Clone, Copy, Debug)]
struct Registration {
    key: usize,
    interest: Interest,
}

/// The `epoll(7)` poller.
#[derive(Debug)]
pub struct Epoll {
    epfd: OwnedFd,
    notifier: Notifier,
    table: Mutex<FdTable<Registration>>,
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

/// The event for what the kernel reported on a registration.
#[inline]
fn to_event(bits: u32, reg: Registration) -> Event {
    // Data on a readable registration, and nothing else, is nearly every event of a busy
    // server: it needs none of the general mapping's cases (hang-up, error, interest
    // filtering), which cost ~50 instructions per event (callgrind). Same result.
    if bits == libc::EPOLLIN as u32 && reg.interest.is_readable() {
        return Event::new(reg.key).with_readable(true);
    }
    Readiness::from_poll_bits(bits as i32).to_event(reg.key, reg.interest)
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

    fn ctl(&self, op: libc::c_int, fd: RawFd, mask: u32) -> io::Result<()> {
        fault::inject(Call::Register)
            .and_then(|()| sys::epoll_ctl(self.epfd.as_raw_fd(), op, fd, mask, fd as u64))
            .map_err(|e| registration_error(fd, e))
    }

    fn wait_once(
        &self,
        buffer: &mut [libc::epoll_event],
        timeout: Option<Duration>,
    ) -> io::Result<usize> {
        fault::inject(Call::Wait)?;
        let epfd = self.epfd.as_raw_fd();
        if self.pwait2 {
            sys::epoll_pwait2(epfd, buffer, timeout.map(timeout_timespec))
        } else {
            sys::epoll_wait(epfd, buffer, timeout_ms(timeout))
        }
    }
}

impl Epoll {
    /// Waits into `buffer` and reports into `events` until something is reported, a
    /// notify arrives, or the deadline passes.
    fn wait_into(
        &self,
        events: &mut Events,
        buffer: &mut [libc::epoll_event],
        deadline: &Deadline,
    ) -> io::Result<usize> {
        let wake = self.notifier.fd().as_raw_fd();
        loop {
            let n = retry_interrupted(deadline, |left| self.wait_once(buffer, left))?;
            let mut woken = false;
            let table = lock(&self.table);
            for ev in &buffer[..n] {
                let fd = ev.u64 as RawFd;
                if fd == wake {
                    woken = true;
                    continue;
                }
                // Dropped when deleted or silenced while this wait was in the kernel.
                let Some(&reg) = table.get(fd) else {
                    continue;
                };
                events.push(to_event(ev.events, reg));
            }
            drop(table);
            if woken {
                self.notifier.drain();
            }
            if !events.is_empty() || woken || deadline.expired() {
                return Ok(events.len());
            }
        }
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
        sys::epoll_ctl(
            epfd.as_raw_fd(),
            libc::EPOLL_CTL_ADD,
            wake,
            libc::EPOLLIN as u32,
            wake as u64,
        )?;
        let pwait2 = sys::has_epoll_pwait2(epfd.as_raw_fd());
        Ok(Epoll { epfd, notifier, table: Mutex::new(FdTable::default()), pwait2 })
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
        let mut table = lock(&self.table);
        if table.get(fd).is_some_and(|r| r.interest.is_none()) {
            return Err(already_registered(fd));
        }
        if interest.is_none() {
            // Not in the kernel's list, but the kernel still has to say the fd is valid
            // and not already registered: add it, then take it out again.
            self.ctl(libc::EPOLL_CTL_ADD, fd, 0)?;
            self.ctl(libc::EPOLL_CTL_DEL, fd, 0)?;
        } else {
            // A stale entry (fd closed without delete) is replaced when the kernel agrees.
            self.ctl(libc::EPOLL_CTL_ADD, fd, event_mask(interest, mode))?;
        }
        table.insert(fd, Registration { key, interest });
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
        let mut table = lock(&self.table);
        let entry = table.get_mut(fd).ok_or_else(|| not_registered(fd))?;
        match (entry.interest.is_none(), interest.is_none()) {
            (true, true) => {}
            (true, false) => self.ctl(libc::EPOLL_CTL_ADD, fd, event_mask(interest, mode))?,
            (false, true) => self.ctl(libc::EPOLL_CTL_DEL, fd, 0)?,
            (false, false) => self.ctl(libc::EPOLL_CTL_MOD, fd, event_mask(interest, mode))?,
        }
        *entry = Registration { key, interest };
        Ok(())
    }

    fn delete(&self, fd: BorrowedFd<'_>) -> io::Result<()> {
        let fd = fd.as_raw_fd();
        let mut table = lock(&self.table);
        let old = *table.get(fd).ok_or_else(|| not_registered(fd))?;
        if !old.interest.is_none() {
            match self.ctl(libc::EPOLL_CTL_DEL, fd, 0) {
                // The kernel already forgot it (closed and reopened): forget it too.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                other => other?,
            }
        }
        table.remove(fd);
        Ok(())
    }

    fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<usize> {
        events.clear();
        let deadline = Deadline::after(timeout);
        // The kernel's array lives with the caller's `Events`: no lock or allocation for it,
        // and threads waiting at once each have their own (only the table is locked, once
        // per pass, to map what the kernel returned).
        let mut buffer: Box<Vec<libc::epoll_event>> = events.take_scratch();
        // Never more than `events` holds: an event the kernel hands over is consumed (a
        // oneshot fd is disarmed, an edge is spent), so one that did not fit would be lost.
        let want = events.capacity().min(i32::MAX as usize);
        buffer.resize(want, libc::epoll_event { events: 0, u64: 0 });
        let result = self.wait_into(events, &mut buffer, &deadline);
        events.put_scratch(buffer);
        result
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
        for interest in interests {
            for b in bits {
                let reg = Registration { key: 7, interest };
                let general = Readiness::from_poll_bits(b).to_event(7, interest);
                assert_eq!(to_event(b as u32, reg), general, "{interest:?} {b:#x}");
            }
        }
    }
}
