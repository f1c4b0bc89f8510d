//! Threads: [`notify`](multipoll_core::Poller::notify) and registration changes made by
//! one thread while another is blocked in `wait`.
//!
//! This is where backends that keep registrations in user space (poll, select) and those
//! whose kernel keeps them (epoll, kqueue) differ most inside, and where a bug shows only
//! as a thread that sleeps until its timeout. Every behaviour therefore runs the waiter
//! through [`wait_in_thread`], which bounds it, and asserts that the wake-up was prompt.

use crate::util::OneWayEnd;
use std::collections::HashSet;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Barrier, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use multipoll_core::{AsSource, Event, Events, Interest, Mode, Poller, RESERVED_KEY};

use crate::util::{
    LONG, PROMPT, QUIET, SETTLE, Want, expect_events, expect_no_events, expect_timeout, first_mode,
    one_way, send, stream_pair, supports, wait_checked, wait_in_thread,
};

/// `notify` from another thread wakes a thread blocked in `wait(None)` promptly, with no
/// event, and leaves nothing behind: the next wait times out.
pub fn notify_wakes_wait<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let (_a, b) = stream_pair()?;
    poller.add(b.as_source(), 1, Interest::READABLE, Mode::Level)?;
    let waited = wait_in_thread(&poller, None, |_| poller.notify())?;
    waited.assert_prompt("notify during wait(None)");
    assert_eq!(waited.events, [], "notify is not an event");
    assert!(waited.elapsed() >= SETTLE, "wait(None) returned before the notify");
    expect_timeout(&poller, &mut Events::new(), QUIET)?;
    Ok(())
}

/// A `notify` with no thread waiting makes the next `wait` return at once (even with a
/// long timeout), and only that one.
pub fn notify_before_wait<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let mut events = Events::new();
    poller.notify()?;
    let start = Instant::now();
    assert_eq!(wait_checked(&poller, &mut events, Some(LONG))?, []);
    assert!(start.elapsed() < PROMPT, "wait after notify took {:?}", start.elapsed());
    expect_timeout(&poller, &mut events, QUIET)?;
    Ok(())
}

/// Several notifies before a wait coalesce into one wake-up: the wait after the woken one
/// times out. Notifies sent from another thread during a wait may straddle its wake-up, so
/// ten of them leave at most one more wake-up behind, and the wait after that times out.
pub fn notify_coalesces<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let mut events = Events::new();
    for _ in 0..10 {
        poller.notify()?;
    }
    let start = Instant::now();
    assert_eq!(wait_checked(&poller, &mut events, Some(LONG))?, []);
    assert!(start.elapsed() < PROMPT, "wait after notify took {:?}", start.elapsed());
    expect_timeout(&poller, &mut events, QUIET)?;

    let waited = wait_in_thread(&poller, Some(LONG), |_| {
        for _ in 0..10 {
            poller.notify()?;
        }
        Ok(())
    })?;
    waited.assert_prompt("notifies during wait");
    // The waiter may have woken after the first notify and before the others: those
    // coalesce into (at most) one more wake-up, which this wait consumes if it exists.
    assert_eq!(wait_checked(&poller, &mut events, Some(QUIET))?, []);
    expect_timeout(&poller, &mut events, QUIET)?;
    Ok(())
}

/// A notify is never reported as an event: a wait that is both notified and has a ready
/// fd reports that fd alone, and no event ever carries [`RESERVED_KEY`].
pub fn notify_is_not_an_event<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let (mut events, (a, b)) = (Events::new(), stream_pair()?);
    poller.add(b.as_source(), 1, Interest::READABLE, Mode::Level)?;
    send(&a, b"x")?;
    poller.notify()?;
    // `wait_checked` rejects RESERVED_KEY; `expect_events` rejects any key but 1.
    expect_events(&poller, &mut events, &[Want::readable(1)])?;
    poller.notify()?;
    expect_events(&poller, &mut events, &[Want::readable(1)])?;
    assert!(events.iter().all(|e| e.key() != RESERVED_KEY));
    Ok(())
}

/// `add` from another thread while one is blocked in `wait(None)` takes effect at once:
/// the waiter reports the already-ready fd without waiting for anything else.
pub fn add_during_wait<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let (read, write) = one_way()?;
    send(&write, b"x")?;
    let waited = wait_in_thread(&poller, None, |_| {
        poller.add(read.as_source(), 5, Interest::READABLE, Mode::Level)
    })?;
    waited.assert_prompt("add during wait(None)");
    assert_eq!(waited.events.len(), 1, "{:?}", waited.events);
    assert!(Want::readable(5).matches(&waited.events[0]), "{:?}", waited.events);
    Ok(())
}

/// A registration made while another thread is blocked in `wait`, by a thread that then
/// runs on without a system call (a computation), is reported to the blocked waiter as
/// soon as its fd becomes ready, not when the thread that made it next enters the
/// kernel. Kernels that deliver readiness through the thread that asked for it
/// (io_uring's task work, when that thread submitted the poll) must not let that thread
/// being busy hold the report back.
pub fn busy_changer_does_not_delay_waiter<P: Poller>() -> io::Result<()> {
    /// How long the changer stays busy at most: far longer than a prompt report takes.
    const BUSY_FOR: Duration = Duration::from_secs(2);
    let poller = P::new()?;
    let mode = first_mode(&poller);
    let (read, write) = one_way()?;
    let reported = AtomicBool::new(false);
    thread::scope(|s| -> io::Result<()> {
        let waiter = s.spawn(|| -> io::Result<Vec<Event>> {
            let mut events = Events::new();
            let deadline = Instant::now() + LONG;
            // A spurious early return is allowed: wait again until the fd is reported.
            loop {
                let got = wait_checked(&poller, &mut events, Some(LONG))?;
                if !got.is_empty() || Instant::now() >= deadline {
                    reported.store(true, Ordering::Release);
                    return Ok(got);
                }
            }
        });
        thread::sleep(SETTLE);
        poller.add(read.as_source(), 1, Interest::READABLE, mode)?;
        let writer = s.spawn(|| {
            thread::sleep(SETTLE);
            send(&write, b"x")
        });
        // Busy without a system call: `Instant::now` reads the clock in user space (vDSO).
        let start = Instant::now();
        while !reported.load(Ordering::Acquire) && start.elapsed() < BUSY_FOR {
            std::hint::spin_loop();
        }
        let busy = start.elapsed();
        writer.join().map_err(|_| io::Error::other("the writer panicked"))??;
        let events = waiter.join().map_err(|_| io::Error::other("the waiter panicked"))??;
        assert!(
            busy < BUSY_FOR,
            "the waiter was not told while the thread that registered the fd was busy \
             ({BUSY_FOR:?}); it got {events:?} afterwards"
        );
        assert_eq!(events.len(), 1, "{events:?}");
        assert!(Want::readable(1).matches(&events[0]), "{events:?}");
        Ok(())
    })
}

/// `modify` from another thread while one is blocked in `wait` takes effect at once: a
/// fired oneshot fd re-armed by the other thread is reported by the blocked wait (where
/// oneshot is unsupported, the re-arm is a switch from readable to writable interest).
pub fn modify_during_wait<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let mut events = Events::new();
    let (a, b) = stream_pair()?;
    send(&a, b"x")?;
    let (want, interest, mode) = if supports(&poller, Mode::Oneshot)? {
        poller.add(b.as_source(), 1, Interest::READABLE, Mode::Oneshot)?;
        expect_events(&poller, &mut events, &[Want::readable(1)])?;
        (Want::readable(2), Interest::READABLE, Mode::Oneshot)
    } else {
        // No oneshot to re-arm: start silenced, and let the other thread switch the
        // registration to writable (the socket is writable throughout).
        poller.add(b.as_source(), 1, Interest::NONE, Mode::Level)?;
        (Want::writable(2), Interest::WRITABLE, Mode::Level)
    };
    let waited =
        wait_in_thread(&poller, Some(LONG), |_| poller.modify(b.as_source(), 2, interest, mode))?;
    waited.assert_prompt("modify during wait");
    assert_eq!(waited.events.len(), 1, "{:?}", waited.events);
    assert!(want.matches(&waited.events[0]), "{:?} is not {want:?}", waited.events);
    Ok(())
}

/// `delete` from another thread while one is blocked in `wait`: the deleted fd, made ready
/// right after, is never reported, and the waiter goes on serving the other fds.
pub fn delete_during_wait<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let mut events = Events::new();
    let (read1, write1) = one_way()?;
    let (read2, write2) = one_way()?;
    poller.add(read1.as_source(), 1, Interest::READABLE, Mode::Level)?;
    poller.add(read2.as_source(), 2, Interest::READABLE, Mode::Level)?;
    let waited = wait_in_thread(&poller, None, |_| {
        poller.delete(read1.as_source())?;
        send(&write1, b"x")?;
        thread::sleep(SETTLE);
        send(&write2, b"x")
    })?;
    waited.assert_prompt("delete during wait");
    assert_eq!(waited.events.len(), 1, "{:?}", waited.events);
    assert!(Want::readable(2).matches(&waited.events[0]), "{:?}", waited.events);
    expect_events(&poller, &mut events, &[Want::readable(2)])?;
    Ok(())
}

/// Registrations from many threads at once, while another thread waits, all take effect:
/// every fd is reported under its own key, and after concurrent deletes none is.
pub fn concurrent_registration<P: Poller>() -> io::Result<()> {
    const THREADS: usize = 8;
    const PER_THREAD: usize = 32;
    let poller = P::new()?;
    let mut events = Events::new();
    let mut pipes: Vec<Vec<(OneWayEnd, OneWayEnd)>> = Vec::new();
    for _ in 0..THREADS {
        pipes.push((0..PER_THREAD).map(|_| one_way()).collect::<io::Result<_>>()?);
    }
    let stop = AtomicBool::new(false);
    let barrier = Barrier::new(THREADS);
    let seen = thread::scope(|s| -> io::Result<HashSet<usize>> {
        // A waiter that keeps waiting while the registrations change under it.
        let waiter = s.spawn(|| -> io::Result<HashSet<usize>> {
            let mut events = Events::new();
            let mut keys = HashSet::new();
            while !stop.load(Ordering::Acquire) {
                keys.extend(
                    wait_checked(&poller, &mut events, Some(Duration::from_millis(5)))?
                        .iter()
                        .map(|e| e.key()),
                );
            }
            Ok(keys)
        });
        let adders: Vec<_> = pipes
            .iter()
            .enumerate()
            .map(|(t, mine)| {
                let (poller, barrier) = (&poller, &barrier);
                s.spawn(move || -> io::Result<()> {
                    barrier.wait();
                    for (i, (read, write)) in mine.iter().enumerate() {
                        poller.add(
                            read.as_source(),
                            t * PER_THREAD + i,
                            Interest::READABLE,
                            Mode::Level,
                        )?;
                        send(write, b"x")?;
                    }
                    Ok(())
                })
            })
            .collect();
        let added = adders.into_iter().try_for_each(|h| h.join().expect("adder panicked"));
        stop.store(true, Ordering::Release);
        let seen = waiter.join().expect("waiter panicked")?;
        added?;
        Ok(seen)
    })?;
    let all: Vec<usize> = (0..THREADS * PER_THREAD).collect();
    assert!(seen.iter().all(|k| *k < all.len()), "unknown keys reported: {seen:?}");
    let wants: Vec<Want> = all.iter().map(|&k| Want::readable(k)).collect();
    expect_events(&poller, &mut events, &wants)?;

    thread::scope(|s| {
        let deleters: Vec<_> = pipes
            .iter()
            .map(|mine| {
                let poller = &poller;
                s.spawn(move || {
                    mine.iter().try_for_each(|(read, _)| poller.delete(read.as_source()))
                })
            })
            .collect();
        deleters.into_iter().try_for_each(|h| h.join().expect("deleter panicked"))
    })?;
    expect_no_events(&poller, &mut events, QUIET)?;
    Ok(())
}

/// Two threads may wait on one poller at once: neither gets an error, both are served
/// (by readiness or by notifies), and an fd ready in level mode is reported to them.
pub fn wait_from_two_threads<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let (a, b) = stream_pair()?;
    poller.add(b.as_source(), 1, Interest::READABLE, Mode::Level)?;
    let (done_tx, done_rx) = mpsc::channel();
    thread::scope(|s| -> io::Result<()> {
        for _ in 0..2 {
            let (poller, done_tx) = (&poller, done_tx.clone());
            s.spawn(move || {
                let mut events = Events::new();
                let r = wait_checked(poller, &mut events, Some(LONG));
                let _ = done_tx.send(r);
            });
        }
        thread::sleep(SETTLE);
        send(&a, b"x")?;
        let start = Instant::now();
        let mut results = Vec::new();
        // One waiter sees the data; the other may have been woken by none of it (a
        // level-ready fd may be reported to one waiter or to several), and a notify lets
        // it through.
        while results.len() < 2 {
            match done_rx.recv_timeout(Duration::from_millis(50)) {
                Ok(r) => results.push(r),
                Err(_) => poller.notify()?,
            }
            assert!(start.elapsed() < LONG, "waiters still blocked after {LONG:?}");
        }
        let mut reported = 0;
        for r in results {
            let events = r?;
            assert!(events.iter().all(|e| Want::readable(1).matches(e)), "{events:?}");
            reported += events.len();
        }
        assert!(reported >= 1, "neither waiter reported the ready fd");
        Ok(())
    })
}
