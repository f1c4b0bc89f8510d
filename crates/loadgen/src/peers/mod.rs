//! Reference peers that multipoll is measured against (feature `peers`).
//!
//! Echo servers, each a single thread serving every connection, as a user of that library
//! would write it:
//!
//! - [`tokio_echo`]: tokio's `current_thread` runtime, one task per connection;
//! - [`mio_echo`]: a plain mio event loop (edge-triggered, as mio always is);
//! - [`raw_epoll`] (Linux): level-triggered `epoll(7)` over raw `libc` calls, no
//!   abstraction at all: the floor that any echo loop on epoll can only approach.
//!
//! and [`tokio_client`], a load generator written the obvious way with tokio, to check
//! that `multipoll-loadgen` drives a server at least as hard.
//!
//! Every server is started with `spawn(listener)` on a listener of the caller's choice
//! (`127.0.0.1:0` in benches) and runs on its own thread until its [`EchoServer`] handle
//! is dropped.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

pub mod mio_echo;
#[cfg(any(target_os = "linux", target_os = "android"))]
pub mod raw_epoll;
pub mod tokio_client;
pub mod tokio_echo;

/// Bytes an echo server reads per call.
pub const ECHO_BUF: usize = 64 * 1024;

/// A running echo server; dropping it stops the server and joins its thread.
///
/// Stopping needs no wake-up fd in each server: the handle sets a flag and connects once
/// to the listener, and a server checks the flag whenever it accepts.
#[derive(Debug)]
pub struct EchoServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl EchoServer {
    /// Runs `serve(listener, stop)` on a thread named `name`.
    ///
    /// # Errors
    /// The listener's address cannot be read, or the thread cannot be spawned.
    pub fn spawn(
        name: &str,
        listener: TcpListener,
        serve: impl FnOnce(TcpListener, Arc<AtomicBool>) -> io::Result<()> + Send + 'static,
    ) -> io::Result<EchoServer> {
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || serve(listener, flag))?;
        Ok(EchoServer { addr, stop, thread: Some(thread) })
    }

    /// Where the server listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops the server and returns how its loop ended.
    ///
    /// # Errors
    /// The error the server's loop failed with, if it did.
    pub fn stop(mut self) -> io::Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> io::Result<()> {
        let Some(thread) = self.thread.take() else {
            return Ok(());
        };
        self.stop.store(true, Ordering::Release);
        // Wakes the accept; a server that already failed has closed its listener.
        let _ = TcpStream::connect(self.addr);
        thread.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        if let Err(e) = self.shutdown() {
            eprintln!("echo server on {} failed: {e}", self.addr);
        }
    }
}

/// Whether an accept should end the server instead of serving the connection.
pub(crate) fn stopping(stop: &AtomicBool) -> bool {
    stop.load(Ordering::Acquire)
}
