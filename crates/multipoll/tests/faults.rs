//! Injected syscall faults on every backend: `EINTR` on every wait, `ENOMEM` from
//! registration and wait, a failing notify. No path may panic, spin, surface `EINTR`, or
//! half-apply a failed call.
//!
//! Unix only for now: the faults are errno values injected into Unix syscalls.
#![cfg(unix)]

use std::io::{self, Write};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use multipoll::{AnyPoller, Backend, Events, Interest, Mode, Poller};
use multipoll_core::fault::{self, Call};

/// Runs `check` on a fresh poller of every backend here, with faults cleared after.
fn each_backend(check: impl Fn(&AnyPoller) -> io::Result<()>) -> io::Result<()> {
    for backend in Backend::available() {
        let poller = AnyPoller::new(backend)?;
        let result = check(&poller);
        fault::clear();
        result.map_err(|e| io::Error::new(e.kind(), format!("{backend}: {e}")))?;
    }
    Ok(())
}

fn keys(events: &Events) -> Vec<usize> {
    events.iter().map(|e| e.key()).collect()
}

#[test]
fn eintr_on_every_wait_is_retried() -> io::Result<()> {
    each_backend(|poller| {
        let (mut a, b) = UnixStream::pair()?;
        poller.add(b.as_fd(), 1, Interest::READABLE, Mode::Level)?;
        let mut events = Events::new();

        fault::fail_next(Call::Wait, libc::EINTR, 100);
        let start = Instant::now();
        assert_eq!(poller.wait(&mut events, Some(Duration::from_millis(100)))?, 0);
        assert!(start.elapsed() >= Duration::from_millis(100), "EINTR shortened the timeout");

        a.write_all(b"x")?;
        fault::fail_next(Call::Wait, libc::EINTR, 100);
        poller.wait(&mut events, Some(Duration::from_secs(5)))?;
        assert_eq!(keys(&events), [1]);
        Ok(())
    })
}

/// A registration fault armed while a wait meets a registered fd closed without `delete`
/// (select's `EBADF` recovery probes every fd) must not make the open fds look closed: only
/// the closed one is reported, and the open one stays registered and reported.
#[test]
fn registration_fault_during_closed_fd_recovery() -> io::Result<()> {
    each_backend(|poller| {
        let (mut a, b) = UnixStream::pair()?;
        poller.add(b.as_fd(), 1, Interest::READABLE, Mode::Level)?;
        // A number far above what the other tests of this file open, so that no parallel
        // test reuses it while it is closed.
        let (c, _d) = UnixStream::pair()?;
        let closed = multipoll_conformance::util::dup_at_least(c.as_fd(), 700)?;
        drop(c);
        poller.add(closed.as_fd(), 2, Interest::READABLE, Mode::Level)?;
        drop(closed);
        a.write_all(b"x")?;

        fault::fail_next(Call::Register, libc::ENOMEM, 1000);
        let mut events = Events::new();
        let mut seen = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(5);
        while !seen.contains(&1) && Instant::now() < deadline {
            poller.wait(&mut events, Some(Duration::from_secs(1)))?;
            for event in &events {
                assert!(event.key() != 1 || !event.is_error(), "the open fd reported closed");
                seen.push(event.key());
            }
        }
        assert!(seen.contains(&1), "the open fd was dropped: {seen:?}");
        Ok(())
    })
}

#[test]
fn failed_add_registers_nothing() -> io::Result<()> {
    each_backend(|poller| {
        let (mut a, b) = UnixStream::pair()?;
        fault::fail_next(Call::Register, libc::ENOMEM, 1);
        let err = poller.add(b.as_fd(), 1, Interest::READABLE, Mode::Level).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::OutOfMemory, "{err}");
        assert_eq!(poller.delete(b.as_fd()).unwrap_err().kind(), io::ErrorKind::NotFound);

        poller.add(b.as_fd(), 1, Interest::READABLE, Mode::Level)?;
        a.write_all(b"x")?;
        let mut events = Events::new();
        poller.wait(&mut events, Some(Duration::from_secs(5)))?;
        assert_eq!(keys(&events), [1]);
        Ok(())
    })
}

#[test]
fn failed_modify_keeps_the_old_registration() -> io::Result<()> {
    each_backend(|poller| {
        let (mut a, b) = UnixStream::pair()?;
        poller.add(b.as_fd(), 1, Interest::READABLE, Mode::Level)?;
        a.write_all(b"x")?;
        fault::fail_next(Call::Register, libc::ENOMEM, 1);
        // poll and select change their table without a syscall, so only kernel-backed
        // registrations can fail here; either way the outcome must be all or nothing.
        let expected = match poller.modify(b.as_fd(), 2, Interest::READABLE, Mode::Level) {
            Ok(()) => 2,
            Err(e) => {
                assert_eq!(e.kind(), io::ErrorKind::OutOfMemory, "{e}");
                1
            }
        };
        fault::clear();
        let mut events = Events::new();
        poller.wait(&mut events, Some(Duration::from_secs(5)))?;
        assert_eq!(keys(&events), [expected]);
        Ok(())
    })
}

#[test]
fn failed_wait_surfaces_once_and_recovers() -> io::Result<()> {
    each_backend(|poller| {
        let (mut a, b) = UnixStream::pair()?;
        poller.add(b.as_fd(), 1, Interest::READABLE, Mode::Oneshot)?;
        a.write_all(b"x")?;
        let mut events = Events::new();
        fault::fail_next(Call::Wait, libc::ENOMEM, 1);
        let err = poller.wait(&mut events, Some(Duration::from_secs(5))).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::OutOfMemory);
        // The failed wait consumed nothing: the oneshot event is still there.
        poller.wait(&mut events, Some(Duration::from_secs(5)))?;
        assert_eq!(keys(&events), [1]);
        Ok(())
    })
}

#[test]
fn failed_notify_is_an_error_then_works() -> io::Result<()> {
    each_backend(|poller| {
        fault::fail_next(Call::Notify, libc::EIO, 1);
        assert!(poller.notify().is_err());
        // The failed notify left no wake-up pending, so the next one writes again.
        poller.notify()?;
        let mut events = Events::new();
        let start = Instant::now();
        assert_eq!(poller.wait(&mut events, Some(Duration::from_secs(10)))?, 0);
        assert!(start.elapsed() < Duration::from_secs(5), "notify did not wake the wait");
        Ok(())
    })
}
