//! A multipoll backend over Windows I/O completion ports, with sockets polled through the
//! AFD driver: the technique of wepoll, mio and polling.
//!
//! Windows has no readiness syscall that scales (`select` and `WSAPoll` cost O(registered)
//! per wait), but Winsock's kernel driver, AFD, answers one poll request
//! (`IOCTL_AFD_POLL`) per socket asynchronously, and the answer is a completion on a
//! port. So each registered socket has one poll request in flight, naming its base
//! provider handle (`WSAIoctl(SIO_BASE_HANDLE)`) and the AFD events its [`Interest`]
//! wants; a wait is one `GetQueuedCompletionStatusEx` and costs O(ready sockets).
//!
//! How the contract is kept:
//!
//! - **Modes.** [`Mode::Oneshot`] is native: a request reports once, and `modify` submits
//!   the next. [`Mode::Level`] submits the next request at the start of the next wait
//!   (AFD completes it at once while the socket is still ready, so it is reported again),
//!   not as the event is reported: a completion queued then would report a socket the
//!   user drains in between. While other threads wait, it is submitted at once, so that
//!   they hear of a socket still ready. [`Mode::Edge`] and [`Mode::EdgeOneshot`] are
//!   refused with `Unsupported`: AFD reports state, not changes, and whether the user
//!   drained a socket (read until `WouldBlock`) is invisible to the poller, so an edge
//!   could only be guessed (polling emulates it and documents missed and repeated edges).
//! - **Changes.** `modify` and `delete` cancel the request in flight (`NtCancelIoFileEx`).
//!   Its completion still arrives; it is recognised (by the registration's phase, not
//!   only by `STATUS_CANCELLED`, since the request may have completed just before) and
//!   never reported: after `modify` a new request with the new interest is submitted,
//!   after `delete` the request's memory is freed. That memory (the `IO_STATUS_BLOCK` and
//!   `AFD_POLL_INFO` the kernel writes) is a heap allocation that does not move and lives
//!   until its completion is dequeued, whichever registration owned it.
//! - **Readiness.** A FIN (`AFD_POLL_DISCONNECT`) is readable + hang-up, a reset
//!   (`AFD_POLL_ABORT`) and a failed connect (`AFD_POLL_CONNECT_FAIL`) readable +
//!   writable + hang-up + error, as `POLLRDHUP` and `POLLHUP | POLLERR` are on Linux; a
//!   hang-up goes to readers only. Under Wine 8, a FIN behind queued data is reported as
//!   readable alone until the data is read (`peer_close_after_data_hangs_up_once_read`),
//!   so [`Capabilities::early_hangup`] is false.
//! - **Closed sockets.** A socket closed without `delete` while its request is in flight
//!   completes it with `AFD_POLL_LOCAL_CLOSE`: nothing is reported, the registration goes
//!   stale, and an `add` of the same handle number (a new socket) replaces it, as on
//!   epoll; `delete` of the number forgets it. A socket closed while nothing is in flight
//!   (a oneshot already reported, or [`Interest::NONE`]) is not noticed: `add` of its
//!   reused number answers `AlreadyExists` until it is deleted.
//! - **Notify** posts a completion with a key of ours (`PostQueuedCompletionStatus`),
//!   only when none is queued yet, so several notifies coalesce into one wake-up.
//! - **Timeouts** are whole milliseconds, rounded up.
//! - **Priority** (urgent data) is not offered.
//!
//! Verified under Wine 8 (this crate's tests, `tests/*.rs`), not on a Windows kernel. One
//! thing seen there: a cancelled request's `AFD_POLL_INFO` is not written back and still
//! holds the request's own mask, `AFD_POLL_LOCAL_CLOSE` included, so a completion's events
//! are read only after a success (`modify_changes_interest`).
//!
//! ```
//! # #[cfg(windows)]
//! # fn main() -> std::io::Result<()> {
//! use std::io::Write;
//! use std::net::{TcpListener, TcpStream};
//! use std::time::Duration;
//! use multipoll_iocp::{AsSource, Events, Interest, Iocp, Mode, Poller};
//!
//! let listener = TcpListener::bind("127.0.0.1:0")?;
//! let mut client = TcpStream::connect(listener.local_addr()?)?;
//! let (server, _) = listener.accept()?;
//! server.set_nonblocking(true)?;
//!
//! let poller = Iocp::new()?;
//! poller.add(server.as_source(), 1, Interest::READABLE, Mode::Oneshot)?;
//! client.write_all(b"hello")?;
//!
//! let mut events = Events::new();
//! poller.wait(&mut events, Some(Duration::from_secs(5)))?;
//! let event = events.iter().next().expect("readable");
//! assert!(event.key() == 1 && event.is_readable());
//! # Ok(())
//! # }
//! # #[cfg(not(windows))]
//! # fn main() {}
//! ```
#![deny(missing_docs, missing_debug_implementations)]
#![doc(test(attr(deny(warnings))))]

// The re-exports are on every target, so these docs' links resolve wherever they are built;
// the backend itself exists on Windows only.
pub use multipoll_core::{
    AsSource, Capabilities, Event, Events, Interest, Mode, ModeSet, Poller, Source,
};

#[cfg(windows)]
mod afd;
#[cfg(windows)]
mod iocp;
#[cfg(windows)]
mod sys;

#[cfg(windows)]
pub use iocp::Iocp;

// The README's example (what crates.io shows), run as a doctest where it can run.
#[cfg(all(doctest, windows))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
