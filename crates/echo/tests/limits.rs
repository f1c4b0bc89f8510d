//! Per-connection limits: the idle timeout closes idle connections and keeps active ones;
//! `max_conns` refuses extra connections while serving the existing ones.

pub mod util;

use std::io;
use std::time::{Duration, Instant};

use multipoll::{Backend, Mode};
use multipoll_echo::Config;

use util::{TestServer, check, closed_by_server, round_trip};

mod idle_timeout {
    use super::*;

    crate::backend_tests!(run);

    /// Long enough that a loaded machine does not make the active client look idle.
    const IDLE: Duration = Duration::from_millis(600);

    fn run(backend: Backend, mode: Mode) -> io::Result<()> {
        let server = TestServer::start(
            backend,
            mode,
            Config { idle_timeout: Some(IDLE), ..Config::default() },
        )?;
        let idle = util::connect(server.addr)?;
        let active = util::connect(server.addr)?;
        let start = Instant::now();
        // The active client talks every 100 ms, for two and a half timeouts.
        while start.elapsed() < IDLE * 5 / 2 {
            round_trip(&active, b"tick")?;
            std::thread::sleep(Duration::from_millis(100));
        }
        check(closed_by_server(&idle, Duration::from_secs(2))?, || {
            "the idle connection is still open".into()
        })?;
        check(!closed_by_server(&active, Duration::from_millis(50))?, || {
            "the active connection was closed".into()
        })?;
        round_trip(&active, b"still here")?;
        let stats = server.total();
        check(stats.timed_out == 1 && stats.active == 1, || format!("{stats}"))?;
        drop(active);
        server.stop()
    }
}

mod max_conns {
    use super::*;

    crate::backend_tests!(run);

    const MAX: usize = 5;

    fn run(backend: Backend, mode: Mode) -> io::Result<()> {
        let server =
            TestServer::start(backend, mode, Config { max_conns: Some(MAX), ..Config::default() })?;
        let mut served =
            (0..MAX).map(|_| util::connect(server.addr)).collect::<io::Result<Vec<_>>>()?;
        for client in &served {
            round_trip(client, b"in")?; // accepted and served, in order
        }
        // Extra connections are accepted and closed at once.
        for _ in 0..3 {
            let extra = util::connect(server.addr)?;
            check(closed_by_server(&extra, Duration::from_secs(2))?, || {
                "a connection past max-conns stayed open".into()
            })?;
        }
        for client in &served {
            round_trip(client, b"still served")?;
        }
        let stats = server.total();
        check(stats.refused == 3 && stats.active == MAX as u64, || format!("{stats}"))?;
        // A slot frees up: the next connection is served.
        served.pop();
        util::wait_until(Duration::from_secs(5), "a slot free", || {
            Ok(server.total().active < MAX as u64)
        })?;
        round_trip(&util::connect(server.addr)?, b"next")?;
        drop(served);
        server.stop()
    }
}
