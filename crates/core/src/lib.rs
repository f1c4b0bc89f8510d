//! The contract every multipoll backend keeps.
//!
//! multipoll is a family of interchangeable I/O readiness backends — `select(2)`,
//! `poll(2)`, `epoll(7)`, `kqueue(2)`, `io_uring(7)` poll requests, or a third party's —
//! behind one trait, [`Poller`]. This crate holds that
//! trait and its vocabulary ([`Interest`], [`Mode`], [`ModeSet`], [`Event`], [`Events`],
//! [`Capabilities`]): all a user needs. Two modules serve others:
//!
//! - [`backend`]: for backend authors, the pieces that would otherwise be written once per
//!   backend (the syscall boundary, the wake-up fd, the user-space registration table of
//!   poll and select, one buffer per waiter, filling `Events`);
//! - [`fault`]: fault injection before each syscall, for tests (feature `fault-injection`).
//!
//! A backend crate then reads as "how this syscall does it". The contract itself — which
//! errors mean what, how timeouts round, what happens on close — is written once, on
//! [`Poller`]; the `multipoll-conformance` crate checks any backend against it.
//!
//! Core depends on no other multipoll crate: data flows core ← backends ← facade.
#![deny(missing_docs, missing_debug_implementations)]
#![doc(test(attr(deny(warnings))))]

// Every backend crate depends on this one, so this is the one message a user on a platform
// without a backend sees (instead of "not found" errors from empty crates later). How the
// trait would take Windows sockets without a breaking change: docs/design.md, *Platforms*.
#[cfg(not(unix))]
compile_error!(
    "multipoll supports Unix only (Linux and Android: epoll, poll, select; FreeBSD, macOS, \
     NetBSD, OpenBSD: kqueue, poll, select; other Unix: poll, select). There is no Windows \
     backend yet; on Windows use `polling` or `mio`."
);

#[cfg(unix)]
pub mod backend;
#[cfg(unix)]
mod event;
#[cfg(unix)]
pub mod fault;
#[cfg(unix)]
mod interest;
#[cfg(unix)]
mod poller;

#[cfg(unix)]
pub use event::{Event, Events};
#[cfg(unix)]
pub use interest::{Interest, Mode, ModeSet};
#[cfg(unix)]
pub use poller::{Capabilities, Poller, RESERVED_KEY};
