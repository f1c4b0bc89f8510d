//! The `Kqueue` poller: the registration table, the `kevent` calls and the wait loop; the
//! changes it makes are planned in `changes.rs`, what it reports is decided in `record.rs`.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use multipoll_core::backend::EventsExt;
use multipoll_core::backend::checks::{check_file, check_registration};
use multipoll_core::backend::errors::{already_registered, not_registered, registration_error};
use multipoll_core::backend::file::pollable_file;
use multipoll_core::backend::notify::Notifier;
use multipoll_core::backend::table::{FdTable, lock};
use multipoll_core::backend::wait::wait_until;
use multipoll_core::{Capabilities, Event, Events, Interest, Mode, ModeSet, Poller, RESERVED_KEY};

use crate::changes::{self, Change, Request};
use crate::kevent::{Filter, Kevent};
use crate::record::{self, Record};
use crate::{sys, timeouts};

// Every mode (`EV_CLEAR`, `EV_DISPATCH`); the timeout precision this kernel's `kevent`
// really has (`timeouts.rs`: nanoseconds on FreeBSD and Apple's systems, a clock tick
// elsewhere). No priority interest: `EVFILT_EXCEPT` (FreeBSD) and `EV_OOBAND`/`NOTE_OOB`
// (macOS) differ and cannot be run here, so `add` refuses it with `Unsupported` rather
// than guess.
const CAPABILITIES: Capabilities = Capabilities::new("kqueue", ModeSet::of(Mode::ALL))
    .with_timeout_precision(timeouts::timeout_precision(std::env::consts::OS));

/// How `notify` wakes a waiter.
#[derive(Debug)]
enum Wake {
    /// An `EVFILT_USER` knote.
    User,
    /// A pipe, where the kernel has no `EVFILT_USER`.
    Pipe(Notifier),
}

/// The user-space record of the registrations, and the count of reports.
#[derive(Debug, Default)]
struct Table {
    fds: FdTable<Record>,
    /// Counts the reports of all waiters, so that a oneshot record can tell "reported by this
    /// report" from "by another" (an earlier wait, or a waiter running at the same time).
    round: u64,
}

/// The `kqueue(2)` backend, FreeBSD, macOS, NetBSD, OpenBSD, DragonFly: the kernel keeps
/// the registrations, and a wait costs O(ready fds). multipoll's default there.
///
/// Create it with [`Kqueue::new()`](Poller::new) and use it through the [`Poller`] trait.
/// Every [`Mode`] natively (`EV_CLEAR`, `EV_DISPATCH`, both);
/// [`PRIORITY`](Interest::PRIORITY) interest is `Unsupported`; nanosecond timeouts. It is
/// [`AsFd`], so it can be nested in another poller. See the
/// [`multipoll-kqueue` crate docs](https://docs.rs/multipoll-kqueue) for how it maps the
/// contract.
#[derive(Debug)]
pub struct Kqueue {
    kq: OwnedFd,
    wake: Wake,
    table: Mutex<Table>,
}

impl Kqueue {
    /// Applies a registration's changelist; if it fails part-way, puts the knotes back
    /// as `old` had them, so that a failed call changes nothing.
    fn apply(&self, fd: RawFd, changes: &[Change], old: Option<&Record>) -> io::Result<()> {
        let Err(err) = self.submit(fd, changes) else {
            return Ok(());
        };
        let restore =
            changes::restore(fd, old.map(|r| r.request), old.is_some_and(Record::is_disarmed));
        match self.submit(fd, &restore) {
            Ok(()) => Err(err),
            Err(again) => Err(io::Error::new(
                err.kind(),
                format!("{err}; restoring the previous registration failed too: {again}"),
            )),
        }
    }

    /// Applies `changes` for `fd`, with the contract's error for a failed call (a failed
    /// change already has one, from its receipt).
    fn submit(&self, fd: RawFd, changes: &[Change]) -> io::Result<()> {
        sys::apply(self.kq.as_fd(), changes).map_err(|e| registration_error(fd, e))
    }

    /// Whether `old`, the table's record for `fd`, is stale: the kernel dropped its knotes
    /// when the fd was closed, and the number now names another file.
    fn is_stale(&self, fd: RawFd, old: &Record) -> io::Result<bool> {
        match old.probe(fd) {
            Some(probe) => record::probe_says_gone(self.submit(fd, &[probe])),
            // Interest::NONE: no knote, nothing the kernel could have dropped.
            None => Ok(false),
        }
    }

    fn is_wake(&self, kev: &Kevent) -> bool {
        match &self.wake {
            Wake::User => kev.filter == Some(Filter::User),
            Wake::Pipe(pipe) => {
                kev.filter == Some(Filter::Read)
                    && kev.udata == RESERVED_KEY
                    && usize::try_from(pipe.fd().as_raw_fd()) == Ok(kev.ident)
            }
        }
    }

    /// The event for one kevent the wait returned; `None` for the wake-up (then `woken`
    /// is set) and for stale ones.
    ///
    /// Every event is checked against the table under its lock (taken at the first
    /// kevent, after the syscall, and kept for the rest of the list), so that nothing is
    /// reported after `delete` or `modify(NONE)` returned, even when the kernel handed the
    /// event out just before, and so that a oneshot registration is reported by one waiter
    /// only.
    fn event<'a>(
        &'a self,
        returned: &libc::kevent,
        table: &mut Option<MutexGuard<'a, Table>>,
        woken: &mut bool,
    ) -> Option<Event> {
        let kev = sys::from_libc(returned);
        if self.is_wake(&kev) {
            *woken = true;
            return None;
        }
        let fd = RawFd::try_from(kev.ident).ok()?;
        let table = &mut **table.get_or_insert_with(|| {
            let mut table = lock(&self.table);
            table.round = table.round.wrapping_add(1);
            table
        });
        // Deleted since the kernel handed the event out.
        let entry = table.fds.get_mut(fd)?;
        entry.on_kevent(&kev, table.round)
    }

    /// One turn of the wait rule ([`wait_until`]): one `kevent` call into the eventlist
    /// kept in the caller's `Events`, with no lock held across it (threads waiting at once
    /// each enter the kernel with their own list and timeout), its events checked against
    /// the table and merged per fd; whether a notify woke it. A turn that ends with nothing
    /// (only stale events: deleted, silenced, or a reported oneshot's; or a capped timeout
    /// ran out) makes the rule wait again with the time that is left.
    fn turn(&self, events: &mut Events, left: Option<Duration>) -> io::Result<bool> {
        let (mut table, mut woken) = (None, false);
        let (list, mut sink) = events.kernel_array(sys::MAX_EVENTS, sys::blank());
        let filled = sys::wait(self.kq.as_fd(), list, left)?;
        for returned in &list[..filled.min(list.len())] {
            if let Some(event) = self.event(&returned.0, &mut table, &mut woken) {
                sink.push(event);
            }
        }
        // The pushed events become part of `events` when the sink goes, before the merge.
        drop(sink);
        drop(table);
        if let (true, Wake::Pipe(pipe)) = (woken, &self.wake) {
            pipe.drain();
        }
        events.merge_same_keys();
        Ok(woken)
    }
}

impl Poller for Kqueue {
    fn new() -> io::Result<Self> {
        let kq = sys::kqueue()?;
        let wake = match sys::apply(kq.as_fd(), &[Change::user_wake()]) {
            Ok(()) => Wake::User,
            // No EVFILT_USER in this kernel (NetBSD < 10, OpenBSD < 7.8): EINVAL.
            Err(e) if e.kind() == io::ErrorKind::InvalidInput => {
                let pipe = Notifier::new()?;
                let fd = pipe.fd().as_raw_fd();
                sys::apply(kq.as_fd(), &[Change::pipe_wake(fd)])?;
                Wake::Pipe(pipe)
            }
            Err(e) => return Err(e),
        };
        Ok(Kqueue { kq, wake, table: Mutex::new(Table::default()) })
    }

    fn add(
        &self,
        fd: BorrowedFd<'_>,
        key: usize,
        interest: Interest,
        mode: Mode,
    ) -> io::Result<()> {
        check_registration(&CAPABILITIES, key, interest, mode)?;
        let raw = fd.as_raw_fd();
        let mut table = lock(&self.table);
        if let Some(&old) = table.fds.get(raw) {
            if !self.is_stale(raw, &old)? {
                return Err(already_registered(raw));
            }
            // Closed and its number reused: the kernel has forgotten it, so do we.
            table.fds.remove(raw);
        }
        let request = Request { key, interest, mode };
        let changes = changes::plan(raw, None, Some(request));
        if changes.is_empty() {
            // Interest::NONE touches no knote, so the kernel cannot check the fd.
            check_file(raw)?;
        } else {
            // EVFILT_READ takes a regular file or directory (always ready) where the other
            // backends refuse it: the same check, without a second fault point.
            pollable_file(raw)?;
        }
        self.apply(raw, &changes, None)?;
        table.fds.insert(raw, Record::new(request));
        Ok(())
    }

    fn modify(
        &self,
        fd: BorrowedFd<'_>,
        key: usize,
        interest: Interest,
        mode: Mode,
    ) -> io::Result<()> {
        check_registration(&CAPABILITIES, key, interest, mode)?;
        let raw = fd.as_raw_fd();
        let mut table = lock(&self.table);
        let record = table.fds.get_mut(raw).ok_or_else(|| not_registered(raw))?;
        let old = *record;
        let request = Request { key, interest, mode };
        self.apply(raw, &changes::plan(raw, Some(old.request), Some(request)), Some(&old))?;
        // A fresh record: re-armed if it was a reported oneshot.
        *record = Record::new(request);
        Ok(())
    }

    fn delete(&self, fd: BorrowedFd<'_>) -> io::Result<()> {
        let raw = fd.as_raw_fd();
        let mut table = lock(&self.table);
        let old = *table.fds.get(raw).ok_or_else(|| not_registered(raw))?;
        self.apply(raw, &changes::plan(raw, Some(old.request), None), Some(&old))?;
        table.fds.remove(raw);
        Ok(())
    }

    fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<usize> {
        wait_until(events, timeout, |events, left| self.turn(events, left))
    }

    fn notify(&self) -> io::Result<()> {
        match &self.wake {
            Wake::User => sys::trigger(self.kq.as_fd()),
            Wake::Pipe(pipe) => pipe.wake(),
        }
    }

    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }
}

/// The kqueue fd itself, so that this poller can be registered in another poller (or an
/// async runtime's reactor): a kqueue is itself pollable, readable while it holds pending
/// events, a triggered notify included (FreeBSD's `kqueue_poll` and `filt_kqueue` in
/// `sys/kern/kern_event.c`). Use it to watch, never to change the knotes behind the
/// backend's back. Not run here (see docs/backends.md): `crates/multipoll/tests/nesting.rs`
/// checks it on a BSD or macOS host.
impl AsFd for Kqueue {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.kq.as_fd()
    }
}
