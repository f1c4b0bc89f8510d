//! One event loop: it waits, hands each event to the part it is for (the [`Listener`], or
//! [`Conns`] for a connection), gives a turn to what has work that no event announces,
//! and fires deadlines. It owns the poller and the clock of the turn; each part owns its
//! own state and deadline (see `docs/design.md`, *The echo server's loop*).
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
    stats: Arc<Stats>,
    /// The time after the last wait.
    now: Instant,
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
        Ok(EventLoop {
            index,
            poller,
            listener,
            conns: Conns::new(index, config, protocol, Arc::clone(&stats)),
            drain: shutdown.drain(config.drain_timeout),
            wait_backoff: WaitBackoff::new(index),
            stats,
            now: Instant::now(),
        })
    }

    /// Its index among the server's loops.
    pub(crate) fn index(&self) -> usize {
        self.index
    }

    fn stats(&self) -> &LoopStats {
        &self.stats.loops()[self.index]
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
            // `self.now` is the time after the last wait; the clock is read again before a
            // wait only where a deadline needs it (`begin_drain`, `timeout`), so a loop
            // with no deadlines (the default) reads it once per turn.
            if self.drain.should_begin() {
                self.now = Instant::now();
                self.conns.begin_turn(self.now);
                self.begin_drain();
            }
            if self.drain.is_draining() && self.conns.is_empty() {
                break;
            }
            self.conns.publish();
            match self.poller.wait(&mut events, self.timeout()) {
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
            self.now = Instant::now();
            self.conns.begin_turn(self.now);
            for event in &events {
                if event.key() == LISTENER {
                    self.listener.on_event();
                    self.accept();
                } else {
                    self.conns.on_event(*event, &*self.poller);
                }
            }
            self.serve_ready();
            self.fire_deadlines();
        }
        self.close_all();
        self.conns.publish();
        log::info!("loop {}: stopped: {}", self.index, self.stats().snapshot());
        Ok(())
    }

    /// How long `wait` may block: zero while a part has work that no event announces,
    /// else until the nearest deadline, for ever when none is pending.
    fn timeout(&self) -> Option<Duration> {
        if self.conns.has_ready() || self.listener.has_more() {
            return Some(Duration::ZERO);
        }
        let deadlines =
            [self.conns.next_deadline(), self.listener.deadline(), self.drain.deadline()];
        // A fresh clock: `self.now` is as old as this turn's work, and a timeout from it
        // would wait that much too long.
        deadlines.into_iter().flatten().min().map(|at| at.saturating_duration_since(Instant::now()))
    }

    /// Accepts what the listener hands over, and serves it.
    fn accept(&mut self) {
        let stats = &self.stats.loops()[self.index];
        while let Some(stream) = self.listener.accept(&*self.poller, self.now, stats) {
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

    fn fire_deadlines(&mut self) {
        self.conns.expire(&*self.poller);
        self.listener.resume_if_due(&*self.poller, self.now);
        if self.drain.is_over(self.now) && !self.conns.is_empty() {
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
    fn begin_drain(&mut self) {
        log::info!("loop {}: shutting down, draining {} connections", self.index, self.conns.len());
        self.listener.close(&*self.poller);
        self.drain.begin(self.now);
        self.conns.begin_drain(&*self.poller);
    }

    fn close_all(&mut self) {
        self.conns.close_all(&*self.poller);
        self.listener.close(&*self.poller);
    }
}
