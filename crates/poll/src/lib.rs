//! A multipoll backend over `poll(2)`.
//!
//! `poll(2)` keeps no state in the kernel: every call passes the whole interest set and the
//! kernel scans all of it, so a wait costs O(registered fds), not O(ready fds). In return
//! it runs on every Unix and has no fd-number limit (unlike `select`).
//!
//! The registrations live in user space, in [`multipoll_core::backend::emulated::Emulated`], which
//! also emulates [`Mode::Oneshot`] and rebuilds the `pollfd` array only when the watched
//! set changed. This crate is only the syscall: lay out the `pollfd` array, call `poll`,
//! read `revents`. The edge modes are `Unsupported`: `poll` has no notion of "new since
//! last time". [`Interest::PRIORITY`] is `POLLPRI`.
//!
//! Quirks handled here: the timeout is whole milliseconds, rounded up (so 0.5 ms waits
//! 1 ms rather than spinning); `POLLRDHUP` (Linux) reports a peer's half-close, and where
//! it does not exist a readable fd with no queued bytes is reported as a hang-up; a closed
//! registered fd comes back as `POLLNVAL`, reported once as an error and then forgotten.
//! The contract — errors, timeouts, notify — is [`multipoll_core::Poller`]'s.
//!
//! # Windows
//!
//! On Windows the same [`Poll`] is `WSAPoll` over sockets (only sockets can be polled
//! there): `POLLHUP` reports a hang-up, `POLLERR` an error, `POLLNVAL` a socket closed
//! while registered. [`Interest::PRIORITY`] is `Unsupported`: `WSAPoll` fails the whole
//! call with `WSAEINVAL` when `events` holds `POLLPRI`. Microsoft's `WSAPoll` page says a
//! failed connect is indicated as `POLLHUP | POLLERR | POLLWRNORM` "as of Windows 10
//! version 2004": before that `WSAPoll` never reports it, and a connect that fails stays
//! silent; on those Windows versions watch connects with the select backend. Verified
//! under Wine 8, not a Windows kernel (`tests/winsock.rs`).
//!
//! ```
//! use std::io::Write;
//! use std::net::{TcpListener, TcpStream};
//! use std::time::Duration;
//! use multipoll_poll::{AsSource, Events, Interest, Mode, Poll, Poller};
//!
//! let listener = TcpListener::bind("127.0.0.1:0")?;
//! let mut a = TcpStream::connect(listener.local_addr()?)?;
//! let (b, _) = listener.accept()?;
//! let poller = Poll::new()?;
//! poller.add(b.as_source(), 7, Interest::READABLE, Mode::Level)?;
//! a.write_all(b"ping")?;
//! let mut events = Events::new();
//! poller.wait(&mut events, Some(Duration::from_secs(5)))?;
//! assert_eq!(events.iter().next().map(|e| (e.key(), e.is_readable())), Some((7, true)));
//! # Ok::<(), std::io::Error>(())
//! ```
#![deny(missing_docs, missing_debug_implementations)]
#![doc(test(attr(deny(warnings))))]

#[cfg(unix)]
mod posix;
#[cfg(windows)]
mod wsapoll;

use multipoll_core::backend::emulated::Emulated;

pub use multipoll_core::{AsSource, Capabilities, Event, Events, Interest, Mode, Poller};
#[cfg(unix)]
pub use posix::PollSyscall;
#[cfg(windows)]
pub use wsapoll::PollSyscall;

/// The `poll(2)` backend: runs on every Unix, and a wait costs O(registered fds).
///
/// Create it with [`Poll::new()`](Poller::new) and use it through the
/// [`Poller`] trait. What is particular to it:
///
/// - Modes: [`Level`](Mode::Level) and
///   [`Oneshot`](Mode::Oneshot) (emulated: the registration leaves the
///   `pollfd` array until `modify`); the edge modes are `Unsupported`.
/// - [`PRIORITY`](Interest::PRIORITY) interest is `POLLPRI` (`Unsupported` on Windows).
/// - Timeouts are whole milliseconds, rounded up; no fd-number limit.
/// - A registered fd closed without `delete` is reported once as an error, then forgotten.
/// - On Windows it is `WSAPoll`, over sockets only (see the crate docs' *Windows*).
///
/// The registrations live in user space, in the shared
/// [`Emulated`](https://docs.rs/multipoll-core/latest/multipoll_core/backend/emulated/struct.Emulated.html) type, of which this is an
/// alias; `PollSyscall` is the one `poll(2)` (`WSAPoll`) call. More in the
/// [`multipoll-poll` crate docs](https://docs.rs/multipoll-poll).
pub type Poll = Emulated<PollSyscall>;
