//! One connection: its socket, its key (in the loop's table and in its registration), its
//! output queue, where it is in its life ([`Phase`]), and the one read path that feeds
//! its protocol session.
//!
//! Every call the loop makes on a connection ([`Conn::on_event`], [`Conn::on_ready`],
//! [`Conn::begin_drain`]) is lent what the loop's connections share ([`Shared`]) and the
//! loop's counters ([`Ledger`]), and ends in `settle`, which closes what is done and makes
//! the registration match what the connection wants, then tells the loop what is left for
//! it to do ([`After`]). The loop never touches a connection's fields.
//!
//! An idle connection is a socket, a phase, a few flags, a timestamp and an empty queue:
//! no heap allocation of its own.
//!
//! The hot path (a readable event, one read, the answer written straight back) is
//! inlined into the loop's event dispatch, down to the `recv` and `send` calls: a function
//! boundary on it costs register saves and spills on every message (docs/benchmarks.md).

use std::io;
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use multipoll::{AsSource, Event, Interest, Poller};

use crate::output::{OutQueue, Output};
use crate::phase::Phase;
use crate::protocol::Protocol;
use crate::shared::Shared;
use crate::socket;
use crate::stats::Ledger;

/// Reads per connection per turn when a turn may read more than once (edge mode, or
/// after a hang-up, when the rest of the input and then end of file must be read).
pub(crate) const READ_BUDGET: usize = 16;

/// What the loop has to do with a connection after a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub(crate) enum After {
    /// Nothing: wait for its next event.
    Wait,
    /// Put it on the ready list: it has input that no new event may announce (its read
    /// budget ran out, it was just resumed after backpressure, shutdown gave it input to
    /// answer).
    Ready,
    /// Close it ([`Conn::close`]): it is done, or failed.
    Close,
}

/// The interest registered for a connection, and whether the registration is armed (in
/// the oneshot modes an event disarms it): bits, so that checking after every event
/// whether it must change is one comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Watching(u8);

impl Watching {
    const READ: u8 = 1;
    const WRITE: u8 = 2;
    const ARMED: u8 = 4;

    /// Armed, for reading and/or writing.
    #[inline(always)]
    fn new(read: bool, write: bool) -> Watching {
        Watching((u8::from(read) * Self::READ) | (u8::from(write) * Self::WRITE) | Self::ARMED)
    }

    fn disarm(&mut self) {
        self.0 &= !Self::ARMED;
    }

    /// What to register: `read` ([`Rules::read_interest`](crate::shared::Rules)) if it
    /// reads, and writable if it writes.
    fn interest(self, read: Interest) -> Interest {
        let write = Interest::new(false, self.0 & Self::WRITE != 0);
        if self.0 & Self::READ != 0 { read | write } else { write }
    }
}

/// One client connection; see the [module docs](self).
#[derive(Debug)]
pub(crate) struct Conn<S> {
    stream: TcpStream,
    /// Its key in the loop's table, and the key it is registered under.
    key: usize,
    out: OutQueue,
    phase: Phase,
    /// What the poller watches for it now.
    watching: Watching,
    /// On the loop's ready list.
    ready: bool,
    /// Unique for the loop's lifetime (slab keys are reused), to match timer entries.
    id: u64,
    /// When it last moved data: kept only when an idle timeout is set.
    last_active: Instant,
    session: S,
}

impl<S> Conn<S> {
    /// Registers `stream` (just accepted) under `key` and opens its protocol session.
    ///
    /// # Errors
    /// Making it non-blocking, or the registration (e.g. select cannot watch an fd this
    /// large): the caller drops `stream`.
    pub(crate) fn open<P: Poller, H: Protocol<Session = S>>(
        stream: TcpStream,
        key: usize,
        id: u64,
        poller: &P,
        shared: &mut Shared<H>,
    ) -> io::Result<Conn<S>> {
        stream.set_nonblocking(true)?;
        stream.set_nodelay(true)?;
        poller.add(stream.as_source(), key, shared.rules.read_interest, shared.rules.mode)?;
        Ok(Conn {
            stream,
            key,
            out: OutQueue::default(),
            phase: Phase::OPEN,
            watching: Watching::new(true, false),
            ready: false,
            id,
            last_active: shared.now,
            session: shared.protocol.open(),
        })
    }

    /// Unique for the loop's lifetime, where keys are reused: what timer entries match.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// When it has been idle for `idle`.
    pub(crate) fn idle_at(&self, idle: Duration) -> Instant {
        self.last_active + idle
    }

    /// Serves `event`.
    #[inline(always)]
    pub(crate) fn on_event<P: Poller, H: Protocol<Session = S>>(
        &mut self,
        event: Event,
        poller: &P,
        shared: &mut Shared<H>,
        ledger: &mut Ledger,
    ) -> After {
        if shared.rules.oneshot {
            self.watching.disarm();
        }
        let result = self.serve(event, shared, ledger);
        self.settle(result, poller, shared, ledger)
    }

    /// Reads, writes or fails as `event` says; returns whether input is left to read.
    #[inline(always)]
    fn serve<H: Protocol<Session = S>>(
        &mut self,
        event: Event,
        shared: &mut Shared<H>,
        ledger: &mut Ledger,
    ) -> io::Result<bool> {
        // Nearly every event: readable and nothing else (the flags are one byte, so this
        // is one test of it).
        if event.is_readable()
            && !event.is_writable()
            && !event.is_hangup()
            && !event.is_error()
            && !event.is_priority()
        {
            // One read in the level modes; in the edge modes, until `WouldBlock` or, where
            // the backend reports urgent data, a short read (see `Rules::short_read_drains`).
            // Each call passes its case as constants, so each read loop is built for it.
            return if !shared.rules.edge {
                self.read(1, false, shared, ledger)
            } else if shared.rules.short_read_drains {
                self.read(READ_BUDGET, true, shared, ledger)
            } else {
                self.read(READ_BUDGET, false, shared, ledger)
            };
        }
        let mut more = false;
        if event.is_error()
            && let Some(e) = self.stream.take_error()?
        {
            return Err(e);
        }
        if event.is_writable() {
            more = self.flush(shared, ledger)?;
        }
        if event.is_hangup() || (event.is_readable() && shared.rules.edge) {
            // The edge modes must read until `WouldBlock` (this event may report urgent
            // data, so a short read proves nothing); after a hang-up the rest of the input,
            // then end of file, must be read without an event.
            more |= self.read(READ_BUDGET, false, shared, ledger)?;
        } else if event.is_readable() {
            // Level and oneshot modes read once per event: the next wait reports the rest.
            more |= self.read(1, false, shared, ledger)?;
        }
        Ok(more)
    }

    /// Its turn on the ready list: reads what it can within the budget.
    pub(crate) fn on_ready<P: Poller, H: Protocol<Session = S>>(
        &mut self,
        poller: &P,
        shared: &mut Shared<H>,
        ledger: &mut Ledger,
    ) -> After {
        self.ready = false;
        let result = self.read(READ_BUDGET, false, shared, ledger);
        self.settle(result, poller, shared, ledger)
    }

    /// Shutdown has begun: what it received before this moment is answered, what comes
    /// later is not.
    pub(crate) fn begin_drain<P: Poller, H>(
        &mut self,
        poller: &P,
        shared: &Shared<H>,
        ledger: &Ledger,
    ) -> After {
        let allowance = socket::bytes_readable(&self.stream).unwrap_or(0);
        let more = self.phase.drain(allowance) && allowance > 0;
        self.settle(Ok(more), poller, shared, ledger)
    }

    /// Deletes it from the poller, then closes it.
    pub(crate) fn close<P: Poller>(self, timed_out: bool, poller: &P, ledger: &mut Ledger) {
        if let Err(e) = poller.delete(self.stream.as_source()) {
            log::warn!("loop {}: connection {}: delete: {e}", ledger.index(), self.key);
        }
        let counts = ledger.counts();
        counts.queue_shrank(self.out.len());
        counts.closed(timed_out);
        // Before the socket closes: whoever sees it closed sees it counted.
        ledger.publish();
    }

    /// The one read path: reads up to `budget` times (fewer once the kernel has nothing
    /// more, or, with `short_read_drains`, once a read returned less than it asked for:
    /// see [`Rules::short_read_drains`](crate::shared::Rules); or when the connection
    /// wants no more input) and answers each chunk. Returns whether input may be left that
    /// no event will announce: a budget of more than one read ran out.
    ///
    /// # Errors
    /// A read or write error: the connection is closed.
    #[inline(always)]
    fn read<H: Protocol<Session = S>>(
        &mut self,
        budget: usize,
        short_read_drains: bool,
        shared: &mut Shared<H>,
        ledger: &mut Ledger,
    ) -> io::Result<bool> {
        let mut left = budget;
        while let Some(allowed) = self.phase.read_limit() {
            // Read no more than the queue has room for: echo answers byte for byte, so the
            // queue cannot pass the mark.
            let room = if self.out.is_empty() {
                shared.rules.high_water
            } else {
                shared.rules.high_water.saturating_sub(self.out.len())
            };
            let limit = room.min(allowed).min(shared.buf.len());
            match socket::read(&self.stream, &mut shared.buf[..limit])? {
                Some(0) => {
                    // Nothing more will come: flush what is queued, then close (at once
                    // when lingering: our output is all sent).
                    self.phase = Phase::Closing;
                    return Ok(false);
                }
                Some(n) => {
                    if shared.rules.idle {
                        self.last_active = shared.now;
                    }
                    if self.phase.took(n) {
                        self.answer(n, shared, ledger)?;
                    }
                    if short_read_drains && n < limit {
                        return Ok(false);
                    }
                    left -= 1;
                    if left == 0 {
                        return Ok(budget > 1 && self.phase.read_limit().is_some());
                    }
                }
                None => return Ok(false),
            }
        }
        Ok(false)
    }

    /// Hands `shared.buf[..n]` to the protocol and accounts for what it wrote and queued.
    #[inline(always)]
    fn answer<H: Protocol<Session = S>>(
        &mut self,
        n: usize,
        shared: &mut Shared<H>,
        ledger: &mut Ledger,
    ) -> io::Result<()> {
        let mut out = Output::new(&self.stream, &mut self.out);
        shared.protocol.on_data(&mut self.session, &shared.buf[..n], &mut out);
        let (written, close) = out.finish();
        let counts = ledger.counts();
        counts.read(n);
        counts.written(written.bytes);
        if written.queued > 0 {
            counts.queue_grew(written.queued, self.out.len());
            // Only a queue that grew can pass the mark.
            if self.out.len() > shared.rules.pause_above {
                self.phase.pause(); // See `Rules` for the backpressure rule.
            }
        }
        if let Some(e) = written.error {
            return Err(e);
        }
        if close {
            // Flush, close our side, then wait for the peer's (see `Phase::Lingering`).
            self.phase.close_asked();
        }
        Ok(())
    }

    /// Writes queued output until the kernel takes no more; returns whether that resumed
    /// reading (the queue drained to the resume mark), with input no event will announce.
    ///
    /// # Errors
    /// The write error: the connection is closed.
    #[inline(never)]
    fn flush<H>(&mut self, shared: &Shared<H>, ledger: &mut Ledger) -> io::Result<bool> {
        let written = self.out.flush(&self.stream);
        if written.bytes > 0 {
            let counts = ledger.counts();
            counts.written(written.bytes);
            counts.queue_shrank(written.bytes);
            if shared.rules.idle {
                self.last_active = shared.now;
            }
        }
        if let Some(e) = written.error {
            return Err(e);
        }
        // See `Rules` for the backpressure rule.
        Ok(self.out.len() <= shared.rules.resume_at && self.phase.resume())
    }

    /// Out of the hot path (`#[cold]` keeps it out of `settle`'s registers): an error
    /// closes the connection.
    #[cold]
    #[inline(never)]
    fn failed(&self, e: &io::Error, index: usize) -> After {
        log::debug!("loop {index}: connection {}: {e}", self.key);
        After::Close
    }

    /// With all output sent: the FIN after the last byte. Returns whether the connection
    /// is done (the peer had closed its side, so nothing unread can turn the close into a
    /// reset); else a draining one with nothing more to answer lingers.
    #[cold]
    #[inline(never)]
    fn shut_write(&mut self) -> bool {
        match self.phase {
            Phase::Closing => {
                let _ = self.stream.shutdown(Shutdown::Write);
                true
            }
            Phase::Draining { allowance: 0, .. } => {
                let _ = self.stream.shutdown(Shutdown::Write);
                self.phase = Phase::Lingering;
                false
            }
            _ => false,
        }
    }

    /// Registers `want` instead of what is watched now; false if the poller refused (the
    /// connection is closed).
    #[cold]
    #[inline(never)]
    fn rewatch<P: Poller, H>(
        &mut self,
        want: Watching,
        poller: &P,
        shared: &Shared<H>,
        ledger: &Ledger,
    ) -> bool {
        let (fd, mode) = (self.stream.as_source(), shared.rules.mode);
        if let Err(e) = poller.modify(fd, self.key, want.interest(shared.rules.read_interest), mode)
        {
            let (index, key) = (ledger.index(), self.key);
            log::warn!("loop {index}: connection {key}: cannot re-register: {e}");
            return false;
        }
        self.watching = want;
        true
    }

    /// After I/O: closes on error or when done, and makes the registration match what
    /// the connection wants. `more`: it has input to read that no event may announce.
    #[inline(always)]
    fn settle<P: Poller, H>(
        &mut self,
        result: io::Result<bool>,
        poller: &P,
        shared: &Shared<H>,
        ledger: &Ledger,
    ) -> After {
        let more = match result {
            Ok(more) => more,
            Err(e) => return self.failed(&e, ledger.index()),
        };
        if self.phase.is_ending() && self.out.is_empty() && self.shut_write() {
            return After::Close;
        }
        let want = Watching::new(self.phase.read_limit().is_some(), !self.out.is_empty());
        if want != self.watching && !self.rewatch(want, poller, shared, ledger) {
            return After::Close;
        }
        if more && !self.ready {
            self.ready = true;
            return After::Ready;
        }
        After::Wait
    }
}
