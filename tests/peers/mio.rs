//! mio (v1) behind our [`Poller`] trait, for the peer matrix.
//!
//! mio registers through a [`mio::Registry`] (shareable, `&self`) and waits through
//! [`mio::Poll::poll`], which takes `&mut self`: one waiter at a time is mio's design. Our
//! trait's `wait` takes `&self`, so the `Poll` sits behind a [`Mutex`], and that is this
//! adapter's one cost of its own: a second thread calling `wait` blocks on the lock until
//! the first one's wait returns, its timeout not running meanwhile, which behaviours with
//! two waiters see. Registration never takes the lock, so `add`, `modify` and `delete`
//! during a blocked wait reach the kernel at once, as mio's `Registry` allows.
//!
//! What mio cannot express is refused, as our contract says, never emulated: mio is
//! always edge-triggered (no level, no oneshot in 1.x) and has no empty [`mio::Interest`],
//! so [`Mode::Level`], [`Mode::Oneshot`] and [`Interest::NONE`] are `Unsupported`. The
//! wake-up is a [`mio::Waker`] under our [`RESERVED_KEY`] as its token, which is why that
//! key is refused here as on our backends.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use mio::unix::SourceFd;
use mio::{Registry, Token};
use multipoll::{Capabilities, Event, Events, Interest, Mode, ModeSet, Poller, RESERVED_KEY};
use multipoll_core::backend::EventsExt;
use multipoll_core::backend::checks::check_registration;

/// A `mio::Poll` (on Linux, over epoll).
#[derive(Debug)]
pub struct MioPeer {
    /// A clone of the `Poll`'s registry: registration without the waiter's lock.
    registry: Registry,
    waiter: Mutex<Waiter>,
    waker: mio::Waker,
}

/// What only the waiting thread touches.
#[derive(Debug)]
struct Waiter {
    poll: mio::Poll,
    /// mio's buffer, sized to the caller's `Events`: a larger one could hand over edge
    /// events that ours has no room for.
    events: mio::Events,
}

const WAKER: Token = Token(RESERVED_KEY);

// Edge only: "Mio uses edge-triggers" (`Event::is_readable`'s docs); its epoll selector
// sets `EPOLLET` on every registration. "the `timeout` will be rounded up to the system
// clock granularity (usually 1ms)" (`Poll::poll`'s docs); its epoll selector rounds up to
// whole milliseconds. `is_error` is `EPOLLERR`; `EPOLLRDHUP` is asked for with readable
// interest, so a half-close is seen at once (early hang-up). `Interest::PRIORITY` exists
// only on some targets (`mio::Interest::PRIORITY`, Linux/Android): not adapted.
const CAPABILITIES: Capabilities = Capabilities::new("mio", ModeSet::of(&[Mode::Edge]))
    .with_timeout_precision(Duration::from_millis(1));

/// The contract's checks (key, mode) and mio's missing empty interest.
fn interest(key: usize, interest: Interest, mode: Mode) -> io::Result<mio::Interest> {
    check_registration(&CAPABILITIES, key, interest, mode)?;
    match (interest.is_readable(), interest.is_writable()) {
        (true, true) => Ok(mio::Interest::READABLE | mio::Interest::WRITABLE),
        (true, false) => Ok(mio::Interest::READABLE),
        (false, true) => Ok(mio::Interest::WRITABLE),
        (false, false) => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "mio has no empty interest; deregister instead of Interest::NONE",
        )),
    }
}

/// mio's event, by meaning: a closed read half means a read returns end of file at once
/// (readable, with our `hangup`); a closed write half means a write fails at once
/// (writable, as our `writable` documents). mio's flags are hints and not filtered by the
/// registration's interest; neither are they here.
fn to_event(event: &mio::event::Event) -> Event {
    Event::new(event.token().0)
        .with_readable(event.is_readable() || event.is_read_closed())
        .with_writable(event.is_writable() || event.is_write_closed())
        .with_hangup(event.is_read_closed())
        .with_error(event.is_error())
}

impl Poller for MioPeer {
    fn new() -> io::Result<Self> {
        let poll = mio::Poll::new()?;
        let registry = poll.registry().try_clone()?;
        let waker = mio::Waker::new(poll.registry(), WAKER)?;
        let events = mio::Events::with_capacity(Events::DEFAULT_CAPACITY);
        Ok(MioPeer { registry, waiter: Mutex::new(Waiter { poll, events }), waker })
    }

    fn add(
        &self,
        fd: BorrowedFd<'_>,
        key: usize,
        interest: Interest,
        mode: Mode,
    ) -> io::Result<()> {
        let interest = self::interest(key, interest, mode)?;
        self.registry.register(&mut SourceFd(&fd.as_raw_fd()), Token(key), interest)
    }

    fn modify(
        &self,
        fd: BorrowedFd<'_>,
        key: usize,
        interest: Interest,
        mode: Mode,
    ) -> io::Result<()> {
        let interest = self::interest(key, interest, mode)?;
        self.registry.reregister(&mut SourceFd(&fd.as_raw_fd()), Token(key), interest)
    }

    fn delete(&self, fd: BorrowedFd<'_>) -> io::Result<()> {
        self.registry.deregister(&mut SourceFd(&fd.as_raw_fd()))
    }

    fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<usize> {
        events.clear();
        // The lock guards no invariant a panicking waiter could break: carry on.
        let mut waiter = self.waiter.lock().unwrap_or_else(PoisonError::into_inner);
        let Waiter { poll, events: buffer } = &mut *waiter;
        if buffer.capacity() != events.capacity() {
            *buffer = mio::Events::with_capacity(events.capacity());
        }
        // mio returns `EINTR` as an error, by design ("This returns any errors without
        // attempting to retry", `Poll::poll`'s docs): passed on as it is.
        poll.poll(buffer, timeout)?;
        for event in buffer.iter().filter(|e| e.token() != WAKER) {
            if !events.push(to_event(event)) {
                return Err(io::Error::other("mio reported more events than its buffer holds"));
            }
        }
        Ok(events.len())
    }

    fn notify(&self) -> io::Result<()> {
        self.waker.wake()
    }

    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }
}
