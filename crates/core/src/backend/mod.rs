//! For backend authors: the pieces every backend would otherwise write again, kept out of
//! the users' view.
//!
//! A user of multipoll needs the [`Poller`](crate::Poller) trait and its vocabulary at the
//! crate root. A crate that *implements* `Poller` — ours or a third party's — also needs:
//!
//! - the syscall boundary, one job per module: [`syscall`] (the one `-1`/`errno` idiom,
//!   [`cvt`](syscall::cvt), and the non-blocking pipe), [`timeout`] (a wait's
//!   [`Deadline`](timeout::Deadline), `EINTR` retry, rounding to each syscall's timeout
//!   type), [`checks`] (key, mode, interest, fd limit and open fd, before a registration),
//!   [`errors`] (the contract's registration errors and the errno mapping), [`readiness`]
//!   (kernel readiness bits to [`Event`] flags) and [`probe`] (is an fd open,
//!   how many bytes are queued, has the peer gone: for syscalls that do not say);
//! - [`notify`]: the coalescing wake-up fd behind `notify`;
//! - [`emulated`]: the whole registration table (with oneshot emulation) for kernels that
//!   keep none, `poll` and `select`;
//! - [`table`]: the per-fd registration record and its lock;
//! - [`per_waiter`]: one buffer per thread in `wait`, so that no waiter queues behind
//!   another;
//! - [`EventsExt`]: filling the caller's [`Events`](crate::Events).
//!
//! These may change between minor versions more readily than the user-facing API; the
//! conformance suite (`multipoll-conformance`) is how a backend proves it keeps the
//! contract.

pub mod checks;
pub mod emulated;
pub mod errors;
pub mod notify;
pub mod per_waiter;
pub mod probe;
pub mod readiness;
pub mod syscall;
pub mod table;
pub mod timeout;

use std::any::Any;

use crate::Event;

/// What a backend does with the caller's [`Events`](crate::Events) in `wait`: the methods
/// users never call.
pub trait EventsExt: sealed::Sealed {
    /// Appends an event; returns `false` (and drops it) when the buffer is full. An event
    /// with no flag set is ignored (and counts as pushed).
    fn push(&mut self, event: Event) -> bool;

    /// Takes the backend's kernel buffer kept with these events, or a new one.
    ///
    /// For backends whose syscall fills an array of its own type (`epoll_event`,
    /// `kevent`): keeping it with the caller's `Events` makes a wait allocate nothing and
    /// lock nothing for it, and lets several threads wait at once with their own buffers.
    /// Give it back with [`put_scratch`](EventsExt::put_scratch).
    fn take_scratch<T: Any + Send + Default>(&mut self) -> Box<T>;

    /// Keeps a buffer from [`take_scratch`](EventsExt::take_scratch) for the next wait.
    fn put_scratch<T: Any + Send>(&mut self, scratch: Box<T>);

    /// Folds events that share a key into one, so that each fd is reported once: for
    /// backends whose kernel reports read and write readiness of one fd as separate
    /// records (kqueue). Order is not preserved.
    fn merge_same_keys(&mut self);
}

mod sealed {
    /// Only `Events` is filled by backends.
    pub trait Sealed {}
    impl Sealed for crate::Events {}
}
