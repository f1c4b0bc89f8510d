//! [`Records`]: each registered fd's key and interest, read by waiters without a lock.
//!
//! epoll hands back, with each event, the 64 bits of `data` given to `epoll_ctl`. The
//! backend puts a [`tag`] there: the fd and the *generation* of its registration, a
//! counter that every `add`, `modify` and `delete` of the fd moves on. A waiter reads the
//! fd's record and reports the event only if the record shows that tag, with the key and
//! interest the record holds. So an event is filtered by the registration as it is *now*,
//! and one the kernel handed out before a `delete` or `modify` returned is dropped, with
//! no lock on the path of an event.
//!
//! A change hands the kernel its new tag before it publishes the record (an event of the
//! new registration may then reach a waiter first), and changes run under the backend's
//! lock: a waiter whose tag the record does not show looks once more under that lock,
//! when no change is in progress, and only then drops the event.
//!
//! Each record is two atomics, in segments that are allocated once and never move, so a
//! waiter reads them while a writer adds a segment. The first, fds 0–1023 (the default
//! limit of a process's fds, so often all of them), is made with the records and indexed
//! directly: an event's record is one compare and one address away. The next have 2048,
//! 4096, … fds, each in a `OnceLock` that a writer fills when it first needs it. Writers
//! change a record as a sequence lock would: the state first (new generation, not
//! registered), then the key, then the state again
//! (registered). A waiter that read the state, then the key, then the same state again,
//! read the key of that state's registration: the key's store is Release and its load
//! Acquire, so a key stored by a later writer would have shown the waiter that writer's
//! first state store, and the second read a different state.
//!
//! A generation is 28 bits and wraps. A stale event could pass for a current one, or a
//! key be read with another registration's state, only if that fd's registration changed
//! a multiple of 2²⁸ times (each an `epoll_ctl`: minutes of them) while the waiter was
//! stopped inside that check.

use std::os::fd::RawFd;
use std::sync::OnceLock;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::atomic::{AtomicU32, AtomicUsize};

use multipoll_core::Interest;

/// A registration as its record shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Current {
    pub(crate) key: usize,
    pub(crate) interest: Interest,
}

/// The registration an event belongs to, as [`Records::get`] found it: the key, and the
/// interest still packed as in the record (unpacked only off the fast path).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Found {
    pub(crate) key: usize,
    state: u32,
}

impl Found {
    /// Whether the registration wants readable events.
    #[inline]
    pub(crate) fn is_readable(&self) -> bool {
        self.state & READABLE != 0
    }

    /// The registration's interest.
    pub(crate) fn interest(&self) -> Interest {
        interest_of(self.state)
    }
}

/// The tag of the notifier's eventfd: fd −1, which no registration has (a `BorrowedFd` is
/// never negative), so [`Records::get`] finds no record for it.
pub(crate) const WAKE: u64 = u64::MAX;

/// Slots of the first segment; segment `s` has `FIRST << s`.
const FIRST: usize = 1024;
/// Enough segments for every `u32` fd (23, since `fd + FIRST < 2³³`), rounded up to a
/// power of two so that a segment number needs no bounds check.
const SEGMENTS: usize = 32;

/// State bits: the interest (readable, writable, priority), registered, then the
/// generation in the upper 28.
const READABLE: u32 = 1;
const WRITABLE: u32 = 2;
const PRIORITY: u32 = 4;
const INTEREST: u32 = READABLE | WRITABLE | PRIORITY;
const REGISTERED: u32 = 8;
const GENERATION: u32 = 1 << 4;

/// The `data` of an epoll event: the fd in the low 32 bits; in the high ones, the state
/// its record has while registered under this tag (generation, [`REGISTERED`], interest),
/// so that a waiter compares the two words as they are. Every change of interest is a
/// new generation, so the interest is part of the tag at no cost.
fn tag(fd: RawFd, generation: u32, interest: Interest) -> u64 {
    let state = generation.wrapping_mul(GENERATION) | REGISTERED | interest_bits(interest);
    u64::from(state) << 32 | u64::from(fd as u32)
}

/// The records of one poller, indexed by fd.
#[derive(Debug)]
pub(crate) struct Records {
    /// Segment 0, made with the records (16 KiB).
    first: Box<[Slot; FIRST]>,
    /// Segment `s` > 0, its `FIRST << s` slots allocated by [`Records::slot_for`] when a
    /// writer first needs one (index 0 stays empty). Boxed, so that a poller stays small
    /// (an `Epoll` is one variant of the facade's `AnyPoller`).
    segments: Box<[OnceLock<Box<[Slot]>>; SEGMENTS]>,
}

impl Default for Records {
    fn default() -> Records {
        let first: Box<[Slot]> = std::iter::repeat_with(Slot::default).take(FIRST).collect();
        let first = first.try_into().unwrap_or_else(|_| unreachable!("FIRST slots were made"));
        Records { first, segments: Box::default() }
    }
}

/// One fd's slot of the records: the state word (generation, registered, interest) and
/// the key.
#[derive(Debug, Default)]
struct Slot {
    state: AtomicU32,
    key: AtomicUsize,
}

/// Which segment holds `fd`, and where in it.
#[inline]
fn locate(fd: u32) -> (usize, usize) {
    // Segment s holds i = fd + FIRST in [FIRST << s, FIRST << (s + 1)): its top bit says
    // which, the bits below it where.
    let i = u64::from(fd) + FIRST as u64;
    let top = i.ilog2();
    ((top - FIRST.ilog2()) as usize, (i ^ 1 << top) as usize)
}

fn interest_bits(interest: Interest) -> u32 {
    let bit = |on, bit| if on { bit } else { 0 };
    bit(interest.is_readable(), READABLE)
        | bit(interest.is_writable(), WRITABLE)
        | bit(interest.is_priority(), PRIORITY)
}

fn interest_of(state: u32) -> Interest {
    let interest = Interest::new(state & READABLE != 0, state & WRITABLE != 0);
    if state & PRIORITY != 0 { interest.with(Interest::PRIORITY) } else { interest }
}

impl Records {
    #[inline]
    fn record(&self, fd: u32) -> Option<&Slot> {
        match self.first.get(fd as usize) {
            Some(slot) => Some(slot),
            None => self.later(fd),
        }
    }

    /// The slot of an fd past the first segment, if its segment exists.
    #[inline]
    fn later(&self, fd: u32) -> Option<&Slot> {
        let (segment, offset) = locate(fd);
        self.segments[segment % SEGMENTS].get()?.get(offset)
    }

    /// `fd`'s slot, its segment allocated if it is not yet (writers).
    fn slot_for(&self, fd: u32) -> &Slot {
        if let Some(slot) = self.first.get(fd as usize) {
            return slot;
        }
        let (segment, offset) = locate(fd);
        let slots = self.segments[segment % SEGMENTS]
            .get_or_init(|| std::iter::repeat_with(Slot::default).take(FIRST << segment).collect());
        &slots[offset]
    }

    /// The registration the event tagged `tag` belongs to, if its record shows that tag:
    /// `None` when it does not (deleted or changed since, or a change still in progress),
    /// or when a writer was changing the record as it was read. Lock-free: the waiters'
    /// path for every event.
    #[inline]
    pub(crate) fn get(&self, tag: u64) -> Option<Found> {
        let record = self.record(tag as u32)?;
        let state = record.state.load(Acquire);
        if state != (tag >> 32) as u32 {
            return None;
        }
        let key = record.key.load(Acquire);
        // Unchanged since the first read: `key` is this tag's (module docs).
        if record.state.load(Relaxed) != state {
            return None;
        }
        Some(Found { key, state })
    }

    /// The registration of `fd`, if any (writers, under their lock).
    pub(crate) fn current(&self, fd: RawFd) -> Option<Current> {
        let record = self.record(u32::try_from(fd).ok()?)?;
        let state = record.state.load(Relaxed);
        (state & REGISTERED != 0)
            .then(|| Current { key: record.key.load(Relaxed), interest: interest_of(state) })
    }

    /// The tag that the next registration of `fd`, with `interest`, gets, to hand to the
    /// kernel before [`publish`](Records::publish) (writers, under their lock).
    pub(crate) fn next_tag(&self, fd: RawFd, interest: Interest) -> u64 {
        let state = u32::try_from(fd)
            .ok()
            .and_then(|fd| self.record(fd))
            .map_or(0, |r| r.state.load(Relaxed));
        tag(fd, state / GENERATION + 1, interest)
    }

    /// Records `fd`'s registration under `tag` (from [`next_tag`](Records::next_tag),
    /// which holds its interest) with `key`, once the kernel has it: from now on only
    /// events with this tag are reported, under `key`. Writers, under their lock.
    pub(crate) fn publish(&self, tag: u64, key: usize) {
        let record = self.slot_for(tag as u32);
        let registered = (tag >> 32) as u32;
        // Not registered while the key changes: a waiter that reads this state, or the
        // key below, looks again under the lock. Relaxed: the key's Release store below
        // publishes it to a waiter that reads that key.
        record.state.store(registered & !(REGISTERED | INTEREST), Relaxed);
        record.key.store(key, Release);
        record.state.store(registered, Release);
    }

    /// Forgets `fd`'s registration: no event of it is reported any more. Writers, under
    /// their lock.
    pub(crate) fn remove(&self, fd: RawFd) {
        let Some(record) = u32::try_from(fd).ok().and_then(|fd| self.record(fd)) else {
            return;
        };
        let state = record.state.load(Relaxed);
        record.state.store(state & !(REGISTERED | INTEREST), Release);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;
    use std::thread;

    use super::*;

    fn reg(key: usize, interest: Interest) -> Current {
        Current { key, interest }
    }

    /// Registers `fd` anew as `current`; returns its tag.
    fn register(records: &Records, fd: RawFd, current: Current) -> u64 {
        let tag = records.next_tag(fd, current.interest);
        records.publish(tag, current.key);
        tag
    }

    fn found(records: &Records, tag: u64) -> Option<Current> {
        records.get(tag).map(|f| Current { key: f.key, interest: f.interest() })
    }

    #[test]
    fn segments_cover_every_fd_once() {
        assert_eq!(locate(0), (0, 0));
        assert_eq!(locate(1023), (0, 1023));
        assert_eq!(locate(1024), (1, 0));
        assert_eq!(locate(3071), (1, 2047));
        assert_eq!(locate(3072), (2, 0));
        for fd in [i32::MAX as u32, u32::MAX] {
            let (segment, offset) = locate(fd);
            assert!(segment < SEGMENTS && (offset as u64) < (FIRST as u64) << segment, "{fd}");
        }
    }

    #[test]
    fn only_the_current_tag_is_reported() {
        let records = Records::default();
        assert_eq!(records.current(5), None);
        let first = records.next_tag(5, Interest::READABLE);
        assert_eq!(found(&records, first), None, "not published yet");
        records.publish(first, 1);
        assert_eq!(found(&records, first), Some(reg(1, Interest::READABLE)));
        assert_eq!(records.current(5), Some(reg(1, Interest::READABLE)));

        let both = Interest::BOTH.with(Interest::PRIORITY);
        let second = register(&records, 5, reg(2, both));
        assert_ne!(first, second);
        assert_eq!(found(&records, first), None, "an event of the old registration");
        assert_eq!(found(&records, second), Some(reg(2, both)));

        records.remove(5);
        assert_eq!(found(&records, second), None, "an event after delete");
        assert_eq!(records.current(5), None);
        let third = register(&records, 5, reg(3, Interest::NONE));
        assert!(third != first && third != second, "a new registration is a new tag");
        assert_eq!(records.current(5), Some(reg(3, Interest::NONE)));
        assert_eq!(found(&records, WAKE), None);
    }

    #[test]
    fn a_tag_holds_its_interest() {
        let records = Records::default();
        let tag = register(&records, 200, reg(4, Interest::WRITABLE));
        assert_eq!(found(&records, tag), Some(reg(4, Interest::WRITABLE)));
        let other_interest = tag ^ u64::from(READABLE | WRITABLE) << 32;
        assert_eq!(found(&records, other_interest), None, "the same generation, other interest");
    }

    #[test]
    fn generations_wrap_within_the_state_word() {
        let records = Records::default();
        let last = tag(9, u32::MAX / GENERATION, Interest::READABLE);
        records.publish(last, 1);
        assert_eq!(found(&records, last), Some(reg(1, Interest::READABLE)));
        assert_eq!(records.next_tag(9, Interest::NONE), tag(9, 0, Interest::NONE));
        assert_eq!(tag(9, 0, Interest::NONE) >> 32, u64::from(REGISTERED));
    }

    /// A waiter reading while a writer republishes never sees one registration's key with
    /// another's tag or interest: each key here is published with one generation (its
    /// value) and one interest (its parity).
    #[test]
    fn reads_racing_a_writer_are_consistent() {
        let records = Records::default();
        let stop = AtomicBool::new(false);
        let interests = [Interest::READABLE, Interest::WRITABLE];
        let generation_of = |tag: u64| (tag >> 36) as usize;
        thread::scope(|s| {
            s.spawn(|| {
                for _ in 0..20_000 {
                    let generation = generation_of(records.next_tag(3, Interest::NONE));
                    register(&records, 3, reg(generation, interests[generation % 2]));
                }
                stop.store(true, Release);
            });
            while !stop.load(Acquire) {
                // The tag of the registration the record should show now.
                let generation = generation_of(records.next_tag(3, Interest::NONE)) - 1;
                let tag = tag(3, generation as u32, interests[generation % 2]);
                if let Some(c) = found(&records, tag) {
                    assert_eq!(c.key, generation, "the key of another generation");
                    assert_eq!(c.interest, interests[c.key % 2], "the interest of another key");
                }
            }
        });
    }

    #[test]
    fn segments_are_made_on_first_use_and_kept() {
        let records = Records::default();
        for fd in [5, 1023, 1024, 5000, i32::MAX] {
            assert_eq!(found(&records, tag(fd, 1, Interest::READABLE)), None, "{fd}");
            assert_eq!(records.current(fd), None, "{fd}");
        }
        let tags = [5000, 5001, 1023, 1024].map(|fd| {
            let key = fd as usize;
            (register(&records, fd, reg(key, Interest::READABLE)), key)
        });
        for (tag, key) in tags {
            assert_eq!(found(&records, tag), Some(reg(key, Interest::READABLE)), "{key}");
        }
    }
}
