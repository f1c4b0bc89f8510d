//! The IOCP backend itself: the registration table, the poll requests' lifecycle, the wait.

use std::collections::HashMap;
use std::io;
use std::os::windows::io::{AsRawHandle, OwnedHandle, RawSocket};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use multipoll_core::backend::EventsExt;
use multipoll_core::backend::checks::check_registration;
use multipoll_core::backend::errors::{already_registered, not_registered};
use multipoll_core::backend::raw_source;
use multipoll_core::backend::table::lock;
use multipoll_core::backend::timeout::timeout_ms;
use multipoll_core::backend::wait::wait_until;
use windows_sys::Win32::Foundation::{HANDLE, STATUS_CANCELLED};
use windows_sys::Win32::System::IO::OVERLAPPED_ENTRY;

use multipoll_core::{Capabilities, Event, Events, Interest, Mode, ModeSet, Poller, Source};

use crate::sys::Request;
use crate::{afd, sys};

/// The completion key of the AFD handle's completions (every poll request).
const AFD_KEY: usize = 0;
/// The completion key of a notify.
const NOTIFY_KEY: usize = 1;

/// The IOCP backend, Windows only: one AFD poll request per registered socket, completed
/// through an I/O completion port, so a wait costs O(ready sockets).
///
/// Create it with [`Iocp::new()`](Poller::new) and use it through the [`Poller`] trait.
/// What is particular to it:
///
/// - [`Mode::Level`] and [`Mode::Oneshot`]; edge modes are `Unsupported` (see the
///   [crate docs](crate)); no [`PRIORITY`](Interest::PRIORITY) interest.
/// - Millisecond timeouts, rounded up.
/// - Only sockets can be registered (as everywhere on Windows).
#[derive(Debug)]
pub struct Iocp {
    port: OwnedHandle,
    afd: OwnedHandle,
    table: Mutex<Table>,
    /// A notify's completion is queued and not yet dequeued: further notifies post none.
    notified: AtomicBool,
    /// How many threads are in `wait`.
    waiters: AtomicUsize,
}

/// Where a registration's poll request is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// None in flight.
    Idle,
    /// In flight, for the current interest.
    Polling,
    /// In flight and cancelled: its completion is not reported.
    Cancelling,
}

/// One registered socket.
#[derive(Debug)]
struct Registration {
    key: usize,
    interest: Interest,
    mode: Mode,
    /// The base provider's handle, which AFD polls.
    base: RawSocket,
    /// False once a oneshot registration has reported, until `modify`.
    armed: bool,
    /// The socket was closed (AFD said so): the registration is stale.
    closed: bool,
    phase: Phase,
    request: Box<Request>,
}

/// Who owns a request in flight, by its address (the completion's `lpOverlapped`).
#[derive(Debug)]
enum Owner {
    /// The registration of this socket.
    Socket(RawSocket),
    /// A registration deleted or replaced while its request was in flight: the request is
    /// kept here until its completion arrives, then freed.
    Retired(Box<Request>),
}

/// Every registration, and every request in flight.
#[derive(Debug, Default)]
struct Table {
    sockets: HashMap<RawSocket, Registration>,
    in_flight: HashMap<usize, Owner>,
    /// Level registrations reported by a wait, whose next request the next wait submits.
    rearm: Vec<RawSocket>,
}

/// An entry of the array `GetQueuedCompletionStatusEx` fills, kept in the caller's
/// `Events`.
#[derive(Clone, Copy)]
#[repr(transparent)]
struct Entry(OVERLAPPED_ENTRY);

// SAFETY: the entry's pointer is used only as a number (the address that identifies a
// request), never dereferenced, so sharing or sending it is sharing a number.
unsafe impl Send for Entry {}
// SAFETY: as for `Send`.
unsafe impl Sync for Entry {}

impl Iocp {
    const CAPS: Capabilities =
        Capabilities::new("iocp", ModeSet::of(&[Mode::Level, Mode::Oneshot]))
            .with_timeout_precision(Duration::from_millis(1))
            .with_early_hangup(false);

    fn afd(&self) -> HANDLE {
        self.afd.as_raw_handle()
    }

    /// Submits `socket`'s next poll request if it has none in flight and should have one.
    fn submit(&self, table: &mut Table, socket: RawSocket) -> io::Result<()> {
        let Some(reg) = table.sockets.get_mut(&socket) else { return Ok(()) };
        if reg.phase != Phase::Idle || !reg.armed || reg.closed || reg.interest.is_none() {
            return Ok(());
        }
        // SAFETY: the request is a heap allocation owned by the registration, and moves
        // (as a `Box`, its memory staying put) into `in_flight` as `Retired` if the
        // registration goes before the completion arrives: it lives until then.
        unsafe { sys::afd_poll(self.afd(), &reg.request, reg.base, afd::mask(reg.interest)) }?;
        reg.phase = Phase::Polling;
        table.in_flight.insert(reg.request.address(), Owner::Socket(socket));
        Ok(())
    }

    /// Cancels `reg`'s request in flight, if any; its completion will not be reported.
    fn cancel(&self, reg: &mut Registration) -> io::Result<()> {
        if reg.phase == Phase::Polling {
            sys::cancel(self.afd(), &reg.request)?;
            reg.phase = Phase::Cancelling;
        }
        Ok(())
    }

    /// Takes `reg` out of use: its request, if in flight, is cancelled and kept until its
    /// completion arrives.
    fn retire(&self, table: &mut Table, mut reg: Registration) -> io::Result<()> {
        if reg.phase == Phase::Idle {
            return Ok(());
        }
        let cancelled = self.cancel(&mut reg);
        table.in_flight.insert(reg.request.address(), Owner::Retired(reg.request));
        cancelled
    }

    /// What one dequeued AFD completion (the request at `address`) reports, if anything,
    /// and the socket's next request submitted where it should be.
    fn complete(&self, table: &mut Table, address: usize) -> Option<Event> {
        let socket = match table.in_flight.remove(&address)? {
            Owner::Socket(socket) => socket,
            Owner::Retired(_request) => return None,
        };
        let reg = table.sockets.get_mut(&socket)?;
        let cancelled = reg.phase == Phase::Cancelling;
        reg.phase = Phase::Idle;
        let status = reg.request.status();
        if status == STATUS_CANCELLED {
            self.resubmit(table, socket);
            return None;
        }
        // The kernel writes the poll info back only on success; otherwise it still holds
        // the request (whose mask has LOCAL_CLOSE).
        let events = if status >= 0 { reg.request.info().events() } else { 0 };
        if status < 0 || events & afd::LOCAL_CLOSE != 0 {
            // The socket is gone (closed without delete): nothing more to watch.
            reg.closed = true;
            return None;
        }
        let event = afd::to_event(events, reg.key, reg.interest);
        if !cancelled && !event.is_empty() {
            if reg.mode.is_oneshot() {
                reg.armed = false;
            } else if self.waiters.load(Ordering::SeqCst) > 1 {
                // Other threads are waiting: they must hear of a socket still ready.
                self.resubmit(table, socket);
            } else {
                // Not now: a request submitted while the socket is still ready completes
                // at once, and would report it again after the user drained it. The next
                // wait submits it, after the user acted on this event.
                table.rearm.push(socket);
            }
            return Some(event);
        }
        self.resubmit(table, socket);
        None
    }

    /// Submits `socket`'s next request; one that AFD refuses marks it closed.
    fn resubmit(&self, table: &mut Table, socket: RawSocket) {
        if self.submit(table, socket).is_err() {
            // Only a socket closed since it was registered makes AFD refuse a request.
            if let Some(reg) = table.sockets.get_mut(&socket) {
                reg.closed = true;
            }
        }
    }

    /// Submits the next request of the level registrations the last waits reported.
    fn rearm(&self) {
        let mut table = lock(&self.table);
        let mut rearm = std::mem::take(&mut table.rearm);
        for socket in rearm.drain(..) {
            self.resubmit(&mut table, socket);
        }
        table.rearm = rearm;
    }

    /// One turn of the wait rule ([`wait_until`]): one `GetQueuedCompletionStatusEx` into
    /// the array kept in the caller's `Events` (never longer than `events` has room for:
    /// each completion is one event at most, and one dequeued is consumed); whether a
    /// notify woke it.
    fn turn(&self, events: &mut Events, left: Option<Duration>) -> io::Result<bool> {
        self.rearm();
        let blank = Entry(sys::BLANK);
        let (array, mut sink) = events.kernel_array(u32::MAX as usize, blank);
        let ms = u32::try_from(timeout_ms(left)).unwrap_or(u32::MAX);
        let entries = Entry::as_kernel(array);
        let filled = sys::dequeue(self.port.as_raw_handle(), entries, ms)?;
        let mut woken = false;
        let mut table = None;
        for entry in &entries[..filled] {
            if entry.lpCompletionKey == NOTIFY_KEY {
                woken = true;
                continue;
            }
            let table = table.get_or_insert_with(|| lock(&self.table));
            if let Some(event) = self.complete(table, entry.lpOverlapped as usize) {
                sink.push(event);
            }
        }
        if woken {
            self.notified.store(false, Ordering::SeqCst);
        }
        Ok(woken)
    }
}

impl Entry {
    /// The kernel's view of an array of entries.
    fn as_kernel(array: &mut [Entry]) -> &mut [OVERLAPPED_ENTRY] {
        let len = array.len();
        // SAFETY: `Entry` is `repr(transparent)` over `OVERLAPPED_ENTRY`, so the two slices
        // have one layout; the borrow of `array` is handed on.
        unsafe { std::slice::from_raw_parts_mut(array.as_mut_ptr().cast(), len) }
    }
}

impl Poller for Iocp {
    fn new() -> io::Result<Self> {
        let port = sys::create_port()?;
        let afd = sys::open_afd()?;
        sys::associate(port.as_raw_handle(), afd.as_raw_handle(), AFD_KEY)?;
        Ok(Iocp {
            port,
            afd,
            table: Mutex::default(),
            notified: AtomicBool::new(false),
            waiters: AtomicUsize::new(0),
        })
    }

    fn add(
        &self,
        socket: Source<'_>,
        key: usize,
        interest: Interest,
        mode: Mode,
    ) -> io::Result<()> {
        check_registration(&Self::CAPS, key, interest, mode)?;
        let socket = raw_source(socket);
        let mut table = lock(&self.table);
        if table.sockets.get(&socket).is_some_and(|reg| !reg.closed) {
            return Err(already_registered(socket));
        }
        let base = sys::base_socket(socket)?;
        let reg = Registration {
            key,
            interest,
            mode,
            base,
            armed: true,
            closed: false,
            phase: Phase::Idle,
            request: Request::new(),
        };
        // A stale registration (its socket closed, the number reused) is replaced.
        if let Some(stale) = table.sockets.insert(socket, reg) {
            self.retire(&mut table, stale)?;
        }
        if let Err(e) = self.submit(&mut table, socket) {
            table.sockets.remove(&socket);
            return Err(io::Error::new(io::ErrorKind::InvalidInput, e));
        }
        Ok(())
    }

    fn modify(
        &self,
        socket: Source<'_>,
        key: usize,
        interest: Interest,
        mode: Mode,
    ) -> io::Result<()> {
        check_registration(&Self::CAPS, key, interest, mode)?;
        let socket = raw_source(socket);
        let mut table = lock(&self.table);
        let reg = table.sockets.get_mut(&socket).ok_or_else(|| not_registered(socket))?;
        if reg.closed {
            // The number now names another socket: watch that one.
            reg.base = sys::base_socket(socket)?;
            reg.closed = false;
        }
        (reg.key, reg.interest, reg.mode, reg.armed) = (key, interest, mode, true);
        // A request in flight asks for the old interest: cancel it, and its completion
        // submits the next. Otherwise submit now, so a ready socket is reported anew.
        self.cancel(reg)?;
        self.submit(&mut table, socket)
    }

    fn delete(&self, socket: Source<'_>) -> io::Result<()> {
        let socket = raw_source(socket);
        let mut table = lock(&self.table);
        let reg = table.sockets.remove(&socket).ok_or_else(|| not_registered(socket))?;
        self.retire(&mut table, reg)
    }

    fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<usize> {
        self.waiters.fetch_add(1, Ordering::SeqCst);
        let result = wait_until(events, timeout, |events, left| self.turn(events, left));
        self.waiters.fetch_sub(1, Ordering::SeqCst);
        result
    }

    fn notify(&self) -> io::Result<()> {
        if self.notified.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        sys::post(self.port.as_raw_handle(), NOTIFY_KEY).inspect_err(|_| {
            self.notified.store(false, Ordering::SeqCst);
        })
    }

    fn capabilities(&self) -> Capabilities {
        Self::CAPS
    }
}

impl Drop for Iocp {
    /// Cancels every request in flight and waits (a bounded time) for their completions,
    /// since the kernel writes a request's memory until then; a request whose completion
    /// does not come in time is leaked rather than freed under the kernel.
    fn drop(&mut self) {
        let afd = self.afd.as_raw_handle();
        let port = self.port.as_raw_handle();
        let table = self.table.get_mut().unwrap_or_else(|e| e.into_inner());
        for reg in table.sockets.values().filter(|reg| reg.phase == Phase::Polling) {
            let _ = sys::cancel(afd, &reg.request);
        }
        let give_up = Instant::now() + Duration::from_secs(1);
        let mut entries = [sys::BLANK; 64];
        while !table.in_flight.is_empty() && Instant::now() < give_up {
            let Ok(filled) = sys::dequeue(port, &mut entries, 100) else { break };
            for entry in &entries[..filled] {
                if entry.lpCompletionKey == AFD_KEY {
                    table.in_flight.remove(&(entry.lpOverlapped as usize));
                }
            }
        }
        for (_, owner) in table.in_flight.drain() {
            match owner {
                Owner::Retired(request) => std::mem::forget(request),
                Owner::Socket(socket) => {
                    if let Some(reg) = table.sockets.remove(&socket) {
                        std::mem::forget(reg.request);
                    }
                }
            }
        }
    }
}
