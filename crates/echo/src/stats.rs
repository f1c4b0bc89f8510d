//! Counters each loop updates as it goes and anyone may read at any time: [`Stats`] holds
//! one [`LoopStats`] of relaxed atomics per loop (each written by its loop's thread only,
//! so updates never contend), and [`Snapshot`] is a plain copy to print or assert on.

use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};

/// Adds `n` to a counter that only one thread writes: a plain load and store instead of
/// `fetch_add`, whose locked read-modify-write (~20 cycles on x86) is for counters with
/// several writers. Readers still see whole values, never torn ones.
#[inline]
fn add(counter: &AtomicU64, n: u64) {
    counter.store(counter.load(Relaxed).wrapping_add(n), Relaxed);
}

/// Subtracts `n` from a counter that only one thread writes; see [`add`].
#[inline]
fn sub(counter: &AtomicU64, n: u64) {
    counter.store(counter.load(Relaxed).wrapping_sub(n), Relaxed);
}

/// The counters of one event loop. Each is written by its loop's thread only (so an update
/// is a plain load and store, not a locked `fetch_add`), read by anyone.
#[derive(Debug, Default)]
pub struct LoopStats {
    accepted: AtomicU64,
    refused: AtomicU64,
    active: AtomicU64,
    closed: AtomicU64,
    timed_out: AtomicU64,
    accept_errors: AtomicU64,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    queued: AtomicU64,
    peak_queued: AtomicU64,
}

impl LoopStats {
    /// A copy of the counters now.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            accepted: self.accepted.load(Relaxed),
            refused: self.refused.load(Relaxed),
            active: self.active.load(Relaxed),
            closed: self.closed.load(Relaxed),
            timed_out: self.timed_out.load(Relaxed),
            accept_errors: self.accept_errors.load(Relaxed),
            bytes_in: self.bytes_in.load(Relaxed),
            bytes_out: self.bytes_out.load(Relaxed),
            queued: self.queued.load(Relaxed),
            peak_queued: self.peak_queued.load(Relaxed),
        }
    }

    pub(crate) fn opened(&self) {
        add(&self.accepted, 1);
        add(&self.active, 1);
    }

    pub(crate) fn refused(&self) {
        add(&self.refused, 1);
    }

    pub(crate) fn closed(&self, timed_out: bool) {
        sub(&self.active, 1);
        add(&self.closed, 1);
        if timed_out {
            add(&self.timed_out, 1);
        }
    }

    pub(crate) fn accept_error(&self) {
        add(&self.accept_errors, 1);
    }

    #[inline] // Per message.
    pub(crate) fn read(&self, n: usize) {
        add(&self.bytes_in, n as u64);
    }

    #[inline] // Per message.
    pub(crate) fn written(&self, n: usize) {
        add(&self.bytes_out, n as u64);
    }

    /// Records that one connection's queue went from `before` to `after` bytes.
    #[inline] // Per message.
    pub(crate) fn queue_changed(&self, before: usize, after: usize) {
        if after > before {
            add(&self.queued, (after - before) as u64);
            if after as u64 > self.peak_queued.load(Relaxed) {
                self.peak_queued.store(after as u64, Relaxed);
            }
        } else if before > after {
            sub(&self.queued, (before - after) as u64);
        }
    }
}

/// The counters of every loop of one server, and the server-wide connection count that
/// enforces [`Config::max_conns`](crate::Config::max_conns).
///
/// Shared as an `Arc` between the loops and whoever watches them (the binary's stats
/// printer, tests).
#[derive(Debug)]
pub struct Stats {
    loops: Box<[LoopStats]>,
    open: AtomicUsize,
}

impl Stats {
    pub(crate) fn new(loops: usize) -> Stats {
        Stats {
            loops: (0..loops).map(|_| LoopStats::default()).collect(),
            open: AtomicUsize::new(0),
        }
    }

    /// The counters of each loop, in loop order.
    pub fn loops(&self) -> &[LoopStats] {
        &self.loops
    }

    /// The counters of all loops added up (the peak is the largest of the loops' peaks).
    pub fn total(&self) -> Snapshot {
        self.loops.iter().map(LoopStats::snapshot).fold(Snapshot::default(), |a, b| a.add(&b))
    }

    /// Takes one of at most `max` server-wide connection slots; `false` when all are taken.
    pub(crate) fn reserve(&self, max: Option<usize>) -> bool {
        let before = self.open.fetch_add(1, Relaxed);
        if max.is_some_and(|max| before >= max) {
            self.open.fetch_sub(1, Relaxed);
            return false;
        }
        true
    }

    /// Gives back a slot taken by [`Stats::reserve`].
    pub(crate) fn release(&self) {
        self.open.fetch_sub(1, Relaxed);
    }
}

/// A copy of the counters of one loop, or of a whole server ([`Stats::total`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Connections accepted and served.
    pub accepted: u64,
    /// Connections accepted and closed at once because of [`Config::max_conns`](crate::Config::max_conns).
    pub refused: u64,
    /// Connections open now.
    pub active: u64,
    /// Connections closed, for any reason.
    pub closed: u64,
    /// Of the closed connections, those closed by the idle timeout.
    pub timed_out: u64,
    /// Times `accept` failed for lack of fds or memory (each starts a back-off).
    pub accept_errors: u64,
    /// Bytes read from clients.
    pub bytes_in: u64,
    /// Bytes written to clients.
    pub bytes_out: u64,
    /// Bytes queued for clients now (not yet taken by the kernel), all connections.
    pub queued: u64,
    /// The most bytes one connection ever had queued.
    pub peak_queued: u64,
}

impl Snapshot {
    fn add(self, other: &Snapshot) -> Snapshot {
        Snapshot {
            accepted: self.accepted + other.accepted,
            refused: self.refused + other.refused,
            active: self.active + other.active,
            closed: self.closed + other.closed,
            timed_out: self.timed_out + other.timed_out,
            accept_errors: self.accept_errors + other.accept_errors,
            bytes_in: self.bytes_in + other.bytes_in,
            bytes_out: self.bytes_out + other.bytes_out,
            queued: self.queued + other.queued,
            peak_queued: self.peak_queued.max(other.peak_queued),
        }
    }
}

/// `key=value` pairs on one line, for logs and for scripts (the tests parse it).
impl fmt::Display for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "accepted={} refused={} active={} closed={} timed_out={} accept_errors={} \
             bytes_in={} bytes_out={} queued={} peak_queued={}",
            self.accepted,
            self.refused,
            self.active,
            self.closed,
            self.timed_out,
            self.accept_errors,
            self.bytes_in,
            self.bytes_out,
            self.queued,
            self.peak_queued
        )
    }
}
