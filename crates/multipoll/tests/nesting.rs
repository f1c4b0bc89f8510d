//! A poller that is an fd (epoll, kqueue: `AsFd`) registered inside each backend built here,
//! and epoll inside io_uring. A ring inside another poller may give one stale level report
//! after a drain (its changes go to the kernel at once while it is lent out), which the
//! shared behaviour forbids: `crates/uring/tests/nesting.rs` pins what it does instead.
//!
//! Unix only: a poller that is an fd exists only there.
#![cfg(unix)]

use std::io;

#[allow(unused_imports)]
use multipoll::*;
use multipoll_conformance::nesting;

/// One test per (outer, inner) pair and behaviour.
macro_rules! nested {
    ($($name:ident: $outer:ty, $inner:ty, $cfg:meta;)*) => {$(
        #[$cfg]
        mod $name {
            use super::*;

            #[test]
            fn inner_readiness_seen_by_outer() -> io::Result<()> {
                nesting::inner_readiness_seen_by_outer::<$outer, $inner>()
            }

            #[test]
            fn inner_notify_seen_by_outer() -> io::Result<()> {
                nesting::inner_notify_seen_by_outer::<$outer, $inner>()
            }
        }
    )*};
}

nested! {
    epoll_in_select: Select, Epoll, cfg(all(has_epoll, has_select));
    epoll_in_poll: Poll, Epoll, cfg(all(has_epoll, has_poll));
    epoll_in_epoll: Epoll, Epoll, cfg(has_epoll);
    kqueue_in_select: Select, Kqueue, cfg(all(has_kqueue, has_select));
    kqueue_in_poll: Poll, Kqueue, cfg(all(has_kqueue, has_poll));
    kqueue_in_kqueue: Kqueue, Kqueue, cfg(has_kqueue);
    epoll_in_uring: Uring, Epoll, cfg(all(has_uring, has_epoll));
}
