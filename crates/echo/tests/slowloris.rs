//! Slowloris: 500 connections that each send one byte now and then. With
//! `--idle-timeout 500ms` and the bytes slower than that, the server closes them all on
//! time; without a timeout, they cost the server (the binary, in a child process) only
//! their socket: no buffer each, less than [`MAX_BYTES_PER_CONN`] of RSS apiece.

// Unix-only: it counts the child's fds and reads its RSS in /proc.
#![cfg(unix)]

pub mod util;

use std::io;
use std::time::{Duration, Instant};

use multipoll::{Backend, Mode};

use util::{ChildServer, Swarm, check};

const CONNS: usize = 500;
/// Clients waiting for their first echo at once: under the listen backlog.
const WINDOW: usize = 256;
const TIMEOUT: Duration = Duration::from_secs(20);
/// What a slow connection may cost the server in RSS. Measured: about 130 bytes (its slab
/// entry and the poller's bookkeeping); a buffer of its own would be 4 KiB or more.
const MAX_BYTES_PER_CONN: u64 = 4096;

/// Each client's byte: distinct from its neighbours', so a crossed echo shows.
fn byte(client: usize) -> Vec<u8> {
    vec![b'!' + (client % 90) as u8]
}

/// `--idle-timeout` closes slow clients.
mod idle_timeout {
    use super::*;

    crate::backend_tests_in!(Level, run);

    const IDLE: Duration = Duration::from_millis(500);

    fn run(backend: Backend, mode: Mode) -> io::Result<()> {
        let args = ["--idle-timeout", "500ms", "--stats-interval", "100ms"];
        let mut server = ChildServer::start(backend, mode, &args, None)?;
        let baseline = server.fd_count()?;
        let mut swarm = Swarm::new(server.addr)?;
        // Each sends its first byte and gets it back; its next would come after a second,
        // too late.
        swarm.open(CONNS, WINDOW, byte, TIMEOUT)?;
        let sent = Instant::now();
        let fds = server.fd_count()?;
        check(fds == baseline + CONNS, || format!("{fds} fds, {baseline} before"))?;

        swarm.wait_all_closed(Duration::from_secs(10))?;
        let closed_after = sent.elapsed();
        // The last byte was sent before `sent`; no connection may close before its timeout,
        // so the last close comes at least that long after.
        check(closed_after >= IDLE * 9 / 10, || format!("all closed after {closed_after:?}"))?;
        util::wait_until(Duration::from_secs(5), &format!("back to {baseline} fds"), || {
            Ok(server.fd_count()? == baseline)
        })?;
        let stats = server.fresh_stats()?;
        check(stats["timed_out"] == CONNS as u64 && stats["active"] == 0, || format!("{stats:?}"))?;
        eprintln!(
            "{backend}/{mode}: {CONNS} slow clients closed by the {IDLE:?} idle timeout, all \
             {closed_after:.2?} after the last echo; fds {baseline} -> {fds} -> {baseline}"
        );
        util::stop(&mut server)
    }
}

/// Without a timeout, a slow client costs its socket and nothing more.
mod idle_cost {
    use super::*;

    crate::backend_tests_in!(Level, run);

    /// Bytes each client sends after its first, one per round.
    const ROUNDS: usize = 5;
    /// The pause between rounds.
    const PACE: Duration = Duration::from_millis(100);

    fn run(backend: Backend, mode: Mode) -> io::Result<()> {
        let args = ["--stats-interval", "100ms"];
        let mut server = ChildServer::start(backend, mode, &args, None)?;
        let baseline = server.fd_count()?;
        let rss_before = server.rss_kib()?;
        let mut swarm = Swarm::new(server.addr)?;
        swarm.open(CONNS, WINDOW, byte, TIMEOUT)?;
        for _ in 0..ROUNDS {
            std::thread::sleep(PACE); // pacing the clients: this is what makes them slow
            swarm.send_all(byte, TIMEOUT)?;
        }
        let rss_held = server.rss_kib()?;
        let fds = server.fd_count()?;
        check(fds == baseline + CONNS, || format!("{fds} fds, {baseline} before"))?;
        let stats = server.fresh_stats()?;
        check(stats["active"] == CONNS as u64 && stats["queued"] == 0, || format!("{stats:?}"))?;
        let per_conn = rss_held.saturating_sub(rss_before) * 1024 / CONNS as u64;
        if !server.under_asan()? {
            check(per_conn < MAX_BYTES_PER_CONN, || {
                format!("RSS {rss_before} KiB -> {rss_held} KiB: {per_conn} B per slow connection")
            })?;
        } else {
            eprintln!("{backend}/{mode}: the server runs under ASan: its RSS is not bounded");
        }

        drop(swarm);
        util::wait_until(Duration::from_secs(5), &format!("back to {baseline} fds"), || {
            Ok(server.fd_count()? == baseline)
        })?;
        eprintln!(
            "{backend}/{mode}: {CONNS} slow clients held, {} bytes each: RSS {rss_before} KiB \
             -> {rss_held} KiB, {per_conn} B per connection; fds {baseline} -> {fds} -> \
             {baseline}",
            ROUNDS + 1
        );
        util::stop(&mut server)
    }
}
