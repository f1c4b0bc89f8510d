//! 10 000 connections at once, on every backend and mode (select too: its sets grow past
//! `FD_SETSIZE` on Linux). The server is the binary in a child process with
//! `RLIMIT_NOFILE` at the hard limit; the clients are one [`Swarm`] on this thread. Every
//! client sends a distinct message and gets it back byte for byte while all are open;
//! then all send a second one at once. The server holds exactly one fd per client, and
//! gives them all back.

// Unix-only: it raises RLIMIT_NOFILE and counts the child's fds in /proc.
#![cfg(unix)]

pub mod util;

use std::io;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use multipoll::{Backend, Mode};

use util::{ChildServer, Swarm, check};

crate::backend_tests!(run);

const CONNS: usize = 10_000;
/// Clients waiting for their first echo at once: below the server's listen backlog
/// (1024), so no SYN is dropped and retried a second later.
const WINDOW: usize = 512;
/// Fds the test process needs besides its clients (poller, stdio, the harness, pipes).
const SPARE_FDS: u64 = 200;
const TIMEOUT: Duration = Duration::from_secs(60);

/// One backend at a time: each needs 10 000 client fds of this process's 20 000, and a
/// core to itself to stay fast.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Distinct per client and round, 24 to 90 bytes.
fn message(client: usize, round: usize) -> Vec<u8> {
    let pad = "=".repeat(client % 67);
    format!("client {client:05} round {round} {pad}\n").into_bytes()
}

fn run(backend: Backend, mode: Mode) -> io::Result<()> {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let nofile = multipoll_conformance::util::raise_fd_limit(u64::MAX)?;
    let conns = CONNS.min(nofile.saturating_sub(SPARE_FDS) as usize);
    check(conns >= 1000, || format!("RLIMIT_NOFILE hard limit {nofile}: too low to test"))?;
    if conns < CONNS {
        eprintln!("{backend}: hard RLIMIT_NOFILE {nofile}: {conns} connections, not {CONNS}");
    }
    let mut server =
        ChildServer::start(backend, mode, &["--stats-interval", "100ms"], Some(nofile))?;
    let baseline = server.fd_count()?;
    let rss_before = server.rss_kib()?;
    let mut swarm = Swarm::new(server.addr)?;

    let start = Instant::now();
    swarm.open(conns, WINDOW, |i| message(i, 0), TIMEOUT)?;
    let opened = start.elapsed();
    // All of them open at once, each one fd and one entry of the connection table.
    let fds = server.fd_count()?;
    check(fds == baseline + conns, || format!("{fds} fds for {conns} clients, {baseline} before"))?;
    let stats = server.fresh_stats()?;
    check(stats.get("active") == Some(&(conns as u64)), || format!("{stats:?}"))?;

    let start = Instant::now();
    swarm.send_all(|i| message(i, 1), TIMEOUT)?;
    let second = start.elapsed();
    check(swarm.closed() == 0, || format!("{} clients closed", swarm.closed()))?;
    let rss_held = server.rss_kib()?;

    drop(swarm);
    util::wait_until(Duration::from_secs(20), &format!("back to {baseline} fds"), || {
        Ok(server.fd_count()? == baseline)
    })?;
    util::stop(&mut server)?;
    let stats = server.final_stats().ok_or_else(|| io::Error::other("no final stats"))?;
    let bytes: usize = (0..conns).map(|i| message(i, 0).len() + message(i, 1).len()).sum();
    check(stats["accepted"] == conns as u64 && stats["active"] == 0, || format!("{stats:?}"))?;
    check(stats["bytes_in"] == bytes as u64 && stats["bytes_out"] == bytes as u64, || {
        format!("{bytes} bytes sent: {stats:?}")
    })?;
    eprintln!(
        "{backend}/{mode}: {conns} connections held at once; opened and echoed in {opened:.2?}, \
         all echoed again in {second:.2?}; server fds {baseline} -> {fds} -> {baseline}; \
         RSS {rss_before} KiB -> {rss_held} KiB held ({} B per connection)",
        (rss_held.saturating_sub(rss_before) * 1024) / conns as u64
    );
    Ok(())
}
