//! One connection's state: what was sent, what came back, which messages are in flight.
//!
//! A message is `size` bytes of the connection's [`pattern`] stream. The connection keeps
//! up to `pipeline` messages in flight: when one comes back complete, the next is written
//! at once, in the same event. Every byte read is checked against the pattern.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Instant;

use hdrhistogram::Histogram;
use multipoll::{AsSource, Source};

use crate::pattern::{self, Mismatch};

/// Why a connection stopped.
#[derive(Debug)]
pub(crate) enum ConnError {
    /// An echoed byte differs from the one sent.
    Corrupt(Mismatch),
    /// The server sent more bytes than were sent to it.
    Excess { offset: u64 },
    /// The server closed the connection with replies outstanding.
    Closed { outstanding: u64 },
    /// An I/O error (reset, broken pipe, …).
    Io(io::Error),
}

/// Where counted messages go: the histogram and counters of one event loop.
#[derive(Debug)]
pub(crate) struct Tally {
    /// Round-trip times in nanoseconds.
    pub histogram: Histogram<u64>,
    /// Messages counted.
    pub counted: u64,
    /// When the last counted message completed.
    pub last_counted: Option<Instant>,
    /// Replies completing at or after this instant are not counted (end of the window).
    pub count_deadline: Option<Instant>,
}

/// One connection of the load.
#[derive(Debug)]
pub(crate) struct Conn {
    /// The connection number (pattern seed and error messages).
    pub index: usize,
    stream: TcpStream,
    seed: u64,
    size: u64,
    pipeline: u64,
    /// Bytes written so far (the stream offset of the next byte to send).
    sent: u64,
    /// Bytes read back and verified.
    received: u64,
    /// Messages fully echoed.
    completed: u64,
    /// When each in-flight message (at least partly written) was started.
    starts: VecDeque<Instant>,
    /// Messages that may be started in total (grows without limit during warm-up).
    start_limit: u64,
    /// Message numbers in `count_from..count_until` are counted.
    count_from: u64,
    count_until: u64,
    /// Whether the last write stopped on a full socket buffer.
    pub wants_write: bool,
    /// Whether the poller currently watches writability.
    pub watching_write: bool,
    /// Set once the connection failed; it is then out of the poller.
    pub dead: bool,
}

impl Conn {
    pub(crate) fn new(index: usize, stream: TcpStream, size: usize, pipeline: usize) -> Conn {
        Conn {
            index,
            stream,
            seed: pattern::seed(index),
            size: size as u64,
            pipeline: pipeline as u64,
            sent: 0,
            received: 0,
            completed: 0,
            starts: VecDeque::with_capacity(pipeline + 1),
            start_limit: u64::MAX,
            count_from: u64::MAX,
            count_until: u64::MAX,
            wants_write: false,
            watching_write: false,
            dead: false,
        }
    }

    pub(crate) fn fd(&self) -> Source<'_> {
        self.stream.as_source()
    }

    /// Messages at least partly written.
    fn started(&self) -> u64 {
        self.sent.div_ceil(self.size)
    }

    /// Messages written (at least partly) whose reply is not complete.
    pub(crate) fn outstanding(&self) -> u64 {
        self.started() - self.completed
    }

    /// Whether this connection has nothing more to send or receive.
    pub(crate) fn done(&self) -> bool {
        self.dead || (self.started() >= self.start_limit && self.outstanding() == 0)
    }

    /// Starts the measured window: replies from now on are counted, up to `quota`
    /// messages when the run is bounded by a message count.
    pub(crate) fn begin_measuring(&mut self, quota: Option<u64>) {
        self.count_from = self.completed;
        if let Some(quota) = quota {
            self.count_until = self.completed + quota;
            self.start_limit = self.count_until;
        }
    }

    /// Ends the measured window of a timed run: no new message is started, the ones in
    /// flight are still received and checked.
    pub(crate) fn stop_starting(&mut self) {
        self.start_limit = self.started();
    }

    /// Reads everything available, checks it, completes messages, then writes the next.
    pub(crate) fn on_readable(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        tally: &mut Tally,
    ) -> Result<(), ConnError> {
        loop {
            match (&self.stream).read(buf) {
                Ok(0) => return Err(ConnError::Closed { outstanding: self.outstanding() }),
                Ok(n) => {
                    self.absorb(&buf[..n], now, tally)?;
                    // A short read means the socket is drained: level-triggered polling
                    // tells us when more arrives, so skip the read that returns EAGAIN.
                    if n < buf.len() {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(ConnError::Io(e)),
            }
        }
        self.fill(now, buf)
    }

    /// Checks echoed bytes and completes the messages they finish.
    fn absorb(&mut self, data: &[u8], now: Instant, tally: &mut Tally) -> Result<(), ConnError> {
        if self.received + data.len() as u64 > self.sent {
            return Err(ConnError::Excess { offset: self.sent });
        }
        if let Some(mismatch) = pattern::check(self.seed, self.received, data) {
            return Err(ConnError::Corrupt(mismatch));
        }
        self.received += data.len() as u64;
        while self.received >= (self.completed + 1) * self.size {
            let number = self.completed;
            self.completed += 1;
            let started = self.starts.pop_front().unwrap_or(now);
            let counted = number >= self.count_from
                && number < self.count_until
                && tally.count_deadline.is_none_or(|end| now < end);
            if counted {
                let nanos = now.saturating_duration_since(started).as_nanos();
                tally.histogram.saturating_record(u64::try_from(nanos).unwrap_or(u64::MAX));
                tally.counted += 1;
                tally.last_counted = Some(now);
            }
        }
        Ok(())
    }

    /// Writes until `pipeline` messages are in flight (or the start limit is reached, or
    /// the socket buffer is full, in which case `wants_write` is set).
    pub(crate) fn fill(&mut self, now: Instant, buf: &mut [u8]) -> Result<(), ConnError> {
        let messages = (self.completed + self.pipeline).min(self.start_limit.max(self.started()));
        let target = messages * self.size;
        while self.sent < target {
            let n = usize::try_from(target - self.sent).unwrap_or(usize::MAX).min(buf.len());
            pattern::fill(self.seed, self.sent, &mut buf[..n]);
            match (&self.stream).write(&buf[..n]) {
                Ok(0) => {
                    return Err(ConnError::Io(io::Error::from(io::ErrorKind::WriteZero)));
                }
                Ok(written) => {
                    let before = self.started();
                    self.sent += written as u64;
                    for _ in before..self.started() {
                        self.starts.push_back(now);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.wants_write = true;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(ConnError::Io(e)),
            }
        }
        self.wants_write = false;
        Ok(())
    }
}
