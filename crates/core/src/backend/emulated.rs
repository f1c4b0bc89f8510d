//! The [`Poller`] contract for kernels that keep no registrations: `poll(2)` and
//! `select(2)` take the whole interest set on every call, so the registrations live here,
//! in user space, once for both.
//!
//! [`Emulated<S>`] owns the registration table, emulates [`Mode::Oneshot`] (a reported
//! oneshot fd is left out of the next set until `modify` re-arms it), rebuilds the set only
//! when a registration changed, wakes the blocked waiters when another thread changes one,
//! lets several threads wait at once (each with its own set, see [`PerWaiter`]), rotates
//! where reporting starts so no ready fd starves when `Events` is full, turns a
//! closed-while-registered fd into one `error` event, and lets `add` replace the
//! registration of a closed fd whose number a new file has taken (told apart by
//! [`FileId`]; on Windows nothing tells sockets apart, see there). A backend supplies only
//! a [`ReadinessSyscall`]: how to lay out the set, make the call and read the result.
//!
//! The same code serves Windows' `WSAPoll` and Winsock `select`: there the fd is a
//! `SOCKET`, the wake-up a loopback socket pair ([`Notifier`]), and only open sockets are
//! accepted by `add`.

use std::io;
use std::ops::Range;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use crate::backend::checks::{check_file, check_max_fd, check_registration};
use crate::backend::errors::{already_registered, not_registered};
use crate::backend::file::FileId;
use crate::backend::notify::Notifier;
use crate::backend::per_waiter::PerWaiter;
use crate::backend::readiness::Readiness;
use crate::backend::table::{FdTable, lock};
use crate::backend::wait::wait_until;
use crate::backend::{EventsExt, raw_source};
use crate::fault::{self, Call};
use crate::{Capabilities, Events, Interest, Mode, ModeSet, Poller, RawSource, Source};

/// One readiness syscall that takes its interest set on every call (`poll`, `select`).
///
/// The implementation holds the syscall's buffers. [`Emulated`] makes one per thread that
/// is in `wait` at the same time, and calls each from one thread at a time.
pub trait ReadinessSyscall: Send + Sized + 'static {
    /// The backend's name in [`Capabilities::name`].
    const NAME: &'static str;
    /// The finest timeout the syscall honours.
    const TIMEOUT_PRECISION: Duration;
    /// Whether pending socket errors are visible (see [`Capabilities::reports_errors`]).
    const REPORTS_ERRORS: bool;
    /// Whether a hang-up is seen while data is queued (see [`Capabilities::early_hangup`]).
    const EARLY_HANGUP: bool;
    /// Whether [`Interest::PRIORITY`] can be watched (see [`Capabilities::priority`]).
    const PRIORITY: bool = true;

    /// The largest fd the syscall accepts, or `None` for only the process limit.
    fn max_fd() -> Option<RawSource>;

    /// Allocates the syscall's buffers.
    ///
    /// # Errors
    /// Whatever setting up the syscall needs that may fail.
    fn new() -> io::Result<Self>;

    /// Replaces the watched set: `wake` (readable interest), then `fds`, which come in
    /// ascending fd order (a syscall that scans by fd, like select's bit sets, may count on
    /// it).
    fn rebuild(&mut self, wake: RawSource, fds: &[(RawSource, Interest)]);

    /// One call into the kernel with the set of the last `rebuild`. `EINTR` is returned as
    /// is; [`Emulated`] retries it. A closed fd in the set must not fail the call forever:
    /// report it as [`Readiness::closed`] instead.
    ///
    /// # Errors
    /// The syscall's OS errors.
    fn wait(&mut self, timeout: Option<Duration>) -> io::Result<()>;

    /// Whether the wake fd was reported readable by the last `wait`.
    fn woken(&self) -> bool;

    /// Calls `report(index, fd, readiness)` for each entry of `range` (indices into the
    /// `fds` of the last `rebuild`) that the last `wait` reported anything for, in index
    /// order, until `report` returns false; returns false if it stopped so.
    ///
    /// This is the wait's hot loop, over every watched fd: an entry with nothing to report
    /// should cost a load and a test, not a call or a [`Readiness`]; and `report` should
    /// inline into it (a plain loop that calls it, no closure between).
    fn scan(
        &self,
        range: Range<usize>,
        report: impl FnMut(usize, RawSource, Readiness) -> bool,
    ) -> bool;
}

/// One registration in the table: what the syscall's set watches for one fd.
#[derive(Clone, Copy, Debug)]
struct Watch {
    key: usize,
    interest: Interest,
    mode: Mode,
    /// False once a oneshot registration has been reported, until `modify`.
    armed: bool,
    /// The file registered: a new file under the number (the old one closed without
    /// `delete`) is not this registration's.
    file: FileId,
}

impl Watch {
    /// Whether the fd is in the syscall's set (an armed registration with some interest).
    fn is_watched(&self) -> bool {
        self.armed && !self.interest.is_none()
    }

    /// What this registration puts in the syscall's set (`None`: nothing). A change that
    /// keeps it (a new key or mode) needs no rebuild and no wake-up.
    fn in_set(&self) -> Option<Interest> {
        self.is_watched().then_some(self.interest)
    }
}

#[derive(Debug, Default)]
struct Table {
    watches: FdTable<Watch>,
    /// Bumped by every change that alters the watched set.
    generation: u64,
}

/// One waiter's copy of the watched set and the syscall's buffers.
#[derive(Debug)]
struct WaiterSet<S> {
    syscall: S,
    fds: Vec<(RawSource, Interest)>,
    generation: u64,
    /// Where the next report starts, so a full `Events` does not starve later fds.
    cursor: usize,
}

/// The poller type of the backends whose kernel call keeps no registrations: `poll(2)`
/// and `select(2)`. multipoll's `Poll` is `Emulated<PollSyscall>` and `Select` is
/// `Emulated<SelectSyscall>`; use them through the [`Poller`] trait.
///
/// It keeps the registrations in user space, emulates [`Mode::Oneshot`] (the edge modes
/// are `Unsupported`), and hands each wait's fd set to the [`ReadinessSyscall`] `S`, which
/// is only the syscall.
#[derive(Debug)]
pub struct Emulated<S> {
    table: Mutex<Table>,
    sets: PerWaiter<WaiterSet<S>>,
    notifier: Notifier,
    notified: AtomicBool,
    /// How many threads are (about to be) in the syscall, so a registration change from
    /// another thread knows to wake them; a change with no waiter costs no syscall.
    waiters: AtomicUsize,
}

impl<S: ReadinessSyscall> Emulated<S> {
    fn capabilities_of() -> Capabilities {
        Capabilities::new(S::NAME, ModeSet::of(&[Mode::Level, Mode::Oneshot]))
            .with_max_fd(S::max_fd())
            .with_timeout_precision(S::TIMEOUT_PRECISION)
            .with_reports_errors(S::REPORTS_ERRORS)
            .with_early_hangup(S::EARLY_HANGUP)
            .with_priority(S::PRIORITY)
    }

    /// Applies `change` under the table lock and wakes a blocked waiter if the set changed.
    /// `change` returns whether the watched set changed.
    fn change(&self, change: impl FnOnce(&mut Table) -> io::Result<bool>) -> io::Result<()> {
        let mut table = lock(&self.table);
        if !change(&mut table)? {
            return Ok(());
        }
        table.generation = table.generation.wrapping_add(1);
        if self.waiters.load(Ordering::Acquire) > 0 {
            self.notifier.wake()?;
        }
        Ok(())
    }

    /// Reports what the last syscall found, in rotation order; returns whether a
    /// registration changed (oneshot disarmed, closed fd dropped).
    fn collect(&self, set: &mut WaiterSet<S>, events: &mut Events) -> bool {
        let mut table = lock(&self.table);
        let n = set.fds.len();
        let start = if n == 0 { 0 } else { set.cursor % n };
        let mut changed = false;
        // Looked up again, not taken from `set.fds`: the registration may have changed
        // while this waiter was in the kernel (a new key, a delete, a oneshot another
        // waiter reported).
        let mut report = |index: usize, fd: RawSource, readiness: Readiness| {
            let Some(watch) = table.watches.get_mut(fd) else {
                return true;
            };
            if !watch.is_watched() {
                return true;
            }
            let event = readiness.to_event(watch.key, watch.interest);
            if event.is_empty() {
                return true;
            }
            if !events.push(event) {
                // Full: the next wait starts its report here.
                set.cursor = index;
                return false;
            }
            if readiness.closed {
                table.watches.remove(fd);
                changed = true;
            } else if watch.mode.is_oneshot() {
                watch.armed = false;
                changed = true;
            }
            true
        };
        if set.syscall.scan(start..n, &mut report) {
            set.syscall.scan(0..start, &mut report);
        }
        if changed {
            table.generation = table.generation.wrapping_add(1);
        }
        changed
    }

    fn wait_once(&self, set: &mut WaiterSet<S>, timeout: Option<Duration>) -> io::Result<()> {
        {
            let table = lock(&self.table);
            if table.generation != set.generation {
                set.fds.clear();
                set.fds.extend(
                    table
                        .watches
                        .iter()
                        .filter(|(_, e)| e.is_watched())
                        .map(|(fd, e)| (fd, e.interest)),
                );
                set.syscall.rebuild(raw_source(self.notifier.fd()), &set.fds);
                set.generation = table.generation;
            }
            self.waiters.fetch_add(1, Ordering::AcqRel);
        }
        let result = fault::inject(Call::Wait).and_then(|()| set.syscall.wait(timeout));
        self.waiters.fetch_sub(1, Ordering::AcqRel);
        result
    }

    fn new_waiter_set() -> io::Result<WaiterSet<S>> {
        // A generation the table never starts at, so the first wait builds the set.
        Ok(WaiterSet { syscall: S::new()?, fds: Vec::new(), generation: u64::MAX, cursor: 0 })
    }

    /// One turn of the wait rule ([`wait_until`]): the syscall, the drain of the wake-up
    /// fd, the report; whether a notify woke it. A wake-up only because a registration
    /// changed, or by a notify another waiter took, reports nothing and so waits again,
    /// on the new set.
    fn turn(
        &self,
        set: &mut WaiterSet<S>,
        events: &mut Events,
        left: Option<Duration>,
    ) -> io::Result<bool> {
        self.wait_once(set, left)?;
        if set.syscall.woken() {
            self.notifier.drain();
        }
        self.collect(set, events);
        // Checked after the drain: a notify racing with it is seen here or leaves its
        // byte for the next wait (see `Notifier::drain`).
        Ok(self.notified.swap(false, Ordering::AcqRel))
    }
}

impl<S: ReadinessSyscall> Poller for Emulated<S> {
    fn new() -> io::Result<Self> {
        let notifier = Notifier::new()?;
        check_max_fd(&Self::capabilities_of(), raw_source(notifier.fd()))?;
        Ok(Emulated {
            table: Mutex::new(Table::default()),
            sets: PerWaiter::new(Self::new_waiter_set()?),
            notifier,
            notified: AtomicBool::new(false),
            waiters: AtomicUsize::new(0),
        })
    }

    fn add(&self, fd: Source<'_>, key: usize, interest: Interest, mode: Mode) -> io::Result<()> {
        let caps = Self::capabilities_of();
        check_registration(&caps, key, interest, mode)?;
        let raw = raw_source(fd);
        check_max_fd(&caps, raw)?;
        let file = check_file(raw)?;
        self.change(|table| {
            // Another file under the number: the registered one was closed without
            // `delete`, and the kernel of every other backend has forgotten it, so it is
            // replaced. A silenced one stays, as everywhere: nothing watched it close.
            if table.watches.get(raw).is_some_and(|old| old.file == file || old.interest.is_none())
            {
                return Err(already_registered(raw));
            }
            let watch = Watch { key, interest, mode, armed: true, file };
            let old = table.watches.insert(raw, watch);
            Ok(old.and_then(|old| old.in_set()) != watch.in_set())
        })
    }

    fn modify(&self, fd: Source<'_>, key: usize, interest: Interest, mode: Mode) -> io::Result<()> {
        check_registration(&Self::capabilities_of(), key, interest, mode)?;
        let raw = raw_source(fd);
        self.change(|table| {
            let watch = table.watches.get_mut(raw).ok_or_else(|| not_registered(raw))?;
            let file = watch.file;
            let old = std::mem::replace(watch, Watch { key, interest, mode, armed: true, file });
            Ok(old.in_set() != watch.in_set())
        })
    }

    fn delete(&self, fd: Source<'_>) -> io::Result<()> {
        let raw = raw_source(fd);
        self.change(|table| {
            let old = table.watches.remove(raw).ok_or_else(|| not_registered(raw))?;
            Ok(old.in_set().is_some())
        })
    }

    fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<usize> {
        // Each waiter its own set, so none queues behind another (see `PerWaiter`).
        self.sets.with(Self::new_waiter_set, |set| {
            wait_until(events, timeout, |events, left| self.turn(set, events, left))
        })
    }

    fn notify(&self) -> io::Result<()> {
        self.notified.store(true, Ordering::Release);
        self.notifier.wake()
    }

    fn capabilities(&self) -> Capabilities {
        Self::capabilities_of()
    }
}
