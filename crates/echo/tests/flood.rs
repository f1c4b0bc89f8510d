//! Connect floods: 1 000 connection attempts in 3 s, ten times `--max-conns`, or four
//! times the server's fd limit. The server (the binary, in a child process) stays up, its 50
//! existing clients keep getting their round trips answered during the flood, it uses
//! less than [`MAX_CPU`] of a core over the flood (`/proc/PID/stat`), and afterwards it
//! accepts and serves new clients.
//!
//! `fd_exhaustion.rs` checks the back-off on `EMFILE` with a hundred clients that stay;
//! this is the flood: attempts that keep coming, held open by the client, while others
//! are being served.

// Unix-only: it counts the child's fds and CPU time in /proc and limits its fds
// (RLIMIT_NOFILE).
#![cfg(unix)]

pub mod util;

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use multipoll::{Backend, Mode};
use socket2::{Domain, Socket, Type};

use util::{ChildServer, check, round_trip};

/// Clients connected and served before the flood; each round-trips every 200 ms
/// throughout.
const EXISTING: usize = 50;
/// Connection attempts in the flood, spread evenly over [`FLOOD_TIME`] and held open.
const FLOOD: usize = 1000;
const FLOOD_TIME: Duration = Duration::from_secs(3);
/// The most CPU the server may use over the flood, as a share of one core. Backing off is
/// one failing `accept` per back-off period: next to nothing. Refusing a connection is a
/// wake-up, one `accept` and one `close`: measured at 30 µs (epoll) to 110 µs (select, whose
/// every wake-up scans every fd) in this debug build on a busy machine, so 1 to 4 % of a
/// core at 333 attempts a second. A server that spun would use 100 %.
const MAX_CPU: f64 = 0.10;
/// Clients that connect after the flood, to show the server recovered.
const AFTER: usize = 20;

/// Past `--max-conns 100`: the server accepts and closes what it cannot serve.
mod past_max_conns {
    use super::*;

    crate::backend_tests_in!(Level, run);

    const MAX: usize = 100;

    fn run(backend: Backend, mode: Mode) -> io::Result<()> {
        let max = MAX.to_string();
        let report = flood(backend, mode, &["--max-conns", &max], None)?;
        let stats = &report.stats;
        // Every attempt that reached the server was served or refused; the served ones
        // were at most `MAX` at a time.
        check(stats["refused"] >= (FLOOD - MAX) as u64, || format!("{stats:?}"))?;
        check(stats["accept_errors"] == 0, || format!("{stats:?}"))?;
        report.print(backend, mode);
        Ok(())
    }
}

/// Past `RLIMIT_NOFILE` 256, with no `--max-conns`: the server runs out of fds, backs off
/// from `accept` instead of spinning, and the kernel queues or drops the rest.
mod past_fd_limit {
    use super::*;

    crate::backend_tests_in!(Level, run);

    const NOFILE: u64 = 256;

    fn run(backend: Backend, mode: Mode) -> io::Result<()> {
        let report = flood(backend, mode, &[], Some(NOFILE))?;
        let stats = &report.stats;
        check(stats["accept_errors"] > 0 && stats["refused"] == 0, || format!("{stats:?}"))?;
        check(report.peak_fds as u64 <= NOFILE, || format!("{} fds", report.peak_fds))?;
        report.print(backend, mode);
        Ok(())
    }
}

/// What a flood did to the server.
struct Report {
    /// The server's stats once the flood was over and it had recovered.
    stats: std::collections::HashMap<String, u64>,
    cpu: Duration,
    elapsed: Duration,
    round_trips: usize,
    slowest: Duration,
    baseline_fds: usize,
    peak_fds: usize,
}

impl Report {
    fn print(&self, backend: Backend, mode: Mode) {
        eprintln!(
            "{backend}/{mode}: {FLOOD} attempts in {:.2?}: server CPU {:.2?} ({:.1}% of a \
             core), {} round trips by {EXISTING} clients meanwhile (slowest {:.2?}), fds {} -> \
             {} peak -> {}, then {AFTER} new clients served; stats {:?}",
            self.elapsed,
            self.cpu,
            100.0 * self.cpu.as_secs_f64() / self.elapsed.as_secs_f64(),
            self.round_trips,
            self.slowest,
            self.baseline_fds,
            self.peak_fds,
            self.baseline_fds,
            self.stats,
        );
    }
}

/// Runs a flood against the server started with `args` (and `RLIMIT_NOFILE` `nofile`),
/// checks the promises in the module docs, and reports.
fn flood(backend: Backend, mode: Mode, args: &[&str], nofile: Option<u64>) -> io::Result<Report> {
    let all_args = [&["--stats-interval", "100ms"], args].concat();
    let mut server = ChildServer::start(backend, mode, &all_args, nofile)?;
    let existing =
        (0..EXISTING).map(|_| util::connect(server.addr)).collect::<io::Result<Vec<_>>>()?;
    for client in &existing {
        round_trip(client, b"before")?;
    }
    let baseline_fds = server.fd_count()?;

    let cpu_before = server.cpu_time()?;
    let start = Instant::now();
    let mut round_trips = 0;
    let mut slowest = Duration::ZERO;
    let mut peak_fds = baseline_fds;
    let flooders = std::thread::scope(|s| {
        let flooder = s.spawn(|| attempts(server.addr));
        // The existing clients talk while the flood lasts (bounded by its duration, and by
        // count in case the flood thread hangs).
        let mut rounds = 0;
        while !flooder.is_finished() && rounds < 10_000 {
            for client in &existing {
                slowest = slowest.max(round_trip(client, b"during the flood")?);
            }
            round_trips += existing.len();
            peak_fds = peak_fds.max(server.fd_count()?);
            rounds += 1;
            // Pacing the clients: serving their round trips costs the server CPU too (on
            // poll and select, a scan of every fd per wait), which is not the flood's.
            std::thread::sleep(Duration::from_millis(200));
        }
        flooder.join().map_err(|_| io::Error::other("the flood thread panicked"))?
    })?;
    let elapsed = start.elapsed();
    let cpu = server.cpu_time()? - cpu_before;
    check(server.running()?, || "the server died".into())?;
    check(round_trips > 0, || "no round trip during the flood".into())?;
    let share = cpu.as_secs_f64() / elapsed.as_secs_f64();
    if !server.under_asan()? {
        check(share < MAX_CPU, || format!("used {cpu:?} of CPU in {elapsed:?} of flood"))?;
    } else {
        eprintln!("{backend}/{mode}: the server runs under ASan: its CPU time is not bounded");
    }

    // The flood leaves; the server gets back to its existing clients' fds, and serves new
    // ones.
    drop(flooders);
    util::wait_until(Duration::from_secs(10), &format!("back to {baseline_fds} fds"), || {
        Ok(server.fd_count()? == baseline_fds)
    })?;
    for _ in 0..AFTER {
        round_trip(&util::connect(server.addr)?, b"after the flood")?;
    }
    for client in &existing {
        round_trip(client, b"still here")?;
    }
    let stats = server.fresh_stats()?;
    drop(existing);
    util::stop(&mut server)?;
    Ok(Report { stats, cpu, elapsed, round_trips, slowest, baseline_fds, peak_fds })
}

/// [`FLOOD`] non-blocking connects, evenly spread over [`FLOOD_TIME`], never waited for;
/// returns the sockets, still open.
fn attempts(addr: SocketAddr) -> io::Result<Vec<TcpStream>> {
    let start = Instant::now();
    let mut sockets = Vec::with_capacity(FLOOD);
    for i in 0..FLOOD {
        let at = start + FLOOD_TIME * i as u32 / FLOOD as u32;
        // Pacing the flood, so its length (and the CPU share over it) means something.
        std::thread::sleep(at.saturating_duration_since(Instant::now()));
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
        socket.set_nonblocking(true)?;
        match socket.connect(&addr.into()) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
            Err(e) => return Err(io::Error::new(e.kind(), format!("flood connect #{i}: {e}"))),
        }
        sockets.push(TcpStream::from(socket));
    }
    Ok(sockets)
}
