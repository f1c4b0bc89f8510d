//! What `io_uring_enter(2)` may answer besides success, injected before the syscall
//! (`multipoll_core::fault`): `EINTR` (retried with the time left), `EBUSY` and `EAGAIN`
//! (completions taken out of the ring, then retried), `EBADR` (completions were dropped:
//! every registration is polled anew), and errors that surface. Each time: nothing ready
//! is lost, nothing is reported twice where the mode forbids it, nothing spins.
#![cfg(all(any(target_os = "linux", target_os = "android"), not(uring_unavailable)))]

use std::collections::HashSet;
use std::io;
use std::os::fd::AsFd;
use std::thread;
use std::time::{Duration, Instant};

use multipoll_conformance::util::{
    CpuMeter, LATE, LONG, QUIET, collect_each_once, expect_no_events, pipe, ready_pipes, send,
    wait_checked,
};
use multipoll_core::fault::{self, Call};
use multipoll_uring::{Events, Interest, Mode, Poller, Uring};

#[test]
fn eintr_on_wait_is_retried_with_the_time_left() -> io::Result<()> {
    let poller = Uring::new()?;
    let mut events = Events::new();
    fault::fail_next(Call::Wait, libc::EINTR, 50);
    let start = Instant::now();
    assert_eq!(poller.wait(&mut events, Some(Duration::from_millis(100)))?, 0);
    assert!(start.elapsed() >= Duration::from_millis(100), "EINTR shortened the timeout");
    assert_eq!(fault::armed(Call::Wait), 0);

    let _pipes = ready_pipes(&poller, 3, Mode::Oneshot)?;
    fault::fail_every_other(Call::Wait, libc::EINTR, 10);
    collect_each_once(&poller, &mut events, 3)?;
    fault::clear();
    Ok(())
}

/// `EBUSY` and `EAGAIN` from a wait's enter: retried (with a pause when there is nothing to
/// take, so no spinning), and the ready fds are all reported, once.
#[test]
fn ebusy_and_eagain_on_wait_are_retried() -> io::Result<()> {
    for errno in [libc::EBUSY, libc::EAGAIN] {
        let poller = Uring::new()?;
        let mut events = Events::with_capacity(2);
        let _pipes = ready_pipes(&poller, 5, Mode::Oneshot)?;
        fault::fail_every_other(Call::Wait, errno, 20);
        collect_each_once(&poller, &mut events, 5)?;
        fault::clear();
        // A kernel that keeps refusing: the wait pauses between tries, and times out.
        fault::fail_next(Call::Wait, errno, u32::MAX);
        let meter = CpuMeter::start();
        let start = Instant::now();
        assert_eq!(poller.wait(&mut events, Some(Duration::from_millis(100)))?, 0);
        assert!(start.elapsed() >= Duration::from_millis(100), "{errno}: the timeout shrank");
        meter.assert_blocked("a wait whose enter keeps failing with EBUSY/EAGAIN");
        let tries = u64::from(u32::MAX) - fault::armed(Call::Wait);
        assert!(tries <= 150, "{errno}: {tries} tries in 100 ms: no pause between them");
        fault::clear();
        expect_no_events(&poller, &mut events, QUIET)?;
    }
    Ok(())
}

/// `EBUSY`/`EAGAIN` on the submission a `delete` makes at once, while completions wait in
/// the ring: they are taken out to make room, kept, and reported by the next waits, each
/// once; the delete still takes effect.
#[test]
fn ebusy_and_eagain_on_submit_keep_the_completions() -> io::Result<()> {
    for errno in [libc::EBUSY, libc::EAGAIN] {
        let poller = Uring::new()?;
        let count = 10;
        let _pipes = ready_pipes(&poller, count, Mode::Oneshot)?;
        // One wait submits every poll (all complete) and takes one completion: nine are
        // left in the ring.
        let mut events = Events::with_capacity(1);
        let first = wait_checked(&poller, &mut events, Some(LONG))?;
        assert_eq!(first.len(), 1);
        let (idle, idle_write) = pipe()?;
        poller.add(idle.as_fd(), 99, Interest::READABLE, Mode::Edge)?;
        poller.wait(&mut events, Some(Duration::ZERO))?; // submits the edge poll
        let mut seen: HashSet<usize> = first.iter().chain(events.iter()).map(|e| e.key()).collect();

        fault::fail_next(Call::Register, errno, 3);
        poller.delete(idle.as_fd())?;
        assert_eq!(fault::armed(Call::Register), 0, "the delete made no submission");
        send(&idle_write, b"x")?;
        while seen.len() < count {
            let got = wait_checked(&poller, &mut events, Some(LATE))?;
            assert!(!got.is_empty(), "completions lost: only {seen:?} reported");
            for event in got {
                assert!(event.key() < count, "{event:?} after its delete");
                assert!(seen.insert(event.key()), "key {} reported twice", event.key());
            }
        }
        expect_no_events(&poller, &mut events, QUIET)?;
    }
    Ok(())
}

/// `EINTR`, `EBUSY`, `EAGAIN` on a change's submission while another thread is blocked in
/// `wait` (so the change is submitted at once): retried, and the waiter sees the change.
/// (`add` checks its fd with `fstat` first, which a fault would fail: `modify` it is.)
#[test]
fn retried_submission_reaches_a_blocked_waiter() -> io::Result<()> {
    for errno in [libc::EINTR, libc::EBUSY, libc::EAGAIN] {
        let poller = Uring::new()?;
        let (read, write) = pipe()?;
        send(&write, b"x")?;
        // Silent until the `modify` below, whose only syscall is the submission.
        poller.add(read.as_fd(), 7, Interest::NONE, Mode::Oneshot)?;
        thread::scope(|s| -> io::Result<()> {
            let waiter = s.spawn(|| {
                let mut events = Events::new();
                wait_checked(&poller, &mut events, Some(LONG))
            });
            thread::sleep(QUIET);
            fault::fail_next(Call::Register, errno, 2);
            poller.modify(read.as_fd(), 7, Interest::READABLE, Mode::Oneshot)?;
            assert_eq!(fault::armed(Call::Register), 0, "{errno}: not all faults were met");
            let got = waiter.join().expect("the waiter panicked")?;
            assert_eq!(got.iter().map(|e| e.key()).collect::<Vec<_>>(), [7], "{errno}");
            Ok(())
        })?;
    }
    Ok(())
}

/// `EBADR`: the kernel dropped completions it could not keep. Every registration is polled
/// anew, so what was ready is reported; a oneshot fd once.
#[test]
fn ebadr_polls_everything_anew() -> io::Result<()> {
    let poller = Uring::new()?;
    let mut events = Events::new();
    let pipes = ready_pipes(&poller, 4, Mode::Oneshot)?;
    // Submitted (and completed) without being collected: as if their completions were the
    // ones the kernel dropped.
    fault::fail_next(Call::Wait, libc::EBADR, 1);
    poller.wait(&mut events, Some(LONG))?;
    collect_each_once(&poller, &mut events, 4)?;
    expect_no_events(&poller, &mut events, QUIET)?;
    drop(pipes);
    Ok(())
}

/// An error no retry fixes surfaces once, and consumes nothing: the next wait reports.
#[test]
fn enomem_on_wait_surfaces_once() -> io::Result<()> {
    let poller = Uring::new()?;
    let mut events = Events::new();
    let _pipes = ready_pipes(&poller, 1, Mode::Oneshot)?;
    fault::fail_next(Call::Wait, libc::ENOMEM, 1);
    let err = poller.wait(&mut events, Some(LONG)).expect_err("the injected ENOMEM");
    assert_eq!(err.kind(), io::ErrorKind::OutOfMemory, "{err}");
    collect_each_once(&poller, &mut events, 1)?;
    Ok(())
}

/// A failed `add` (its `fstat` refused) registers nothing.
#[test]
fn failed_add_registers_nothing() -> io::Result<()> {
    let poller = Uring::new()?;
    let mut events = Events::new();
    let (read, write) = pipe()?;
    send(&write, b"x")?;
    fault::fail_next(Call::Register, libc::ENOMEM, 1);
    let err = poller.add(read.as_fd(), 1, Interest::READABLE, Mode::Level).expect_err("ENOMEM");
    assert_eq!(err.kind(), io::ErrorKind::OutOfMemory, "{err}");
    expect_no_events(&poller, &mut events, QUIET)?;
    assert_eq!(poller.delete(read.as_fd()).expect_err("nothing").kind(), io::ErrorKind::NotFound);
    Ok(())
}

#[test]
fn failed_notify_is_an_error_then_works() -> io::Result<()> {
    let poller = Uring::new()?;
    let mut events = Events::new();
    fault::fail_next(Call::Notify, libc::EIO, 1);
    assert!(poller.notify().is_err());
    poller.notify()?;
    let start = Instant::now();
    assert_eq!(poller.wait(&mut events, Some(LONG))?, 0);
    assert!(start.elapsed() < LATE, "the notify did not wake the wait");
    Ok(())
}

/// A refused `modify` or `delete` whose change would have waited for the next wait (no
/// submission of its own) still fails, as `epoll_ctl` would, and changes nothing: the fd
/// stays registered as it was, and is reported.
#[test]
fn refused_deferred_change_changes_nothing() -> io::Result<()> {
    let poller = Uring::new()?;
    let mut events = Events::new();
    let (read, write) = pipe()?;
    poller.add(read.as_fd(), 1, Interest::READABLE, Mode::Level)?;
    fault::fail_next(Call::Register, libc::ENOMEM, 1);
    let err = poller.modify(read.as_fd(), 2, Interest::NONE, Mode::Level).expect_err("ENOMEM");
    assert_eq!(err.kind(), io::ErrorKind::OutOfMemory, "{err}");
    fault::fail_next(Call::Register, libc::ENOMEM, 1);
    let err = poller.delete(read.as_fd()).expect_err("ENOMEM");
    assert_eq!(err.kind(), io::ErrorKind::OutOfMemory, "{err}");
    assert_eq!(fault::armed(Call::Register), 0);
    send(&write, b"x")?;
    let got = wait_checked(&poller, &mut events, Some(LONG))?;
    assert_eq!(got.iter().map(|e| e.key()).collect::<Vec<_>>(), [1], "the old registration");
    poller.delete(read.as_fd())?;
    expect_no_events(&poller, &mut events, QUIET)?;
    Ok(())
}
