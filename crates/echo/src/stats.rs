//! Counters each loop keeps and anyone may read at any time: [`Stats`] holds one
//! [`LoopStats`] of atomics per loop, and [`Snapshot`] is a plain copy to print or
//! assert on.
//!
//! A loop counts in plain integers ([`Counts`]: an add per message, no atomic
//! read-modify-write, no shared cache line written per message) and publishes them to its
//! `LoopStats` once per turn, before it waits, and before it closes a connection's
//! socket: whoever sees a connection closed (or the loop idle) sees counts that include
//! it. The byte counters change with every message; the others (connections, the queue)
//! are stored only in a turn that changed one of them, `active` last
//! (release); a snapshot reads it first (acquire), so no other counter of a snapshot is
//! older than its `active`.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

/// A loop's counters as the loop keeps them; see the [module docs](self).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Counts {
    accepted: u64,
    refused: u64,
    active: u64,
    closed: u64,
    timed_out: u64,
    bytes_in: u64,
    bytes_out: u64,
    queued: u64,
    peak_queued: u64,
    /// A counter other than the bytes changed since the counts were last published.
    changed: bool,
}

impl Counts {
    pub(crate) fn opened(&mut self) {
        self.accepted += 1;
        self.active += 1;
        self.changed = true;
    }

    pub(crate) fn refused(&mut self) {
        self.refused += 1;
        self.changed = true;
    }

    pub(crate) fn closed(&mut self, timed_out: bool) {
        self.changed = true;
        self.active -= 1;
        self.closed += 1;
        self.timed_out += u64::from(timed_out);
    }

    #[inline(always)] // Per message.
    pub(crate) fn read(&mut self, n: usize) {
        self.bytes_in += n as u64;
    }

    #[inline(always)] // Per message.
    pub(crate) fn written(&mut self, n: usize) {
        self.bytes_out += n as u64;
    }

    /// Records that one connection's queue grew by `by` bytes, to `len`.
    pub(crate) fn queue_grew(&mut self, by: usize, len: usize) {
        self.changed = true;
        self.queued += by as u64;
        self.peak_queued = self.peak_queued.max(len as u64);
    }

    /// Records that one connection's queue shrank by `by` bytes.
    pub(crate) fn queue_shrank(&mut self, by: usize) {
        self.changed = true;
        self.queued -= by as u64;
    }

    /// Bytes queued for clients now, all connections.
    pub(crate) fn queued(&self) -> u64 {
        self.queued
    }
}

/// A loop's counts and where they go: its [`LoopStats`] in the server's [`Stats`], and
/// the server-wide connection slots.
#[derive(Debug)]
pub(crate) struct Ledger {
    counts: Counts,
    /// Where the counts are published: held directly, since publishing is once a turn.
    published: Arc<LoopStats>,
    stats: Arc<Stats>,
    /// The loop's index, in `stats` and in logs.
    index: usize,
}

impl Ledger {
    pub(crate) fn new(index: usize, stats: Arc<Stats>) -> Ledger {
        Ledger { counts: Counts::default(), published: stats.of_loop(index), stats, index }
    }

    /// The loop's counters, to count in.
    #[inline(always)]
    pub(crate) fn counts(&mut self) -> &mut Counts {
        &mut self.counts
    }

    /// Bytes queued for clients now, over the loop's connections.
    pub(crate) fn queued(&self) -> u64 {
        self.counts.queued()
    }

    /// Makes the counts visible in the server's [`Stats`].
    #[inline]
    pub(crate) fn publish(&mut self) {
        self.published.publish(&mut self.counts);
    }

    /// Takes one of at most `max` server-wide connection slots; `false` when all are taken.
    pub(crate) fn reserve(&self, max: Option<usize>) -> bool {
        self.stats.reserve(max)
    }

    /// Gives back a slot taken by [`Ledger::reserve`].
    pub(crate) fn release(&self) {
        self.stats.release();
    }

    /// The loop's index, for logs.
    pub(crate) fn index(&self) -> usize {
        self.index
    }
}

/// The counters of one event loop, as it last published them: before each wait, and
/// before it closes a connection's socket. Written by its loop's thread only, read by
/// anyone.
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
        let active = self.active.load(Acquire);
        Snapshot {
            accepted: self.accepted.load(Relaxed),
            refused: self.refused.load(Relaxed),
            active,
            closed: self.closed.load(Relaxed),
            timed_out: self.timed_out.load(Relaxed),
            accept_errors: self.accept_errors.load(Relaxed),
            bytes_in: self.bytes_in.load(Relaxed),
            bytes_out: self.bytes_out.load(Relaxed),
            queued: self.queued.load(Relaxed),
            peak_queued: self.peak_queued.load(Relaxed),
        }
    }

    /// Publishes the loop's `counts` (`accept_errors` is the listener's, counted at once):
    /// the bytes always, the others (`active` last) if one changed since the last time.
    #[inline]
    pub(crate) fn publish(&self, counts: &mut Counts) {
        self.bytes_in.store(counts.bytes_in, Relaxed);
        self.bytes_out.store(counts.bytes_out, Relaxed);
        if std::mem::take(&mut counts.changed) {
            self.accepted.store(counts.accepted, Relaxed);
            self.refused.store(counts.refused, Relaxed);
            self.closed.store(counts.closed, Relaxed);
            self.timed_out.store(counts.timed_out, Relaxed);
            self.queued.store(counts.queued, Relaxed);
            self.peak_queued.store(counts.peak_queued, Relaxed);
            self.active.store(counts.active, Release);
        }
    }

    /// Counts a failed `accept` (rare: each starts a back-off).
    pub(crate) fn accept_error(&self) {
        // One writer: a load and a store, not a locked read-modify-write.
        self.accept_errors.store(self.accept_errors.load(Relaxed) + 1, Relaxed);
    }
}

/// The counters of every loop of one server, and the server-wide connection count that
/// enforces [`Config::max_conns`](crate::Config::max_conns).
///
/// Shared as an `Arc` between the loops and whoever watches them (the binary's stats
/// printer, tests).
#[derive(Debug)]
pub struct Stats {
    /// Each its own allocation, which its loop holds to publish without an index.
    loops: Box<[Arc<LoopStats>]>,
    open: AtomicUsize,
}

impl Stats {
    pub(crate) fn new(loops: usize) -> Stats {
        Stats {
            loops: (0..loops).map(|_| Arc::new(LoopStats::default())).collect(),
            open: AtomicUsize::new(0),
        }
    }

    /// The counters of each loop, in loop order.
    pub fn loops(&self) -> impl ExactSizeIterator<Item = &LoopStats> {
        self.loops.iter().map(|l| &**l)
    }

    /// The counters of loop `index`, for that loop to publish to.
    pub(crate) fn of_loop(&self, index: usize) -> Arc<LoopStats> {
        Arc::clone(&self.loops[index])
    }

    /// The counters of all loops added up (the peak is the largest of the loops' peaks).
    pub fn total(&self) -> Snapshot {
        self.loops().map(LoopStats::snapshot).fold(Snapshot::default(), |a, b| a.add(&b))
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
