//! Several waiters: the [Several waiters](multipoll_core::Poller#several-waiters) rules.
//!
//! A thread pool that shares one poller, or a thread that polls with a zero timeout while
//! another is blocked, relies on each waiter keeping its own timeout. A backend that lets
//! one waiter into the kernel at a time behind a lock breaks that silently: the second
//! waiter blocks on the lock, outside the kernel, until the first returns — a zero timeout
//! then blocks for as long as the first waits (for ever without a notify). So every
//! behaviour here starts a waiter blocked in `wait(None)` first, and then a second one.
//!
//! The waiters run in a herd ([`wait_in_threads`]), which bounds them: the first is
//! started before the behaviour's action, the second by it, and when the action is over a
//! waiter still blocked is released through a pipe of the herd's own (level-readable,
//! which wakes every waiter on every backend); one that does not return then fails the
//! behaviour instead of hanging it.

use std::io;
use std::thread;
use std::time::{Duration, Instant};

use multipoll_core::{AsSource, Event, Interest, Mode, Poller};

use crate::herd::{Herd, Report, Waiter, wait_in_threads};
use crate::util::{LATE, LONG, PROMPT, SETTLE, Want, one_way, send, supports};

/// While one thread is blocked in `wait(None)`, a second thread's `wait(Some(ZERO))`
/// returns at once: the fastest of 20 takes well under a millisecond, and none blocks.
pub fn second_waiter_zero_timeout<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    wait_in_threads(&poller, &[Waiter::once(None)], |herd| {
        let second = herd.start(Waiter::times(Some(Duration::ZERO), 20));
        let waits = herd.expect_waits_of(
            second,
            20,
            PROMPT,
            "a zero-timeout wait queued behind wait(None)",
        );
        let fastest = waits.iter().map(Report::elapsed).min().unwrap_or(Duration::MAX);
        assert!(fastest < Duration::from_millis(1), "fastest zero wait: {fastest:?}");
        for wait in &waits {
            assert_eq!(wait.events, [], "nothing is ready: {wait:?}");
        }
        release(&poller, herd, 1)
    })
    .map(drop)
}

/// While one thread is blocked in `wait(None)`, a second thread's `wait(Some(50 ms))`
/// times out after 50 ms (never earlier, not much later), three times in a row.
pub fn second_waiter_keeps_its_timeout<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let timeout = Duration::from_millis(50);
    wait_in_threads(&poller, &[Waiter::once(None)], |herd| {
        let second = herd.start(Waiter::times(Some(timeout), 3));
        let waits = herd.expect_waits_of(second, 3, LONG, "a 50 ms wait queued behind wait(None)");
        for wait in &waits {
            assert!(wait.elapsed() >= timeout, "a 50 ms wait returned early: {wait:?}");
            assert!(wait.elapsed() < timeout + LATE, "a 50 ms wait returned late: {wait:?}");
            assert_eq!(wait.events, [], "nothing is ready: {wait:?}");
        }
        release(&poller, herd, 1)
    })
    .map(drop)
}

/// Two threads blocked in `wait(None)` stay blocked until notified, and notifies release
/// both promptly, each with no event (a notify wakes at least one waiter, so it may take
/// one per waiter).
pub fn waiters_blocked_until_notified<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    wait_in_threads(&poller, &[Waiter::once(None)], |herd| {
        herd.start(Waiter::once(None));
        thread::sleep(SETTLE);
        if let Some(early) = herd.next(SETTLE) {
            panic!("a wait(None) returned with nothing to report: {early:?}");
        }
        let start = Instant::now();
        release(&poller, herd, 2)?;
        assert!(start.elapsed() < PROMPT, "notifies took {:?} to release both", start.elapsed());
        Ok(())
    })
    .map(drop)
}

/// A registration made while two threads are blocked in `wait(None)` is seen by one of
/// them promptly, in each supported mode; in oneshot and edge mode by exactly one of them
/// (the other reports nothing of it when it is notified out).
pub fn change_seen_by_one_of_two_waiters<P: Poller>() -> io::Result<()> {
    for mode in [Mode::Level, Mode::Oneshot, Mode::Edge] {
        // A poller of its own per mode: the notifies that released the last round's
        // waiters may leave a wake-up behind, which would end a wait with no event.
        let poller = P::new()?;
        if !supports(&poller, mode)? {
            continue;
        }
        let (read, write) = one_way()?;
        send(&write, b"x")?;
        let seen = wait_in_threads(&poller, &[Waiter::once(None); 2], |herd| {
            poller.add(read.as_source(), 7, Interest::READABLE, mode)?;
            let first = herd.next(PROMPT).unwrap_or_else(|| {
                panic!("{mode}: an add during two waits woke neither within {PROMPT:?}")
            });
            let mut reports = count_reports(&first.events, mode);
            assert_eq!(reports, 1, "{mode}: the first waiter back did not report the new fd");
            for other in notify_until(&poller, herd, 1)? {
                reports += count_reports(&other.events, mode);
            }
            Ok(reports)
        })?
        .output;
        if mode != Mode::Level {
            assert_eq!(seen, 1, "{mode}: one readiness was reported {seen} times");
        }
        poller.delete(read.as_source())?;
    }
    Ok(())
}

/// Data that arrives while two threads wait on a oneshot (or edge) registration is
/// reported to exactly one of them, and never lost.
pub fn readiness_during_two_waits_reported_once<P: Poller>() -> io::Result<()> {
    for mode in [Mode::Oneshot, Mode::Edge] {
        // A poller of its own per mode: the notifies that released the last round's
        // waiters may leave a wake-up behind, which would end a wait with no event.
        let poller = P::new()?;
        if !supports(&poller, mode)? {
            continue;
        }
        let (read, write) = one_way()?;
        poller.add(read.as_source(), 7, Interest::READABLE, mode)?;
        let seen = wait_in_threads(&poller, &[Waiter::once(None); 2], |herd| {
            send(&write, b"x")?;
            let first = herd.next(PROMPT).unwrap_or_else(|| {
                panic!("{mode}: data during two waits woke neither within {PROMPT:?}")
            });
            let mut reports = count_reports(&first.events, mode);
            for other in notify_until(&poller, herd, 1)? {
                reports += count_reports(&other.events, mode);
            }
            Ok(reports)
        })?
        .output;
        assert_eq!(seen, 1, "{mode}: one arrival was reported {seen} times");
        poller.delete(read.as_source())?;
    }
    Ok(())
}

/// How many of `events` report key 7 readable; anything else fails the behaviour.
#[track_caller]
fn count_reports(events: &[Event], mode: Mode) -> usize {
    for event in events {
        assert!(Want::readable(7).matches(event), "{mode}: unexpected {event:?}");
    }
    events.len()
}

/// Notifies the blocked waiters until `count` of their waits have returned, and returns
/// them.
fn notify_until<P: Poller>(
    poller: &P,
    herd: &Herd<'_, '_, P>,
    count: usize,
) -> io::Result<Vec<Report>> {
    let deadline = Instant::now() + LONG;
    let mut returned = Vec::new();
    while returned.len() < count {
        assert!(Instant::now() < deadline, "waiters still blocked {LONG:?} into notifying");
        poller.notify()?;
        returned.extend(herd.next(Duration::from_millis(20)));
    }
    Ok(returned)
}

/// Releases the `count` waiters still blocked (by notifying) and checks they saw nothing.
fn release<P: Poller>(poller: &P, herd: &Herd<'_, '_, P>, count: usize) -> io::Result<()> {
    for returned in notify_until(poller, herd, count)? {
        let waiter = returned.waiter;
        assert_eq!(returned.events, [], "released waiter {waiter} reported an event");
    }
    Ok(())
}
