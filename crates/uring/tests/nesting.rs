//! The ring fd (`AsFd`) registered in other pollers, and other pollers' fds in a ring.
//!
//! A ring is readable while completions wait in it. A level registration is re-armed as
//! the inner wait that reported it returns (a lent-out ring submits everything at once),
//! so an fd left ready makes the ring readable again and a loop driven by the outer
//! poller never stalls; the price is that an fd drained *after* that wait is reported
//! once more, stale. So the suite's `inner_readiness_seen_by_outer` (quiet right after
//! the drain) holds with a uring outside, not inside; `inner_level_readiness` below is
//! what holds inside.
#![cfg(all(any(target_os = "linux", target_os = "android"), not(uring_unavailable)))]

use std::io;
use std::os::fd::AsFd;
use std::time::Duration;

use multipoll_conformance::nesting;
use multipoll_conformance::util::{
    QUIET, Want, drain, expect_events, expect_no_events, send, unix_pair,
};
use multipoll_epoll::Epoll;
use multipoll_poll::Poll;
use multipoll_uring::{Events, Interest, Mode, Poller, Uring};

/// A uring inside `Outer`, with a level registration: readable outside as soon as the fd
/// is ready; readable again after an inner wait that left it ready; once drained, at most
/// one stale report by the inner wait, and then quiet.
fn inner_level_readiness<Outer: Poller>() -> io::Result<()> {
    let (outer, inner) = (Outer::new()?, Uring::new()?);
    let (mut outer_events, mut inner_events) = (Events::new(), Events::new());
    outer.add(inner.as_fd(), 1, Interest::READABLE, Mode::Level)?;
    let (a, b) = unix_pair()?;
    inner.add(b.as_fd(), 2, Interest::READABLE, Mode::Level)?;
    expect_no_events(&outer, &mut outer_events, QUIET)?;
    send(&a, b"x")?;
    for _ in 0..2 {
        // Not drained: the outer poller hears of it again, and so does the inner wait.
        expect_events(&outer, &mut outer_events, &[Want::readable(1)])?;
        assert_eq!(inner.wait(&mut inner_events, Some(Duration::ZERO))?, 1);
        assert!(Want::readable(2).matches(&inner_events.as_slice()[0]), "{inner_events:?}");
    }
    assert_eq!(drain(&b)?, 1);
    let stale = inner.wait(&mut inner_events, Some(Duration::ZERO))?;
    assert!(stale <= 1, "{inner_events:?}");
    expect_no_events(&outer, &mut outer_events, QUIET)?;
    assert_eq!(inner.wait(&mut inner_events, Some(Duration::ZERO))?, 0, "{inner_events:?}");
    Ok(())
}

macro_rules! uring_inside {
    ($($name:ident: $outer:ty;)*) => {$(
        mod $name {
            use super::*;

            #[test]
            fn inner_level_readiness() -> io::Result<()> {
                super::inner_level_readiness::<$outer>()
            }

            #[test]
            fn inner_notify_seen_by_outer() -> io::Result<()> {
                nesting::inner_notify_seen_by_outer::<$outer, Uring>()
            }
        }
    )*};
}

uring_inside! {
    uring_in_epoll: Epoll;
    uring_in_poll: Poll;
    uring_in_uring: Uring;
}

mod epoll_in_uring {
    use super::*;

    #[test]
    fn inner_readiness_seen_by_outer() -> io::Result<()> {
        nesting::inner_readiness_seen_by_outer::<Uring, Epoll>()
    }

    #[test]
    fn inner_notify_seen_by_outer() -> io::Result<()> {
        nesting::inner_notify_seen_by_outer::<Uring, Epoll>()
    }
}
