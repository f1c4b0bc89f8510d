//! Several pollers sharing one fd: each is an independent registration.
//!
//! A library may hand the same socket to two event loops (a monitor, a second reactor, a
//! test harness), so one poller's registration, mode state, deletion and notify must not
//! leak into another's. Kernel backends keep one record per poller (an epitem per epoll
//! instance, a knote per kqueue); user-space ones keep one table per poller, and here the
//! two must agree.

use std::io;
use std::time::Duration;

use multipoll_core::{AsSource, Events, Interest, Mode, Poller};

use crate::util::{
    LONG, PROMPT, QUIET, Want, drain, expect_events, expect_no_events, expect_timeout, send,
    stream_pair, supports, wait_checked, wait_in_thread,
};

/// Two pollers, one socket in level mode under keys 1 and 2: each reports it on every
/// wait until it is drained; deleting it from one leaves the other reporting it, and it can
/// be added back to the first.
pub fn two_pollers_level<P: Poller>() -> io::Result<()> {
    let (one, two) = (P::new()?, P::new()?);
    let (mut events, (a, b)) = (Events::new(), stream_pair()?);
    one.add(b.as_source(), 1, Interest::READABLE, Mode::Level)?;
    two.add(b.as_source(), 2, Interest::READABLE, Mode::Level)?;
    send(&a, b"x")?;
    for _ in 0..2 {
        expect_events(&one, &mut events, &[Want::readable(1)])?;
        expect_events(&two, &mut events, &[Want::readable(2)])?;
    }
    one.delete(b.as_source())?;
    expect_no_events(&one, &mut events, QUIET)?;
    expect_events(&two, &mut events, &[Want::readable(2)])?;
    drain(&b)?;
    expect_no_events(&two, &mut events, QUIET)?;
    one.add(b.as_source(), 3, Interest::READABLE, Mode::Level)?;
    send(&a, b"y")?;
    expect_events(&one, &mut events, &[Want::readable(3)])?;
    expect_events(&two, &mut events, &[Want::readable(2)])?;
    Ok(())
}

/// Two pollers, one socket in oneshot mode: each reports the readiness once; re-arming it
/// in one does not re-arm it in the other; after it is deleted from one, the other can
/// still re-arm it and report it.
pub fn two_pollers_oneshot<P: Poller>() -> io::Result<()> {
    let (one, two) = (P::new()?, P::new()?);
    if !supports(&one, Mode::Oneshot)? {
        return Ok(());
    }
    let (mut events, (a, b)) = (Events::new(), stream_pair()?);
    one.add(b.as_source(), 1, Interest::READABLE, Mode::Oneshot)?;
    two.add(b.as_source(), 2, Interest::READABLE, Mode::Oneshot)?;
    send(&a, b"x")?;
    expect_events(&one, &mut events, &[Want::readable(1)])?;
    expect_events(&two, &mut events, &[Want::readable(2)])?;
    send(&a, b"y")?;
    expect_no_events(&one, &mut events, QUIET)?;
    expect_no_events(&two, &mut events, QUIET)?;
    one.modify(b.as_source(), 1, Interest::READABLE, Mode::Oneshot)?;
    expect_events(&one, &mut events, &[Want::readable(1)])?;
    expect_no_events(&two, &mut events, QUIET)?;
    one.delete(b.as_source())?;
    two.modify(b.as_source(), 2, Interest::READABLE, Mode::Oneshot)?;
    expect_events(&two, &mut events, &[Want::readable(2)])?;
    expect_no_events(&one, &mut events, QUIET)?;
    Ok(())
}

/// Two pollers, one socket in edge mode: each reports every arrival once, and nothing in
/// between; after it is deleted from one, the other still reports the next arrival.
pub fn two_pollers_edge<P: Poller>() -> io::Result<()> {
    let (one, two) = (P::new()?, P::new()?);
    if !supports(&one, Mode::Edge)? {
        return Ok(());
    }
    let (mut events, (a, b)) = (Events::new(), stream_pair()?);
    one.add(b.as_source(), 1, Interest::READABLE, Mode::Edge)?;
    two.add(b.as_source(), 2, Interest::READABLE, Mode::Edge)?;
    for data in [b"x", b"y"] {
        send(&a, data)?;
        expect_events(&one, &mut events, &[Want::readable(1)])?;
        expect_events(&two, &mut events, &[Want::readable(2)])?;
        expect_no_events(&one, &mut events, QUIET)?;
        expect_no_events(&two, &mut events, QUIET)?;
    }
    one.delete(b.as_source())?;
    send(&a, b"z")?;
    expect_events(&two, &mut events, &[Want::readable(2)])?;
    expect_no_events(&one, &mut events, QUIET)?;
    Ok(())
}

/// Two pollers, one socket, a thread blocked in each: one arrival wakes both promptly,
/// each with its own key, in every supported mode.
pub fn two_pollers_wake_together<P: Poller>() -> io::Result<()> {
    for mode in P::new()?.capabilities().supported_modes() {
        let (one, two) = (P::new()?, P::new()?);
        let (a, b) = stream_pair()?;
        one.add(b.as_source(), 1, Interest::READABLE, mode)?;
        two.add(b.as_source(), 2, Interest::READABLE, mode)?;
        let first = wait_in_thread(&one, Some(LONG), |_| {
            wait_in_thread(&two, Some(LONG), |_| send(&a, b"x"))
        })?;
        let second = &first.output;
        for (waited, key) in [(&first.events, 1), (&second.events, 2)] {
            assert!(
                waited.len() == 1 && Want::readable(key).matches(&waited[0]),
                "{mode}: the poller of key {key} reported {waited:?}"
            );
        }
        first.assert_prompt(&format!("{mode}: first poller"));
        second.assert_prompt(&format!("{mode}: second poller"));
    }
    Ok(())
}

/// Two pollers, one socket, different interests (readable in one, writable in the other):
/// each reports the flags of its own interest only.
pub fn two_pollers_different_interest<P: Poller>() -> io::Result<()> {
    let (reader, writer) = (P::new()?, P::new()?);
    let (mut events, (a, b)) = (Events::new(), stream_pair()?);
    reader.add(b.as_source(), 1, Interest::READABLE, Mode::Level)?;
    writer.add(b.as_source(), 2, Interest::WRITABLE, Mode::Level)?;
    expect_no_events(&reader, &mut events, QUIET)?;
    expect_events(&writer, &mut events, &[Want::writable(2)])?;
    send(&a, b"x")?;
    expect_events(&reader, &mut events, &[Want::readable(1)])?;
    expect_events(&writer, &mut events, &[Want::writable(2)])?;
    Ok(())
}

/// A notify wakes its own poller only: a thread waiting on another poller times out, and
/// the notified poller's next wait returns at once, with no event.
pub fn notify_is_per_poller<P: Poller>() -> io::Result<()> {
    let (one, two) = (P::new()?, P::new()?);
    let mut events = Events::new();
    let timeout = Duration::from_millis(300);
    let waited = wait_in_thread(&two, Some(timeout), |_| one.notify())?;
    assert!(!waited.rescued, "the waiter had to be rescued");
    assert_eq!(waited.events, []);
    assert!(
        waited.elapsed() >= timeout,
        "another poller's notify woke it ({:?})",
        waited.elapsed()
    );
    let start = std::time::Instant::now();
    assert_eq!(wait_checked(&one, &mut events, Some(LONG))?, []);
    assert!(start.elapsed() < PROMPT, "the notified poller took {:?}", start.elapsed());
    expect_timeout(&one, &mut events, QUIET)?;
    Ok(())
}
