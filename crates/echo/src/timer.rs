//! Deadlines for the loop: a min-heap whose earliest entry sets the poller's wait timeout,
//! so no thread and no periodic tick is needed per connection.
//!
//! Entries are never removed early. A connection that sees traffic only updates its own
//! `last_active`; when its entry comes due the loop checks that time and either closes the
//! connection or schedules the entry again at the new deadline. So an active connection
//! costs one heap operation per timeout period, not one per read, and an entry for a
//! connection that closed meanwhile is recognised by its id and skipped.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

/// A min-heap of `(deadline, token)`.
#[derive(Debug)]
pub(crate) struct Timers<T> {
    heap: BinaryHeap<Reverse<(Instant, T)>>,
}

impl<T: Ord + Copy> Timers<T> {
    pub(crate) fn new() -> Timers<T> {
        Timers { heap: BinaryHeap::new() }
    }

    /// Adds a deadline.
    pub(crate) fn schedule(&mut self, at: Instant, token: T) {
        self.heap.push(Reverse((at, token)));
    }

    /// The earliest deadline.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((at, _))| *at)
    }

    /// Removes and returns one token whose deadline is not after `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<T> {
        if self.next()? > now {
            return None;
        }
        self.heap.pop().map(|Reverse((_, token))| token)
    }

    /// Forgets every deadline.
    pub(crate) fn clear(&mut self) {
        self.heap.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn pops_in_deadline_order() {
        let now = Instant::now();
        let mut timers = Timers::new();
        timers.schedule(now + Duration::from_secs(2), 2);
        timers.schedule(now, 0);
        timers.schedule(now + Duration::from_secs(1), 1);
        assert_eq!(timers.next(), Some(now));
        let later = now + Duration::from_secs(1);
        assert_eq!(timers.pop_due(later), Some(0));
        assert_eq!(timers.pop_due(later), Some(1));
        assert_eq!(timers.pop_due(later), None, "not due yet");
        assert_eq!(timers.next(), Some(now + Duration::from_secs(2)));
    }
}
