//! A multipoll backend over `kqueue(2)`/`kevent(2)`: FreeBSD, macOS (and iOS, tvOS,
//! watchOS, visionOS), NetBSD, OpenBSD, DragonFly.
//!
//! kqueue keeps the registrations in the kernel, so a `wait` costs O(ready fds), not
//! O(registered), and a registration change made by another thread while one thread is
//! blocked in `wait` takes effect at once without waking it. It does all three
//! [`Mode`]s natively. On other targets this crate is empty.
//!
//! # How it maps to kqueue
//!
//! - **One knote per direction.** kqueue watches reading (`EVFILT_READ`) and writing
//!   (`EVFILT_WRITE`) as separate knotes and reports them as separate events; `wait` merges
//!   them ([`Events::merge_same_keys`]) so that each fd is reported once.
//!   [`Interest::NONE`] deletes both knotes and keeps the registration in a small user-space
//!   table, which also gives `AlreadyExists`/`NotFound` exactly as the contract says and
//!   tells `modify` which knotes to change.
//! - **Modes.** [`Mode::Level`] is a plain knote, [`Mode::Edge`] `EV_CLEAR`,
//!   [`Mode::Oneshot`] `EV_DISPATCH`: the kernel disables the knote it reports and keeps it,
//!   so `modify` re-arms it with one `EV_ENABLE`. With interest `BOTH` the other knote is
//!   disabled by `wait` right after the report (one extra `kevent` call, only then), so the
//!   fd as a whole reports once until re-armed; both directions ready in the same `wait`
//!   are one event. A knote's mode is fixed when it is created, so a mode change deletes and
//!   re-adds it. The details and the transition table are in `flags.rs`, tested on Linux.
//! - **Batching.** All changes of one `add`/`modify`/`delete` (up to four: both filters,
//!   maybe delete + re-add) go in one `kevent` call. Changes are never deferred into the
//!   next `wait`'s changelist: each call must report its own error, and a deferred change
//!   could undo a `modify` made by another thread in between.
//! - **`EV_RECEIPT`** on every change: the kernel returns one receipt per change with its
//!   errno, in place, without draining pending events. So an error is attributed to its
//!   change; `EEXIST`/`ENOENT`/`EBADF`/`EINVAL` become the contract's kinds
//!   ([`multipoll_core::sys::registration_error`]); a failure part-way is rolled back.
//! - **Events.** `EV_EOF` is a hang-up (and readable, since a read returns end of file at
//!   once); with a nonzero `fflags` (the socket error) it is also an error.
//! - **Timeouts** are a `timespec`: nanosecond requests, rounded up by the kernel to its
//!   tick. `EINTR` is retried with the time left.
//! - **notify** triggers an `EVFILT_USER` knote with `EV_CLEAR` (notifies before a wait
//!   coalesce; it is never reported as an event). FreeBSD, macOS, DragonFly and NetBSD 10+
//!   have it, and OpenBSD since 7.8; where the kernel refuses it (older NetBSD and OpenBSD)
//!   `new` falls back to [`multipoll_core::notify::Notifier`], a pipe watched for reading.
//!
//! # Quirks handled here
//!
//! - macOS packs `struct kevent`, NetBSD uses `u32` for `filter`/`flags` and `size_t`
//!   counts: `sys.rs` converts, and checks at compile time that the `EV_*` bits agree.
//! - macOS may answer `EPIPE` when adding a pipe whose other end is closed, although the
//!   knote is in place (and reports the hang-up): that receipt is not an error.
//! - macOS rejects very long timeouts with `EINVAL`: one call waits at most 10⁶ s, and
//!   `wait` waits again for the rest.
//! - A closed fd loses its knotes in the kernel; its registration stays in the table until
//!   `delete`, which then succeeds (its `EBADF`/`ENOENT` mean "already gone"). Until then
//!   `add` of the same fd number says `AlreadyExists`: as the [contract](Poller) says,
//!   delete before you close.
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
//! assert_eq!(events.iter().next().map(|e| (e.key, e.readable)), Some((7, true)));
//! # Ok(())
//! # }
//! # #[cfg(not(any(target_os = "freebsd", target_os = "dragonfly", target_os = "netbsd",
//! #     target_os = "openbsd", target_vendor = "apple")))]
//! # fn main() {}
//! ```
#![deny(missing_docs, missing_debug_implementations)]
#![doc(test(attr(deny(warnings))))]

pub use multipoll_core::{Capabilities, Event, Events, Interest, Mode, Poller};

// Compiled on every target for its unit tests; used only by the kqueue implementation.
#[cfg(any(
    test,
    target_os = "freebsd",
    target_os = "dragonfly",
    target_os = "netbsd",
    target_os = "openbsd",
    target_vendor = "apple"
))]
mod flags;

#[cfg(any(
    target_os = "freebsd",
    target_os = "dragonfly",
    target_os = "netbsd",
    target_os = "openbsd",
    target_vendor = "apple"
))]
mod sys;

#[cfg(any(
    target_os = "freebsd",
    target_os = "dragonfly",
    target_os = "netbsd",
    target_os = "openbsd",
    target_vendor = "apple"
))]
pub use imp::Kqueue;

#[cfg(any(
    target_os = "freebsd",
    target_os = "dragonfly",
    target_os = "netbsd",
    target_os = "openbsd",
    target_vendor = "apple"
))]
mod imp {
    use std::io;
    use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
    use std::sync::{Mutex, MutexGuard};
    use std::time::Duration;

    use multipoll_core::notify::Notifier;
    use multipoll_core::sys::{self as core_sys, Deadline};
    use multipoll_core::{Capabilities, Events, Interest, Mode, Poller, RESERVED_KEY};

    use crate::flags::{self, Change, Entry, Filter, Kevent, Registration};
    use crate::sys::{self, EventList};

    const CAPABILITIES: Capabilities = Capabilities {
        name: "kqueue",
        modes: [true, true, true],
        max_fd: None,
        // A timespec; the kernel rounds up to its tick.
        timeout_precision: Duration::from_nanos(1),
        reports_errors: true,
        early_hangup: true,
    };

    /// How `notify` wakes a waiter.
    #[derive(Debug)]
    enum Wake {
        /// An `EVFILT_USER` knote.
        User,
        /// A pipe, where the kernel has no `EVFILT_USER`.
        Pipe(Notifier),
    }

    /// The user-space record of the registrations, indexed by fd: fds are small, dense
    /// integers, so this beats a hash map on the per-event lookup.
    #[derive(Debug, Default)]
    struct Table {
        entries: Vec<Option<Entry>>,
    }

    impl Table {
        fn get(&mut self, fd: RawFd) -> Option<&mut Entry> {
            self.entries.get_mut(usize::try_from(fd).ok()?)?.as_mut()
        }

        fn insert(&mut self, slot: usize, entry: Entry) {
            if self.entries.len() <= slot {
                self.entries.resize(slot + 1, None);
            }
            self.entries[slot] = Some(entry);
        }

        fn remove(&mut self, fd: RawFd) {
            if let Some(slot) = usize::try_from(fd).ok().and_then(|i| self.entries.get_mut(i)) {
                *slot = None;
            }
        }
    }

    /// What one thread in `wait` uses; the lock also lets one waiter into the kernel at a
    /// time.
    #[derive(Debug, Default)]
    struct Scratch {
        events: EventList,
        /// Counts waits, so a oneshot entry can tell "reported this wait" from "earlier".
        round: u64,
        /// Oneshot registrations reported by this wait.
        fired: Vec<RawFd>,
        changes: Vec<Change>,
    }

    /// The kqueue poller; see the [crate docs](crate) for how it maps the contract.
    #[derive(Debug)]
    pub struct Kqueue {
        kq: OwnedFd,
        wake: Wake,
        table: Mutex<Table>,
        scratch: Mutex<Scratch>,
    }

    fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
        // Every update under these locks is a single assignment, so a panic elsewhere
        // cannot leave them half-done: a poisoned lock is still consistent.
        m.lock().unwrap_or_else(|e| e.into_inner())
    }

    impl Kqueue {
        /// Applies a registration's changelist; if it fails part-way, puts the knotes back
        /// as `old` had them, so that a failed call changes nothing.
        fn apply(&self, fd: RawFd, changes: &[Change], old: Option<&Entry>) -> io::Result<()> {
            let Err(err) = sys::apply(self.kq.as_fd(), changes) else {
                return Ok(());
            };
            match sys::apply(self.kq.as_fd(), &flags::restore(fd, old)) {
                Ok(()) => Err(err),
                Err(again) => Err(io::Error::new(
                    err.kind(),
                    format!("{err}; restoring the previous registration failed too: {again}"),
                )),
            }
        }

        fn is_wake(&self, kev: &Kevent) -> bool {
            match &self.wake {
                Wake::User => kev.filter == Some(Filter::User),
                Wake::Pipe(pipe) => {
                    kev.filter == Some(Filter::Read)
                        && kev.udata == RESERVED_KEY
                        && usize::try_from(pipe.fd().as_raw_fd()) == Ok(kev.ident)
                }
            }
        }

        /// Turns the last `kevent` result into `events`; returns whether `notify` woke it.
        ///
        /// Every event is checked against the table under its lock, so that nothing is
        /// reported after `delete` or `modify(NONE)` returned, even when the kernel handed
        /// the event out just before.
        fn collect(&self, scratch: &mut Scratch, events: &mut Events) -> io::Result<bool> {
            let mut table = lock(&self.table);
            scratch.round = scratch.round.wrapping_add(1);
            let round = scratch.round;
            scratch.fired.clear();
            let mut woken = false;
            for kev in scratch.events.iter() {
                if self.is_wake(&kev) {
                    woken = true;
                    continue;
                }
                let Ok(fd) = RawFd::try_from(kev.ident) else {
                    continue;
                };
                // Deleted since the kernel handed the event out.
                let Some(entry) = table.get(fd) else {
                    continue;
                };
                let was_armed = entry.is_armed();
                if let Some(event) = entry.on_kevent(&kev, round) {
                    // Never full: the kernel returned at most `capacity` kevents.
                    events.push(event);
                    if was_armed && !entry.is_armed() {
                        scratch.fired.push(fd);
                    }
                }
            }
            if let (true, Wake::Pipe(pipe)) = (woken, &self.wake) {
                pipe.drain();
            }
            // Oneshot with both directions: silence the knote that did not fire, under the
            // table lock so that no `modify` can re-arm in between and be undone.
            scratch.changes.clear();
            for &fd in &scratch.fired {
                if let Some(entry) = table.get(fd) {
                    scratch.changes.extend_from_slice(&entry.disables(fd, round));
                }
            }
            if !scratch.changes.is_empty() {
                sys::apply(self.kq.as_fd(), &scratch.changes)?;
            }
            Ok(woken)
        }
    }

    impl Poller for Kqueue {
        fn new() -> io::Result<Self> {
            let kq = sys::kqueue()?;
            let wake = match sys::apply(kq.as_fd(), &[Change::user_wake()]) {
                Ok(()) => Wake::User,
                // No EVFILT_USER in this kernel (NetBSD < 10, OpenBSD < 7.8): EINVAL.
                Err(e) if e.kind() == io::ErrorKind::InvalidInput => {
                    let pipe = Notifier::new()?;
                    let fd = pipe.fd().as_raw_fd();
                    sys::apply(kq.as_fd(), &[Change::pipe_wake(fd)])?;
                    Wake::Pipe(pipe)
                }
                Err(e) => return Err(e),
            };
            Ok(Kqueue {
                kq,
                wake,
                table: Mutex::new(Table::default()),
                scratch: Mutex::new(Scratch::default()),
            })
        }

        fn add(
            &self,
            fd: BorrowedFd<'_>,
            key: usize,
            interest: Interest,
            mode: Mode,
        ) -> io::Result<()> {
            core_sys::check_registration(&CAPABILITIES, key, mode)?;
            let raw = fd.as_raw_fd();
            let slot = usize::try_from(raw).map_err(|_| {
                core_sys::registration_error(raw, io::Error::from_raw_os_error(libc::EBADF))
            })?;
            let mut table = lock(&self.table);
            if table.get(raw).is_some() {
                return Err(core_sys::already_registered(raw));
            }
            let reg = Registration { key, interest, mode };
            let changes = flags::plan(raw, None, Some(reg));
            if changes.is_empty() {
                // Interest::NONE touches no knote, so the kernel cannot check the fd.
                core_sys::check_open(raw)?;
            }
            self.apply(raw, &changes, None)?;
            table.insert(slot, Entry::new(reg));
            Ok(())
        }

        fn modify(
            &self,
            fd: BorrowedFd<'_>,
            key: usize,
            interest: Interest,
            mode: Mode,
        ) -> io::Result<()> {
            core_sys::check_registration(&CAPABILITIES, key, mode)?;
            let raw = fd.as_raw_fd();
            let mut table = lock(&self.table);
            let entry = table.get(raw).ok_or_else(|| core_sys::not_registered(raw))?;
            let old = *entry;
            let reg = Registration { key, interest, mode };
            self.apply(raw, &flags::plan(raw, Some(old.reg), Some(reg)), Some(&old))?;
            // A fresh entry: re-armed if it was a reported oneshot.
            *entry = Entry::new(reg);
            Ok(())
        }

        fn delete(&self, fd: BorrowedFd<'_>) -> io::Result<()> {
            let raw = fd.as_raw_fd();
            let mut table = lock(&self.table);
            let old = *table.get(raw).ok_or_else(|| core_sys::not_registered(raw))?;
            self.apply(raw, &flags::plan(raw, Some(old.reg), None), Some(&old))?;
            table.remove(raw);
            Ok(())
        }

        fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<usize> {
            events.clear();
            let deadline = Deadline::after(timeout);
            let mut scratch = lock(&self.scratch);
            loop {
                core_sys::retry_interrupted(&deadline, |left| {
                    scratch.events.wait(self.kq.as_fd(), events.capacity(), left)
                })?;
                let woken = self.collect(&mut scratch, events)?;
                if !events.is_empty() || woken || deadline.expired() {
                    events.merge_same_keys();
                    return Ok(events.len());
                }
                // Only stale events (deleted, silenced, or a reported oneshot's), or a
                // capped timeout ran out: wait again with the time that is left.
            }
        }

        fn notify(&self) -> io::Result<()> {
            match &self.wake {
                Wake::User => sys::trigger(self.kq.as_fd()),
                Wake::Pipe(pipe) => pipe.wake(),
            }
        }

        fn capabilities(&self) -> Capabilities {
            CAPABILITIES
        }
    }
}
