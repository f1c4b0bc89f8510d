//! Other polling libraries behind our [`Poller`](multipoll_core::Poller) trait, so that the
//! conformance suite can run on them: [`PollingPeer`] (the `polling` crate) and
//! [`MioPeer`] (mio).
//!
//! Test-only adapters, thin on purpose: each call maps to the peer's own documented call,
//! each event flag to the peer's flag of the same meaning, and what the peer cannot do is
//! refused with `Unsupported` (as our contract asks of a backend), never emulated. The
//! peer's errors pass through as the peer returns them. So an outcome in the matrix is the
//! peer's, not an adapter's, except where an adapter says otherwise (mio's waiter lock).
//!
//! The benches compare the same two crates through their own APIs
//! (`benches/common/subject.rs`), not through these adapters, so that what they time is
//! the peer and not a translation layer.

#[cfg(unix)]
mod mio;
mod polling;

#[cfg(unix)]
pub use self::mio::MioPeer;
pub use self::polling::PollingPeer;
