//! For backend authors: the pieces every backend would otherwise write again, kept out of
//! the users' view.
//!
//! A user of multipoll needs the [`Poller`](crate::Poller) trait and its vocabulary at the
//! crate root. A crate that *implements* `Poller` — ours or a third party's — also needs:
//!
//! - the syscall boundary, one job per module: [`syscall`] (the one `-1`/`errno` idiom,
//!   [`cvt`](syscall::cvt), and the non-blocking pipe), [`timeout`] (a wait's
//!   [`Deadline`](timeout::Deadline), rounding to each syscall's timeout type), [`checks`]
//!   (key, mode, interest, fd limit and open fd, before a registration), [`errors`] (the contract's registration errors and the errno mapping), [`readiness`]
//!   (kernel readiness bits to [`Event`] flags), [`probe`] (is an fd open,
//!   how many bytes are queued, has the peer gone: for syscalls that do not say) and
//!   [`file`](mod@file) (which file an fd is, and whether its readiness can be watched at all);
//! - [`wait`](mod@wait): the wait rule, [`wait_until`](wait::wait_until): clear, deadline,
//!   `EINTR` retry with the time left, waiting again after a turn with nothing to report;
//! - [`notify`]: the wake-up fd behind `notify`, coalescing by [`coalesce`]'s one rule;
//! - [`emulated`]: the whole registration table (with oneshot emulation) for kernels that
//!   keep none, `poll` and `select`;
//! - [`table`]: the per-fd registration record and its lock;
//! - [`per_waiter`]: one buffer per thread in `wait`, so that no waiter queues behind
//!   another;
//! - [`EventsExt`]: filling the caller's [`Events`](crate::Events), and the array of the
//!   backend's own kernel entries kept in it ([`EventsExt::kernel_array`], [`Sink`]).
//!
//! On Windows the same paths hold the Winsock twins, each in its own file under
//! `backend/windows/`: [`syscall`] (Winsock's `SOCKET_ERROR` idiom, `WSAPoll`, `select`,
//! `getsockopt`), [`notify`] (a loopback socket pair), [`file`](mod@file) (only an open
//! socket can be registered; no identity tells a reused handle apart), [`probe`] (open or
//! not, `WSAPoll` now), [`readiness`] (`WSAPoll`'s bits) and [`table`] (keyed by handle
//! value), so that [`emulated`] is one file for both families.
//!
//! These may change between minor versions more readily than the user-facing API; the
//! conformance suite (`multipoll-conformance`) is how a backend proves it keeps the
//! contract.

pub mod checks;
pub mod coalesce;
pub mod emulated;
pub mod errors;
#[cfg(unix)]
pub mod file;
#[cfg(windows)]
#[path = "windows/file.rs"]
pub mod file;
#[cfg(unix)]
pub mod notify;
#[cfg(windows)]
#[path = "windows/notify.rs"]
pub mod notify;
pub mod per_waiter;
#[cfg(unix)]
pub mod probe;
#[cfg(windows)]
#[path = "windows/probe.rs"]
pub mod probe;
pub mod readiness;
#[cfg(unix)]
pub mod syscall;
#[cfg(windows)]
#[path = "windows/syscall.rs"]
pub mod syscall;
pub mod table;
pub mod timeout;
pub mod wait;

use crate::Event;
pub use crate::event::Sink;
pub use crate::source::raw_source;

/// What a backend does with the caller's [`Events`](crate::Events) in `wait`: the methods
/// users never call.
pub trait EventsExt: sealed::Sealed {
    /// Appends an event; returns `false` (and drops it) when the buffer is full. An event
    /// with no flag set is ignored (and counts as pushed).
    fn push(&mut self, event: Event) -> bool;

    /// The array a backend's kernel wait fills, of the backend's own entry type `K`
    /// (`epoll_event`, a `kevent`, …), kept with these events across waits, and the
    /// [`Sink`] for the events made of what the kernel filled in.
    ///
    /// The array is at most `max` entries long and never longer than there is room for
    /// events (an entry the kernel hands over is consumed: a oneshot registration is
    /// disarmed, an edge is spent, so one that did not fit would be lost). It grows with
    /// `blank` entries on first use; entries past what the last wait filled hold whatever
    /// an earlier wait left there.
    ///
    /// Kept with the caller's `Events`, it costs a wait one type check and no lock or
    /// allocation after the first, and threads waiting at once each have their own. Core
    /// knows no kernel's entry type: one `Events` used with another backend's poller gets
    /// a new array of that backend's type.
    fn kernel_array<K: Copy + Send + Sync + 'static>(
        &mut self,
        max: usize,
        blank: K,
    ) -> (&mut [K], Sink<'_>);

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
