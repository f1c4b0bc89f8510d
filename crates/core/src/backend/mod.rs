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
//!   (kernel readiness bits to [`Event`] flags), [`probe`] (is an fd open,
//!   how many bytes are queued, has the peer gone: for syscalls that do not say) and
//!   [`file`](mod@file) (which file an fd is, and whether its readiness can be watched at all);
//! - [`notify`]: the coalescing wake-up fd behind `notify`;
//! - [`emulated`]: the whole registration table (with oneshot emulation) for kernels that
//!   keep none, `poll` and `select`;
//! - [`table`]: the per-fd registration record and its lock;
//! - [`per_waiter`]: one buffer per thread in `wait`, so that no waiter queues behind
//!   another;
//! - [`EventsExt`]: filling the caller's [`Events`](crate::Events), and the kernel's event
//!   array kept in it ([`KernelEvent`]).
//!
//! These may change between minor versions more readily than the user-facing API; the
//! conformance suite (`multipoll-conformance`) is how a backend proves it keeps the
//! contract.

pub mod checks;
pub mod emulated;
pub mod errors;
pub mod file;
pub mod notify;
pub mod per_waiter;
pub mod probe;
pub mod readiness;
pub mod syscall;
pub mod table;
pub mod timeout;

use std::io;

use crate::Event;

cfg_if::cfg_if! {
    if #[cfg(any(target_os = "linux", target_os = "android"))] {
        /// One entry of the array a kernel's wait fills, as [`Events`](crate::Events) keeps
        /// it for the backend ([`EventsExt::fill_from_kernel`]): `epoll_event` here.
        pub type KernelEvent = libc::epoll_event;
    } else if #[cfg(any(
        target_os = "freebsd",
        target_os = "dragonfly",
        target_os = "netbsd",
        target_os = "openbsd",
        target_vendor = "apple"
    ))] {
        /// One entry of the array a kernel's wait fills, as [`Events`](crate::Events) keeps
        /// it for the backend ([`EventsExt::fill_from_kernel`]): `kevent` here.
        pub type KernelEvent = libc::kevent;
    } else {
        /// One entry of the array a kernel's wait fills, as [`Events`](crate::Events) keeps
        /// it for the backend ([`EventsExt::fill_from_kernel`]): nothing here, where only
        /// `poll` and `select` exist.
        pub type KernelEvent = ();
    }
}

/// What a backend does with the caller's [`Events`](crate::Events) in `wait`: the methods
/// users never call.
pub trait EventsExt: sealed::Sealed {
    /// Appends an event; returns `false` (and drops it) when the buffer is full. An event
    /// with no flag set is ignored (and counts as pushed).
    fn push(&mut self, event: Event) -> bool;

    /// One kernel wait, into the array of [`KernelEvent`]s kept with these events, and
    /// the events made of what it returned.
    ///
    /// `wait` gets the array, at most `max` entries long and never longer than there is
    /// room for events (an entry the kernel hands over is consumed: a oneshot registration
    /// is disarmed, an edge is spent, so one that did not fit would be lost), and returns
    /// how many entries it filled. `f` then makes each of those into an event (`None`, or
    /// an empty event, for none), pushed as by [`push`](EventsExt::push). Returns what
    /// `wait` returned.
    ///
    /// For backends whose syscall fills an array of its own type (epoll, kqueue): kept
    /// with the caller's `Events`, it costs a wait no allocation and no lock, and threads
    /// waiting at once each have their own. It grows (with `blank` entries) on first use.
    ///
    /// # Errors
    /// Those of `wait`, which then reports nothing.
    fn fill_from_kernel(
        &mut self,
        max: usize,
        blank: impl Fn() -> KernelEvent,
        wait: impl FnOnce(&mut [KernelEvent]) -> io::Result<usize>,
        f: impl FnMut(&KernelEvent) -> Option<Event>,
    ) -> io::Result<usize>;

    /// Folds events that share a key into one, so that each fd is reported once: for
    /// backends whose kernel reports read and write readiness of one fd as separate
    /// records (kqueue). Order is not preserved.
    fn merge_same_keys(&mut self);

    /// Folds `event` into the stored event of the same key; `false` (and drops it) if
    /// there is none. For a completion of an fd this wait reported already, once the
    /// buffer is full (io_uring: one completion per wake-up, reported once as epoll does).
    fn merge_into(&mut self, event: Event) -> bool;
}

mod sealed {
    /// Only `Events` is filled by backends.
    pub trait Sealed {}
    impl Sealed for crate::Events {}
}
