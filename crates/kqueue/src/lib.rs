//! A multipoll backend over `kqueue(2)`/`kevent(2)`: FreeBSD, macOS (and iOS, tvOS,
//! watchOS, visionOS), NetBSD, OpenBSD, DragonFly.
//!
//! kqueue keeps the registrations in the kernel, so a `wait` costs O(ready fds), not
//! O(registered), and a registration change made by another thread while one thread is
//! blocked in `wait` takes effect at once without waking it. It does every [`Mode`]
//! natively; [`Interest::PRIORITY`] it refuses with `Unsupported` (FreeBSD's
//! `EVFILT_EXCEPT` and macOS's `EV_OOBAND` differ, and neither has run here). On other
//! targets this crate is empty.
//!
//! # How it maps to kqueue
//!
//! - **One knote per direction.** kqueue watches reading (`EVFILT_READ`) and writing
//!   (`EVFILT_WRITE`) as separate knotes and reports them as separate events; `wait` merges
//!   them ([`EventsExt::merge_same_keys`](multipoll_core::backend::EventsExt::merge_same_keys)) so that each fd is reported once.
//!   [`Interest::NONE`] deletes both knotes and keeps the registration in a small user-space
//!   table, which also gives `AlreadyExists`/`NotFound` exactly as the contract says and
//!   tells `modify` which knotes to change.
//! - **Modes.** [`Mode::Level`] is a plain knote, [`Mode::Edge`] `EV_CLEAR`,
//!   [`Mode::Oneshot`] and [`Mode::EdgeOneshot`] `EV_DISPATCH`: the kernel disables the
//!   knote it reports and keeps it, so `modify` re-arms it with one `EV_ENABLE`.
//!   Edge-oneshot has no `EV_CLEAR`, since NetBSD never disables a knote that
//!   has both (`changes.rs` says why that loses nothing). With interest `BOTH` the fd has two
//!   knotes: the table's record is disarmed by the first report, under the lock every waiter
//!   reports under, so the fd as a whole reports once until re-armed, whichever waiter gets
//!   it; both directions ready in the same `wait` are one event. A knote's mode is fixed
//!   when it is created, so a mode change deletes and re-adds it. The transition table is
//!   in `changes.rs` (the change planner), the oneshot state machine in `record.rs`; both
//!   are plain Rust, tested on Linux.
//! - **Batching.** All changes of one `add`/`modify`/`delete` (up to four: both filters,
//!   maybe delete + re-add) go in one `kevent` call. Changes are never deferred into the
//!   next `wait`'s changelist: each call must report its own error, and a deferred change
//!   could undo a `modify` made by another thread in between.
//! - **`EV_RECEIPT`** on every change: the kernel returns one receipt per change with its
//!   errno, in place, without draining pending events. So an error is attributed to its
//!   change; `EEXIST`/`ENOENT`/`EBADF`/`EINVAL` become the contract's kinds
//!   ([`multipoll_core::backend::errors::registration_error`]); a failure part-way is rolled back.
//! - **Events.** `EV_EOF` is a hang-up (and readable, since a read returns end of file at
//!   once); with a nonzero `fflags` (the socket error) it is also an error.
//! - **Several waiters.** Each `wait` enters the kernel with its own buffer, kept in the
//!   caller's [`Events`], and holds no lock across the syscall: threads waiting at once
//!   never queue behind each other, and each keeps its own timeout. The table lock is
//!   taken after the syscall, to report. A level-ready fd may be reported to more than
//!   one of them; a notify wakes at least one.
//! - **Timeouts** are a `timespec`. FreeBSD and Apple's kernels wait for it to the
//!   nanosecond; NetBSD, OpenBSD and DragonFly turn it into clock ticks (10 ms at the
//!   default `HZ=100`), which [`Capabilities::timeout_precision`] says (`timeouts.rs`
//!   cites each kernel's source). `EINTR` is retried with the time left.
//! - **notify** triggers an `EVFILT_USER` knote with `EV_CLEAR` (notifies before a wait
//!   coalesce; it is never reported as an event). FreeBSD, macOS, DragonFly and NetBSD 10+
//!   have it, and OpenBSD since 7.8; where the kernel refuses it (older NetBSD and OpenBSD)
//!   `new` falls back to [`multipoll_core::backend::notify::Notifier`], a pipe watched for reading.
//!   `kevent` is not on any system's list of async-signal-safe functions (FreeBSD's
//!   sigaction(2) counts everything not listed as unsafe), although it is a bare system
//!   call with no user-space lock: calling `notify` from a signal handler relies on that.
//!   The pipe's `write(2)` is on the lists.
//! - **Fault injection**: [`multipoll_core::fault::inject`] runs before every `kevent`
//!   call: [`Call::Register`](multipoll_core::fault::Call::Register) before changes,
//!   `Wait` before the wait, `Notify` before the trigger (the pipe's own hook covers the
//!   fallback).
//!
//! # Quirks handled here
//!
//! - macOS packs `struct kevent`, NetBSD uses `u32` for `filter`/`flags` and `size_t`
//!   counts: `sys.rs` converts, and checks at compile time that the `EV_*` bits agree.
//! - macOS may answer `EPIPE` when adding a pipe whose other end is closed, although the
//!   knote is in place (and reports the hang-up): that receipt is not an error.
//! - macOS rejects very long timeouts with `EINVAL`: one call waits at most 10⁶ s, and
//!   `wait` waits again for the rest.
//! - **A closed fd** loses its knotes in the kernel (kqueue(2): "Calling close() on a file
//!   descriptor will remove any kevents that reference the descriptor"), even while a `dup`
//!   of it is open: knotes belong to the fd number (FreeBSD's `closefp` calls
//!   `knote_fdclose` for the number at every close). The table still holds its record.
//!   When `add` finds the number there, it asks the kernel with a change that leaves a live
//!   knote as it is and fails with `ENOENT` for a gone one: gone, the record is stale and the
//!   new file is registered; alive, the answer is `AlreadyExists`. `delete` of a closed fd
//!   succeeds (its `EBADF`/`ENOENT` mean "already gone"). `modify` does not ask (it is the
//!   hot path): on a closed fd whose number was reused it registers the new file. A
//!   registration with [`Interest::NONE`] has no knote, so, as the [contract](Poller) says,
//!   it stays (`AlreadyExists`) until `delete`. Delete before you close.
//! - **Regular files.** `EVFILT_READ` watches a regular file or a directory (always ready),
//!   which no other backend can: `add` refuses them with `InvalidInput`, as the
//!   [contract](Poller) says, by the check the other backends share (one `fstat(2)` per
//!   `add`). A device without `kqfilter` the kernel refuses itself.
//! - A kqueue is not inherited across `fork`; it is created close-on-exec as well.
//!
//! The contract — errors, timeouts, notify, threads — is [`multipoll_core::Poller`]'s.
//!
//! ```
//! # #[cfg(any(target_os = "freebsd", target_os = "dragonfly", target_os = "netbsd",
//! #     target_os = "openbsd", target_vendor = "apple"))]
//! # fn main() -> std::io::Result<()> {
//! use std::io::Write;
//! use std::os::fd::AsFd;
//! use std::time::Duration;
//! use multipoll_kqueue::{Events, Interest, Kqueue, Mode, Poller};
//!
//! let (mut a, b) = std::os::unix::net::UnixStream::pair()?;
//! let poller = Kqueue::new()?;
//! poller.add(b.as_fd(), 7, Interest::READABLE, Mode::Level)?;
//! a.write_all(b"ping")?;
//! let mut events = Events::new();
//! poller.wait(&mut events, Some(Duration::from_secs(5)))?;
//! assert_eq!(events.iter().next().map(|e| (e.key(), e.is_readable())), Some((7, true)));
//! # Ok(())
//! # }
//! # #[cfg(not(any(target_os = "freebsd", target_os = "dragonfly", target_os = "netbsd",
//! #     target_os = "openbsd", target_vendor = "apple")))]
//! # fn main() {}
//! ```
#![deny(missing_docs, missing_debug_implementations)]
#![doc(test(attr(deny(warnings))))]

pub use multipoll_core::{Capabilities, Event, Events, Interest, Mode, ModeSet, Poller};

cfg_if::cfg_if! {
    if #[cfg(any(
        target_os = "freebsd",
        target_os = "dragonfly",
        target_os = "netbsd",
        target_os = "openbsd",
        target_vendor = "apple"
    ))] {
        mod changes;
        mod kevent;
        mod kqueue;
        mod record;
        mod sys;
        mod timeouts;
        pub use kqueue::Kqueue;
    } else if #[cfg(test)] {
        // The platform-neutral logic, compiled here for its unit tests.
        mod changes;
        mod kevent;
        mod record;
        mod timeouts;
    }
}
