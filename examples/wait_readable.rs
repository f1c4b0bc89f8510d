//! Step 2 of the tutorial: "is data available?" and "wait for data, at most this long".
//!
//! In Python these are `select.select([sock], [], [], 0)` and
//! `select.select([sock], [], [], timeout)`. Here they are two methods of [`ReadWatch`], a
//! poller with one socket registered, over any backend:
//!
//! - [`ReadWatch::is_readable`] waits with `Duration::ZERO`: a zero timeout never blocks,
//!   so it is a question, not a wait.
//! - [`ReadWatch::wait_readable`] waits up to a timeout. `Poller::wait` may return early
//!   with nothing to report (after a `notify`, or a rare spurious wake-up), so a helper
//!   that promises "at most this long, and not less" loops until its deadline instead of
//!   trusting one call.
//!
//! Watch for:
//! - "Readable" means "a read will not block", which includes end of file: when the peer
//!   closes, the socket is readable and the read returns `Ok(0)`.
//! - Level-triggered readiness ([`Mode::Level`]) lasts until you read: asking twice
//!   without reading gives the same answer twice.
//! - The watch borrows the socket, so the socket cannot be closed while it is registered
//!   (the [`Poller`] contract says: delete before close). Dropping the watch drops the
//!   poller, and the registration with it.
//!
//! Run: `cargo run --example wait_readable -- --backend select`

mod common;

use std::io::{self, Read, Write};
use std::marker::PhantomData;
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use multipoll::{AnyPoller, AsSource, Backend, Events, Interest, Mode, Poller, Source};

/// The one key a watch registers its socket under.
const KEY: usize = 0;
/// How long the "nothing comes" wait lasts.
const QUIET: Duration = Duration::from_millis(100);
/// When the peer sends, after the start of the wait that expects it.
const SEND_AFTER: Duration = Duration::from_millis(50);
/// A bound on the waits that expect something, so that a bug fails instead of hanging.
const PATIENCE: Duration = Duration::from_secs(5);

/// Answers whether one socket is readable, now or within a timeout.
#[derive(Debug)]
pub struct ReadWatch<'s> {
    poller: AnyPoller,
    events: Events,
    /// The socket must outlive its registration.
    socket: PhantomData<Source<'s>>,
}

impl<'s> ReadWatch<'s> {
    /// Watches `socket` for readability, over `backend`.
    ///
    /// # Errors
    /// Those of creating the poller and registering `socket`.
    pub fn new(backend: Backend, socket: Source<'s>) -> io::Result<ReadWatch<'s>> {
        let poller = AnyPoller::new(backend)?;
        poller.add(socket, KEY, Interest::READABLE, Mode::Level)?;
        // One event is all a single registration can produce per wait.
        Ok(ReadWatch { poller, events: Events::with_capacity(1), socket: PhantomData })
    }

    /// Whether a read would not block right now ("is data available?"); never blocks.
    ///
    /// # Errors
    /// Those of `Poller::wait`.
    pub fn is_readable(&mut self) -> io::Result<bool> {
        self.wait_readable(Duration::ZERO)
    }

    /// Waits until a read would not block, or `timeout` has passed; returns which.
    ///
    /// # Errors
    /// Those of `Poller::wait`.
    pub fn wait_readable(&mut self, timeout: Duration) -> io::Result<bool> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            self.poller.wait(&mut self.events, Some(left))?;
            // A pending error also means a read will not block: it returns the error.
            if self.events.iter().any(|e| e.key() == KEY && (e.is_readable() || e.is_error())) {
                return Ok(true);
            }
            if left.is_zero() {
                return Ok(false);
            }
        }
    }
}

/// What the example saw.
#[derive(Debug)]
pub struct Report {
    /// `is_readable()` before anything was sent.
    pub readable_at_start: bool,
    /// `wait_readable(QUIET)` with nothing sent: its answer and how long it took.
    pub quiet_wait: (bool, Duration),
    /// `wait_readable(PATIENCE)` while the peer sends after `SEND_AFTER`: answer, time.
    pub data_wait: (bool, Duration),
    /// `is_readable()` after the data arrived, before reading it.
    pub readable_before_read: bool,
    /// `is_readable()` after reading what was sent.
    pub readable_after_read: bool,
    /// `wait_readable(PATIENCE)` after the peer closed, and what the read then returned.
    pub closed_wait: (bool, usize),
}

fn main() -> ExitCode {
    common::run_main("usage: wait_readable [--backend NAME]", &[], &[], |args| {
        run(args.backend).map(drop)
    })
}

/// Asks the two questions over `backend` in each situation, printing the answers.
///
/// # Errors
/// Socket, poller and thread errors.
pub fn run(backend: Backend) -> io::Result<Report> {
    let (mut peer, socket) = common::tcp_pair()?;
    // Not needed by the watch (it asks the kernel, it never reads), but it makes a read
    // after a wrong "yes" fail with WouldBlock instead of hanging the example.
    socket.set_nonblocking(true)?;
    let mut watch = ReadWatch::new(backend, socket.as_source())?;
    println!("backend {backend}: watching one end of a loopback TCP pair");

    let readable_at_start = watch.is_readable()?;
    println!(
        "is data available? (nothing sent)                 {}",
        common::yes_no(readable_at_start)
    );

    let quiet_wait = timed(|| watch.wait_readable(QUIET))?;
    println!(
        "wait for data, at most {QUIET:?} (nothing sent): {} after {:?}",
        common::yes_no(quiet_wait.0),
        quiet_wait.1
    );

    let sender = thread::spawn(move || -> io::Result<_> {
        thread::sleep(SEND_AFTER);
        peer.write_all(b"hello")?;
        Ok(peer)
    });
    let data_wait = timed(|| watch.wait_readable(PATIENCE))?;
    let peer = sender.join().map_err(|_| io::Error::other("the sending thread panicked"))??;
    println!(
        "wait for data, at most {PATIENCE:?} (sent after {SEND_AFTER:?}): {} after {:?}",
        common::yes_no(data_wait.0),
        data_wait.1
    );

    let readable_before_read = watch.is_readable()?;
    println!(
        "is data available? (not read yet)                 {}",
        common::yes_no(readable_before_read)
    );
    let mut buf = [0; 64];
    // `&TcpStream` reads too: the watch holds a shared borrow of the socket, so the socket
    // is read through a shared reference, not a `&mut`.
    let n = (&socket).read(&mut buf)?;
    let readable_after_read = watch.is_readable()?;
    println!(
        "read {:?}; is data available now?            {}",
        String::from_utf8_lossy(&buf[..n]),
        common::yes_no(readable_after_read)
    );

    drop(peer);
    let closed = watch.wait_readable(PATIENCE)?;
    let eof_read = (&socket).read(&mut buf)?;
    println!(
        "the peer closed: readable? {}; the read returns Ok({eof_read}), end of file",
        common::yes_no(closed)
    );

    Ok(Report {
        readable_at_start,
        quiet_wait,
        data_wait,
        readable_before_read,
        readable_after_read,
        closed_wait: (closed, eof_read),
    })
}

/// Runs `f`, returning its answer and how long it took.
fn timed(f: impl FnOnce() -> io::Result<bool>) -> io::Result<(bool, Duration)> {
    let start = Instant::now();
    let answer = f()?;
    Ok((answer, start.elapsed()))
}
