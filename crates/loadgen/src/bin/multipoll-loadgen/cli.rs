//! The command line: flags, their help, and the value parsers for counts, sizes
//! (parse-size) and durations (humantime), the forms `multipoll-echo` reads too. Values
//! with a sign reach the parsers (`allow_hyphen_values`), so `-d -1` is refused as a
//! negative duration rather than taken for an unknown flag.

use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use clap::Parser;
use multipoll::Backend;
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
    /// kqueue, uring [default: $MULTIPOLL_BACKEND, else the platform's best]. The server's
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

/// A count of at least 1, within `T`.
fn count<T: FromStr + PartialOrd + From<u8>>(s: &str) -> Result<T, String> {
    let n = s.parse::<T>().map_err(|_| format!("`{s}` is not a whole number of at least 1"))?;
    if n < T::from(1) { Err("must be at least 1".into()) } else { Ok(n) }
}

/// `--idle`: 0 to [`Config::MAX_IDLE`].
fn idle(s: &str) -> Result<usize, String> {
    s.parse()
        .ok()
        .filter(|&n| n <= Config::MAX_IDLE)
        .ok_or_else(|| format!("`{s}` is not a whole number from 0 to {}", Config::MAX_IDLE))
}

/// Bytes, at least 1, in parse-size's forms with K, M, G as powers of 1024.
fn size(s: &str) -> Result<usize, String> {
    let parsed = parse_size::Config::new().with_binary().parse_size(s);
    let bytes = parsed.ok().and_then(|b| usize::try_from(b).ok());
    let bytes = bytes.ok_or_else(|| format!("`{s}` is not a size (e.g. 64, 4K, 1MiB)"))?;
    if bytes == 0 { Err("must be at least 1 byte".into()) } else { Ok(bytes) }
}

/// A duration of zero or more: humantime's forms, or a bare number of seconds (the
/// flags' only form at first, which scripts still use).
fn duration(s: &str) -> Result<Duration, String> {
    if s.starts_with('-') {
        return Err("the duration must be positive".into());
    }
    let seconds = s.parse::<f64>().ok().and_then(|n| Duration::try_from_secs_f64(n).ok());
    let parsed = seconds.or_else(|| humantime::parse_duration(s).ok());
    parsed.ok_or_else(|| format!("`{s}` is not a duration (e.g. 500ms, 10s, 2m, or 10)"))
}

/// A duration above zero: a zero run or grace period cannot measure anything.
fn positive_duration(s: &str) -> Result<Duration, String> {
    let d = duration(s)?;
    if d.is_zero() { Err("the duration must be more than zero".into()) } else { Ok(d) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration("10"), Ok(Duration::from_secs(10)));
        assert_eq!(duration("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(duration("1m 30s"), Ok(Duration::from_secs(90)));
        assert_eq!(duration("0"), Ok(Duration::ZERO));
        assert!(positive_duration("0s").is_err());
        assert!(duration("-1").is_err());
        assert!(duration("inf").is_err());
        assert!(duration("soon").is_err());
    }

    #[test]
    fn sizes_and_counts() {
        assert_eq!(size("4K"), Ok(4096));
        assert_eq!(size("64"), Ok(64));
        assert!(size("0").is_err());
        assert!(size("-4K").is_err());
        assert_eq!(count::<u64>("5"), Ok(5));
        assert!(count::<u64>("0").is_err());
        assert!(count::<usize>("-1").is_err());
        assert_eq!(idle("0"), Ok(0));
        assert!(idle("100001").is_err());
    }

    #[test]
    fn flags_are_consistent() {
        use clap::CommandFactory;
        Args::command().debug_assert();
    }
}
