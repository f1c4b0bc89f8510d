//! The command line: flags, their help, and the value parsers for counts, sizes
//! (parse-size) and durations (humantime). Every value must be positive: a zero limit,
//! interval or timeout has no useful meaning here, and a negative one reaches the parser
//! (`allow_hyphen_values`) so the message says so rather than "unexpected argument".

use std::net::SocketAddr;
use std::str::FromStr;
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
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = count::<usize>)]
    pub(crate) max_conns: Option<usize>,

    /// Most output queued per connection (bytes; K, M, G suffixes, powers of 1024). A
    /// client that does not read is not read from until its queue drains to half of this.
    #[arg(long, default_value = "256K", value_name = "SIZE", allow_hyphen_values = true,
          value_parser = size)]
    pub(crate) high_water: usize,

    /// Close connections with no traffic for this long (e.g. 30s, 500ms, 2m; a bare
    /// number is seconds) [default: never].
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true, value_parser = duration)]
    pub(crate) idle_timeout: Option<Duration>,

    /// On shutdown, how long to keep flushing before closing anyway.
    #[arg(long, default_value = "5s", value_name = "DURATION", allow_hyphen_values = true,
          value_parser = duration)]
    pub(crate) drain_timeout: Duration,

    /// Event loops to run, one per thread, each with its own poller and SO_REUSEPORT
    /// listener on the same address.
    #[arg(long, default_value_t = 1, value_name = "N", allow_hyphen_values = true,
          value_parser = count::<u16>)]
    pub(crate) threads: u16,

    /// Print stats every DURATION (they are always printed on exit).
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true, value_parser = duration)]
    pub(crate) stats_interval: Option<Duration>,

    /// How long to stop accepting after running out of fds or memory.
    #[arg(long, default_value = "100ms", value_name = "DURATION", allow_hyphen_values = true,
          value_parser = duration)]
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

/// A count of at least 1 (`--max-conns`, `--threads`), within `T`.
fn count<T: FromStr + PartialOrd + From<u8>>(s: &str) -> Result<T, String> {
    match s.parse::<T>() {
        Ok(n) if n >= T::from(1) => Ok(n),
        Err(_) if s.parse::<u128>().is_ok() => Err(format!("`{s}` is too large")),
        _ => Err("must be a whole number, at least 1".into()),
    }
}

/// A size in bytes, at least 1: `262144`, `256K`, `256KiB`, `1.5M`, `1G` (parse-size's
/// forms; K, M and G are powers of 1024 with or without the `i`).
fn size(s: &str) -> Result<usize, String> {
    let bytes = parse_size::Config::new().with_binary().parse_size(s).ok();
    match bytes.and_then(|b| usize::try_from(b).ok()) {
        Some(0) => Err("the size must be at least 1 byte".into()),
        Some(n) => Ok(n),
        None if s.starts_with('-') => Err("the size must be positive".into()),
        None => Err(format!("`{s}` is not a size (e.g. 4096, 4K, 256KiB, 1M)")),
    }
}

/// A duration above zero: humantime's forms (`500ms`, `1.5s`, `2m`, `1h 30m`), or a bare
/// number of seconds. Zero is refused: every interval here is something the loop waits
/// for, and waiting zero turns a timer into a busy loop or closes at once.
fn duration(s: &str) -> Result<Duration, String> {
    let parsed = match s.parse::<f64>() {
        Ok(seconds) => Duration::try_from_secs_f64(seconds).ok(),
        Err(_) => humantime::parse_duration(s).ok(),
    };
    match parsed {
        Some(d) if !d.is_zero() => Ok(d),
        Some(_) => Err("the duration must be more than zero".into()),
        None if s.starts_with('-') => Err("the duration must be positive".into()),
        None => Err(format!("`{s}` is not a duration (e.g. 500ms, 30s, 2m, 1h 30m)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(size("262144"), Ok(262144));
        assert_eq!(size("256K"), Ok(256 << 10));
        assert_eq!(size("256KiB"), Ok(256 << 10));
        assert_eq!(size("1MiB"), Ok(1 << 20));
        assert!(size("0").is_err());
        assert!(size("-4K").is_err());
        assert!(size("12X").is_err());
        assert!(size("K").is_err());
    }

    #[test]
    fn counts() {
        assert_eq!(count::<usize>("3"), Ok(3));
        assert!(count::<usize>("0").is_err());
        assert!(count::<usize>("-1").is_err());
        assert!(count::<u16>("70000").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(duration("1h 30m"), Ok(Duration::from_secs(5400)));
        assert!(duration("0s").is_err());
        assert!(duration("0").is_err());
        assert!(duration("-1s").is_err());
        assert!(duration("-1").is_err());
        assert!(duration("soon").is_err());
    }

    #[test]
    fn flags_are_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
