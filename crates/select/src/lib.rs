//! A multipoll backend over `select(2)`.
//!
//! The oldest readiness call and the most portable. Like `poll` it keeps nothing in the
//! kernel: each call passes its bit sets (read and write) and the kernel scans every bit
//! below `nfds`, so a wait costs O(highest registered fd). The registrations live in user
//! space in [`multipoll_core::backend::emulated::Emulated`], which also emulates
//! [`Mode::Oneshot`]; [`Mode::Edge`] is `Unsupported`.
//!
//! # `FD_SETSIZE`, done right
//!
//! libc's `fd_set` holds 1024 bits, and `FD_SET` on a larger fd writes past it: memory
//! corruption, not an error. This backend never uses `fd_set` or `FD_SET`. It keeps its
//! own bit arrays, sized to the highest registered fd, in the kernel's layout (an array of
//! `fd_mask` words), and passes them to `select` with the matching `nfds`. The Linux
//! (Android), FreeBSD and DragonFly kernels size their copy by `nfds`, so fds above 1024
//! work there (libevent's select backend does the same). Elsewhere the backend does not
//! count on that: `add` refuses fds at or above `FD_SETSIZE` with `InvalidInput`, and
//! [`Capabilities::max_fd`] says so.
//!
//! # Other quirks
//!
//! - `select` overwrites its sets (and, on Linux, the timeout): both are rebuilt from the
//!   registered sets before every call.
//! - The timeout is a `timeval`: microseconds, rounded up.
//! - `select` has no hang-up or error bit: the fds it reported are asked once more, all in
//!   one zero-timeout `poll(2)` ([`multipoll_core::backend::probe::poll_now`]), for
//!   `POLLHUP`, `POLLRDHUP` and `POLLERR`. That reads the state without changing it:
//!   reading `SO_ERROR`, or peeking (Linux clears a pending error even on `MSG_PEEK`),
//!   would take a refused connect's error from the user's `take_error()`. So hang-ups
//!   (early, with data still queued, where `POLLRDHUP` exists) and errors
//!   ([`Capabilities::reports_errors`]) are reported as on the poll backend; where there is
//!   no `POLLRDHUP`, a half-close is found by core's Unix probe `peer_closed`.
//! - `exceptfds` is watched only for registrations with [`Interest::PRIORITY`] (and
//!   passed as null when none has it): TCP urgent (out-of-band) data is reported as
//!   priority there, never as readable — without `SO_OOBINLINE`, `read(2)` does not return
//!   it, so reporting it as readable would make a level-triggered loop spin on `EAGAIN`.
//!   As on every backend, urgent data alone reports nothing to a readable registration
//!   (conformance: `urgent_data_alone_is_not_readable`, `priority_on_urgent_data`).
//! - A registered fd closed without `delete` makes the whole call fail with `EBADF`. The
//!   backend then finds the closed fds (`fcntl(F_GETFD)` on each), reports each once as an
//!   error, forgets it and keeps serving the rest.
//!
//! # Windows
//!
//! On Windows the same [`Select`] is Winsock's `select` over sockets (only sockets can be
//! polled there). Winsock's `fd_set` is a count and an array of `SOCKET`s, not a bit set,
//! and `select` reads as many entries as the count says: the backend lays out its own sets
//! that way, as long as the registrations need (no 64-socket `FD_SETSIZE` limit), and
//! passes them as `fd_set` pointers. A socket with writable interest is also in
//! `exceptfds`, where Winsock reports a failed connect. Hang-ups and errors come, as on
//! Unix, from one zero-timeout `WSAPoll` over the sockets select reported. A socket closed
//! while registered fails the call with `WSAENOTSOCK`: the closed ones are found
//! (`getsockopt`), reported once as errors and forgotten. [`Interest::PRIORITY`] is
//! `Unsupported`. Verified under Wine 8, not a Windows kernel (`tests/winsock.rs`).
//!
//! ```
//! use std::io::Write;
//! use std::net::{TcpListener, TcpStream};
//! use std::time::Duration;
//! use multipoll_select::{AsSource, Events, Interest, Mode, Poller, Select};
//!
//! let listener = TcpListener::bind("127.0.0.1:0")?;
//! let mut a = TcpStream::connect(listener.local_addr()?)?;
//! let (b, _) = listener.accept()?;
//! let poller = Select::new()?;
//! poller.add(b.as_source(), 3, Interest::READABLE, Mode::Oneshot)?;
//! a.write_all(b"x")?;
//! let mut events = Events::new();
//! assert_eq!(poller.wait(&mut events, Some(Duration::from_secs(5)))?, 1);
//! assert_eq!(poller.wait(&mut events, Some(Duration::ZERO))?, 0, "oneshot: disarmed");
//! # Ok::<(), std::io::Error>(())
//! ```
#![deny(missing_docs, missing_debug_implementations)]
#![doc(test(attr(deny(warnings))))]

#[cfg(unix)]
mod fdset;
#[cfg(unix)]
mod posix;
#[cfg(windows)]
mod winsock;

use multipoll_core::backend::emulated::Emulated;

pub use multipoll_core::{AsSource, Capabilities, Event, Events, Interest, Mode, ModeSet, Poller};
#[cfg(unix)]
pub use posix::SelectSyscall;
#[cfg(windows)]
pub use winsock::SelectSyscall;

/// The `select(2)` backend: the most portable, and a wait costs O(highest registered fd).
///
/// Create it with [`Select::new()`](Poller::new) and use it through the
/// [`Poller`] trait. What is particular to it:
///
/// - Modes: [`Level`](Mode::Level) and
///   [`Oneshot`](Mode::Oneshot) (emulated); the edge modes are
///   `Unsupported`.
/// - fds up to the process limit on Linux, Android, FreeBSD and DragonFly; elsewhere `add`
///   refuses fds at or above `FD_SETSIZE` with `InvalidInput`
///   ([`Capabilities::max_fd`]).
/// - Timeouts in microseconds, rounded up. No hang-up or error bit: the fds a wait
///   reported are asked for both with one zero-timeout `poll(2)`, which consumes
///   nothing, so errors and hang-ups are reported as on poll.
/// - [`PRIORITY`](Interest::PRIORITY) interest watches `exceptfds` (`Unsupported` on
///   Windows).
/// - On Windows it is Winsock's `select`, over sockets only, with no 64-socket limit (see
///   the crate docs' *Windows*).
///
/// The registrations live in user space, in the shared
/// [`Emulated`](https://docs.rs/multipoll-core/latest/multipoll_core/backend/emulated/struct.Emulated.html) type, of which this is an
/// alias; `SelectSyscall` is the one `select(2)` call. More in the
/// [`multipoll-select` crate docs](https://docs.rs/multipoll-select).
pub type Select = Emulated<SelectSyscall>;
