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
use std::time::Duration;

use multipoll_conformance::nesting::{self, Nested};
use multipoll_conformance::util::{QUIET, Want, drain, expect_events, expect_no_events, send};
use multipoll_epoll::Epoll;
use multipoll_poll::Poll;
use multipoll_uring::{Poller, Uring};

/// A uring inside `Outer`, with a level registration: readable outside as soon as the fd
/// is ready; readable again after an inner wait that left it ready; once drained, at most
/// one stale report by the inner wait, and then quiet.
fn inner_level_readiness<Outer: Poller>() -> io::Result<()> {
    let mut n = Nested::<Outer, Uring>::new()?;
    let (a, b) = n.watched_pair()?;
    expect_no_events(&n.outer, &mut n.outer_events, QUIET)?;
    send(&a, b"x")?;
    for _ in 0..2 {
        // Not drained: the outer poller hears of it again, and so does the inner wait.
        expect_events(&n.outer, &mut n.outer_events, &[Want::readable(1)])?;
        assert_eq!(n.inner.wait(&mut n.inner_events, Some(Duration::ZERO))?, 1);
        assert!(Want::readable(2).matches(&n.inner_events.as_slice()[0]), "{:?}", n.inner_events);
    }
    assert_eq!(drain(&b)?, 1);
    let stale = n.inner.wait(&mut n.inner_events, Some(Duration::ZERO))?;
    assert!(stale <= 1, "{:?}", n.inner_events);
    expect_no_events(&n.outer, &mut n.outer_events, QUIET)?;
    let got = n.inner.wait(&mut n.inner_events, Some(Duration::ZERO))?;
    assert_eq!(got, 0, "{:?}", n.inner_events);
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
