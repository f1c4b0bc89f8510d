//! What a `wait` reports: [`Event`]s collected in a reusable [`Events`] buffer.

use std::any::{Any, TypeId};
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
/// # A failed non-blocking connect
///
/// Backends tell a failed connect differently (error and hang-up, error alone to a
/// writable-only registration, hang-up alone where
/// [`reports_errors`](crate::Capabilities::reports_errors) is false), so the portable test
/// is on the socket itself: once it is reported writable, or with error or hang-up, call
/// `TcpStream::take_error()` (`SO_ERROR`), which gives the failure; `None` and a
/// `peer_addr()` that succeeds mean connected. No backend consumes the error before you
/// ask. With any backend (`P` is e.g. `multipoll::DefaultPoller`; the repository's
/// `examples/polling_tcp_client.rs` runs this on every backend, a refused connect
/// included):
///
/// ```
/// # extern crate multipoll_core as multipoll;
/// use std::io;
/// use std::net::{SocketAddr, TcpStream};
/// use std::time::Duration;
/// use multipoll::{AsSource, Event, Events, Interest, Mode, Poller};
///
/// /// How the connect of `stream` ended, as `event` tells: `None` while it is in progress.
/// fn connect_result(stream: &TcpStream, event: &Event) -> Option<io::Result<()>> {
///     if !(event.is_writable() || event.is_error() || event.is_hangup()) {
///         return None;
///     }
///     match stream.take_error() {
///         Ok(Some(e)) | Err(e) => Some(Err(e)),
///         Ok(None) => match stream.peer_addr() {
///             Ok(_) => Some(Ok(())),
///             // Reported too soon (readiness is a hint): still connecting.
///             Err(e) if e.kind() == io::ErrorKind::NotConnected => None,
///             Err(e) => Some(Err(e)),
///         },
///     }
/// }
///
/// /// Connects to `addr` without blocking the thread in `connect(2)`.
/// # #[allow(dead_code)]
/// fn connect<P: Poller>(poller: &P, addr: SocketAddr) -> io::Result<TcpStream> {
///     let socket = socket2::Socket::new(socket2::Domain::for_address(addr),
///                                       socket2::Type::STREAM, None)?;
///     socket.set_nonblocking(true)?;
///     match socket.connect(&addr.into()) {
///         Ok(()) => return Ok(socket.into()),
///         // Begun: `EINPROGRESS` on Unix, `WSAEWOULDBLOCK` on Windows.
///         Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS)
///             || e.kind() == io::ErrorKind::WouldBlock => {}
///         // Some kernels refuse a loopback connect at once: then the call says so.
///         Err(e) => return Err(e),
///     }
///     let stream = TcpStream::from(socket);
///     poller.add(stream.as_source(), 1, Interest::BOTH, Mode::Level)?;
///     let mut events = Events::new();
///     let result = loop {
///         if poller.wait(&mut events, Some(Duration::from_secs(10)))? == 0 {
///             break Err(io::ErrorKind::TimedOut.into());
///         }
///         if let Some(done) = events.iter().find_map(|e| connect_result(&stream, e)) {
///             break done;
///         }
///     };
///     poller.delete(stream.as_source())?;
///     result.map(|()| stream)
/// }
/// ```
///
/// *Why one hang-up flag, and not mio's `is_read_closed`/`is_write_closed`:* every flag
/// here must mean the same on every backend. "The peer will send no more" is what every
/// kernel can report (it is [`is_hangup`](Event::is_hangup)); "writing would fail" can only
/// be seen by some (kqueue's write filter; `poll(2)` has no bit for it) and shows anyway as
/// [`is_error`](Event::is_error), or as the error of the next write. A mio user's
/// `is_read_closed()` is our `is_hangup()`, and `is_write_closed()` is `is_error()` or a
/// failed write.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub struct Event {
    key: usize,
    /// One bit per flag (`READABLE` …): a backend builds an event with two stores.
    flags: u8,
}

const READABLE: u8 = 1;
const WRITABLE: u8 = 2;
const HANGUP: u8 = 4;
const ERROR: u8 = 8;
const PRIORITY: u8 = 16;

impl Event {
    /// An event for `key` with no flag set.
    pub const fn new(key: usize) -> Event {
        Event { key, flags: 0 }
    }

    /// The key given to `add` / `modify`.
    pub const fn key(&self) -> usize {
        self.key
    }

    /// A read will not block: data, end of file, a pending connection, or a pending error.
    pub const fn is_readable(&self) -> bool {
        self.flags & READABLE != 0
    }

    /// A write will not block (or will fail at once, if the peer is gone).
    pub const fn is_writable(&self) -> bool {
        self.flags & WRITABLE != 0
    }

    /// The peer closed (its write side or the whole connection) or reset it: reading gives
    /// the rest of the data, then end of file or the error. Reported, always with
    /// readable, to registrations with readable interest only. Once no data is queued every
    /// backend reports it; while data is still queued, only backends with
    /// [`Capabilities::early_hangup`](crate::Capabilities::early_hangup) can tell it from
    /// data (select and poll without `POLLRDHUP` report only readable until then).
    pub const fn is_hangup(&self) -> bool {
        self.flags & HANGUP != 0
    }

    /// An error is pending on the fd (fetch it with `SO_ERROR`, e.g. `TcpStream::take_error`,
    /// or by the next I/O call), or the fd was closed while still registered. Where
    /// [`Capabilities::reports_errors`](crate::Capabilities::reports_errors) is false a
    /// pending error shows only as readable and writable. No backend consumes the error
    /// it reports: it is still there for `take_error`.
    pub const fn is_error(&self) -> bool {
        self.flags & ERROR != 0
    }

    /// Urgent data is pending (see [`Interest::PRIORITY`](crate::Interest::PRIORITY)).
    pub const fn is_priority(&self) -> bool {
        self.flags & PRIORITY != 0
    }

    const fn with(mut self, flag: u8, on: bool) -> Event {
        self.flags = if on { self.flags | flag } else { self.flags & !flag };
        self
    }

    /// This event with readable set to `on`.
    pub const fn with_readable(self, on: bool) -> Event {
        self.with(READABLE, on)
    }

    /// This event with writable set to `on`.
    pub const fn with_writable(self, on: bool) -> Event {
        self.with(WRITABLE, on)
    }

    /// This event with hang-up set to `on`.
    pub const fn with_hangup(self, on: bool) -> Event {
        self.with(HANGUP, on)
    }

    /// This event with error set to `on`.
    pub const fn with_error(self, on: bool) -> Event {
        self.with(ERROR, on)
    }

    /// This event with priority set to `on`.
    pub const fn with_priority(self, on: bool) -> Event {
        self.with(PRIORITY, on)
    }

    /// Whether any flag is set (an event with none is never reported).
    pub const fn is_empty(&self) -> bool {
        self.flags == 0
    }

    /// Merges the flags of `other` (same key) into `self`.
    pub(crate) fn merge(&mut self, other: &Event) {
        self.flags |= other.flags;
    }
}

/// Named flags, as a struct of `bool`s would print.
impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("key", &self.key)
            .field("readable", &self.is_readable())
            .field("writable", &self.is_writable())
            .field("hangup", &self.is_hangup())
            .field("error", &self.is_error())
            .field("priority", &self.is_priority())
            .finish()
    }
}

/// A reusable buffer of [`Event`]s filled by `wait`.
///
/// Its capacity is the most events one `wait` reports. When more fds are ready than that,
/// the rest stay pending and are reported by the next `wait`: nothing is lost, and backends
/// rotate where they start so no fd starves.
///
/// ```
/// # extern crate multipoll_core as multipoll;
/// use std::time::Duration;
/// use multipoll::{Events, Poller};
///
/// # #[allow(dead_code)]
/// fn ready_to_read<P: Poller>(poller: &P) -> std::io::Result<Vec<usize>> {
///     let mut events = Events::with_capacity(256);
///     poller.wait(&mut events, Some(Duration::from_millis(10)))?;
///     Ok(events.iter().filter(|e| e.is_readable()).map(|e| e.key()).collect())
/// }
/// ```
pub struct Events {
    /// The events. Its allocation has room for `capacity` (made so, cloned so, never
    /// shrunk): a [`Sink`] writes into the spare part of it, no further than that.
    list: Vec<Event>,
    capacity: usize,
    /// The backend's own array for its kernel's wait, of the entry type it chose, kept
    /// here across waits (see [`EventsExt::kernel_array`](crate::backend::EventsExt::kernel_array)).
    kernel: KernelArray,
}

/// A `Vec` of some backend's kernel entries, and its type.
struct KernelArray {
    /// `TypeId::of` the `Vec` in `array`: compared inline, where `Any::downcast_mut`
    /// makes a call through the vtable (twice, to check and then to take it).
    of: TypeId,
    array: Box<dyn Any + Send + Sync>,
}

impl KernelArray {
    /// No array yet: a `()` in a box, which allocates nothing, so that an `Events` that
    /// never meets a kernel-array backend costs nothing, and a wait tests no `Option`.
    fn none() -> KernelArray {
        KernelArray { of: TypeId::of::<()>(), array: Box::new(()) }
    }

    /// Whether the array holds entries of type `K`.
    #[inline]
    fn holds<K: 'static>(&self) -> bool {
        self.of == TypeId::of::<Vec<K>>()
    }

    /// The array, as the `Vec<K>` it is.
    ///
    /// # Safety
    /// It must hold entries of type `K` ([`holds::<K>`](KernelArray::holds)).
    #[inline]
    unsafe fn get_unchecked<K: 'static>(&mut self) -> &mut Vec<K> {
        let array: *mut (dyn Any + Send + Sync) = &mut *self.array;
        // SAFETY: `of` is the type id of what `array` holds (`none` and `replace` set
        // both), and the caller says it is `Vec<K>`'s: the pointer is to a live `Vec<K>`,
        // borrowed from `self` for the lifetime of the result.
        unsafe { &mut *array.cast::<Vec<K>>() }
    }

    /// Puts an empty array of entries of type `K` in place of this one. Out of line: only
    /// the first wait (or one after another backend's) comes here, and the allocation and
    /// the drop would otherwise load every wait with their registers.
    #[cold]
    #[inline(never)]
    fn replace<K: Send + Sync + 'static>(&mut self) {
        *self = KernelArray { of: TypeId::of::<Vec<K>>(), array: Box::new(Vec::<K>::new()) };
    }
}

impl Clone for Events {
    /// Copies the events; the kernel's array is not copied (the next wait grows its own).
    fn clone(&self) -> Events {
        let mut list = Vec::with_capacity(self.capacity);
        list.extend_from_slice(&self.list);
        Events { list, capacity: self.capacity, kernel: KernelArray::none() }
    }
}

impl fmt::Debug for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Events")
            .field("capacity", &self.capacity())
            .field("list", &self.as_slice())
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
        Events { list: Vec::with_capacity(capacity), capacity, kernel: KernelArray::none() }
    }

    /// The most events one `wait` reports into this buffer.
    #[inline]
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many events the last `wait` reported.
    #[inline]
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether the last `wait` reported nothing.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Whether no more events fit.
    #[inline]
    pub fn is_full(&self) -> bool {
        self.list.len() >= self.capacity
    }

    /// The events, in no particular order.
    #[inline]
    pub fn iter(&self) -> std::slice::Iter<'_, Event> {
        self.as_slice().iter()
    }

    /// The events as a slice.
    #[inline]
    pub fn as_slice(&self) -> &[Event] {
        &self.list
    }

    /// Removes every event (each `wait` starts with this).
    #[inline]
    pub fn clear(&mut self) {
        self.list.clear();
    }
}

/// Lengthens `array` to `len` with `blank` entries: out of line, as only the first waits
/// of an `Events` come here.
#[cold]
#[inline(never)]
fn grow<K: Copy>(array: &mut Vec<K>, len: usize, blank: K) {
    array.resize(len, blank);
}

/// Where a backend puts the events it makes of its kernel's array: the caller's
/// [`Events`], with room for one event per entry of the array handed out with it
/// ([`EventsExt::kernel_array`](crate::backend::EventsExt::kernel_array)).
///
/// An event is written into the next slot of the list's spare capacity and counted only
/// if it has a flag set; the events counted become part of the list when the sink is
/// dropped.
#[derive(Debug)]
pub struct Sink<'a> {
    list: &'a mut Vec<Event>,
    /// Events written into the list's spare capacity and not yet in its length: the
    /// first `filled` slots past its length are written.
    filled: usize,
    /// Entries of the array not yet pushed: the spare capacity has room for an event of
    /// each.
    room: usize,
}

impl Sink<'_> {
    /// Appends `event`, unless it has no flag set. Each entry of the array makes at most
    /// one event, and the array is no longer than the room left, so it always fits (a
    /// push beyond that is dropped).
    #[inline]
    pub fn push(&mut self, event: Event) {
        debug_assert!(self.room > 0, "more events than entries");
        if let Some(slot) = self.list.spare_capacity_mut().get_mut(self.filled) {
            slot.write(event);
            self.filled += usize::from(!event.is_empty());
            self.room = self.room.saturating_sub(1);
        }
    }

    /// Pushes the event `map` makes of each of `entries` in turn (at most as many as there
    /// is room for), until `map` gives `None` or an event with no flag set; returns how
    /// many entries gave an event, so that `entries[n]`, if there is one, is the first
    /// that did not (or the first past the room): the caller looks at the rest off the
    /// loop (an empty event is dropped there by [`Sink::push`]). Each event goes to the
    /// next slot, paired with its entry, so the room is checked once for all of them, not
    /// per event: the loop a backend runs over its kernel's array.
    #[inline]
    pub fn push_while<K>(
        &mut self,
        entries: &[K],
        mut map: impl FnMut(&K) -> Option<Event>,
    ) -> usize {
        let room = self.room;
        let slots = self.list.spare_capacity_mut().iter_mut().skip(self.filled).take(room);
        let mut pushed = 0;
        for (entry, slot) in entries.iter().zip(slots) {
            match map(entry) {
                Some(event) if !event.is_empty() => {
                    slot.write(event);
                    pushed += 1;
                }
                _ => break,
            }
        }
        self.filled += pushed;
        self.room -= pushed;
        pushed
    }
}

impl Drop for Sink<'_> {
    /// The events counted become part of the list.
    #[inline]
    fn drop(&mut self) {
        let len = self.list.len() + self.filled;
        // SAFETY: the first `filled` slots past the length are written (`push` and
        // `push_while` write a slot before they count it), within the capacity.
        unsafe { self.list.set_len(len) };
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

    #[inline]
    fn kernel_array<K: Copy + Send + Sync + 'static>(
        &mut self,
        max: usize,
        blank: K,
    ) -> (&mut [K], Sink<'_>) {
        let len = max.min(self.capacity - self.list.len());
        // One type compare per wait; a new array only on first use, or when another
        // backend's entry type is there (one `Events` used with two pollers in turn).
        if !self.kernel.holds::<K>() {
            self.kernel.replace::<K>();
        }
        // SAFETY: it holds `K`s: checked, or just made so.
        let array = unsafe { self.kernel.get_unchecked::<K>() };
        if array.len() < len {
            grow(array, len, blank);
        }
        (&mut array[..len], Sink { list: &mut self.list, filled: 0, room: len })
    }

    fn merge_into(&mut self, event: Event) -> bool {
        let list = &mut self.list;
        match list.iter_mut().find(|e| e.key == event.key) {
            Some(kept) => {
                kept.merge(&event);
                true
            }
            None => false,
        }
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

    #[inline]
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
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
    fn kernel_array_is_kept_and_no_longer_than_the_room() {
        let readable = |key| Event::new(key).with_readable(true);
        let mut events = Events::with_capacity(4);
        let (array, mut sink) = events.kernel_array(9, 0_u64);
        assert_eq!(array.len(), 4, "as long as there is room");
        array.copy_from_slice(&[1, 2, 3, 4]);
        sink.push(readable(1));
        sink.push(Event::new(2));
        drop(sink);
        assert_eq!(events.as_slice(), [readable(1)], "an empty event is not stored");

        let (array, _) = events.kernel_array(9, 0_u64);
        assert_eq!(array, [1, 2, 3], "kept across waits, as long as the room left");
        assert_eq!(events.kernel_array(2, 0_u64).0.len(), 2, "at most max");
        assert!(events.clone().kernel.of == TypeId::of::<()>(), "clones do not copy the array");

        // Another backend's entry type replaces the array; coming back starts afresh.
        events.clear();
        assert_eq!(events.kernel_array(9, 7_u32).0, [7, 7, 7, 7]);
        assert_eq!(events.kernel_array(9, 0_u64).0, [0, 0, 0, 0]);
    }

    #[test]
    fn a_sink_can_move_between_threads() {
        fn send_and_sync<T: Send + Sync>() {}
        send_and_sync::<Sink<'_>>();
    }

    #[test]
    fn push_while_stops_at_the_first_none_and_at_the_room() {
        let readable = |key| Event::new(key).with_readable(true);
        let mut events = Events::with_capacity(4);
        let (_, mut sink) = events.kernel_array(9, 0_u8);
        let keys = [1_usize, 2, 0, 3];
        // 2 makes an empty event, 0 stands for an entry to look at off the loop: each
        // ends the loop.
        let map = |&key: &usize| (key != 0).then(|| Event::new(key).with_readable(key != 2));
        assert_eq!(sink.push_while(&keys, map), 1, "stops at the empty event");
        // What the caller does with it off the loop: dropped, its room used.
        sink.push(Event::new(2));
        assert_eq!(sink.push_while(&keys[2..], map), 0, "stops at the None");
        // Two entries used, whether or not they made an event: two left.
        assert_eq!(sink.push_while(&[5, 6, 7, 8], |&key| Some(readable(key))), 2, "the room");
        drop(sink);
        assert_eq!(events.as_slice(), [readable(1), readable(5), readable(6)]);
    }

    #[test]
    fn a_clone_has_room_for_its_capacity() {
        let readable = |key| Event::new(key).with_readable(true);
        let mut events = Events::with_capacity(4);
        events.push(readable(1));
        let mut clone = events.clone();
        let (array, mut sink) = clone.kernel_array(9, 0_u8);
        assert_eq!(array.len(), 3, "the room left in the clone");
        for key in 2..5 {
            sink.push(readable(key));
        }
        drop(sink);
        assert_eq!(clone.as_slice(), [readable(1), readable(2), readable(3), readable(4)]);
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

        let readable = |key| Event::new(key).with_readable(true);
        for key in [5, 2, 5, 9, 2] {
            events.push(readable(key));
        }
        events.push(Event::new(9).with_error(true));
        events.merge_same_keys();
        let mut got = events.as_slice().to_vec();
        got.sort_by_key(|e| e.key());
        let nine = readable(9).with_error(true);
        assert_eq!(
            got,
            [Event::new(1).with_writable(true), readable(2), got[2], readable(5), nine]
        );
        assert_eq!(got[2].key(), 3, "each key once, flags folded");
    }
}
