//! The command line: flags and their help; counts, sizes and durations are read by
//! `multipoll_echo::values`, as the echo server reads them. Values
//! with a sign reach the parsers (`allow_hyphen_values`), so `-d -1` is refused as a
//! negative duration rather than taken for an unknown flag.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use multipoll::Backend;
use multipoll_echo::values::{count, duration, positive_duration, size};
use multipoll_loadgen::{Config, Limit};

/// Echo load generator over multipoll. Every echoed byte is checked.
///
/// Durations: `500ms`, `1.5s`, `2m`, `1h 30m`, or a bare number of seconds. Sizes:
/// `64`, `4K`, `1MiB` (K, M, G: powers of 1024). A live progress line goes to stderr when
/// it is a terminal (not with --json).
#[derive(Debug, Parser)]
#[command(name = "multipoll-loadgen", version)]
pub(crate) struct Args {
    /// The echo server.
    #[arg(long, default_value = "127.0.0.1:7007")]
    addr: SocketAddr,
    /// TCP connections.
    #[arg(long, short = 'c', default_value_t = 1, value_name = "N",
          allow_hyphen_values = true, value_parser = count::<usize>)]
    connections: usize,
    /// Extra connections held idle for the run (no traffic), 0 to 100000.
    #[arg(long, default_value_t = 0, value_name = "N", allow_hyphen_values = true,
          value_parser = idle)]
    idle: usize,
    /// Bytes per message.
    #[arg(long, short = 's', default_value = "64", value_name = "SIZE",
          allow_hyphen_values = true, value_parser = size)]
    size: usize,
    /// How long to measure [default: 10s unless --messages is given].
    #[arg(long, short = 'd', conflicts_with = "messages", value_name = "DURATION",
          allow_hyphen_values = true, value_parser = positive_duration)]
    duration: Option<Duration>,
    /// Messages to echo in total over all connections, instead of --duration.
    #[arg(long, short = 'm', value_name = "N", allow_hyphen_values = true,
          value_parser = count::<u64>)]
    messages: Option<u64>,
    /// Messages in flight per connection (1 = ping-pong).
    #[arg(long, short = 'p', default_value_t = 1, value_name = "N",
          allow_hyphen_values = true, value_parser = count::<usize>)]
    pipeline: usize,
    /// Load before measuring (0: measure from the start).
    #[arg(long, default_value = "1s", value_name = "DURATION", allow_hyphen_values = true,
          value_parser = duration)]
    warmup: Duration,
    /// Readiness backend of the load generator's own event loops: select, poll, epoll,
    /// kqueue, uring, iocp [default: $MULTIPOLL_BACKEND, else the platform's best]. The server's
    /// backend is the server's choice.
    #[arg(long, short = 'b', value_name = "BACKEND")]
    backend: Option<Backend>,
    /// Event-loop threads; connections are spread over them.
    #[arg(long, short = 't', default_value_t = 1, value_name = "N",
          allow_hyphen_values = true, value_parser = count::<usize>)]
    threads: usize,
    /// How long to wait for missing replies (and the connect timeout).
    #[arg(long, default_value = "5s", value_name = "DURATION", allow_hyphen_values = true,
          value_parser = positive_duration)]
    grace: Duration,
    /// Print the report as one line of JSON (and no progress line).
    #[arg(long)]
    pub(crate) json: bool,
}

impl Args {
    /// The run the flags describe.
    ///
    /// # Errors
    /// A `MULTIPOLL_BACKEND` that names no backend available here (the message names
    /// the variable).
    pub(crate) fn config(&self) -> Result<Config, String> {
        let limit = match (self.messages, self.duration) {
            (Some(m), _) => Limit::Messages(m),
            (None, d) => Limit::Duration(d.unwrap_or(Duration::from_secs(10))),
        };
        let backend = match self.backend {
            Some(b) => b,
            None => Backend::from_env().map_err(|e| format!("MULTIPOLL_BACKEND: {e}"))?,
        };
        Ok(Config {
            addr: self.addr,
            connections: self.connections,
            idle: self.idle,
            size: self.size,
            limit,
            pipeline: self.pipeline,
            warmup: self.warmup,
            backend,
            threads: self.threads,
            grace: self.grace,
        })
    }
}

/// `--idle`: 0 to [`Config::MAX_IDLE`].
fn idle(s: &str) -> Result<usize, String> {
    s.parse()
        .ok()
        .filter(|&n| n <= Config::MAX_IDLE)
        .ok_or_else(|| format!("`{s}` is not a whole number from 0 to {}", Config::MAX_IDLE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_counts() {
        assert_eq!(idle("0"), Ok(0));
        assert_eq!(idle("100000"), Ok(100_000));
        assert!(idle("100001").is_err());
        assert!(idle("-1").is_err());
    }

    #[test]
    fn flags_are_consistent() {
        use clap::CommandFactory;
        Args::command().debug_assert();
    }
}
