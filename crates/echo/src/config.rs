//! [`Config`]: every knob of the server in one plain struct, so the binary's flags, the
//! tests and library users all describe a server the same way.

use std::io;
use std::time::Duration;

use multipoll::{Capabilities, Mode};

/// How a [`Server`](crate::Server) behaves. Build it with struct-update syntax over
/// [`Config::default`].
///
/// ```
/// use std::time::Duration;
/// use multipoll_echo::Config;
///
/// let config = Config { idle_timeout: Some(Duration::from_secs(30)), ..Config::default() };
/// assert_eq!(config.high_water, 256 * 1024);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// How the loops register fds with the poller; must be one the backend supports
    /// ([`Capabilities::supports`]).
    pub mode: Mode,
    /// How many event loops (threads) to run, each with its own poller and listener.
    pub threads: usize,
    /// The most connections served at once, over all loops. Past it, a new connection is
    /// accepted and closed at once (the client sees end of file rather than hanging in
    /// the backlog). `None`: only the fd limit applies; `Some(0)` is refused.
    pub max_conns: Option<usize>,
    /// The most output a connection may have queued: past it the loop stops reading from
    /// that connection until the queue drains to half of it.
    pub high_water: usize,
    /// Close connections with no traffic for this long. `None`: never; zero is refused.
    pub idle_timeout: Option<Duration>,
    /// On shutdown, how long to keep flushing queued output before closing anyway.
    pub drain_timeout: Duration,
    /// How long to stop accepting after the process or system runs out of fds or memory;
    /// above zero.
    pub accept_backoff: Duration,
    /// The size of the one read buffer each loop shares between its connections.
    pub read_buffer: usize,
    /// The listen(2) backlog.
    pub backlog: i32,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            mode: Mode::Level,
            threads: 1,
            max_conns: None,
            high_water: 256 * 1024,
            idle_timeout: None,
            drain_timeout: Duration::from_secs(5),
            accept_backoff: Duration::from_millis(100),
            read_buffer: 64 * 1024,
            backlog: 1024,
        }
    }
}

impl Config {
    /// Checks that the values make sense together and that a backend with `caps` can run
    /// them.
    ///
    /// # Errors
    /// `Unsupported` when the backend cannot do [`Config::mode`] (the message lists the
    /// modes it can), `InvalidInput` for a zero `threads`, `high_water`, `read_buffer`,
    /// `max_conns`, `idle_timeout` or `accept_backoff`: a server that refuses every
    /// client, closes every connection at once, or retries a failing `accept` in a busy
    /// loop.
    pub fn validate(&self, caps: &Capabilities) -> io::Result<()> {
        caps.check_mode(self.mode)?;
        let zero = [
            ("threads", self.threads == 0),
            ("high_water", self.high_water == 0),
            ("read_buffer", self.read_buffer == 0),
            ("max_conns", self.max_conns == Some(0)),
            ("idle_timeout", self.idle_timeout == Some(Duration::ZERO)),
            ("accept_backoff", self.accept_backoff.is_zero()),
        ];
        for (name, is_zero) in zero {
            if is_zero {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{name} must be more than zero"),
                ));
            }
        }
        Ok(())
    }
}
