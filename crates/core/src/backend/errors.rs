//! The contract's registration errors, with the kinds [`Poller`](crate::Poller) promises
//! and a message that names the fd and says what to do.
//!
//! Backends whose kernel keeps no registration table raise them from their own table;
//! the others map the kernel's errno to the same errors ([`registration_error`]), so that
//! a caller sees one kind and one message whichever backend it runs on.

use std::io;

use crate::RawSource;

/// What the messages call a registered source: "fd" on Unix, "socket" on Windows.
#[cfg(unix)]
pub const SOURCE: &str = "fd";
/// What the messages call a registered source: "fd" on Unix, "socket" on Windows.
#[cfg(windows)]
pub const SOURCE: &str = "socket";

/// `add` of an fd that is already registered.
pub fn already_registered(fd: RawSource) -> io::Error {
    io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("{SOURCE} {fd} is already registered; use modify to change it"),
    )
}

/// `modify`/`delete` of an fd that is not registered.
pub fn not_registered(fd: RawSource) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("{SOURCE} {fd} is not registered; add it first"),
    )
}

/// `add` of an fd whose readiness cannot be watched: `what` says what it is ("a regular
/// file", "a directory", …).
#[cfg(unix)]
pub fn not_pollable(fd: RawSource, what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "fd {fd} cannot be polled: it is {what}, whose readiness the kernel cannot watch \
             (a regular file or directory is always ready: read or write it directly)"
        ),
    )
}

/// Maps an OS error of a registration syscall (`epoll_ctl`, `kevent` changes) to the
/// contract's kinds and a message naming the fd.
#[cfg(unix)]
pub fn registration_error(fd: RawSource, err: io::Error) -> io::Error {
    match err.raw_os_error() {
        Some(libc::EEXIST) => already_registered(fd),
        Some(libc::ENOENT) => not_registered(fd),
        Some(libc::EBADF) => io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("fd {fd} is not an open file descriptor"),
        ),
        Some(libc::EPERM) | Some(libc::EINVAL) => io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "fd {fd} cannot be polled by this backend ({err}); regular files and directories are always ready"
            ),
        ),
        _ => err,
    }
}

/// Maps a Winsock error of the registration check to the contract's kinds and a message
/// naming the socket: `WSAENOTSOCK` (a closed socket, or a handle that is not a socket)
/// is `InvalidInput`.
#[cfg(windows)]
pub fn registration_error(s: RawSource, err: io::Error) -> io::Error {
    use windows_sys::Win32::Networking::WinSock::WSAENOTSOCK;
    match err.raw_os_error() {
        Some(WSAENOTSOCK) => io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "socket {s} cannot be polled: it is not an open socket (WSAENOTSOCK); \
                 on Windows only sockets can be registered"
            ),
        ),
        _ => err,
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn registration_errors_have_contract_kinds() {
        let e = |n| registration_error(5, io::Error::from_raw_os_error(n)).kind();
        assert_eq!(e(libc::EEXIST), io::ErrorKind::AlreadyExists);
        assert_eq!(e(libc::ENOENT), io::ErrorKind::NotFound);
        assert_eq!(e(libc::EBADF), io::ErrorKind::InvalidInput);
        assert_eq!(e(libc::EPERM), io::ErrorKind::InvalidInput);
        assert_eq!(e(libc::ENOMEM), io::ErrorKind::OutOfMemory);
    }
}
