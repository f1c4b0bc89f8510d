//! The platform-neutral half of the backend: which `kevent` changes a registration change
//! needs, and what a returned `kevent` means. Plain Rust, so it compiles and is unit-tested
//! on Linux too; `sys.rs` only converts these types to and from `libc::kevent`.
//!
//! The man pages quoted here are FreeBSD's kqueue(2) and macOS's kqueue(2) (xnu
//! `bsd/man/man2/kqueue.2`), which say the same in every line quoted unless noted.
//!
//! # The kernel state this keeps
//!
//! A registration with interest `I` and mode `M` has one knote per direction in `I` (an
//! `EVFILT_READ` and/or an `EVFILT_WRITE`), created with the flags of `M`, and none for
//! the other direction; [`Interest::NONE`] has no knote at all (its registration lives only
//! in user space). [`plan`] computes the changes that move the kernel from one such state
//! to another, and is the only place that decides them.
//!
//! kqueue(2), `EV_ADD`: "Re-adding an existing event will modify the parameters of the
//! original event, and not result in a duplicate entry. Adding an event automatically
//! enables it". The parameters it modifies are `udata`, `fflags` and `data` (FreeBSD's and
//! xnu's `kqueue_register`/`kevent_register`); `EV_CLEAR`/`EV_DISPATCH` stay as the knote
//! was created. So a mode change deletes and re-adds the knote, while a same-mode `modify`
//! is one `EV_ADD | EV_ENABLE`, which also re-arms a oneshot knote and makes the kernel
//! re-check readiness at once.
//!
//! # Oneshot
//!
//! [`Mode::Oneshot`] uses `EV_DISPATCH` (FreeBSD kqueue(2): "Disable the event source
//! immediately after delivery of an event"; macOS has the flag in `<sys/event.h>`, "disable
//! event after reporting", though its man page omits it): the kernel keeps the knote, so
//! re-arming is an `EV_ENABLE` (no allocation), `delete` always finds it, and the kernel
//! state never drifts from the user-space record (with `EV_ONESHOT` the knote would vanish
//! on delivery). But the contract's "reported once until re-armed" is about the fd, and with
//! interest `BOTH` the fd has two knotes, each disabled only when it is itself delivered.
//! So the user-space [`Entry`] disarms the whole registration on its first report, under the
//! table lock that every waiter takes to report, folds the other direction into the same
//! event if the same `wait` returned it too, and drops anything later: a waiter running at
//! the same time, or a later `wait` that gets the other knote, reports nothing. That other
//! knote is left enabled: it is an `EV_DISPATCH` knote too, so the kernel returns it at most
//! once more (dropped here) and then disables it. Disabling it at once would cost a `kevent`
//! call on every report, made under the lock all waiters share, to save at most one stale
//! kernel event per arming.
//!
//! # Closed fds
//!
//! kqueue(2): "Calling close() on a file descriptor will remove any kevents that reference
//! the descriptor." The user-space table cannot see that, so when `add` finds the fd number
//! already registered, it lets the kernel decide: [`Entry::probe`] is a change that leaves a
//! live knote as it is and fails with `ENOENT` ("The event could not be found to be
//! modified or deleted", kqueue(2) ERRORS) when the knote is gone, and [`probe_says_gone`]
//! reads its outcome. A registration with [`Interest::NONE`] has no knote to ask: as the
//! contract says, it stays until `delete`.

use std::io;
use std::os::fd::RawFd;

use multipoll_core::backend::errors::registration_error;
use multipoll_core::backend::readiness::Readiness;
use multipoll_core::{Event, Interest, Mode};

/// The `EV_*` bits used here. They are equal on every BSD and macOS; `sys.rs` asserts that
/// at compile time for each target, so conversion is a plain widening.
pub(crate) mod ev {
    /// Add the knote (or update an existing one).
    pub(crate) const ADD: u16 = 0x0001;
    /// Remove the knote.
    pub(crate) const DELETE: u16 = 0x0002;
    /// Let the knote report.
    pub(crate) const ENABLE: u16 = 0x0004;
    /// Keep the knote but stop it reporting.
    pub(crate) const DISABLE: u16 = 0x0008;
    /// Edge: reset the knote's state once it is reported.
    pub(crate) const CLEAR: u16 = 0x0020;
    /// Return a receipt for the change instead of draining pending events.
    pub(crate) const RECEIPT: u16 = 0x0040;
    /// Disable the knote once it is reported.
    pub(crate) const DISPATCH: u16 = 0x0080;
    /// Receipt (with `data` = errno, 0 for success), or a failed change.
    pub(crate) const ERROR: u16 = 0x4000;
    /// End of file: the peer closed; `fflags` holds a pending socket error, if any.
    pub(crate) const EOF: u16 = 0x8000;
}

/// The filters this backend uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Filter {
    /// `EVFILT_READ`.
    Read,
    /// `EVFILT_WRITE`.
    Write,
    /// `EVFILT_USER`, the wake-up of `notify`.
    User,
}

impl Filter {
    /// The fd filters, in the order changes are made.
    const FD: [Filter; 2] = [Filter::Read, Filter::Write];

    fn wanted_by(self, interest: Interest) -> bool {
        match self {
            Filter::Read => interest.is_readable(),
            Filter::Write => interest.is_writable(),
            Filter::User => false,
        }
    }
}

/// The fields of a returned `struct kevent` that this backend reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Kevent {
    /// The fd (0 for the user event).
    pub(crate) ident: usize,
    /// `None` for a filter this backend never registers.
    pub(crate) filter: Option<Filter>,
    /// `EV_*` bits.
    pub(crate) flags: u16,
    /// With `EV_EOF`: the pending socket error, if any.
    pub(crate) fflags: u32,
    /// For a receipt: the errno of the change, 0 for success.
    pub(crate) data: i64,
    /// The key given at registration ([`multipoll_core::RESERVED_KEY`] for the wake-up).
    pub(crate) udata: usize,
}

impl Kevent {
    /// What one returned knote says. A knote reports one direction, so an fd with both
    /// knotes ready comes back as two `Kevent`s, merged by `EventsExt::merge_same_keys`.
    ///
    /// `EV_EOF` is a hang-up (and makes a read return end of file at once, so the fd is
    /// readable too). kqueue(2), `EVFILT_READ` on sockets: "If the read direction of the
    /// socket has shutdown, then the filter also sets EV_EOF in flags, and returns the
    /// socket error (if any) in fflags"; `EVFILT_WRITE`: "For sockets, the low water mark
    /// and socket error handling is identical to the EVFILT_READ case". So a nonzero
    /// `fflags` with `EV_EOF` is the error; pipes set `EV_EOF` ("When the last writer
    /// disconnects", "when the reader disconnects") with no error.
    pub(crate) fn readiness(&self) -> Readiness {
        let eof = self.flags & ev::EOF != 0;
        // Not expected from a wait without changes, but if the kernel reports a failed
        // knote, say so rather than drop it.
        let failed = self.flags & ev::ERROR != 0 && self.data != 0;
        Readiness {
            readable: self.filter == Some(Filter::Read) || eof || failed,
            writable: self.filter == Some(Filter::Write) || failed,
            hangup: eof,
            error: eof && self.fflags != 0 || failed,
            // Priority interest is refused (`Capabilities::priority` is false): no
            // `EVFILT_EXCEPT`/`NOTE_OOB` knote is ever made.
            priority: false,
            closed: false,
        }
    }
}

/// One knote change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    /// `EV_ADD | EV_ENABLE` with the mode's flags: creates, updates or re-arms the knote.
    Add(Mode),
    /// `EV_DELETE`.
    Delete,
    /// `EV_DISABLE`: keeps a rolled-back oneshot registration that was reported silent.
    Disable,
    /// `EV_ENABLE` (`true`) or `EV_DISABLE` (`false`) alone, as the knote already is: asks
    /// whether the knote exists without changing it ([`Entry::probe`]).
    Probe(bool),
}

/// One entry of a `kevent` changelist.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Change {
    /// The fd (the ident; 0 for the user event).
    pub(crate) fd: RawFd,
    pub(crate) filter: Filter,
    pub(crate) action: Action,
    /// The registration's key; the kernel hands it back in every event of the knote.
    pub(crate) udata: usize,
}

impl Change {
    const fn new(fd: RawFd, filter: Filter, action: Action, udata: usize) -> Change {
        Change { fd, filter, action, udata }
    }

    /// The `EVFILT_USER` knote behind `notify`: `EV_CLEAR`, so that any number of triggers
    /// before a wait are reported (and reset) once.
    pub(crate) const fn user_wake() -> Change {
        Change::new(0, Filter::User, Action::Add(Mode::Edge), multipoll_core::RESERVED_KEY)
    }

    /// The read end of the wake-up pipe, where there is no `EVFILT_USER`: level-triggered,
    /// so it reports until `wait` drains it.
    pub(crate) const fn pipe_wake(fd: RawFd) -> Change {
        Change::new(fd, Filter::Read, Action::Add(Mode::Level), multipoll_core::RESERVED_KEY)
    }

    /// The `EV_*` flags of this change. Every change asks for a receipt, so that its error
    /// comes back attributed to it and the call never drains pending events. kqueue(2),
    /// `EV_RECEIPT`: "useful for making bulk changes to a kqueue without draining any
    /// pending events. When passed as input, it forces EV_ERROR to always be returned.
    /// When a filter is successfully added the data field will be zero."
    pub(crate) fn flags(&self) -> u16 {
        ev::RECEIPT
            | match self.action {
                Action::Add(mode) => ev::ADD | ev::ENABLE | mode_flags(mode),
                Action::Delete => ev::DELETE,
                Action::Disable | Action::Probe(false) => ev::DISABLE,
                Action::Probe(true) => ev::ENABLE,
            }
    }

    /// Whether the receipt errno `errno` still means "done".
    fn tolerates(&self, errno: i32) -> bool {
        match self.action {
            // The knote is already gone: the fd was closed (EBADF: the kernel dropped its
            // knotes on close; ENOENT: and its number was reused), or a rollback deletes
            // what was never added. Either way the registration can go, so that the fd
            // number can be added again.
            // Disable: the fd was closed since the event that asked for it.
            Action::Delete | Action::Disable => errno == libc::ENOENT || errno == libc::EBADF,
            // macOS: adding a pipe whose other end is closed fails with EPIPE, yet the knote
            // is in place and reports the hang-up (seen on OS X 10.10/10.11; mio#582).
            Action::Add(_) => errno == libc::EPIPE,
            // Its ENOENT is the answer the caller asked for.
            Action::Probe(_) => false,
        }
    }
}

/// `EV_CLEAR` for the edge modes, `EV_DISPATCH` for the oneshot ones (both for
/// `EdgeOneshot`: the knote resets its state on delivery and is disabled until re-armed).
fn mode_flags(mode: Mode) -> u16 {
    let mut flags = 0;
    if mode.is_edge() {
        flags |= ev::CLEAR;
    }
    if mode.is_oneshot() {
        flags |= ev::DISPATCH;
    }
    flags
}

/// A short changelist on the stack: one `add`/`modify`/`delete` needs at most two changes
/// per filter, a rollback three.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ChangeList {
    items: [Change; 6],
    len: usize,
}

impl ChangeList {
    fn new() -> ChangeList {
        let unused = Change::new(-1, Filter::Read, Action::Delete, 0);
        ChangeList { items: [unused; 6], len: 0 }
    }

    fn push(&mut self, fd: RawFd, filter: Filter, action: Action, udata: usize) {
        self.items[self.len] = Change::new(fd, filter, action, udata);
        self.len += 1;
    }
}

impl std::ops::Deref for ChangeList {
    type Target = [Change];

    fn deref(&self) -> &[Change] {
        &self.items[..self.len]
    }
}

/// What the user asked for in `add`/`modify`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Registration {
    pub(crate) key: usize,
    pub(crate) interest: Interest,
    pub(crate) mode: Mode,
}

impl Registration {
    fn wants(&self, filter: Filter) -> bool {
        filter.wanted_by(self.interest)
    }
}

/// The changes that take fd's knotes from `old` to `new` (`None`: not registered), in one
/// changelist, so that `add`, `modify` and `delete` are one `kevent` call each.
pub(crate) fn plan(fd: RawFd, old: Option<Registration>, new: Option<Registration>) -> ChangeList {
    let mut list = ChangeList::new();
    for filter in Filter::FD {
        let was = old.filter(|r| r.wants(filter));
        let will = new.filter(|r| r.wants(filter));
        match (was, will) {
            (None, None) => {}
            (Some(_), None) => list.push(fd, filter, Action::Delete, 0),
            (was, Some(n)) => {
                // Mode flags are fixed at creation (see the module docs).
                if was.is_some_and(|o| o.mode != n.mode) {
                    list.push(fd, filter, Action::Delete, 0);
                }
                list.push(fd, filter, Action::Add(n.mode), n.key);
            }
        }
    }
    list
}

/// The changes that put fd's knotes back to `old` after a changelist failed part-way:
/// delete both (tolerating absence) and recreate `old`'s, disabled again if `old` was a
/// reported oneshot.
pub(crate) fn restore(fd: RawFd, old: Option<&Entry>) -> ChangeList {
    let mut list = ChangeList::new();
    for filter in Filter::FD {
        list.push(fd, filter, Action::Delete, 0);
        if let Some(e) = old.filter(|e| e.reg.wants(filter)) {
            list.push(fd, filter, Action::Add(e.reg.mode), e.reg.key);
            if !e.armed {
                list.push(fd, filter, Action::Disable, 0);
            }
        }
    }
    list
}

/// Checks the receipts of a changelist; the first failure becomes the contract's error.
///
/// The kernel writes one receipt per change, in order, each with `EV_ERROR` and `data` =
/// the errno (0 on success): kqueue(2) RETURN VALUES, "If an error occurs while processing
/// an element of the changelist and there is enough room in the eventlist, then the event
/// will be placed in the eventlist with EV_ERROR set in flags and the system error in
/// data", and `EV_RECEIPT` makes that happen for successes too. Anything else means the
/// kernel ignored `EV_RECEIPT`.
pub(crate) fn check_receipts(changes: &[Change], receipts: &[Kevent]) -> io::Result<()> {
    if receipts.len() != changes.len() || receipts.iter().any(|r| r.flags & ev::ERROR == 0) {
        return Err(io::Error::other(format!(
            "kevent returned {} entries that are not all receipts for {} changes: \
             this kernel does not honour EV_RECEIPT, which the kqueue backend needs",
            receipts.len(),
            changes.len()
        )));
    }
    for (change, receipt) in changes.iter().zip(receipts) {
        if receipt.data == 0 {
            continue;
        }
        let errno = i32::try_from(receipt.data).unwrap_or(libc::EINVAL);
        if !change.tolerates(errno) {
            return Err(registration_error(change.fd, io::Error::from_raw_os_error(errno)));
        }
    }
    Ok(())
}

/// The user-space record of one registration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) reg: Registration,
    /// False once a oneshot registration has been reported, until `modify`.
    armed: bool,
    /// The `wait` round of the report that disarmed it.
    round: u64,
}

impl Entry {
    /// A fresh (or re-armed) registration.
    pub(crate) fn new(reg: Registration) -> Entry {
        Entry { reg, armed: true, round: 0 }
    }

    /// The event for one returned knote in report number `round` (one per `wait` that
    /// reports, unique across concurrent waiters), or `None` when it is stale: its
    /// direction is no longer wanted (a `modify` raced with the wait), or it is a oneshot
    /// registration reported in another round.
    pub(crate) fn on_kevent(&mut self, kev: &Kevent, round: u64) -> Option<Event> {
        let filter = kev.filter?;
        if !self.reg.wants(filter) {
            return None;
        }
        if self.reg.mode.is_oneshot() {
            if self.armed {
                self.armed = false;
                self.round = round;
            } else if self.round != round {
                return None;
            }
            // Else the other direction, in the same report: part of the same single event.
        }
        let event = kev.readiness().to_event(self.reg.key, self.reg.interest);
        (!event.is_empty()).then_some(event)
    }

    /// A change that asks the kernel whether this registration's knotes still exist,
    /// without changing them: `EV_ENABLE` if the registration is armed (its knotes are
    /// enabled), `EV_DISABLE` if it is a reported oneshot (its knotes are, or may as well
    /// be, disabled), with no `EV_ADD`, so that a missing knote is not created but answered
    /// with `ENOENT`. Both knotes go at the same `close`, so asking about one is enough.
    /// `None` for [`Interest::NONE`], which has no knote.
    ///
    /// The kernel re-checks the knote's readiness on any change (FreeBSD's
    /// `kqueue_register`), so an edge registration with data pending may be reported once
    /// more after an `add` of its fd number that is refused.
    pub(crate) fn probe(&self, fd: RawFd) -> Option<Change> {
        let filter = Filter::FD.into_iter().find(|f| self.reg.wants(*f))?;
        Some(Change::new(fd, filter, Action::Probe(self.armed), self.reg.key))
    }
}

/// Reads the outcome of applying [`Entry::probe`]: `Ok(true)` when the knote is gone (the
/// kernel dropped it when the fd was closed, so the table's entry is stale and the number
/// may be added again), `Ok(false)` when the kernel still has it (a real `AlreadyExists`).
pub(crate) fn probe_says_gone(outcome: io::Result<()>) -> io::Result<bool> {
    match outcome {
        Ok(()) => Ok(false),
        // ENOENT: the only errno `registration_error` turns into NotFound.
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
#[path = "flags_tests.rs"]
mod tests;
