//! A connection's output: the one write path ([`OutQueue::send`] writes straight to the
//! socket and queues only what the kernel refused, [`OutQueue::flush`] writes the queue
//! when the socket is writable again, both through [`write_some`]), and [`Output`], the
//! face of it a [`Protocol`](crate::Protocol) answers through.
//!
//! Kept small on purpose: an empty queue is an empty `Vec` (no heap allocation). The
//! queue allocates only while the kernel refuses output, and frees its buffer as soon as
//! it drains.

use std::io;
use std::net::TcpStream;

use crate::socket;

/// What a write did: the bytes the kernel took, the bytes queued instead, and the error
/// that stopped it, if one did (the bytes before it were still sent).
#[derive(Debug)]
#[must_use]
pub(crate) struct Written {
    pub(crate) bytes: usize,
    pub(crate) queued: usize,
    pub(crate) error: Option<io::Error>,
}

/// The write path: writes `data` until the kernel has taken all of it or takes no more
/// now (`EAGAIN`; `EINTR` is retried in [`socket::write`]).
#[inline(always)]
fn write_some(stream: &TcpStream, data: &[u8]) -> Written {
    if data.is_empty() {
        return Written { bytes: 0, queued: 0, error: None };
    }
    // Nearly always the kernel takes all of it at once: that case loops no more.
    let mut bytes = match socket::write(stream, data) {
        Ok(Some(n)) if n == data.len() => return Written { bytes: n, queued: 0, error: None },
        Ok(Some(n)) if n > 0 => n,
        Ok(Some(_)) => {
            return Written { bytes: 0, queued: 0, error: Some(io::ErrorKind::WriteZero.into()) };
        }
        Ok(None) => return Written { bytes: 0, queued: 0, error: None },
        Err(e) => return Written { bytes: 0, queued: 0, error: Some(e) },
    };
    while bytes < data.len() {
        match socket::write(stream, &data[bytes..]) {
            Ok(Some(0)) => {
                return Written { bytes, queued: 0, error: Some(io::ErrorKind::WriteZero.into()) };
            }
            Ok(Some(n)) => bytes += n,
            Ok(None) => break,
            Err(e) => return Written { bytes, queued: 0, error: Some(e) },
        }
    }
    Written { bytes, queued: 0, error: None }
}

/// Output the kernel has not taken yet: `buf[pos..]`. Empty, it holds no buffer (`flush`
/// frees it), so `buf` is empty exactly when the queue is.
#[derive(Debug, Default)]
pub(crate) struct OutQueue {
    buf: Vec<u8>,
    pos: usize,
}

impl OutQueue {
    /// Bytes waiting.
    #[inline(always)]
    pub(crate) fn len(&self) -> usize {
        self.buf.len() - self.pos
    }

    #[inline(always)]
    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Sends `data` after what is already queued: written at once while nothing is
    /// queued, and what the kernel does not take is queued.
    #[inline(always)]
    pub(crate) fn send(&mut self, stream: &TcpStream, data: &[u8]) -> Written {
        if !self.is_empty() {
            self.push(data);
            return Written { bytes: 0, queued: data.len(), error: None };
        }
        let mut written = write_some(stream, data);
        if written.error.is_none() && written.bytes < data.len() {
            written.queued = data.len() - written.bytes;
            self.push(&data[written.bytes..]);
        }
        written
    }

    /// Writes the queue until it is empty or the kernel takes no more; the buffer is
    /// freed once empty.
    pub(crate) fn flush(&mut self, stream: &TcpStream) -> Written {
        let written = write_some(stream, &self.buf[self.pos..]);
        self.pos += written.bytes;
        if self.pos == self.buf.len() {
            *self = OutQueue::default();
        }
        written
    }

    /// Appends `data`.
    fn push(&mut self, data: &[u8]) {
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
}

/// Where a [`Protocol`](crate::Protocol) writes its answer: straight to the socket while
/// the kernel takes it, into the connection's queue for the rest.
#[derive(Debug)]
pub struct Output<'a> {
    stream: &'a TcpStream,
    queue: &'a mut OutQueue,
    written: Written,
    close: bool,
}

impl<'a> Output<'a> {
    #[inline(always)]
    pub(crate) fn new(stream: &'a TcpStream, queue: &'a mut OutQueue) -> Output<'a> {
        Output {
            stream,
            queue,
            written: Written { bytes: 0, queued: 0, error: None },
            close: false,
        }
    }

    /// Sends `data` after whatever is already queued.
    ///
    /// With nothing queued it is written at once (`send(2)`, retried on `EINTR`, with
    /// `MSG_NOSIGNAL` where the platform has it, as Rust's standard library does: a closed
    /// peer gives `EPIPE`, never `SIGPIPE`); what the kernel does not take is queued and
    /// written when the socket becomes writable. A write error is kept, and the loop closes
    /// the connection after this call.
    #[inline(always)]
    pub fn send(&mut self, data: &[u8]) {
        if self.written.error.is_some() {
            return;
        }
        let written = self.queue.send(self.stream, data);
        self.written.bytes += written.bytes;
        self.written.queued += written.queued;
        self.written.error = written.error;
    }

    /// Asks the loop to close this connection once its output is flushed; nothing more is
    /// read from it.
    pub fn close(&mut self) {
        self.close = true;
    }

    /// How many bytes are queued for this connection (not yet taken by the kernel).
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// What happened: the bytes written at once and queued (and the error that stopped
    /// writing), whether to close.
    #[inline(always)]
    pub(crate) fn finish(self) -> (Written, bool) {
        (self.written, self.close)
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
        let written = queue.flush(&server);
        assert!(written.error.is_none());
        assert_eq!(written.bytes, 11);
        assert!(queue.is_empty());
        assert_eq!(queue.buf.capacity(), 0, "an empty queue owns no buffer");
        let mut got = [0; 11];
        std::io::Read::read_exact(&mut &client, &mut got)?;
        assert_eq!(&got, b"hello world");
        Ok(())
    }
}
