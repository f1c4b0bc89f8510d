//! What a run does: [`Config`] and when it stops ([`Limit`]).

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use multipoll::Backend;

/// When the measured part of a run ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// Measure for this long, then stop sending and collect the replies still in flight.
    Duration(Duration),
    /// Measure until this many messages (over all connections) have been echoed.
    Messages(u64),
}

/// The parameters of one run.
///
/// ```
/// use multipoll_loadgen::{Config, Limit};
///
/// let config = Config { connections: 4, limit: Limit::Messages(1000), ..Config::default() };
/// assert!(config.validate().is_ok());
/// ```
#[derive(Clone, Debug)]
pub struct Config {
    /// The echo server.
    pub addr: SocketAddr,
    /// TCP connections to open.
    pub connections: usize,
    /// Extra connections opened after the busy ones and left idle for the whole run (no
    /// byte sent), to measure what registered-but-quiet fds cost a server. At most
    /// [`Config::MAX_IDLE`].
    pub idle: usize,
    /// Bytes per message.
    pub size: usize,
    /// When the measured part ends.
    pub limit: Limit,
    /// Messages in flight per connection: 1 is ping-pong.
    pub pipeline: usize,
    /// Time to run before measuring (messages then are checked but not counted).
    pub warmup: Duration,
    /// The readiness backend of the event loops.
    pub backend: Backend,
    /// Event-loop threads; connections are spread over them.
    pub threads: usize,
    /// How long to wait for missing replies (after the end, or with no progress at all)
    /// before giving up with an error; also the connect timeout.
    pub grace: Duration,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            addr: SocketAddr::from(([127, 0, 0, 1], 7007)),
            connections: 1,
            idle: 0,
            size: 64,
            limit: Limit::Duration(Duration::from_secs(10)),
            pipeline: 1,
            warmup: Duration::ZERO,
            backend: Backend::compiled_default(),
            threads: 1,
            grace: Duration::from_secs(5),
        }
    }
}

impl Config {
    /// The most idle connections a run opens: each is two fds on loopback (ours and the
    /// server's), and the bound keeps a typo from exhausting the machine's fds.
    pub const MAX_IDLE: usize = 100_000;

    /// Checks that the numbers make sense.
    ///
    /// # Errors
    /// `InvalidInput` naming the flag: zero connections, size, pipeline, threads, grace,
    /// duration or messages, or more than [`Config::MAX_IDLE`] idle connections.
    pub fn validate(&self) -> io::Result<()> {
        let invalid =
            |what: &str| Err(io::Error::new(io::ErrorKind::InvalidInput, what.to_owned()));
        if self.connections == 0 {
            return invalid("--connections must be at least 1");
        }
        if self.idle > Self::MAX_IDLE {
            return invalid("--idle must be at most 100000");
        }
        if self.size == 0 {
            return invalid("--size must be at least 1 byte");
        }
        if self.pipeline == 0 {
            return invalid("--pipeline must be at least 1 (1 is ping-pong)");
        }
        if self.threads == 0 {
            return invalid("--threads must be at least 1");
        }
        // A zero grace is a zero connect timeout: every connection would fail.
        if self.grace.is_zero() {
            return invalid("--grace must be more than zero");
        }
        match self.limit {
            Limit::Duration(d) if d.is_zero() => invalid("--duration must be more than zero"),
            Limit::Messages(0) => invalid("--messages must be at least 1"),
            _ => Ok(()),
        }
    }
}
