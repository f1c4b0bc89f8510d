//! An echo server running in this process, on a thread, for tests that read its stats or
//! arm faults on its loop's thread.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use multipoll::{AnyPoller, Backend, Mode};
use multipoll_echo::{Config, Echo, Protocol, Server, ShutdownHandle, Snapshot, Stats};

use super::ThreadCpu;

/// The loop of a [`TestServer`], handed to the `around` closure of
/// [`TestServer::start_with`] to run on the server's thread.
pub type Run = Box<dyn FnOnce() -> io::Result<()>>;

/// A server on its own thread; shut down and joined on drop.
#[derive(Debug)]
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its counters, live.
    pub stats: Arc<Stats>,
    stop: ShutdownHandle,
    thread: Option<JoinHandle<io::Result<()>>>,
    /// The CPU-time clock of the server's thread.
    cpu: ThreadCpu,
}

impl TestServer {
    /// Starts an echo server on 127.0.0.1:0 with `backend`, `mode` and the rest of `config`.
    #[track_caller]
    pub fn start(backend: Backend, mode: Mode, config: Config) -> io::Result<TestServer> {
        TestServer::start_with(backend, mode, config, Echo, |run| run())
    }

    /// Like [`TestServer::start`], serving `protocol`, with `around` running the server on
    /// its thread by calling `run`. Faults are armed per thread, and `Server::run` runs
    /// its first loop on the calling thread: so `around` can arm faults for that loop
    /// before `run()` and read what is left after. (Other loops, with `config.threads`
    /// above 1, run on threads of their own.)
    #[track_caller]
    pub fn start_with<H: Protocol>(
        backend: Backend,
        mode: Mode,
        config: Config,
        protocol: H,
        around: impl FnOnce(Run) -> io::Result<()> + Send + 'static,
    ) -> io::Result<TestServer> {
        let config = Config { mode, ..config };
        let server =
            Server::with_pollers("127.0.0.1:0", config, protocol, || AnyPoller::new(backend))?;
        let addr = server.local_addr();
        let stats = server.stats();
        let stop = server.shutdown_handle();
        let (tell_cpu, cpu) = mpsc::channel();
        let thread = std::thread::Builder::new().name(format!("server-{backend}-{mode}")).spawn(
            move || {
                let _ = tell_cpu.send(ThreadCpu::current());
                around(Box::new(move || server.run()))
            },
        )?;
        let cpu = cpu.recv_timeout(Duration::from_secs(10)).map_err(io::Error::other)??;
        Ok(TestServer { addr, stats, stop, thread: Some(thread), cpu })
    }

    /// Its counters, all loops added up.
    pub fn total(&self) -> Snapshot {
        self.stats.total()
    }

    /// The CPU time (user + system) the server's (first loop's) thread has used.
    pub fn cpu_time(&self) -> io::Result<Duration> {
        self.cpu.used()
    }

    /// How many fds the server has open: its listener and its connections.
    #[cfg(unix)]
    pub fn fd_count(&self) -> io::Result<usize> {
        super::socket_fds_on_port(self.addr.port())
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
