//! What a `wait` reports: [`Event`]s collected in a reusable [`Events`] buffer.

use std::any::Any;

use std::fmt;

/// One readiness report for one registered fd, identified by the key given at registration.
///
/// A backend reports at most one `Event` per fd per `wait`. Flags are filtered by the
/// registration's [`Interest`](crate::Interest): readable only appears for readable
/// interest, writable only for writable interest, priority only for priority interest.
/// Hang-up and error are separate flags because they are not "data is available": they
/// say the connection is over.
///
/// Readiness is a hint, not a promise: an fd may be reported ready and still return
/// `WouldBlock` (another thread read it first, a spurious wake-up). Read or write until
/// `WouldBlock` (always in the edge modes).
///
/// Read it through its methods; more flags may come. Backends (and tests) build one with
/// [`Event::new`] and the `with_*` methods.
///
/// *Why one hang-up flag, and not mio's `is_read_closed`/`is_write_closed`:* every flag
/// here must mean the same on every backend. "The peer will send no more" is what every
/// kernel can report (it is [`is_hangup`](Event::is_hangup)); "writing would fail" can only
/// be seen by some (select cannot see it without writing) and shows anyway as
/// [`is_error`](Event::is_error), or as the error of the next write. A mio user's
/// `is_read_closed()` is our `is_hangup()`, and `is_write_closed()` is `is_error()` or a
/// failed write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub struct Event {
    key: usize,
    readable: bool,
    writable: bool,
    hangup: bool,
    error: bool,
    priority: bool,
}

impl Event {
    /// An event for `key` with no flag set.
    pub const fn new(key: usize) -> Event {
        Event {
            key,
            readable: false,
            writable: false,
            hangup: false,
            error: false,
            priority: false,
        }
    }

    /// The key given to `add` / `modify`.
    pub const fn key(&self) -> usize {
        self.key
    }

    /// A read will not block: data, end of file, a pending connection, or a pending error.
    pub const fn is_readable(&self) -> bool {
        self.readable
    }

    /// A write will not block (or will fail at once, if the peer is gone).
    pub const fn is_writable(&self) -> bool {
        self.writable
    }

    /// The peer closed (its write side or the whole connection) or reset it: reading gives
    /// the rest of the data, then end of file or the error. Reported, always with
    /// readable, to registrations with readable interest only. Once no data is queued every
    /// backend reports it; while data is still queued, only backends with
    /// [`Capabilities::early_hangup`](crate::Capabilities::early_hangup) can tell it from
    /// data (select and, without `POLLRDHUP`, poll report only readable until then).
    pub const fn is_hangup(&self) -> bool {
        self.hangup
    }

    /// An error is pending on the fd (fetch it with `SO_ERROR` or by the next I/O call), or
    /// the fd was closed while still registered. See the backend table in `docs/backends.md`
    /// for the one backend (select) that cannot observe pending socket errors.
    pub const fn is_error(&self) -> bool {
        self.error
    }

    /// Urgent data is pending (see [`Interest::PRIORITY`](crate::Interest::PRIORITY)).
    pub const fn is_priority(&self) -> bool {
        self.priority
    }

    /// This event with readable set to `on`.
    pub const fn with_readable(mut self, on: bool) -> Event {
        self.readable = on;
        self
    }

    /// This event with writable set to `on`.
    pub const fn with_writable(mut self, on: bool) -> Event {
        self.writable = on;
        self
    }

    /// This event with hang-up set to `on`.
    pub const fn with_hangup(mut self, on: bool) -> Event {
        self.hangup = on;
        self
    }

    /// This event with error set to `on`.
    pub const fn with_error(mut self, on: bool) -> Event {
        self.error = on;
        self
    }

    /// This event with priority set to `on`.
    pub const fn with_priority(mut self, on: bool) -> Event {
        self.priority = on;
        self
    }

    /// Whether any flag is set (an event with none is never reported).
    pub const fn is_empty(&self) -> bool {
        !(self.readable || self.writable || self.hangup || self.error || self.priority)
    }

    /// Merges the flags of `other` (same key) into `self`.
    pub(crate) fn merge(&mut self, other: &Event) {
        self.readable |= other.readable;
        self.writable |= other.writable;
        self.hangup |= other.hangup;
        self.error |= other.error;
        self.priority |= other.priority;
    }
}

/// A reusable buffer of [`Event`]s filled by `wait`.
///
/// Its capacity is the most events one `wait` reports. When more fds are ready than that,
/// the rest stay pending and are reported by the next `wait`: nothing is lost, and backends
/// rotate where they start so no fd starves.
///
/// ```
/// use std::time::Duration;
/// use multipoll_core::{Events, Poller};
///
/// # #[allow(dead_code)]
/// fn ready_to_read<P: Poller>(poller: &P) -> std::io::Result<Vec<usize>> {
///     let mut events = Events::with_capacity(256);
///     poller.wait(&mut events, Some(Duration::from_millis(10)))?;
///     Ok(events.iter().filter(|e| e.is_readable()).map(|e| e.key()).collect())
/// }
/// ```
pub struct Events {
    list: Vec<Event>,
    capacity: usize,
    /// A backend's own kernel buffer, kept here across waits (see [`EventsExt::take_scratch`](crate::backend::EventsExt::take_scratch)).
    scratch: Option<Box<dyn Any + Send>>,
}

impl Clone for Events {
    /// Copies the events; the backend's scratch buffer is not copied (it is rebuilt).
    fn clone(&self) -> Events {
        Events { list: self.list.clone(), capacity: self.capacity, scratch: None }
    }
}

impl fmt::Debug for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Events")
            .field("capacity", &self.capacity)
            .field("list", &self.list)
            .finish()
    }
}

impl Events {
    /// The capacity of [`Events::new`].
    pub const DEFAULT_CAPACITY: usize = 1024;

    /// A buffer of [`Events::DEFAULT_CAPACITY`] events.
    pub fn new() -> Events {
        Events::with_capacity(Self::DEFAULT_CAPACITY)
    }

    /// A buffer that holds up to `capacity` events per `wait`.
    ///
    /// A capacity of 0 could never report anything, so it is raised to 1.
    pub fn with_capacity(capacity: usize) -> Events {
        let capacity = capacity.max(1);
        Events { list: Vec::with_capacity(capacity), capacity, scratch: None }
    }

    /// The most events one `wait` reports into this buffer.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many events the last `wait` reported.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether the last `wait` reported nothing.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Whether no more events fit.
    #[inline]
    pub fn is_full(&self) -> bool {
        self.list.len() >= self.capacity
    }

    /// The events, in no particular order.
    pub fn iter(&self) -> std::slice::Iter<'_, Event> {
        self.list.iter()
    }

    /// The events as a slice.
    pub fn as_slice(&self) -> &[Event] {
        &self.list
    }

    /// Removes every event (each `wait` starts with this).
    pub fn clear(&mut self) {
        self.list.clear();
    }
}

// The backend-only half of `Events`, documented on the trait.
impl crate::backend::EventsExt for Events {
    #[inline]
    fn push(&mut self, event: Event) -> bool {
        if self.is_full() {
            return false;
        }
        if !event.is_empty() {
            self.list.push(event);
        }
        true
    }

    fn take_scratch<T: Any + Send + Default>(&mut self) -> Box<T> {
        match self.scratch.take().map(|s| s.downcast::<T>()) {
            Some(Ok(scratch)) => scratch,
            _ => Box::default(),
        }
    }

    fn put_scratch<T: Any + Send>(&mut self, scratch: Box<T>) {
        self.scratch = Some(scratch);
    }

    fn merge_same_keys(&mut self) {
        if self.list.len() < 2 {
            return;
        }
        self.list.sort_unstable_by_key(|e| e.key);
        self.list.dedup_by(|later, kept| {
            if later.key == kept.key {
                kept.merge(later);
                true
            } else {
                false
            }
        });
    }
}

impl Default for Events {
    fn default() -> Events {
        Events::new()
    }
}

impl<'a> IntoIterator for &'a Events {
    type Item = &'a Event;
    type IntoIter = std::slice::Iter<'a, Event>;

    fn into_iter(self) -> Self::IntoIter {
        self.list.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::EventsExt;

    #[test]
    fn zero_capacity_is_one() {
        let mut events = Events::with_capacity(0);
        assert_eq!(events.capacity(), 1);
        assert!(events.push(Event::new(7).with_readable(true)));
        assert_eq!(events.len(), 1);
    }

    #[test]
    fn empty_event_is_not_stored() {
        let mut events = Events::with_capacity(4);
        assert!(events.push(Event::new(7)));
        assert!(events.is_empty());
    }

    #[test]
    fn scratch_is_kept_by_type() {
        let mut events = Events::with_capacity(4);
        let mut a: Box<Vec<u64>> = events.take_scratch();
        a.push(7);
        events.put_scratch(a);
        assert_eq!(*events.take_scratch::<Vec<u64>>(), [7]);
        events.put_scratch(Box::new(vec![1u64]));
        assert!(events.take_scratch::<Vec<u32>>().is_empty(), "another type starts afresh");
        assert!(events.clone().take_scratch::<Vec<u64>>().is_empty(), "clones do not share it");
    }

    #[test]
    fn merge_same_keys_folds_flags() {
        let mut events = Events::with_capacity(8);
        events.push(Event::new(3).with_readable(true));
        events.push(Event::new(1).with_writable(true));
        events.push(Event::new(3).with_writable(true).with_hangup(true));
        events.merge_same_keys();
        let mut got = events.as_slice().to_vec();
        got.sort_by_key(|e| e.key());
        assert_eq!(
            got,
            [
                Event::new(1).with_writable(true),
                Event::new(3).with_readable(true).with_writable(true).with_hangup(true),
            ]
        );
    }
}
