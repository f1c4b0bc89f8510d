//! The completions: taking them out of the ring into `Events`, one event per fd per wait,
//! the backlog of those a wait could not report, and asking a file with `poll(2)` where a
//! completion's bits may not be its state.

use std::collections::VecDeque;
use std::io;
use std::os::fd::RawFd;

use multipoll_core::backend::EventsExt;
use multipoll_core::backend::probe::poll_now;
use multipoll_core::backend::readiness::Readiness;
use multipoll_core::{Events, Interest};

use crate::registrations::{Registrations, Report, Whose};
use crate::submitter::Submitter;
use crate::sys::{self, Completion};

/// What one completion amounts to.
enum Outcome {
    Nothing,
    /// A notify.
    Woken,
    Report(Report),
}

/// The completions out of the ring that no wait has reported yet, and the collection
/// passes.
#[derive(Debug, Default)]
pub(crate) struct Completions {
    /// Completions taken out of the ring before the wait that reports them: found as a
    /// wait begins, set aside to make room, or left over when `Events` filled up. Reported
    /// first, in order.
    backlog: VecDeque<Completion>,
    /// The backlog's files, as [`Completions::ask_backlog`] asks them (kept for its
    /// capacity).
    asking: Vec<libc::pollfd>,
    pass: u64,
}

impl Completions {
    /// A new collection pass: one `wait`'s taking of completions, which reports each fd
    /// once. Several waiters each have their own.
    pub(crate) fn new_pass(&mut self) -> u64 {
        self.pass += 1;
        self.pass
    }

    /// Whether a completion waits to be collected.
    #[inline]
    pub(crate) fn is_ready(&self, sq: &mut Submitter) -> bool {
        !self.backlog.is_empty() || sq.has_completions()
    }

    /// As a wait begins: completions already taken, or posted while the caller ran, may be
    /// stale (the fd drained since); epoll re-polls its ready list as it reports. All go
    /// to the backlog, in order. A single-shot poll's is dropped and a fresh poll
    /// deferred, which this wait's enter submits and which completes at once if the fd is
    /// still ready: the state at the wait, for no syscall. Those polls go first, in the
    /// completions' order (they were ready before the ones reported last, which wait
    /// behind them: no fd starves). The files of the others are asked with one `poll(2)`
    /// ([`Completions::ask_backlog`]). The backlog is filtered in place, so a wait
    /// allocates nothing here.
    #[inline]
    pub(crate) fn refresh(&mut self, regs: &mut Registrations, sq: &mut Submitter) {
        sq.take_aside(&mut self.backlog);
        while let Some(c) = sq.pop() {
            self.backlog.push_back(c);
        }
        if self.backlog.is_empty() {
            return;
        }
        let before = regs.deferred_len();
        self.backlog.retain(|c| !regs.renew_single_shot(c));
        let fresh = regs.deferred_len() - before;
        if fresh > 0 {
            regs.defer_first(fresh);
        }
        self.ask_backlog(regs);
    }

    /// Asks the files of the completions in the backlog (multishot polls', and those of
    /// fds that a wait could not report before), all in one `poll(2)`, and puts what it
    /// says in their place. Should the call fail, each is asked when it is reported.
    fn ask_backlog(&mut self, regs: &Registrations) {
        // One entry per completion, so that the answers line up with the backlog; a
        // negative fd is one `poll(2)` skips (its `revents` stays 0).
        self.asking.clear();
        let mut any = false;
        for c in &self.backlog {
            let entry = match regs.whose(c) {
                Whose::Current { fd, interest } if c.result >= 0 => {
                    libc::pollfd { fd, events: Readiness::poll_bits(interest), revents: 0 }
                }
                _ => libc::pollfd { fd: -1, events: 0, revents: 0 },
            };
            any |= entry.fd >= 0;
            self.asking.push(entry);
        }
        if !any || poll_now(&mut self.asking).is_err() {
            return;
        }
        for (c, answer) in self.backlog.iter_mut().zip(&self.asking) {
            if answer.fd >= 0 {
                (c.result, c.asked) = (i32::from(answer.revents), true);
            }
        }
    }

    /// Moves completions into `events` until it is full, in collection pass `pass`: the
    /// backlog's first, then the ring's. Returns whether a notify was among them.
    #[inline]
    pub(crate) fn collect(
        &mut self,
        events: &mut Events,
        pass: u64,
        regs: &mut Registrations,
        sq: &mut Submitter,
    ) -> io::Result<bool> {
        let mut woken = false;
        while !events.is_full() {
            let Some((c, carried)) = self.next(sq) else {
                break;
            };
            match self.complete(&c, carried, pass, regs, sq) {
                Ok(Outcome::Nothing) => {}
                Ok(Outcome::Woken) => woken = true,
                Ok(Outcome::Report(Report::New(event))) => {
                    events.push(event);
                }
                Ok(Outcome::Report(Report::Again(event))) => {
                    // Into the event this pass stored (a multishot poll's wake-ups), or
                    // a place of its own should that be gone.
                    if !events.merge_into(event) {
                        events.push(event);
                    }
                }
                Err(e) => return Err(self.put_back(c, e)),
            }
        }
        if events.is_full() {
            self.fold_rest(events, pass, regs, sq)?;
        }
        Ok(woken)
    }

    /// Once `events` is full: every completion left (in the backlog, then in the ring) of
    /// an fd this pass reported is folded into its event; the others stay in the backlog,
    /// in order, for the next wait. An edge registration woken twice before a wait has two
    /// completions, and epoll (one ready-list entry per fd) reports it once.
    fn fold_rest(
        &mut self,
        events: &mut Events,
        pass: u64,
        regs: &mut Registrations,
        sq: &mut Submitter,
    ) -> io::Result<()> {
        let mut kept = VecDeque::new();
        let result = self.fold_into(events, pass, (regs, sq), &mut kept);
        kept.append(&mut self.backlog);
        self.backlog = kept;
        result
    }

    /// [`Completions::fold_rest`]'s loop, which leaves the completions to keep in `kept`.
    fn fold_into(
        &mut self,
        events: &mut Events,
        pass: u64,
        (regs, sq): (&mut Registrations, &mut Submitter),
        kept: &mut VecDeque<Completion>,
    ) -> io::Result<()> {
        // Bounded by what can be there now: wake-ups go on posting while this runs, and
        // those are the next wait's.
        for _ in 0..self.backlog.len() + sq.cq_capacity() {
            let Some((c, carried)) = self.next(sq) else {
                break;
            };
            if !regs.reported_in(&c, pass) {
                kept.push_back(c);
                continue;
            }
            match self.complete(&c, carried, pass, regs, sq) {
                Ok(Outcome::Report(Report::New(event) | Report::Again(event))) => {
                    events.merge_into(event);
                }
                Ok(_) => {}
                Err(e) => return Err(self.put_back(c, e)),
            }
        }
        Ok(())
    }

    /// The next completion to collect, and whether it was taken out of the ring before
    /// this wait: completions set aside to make room go to the back of the backlog first.
    #[inline]
    fn next(&mut self, sq: &mut Submitter) -> Option<(Completion, bool)> {
        sq.take_aside(&mut self.backlog);
        match self.backlog.pop_front() {
            Some(c) => Some((c, true)),
            None => sq.pop().map(|c| (c, false)),
        }
    }

    /// Keeps `c`, whose request could not be queued, for the next wait, and returns `e`.
    fn put_back(&mut self, c: Completion, e: io::Error) -> io::Error {
        self.backlog.push_front(c);
        e
    }

    /// What `c` amounts to, in `pass`, and the requests that follow it. `carried`: `c` was
    /// taken out of the ring before this wait, so the file may have changed since: it is
    /// asked again, as epoll re-polls its ready list when it reports.
    // Inlined into both loops: a wait takes one completion or a few, and a call would
    // cost a large part of what handling one does.
    #[inline(always)]
    fn complete(
        &mut self,
        c: &Completion,
        carried: bool,
        pass: u64,
        regs: &mut Registrations,
        sq: &mut Submitter,
    ) -> io::Result<Outcome> {
        let outcome = match regs.whose(c) {
            Whose::Notifier => {
                regs.notified(sq, c.more)?;
                Outcome::Woken
            }
            Whose::Stale => Outcome::Nothing,
            Whose::Current { fd, .. } if c.result < 0 => regs
                .failed(fd, -c.result)
                .map_or(Outcome::Nothing, |e| Outcome::Report(Report::New(e))),
            Whose::Current { fd, interest } => {
                let revents = file_state(c, fd, interest, carried);
                regs.report(sq, fd, revents, (c.more, pass))?
                    .map_or(Outcome::Nothing, Outcome::Report)
            }
        };
        Ok(outcome)
    }
}

/// The `poll(2)` bits to report for `c`, a successful completion of `fd`'s current
/// request. The kernel reports the wake-up's key when there was one, not the file's state:
/// a socket's data wakes with `POLLIN | POLLPRI`, its urgent byte with the same, and a
/// wake-up for reading says nothing of writing. So the file is asked (one `poll(2)`) for
/// priority registrations, for those that want both directions when the key names only
/// one (epoll would report both), and for carried completions; a registration for one
/// direction whose completion names it costs nothing more.
#[inline]
fn file_state(c: &Completion, fd: RawFd, interest: Interest, carried: bool) -> i32 {
    let woken = Readiness::from_poll_bits(c.result);
    let partial =
        interest.is_readable() && interest.is_writable() && !(woken.readable && woken.writable);
    if !c.asked && (carried || partial || interest.is_priority()) {
        sys::revents_now(fd, Readiness::poll_bits(interest)).unwrap_or(c.result)
    } else {
        c.result
    }
}
