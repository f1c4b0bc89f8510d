//! `wait_paired`: the headline comparison of `wait_scaling` (one wait, 1 ready fd of N),
//! measured *interleaved* so that a noisy machine hits every poller alike.
//!
//! criterion measures one benchmark after another; on a shared machine, load that comes
//! and goes between them moves their ratio. Here all pollers exist at once, registered on
//! the same idle UDP sockets (one fd can sit in many pollers), and take turns: a block of
//! `BLOCK` waits each, round after round. Per poller we keep every block's time per wait
//! and report the minimum (noise only adds time) and the median.
//!
//! Contenders: ours (`Epoll`, `Uring`) and `polling`, level-triggered on an always-ready
//! UDP socket; ours, `polling` and mio edge-triggered on their own eventfd, bumped before each
//! wait; and the bump alone, so that mio (edge only) can be compared on the wait alone:
//! `(edge − bump)`.
//!
//! Not a criterion group: `cargo bench --bench wait_paired` (or `cargo bench --
//! wait_paired`) prints markdown tables. Without `--bench` (as `cargo test --benches` runs
//! it) it does a few tiny rounds as a smoke test.
//!
//! `--count LABEL WAITS` runs one contender alone, `WAITS` times, with no timing: a fixed
//! workload for `valgrind --tool=callgrind`, whose instruction counts for two values of
//! `WAITS` differ by exactly what those extra waits cost in user space (see
//! docs/benchmarks.md).

mod common;

use std::hint::black_box;
use std::io;
use std::net::UdpSocket;
use std::rc::Rc;
use std::time::{Duration, Instant};

use common::fds::{self, EventFd};
use common::{Mio, Ours, PollingCrate, Setup, Subject, Trigger};
use multipoll::{Epoll, Uring};

/// Times `k` iterations of one contender.
type Timer = Box<dyn FnMut(u64) -> Duration>;

/// A contender: its label, its timer, and the time per wait of each block so far.
struct Contender {
    label: &'static str,
    run: Timer,
    per_wait: Vec<f64>,
}

fn timed(mut once: impl FnMut() + 'static) -> Timer {
    Box::new(move |k| {
        let start = Instant::now();
        for _ in 0..k {
            once();
        }
        start.elapsed()
    })
}

fn level<S: Subject>(idle: &Rc<Vec<UdpSocket>>) -> io::Result<Timer> {
    let mut setup = Setup::<S, _>::sharing(Rc::clone(idle), fds::ready_socket()?, Trigger::Level)?;
    Ok(timed(move || {
        black_box(setup.wait());
    }))
}

fn edge<S: Subject>(idle: &Rc<Vec<UdpSocket>>) -> io::Result<Timer> {
    let mut setup = Setup::<S, _>::sharing(Rc::clone(idle), EventFd::new()?, Trigger::Edge)?;
    Ok(timed(move || {
        black_box(setup.bump_and_wait());
    }))
}

fn contenders(n: usize) -> io::Result<Vec<Contender>> {
    let idle = Rc::new(fds::idle_sockets(n - 1)?);
    let bump = EventFd::new()?;
    let list: Vec<(&'static str, Timer)> = vec![
        ("epoll level", level::<Ours<Epoll>>(&idle)?),
        ("uring level", level::<Ours<Uring>>(&idle)?),
        ("polling level", level::<PollingCrate>(&idle)?),
        ("epoll edge", edge::<Ours<Epoll>>(&idle)?),
        ("uring edge", edge::<Ours<Uring>>(&idle)?),
        ("polling edge", edge::<PollingCrate>(&idle)?),
        ("mio edge", edge::<Mio>(&idle)?),
        ("bump only", timed(move || bump.bump().expect("bump"))),
    ];
    Ok(list
        .into_iter()
        .map(|(label, run)| Contender { label, run, per_wait: Vec::new() })
        .collect())
}

fn median(sorted: &[f64]) -> f64 {
    sorted[sorted.len() / 2]
}

/// Runs the rounds and prints one table for `n` registered fds.
fn measure(n: usize, rounds: usize, block: u64) -> io::Result<()> {
    let mut all = contenders(n)?;
    for c in &mut all {
        (c.run)(block); // warm-up
    }
    for _ in 0..rounds {
        for c in &mut all {
            let t = (c.run)(block);
            c.per_wait.push(t.as_nanos() as f64 / block as f64);
        }
    }
    let mut stats = std::collections::HashMap::new();
    println!("\n### wait_paired, N = {n} ({rounds} rounds of {block} waits each)\n");
    println!("| contender | min ns | median ns |");
    println!("|---|---|---|");
    for c in &mut all {
        c.per_wait.sort_by(f64::total_cmp);
        let (min, med) = (c.per_wait[0], median(&c.per_wait));
        println!("| {} | {min:.0} | {med:.0} |", c.label);
        stats.insert(c.label, (min, med));
    }
    let ratio = |a: &str, b: &str, net: bool| {
        let bump = if net { stats["bump only"] } else { (0.0, 0.0) };
        let (a, b) = (stats[a], stats[b]);
        ((a.0 - bump.0) / (b.0 - bump.0), (a.1 - bump.1) / (b.1 - bump.1))
    };
    println!("\n| ratio | of min | of median |");
    println!("|---|---|---|");
    for (label, (min, med)) in [
        ("epoll level / polling level", ratio("epoll level", "polling level", false)),
        ("epoll edge / polling edge", ratio("epoll edge", "polling edge", false)),
        ("epoll edge / mio edge", ratio("epoll edge", "mio edge", false)),
        ("(epoll edge − bump) / (mio edge − bump)", ratio("epoll edge", "mio edge", true)),
    ] {
        println!("| {label} | {min:.2} | {med:.2} |");
    }
    let level_vs_mio = (
        stats["epoll level"].0 / (stats["mio edge"].0 - stats["bump only"].0),
        stats["epoll level"].1 / (stats["mio edge"].1 - stats["bump only"].1),
    );
    println!("| epoll level / (mio edge − bump) | {:.2} | {:.2} |", level_vs_mio.0, level_vs_mio.1);
    Ok(())
}

/// Runs the contender `label` alone, `waits` times (N = 1 000 fds).
fn count(label: &str, waits: &str) -> io::Result<()> {
    let waits: u64 = waits.parse().map_err(|e| {
        io::Error::new(io::ErrorKind::InvalidInput, format!("--count: waits {waits:?}: {e}"))
    })?;
    let mut all = contenders(1000)?;
    let Some(c) = all.iter_mut().find(|c| c.label == label) else {
        let labels: Vec<_> = all.iter().map(|c| c.label).collect();
        let msg = format!("--count: no contender {label:?}; one of {labels:?}");
        return Err(io::Error::new(io::ErrorKind::InvalidInput, msg));
    };
    (c.run)(waits);
    Ok(())
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = args.iter().position(|a| a == "--count") {
        multipoll_conformance::util::raise_fd_limit(u64::MAX)?;
        let (label, waits) = (args.get(i + 1), args.get(i + 2));
        let (Some(label), Some(waits)) = (label, waits) else {
            let msg = "--count takes a contender's label and a number of waits";
            return Err(io::Error::new(io::ErrorKind::InvalidInput, msg));
        };
        return count(label, waits);
    }
    let filter = args.iter().find(|a| !a.starts_with('-'));
    if filter.is_some_and(|f| !"wait_paired".contains(f.as_str()) && !f.contains("wait_paired")) {
        return Ok(());
    }
    multipoll_conformance::util::raise_fd_limit(u64::MAX)?;
    if args.iter().any(|a| a == "--bench") {
        for n in [1000, 10_000] {
            measure(n, 300, 2000)?;
        }
    } else {
        measure(16, 3, 10)?;
        println!("wait_paired: smoke test ok");
    }
    Ok(())
}
