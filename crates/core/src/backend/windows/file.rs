//! Whether a raw socket number can be registered ([`pollable_file`]) and its identity
//! ([`FileId`]), for the backends whose syscall does not check at registration (Winsock
//! `select` and `WSAPoll`).
//!
//! On Windows only sockets can be polled, and `getsockopt(SO_TYPE)` is the one question
//! that only an open socket answers.

use std::io;

use super::errors::registration_error;
use super::syscall::socket_type;
use crate::RawSource;

/// The identity of a registered socket, to tell a new socket under a reused number from
/// the one registered. Windows has none to ask for: a `SOCKET` is a handle value, which a
/// new socket may take as soon as the old one is closed, and no call tells two sockets
/// apart beyond it (no device and inode; addresses are shared, e.g. by the connections a
/// listener accepted). So every socket has the same identity, and a number reused before
/// a `wait` reported the old socket closed answers `AlreadyExists` until it is deleted
/// (see the trait's *Registrations*).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileId(());

/// Checks that `s` is an open socket (`getsockopt(SO_TYPE)`); returns its [`FileId`].
///
/// # Errors
/// `InvalidInput`, naming the socket, for a closed socket or a handle that is not a socket
/// (`WSAENOTSOCK`); Winsock's other errors (`WSANOTINITIALISED`) as they are.
pub fn pollable_file(s: RawSource) -> io::Result<FileId> {
    socket_type(s).map_err(|e| registration_error(s, e))?;
    Ok(FileId(()))
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;
    use std::os::windows::io::AsRawSocket;

    use super::*;

    #[test]
    fn an_open_socket_is_pollable() -> io::Result<()> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        pollable_file(listener.as_raw_socket())?;
        Ok(())
    }

    #[test]
    fn a_closed_socket_is_refused() -> io::Result<()> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let raw = listener.as_raw_socket();
        drop(listener);
        let err = pollable_file(raw).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
        assert!(err.to_string().contains(&format!("socket {raw}")), "{err}");
        Ok(())
    }
}
