//! One event loop: a poller, a listener, the connections it accepted, one read buffer
//! for all of them, and the deadlines that set how long `wait` may block.
//!
//! The loop knows nothing of echo: it hands received bytes to a [`Protocol`] and does the
//! rest (readiness in every [`Mode`], backpressure, timeouts, accept back-off, shutdown).
//!
//! Fairness: in edge mode a connection must be read until `WouldBlock`, and a fast client
//! could keep one read loop busy for ever. So each connection gets a budget of reads per
//! turn; one that used it up goes on a ready list, served after the others with a zero
//! wait timeout. The same list covers input that no new event will announce: a connection
//! that was just resumed after backpressure, the listener after an accept back-off.

use std::io;
use std::mem;
use std::net::{Shutdown, TcpListener};
use std::os::fd::AsFd;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use multipoll::{Event, Events, Mode, Poller};
use slab::Slab;

use crate::conn::{Conn, Phase};
use crate::io::{self as conn_io, ReadCx, Stop};
use crate::server::ShutdownInner;
use crate::stats::{LoopStats, Stats};
use crate::sys::bytes_readable;
use crate::timer::Timers;
use crate::{Config, Protocol};

/// The listener's key; connections use their slab index.
pub(crate) const LISTENER: usize = usize::MAX - 1;

/// Reads per connection per turn when a turn may read more than once (edge mode, or
/// after a hang-up, when the rest of the input and then end of file must be read).
const READ_BUDGET: usize = 16;

/// The most events one `wait` reports.
const EVENTS: usize = 1024;

/// One event loop; see the [module docs](self).
pub(crate) struct EventLoop<P, H: Protocol> {
    pub(crate) index: usize,
    pub(crate) poller: Arc<P>,
    pub(crate) config: Config,
    pub(crate) listener: Option<TcpListener>,
    /// In oneshot mode: whether the listener's registration is armed.
    pub(crate) listener_armed: bool,
    /// Whether the listener is registered with the poller (it is not while an accept
    /// back-off could not silence it; see `pause_accepting`).
    pub(crate) listener_registered: bool,
    /// Not accepting until then, after running out of fds or memory.
    pub(crate) accept_paused_until: Option<Instant>,
    pub(crate) protocol: H,
    pub(crate) conns: Slab<Conn<H::Session>>,
    pub(crate) next_id: u64,
    buf: Box<[u8]>,
    /// Keys to serve without waiting for an event (see the module docs).
    pub(crate) ready: Vec<usize>,
    ready_spare: Vec<usize>,
    /// Idle deadlines: `(connection id, key)`.
    pub(crate) timers: Timers<(u64, usize)>,
    drain_deadline: Option<Instant>,
    pub(crate) stats: Arc<Stats>,
    shutdown: Arc<ShutdownInner>,
    pub(crate) now: Instant,
}

impl<P: Poller, H: Protocol> EventLoop<P, H> {
    /// A loop over `listener` (already non-blocking), not yet registered.
    pub(crate) fn new(
        index: usize,
        poller: Arc<P>,
        listener: TcpListener,
        config: Config,
        protocol: H,
        stats: Arc<Stats>,
        shutdown: Arc<ShutdownInner>,
    ) -> EventLoop<P, H> {
        EventLoop {
            index,
            poller,
            buf: vec![0; config.read_buffer].into_boxed_slice(),
            config,
            listener: Some(listener),
            listener_armed: true,
            listener_registered: true,
            accept_paused_until: None,
            protocol,
            conns: Slab::new(),
            next_id: 0,
            ready: Vec::new(),
            ready_spare: Vec::new(),
            timers: Timers::new(),
            drain_deadline: None,
            stats,
            shutdown,
            now: Instant::now(),
        }
    }

    pub(crate) fn loop_stats(&self) -> &LoopStats {
        &self.stats.loops()[self.index]
    }

    /// Runs until shutdown is requested and every connection is drained (or the drain
    /// timeout passes).
    ///
    /// # Errors
    /// Registering the listener, or a `wait` failure (which retrying cannot fix).
    pub(crate) fn run(mut self) -> io::Result<()> {
        if let Some(listener) = &self.listener {
            self.poller.add(
                listener.as_fd(),
                LISTENER,
                multipoll::Interest::READABLE,
                self.mode(),
            )?;
        }
        let mut events = Events::with_capacity(EVENTS);
        loop {
            // `self.now` is the time after the last wait; the clock is read again before a
            // wait only where a deadline needs it (`begin_drain`, `timeout`), so a loop
            // with no deadlines (the default) reads it once per turn.
            if self.drain_deadline.is_none() && self.shutdown.requested.load(Ordering::Acquire) {
                self.now = Instant::now();
                self.begin_drain();
            }
            if self.drain_deadline.is_some() && self.conns.is_empty() {
                break;
            }
            let timeout = self.timeout();
            if let Err(e) = self.poller.wait(&mut events, timeout) {
                log::error!("loop {}: wait failed: {e}", self.index);
                self.close_all();
                return Err(e);
            }
            self.now = Instant::now();
            for event in &events {
                self.dispatch(*event);
            }
            self.serve_ready();
            self.run_timers();
        }
        self.close_all();
        log::info!("loop {}: stopped: {}", self.index, self.loop_stats().snapshot());
        Ok(())
    }

    pub(crate) fn mode(&self) -> Mode {
        self.config.mode
    }

    /// How long `wait` may block: until the nearest deadline, zero while the ready list
    /// has work, for ever when nothing is due.
    fn timeout(&self) -> Option<Duration> {
        if !self.ready.is_empty() {
            return Some(Duration::ZERO);
        }
        let deadlines = [self.timers.next(), self.accept_paused_until, self.drain_deadline];
        // A fresh clock: `self.now` is as old as this turn's work, and a timeout from it
        // would wait that much too long.
        deadlines.into_iter().flatten().min().map(|at| at.saturating_duration_since(Instant::now()))
    }

    fn dispatch(&mut self, event: Event) {
        if event.key() == LISTENER {
            self.listener_armed = false;
            self.accept();
            return;
        }
        let mode = self.mode();
        let Some(conn) = self.conns.get_mut(event.key()) else {
            return; // Closed earlier in this batch.
        };
        if mode.is_oneshot() {
            conn.armed = false;
        }
        let reads = if mode.is_edge() || event.is_hangup() { READ_BUDGET } else { 1 };
        let result = self.on_event(event, reads);
        self.settle(event.key(), result);
    }

    fn on_event(&mut self, event: Event, reads: usize) -> io::Result<()> {
        let stats = &self.stats.loops()[self.index];
        let conn = &mut self.conns[event.key()];
        if event.is_error()
            && let Some(e) = conn.stream.take_error()?
        {
            return Err(e);
        }
        if event.is_writable() {
            conn_io::flush(conn, stats, self.now)?;
        }
        if event.is_readable() || event.is_hangup() {
            self.read(event.key(), reads)?;
        }
        Ok(())
    }

    /// Reads from connection `key`; puts it on the ready list when the budget ran out.
    fn read(&mut self, key: usize, reads: usize) -> io::Result<()> {
        let conn = &mut self.conns[key];
        let mut cx = ReadCx {
            buf: &mut self.buf,
            protocol: &mut self.protocol,
            stats: &self.stats.loops()[self.index],
            high_water: self.config.high_water,
            now: self.now,
        };
        // Level and oneshot modes read once per event (the next wait reports the rest);
        // a budget of more than one means the caller needs the rest read without an event.
        if conn_io::read(conn, &mut cx, reads)? == Stop::Budget && reads > 1 {
            self.mark_ready(key);
        }
        Ok(())
    }

    pub(crate) fn mark_ready(&mut self, key: usize) {
        if key == LISTENER {
            if !self.ready.contains(&LISTENER) {
                self.ready.push(LISTENER);
            }
        } else if let Some(conn) = self.conns.get_mut(key)
            && !conn.ready
        {
            conn.ready = true;
            self.ready.push(key);
        }
    }

    /// Serves the ready list of the previous turn (entries added now wait for the next).
    fn serve_ready(&mut self) {
        let mut ready = mem::replace(&mut self.ready, mem::take(&mut self.ready_spare));
        for key in ready.drain(..) {
            if key == LISTENER {
                self.accept();
                continue;
            }
            let Some(conn) = self.conns.get_mut(key) else { continue };
            conn.ready = false;
            let result = self.read(key, READ_BUDGET);
            self.settle(key, result);
        }
        self.ready_spare = ready;
    }

    /// After I/O on connection `key`: closes it on error or when it is done, applies the
    /// backpressure rule, and makes the registration match what the connection wants.
    pub(crate) fn settle(&mut self, key: usize, result: io::Result<()>) {
        if let Err(e) = result {
            log::debug!("loop {}: connection {key}: {e}", self.index);
            self.close(key, false);
            return;
        }
        let Some(conn) = self.conns.get_mut(key) else { return };
        if conn_io::update_pause(conn, self.config.high_water, self.buf.len()) {
            // No new event announces input that arrived while paused (edge mode).
            self.mark_ready(key);
        }
        let conn = &mut self.conns[key];
        match conn.phase {
            Phase::Closing if conn.out.is_empty() => {
                // Our FIN after the last byte; the peer closed its side, so nothing unread
                // can turn the close into a reset.
                let _ = conn.stream.shutdown(Shutdown::Write);
                self.close(key, false);
                return;
            }
            Phase::Draining { budget: 0 } if conn.out.is_empty() => {
                let _ = conn.stream.shutdown(Shutdown::Write);
                conn.phase = Phase::Lingering;
            }
            _ => {}
        }
        let want = conn.desired_interest();
        if want == conn.interest && conn.armed {
            return;
        }
        match self.poller.modify(conn.stream.as_fd(), key, want, self.config.mode) {
            Ok(()) => {
                conn.interest = want;
                conn.armed = true;
            }
            Err(e) => {
                log::warn!("loop {}: connection {key}: cannot re-register: {e}", self.index);
                self.close(key, false);
            }
        }
    }

    /// Deletes connection `key` from the poller, then closes it.
    pub(crate) fn close(&mut self, key: usize, timed_out: bool) {
        let Some(conn) = self.conns.try_remove(key) else { return };
        if let Err(e) = self.poller.delete(conn.stream.as_fd()) {
            log::warn!("loop {}: connection {key}: delete: {e}", self.index);
        }
        let stats = self.loop_stats();
        stats.queue_changed(conn.out.len(), 0);
        stats.closed(timed_out);
        self.stats.release();
        drop(conn);
    }

    fn close_all(&mut self) {
        let keys: Vec<usize> = self.conns.iter().map(|(key, _)| key).collect();
        for key in keys {
            self.close(key, false);
        }
        self.close_listener();
        self.timers.clear();
    }

    fn run_timers(&mut self) {
        if let Some(idle) = self.config.idle_timeout {
            while let Some((id, key)) = self.timers.pop_due(self.now) {
                let Some(conn) = self.conns.get(key).filter(|c| c.id == id) else {
                    continue; // Closed meanwhile (and maybe the key reused).
                };
                let due = conn.last_active + idle;
                if due <= self.now {
                    log::debug!("loop {}: connection {key}: idle for {idle:?}", self.index);
                    self.close(key, true);
                } else {
                    self.timers.schedule(due, (id, key));
                }
            }
        }
        if self.accept_paused_until.is_some_and(|at| at <= self.now) {
            self.resume_accepting();
        }
        if self.drain_deadline.is_some_and(|at| at <= self.now) && !self.conns.is_empty() {
            log::warn!(
                "loop {}: drain timeout: closing {} connections with {} bytes unsent",
                self.index,
                self.conns.len(),
                self.loop_stats().snapshot().queued
            );
            self.close_all();
        }
    }

    /// Stops accepting, and lets every connection answer what it already received.
    fn begin_drain(&mut self) {
        log::info!("loop {}: shutting down, draining {} connections", self.index, self.conns.len());
        self.close_listener();
        self.drain_deadline = Some(self.now + self.config.drain_timeout);
        let keys: Vec<usize> = self.conns.iter().map(|(key, _)| key).collect();
        for key in keys {
            let conn = &mut self.conns[key];
            if conn.phase == Phase::Open {
                // What was received before this moment is answered; what comes later is not.
                let budget = bytes_readable(conn.stream.as_fd()).unwrap_or(0);
                conn.phase = Phase::Draining { budget };
                if budget > 0 {
                    self.mark_ready(key);
                }
            }
            self.settle(key, Ok(()));
        }
    }

    fn close_listener(&mut self) {
        if let Some(listener) = self.listener.take()
            && self.listener_registered
            && let Err(e) = self.poller.delete(listener.as_fd())
        {
            log::warn!("loop {}: listener: delete: {e}", self.index);
        }
        self.accept_paused_until = None;
    }
}
