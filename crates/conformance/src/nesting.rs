//! A poller inside another: backends whose kernel object is an fd (epoll, kqueue) expose it
//! through [`AsFd`], so that one poller can wait on another, or an async runtime can drive
//! one through its reactor. These behaviours take two poller types and are not part of
//! [`behaviours`](crate::behaviours) (which needs only [`Poller`]): a backend that is an fd
//! runs them once per outer backend, e.g. `inner_readiness_seen_by_outer::<Poll, Epoll>`.

use std::io;
use std::os::fd::AsFd;
use std::time::Duration;

use multipoll_core::{Events, Interest, Mode, Poller};

use crate::util::{QUIET, Want, drain, expect_events, expect_no_events, send, unix_pair};

/// The inner poller's fd is readable in the outer one exactly while the inner one has
/// something to report: not while idle, at once when a registered fd becomes ready, and
/// no longer once that fd is drained; the inner `wait` then reports the fd itself.
pub fn inner_readiness_seen_by_outer<Outer: Poller, Inner: Poller + AsFd>() -> io::Result<()> {
    let (outer, inner) = (Outer::new()?, Inner::new()?);
    let (mut outer_events, mut inner_events) = (Events::new(), Events::new());
    outer.add(inner.as_fd(), 1, Interest::READABLE, Mode::Level)?;
    let (a, b) = unix_pair()?;
    inner.add(b.as_fd(), 2, Interest::READABLE, Mode::Level)?;
    expect_no_events(&outer, &mut outer_events, QUIET)?;

    send(&a, b"x")?;
    expect_events(&outer, &mut outer_events, &[Want::readable(1)])?;
    let got = inner.wait(&mut inner_events, Some(Duration::ZERO))?;
    assert_eq!(got, 1, "the outer poller saw the inner ready, the inner reported nothing");
    assert!(Want::readable(2).matches(&inner_events.as_slice()[0]), "{inner_events:?}");

    drain(&b)?;
    expect_no_events(&outer, &mut outer_events, QUIET)?;
    Ok(())
}

/// A `notify` on the inner poller makes it readable in the outer one (a thread blocked on
/// the outer poller learns that the inner one wants attention), and the inner `wait`
/// consumes it: afterwards the outer poller is quiet again.
pub fn inner_notify_seen_by_outer<Outer: Poller, Inner: Poller + AsFd>() -> io::Result<()> {
    let (outer, inner) = (Outer::new()?, Inner::new()?);
    let (mut outer_events, mut inner_events) = (Events::new(), Events::new());
    outer.add(inner.as_fd(), 1, Interest::READABLE, Mode::Level)?;
    inner.notify()?;
    expect_events(&outer, &mut outer_events, &[Want::readable(1)])?;
    assert_eq!(inner.wait(&mut inner_events, Some(Duration::ZERO))?, 0, "a notify is no event");
    expect_no_events(&outer, &mut outer_events, QUIET)?;
    Ok(())
}
