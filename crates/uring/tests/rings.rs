//! Tiny rings ([`Uring::with_entries`]) drive, with the real kernel, the paths a normal
//! ring takes only under load: a submission queue that fills between two waits (submitted
//! at once, then filled again), and a completion queue too small for what is ready (the
//! kernel keeps the overflow, `IORING_FEAT_NODROP`, and ends multishot polls it cannot post
//! for). Nothing ready may be lost.
#![cfg(all(any(target_os = "linux", target_os = "android"), not(uring_unavailable)))]

use std::collections::HashMap;
use std::io;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;

use multipoll_conformance::util::{
    LATE, QUIET, Want, drain, expect_no_events, raise_fd_limit, send, unix_pair, wait_checked,
};
use multipoll_uring::{Events, Interest, Mode, Poller, Uring};

/// Ready fds per test: far more than the 2 submission and 4 completion slots.
const FDS: usize = 64;

/// `FDS` socket pairs, each with a byte queued for the second, registered under their index.
fn ready_pairs(poller: &Uring, mode: Mode) -> io::Result<Vec<(UnixStream, UnixStream)>> {
    let mut pairs = Vec::with_capacity(FDS);
    for key in 0..FDS {
        let (a, b) = unix_pair()?;
        send(&a, b"x")?;
        poller.add(b.as_fd(), key, Interest::READABLE, mode)?;
        pairs.push((a, b));
    }
    Ok(pairs)
}

/// How often each key was reported by waits until one found nothing for [`QUIET`].
fn reports(poller: &Uring, events: &mut Events) -> io::Result<HashMap<usize, usize>> {
    let mut times = HashMap::new();
    loop {
        let got = wait_checked(poller, events, Some(QUIET))?;
        if got.is_empty() {
            return Ok(times);
        }
        for event in got {
            assert!(Want::readable(event.key()).matches(&event), "{event:?}");
            *times.entry(event.key()).or_default() += 1;
        }
    }
}

/// Waits until every key has been reported; panics if a wait finds nothing for [`LATE`].
fn all_reported(poller: &Uring, events: &mut Events, mode: Mode, round: usize) -> io::Result<()> {
    let mut seen = HashMap::new();
    while seen.len() < FDS {
        let got = wait_checked(poller, events, Some(LATE))?;
        assert!(!got.is_empty(), "{mode}, round {round}: {} never reported", FDS - seen.len());
        for event in got {
            *seen.entry(event.key()).or_insert(0) += 1;
        }
    }
    Ok(())
}

#[test]
fn too_small_for_its_registrations() -> io::Result<()> {
    raise_fd_limit(1024)?;
    for &mode in Mode::ALL {
        let poller = Uring::with_entries(2)?;
        let mut events = Events::new();
        let pairs = ready_pairs(&poller, mode)?;
        for round in 0..2 {
            if mode == Mode::Level {
                // Reported again and again, however many waits it takes to see them all.
                for _ in 0..3 {
                    all_reported(&poller, &mut events, mode, round)?;
                }
            } else {
                let times = reports(&poller, &mut events)?;
                let missing: Vec<usize> = (0..FDS).filter(|k| !times.contains_key(k)).collect();
                assert!(missing.is_empty(), "{mode}, round {round}: never reported: {missing:?}");
                if mode.is_oneshot() {
                    let twice: Vec<_> = times.iter().filter(|(_, n)| **n > 1).collect();
                    assert!(twice.is_empty(), "{mode}: reported more than once: {twice:?}");
                }
            }
            for (_, b) in &pairs {
                assert_eq!(drain(b)?, 1);
            }
            expect_no_events(&poller, &mut events, QUIET)?;
            // Again, through the same tiny ring: a new arrival, and a re-arm (oneshot).
            for (key, (a, b)) in pairs.iter().enumerate() {
                send(a, b"y")?;
                if mode.is_oneshot() {
                    poller.modify(b.as_fd(), key, Interest::READABLE, mode)?;
                }
            }
        }
        for (_, b) in &pairs {
            poller.delete(b.as_fd())?;
        }
    }
    Ok(())
}

/// Edge mode on a ring whose completion queue overflows: the kernel ends the multishot
/// polls it cannot post for, and they are re-armed, so later arrivals are still reported.
#[test]
fn edge_survives_completion_overflow() -> io::Result<()> {
    let poller = Uring::with_entries(2)?;
    let mut events = Events::with_capacity(8);
    let pairs = ready_pairs(&poller, Mode::Edge)?;
    for round in 0..3 {
        let times = reports(&poller, &mut events)?;
        assert_eq!(times.len(), FDS, "round {round}: only {} of {FDS} reported", times.len());
        for (a, b) in &pairs {
            drain(b)?;
            send(a, b"x")?;
        }
    }
    Ok(())
}

#[test]
fn ring_size_is_checked() -> io::Result<()> {
    for entries in [0, 1, 32_769] {
        let err = Uring::with_entries(entries).expect_err("an impossible ring");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{entries}: {err}");
        assert!(err.to_string().contains(&entries.to_string()), "{err}");
    }
    // The smallest works: a notify reaches a wait.
    let poller = Uring::with_entries(2)?;
    poller.notify()?;
    let mut events = Events::new();
    assert_eq!(poller.wait(&mut events, Some(LATE))?, 0);
    Ok(())
}

/// More idle registrations than the completion queue has slots, and the one ready fd
/// registered last: every deferred poll goes in before a wait blocks (a wait that armed
/// only a completion queue's worth blocked for ever, as `wait_scaling` at 10 000 fds did).
#[test]
fn last_of_many_idle_is_reported() -> io::Result<()> {
    for mode in [Mode::Level, Mode::Oneshot, Mode::Edge, Mode::EdgeOneshot] {
        let poller = Uring::with_entries(2)?;
        let idle: Vec<(UnixStream, UnixStream)> =
            (0..FDS).map(|_| unix_pair()).collect::<io::Result<_>>()?;
        for (key, (_, b)) in idle.iter().enumerate() {
            poller.add(b.as_fd(), key, Interest::READABLE, mode)?;
        }
        let (a, b) = unix_pair()?;
        send(&a, b"x")?;
        poller.add(b.as_fd(), FDS, Interest::READABLE, mode)?;
        let mut events = Events::with_capacity(8);
        let got = wait_checked(&poller, &mut events, Some(LATE))?;
        assert_eq!(got.len(), 1, "{mode}: {got:?}");
        assert!(Want::readable(FDS).matches(&got[0]), "{mode}: {got:?}");
        drain(&b)?;
    }
    Ok(())
}
