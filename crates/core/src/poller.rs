//! The backend contract: the [`Poller`] trait and what a backend can do ([`Capabilities`]).

use std::io;
use std::time::{Duration, Instant};

use crate::{Events, Interest, Mode, ModeSet, RawSource, Source};

/// The key no registration may use: backends keep it for their internal wake-up.
pub const RESERVED_KEY: usize = usize::MAX;

/// An I/O readiness poller over one operating-system mechanism.
///
/// This trait is the contract every multipoll backend (select, poll, epoll, kqueue,
/// io_uring, or a third party's) keeps, and that `multipoll-conformance` checks. Backends
/// document only what is particular to their syscall; everything below holds for all of
/// them.
///
/// # Registrations
///
/// An fd is registered once, with a user key (any `usize` but [`RESERVED_KEY`]), an
/// [`Interest`] and a [`Mode`]; `modify` changes all three; `delete` removes it. The poller
/// does not own the fd: **delete it before you close it**. If you close it first, our code
/// has no undefined behaviour, but what you see depends on the kernel: epoll and kqueue
/// forget a closed fd by themselves (epoll only once every `dup` of it is closed too, so
/// events go on while one is open; kqueue at every close of the number); poll and select
/// report one event with `error` set for its key and then forget it; io_uring's poll
/// request holds the file, so nothing is reported and the file stays open until you
/// `delete` or reuse the number.
///
/// A new file that takes the number of one closed without `delete` (the habit of dropping
/// a socket without deregistering it, then accepting the next connection) is a new
/// registration on every backend, whether or not a `wait` came between: `add` succeeds and
/// replaces the stale registration, whose key is never reported again (poll, select and
/// io_uring tell the new file from the registered one by its device and inode, from
/// `fstat`). `delete` of the number then succeeds and forgets the stale registration.
/// Files that share an inode are not told apart that way: a dup of the registered file
/// (which epoll also still counts as registered), an anonymous-inode fd (eventfd, timerfd,
/// epoll) or a device opened again answer `AlreadyExists` on poll, select and io_uring
/// until you `delete` the stale registration. Two things stay kernel-specific, and neither
/// is for portable code: a `wait` between the reuse and the `add` may report the new
/// file's readiness under the old key on poll and select (they watch numbers, and telling
/// the files apart there would cost an `fstat` per reported event), and on io_uring when
/// the stale poll had not reached the kernel yet; and `modify` of the
/// reused number before an `add` fails with `NotFound` on epoll but changes the stale
/// registration, now watching the new file, on the others. A registration silenced with
/// [`Interest::NONE`] is not watched at all, so no backend notices that its fd closed: it
/// stays (and its number answers `AlreadyExists`) until you `delete` it.
///
/// On Windows a socket's number is its `SOCKET` handle value, which a new socket may take
/// as soon as the old one is closed, and nothing tells the two apart (no device and
/// inode). So on poll and select there a socket closed without `delete` is forgotten only
/// when a `wait` reports it (one `error` event); until then, `add` of a new socket that
/// took its number answers `AlreadyExists`, as for a dup on Unix: `delete` first.
///
/// Only files whose readiness the kernel can watch are accepted: sockets, pipes, FIFOs,
/// terminals and other devices whose driver can poll, and pollable kernel objects
/// (eventfd, timerfd, signalfd, another poller). A regular file or a directory is always
/// ready (read or write it directly), and a device without poll (`/dev/null`) cannot be
/// watched: `add` refuses them with `InvalidInput` on every backend, as epoll does, kqueue
/// included (which could watch a regular file, but nowhere else could). Outside Linux,
/// poll and select cannot ask whether a device can poll, and accept every device.
///
/// # Unix fds and Windows sockets
///
/// What is registered is a [`Source`]: a `BorrowedFd` on Unix, a
/// `BorrowedSocket` on Windows, where only sockets can be polled. This page says "fd" for
/// both; on Windows read "socket", "its number" as the `SOCKET` handle
/// ([`RawSource`]) and "close" as `closesocket` (dropping the Rust
/// socket). Code for both families registers `stream.as_source()`
/// ([`AsSource`](crate::AsSource)).
///
/// # Errors (identical on every backend)
///
/// | call | situation | [`io::ErrorKind`] |
/// |---|---|---|
/// | `add` | the fd is already registered | `AlreadyExists` |
/// | `modify`, `delete` | the fd is not registered | `NotFound` |
/// | `add`, `modify` | the backend cannot do the [`Mode`] | `Unsupported` |
/// | `add`, `modify` | the key is [`RESERVED_KEY`] | `InvalidInput` |
/// | `add` | the fd is not open, is above [`Capabilities::max_fd`], or cannot be polled (a regular file, a directory, a device without poll: see [Registrations](Poller#registrations)) | `InvalidInput` |
/// | `wait` | the `Events` buffer, or the kernel, is out of memory | `OutOfMemory` / the OS error |
///
/// A failed call changes nothing. Errors carry a message naming the fd and the cause.
///
/// # Waiting
///
/// `wait` clears `events`, then blocks until at least one registered fd is ready, a
/// [`notify`](Poller::notify) arrives, or the timeout passes, and returns how many events it
/// stored. `None` blocks without limit; `Some(Duration::ZERO)` never blocks; any other
/// timeout is rounded *up* to the backend's precision ([`Capabilities::timeout_precision`]),
/// so 0.5 ms never becomes a zero timeout and a loop never spins by accident. A wait may
/// then last up to one more unit of that precision: a kernel that counts time in clock
/// ticks (NetBSD, OpenBSD, DragonFly) sleeps through the partial tick it starts in as well.
///
/// A signal that interrupts the syscall (`EINTR`) is retried inside `wait` with the time
/// that is left: it never surfaces as an error and never shortens the timeout. To react to
/// a signal, call [`notify`](Poller::notify) from the signal handler or from a
/// signal-handling thread. Every backend's `notify` is one syscall and takes no lock: a
/// `write(2)` (on POSIX's list of async-signal-safe functions), or kqueue's `kevent(2)`
/// with `NOTE_TRIGGER` and no eventlist, which no list names but which is the bare syscall
/// (FreeBSD kqueue(2): "if nevents is zero, the call is not cancellable", so the thread
/// library adds no bookkeeping around it).
///
/// `wait` may return `Ok(0)` early: after a `notify`, or (rarely) on a spurious wake-up.
///
/// # Several waiters
///
/// Several threads may call `wait` on one poller at once, each with its own `Events`.
/// None of them queues behind another: each enters the kernel at once and keeps its own
/// timeout, so a zero timeout never blocks and a 50 ms one returns after about 50 ms even
/// while another thread is blocked in `wait(None)`. What they are told:
///
/// - an fd ready in [`Mode::Level`] may be reported to more than one of them (the kernel
///   tells every waiter it wakes); to hand each readiness to exactly one thread, register
///   with [`Mode::Oneshot`] (reported to one waiter, until re-armed) or [`Mode::Edge`];
/// - [`notify`](Poller::notify) wakes at least one of them, not necessarily all: to wake
///   *n* threads, notify until *n* have returned;
/// - a registration change made while several wait is seen by at least one of them (the
///   others see it from their next `wait`), and nothing is lost: an event that either
///   waiter could report is reported by one of them.
///
/// Servers that want parallelism usually run one poller per thread instead (the echo
/// server's `--threads`), which needs none of this.
///
/// When more fds are ready than `events` holds, the others are reported by the next
/// `wait`; backends rotate so that no ready fd starves.
///
/// # Notify
///
/// [`notify`](Poller::notify) wakes the thread blocked in `wait` (or makes the next `wait`
/// return at once). Several notifies before a wait coalesce into one wake-up, and a notify
/// is never reported as an [`Event`](crate::Event).
///
/// # Interruptions
///
/// A poller disturbs nothing else its threads do, except where
/// [`Capabilities::interrupts_calls`] says so: io_uring. There the kernel runs a poll's
/// completion, and the ring's teardown after the poller is dropped, as task work on the
/// threads that created the ring or submitted to it, and wakes them from an interruptible
/// call to run it, as a signal whose handler does nothing would. A blocking call that the
/// kernel restarts after a signal sees nothing; one that fails with `EINTR` instead (a
/// socket read or write with a timeout, `SO_RCVTIMEO` or `SO_SNDTIMEO`, or `epoll_wait`)
/// fails once with [`ErrorKind::Interrupted`](io::ErrorKind::Interrupted): retry it, as
/// for any signal (`read_exact`, `write_all` and every poller's own `wait` do).
///
/// # Threads
///
/// Pollers are `Send + Sync`. `add`, `modify` and `delete` from another thread while one
/// thread is blocked in `wait` take effect at once: the waiter sees the new registration
/// without waiting for its timeout (with several waiters, see
/// [Several waiters](Poller#several-waiters)).
pub trait Poller: Send + Sync {
    /// Creates a poller.
    ///
    /// # Errors
    /// The OS errors of creating the kernel object and the wake-up fd (`EMFILE`, `ENOMEM`).
    fn new() -> io::Result<Self>
    where
        Self: Sized;

    /// Registers `fd` under `key` with `interest` and `mode`.
    ///
    /// **Make `fd` non-blocking first** (`set_nonblocking(true)`; an accepted socket does
    /// not inherit it from its listener on Linux): the poller never changes the fd's
    /// flags. Readiness is a hint that may be stale by the time you act on it (another
    /// thread read first, a spurious wake-up), so read, write or accept until
    /// `WouldBlock`; on a blocking fd that call hangs the whole loop instead. In
    /// [`Mode::Edge`] a loop that stops before `WouldBlock` is not told again.
    ///
    /// # Errors
    /// `AlreadyExists`, `Unsupported`, `InvalidInput`: see [the table](Poller#errors-identical-on-every-backend).
    fn add(&self, fd: Source<'_>, key: usize, interest: Interest, mode: Mode) -> io::Result<()>;

    /// Changes the key, interest and mode of a registered `fd`; re-arms a oneshot
    /// registration.
    ///
    /// # Errors
    /// `NotFound`, `Unsupported`, `InvalidInput`: see [the table](Poller#errors-identical-on-every-backend).
    fn modify(&self, fd: Source<'_>, key: usize, interest: Interest, mode: Mode) -> io::Result<()>;

    /// Removes `fd`; no event for it is reported after this returns.
    ///
    /// # Errors
    /// `NotFound`: see [the table](Poller#errors-identical-on-every-backend).
    fn delete(&self, fd: Source<'_>) -> io::Result<()>;

    /// Waits for readiness; see [Waiting](Poller#waiting).
    ///
    /// # Errors
    /// The OS errors of the wait syscall other than `EINTR` (which never surfaces). Two
    /// kinds: the kernel short of memory (`ENOMEM`, which `poll(2)` and `select(2)`
    /// document; io_uring's `EAGAIN`/`EBUSY` are already retried inside) may pass, so a
    /// server backs off and waits again (the echo server does); the others (`EBADF`, `EINVAL`, `EFAULT`) mean the
    /// poller or the process is broken, and retrying cannot fix them. Nothing ready is
    /// lost by a failed wait: the next one reports it.
    fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<usize>;

    /// Waits for readiness until `deadline`: [`wait`](Poller::wait) with the time left
    /// until then (none, if it has passed: a zero timeout, which never blocks). For event
    /// loops that keep their timers as instants, so that each caller does not repeat the
    /// subtraction; like `wait`, it never returns before `deadline` unless something was
    /// reported or notified.
    ///
    /// # Errors
    /// As [`wait`](Poller::wait).
    ///
    /// # Examples
    /// A loop that runs a tick every 100 ms between events (with any backend, e.g.
    /// `multipoll::DefaultPoller`):
    /// ```
    /// # extern crate multipoll_core as multipoll;
    /// use std::time::{Duration, Instant};
    /// use multipoll::{Events, Poller};
    ///
    /// # #[allow(dead_code)]
    /// fn run<P: Poller>(poller: &P, mut tick: impl FnMut()) -> std::io::Result<()> {
    ///     let mut events = Events::new();
    ///     let mut next_tick = Instant::now() + Duration::from_millis(100);
    ///     loop {
    ///         poller.wait_deadline(&mut events, next_tick)?;
    ///         // ... handle `events` ...
    ///         if Instant::now() >= next_tick {
    ///             tick();
    ///             next_tick += Duration::from_millis(100);
    ///         }
    ///     }
    /// }
    /// ```
    fn wait_deadline(&self, events: &mut Events, deadline: Instant) -> io::Result<usize> {
        self.wait(events, Some(deadline.saturating_duration_since(Instant::now())))
    }

    /// Wakes a thread blocked in [`wait`](Poller::wait); see [Notify](Poller#notify).
    ///
    /// # Errors
    /// Only if the wake-up fd cannot be written for a reason other than being full.
    fn notify(&self) -> io::Result<()>;

    /// What this backend can do.
    fn capabilities(&self) -> Capabilities;
}

/// What a backend can do: its name, its modes, its limits.
///
/// Read it through its methods (`poller.capabilities()`); more may come. multipoll's
/// backends answer:
///
/// | | select | poll | epoll | kqueue | io_uring | IOCP (Windows) |
/// |---|---|---|---|---|---|---|
/// | [`modes`](Capabilities::modes) | level, oneshot (emulated) | level, oneshot (emulated) | all four | all four | all four | level, oneshot |
/// | [`priority`](Capabilities::priority) | yes (`exceptfds`); no on Windows | yes (`POLLPRI`); no on Windows | yes (`EPOLLPRI`) | no | yes (`POLLPRI`) | no |
/// | [`max_fd`](Capabilities::max_fd) | `FD_SETSIZE - 1`, except on Linux, Android, FreeBSD, DragonFly, Windows (process limit) | process limit | process limit | process limit | process limit | process limit |
/// | [`timeout_precision`](Capabilities::timeout_precision) | 1 µs | 1 ms (rounded up) | 1 ns (`epoll_pwait2`), else 1 ms | 1 ns on FreeBSD and Apple; a clock tick (10 ms) on NetBSD, OpenBSD, DragonFly | 1 ns | 1 ms (rounded up) |
/// | [`interrupts_calls`](Capabilities::interrupts_calls) | no | no | no | no | yes | no |
///
/// ("All four": [`Mode::Level`], [`Mode::Oneshot`], [`Mode::Edge`], [`Mode::EdgeOneshot`].)
/// Code that prefers a mode asks first, rather than handling `Unsupported`:
/// `if caps.supports(Mode::Edge) { Mode::Edge } else { Mode::Level }`.
///
/// A backend builds its own with [`Capabilities::new`] and the `with_*` methods (in a
/// `const`, if it likes).
///
/// ```
/// # extern crate multipoll_core as multipoll;
/// use std::time::Duration;
/// use multipoll::{Capabilities, Mode, ModeSet};
///
/// const CAPS: Capabilities = Capabilities::new("mine", ModeSet::of(&[Mode::Level]))
///     .with_timeout_precision(Duration::from_millis(1));
/// assert!(CAPS.supports(Mode::Level) && !CAPS.supports(Mode::Edge));
/// assert_eq!(CAPS.timeout_precision(), Duration::from_millis(1));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    name: &'static str,
    modes: ModeSet,
    max_fd: Option<RawSource>,
    timeout_precision: Duration,
    reports_errors: bool,
    early_hangup: bool,
    priority: bool,
    interrupts_calls: bool,
    urgent_wakes_readable: bool,
}

impl Capabilities {
    /// A backend called `name` that accepts `modes`, with no fd limit but the process's,
    /// nanosecond timeouts, errors and early hang-ups reported, no priority interest, no
    /// interruption of other calls, and urgent data never reported readable; the `with_*`
    /// methods change each of these.
    pub const fn new(name: &'static str, modes: ModeSet) -> Capabilities {
        Capabilities {
            name,
            modes,
            max_fd: None,
            timeout_precision: Duration::from_nanos(1),
            reports_errors: true,
            early_hangup: true,
            priority: false,
            interrupts_calls: false,
            urgent_wakes_readable: false,
        }
    }

    /// With [`max_fd`](Capabilities::max_fd) `max_fd`.
    pub const fn with_max_fd(mut self, max_fd: Option<RawSource>) -> Capabilities {
        self.max_fd = max_fd;
        self
    }

    /// With [`timeout_precision`](Capabilities::timeout_precision) `precision`.
    pub const fn with_timeout_precision(mut self, precision: Duration) -> Capabilities {
        self.timeout_precision = precision;
        self
    }

    /// With [`reports_errors`](Capabilities::reports_errors) `on`.
    pub const fn with_reports_errors(mut self, on: bool) -> Capabilities {
        self.reports_errors = on;
        self
    }

    /// With [`early_hangup`](Capabilities::early_hangup) `on`.
    pub const fn with_early_hangup(mut self, on: bool) -> Capabilities {
        self.early_hangup = on;
        self
    }

    /// With [`priority`](Capabilities::priority) `on`.
    pub const fn with_priority(mut self, on: bool) -> Capabilities {
        self.priority = on;
        self
    }

    /// With [`interrupts_calls`](Capabilities::interrupts_calls) `on`.
    pub const fn with_interrupts_calls(mut self, on: bool) -> Capabilities {
        self.interrupts_calls = on;
        self
    }

    /// With [`urgent_wakes_readable`](Capabilities::urgent_wakes_readable) `on`.
    pub const fn with_urgent_wakes_readable(mut self, on: bool) -> Capabilities {
        self.urgent_wakes_readable = on;
        self
    }

    /// The backend's name: `select`, `poll`, `epoll`, `kqueue`, `uring`.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The [`Mode`]s `add` and `modify` accept.
    pub const fn modes(&self) -> ModeSet {
        self.modes
    }

    /// Whether `mode` is accepted by `add` and `modify`.
    pub const fn supports(&self, mode: Mode) -> bool {
        self.modes.contains(mode)
    }

    /// `Ok` if `mode` is accepted by `add` and `modify`, else the `Unsupported` error they
    /// return: it names the backend, the mode and the modes it can do. For programs that
    /// check a configuration before registering anything.
    ///
    /// # Errors
    /// `Unsupported` when [`supports`](Capabilities::supports) is false.
    pub fn check_mode(&self, mode: Mode) -> std::io::Result<()> {
        if self.supports(mode) {
            return Ok(());
        }
        let modes: Vec<&str> = self.supported_modes().map(Mode::name).collect();
        Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            format!(
                "backend `{}` does not support mode `{mode}` (it supports: {})",
                self.name,
                modes.join(", ")
            ),
        ))
    }

    /// The accepted modes, in [`Mode::ALL`] order.
    pub fn supported_modes(&self) -> impl Iterator<Item = Mode> + use<> {
        self.modes.iter()
    }

    /// The largest fd `add` accepts, or `None` when only the process's fd limit applies.
    pub const fn max_fd(&self) -> Option<RawSource> {
        self.max_fd
    }

    /// The finest timeout the syscall honours; shorter timeouts are rounded up to it.
    pub const fn timeout_precision(&self) -> Duration {
        self.timeout_precision
    }

    /// Whether pending socket errors are reported as [`Event::is_error`](crate::Event::is_error)
    /// (every backend here does; a backend that could see one only by consuming it must
    /// say false, and leave it for the user's `take_error`).
    pub const fn reports_errors(&self) -> bool {
        self.reports_errors
    }

    /// Whether a hang-up is reported while data is still queued. Where it is not (select
    /// and poll without `POLLRDHUP`), a hang-up shows as readable until the data is read
    /// and as readable + hang-up from then on.
    pub const fn early_hangup(&self) -> bool {
        self.early_hangup
    }

    /// Whether [`Interest::PRIORITY`](crate::Interest::PRIORITY) is accepted (else `add`
    /// and `modify` refuse it with `Unsupported`).
    pub const fn priority(&self) -> bool {
        self.priority
    }

    /// Whether the poller may interrupt *other* blocking calls of the threads that created
    /// it or submitted to it, once in a while; see [Interruptions](Poller#interruptions).
    /// Only io_uring does.
    pub const fn interrupts_calls(&self) -> bool {
        self.interrupts_calls
    }

    /// Whether a TCP urgent byte that arrives while a `wait` is blocked may be reported
    /// readable, once, to a registration without [`PRIORITY`](crate::Interest::PRIORITY):
    /// the kernel reports the socket's wake-up rather than its state. A `read` then fails
    /// with `WouldBlock`, and the same byte is not reported again; see
    /// [`Interest::READABLE`](crate::Interest::READABLE). Only io_uring does.
    pub const fn urgent_wakes_readable(&self) -> bool {
        self.urgent_wakes_readable
    }
}
