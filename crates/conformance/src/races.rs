//! Races: registration changes, in every mode, and notifies from many threads at once,
//! made while another thread is in `wait`.
//!
//! [`threads`](crate::threads) checks one change or one notify at a time; real programs
//! make them from many threads, in every mode, at the worst moment. A user-space backend
//! must rebuild its set and re-wait with the time that is left; a kernel backend must
//! re-evaluate readiness on `EPOLL_CTL_MOD`/`EV_ADD`; a notifier must coalesce without
//! ever dropping the wake-up that a waiter needs. Waiters are bounded by
//! [`wait_in_thread`] or by explicit deadlines, so a lost wake-up fails, it does not hang.

use std::io;
use std::sync::Barrier;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use multipoll_core::{AsSource, Events, Interest, Mode, Poller, Source};

use crate::util::{
    LATE, LONG, PROMPT, QUIET, Want, drain, expect_timeout, one_way, send, stream_pair,
    wait_checked, wait_in_thread,
};

/// `add` of an already-ready fd from another thread, while one is blocked in `wait(None)`,
/// is reported by that wait at once, in every supported mode.
pub fn add_during_wait_each_mode<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    for mode in poller.capabilities().supported_modes() {
        let (read, write) = one_way()?;
        send(&write, b"x")?;
        let key = 10 + mode as usize;
        let waited = wait_in_thread(&poller, None, |_| {
            poller.add(read.as_source(), key, Interest::READABLE, mode)
        })?;
        waited.assert_prompt(&format!("add in {mode} mode during wait(None)"));
        assert_eq!(waited.events.len(), 1, "{mode}: {:?}", waited.events);
        assert!(Want::readable(key).matches(&waited.events[0]), "{mode}: {:?}", waited.events);
        poller.delete(read.as_source())?;
    }
    Ok(())
}

/// `modify` from another thread while one is blocked in `wait` takes effect at once for
/// every pair of supported modes (from, to): a silenced ready fd given readable interest is
/// reported, and an idle readable registration switched to writable interest is reported
/// writable — each under its new key, by the blocked wait.
pub fn modify_during_wait_each_mode<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let modes: Vec<Mode> = poller.capabilities().supported_modes().collect();
    for &from in &modes {
        for &to in &modes {
            // Silenced, data queued: readable interest makes it ready at once.
            let (a, b) = stream_pair()?;
            send(&a, b"x")?;
            let change = (Interest::NONE, from, Interest::READABLE, to);
            modified_during_wait(&poller, b.as_source(), change, Want::readable(2))?;
            // Idle and in the set: writable interest makes it ready at once.
            let (_c, d) = stream_pair()?;
            let change = (Interest::READABLE, from, Interest::WRITABLE, to);
            modified_during_wait(&poller, d.as_source(), change, Want::writable(2))?;
        }
    }
    Ok(())
}

/// Registers `fd` under key 1 with the first interest and mode of `change`, modifies it to
/// key 2 with the others while another thread waits, and asserts that this wait reports
/// `want` alone, promptly; then deletes it.
#[track_caller]
fn modified_during_wait<P: Poller>(
    poller: &P,
    fd: Source<'_>,
    (interest, mode, new_interest, new_mode): (Interest, Mode, Interest, Mode),
    want: Want,
) -> io::Result<()> {
    let what =
        format!("modify from {interest:?} {mode} to {new_interest:?} {new_mode} during wait");
    poller.add(fd, 1, interest, mode)?;
    let waited =
        wait_in_thread(poller, Some(LONG), |_| poller.modify(fd, 2, new_interest, new_mode))?;
    waited.assert_prompt(&what);
    assert!(
        waited.events.len() == 1 && want.matches(&waited.events[0]),
        "{what}: {:?} is not {want:?}",
        waited.events
    );
    poller.delete(fd)
}

/// Registration changes from another thread that leave nothing ready (adds, modifies and
/// deletes of idle fds) neither end nor lengthen a timed wait: it still returns no event,
/// no sooner than its timeout and not much later. (A user-space backend is woken by each
/// change and must wait again with the time left, not with the whole timeout.)
pub fn change_does_not_shorten_timeout<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let timeout = Duration::from_millis(600);
    let (_a, b) = stream_pair()?;
    let (_c, d) = stream_pair()?;
    let other = poller.capabilities().supported_modes().last().unwrap_or(Mode::Level);
    let waited = wait_in_thread(&poller, Some(timeout), |_| {
        for round in 0..4 {
            poller.add(b.as_source(), 1, Interest::READABLE, Mode::Level)?;
            poller.add(d.as_source(), 2, Interest::NONE, Mode::Level)?;
            poller.modify(d.as_source(), 2, Interest::READABLE, Mode::Level)?;
            poller.modify(b.as_source(), 3, Interest::READABLE, other)?;
            poller.delete(b.as_source())?;
            poller.delete(d.as_source())?;
            if round < 3 {
                thread::sleep(Duration::from_millis(100));
            }
        }
        Ok(())
    })?;
    assert!(!waited.rescued, "the waiter had to be rescued");
    assert_eq!(waited.events, [], "nothing was ready");
    let took = waited.elapsed();
    assert!(took >= timeout, "registration changes cut wait({timeout:?}) short, to {took:?}");
    assert!(took < timeout + LATE, "wait({timeout:?}) returned late, after {took:?}");
    Ok(())
}

/// Threads that each notify.
const NOTIFIERS: usize = 8;

/// Notifies from many threads at once (8 × 200): before a wait, they coalesce into one
/// wake-up; during a wait, they wake it promptly and leave at most one wake-up behind;
/// never an event.
pub fn notify_from_many_threads<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let mut events = Events::new();
    let (_a, b) = stream_pair()?;
    poller.add(b.as_source(), 1, Interest::READABLE, Mode::Level)?;
    let burst = || -> io::Result<()> {
        let barrier = Barrier::new(NOTIFIERS);
        thread::scope(|s| {
            let threads: Vec<_> = (0..NOTIFIERS)
                .map(|_| {
                    s.spawn(|| {
                        barrier.wait();
                        (0..200).try_for_each(|_| poller.notify())
                    })
                })
                .collect();
            threads.into_iter().try_for_each(|t| t.join().expect("a notifier panicked"))
        })
    };

    burst()?;
    let start = Instant::now();
    assert_eq!(wait_checked(&poller, &mut events, Some(LONG))?, [], "a notify is not an event");
    assert!(start.elapsed() < PROMPT, "wait after 1 600 notifies took {:?}", start.elapsed());
    expect_timeout(&poller, &mut events, QUIET)?;

    let waited = wait_in_thread(&poller, Some(LONG), |_| burst())?;
    waited.assert_prompt("notifies from many threads during wait");
    assert_eq!(waited.events, [], "a notify is not an event");
    // Notifies after the waiter woke coalesce into at most one more wake-up.
    assert_eq!(wait_checked(&poller, &mut events, Some(QUIET))?, []);
    expect_timeout(&poller, &mut events, QUIET)?;
    Ok(())
}

/// No notify is lost to a race with a waiter's wake-up: several threads each notify and
/// then wait until one of the two waiting threads has returned from a `wait` after that
/// notify, over and over, while those wait again each time. A notify swallowed by a
/// concurrent drain (or taken by a waiter that then waits again without returning) leaves
/// its sender waiting, and fails the test.
pub fn notify_never_lost<P: Poller>() -> io::Result<()> {
    const SENDERS: usize = 4;
    const WAITING: usize = 2;
    const ROUNDS: usize = 50;
    let poller = P::new()?;
    let wakes = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    thread::scope(|s| -> io::Result<()> {
        let waiters: Vec<_> = (0..WAITING)
            .map(|_| {
                s.spawn(|| -> io::Result<()> {
                    let mut events = Events::new();
                    while !stop.load(Ordering::Acquire) {
                        let got = wait_checked(&poller, &mut events, Some(LONG))?;
                        assert_eq!(got, [], "a notify is not an event");
                        wakes.fetch_add(1, Ordering::AcqRel);
                    }
                    Ok(())
                })
            })
            .collect();
        let senders: Vec<_> = (0..SENDERS)
            .map(|_| {
                s.spawn(|| -> Result<(), String> {
                    for round in 0..ROUNDS {
                        let before = wakes.load(Ordering::Acquire);
                        poller.notify().map_err(|e| format!("notify: {e}"))?;
                        let sent = Instant::now();
                        while wakes.load(Ordering::Acquire) == before {
                            if sent.elapsed() > PROMPT {
                                return Err(format!("round {round}: notify lost (no wake-up)"));
                            }
                            thread::sleep(Duration::from_micros(100));
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        let results: Vec<_> =
            senders.into_iter().map(|h| h.join().expect("a sender panicked")).collect();
        stop.store(true, Ordering::Release);
        // A notify wakes at least one waiter: keep notifying until both are out.
        while !waiters.iter().all(|w| w.is_finished()) {
            poller.notify()?;
            thread::sleep(Duration::from_millis(1));
        }
        for waiter in waiters {
            waiter.join().expect("a waiter panicked")?;
        }
        if let Some(Err(message)) = results.into_iter().find(Result::is_err) {
            panic!("{message}");
        }
        Ok(())
    })
}

/// A thread that reads an fd while another waits on it never makes the wait report a
/// hang-up: `hangup` means the peer closed, and a live socket or pipe whose data another
/// thread took first is at most spuriously readable. (Regression: select, and poll where
/// there is no `POLLRDHUP`, infer a hang-up from "readable with no bytes queued", which a
/// concurrent reader produces between the syscall and the `FIONREAD` probe.)
pub fn concurrent_read_is_not_a_hangup<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let mut events = Events::new();
    let (a, b) = stream_pair()?;
    let (read, write) = one_way()?;
    poller.add(b.as_source(), 1, Interest::READABLE, Mode::Level)?;
    poller.add(read.as_source(), 2, Interest::READABLE, Mode::Level)?;
    let stop = AtomicBool::new(false);
    let (mut waits, mut reported, mut wrong) = (0, 0, None);
    thread::scope(|s| -> io::Result<()> {
        // A writer and a reader racing on both fds, so that data comes and goes at once.
        let writer = s.spawn(|| -> io::Result<()> {
            while !stop.load(Ordering::Acquire) {
                for result in [send(&a, b"x"), send(&write, b"x")] {
                    match result {
                        Err(e) if e.kind() != io::ErrorKind::WouldBlock => return Err(e),
                        _ => {}
                    }
                }
                thread::yield_now();
            }
            Ok(())
        });
        let reader = s.spawn(|| -> io::Result<()> {
            while !stop.load(Ordering::Acquire) {
                drain(&b)?;
                drain(&read)?;
            }
            Ok(())
        });
        // No assertion in here: a panic before `stop` would leave the racers running.
        let end = Instant::now() + Duration::from_secs(1);
        let result = (|| -> io::Result<()> {
            while Instant::now() < end && wrong.is_none() {
                let got = wait_checked(&poller, &mut events, Some(QUIET))?;
                waits += 1;
                reported += got.len();
                wrong = got.into_iter().find(|e| e.is_hangup() || !(e.key() == 1 || e.key() == 2));
            }
            Ok(())
        })();
        stop.store(true, Ordering::Release);
        writer.join().expect("the writer panicked")?;
        reader.join().expect("the reader panicked")?;
        result
    })?;
    assert_eq!(wrong, None, "a live fd reported as hung up (or an unknown key), wait {waits}");
    assert!(reported > 0, "{waits} waits and the fds were never reported readable");
    Ok(())
}
