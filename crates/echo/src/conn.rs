//! One connection: its socket and registration, its output queue, where it is in its life
//! ([`Phase`]), and the one read path that feeds its protocol session; and [`Kit`],
//! what the connections of a loop share (the read buffer, the protocol, the rules, the
//! counters), lent to one connection at a time.
//!
//! Every call the loop makes on a connection ([`Conn::on_event`], [`Conn::on_ready`],
//! [`Conn::begin_drain`]) ends in `settle`, which closes what is done and makes the
//! registration match what the connection wants, then tells the loop what is left for it
//! to do ([`After`]). The loop never touches a connection's fields.
//!
//! An idle connection is a socket, a few flags, a timestamp and an empty queue: no heap
//! allocation of its own.
//!
//! The hot path (a readable event, one read, the answer written straight back) is
//! inlined into the loop's event dispatch, down to the `recv` and `send` calls: each
//! function boundary on it cost 10 to 30 instructions per message in register saves and
//! spills (callgrind, `scripts/callgrind-echo.sh`).

use std::io;
use std::net::{Shutdown, TcpStream};
use std::os::fd::AsFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use multipoll::{Event, Interest, Mode, Poller};

use crate::Config;
use crate::output::{OutQueue, Output};
use crate::protocol::Protocol;
use crate::socket;
use crate::stats::{Counts, Stats};

/// Reads per connection per turn when a turn may read more than once (edge mode, or
/// after a hang-up, when the rest of the input and then end of file must be read).
pub(crate) const READ_BUDGET: usize = 16;

/// The rules every connection of a loop follows, worked out once from the [`Config`].
///
/// The backpressure rule has hysteresis, so that a connection near the mark does not flip
/// between paused and reading on every few bytes: it stops reading when less room is left
/// under the mark than a worthwhile read (a buffer, or a quarter of the mark), and resumes
/// once its queue is down to half the mark.
#[derive(Clone, Copy, Debug)]
struct Rules {
    mode: Mode,
    /// `mode.is_oneshot()`, `mode.is_edge()`: tested on every event.
    oneshot: bool,
    edge: bool,
    /// Whether connections close when idle: only then is `last_active` kept.
    idle: bool,
    high_water: usize,
    /// Stop reading once more than this is queued: less room left than a worthwhile read.
    pause_above: usize,
    /// Resume reading once the queue is down to this.
    resume_at: usize,
}

/// What the connections of a loop share, lent to one at a time.
#[derive(Debug)]
pub(crate) struct Kit<H> {
    protocol: H,
    /// The one read buffer.
    buf: Box<[u8]>,
    rules: Rules,
    counts: Counts,
    stats: Arc<Stats>,
    /// The loop's index, in `stats` and in logs.
    index: usize,
    /// The time of this turn (after its wait).
    now: Instant,
}

impl<H> Kit<H> {
    pub(crate) fn new(index: usize, config: &Config, protocol: H, stats: Arc<Stats>) -> Self {
        let (mode, high_water) = (config.mode, config.high_water);
        let worthwhile = config.read_buffer.min(high_water / 4).max(1);
        let rules = Rules {
            mode,
            oneshot: mode.is_oneshot(),
            edge: mode.is_edge(),
            idle: config.idle_timeout.is_some(),
            high_water,
            pause_above: high_water.saturating_sub(worthwhile),
            resume_at: high_water / 2,
        };
        let buf = vec![0; config.read_buffer].into_boxed_slice();
        Kit { protocol, buf, rules, counts: Counts::default(), stats, index, now: Instant::now() }
    }

    /// Starts a turn at `now`.
    pub(crate) fn set_now(&mut self, now: Instant) {
        self.now = now;
    }

    /// The time of this turn.
    pub(crate) fn now(&self) -> Instant {
        self.now
    }

    /// The loop's counters, to count in.
    pub(crate) fn counts(&mut self) -> &mut Counts {
        &mut self.counts
    }

    /// Bytes queued for clients now, over the loop's connections.
    pub(crate) fn queued(&self) -> u64 {
        self.counts.queued()
    }

    /// Makes the counts visible in the server's [`Stats`].
    pub(crate) fn publish(&self) {
        self.stats.loops()[self.index].publish(&self.counts);
    }

    /// The server's counters (and its connection slots).
    pub(crate) fn server_stats(&self) -> &Stats {
        &self.stats
    }

    pub(crate) fn index(&self) -> usize {
        self.index
    }
}

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

/// Where a connection is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Reading and answering.
    Open,
    /// The peer closed its side: flush, then close.
    Closing,
    /// The server is shutting down: answer at most `allowance` more bytes (what was
    /// already in the receive buffer when shutdown began), flush, then close our write
    /// side. Also where a protocol's [`Output::close`] leads, with nothing more to answer.
    Draining,
    /// Our write side is closed: read and discard until the peer closes, so that closing
    /// with unread input does not reset the connection and destroy output in flight.
    Lingering,
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

    fn interest(self) -> Interest {
        Interest::new(self.0 & Self::READ != 0, self.0 & Self::WRITE != 0)
    }
}

/// One client connection; see the [module docs](self).
#[derive(Debug)]
pub(crate) struct Conn<S> {
    stream: TcpStream,
    out: OutQueue,
    phase: Phase,
    /// How many more bytes it may read: none once closing, what is left to answer while
    /// draining, no limit otherwise.
    allowance: usize,
    /// Stopped reading because too much output is queued.
    paused: bool,
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
        kit: &mut Kit<H>,
    ) -> io::Result<Conn<S>> {
        stream.set_nonblocking(true)?;
        stream.set_nodelay(true)?;
        poller.add(stream.as_fd(), key, Interest::READABLE, kit.rules.mode)?;
        Ok(Conn {
            stream,
            out: OutQueue::default(),
            phase: Phase::Open,
            allowance: usize::MAX,
            paused: false,
            watching: Watching::new(true, false),
            ready: false,
            id,
            last_active: kit.now,
            session: kit.protocol.open(),
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
        key: usize,
        event: Event,
        poller: &P,
        kit: &mut Kit<H>,
    ) -> After {
        if kit.rules.oneshot {
            self.watching.disarm();
        }
        let result = self.serve(event, kit);
        self.settle(key, result, poller, kit)
    }

    /// Reads, writes or fails as `event` says; returns whether input is left to read.
    #[inline(always)]
    fn serve<H: Protocol<Session = S>>(
        &mut self,
        event: Event,
        kit: &mut Kit<H>,
    ) -> io::Result<bool> {
        let mut more = false;
        if event.is_error()
            && let Some(e) = self.stream.take_error()?
        {
            return Err(e);
        }
        if event.is_writable() {
            more = self.flush(kit)?;
        }
        if event.is_hangup() || (event.is_readable() && kit.rules.edge) {
            // The edge modes must read until `WouldBlock`; after a hang-up the rest of the
            // input, then end of file, must be read without an event.
            more |= self.read(READ_BUDGET, kit)?;
        } else if event.is_readable() {
            // Level and oneshot modes read once per event: the next wait reports the rest.
            more |= self.read(1, kit)?;
        }
        Ok(more)
    }

    /// Its turn on the ready list: reads what it can within the budget.
    pub(crate) fn on_ready<P: Poller, H: Protocol<Session = S>>(
        &mut self,
        key: usize,
        poller: &P,
        kit: &mut Kit<H>,
    ) -> After {
        self.ready = false;
        let result = self.read(READ_BUDGET, kit);
        self.settle(key, result, poller, kit)
    }

    /// Shutdown has begun: what it received before this moment is answered, what comes
    /// later is not.
    pub(crate) fn begin_drain<P: Poller, H: Protocol<Session = S>>(
        &mut self,
        key: usize,
        poller: &P,
        kit: &mut Kit<H>,
    ) -> After {
        let mut more = false;
        if self.phase == Phase::Open {
            let budget = socket::bytes_readable(&self.stream).unwrap_or(0);
            self.phase = Phase::Draining;
            self.allowance = budget;
            more = budget > 0;
        }
        self.settle(key, Ok(more), poller, kit)
    }

    /// Deletes it from the poller, then closes it.
    pub(crate) fn close<P: Poller, H>(
        self,
        key: usize,
        timed_out: bool,
        poller: &P,
        kit: &mut Kit<H>,
    ) {
        if let Err(e) = poller.delete(self.stream.as_fd()) {
            log::warn!("loop {}: connection {key}: delete: {e}", kit.index);
        }
        let counts = kit.counts();
        counts.queue_shrank(self.out.len());
        counts.closed(timed_out);
        // Before the socket closes: whoever sees it closed sees it counted.
        kit.publish();
    }

    /// Whether input is wanted now (paused connections and closed read sides wait).
    #[inline(always)]
    fn wants_input(&self) -> bool {
        !self.paused && self.allowance > 0
    }

    /// The one read path: reads up to `budget` times (fewer once the kernel has nothing
    /// more or the connection wants no more input) and answers each chunk. Returns
    /// whether input may be left that no event will announce: a budget of more than one
    /// read ran out.
    ///
    /// # Errors
    /// A read or write error: the connection is closed.
    #[inline(always)]
    fn read<H: Protocol<Session = S>>(
        &mut self,
        budget: usize,
        kit: &mut Kit<H>,
    ) -> io::Result<bool> {
        let mut left = budget;
        while self.wants_input() {
            // Read no more than the queue has room for: echo answers byte for byte, so the
            // queue cannot pass the mark.
            let room = kit.rules.high_water.saturating_sub(self.out.len());
            let limit = room.min(self.allowance).min(kit.buf.len());
            match socket::read(&self.stream, &mut kit.buf[..limit])? {
                Some(0) => {
                    // Nothing more will come: flush what is queued, then close (at once
                    // when lingering: our output is all sent).
                    self.phase = Phase::Closing;
                    self.allowance = 0;
                    return Ok(false);
                }
                Some(n) => {
                    if kit.rules.idle {
                        self.last_active = kit.now;
                    }
                    // A draining connection's input counts against its allowance; a
                    // lingering one's is thrown away.
                    let answered = match self.phase {
                        Phase::Open | Phase::Closing => true,
                        Phase::Draining => {
                            self.allowance -= n;
                            true
                        }
                        Phase::Lingering => false,
                    };
                    if answered {
                        self.answer(n, kit)?;
                    }
                    left -= 1;
                    if left == 0 {
                        return Ok(budget > 1 && self.wants_input());
                    }
                }
                None => return Ok(false),
            }
        }
        Ok(false)
    }

    /// Hands `kit.buf[..n]` to the protocol and accounts for what it wrote and
    /// queued.
    #[inline(always)]
    fn answer<H: Protocol<Session = S>>(&mut self, n: usize, kit: &mut Kit<H>) -> io::Result<()> {
        let mut out = Output::new(&self.stream, &mut self.out);
        kit.protocol.on_data(&mut self.session, &kit.buf[..n], &mut out);
        let (written, close) = out.finish();
        kit.counts.read(n);
        kit.counts.written(written.bytes);
        if written.queued > 0 {
            kit.counts.queue_grew(written.queued, self.out.len());
        }
        if let Some(e) = written.error {
            return Err(e);
        }
        if close && self.phase == Phase::Open {
            // Flush, close our side, then wait for the peer's (see `Phase::Lingering`).
            self.phase = Phase::Draining;
            self.allowance = 0;
        }
        if self.out.len() > kit.rules.pause_above {
            self.paused = true; // See `Rules` for the backpressure rule.
        }
        Ok(())
    }

    /// Writes queued output until the kernel takes no more; returns whether that resumed
    /// reading (the queue drained to the resume mark), with input no event will announce.
    ///
    /// # Errors
    /// The write error: the connection is closed.
    #[inline(never)]
    fn flush<H>(&mut self, kit: &mut Kit<H>) -> io::Result<bool> {
        let written = self.out.flush(&self.stream);
        if written.bytes > 0 {
            let counts = kit.counts();
            counts.written(written.bytes);
            counts.queue_shrank(written.bytes);
            if kit.rules.idle {
                self.last_active = kit.now;
            }
        }
        if let Some(e) = written.error {
            return Err(e);
        }
        // See `Rules` for the backpressure rule.
        let resumed = self.paused && self.out.len() <= kit.rules.resume_at;
        if resumed {
            self.paused = false;
        }
        Ok(resumed)
    }

    /// Out of the hot path (`#[cold]` keeps it out of `settle`'s registers): an error
    /// closes the connection.
    #[cold]
    #[inline(never)]
    fn failed(&self, key: usize, e: &io::Error, index: usize) -> After {
        log::debug!("loop {index}: connection {key}: {e}");
        After::Close
    }

    /// With all output sent: the FIN after the last byte. Returns whether the connection
    /// is done (the peer had closed its side, so nothing unread can turn the close into a
    /// reset); else a draining one lingers.
    #[cold]
    #[inline(never)]
    fn shut_write(&mut self) -> bool {
        match self.phase {
            Phase::Closing => {
                let _ = self.stream.shutdown(Shutdown::Write);
                true
            }
            Phase::Draining if self.allowance == 0 => {
                let _ = self.stream.shutdown(Shutdown::Write);
                self.phase = Phase::Lingering;
                self.allowance = usize::MAX;
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
        key: usize,
        want: Watching,
        poller: &P,
        kit: &Kit<H>,
    ) -> bool {
        let (fd, mode) = (self.stream.as_fd(), kit.rules.mode);
        if let Err(e) = poller.modify(fd, key, want.interest(), mode) {
            log::warn!("loop {}: connection {key}: cannot re-register: {e}", kit.index);
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
        key: usize,
        result: io::Result<bool>,
        poller: &P,
        kit: &mut Kit<H>,
    ) -> After {
        let more = match result {
            Ok(more) => more,
            Err(e) => return self.failed(key, &e, kit.index),
        };
        if self.phase != Phase::Open && self.out.is_empty() && self.shut_write() {
            return After::Close;
        }
        let want = Watching::new(self.wants_input(), !self.out.is_empty());
        if want != self.watching && !self.rewatch(key, want, poller, kit) {
            return After::Close;
        }
        if more && !self.ready {
            self.ready = true;
            return After::Ready;
        }
        After::Wait
    }
}
