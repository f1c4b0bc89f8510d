//! `threads: 2`: two loops on SO_REUSEPORT listeners (on Windows, two handles of one
//! listener, racing to accept) share the clients, and all are served.

pub mod util;

use std::io;

use multipoll::{Backend, Mode};
use multipoll_echo::Config;

use util::{Rng, TestServer, check, round_trip};

crate::backend_tests!(run);

/// With 64 connections, the chance that the kernel's hash sends all to one loop is 2^-63
/// (with one shared listener, both loops wake for each connection and race for it).
const CLIENTS: usize = 64;

fn run(backend: Backend, mode: Mode) -> io::Result<()> {
    let server = TestServer::start(backend, mode, Config { threads: 2, ..Config::default() })?;
    let clients =
        (0..CLIENTS).map(|_| util::connect(server.addr)).collect::<io::Result<Vec<_>>>()?;
    let mut rng = Rng::new(2);
    for client in &clients {
        let len = rng.range(1, 64 * 1024);
        round_trip(client, &rng.bytes(len))?;
    }
    let per_loop: Vec<u64> = server.stats.loops().map(|l| l.snapshot().accepted).collect();
    check(per_loop.len() == 2 && per_loop.iter().all(|&n| n > 0), || {
        format!("connections per loop: {per_loop:?}")
    })?;
    check(per_loop.iter().sum::<u64>() == CLIENTS as u64, || format!("{per_loop:?}"))?;
    drop(clients);
    server.stop()
}
