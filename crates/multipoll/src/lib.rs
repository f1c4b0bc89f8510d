//! Pluggable I/O readiness backends behind one trait.
//!
//! multipoll implements the [`Poller`] contract over each readiness mechanism —
//! `select(2)`, `poll(2)`, `epoll(7)`, `kqueue(2)`, `io_uring(7)` poll requests, and on
//! Windows Winsock `select`, `WSAPoll` and an I/O completion port with AFD polling — as
//! separate crates that behave identically (a shared conformance suite proves it). This
//! facade is the one place that knows them all:
//!
//! - **At compile time**, each backend is a Cargo feature (`select`, `poll`, `epoll`,
//!   `kqueue`, `uring`, `iocp`; all on by default, each compiling to nothing where its
//!   syscall does not exist). [`DefaultPoller`] is the best one enabled for the target:
//!   kqueue on BSD/macOS, epoll on Linux, IOCP on Windows, then poll, then select (io_uring only when it is the one
//!   Linux backend enabled: a kernel may refuse it at run time, see
//!   [`Backend::is_available`]). Code generic over `P: Poller`
//!   pays nothing for the choice.
//! - **At runtime**, [`AnyPoller`] wraps whichever [`Backend`] you name
//!   (`"epoll".parse::<Backend>()`), for command-line flags and comparisons.
//!   [`AnyPoller::from_env`] takes the backend from the `MULTIPOLL_BACKEND` environment
//!   variable when set, [`DefaultPoller`]'s otherwise (so does `<AnyPoller as
//!   Poller>::new()`, what generic code's `P::new()` calls). For hot loops,
//!   [`Backend::with_poller`] makes the runtime choice once and runs generic code on the
//!   concrete type.
//!
//! To use one backend alone, depend on its crate (`multipoll-epoll`, …) instead.
//! Coming from `polling` or `mio`: the [`porting`] guide maps their types and calls.
//!
//! # Non-blocking is your job
//!
//! multipoll never changes an fd's flags. Set every fd you register non-blocking
//! (`set_nonblocking(true)`; an accepted socket does not inherit it from its listener on
//! Linux) and read, write or accept until `WouldBlock`. Readiness is a hint that may be
//! stale by the time you act (another thread got there first, a spurious wake-up): on a
//! blocking fd that read blocks the whole loop. In [`Mode::Edge`] a loop that stops
//! before `WouldBlock` is not told about that fd again.
//!
//! # Which backend can do what
//!
//! [`Backend`]'s page has the table (modes, priority, largest fd, timeout precision);
//! [`Mode`] lists which backend does which mode, and a poller tells at run time through
//! [`Poller::capabilities`]. Code written for the edge modes picks its mode from there:
//! `if caps.supports(Mode::Edge) { Mode::Edge } else { Mode::Level }`.
//!
//! ```
//! use std::io::Write;
//! use std::net::{TcpListener, TcpStream};
//! use std::time::Duration;
//! use multipoll::{AnyPoller, AsSource, Backend, Events, Interest, Mode, Poller};
//!
//! let listener = TcpListener::bind("127.0.0.1:0")?;
//! for backend in Backend::available() {
//!     let poller = AnyPoller::new(backend)?;
//!     let mut a = TcpStream::connect(listener.local_addr()?)?;
//!     let (b, _) = listener.accept()?;
//!     b.set_nonblocking(true)?;
//!     poller.add(b.as_source(), 42, Interest::READABLE, Mode::Level)?;
//!     a.write_all(b"hi")?;
//!     let mut events = Events::new();
//!     poller.wait(&mut events, Some(Duration::from_secs(5)))?;
//!     assert_eq!(events.iter().next().map(|e| e.key()), Some(42), "{backend}");
//! }
//! # Ok::<(), std::io::Error>(())
//! ```
#![deny(missing_docs, missing_debug_implementations)]
#![doc(test(attr(deny(warnings))))]
#![cfg(any(unix, windows))]

mod any;
mod backend;

#[doc = include_str!("porting.md")]
pub mod porting {}

pub use any::AnyPoller;
pub use backend::{Backend, WithPoller};
pub use multipoll_core::{
    AsSource, Capabilities, Event, Events, Interest, Mode, ModeSet, Poller, RESERVED_KEY,
    RawSource, Source,
};

#[cfg(has_epoll)]
pub use multipoll_epoll::Epoll;
#[cfg(has_iocp)]
pub use multipoll_iocp::Iocp;
#[cfg(has_kqueue)]
pub use multipoll_kqueue::Kqueue;
#[cfg(has_poll)]
pub use multipoll_poll::Poll;
#[cfg(has_select)]
pub use multipoll_select::Select;
#[cfg(has_uring)]
pub use multipoll_uring::Uring;

cfg_if::cfg_if! {
    if #[cfg(has_kqueue)] {
        /// The best backend enabled for this target (here: kqueue).
        pub type DefaultPoller = Kqueue;
        const DEFAULT_BACKEND: Backend = Backend::Kqueue;
    } else if #[cfg(has_epoll)] {
        /// The best backend enabled for this target (here: epoll).
        pub type DefaultPoller = Epoll;
        const DEFAULT_BACKEND: Backend = Backend::Epoll;
    } else if #[cfg(has_iocp)] {
        /// The best backend enabled for this target (here: IOCP).
        pub type DefaultPoller = Iocp;
        const DEFAULT_BACKEND: Backend = Backend::Iocp;
    } else if #[cfg(has_uring)] {
        /// The best backend enabled for this target (here: io_uring).
        pub type DefaultPoller = Uring;
        const DEFAULT_BACKEND: Backend = Backend::Uring;
    } else if #[cfg(has_poll)] {
        /// The best backend enabled for this target (here: poll).
        pub type DefaultPoller = Poll;
        const DEFAULT_BACKEND: Backend = Backend::Poll;
    } else if #[cfg(has_select)] {
        /// The best backend enabled for this target (here: select).
        pub type DefaultPoller = Select;
        const DEFAULT_BACKEND: Backend = Backend::Select;
    } else {
        compile_error!(
            "multipoll: no backend is enabled for this target; enable one of the features \
             `epoll` or `uring` (Linux), `kqueue` (BSD, macOS), `poll` or `select`"
        );
    }
}
