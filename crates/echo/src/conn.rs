//! One connection's state, and its output queue.
//!
//! Kept small on purpose: an idle connection is a socket, a few flags, a timestamp and an
//! empty `Vec` (no heap allocation). The queue allocates only while the kernel refuses
//! output, and frees its buffer as soon as it drains.

use std::io::{self, Write};
use std::net::TcpStream;
use std::time::Instant;

use multipoll::Interest;

/// Output the kernel has not taken yet: `buf[pos..]`.
#[derive(Debug, Default)]
pub(crate) struct OutQueue {
    buf: Vec<u8>,
    pos: usize,
}

impl OutQueue {
    /// Bytes waiting.
    pub(crate) fn len(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends `data`.
    pub(crate) fn push(&mut self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        // Move the unsent tail to the front once the sent head is the larger part, so the
        // buffer never grows past twice what is waiting.
        if self.pos > 0 && self.pos >= self.len() {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        // Exact growth: the queue is bounded by the high-water mark, and doubling would
        // let a connection at the mark hold twice its memory.
        self.buf.reserve_exact(data.len());
        self.buf.extend_from_slice(data);
    }

    /// Writes until the queue is empty or the kernel takes no more; returns how many bytes
    /// were written. The buffer is freed once empty.
    ///
    /// # Errors
    /// The write error (`EPIPE`, `ECONNRESET`, ...); `EINTR` is retried and `WouldBlock`
    /// just stops.
    pub(crate) fn flush(&mut self, stream: &TcpStream) -> io::Result<usize> {
        let mut written = 0;
        while !self.is_empty() {
            match (&*stream).write(&self.buf[self.pos..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    self.pos += n;
                    written += n;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        if self.is_empty() {
            *self = OutQueue::default();
        }
        Ok(written)
    }
}

/// Where a connection is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Reading and answering.
    Open,
    /// The peer closed its side (or the protocol asked to close): flush, then close.
    Closing,
    /// The server is shutting down: answer at most `budget` more bytes (what was already
    /// in the receive buffer when shutdown began), flush, then close our write side.
    Draining { budget: usize },
    /// Our write side is closed: read and discard until the peer closes, so that closing
    /// with unread input does not reset the connection and destroy output in flight.
    Lingering,
}

/// One client connection.
#[derive(Debug)]
pub(crate) struct Conn<S> {
    pub(crate) stream: TcpStream,
    /// Unique for the loop's lifetime (slab keys are reused), to match timer entries.
    pub(crate) id: u64,
    pub(crate) out: OutQueue,
    pub(crate) phase: Phase,
    /// Stopped reading because too much output is queued.
    pub(crate) paused: bool,
    /// The interest registered with the poller now.
    pub(crate) interest: Interest,
    /// In oneshot mode: whether the registration is armed (an event disarms it).
    pub(crate) armed: bool,
    /// Queued in the loop's ready list (more to read without waiting for an event).
    pub(crate) ready: bool,
    pub(crate) last_active: Instant,
    pub(crate) session: S,
}

impl<S> Conn<S> {
    pub(crate) fn new(stream: TcpStream, id: u64, now: Instant, session: S) -> Conn<S> {
        Conn {
            stream,
            id,
            out: OutQueue::default(),
            phase: Phase::Open,
            paused: false,
            interest: Interest::READABLE,
            armed: true,
            ready: false,
            last_active: now,
            session,
        }
    }

    /// Whether input is wanted now (paused connections and closed read sides wait).
    pub(crate) fn wants_input(&self) -> bool {
        match self.phase {
            Phase::Open => !self.paused,
            Phase::Draining { budget } => budget > 0 && !self.paused,
            Phase::Lingering => true,
            Phase::Closing => false,
        }
    }

    /// The interest that fits the state: read while input is wanted, write while output
    /// is queued.
    pub(crate) fn desired_interest(&self) -> Interest {
        Interest::new(self.wants_input(), !self.out.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_compacts_and_flush_frees() -> io::Result<()> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let client = TcpStream::connect(listener.local_addr()?)?;
        let (server, _) = listener.accept()?;
        let mut queue = OutQueue::default();
        queue.push(b"hello ");
        queue.push(b"world");
        assert_eq!(queue.len(), 11);
        assert_eq!(queue.flush(&server)?, 11);
        assert!(queue.is_empty());
        assert_eq!(queue.buf.capacity(), 0, "an empty queue owns no buffer");
        let mut got = [0; 11];
        std::io::Read::read_exact(&mut &client, &mut got)?;
        assert_eq!(&got, b"hello world");
        Ok(())
    }
}
