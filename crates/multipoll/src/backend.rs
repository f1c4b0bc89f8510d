//! The runtime name of a backend: [`Backend`].

use std::fmt;
use std::io;
use std::str::FromStr;

use crate::Poller;

/// The environment variable [`Backend::from_env`] reads.
const ENV_VAR: &str = "MULTIPOLL_BACKEND";

/// Generic code to run with a backend chosen at runtime; see [`Backend::with_poller`].
pub trait WithPoller {
    /// What the work returns.
    type Output;

    /// Runs the work with the chosen backend's poller type `P`.
    fn run<P: Poller + 'static>(self) -> Self::Output;
}

/// One of multipoll's backends, by name.
///
/// `FromStr`/`Display` use the lower-case names `select`, `poll`, `epoll`, `kqueue`,
/// `uring`, `iocp`. Each variant names a poller type of this crate, present where its feature is on
/// and the target has its syscall ([`Backend::is_compiled`]); io_uring may also be refused
/// by the running kernel, which [`Backend::is_available`] asks.
///
/// | | [select](Backend::Select) | [poll](Backend::Poll) | [epoll](Backend::Epoll) | [kqueue](Backend::Kqueue) | [io_uring](Backend::Uring) | [IOCP](Backend::Iocp) |
/// |---|---|---|---|---|---|---|
/// | platforms | every Unix; Windows (Winsock `select`) | every Unix; Windows (`WSAPoll`) | Linux, Android | FreeBSD, macOS, NetBSD, OpenBSD, DragonFly | Linux ≥ 5.13, where the kernel allows io_uring | Windows |
/// | [modes](crate::Mode) | level, oneshot (emulated) | level, oneshot (emulated) | level, edge, oneshot, edge-oneshot | level, edge, oneshot, edge-oneshot | level, edge, oneshot, edge-oneshot | level, oneshot |
/// | priority ([`Interest::PRIORITY`](crate::Interest::PRIORITY)) | `exceptfds`; `Unsupported` on Windows | `POLLPRI`; `Unsupported` on Windows | `EPOLLPRI` | `Unsupported` | `POLLPRI` | `Unsupported` |
/// | largest fd | process limit on Linux, Android, FreeBSD, DragonFly, Windows; `FD_SETSIZE - 1` elsewhere | process limit | process limit | process limit | process limit | process limit |
/// | timeout precision | 1 µs | 1 ms (rounded up) | 1 ns (`epoll_pwait2`), else 1 ms | 1 ns on FreeBSD and Apple; a clock tick (10 ms) on NetBSD, OpenBSD, DragonFly | 1 ns | 1 ms (rounded up) |
/// | cost per wait | O(highest fd); O(registered) on Windows | O(registered) | O(ready) | O(ready) | O(ready) | O(ready) |
///
/// The Windows backends are verified under Wine 8, not on a Windows kernel.
///
/// A running poller says the same through [`Poller::capabilities`] (a
/// [`Capabilities`](crate::Capabilities)); a mode it lacks is refused with `Unsupported`
/// by `add` and `modify`, never downgraded.
///
/// More backends may come: match with a wildcard arm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// `select(2)`: the `Select` poller (feature `select`).
    Select,
    /// `poll(2)`: the `Poll` poller (feature `poll`).
    Poll,
    /// `epoll(7)`, Linux and Android: the `Epoll` poller (feature `epoll`).
    Epoll,
    /// `kqueue(2)`, BSD and macOS: the `Kqueue` poller (feature `kqueue`).
    Kqueue,
    /// `io_uring(7)` poll requests, Linux 5.13+: the `Uring` poller (feature `uring`).
    /// The kernel may refuse it at run time (`kernel.io_uring_disabled`, a seccomp
    /// filter): [`Backend::is_available`] tells.
    Uring,
    /// An I/O completion port with AFD polling, Windows: the `Iocp` poller (feature
    /// `iocp`).
    Iocp,
}

impl Backend {
    /// Every backend multipoll has, available here or not.
    pub const ALL: &'static [Backend] = &[
        Backend::Select,
        Backend::Poll,
        Backend::Epoll,
        Backend::Kqueue,
        Backend::Uring,
        Backend::Iocp,
    ];

    /// The backend's lower-case name.
    pub const fn name(self) -> &'static str {
        match self {
            Backend::Select => "select",
            Backend::Poll => "poll",
            Backend::Epoll => "epoll",
            Backend::Kqueue => "kqueue",
            Backend::Uring => "uring",
            Backend::Iocp => "iocp",
        }
    }

    /// Whether this build has the backend: its feature is on and the target has its
    /// syscall. Whether the running kernel lets it work is [`Backend::is_available`].
    pub const fn is_compiled(self) -> bool {
        match self {
            Backend::Select => cfg!(has_select),
            Backend::Poll => cfg!(has_poll),
            Backend::Epoll => cfg!(has_epoll),
            Backend::Kqueue => cfg!(has_kqueue),
            Backend::Uring => cfg!(has_uring),
            Backend::Iocp => cfg!(has_iocp),
        }
    }

    /// Whether the backend can be used here: it is in this build
    /// ([`Backend::is_compiled`]) and the running kernel allows it. Only io_uring can be
    /// compiled and still refused (disabled by `kernel.io_uring_disabled`, blocked by a
    /// seccomp filter, or a kernel older than it needs); that is probed once per process.
    pub fn is_available(self) -> bool {
        match self {
            #[cfg(has_uring)]
            Backend::Uring => multipoll_uring::is_supported(),
            other => other.is_compiled(),
        }
    }

    /// The backends usable here ([`Backend::is_available`]), in [`Backend::ALL`] order.
    pub fn available() -> impl Iterator<Item = Backend> {
        Backend::ALL.iter().copied().filter(|b| b.is_available())
    }

    /// The backend of [`DefaultPoller`](crate::DefaultPoller).
    pub const fn compiled_default() -> Backend {
        crate::DEFAULT_BACKEND
    }

    /// The backend named by the `MULTIPOLL_BACKEND` environment variable, or
    /// [`Backend::compiled_default`] when it is unset or empty.
    ///
    /// [`AnyPoller::from_env`](crate::AnyPoller::from_env) creates a poller of it.
    ///
    /// # Errors
    /// - `InvalidInput` when the variable names no backend multipoll has (`"wepoll"`), or is
    ///   not UTF-8; the message lists the available ones.
    /// - `Unsupported` when it names a backend that is not
    ///   [available](Backend::is_available) here: not in this build (`kqueue` on Linux) or
    ///   refused by the kernel (`uring`); the message says which, and lists the available
    ///   ones.
    ///
    /// These are the errors of parsing the name (`"kqueue".parse::<Backend>()`).
    pub fn from_env() -> io::Result<Backend> {
        match std::env::var_os(ENV_VAR) {
            None => Ok(Backend::compiled_default()),
            Some(name) if name.is_empty() => Ok(Backend::compiled_default()),
            // A name that is not UTF-8 is no backend's: refused, not taken for unset.
            Some(name) => match name.to_str() {
                Some(name) => name.parse(),
                None => Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "{ENV_VAR}={name:?} is not a backend name (available: {})",
                        Backend::available_names()
                    ),
                )),
            },
        }
    }

    /// Runs `work` with this backend's concrete poller type: the runtime choice made once,
    /// the code after it monomorphized (no `dyn`, and no [`AnyPoller`](crate::AnyPoller)
    /// `match` per call).
    ///
    /// ```
    /// use multipoll::{Backend, Poller, WithPoller};
    ///
    /// struct Name;
    /// impl WithPoller for Name {
    ///     type Output = std::io::Result<&'static str>;
    ///     fn run<P: Poller + 'static>(self) -> Self::Output {
    ///         Ok(P::new()?.capabilities().name())
    ///     }
    /// }
    ///
    /// for backend in Backend::available() {
    ///     assert_eq!(backend.with_poller(Name)??, backend.name());
    /// }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    /// `Unsupported` when the backend is not in this build (the message lists those that
    /// are). A backend in this build that the kernel refuses (io_uring) runs `work`, whose
    /// `P::new()` then fails with `Unsupported` naming the cause.
    pub fn with_poller<W: WithPoller>(self, work: W) -> io::Result<W::Output> {
        match self {
            #[cfg(has_select)]
            Backend::Select => Ok(work.run::<crate::Select>()),
            #[cfg(has_poll)]
            Backend::Poll => Ok(work.run::<crate::Poll>()),
            #[cfg(has_epoll)]
            Backend::Epoll => Ok(work.run::<crate::Epoll>()),
            #[cfg(has_kqueue)]
            Backend::Kqueue => Ok(work.run::<crate::Kqueue>()),
            #[cfg(has_uring)]
            Backend::Uring => Ok(work.run::<crate::Uring>()),
            #[cfg(has_iocp)]
            Backend::Iocp => Ok(work.run::<crate::Iocp>()),
            #[allow(unreachable_patterns, reason = "reachable when a backend is compiled out")]
            other => Err(other.unavailable()),
        }
    }

    /// The error for a backend that is not [available](Backend::is_available): not in
    /// this build, or refused by the kernel (then the backend's own error says why).
    pub(crate) fn unavailable(self) -> io::Error {
        let why = match self {
            #[cfg(has_uring)]
            Backend::Uring => match multipoll_uring::Uring::new() {
                Err(e) => format!("cannot run here: {e}"),
                Ok(_) => "is available after all (probed again)".to_owned(),
            },
            _ => "is not available in this build".to_owned(),
        };
        io::Error::new(
            io::ErrorKind::Unsupported,
            format!("backend `{self}` {why} (available: {})", Backend::available_names()),
        )
    }

    /// The names of [`Backend::available`], for error messages.
    fn available_names() -> String {
        Backend::available().map(Backend::name).collect::<Vec<_>>().join(", ")
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Backend {
    type Err = io::Error;

    /// Parses a backend name; fails for unknown names (`InvalidInput`) and for backends
    /// not [available](Backend::is_available) here (`Unsupported`, saying why).
    fn from_str(s: &str) -> io::Result<Backend> {
        let Some(&backend) = Backend::ALL.iter().find(|b| b.name() == s) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("unknown backend `{s}` (available: {})", Backend::available_names()),
            ));
        };
        if backend.is_available() { Ok(backend) } else { Err(backend.unavailable()) }
    }
}
