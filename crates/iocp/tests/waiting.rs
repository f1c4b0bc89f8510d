//! Waiting: timeouts, notify, several waiters, changes from another thread.
#![cfg(windows)]

mod util;

use std::io::{self, Write};
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

use multipoll_iocp::{AsSource, Events, Interest, Iocp, Mode, Poller};
use util::{PATIENCE, tcp_pair, wait};

#[test]
fn zero_timeout_returns_at_once() -> io::Result<()> {
    let poller = Iocp::new()?;
    let (client, _server) = tcp_pair()?;
    poller.add(client.as_source(), 1, Interest::READABLE, Mode::Level)?;
    let start = Instant::now();
    let got = wait(&poller, &mut Events::new(), Duration::ZERO)?;
    assert!(got.is_empty(), "{got:?}");
    assert!(start.elapsed() < Duration::from_millis(500), "{:?}", start.elapsed());
    Ok(())
}

#[test]
fn short_timeouts_not_early() -> io::Result<()> {
    let poller = Iocp::new()?;
    for timeout in [Duration::from_micros(300), Duration::from_millis(3), Duration::from_millis(40)]
    {
        let start = Instant::now();
        assert_eq!(poller.wait(&mut Events::new(), Some(timeout))?, 0);
        let took = start.elapsed();
        assert!(took >= timeout, "a wait of {timeout:?} returned after {took:?}");
        assert!(took < timeout + Duration::from_secs(1), "a wait of {timeout:?} took {took:?}");
    }
    Ok(())
}

#[test]
fn notify_wakes_a_blocked_wait() -> io::Result<()> {
    let poller = Iocp::new()?;
    let started = Barrier::new(2);
    thread::scope(|s| {
        let waiter = s.spawn(|| {
            started.wait();
            let start = Instant::now();
            let n = poller.wait(&mut Events::new(), Some(PATIENCE));
            (n.map_err(|e| e.to_string()), start.elapsed())
        });
        started.wait();
        thread::sleep(Duration::from_millis(50));
        poller.notify()?;
        let (n, took) = waiter.join().expect("waiter");
        assert_eq!(n, Ok(0), "a notify is not an event");
        assert!(took < PATIENCE / 2, "the notify did not wake the wait ({took:?})");
        Ok(())
    })
}

/// Five notifies wake one wait, even one whose buffer takes a single completion at a time.
#[test]
fn notifies_coalesce() -> io::Result<()> {
    let poller = Iocp::new()?;
    let mut events = Events::with_capacity(1);
    for _ in 0..5 {
        poller.notify()?;
    }
    let start = Instant::now();
    assert_eq!(poller.wait(&mut events, Some(PATIENCE))?, 0);
    assert!(start.elapsed() < PATIENCE / 2, "notified wait blocked");
    let timeout = Duration::from_millis(100);
    let start = Instant::now();
    assert_eq!(poller.wait(&mut events, Some(timeout))?, 0);
    assert!(start.elapsed() >= timeout, "five notifies woke more than one wait");
    poller.notify()?;
    let start = Instant::now();
    poller.wait(&mut events, Some(PATIENCE))?;
    assert!(start.elapsed() < PATIENCE / 2, "a notify after the coalesced one was lost");
    Ok(())
}

/// While one thread is blocked in `wait(None)`, another's short wait returns on time;
/// then a socket made ready from a third place wakes one of them.
#[test]
fn two_threads_wait_at_once() -> io::Result<()> {
    let poller = Iocp::new()?;
    let (mut client, server) = tcp_pair()?;
    poller.add(server.as_source(), 9, Interest::READABLE, Mode::Oneshot)?;
    thread::scope(|s| {
        let blocked = s.spawn(|| {
            let mut events = Events::new();
            poller.wait(&mut events, None).map(|_| events.iter().copied().collect::<Vec<_>>())
        });
        thread::sleep(Duration::from_millis(50));
        let start = Instant::now();
        let got = wait(&poller, &mut Events::new(), Duration::from_millis(60))?;
        let took = start.elapsed();
        assert!(got.is_empty(), "{got:?}");
        assert!(took >= Duration::from_millis(60) && took < PATIENCE / 2, "{took:?}");
        client.write_all(b"x")?;
        let got = blocked.join().expect("waiter")?;
        assert_eq!(got.iter().map(|e| e.key()).collect::<Vec<_>>(), [9], "{got:?}");
        Ok(())
    })
}

/// An `add` from another thread takes effect for a wait already blocked.
#[test]
fn add_wakes_a_blocked_wait() -> io::Result<()> {
    let poller = Iocp::new()?;
    let (client, _server) = tcp_pair()?;
    thread::scope(|s| {
        let waiter = s.spawn(|| wait(&poller, &mut Events::new(), PATIENCE));
        thread::sleep(Duration::from_millis(50));
        poller.add(client.as_source(), 4, Interest::WRITABLE, Mode::Level)?;
        let got = waiter.join().expect("waiter")?;
        assert_eq!(got.first().map(|e| e.key()), Some(4), "{got:?}");
        Ok(())
    })
}

/// A level socket that stays ready is reported to each of two threads waiting at once,
/// though the first one told does not wait again.
#[test]
fn level_reported_to_both_waiters() -> io::Result<()> {
    let poller = Iocp::new()?;
    let (mut client, server) = tcp_pair()?;
    poller.add(server.as_source(), 8, Interest::READABLE, Mode::Level)?;
    let started = Barrier::new(3);
    thread::scope(|s| {
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    started.wait();
                    wait(&poller, &mut Events::new(), PATIENCE).map_err(|e| e.to_string())
                })
            })
            .collect();
        started.wait();
        thread::sleep(Duration::from_millis(50));
        client.write_all(b"x")?;
        for waiter in waiters {
            let got = waiter.join().expect("waiter").map_err(io::Error::other)?;
            assert_eq!(got.iter().map(|e| e.key()).collect::<Vec<_>>(), [8], "{got:?}");
        }
        Ok(())
    })
}
