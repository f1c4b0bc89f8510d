//! The seam between the event loop and what a server says: [`Protocol`].
//!
//! The loop owns sockets, readiness, buffers, timers, backpressure and shutdown; a
//! protocol only sees the bytes a connection received and answers through [`Output`].
//! Echo is one implementation ([`Echo`](crate::Echo)); a line-based or request/response
//! protocol would be another, with the loop unchanged.

use std::io::{self, Write};
use std::net::TcpStream;

use crate::conn::OutQueue;

/// What a server does with the bytes it receives.
///
/// Each loop owns one `Protocol` value (cloned from the one given to
/// [`Server`](crate::Server)) and one [`Session`](Protocol::Session) per connection. All
/// calls for a connection come from its loop's thread, in order.
pub trait Protocol: Clone + Send + 'static {
    /// The per-connection state. For memory's sake keep it small: an idle connection owns
    /// nothing else on the heap.
    type Session: Send;

    /// Called when a connection is accepted.
    fn open(&mut self) -> Self::Session;

    /// Called with bytes a connection received (never empty). Answer through `out`.
    ///
    /// The loop reads at most as much as keeps this connection's queued output below
    /// [`Config::high_water`](crate::Config::high_water) *if the answer is no longer than
    /// the input*; a protocol that answers with more may exceed the mark by that much.
    fn on_data(&mut self, session: &mut Self::Session, data: &[u8], out: &mut Output<'_>);
}

/// Where a [`Protocol`] writes its answer: straight to the socket while the kernel takes
/// it, into the connection's queue for the rest.
#[derive(Debug)]
pub struct Output<'a> {
    stream: &'a TcpStream,
    queue: &'a mut OutQueue,
    written: usize,
    error: Option<io::Error>,
    close: bool,
}

impl<'a> Output<'a> {
    pub(crate) fn new(stream: &'a TcpStream, queue: &'a mut OutQueue) -> Output<'a> {
        Output { stream, queue, written: 0, error: None, close: false }
    }

    /// Sends `data` after whatever is already queued.
    ///
    /// With nothing queued it is written at once (one `send(2)`, retried on `EINTR`, with
    /// `MSG_NOSIGNAL` where the platform has it, as Rust's standard library does: a closed
    /// peer gives `EPIPE`, never `SIGPIPE`); what the kernel does not take is queued and
    /// written when the socket becomes writable. A write error is kept, and the loop closes
    /// the connection after this call.
    pub fn send(&mut self, mut data: &[u8]) {
        if self.error.is_some() {
            return;
        }
        if self.queue.is_empty() {
            while !data.is_empty() {
                match (&*self.stream).write(data) {
                    Ok(0) => {
                        self.error = Some(io::ErrorKind::WriteZero.into());
                        return;
                    }
                    Ok(n) => {
                        self.written += n;
                        data = &data[n..];
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => {
                        self.error = Some(e);
                        return;
                    }
                }
            }
        }
        self.queue.push(data);
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

    /// What happened: bytes written at once, the write error, whether to close.
    pub(crate) fn finish(self) -> (usize, Option<io::Error>, bool) {
        (self.written, self.error, self.close)
    }
}
