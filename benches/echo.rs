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
//! The server thread is pinned to CPU 1 and the client to CPU 0 (when there are two), so
//! that every server gets the same placement: with one connection, whether client and
//! server share a core decides the round-trip time more than the server's code does.
//! Read the ratios between servers, not the absolute numbers.

mod common;

use std::any::Any;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::thread::JoinHandle;
use std::time::Duration;

use common::Lazy;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use multipoll::{Backend, Epoll, Poll, Poller, Select, Uring};
use multipoll_echo::{Echo, EchoServer, ShutdownHandle};
use multipoll_loadgen::peers;
use multipoll_loadgen::{Config, Limit};

type Group<'a> = BenchmarkGroup<'a, criterion::measurement::WallTime>;

/// Where the server runs, and where the client does.
const SERVER_CPU: usize = 1;
const CLIENT_CPU: usize = 0;

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

/// A server running on its own thread; dropping `guard` stops it.
struct Running {
    addr: SocketAddr,
    _guard: Box<dyn Any>,
}

/// A server under test: its name in benchmark ids and how to start it.
struct Server {
    name: &'static str,
    start: fn() -> io::Result<Running>,
}

const SERVERS: &[Server] = &[
    Server { name: "select", start: ours::<Select> },
    Server { name: "poll", start: ours::<Poll> },
    Server { name: "epoll", start: ours::<Epoll> },
    Server { name: "uring", start: ours::<Uring> },
    Server { name: "tokio", start: || peer(peers::tokio_echo::spawn) },
    Server { name: "mio", start: || peer(peers::mio_echo::spawn) },
    Server { name: "raw-epoll", start: || peer(peers::raw_epoll::spawn) },
];

/// Stops a multipoll-echo server and joins its thread.
struct OursGuard {
    stop: ShutdownHandle,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl Drop for OursGuard {
    fn drop(&mut self) {
        let _ = self.stop.shutdown();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// multipoll-echo over backend `P`, defaults (level-triggered, one loop).
fn ours<P: Poller + 'static>() -> io::Result<Running> {
    let server = EchoServer::<P>::bind("127.0.0.1:0", multipoll_echo::Config::default(), Echo)?;
    let addr = server.local_addr();
    let stop = server.shutdown_handle();
    let thread =
        std::thread::Builder::new().name("multipoll-echo".into()).spawn(|| server.run())?;
    Ok(Running { addr, _guard: Box::new(OursGuard { stop, thread: Some(thread) }) })
}

/// A reference peer from `multipoll_loadgen::peers` (its handle stops it when dropped).
fn peer(spawn: fn(TcpListener) -> io::Result<peers::EchoServer>) -> io::Result<Running> {
    let server = spawn(TcpListener::bind("127.0.0.1:0")?)?;
    Ok(Running { addr: server.addr(), _guard: Box::new(server) })
}

/// Echoes `messages` messages of `case` against `addr`; returns the measured time.
fn drive(addr: SocketAddr, case: &Case, messages: u64) -> Duration {
    let config = Config {
        addr,
        connections: case.connections,
        idle: 0,
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
            let addr = running
                .get(|| {
                    // The server's threads inherit CPU 1; the loadgen's, spawned later, CPU 0.
                    common::pin_to(SERVER_CPU)?;
                    let running = (server.start)();
                    common::pin_to(CLIENT_CPU)?;
                    running
                })
                .addr;
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
