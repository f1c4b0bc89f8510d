//! A TCP echo server over [multipoll], and the event loop under it.
//!
//! The crate has two halves that meet at one trait:
//!
//! - **The event loop** ([`Server`]) is generic over the poller `P: Poller`, so each
//!   backend gets its own monomorphised loop with no `dyn` on the hot path
//!   ([`multipoll::AnyPoller`] picks one at runtime, one `match` per call). It accepts,
//!   reads into one buffer shared by all its connections, writes answers straight back
//!   and queues only what the kernel refused, watches writability only while something
//!   is queued, stops reading from a client whose queue reaches
//!   [`Config::high_water`] (so memory stays bounded and other clients are not slowed),
//!   closes idle connections on a deadline heap that sets the wait timeout, backs off
//!   from `accept` when fds run out, retries after a short back-off a wait that fails for
//!   want of memory (`ENOMEM`; it stops only on a wait error that retrying cannot fix,
//!   such as `EBADF` or `EINVAL`), and shuts down gracefully on a [`ShutdownHandle`].
//!   It works in every [`Mode`](multipoll::Mode) the backend supports.
//! - **The protocol** ([`Protocol`]) only sees received bytes and answers through
//!   [`Output`]. [`Echo`] is four lines.
//!
//! [`Config::threads`] loops run on as many threads, each with its own poller and its
//! own `SO_REUSEPORT` listener (where that does not exist, such as on Windows, each with
//! its own handle of one shared listener). [`Stats`] counts connections, bytes and queued output,
//! per loop, as each loop publishes them before it waits (so exact whenever it is idle).
//!
//! The `multipoll-echo` binary wraps this in a command line; see its `--help`.
//!
//! ```
//! use std::io::{Read, Write};
//! use std::net::{Shutdown, TcpStream};
//! use multipoll::{AnyPoller, Backend};
//! use multipoll_echo::{Config, Echo, Server};
//!
//! for backend in Backend::available() {
//!     let server = Server::with_pollers("127.0.0.1:0", Config::default(), Echo, || {
//!         AnyPoller::new(backend)
//!     })?;
//!     let mut client = TcpStream::connect(server.local_addr())?;
//!     let stop = server.shutdown_handle();
//!     let loops = std::thread::spawn(move || server.run());
//!
//!     client.write_all(b"ping")?;
//!     client.shutdown(Shutdown::Write)?;
//!     let mut reply = Vec::new();
//!     client.read_to_end(&mut reply)?; // the server closes after echoing everything
//!     assert_eq!(reply, b"ping", "{backend}");
//!
//!     stop.shutdown()?;
//!     loops.join().expect("no loop panicked")?;
//! }
//! # Ok::<(), std::io::Error>(())
//! ```
#![deny(missing_docs, missing_debug_implementations)]
#![doc(test(attr(deny(warnings))))]

mod config;
mod conn;
mod conns;
mod echo;
mod event_loop;
mod listener;
mod output;
mod phase;
mod protocol;
mod server;
mod shared;
mod shutdown;
mod socket;
mod stats;
mod timer;
pub mod values;
mod wait_backoff;

pub use config::Config;
pub use echo::Echo;
pub use output::Output;
pub use protocol::Protocol;
pub use server::Server;
pub use shutdown::ShutdownHandle;
pub use socket::SocketCall;
pub use stats::{LoopStats, Snapshot, Stats};

/// A [`Server`] of [`Echo`].
pub type EchoServer<P> = Server<P, Echo>;
