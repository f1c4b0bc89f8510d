//! Graceful shutdown: [`ShutdownHandle`], which anyone may hold and fire, and [`Drain`],
//! each loop's side of it (whether to begin, and the deadline for flushing).
//!
//! Firing is a flag and one `notify` per loop; each loop notices the flag when it wakes,
//! stops accepting, lets every connection answer what it had received, and closes what
//! is still open when the drain timeout passes.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use multipoll::Poller;

/// What the handles and the loops share.
struct Signal {
    requested: AtomicBool,
    /// The loops' pollers, to wake them. Shutdown is not the hot path, so `dyn` is fine.
    wakers: Vec<Arc<dyn Poller>>,
}

/// Stops a [`Server`](crate::Server): its loops stop accepting, answer what they
/// received, flush (up to [`Config::drain_timeout`](crate::Config::drain_timeout)), close
/// everything and return from [`Server::run`](crate::Server::run).
///
/// Cheap to clone, `Send + Sync`; [`shutdown`](ShutdownHandle::shutdown) is a flag and one
/// `notify` per loop, fine to call from a signal handler or a signal-handling thread.
#[derive(Clone)]
pub struct ShutdownHandle {
    signal: Arc<Signal>,
}

impl fmt::Debug for ShutdownHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShutdownHandle")
            .field("requested", &self.signal.requested)
            .field("loops", &self.signal.wakers.len())
            .finish()
    }
}

impl ShutdownHandle {
    /// A handle that wakes the loops waiting on `wakers`.
    pub(crate) fn new(wakers: Vec<Arc<dyn Poller>>) -> ShutdownHandle {
        ShutdownHandle { signal: Arc::new(Signal { requested: AtomicBool::new(false), wakers }) }
    }

    /// Asks every loop to stop; returns at once (wait for
    /// [`Server::run`](crate::Server::run) to return). Calling it again does nothing more.
    ///
    /// # Errors
    /// A poller's `notify` failed (the loop then stops at its next wake-up).
    pub fn shutdown(&self) -> io::Result<()> {
        self.signal.requested.store(true, Ordering::Release);
        self.signal.wakers.iter().try_for_each(|p| p.notify())
    }

    /// Whether shutdown was asked for.
    #[inline]
    pub fn is_requested(&self) -> bool {
        self.signal.requested.load(Ordering::Acquire)
    }

    /// Passes `result` on, shutting the loops down first if it is an error (so that one
    /// loop failing stops the others).
    pub(crate) fn on_error(&self, result: io::Result<()>) -> io::Result<()> {
        if result.is_err() {
            let _ = self.shutdown();
        }
        result
    }

    /// One loop's side of it, draining for at most `timeout`.
    pub(crate) fn drain(&self, timeout: Duration) -> Drain {
        Drain { handle: self.clone(), timeout, deadline: None }
    }
}

/// One loop's side of shutdown: whether it has begun, and until when it may flush.
#[derive(Debug)]
pub(crate) struct Drain {
    handle: ShutdownHandle,
    timeout: Duration,
    deadline: Option<Instant>,
}

impl Drain {
    /// Whether shutdown was asked for: from then on the loop drains (see
    /// [`Drain::is_draining`] for whether it has begun).
    #[inline]
    pub(crate) fn is_wanted(&self) -> bool {
        self.handle.is_requested()
    }

    /// Begins draining at `now`.
    pub(crate) fn begin(&mut self, now: Instant) {
        self.deadline = Some(now + self.timeout);
    }

    pub(crate) fn is_draining(&self) -> bool {
        self.deadline.is_some()
    }

    /// When flushing stops and what is left is closed.
    #[inline]
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Whether the drain timeout has passed.
    pub(crate) fn is_over(&self, now: Instant) -> bool {
        self.deadline.is_some_and(|at| at <= now)
    }
}
