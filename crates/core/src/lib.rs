//! The contract every multipoll backend keeps.
//!
//! multipoll is a family of interchangeable I/O readiness backends — `select(2)`,
//! `poll(2)`, `epoll(7)`, `kqueue(2)` — behind one trait, [`Poller`]. This crate holds that
//! trait and its vocabulary ([`Interest`], [`Mode`], [`Event`], [`Events`],
//! [`Capabilities`]), and the pieces that would otherwise be written once per backend:
//!
//! - [`sys`]: the syscall boundary (C returns to `io::Result`, timeout rounding, `EINTR`
//!   retry, registration checks, error messages, readiness-bit mapping);
//! - [`notify`]: the coalescing wake-up fd behind `notify`;
//! - [`emulated`]: the user-space registration table (with oneshot emulation) for kernels
//!   that keep none, `poll` and `select`;
//! - [`table`]: the per-fd registration record and its lock;
//! - [`per_waiter`]: one buffer per thread in `wait`, so that no waiter queues behind another;
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
pub mod emulated;
#[cfg(unix)]
mod event;
#[cfg(unix)]
pub mod fault;
#[cfg(unix)]
mod interest;
#[cfg(unix)]
pub mod notify;
#[cfg(unix)]
pub mod per_waiter;
#[cfg(unix)]
mod poller;
#[cfg(unix)]
pub mod sys;
#[cfg(unix)]
pub mod table;

#[cfg(unix)]
pub use event::{Event, Events};
#[cfg(unix)]
pub use interest::{Interest, Mode};
#[cfg(unix)]
pub use poller::{Capabilities, Poller, RESERVED_KEY};
