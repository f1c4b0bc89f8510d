//! The one Winsock call idiom, and the Winsock calls backends share: one small wrapper per
//! call, each `unsafe` block one call wide.
//!
//! Winsock reports failure as `SOCKET_ERROR` (-1) with the cause in `WSAGetLastError()`,
//! not in `GetLastError()`'s usual place for every call, so [`cvt`] reads it explicitly
//! (std's `io::Error` maps `WSAE*` codes to kinds, e.g. `WSAEWOULDBLOCK` to `WouldBlock`).
//! They take raw socket numbers that may already be closed (the registration check and the
//! probes ask exactly that): Winsock answers `WSAENOTSOCK` for those.

use std::io;

use windows_sys::Win32::Networking::WinSock::{
    FD_SET, SO_TYPE, SOCKET, SOCKET_ERROR, SOL_SOCKET, TIMEVAL, WSAGetLastError, WSAPOLLFD,
    WSAPoll, getsockopt, select,
};

use crate::RawSource;

/// Turns a Winsock return value into `io::Result`: `SOCKET_ERROR` becomes the thread's
/// `WSAGetLastError()`.
pub fn cvt(ret: i32) -> io::Result<i32> {
    if ret == SOCKET_ERROR {
        // SAFETY: WSAGetLastError only reads the calling thread's last Winsock error.
        Err(io::Error::from_raw_os_error(unsafe { WSAGetLastError() }))
    } else {
        Ok(ret)
    }
}

/// The handle as Winsock's `SOCKET` type (a `usize`; std's `RawSocket` is a `u64`).
fn socket(s: RawSource) -> SOCKET {
    // Handles are pointer-sized: a SOCKET that came from Winsock fits a usize.
    s as SOCKET
}

/// `WSAPoll`: fills each entry's `revents`; returns how many have some. `timeout_ms` is
/// `-1` for none.
///
/// # Errors
/// `WSAPoll`'s: `WSAENOBUFS`, `WSAEINVAL` (an `events` bit it does not take), `WSAENETDOWN`.
pub fn wsa_poll(fds: &mut [WSAPOLLFD], timeout_ms: i32) -> io::Result<usize> {
    let n = u32::try_from(fds.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "too many sockets for WSAPoll"))?;
    // SAFETY: `fds` is `n` live WSAPOLLFDs, which WSAPoll may write.
    let ready = cvt(unsafe { WSAPoll(fds.as_mut_ptr(), n, timeout_ms) })?;
    Ok(usize::try_from(ready).unwrap_or(0))
}

/// Winsock `select` on three sets laid out as `FD_SET`s (a count, then that many sockets):
/// each pointer is null or points to such a set, which may hold more than `FD_SET`'s 64
/// entries. Returns how many sockets are ready. `nfds` is ignored by Winsock.
///
/// # Safety
/// Each non-null pointer points to a live, writable `u32` count followed (at `FD_SET`'s
/// `fd_array` offset) by at least that many `SOCKET`s.
///
/// # Errors
/// `select`'s: `WSAENOTSOCK` when a set holds a socket that is not open, `WSAEINVAL` when
/// every set is empty, `WSAENETDOWN`.
pub unsafe fn select_sets(
    read: *mut FD_SET,
    write: *mut FD_SET,
    except: *mut FD_SET,
    timeout: Option<&TIMEVAL>,
) -> io::Result<usize> {
    let tv = timeout.map_or(std::ptr::null(), std::ptr::from_ref);
    // SAFETY: the caller promises the sets' layout; `tv` is null or a live TIMEVAL.
    let ready = cvt(unsafe { select(0, read, write, except, tv) })?;
    Ok(usize::try_from(ready).unwrap_or(0))
}

/// `getsockopt(SO_TYPE)`: the socket's type (`SOCK_STREAM`, …), which only an open socket
/// has.
///
/// # Errors
/// `WSAENOTSOCK` for a handle that is not an open socket.
pub fn socket_type(s: RawSource) -> io::Result<i32> {
    let mut ty: i32 = 0;
    let mut len = std::mem::size_of::<i32>() as i32;
    // SAFETY: Winsock writes at most `len` bytes into `ty`, which has that size; any handle
    // value is acceptable (one that is not a socket fails with WSAENOTSOCK).
    cvt(unsafe { getsockopt(socket(s), SOL_SOCKET, SO_TYPE, (&raw mut ty).cast(), &mut len) })?;
    Ok(ty)
}
