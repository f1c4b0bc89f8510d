//! The listening socket and everything about its registration: accepting until
//! `WouldBlock` (or a budget per turn), re-arming in the oneshot modes, backing off when
//! the process runs out of fds or memory, and closing.
//!
//! Out of fds, `accept` fails with `EMFILE` and leaves the connection in the backlog, so
//! the listener stays readable: a level-triggered loop would spin at 100% CPU retrying.
//! Instead the listener is silenced (`Interest::NONE`) for
//! [`Config::accept_backoff`](crate::Config::accept_backoff), says so once, and resumes
//! when the loop tells it the time has come ([`Listener::deadline`],
//! [`Listener::resume_if_due`]); the connections the loop has are served meanwhile, and
//! those waiting in the backlog are accepted once fds are free again.
//!
//! If the poller refuses those registration changes (`epoll_ctl` or `kevent` out of
//! memory), the back-off still holds: a listener that cannot be silenced is deregistered
//! for the back-off (or a level-triggered loop would spin on it), and one that cannot be
//! watched again is retried after another back-off (or the server would never accept
//! again). A oneshot re-arm that the poller refuses backs off the same way: the listener,
//! disarmed, reports nothing until it is re-armed when the back-off ends.

use std::io;
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use multipoll::{AsSource, Interest, Mode, Poller};
#[cfg(windows)]
use windows_sys::Win32::Networking::WinSock;

use crate::socket;
use crate::stats::LoopStats;

/// The listener's key; connections use their slab index.
pub(crate) const LISTENER: usize = usize::MAX - 1;

/// Accepts per turn; a listener with more waiting asks for another turn.
const ACCEPT_BUDGET: usize = 256;

/// `accept` errors that mean "out of fds or memory": back off.
#[cfg(unix)]
const EXHAUSTION: &[i32] = &[libc::EMFILE, libc::ENFILE, libc::ENOBUFS, libc::ENOMEM];
/// `accept` errors that mean "out of sockets or buffer space": back off.
#[cfg(windows)]
const EXHAUSTION: &[i32] = &[WinSock::WSAEMFILE, WinSock::WSAENOBUFS];

/// `accept` errors that concern only the connection being accepted (it was reset in the
/// backlog, or Linux passed on a network error): skip it and go on.
#[cfg(unix)]
const PER_CONNECTION: &[i32] = &[
    libc::ECONNABORTED,
    libc::EPROTO,
    libc::EPERM,
    libc::ENOPROTOOPT,
    libc::EHOSTDOWN,
    libc::EHOSTUNREACH,
    libc::ENETDOWN,
    libc::ENETUNREACH,
    libc::EOPNOTSUPP,
    libc::ETIMEDOUT,
];
/// `accept` errors that concern only the connection being accepted: Winsock's `accept`
/// docs name `WSAECONNRESET` ("an incoming connection was indicated, but was subsequently
/// terminated by the remote peer prior to accepting the call"); an aborted or timed-out
/// one is the same case.
#[cfg(windows)]
const PER_CONNECTION: &[i32] =
    &[WinSock::WSAECONNRESET, WinSock::WSAECONNABORTED, WinSock::WSAETIMEDOUT];

/// Whether an `accept` error means "out of fds or memory": back off.
fn is_exhaustion(e: &io::Error) -> bool {
    e.raw_os_error().is_some_and(|n| EXHAUSTION.contains(&n))
}

/// Whether an `accept` error concerns only the connection being accepted: skip it.
fn is_per_connection(e: &io::Error) -> bool {
    e.raw_os_error().is_some_and(|n| PER_CONNECTION.contains(&n))
}

/// A loop's listening socket; see the [module docs](self).
#[derive(Debug)]
pub(crate) struct Listener {
    /// `None` once closed (shutdown).
    socket: Option<TcpListener>,
    mode: Mode,
    backoff: Duration,
    /// Whether it is registered with the poller (it is not while a back-off could not
    /// silence it).
    registered: bool,
    /// In the oneshot modes: whether the registration is armed (an event disarms it).
    armed: bool,
    /// Not accepting until then, after running out of fds or memory, or after the poller
    /// refused to watch it again.
    paused_until: Option<Instant>,
    /// Accepts this turn, against [`ACCEPT_BUDGET`].
    taken: usize,
    /// Connections may be waiting that no event will announce: the budget ran out, or
    /// it was just resumed (edge mode reports no new edge for what waited meanwhile).
    more: bool,
    /// The loop's index, for logs.
    index: usize,
}

impl Listener {
    /// Registers `socket` (bound, listening, non-blocking) with `poller`.
    ///
    /// # Errors
    /// The registration's: `Unsupported` for a mode the backend lacks, with core's message.
    pub(crate) fn register<P: Poller>(
        socket: TcpListener,
        poller: &P,
        mode: Mode,
        backoff: Duration,
        index: usize,
    ) -> io::Result<Listener> {
        poller.add(socket.as_source(), LISTENER, Interest::READABLE, mode)?;
        Ok(Listener {
            socket: Some(socket),
            mode,
            backoff,
            registered: true,
            armed: true,
            paused_until: None,
            taken: 0,
            more: false,
            index,
        })
    }

    /// Its registration reported it (in a oneshot mode that disarms it).
    pub(crate) fn on_event(&mut self) {
        self.armed = false;
    }

    /// Whether connections may be waiting that no event will announce; asking clears it.
    pub(crate) fn take_more(&mut self) -> bool {
        std::mem::take(&mut self.more)
    }

    /// Whether [`Listener::take_more`] would say yes.
    #[inline]
    pub(crate) fn has_more(&self) -> bool {
        self.more
    }

    /// The next connection waiting, or `None` when this turn's accepting is over: none is
    /// waiting (the registration is re-armed), the turn's budget is used (see
    /// [`Listener::take_more`]), the listener backs off (the error is counted in `stats`),
    /// or it is closed. Errors of one connection are skipped.
    pub(crate) fn accept<P: Poller>(&mut self, poller: &P, stats: &LoopStats) -> Option<TcpStream> {
        if self.paused_until.is_some() {
            return None;
        }
        let socket = self.socket.as_ref()?;
        while self.taken < ACCEPT_BUDGET {
            self.taken += 1;
            match socket::accept(socket) {
                Ok(Some(stream)) => return Some(stream),
                Ok(None) => break,
                Err(e) if is_per_connection(&e) => {
                    log::debug!("loop {}: accept: {e}", self.index);
                }
                Err(e) => {
                    // Out of fds or memory, or something unexpected: neither spin nor die.
                    stats.accept_error();
                    self.pause(poller, &e);
                    self.taken = 0;
                    return None;
                }
            }
        }
        self.more = self.taken >= ACCEPT_BUDGET;
        self.taken = 0;
        self.rearm(poller);
        None
    }

    /// When it resumes accepting after a back-off.
    #[inline]
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.paused_until
    }

    /// Watches the listener again once the back-off is over, and asks for a turn to
    /// accept what waited meanwhile. If the poller refuses, backs off again: accepting
    /// once without it would leave the listener unwatched, and no later client would ever
    /// be accepted.
    pub(crate) fn resume_if_due<P: Poller>(&mut self, poller: &P, now: Instant) {
        if self.paused_until.is_none_or(|at| at > now) {
            return;
        }
        self.paused_until = None;
        let Some(socket) = &self.socket else { return };
        let fd = socket.as_source();
        let watched = if self.registered {
            poller.modify(fd, LISTENER, Interest::READABLE, self.mode)
        } else {
            poller.add(fd, LISTENER, Interest::READABLE, self.mode)
        };
        if let Err(e) = watched {
            let backoff = self.backoff;
            log::error!("loop {}: listener: cannot resume: {e}; again in {backoff:?}", self.index);
            self.paused_until = Some(now + backoff);
            return;
        }
        self.registered = true;
        self.armed = true;
        self.more = true;
    }

    /// Deregisters and closes it: no more connections.
    pub(crate) fn close<P: Poller>(&mut self, poller: &P) {
        if let Some(socket) = self.socket.take()
            && self.registered
            && let Err(e) = poller.delete(socket.as_source())
        {
            log::warn!("loop {}: listener: delete: {e}", self.index);
        }
        self.paused_until = None;
        self.more = false;
    }

    /// Re-arms the registration after an event in a oneshot mode. If the poller refuses,
    /// backs off and re-arms when the back-off ends ([`Listener::resume_if_due`]): a
    /// disarmed listener reports nothing, so without a deadline no client would ever be
    /// accepted again. The back-off runs from the clock now, read on this rare path only.
    fn rearm<P: Poller>(&mut self, poller: &P) {
        if !self.mode.is_oneshot() || self.armed {
            return;
        }
        let Some(socket) = &self.socket else { return };
        match poller.modify(socket.as_source(), LISTENER, Interest::READABLE, self.mode) {
            Ok(()) => self.armed = true,
            Err(e) => {
                let backoff = self.backoff;
                log::error!(
                    "loop {}: listener: cannot re-arm: {e}; again in {backoff:?}",
                    self.index
                );
                // Disarmed, it needs no silencing for the back-off.
                self.paused_until = Some(Instant::now() + backoff);
            }
        }
    }

    /// Stops accepting for the back-off after `e`, from the clock now (read on this rare
    /// path only).
    #[cold]
    fn pause<P: Poller>(&mut self, poller: &P, e: &io::Error) {
        let backoff = self.backoff;
        let why = if is_exhaustion(e) { "out of fds or memory" } else { "unexpected error" };
        log::warn!("loop {}: accept: {e} ({why}); not accepting for {backoff:?}", self.index);
        if let Some(socket) = &self.socket
            && let Err(e) = poller.modify(socket.as_source(), LISTENER, Interest::NONE, self.mode)
        {
            // Still watched, it would wake a level-triggered loop at once on every wait
            // for the whole back-off. Deleting allocates nothing in the kernel: do that.
            log::error!("loop {}: listener: cannot silence: {e}; deregistering it", self.index);
            match poller.delete(socket.as_source()) {
                Ok(()) => self.registered = false,
                Err(e) => log::error!("loop {}: listener: cannot deregister: {e}", self.index),
            }
        }
        self.paused_until = Some(Instant::now() + backoff);
    }
}
