//! One event loop: it waits, hands each event to the part it is for (the [`Listener`], or
//! [`Conns`] for a connection), gives a turn to what has work that no event announces,
//! and fires deadlines. It owns the poller and the clock of the turn; each part owns its
//! own state and deadline (see `docs/design.md`, *The echo server's loop*).
//!
//! Work that is not due costs a comparison: the nearest of the parts' deadlines is kept
//! from the last wait, and the ready list is served only when a part has one. The clock
//! is read at most once per turn, and only when something needs the time: connections
//! when an idle timeout is set, and a pending deadline. So a deadline may fire late by
//! the work of one turn (its timeout is counted from the turn's time, not from the
//! wait), and a loop with no deadline (the default) never reads the clock.
//!
//! A wait that fails for want of memory is retried after a short back-off
//! ([`WaitBackoff`]); one that retrying cannot fix (`EBADF`, `EINVAL`, `EFAULT`) stops the
//! loop, after closing every connection and the listener.
//!
//! The loop knows nothing of echo: [`Conns`] hands received bytes to a [`Protocol`].

use std::io;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use multipoll::{Events, Poller};

use crate::conns::Conns;
use crate::listener::{LISTENER, Listener};
use crate::shutdown::{Drain, ShutdownHandle};
use crate::stats::{LoopStats, Stats};
use crate::wait_backoff::WaitBackoff;
use crate::{Config, Protocol};

/// The most events one `wait` reports.
const EVENTS: usize = 1024;

/// One event loop; see the [module docs](self).
pub(crate) struct EventLoop<P, H: Protocol> {
    index: usize,
    poller: Arc<P>,
    listener: Listener,
    conns: Conns<H>,
    drain: Drain,
    wait_backoff: WaitBackoff,
    /// This loop's counters in the server's [`Stats`].
    stats: Arc<LoopStats>,
    /// Whether connections need the turn's time (an idle timeout is set).
    keeps_time: bool,
    /// The nearest deadline of any part, as the last wait's timeout saw it.
    due: Option<Instant>,
    /// The time of this turn, once read.
    now: Option<Instant>,
}

impl<P: Poller, H: Protocol> EventLoop<P, H> {
    /// Loop `index`, serving `listener` (bound, non-blocking), which it registers now.
    ///
    /// # Errors
    /// The listener's registration.
    pub(crate) fn new(
        index: usize,
        poller: Arc<P>,
        listener: TcpListener,
        config: &Config,
        protocol: H,
        stats: Arc<Stats>,
        shutdown: &ShutdownHandle,
    ) -> io::Result<EventLoop<P, H>> {
        let listener =
            Listener::register(listener, &*poller, config.mode, config.accept_backoff, index)?;
        let priority = poller.capabilities().priority();
        Ok(EventLoop {
            index,
            poller,
            listener,
            conns: Conns::new(index, config, protocol, Arc::clone(&stats), priority),
            stats: stats.of_loop(index),
            drain: shutdown.drain(config.drain_timeout),
            wait_backoff: WaitBackoff::new(index),
            keeps_time: config.idle_timeout.is_some(),
            due: None,
            now: None,
        })
    }

    /// Its index among the server's loops.
    pub(crate) fn index(&self) -> usize {
        self.index
    }

    fn stats(&self) -> &LoopStats {
        &self.stats
    }

    /// Runs until shutdown is requested and every connection is drained (or the drain
    /// timeout passes).
    ///
    /// # Errors
    /// A `wait` failure that retrying cannot fix (see [`WaitBackoff`]), after closing
    /// everything.
    pub(crate) fn run(mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(EVENTS);
        loop {
            if self.drain.is_wanted() && self.drain_turn() {
                break;
            }
            self.conns.publish();
            let timeout = self.timeout();
            match self.poller.wait(&mut events, timeout) {
                Ok(_) => self.wait_backoff.succeeded(),
                Err(e) => {
                    if let Err(e) = self.wait_backoff.failed(e) {
                        log::error!("loop {}: wait failed: {e}; stopping", self.index);
                        self.close_all();
                        return Err(e);
                    }
                    // A failed wait may leave the last turn's events in place: none is new.
                    events.clear();
                }
            }
            self.now = None;
            // Whether this turn needs the time: for the connections, or for a deadline.
            let timed = self.keeps_time || self.due.is_some();
            if timed {
                let now = self.now();
                self.conns.begin_turn(now);
            }
            for event in &events {
                if event.key() == LISTENER {
                    self.listener.on_event();
                    self.accept();
                } else {
                    self.conns.on_event(*event, &*self.poller);
                }
            }
            if self.conns.has_ready() || self.listener.has_more() {
                self.serve_ready();
            }
            if timed
                && let (Some(due), Some(now)) = (self.due, self.now)
                && due <= now
            {
                self.fire_deadlines(now);
            }
        }
        self.close_all();
        self.conns.publish();
        log::info!("loop {}: stopped: {}", self.index, self.stats().snapshot());
        Ok(())
    }

    /// The time of this turn: read from the clock the first time it is asked for.
    fn now(&mut self) -> Instant {
        *self.now.get_or_insert_with(Instant::now)
    }

    /// How long `wait` may block: zero while a part has work that no event announces,
    /// else until the nearest deadline (kept in `due`), for ever when none is pending.
    fn timeout(&mut self) -> Option<Duration> {
        let nearest = |a: Option<Instant>, b: Option<Instant>| match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.due = nearest(
            nearest(self.conns.next_deadline(), self.listener.deadline()),
            self.drain.deadline(),
        );
        if self.conns.has_ready() || self.listener.has_more() {
            return Some(Duration::ZERO);
        }
        let due = self.due?;
        Some(due.saturating_duration_since(self.now()))
    }

    /// Accepts what the listener hands over, and serves it.
    fn accept(&mut self) {
        while let Some(stream) = self.listener.accept(&*self.poller, &self.stats) {
            self.conns.admit(stream, &*self.poller);
        }
    }

    /// The turn of what has work that no event announced.
    fn serve_ready(&mut self) {
        let accept = self.listener.take_more();
        self.conns.serve_ready(&*self.poller);
        if accept {
            self.accept();
        }
    }

    /// Fires what is due at `now` (the nearest deadline is).
    #[cold]
    #[inline(never)]
    fn fire_deadlines(&mut self, now: Instant) {
        self.conns.expire(&*self.poller);
        self.listener.resume_if_due(&*self.poller, now);
        if self.drain.is_over(now) && !self.conns.is_empty() {
            log::warn!(
                "loop {}: drain timeout: closing {} connections with {} bytes unsent",
                self.index,
                self.conns.len(),
                self.conns.queued()
            );
            self.close_all();
        }
    }

    /// Stops accepting, and lets every connection answer what it already received.
    /// Shutdown was asked for: begins the drain if it has not begun; returns whether it is
    /// over (no connection left).
    #[cold]
    #[inline(never)]
    fn drain_turn(&mut self) -> bool {
        if !self.drain.is_draining() {
            self.begin_drain();
        }
        self.conns.is_empty()
    }

    fn begin_drain(&mut self) {
        log::info!("loop {}: shutting down, draining {} connections", self.index, self.conns.len());
        self.listener.close(&*self.poller);
        let now = self.now();
        self.drain.begin(now);
        self.conns.begin_turn(now);
        self.conns.begin_drain(&*self.poller);
    }

    fn close_all(&mut self) {
        self.conns.close_all(&*self.poller);
        self.listener.close(&*self.poller);
    }
}
