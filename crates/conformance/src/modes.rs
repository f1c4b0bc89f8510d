//! Modes and their changes: how often a ready fd is reported ([`Mode`]), what `modify` and
//! `delete` change, and [`Interest::NONE`].
//!
//! Level, oneshot and edge differ only in *when* a still-ready fd is reported again, so each
//! behaviour here leaves an fd ready and counts how often it comes back. A mode a backend
//! cannot do must be refused with `Unsupported`, never silently downgraded, so on such a
//! backend the same behaviour checks the refusal instead: every behaviour asserts something
//! on every backend.

use std::io::{self, Write};
use std::net::TcpStream;
use std::time::Instant;

use multipoll_core::{AsSource, Events, Interest, Mode, Poller};

use crate::util::{
    PROMPT, QUIET, Want, drain, expect_events, expect_kind, expect_no_events, one_way, send,
    stream_pair, supports, tcp_pair,
};

/// Level mode reports a ready fd on every wait until the data is drained, then no more.
pub fn level_repeats_until_drained<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let (mut events, (a, b)) = (Events::new(), stream_pair()?);
    poller.add(b.as_source(), 1, Interest::READABLE, Mode::Level)?;
    send(&a, b"xyz")?;
    for _ in 0..3 {
        expect_events(&poller, &mut events, &[Want::readable(1)])?;
    }
    assert_eq!(drain(&b)?, 3);
    expect_no_events(&poller, &mut events, QUIET)?;
    send(&a, b"again")?;
    expect_events(&poller, &mut events, &[Want::readable(1)])?;
    Ok(())
}

/// Oneshot mode reports a ready fd once, then nothing — even when more data arrives —
/// until `modify` re-arms it (with a new key, here), after which it fires once more.
pub fn oneshot_fires_once<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    if !supports(&poller, Mode::Oneshot)? {
        return Ok(());
    }
    let (mut events, (a, b)) = (Events::new(), stream_pair()?);
    poller.add(b.as_source(), 1, Interest::READABLE, Mode::Oneshot)?;
    send(&a, b"x")?;
    expect_events(&poller, &mut events, &[Want::readable(1)])?;
    expect_no_events(&poller, &mut events, QUIET)?;
    send(&a, b"y")?;
    expect_no_events(&poller, &mut events, QUIET)?;

    poller.modify(b.as_source(), 2, Interest::READABLE, Mode::Oneshot)?;
    expect_events(&poller, &mut events, &[Want::readable(2)])?;
    expect_no_events(&poller, &mut events, QUIET)?;
    Ok(())
}

/// A oneshot registration that has fired stays registered: `add` says `AlreadyExists`,
/// `modify` and `delete` succeed, and after `delete` nothing is reported.
pub fn oneshot_stays_registered<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    if !supports(&poller, Mode::Oneshot)? {
        return Ok(());
    }
    let (mut events, (a, b)) = (Events::new(), stream_pair()?);
    poller.add(b.as_source(), 1, Interest::READABLE, Mode::Oneshot)?;
    send(&a, b"x")?;
    expect_events(&poller, &mut events, &[Want::readable(1)])?;
    let again = poller.add(b.as_source(), 1, Interest::READABLE, Mode::Oneshot);
    expect_kind(again, io::ErrorKind::AlreadyExists, "add after a oneshot fired");
    poller.modify(b.as_source(), 1, Interest::READABLE, Mode::Oneshot)?;
    poller.delete(b.as_source())?;
    expect_no_events(&poller, &mut events, QUIET)?;
    Ok(())
}

/// Edge mode reports once per new arrival: data is reported, not reported again while it
/// sits unread, reported again when more arrives. A writable edge fires once. Where edge
/// is not supported, `add` and `modify` refuse it with `Unsupported`.
pub fn edge_fires_once_per_arrival<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let (mut events, (a, b)) = (Events::new(), stream_pair()?);
    if !supports(&poller, Mode::Edge)? {
        poller.add(b.as_source(), 1, Interest::READABLE, Mode::Level)?;
        let r = poller.modify(b.as_source(), 1, Interest::READABLE, Mode::Edge);
        expect_kind(r, io::ErrorKind::Unsupported, "modify to unsupported edge mode");
        return Ok(());
    }
    poller.add(b.as_source(), 1, Interest::READABLE, Mode::Edge)?;
    expect_no_events(&poller, &mut events, QUIET)?;
    send(&a, b"x")?;
    expect_events(&poller, &mut events, &[Want::readable(1)])?;
    expect_no_events(&poller, &mut events, QUIET)?;
    send(&a, b"y")?;
    expect_events(&poller, &mut events, &[Want::readable(1)])?;
    expect_no_events(&poller, &mut events, QUIET)?;
    assert_eq!(drain(&b)?, 2);

    let (_read, write) = one_way()?;
    poller.add(write.as_source(), 2, Interest::WRITABLE, Mode::Edge)?;
    expect_events(&poller, &mut events, &[Want::writable(2)])?;
    expect_no_events(&poller, &mut events, QUIET)?;
    Ok(())
}

/// Edge-oneshot: one report per arrival, and then none until `modify` re-arms it — not for
/// new data either (that is what sets it apart from edge); a re-arm with data still
/// queued reports it, so nothing that arrived while disarmed is lost. Where the backend
/// cannot do it, `add` and `modify` say `Unsupported`.
pub fn edge_oneshot_fires_once_until_rearmed<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let (mut events, (a, b)) = (Events::new(), stream_pair()?);
    if !supports(&poller, Mode::EdgeOneshot)? {
        poller.add(b.as_source(), 1, Interest::READABLE, Mode::Level)?;
        let r = poller.modify(b.as_source(), 1, Interest::READABLE, Mode::EdgeOneshot);
        expect_kind(r, io::ErrorKind::Unsupported, "modify to unsupported edge-oneshot mode");
        return Ok(());
    }
    poller.add(b.as_source(), 1, Interest::READABLE, Mode::EdgeOneshot)?;
    expect_no_events(&poller, &mut events, QUIET)?;
    send(&a, b"x")?;
    expect_events(&poller, &mut events, &[Want::readable(1)])?;
    expect_no_events(&poller, &mut events, QUIET)?;
    send(&a, b"y")?;
    expect_no_events(&poller, &mut events, QUIET)?;

    poller.modify(b.as_source(), 2, Interest::READABLE, Mode::EdgeOneshot)?;
    expect_events(&poller, &mut events, &[Want::readable(2)])?;
    expect_no_events(&poller, &mut events, QUIET)?;
    assert_eq!(drain(&b)?, 2);
    poller.modify(b.as_source(), 3, Interest::READABLE, Mode::EdgeOneshot)?;
    expect_no_events(&poller, &mut events, QUIET)?;
    send(&a, b"z")?;
    expect_events(&poller, &mut events, &[Want::readable(3)])?;
    expect_no_events(&poller, &mut events, QUIET)?;
    Ok(())
}

/// `modify` switches modes both ways: level to oneshot (reported once) and back to level
/// (reported on every wait).
pub fn modify_changes_mode<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    if !supports(&poller, Mode::Oneshot)? {
        return Ok(());
    }
    let (mut events, (a, b)) = (Events::new(), stream_pair()?);
    poller.add(b.as_source(), 1, Interest::READABLE, Mode::Level)?;
    send(&a, b"x")?;
    expect_events(&poller, &mut events, &[Want::readable(1)])?;
    poller.modify(b.as_source(), 1, Interest::READABLE, Mode::Oneshot)?;
    expect_events(&poller, &mut events, &[Want::readable(1)])?;
    expect_no_events(&poller, &mut events, QUIET)?;
    poller.modify(b.as_source(), 1, Interest::READABLE, Mode::Level)?;
    expect_events(&poller, &mut events, &[Want::readable(1)])?;
    expect_events(&poller, &mut events, &[Want::readable(1)])?;
    Ok(())
}

/// After `delete`, a still-ready fd is not reported any more, and other fds still are.
pub fn delete_stops_events<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let mut events = Events::new();
    let (a, b) = stream_pair()?;
    let (c, d) = stream_pair()?;
    poller.add(b.as_source(), 1, Interest::READABLE, Mode::Level)?;
    poller.add(d.as_source(), 2, Interest::READABLE, Mode::Level)?;
    send(&a, b"x")?;
    expect_events(&poller, &mut events, &[Want::readable(1)])?;
    poller.delete(b.as_source())?;
    expect_no_events(&poller, &mut events, QUIET)?;
    send(&c, b"x")?;
    expect_events(&poller, &mut events, &[Want::readable(2)])?;
    Ok(())
}

/// [`Interest::NONE`] silences an fd completely without deleting it — no readable, no
/// hang-up, no error, whether set by `add` or by `modify`, and without making `wait`
/// return early. `modify` back re-enables it (the hang-up is then reported) and
/// `delete` still works.
pub fn interest_none_silences<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let mut events = Events::new();
    let (a, b) = stream_pair()?;
    let (c, d) = stream_pair()?;
    poller.add(b.as_source(), 1, Interest::NONE, Mode::Level)?;
    poller.add(d.as_source(), 2, Interest::READABLE, Mode::Level)?;
    send(&c, b"x")?;
    expect_events(&poller, &mut events, &[Want::readable(2)])?;
    poller.modify(d.as_source(), 2, Interest::NONE, Mode::Level)?;

    // Data, then a hang-up, on both: the loudest an fd gets.
    send(&a, b"x")?;
    drop(a);
    drop(c);
    expect_no_events(&poller, &mut events, QUIET)?;

    // Read the data first, so the hang-up is all that is left (a hang-up with data still
    // queued is `readiness::hangup_with_data_pending`'s business).
    assert_eq!(drain(&b)?, 1);
    poller.modify(b.as_source(), 1, Interest::READABLE, Mode::Level)?;
    expect_events(&poller, &mut events, &[Want::readable(1).hangup()])?;
    poller.modify(b.as_source(), 1, Interest::NONE, Mode::Level)?;
    expect_no_events(&poller, &mut events, QUIET)?;

    expect_kind(
        poller.add(d.as_source(), 3, Interest::READABLE, Mode::Level),
        io::ErrorKind::AlreadyExists,
        "add of an fd silenced with Interest::NONE",
    );
    poller.delete(b.as_source())?;
    poller.delete(d.as_source())?;
    expect_kind(poller.delete(d.as_source()), io::ErrorKind::NotFound, "second delete");
    Ok(())
}

/// `modify` changes the key: the fd is reported under the new key only.
pub fn modify_changes_key<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let (mut events, (a, b)) = (Events::new(), stream_pair()?);
    poller.add(b.as_source(), 1, Interest::READABLE, Mode::Level)?;
    send(&a, b"x")?;
    expect_events(&poller, &mut events, &[Want::readable(1)])?;
    poller.modify(b.as_source(), 2, Interest::READABLE, Mode::Level)?;
    expect_events(&poller, &mut events, &[Want::readable(2)])?;
    expect_events(&poller, &mut events, &[Want::readable(2)])?;
    Ok(())
}

/// `modify` changes the interest: readable-only on an idle socket reports nothing,
/// writable reports writable, both reports both once data arrives, and back to readable
/// drops the writable flag.
pub fn modify_changes_interest<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let (mut events, (a, b)) = (Events::new(), stream_pair()?);
    poller.add(b.as_source(), 1, Interest::READABLE, Mode::Level)?;
    expect_no_events(&poller, &mut events, QUIET)?;
    poller.modify(b.as_source(), 1, Interest::WRITABLE, Mode::Level)?;
    expect_events(&poller, &mut events, &[Want::writable(1)])?;
    send(&a, b"x")?;
    expect_events(&poller, &mut events, &[Want::writable(1)])?;
    poller.modify(b.as_source(), 1, Interest::BOTH, Mode::Level)?;
    expect_events(&poller, &mut events, &[Want::both(1)])?;
    poller.modify(b.as_source(), 1, Interest::READABLE, Mode::Level)?;
    expect_events(&poller, &mut events, &[Want::readable(1)])?;
    Ok(())
}

/// `delete` lets go of the file: closing the fd right after it closes the socket at once,
/// in every mode, even with wake-ups in flight at the `delete` (the peer keeps writing
/// from another thread). The peer sees the close (its writes fail) without another
/// `wait`. io_uring's poll requests hold a reference to the file, so there the removal
/// must reach the kernel, and finish, before `delete` returns.
pub fn delete_then_close_closes<P: Poller>() -> io::Result<()> {
    const ROUNDS: usize = 50;
    let poller = P::new()?;
    let mut events = Events::new();
    for &mode in Mode::ALL {
        if !supports(&poller, mode)? {
            continue;
        }
        for round in 0..ROUNDS {
            let (a, b) = tcp_pair()?;
            poller.add(b.as_source(), 1, Interest::READABLE, mode)?;
            let writer = std::thread::spawn(move || write_until_closed(&a));
            expect_events(&poller, &mut events, &[Want::readable(1)])?;
            poller.delete(b.as_source())?;
            drop(b);
            let closed = writer.join().map_err(|_| io::Error::other("writer panicked"))??;
            assert!(closed, "{mode:?}, round {round}: the socket stayed open after delete + close");
        }
    }
    Ok(())
}

/// Writes a byte at a time to `a` until a write fails as its peer is closed (`true`), or
/// [`PROMPT`] passes (`false`).
fn write_until_closed(a: &TcpStream) -> io::Result<bool> {
    let start = Instant::now();
    while start.elapsed() < PROMPT {
        match (&*a).write(b"x") {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::yield_now(),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Ok(true),
        }
    }
    Ok(false)
}
