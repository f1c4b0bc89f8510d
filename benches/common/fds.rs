//! The fds the benches register.
//!
//! Idle fds are UDP sockets bound to `127.0.0.1:0` with nothing queued: one fd each (a
//! socket pair would cost two, and 10 000 pairs would pass the 20 000-fd hard limit), never
//! readable, and the same kind at every N so the scaling curve compares like with like.

use std::io;
use std::net::UdpSocket;
use std::os::fd::{AsFd, BorrowedFd};

use nix::sys::eventfd::{self, EfdFlags};

/// `n` idle UDP sockets.
pub fn idle_sockets(n: usize) -> io::Result<Vec<UdpSocket>> {
    (0..n).map(|_| UdpSocket::bind("127.0.0.1:0")).collect()
}

/// A UDP socket that stays readable: one datagram queued and never read, so a
/// level-triggered registration reports it on every wait.
pub fn ready_socket() -> io::Result<UdpSocket> {
    let socket = UdpSocket::bind("127.0.0.1:0")?;
    socket.send_to(b"ready", socket.local_addr()?)?;
    Ok(socket)
}

/// An `eventfd` whose counter only grows: each [`EventFd::bump`] is a fresh readiness
/// edge for an edge-triggered registration (the kernel wakes epoll on every write).
#[derive(Debug)]
pub struct EventFd(eventfd::EventFd);

impl EventFd {
    /// A non-blocking eventfd at 0 (not readable).
    pub fn new() -> io::Result<EventFd> {
        let flags = EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK;
        Ok(EventFd(eventfd::EventFd::from_value_and_flags(0, flags)?))
    }

    /// Adds 1 to the counter: one `write(2)`.
    pub fn bump(&self) -> io::Result<()> {
        let n = self.0.write(1)?;
        if n == 8 { Ok(()) } else { Err(io::Error::other(format!("eventfd took {n} of 8 bytes"))) }
    }
}

impl AsFd for EventFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}
