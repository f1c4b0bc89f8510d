//! The wake-up socket behind [`Poller::notify`](crate::Poller::notify) for the Windows
//! backends whose syscall watches only sockets (`WSAPoll`, Winsock `select`): a connected
//! loopback TCP pair, whose read end is watched for readability.
//!
//! Coalescing is core's one rule, as on Unix ([`Coalesce`]): a wake sends only when none is
//! pending, so a thousand notifies before a wait cost one `send` and one wake-up.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::windows::io::AsSocket;
use std::time::{Duration, Instant};

use super::coalesce::Coalesce;
use crate::Source;

/// A coalescing wake-up socket: readable while a wake is pending.
#[derive(Debug)]
pub struct Notifier {
    read: TcpStream,
    write: TcpStream,
    pending: Coalesce,
}

impl Notifier {
    /// Connects the pair on 127.0.0.1 (an ephemeral port, closed again at once), both ends
    /// non-blocking, Nagle off on the sending end so a wake is not held back.
    ///
    /// # Errors
    /// Winsock's errors of `bind`, `connect` and `accept` (no loopback, no free port).
    pub fn new() -> io::Result<Notifier> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let write = TcpStream::connect(listener.local_addr()?)?;
        let read = accept_from(&listener, write.local_addr()?)?;
        for end in [&read, &write] {
            end.set_nonblocking(true)?;
        }
        write.set_nodelay(true)?;
        Ok(Notifier { read, write, pending: Coalesce::default() })
    }

    /// The socket to watch for readability.
    pub fn fd(&self) -> Source<'_> {
        self.read.as_socket()
    }

    /// Makes the socket readable, unless a wake is already pending.
    ///
    /// # Errors
    /// Only an unexpected Winsock error of `send` (a full buffer is not one).
    pub fn wake(&self) -> io::Result<()> {
        self.pending.wake(|| send_wake(&self.write))
    }

    /// Consumes a pending wake so the socket stops being readable.
    ///
    /// Reads first and clears the pending flag after ([`Coalesce::drained`]).
    pub fn drain(&self) {
        let mut buf = [0u8; 64];
        // At most one byte per pending wake, so a short read means it is empty;
        // `WouldBlock` (or any error) ends the drain as well: the flag keeps a wake we
        // did not read.
        while (&self.read).read(&mut buf).is_ok_and(|n| n == buf.len()) {}
        self.pending.drained();
    }
}

/// How long [`send_wake`] retries a `send` that would block before it takes the buffer
/// to be full (and so the socket readable already).
const FULL_AFTER: Duration = Duration::from_secs(1);

/// Sends the wake byte. A `send` that would block is retried: the coalescing leaves at
/// most a few bytes unread, so the buffer is never full, yet Wine 8's non-blocking `send`
/// fails with `WSAEWOULDBLOCK` now and then under load with the buffer all but empty, and
/// taking that for "full" left a wake pending with no byte sent: the notify was lost
/// (`notify_never_lost`, under Wine with both cores busy). Only after [`FULL_AFTER`] of
/// refusals is the buffer taken to be full.
fn send_wake(write: &TcpStream) -> io::Result<()> {
    let start = Instant::now();
    loop {
        match (&*write).write(&[1]) {
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                if start.elapsed() >= FULL_AFTER {
                    return Ok(());
                }
                std::thread::yield_now();
            }
            Err(e) => return Err(e),
        }
    }
}

/// Accepts the connection from `peer`: another process may connect to the listener in the
/// moment it is open, and its connection is not ours (it is dropped).
fn accept_from(listener: &TcpListener, peer: SocketAddr) -> io::Result<TcpStream> {
    loop {
        let (stream, from) = listener.accept()?;
        if from == peer {
            return Ok(stream);
        }
    }
}

#[cfg(test)]
mod tests {
    use windows_sys::Win32::Networking::WinSock::{POLLRDNORM, WSAPOLLFD};

    use super::super::probe::poll_now;
    use super::*;

    fn readable(n: &Notifier) -> bool {
        let fd = crate::backend::raw_source(n.fd()) as usize;
        let mut fds = [WSAPOLLFD { fd, events: POLLRDNORM, revents: 0 }];
        poll_now(&mut fds).unwrap() == 1
    }

    #[test]
    fn wake_then_drain() {
        let n = Notifier::new().unwrap();
        assert!(!readable(&n));
        n.wake().unwrap();
        n.wake().unwrap();
        // Loopback delivery is not instantaneous everywhere: give the byte a moment.
        let until = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !readable(&n) && std::time::Instant::now() < until {
            std::thread::yield_now();
        }
        assert!(readable(&n));
        n.drain();
        assert!(!readable(&n), "one drain empties coalesced wakes");
        n.wake().unwrap();
        let until = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !readable(&n) && std::time::Instant::now() < until {
            std::thread::yield_now();
        }
        assert!(readable(&n), "a wake after drain sends again");
    }
}
