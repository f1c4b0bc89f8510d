//! [`AnyPoller`]: a backend chosen at runtime.

use std::io;
use std::time::Duration;

use crate::{Backend, Capabilities, Events, Interest, Mode, Poller, Source};

/// A poller whose backend is chosen at runtime, from a [`Backend`].
///
/// Each call is one `match` and a direct call into the backend (no `dyn`). Code that knows
/// its backend at compile time should use that type, or be generic over `P: Poller`.
///
/// Three constructors:
///
/// - [`AnyPoller::new(backend)`](AnyPoller::new): the backend you name (from a flag:
///   `"poll".parse::<Backend>()?`).
/// - [`AnyPoller::from_env()`](AnyPoller::from_env): the backend named by the
///   `MULTIPOLL_BACKEND` environment variable, else [`DefaultPoller`](crate::DefaultPoller)'s.
/// - [`<AnyPoller as Poller>::new()`](Poller::new), what generic code (`P::new()`) calls:
///   the same as `from_env`. Written `AnyPoller::new()` it does not compile, because the
///   inherent `new(backend)` comes first; call `from_env` instead.
///
/// ```
/// use multipoll::{AnyPoller, Backend, Poller};
///
/// let poller = AnyPoller::new("poll".parse::<Backend>()?)?;
/// assert_eq!(poller.backend(), Backend::Poll);
/// assert_eq!(poller.capabilities().name(), "poll");
///
/// let poller = AnyPoller::from_env()?;
/// assert_eq!(poller.backend(), Backend::from_env()?);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
#[non_exhaustive]
#[allow(
    clippy::large_enum_variant,
    reason = "a program holds a few pollers, and a Box would cost every call a pointer chase"
)]
pub enum AnyPoller {
    /// The select backend.
    #[cfg(has_select)]
    Select(crate::Select),
    /// The poll backend.
    #[cfg(has_poll)]
    Poll(crate::Poll),
    /// The epoll backend.
    #[cfg(has_epoll)]
    Epoll(crate::Epoll),
    /// The kqueue backend.
    #[cfg(has_kqueue)]
    Kqueue(crate::Kqueue),
    /// The io_uring backend.
    #[cfg(has_uring)]
    Uring(crate::Uring),
    /// The IOCP backend.
    #[cfg(has_iocp)]
    Iocp(crate::Iocp),
}

/// Calls the same method on whichever backend `self` holds.
macro_rules! forward {
    ($self:expr, $p:ident => $call:expr) => {
        match $self {
            #[cfg(has_select)]
            AnyPoller::Select($p) => $call,
            #[cfg(has_poll)]
            AnyPoller::Poll($p) => $call,
            #[cfg(has_epoll)]
            AnyPoller::Epoll($p) => $call,
            #[cfg(has_kqueue)]
            AnyPoller::Kqueue($p) => $call,
            #[cfg(has_uring)]
            AnyPoller::Uring($p) => $call,
            #[cfg(has_iocp)]
            AnyPoller::Iocp($p) => $call,
        }
    };
}

impl AnyPoller {
    /// Creates a poller of `backend`.
    ///
    /// This inherent `new` hides the trait's argument-less [`Poller::new`] when written
    /// `AnyPoller::new()`; for the backend of the environment, call
    /// [`AnyPoller::from_env`].
    ///
    /// # Errors
    /// `Unsupported` when the backend is not in this build (the message lists those that
    /// are), or the backend's own creation errors (io_uring refused by the kernel is
    /// `Unsupported` too, naming the cause).
    pub fn new(backend: Backend) -> io::Result<AnyPoller> {
        match backend {
            #[cfg(has_select)]
            Backend::Select => Ok(AnyPoller::Select(Poller::new()?)),
            #[cfg(has_poll)]
            Backend::Poll => Ok(AnyPoller::Poll(Poller::new()?)),
            #[cfg(has_epoll)]
            Backend::Epoll => Ok(AnyPoller::Epoll(Poller::new()?)),
            #[cfg(has_kqueue)]
            Backend::Kqueue => Ok(AnyPoller::Kqueue(Poller::new()?)),
            #[cfg(has_uring)]
            Backend::Uring => Ok(AnyPoller::Uring(Poller::new()?)),
            #[cfg(has_iocp)]
            Backend::Iocp => Ok(AnyPoller::Iocp(Poller::new()?)),
            #[allow(unreachable_patterns, reason = "reachable when a backend is compiled out")]
            other => Err(other.unavailable()),
        }
    }

    /// Creates a poller of [`Backend::from_env`]: the backend named by the
    /// `MULTIPOLL_BACKEND` environment variable (`select`, `poll`, `epoll`, `kqueue`,
    /// `uring`, `iocp`), or [`DefaultPoller`](crate::DefaultPoller)'s when it is unset or empty.
    ///
    /// `<AnyPoller as Poller>::new()` does the same.
    ///
    /// # Errors
    /// Those of [`Backend::from_env`] (`InvalidInput` for a name multipoll does not know,
    /// `Unsupported` for a backend not available here), then those of
    /// [`AnyPoller::new`].
    pub fn from_env() -> io::Result<AnyPoller> {
        AnyPoller::new(Backend::from_env()?)
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        match self {
            #[cfg(has_select)]
            AnyPoller::Select(_) => Backend::Select,
            #[cfg(has_poll)]
            AnyPoller::Poll(_) => Backend::Poll,
            #[cfg(has_epoll)]
            AnyPoller::Epoll(_) => Backend::Epoll,
            #[cfg(has_kqueue)]
            AnyPoller::Kqueue(_) => Backend::Kqueue,
            #[cfg(has_uring)]
            AnyPoller::Uring(_) => Backend::Uring,
            #[cfg(has_iocp)]
            AnyPoller::Iocp(_) => Backend::Iocp,
        }
    }
}

impl Poller for AnyPoller {
    /// The same as [`AnyPoller::from_env`]: `MULTIPOLL_BACKEND` if set, else
    /// [`DefaultPoller`](crate::DefaultPoller)'s backend. Generic code reaches it as
    /// `P::new()`; written `AnyPoller::new()` the inherent `new(backend)` is meant.
    fn new() -> io::Result<Self> {
        AnyPoller::from_env()
    }

    fn add(&self, fd: Source<'_>, key: usize, interest: Interest, mode: Mode) -> io::Result<()> {
        forward!(self, p => p.add(fd, key, interest, mode))
    }

    fn modify(&self, fd: Source<'_>, key: usize, interest: Interest, mode: Mode) -> io::Result<()> {
        forward!(self, p => p.modify(fd, key, interest, mode))
    }

    fn delete(&self, fd: Source<'_>) -> io::Result<()> {
        forward!(self, p => p.delete(fd))
    }

    fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<usize> {
        forward!(self, p => p.wait(events, timeout))
    }

    fn notify(&self) -> io::Result<()> {
        forward!(self, p => p.notify())
    }

    fn capabilities(&self) -> Capabilities {
        forward!(self, p => p.capabilities())
    }
}
