//! The contract every multipoll backend keeps.
//!
//! multipoll is a family of interchangeable I/O readiness backends — `select(2)`,
//! `poll(2)`, `epoll(7)`, `kqueue(2)`, `io_uring(7)` poll requests, or a third party's —
//! behind one trait, [`Poller`]. This crate holds that
//! trait and its vocabulary ([`Interest`], [`Mode`], [`ModeSet`], [`Event`], [`Events`],
//! [`Capabilities`], and [`Source`], what a poller registers: a borrowed fd on Unix, a
//! borrowed socket on Windows, taken with [`AsSource::as_source`] by code that builds on
//! both): all a user needs. Two modules serve others:
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
// without a backend sees (instead of "not found" errors from empty crates later).
#[cfg(not(any(unix, windows)))]
compile_error!(
    "multipoll supports Unix (Linux and Android: epoll, io_uring, poll, select; FreeBSD, macOS, \
     NetBSD, OpenBSD, DragonFly: kqueue, poll, select; other Unix: poll, select) and Windows."
);

pub mod backend;
mod event;
pub mod fault;
mod interest;
mod poller;
mod source;

pub use event::{Event, Events};
pub use interest::{Interest, Mode, ModeSet};
pub use poller::{Capabilities, Poller, RESERVED_KEY};
pub use source::{AsSource, RawSource, Source};
