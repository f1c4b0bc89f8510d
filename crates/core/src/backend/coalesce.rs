//! The coalescing rule of every wake-up, once for both families' [`Notifier`]s: a wake
//! sends only when none is pending, so a thousand notifies before a wait cost one send and
//! one wake-up; a drain clears the flag only after it has read, so a racing wake is never
//! lost.
//!
//! [`Notifier`]: super::notify::Notifier

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::fault::{self, Call};

/// Whether a wake is pending: sent and not yet drained.
#[derive(Debug, Default)]
pub struct Coalesce {
    pending: AtomicBool,
}

impl Coalesce {
    /// Runs `send` (after the [`Call::Notify`] fault point) unless a wake is already
    /// pending. A failed send leaves none pending, so the next wake tries again.
    ///
    /// One atomic swap and, at most, `send`: async-signal-safe when `send` is.
    ///
    /// # Errors
    /// An injected fault, or `send`'s.
    #[inline]
    pub fn wake(&self, send: impl FnOnce() -> io::Result<()>) -> io::Result<()> {
        if self.pending.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let sent = fault::inject(Call::Notify).and_then(|()| send());
        if sent.is_err() {
            self.pending.store(false, Ordering::Release);
        }
        sent
    }

    /// A drain has read what was sent: the next wake sends again. Call it after reading,
    /// never before: a wake that races with the drain then either leaves its byte to read
    /// or finds the flag still set, and its caller's own flag carries the news.
    #[inline]
    pub fn drained(&self) {
        self.pending.store(false, Ordering::Release);
    }
}
