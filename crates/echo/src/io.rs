//! Reading into the loop's shared buffer and flushing a connection's queue: the
//! connection-level half of the loop, with the backpressure rule.

use std::io::{self, Read};
use std::time::Instant;

use crate::conn::{Conn, Phase};
use crate::protocol::{Output, Protocol};
use crate::stats::LoopStats;

/// What the loop lends a read: the shared buffer, the protocol, the counters.
pub(crate) struct ReadCx<'a, H> {
    pub(crate) buf: &'a mut [u8],
    pub(crate) protocol: &'a mut H,
    pub(crate) stats: &'a LoopStats,
    pub(crate) high_water: usize,
    pub(crate) now: Instant,
}

/// Why a read stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    /// The kernel has nothing more now.
    Drained,
    /// The read budget ran out; there may be more.
    Budget,
    /// The connection wants no input now (paused, closing, end of file).
    Unwanted,
}

/// Reads up to `reads` times (fewer once the kernel has nothing more or the connection
/// wants no more input) and hands each chunk to the protocol.
///
/// # Errors
/// A read or write error: the caller closes the connection.
pub(crate) fn read<H: Protocol>(
    conn: &mut Conn<H::Session>,
    cx: &mut ReadCx<'_, H>,
    mut reads: usize,
) -> io::Result<Stop> {
    while conn.wants_input() {
        if reads == 0 {
            return Ok(Stop::Budget);
        }
        // Read no more than the queue has room for: echo answers byte for byte, so the
        // queue cannot pass the mark. A lingering connection's input is thrown away.
        let room = cx.high_water.saturating_sub(conn.out.len());
        let limit = match conn.phase {
            Phase::Lingering => cx.buf.len(),
            Phase::Draining { budget } => room.min(budget),
            Phase::Open | Phase::Closing => room,
        };
        let limit = limit.min(cx.buf.len());
        match (&conn.stream).read(&mut cx.buf[..limit]) {
            Ok(0) => {
                // Nothing more will come: flush what is queued, then close (at once when
                // lingering: our output is all sent).
                conn.phase = Phase::Closing;
                return Ok(Stop::Unwanted);
            }
            Ok(n) => {
                reads -= 1;
                conn.last_active = cx.now;
                if conn.phase != Phase::Lingering {
                    answer(conn, cx, n)?;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Stop::Drained),
            Err(e) => return Err(e),
        }
    }
    Ok(Stop::Unwanted)
}

/// Hands `cx.buf[..n]` to the protocol and accounts for what it wrote and queued.
fn answer<H: Protocol>(
    conn: &mut Conn<H::Session>,
    cx: &mut ReadCx<'_, H>,
    n: usize,
) -> io::Result<()> {
    cx.stats.read(n);
    if let Phase::Draining { budget } = &mut conn.phase {
        *budget = budget.saturating_sub(n);
    }
    let before = conn.out.len();
    let mut out = Output::new(&conn.stream, &mut conn.out);
    cx.protocol.on_data(&mut conn.session, &cx.buf[..n], &mut out);
    let (written, error, close) = out.finish();
    cx.stats.written(written);
    cx.stats.queue_changed(before, conn.out.len());
    if let Some(e) = error {
        return Err(e);
    }
    if close && conn.phase == Phase::Open {
        // Flush, close our side, then wait for the peer's (see `Phase::Lingering`).
        conn.phase = Phase::Draining { budget: 0 };
    }
    update_pause(conn, cx.high_water, cx.buf.len());
    Ok(())
}

/// Writes queued output until the kernel takes no more.
///
/// # Errors
/// The write error: the caller closes the connection.
pub(crate) fn flush<S>(conn: &mut Conn<S>, stats: &LoopStats, now: Instant) -> io::Result<()> {
    let before = conn.out.len();
    let result = conn.out.flush(&conn.stream);
    let after = conn.out.len();
    if after < before {
        stats.written(before - after);
        stats.queue_changed(before, after);
        conn.last_active = now;
    }
    result.map(drop)
}

/// The backpressure rule, with hysteresis so a connection near the mark does not flip
/// between paused and reading on every few bytes: stop reading when less room is left
/// than a worthwhile read (a buffer, or a quarter of the mark), resume once the queue is
/// down to half the mark. Returns whether the connection was just resumed.
pub(crate) fn update_pause<S>(conn: &mut Conn<S>, high_water: usize, buf_len: usize) -> bool {
    let queued = conn.out.len();
    if conn.paused {
        if queued <= high_water / 2 {
            conn.paused = false;
            return true;
        }
    } else if high_water.saturating_sub(queued) < buf_len.min(high_water / 4).max(1) {
        conn.paused = true;
    }
    false
}
