//! What a run measured: [`Report`], its [`Latency`] summary and its [`Failures`].

use std::fmt;
use std::time::Duration;

use hdrhistogram::Histogram;
use multipoll::Backend;

/// Message round-trip times: from the first byte written to the last byte read back.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Latency {
    /// Median.
    pub p50: Duration,
    /// 90th percentile.
    pub p90: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// 99.9th percentile.
    pub p999: Duration,
    /// The slowest message.
    pub max: Duration,
    /// The mean.
    pub mean: Duration,
}

impl Latency {
    /// Summarises a histogram of nanoseconds.
    pub(crate) fn from_histogram(h: &Histogram<u64>) -> Latency {
        if h.is_empty() {
            return Latency::default();
        }
        let q = |q: f64| Duration::from_nanos(h.value_at_quantile(q));
        Latency {
            p50: q(0.50),
            p90: q(0.90),
            p99: q(0.99),
            p999: q(0.999),
            max: Duration::from_nanos(h.max()),
            mean: Duration::from_nanos(h.mean() as u64),
        }
    }
}

/// What went wrong, counted; a run with any of these failed (non-zero exit).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Failures {
    /// Connections the server refused (`ECONNREFUSED`: nothing listens there).
    pub refused: u64,
    /// Connections that could not be opened for another reason (timeout, no route, …).
    pub connect_failed: u64,
    /// Connections reset by the server (`ECONNRESET`, `EPIPE`).
    pub reset: u64,
    /// Connections the server closed while replies were outstanding (a short echo).
    pub closed: u64,
    /// Echoed bytes that differ from what was sent. The run stops at the first.
    pub corrupt: u64,
    /// Replies still missing when the grace period ran out.
    pub missing: u64,
    /// Other I/O errors on established connections.
    pub other: u64,
    /// The first failure, in words (which connection, which byte, which error).
    pub first: Option<String>,
}

impl Failures {
    /// Whether nothing went wrong.
    pub fn is_empty(&self) -> bool {
        self.total() == 0
    }

    /// How many failures of any kind.
    pub fn total(&self) -> u64 {
        self.refused
            + self.connect_failed
            + self.reset
            + self.closed
            + self.corrupt
            + self.missing
            + self.other
    }

    /// Keeps `message` if it is the first failure.
    pub(crate) fn note(&mut self, message: impl FnOnce() -> String) {
        if self.first.is_none() {
            self.first = Some(message());
        }
    }

    /// Adds the counts of `other` (keeping our first message, or else theirs).
    pub(crate) fn absorb(&mut self, other: Failures) {
        self.refused += other.refused;
        self.connect_failed += other.connect_failed;
        self.reset += other.reset;
        self.closed += other.closed;
        self.corrupt += other.corrupt;
        self.missing += other.missing;
        self.other += other.other;
        if self.first.is_none() {
            self.first = other.first;
        }
    }

    /// The non-zero counts, as `name` / count pairs.
    pub fn counts(&self) -> impl Iterator<Item = (&'static str, u64)> {
        [
            ("refused", self.refused),
            ("connect_failed", self.connect_failed),
            ("reset", self.reset),
            ("closed", self.closed),
            ("corrupt", self.corrupt),
            ("missing", self.missing),
            ("other", self.other),
        ]
        .into_iter()
        .filter(|(_, n)| *n > 0)
    }
}

/// The result of one run.
#[derive(Clone, Debug)]
pub struct Report {
    /// The backend of the load generator's own event loops (not the server's, which the
    /// load generator cannot see).
    pub backend: Backend,
    /// Connections asked for.
    pub connections: usize,
    /// Connections that were established.
    pub connected: usize,
    /// Idle connections established and held for the run ([`Config::idle`](crate::Config::idle)).
    pub idle: usize,
    /// Bytes per message.
    pub size: usize,
    /// Messages in flight per connection.
    pub pipeline: usize,
    /// Messages echoed and verified in the measured window.
    pub messages: u64,
    /// The measured window: the duration asked for, or for a message count, the time
    /// until the last counted reply.
    pub elapsed: Duration,
    /// Round-trip times of the counted messages.
    pub latency: Latency,
    /// What went wrong.
    pub failures: Failures,
}

impl Report {
    /// Whether the run succeeded: every reply arrived, intact, on every connection.
    pub fn is_ok(&self) -> bool {
        self.failures.is_empty()
    }

    /// Messages echoed per second.
    pub fn messages_per_sec(&self) -> f64 {
        per_sec(self.messages as f64, self.elapsed)
    }

    /// Payload MiB echoed per second (each byte went out and came back once).
    pub fn mib_per_sec(&self) -> f64 {
        per_sec((self.messages * self.size as u64) as f64 / (1024.0 * 1024.0), self.elapsed)
    }
}

fn per_sec(amount: f64, elapsed: Duration) -> f64 {
    if elapsed.is_zero() { 0.0 } else { amount / elapsed.as_secs_f64() }
}

/// Formats a duration in µs with two decimals, the unit of every latency we print.
pub(crate) fn micros(d: Duration) -> f64 {
    d.as_nanos() as f64 / 1000.0
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "loadgen backend {}  connections {}/{}  idle {}  size {} B  pipeline {}",
            self.backend, self.connected, self.connections, self.idle, self.size, self.pipeline
        )?;
        writeln!(
            f,
            "messages {} in {:.3} s: {:.0} msg/s, {:.2} MiB/s",
            self.messages,
            self.elapsed.as_secs_f64(),
            self.messages_per_sec(),
            self.mib_per_sec()
        )?;
        let l = &self.latency;
        writeln!(
            f,
            "latency µs: p50 {:.1}  p90 {:.1}  p99 {:.1}  p99.9 {:.1}  max {:.1}  mean {:.1}",
            micros(l.p50),
            micros(l.p90),
            micros(l.p99),
            micros(l.p999),
            micros(l.max),
            micros(l.mean)
        )?;
        if self.failures.is_empty() {
            return writeln!(f, "ok: every echoed byte verified");
        }
        let counts: Vec<String> =
            self.failures.counts().map(|(name, n)| format!("{name} {n}")).collect();
        writeln!(f, "FAILED: {}", counts.join(", "))?;
        if let Some(first) = &self.failures.first {
            writeln!(f, "first failure: {first}")?;
        }
        Ok(())
    }
}
