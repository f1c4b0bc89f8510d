//! What every bench shares: the pollers under test behind one small trait ([`Subject`]),
//! the fds they watch ([`fds`]), the criterion settings and the fd limit.
//!
//! Each bench file is one criterion group named after the file, so `cargo bench --bench
//! NAME` and `cargo bench -- NAME` both run that group alone. Expensive setup happens inside
//! the benchmark closure, once ([`Lazy`]), so a filtered-out benchmark costs nothing.
#![allow(dead_code, reason = "each bench file uses part of the shared helpers")]

pub mod fds;
pub mod setup;
pub mod subject;

use std::io;
use std::time::Duration;

use criterion::Criterion;
use multipoll_conformance::util::raise_fd_limit;
use nix::sched::{CpuSet, sched_setaffinity};
use nix::unistd::Pid;

#[allow(unused_imports, reason = "not every bench file needs every name")]
pub use setup::Setup;
#[allow(unused_imports, reason = "not every bench file needs every name")]
pub use subject::{Mio, Ours, PollingCrate, Subject, Trigger, Want};

/// Criterion settings that keep the whole `cargo bench` at a few minutes on two noisy
/// cores (the budget is 15): 0.5 s warm-up, 2 s measurement, 20 samples per benchmark.
/// Ratios between subjects are what we read, always from the same run; command-line flags
/// (`--measurement-time`, `--sample-size`, ...) still override these.
pub fn criterion() -> Criterion {
    // To the hard limit: `wait_scaling` holds over 10 000 fds.
    raise_fd_limit(u64::MAX).expect("raise RLIMIT_NOFILE");
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args()
}

/// Pins the calling thread to `cpu`; threads it spawns afterwards inherit that.
/// Does nothing (and says so) where there is no such CPU.
pub fn pin_to(cpu: usize) -> io::Result<bool> {
    let online = std::thread::available_parallelism().map_or(1, usize::from);
    if cpu >= online || cpu >= CpuSet::count() {
        return Ok(false);
    }
    let mut set = CpuSet::new();
    set.set(cpu)?;
    sched_setaffinity(Pid::from_raw(0), &set)?;
    Ok(true)
}

/// State built on first use, inside a benchmark closure: criterion calls that closure only
/// for benchmarks its filter selects, and several times for those.
#[derive(Debug)]
pub struct Lazy<T>(Option<T>);

impl<T> Lazy<T> {
    /// Nothing built yet.
    pub fn new() -> Lazy<T> {
        Lazy(None)
    }

    /// The state, built by `init` the first time.
    #[track_caller]
    pub fn get(&mut self, init: impl FnOnce() -> io::Result<T>) -> &mut T {
        self.0.get_or_insert_with(|| init().expect("benchmark setup"))
    }
}
