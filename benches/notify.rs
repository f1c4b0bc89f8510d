//! `notify`: a cross-thread wake-up round trip. Two pollers of the same kind, one per
//! thread: thread A wakes B's poller and blocks in its own wait; B, blocked in its wait,
//! wakes up and wakes A's poller back. One iteration is that whole round trip: two
//! wake-ups, two blocking waits that return, two context switches.
//!
//! Ours use `Poller::notify`, `polling` its `Poller::notify`, mio a registered
//! `mio::Waker`: each library's own cross-thread wake-up.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::subject::Waker;
use common::{Lazy, Mio, Ours, PollingCrate, Subject};
use criterion::{Criterion, criterion_group, criterion_main};
use multipoll::{Epoll, Poll, Select, Uring};

/// Thread B: echoes every wake-up back to A until told to stop.
struct Echo {
    stop: Arc<AtomicBool>,
    wake_b: Waker,
    thread: Option<JoinHandle<()>>,
}

impl Echo {
    fn start<S: Subject>(wake_a: Waker) -> std::io::Result<Echo> {
        let mut b = S::create()?;
        let wake_b = b.waker()?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            loop {
                b.wait(None).expect("B waits");
                if stopping.load(Ordering::Acquire) {
                    return;
                }
                wake_a().expect("B wakes A");
            }
        });
        Ok(Echo { stop, wake_b, thread: Some(thread) })
    }
}

impl Drop for Echo {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        let _ = (self.wake_b)();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn round_trip<S: Subject>(c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    let mut state = Lazy::new();
    c.bench_function(S::NAME, |b| {
        let (a, echo) = state.get(|| {
            let mut a = S::create()?;
            let echo = Echo::start::<S>(a.waker()?)?;
            Ok((a, echo))
        });
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                (echo.wake_b)().expect("A wakes B");
                // A wake-up may be reported as an event (mio) or as an early return
                // with none (ours, polling): either way the wait returns.
                a.wait(Some(Duration::from_secs(10))).expect("A waits");
            }
            start.elapsed()
        })
    });
}

fn notify(c: &mut Criterion) {
    let mut group = c.benchmark_group("notify");
    round_trip::<Ours<Select>>(&mut group);
    round_trip::<Ours<Poll>>(&mut group);
    round_trip::<Ours<Epoll>>(&mut group);
    round_trip::<Ours<Uring>>(&mut group);
    round_trip::<PollingCrate>(&mut group);
    round_trip::<Mio>(&mut group);
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = notify
}
criterion_main!(benches);
