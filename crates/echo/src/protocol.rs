//! The seam between the event loop and what a server says: [`Protocol`].
//!
//! The loop owns sockets, readiness, buffers, timers, backpressure and shutdown; a
//! protocol only sees the bytes a connection received and answers through [`Output`].
//! Echo is one implementation ([`Echo`](crate::Echo)); a line-based or request/response
//! protocol would be another, with the loop unchanged.

use crate::Output;

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
