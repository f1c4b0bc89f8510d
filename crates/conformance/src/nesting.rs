//! A poller inside another: backends whose kernel object is an fd (epoll, kqueue) expose it
//! through [`AsFd`], so that one poller can wait on another, or an async runtime can drive
//! one through its reactor. These behaviours take two poller types and are not part of
//! [`behaviours`](crate::behaviours) (which needs only [`Poller`]): a backend that is an fd
//! runs them once per outer backend, e.g. `inner_readiness_seen_by_outer::<Poll, Epoll>`.

use std::io;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use multipoll_core::{Events, Interest, Mode, Poller};

use crate::util::{QUIET, Want, drain, expect_events, expect_no_events, send, unix_pair};

/// An `Inner` poller registered in an `Outer` one (key 1, readable, level), each with its
/// own `Events`: the setup every nesting behaviour starts from, public so that a backend's
/// own nesting tests start from it too.
#[derive(Debug)]
pub struct Nested<Outer, Inner> {
    /// The poller that waits on the other.
    pub outer: Outer,
    /// The poller registered in `outer`.
    pub inner: Inner,
    /// For `outer`'s waits.
    pub outer_events: Events,
    /// For `inner`'s waits.
    pub inner_events: Events,
}

impl<Outer: Poller, Inner: Poller + AsFd> Nested<Outer, Inner> {
    /// A new `Inner` registered in a new `Outer`.
    ///
    /// # Errors
    /// Those of creating either poller or of the registration.
    pub fn new() -> io::Result<Self> {
        let (outer, inner) = (Outer::new()?, Inner::new()?);
        outer.add(inner.as_fd(), 1, Interest::READABLE, Mode::Level)?;
        Ok(Nested { outer, inner, outer_events: Events::new(), inner_events: Events::new() })
    }

    /// A Unix socket pair whose second end is registered in the inner poller (key 2,
    /// readable, level); nothing is queued yet.
    ///
    /// # Errors
    /// Those of making the pair or of the registration.
    pub fn watched_pair(&self) -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = unix_pair()?;
        self.inner.add(b.as_fd(), 2, Interest::READABLE, Mode::Level)?;
        Ok((a, b))
    }
}

/// The inner poller's fd is readable in the outer one exactly while the inner one has
/// something to report: not while idle, at once when a registered fd becomes ready, and
/// no longer once that fd is drained; the inner `wait` then reports the fd itself.
pub fn inner_readiness_seen_by_outer<Outer: Poller, Inner: Poller + AsFd>() -> io::Result<()> {
    let mut n = Nested::<Outer, Inner>::new()?;
    let (a, b) = n.watched_pair()?;
    expect_no_events(&n.outer, &mut n.outer_events, QUIET)?;

    send(&a, b"x")?;
    expect_events(&n.outer, &mut n.outer_events, &[Want::readable(1)])?;
    let got = n.inner.wait(&mut n.inner_events, Some(Duration::ZERO))?;
    assert_eq!(got, 1, "the outer poller saw the inner ready, the inner reported nothing");
    assert!(Want::readable(2).matches(&n.inner_events.as_slice()[0]), "{:?}", n.inner_events);

    drain(&b)?;
    expect_no_events(&n.outer, &mut n.outer_events, QUIET)?;
    Ok(())
}

/// A `notify` on the inner poller makes it readable in the outer one (a thread blocked on
/// the outer poller learns that the inner one wants attention), and the inner `wait`
/// consumes it: afterwards the outer poller is quiet again.
pub fn inner_notify_seen_by_outer<Outer: Poller, Inner: Poller + AsFd>() -> io::Result<()> {
    let mut n = Nested::<Outer, Inner>::new()?;
    n.inner.notify()?;
    expect_events(&n.outer, &mut n.outer_events, &[Want::readable(1)])?;
    let got = n.inner.wait(&mut n.inner_events, Some(Duration::ZERO))?;
    assert_eq!(got, 0, "a notify is no event");
    expect_no_events(&n.outer, &mut n.outer_events, QUIET)?;
    Ok(())
}
