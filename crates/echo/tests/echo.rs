//! Byte-exact echo: many concurrent clients with random sizes and random write splits,
//! and one connection carrying 64 MiB, on every backend and mode.

pub mod util;

use std::io;
use std::net::TcpStream;

use multipoll::{Backend, Mode};
use multipoll_echo::Config;

use util::{Rng, TestServer, check};

/// 100 clients at once, message sizes log-uniform in 1 B ..= 1 MiB (about 7 MiB in all).
mod many_clients {
    use super::*;

    crate::backend_tests!(run);

    fn run(backend: Backend, mode: Mode) -> io::Result<()> {
        let server = TestServer::start(backend, mode, Config::default())?;
        let mut rng = Rng::new(0xec40);
        let jobs: Vec<(Vec<u8>, Vec<usize>)> = (0..100)
            .map(|_| {
                let len = rng.log_size(1 << 20);
                (rng.bytes(len), rng.chunks(len))
            })
            .collect();
        let total: usize = jobs.iter().map(|(data, _)| data.len()).sum();
        util::echo_all(server.addr, &jobs)?;
        util::wait_until(std::time::Duration::from_secs(5), "all closed", || {
            Ok(server.total().active == 0)
        })?;
        let stats = server.total();
        check(stats.accepted == 100 && stats.closed == 100, || format!("{stats}"))?;
        check(stats.bytes_in == total as u64 && stats.bytes_out == total as u64, || {
            format!("{total} bytes sent: {stats}")
        })?;
        server.stop()
    }
}

/// One connection carrying 64 MiB, written and read concurrently.
mod one_connection_64mib {
    use super::*;

    crate::backend_tests!(run);

    /// Data bytes are `BLOCK[i % BLOCK.len()]` with a prime block length, so a chunk
    /// delivered twice, dropped or out of order (chunks are powers of two) never lines up.
    const BLOCK: usize = 1_000_003;
    const TOTAL: usize = 64 << 20;

    fn run(backend: Backend, mode: Mode) -> io::Result<()> {
        let server = TestServer::start(backend, mode, Config::default())?;
        let block = Rng::new(64).bytes(BLOCK).repeat(2); // twice: any window is one slice
        let stream = util::connect(server.addr)?;
        let received = std::thread::scope(|s| {
            let writer = s.spawn(|| write_pattern(&stream, &block));
            let read = read_pattern(&stream, &block);
            writer.join().map_err(|_| io::Error::other("writer panicked"))??;
            read
        })?;
        check(received == TOTAL, || format!("got {received} of {TOTAL} bytes back"))?;
        server.stop()
    }

    fn write_pattern(mut stream: &TcpStream, block: &[u8]) -> io::Result<()> {
        let mut sent = 0;
        let mut rng = Rng::new(7);
        while sent < TOTAL {
            let n = rng.range(1, 256 * 1024).min(TOTAL - sent).min(BLOCK);
            let at = sent % BLOCK;
            io::Write::write_all(&mut stream, &block[at..at + n])?;
            sent += n;
        }
        stream.shutdown(std::net::Shutdown::Write)
    }

    /// Reads to end of file, checking every byte; returns how many came back.
    fn read_pattern(stream: &TcpStream, block: &[u8]) -> io::Result<usize> {
        let mut buf = vec![0; 256 * 1024];
        let mut received = 0;
        loop {
            let n = util::read_some(stream, &mut buf)?;
            if n == 0 {
                return Ok(received);
            }
            let at = received % BLOCK;
            check(buf[..n] == block[at..at + n], || {
                format!("wrong bytes in {n} bytes at offset {received}")
            })?;
            received += n;
        }
    }
}
