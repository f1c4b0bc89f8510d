//! Scale and capacity: many fds, more ready fds than [`Events`] holds, and fd numbers that
//! come back (reused after `delete`, or closed while still registered).
//!
//! A server lives here: thousands of connections, a bounded event buffer, fds closed and
//! reopened all the time. The contract promises that nothing ready is lost or starved when
//! the buffer is full, in every mode — in oneshot and edge mode a dropped event is gone for
//! good — and that a number's new file never inherits its old registration.

use std::collections::{HashMap, HashSet};
use std::io;
#[cfg(unix)]
use std::io::ErrorKind;
use std::net::{TcpListener, TcpStream};
#[cfg(unix)]
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::time::Instant;

use multipoll_core::{AsSource, Events, Interest, Mode, Poller};

#[cfg(unix)]
use crate::util::{
    CpuMeter, MAX_SPURIOUS, dup_at_least, first_mode, is_open, pipe, raise_fd_limit, replace_fd,
    stream_pair,
};
use crate::util::{
    LATE, LONG, QUIET, Want, collect_each_once, drain, expect_events, expect_no_events,
    ready_one_ways, send, supports, wait_checked,
};

/// Where [`many_fds_few_ready`] moves its write ends, so that the registered read ends
/// take the low numbers (below `FD_SETSIZE`, for backends with a limit).
#[cfg(unix)]
const HIGH_FDS: RawFd = 2048;

#[cfg(unix)]
/// With 1 000 pipes registered and three made ready, exactly those three are reported;
/// once drained, none is; and all 1 000 delete cleanly.
pub fn many_fds_few_ready<P: Poller>() -> io::Result<()> {
    let mut count = 1000;
    let limit = raise_fd_limit(4096)?;
    let spread = limit >= HIGH_FDS as u64 + count as u64 + 64;
    if !spread {
        count = count.min((limit.saturating_sub(64) / 2) as usize);
        eprintln!("many_fds_few_ready: RLIMIT_NOFILE is {limit}; registering {count} fds");
    }
    let poller = P::new()?;
    let max_fd = poller.capabilities().max_fd();
    let mut events = Events::new();
    let mut pipes: Vec<(OwnedFd, OwnedFd)> = Vec::with_capacity(count);
    for key in 0..count {
        let (read, write) = pipe()?;
        let write = if spread { dup_at_least(write.as_source(), HIGH_FDS)? } else { write };
        match poller.add(read.as_source(), key, Interest::READABLE, Mode::Level) {
            Ok(()) => pipes.push((read, write)),
            Err(e)
                if e.kind() == ErrorKind::InvalidInput
                    && max_fd.is_some_and(|max| read.as_raw_fd() > max) =>
            {
                eprintln!("many_fds_few_ready: {e}; registering {key} fds");
                break;
            }
            Err(e) => return Err(e),
        }
    }
    assert!(pipes.len() >= 100, "only {} fds could be registered", pipes.len());
    let ready = [0, pipes.len() / 2, pipes.len() - 1];
    for &key in &ready {
        send(&pipes[key].1, b"x")?;
    }
    let wants: Vec<Want> = ready.iter().map(|&k| Want::readable(k)).collect();
    expect_events(&poller, &mut events, &wants)?;
    let mut again = wait_checked(&poller, &mut events, Some(LONG))?;
    again.sort_by_key(|e| e.key());
    assert_eq!(again.iter().map(|e| e.key()).collect::<Vec<_>>(), ready, "{again:?}");
    for &key in &ready {
        drain(&pipes[key].0)?;
    }
    expect_no_events(&poller, &mut events, QUIET)?;
    for (read, _) in &pipes {
        poller.delete(read.as_source())?;
    }
    Ok(())
}

/// Level mode, more ready fds (10) than `Events` holds (3): every one is reported within
/// the minimum number of waits plus one, none is lost.
pub fn capacity_no_loss_level<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let (count, capacity) = (10, 3);
    let _pipes = ready_one_ways(&poller, count, Mode::Level)?;
    let mut events = Events::with_capacity(capacity);
    let waits = count.div_ceil(capacity) + 1;
    let mut seen = HashSet::new();
    for _ in 0..waits {
        let got = wait_checked(&poller, &mut events, Some(LONG))?;
        assert!(!got.is_empty(), "a wait reported nothing though {count} fds are ready");
        seen.extend(got.iter().map(|e| e.key()));
    }
    let missing: Vec<usize> = (0..count).filter(|k| !seen.contains(k)).collect();
    assert!(missing.is_empty(), "after {waits} waits of {capacity}, never reported: {missing:?}");
    Ok(())
}

/// Oneshot mode, more ready fds (10) than `Events` holds (3): each is reported exactly
/// once across the waits — none lost to the full buffer, none twice — then nothing.
pub fn capacity_no_loss_oneshot<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    if !supports(&poller, Mode::Oneshot)? {
        return Ok(());
    }
    let _pipes = ready_one_ways(&poller, 10, Mode::Oneshot)?;
    let mut events = Events::with_capacity(3);
    collect_each_once(&poller, &mut events, 10)?;
    expect_no_events(&poller, &mut events, QUIET)?;
    Ok(())
}

/// Edge mode, more ready fds (10) than `Events` holds (3): each is reported exactly once
/// across the waits, then nothing. (Where edge is unsupported: `Unsupported`.)
pub fn capacity_no_loss_edge<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    if !supports(&poller, Mode::Edge)? {
        return Ok(());
    }
    let _pipes = ready_one_ways(&poller, 10, Mode::Edge)?;
    let mut events = Events::with_capacity(3);
    collect_each_once(&poller, &mut events, 10)?;
    expect_no_events(&poller, &mut events, QUIET)?;
    Ok(())
}

/// No starvation: with an `Events` of 1 and five always-ready level fds, every key is
/// reported within ten waits, and again within the next ten.
pub fn capacity_no_starvation<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let count = 5;
    let _pipes = ready_one_ways(&poller, count, Mode::Level)?;
    let mut events = Events::with_capacity(1);
    for round in 0..2 {
        let mut times: HashMap<usize, usize> = HashMap::new();
        for _ in 0..2 * count {
            for event in wait_checked(&poller, &mut events, Some(LONG))? {
                *times.entry(event.key()).or_default() += 1;
            }
        }
        let starved: Vec<usize> = (0..count).filter(|k| !times.contains_key(k)).collect();
        assert!(starved.is_empty(), "round {round}: keys {starved:?} starved; reported {times:?}");
    }
    Ok(())
}

#[cfg(unix)]
/// An fd number reused after `delete` + close, by a new file (`dup2` makes the reuse
/// certain), is a fresh registration: `add` succeeds, the old file's state is not
/// reported, the new file's readiness is, under the new key.
pub fn fd_reuse_after_delete<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let mut events = Events::new();
    let (old_read, old_write) = pipe()?;
    let number = old_read.as_raw_fd();
    poller.add(old_read.as_source(), 1, Interest::READABLE, Mode::Level)?;
    send(&old_write, b"old")?;
    expect_events(&poller, &mut events, &[Want::readable(1)])?;
    poller.delete(old_read.as_source())?;

    let (new_read, new_write) = pipe()?;
    let reused = replace_fd(new_read.as_source(), old_read)?;
    drop(new_read);
    assert_eq!(reused.as_raw_fd(), number);
    poller.add(reused.as_source(), 2, Interest::READABLE, Mode::Level)?;
    expect_no_events(&poller, &mut events, QUIET)?;
    send(&new_write, b"new")?;
    expect_events(&poller, &mut events, &[Want::readable(2)])?;
    drop(old_write);
    expect_events(&poller, &mut events, &[Want::readable(2)])?;
    Ok(())
}

#[cfg(unix)]
/// An fd closed without `delete` whose number a new file takes before any wait (the habit
/// of dropping a socket without deregistering it, then accepting the next connection): the
/// new file is a new registration on every backend. `add` of it succeeds, under a new key;
/// the new file's readiness is reported under that key only, the old key never again; and
/// after another such reuse, `delete` of the number succeeds and forgets the stale
/// registration.
pub fn reused_before_wait<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let mode = first_mode(&poller);
    let mut events = Events::new();
    let (old_peer, old) = stream_pair()?;
    let number = old.as_raw_fd();
    poller.add(old.as_source(), 1, Interest::READABLE, mode)?;
    send(&old_peer, b"old")?;

    // `dup2` closes the old socket and puts a new one under its number in one step, so
    // no wait (and no other thread) can come between.
    let (new_peer, new) = stream_pair()?;
    let reused = replace_fd(new.as_source(), OwnedFd::from(old))?;
    drop(new);
    assert_eq!(reused.as_raw_fd(), number);
    poller.add(reused.as_source(), 2, Interest::READABLE, mode)?;
    expect_no_events(&poller, &mut events, QUIET)?;
    send(&new_peer, b"new")?;
    expect_events(&poller, &mut events, &[Want::readable(2)])?;
    drain(&reused)?;
    expect_no_events(&poller, &mut events, QUIET)?;

    let (third_peer, third) = stream_pair()?;
    let reused = replace_fd(third.as_source(), reused)?;
    drop(third);
    poller.delete(reused.as_source())?;
    send(&third_peer, b"third")?;
    expect_no_events(&poller, &mut events, QUIET)?;
    poller.add(reused.as_source(), 3, Interest::READABLE, mode)?;
    expect_events(&poller, &mut events, &[Want::readable(3)])?;
    poller.delete(reused.as_source())?;
    Ok(())
}

#[cfg(unix)]
/// An fd closed while still registered (against the contract's advice) does not make
/// later waits fail or spin: it is reported at most once, with `error` set, the other fds
/// keep being served, and once the backend has forgotten it, a new file under the same
/// number can be added.
pub fn closed_without_delete<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let mut events = Events::new();
    let (read1, _write1) = pipe()?;
    let (read2, write2) = pipe()?;
    poller.add(read1.as_source(), 1, Interest::READABLE, Mode::Level)?;
    poller.add(read2.as_source(), 2, Interest::READABLE, Mode::Level)?;
    let number = read1.as_raw_fd();
    drop(read1);
    assert!(!is_open(number));

    // Listen for a while: one error report for key 1 is allowed, nothing else, no spinning.
    let end = Instant::now() + 2 * QUIET;
    let meter = CpuMeter::start();
    let (mut closed_reports, mut early) = (0, 0);
    while let Some(left) = end.checked_duration_since(Instant::now()) {
        let got = wait_checked(&poller, &mut events, Some(left))?;
        for event in &got {
            assert_eq!(event.key(), 1, "unexpected event {event:?}");
            assert!(event.is_error(), "a closed fd reported without error: {event:?}");
            closed_reports += 1;
        }
        if got.is_empty() && Instant::now() < end {
            early += 1;
        }
        assert!(closed_reports <= 1, "the closed fd was reported {closed_reports} times");
        assert!(early <= MAX_SPURIOUS, "wait spins after an fd was closed ({early} early returns)");
    }
    meter.assert_blocked("waiting after a registered fd was closed");
    assert!(!is_open(number), "fd {number} was reopened during the test");

    send(&write2, b"x")?;
    expect_events(&poller, &mut events, &[Want::readable(2)])?;
    drain(&read2)?;
    expect_no_events(&poller, &mut events, QUIET)?;

    // Every backend has forgotten the closed fd by now (epoll and kqueue at the close,
    // poll and select with the error report), so a new file under the same number is a
    // new registration.
    let (new_read, new_write) = pipe()?;
    let reused = if new_read.as_raw_fd() == number {
        new_read
    } else {
        dup_at_least(new_read.as_source(), number)?
    };
    assert_eq!(reused.as_raw_fd(), number, "fd {number} was taken during the test");
    poller.add(reused.as_source(), 3, Interest::READABLE, Mode::Level)?;
    expect_no_events(&poller, &mut events, QUIET)?;
    send(&new_write, b"x")?;
    expect_events(&poller, &mut events, &[Want::readable(3)])?;
    poller.delete(reused.as_source())?;
    poller.delete(read2.as_source())?;
    Ok(())
}

/// How many loopback TCP connections [`many_connections`] opens.
const CONNECTIONS: usize = 300;

/// 300 loopback TCP connections on one poller: each made readable alone (in a scrambled
/// order) is reported alone, under its key; all made readable at once are all reported,
/// in every supported mode (in oneshot and edge mode each exactly once), and promptly;
/// drained, none is.
pub fn many_connections<P: Poller>() -> io::Result<()> {
    // 600 sockets: past the soft fd limit some Unix systems start with (256 on macOS).
    #[cfg(unix)]
    raise_fd_limit(4096)?;
    let poller = P::new()?;
    // Two fds a connection, and room for the rest of the process below a select limit.
    let room = poller
        .capabilities()
        .max_fd()
        .map_or(usize::MAX, |max| (max as usize / 2).saturating_sub(32));
    let count = CONNECTIONS.min(room);
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let mut pairs: Vec<(TcpStream, TcpStream)> = Vec::with_capacity(count);
    for _ in 0..count {
        let client = TcpStream::connect(listener.local_addr()?)?;
        let (server, _) = listener.accept()?;
        client.set_nodelay(true)?;
        server.set_nonblocking(true)?;
        pairs.push((client, server));
    }
    let mut events = Events::new();
    for (key, (_, server)) in pairs.iter().enumerate() {
        poller.add(server.as_source(), key, Interest::READABLE, Mode::Level)?;
    }

    // One at a time, in an order unrelated to keys and fd numbers.
    let start = Instant::now();
    let stride = (37..).find(|s| gcd(*s, count) == 1).unwrap_or(1);
    for i in 0..count {
        let key = i * stride % count;
        send(&pairs[key].0, b"x")?;
        expect_events(&poller, &mut events, &[Want::readable(key)])?;
        assert_eq!(drain(&pairs[key].1)?, 1);
    }
    assert!(start.elapsed() < LONG, "{count} single readinesses took {:?}", start.elapsed());

    for mode in poller.capabilities().supported_modes() {
        for (key, (_, server)) in pairs.iter().enumerate() {
            poller.modify(server.as_source(), key, Interest::READABLE, mode)?;
        }
        let start = Instant::now();
        for (client, _) in &pairs {
            send(client, b"x")?;
        }
        let mut seen = HashSet::new();
        while seen.len() < count {
            let got = wait_checked(&poller, &mut events, Some(LATE))?;
            assert!(!got.is_empty(), "{mode}: {} of {count} never reported", count - seen.len());
            for event in got {
                assert!(Want::readable(event.key()).matches(&event), "{mode}: {event:?}");
                let first = seen.insert(event.key());
                assert!(first || mode == Mode::Level, "{mode}: key {} reported twice", event.key());
            }
        }
        assert!(start.elapsed() < LONG, "{mode}: {count} readinesses took {:?}", start.elapsed());
        for (_, server) in &pairs {
            drain(server)?;
        }
        expect_no_events(&poller, &mut events, QUIET)?;
    }
    for (_, server) in &pairs {
        poller.delete(server.as_source())?;
    }
    Ok(())
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}
