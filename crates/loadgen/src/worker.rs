//! One event loop: a multipoll poller over a share of the connections.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use multipoll::{AnyPoller, Backend, Events, Interest, Mode, Poller};

use crate::Failures;
use crate::conn::{Conn, ConnError, Tally};

/// The timeline every event loop of a run follows.
#[derive(Debug)]
pub(crate) struct Plan {
    pub backend: Backend,
    /// The end of the warm-up: replies from here on are counted.
    pub measure_start: Instant,
    /// The end of a timed run's window (`None` for a message count).
    pub measure_end: Option<Instant>,
    /// Time allowed for missing replies, and for a silence before giving up.
    pub grace: Duration,
}

/// What the event loops share while running.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    /// Set by the first loop that finds corrupt data: everyone stops.
    pub abort: AtomicBool,
    /// Messages counted so far, for the progress line.
    pub counted: AtomicU64,
    /// Connections failed so far (of any cause), for the progress line.
    pub failed: AtomicU64,
}

/// What one event loop measured.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub histogram: Histogram<u64>,
    pub counted: u64,
    pub last_counted: Option<Instant>,
    pub failures: Failures,
}

/// Bytes read or generated per syscall.
const BUF_SIZE: usize = 64 * 1024;
/// The longest a loop sleeps before it looks at the clock and the abort flag again.
const TICK: Duration = Duration::from_millis(100);

/// Round-trip histogram bounds: 1 ns to 1 hour, 3 significant digits.
pub(crate) fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000_000, 3).expect("constant bounds are valid")
}

/// One loop: `conns` with a per-connection message quota (`None` for a timed run).
pub(crate) fn run(
    mut conns: Vec<(Conn, Option<u64>)>,
    plan: &Plan,
    shared: &Shared,
) -> io::Result<Outcome> {
    let poller = AnyPoller::new(plan.backend)?;
    for (key, (conn, _)) in conns.iter().enumerate() {
        poller.add(conn.fd(), key, Interest::READABLE, Mode::Level)?;
    }
    let mut tally = Tally {
        histogram: new_histogram(),
        counted: 0,
        last_counted: None,
        count_deadline: plan.measure_end,
    };
    let mut failures = Failures::default();
    let mut events = Events::with_capacity(conns.len().clamp(1, 1024));
    let mut buf = vec![0u8; BUF_SIZE];
    let mut measuring = false;
    let mut stopping = false;
    let mut last_progress = Instant::now();
    let mut now = last_progress;
    let mut refill = true;
    loop {
        if !measuring && now >= plan.measure_start {
            measuring = true;
            refill = true;
            for (conn, quota) in &mut conns {
                conn.begin_measuring(*quota);
            }
        }
        if plan.measure_end.is_some_and(|end| now >= end) && !stopping {
            stopping = true;
            for (conn, _) in &mut conns {
                conn.stop_starting();
            }
        }
        if refill {
            refill = false;
            for (key, (conn, _)) in conns.iter_mut().enumerate() {
                if !conn.dead {
                    let result = conn.fill(now, &mut buf);
                    settle(&poller, key, conn, result, &mut failures, shared)?;
                }
            }
        }
        if shared.abort.load(Ordering::Relaxed) || conns.iter().all(|(c, _)| c.done()) {
            break;
        }
        let silence_end = last_progress + plan.grace;
        let hard_end = plan.measure_end.map(|end| end + plan.grace);
        if now >= silence_end || hard_end.is_some_and(|end| now >= end) {
            note_missing(&conns, plan, now >= silence_end, &mut failures);
            break;
        }
        let mut wake = (now + TICK).min(silence_end);
        for t in [Some(plan.measure_start).filter(|_| !measuring), plan.measure_end, hard_end] {
            wake = t.filter(|&t| t > now).map_or(wake, |t| wake.min(t));
        }
        poller.wait(&mut events, Some(wake - now))?;
        let before = tally.counted;
        for event in &events {
            let (conn, _) = &mut conns[event.key()];
            if conn.dead {
                continue;
            }
            let now = Instant::now();
            let result = if event.is_readable() || event.is_hangup() || event.is_error() {
                conn.on_readable(now, &mut buf, &mut tally)
            } else {
                conn.fill(now, &mut buf)
            };
            last_progress = now;
            settle(&poller, event.key(), conn, result, &mut failures, shared)?;
        }
        if tally.counted > before {
            shared.counted.fetch_add(tally.counted - before, Ordering::Relaxed);
        }
        now = Instant::now();
    }
    Ok(Outcome {
        histogram: tally.histogram,
        counted: tally.counted,
        last_counted: tally.last_counted,
        failures,
    })
}

/// Applies the result of handling a connection: on failure count it and take the
/// connection out of the poller; otherwise watch writability exactly while a write is
/// pending, so a ping-pong connection costs no `modify` per message.
fn settle(
    poller: &AnyPoller,
    key: usize,
    conn: &mut Conn,
    result: Result<(), ConnError>,
    failures: &mut Failures,
    shared: &Shared,
) -> io::Result<()> {
    match result {
        Ok(()) => {
            if conn.wants_write != conn.watching_write {
                let interest = if conn.wants_write { Interest::BOTH } else { Interest::READABLE };
                poller.modify(conn.fd(), key, interest, Mode::Level)?;
                conn.watching_write = conn.wants_write;
            }
        }
        Err(error) => {
            record(conn.index, error, failures, shared);
            conn.dead = true;
            poller.delete(conn.fd())?;
        }
    }
    Ok(())
}

/// Counts a connection's failure by cause.
fn record(index: usize, error: ConnError, failures: &mut Failures, shared: &Shared) {
    shared.failed.fetch_add(1, Ordering::Relaxed);
    match error {
        ConnError::Corrupt(m) => {
            failures.corrupt += 1;
            shared.abort.store(true, Ordering::Relaxed);
            failures.note(|| {
                format!(
                    "connection {index}: echoed byte {} is {:#04x}, sent {:#04x}",
                    m.offset, m.got, m.expected
                )
            });
        }
        ConnError::Excess { offset } => {
            failures.corrupt += 1;
            shared.abort.store(true, Ordering::Relaxed);
            failures.note(|| {
                format!("connection {index}: server echoed more than the {offset} bytes sent")
            });
        }
        ConnError::Closed { outstanding } => {
            failures.closed += 1;
            failures.note(|| {
                format!("connection {index}: server closed it with {outstanding} replies missing")
            });
        }
        ConnError::Io(e) => {
            match e.kind() {
                io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe => failures.reset += 1,
                _ => failures.other += 1,
            }
            failures.note(|| format!("connection {index}: {e}"));
        }
    }
}

/// Counts replies that never came, when the grace period ran out.
fn note_missing(conns: &[(Conn, Option<u64>)], plan: &Plan, silent: bool, failures: &mut Failures) {
    let missing: u64 = conns.iter().filter(|(c, _)| !c.dead).map(|(c, _)| c.outstanding()).sum();
    let unsent: u64 =
        conns.iter().filter(|(c, _)| !c.dead).map(|(c, _)| u64::from(!c.done())).sum();
    failures.missing += missing.max(unsent.min(1));
    let why = if silent { "nothing arrived for" } else { "the run ended more than" };
    failures.note(|| {
        format!(
            "timeout: {missing} replies missing on {unsent} connections; {why} {:.1} s",
            plan.grace.as_secs_f64()
        )
    });
}
