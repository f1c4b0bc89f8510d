//! Graceful shutdown: SIGTERM while clients have data in flight. Every byte the server
//! received is echoed before it closes, it exits 0, and it prints its final stats.

pub mod util;

use std::io::{self, Read, Write};
use std::time::Duration;

use multipoll::{Backend, Mode};

use multipoll_echo::Config;
use util::{Rng, TestServer, check};

/// SIGTERM to the binary while 16 clients stream data. Unix-only: on Windows the binary
/// stops on Ctrl-C or Ctrl-Break, which Wine does not deliver to a child process of the
/// tests (crates/echo/README.md, *Windows*).
#[cfg(unix)]
mod signal {
    use std::net::{Shutdown, TcpStream};
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use super::util::ChildServer;

    use super::*;
    crate::backend_tests!(run);

    const CLIENTS: usize = 16;
    /// Each client's cap; it is still sending when the signal arrives.
    const MAX_SEND: usize = 4 << 20;

    fn run(backend: Backend, mode: Mode) -> io::Result<()> {
        let args = ["--drain-timeout", "5s", "--stats-interval", "100ms"];
        let mut server = ChildServer::start(backend, mode, &args, None)?;
        let mut rng = Rng::new(0x5167);
        let data: Vec<Vec<u8>> = (0..CLIENTS).map(|_| rng.bytes(MAX_SEND)).collect();
        let streams =
            data.iter().map(|_| util::connect(server.addr)).collect::<io::Result<Vec<_>>>()?;
        let echoed = AtomicUsize::new(0);
        let results = std::thread::scope(|s| {
            let clients: Vec<_> = streams
                .iter()
                .zip(&data)
                .map(|(stream, data)| s.spawn(|| client(stream, data, &echoed)))
                .collect();
            // Signal once every client is in the middle of its transfer.
            let started = util::wait_until(Duration::from_secs(5), "echoing", || {
                Ok(echoed.load(Ordering::Relaxed) >= CLIENTS * 64 * 1024)
            });
            let signalled = started.and_then(|()| server.signal(libc::SIGTERM));
            let results: Vec<io::Result<Vec<u8>>> = clients
                .into_iter()
                .map(|c| c.join().unwrap_or_else(|_| Err(io::Error::other("client panicked"))))
                .collect();
            signalled.map(|()| results)
        })?;
        let status = server.wait_exit(Duration::from_secs(10))?;
        check(status.success(), || format!("exit status {status}"))?;
        let stats = server.final_stats().ok_or_else(|| io::Error::other("no final stats"))?;

        let mut received = 0;
        for (i, (got, sent)) in results.into_iter().zip(&data).enumerate() {
            let got = got.map_err(|e| io::Error::new(e.kind(), format!("client {i}: {e}")))?;
            check(got.len() < MAX_SEND, || format!("client {i} finished before the signal"))?;
            check(sent.starts_with(&got), || format!("client {i}: the echo is not what it sent"))?;
            received += got.len() as u64;
        }
        // What the server read, it echoed, and the clients got all of it.
        check(stats["bytes_in"] == stats["bytes_out"] && stats["bytes_out"] == received, || {
            format!("clients received {received} bytes; server stats {stats:?}")
        })?;
        check(stats["active"] == 0 && stats["accepted"] == CLIENTS as u64, || {
            format!("{stats:?}")
        })?;
        let periodic =
            server.output().iter().filter(|l| l.starts_with("stats now total: ")).count();
        check(periodic > 0, || "no periodic stats with --stats-interval".into())
    }

    /// Sends `data` in paced chunks until the server's end of file stops it, while reading
    /// the echo on another thread; returns the echo.
    fn client(stream: &TcpStream, data: &[u8], echoed: &AtomicUsize) -> io::Result<Vec<u8>> {
        let done = AtomicBool::new(false);
        std::thread::scope(|s| {
            s.spawn(|| {
                let mut sent = 0;
                while sent < data.len() && !done.load(Ordering::Relaxed) {
                    let n = (16 * 1024).min(data.len() - sent);
                    // After the server closes, writes fail: the test is about what it echoed.
                    if (&*stream).write_all(&data[sent..sent + n]).is_err() {
                        break;
                    }
                    sent += n;
                    std::thread::sleep(Duration::from_millis(1));
                }
                let _ = stream.shutdown(Shutdown::Write);
            });
            let mut got = Vec::new();
            let mut buf = vec![0; 64 * 1024];
            loop {
                match util::read_some(stream, &mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        got.extend_from_slice(&buf[..n]);
                        echoed.fetch_add(n, Ordering::Relaxed);
                    }
                    Err(e) => {
                        done.store(true, Ordering::Relaxed);
                        return Err(e);
                    }
                }
            }
            done.store(true, Ordering::Relaxed);
            Ok(got)
        })
    }
}

/// A paused client's bytes still in the server's receive buffer at shutdown are echoed.
mod receive_buffer {
    use super::*;
    crate::backend_tests!(drain_receive_buffer);
}

fn drain_receive_buffer(backend: Backend, mode: Mode) -> io::Result<()> {
    let server = TestServer::start(backend, mode, Config::default())?;
    let data = Rng::new(3).bytes(32 << 20);
    let stream = util::connect(server.addr)?;
    stream.set_nonblocking(true)?;
    // Send without reading until the server stops reading from us and both directions'
    // buffers are full.
    let mut sent = 0;
    let mut blocked = 0;
    util::wait_until(Duration::from_secs(5), "stalled", || {
        check(sent < data.len(), || "the server took 32 MiB without our reading".into())?;
        match (&stream).write(&data[sent..]) {
            Ok(n) => {
                sent += n;
                blocked = 0;
            }
            // A full send buffer may be a moment's lag; five in a row, 10 ms apart, is
            // the server not reading.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => blocked += 1,
            Err(e) => return Err(e),
        }
        Ok(blocked >= 5)
    })?;
    let before = server.total();
    check(before.queued > 0, || format!("stalled but nothing queued: {before}"))?;
    let stop = std::thread::spawn(move || server.stop());
    stream.set_nonblocking(false)?;
    let mut got = Vec::new();
    (&stream).read_to_end(&mut got)?;
    drop(stream); // The server waits for our close (up to its drain timeout).
    stop.join().map_err(|_| io::Error::other("server panicked"))??;
    check(data.starts_with(&got), || "the echo is not what was sent".into())?;
    check(got.len() as u64 > before.bytes_in, || {
        format!("{} bytes echoed: no more than read before shutdown ({before})", got.len())
    })
}
