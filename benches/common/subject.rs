//! The pollers under test, behind the few operations the benches time.
//!
//! Ours go through `multipoll::Poller` on their concrete types (`Select`, `Poll`,
//! `Epoll`), generic over `P: Poller`, exactly as a user would call them. The peers are the
//! `polling` crate and `mio`, each used as its documentation says.

use std::io;
use std::num::NonZeroUsize;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::sync::Arc;
use std::time::Duration;

use multipoll::{Events, Interest, Mode, Poller};

/// How a registration reports readiness.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// On every wait while ready.
    Level,
    /// Once per readiness change.
    Edge,
    /// Once, until re-armed by `modify`.
    Oneshot,
}

/// What a registration watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Want {
    /// Readable.
    Read,
    /// Readable and writable.
    ReadWrite,
}

/// Wakes a poller's blocked `wait` from another thread.
pub type Waker = Arc<dyn Fn() -> io::Result<()> + Send + Sync>;

/// One poller under test.
pub trait Subject: Sized + Send + 'static {
    /// The name in benchmark ids: `select`, `poll`, `epoll`, `polling`, `mio`.
    const NAME: &'static str;

    /// Creates the poller.
    fn create() -> io::Result<Self>;

    /// Whether it can register with `trigger`.
    fn supports(trigger: Trigger) -> bool;

    /// Registers `fd` (which stays open until `delete`).
    fn add(
        &mut self,
        fd: BorrowedFd<'_>,
        key: usize,
        want: Want,
        trigger: Trigger,
    ) -> io::Result<()>;

    /// Changes a registration, re-arming it.
    fn modify(
        &mut self,
        fd: BorrowedFd<'_>,
        key: usize,
        want: Want,
        trigger: Trigger,
    ) -> io::Result<()>;

    /// Removes a registration.
    fn delete(&mut self, fd: BorrowedFd<'_>) -> io::Result<()>;

    /// Waits; returns how many events it got (a wake-up may count as one).
    fn wait(&mut self, timeout: Option<Duration>) -> io::Result<usize>;

    /// A handle that wakes this poller's `wait` from another thread.
    fn waker(&mut self) -> io::Result<Waker>;
}

/// The name of one of our backends.
pub trait Named {
    /// As in `Capabilities::name`.
    const NAME: &'static str;
}

impl Named for multipoll::Select {
    const NAME: &'static str = "select";
}
impl Named for multipoll::Poll {
    const NAME: &'static str = "poll";
}
impl Named for multipoll::Epoll {
    const NAME: &'static str = "epoll";
}
impl Named for multipoll::Uring {
    const NAME: &'static str = "uring";
}

/// One of our backends, through the `Poller` trait.
#[derive(Debug)]
pub struct Ours<P> {
    poller: Arc<P>,
    events: Events,
}

fn mode(trigger: Trigger) -> Mode {
    match trigger {
        Trigger::Level => Mode::Level,
        Trigger::Edge => Mode::Edge,
        Trigger::Oneshot => Mode::Oneshot,
    }
}

fn interest(want: Want) -> Interest {
    match want {
        Want::Read => Interest::READABLE,
        Want::ReadWrite => Interest::BOTH,
    }
}

impl<P: Poller + Named + 'static> Subject for Ours<P> {
    const NAME: &'static str = P::NAME;

    fn create() -> io::Result<Self> {
        Ok(Ours { poller: Arc::new(P::new()?), events: Events::new() })
    }

    fn supports(trigger: Trigger) -> bool {
        P::new().is_ok_and(|p| p.capabilities().supports(mode(trigger)))
    }

    fn add(
        &mut self,
        fd: BorrowedFd<'_>,
        key: usize,
        want: Want,
        trigger: Trigger,
    ) -> io::Result<()> {
        self.poller.add(fd, key, interest(want), mode(trigger))
    }

    fn modify(
        &mut self,
        fd: BorrowedFd<'_>,
        key: usize,
        want: Want,
        trigger: Trigger,
    ) -> io::Result<()> {
        self.poller.modify(fd, key, interest(want), mode(trigger))
    }

    fn delete(&mut self, fd: BorrowedFd<'_>) -> io::Result<()> {
        self.poller.delete(fd)
    }

    fn wait(&mut self, timeout: Option<Duration>) -> io::Result<usize> {
        self.poller.wait(&mut self.events, timeout)
    }

    fn waker(&mut self) -> io::Result<Waker> {
        let poller = Arc::clone(&self.poller);
        Ok(Arc::new(move || poller.notify()))
    }
}

/// The `polling` crate (v3): level, edge and oneshot modes, `notify` built in.
#[derive(Debug)]
pub struct PollingCrate {
    poller: Arc<polling::Poller>,
    events: polling::Events,
}

fn polling_event(key: usize, want: Want) -> polling::Event {
    match want {
        Want::Read => polling::Event::readable(key),
        Want::ReadWrite => polling::Event::all(key),
    }
}

fn polling_mode(trigger: Trigger) -> polling::PollMode {
    match trigger {
        Trigger::Level => polling::PollMode::Level,
        Trigger::Edge => polling::PollMode::Edge,
        Trigger::Oneshot => polling::PollMode::Oneshot,
    }
}

impl Subject for PollingCrate {
    const NAME: &'static str = "polling";

    fn create() -> io::Result<Self> {
        let capacity = NonZeroUsize::new(Events::DEFAULT_CAPACITY).expect("non-zero");
        Ok(PollingCrate {
            poller: Arc::new(polling::Poller::new()?),
            events: polling::Events::with_capacity(capacity),
        })
    }

    fn supports(_: Trigger) -> bool {
        true
    }

    fn add(
        &mut self,
        fd: BorrowedFd<'_>,
        key: usize,
        want: Want,
        trigger: Trigger,
    ) -> io::Result<()> {
        let event = polling_event(key, want);
        // SAFETY: the benches delete every fd from the poller before closing it.
        unsafe { self.poller.add_with_mode(fd.as_raw_fd(), event, polling_mode(trigger)) }
    }

    fn modify(
        &mut self,
        fd: BorrowedFd<'_>,
        key: usize,
        want: Want,
        trigger: Trigger,
    ) -> io::Result<()> {
        self.poller.modify_with_mode(fd, polling_event(key, want), polling_mode(trigger))
    }

    fn delete(&mut self, fd: BorrowedFd<'_>) -> io::Result<()> {
        self.poller.delete(fd)
    }

    fn wait(&mut self, timeout: Option<Duration>) -> io::Result<usize> {
        // polling appends to the list: clear it, as an event loop does between waits.
        self.events.clear();
        self.poller.wait(&mut self.events, timeout)
    }

    fn waker(&mut self) -> io::Result<Waker> {
        let poller = Arc::clone(&self.poller);
        Ok(Arc::new(move || poller.notify()))
    }
}

/// mio (v1): always edge-triggered; "oneshot" is its documented pattern of re-arming with
/// `reregister`; wake-ups go through a registered `Waker`.
#[derive(Debug)]
pub struct Mio {
    poll: mio::Poll,
    events: mio::Events,
}

/// The token of the mio `Waker` (never a registration key in the benches).
const MIO_WAKER: mio::Token = mio::Token(usize::MAX - 1);

fn mio_interest(want: Want) -> mio::Interest {
    match want {
        Want::Read => mio::Interest::READABLE,
        Want::ReadWrite => mio::Interest::READABLE | mio::Interest::WRITABLE,
    }
}

impl Subject for Mio {
    const NAME: &'static str = "mio";

    fn create() -> io::Result<Self> {
        Ok(Mio { poll: mio::Poll::new()?, events: mio::Events::with_capacity(1024) })
    }

    fn supports(trigger: Trigger) -> bool {
        trigger != Trigger::Level
    }

    fn add(&mut self, fd: BorrowedFd<'_>, key: usize, want: Want, _: Trigger) -> io::Result<()> {
        let raw = fd.as_raw_fd();
        let mut source = mio::unix::SourceFd(&raw);
        self.poll.registry().register(&mut source, mio::Token(key), mio_interest(want))
    }

    fn modify(&mut self, fd: BorrowedFd<'_>, key: usize, want: Want, _: Trigger) -> io::Result<()> {
        let raw = fd.as_raw_fd();
        let mut source = mio::unix::SourceFd(&raw);
        self.poll.registry().reregister(&mut source, mio::Token(key), mio_interest(want))
    }

    fn delete(&mut self, fd: BorrowedFd<'_>) -> io::Result<()> {
        let raw = fd.as_raw_fd();
        self.poll.registry().deregister(&mut mio::unix::SourceFd(&raw))
    }

    fn wait(&mut self, timeout: Option<Duration>) -> io::Result<usize> {
        self.poll.poll(&mut self.events, timeout)?;
        Ok(self.events.iter().count())
    }

    fn waker(&mut self) -> io::Result<Waker> {
        let waker = mio::Waker::new(self.poll.registry(), MIO_WAKER)?;
        Ok(Arc::new(move || waker.wake()))
    }
}
