//! The floor: an echo loop on level-triggered `epoll(7)` with raw `libc` calls and nothing
//! else, the fewest syscalls an echo over epoll can make (one `epoll_wait` per batch, one
//! `read` and one `write` per message).

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use super::{ECHO_BUF, EchoServer, stopping};

/// Starts the server on `listener`.
///
/// # Errors
/// As [`EchoServer::spawn`].
pub fn spawn(listener: TcpListener) -> io::Result<EchoServer> {
    EchoServer::spawn("raw-epoll-echo", listener, serve)
}

fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret == -1 { Err(io::Error::last_os_error()) } else { Ok(ret) }
}

fn ctl(epfd: RawFd, op: libc::c_int, fd: RawFd, events: u32) -> io::Result<()> {
    let mut event = libc::epoll_event { events, u64: fd as u64 };
    // SAFETY: `event` lives on the stack for the call; the kernel only reads it.
    cvt(unsafe { libc::epoll_ctl(epfd, op, fd, &mut event) }).map(drop)
}

/// A connection and the echo bytes it could not write yet.
struct Conn {
    stream: TcpStream,
    pending: Vec<u8>,
    /// Watching `EPOLLOUT` instead of `EPOLLIN` until `pending` is written.
    blocked: bool,
}

/// Serves `listener` on the calling thread until `stop` is set (checked at each accept).
///
/// # Errors
/// An epoll call fails.
pub fn serve(listener: TcpListener, stop: Arc<AtomicBool>) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    // SAFETY: epoll_create1 takes no pointers.
    let raw = cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
    // SAFETY: `raw` was just returned by epoll_create1 and nothing else owns it.
    let epoll = unsafe { OwnedFd::from_raw_fd(raw) };
    let epfd = epoll.as_raw_fd();
    let lfd = listener.as_raw_fd();
    ctl(epfd, libc::EPOLL_CTL_ADD, lfd, libc::EPOLLIN as u32)?;
    let mut conns: Vec<Option<Conn>> = Vec::new();
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 1024];
    let mut buf = vec![0u8; ECHO_BUF];
    loop {
        let max = events.len() as libc::c_int;
        // SAFETY: the kernel writes at most `max` entries into `events`, which holds that many.
        let n = match cvt(unsafe { libc::epoll_wait(epfd, events.as_mut_ptr(), max, -1) }) {
            Ok(n) => n as usize,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        for ev in &events[..n] {
            let fd = ev.u64 as RawFd;
            if fd == lfd {
                if !accept(&listener, epfd, &mut conns, &stop)? {
                    return Ok(());
                }
                continue;
            }
            let slot = &mut conns[fd as usize];
            let Some(conn) = slot.as_mut() else { continue };
            if !serve_conn(conn, &mut buf) {
                ctl(epfd, libc::EPOLL_CTL_DEL, fd, 0)?;
                *slot = None;
                continue;
            }
            // Backpressure: while echo bytes wait, watch only writability.
            let blocked = !conn.pending.is_empty();
            if blocked != conn.blocked {
                let events = if blocked { libc::EPOLLOUT } else { libc::EPOLLIN };
                ctl(epfd, libc::EPOLL_CTL_MOD, fd, events as u32)?;
                conn.blocked = blocked;
            }
        }
    }
}

/// Echoes what can be echoed now: the pending bytes, else one read (level-triggered: a
/// short read needs no second read to find `EAGAIN`). False when the connection is over.
fn serve_conn(conn: &mut Conn, buf: &mut [u8]) -> bool {
    if !conn.pending.is_empty() {
        return match write(&mut conn.stream, &conn.pending) {
            Some(n) => {
                conn.pending.drain(..n);
                true
            }
            None => false,
        };
    }
    match conn.stream.read(buf) {
        Ok(0) => false,
        Ok(n) => match write(&mut conn.stream, &buf[..n]) {
            Some(written) => {
                conn.pending.extend_from_slice(&buf[written..n]);
                true
            }
            None => false,
        },
        Err(e) => matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted),
    }
}

/// One `write`: how much was taken (0 if the buffer is full), `None` on an error.
fn write(stream: &mut TcpStream, data: &[u8]) -> Option<usize> {
    match stream.write(data) {
        Ok(n) => Some(n),
        Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => {
            Some(0)
        }
        Err(_) => None,
    }
}

/// Accepts every pending connection; false when the server is told to stop.
fn accept(
    listener: &TcpListener,
    epfd: RawFd,
    conns: &mut Vec<Option<Conn>>,
    stop: &AtomicBool,
) -> io::Result<bool> {
    loop {
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(true),
            Err(e) => return Err(e),
        };
        if stopping(stop) {
            return Ok(false);
        }
        stream.set_nonblocking(true)?;
        stream.set_nodelay(true)?;
        let fd = stream.as_raw_fd();
        ctl(epfd, libc::EPOLL_CTL_ADD, fd, libc::EPOLLIN as u32)?;
        let slot = fd as usize;
        if conns.len() <= slot {
            conns.resize_with(slot + 1, || None);
        }
        conns[slot] = Some(Conn { stream, pending: Vec::new(), blocked: false });
    }
}
