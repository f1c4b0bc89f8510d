//! The syscalls: [`kqueue(2)`] and [`kevent(2)`], and the conversion between `libc::kevent`
//! and the platform-neutral [`Change`] (of `changes.rs`) and [`Kevent`] (of `kevent.rs`).
//!
//! The BSDs disagree on the C types: NetBSD's `filter` and `flags` are `u32` and its counts
//! `size_t`, the others use `i16`/`u16`/`c_int`; macOS packs `struct kevent` (so fields
//! are copied out, never borrowed). The `EV_*` values agree everywhere, which the assertion
//! below checks for each target at compile time.
//!
//! [`kqueue(2)`]: https://man.freebsd.org/cgi/man.cgi?query=kqueue&sektion=2
//! [`kevent(2)`]: https://man.freebsd.org/cgi/man.cgi?query=kevent&sektion=2

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::time::Duration;
use std::{mem, ptr};

use multipoll_core::backend::syscall::cvt;
use multipoll_core::backend::timeout::timeout_timespec;
use multipoll_core::fault::{self, Call};

use crate::changes::{self, Change};
use crate::kevent::{Filter, Kevent, ev};

#[cfg(target_os = "netbsd")]
type Count = libc::size_t;
#[cfg(not(target_os = "netbsd"))]
type Count = libc::c_int;

#[cfg(target_os = "netbsd")]
type Flags = u32;
#[cfg(not(target_os = "netbsd"))]
type Flags = u16;

const _: () = assert!(
    libc::EV_ADD == ev::ADD as Flags
        && libc::EV_DELETE == ev::DELETE as Flags
        && libc::EV_ENABLE == ev::ENABLE as Flags
        && libc::EV_DISABLE == ev::DISABLE as Flags
        && libc::EV_CLEAR == ev::CLEAR as Flags
        && libc::EV_RECEIPT == ev::RECEIPT as Flags
        && libc::EV_DISPATCH == ev::DISPATCH as Flags
        && libc::EV_ERROR == ev::ERROR as Flags
        && libc::EV_EOF == ev::EOF as Flags,
    "the EV_* bits of kevent.rs differ from this platform's"
);

/// The longest timeout one `kevent` call gets; `wait` waits again for the rest. macOS fails
/// with `EINVAL` on very long timeouts (Go's runtime caps them at 10⁶ s for that reason).
/// FreeBSD cuts them shorter by itself (kqueue(2), BUGS: "The timeout value is limited to
/// 24 hours; longer timeouts will be silently reinterpreted as 24 hours"), which the same
/// loop in `wait` absorbs: a call that returns nothing before the deadline is made again.
const MAX_TIMEOUT: Duration = Duration::from_secs(1_000_000);

/// Creates a kqueue, close-on-exec (it is not inherited by `fork` anyway, but `exec` keeps
/// fds without the flag, and `kqueue1`/`kqueuex` are not available everywhere).
pub(crate) fn kqueue() -> io::Result<OwnedFd> {
    // SAFETY: kqueue has no arguments.
    let fd = cvt(unsafe { libc::kqueue() })?;
    // SAFETY: `fd` was just returned by kqueue, is open, and nothing else owns it.
    let kq = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: F_SETFD sets the descriptor flags of an fd we own; no memory is passed.
    cvt(unsafe { libc::fcntl(kq.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) })?;
    Ok(kq)
}

/// A zeroed `kevent`: no constructor is portable (FreeBSD 12+ adds `ext`).
fn zeroed() -> libc::kevent {
    // SAFETY: `struct kevent` is integers and a raw pointer; all-zero is a valid value.
    unsafe { mem::zeroed() }
}

fn to_libc(change: &Change) -> libc::kevent {
    let mut k = zeroed();
    // A negative fd cannot come from a `BorrowedFd`; usize::MAX makes the kernel say EBADF.
    k.ident = usize::try_from(change.fd).unwrap_or(usize::MAX);
    k.filter = match change.filter {
        Filter::Read => libc::EVFILT_READ,
        Filter::Write => libc::EVFILT_WRITE,
        Filter::User => libc::EVFILT_USER,
    };
    k.flags = change.flags() as Flags;
    k.udata = ptr::without_provenance_mut(change.udata);
    k
}

/// What a `kevent` the kernel wrote says, in the platform-neutral form of `kevent.rs`.
pub(crate) fn from_libc(k: &libc::kevent) -> Kevent {
    let filter = k.filter;
    Kevent {
        ident: k.ident,
        filter: if filter == libc::EVFILT_READ {
            Some(Filter::Read)
        } else if filter == libc::EVFILT_WRITE {
            Some(Filter::Write)
        } else if filter == libc::EVFILT_USER {
            Some(Filter::User)
        } else {
            None
        },
        flags: low_bits(k.flags),
        fflags: k.fflags,
        data: widen(k.data),
        udata: k.udata.addr(),
    }
}

/// The `EV_*` bits of a returned `flags` (`u16`, or `u32` on NetBSD). Generic so that the
/// conversion is not an identity cast on the platforms where the types already agree.
fn low_bits<T: Into<u32>>(flags: T) -> u16 {
    (flags.into() & 0xffff) as u16
}

/// `data` (`i64`, or `intptr_t` on macOS and DragonFly) as `i64`; generic as above.
fn widen<T: TryInto<i64>>(data: T) -> i64 {
    data.try_into().unwrap_or(i64::MAX)
}

/// Applies `changes`, each with `EV_RECEIPT`, and checks the receipts.
///
/// The receipts go into an eventlist as long as the changelist (kqueue(2): "The same array
/// may be used for the changelist and eventlist"): the kernel then writes exactly one
/// receipt per change and returns without looking at (or draining) pending events, so this
/// never blocks and never steals an event from `wait`. Long lists go in chunks; one
/// `add`/`modify`/`delete` is always one call. A fault injected for
/// [`Call::Register`] replaces the call.
pub(crate) fn apply(kq: BorrowedFd<'_>, changes: &[Change]) -> io::Result<()> {
    for chunk in changes.chunks(CHUNK) {
        let mut list = [zeroed(); CHUNK];
        let got = loop {
            // Built again for each attempt: the kernel writes receipts over the changes.
            for (k, change) in list.iter_mut().zip(chunk) {
                *k = to_libc(change);
            }
            match submit(kq, &mut list, chunk.len()) {
                // FreeBSD kqueue(2), ERRORS: "When kevent() call fails with EINTR error, all
                // changes in the changelist have been applied" (macOS says nothing, and
                // returns receipts before it would wait). Applying them again gives the
                // receipts and the same end state: adds, enables and disables set what they
                // set, a delete's ENOENT the second time is tolerated, and a delete + add
                // pair deletes and adds again.
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other?,
            }
        };
        let receipts: [Kevent; CHUNK] = std::array::from_fn(|i| from_libc(&list[i]));
        let got = usize::try_from(got).unwrap_or(0).min(chunk.len());
        changes::check_receipts(chunk, &receipts[..got])?;
    }
    Ok(())
}

/// The most changes one [`apply`] call hands the kernel.
const CHUNK: usize = 8;

/// One `kevent` call that applies the first `n` changes of `list` and writes their receipts
/// over them, never waiting.
fn submit(
    kq: BorrowedFd<'_>,
    list: &mut [libc::kevent; CHUNK],
    n: usize,
) -> io::Result<libc::c_int> {
    fault::inject(Call::Register)?;
    let n = n.min(CHUNK) as Count;
    let zero = timeout_timespec(Duration::ZERO);
    // SAFETY: the changelist and the eventlist are the same live array of at least `n`
    // kevents (the kernel reads each change before writing its receipt in place); the
    // timeout points to a live zero timespec.
    cvt(unsafe { libc::kevent(kq.as_raw_fd(), list.as_ptr(), n, list.as_mut_ptr(), n, &zero) })
}

/// Triggers the `EVFILT_USER` wake-up (registered by `Change::user_wake`).
///
/// One `kevent` call with no eventlist: an error comes back as the call's own. Several
/// triggers before a wait coalesce in the kernel (`EV_CLEAR`). A fault injected for
/// [`Call::Notify`] replaces the call.
///
/// Async-signal safety: `kevent` is a system call that takes no user-space lock, and with
/// no eventlist it is not even a cancellation point (FreeBSD kqueue(2), CANCELLATION
/// BEHAVIOUR: "if nevents is zero, the call is not cancellable"). But no system documents
/// it as async-signal-safe: it is not in POSIX's list, and FreeBSD's sigaction(2), which
/// lists the safe functions, says "All functions not in the above lists are considered to
/// be unsafe with respect to signals". `notify` from a signal handler relies on that
/// undocumented (if universal) property here; the pipe of [`Notifier`] is the documented
/// alternative (`write` is in both lists).
///
/// [`Notifier`]: multipoll_core::backend::notify::Notifier
pub(crate) fn trigger(kq: BorrowedFd<'_>) -> io::Result<()> {
    fault::inject(Call::Notify)?;
    let mut k = to_libc(&Change::user_wake());
    k.flags = 0;
    k.fflags = libc::NOTE_TRIGGER;
    // SAFETY: one live change, no eventlist, no timeout (the call cannot block without an
    // eventlist).
    cvt(unsafe { libc::kevent(kq.as_raw_fd(), &k, 1, ptr::null_mut(), 0, ptr::null()) })?;
    Ok(())
}

/// The most events one `kevent` call collects, whatever the `Events` capacity: the kernel
/// keeps the rest queued for the next call.
pub(crate) const MAX_EVENTS: usize = 1 << 16;

/// One entry of the eventlist that `wait` hands the kernel, as kept in the caller's
/// [`Events`](multipoll_core::Events) between waits, which may move between threads.
#[derive(Clone, Copy)]
#[repr(transparent)]
pub(crate) struct Entry(pub(crate) libc::kevent);

// SAFETY: a `kevent` is integers and one pointer, `udata`, which this backend sets to a key
// (an integer, `ptr::without_provenance_mut`) and never dereferences. Moving an entry to
// another thread moves integers only.
unsafe impl Send for Entry {}
// SAFETY: as for `Send`: a shared `&Entry` gives nothing that could race.
unsafe impl Sync for Entry {}

/// An entry before the kernel writes it.
pub(crate) fn blank() -> Entry {
    Entry(zeroed())
}

/// One `kevent` call: no changes, waits up to `timeout` (`None`: forever) for up to
/// `list.len()` events (at most [`MAX_EVENTS`]); returns how many it wrote. `EINTR` is
/// returned as is, for the caller to retry with the time left (kqueue(2): "A signal was
/// delivered before the timeout expired and before any events were placed on the kqueue
/// for return"). A fault injected for [`Call::Wait`] replaces the call.
pub(crate) fn wait(
    kq: BorrowedFd<'_>,
    list: &mut [Entry],
    timeout: Option<Duration>,
) -> io::Result<usize> {
    let ts = timeout.map(|t| timeout_timespec(t.min(MAX_TIMEOUT)));
    let ts_ptr = ts.as_ref().map_or(ptr::null(), ptr::from_ref);
    // At most MAX_EVENTS, which fits every platform's count type.
    let nevents = list.len().min(MAX_EVENTS) as Count;
    fault::inject(Call::Wait)?;
    // `Entry` is a transparent `kevent`: the list is an array of `kevent`s.
    let eventlist = list.as_mut_ptr().cast::<libc::kevent>();
    // SAFETY: no changelist; the eventlist is a live array of at least `nevents` kevents
    // the kernel may write; `ts_ptr` is null or points to `ts`, alive here.
    let n =
        cvt(unsafe { libc::kevent(kq.as_raw_fd(), ptr::null(), 0, eventlist, nevents, ts_ptr) })?;
    Ok(usize::try_from(n).unwrap_or(0))
}
