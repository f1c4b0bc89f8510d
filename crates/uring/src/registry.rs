//! The registrations and what each completion means for them: which request is current,
//! what a completion reports, and which request follows it.
//!
//! Everything here runs under the poller's lock. Methods *plan* submission entries, which
//! the poller then queues ([`State::push_planned`]) after making room for them. New polls
//! are not planned at once but *deferred* ([`State::arm_deferred`]), to be queued by the
//! next wait just before it enters the kernel (or at once, when another thread is blocked
//! there). A re-arm queued earlier could be submitted early (when the queue fills up) and
//! complete while the fd is still ready, before the caller has drained it: a stale
//! report. And a poll that was never submitted costs nothing to drop: `delete` after
//! `modify`, with no wait between, makes no syscall.

use std::collections::VecDeque;
use std::os::fd::RawFd;

use io_uring::squeue::Entry;
use multipoll_core::backend::file::FileId;
use multipoll_core::backend::probe::poll_now;
use multipoll_core::backend::readiness::Readiness;
use multipoll_core::backend::table::FdTable;
use multipoll_core::{Event, Interest, Mode};

use crate::sys::{self, Completion, Queues, Ring};

/// The tag of requests whose completion means nothing to us (removals, wake-up NOPs):
/// generation 0, which no poll request gets.
pub(crate) const IGNORED: u64 = 0;
/// The tag of the notifier's poll request (its fd half is no valid fd).
pub(crate) const NOTIFY: u64 = u64::MAX;

/// A poll request's tag: the generation in the high half, the fd in the low half.
fn tag(generation: u32, fd: RawFd) -> u64 {
    // An fd is never negative, so its bits are its value.
    (u64::from(generation) << 32) | u64::from(fd as u32)
}

fn untag(user_data: u64) -> (u32, RawFd) {
    ((user_data >> 32) as u32, user_data as u32 as RawFd)
}

/// Which request of a registration is in the ring (queued or in the kernel).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Arm {
    /// None: a oneshot that fired, `Interest::NONE`, or a re-arm not planned yet.
    Idle,
    /// A single-shot poll, tagged with the registration's generation.
    Single,
    /// A multishot poll, tagged with the registration's generation.
    Multi,
}

/// One registered fd.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Registration {
    key: usize,
    pub(crate) interest: Interest,
    mode: Mode,
    /// The registered file's device and inode, to tell it from a later file that reuses
    /// the number (the fd closed without `delete`).
    pub(crate) file: FileId,
    /// The tag of the current request; completions of older ones are dropped.
    generation: u32,
    arm: Arm,
    /// In [`State`]'s deferred polls (once at most).
    queued: bool,
    /// Its deferred poll is to be multishot, whatever the mode.
    park: bool,
    /// The collection pass that last reported it (two in one pass are merged).
    reported: u64,
}

impl Registration {
    pub(crate) fn new(key: usize, interest: Interest, mode: Mode, file: FileId) -> Self {
        Registration {
            key,
            interest,
            mode,
            file,
            generation: 0,
            arm: Arm::Idle,
            queued: false,
            park: false,
            reported: 0,
        }
    }
}

/// What one completion amounts to.
#[derive(Debug)]
pub(crate) enum Outcome {
    Nothing,
    /// A notify.
    Woken,
    Report(Event),
    /// Of an fd already reported in this pass (multishot wake-ups): to be merged.
    ReportAgain(Event),
}

/// Everything the poller's lock guards.
#[derive(Debug)]
pub(crate) struct State {
    /// The right to touch the ring's queues.
    pub(crate) queues: Queues,
    pub(crate) table: FdTable<Registration>,
    /// Completions taken out of the ring outside a wait, to make room; reported first.
    pub(crate) backlog: VecDeque<Completion>,
    planned: Vec<Entry>,
    /// The backlog's files, as [`State::refresh`] asks them (kept for its capacity).
    asking: Vec<libc::pollfd>,
    /// The fds whose registrations want a poll (`queued`). First in, first out: when only
    /// some can go in, the others go next, and none starves. An fd deleted meanwhile is
    /// passed over (its number's next registration, if queued, is armed early: harmless).
    deferred: VecDeque<RawFd>,
    notifier: RawFd,
    generation: u32,
    pass: u64,
    /// Threads blocked (or about to block) in `io_uring_enter`: while there are any, a
    /// change is submitted at once, as an entry left in the queue would not wake them.
    pub(crate) blocked: usize,
}

impl State {
    pub(crate) fn new(queues: Queues, notifier: RawFd) -> State {
        State {
            queues,
            table: FdTable::default(),
            backlog: VecDeque::new(),
            planned: Vec::new(),
            asking: Vec::new(),
            deferred: VecDeque::new(),
            notifier,
            generation: 0,
            pass: 0,
            blocked: 0,
        }
    }

    /// Queues the planned entries; the caller made room for them.
    pub(crate) fn push_planned(&mut self, ring: &Ring) {
        for entry in self.planned.drain(..) {
            let pushed = ring.push(&mut self.queues, &entry);
            debug_assert!(pushed, "entries were planned without room for them");
        }
    }

    /// Whether polls wait in [`State::arm_deferred`].
    pub(crate) fn has_deferred(&self) -> bool {
        !self.deferred.is_empty()
    }

    /// Plans the next deferred poll, as the registration is now (a change since it was
    /// deferred may have armed it, or silenced it).
    pub(crate) fn arm_deferred(&mut self) {
        let Some(fd) = self.deferred.pop_front() else {
            return;
        };
        if let Some(r) = self.table.get_mut(fd)
            && r.queued
        {
            r.queued = false;
            let multishot = std::mem::take(&mut r.park) || r.mode == Mode::Edge;
            if r.arm == Arm::Idle && !r.interest.is_none() {
                self.arm(fd, multishot);
            }
        }
    }

    /// Defers a poll for `fd`'s registration; with `park`, a multishot one whatever the
    /// mode.
    fn defer_arm(&mut self, fd: RawFd, park: bool) {
        if let Some(r) = self.table.get_mut(fd) {
            r.park |= park;
            if !r.queued {
                r.queued = true;
                self.deferred.push_back(fd);
            }
        }
    }

    /// Plans the notifier's multishot poll; with `replace`, the removal of the old one.
    pub(crate) fn arm_notifier(&mut self, replace: bool) {
        if replace {
            self.planned.push(sys::poll_remove(NOTIFY, IGNORED));
        }
        self.planned.push(sys::poll_add(self.notifier, libc::POLLIN as u32, true, NOTIFY));
    }

    /// Registers `fd` (planning the removal of a stale registration of its number) and
    /// defers its poll.
    pub(crate) fn insert(&mut self, fd: RawFd, registration: Registration) {
        self.disarm(fd);
        self.table.insert(fd, registration);
        self.defer_arm(fd, false);
    }

    /// Changes `fd`'s registration and defers its new poll, as epoll's `EPOLL_CTL_MOD`
    /// re-evaluates readiness: a ready fd is reported by the new poll.
    pub(crate) fn modify(&mut self, fd: RawFd, key: usize, interest: Interest, mode: Mode) {
        self.disarm(fd);
        if let Some(r) = self.table.get_mut(fd) {
            (r.key, r.interest, r.mode, r.park, r.reported) = (key, interest, mode, false, 0);
        }
        self.defer_arm(fd, false);
    }

    /// Forgets `fd`; `true` if a removal was planned (it had a request in the ring).
    pub(crate) fn remove(&mut self, fd: RawFd) -> bool {
        let armed = self.table.get(fd).is_some_and(|r| r.arm != Arm::Idle);
        self.disarm(fd);
        self.table.remove(fd);
        armed
    }

    /// The fds with a request in the ring.
    pub(crate) fn armed_fds(&self) -> Vec<RawFd> {
        self.table.iter().filter(|(_, r)| r.arm != Arm::Idle).map(|(fd, _)| fd).collect()
    }

    /// Plans the removal of `fd`'s request and defers a fresh one.
    pub(crate) fn rearm(&mut self, fd: RawFd) {
        self.disarm(fd);
        self.defer_arm(fd, false);
    }

    /// A generation no request in flight has (0 is never one: see [`IGNORED`]). After 2³²
    /// requests it wraps; a completion that old cannot still be in the ring.
    fn next_generation(&mut self) -> u32 {
        self.generation = self.generation.wrapping_add(1).max(1);
        self.generation
    }

    fn arm(&mut self, fd: RawFd, multishot: bool) {
        let generation = self.next_generation();
        let Some(r) = self.table.get_mut(fd) else {
            return;
        };
        r.generation = generation;
        r.arm = if multishot { Arm::Multi } else { Arm::Single };
        // POLL* bits as the kernel takes them: a `u32` whose low half is `poll(2)`'s.
        let mask = u32::from(Readiness::poll_bits(r.interest) as u16);
        self.planned.push(sys::poll_add(fd, mask, multishot, tag(generation, fd)));
    }

    fn disarm(&mut self, fd: RawFd) {
        if let Some(r) = self.table.get_mut(fd)
            && r.arm != Arm::Idle
        {
            r.arm = Arm::Idle;
            self.planned.push(sys::poll_remove(tag(r.generation, fd), IGNORED));
        }
    }

    /// A new collection pass: one `wait`'s taking of completions, which reports each fd
    /// once. Several waiters each have their own.
    pub(crate) fn new_pass(&mut self) -> u64 {
        self.pass += 1;
        self.pass
    }

    /// Completions found as a wait begins (posted while the caller ran, so the caller may
    /// have drained the fd since), all in the backlog now, in order. A single-shot poll's
    /// is dropped and a fresh poll deferred, which this wait's enter submits and which
    /// completes at once if the fd is still ready: the state at the wait, as epoll
    /// reports, for no syscall. Those polls go first, in the completions' order (they were
    /// ready before the ones reported last, which wait behind them: no fd starves). Any
    /// other completion stays in the backlog, and the files of all of them are asked with
    /// one `poll(2)` ([`State::ask_backlog`]). The backlog is filtered in place, so a wait
    /// allocates nothing here.
    pub(crate) fn refresh(&mut self) {
        if self.backlog.is_empty() {
            return;
        }
        let mut backlog = std::mem::take(&mut self.backlog);
        let before = self.deferred.len();
        backlog.retain(|c| !self.renew_single_shot(c));
        let fresh = self.deferred.len() - before;
        if fresh > 0 {
            self.deferred.rotate_right(fresh);
        }
        self.backlog = backlog;
        self.ask_backlog();
    }

    /// Asks the files of the completions left in the backlog (multishot polls', and those
    /// of fds that a wait could not report before), all in one `poll(2)`, and puts what it
    /// says in their place: one syscall per wait, where asking each as it is reported
    /// took one per event. Should the call fail, each is asked when it is reported.
    fn ask_backlog(&mut self) {
        // One entry per completion, so that the answers line up with the backlog; a
        // negative fd is one `poll(2)` skips (its `revents` stays 0).
        self.asking.clear();
        let mut any = false;
        for c in &self.backlog {
            let (_, fd) = untag(c.user_data);
            let entry = match self.interest_bits(c) {
                Some(events) => libc::pollfd { fd, events, revents: 0 },
                None => libc::pollfd { fd: -1, events: 0, revents: 0 },
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

    /// The `poll(2)` events to ask for `c`'s file, if `c` is a successful completion of the
    /// current request of a registration.
    fn interest_bits(&self, c: &Completion) -> Option<i16> {
        let (generation, fd) = untag(c.user_data);
        let r = self.table.get(fd)?;
        let current = c.user_data != NOTIFY
            && c.result >= 0
            && generation != 0
            && r.generation == generation
            && r.arm != Arm::Idle;
        current.then(|| Readiness::poll_bits(r.interest))
    }

    /// If `c` completed the current single-shot poll of a registration, marks it idle and
    /// defers a fresh poll for it (at the back of the deferred polls); returns whether it
    /// did, and so whether `c` is spent.
    fn renew_single_shot(&mut self, c: &Completion) -> bool {
        let (generation, fd) = untag(c.user_data);
        let single = c.user_data != NOTIFY && !c.more && c.result >= 0 && generation != 0;
        match self.table.get_mut(fd) {
            Some(r) if single && r.generation == generation && r.arm == Arm::Single => {
                r.arm = Arm::Idle;
                if !r.queued {
                    r.queued = true;
                    self.deferred.push_back(fd);
                }
                true
            }
            _ => false,
        }
    }

    /// Whether `c` belongs to the current request of a registration that `pass` has
    /// reported already: it can be folded into that report, as epoll's one ready-list
    /// entry per fd takes every wake-up before the wait that reports it.
    pub(crate) fn reported_in(&self, c: &Completion, pass: u64) -> bool {
        if c.user_data == NOTIFY {
            return false;
        }
        let (generation, fd) = untag(c.user_data);
        self.table.get(fd).is_some_and(|r| {
            generation != 0
                && r.generation == generation
                && r.arm != Arm::Idle
                && r.reported == pass
        })
    }

    /// What `c` reports in `pass`, and the requests that follow it (planned: at most two;
    /// or deferred). `carried`: `c` was taken out of the ring before this wait (it did not
    /// fit in an earlier wait's `Events`), so the file may have changed since: it is asked
    /// again, as epoll re-polls its ready list when it reports.
    pub(crate) fn complete(&mut self, c: Completion, pass: u64, carried: bool) -> Outcome {
        if c.user_data == NOTIFY {
            if !c.more {
                // The kernel ended the multishot poll (a full completion queue): anew.
                self.arm_notifier(false);
            }
            return Outcome::Woken;
        }
        let (generation, fd) = untag(c.user_data);
        let Some(r) = self.table.get_mut(fd) else {
            return Outcome::Nothing;
        };
        if generation == 0 || r.generation != generation || r.arm == Arm::Idle {
            return Outcome::Nothing; // deleted, changed or disarmed since
        }
        let multishot = r.arm == Arm::Multi;
        if !c.more {
            r.arm = Arm::Idle; // the kernel is done with this request
        }
        if c.result < 0 {
            return self.failed(fd, -c.result);
        }
        // The kernel reports the wake-up's key when there was one, not the file's state:
        // a socket's data wakes with `POLLIN | POLLPRI`, its urgent byte with the same, and
        // a wake-up for reading says nothing of writing. So the file is asked (one
        // `poll(2)`) for priority registrations, for those that want both directions when
        // the key names only one (epoll would report both), and for carried completions;
        // a registration for one direction whose completion names it costs nothing more.
        let woken = Readiness::from_poll_bits(c.result);
        let partial = r.interest.is_readable()
            && r.interest.is_writable()
            && !(woken.readable && woken.writable);
        let bits = if !c.asked && (carried || partial || r.interest.is_priority()) {
            sys::revents_now(fd, Readiness::poll_bits(r.interest)).unwrap_or(c.result)
        } else {
            c.result
        };
        let event = Readiness::from_poll_bits(bits).to_event(r.key, r.interest);
        let (mode, more) = (r.mode, c.more);
        let again = !event.is_empty() && r.reported == pass;
        if !event.is_empty() {
            r.reported = pass;
        }
        match (mode, event.is_empty()) {
            // The kernel ended the multishot (it could not post to a full queue): anew.
            (Mode::Edge, _) if !more => self.defer_arm(fd, false),
            (Mode::Edge, _) => {}
            // Nothing it asked for: POLLRDHUP on a write-only registration, or a wake-up
            // key that the file's state no longer bears out. A single-shot poll could
            // complete again at once, so wait for a wake-up.
            (_, true) if !more => self.defer_arm(fd, true),
            (_, true) => {}
            (Mode::Level, false) => {
                if multishot && more {
                    self.disarm(fd);
                }
                self.defer_arm(fd, false);
            }
            // Oneshot, edge-oneshot: disarmed until `modify`.
            (_, false) => {
                if more {
                    self.disarm(fd);
                }
            }
        }
        match (event.is_empty(), again) {
            (true, _) => Outcome::Nothing,
            (false, false) => Outcome::Report(event),
            (false, true) => Outcome::ReportAgain(event),
        }
    }

    /// A request of `fd` failed with `errno`.
    fn failed(&mut self, fd: RawFd, errno: i32) -> Outcome {
        let Some(&r) = self.table.get(fd) else {
            return Outcome::Nothing;
        };
        match errno {
            // Not ours (ours are dropped by generation): the kernel cancelled it. Anew.
            libc::ECANCELED => {
                self.defer_arm(fd, false);
                Outcome::Nothing
            }
            // Closed before its request reached the kernel: reported once, then forgotten,
            // as poll(2) reports POLLNVAL.
            libc::EBADF => {
                self.table.remove(fd);
                let closed = Readiness { closed: true, ..Readiness::default() };
                Outcome::Report(closed.to_event(r.key, r.interest))
            }
            // Anything else cannot be polled (again): an error, and silence until `modify`.
            _ => {
                let error = Readiness::from_poll_bits(i32::from(libc::POLLERR));
                Outcome::Report(error.to_event(r.key, r.interest))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_round_trip_and_never_collide_with_internal_ones() {
        for (generation, fd) in [(1, 0), (7, 3), (u32::MAX, RawFd::MAX)] {
            let t = tag(generation, fd);
            assert_eq!(untag(t), (generation, fd));
            assert!(t != IGNORED && t != NOTIFY, "{generation} {fd}");
        }
    }
}
