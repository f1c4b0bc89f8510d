//! The `polling` crate (v3) behind our [`Poller`] trait, for the peer matrix.
//!
//! Every call goes straight to polling's own, as its documentation says to use it: the
//! `*_with_mode` calls for all three modes, `wait` with the caller's timeout, `notify`.
//! Nothing of our contract is added on top: polling's errors, its events and its one-waiter
//! rule come through as they are, so the matrix shows polling, not this file.

use std::io;
use std::num::NonZeroUsize;
use std::time::Duration;

use multipoll_core::backend::per_waiter::PerWaiter;
use multipoll_core::backend::{EventsExt, raw_source};
use multipoll_core::{Capabilities, Event, Events, Interest, Mode, ModeSet, Poller, Source};

/// A `polling::Poller` (on Linux over epoll, on Windows over IOCP and AFD polls), and
/// polling's event buffers: one per thread in `wait`, so that waiters meet only in polling
/// itself.
#[derive(Debug)]
pub struct PollingPeer {
    poller: polling::Poller,
    buffers: PerWaiter<polling::Events>,
}

/// A polling buffer for `capacity` events.
fn buffer(capacity: usize) -> polling::Events {
    polling::Events::with_capacity(NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN))
}

fn poll_mode(mode: Mode) -> polling::PollMode {
    match (mode.is_edge(), mode.is_oneshot()) {
        (false, false) => polling::PollMode::Level,
        (false, true) => polling::PollMode::Oneshot,
        (true, false) => polling::PollMode::Edge,
        (true, true) => polling::PollMode::EdgeOneshot,
    }
}

/// polling's interest is an `Event` with the two flags; `Event::none` is its documented
/// way to disable a registration without deleting it.
fn interest_event(key: usize, interest: Interest) -> polling::Event {
    let mut event = polling::Event::new(key, interest.is_readable(), interest.is_writable());
    event.set_priority(interest.is_priority());
    event
}

/// polling's event, flag for flag. Its `readable` and `writable` already include what the
/// kernel says about hang-ups and errors (`EPOLLHUP`/`EPOLLERR` count as both, in its
/// `src/epoll.rs`; on Windows an AFD `ABORT` or `CONNECT_FAIL` counts as both, in
/// `afd_mask_to_event` of its `src/iocp/mod.rs`); `is_interrupt` is `EPOLLHUP` (AFD's
/// `ABORT`), our `hangup`; `is_err` is `EPOLLERR` (AFD's `CONNECT_FAIL`).
fn to_event(event: polling::Event) -> Event {
    Event::new(event.key)
        .with_readable(event.readable)
        .with_writable(event.writable)
        .with_hangup(event.is_interrupt())
        // `None` is polling's "this platform cannot tell"; epoll and IOCP always can.
        .with_error(event.is_err().unwrap_or(false))
        .with_priority(event.is_priority())
}

impl Poller for PollingPeer {
    fn new() -> io::Result<Self> {
        let buffers = PerWaiter::new(buffer(Events::DEFAULT_CAPACITY));
        Ok(PollingPeer { poller: polling::Poller::new()?, buffers })
    }

    fn add(
        &self,
        source: Source<'_>,
        key: usize,
        interest: Interest,
        mode: Mode,
    ) -> io::Result<()> {
        self.refuse_unsupported(mode)?;
        let event = interest_event(key, interest);
        // SAFETY: polling asks that the source be deleted before it is closed. This file is
        // built on Linux and Windows. On Linux polling's backend is epoll, and there, says
        // its `src/epoll.rs`, "the usual condition of remaining registered in the Poller
        // doesn't apply": the kernel drops a closed fd from the interest list by itself.
        // On Windows its IOCP backend sees the close as an AFD poll completing with
        // `LOCAL_CLOSE` and removes the socket from its table (`src/iocp/mod.rs`). Both are
        // what our contract promises a caller who closes first.
        unsafe { self.poller.add_with_mode(raw_source(source), event, poll_mode(mode)) }
    }

    fn modify(
        &self,
        source: Source<'_>,
        key: usize,
        interest: Interest,
        mode: Mode,
    ) -> io::Result<()> {
        self.refuse_unsupported(mode)?;
        self.poller.modify_with_mode(source, interest_event(key, interest), poll_mode(mode))
    }

    fn delete(&self, source: Source<'_>) -> io::Result<()> {
        self.poller.delete(source)
    }

    fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<usize> {
        events.clear();
        let capacity = events.capacity();
        let new = || Ok(buffer(capacity));
        self.buffers.with(new, |buffer| {
            // Sized to the caller's capacity: a larger one could hand over oneshot or edge
            // events that ours has no room for.
            if buffer.capacity().get() != capacity {
                *buffer = self::buffer(capacity);
            }
            // polling appends to its buffer; ours starts empty on every wait.
            buffer.clear();
            self.poller.wait(buffer, timeout)?;
            for event in buffer.iter().map(to_event) {
                if !events.push(event) {
                    let msg = "polling reported more events than its buffer holds";
                    return Err(io::Error::other(msg));
                }
            }
            Ok(events.len())
        })
    }

    fn notify(&self) -> io::Result<()> {
        self.poller.notify()
    }

    fn capabilities(&self) -> Capabilities {
        // Oneshot is polling's default mode; level and edge are what its backend offers
        // (`supports_level`/`supports_edge`: both true on Linux; on Windows level only, its
        // IOCP backend refusing edge modes), and edge-oneshot with edge.
        let mut modes = ModeSet::of(&[Mode::Oneshot]);
        if self.poller.supports_level() {
            modes = modes.with(Mode::Level);
        }
        if self.poller.supports_edge() {
            modes = modes.with(Mode::Edge).with(Mode::EdgeOneshot);
        }
        // On Linux polling times its waits with a `timerfd`, in nanoseconds (its
        // `src/epoll.rs`; CHANGELOG 0.1.4: "Support sub-nanosecond precision on
        // Linux/Android"; its `tests/precision.rs` checks 100 µs waits). `EPOLLHUP` is
        // reported as soon as it happens, queued data or not (early hang-up); polling
        // never asks for `EPOLLRDHUP`, so a half-close is not a hang-up at all. Priority:
        // `Event::set_priority` asks for `EPOLLPRI` ("supported on ... epoll", its docs).
        let capabilities = Capabilities::new("polling", modes).with_priority(true);
        // On Windows its waits are `GetQueuedCompletionStatusEx` in milliseconds, rounded
        // up (`dur2timeout` in its `src/iocp/mod.rs`), and no high-resolution timer is
        // asked for, so a timeout ends on a tick of the system clock: "the wait can be
        // anywhere between one and two ticks" (Microsoft's `Sleep` docs, of every wait
        // function's timeout), a tick being 15.625 ms by default ("The default platform
        // timer resolution is 15.6ms", Microsoft's timer guidance). Priority is AFD's
        // `RECEIVE_EXPEDITED`.
        #[cfg(windows)]
        let capabilities = capabilities.with_timeout_precision(Duration::from_micros(15_625));
        capabilities
    }
}

impl PollingPeer {
    /// A mode polling's backend cannot do is refused with `Unsupported`, as our contract
    /// asks; polling's own answer (IOCP: `InvalidInput`, "edge-triggered events are not
    /// supported") would read as bad input.
    fn refuse_unsupported(&self, mode: Mode) -> io::Result<()> {
        if self.capabilities().supports(mode) {
            Ok(())
        } else {
            let message = format!("polling does not support {mode} mode here");
            Err(io::Error::new(io::ErrorKind::Unsupported, message))
        }
    }
}
