//! Accepting: until `WouldBlock`, refusing past `max_conns`, and backing off when the
//! process runs out of fds or memory.
//!
//! Out of fds, `accept` fails with `EMFILE` and leaves the connection in the backlog, so
//! the listener stays readable: a level-triggered loop would spin at 100% CPU retrying.
//! Instead the loop silences the listener (`Interest::NONE`) for
//! [`Config::accept_backoff`](crate::Config::accept_backoff), logs once, and resumes by
//! itself; the connections it has are served meanwhile, and those waiting in the backlog
//! are accepted once fds are free again.
//!
//! If the poller refuses those registration changes (`epoll_ctl` or `kevent` out of
//! memory), the back-off still holds: a listener that cannot be silenced is deregistered
//! for the back-off (or a level-triggered loop would spin on it), and one that cannot be
//! watched again is retried after another back-off (or the server would never accept
//! again).

use std::io;
use std::net::TcpStream;
use std::os::fd::AsFd;

use multipoll::{Interest, Poller};

use crate::Protocol;
use crate::conn::Conn;
use crate::event_loop::{EventLoop, LISTENER};
use crate::sys;

/// Accepts per turn; a listener with more waiting goes on the ready list.
const ACCEPT_BUDGET: usize = 256;

/// Whether an `accept` error means "out of fds or memory": back off.
fn is_exhaustion(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM))
}

/// Whether an `accept` error concerns only the connection being accepted (it was reset
/// in the backlog, or Linux passed on a network error): skip it and go on.
fn is_per_connection(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(
            libc::ECONNABORTED
                | libc::EPROTO
                | libc::EPERM
                | libc::ENOPROTOOPT
                | libc::EHOSTDOWN
                | libc::EHOSTUNREACH
                | libc::ENETDOWN
                | libc::ENETUNREACH
                | libc::EOPNOTSUPP
                | libc::ETIMEDOUT
        )
    )
}

impl<P: Poller, H: Protocol> EventLoop<P, H> {
    /// Accepts until `WouldBlock`, the budget, or a back-off.
    pub(crate) fn accept(&mut self) {
        if self.accept_paused_until.is_some() {
            return;
        }
        for _ in 0..ACCEPT_BUDGET {
            let Some(listener) = &self.listener else { return };
            match sys::accept(listener) {
                Ok((stream, _)) => self.admit(stream),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.rearm_listener();
                    return;
                }
                Err(e) if is_per_connection(&e) => {
                    log::debug!("loop {}: accept: {e}", self.index);
                }
                Err(e) => {
                    // Out of fds or memory, or something unexpected: neither spin nor die.
                    self.pause_accepting(&e);
                    return;
                }
            }
        }
        self.mark_ready(LISTENER);
        self.rearm_listener();
    }

    /// Registers a new connection, or closes it at once past `max_conns`.
    fn admit(&mut self, stream: TcpStream) {
        if !self.stats.reserve(self.config.max_conns) {
            log::debug!("loop {}: refusing a connection: max-conns reached", self.index);
            self.loop_stats().refused();
            return; // Dropping `stream` closes it: the client sees end of file.
        }
        let key = self.conns.vacant_key();
        let setup = stream
            .set_nonblocking(true)
            .and_then(|()| stream.set_nodelay(true))
            .and_then(|()| self.poller.add(stream.as_fd(), key, Interest::READABLE, self.mode()));
        if let Err(e) = setup {
            // E.g. select cannot watch an fd this large: drop this one, serve the rest.
            log::warn!("loop {}: cannot serve a new connection: {e}", self.index);
            self.stats.release();
            return;
        }
        let id = self.next_id;
        self.next_id += 1;
        let session = self.protocol.open();
        self.conns.insert(Conn::new(stream, id, self.now, session));
        self.loop_stats().opened();
        if let Some(idle) = self.config.idle_timeout {
            self.timers.schedule(self.now + idle, (id, key));
        }
    }

    /// Re-arms the listener after an event in a oneshot mode.
    fn rearm_listener(&mut self) {
        let mode = self.mode();
        if !mode.is_oneshot() || self.listener_armed {
            return;
        }
        if let Some(listener) = &self.listener {
            match self.poller.modify(listener.as_fd(), LISTENER, Interest::READABLE, mode) {
                Ok(()) => self.listener_armed = true,
                Err(e) => log::error!("loop {}: listener: cannot re-arm: {e}", self.index),
            }
        }
    }

    fn pause_accepting(&mut self, e: &io::Error) {
        let backoff = self.config.accept_backoff;
        self.loop_stats().accept_error();
        let why = if is_exhaustion(e) { "out of fds or memory" } else { "unexpected error" };
        log::warn!(
            "loop {}: accept: {e} ({why}, {} connections open); not accepting for {backoff:?}",
            self.index,
            self.conns.len()
        );
        if let Some(listener) = &self.listener
            && let Err(e) =
                self.poller.modify(listener.as_fd(), LISTENER, Interest::NONE, self.mode())
        {
            // Still watched, it would wake a level-triggered loop at once on every wait
            // for the whole back-off. Deleting allocates nothing in the kernel: do that.
            log::error!("loop {}: listener: cannot silence: {e}; deregistering it", self.index);
            match self.poller.delete(listener.as_fd()) {
                Ok(()) => self.listener_registered = false,
                Err(e) => log::error!("loop {}: listener: cannot deregister: {e}", self.index),
            }
        }
        self.accept_paused_until = Some(self.now + backoff);
    }

    /// Watches the listener again after a back-off, and accepts what waited meanwhile.
    /// If the poller refuses, backs off again: accepting once from the ready list would
    /// leave the listener unwatched, and no later client would ever be accepted.
    pub(crate) fn resume_accepting(&mut self) {
        self.accept_paused_until = None;
        if let Some(listener) = &self.listener {
            let (fd, mode) = (listener.as_fd(), self.mode());
            let watched = if self.listener_registered {
                self.poller.modify(fd, LISTENER, Interest::READABLE, mode)
            } else {
                self.poller.add(fd, LISTENER, Interest::READABLE, mode)
            };
            if let Err(e) = watched {
                let backoff = self.config.accept_backoff;
                log::error!(
                    "loop {}: listener: cannot resume: {e}; again in {backoff:?}",
                    self.index
                );
                self.accept_paused_until = Some(self.now + backoff);
                return;
            }
            self.listener_registered = true;
            self.listener_armed = true;
        }
        // Edge mode reports no new edge for connections that waited in the backlog.
        self.mark_ready(LISTENER);
    }
}
