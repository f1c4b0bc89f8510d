//! An echo load generator built on multipoll, that checks every byte it gets back.
//!
//! [`run`] opens [`Config::connections`] TCP connections to an echo server, spreads them
//! over [`Config::threads`] event loops (each a multipoll poller of [`Config::backend`],
//! level-triggered, non-blocking sockets), and keeps [`Config::pipeline`] messages of
//! [`Config::size`] bytes in flight on each. Each connection sends its own deterministic
//! byte stream ([`pattern`]), so every echoed byte is verified without keeping a copy:
//! a flipped, missing or extra byte fails the run. It returns a [`Report`]: messages/s,
//! MiB/s, round-trip latency percentiles from an HDR histogram, and [`Failures`] counted by
//! cause (refused, reset, closed early, corrupt, missing).
//!
//! Every run is bounded: a timed run ends [`Config::grace`] after its window at the latest,
//! and any run gives up after `grace` without a single event; replies then missing are
//! failures, never a hang.
//!
//! The `multipoll-loadgen` binary is a command line over [`run`]; the workspace benches call
//! [`run`] in-process. With the `peers` feature, the `peers` module holds the reference
//! servers and client it is compared with.
//!
//! ```
//! use std::io::{Read, Write};
//! use std::net::TcpListener;
//! use multipoll_loadgen::{Config, Limit};
//!
//! // A one-connection echo server.
//! let listener = TcpListener::bind("127.0.0.1:0")?;
//! let addr = listener.local_addr()?;
//! std::thread::spawn(move || -> std::io::Result<()> {
//!     let (mut s, _) = listener.accept()?;
//!     let mut buf = [0u8; 4096];
//!     loop {
//!         let n = s.read(&mut buf)?;
//!         if n == 0 { return Ok(()); }
//!         s.write_all(&buf[..n])?;
//!     }
//! });
//!
//! let report = multipoll_loadgen::run(&Config {
//!     addr,
//!     limit: Limit::Messages(100),
//!     ..Config::default()
//! })?;
//! assert!(report.is_ok(), "{report}");
//! assert_eq!(report.messages, 100);
//! # Ok::<(), std::io::Error>(())
//! ```
#![deny(missing_docs, missing_debug_implementations)]
#![doc(test(attr(deny(warnings))))]

mod config;
mod conn;
mod connect;
mod json;
pub mod pattern;
#[cfg(feature = "peers")]
pub mod peers;
mod report;
mod worker;

use std::io;
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub use config::{Config, Limit};
pub use report::{Failures, Latency, Report};

use conn::Conn;
use worker::{Outcome, Plan, Shared};

/// A look at a run in progress, for a progress line.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    /// Time since the connections were established.
    pub elapsed: Duration,
    /// Whether the warm-up is over.
    pub measuring: bool,
    /// Messages counted so far.
    pub messages: u64,
    /// Connections failed so far: not established, or failed since (reset, closed early,
    /// corrupt echo, I/O error).
    pub failed: u64,
}

/// Runs the load described by `config` and reports what it measured.
///
/// Failures of the connections (refused, reset, corrupt echo, missing replies) do not make
/// this an `Err`: they are counted in [`Report::failures`], and [`Report::is_ok`] is false.
///
/// # Errors
/// An invalid `config` (`InvalidInput`), or a poller that cannot be created or fails.
pub fn run(config: &Config) -> io::Result<Report> {
    run_with_progress(config, Duration::MAX, |_| {})
}

/// [`run`], calling `observe` about every `interval` while the run goes on.
///
/// # Errors
/// As [`run`].
pub fn run_with_progress(
    config: &Config,
    interval: Duration,
    mut observe: impl FnMut(Progress),
) -> io::Result<Report> {
    config.validate()?;
    let mut failures = Failures::default();
    let streams = connect::connect_all(config, &mut failures);
    let connected = streams.len();
    // Held, silent, until the run is over; dropped (closed) when this function returns.
    let idle = connect::connect_idle(config);
    let quotas = quotas(config, connected);
    let threads = config.threads.min(connected.max(1));
    let mut groups: Vec<Vec<(Conn, Option<u64>)>> = (0..threads).map(|_| Vec::new()).collect();
    for (i, ((index, stream), quota)) in streams.into_iter().zip(quotas).enumerate() {
        let conn = Conn::new(index, stream, config.size, config.pipeline);
        groups[i % threads].push((conn, quota));
    }

    let start = Instant::now();
    let measure_start = start + config.warmup;
    let measure_end = match config.limit {
        Limit::Duration(d) => Some(measure_start + d),
        Limit::Messages(_) => None,
    };
    let plan = Plan { backend: config.backend, measure_start, measure_end, grace: config.grace };
    let shared = Shared::default();
    let outcomes = if connected == 0 {
        Vec::new()
    } else {
        let not_connected = failures.total();
        run_loops(groups, &plan, &shared, start, interval, &mut |mut p: Progress| {
            p.failed += not_connected;
            observe(p)
        })?
    };

    let mut histogram = worker::new_histogram();
    let mut messages = 0;
    let mut last_counted = None;
    for outcome in outcomes {
        histogram.add(&outcome.histogram).expect("histograms share bounds");
        messages += outcome.counted;
        last_counted = last_counted.max(outcome.last_counted);
        failures.absorb(outcome.failures);
    }
    let window_end = match measure_end {
        Some(end) => end.min(Instant::now()),
        None => last_counted.unwrap_or(measure_start),
    };
    Ok(Report {
        backend: config.backend,
        connections: config.connections,
        connected,
        idle: idle.len(),
        size: config.size,
        pipeline: config.pipeline,
        messages,
        elapsed: window_end.saturating_duration_since(measure_start),
        latency: Latency::from_histogram(&histogram),
        failures,
    })
}

/// Each connection's share of a message count (`None` for a timed run).
fn quotas(config: &Config, connected: usize) -> Vec<Option<u64>> {
    let Limit::Messages(total) = config.limit else {
        return vec![None; connected];
    };
    let n = connected.max(1) as u64;
    (0..n).map(|i| Some(total / n + u64::from(i < total % n))).collect()
}

/// Runs one event loop per group on its own thread; the calling thread reports progress
/// until they are all done.
fn run_loops(
    groups: Vec<Vec<(Conn, Option<u64>)>>,
    plan: &Plan,
    shared: &Shared,
    start: Instant,
    interval: Duration,
    observe: &mut impl FnMut(Progress),
) -> io::Result<Vec<Outcome>> {
    std::thread::scope(|scope| {
        // Each loop holds a sender; the channel disconnects when the last one ends (or
        // panics), which is how the progress loop below knows to stop.
        let (done_tx, done_rx) = mpsc::channel::<()>();
        let handles: Vec<_> = groups
            .into_iter()
            .map(|group| {
                let done = done_tx.clone();
                scope.spawn(move || {
                    let _done = done;
                    worker::run(group, plan, shared)
                })
            })
            .collect();
        drop(done_tx);
        let tick = interval.min(Duration::from_secs(3600));
        while let Err(mpsc::RecvTimeoutError::Timeout) = done_rx.recv_timeout(tick) {
            let now = Instant::now();
            observe(Progress {
                elapsed: now - start,
                measuring: now >= plan.measure_start,
                messages: shared.counted.load(std::sync::atomic::Ordering::Relaxed),
                failed: shared.failed.load(std::sync::atomic::Ordering::Relaxed),
            });
        }
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    })
}
