//! An echo server running in this process, on a thread, for tests that read its stats.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

use multipoll::{AnyPoller, Backend, Mode};
use multipoll_echo::{Config, Echo, EchoServer, ShutdownHandle, Snapshot, Stats};

/// A server on its own thread; shut down and joined on drop.
#[derive(Debug)]
pub struct TestServer {
    pub addr: SocketAddr,
    pub stats: Arc<Stats>,
    stop: ShutdownHandle,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl TestServer {
    /// Starts an echo server on 127.0.0.1:0 with `backend`, `mode` and the rest of `config`.
    #[track_caller]
    pub fn start(backend: Backend, mode: Mode, config: Config) -> io::Result<TestServer> {
        let config = Config { mode, ..config };
        let server =
            EchoServer::with_pollers("127.0.0.1:0", config, Echo, || AnyPoller::new(backend))?;
        let addr = server.local_addr();
        let stats = server.stats();
        let stop = server.shutdown_handle();
        let thread = std::thread::Builder::new()
            .name(format!("server-{backend}-{mode}"))
            .spawn(move || server.run())?;
        Ok(TestServer { addr, stats, stop, thread: Some(thread) })
    }

    pub fn total(&self) -> Snapshot {
        self.stats.total()
    }

    /// Shuts the server down and waits for its loops to return.
    pub fn stop(mut self) -> io::Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> io::Result<()> {
        let Some(thread) = self.thread.take() else { return Ok(()) };
        self.stop.shutdown()?;
        thread.join().map_err(|_| io::Error::other("server thread panicked"))?
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}
