//! Churn, and the soak test it becomes when given minutes: client threads connect,
//! exchange random data and leave by every path — orderly close, half-close, reset
//! (`SO_LINGER` 0) after a complete exchange, reset while the server is still echoing,
//! close with the echo unread (the kernel turns it into a reset), and leaving before
//! sending anything. Every exchange a client completed came back byte for byte, and
//! afterwards the server (the binary, in a child process) is back where it started: its
//! fds (`/proc/PID/fd`), its connection table (`active` in its stats), and its RSS within
//! [`RSS_BOUND_KIB`] of what it was at start.
//!
//! CI runs [`DEFAULT_SECS`] per backend, split between its modes. A soak of 600 s per
//! backend, the three at once:
//! `MULTIPOLL_SOAK_SECS=600 cargo test -p multipoll-echo --test churn -- soak --test-threads 3`
//! (`-- soak::epoll` for one backend).

// Unix-only: it counts the child's fds and reads its RSS in /proc.
#![cfg(unix)]

pub mod util;

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use multipoll::{AnyPoller, Backend, Mode, Poller};
use socket2::{Domain, SockRef, Socket, Type};

use util::{ChildServer, Rng, check, first_difference, round_trip};

/// One test per backend, each running every mode the backend has.
mod soak {
    use super::*;
    crate::backend_tests!(run);
}

/// Seconds of churn per backend in CI (`$MULTIPOLL_SOAK_SECS` overrides it).
const DEFAULT_SECS: f64 = 4.0;
/// Client threads per server. Each does one connection at a time, so this is also about
/// how many connections the server has open at once.
const THREADS: usize = 4;
/// Cycles per thread at least, however slow the machine: each path twice.
const MIN_CYCLES: u64 = 2 * PATHS.len() as u64;
/// Cycles per thread per second at most: a bound on the loop, far above what it reaches.
const MAX_RATE: f64 = 20_000.0;
/// Largest exchange that must come back complete.
const EXCHANGE: usize = 64 * 1024;
/// What a vanishing client sends: a random size up to 1 MiB three times in four (it may
/// leave before the server has even read it all), else 8 MiB, more than the kernel buffers
/// on both sides hold (the server's send buffer grows to 4 MiB), so the server has output
/// queued when the client leaves.
const VANISH_SMALL: usize = 1 << 20;
const VANISH_LARGE: usize = 8 << 20;
/// How long a vanishing client's write may make no progress before it gives up.
const STALL: Duration = Duration::from_millis(10);
/// How far the server's RSS may end above where it started, in KiB. A connection owns
/// memory only while output is queued: at most twice the 256 KiB high-water mark while its
/// queue compacts, so 2 MiB with [`THREADS`] connections at once, which the allocator may
/// keep for reuse rather than return. That plus 2 MiB for the allocator's own slack gives
/// 4 MiB (measured: no growth at all). A leak of one 100-byte allocation per connection
/// passes it after some 40 000 connections: within a soak's first minute.
const RSS_BOUND_KIB: u64 = 4 * 1024;

/// How a client leaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Path {
    /// Exchanges data, checks the echo, closes.
    Orderly,
    /// Sends, shuts down its write side, reads the echo to end of file.
    HalfClose,
    /// Exchanges data, checks the echo, resets.
    Reset,
    /// With a small receive window, sends up to 1 MiB without reading until the server
    /// stops reading, reads a byte, and resets while the server has output queued.
    ResetMidEcho,
    /// The same, but closes with the echo unread (the kernel resets the connection).
    CloseUnread,
    /// Connects and closes without sending, maybe before the server accepts.
    Abandon,
}

const PATHS: [Path; 6] = [
    Path::Orderly,
    Path::HalfClose,
    Path::Reset,
    Path::ResetMidEcho,
    Path::CloseUnread,
    Path::Abandon,
];

/// What the clients did, added up over threads.
#[derive(Debug, Default)]
struct Tally {
    cycles: BTreeMap<Path, u64>,
    /// Bytes of complete exchanges, each checked byte for byte.
    checked: u64,
    /// Vanishing clients that left once the server had stopped reading from them (its
    /// output for them queued up to the high-water mark).
    stalled: u64,
}

/// What one cycle did.
struct Outcome {
    checked: usize,
    stalled: bool,
}

impl Tally {
    fn total(&self) -> u64 {
        self.cycles.values().sum()
    }
}

/// Churns in `mode` for its share of the test's duration, split between `backend`'s
/// modes.
fn run(backend: Backend, mode: Mode) -> io::Result<()> {
    let modes = AnyPoller::new(backend)?.capabilities().supported_modes().count();
    let duration = util::soak_duration(Duration::from_secs_f64(DEFAULT_SECS))? / modes as u32;
    let mut server = ChildServer::start(backend, mode, &["--stats-interval", "100ms"], None)?;
    let baseline = server.fd_count()?;
    let rss_start = server.rss_kib()?;
    let tally = Mutex::new(Tally::default());
    let junk = Rng::new(0x7a2b).bytes(VANISH_LARGE);
    let start = Instant::now();
    let end = start + duration;
    let max_cycles = (MAX_RATE * duration.as_secs_f64()) as u64 + MIN_CYCLES;
    let mut rss_peak = rss_start;
    std::thread::scope(|s| {
        let threads: Vec<_> = (0..THREADS)
            .map(|t| {
                let (addr, junk, tally) = (server.addr, &junk, &tally);
                s.spawn(move || churn(addr, t, end, max_cycles, junk, tally))
            })
            .collect();
        // Watch the server's memory meanwhile, for the report.
        while threads.iter().any(|t| !t.is_finished()) {
            rss_peak = rss_peak.max(server.rss_kib()?);
            std::thread::sleep(Duration::from_millis(50));
        }
        for thread in threads {
            thread.join().map_err(|_| io::Error::other("client panicked"))??;
        }
        Ok::<(), io::Error>(())
    })?;
    let elapsed = start.elapsed();
    let tally = tally.into_inner().unwrap_or_else(|e| e.into_inner());

    // Back to where it started.
    util::wait_until(Duration::from_secs(10), &format!("back to {baseline} fds"), || {
        Ok(server.fd_count()? == baseline)
    })?;
    let stats = server.fresh_stats()?;
    check(stats["active"] == 0 && stats["queued"] == 0, || format!("left over: {stats:?}"))?;
    check(stats["accepted"] == stats["closed"], || format!("{stats:?}"))?;
    check(stats["accepted"] == tally.total(), || format!("{tally:?}: {stats:?}"))?;
    check(stats["bytes_in"] >= tally.checked, || format!("{tally:?}: {stats:?}"))?;
    // Clients did leave while the server had output queued for them.
    check(tally.stalled > 0 && stats["peak_queued"] > 0, || {
        format!("no client left while the server had output queued: {tally:?}: {stats:?}")
    })?;
    check(tally.cycles.len() == PATHS.len(), || format!("not every path taken: {tally:?}"))?;
    let rss_end = server.rss_kib()?;
    if !server.under_asan()? {
        check(rss_end <= rss_start + RSS_BOUND_KIB, || {
            format!("RSS {rss_start} KiB at start, {rss_end} KiB after churn")
        })?;
    } else {
        eprintln!("{backend}/{mode}: the server runs under ASan: its RSS is not bounded");
    }
    check(server.running()?, || "the server died".into())?;
    round_trip(&util::connect(server.addr)?, b"still here")?;
    util::stop(&mut server)?;
    // Resets and vanishing clients are routine: nothing worth a warning.
    let noisy: Vec<String> = server
        .output()
        .into_iter()
        .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
        .collect();
    check(noisy.is_empty(), || format!("the server complained: {noisy:?}"))?;
    eprintln!(
        "{backend}/{mode}: {} cycles in {elapsed:.2?} ({:.0}/s; {:?}), {} bytes checked, {} \
         left stalled; \
         server: accepted {}, peak queue {} B, fds {baseline} -> {baseline}, active 0, RSS \
         {rss_start} KiB -> {rss_end} KiB (peak {rss_peak} KiB)",
        tally.total(),
        tally.total() as f64 / elapsed.as_secs_f64(),
        tally.cycles,
        tally.checked,
        tally.stalled,
        stats["accepted"],
        stats["peak_queued"],
    );
    Ok(())
}

/// One client thread: cycles until `end` (and at least [`MIN_CYCLES`], at most
/// `max_cycles`), taking the paths in turn, starting at `first`.
fn churn(
    addr: SocketAddr,
    first: usize,
    end: Instant,
    max_cycles: u64,
    junk: &[u8],
    tally: &Mutex<Tally>,
) -> io::Result<()> {
    let mut rng = Rng::new(0xc4u64 << 32 | first as u64);
    let mut mine = Tally::default();
    let mut vanished = 0;
    for n in 0..max_cycles {
        if n >= MIN_CYCLES && Instant::now() >= end {
            break;
        }
        let path = PATHS[(first + n as usize) % PATHS.len()];
        // Every fourth vanishing client sends more than the kernel buffers hold (the first
        // one of each thread included, so every run has some).
        let vanish = if matches!(path, Path::ResetMidEcho | Path::CloseUnread) {
            vanished += 1;
            let len = if vanished % 4 == 1 { VANISH_LARGE } else { rng.log_size(VANISH_SMALL) };
            &junk[..len]
        } else {
            &[]
        };
        let outcome = cycle(addr, path, &mut rng, vanish)
            .map_err(|e| io::Error::new(e.kind(), format!("{path:?}: {e}")))?;
        *mine.cycles.entry(path).or_default() += 1;
        mine.checked += outcome.checked as u64;
        mine.stalled += u64::from(outcome.stalled);
    }
    let mut tally = tally.lock().unwrap_or_else(|e| e.into_inner());
    for (path, n) in mine.cycles {
        *tally.cycles.entry(path).or_default() += n;
    }
    tally.checked += mine.checked;
    tally.stalled += mine.stalled;
    Ok(())
}

/// One connection, from connect to leaving by `path`; returns the bytes checked.
/// A vanishing client sends `vanish`.
fn cycle(addr: SocketAddr, path: Path, rng: &mut Rng, vanish: &[u8]) -> io::Result<Outcome> {
    let stream = match path {
        Path::ResetMidEcho | Path::CloseUnread => connect_small_window(addr)?,
        _ => util::connect(addr)?,
    };
    let mut stalled = false;
    let checked = match path {
        Path::Orderly => {
            let mut checked = 0;
            for _ in 0..rng.range(1, 3) {
                checked += exchange(&stream, rng)?;
            }
            checked
        }
        Path::HalfClose => {
            let len = rng.log_size(EXCHANGE);
            let data = rng.bytes(len);
            (&stream).write_all(&data)?;
            stream.shutdown(Shutdown::Write)?;
            let mut got = Vec::with_capacity(data.len());
            (&stream).read_to_end(&mut got)?;
            check(got == data, || {
                format!(
                    "{} bytes sent, {} back, first difference at {:?}",
                    data.len(),
                    got.len(),
                    first_difference(&got, &data)
                )
            })?;
            data.len()
        }
        Path::Reset => {
            let checked = exchange(&stream, rng)?;
            SockRef::from(&stream).set_linger(Some(Duration::ZERO))?;
            checked
        }
        Path::ResetMidEcho => {
            stalled = send_until_stalled(&stream, vanish)?;
            // Some echo has come: the server is writing to us, and if we stalled, it has
            // output queued for us.
            (&stream).read_exact(&mut [0])?;
            SockRef::from(&stream).set_linger(Some(Duration::ZERO))?;
            0
        }
        Path::CloseUnread => {
            stalled = send_until_stalled(&stream, vanish)?;
            0
        }
        Path::Abandon => 0,
    };
    Ok(Outcome { checked, stalled })
}

/// Sends random data (one message, up to [`EXCHANGE`] bytes) and checks its echo.
fn exchange(mut stream: &TcpStream, rng: &mut Rng) -> io::Result<usize> {
    let len = rng.log_size(EXCHANGE);
    let data = rng.bytes(len);
    // Small enough for the socket buffers and the server's queue: writing all before
    // reading cannot deadlock.
    stream.write_all(&data)?;
    let mut got = vec![0; data.len()];
    stream.read_exact(&mut got)?;
    check(got == data, || {
        format!(
            "{} bytes sent, first difference at {:?}",
            data.len(),
            first_difference(&got, &data)
        )
    })?;
    Ok(data.len())
}

/// Connects with a small receive buffer, so that the server's echo stalls soon and it
/// queues output for us: leaving then is leaving while the server is writing.
fn connect_small_window(addr: SocketAddr) -> io::Result<TcpStream> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_recv_buffer_size(4096)?;
    socket.connect(&addr.into())?;
    let stream = TcpStream::from(socket);
    stream.set_read_timeout(Some(util::IO_TIMEOUT))?;
    Ok(stream)
}

/// Writes `data` until it is all sent or the kernel has taken nothing for [`STALL`]
/// (the server stopped reading from us); returns whether it stalled.
fn send_until_stalled(mut stream: &TcpStream, data: &[u8]) -> io::Result<bool> {
    stream.set_write_timeout(Some(STALL))?;
    let mut sent = 0;
    while sent < data.len() {
        match stream.write(&data[sent..]) {
            Ok(n) => sent += n,
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                return Ok(true);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(false)
}
