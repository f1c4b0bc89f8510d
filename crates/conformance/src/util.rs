//! The helpers every behaviour shares, in one place: fd pairs, a checked `wait`, the
//! `expect_*` assertions, a waiter thread that can always be woken, and process-wide knobs
//! (the fd limit, the isolation lock).
//!
//! They are public so that a backend's own tests can use them too. Assertions are
//! `#[track_caller]`, so a failure points at the behaviour's line, not at this file.
//!
//! Time is the suite's only source of flakiness, so it is handled in one way everywhere:
//! correctness never depends on a sleep. Sleeps only give a blocked thread time to enter
//! the kernel ([`SETTLE`]); waits that should end early get a long finite timeout
//! ([`LONG`]) and an assertion on how long they took ([`PROMPT`]).

use std::collections::HashSet;
use std::io::{self, ErrorKind};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};
use std::{fmt, thread};

use multipoll_core::backend::sys::{cvt, nonblocking_pipe};
use multipoll_core::{Event, Events, Interest, Mode, Poller, RESERVED_KEY};
use nix::errno::Errno;
use nix::fcntl::{FcntlArg, fcntl};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::pthread;
use nix::sys::resource::{Resource, getrlimit, setrlimit};
use nix::sys::socket::{MsgFlags, recv, setsockopt, sockopt};

/// A timeout that is never reached by a correct backend: waits that should end early use
/// it, so a broken backend fails the test instead of hanging it.
pub const LONG: Duration = Duration::from_secs(10);

/// How soon something that should happen "at once" must have happened. Generous: the
/// machines that run this suite are shared and noisy.
pub const PROMPT: Duration = Duration::from_secs(5);

/// How long to let another thread block in `wait` before acting on the poller.
pub const SETTLE: Duration = Duration::from_millis(100);

/// How long to listen when checking that nothing is reported.
pub const QUIET: Duration = Duration::from_millis(200);

/// How late a timed-out `wait` may return and still count as on time.
pub const LATE: Duration = Duration::from_secs(1);

/// The key of [`wait_in_thread`]'s rescue pipe; behaviours do not use it.
pub const BACKSTOP_KEY: usize = usize::MAX - 2;

/// How many `Ok(0)` returns before the timeout [`expect_no_events`] accepts as spurious
/// wake-ups; more is a backend that spins.
pub const MAX_SPURIOUS: usize = 5;

// ---------------------------------------------------------------------------------------
// Isolation

/// Whether a behaviour may run alongside others in the same process.
///
/// `cargo test` runs tests on parallel threads of one process, which share one fd table.
/// A few behaviours need the fd numbers to themselves: one closes an fd and uses its
/// number, which another test could reopen in between; one opens a thousand fds, which
/// could push other tests' fds past a backend's [`max_fd`](multipoll_core::Capabilities::max_fd).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isolation {
    /// Runs in parallel with other `Shared` behaviours.
    Shared,
    /// Runs with no other behaviour of this suite in progress.
    Alone,
}

static FD_TABLE: RwLock<()> = RwLock::new(());

/// Held while a behaviour runs; see [`Isolation`].
#[derive(Debug)]
pub enum IsolationGuard {
    /// A [`Isolation::Shared`] behaviour is running.
    Shared(RwLockReadGuard<'static, ()>),
    /// A [`Isolation::Alone`] behaviour is running.
    Alone(RwLockWriteGuard<'static, ()>),
}

/// Waits until a behaviour of `isolation` may run, and holds that right until dropped.
pub fn isolate(isolation: Isolation) -> IsolationGuard {
    // A failed (panicked) behaviour poisons the lock; the lock guards no data, so carry on.
    match isolation {
        Isolation::Shared => {
            IsolationGuard::Shared(FD_TABLE.read().unwrap_or_else(|e| e.into_inner()))
        }
        Isolation::Alone => {
            IsolationGuard::Alone(FD_TABLE.write().unwrap_or_else(|e| e.into_inner()))
        }
    }
}

// ---------------------------------------------------------------------------------------
// Fds

/// A connected, non-blocking Unix stream socket pair.
///
/// # Errors
/// `socketpair(2)`'s.
pub fn unix_pair() -> io::Result<(UnixStream, UnixStream)> {
    let (a, b) = UnixStream::pair()?;
    a.set_nonblocking(true)?;
    b.set_nonblocking(true)?;
    Ok((a, b))
}

/// A connected, non-blocking TCP pair over `127.0.0.1` (an ephemeral port).
///
/// ```
/// use multipoll_conformance::util::tcp_pair;
///
/// let (a, b) = tcp_pair()?;
/// assert_eq!(a.local_addr()?, b.peer_addr()?);
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Errors
/// The socket calls'.
pub fn tcp_pair() -> io::Result<(TcpStream, TcpStream)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let a = TcpStream::connect(listener.local_addr()?)?;
    let (b, _) = listener.accept()?;
    for s in [&a, &b] {
        s.set_nonblocking(true)?;
        // Small writes go out at once, so the peer's readiness follows our writes.
        s.set_nodelay(true)?;
    }
    Ok((a, b))
}

/// A non-blocking, close-on-exec pipe: `(read end, write end)`.
///
/// # Errors
/// `pipe2(2)`'s (`EMFILE`); see [`nonblocking_pipe`].
pub fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    nonblocking_pipe()
}

/// Writes all of `data` to `fd` (a socket or pipe with room for it).
///
/// # Errors
/// `write(2)`'s; `WriteZero` if the fd took only part of `data`.
pub fn send(fd: impl AsFd, data: &[u8]) -> io::Result<()> {
    let raw = fd.as_fd().as_raw_fd();
    let n = nix::unistd::write(fd, data)?;
    if n == data.len() {
        Ok(())
    } else {
        Err(io::Error::new(ErrorKind::WriteZero, format!("short write to fd {raw}")))
    }
}

/// Reads from non-blocking `fd` until it would block or reaches end of file; returns how
/// many bytes it read.
///
/// ```
/// use multipoll_conformance::util::{drain, send, unix_pair};
///
/// let (a, b) = unix_pair()?;
/// send(&a, b"hello")?;
/// assert_eq!(drain(&b)?, 5);
/// assert_eq!(drain(&b)?, 0, "empty now, and non-blocking");
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Errors
/// `read(2)`'s, except `WouldBlock` (the normal end) and `Interrupted` (retried).
pub fn drain(fd: impl AsFd) -> io::Result<usize> {
    let mut buf = [0u8; 4096];
    let mut total = 0;
    loop {
        match nix::unistd::read(fd.as_fd(), &mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => total += n,
            Err(Errno::EAGAIN) => return Ok(total),
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// Closes `stream` with `SO_LINGER` 0, so the peer gets a reset (`RST`) instead of an end
/// of file.
///
/// # Errors
/// `setsockopt(2)`'s.
pub fn close_with_reset(stream: TcpStream) -> io::Result<()> {
    let linger = libc::linger { l_onoff: 1, l_linger: 0 };
    setsockopt(&stream, sockopt::Linger, &linger)?;
    drop(stream);
    Ok(())
}

/// Sends one byte of TCP urgent (out-of-band) data on `stream` (`send(2)` with `MSG_OOB`).
///
/// # Errors
/// `send(2)`'s; `WriteZero` if the byte was not sent.
pub fn send_urgent(stream: &TcpStream, byte: u8) -> io::Result<()> {
    let raw = stream.as_raw_fd();
    let n = nix::sys::socket::send(raw, &[byte], MsgFlags::MSG_OOB)?;
    if n == 1 {
        Ok(())
    } else {
        Err(io::Error::new(ErrorKind::WriteZero, format!("urgent byte not sent on fd {raw}")))
    }
}

/// Waits (up to [`LONG`]) until urgent data has arrived on `stream`, and returns its byte,
/// left in place (`poll(2)` for `POLLPRI`, then `recv(2)` with `MSG_OOB | MSG_PEEK`).
///
/// # Errors
/// `poll(2)`'s and `recv(2)`'s; `TimedOut` if none arrived within [`LONG`].
pub fn urgent_byte(stream: &TcpStream) -> io::Result<u8> {
    let raw = stream.as_raw_fd();
    let ms = PollTimeout::try_from(LONG).unwrap_or(PollTimeout::MAX);
    if poll(&mut [PollFd::new(stream.as_fd(), PollFlags::POLLPRI)], ms)? == 0 {
        return Err(io::Error::new(
            ErrorKind::TimedOut,
            format!("no urgent data arrived on fd {raw} within {LONG:?}"),
        ));
    }
    let mut byte = [0u8];
    let n = recv(raw, &mut byte, MsgFlags::MSG_OOB | MsgFlags::MSG_PEEK)?;
    if n == 1 {
        Ok(byte[0])
    } else {
        Err(io::Error::new(ErrorKind::UnexpectedEof, format!("no urgent byte on fd {raw}")))
    }
}

/// Reads the urgent byte waiting on `stream` (`recv(2)` with `MSG_OOB`), which clears the
/// urgent condition.
///
/// # Errors
/// `recv(2)`'s (`EINVAL` when no urgent byte is waiting).
pub fn take_urgent(stream: &TcpStream) -> io::Result<u8> {
    let mut byte = [0u8];
    let n = recv(stream.as_raw_fd(), &mut byte, MsgFlags::MSG_OOB)?;
    if n == 1 {
        Ok(byte[0])
    } else {
        Err(io::Error::new(ErrorKind::UnexpectedEof, "no urgent byte to read"))
    }
}

/// A new close-on-exec fd for the same file as `fd`, numbered `min` or above.
///
/// # Errors
/// `fcntl(F_DUPFD_CLOEXEC)`'s: `EINVAL` when `min` is at or above the fd limit.
pub fn dup_at_least(fd: BorrowedFd<'_>, min: RawFd) -> io::Result<OwnedFd> {
    let new = fcntl(fd, FcntlArg::F_DUPFD_CLOEXEC(min))?;
    // SAFETY: `new` was just returned by fcntl, is open, and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

/// Makes the number of `target` refer to `source`'s file, closing what `target` was, in one
/// atomic step (`dup2(2)`): no other thread can take the number in between.
///
/// # Errors
/// `dup2(2)`'s.
pub fn replace_fd(source: BorrowedFd<'_>, mut target: OwnedFd) -> io::Result<OwnedFd> {
    nix::unistd::dup2(source, &mut target)?;
    Ok(target)
}

/// Whether `fd` is an open file descriptor number.
pub fn is_open(fd: RawFd) -> bool {
    // SAFETY: F_GETFD reads the flags of a descriptor number; any number is acceptable.
    cvt(unsafe { libc::fcntl(fd, libc::F_GETFD) }).is_ok()
}

/// Raises the soft `RLIMIT_NOFILE` to at least `want` (if the hard limit allows) and
/// returns the soft limit now in force.
///
/// # Errors
/// `getrlimit(2)`/`setrlimit(2)`'s.
// `rlim_t` is `u64` on Linux and macOS but `i64` on FreeBSD: the conversions are needed.
#[allow(clippy::useless_conversion)]
pub fn raise_fd_limit(want: u64) -> io::Result<u64> {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE)?;
    // RLIM_INFINITY is rlim_t's largest value everywhere: u64::MAX after conversion.
    let cur = u64::try_from(soft).unwrap_or(u64::MAX);
    let max = u64::try_from(hard).unwrap_or(u64::MAX);
    if cur >= want {
        return Ok(cur);
    }
    let new = want.min(max);
    setrlimit(Resource::RLIMIT_NOFILE, libc::rlim_t::try_from(new).unwrap_or(hard), hard)?;
    Ok(new)
}

// ---------------------------------------------------------------------------------------
// CPU time: blocked or spinning?

#[cfg(not(target_os = "netbsd"))]
const CLOCK_THREAD_CPUTIME_ID: libc::clockid_t = libc::CLOCK_THREAD_CPUTIME_ID;
// The libc crate lacks NetBSD's; this is its value in NetBSD's <time.h>.
#[cfg(target_os = "netbsd")]
const CLOCK_THREAD_CPUTIME_ID: libc::clockid_t = 0x2000_0000;

/// The CPU time the calling thread has used, or `None` where the clock is unavailable.
pub fn thread_cpu_time() -> Option<Duration> {
    // libc, not nix: nix's `time` feature does not build for visionOS (no clock_settime).
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes one timespec into `ts`, which is live.
    cvt(unsafe { libc::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut ts) }).ok()?;
    Some(Duration::new(u64::try_from(ts.tv_sec).ok()?, u32::try_from(ts.tv_nsec).ok()?))
}

/// Tells a `wait` that blocks from one that spins inside (returning only at its timeout,
/// so that its caller sees nothing wrong): the first uses almost no CPU time.
///
/// A correct backend uses microseconds of CPU per wait, so the bound —a quarter of the
/// wall-clock time, plus 2 ms— never fails it, however loaded the machine. A spinning
/// backend uses all the CPU it is given: on a busy machine it may still pass, so this
/// catches spins best effort, never falsely.
#[derive(Debug)]
pub struct CpuMeter {
    cpu: Option<Duration>,
    wall: Instant,
}

impl CpuMeter {
    /// Starts measuring the calling thread.
    pub fn start() -> CpuMeter {
        CpuMeter { cpu: thread_cpu_time(), wall: Instant::now() }
    }

    /// Asserts that the calling thread (the one that started the meter) mostly slept.
    #[track_caller]
    pub fn assert_blocked(&self, what: &str) {
        let wall = self.wall.elapsed();
        let (Some(start), Some(now)) = (self.cpu, thread_cpu_time()) else { return };
        let cpu = now.saturating_sub(start);
        assert!(
            cpu <= wall / 4 + Duration::from_millis(2),
            "{what}: the thread used {cpu:?} of CPU in {wall:?}: waiting spins instead of blocking"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Assertions

/// Asserts that `result` failed with `kind`; `what` names the call in the message.
#[track_caller]
pub fn expect_kind<T: fmt::Debug>(result: io::Result<T>, kind: ErrorKind, what: &str) {
    match result {
        Err(e) if e.kind() == kind => {}
        Err(e) => panic!("{what}: expected {kind:?}, got {:?} ({e})", e.kind()),
        Ok(v) => panic!("{what}: expected {kind:?}, got Ok({v:?})"),
    }
}

/// The event a behaviour expects: `readable`, `writable` and `priority` must match
/// exactly; `hangup` and `error` must match when `Some`.
///
/// ```
/// use multipoll_conformance::util::Want;
/// use multipoll_core::Event;
///
/// let closed = Event::new(7).with_readable(true).with_hangup(true);
/// assert!(Want::readable(7).hangup().matches(&closed));
/// assert!(!Want::readable(7).matches(&closed), "hang-up unexpected by default");
/// assert!(Want::readable(7).hangup().error(None).matches(&closed.with_error(true)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Want {
    /// The key.
    pub key: usize,
    /// Whether `readable` is set.
    pub readable: bool,
    /// Whether `writable` is set.
    pub writable: bool,
    /// Whether `hangup` is set, or `None` for either.
    pub hangup: Option<bool>,
    /// Whether `error` is set, or `None` for either.
    pub error: Option<bool>,
    /// Whether `priority` is set.
    pub priority: bool,
}

impl Want {
    /// Readable only: no writable, hang-up or error.
    pub const fn readable(key: usize) -> Want {
        Want::flags(key, true, false)
    }

    /// Writable only: no readable, hang-up or error.
    pub const fn writable(key: usize) -> Want {
        Want::flags(key, false, true)
    }

    /// Readable and writable: no hang-up or error.
    pub const fn both(key: usize) -> Want {
        Want::flags(key, true, true)
    }

    /// Priority (urgent data) only: no readable, writable, hang-up or error.
    pub const fn priority(key: usize) -> Want {
        Want { priority: true, ..Want::flags(key, false, false) }
    }

    const fn flags(key: usize, readable: bool, writable: bool) -> Want {
        Want { key, readable, writable, hangup: Some(false), error: Some(false), priority: false }
    }

    /// The same, with `hangup` set.
    pub const fn hangup(self) -> Want {
        Want { hangup: Some(true), ..self }
    }

    /// The same, with `error` as given (`None`: either).
    pub const fn error(self, error: Option<bool>) -> Want {
        Want { error, ..self }
    }

    /// Whether `event` is what is wanted.
    pub fn matches(&self, event: &Event) -> bool {
        event.key() == self.key
            && event.is_readable() == self.readable
            && event.is_writable() == self.writable
            && self.hangup.is_none_or(|h| h == event.is_hangup())
            && self.error.is_none_or(|e| e == event.is_error())
            && event.is_priority() == self.priority
    }
}

/// `poller.wait`, plus the checks every wait must pass: the count equals what `events`
/// holds and fits its capacity; no event is empty, carries [`RESERVED_KEY`] or repeats a
/// key. Returns the events.
///
/// # Errors
/// `wait`'s.
#[track_caller]
pub fn wait_checked<P: Poller>(
    poller: &P,
    events: &mut Events,
    timeout: Option<Duration>,
) -> io::Result<Vec<Event>> {
    let n = poller.wait(events, timeout)?;
    let got = events.as_slice().to_vec();
    assert_eq!(n, got.len(), "wait returned {n} but stored {got:?}");
    assert!(n <= events.capacity(), "wait stored {n} events in a buffer of {}", events.capacity());
    let mut keys = HashSet::new();
    for event in &got {
        assert!(!event.is_empty(), "wait reported an event with no flag: {event:?}");
        assert_ne!(event.key(), RESERVED_KEY, "wait reported the reserved key: {got:?}");
        assert!(keys.insert(event.key()), "one wait reported key {} twice: {got:?}", event.key());
    }
    Ok(got)
}

/// Waits (up to [`LONG`] in all) until every `wants` key has been reported, checking that
/// each event matches its [`Want`] and that no other key is reported. A key may be reported
/// again by a later wait (level mode), and must match again. Returns the first event seen
/// for each want, in `wants` order.
///
/// # Errors
/// `wait`'s.
#[track_caller]
pub fn expect_events<P: Poller>(
    poller: &P,
    events: &mut Events,
    wants: &[Want],
) -> io::Result<Vec<Event>> {
    let deadline = Instant::now() + LONG;
    let mut seen: Vec<Option<Event>> = vec![None; wants.len()];
    let mut all = Vec::new();
    while seen.iter().any(Option::is_none) {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            let missing: Vec<&Want> =
                wants.iter().zip(&seen).filter(|(_, s)| s.is_none()).map(|(w, _)| w).collect();
            panic!("no event within {LONG:?} for {missing:?}; reported so far: {all:?}");
        }
        for event in wait_checked(poller, events, Some(left))? {
            let Some(i) = wants.iter().position(|w| w.key == event.key()) else {
                panic!("unexpected event {event:?}; expected only {wants:?}");
            };
            assert!(wants[i].matches(&event), "event {event:?} is not the wanted {:?}", wants[i]);
            seen[i].get_or_insert(event);
            all.push(event);
        }
    }
    Ok(seen.into_iter().flatten().collect())
}

/// Asserts that nothing is reported for `quiet`: every wait returns no event, at most
/// [`MAX_SPURIOUS`] waits return before their timeout, and the waits block rather than
/// spin ([`CpuMeter`]).
///
/// # Errors
/// `wait`'s.
#[track_caller]
pub fn expect_no_events<P: Poller>(
    poller: &P,
    events: &mut Events,
    quiet: Duration,
) -> io::Result<()> {
    let end = Instant::now() + quiet;
    let meter = CpuMeter::start();
    let mut early = 0;
    loop {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            meter.assert_blocked(&format!("{quiet:?} with nothing to report"));
            return Ok(());
        }
        let got = wait_checked(poller, events, Some(left))?;
        assert!(got.is_empty(), "expected no event for {quiet:?}, got {got:?}");
        if Instant::now() < end {
            early += 1;
            assert!(
                early <= MAX_SPURIOUS,
                "wait returned Ok(0) before its timeout {early} times within {quiet:?}: it spins"
            );
        }
    }
}

/// Asserts that one `wait(Some(timeout))` times out: it reports nothing, returns no sooner
/// than `timeout` and no later than [`LATE`] after it, and blocks rather than spins. Stricter
/// than [`expect_no_events`], which forgives a few spurious early returns: for where the
/// contract leaves no room for one (a notify that should have been coalesced away).
///
/// # Errors
/// `wait`'s.
#[track_caller]
pub fn expect_timeout<P: Poller>(
    poller: &P,
    events: &mut Events,
    timeout: Duration,
) -> io::Result<()> {
    let start = Instant::now();
    let meter = CpuMeter::start();
    let got = wait_checked(poller, events, Some(timeout))?;
    let took = start.elapsed();
    assert_eq!(got, [], "wait({timeout:?}) should have timed out");
    assert!(took >= timeout, "wait({timeout:?}) returned early, after {took:?}");
    assert!(took < timeout + LATE, "wait({timeout:?}) returned late, after {took:?}");
    meter.assert_blocked(&format!("wait({timeout:?})"));
    Ok(())
}

/// Asserts that `caps` and `add` agree on `mode`: `add` (of a fresh pipe) succeeds when
/// the backend supports it and fails with `Unsupported` otherwise. Returns whether it is
/// supported.
///
/// # Errors
/// `pipe(2)`'s, `add`'s and `delete`'s other errors.
#[track_caller]
pub fn supports<P: Poller>(poller: &P, mode: Mode) -> io::Result<bool> {
    let supported = poller.capabilities().supports(mode);
    let (read, _write) = pipe()?;
    let result = poller.add(read.as_fd(), 1, Interest::READABLE, mode);
    if supported {
        result?;
        poller.delete(read.as_fd())?;
    } else {
        expect_kind(result, ErrorKind::Unsupported, &format!("add in unsupported {mode} mode"));
    }
    Ok(supported)
}

// ---------------------------------------------------------------------------------------
// A waiter thread

/// The thread blocked in `wait` during [`wait_in_thread`]'s action.
#[derive(Debug)]
pub struct WaitingThread {
    pthread: Pthread,
}

struct Pthread(libc::pthread_t);

impl fmt::Debug for Pthread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pthread")
    }
}

// SAFETY: a pthread_t is an identifier (a pointer on some platforms); sending it to another
// thread only lets that thread name the thread, which pthread_kill allows from any thread.
unsafe impl Send for Pthread {}
// SAFETY: as above; it is never dereferenced.
unsafe impl Sync for Pthread {}

impl WaitingThread {
    /// Sends `signal` to the waiting thread (`pthread_kill(3)`).
    ///
    /// # Errors
    /// `pthread_kill`'s.
    pub fn signal(&self, signal: libc::c_int) -> io::Result<()> {
        // libc, not nix: see `timing::install`.
        // SAFETY: the thread is alive: it blocks on the release channel until the action
        // that holds `self` has returned. pthread_kill takes no memory.
        let r = unsafe { libc::pthread_kill(self.pthread.0, signal) };
        if r == 0 { Ok(()) } else { Err(io::Error::from_raw_os_error(r)) }
    }
}

/// What [`wait_in_thread`]'s waiter saw.
#[derive(Debug)]
pub struct Waited<R> {
    /// The events of its one `wait` (without the rescue pipe's).
    pub events: Vec<Event>,
    /// Just before it called `wait`.
    pub started: Instant,
    /// Just after `wait` returned.
    pub returned: Instant,
    /// Whether the helper had to wake it (after [`LONG`]): the backend missed the wake-up.
    pub rescued: bool,
    /// What the action returned.
    pub output: R,
}

impl<R> Waited<R> {
    /// How long the wait took.
    pub fn elapsed(&self) -> Duration {
        self.returned - self.started
    }

    /// Asserts that the wait ended by itself within [`PROMPT`].
    #[track_caller]
    pub fn assert_prompt(&self, what: &str) {
        assert!(!self.rescued, "{what}: the waiter was never woken (rescued after {LONG:?})");
        assert!(self.elapsed() < PROMPT, "{what}: the waiter took {:?}", self.elapsed());
    }
}

/// Runs one `wait(timeout)` on another thread while `act` runs on this one, and returns
/// what the waiter saw.
///
/// `act` starts [`SETTLE`] after the waiter is about to call `wait`. The helper registers a
/// pipe of its own under [`BACKSTOP_KEY`] for the duration: if the waiter has not returned
/// [`LONG`] after `act` (or if `act` fails or panics), the helper makes it readable and
/// notifies, so a broken backend fails the test instead of hanging it
/// ([`Waited::rescued`]). The waiter thread stays alive until `act` has returned, so `act`
/// may signal it.
///
/// # Errors
/// Those of `act`, of the waiter's `wait` and of registering the rescue pipe.
pub fn wait_in_thread<P: Poller, R>(
    poller: &P,
    timeout: Option<Duration>,
    act: impl FnOnce(&WaitingThread) -> io::Result<R>,
) -> io::Result<Waited<R>> {
    let (rescue_read, rescue_write) = pipe()?;
    poller.add(rescue_read.as_fd(), BACKSTOP_KEY, Interest::READABLE, Mode::Level)?;
    let result = thread::scope(|s| {
        let (start_tx, start_rx) = mpsc::channel();
        let (done_tx, done_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        s.spawn(move || {
            let mut events = Events::new();
            let started = Instant::now();
            let me = Pthread(pthread::pthread_self());
            let _ = start_tx.send(me);
            let result = wait_checked(poller, &mut events, timeout);
            let _ = done_tx.send((result, started, Instant::now()));
            // Stay alive (a valid signal target) until the action is over.
            let _ = release_rx.recv();
        });
        let pthread = start_rx
            .recv()
            .map_err(|_| io::Error::other("the waiter thread died before waiting"))?;
        let mut rescue = Rescue {
            poller,
            pipe: rescue_write.as_fd(),
            release: Some(release_tx),
            fired: false,
            returned: false,
        };
        thread::sleep(SETTLE);
        let output = act(&WaitingThread { pthread })?;
        let (result, started, returned) = match done_rx.recv_timeout(LONG) {
            Ok(done) => done,
            Err(RecvTimeoutError::Timeout) => {
                rescue.fire();
                done_rx
                    .recv()
                    .map_err(|_| io::Error::other("the waiter thread panicked after rescue"))?
            }
            Err(RecvTimeoutError::Disconnected) => {
                return Err(io::Error::other("the waiter thread panicked"));
            }
        };
        rescue.returned = true;
        let rescued = rescue.fired;
        drop(rescue);
        let mut events = result?;
        events.retain(|e| e.key() != BACKSTOP_KEY);
        Ok(Waited { events, started, returned, rescued, output })
    });
    poller.delete(rescue_read.as_fd())?;
    result
}

/// Unblocks [`wait_in_thread`]'s waiter on every way out: normal return, error, panic.
struct Rescue<'a, P: Poller> {
    poller: &'a P,
    pipe: BorrowedFd<'a>,
    release: Option<mpsc::Sender<()>>,
    fired: bool,
    /// Whether the waiter's `wait` has returned.
    returned: bool,
}

impl<P: Poller> Rescue<'_, P> {
    fn fire(&mut self) {
        if !self.fired {
            self.fired = true;
            // Best effort on the way out: if these fail too, the test hangs, but it has
            // already failed.
            let _ = send(self.pipe, b"!");
            let _ = self.poller.notify();
        }
    }
}

impl<P: Poller> Drop for Rescue<'_, P> {
    fn drop(&mut self) {
        // Leaving before the waiter returned (an error or panic in the action): wake it,
        // or the scope would wait for it forever.
        if !self.returned {
            self.fire();
        }
        drop(self.release.take());
    }
}
