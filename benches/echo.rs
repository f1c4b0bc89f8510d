//! `echo`: whole echo servers, each on one thread in this process, driven by the same
//! client, `multipoll-loadgen` (one thread, epoll), over loopback. Time per echoed
//! message; criterion's `thrpt` line is messages/s.
//!
//! Cases, all with 64-byte messages: `pingpong_1conn` (1 connection, 1 message in flight),
//! `pingpong_50conn` (50 connections, 1 each), `pipeline16_10conn` (10 connections, 16
//! each). Servers: multipoll-echo on each of our backends, and the reference peers of
//! `multipoll_loadgen::peers`: tokio (`current_thread`), a plain mio loop, and a
//! raw-libc level-triggered epoll loop (the floor).
//!
//! Client and server share the machine's two cores, as they would any loopback test:
//! read the ratios between servers, not the absolute numbers.

mod common;

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use common::Lazy;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use multipoll::Backend;
use multipoll_loadgen::peers::{self, EchoServer};
use multipoll_loadgen::{Config, Limit};

type Group<'a> = BenchmarkGroup<'a, criterion::measurement::WallTime>;

/// One load shape.
struct Case {
    name: &'static str,
    connections: usize,
    pipeline: usize,
}

const CASES: [Case; 3] = [
    Case { name: "pingpong_1conn", connections: 1, pipeline: 1 },
    Case { name: "pingpong_50conn", connections: 50, pipeline: 1 },
    Case { name: "pipeline16_10conn", connections: 10, pipeline: 16 },
];

/// A server under test: its name in benchmark ids and how to start it.
struct Server {
    name: &'static str,
    spawn: fn(TcpListener) -> io::Result<EchoServer>,
}

const SERVERS: &[Server] = &[
    // OURS: multipoll-echo over select, poll and epoll goes here once crates/echo lands.
    Server { name: "tokio", spawn: peers::tokio_echo::spawn },
    Server { name: "mio", spawn: peers::mio_echo::spawn },
    Server { name: "raw-epoll", spawn: peers::raw_epoll::spawn },
];

/// Echoes `messages` messages of `case` against `addr`; returns the measured time.
fn drive(addr: SocketAddr, case: &Case, messages: u64) -> Duration {
    let config = Config {
        addr,
        connections: case.connections,
        size: 64,
        pipeline: case.pipeline,
        limit: Limit::Messages(messages),
        warmup: Duration::ZERO,
        backend: Backend::Epoll,
        threads: 1,
        grace: Duration::from_secs(5),
    };
    let report = multipoll_loadgen::run(&config).expect("loadgen runs");
    assert!(report.is_ok(), "{report}");
    report.elapsed
}

fn bench_server(group: &mut Group<'_>, server: &Server) {
    // Started on first use, so a filter that skips this server skips its thread too.
    let mut running = Lazy::new();
    for case in &CASES {
        group.bench_function(format!("{}/{}", case.name, server.name), |b| {
            let running = running.get(|| (server.spawn)(TcpListener::bind("127.0.0.1:0")?));
            let addr = running.addr();
            b.iter_custom(|iters| drive(addr, case, iters))
        });
    }
}

fn echo(c: &mut Criterion) {
    let mut group = c.benchmark_group("echo");
    group.throughput(Throughput::Elements(1));
    group.sample_size(10);
    for server in SERVERS {
        bench_server(&mut group, server);
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = echo
}
criterion_main!(benches);
