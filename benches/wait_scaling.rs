//! `wait_scaling`: the cost of one `wait` that reports 1 ready fd out of N registered,
//! N ∈ {16, 256, 1000, 10 000}.
//!
//! - `level/<subject>/N`: a level-triggered UDP socket with a datagram queued and never
//!   read stays ready, so every wait returns that one event; the other N − 1 fds are idle
//!   UDP sockets. Nothing but the wait is timed. mio has no level-triggered mode, so it is
//!   not in this half.
//! - `edge/<subject>/N`: the ready fd is an edge-triggered eventfd, bumped (one 8-byte
//!   `write`) before each wait so that each wait has a fresh edge to report. This is the
//!   half that includes mio; `edge/bump-only` times the bump alone, to subtract.

mod common;

use std::hint::black_box;

use common::fds::{self, EventFd};
use common::{Lazy, Mio, Ours, PollingCrate, Setup, Subject, Trigger};
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, criterion_group, criterion_main};
use multipoll::{Epoll, Poll, Select, Uring};

type Group<'a> = BenchmarkGroup<'a, criterion::measurement::WallTime>;

/// Registered fds per wait.
const SIZES: [usize; 4] = [16, 256, 1000, 10_000];

fn level<S: Subject>(group: &mut Group<'_>) {
    for n in SIZES {
        let mut state = Lazy::new();
        let id = BenchmarkId::new(format!("level/{}", S::NAME), n);
        group.bench_function(id, |b| {
            let setup = state.get(|| Setup::<S, _>::new(n, fds::ready_socket()?, Trigger::Level));
            b.iter(|| black_box(setup.wait()))
        });
    }
}

fn edge<S: Subject>(group: &mut Group<'_>) {
    for n in SIZES {
        let mut state = Lazy::new();
        let id = BenchmarkId::new(format!("edge/{}", S::NAME), n);
        group.bench_function(id, |b| {
            let setup = state.get(|| Setup::<S, _>::new(n, EventFd::new()?, Trigger::Edge));
            b.iter(|| black_box(setup.bump_and_wait()))
        });
    }
}

fn wait_scaling(c: &mut Criterion) {
    let mut group = c.benchmark_group("wait_scaling");
    level::<Ours<Select>>(&mut group);
    level::<Ours<Poll>>(&mut group);
    level::<Ours<Epoll>>(&mut group);
    level::<Ours<Uring>>(&mut group);
    level::<PollingCrate>(&mut group);

    let mut bump = Lazy::new();
    group.bench_function("edge/bump-only", |b| {
        let efd = bump.get(EventFd::new);
        b.iter(|| efd.bump())
    });
    edge::<Ours<Epoll>>(&mut group);
    edge::<Ours<Uring>>(&mut group);
    edge::<PollingCrate>(&mut group);
    edge::<Mio>(&mut group);
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = wait_scaling
}
criterion_main!(benches);
