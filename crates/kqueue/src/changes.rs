//! The change planner: which `kevent` changes a registration change needs, and what their
//! receipts mean.
//!
//! # The kernel state this keeps
//!
//! A registration with interest `I` and mode `M` has one knote per direction in `I` (an
//! `EVFILT_READ` and/or an `EVFILT_WRITE`), created with the flags of `M`, and none for
//! the other direction; [`Interest::NONE`] has no knote at all (its registration lives only
//! in user space). [`plan`] computes the changes that move the kernel from one such state
//! to another, and [`restore`] those that move it back after a failure: they are the only
//! places that decide them.
//!
//! kqueue(2), `EV_ADD`: "Re-adding an existing event will modify the parameters of the
//! original event, and not result in a duplicate entry. Adding an event automatically
//! enables it". The parameters it modifies are `udata`, `fflags` and `data` (FreeBSD's and
//! xnu's `kqueue_register`/`kevent_register`); `EV_CLEAR`/`EV_DISPATCH` stay as the knote
//! was created. So a mode change deletes and re-adds the knote, while a same-mode `modify`
//! is one `EV_ADD | EV_ENABLE`, which also re-arms a oneshot knote and makes the kernel
//! re-check readiness at once.

use std::io;
use std::os::fd::RawFd;

use multipoll_core::backend::errors::registration_error;
use multipoll_core::{Interest, Mode};

use crate::kevent::{Filter, Kevent, ev};

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
    /// whether the knote exists without changing it
    /// ([`Record::probe`](crate::record::Record::probe)).
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
    pub(crate) const fn new(fd: RawFd, filter: Filter, action: Action, udata: usize) -> Change {
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

/// `EV_CLEAR` for `Edge`, `EV_DISPATCH` for both oneshot modes, `EdgeOneshot` included.
///
/// `EdgeOneshot` is not `EV_CLEAR | EV_DISPATCH`, because not every kernel applies both:
/// NetBSD (`sys/kern/kern_event.c`, `kqueue_scan()`, rev. 1.88 and later) handles a
/// delivered knote with `if EV_ONESHOT … else if EV_CLEAR … else if EV_DISPATCH`, so a
/// knote with both is cleared and never disabled: every new arrival would wake a waiter
/// for an event the record then drops. FreeBSD, OpenBSD and DragonFly
/// (`sys/kern/kern_event.c`, `kqueue_scan()`) apply both flags, and xnu
/// (`bsd/kern/kern_event.c`, `knote_process()`) tests `EV_DISPATCH` first.
///
/// `EV_DISPATCH` alone disables the knote on delivery on all of them and loses nothing of
/// edge: a disabled knote reports nothing however much arrives, and the re-arm is
/// `Oneshot`'s (`modify`'s `EV_ADD | EV_ENABLE` runs the filter again), which reports data
/// already queued, as `EPOLLET | EPOLLONESHOT` does (epoll too has nothing left for
/// `EPOLLET` to do once `EPOLLONESHOT` has disabled the item). What `EV_CLEAR` adds,
/// resetting the knote's counts on delivery, a knote disabled until re-armed never needs.
fn mode_flags(mode: Mode) -> u16 {
    if mode.is_oneshot() {
        ev::DISPATCH
    } else if mode.is_edge() {
        ev::CLEAR
    } else {
        0
    }
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

/// What the user asked for in `add`/`modify`: what decides an fd's knotes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Request {
    pub(crate) key: usize,
    pub(crate) interest: Interest,
    pub(crate) mode: Mode,
}

impl Request {
    /// Whether this request has a knote of `filter`.
    pub(crate) fn wants(&self, filter: Filter) -> bool {
        filter.wanted_by(self.interest)
    }
}

/// The changes that take fd's knotes from `old` to `new` (`None`: not registered), in one
/// changelist, so that `add`, `modify` and `delete` are one `kevent` call each.
pub(crate) fn plan(fd: RawFd, old: Option<Request>, new: Option<Request>) -> ChangeList {
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
/// delete both (tolerating absence) and recreate `old`'s, disabled again if `disabled`
/// (`old` was a reported oneshot, see [`Record`](crate::record::Record)).
pub(crate) fn restore(fd: RawFd, old: Option<Request>, disabled: bool) -> ChangeList {
    let mut list = ChangeList::new();
    for filter in Filter::FD {
        list.push(fd, filter, Action::Delete, 0);
        if let Some(r) = old.filter(|r| r.wants(filter)) {
            list.push(fd, filter, Action::Add(r.mode), r.key);
            if disabled {
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

#[cfg(test)]
#[path = "changes_tests.rs"]
pub(crate) mod tests;
