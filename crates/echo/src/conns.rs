//! The connections of one loop: the table from keys to [`Conn`]s, what they share to be
//! served ([`Shared`]), the loop's counters ([`Ledger`]), the ready list, and the idle
//! deadlines.
//!
//! Fairness: in edge mode a connection must be read until it is empty, and a fast client
//! could keep one read loop busy for ever. So each connection gets a budget of reads per
//! turn; one that used it up goes on the ready list, served after the others' events with
//! a zero wait timeout. The same list covers input that no new event will announce: a
//! connection just resumed after backpressure, or given input to answer by shutdown.
//!
//! Idle deadlines are never removed early (see [`Timers`]): traffic only moves a
//! connection's `last_active`, and an entry that comes due is checked against it, and
//! closes the connection or is scheduled again.

use std::mem;
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use multipoll::{Event, Poller};
use slab::Slab;

use crate::conn::{After, Conn};
use crate::shared::Shared;
use crate::stats::{Ledger, Stats};
use crate::timer::Timers;
use crate::{Config, Protocol};

/// The connections of one loop; see the [module docs](self).
pub(crate) struct Conns<H: Protocol> {
    table: Slab<Conn<H::Session>>,
    next_id: u64,
    shared: Shared<H>,
    ledger: Ledger,
    /// Keys to serve without waiting for an event.
    ready: Vec<usize>,
    ready_spare: Vec<usize>,
    idle: Option<Duration>,
    /// Idle deadlines: `(connection id, key)`.
    timers: Timers<(u64, usize)>,
    max_conns: Option<usize>,
}

impl<H: Protocol> Conns<H> {
    /// No connections yet, for loop `index` of a server with `config`, on a poller that
    /// can (`priority`) or cannot watch urgent data.
    pub(crate) fn new(
        index: usize,
        config: &Config,
        protocol: H,
        stats: Arc<Stats>,
        priority: bool,
    ) -> Self {
        Conns {
            table: Slab::new(),
            next_id: 0,
            shared: Shared::new(config, protocol, priority),
            ledger: Ledger::new(index, stats),
            ready: Vec::new(),
            ready_spare: Vec::new(),
            idle: config.idle_timeout,
            timers: Timers::new(),
            max_conns: config.max_conns,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Serves a connection just accepted, or closes it at once past `max_conns`.
    pub(crate) fn admit<P: Poller>(&mut self, stream: TcpStream, poller: &P) {
        let index = self.ledger.index();
        if !self.ledger.reserve(self.max_conns) {
            log::debug!("loop {index}: refusing a connection: max-conns reached");
            self.ledger.counts().refused();
            self.ledger.publish(); // Before the client sees the close.
            return; // Dropping `stream` closes it: the client sees end of file.
        }
        let (key, id) = (self.table.vacant_key(), self.next_id);
        match Conn::open(stream, key, id, poller, &mut self.shared) {
            Ok(conn) => {
                self.table.insert(conn);
                self.next_id += 1;
                self.ledger.counts().opened();
                if let Some(idle) = self.idle {
                    self.timers.schedule(self.shared.now + idle, (id, key));
                }
            }
            Err(e) => {
                // E.g. select cannot watch an fd this large: drop this one, serve the rest.
                log::warn!("loop {index}: cannot serve a new connection: {e}");
                self.ledger.release();
            }
        }
    }

    /// Serves an event of connection `event.key()`.
    #[inline(always)]
    pub(crate) fn on_event<P: Poller>(&mut self, event: Event, poller: &P) {
        let key = event.key();
        let Some(conn) = self.table.get_mut(key) else {
            return; // Closed earlier in this batch.
        };
        let after = conn.on_event(event, poller, &mut self.shared, &mut self.ledger);
        self.apply(key, after, poller);
    }

    /// Starts a turn: what the connections do now happens at `now`. Not called in a turn
    /// without the time, where no connection needs it (no idle timeout).
    pub(crate) fn begin_turn(&mut self, now: Instant) {
        self.shared.now = now;
    }

    /// Makes the loop's counts visible in the server's stats (before each wait).
    pub(crate) fn publish(&mut self) {
        self.ledger.publish();
    }

    /// Bytes queued for clients now, over all connections.
    pub(crate) fn queued(&self) -> u64 {
        self.ledger.queued()
    }

    /// Whether a connection waits on the ready list.
    #[inline]
    pub(crate) fn has_ready(&self) -> bool {
        !self.ready.is_empty()
    }

    /// Serves the ready list as it is now (entries added meanwhile wait for the next turn).
    pub(crate) fn serve_ready<P: Poller>(&mut self, poller: &P) {
        if self.ready.is_empty() {
            return;
        }
        let mut ready = mem::replace(&mut self.ready, mem::take(&mut self.ready_spare));
        for key in ready.drain(..) {
            let Some(conn) = self.table.get_mut(key) else { continue };
            let after = conn.on_ready(poller, &mut self.shared, &mut self.ledger);
            self.apply(key, after, poller);
        }
        self.ready_spare = ready;
    }

    /// The nearest idle deadline.
    #[inline]
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// Closes the connections idle for the idle timeout.
    pub(crate) fn expire<P: Poller>(&mut self, poller: &P) {
        let Some(idle) = self.idle else { return };
        let now = self.shared.now;
        while let Some((id, key)) = self.timers.pop_due(now) {
            let Some(conn) = self.table.get(key).filter(|c| c.id() == id) else {
                continue; // Closed meanwhile (and maybe the key reused).
            };
            let due = conn.idle_at(idle);
            if due <= now {
                log::debug!("loop {}: connection {key}: idle for {idle:?}", self.ledger.index());
                self.close(key, true, poller);
            } else {
                self.timers.schedule(due, (id, key));
            }
        }
    }

    /// Shutdown has begun: every connection answers what it received before now.
    pub(crate) fn begin_drain<P: Poller>(&mut self, poller: &P) {
        for key in self.keys() {
            let after = self.table[key].begin_drain(poller, &self.shared, &self.ledger);
            self.apply(key, after, poller);
        }
    }

    /// Closes every connection.
    pub(crate) fn close_all<P: Poller>(&mut self, poller: &P) {
        for key in self.keys() {
            self.close(key, false, poller);
        }
        self.timers.clear();
    }

    fn keys(&self) -> Vec<usize> {
        self.table.iter().map(|(key, _)| key).collect()
    }

    #[inline(always)]
    fn apply<P: Poller>(&mut self, key: usize, after: After, poller: &P) {
        match after {
            After::Wait => {}
            After::Ready => self.ready.push(key),
            After::Close => self.close(key, false, poller),
        }
    }

    /// Once per connection: kept out of line, so that the event path does not carry it.
    #[inline(never)]
    fn close<P: Poller>(&mut self, key: usize, timed_out: bool, poller: &P) {
        let Some(conn) = self.table.try_remove(key) else { return };
        conn.close(timed_out, poller, &mut self.ledger);
        self.ledger.release();
    }
}
