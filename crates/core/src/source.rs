//! What a poller watches: a file descriptor on Unix, a socket on Windows.
//!
//! The trait's methods take a [`Source`], which is `BorrowedFd` on Unix and
//! `BorrowedSocket` on Windows, so a Unix signature is exactly what it was before Windows
//! came, and a borrowed handle proves the fd or socket is open for the call (I/O safety).
//! Code meant for both families calls [`AsSource::as_source`], which every type with
//! `as_fd` (Unix) or `as_socket` (Windows) has: `poller.add(stream.as_source(), ...)`
//! compiles unchanged for Linux, macOS and Windows.

#[cfg(unix)]
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
#[cfg(windows)]
use std::os::windows::io::{AsRawSocket, AsSocket, BorrowedSocket, RawSocket};

/// What [`Poller`](crate::Poller) registers: a borrowed fd on Unix.
#[cfg(unix)]
pub type Source<'a> = BorrowedFd<'a>;
/// What [`Poller`](crate::Poller) registers: a borrowed socket on Windows.
#[cfg(windows)]
pub type Source<'a> = BorrowedSocket<'a>;

/// A [`Source`]'s number: the fd on Unix, the `SOCKET` handle on Windows. Backends key
/// their tables by it and error messages name it.
#[cfg(unix)]
pub type RawSource = RawFd;
/// A [`Source`]'s number: the fd on Unix, the `SOCKET` handle on Windows. Backends key
/// their tables by it and error messages name it.
#[cfg(windows)]
pub type RawSource = RawSocket;

/// Borrows what a poller watches from a socket, pipe or other I/O object: `as_fd` on
/// Unix, `as_socket` on Windows, under one name for code that builds on both.
///
/// ```
/// # extern crate multipoll_core as multipoll;
/// use std::net::TcpListener;
/// use multipoll::AsSource;
///
/// let listener = TcpListener::bind("127.0.0.1:0")?;
/// let source = listener.as_source(); // a BorrowedFd here, a BorrowedSocket on Windows
/// # let _ = source;
/// # Ok::<(), std::io::Error>(())
/// ```
pub trait AsSource {
    /// Borrows the fd (Unix) or socket (Windows) to register.
    fn as_source(&self) -> Source<'_>;
}

#[cfg(unix)]
impl<T: AsFd + ?Sized> AsSource for T {
    fn as_source(&self) -> Source<'_> {
        self.as_fd()
    }
}

#[cfg(windows)]
impl<T: AsSocket + ?Sized> AsSource for T {
    fn as_source(&self) -> Source<'_> {
        self.as_socket()
    }
}

/// The number of a borrowed [`Source`]: what backends key registrations by.
#[cfg(unix)]
#[inline]
pub fn raw_source(source: Source<'_>) -> RawSource {
    source.as_raw_fd()
}

/// The number of a borrowed [`Source`]: what backends key registrations by.
#[cfg(windows)]
#[inline]
pub fn raw_source(source: Source<'_>) -> RawSource {
    source.as_raw_socket()
}
