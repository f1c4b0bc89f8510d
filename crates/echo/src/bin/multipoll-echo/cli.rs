//! The command line: flags and their help; counts, sizes and durations are read by
//! [`multipoll_echo::values`], as the load generator reads them. Every value must be positive: a zero limit,
//! interval or timeout has no useful meaning here, and a negative one reaches the parser
//! (`allow_hyphen_values`) so the message says so rather than "unexpected argument".

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use multipoll::{Backend, Mode};
use multipoll_echo::Config;
use multipoll_echo::values::{count, positive_duration, size};

/// A TCP echo server over multipoll's interchangeable readiness backends.
///
/// Every byte a client sends comes back. Talk to it with `nc 127.0.0.1 7007`. SIGINT or
/// SIGTERM (on Windows Ctrl-C or Ctrl-Break) stops it gracefully: it stops accepting,
/// answers what it already received, flushes (up to --drain-timeout), prints final stats
/// and exits 0; a second signal exits at once. Log verbosity: RUST_LOG=debug|info|warn
/// (default info).
#[derive(Debug, Parser)]
#[command(name = "multipoll-echo", version)]
pub(crate) struct Cli {
    /// Address to listen on; port 0 picks a free port (the address is printed).
    #[arg(long, default_value = "127.0.0.1:7007")]
    pub(crate) addr: SocketAddr,

    /// Readiness backend: select, poll, epoll, kqueue, uring or iocp, among those built in
    /// and supported here [default: $MULTIPOLL_BACKEND, else the best one built in].
    #[arg(long, value_name = "BACKEND")]
    pub(crate) backend: Option<Backend>,

    /// How fds are registered: level, edge, oneshot or edge-oneshot (the edge modes need
    /// epoll, kqueue or uring).
    #[arg(long, default_value = "level", value_name = "MODE")]
    pub(crate) mode: Mode,

    /// Serve at most N connections at once; past it new connections are accepted and
    /// closed at once (the client reads end of file) [default: no limit but the fd limit].
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = count::<usize>)]
    pub(crate) max_conns: Option<usize>,

    /// Most output queued per connection (bytes; K, M, G suffixes, powers of 1024). A
    /// client that does not read is not read from until its queue drains to half of this.
    #[arg(long, default_value = "256K", value_name = "SIZE", allow_hyphen_values = true,
          value_parser = size)]
    pub(crate) high_water: usize,

    /// Close connections with no traffic for this long (e.g. 30s, 500ms, 2m; a bare
    /// number is seconds) [default: never].
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true, value_parser = positive_duration)]
    pub(crate) idle_timeout: Option<Duration>,

    /// On shutdown, how long to keep flushing before closing anyway.
    #[arg(long, default_value = "5s", value_name = "DURATION", allow_hyphen_values = true,
          value_parser = positive_duration)]
    pub(crate) drain_timeout: Duration,

    /// Event loops to run, one per thread, each with its own poller and SO_REUSEPORT
    /// listener on the same address (on Windows, which has no SO_REUSEPORT, each with its
    /// own handle of one listener).
    #[arg(long, default_value_t = 1, value_name = "N", allow_hyphen_values = true,
          value_parser = count::<u16>)]
    pub(crate) threads: u16,

    /// Print stats every DURATION (they are always printed on exit).
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true, value_parser = positive_duration)]
    pub(crate) stats_interval: Option<Duration>,

    /// How long to stop accepting after running out of fds or memory.
    #[arg(long, default_value = "100ms", value_name = "DURATION", allow_hyphen_values = true,
          value_parser = positive_duration)]
    pub(crate) accept_backoff: Duration,
}

impl Cli {
    /// The server configuration the flags describe.
    pub(crate) fn config(&self) -> Config {
        Config {
            mode: self.mode,
            threads: usize::from(self.threads),
            max_conns: self.max_conns,
            high_water: self.high_water,
            idle_timeout: self.idle_timeout,
            drain_timeout: self.drain_timeout,
            accept_backoff: self.accept_backoff,
            ..Config::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
