//! What a `wait` reports: [`Event`]s collected in a reusable [`Events`] buffer.

use std::{fmt, io};

use crate::backend::KernelEvent;

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
/// use std::os::fd::AsFd;
/// use std::time::Duration;
/// use multipoll::{Event, Events, Interest, Mode, Poller};
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
///         Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
///         // Some kernels refuse a loopback connect at once: then the call says so.
///         Err(e) => return Err(e),
///     }
///     let stream = TcpStream::from(socket);
///     poller.add(stream.as_fd(), 1, Interest::BOTH, Mode::Level)?;
///     let mut events = Events::new();
///     let result = loop {
///         if poller.wait(&mut events, Some(Duration::from_secs(10)))? == 0 {
///             break Err(io::ErrorKind::TimedOut.into());
///         }
///         if let Some(done) = events.iter().find_map(|e| connect_result(&stream, e)) {
///             break done;
///         }
///     };
///     poller.delete(stream.as_fd())?;
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
    list: Vec<Event>,
    capacity: usize,
    /// The array the kernel's wait fills, kept here across waits (see
    /// [`EventsExt::fill_from_kernel`](crate::backend::EventsExt::fill_from_kernel)).
    kernel: KernelArray,
}

/// The kernel's array of an [`Events`]: empty until a backend's first wait grows it.
#[derive(Default)]
struct KernelArray(Vec<KernelEvent>);

// SAFETY: `epoll_event` and `()` are plain data; `kevent` has one pointer, `udata`, which
// nothing here reads and which backends use as an integer (a key). Moving or sharing the
// array between threads moves or shares only integers; whoever might dereference a
// `udata` needs `unsafe` of their own and answers for it there.
unsafe impl Send for KernelArray {}
// SAFETY: as for `Send`: `&KernelArray` gives no access that could race.
unsafe impl Sync for KernelArray {}

impl Clone for Events {
    /// Copies the events; the kernel's array is not copied (the next wait grows its own).
    fn clone(&self) -> Events {
        Events { list: self.list.clone(), capacity: self.capacity, kernel: KernelArray::default() }
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
        Events { list: Vec::with_capacity(capacity), capacity, kernel: KernelArray::default() }
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

    #[inline]
    fn fill_from_kernel(
        &mut self,
        max: usize,
        blank: impl Fn() -> KernelEvent,
        wait: impl FnOnce(&mut [KernelEvent]) -> io::Result<usize>,
        mut f: impl FnMut(&KernelEvent) -> Option<Event>,
    ) -> io::Result<usize> {
        let len = max.min(self.capacity.saturating_sub(self.list.len()));
        let array = &mut self.kernel.0;
        if array.len() < len {
            array.resize_with(len, blank);
        }
        let array = &mut array[..len];
        let filled = wait(array)?;
        // Each entry makes at most one event, and there is room for `len`.
        for entry in &array[..filled.min(len)] {
            if let Some(event) = f(entry) {
                if !event.is_empty() {
                    self.list.push(event);
                }
            }
        }
        Ok(filled)
    }

    fn merge_into(&mut self, event: Event) -> bool {
        match self.list.iter_mut().find(|e| e.key == event.key) {
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

    // Only where a blank entry needs no `unsafe` (a `kevent` has no portable constructor).
    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn fill_from_kernel_keeps_the_array_and_reads_what_was_filled() -> io::Result<()> {
        let readable = |key| Event::new(key).with_readable(true);
        // A wait that numbers the entries it is given and says it filled `filled`; each
        // entry then makes `event(number)`. Returns how long the array was.
        let fill = |events: &mut Events, max, filled, event: &dyn Fn(usize) -> Option<Event>| {
            let mut len = 0;
            let blank = || KernelEvent { events: 0, u64: 0 };
            let wait = |array: &mut [KernelEvent]| {
                len = array.len();
                for (i, entry) in array.iter_mut().enumerate() {
                    entry.u64 = i as u64;
                }
                Ok(filled)
            };
            events.fill_from_kernel(max, blank, wait, |e| event(e.u64 as usize)).map(|_| len)
        };
        let mut events = Events::with_capacity(4);
        // The first entry makes none, the second an empty event (not stored).
        let first = |i| (i != 0).then(|| Event::new(i).with_readable(i != 1));
        assert_eq!(fill(&mut events, 9, 4, &first)?, 4, "as long as there is room");
        assert_eq!(events.as_slice(), [readable(2), readable(3)]);
        assert!(events.clone().kernel.0.is_empty(), "clones do not copy the kernel's array");

        events.clear();
        assert_eq!(fill(&mut events, 2, 1, &|i| Some(readable(i + 10)))?, 2, "at most max");
        assert_eq!(events.kernel.0.len(), 4, "kept, not shrunk");
        assert_eq!(events.as_slice(), [readable(10)], "only the entries filled");
        assert_eq!(fill(&mut events, 9, 9, &|i| Some(readable(i + 20)))?, 3, "room for 3");
        assert_eq!(events.len(), 4, "a count past the array reads no further");

        let failed = events.fill_from_kernel(
            1,
            || KernelEvent { events: 0, u64: 0 },
            |_: &mut [KernelEvent]| Err(io::Error::other("injected")),
            |_: &KernelEvent| panic!("nothing to read after a failed wait"),
        );
        assert!(failed.is_err());
        Ok(())
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
