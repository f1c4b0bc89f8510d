//! The syscall boundary every backend shares: C return values to `io::Result`, timeout
//! conversion and deadlines, `EINTR` retry, registration checks and error messages, and
//! the mapping of `poll`-style readiness bits to [`Event`] flags.
//!
//! Backends call these instead of writing their own, so that every backend rounds
//! timeouts, retries signals, rejects bad input and names its errors the same way.

use std::io;
use std::os::fd::{OwnedFd, RawFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::socket::{MsgFlags, recv};

use crate::{Capabilities, Event, Interest, Mode, RESERVED_KEY};

/// A C return value whose `-1` means "see `errno`".
pub trait MinusOne: Copy + PartialEq {
    /// The failure value.
    const MINUS_ONE: Self;
}

macro_rules! minus_one {
    ($($t:ty)*) => { $(impl MinusOne for $t { const MINUS_ONE: Self = -1; })* };
}
minus_one!(i8 i16 i32 i64 isize);

/// Turns a C return value into `io::Result`: `-1` becomes the current `errno`.
///
/// Every syscall in multipoll goes through this, right at the `unsafe` call:
///
/// ```
/// use multipoll_core::backend::sys::cvt;
/// // SAFETY: getpid has no preconditions.
/// let pid = cvt(unsafe { libc::getpid() }).unwrap();
/// assert!(pid > 0);
/// ```
pub fn cvt<T: MinusOne>(ret: T) -> io::Result<T> {
    if ret == T::MINUS_ONE { Err(io::Error::last_os_error()) } else { Ok(ret) }
}

/// A point in time a `wait` must return by, robust to `EINTR` and internal re-waits.
#[derive(Clone, Copy, Debug)]
pub struct Deadline {
    end: Option<Instant>,
    zero: bool,
}

impl Deadline {
    /// The deadline of a timeout: `None` is never, a timeout too large to represent is
    /// never as well.
    pub fn after(timeout: Option<Duration>) -> Deadline {
        match timeout {
            None => Deadline { end: None, zero: false },
            // A zero timeout needs no clock: it is up at once (a cheap poll stays cheap).
            Some(t) if t.is_zero() => Deadline { end: None, zero: true },
            Some(t) => Deadline { end: Instant::now().checked_add(t), zero: false },
        }
    }

    /// The time left, for the next syscall: `None` blocks, `Some(ZERO)` polls.
    pub fn remaining(&self) -> Option<Duration> {
        if self.zero {
            return Some(Duration::ZERO);
        }
        self.end.map(|end| end.saturating_duration_since(Instant::now()))
    }

    /// Whether the time is up (a zero timeout is up at once).
    pub fn expired(&self) -> bool {
        self.zero || self.end.is_some_and(|end| Instant::now() >= end)
    }
}

/// Calls `f` with the time left until it returns anything but `EINTR`.
///
/// This is the contract's "a signal never surfaces and never shortens the timeout".
pub fn retry_interrupted<T>(
    deadline: &Deadline,
    mut f: impl FnMut(Option<Duration>) -> io::Result<T>,
) -> io::Result<T> {
    loop {
        match f(deadline.remaining()) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// A timeout in whole milliseconds for `poll(2)`/`epoll_wait(2)`: `-1` for none, rounded
/// *up* so that 0.5 ms does not become a zero timeout (a busy loop), clamped to `c_int`.
pub fn timeout_ms(timeout: Option<Duration>) -> libc::c_int {
    match timeout {
        None => -1,
        Some(t) => {
            let ms = t.as_nanos().div_ceil(1_000_000);
            libc::c_int::try_from(ms).unwrap_or(libc::c_int::MAX)
        }
    }
}

/// A `timespec` for `epoll_pwait2(2)`/`kevent(2)`, clamped to what `time_t` holds.
pub fn timeout_timespec(t: Duration) -> libc::timespec {
    libc::timespec {
        tv_sec: libc::time_t::try_from(t.as_secs()).unwrap_or(libc::time_t::MAX),
        // Always < 1e9, so it fits every platform's `c_long`.
        tv_nsec: t.subsec_nanos() as _,
    }
}

/// A `timeval` for `select(2)`, rounded *up* to the microsecond (see [`timeout_ms`]).
pub fn timeout_timeval(t: Duration) -> libc::timeval {
    let micros = t.as_nanos().div_ceil(1_000);
    let secs = micros / 1_000_000;
    libc::timeval {
        tv_sec: libc::time_t::try_from(secs).unwrap_or(libc::time_t::MAX),
        // Always < 1e6, so it fits every platform's `suseconds_t`.
        tv_usec: (micros % 1_000_000) as _,
    }
}

/// Checks what every backend checks before `add`/`modify`: the key is not
/// [`RESERVED_KEY`], the backend can do `mode` and `interest` (priority comes only with
/// readable).
pub fn check_registration(
    caps: &Capabilities,
    key: usize,
    interest: Interest,
    mode: Mode,
) -> io::Result<()> {
    if key == RESERVED_KEY {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "key usize::MAX is reserved for the poller's internal wake-up; use another key",
        ));
    }
    caps.check_mode(mode)?;
    if interest.is_priority() && !caps.priority() {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!("the {} backend cannot watch for priority (urgent) data", caps.name()),
        ));
    }
    if interest.is_priority() && !interest.is_readable() {
        // Alone, a hang-up (which every kernel reports unasked) would fit no flag the
        // registration asked for, and a level-triggered wait would spin on it.
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "Interest::PRIORITY extends READABLE: ask for READABLE | PRIORITY",
        ));
    }
    Ok(())
}

/// Checks, for `add`, that `fd` is open, for backends whose kernel call does not: a
/// registration syscall, so faults are injected here ([`Call::Register`](crate::fault::Call)).
///
/// # Errors
/// `InvalidInput` (with the fd in the message) for a closed fd; an injected fault.
pub fn check_open(fd: RawFd) -> io::Result<()> {
    crate::fault::inject(crate::fault::Call::Register).map_err(|e| registration_error(fd, e))?;
    open_flags(fd).map(drop).map_err(|e| registration_error(fd, e))
}

/// Whether `fd` is open now (`fcntl(F_GETFD)`): a probe, with no fault injection, for use
/// inside `wait` (select's `EBADF` recovery), where an armed registration fault must not
/// make an open fd look closed.
pub fn is_open(fd: RawFd) -> bool {
    open_flags(fd).is_ok()
}

fn open_flags(fd: RawFd) -> io::Result<libc::c_int> {
    // SAFETY: F_GETFD only reads the descriptor flags; any fd number is acceptable.
    cvt(unsafe { libc::fcntl(fd, libc::F_GETFD) })
}

/// Checks `fd` against a backend's [`Capabilities::max_fd`].
pub fn check_max_fd(caps: &Capabilities, fd: RawFd) -> io::Result<()> {
    match caps.max_fd() {
        Some(max) if fd > max => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "fd {fd} is above the {} backend's limit of {max} on this platform; \
                 use another backend or keep fds below the limit",
                caps.name()
            ),
        )),
        _ => Ok(()),
    }
}

/// A pipe whose two ends are non-blocking and close-on-exec: `(read, write)`.
///
/// One `pipe2(2)` where the platform has it; elsewhere (Apple's systems) `pipe(2)` and then
/// `fcntl(2)` on each end, which a concurrent `fork`+`exec` can slip between.
///
/// # Errors
/// `EMFILE`/`ENFILE` of `pipe2(2)`/`pipe(2)`; `fcntl(2)`'s where it is used.
pub fn nonblocking_pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    cfg_if::cfg_if! {
        // Where nix has pipe2 and we build; the rest (Apple's systems) lack the syscall.
        if #[cfg(any(
            target_os = "linux",
            target_os = "android",
            target_os = "freebsd",
            target_os = "dragonfly",
            target_os = "netbsd",
            target_os = "openbsd",
            target_os = "illumos",
            target_os = "solaris",
        ))] {
            Ok(nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK)?)
        } else {
            use nix::fcntl::{FcntlArg, FdFlag, fcntl};
            let pair = nix::unistd::pipe()?;
            for fd in [&pair.0, &pair.1] {
                let fd_flags = FdFlag::from_bits_retain(fcntl(fd, FcntlArg::F_GETFD)?);
                fcntl(fd, FcntlArg::F_SETFD(fd_flags | FdFlag::FD_CLOEXEC))?;
                let fl_flags = OFlag::from_bits_retain(fcntl(fd, FcntlArg::F_GETFL)?);
                fcntl(fd, FcntlArg::F_SETFL(fl_flags | OFlag::O_NONBLOCK))?;
            }
            Ok(pair)
        }
    }
}

/// `add` of an fd that is already registered.
pub fn already_registered(fd: RawFd) -> io::Error {
    io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("fd {fd} is already registered; use modify to change it"),
    )
}

/// `modify`/`delete` of an fd that is not registered.
pub fn not_registered(fd: RawFd) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, format!("fd {fd} is not registered; add it first"))
}

/// Maps an OS error of a registration syscall (`epoll_ctl`, `kevent` changes) to the
/// contract's kinds and a message naming the fd.
pub fn registration_error(fd: RawFd, err: io::Error) -> io::Error {
    match err.raw_os_error() {
        Some(libc::EEXIST) => already_registered(fd),
        Some(libc::ENOENT) => not_registered(fd),
        Some(libc::EBADF) => io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("fd {fd} is not an open file descriptor"),
        ),
        Some(libc::EPERM) | Some(libc::EINVAL) => io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "fd {fd} cannot be polled by this backend ({err}); regular files and directories are always ready"
            ),
        ),
        _ => err,
    }
}

/// Readiness reported by the kernel for one fd, before interest filtering.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Readiness {
    /// Data, end of file or a pending connection can be read.
    pub readable: bool,
    /// Data can be written.
    pub writable: bool,
    /// Peer closed or reset.
    pub hangup: bool,
    /// A socket error is pending.
    pub error: bool,
    /// Urgent data is pending (`POLLPRI`, `exceptfds`).
    pub priority: bool,
    /// The fd was closed while registered (`POLLNVAL`, `EBADF`).
    pub closed: bool,
}

/// The `poll(2)` bit that means "the peer's write side is closed", where the platform has
/// one (`POLLRDHUP`, Linux); 0 elsewhere, where [`peer_closed`] fills in.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub const POLL_RDHUP: i32 = libc::POLLRDHUP as i32;
/// The `poll(2)` bit that means "the peer's write side is closed", where the platform has
/// one (`POLLRDHUP`, Linux); 0 elsewhere, where [`peer_closed`] fills in.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub const POLL_RDHUP: i32 = 0;

impl Readiness {
    /// Reads `poll(2)` `revents` bits (equal to `epoll(7)` bits on Linux).
    ///
    /// Hang-up and error make a registration readable and writable too, because the next
    /// read or write will not block (it returns end of file or the error).
    #[inline] // Once per event, from the backend crates.
    pub fn from_poll_bits(bits: i32) -> Readiness {
        let bit = |b: i16| bits & i32::from(b) != 0;
        // Through `bit`, not `bits & POLL_RDHUP`: where it is 0 the latter is a
        // constant `& 0`, which clippy denies (bad_bit_mask) on every non-Linux target.
        let hangup = bit(libc::POLLHUP) || bit(POLL_RDHUP as i16);
        let error = bit(libc::POLLERR);
        Readiness {
            // Not POLLPRI (urgent data): `read` does not return it, so a level-triggered
            // loop told "readable" would spin on EAGAIN. It is `priority` instead.
            readable: bit(libc::POLLIN) || hangup || error,
            // A hang-up or an error makes the next write fail at once instead of blocking.
            // Reporting it also keeps a level-triggered wait from spinning on a kernel
            // report (epoll and poll always report HUP) that no flag would carry.
            writable: bit(libc::POLLOUT) || bit(libc::POLLHUP) || error,
            hangup,
            error,
            priority: bit(libc::POLLPRI),
            closed: bit(libc::POLLNVAL),
        }
    }

    /// The `poll(2)` `events` bits that ask for `interest` (hang-up and error are always
    /// reported by the kernel). `POLLPRI` only for [`Interest::PRIORITY`]: urgent data is
    /// not readable (see [`Interest::READABLE`]).
    pub fn poll_bits(interest: Interest) -> i16 {
        let mut bits = 0;
        if interest.is_readable() {
            bits |= libc::POLLIN | POLL_RDHUP as i16;
        }
        if interest.is_writable() {
            bits |= libc::POLLOUT;
        }
        if interest.is_priority() {
            bits |= libc::POLLPRI;
        }
        bits
    }

    /// Whether nothing is reported.
    pub fn is_empty(&self) -> bool {
        *self == Readiness::default()
    }

    /// The event for a registration with `key` and `interest`, or an empty event when the
    /// readiness is nothing the registration asked for.
    ///
    /// A closed fd is reported as an error regardless of interest (except `NONE`); a
    /// hang-up only to registrations with readable interest.
    #[inline] // Once per event, from the backend crates.
    pub fn to_event(self, key: usize, interest: Interest) -> Event {
        if interest.is_none() {
            return Event::new(key);
        }
        let wants = self.readable && interest.is_readable()
            || self.writable && interest.is_writable()
            || self.priority && interest.is_priority();
        if !wants && !self.closed {
            return Event::new(key);
        }
        Event::new(key)
            .with_readable(self.readable && interest.is_readable())
            .with_writable(self.writable && interest.is_writable())
            // Only readable registrations hear of a hang-up: select cannot see one on a
            // write-only registration, and a writer learns of it from `EPIPE` anyway.
            .with_hangup(self.hangup && interest.is_readable())
            .with_error(self.error || self.closed)
            .with_priority(self.priority && interest.is_priority())
    }
}

/// Whether a readable fd is readable only because its peer closed.
///
/// For backends whose syscall has no hang-up flag (select; poll where there is no
/// `POLLRDHUP`). One `ioctl(FIONREAD)` per readable fd: bytes queued, no hang-up. A zero is
/// not yet an answer: the peer may have closed, but another thread may also have read the
/// data since the wait returned (a live connection must not be called closed:
/// conformance `concurrent_read_is_not_a_hangup`), and Linux's `FIONREAD` on TCP counts
/// only the bytes before the urgent mark (`tcp_inq`). So then the fd itself is asked (one
/// more syscall, on that path only): a socket by a one-byte peek (end of file, data, or
/// nothing yet), anything else by `poll(2)` for `POLLHUP` (a pipe whose writer is gone).
///
/// A listening socket with a pending connection is not a hang-up (Linux refuses
/// `FIONREAD` on it; elsewhere `SO_ACCEPTCONN` tells). A zero-length datagram looks like a
/// hang-up: a documented quirk. Linux returns and clears a pending socket error even on a
/// peek, so on a reset connection the next read gives end of file instead of the reset:
/// select cannot report errors anyway (`Capabilities::reports_errors`), and the hang-up is
/// reported either way.
pub fn peer_closed(fd: RawFd) -> bool {
    if !matches!(bytes_queued(fd), Ok(0)) || is_listening(fd) {
        return false;
    }
    let mut byte = [0u8];
    match recv(fd, &mut byte, MsgFlags::MSG_PEEK | MsgFlags::MSG_DONTWAIT) {
        Ok(n) => n == 0,
        Err(Errno::ENOTSOCK) => hung_up(fd),
        // Drained by another thread since the wait (or a signal): not a hang-up.
        Err(Errno::EAGAIN | Errno::EINTR) => false,
        // A pending error (a reset): the connection is over.
        Err(_) => true,
    }
}

/// Whether `poll(2)` reports `POLLHUP` on `fd` now (a pipe or FIFO whose writers are gone).
fn hung_up(fd: RawFd) -> bool {
    let mut pfd = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
    // SAFETY: one live pollfd, which the kernel may write; a zero timeout never blocks.
    matches!(cvt(unsafe { libc::poll(&mut pfd, 1, 0) }), Ok(1)) && pfd.revents & libc::POLLHUP != 0
}

/// How many bytes wait in `fd`'s receive buffer (`ioctl(FIONREAD)`), which neither the
/// standard library nor socket2 wraps.
///
/// # Errors
/// The ioctl's: `EINVAL` for a listening socket on Linux, `ENOTTY` for an fd without a
/// queue.
pub fn bytes_queued(fd: RawFd) -> io::Result<usize> {
    let mut queued: libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int through the pointer, which points to `queued`.
    cvt(unsafe { libc::ioctl(fd, libc::FIONREAD as _, &mut queued) })?;
    Ok(usize::try_from(queued).unwrap_or(0))
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn is_listening(_fd: RawFd) -> bool {
    false // FIONREAD already failed with EINVAL for listening sockets.
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn is_listening(fd: RawFd) -> bool {
    let mut on: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: the kernel writes at most `len` bytes into `on`, which has that size.
    let r = unsafe {
        libc::getsockopt(fd, libc::SOL_SOCKET, libc::SO_ACCEPTCONN, (&raw mut on).cast(), &mut len)
    };
    r == 0 && on != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeout_ms_rounds_up() {
        assert_eq!(timeout_ms(None), -1);
        assert_eq!(timeout_ms(Some(Duration::ZERO)), 0);
        assert_eq!(timeout_ms(Some(Duration::from_nanos(1))), 1);
        assert_eq!(timeout_ms(Some(Duration::from_micros(500))), 1);
        assert_eq!(timeout_ms(Some(Duration::from_micros(1001))), 2);
        assert_eq!(timeout_ms(Some(Duration::from_millis(7))), 7);
        assert_eq!(timeout_ms(Some(Duration::MAX)), libc::c_int::MAX);
    }

    #[test]
    fn timeval_rounds_up() {
        let tv = timeout_timeval(Duration::from_nanos(1));
        assert_eq!((tv.tv_sec, tv.tv_usec), (0, 1));
        let tv = timeout_timeval(Duration::new(2, 999_999_001));
        assert_eq!((tv.tv_sec, tv.tv_usec), (3, 0));
        let tv = timeout_timeval(Duration::ZERO);
        assert_eq!((tv.tv_sec, tv.tv_usec), (0, 0));
    }

    #[test]
    fn timespec_keeps_nanos() {
        let ts = timeout_timespec(Duration::new(1, 5));
        assert_eq!((ts.tv_sec, ts.tv_nsec), (1, 5));
        assert_eq!(timeout_timespec(Duration::MAX).tv_sec, libc::time_t::MAX);
    }

    #[test]
    fn deadline_zero_and_none() {
        let d = Deadline::after(Some(Duration::ZERO));
        assert!(d.expired());
        assert_eq!(d.remaining(), Some(Duration::ZERO));
        let d = Deadline::after(None);
        assert!(!d.expired());
        assert_eq!(d.remaining(), None);
        let d = Deadline::after(Some(Duration::MAX));
        assert_eq!(d.remaining(), None, "unrepresentable deadline blocks");
    }

    #[test]
    fn retry_interrupted_retries() {
        let mut calls = 0;
        let d = Deadline::after(Some(Duration::from_secs(5)));
        let r = retry_interrupted(&d, |_| {
            calls += 1;
            if calls < 3 { Err(io::Error::from_raw_os_error(libc::EINTR)) } else { Ok(calls) }
        });
        assert_eq!(r.unwrap(), 3);
    }

    #[test]
    fn registration_errors_have_contract_kinds() {
        let e = |n| registration_error(5, io::Error::from_raw_os_error(n)).kind();
        assert_eq!(e(libc::EEXIST), io::ErrorKind::AlreadyExists);
        assert_eq!(e(libc::ENOENT), io::ErrorKind::NotFound);
        assert_eq!(e(libc::EBADF), io::ErrorKind::InvalidInput);
        assert_eq!(e(libc::EPERM), io::ErrorKind::InvalidInput);
        assert_eq!(e(libc::ENOMEM), io::ErrorKind::OutOfMemory);
    }

    #[test]
    fn poll_bits_map_to_flags() {
        let r = Readiness::from_poll_bits(i32::from(libc::POLLIN));
        assert!(r.readable && !r.writable && !r.hangup && !r.error);
        let r = Readiness::from_poll_bits(i32::from(libc::POLLHUP | libc::POLLERR));
        assert!(r.readable && r.writable && r.hangup && r.error);
        let r = Readiness::from_poll_bits(i32::from(libc::POLLPRI));
        assert!(r.priority && !r.readable, "urgent data alone is not readable: {r:?}");
        assert!(r.to_event(3, Interest::READABLE).is_empty(), "nor reported to readers");
        let ev = r.to_event(3, Interest::READABLE | Interest::PRIORITY);
        assert!(ev.is_priority() && !ev.is_readable(), "{ev:?}");
        let r = Readiness::from_poll_bits(i32::from(libc::POLLNVAL));
        assert!(r.closed);
        let ev = r.to_event(3, Interest::READABLE);
        assert!(ev.is_error() && !ev.is_readable());
    }

    #[test]
    fn interest_filters_event() {
        let r = Readiness { readable: true, writable: true, ..Readiness::default() };
        let ev = r.to_event(1, Interest::WRITABLE);
        assert!(ev.is_writable() && !ev.is_readable());
        assert!(r.to_event(1, Interest::NONE).is_empty());
        let w = Readiness { writable: true, ..Readiness::default() };
        assert!(w.to_event(1, Interest::READABLE).is_empty());
    }
}
