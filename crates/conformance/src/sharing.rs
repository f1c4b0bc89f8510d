//! Several threads waiting on one poller at once, sharing what is ready: who is handed
//! what, and that nothing falls between them.
//!
//! [`waiters`](crate::waiters) checks that no waiter queues behind another and that one
//! change or one readiness reaches one of two waiters. A thread pool that has every worker
//! wait on one poller relies on more: a level-ready fd is reported to every wait while it
//! stays ready (so more than one worker may be handed it); oneshot and edge hand each
//! readiness, among many, to exactly one wait, round after round (which is how such a pool
//! shares work without two workers reading one socket); a `modify` or `delete` made while
//! several wait is seen by them; and a waiter that leaves does not take the others'
//! wake-ups with it. Every behaviour runs its waiters through [`wait_in_threads`], which
//! bounds them.

use std::collections::HashSet;
use std::io;
use std::thread;
use std::time::{Duration, Instant};

use multipoll_core::{AsSource, Interest, Mode, Poller};

use crate::herd::{Waiter, wait_in_threads};
use crate::util::{LONG, PROMPT, QUIET, Stream, Want, drain, one_way, send, stream_pair};

/// How many threads wait at once in these behaviours.
const WAITERS: usize = 3;

/// An fd made ready in level mode while several threads wait is reported to every one of
/// them: a wait blocks only while nothing registered is ready, and nothing drains it. No
/// waiter stays blocked, and none reports anything else.
pub fn level_ready_wakes_every_waiter<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let (a, b) = stream_pair()?;
    poller.add(b.as_source(), 1, Interest::READABLE, Mode::Level)?;
    // One wait each: a waiter that waited again would only spin on the ready fd.
    let herd = wait_in_threads(&poller, &[Waiter::once(Some(LONG)); WAITERS], |herd| {
        send(&a, b"x")?;
        let end = Instant::now() + PROMPT;
        let mut reported = HashSet::new();
        while reported.len() < herd.waiters() {
            let left = end.saturating_duration_since(Instant::now());
            let Some(report) = herd.next(left) else {
                panic!("within {PROMPT:?}, only waiters {reported:?} reported the ready fd");
            };
            assert!(report.has(1), "waiter {} returned without the ready fd", report.waiter);
            reported.insert(report.waiter);
        }
        Ok(())
    })?;
    herd.assert_only(&[1]);
    for report in &herd.reports {
        assert!(Want::readable(1).matches(&report.events[0]), "{:?}", report.events);
    }
    Ok(())
}

/// A `modify` and a `delete` made while several threads wait are each seen by one of them
/// at once: a silenced ready fd given readable interest again is reported under its new
/// key (and never again under the old); a deleted one is not reported, though it stays
/// ready, while an fd added with it is. ("Never" and "not" for the waits that start after
/// the change returned: one already collecting may still hold the old registration.)
pub fn modify_and_delete_during_several_waits<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let (read1, write1) = one_way()?;
    let (read2, write2) = one_way()?;
    // Each ready fd is drained as soon as it is reported: level waiters would spin on it.
    let herd = wait_in_threads(&poller, &[Waiter::repeating(None); WAITERS], |herd| {
        send(&write1, b"x")?;
        poller.add(read1.as_source(), 1, Interest::READABLE, Mode::Level)?;
        herd.expect_key(1);
        drain(&read1)?;
        poller.modify(read1.as_source(), 2, Interest::NONE, Mode::Level)?;
        let silenced = Instant::now();
        send(&write1, b"x")?;
        poller.modify(read1.as_source(), 2, Interest::READABLE, Mode::Level)?;
        herd.expect_key(2);
        drain(&read1)?;
        poller.add(read2.as_source(), 3, Interest::READABLE, Mode::Level)?;
        poller.delete(read1.as_source())?;
        let deleted = Instant::now();
        send(&write1, b"x")?;
        send(&write2, b"x")?;
        herd.expect_key(3);
        drain(&read2)?;
        // Time for a wait to (wrongly) report the deleted fd, which stays ready.
        thread::sleep(QUIET);
        Ok((silenced, deleted))
    })?;
    let (silenced, deleted) = herd.output;
    herd.assert_only(&[1, 2, 3]);
    for report in &herd.reports {
        if report.started > silenced {
            assert!(!report.has(1), "reported under its old key after modify: {report:?}");
        }
        if report.started > deleted {
            assert!(!report.has(2), "reported after delete returned: {report:?}");
        }
    }
    Ok(())
}

/// A registration change is seen by a thread still waiting after another waiter has
/// returned and left: the waiter that leaves (its timeout passed) must not take the other's
/// wake-up with it.
pub fn change_seen_after_another_waiter_left<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let (read, write) = one_way()?;
    let short = Duration::from_millis(150);
    let waiters = [Waiter::once(Some(short)), Waiter::repeating(Some(LONG))];
    let herd = wait_in_threads(&poller, &waiters, |herd| {
        let Some(left) = herd.next(PROMPT) else {
            panic!("wait({short:?}) had not returned after {PROMPT:?}");
        };
        assert_eq!((left.waiter, left.events.as_slice()), (0, &[][..]), "{left:?}");
        send(&write, b"x")?;
        poller.add(read.as_source(), 1, Interest::READABLE, Mode::Level)?;
        let report = herd.expect_key(1);
        assert_eq!(report.waiter, 1);
        drain(&read).map(drop)
    })?;
    herd.assert_only(&[1]);
    Ok(())
}

/// Nothing falls between several waiters: fds registered before and during their waits,
/// in every supported mode but level (oneshot, edge, edge-oneshot: where a readiness that
/// no wait reports is lost for good), made ready one after another while reports are being
/// collected, are each reported promptly and exactly once; so are they again when re-armed
/// by `modify` (the oneshot modes) or written to again (edge). (Level mode cannot lose a readiness that lasts; that every
/// waiter sees it is [`level_ready_wakes_every_waiter`].)
pub fn nothing_lost_between_waiters<P: Poller>() -> io::Result<()> {
    const FDS: usize = 32;
    let caps = P::new()?.capabilities();
    for mode in caps.supported_modes().filter(|m| *m != Mode::Level) {
        let poller = P::new()?;
        // Sockets, not pipes: a write to a pipe that already holds data is a new edge only
        // on recent Linux kernels.
        let pairs: Vec<(Stream, Stream)> =
            (0..FDS).map(|_| stream_pair()).collect::<io::Result<_>>()?;
        let (before, during) = pairs.split_at(FDS / 2);
        for (key, (_, read)) in before.iter().enumerate() {
            poller.add(read.as_source(), key, Interest::READABLE, mode)?;
        }
        let herd = wait_in_threads(&poller, &[Waiter::repeating(Some(LONG)); WAITERS], |herd| {
            for (i, (_, read)) in during.iter().enumerate() {
                poller.add(read.as_source(), FDS / 2 + i, Interest::READABLE, mode)?;
            }
            for round in 0..2 {
                let mut seen = HashSet::new();
                let end = Instant::now() + PROMPT;
                for (key, (write, read)) in pairs.iter().enumerate() {
                    if round > 0 && mode.is_oneshot() {
                        poller.modify(read.as_source(), key, Interest::READABLE, mode)?;
                    } else {
                        send(write, b"x")?;
                    }
                    // Readiness in fours, some while the reports of others are in flight.
                    if key % 4 != 3 {
                        continue;
                    }
                    while !(0..=key).all(|k| seen.contains(&k)) {
                        let left = end.saturating_duration_since(Instant::now());
                        let Some(report) = herd.next(left) else {
                            let missing: Vec<usize> =
                                (0..=key).filter(|k| !seen.contains(k)).collect();
                            panic!("{mode}, round {round}: keys {missing:?} ready, not reported");
                        };
                        seen.extend(report.events.iter().map(|e| e.key()));
                    }
                }
                // Time for a second report of any of them.
                thread::sleep(QUIET);
            }
            Ok(())
        })?;
        herd.assert_only(&(0..FDS).collect::<Vec<_>>());
        for report in &herd.reports {
            for event in &report.events {
                assert!(Want::readable(event.key()).matches(event), "{mode}: {event:?}");
            }
        }
        for key in 0..FDS {
            let times = herd.times(key);
            assert_eq!(times, 2, "{mode}: key {key} reported {times} times in two rounds");
        }
    }
    Ok(())
}
