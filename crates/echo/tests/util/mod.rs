//! Helpers shared by the echo tests: which backends and modes to run, servers in-process
//! and as child processes, clients, a seeded RNG, bounded waits.
#![allow(dead_code, unused_imports, reason = "each test file uses part of these helpers")]

pub mod child;
pub mod client;
pub mod server;

use std::io;
use std::time::{Duration, Instant};

use multipoll::{AnyPoller, Backend, Mode, Poller};

pub use child::{ChildServer, stop};
pub use client::*;
pub use server::TestServer;

/// Generates one `#[test]` per backend (`select`, `poll`, `epoll`, `kqueue`) running
/// `$run(backend, mode)` for every mode that backend supports; the test harness runs the
/// backends in parallel. Backends not in this build pass with a note.
#[allow(unused_macros, reason = "not every test file runs per backend")]
macro_rules! backend_tests {
    ($run:path) => {
        #[test]
        fn select() -> std::io::Result<()> {
            $crate::util::each_mode(multipoll::Backend::Select, $run)
        }
        #[test]
        fn poll() -> std::io::Result<()> {
            $crate::util::each_mode(multipoll::Backend::Poll, $run)
        }
        #[test]
        fn epoll() -> std::io::Result<()> {
            $crate::util::each_mode(multipoll::Backend::Epoll, $run)
        }
        #[test]
        fn kqueue() -> std::io::Result<()> {
            $crate::util::each_mode(multipoll::Backend::Kqueue, $run)
        }
    };
}
pub(crate) use backend_tests;

/// Runs `run` for every mode `backend` supports, naming the backend and mode in errors.
pub fn each_mode(backend: Backend, run: fn(Backend, Mode) -> io::Result<()>) -> io::Result<()> {
    if !backend.is_available() {
        eprintln!("{backend}: not in this build, skipped");
        return Ok(());
    }
    let caps = AnyPoller::new(backend)?.capabilities();
    for mode in caps.supported_modes() {
        let start = Instant::now();
        run(backend, mode)
            .map_err(|e| io::Error::new(e.kind(), format!("{backend}/{mode}: {e}")))?;
        eprintln!("{backend}/{mode}: ok in {:.2?}", start.elapsed());
    }
    Ok(())
}

/// Polls `cond` every 10 ms until it holds; fails after `timeout`, naming `what`.
#[track_caller]
pub fn wait_until(
    timeout: Duration,
    what: &str,
    mut cond: impl FnMut() -> io::Result<bool>,
) -> io::Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        if cond()? {
            return Ok(());
        }
        if Instant::now() >= deadline {
            let at = std::panic::Location::caller();
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("{at}: still not {what} after {timeout:?}"),
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Fails with `message` unless `cond` holds (tests return `io::Result`, so no panics).
#[track_caller]
pub fn check(cond: bool, message: impl FnOnce() -> String) -> io::Result<()> {
    if cond {
        return Ok(());
    }
    let at = std::panic::Location::caller();
    Err(io::Error::other(format!("{at}: {}", message())))
}

/// SplitMix64: a tiny seeded generator, so every run sends the same bytes.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as usize
    }

    /// Log-uniform in `1..=max`: as many sizes near 10 B as near 100 KiB.
    pub fn log_size(&mut self, max: usize) -> usize {
        let unit = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        ((max as f64).powf(unit) as usize).clamp(1, max)
    }

    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            out.extend_from_slice(&self.next_u64().to_le_bytes());
        }
        out.truncate(len);
        out
    }

    /// Splits `len` bytes into random chunk sizes, from single bytes to 256 KiB.
    pub fn chunks(&mut self, len: usize) -> Vec<usize> {
        let mut sizes = Vec::new();
        let mut left = len;
        while left > 0 {
            let cap = [16, 4096, 65536, 256 * 1024][self.range(0, 3)];
            let n = self.range(1, cap.min(left));
            sizes.push(n);
            left -= n;
        }
        sizes
    }
}
