//! Backpressure: a client that sends 32 MiB and reads nothing for a while holds at most
//! the high-water mark of server memory, does not slow another client, and then gets all
//! its bytes back intact.

pub mod util;

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use multipoll::{Backend, Mode};
use multipoll_echo::Config;

use util::{Rng, TestServer, check, round_trip};

crate::backend_tests!(run);

const TOTAL: usize = 32 << 20;
const HIGH_WATER: usize = 256 * 1024;

fn run(backend: Backend, mode: Mode) -> io::Result<()> {
    let server =
        TestServer::start(backend, mode, Config { high_water: HIGH_WATER, ..Config::default() })?;
    let data = Rng::new(32).bytes(TOTAL);
    let slow = util::connect(server.addr)?;
    let sent = AtomicUsize::new(0);
    std::thread::scope(|s| {
        let writer = s.spawn(|| write_counting(&slow, &data, &sent));

        // The slow client's writes stall once the server stops reading from it.
        wait_for_stall(&sent)?;
        let stalled_at = sent.load(Ordering::Relaxed);
        check(stalled_at < TOTAL, || {
            "the server swallowed 32 MiB from a client that reads nothing".into()
        })?;
        let stats = server.total();
        check(stats.peak_queued <= HIGH_WATER as u64, || {
            format!("queued past the high-water mark: {stats}")
        })?;

        // Meanwhile another client is served promptly.
        let other = util::connect(server.addr)?;
        let mut rng = Rng::new(1);
        for _ in 0..20 {
            let len = rng.range(1, 4096);
            let msg = rng.bytes(len);
            let took = round_trip(&other, &msg)?;
            check(took < Duration::from_secs(1), || format!("a round trip took {took:?}"))?;
        }
        drop(other);

        // Now the slow client reads everything back.
        let got = read_all(&slow)?;
        writer.join().map_err(|_| io::Error::other("writer panicked"))??;
        check(got == data, || {
            format!(
                "got {} of {TOTAL} bytes, first difference at {:?}",
                got.len(),
                util::first_difference(&got, &data)
            )
        })?;
        let stats = server.total();
        check(stats.peak_queued <= HIGH_WATER as u64, || format!("over the mark: {stats}"))?;
        Ok::<(), io::Error>(())
    })?;
    server.stop()
}

fn write_counting(mut stream: &TcpStream, data: &[u8], sent: &AtomicUsize) -> io::Result<()> {
    for chunk in data.chunks(64 * 1024) {
        stream.write_all(chunk)?;
        sent.fetch_add(chunk.len(), Ordering::Relaxed);
    }
    stream.shutdown(Shutdown::Write)
}

/// Waits until `sent` has not moved for 200 ms (at most 10 s).
#[track_caller]
fn wait_for_stall(sent: &AtomicUsize) -> io::Result<()> {
    let mut last = usize::MAX;
    let every = Duration::from_millis(200);
    util::wait_until_every(
        Duration::from_secs(10),
        every,
        "the slow client's writes stalled",
        || {
            let now = sent.load(Ordering::Relaxed);
            let stalled = now == last;
            last = now;
            Ok(stalled)
        },
    )
}

fn read_all(mut stream: &TcpStream) -> io::Result<Vec<u8>> {
    let mut got = Vec::with_capacity(TOTAL);
    stream.read_to_end(&mut got)?;
    Ok(got)
}
