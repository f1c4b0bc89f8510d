//! Several waiters: the [Several waiters](multipoll_core::Poller#several-waiters) rules.
//!
//! A thread pool that shares one poller, or a thread that polls with a zero timeout while
//! another is blocked, relies on each waiter keeping its own timeout. A backend that lets
//! one waiter into the kernel at a time behind a lock breaks that silently: the second
//! waiter blocks on the lock, outside the kernel, until the first returns — a zero timeout
//! then blocks for as long as the first waits (for ever without a notify). So every
//! behaviour here starts a waiter blocked in `wait(None)` first, and then a second one.
//!
//! The waiters run in a `Crowd`, which bounds them: a waiter still blocked [`LONG`] after
//! the behaviour's action is released through a pipe of its own (level-readable, which
//! wakes every waiter on every backend) and the behaviour fails instead of hanging.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::{self, Scope};
use std::time::{Duration, Instant};

use multipoll_core::{Event, Events, Interest, Mode, Poller};

use crate::util::{
    BACKSTOP_KEY, LATE, LONG, PROMPT, SETTLE, Want, pipe, send, supports, wait_checked,
};

/// While one thread is blocked in `wait(None)`, a second thread's `wait(Some(ZERO))`
/// returns at once: the fastest of 20 takes well under a millisecond, and none blocks.
pub fn second_waiter_zero_timeout<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    crowd(&poller, |crowd| {
        crowd.start(None, 1);
        thread::sleep(SETTLE);
        crowd.start(Some(Duration::ZERO), 20);
        let second = crowd.next(PROMPT).expect("a zero-timeout wait queued behind wait(None)");
        assert_eq!(second.id, 1, "the blocked waiter returned: {second:?}");
        assert!(second.fastest < Duration::from_millis(1), "fastest zero wait: {second:?}");
        assert_eq!(second.events?, [], "nothing is ready");
        release(&poller, crowd, 1)
    })
}

/// While one thread is blocked in `wait(None)`, a second thread's `wait(Some(50 ms))`
/// times out after 50 ms (never earlier, not much later), three times in a row.
pub fn second_waiter_keeps_its_timeout<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let timeout = Duration::from_millis(50);
    crowd(&poller, |crowd| {
        crowd.start(None, 1);
        thread::sleep(SETTLE);
        crowd.start(Some(timeout), 3);
        let second = crowd.next(LONG).expect("a 50 ms wait queued behind wait(None)");
        assert_eq!(second.id, 1, "the blocked waiter returned: {second:?}");
        assert!(second.fastest >= timeout, "a 50 ms wait returned early: {second:?}");
        assert!(second.slowest < timeout + LATE, "a 50 ms wait returned late: {second:?}");
        assert_eq!(second.events?, [], "nothing is ready");
        release(&poller, crowd, 1)
    })
}

/// Two threads blocked in `wait(None)` stay blocked until notified, and notifies release
/// both promptly, each with no event (a notify wakes at least one waiter, so it may take
/// one per waiter).
pub fn waiters_blocked_until_notified<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    crowd(&poller, |crowd| {
        crowd.start(None, 1);
        thread::sleep(SETTLE);
        crowd.start(None, 1);
        if let Some(early) = crowd.next(SETTLE) {
            panic!("a wait(None) returned with nothing to report: {early:?}");
        }
        let start = Instant::now();
        for returned in notify_until(&poller, crowd, 2)? {
            assert_eq!(returned.events?, [], "a notify is not an event");
        }
        assert!(start.elapsed() < PROMPT, "notifies took {:?} to release both", start.elapsed());
        Ok(())
    })
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
        let (read, write) = pipe()?;
        send(&write, b"x")?;
        let seen = crowd(&poller, |crowd| {
            crowd.start(None, 1);
            crowd.start(None, 1);
            thread::sleep(SETTLE);
            poller.add(read.as_fd(), 7, Interest::READABLE, mode)?;
            let first = crowd.next(PROMPT).unwrap_or_else(|| {
                panic!("{mode}: an add during two waits woke neither within {PROMPT:?}")
            });
            let mut reports = count_reports(first.events?, mode);
            assert_eq!(reports, 1, "{mode}: the first waiter back did not report the new fd");
            for other in notify_until(&poller, crowd, 1)? {
                reports += count_reports(other.events?, mode);
            }
            Ok(reports)
        })?;
        if mode != Mode::Level {
            assert_eq!(seen, 1, "{mode}: one readiness was reported {seen} times");
        }
        poller.delete(read.as_fd())?;
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
        let (read, write) = pipe()?;
        poller.add(read.as_fd(), 7, Interest::READABLE, mode)?;
        let seen = crowd(&poller, |crowd| {
            crowd.start(None, 1);
            crowd.start(None, 1);
            thread::sleep(SETTLE);
            send(&write, b"x")?;
            let first = crowd.next(PROMPT).unwrap_or_else(|| {
                panic!("{mode}: data during two waits woke neither within {PROMPT:?}")
            });
            let mut reports = count_reports(first.events?, mode);
            for other in notify_until(&poller, crowd, 1)? {
                reports += count_reports(other.events?, mode);
            }
            Ok(reports)
        })?;
        assert_eq!(seen, 1, "{mode}: one arrival was reported {seen} times");
        poller.delete(read.as_fd())?;
    }
    Ok(())
}

/// How many of `events` report key 7 readable; anything else fails the behaviour.
#[track_caller]
fn count_reports(events: Vec<Event>, mode: Mode) -> usize {
    for event in &events {
        assert!(Want::readable(7).matches(event), "{mode}: unexpected {event:?}");
    }
    events.len()
}

/// Notifies the blocked waiters until `count` of them have returned, and returns them.
fn notify_until<P: Poller>(
    poller: &P,
    crowd: &Crowd<'_, '_, P>,
    count: usize,
) -> io::Result<Vec<Returned>> {
    let deadline = Instant::now() + LONG;
    let mut returned = Vec::new();
    while returned.len() < count {
        assert!(Instant::now() < deadline, "waiters still blocked {LONG:?} into notifying");
        poller.notify()?;
        returned.extend(crowd.next(Duration::from_millis(20)));
    }
    Ok(returned)
}

/// Releases the `count` waiters still blocked (by notifying) and checks they saw nothing.
fn release<P: Poller>(poller: &P, crowd: &Crowd<'_, '_, P>, count: usize) -> io::Result<()> {
    for returned in notify_until(poller, crowd, count)? {
        let id = returned.id;
        assert_eq!(returned.events?, [], "released waiter {id} reported an event");
    }
    Ok(())
}

/// What one waiter of a `Crowd` saw.
#[derive(Debug)]
struct Returned {
    /// The order in which it was started.
    id: usize,
    /// The events of its last wait (without the backstop's), or the first error.
    events: io::Result<Vec<Event>>,
    /// The shortest and the longest of its waits.
    fastest: Duration,
    slowest: Duration,
}

/// Waiter threads on one poller, started by a behaviour's action and bounded by a
/// backstop pipe.
struct Crowd<'scope, 'env, P: Poller> {
    poller: &'env P,
    scope: &'scope Scope<'scope, 'env>,
    tx: Sender<Returned>,
    rx: Receiver<Returned>,
    started: std::cell::Cell<usize>,
}

impl<P: Poller> Crowd<'_, '_, P> {
    /// Starts a waiter that makes `rounds` waits with `timeout`.
    fn start(&self, timeout: Option<Duration>, rounds: usize) {
        let (poller, tx, id) = (self.poller, self.tx.clone(), self.started.get());
        self.started.set(id + 1);
        self.scope.spawn(move || {
            let mut events = Events::new();
            let (mut fastest, mut slowest) = (Duration::MAX, Duration::ZERO);
            let mut last = Ok(Vec::new());
            for _ in 0..rounds {
                let start = Instant::now();
                last = wait_checked(poller, &mut events, timeout);
                let took = start.elapsed();
                (fastest, slowest) = (fastest.min(took), slowest.max(took));
                if last.is_err() {
                    break;
                }
            }
            let events = last.map(|mut got| {
                got.retain(|e| e.key() != BACKSTOP_KEY);
                got
            });
            let _ = tx.send(Returned { id, events, fastest, slowest });
        });
    }

    /// The next waiter to return within `within`, if any.
    fn next(&self, within: Duration) -> Option<Returned> {
        self.rx.recv_timeout(within).ok()
    }
}

/// Runs `act` with a `Crowd` on `poller`, then checks that every waiter it started has
/// returned; one still blocked [`LONG`] later is released through the backstop pipe and
/// fails the behaviour.
fn crowd<P: Poller, R>(
    poller: &P,
    act: impl FnOnce(&Crowd<'_, '_, P>) -> io::Result<R>,
) -> io::Result<R> {
    let (backstop_read, backstop_write): (OwnedFd, OwnedFd) = pipe()?;
    poller.add(backstop_read.as_fd(), BACKSTOP_KEY, Interest::READABLE, Mode::Level)?;
    let result = thread::scope(|scope| -> io::Result<R> {
        let (tx, rx) = mpsc::channel();
        let crowd = Crowd { poller, scope, tx, rx, started: std::cell::Cell::new(0) };
        // A failed assertion in `act` must not leave the scope joining blocked waiters.
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| act(&crowd)));
        // The channel closes when the last waiter has returned.
        let Crowd { tx, rx, .. } = crowd;
        drop(tx);
        let release = || -> io::Result<()> {
            send(&backstop_write, b"x")?;
            poller.notify()
        };
        let result = match outcome {
            Ok(result) => result,
            Err(failure) => {
                release()?;
                panic::resume_unwind(failure);
            }
        };
        let deadline = Instant::now() + LONG;
        loop {
            match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(_) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => return result,
                Err(mpsc::RecvTimeoutError::Timeout) => break,
            }
        }
        release()?;
        panic!("a waiter was still blocked {LONG:?} after the action");
    });
    poller.delete(backstop_read.as_fd())?;
    result
}
