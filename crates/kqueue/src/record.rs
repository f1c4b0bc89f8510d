//! The user-space record of one registration: what a returned kevent is reported as (the
//! oneshot state machine), and how `add` asks the kernel whether a recorded fd was closed.
//!
//! # Oneshot
//!
//! [`Mode::Oneshot`](multipoll_core::Mode::Oneshot) uses `EV_DISPATCH` (FreeBSD kqueue(2):
//! "Disable the event source immediately after delivery of an event"; macOS has the flag
//! in `<sys/event.h>`, "disable event after reporting", though its man page omits it): the
//! kernel keeps the knote, so re-arming is an `EV_ENABLE` (no allocation), `delete` always
//! finds it, and the kernel state never drifts from the user-space record (with
//! `EV_ONESHOT` the knote would vanish on delivery). But the contract's "reported once
//! until re-armed" is about the fd, and with interest `BOTH` the fd has two knotes, each
//! disabled only when it is itself delivered. So the [`Record`] disarms the whole
//! registration on its first report, under the table lock that every waiter takes to
//! report, folds the other direction into the same event if the same `wait` returned it
//! too, and drops anything later: a waiter running at the same time, or a later `wait`
//! that gets the other knote, reports nothing. That other knote is left enabled: it is an
//! `EV_DISPATCH` knote too, so the kernel returns it at most once more (dropped here) and
//! then disables it. Disabling it at once would cost a `kevent` call on every report, made
//! under the lock all waiters share, to save at most one stale kernel event per arming.
//!
//! # Closed fds
//!
//! kqueue(2): "Calling close() on a file descriptor will remove any kevents that reference
//! the descriptor." The user-space table cannot see that, so when `add` finds the fd number
//! already registered, it lets the kernel decide: [`Record::probe`] is a change that leaves
//! a live knote as it is and fails with `ENOENT` ("The event could not be found to be
//! modified or deleted", kqueue(2) ERRORS) when the knote is gone, and [`probe_says_gone`]
//! reads its outcome. A registration with [`Interest::NONE`](multipoll_core::Interest::NONE)
//! has no knote to ask: as the contract says, it stays until `delete`.

use std::io;
use std::os::fd::RawFd;

use multipoll_core::Event;

use crate::changes::{Action, Change, Request};
use crate::kevent::{Filter, Kevent};

/// The user-space record of one registration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Record {
    pub(crate) request: Request,
    /// False once a oneshot registration has been reported, until `modify`.
    armed: bool,
    /// The `wait` round of the report that disarmed it.
    round: u64,
}

impl Record {
    /// A fresh (or re-armed) registration.
    pub(crate) fn new(request: Request) -> Record {
        Record { request, armed: true, round: 0 }
    }

    /// Whether this is a reported oneshot registration: its knotes are, or may as well be,
    /// disabled (a rollback must leave them so, see [`restore`](crate::changes::restore)).
    pub(crate) fn is_disarmed(&self) -> bool {
        !self.armed
    }

    /// The event for one returned knote in report number `round` (one per `wait` that
    /// reports, unique across concurrent waiters), or `None` when it is stale: its
    /// direction is no longer wanted (a `modify` raced with the wait), or it is a oneshot
    /// registration reported in another round.
    pub(crate) fn on_kevent(&mut self, kev: &Kevent, round: u64) -> Option<Event> {
        let filter = kev.filter?;
        if !self.request.wants(filter) {
            return None;
        }
        if self.request.mode.is_oneshot() {
            if self.armed {
                self.armed = false;
                self.round = round;
            } else if self.round != round {
                return None;
            }
            // Else the other direction, in the same report: part of the same single event.
        }
        let event = kev.readiness().to_event(self.request.key, self.request.interest);
        (!event.is_empty()).then_some(event)
    }

    /// A change that asks the kernel whether this registration's knotes still exist,
    /// without changing them: `EV_ENABLE` if the registration is armed (its knotes are
    /// enabled), `EV_DISABLE` if it is a reported oneshot (its knotes are, or may as well
    /// be, disabled), with no `EV_ADD`, so that a missing knote is not created but answered
    /// with `ENOENT`. Both knotes go at the same `close`, so asking about one is enough.
    /// `None` for `Interest::NONE`, which has no knote.
    ///
    /// The kernel re-checks the knote's readiness on any change (FreeBSD's
    /// `kqueue_register`), so an edge registration with data pending may be reported once
    /// more after an `add` of its fd number that is refused.
    pub(crate) fn probe(&self, fd: RawFd) -> Option<Change> {
        let filter = Filter::FD.into_iter().find(|f| self.request.wants(*f))?;
        Some(Change::new(fd, filter, Action::Probe(self.armed), self.request.key))
    }
}

/// Reads the outcome of applying [`Record::probe`]: `Ok(true)` when the knote is gone (the
/// kernel dropped it when the fd was closed, so the table's record is stale and the number
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
#[path = "record_tests.rs"]
mod tests;
