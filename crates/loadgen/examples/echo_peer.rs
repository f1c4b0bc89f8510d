//! A reference echo server from `multipoll_loadgen::peers`, as a process (for
//! `scripts/compare-echo.sh`, `strace`, `taskset`):
//!
//! ```text
//! cargo run --release -p multipoll-loadgen --features peers --example echo_peer -- \
//!     --peer tokio --addr 127.0.0.1:7008
//! ```
//!
//! It serves until killed.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use clap::{Parser, ValueEnum};
use multipoll_loadgen::peers;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Peer {
    /// tokio `current_thread`, a task per connection.
    Tokio,
    /// A plain mio loop.
    Mio,
    /// Level-triggered epoll over raw libc calls (Linux).
    RawEpoll,
}

/// A reference echo server on one thread.
#[derive(Debug, Parser)]
struct Args {
    #[arg(long, value_enum, default_value = "tokio")]
    peer: Peer,
    #[arg(long, default_value = "127.0.0.1:7008")]
    addr: SocketAddr,
}

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let listener = TcpListener::bind(args.addr)?;
    let never = Arc::new(AtomicBool::new(false));
    match args.peer {
        Peer::Tokio => peers::tokio_echo::serve(listener, never),
        Peer::Mio => peers::mio_echo::serve(listener, never),
        #[cfg(any(target_os = "linux", target_os = "android"))]
        Peer::RawEpoll => peers::raw_epoll::serve(listener, never),
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        Peer::RawEpoll => Err(std::io::Error::other("raw-epoll needs Linux")),
    }
}
