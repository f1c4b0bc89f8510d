//! The registrations: one per fd, each in one [`Phase`] of its poll request, and the polls
//! deferred to the next wait's enter.
//!
//! New polls are not queued at once but *deferred* ([`Registrations::arm_deferred`]), to
//! be queued by the next wait just before it enters the kernel (or at once, when another
//! thread is blocked there). A poll queued earlier could be submitted early (when the
//! queue fills up) and complete while the fd is still ready, before the caller has
//! drained it: a stale report. And a poll that was never submitted costs nothing to drop:
//! `delete` after `modify`, with no wait between, makes no syscall.
//!
//! Every method pushes its entries before it changes a registration's request, so that
//! a failed submission leaves each request as it was.

use std::collections::VecDeque;
use std::io;
use std::os::fd::RawFd;

use multipoll_core::backend::file::FileId;
use multipoll_core::backend::readiness::Readiness;
use multipoll_core::backend::table::FdTable;
use multipoll_core::{Event, Interest, Mode};

use crate::submitter::Submitter;
use crate::sys::{self, Completion};

/// The tag of requests whose completion means nothing to us (removals, wake-up NOPs):
/// generation 0, which no poll request gets.
pub(crate) const IGNORED: u64 = 0;
/// The tag of the notifier's poll request (its fd half is no valid fd).
const NOTIFY: u64 = u64::MAX;

/// A poll request's tag: the generation in the high half, the fd in the low half.
fn tag(generation: u32, fd: RawFd) -> u64 {
    // An fd is never negative, so its bits are its value.
    (u64::from(generation) << 32) | u64::from(fd as u32)
}

fn untag(user_data: u64) -> (u32, RawFd) {
    ((user_data >> 32) as u32, user_data as u32 as RawFd)
}

/// Where a registration's poll request is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// No request, none wanted: a oneshot that fired, `Interest::NONE`, a failed poll.
    Idle,
    /// A poll is wanted: the fd waits in the deferred polls. `multishot` whatever the mode
    /// (after a completion with nothing to report, a single-shot poll could complete again
    /// at once, for ever).
    Deferred { multishot: bool },
    /// A single-shot poll is in the ring (queued or in the kernel), tagged `generation`.
    Single { generation: u32 },
    /// A multishot poll is in the ring, tagged `generation`; `reported` is the collection
    /// pass that last reported it (its wake-ups within one pass are merged).
    Multi { generation: u32, reported: u64 },
}

impl Phase {
    /// The tag of the request in the ring, if there is one.
    fn generation(self) -> Option<u32> {
        match self {
            Phase::Single { generation } | Phase::Multi { generation, .. } => Some(generation),
            Phase::Idle | Phase::Deferred { .. } => None,
        }
    }
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
    phase: Phase,
}

impl Registration {
    pub(crate) fn new(key: usize, interest: Interest, mode: Mode, file: FileId) -> Self {
        Registration { key, interest, mode, file, phase: Phase::Idle }
    }
}

/// Whose request a completion is.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Whose {
    /// The notifier's multishot poll.
    Notifier,
    /// The current request of `fd`'s registration, which is for `interest`.
    Current { fd: RawFd, interest: Interest },
    /// A removal's, a NOP's, or a request replaced, removed or deleted since.
    Stale,
}

/// What a completion reports for its registration.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Report {
    /// The first report of the fd in this collection pass.
    New(Event),
    /// Of an fd already reported in this pass (multishot wake-ups): to be merged.
    Again(Event),
}

/// Every registration, and the polls deferred to the next wait.
#[derive(Debug)]
pub(crate) struct Registrations {
    table: FdTable<Registration>,
    /// The fds whose registrations are [`Phase::Deferred`]. First in, first out: when only
    /// some can go in, the others go next, and none starves. An fd deleted meanwhile is
    /// passed over (its number's next registration, if deferred, is armed early: harmless).
    deferred: VecDeque<RawFd>,
    notifier: RawFd,
    generation: u32,
}

impl Registrations {
    pub(crate) fn new(notifier: RawFd) -> Registrations {
        Registrations {
            table: FdTable::default(),
            deferred: VecDeque::new(),
            notifier,
            generation: 0,
        }
    }

    pub(crate) fn get(&self, fd: RawFd) -> Option<&Registration> {
        self.table.get(fd)
    }

    /// Queues the notifier's multishot poll; with `replace`, the removal of the old one.
    pub(crate) fn arm_notifier(&self, sq: &mut Submitter, replace: bool) -> io::Result<()> {
        let poll = sys::poll_add(self.notifier, libc::POLLIN as u32, true, NOTIFY);
        if replace { sq.push(&[sys::cancel(NOTIFY, IGNORED), poll]) } else { sq.push(&[poll]) }
    }

    /// Registers `fd` (removing the request of a stale registration of its number) and
    /// defers its poll.
    pub(crate) fn insert(
        &mut self,
        sq: &mut Submitter,
        fd: RawFd,
        registration: Registration,
    ) -> io::Result<()> {
        self.disarm(sq, fd)?;
        self.table.insert(fd, registration);
        self.defer(fd, false);
        Ok(())
    }

    /// Changes `fd`'s registration and defers its new poll, as epoll's `EPOLL_CTL_MOD`
    /// re-evaluates readiness: a ready fd is reported by the new poll.
    pub(crate) fn modify(
        &mut self,
        sq: &mut Submitter,
        fd: RawFd,
        (key, interest, mode): (usize, Interest, Mode),
    ) -> io::Result<()> {
        self.disarm(sq, fd)?;
        if let Some(r) = self.table.get_mut(fd) {
            (r.key, r.interest, r.mode) = (key, interest, mode);
            if let Phase::Deferred { multishot } = &mut r.phase {
                *multishot = false;
            }
        }
        self.defer(fd, false);
        Ok(())
    }

    /// Forgets `fd`; `true` if it had a request in the ring (whose removal is queued now).
    pub(crate) fn remove(&mut self, sq: &mut Submitter, fd: RawFd) -> io::Result<bool> {
        let armed = self.disarm(sq, fd)?;
        self.table.remove(fd);
        Ok(armed)
    }

    /// After completions were lost (`EBADR`): every request in the ring is replaced by a
    /// fresh poll, deferred, and the notifier's at once.
    pub(crate) fn poll_all_anew(&mut self, sq: &mut Submitter) -> io::Result<()> {
        let armed: Vec<RawFd> = self
            .table
            .iter()
            .filter(|(_, r)| r.phase.generation().is_some())
            .map(|(fd, _)| fd)
            .collect();
        for fd in armed {
            self.disarm(sq, fd)?;
            self.defer(fd, false);
        }
        self.arm_notifier(sq, true)
    }

    /// Whether polls are deferred.
    #[inline]
    pub(crate) fn has_deferred(&self) -> bool {
        !self.deferred.is_empty()
    }

    /// Queues the deferred polls, as many at a time as the completion queue has room for:
    /// each may complete at once, and a multishot poll that finds the queue full is ended
    /// by the kernel (and would be re-armed, and end again, for as long as the queue stays
    /// full). Then again while room is left: an idle poll takes no room, and one left
    /// aside could be the only fd that is ready, so a wait must not block before all are
    /// in. The queue has no room only while completions wait in it, and then the wait does
    /// not block.
    #[inline]
    pub(crate) fn arm_deferred(&mut self, sq: &mut Submitter) -> io::Result<()> {
        // Most waits have none: checked where the call is, without the loop's setup.
        if !self.has_deferred() {
            return Ok(());
        }
        self.arm_each_deferred(sq)
    }

    /// [`Registrations::arm_deferred`]'s loop.
    fn arm_each_deferred(&mut self, sq: &mut Submitter) -> io::Result<()> {
        while self.has_deferred() {
            let room = sq.cq_room();
            if room == 0 {
                break;
            }
            for _ in 0..room {
                let Some(fd) = self.deferred.front().copied() else {
                    break;
                };
                self.arm_next(sq, fd)?;
                self.deferred.pop_front();
            }
        }
        Ok(())
    }

    /// Queues the poll that `fd`'s registration wants, as it is now (a change since it was
    /// deferred may have silenced it).
    fn arm_next(&mut self, sq: &mut Submitter, fd: RawFd) -> io::Result<()> {
        let Some(r) = self.table.get(fd) else {
            return Ok(());
        };
        let Phase::Deferred { multishot } = r.phase else {
            return Ok(());
        };
        if r.interest.is_none() {
            if let Some(r) = self.table.get_mut(fd) {
                r.phase = Phase::Idle;
            }
            return Ok(());
        }
        let multishot = multishot || r.mode == Mode::Edge;
        // POLL* bits as the kernel takes them: a `u32` whose low half is `poll(2)`'s.
        let mask = u32::from(Readiness::poll_bits(r.interest) as u16);
        let generation = self.next_generation();
        sq.push(&[sys::poll_add(fd, mask, multishot, tag(generation, fd))])?;
        if let Some(r) = self.table.get_mut(fd) {
            r.phase = if multishot {
                Phase::Multi { generation, reported: 0 }
            } else {
                Phase::Single { generation }
            };
        }
        Ok(())
    }

    /// Defers a poll for `fd`'s registration, which has none in the ring; with `multishot`,
    /// a multishot one whatever the mode.
    #[inline]
    fn defer(&mut self, fd: RawFd, multishot: bool) {
        let Some(r) = self.table.get_mut(fd) else {
            return;
        };
        match &mut r.phase {
            Phase::Deferred { multishot: m } => *m |= multishot,
            phase => {
                *phase = Phase::Deferred { multishot };
                self.deferred.push_back(fd);
            }
        }
    }

    /// Queues the removal of `fd`'s request, if it has one in the ring; `true` if it had.
    fn disarm(&mut self, sq: &mut Submitter, fd: RawFd) -> io::Result<bool> {
        let Some(generation) = self.table.get(fd).and_then(|r| r.phase.generation()) else {
            return Ok(false);
        };
        sq.push(&[sys::cancel(tag(generation, fd), IGNORED)])?;
        if let Some(r) = self.table.get_mut(fd) {
            r.phase = Phase::Idle;
        }
        Ok(true)
    }

    /// A generation no request in flight has (0 is never one: see [`IGNORED`]). After 2³²
    /// requests it wraps; a completion that old cannot still be in the ring.
    fn next_generation(&mut self) -> u32 {
        self.generation = self.generation.wrapping_add(1).max(1);
        self.generation
    }

    /// Whose request `c` completed.
    #[inline]
    pub(crate) fn whose(&self, c: &Completion) -> Whose {
        if c.user_data == NOTIFY {
            return Whose::Notifier;
        }
        let (generation, fd) = untag(c.user_data);
        match self.table.get(fd) {
            Some(r) if generation != 0 && r.phase.generation() == Some(generation) => {
                Whose::Current { fd, interest: r.interest }
            }
            _ => Whose::Stale,
        }
    }

    /// Whether `c` belongs to the current request of a registration that `pass` has
    /// reported already: it can be folded into that report, as epoll's one ready-list
    /// entry per fd takes every wake-up before the wait that reports it.
    pub(crate) fn reported_in(&self, c: &Completion, pass: u64) -> bool {
        let Whose::Current { fd, .. } = self.whose(c) else {
            return false;
        };
        self.table
            .get(fd)
            .is_some_and(|r| matches!(r.phase, Phase::Multi { reported, .. } if reported == pass))
    }

    /// If `c` completed the current single-shot poll of a registration, defers a fresh
    /// poll for it (at the back of the deferred polls); returns whether it did, and so
    /// whether `c` is spent.
    pub(crate) fn renew_single_shot(&mut self, c: &Completion) -> bool {
        if c.more || c.result < 0 {
            return false;
        }
        let Whose::Current { fd, .. } = self.whose(c) else {
            return false;
        };
        match self.table.get(fd) {
            Some(r) if matches!(r.phase, Phase::Single { .. }) => {
                self.defer(fd, false);
                true
            }
            _ => false,
        }
    }

    /// Moves the deferred polls added last, `count` of them, to the front.
    pub(crate) fn defer_first(&mut self, count: usize) {
        self.deferred.rotate_right(count);
    }

    /// How many polls are deferred.
    #[inline]
    pub(crate) fn deferred_len(&self) -> usize {
        self.deferred.len()
    }

    /// The notifier's poll completed; `more`: it is still armed.
    pub(crate) fn notified(&self, sq: &mut Submitter, more: bool) -> io::Result<()> {
        if more {
            return Ok(());
        }
        // The kernel ended the multishot poll (a full completion queue): anew.
        self.arm_notifier(sq, false)
    }

    /// The current request of `fd` completed with `revents` (the file's state or the
    /// wake-up's key) in collection pass `pass`; `more`: it is still armed. Returns what
    /// it reports, and queues or defers the request that follows.
    #[inline]
    pub(crate) fn report(
        &mut self,
        sq: &mut Submitter,
        fd: RawFd,
        revents: i32,
        (more, pass): (bool, u64),
    ) -> io::Result<Option<Report>> {
        let Some(r) = self.table.get_mut(fd) else {
            return Ok(None);
        };
        let event = Readiness::from_poll_bits(revents).to_event(r.key, r.interest);
        let mut again = false;
        if let Phase::Multi { reported, .. } = &mut r.phase
            && !event.is_empty()
        {
            again = *reported == pass;
            *reported = pass;
        }
        if !more {
            r.phase = Phase::Idle; // the kernel is done with this request
        }
        let mode = r.mode;
        self.follow(sq, fd, mode, event.is_empty(), more)?;
        Ok((!event.is_empty()).then_some(if again {
            Report::Again(event)
        } else {
            Report::New(event)
        }))
    }

    /// The request that follows a completion of `fd`'s current request, by mode; `empty`:
    /// it reports nothing; `more`: the request is still armed.
    #[inline]
    fn follow(
        &mut self,
        sq: &mut Submitter,
        fd: RawFd,
        mode: Mode,
        empty: bool,
        more: bool,
    ) -> io::Result<()> {
        match (mode, empty) {
            // A multishot poll still armed waits for the next wake-up.
            (Mode::Edge, _) | (_, true) if more => {}
            // Ended by the kernel (it could not post to a full queue): anew.
            (Mode::Edge, _) => self.defer(fd, false),
            // Nothing it asked for: POLLRDHUP on a write-only registration, or a wake-up
            // key that the file's state no longer bears out. A single-shot poll could
            // complete again at once, so wait for a wake-up.
            (_, true) => self.defer(fd, true),
            // A multishot poll (after one with nothing to report) is removed.
            (Mode::Level, false) => {
                if more {
                    self.disarm(sq, fd)?;
                }
                self.defer(fd, false);
            }
            // Oneshot, edge-oneshot: disarmed until `modify`.
            (_, false) if more => _ = self.disarm(sq, fd)?,
            (_, false) => {}
        }
        Ok(())
    }

    /// The current request of `fd` failed with `errno`.
    pub(crate) fn failed(&mut self, fd: RawFd, errno: i32) -> Option<Event> {
        let r = *self.table.get(fd)?;
        if let Some(r) = self.table.get_mut(fd) {
            r.phase = Phase::Idle; // a failed request is over
        }
        match errno {
            // Not ours (ours are dropped by generation): the kernel cancelled it. Anew.
            libc::ECANCELED => {
                self.defer(fd, false);
                None
            }
            // Closed before its request reached the kernel: reported once, then forgotten,
            // as poll(2) reports POLLNVAL.
            libc::EBADF => {
                self.table.remove(fd);
                let closed = Readiness { closed: true, ..Readiness::default() };
                Some(closed.to_event(r.key, r.interest))
            }
            // Anything else cannot be polled (again): an error, and silence until `modify`.
            _ => {
                let error = Readiness::from_poll_bits(i32::from(libc::POLLERR));
                Some(error.to_event(r.key, r.interest))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsRawFd;
    use std::sync::Arc;

    use multipoll_core::backend::file::pollable_file;

    use super::*;
    use crate::sys::Ring;

    /// Registrations over a real ring whose queue is never submitted, and a pipe's read
    /// end registered for reading in `mode`.
    fn registered(mode: Mode) -> io::Result<(Registrations, Submitter, RawFd, io::PipeReader)> {
        let (ring, queues) = Ring::new(8, 16)?;
        let mut sq = Submitter::new(Arc::new(ring), queues);
        let (reader, _) = io::pipe()?;
        let fd = reader.as_raw_fd();
        let mut regs = Registrations::new(-1);
        let registration = Registration::new(7, Interest::READABLE, mode, pollable_file(fd)?);
        regs.insert(&mut sq, fd, registration)?;
        Ok((regs, sq, fd, reader))
    }

    fn phase(regs: &Registrations, fd: RawFd) -> Option<Phase> {
        regs.get(fd).map(|r| r.phase)
    }

    /// A completion of `fd`'s current request with `revents`.
    fn completion(regs: &Registrations, fd: RawFd, revents: i32, more: bool) -> Completion {
        let generation = phase(regs, fd).and_then(Phase::generation).unwrap_or(0);
        Completion { user_data: tag(generation, fd), result: revents, more, asked: true }
    }

    #[test]
    fn changes_before_a_wait_defer_one_poll() -> io::Result<()> {
        let (mut regs, mut sq, fd, _pipe) = registered(Mode::Level)?;
        regs.modify(&mut sq, fd, (8, Interest::READABLE, Mode::Oneshot))?;
        regs.modify(&mut sq, fd, (9, Interest::READABLE, Mode::Level))?;
        assert_eq!(regs.deferred_len(), 1);
        assert!(!sq.has_queued(), "no entry before the wait arms");
        regs.arm_deferred(&mut sq)?;
        assert!(matches!(phase(&regs, fd), Some(Phase::Single { .. })));
        assert!(!regs.has_deferred());
        Ok(())
    }

    #[test]
    fn edge_is_multishot_and_merges_its_wake_ups_in_one_pass() -> io::Result<()> {
        let (mut regs, mut sq, fd, _pipe) = registered(Mode::Edge)?;
        regs.arm_deferred(&mut sq)?;
        let first = completion(&regs, fd, i32::from(libc::POLLIN), true);
        assert!(matches!(regs.report(&mut sq, fd, first.result, (true, 1))?, Some(Report::New(_))));
        assert!(regs.reported_in(&first, 1) && !regs.reported_in(&first, 2));
        let again = regs.report(&mut sq, fd, first.result, (true, 1))?;
        assert!(matches!(again, Some(Report::Again(_))));
        Ok(())
    }

    #[test]
    fn completion_with_nothing_asked_for_parks_a_multishot_poll() -> io::Result<()> {
        let (mut regs, mut sq, fd, _pipe) = registered(Mode::Level)?;
        regs.arm_deferred(&mut sq)?;
        // Nothing: a wake-up key that the file's state, asked, no longer bears out.
        assert!(regs.report(&mut sq, fd, 0, (false, 1))?.is_none());
        assert_eq!(phase(&regs, fd), Some(Phase::Deferred { multishot: true }));
        regs.arm_deferred(&mut sq)?;
        assert!(matches!(phase(&regs, fd), Some(Phase::Multi { .. })));
        Ok(())
    }

    #[test]
    fn completion_of_a_replaced_request_is_stale() -> io::Result<()> {
        let (mut regs, mut sq, fd, _pipe) = registered(Mode::Oneshot)?;
        regs.arm_deferred(&mut sq)?;
        let old = completion(&regs, fd, i32::from(libc::POLLIN), false);
        assert!(matches!(regs.whose(&old), Whose::Current { .. }));
        regs.modify(&mut sq, fd, (7, Interest::READABLE, Mode::Oneshot))?;
        regs.arm_deferred(&mut sq)?;
        assert!(matches!(regs.whose(&old), Whose::Stale));
        Ok(())
    }

    #[test]
    fn tags_round_trip_and_never_collide_with_internal_ones() {
        for (generation, fd) in [(1, 0), (7, 3), (u32::MAX, RawFd::MAX)] {
            let t = tag(generation, fd);
            assert_eq!(untag(t), (generation, fd));
            assert!(t != IGNORED && t != NOTIFY, "{generation} {fd}");
        }
    }
}
