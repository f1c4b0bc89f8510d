//! [`Server`]: binds the listeners, builds one event loop per thread, and runs them until
//! its [`ShutdownHandle`] stops them.
//!
//! Many cores: each loop has its own poller and its own listening socket, all bound to
//! the same address with `SO_REUSEPORT`, so the kernel spreads new connections over the
//! loops and they share nothing on the hot path. Where `SO_REUSEPORT` does not exist
//! (Solaris, illumos, Windows) the loops share one listener (`dup`ed; on Windows
//! `WSADuplicateSocket`, std's `try_clone`): each accepts until `WouldBlock`, and a loop
//! that loses the race just sees `WouldBlock`.

use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::sync::Arc;
use std::thread;

use multipoll::{Capabilities, Poller};
use socket2::{Domain, Socket, Type};

use crate::event_loop::EventLoop;
use crate::shutdown::ShutdownHandle;
use crate::stats::Stats;
use crate::{Config, Protocol};

/// A server: one or more event loops serving one [`Protocol`] on one address, generic
/// over the poller `P` (use [`multipoll::AnyPoller`] to pick the backend at runtime).
///
/// ```
/// use std::io::{Read, Write};
/// use std::net::TcpStream;
/// use multipoll::DefaultPoller;
/// use multipoll_echo::{Config, Echo, Server};
///
/// let server = Server::<DefaultPoller, _>::bind("127.0.0.1:0", Config::default(), Echo)?;
/// let addr = server.local_addr();
/// let stop = server.shutdown_handle();
/// let stats = server.stats();
/// let loops = std::thread::spawn(move || server.run());
///
/// let mut client = TcpStream::connect(addr)?;
/// client.write_all(b"hello")?;
/// let mut reply = [0; 5];
/// client.read_exact(&mut reply)?;
/// assert_eq!(&reply, b"hello");
///
/// stop.shutdown()?;
/// loops.join().expect("no loop panicked")?;
/// assert_eq!(stats.total().bytes_out, 5);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Server<P, H: Protocol> {
    loops: Vec<EventLoop<P, H>>,
    local_addr: SocketAddr,
    capabilities: Capabilities,
    stats: Arc<Stats>,
    shutdown: ShutdownHandle,
}

impl<P, H: Protocol> fmt::Debug for Server<P, H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.local_addr)
            .field("backend", &self.capabilities.name())
            .field("loops", &self.loops.len())
            .finish_non_exhaustive()
    }
}

impl<P: Poller + 'static, H: Protocol> Server<P, H> {
    /// Binds `addr` and creates [`Config::threads`] loops, each with a `P::new()` poller.
    ///
    /// # Errors
    /// `InvalidInput` or `Unsupported`: what was asked for cannot run: the configuration,
    /// as [`Config::validate`] says, checked before anything is bound (and after one
    /// poller is made, to learn what its backend can do), or an address that resolves to
    /// nothing. Any other kind: resolving or binding the address (the message names the
    /// address and the step, e.g. `cannot listen on 127.0.0.1:7007: bind: ...`), creating
    /// a poller.
    pub fn bind(addr: impl ToSocketAddrs, config: Config, protocol: H) -> io::Result<Self> {
        Server::with_pollers(addr, config, protocol, P::new)
    }

    /// Like [`Server::bind`], with pollers made by `new_poller` (for example
    /// `|| AnyPoller::new(backend)`).
    ///
    /// # Errors
    /// As [`Server::bind`].
    pub fn with_pollers(
        addr: impl ToSocketAddrs,
        config: Config,
        protocol: H,
        mut new_poller: impl FnMut() -> io::Result<P>,
    ) -> io::Result<Self> {
        let first = Arc::new(new_poller()?);
        let capabilities = first.capabilities();
        config.validate(&capabilities)?;
        let addr = addr.to_socket_addrs()?.next().ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "the address resolved to nothing")
        })?;
        let mut pollers = vec![first];
        for _ in 1..config.threads {
            pollers.push(Arc::new(new_poller()?));
        }
        let listeners = bind_listeners(addr, config.threads, config.backlog)?;
        let local_addr = listeners[0].local_addr()?;
        let stats = Arc::new(Stats::new(config.threads));
        let shutdown =
            ShutdownHandle::new(pollers.iter().map(|p| Arc::clone(p) as Arc<dyn Poller>).collect());
        let loops = pollers
            .into_iter()
            .zip(listeners)
            .enumerate()
            .map(|(index, (poller, listener))| {
                let stats = Arc::clone(&stats);
                EventLoop::new(index, poller, listener, &config, protocol.clone(), stats, &shutdown)
            })
            .collect::<io::Result<Vec<_>>>()?;
        Ok(Server { loops, local_addr, capabilities, stats, shutdown })
    }

    /// The address the loops listen on (with the port the kernel chose for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The backend's capabilities.
    pub fn capabilities(&self) -> Capabilities {
        self.capabilities
    }

    /// The counters of every loop, as each last published them (before each wait).
    pub fn stats(&self) -> Arc<Stats> {
        Arc::clone(&self.stats)
    }

    /// A handle that stops the server from any thread.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.shutdown.clone()
    }

    /// Runs the loops (the first on this thread, the others on threads of their own)
    /// until shutdown, and returns when every loop has drained and closed everything.
    ///
    /// # Errors
    /// The first loop error (a loop that fails shuts the others down): a wait error that
    /// retrying cannot fix, such as `EBADF` or `EINVAL` (one for want of memory is retried
    /// after a short back-off); or `Other` if a loop panicked.
    pub fn run(self) -> io::Result<()> {
        let mut loops = self.loops.into_iter();
        let first = loops.next().expect("a server has at least one loop");
        let spawned = loops
            .map(|l| {
                let stop = self.shutdown.clone();
                thread::Builder::new()
                    .name(format!("echo-loop-{}", l.index()))
                    .spawn(move || stop.on_error(l.run()))
            })
            .collect::<io::Result<Vec<_>>>();
        let spawned = match spawned {
            Ok(spawned) => spawned,
            Err(e) => {
                // Stop the loops that did start; this one never runs.
                let _ = self.shutdown.shutdown();
                return Err(e);
            }
        };
        let mut result = self.shutdown.on_error(first.run());
        for handle in spawned {
            let joined = handle.join().unwrap_or_else(|_| Err(io::Error::other("a loop panicked")));
            result = result.and(joined);
        }
        result
    }
}

/// `n` listeners on `addr`: see the [module docs](self).
fn bind_listeners(addr: SocketAddr, n: usize, backlog: i32) -> io::Result<Vec<TcpListener>> {
    let share_port = n > 1 && cfg!(not(any(windows, target_os = "solaris", target_os = "illumos")));
    let first = bind_one(addr, share_port, backlog)?;
    // With port 0 the kernel picked a port: the others join that one.
    let addr = first.local_addr()?;
    let mut listeners = vec![first];
    for _ in 1..n {
        let next =
            if share_port { bind_one(addr, true, backlog)? } else { listeners[0].try_clone()? };
        listeners.push(next);
    }
    Ok(listeners)
}

/// One listener on `addr`. Its errors name the address and the step that failed
/// ("cannot listen on 127.0.0.1:7007: bind: Address already in use"), keeping the kind: a
/// bare "Address already in use" does not say which address, nor that it was the server's.
fn bind_one(addr: SocketAddr, reuse_port: bool, backlog: i32) -> io::Result<TcpListener> {
    let step = |name: &'static str| {
        move |e: io::Error| {
            io::Error::new(e.kind(), format!("cannot listen on {addr}: {name}: {e}"))
        }
    };
    let socket =
        Socket::new(Domain::for_address(addr), Type::STREAM, None).map_err(step("socket"))?;
    // Restarting must not fail on connections of the last run still in TIME_WAIT. Not on
    // Windows, where that is the default and SO_REUSEADDR means something else: binding a
    // port another socket listens on (std leaves it off there too).
    #[cfg(unix)]
    socket.set_reuse_address(true).map_err(step("SO_REUSEADDR"))?;
    #[cfg(not(any(windows, target_os = "solaris", target_os = "illumos")))]
    if reuse_port {
        socket.set_reuse_port(true).map_err(step("SO_REUSEPORT"))?;
    }
    #[cfg(any(windows, target_os = "solaris", target_os = "illumos"))]
    let _ = reuse_port;
    socket.bind(&addr.into()).map_err(step("bind"))?;
    socket.listen(backlog).map_err(step("listen"))?;
    socket.set_nonblocking(true).map_err(step("O_NONBLOCK"))?;
    Ok(socket.into())
}
