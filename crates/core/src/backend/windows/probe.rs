//! Probes of a raw socket's state now, for use inside `wait`: open or not, and what
//! `WSAPoll` says of it. Winsock's `select` has no hang-up or error bit, and fails the
//! whole call with `WSAENOTSOCK` for one closed socket: these fill in. A probe changes
//! nothing and injects no fault.

use std::io;

use windows_sys::Win32::Networking::WinSock::WSAPOLLFD;

use super::syscall::{socket_type, wsa_poll};
use crate::RawSource;

/// Whether `s` is an open socket now (`getsockopt(SO_TYPE)`): a probe, with no fault
/// injection, for select's `WSAENOTSOCK` recovery inside `wait`.
pub fn is_open(s: RawSource) -> bool {
    socket_type(s).is_ok()
}

/// What `WSAPoll` says of every socket in `fds` now: one call with a zero timeout fills in
/// each entry's `revents` (`POLLNVAL` for a closed socket) and returns how many have some.
/// It never blocks. It reads the state without changing it (unlike `SO_ERROR`, which
/// Winsock clears on read, or a peek), so a refused connect's error stays for the user's
/// `take_error()`.
///
/// # Errors
/// `WSAPoll`'s (`WSAENOBUFS`).
pub fn poll_now(fds: &mut [WSAPOLLFD]) -> io::Result<usize> {
    wsa_poll(fds, 0)
}
