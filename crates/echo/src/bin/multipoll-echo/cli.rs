//! The command line: flags, their help, and the two value parsers clap lacks (sizes with
//! a unit, durations with a unit).

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use multipoll::{Backend, Mode};
use multipoll_echo::Config;

/// A TCP echo server over multipoll's interchangeable readiness backends.
///
/// Every byte a client sends comes back. Talk to it with `nc 127.0.0.1 7007`. SIGINT or
/// SIGTERM stops it gracefully: it stops accepting, answers what it already received,
/// flushes (up to --drain-timeout), prints final stats and exits 0; a second signal exits
/// at once. Log verbosity: RUST_LOG=debug|info|warn (default info).
#[derive(Debug, Parser)]
#[command(name = "multipoll-echo", version)]
pub(crate) struct Cli {
    /// Address to listen on; port 0 picks a free port (the address is printed).
    #[arg(long, default_value = "127.0.0.1:7007")]
    pub(crate) addr: SocketAddr,

    /// Readiness backend: select, poll, epoll, kqueue or uring, among those built in and
    /// supported here [default: $MULTIPOLL_BACKEND, else the best one built in].
    #[arg(long, value_name = "BACKEND")]
    pub(crate) backend: Option<Backend>,

    /// How fds are registered: level, edge, oneshot or edge-oneshot (the edge modes need
    /// epoll, kqueue or uring).
    #[arg(long, default_value = "level", value_name = "MODE")]
    pub(crate) mode: Mode,

    /// Serve at most N connections at once; past it new connections are accepted and
    /// closed at once (the client reads end of file) [default: no limit but the fd limit].
    #[arg(long, value_name = "N")]
    pub(crate) max_conns: Option<usize>,

    /// Most output queued per connection (bytes; K, M, G suffixes). A client that does
    /// not read is not read from until its queue drains to half of this.
    #[arg(long, default_value = "256K", value_name = "SIZE", value_parser = parse_size)]
    pub(crate) high_water: usize,

    /// Close connections with no traffic for this long (e.g. 30s, 500ms, 2m) [default: never].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub(crate) idle_timeout: Option<Duration>,

    /// On shutdown, how long to keep flushing before closing anyway.
    #[arg(long, default_value = "5s", value_name = "DURATION", value_parser = parse_duration)]
    pub(crate) drain_timeout: Duration,

    /// Event loops to run, one per thread, each with its own poller and SO_REUSEPORT
    /// listener on the same address.
    #[arg(long, default_value_t = 1, value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..))]
    pub(crate) threads: u16,

    /// Print stats every DURATION (they are always printed on exit).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub(crate) stats_interval: Option<Duration>,

    /// How long to stop accepting after running out of fds or memory.
    #[arg(long, default_value = "100ms", value_name = "DURATION", value_parser = parse_duration)]
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

/// `262144`, `256K`, `256KiB`, `1M`, `1G` (powers of 1024).
fn parse_size(s: &str) -> Result<usize, String> {
    let digits = s.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &s[digits.len()..];
    let scale: usize = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(format!("unknown size unit `{unit}` (use K, M or G)")),
    };
    let n: usize = digits.parse().map_err(|_| format!("`{s}` is not a size (e.g. 256K)"))?;
    let size = n.checked_mul(scale).ok_or_else(|| format!("`{s}` is too large"))?;
    if size == 0 {
        return Err("the size must be at least 1 byte".into());
    }
    Ok(size)
}

/// `500ms`, `5s`, `1.5s`, `2m`, `1h`; a bare number is seconds.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let number = s.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &s[number.len()..];
    let scale = match unit {
        "ms" => 0.001,
        "" | "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => return Err(format!("unknown duration unit `{unit}` (use ms, s, m or h)")),
    };
    let n: f64 = number.parse().map_err(|_| format!("`{s}` is not a duration (e.g. 30s)"))?;
    Duration::try_from_secs_f64(n * scale).map_err(|e| format!("`{s}`: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("262144"), Ok(262144));
        assert_eq!(parse_size("256K"), Ok(256 << 10));
        assert_eq!(parse_size("1MiB"), Ok(1 << 20));
        assert!(parse_size("0").is_err());
        assert!(parse_size("12X").is_err());
        assert!(parse_size("K").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("5 days").is_err());
    }

    #[test]
    fn flags_are_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
