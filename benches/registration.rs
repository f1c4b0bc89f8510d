//! `registration`: what changing the interest set costs, with 1000 other fds registered
//! (so the kernel's tree and our tables have a realistic size).
//!
//! - `add_modify_delete/<subject>`: one fd added (readable), modified (readable and
//!   writable), deleted. For select and poll these are user-space table updates (plus
//!   an `fcntl` check on `add`); the O(registered) price is paid by the next wait, which
//!   rebuilds the set: that shows in `rearm_oneshot`.
//! - `rearm_oneshot/<subject>`: the oneshot cycle on an fd that stays readable: re-arm
//!   with `modify`, then a wait that reports it once (and disarms it). mio has no
//!   oneshot mode; its documented equivalent is `reregister` of an edge-triggered fd,
//!   which is what it runs here.

mod common;

use std::hint::black_box;
use std::io;
use std::net::UdpSocket;
use std::os::fd::AsFd;

use common::{Lazy, Mio, Ours, PollingCrate, Subject, Trigger, Want, fds};
use criterion::{BenchmarkGroup, Criterion, criterion_group, criterion_main};
use multipoll::{Epoll, Poll, Select, Uring};

type Group<'a> = BenchmarkGroup<'a, criterion::measurement::WallTime>;

/// Other fds registered while the timed one changes.
const BACKGROUND: usize = 1000;
/// The key of the timed fd.
const KEY: usize = BACKGROUND;

/// The trigger for a subject: level where it exists, edge for mio.
fn plain<S: Subject>() -> Trigger {
    if S::supports(Trigger::Level) { Trigger::Level } else { Trigger::Edge }
}

/// The trigger that fires once per re-arm: oneshot, or mio's edge + `reregister`.
fn once<S: Subject>() -> Trigger {
    if S::supports(Trigger::Oneshot) { Trigger::Oneshot } else { Trigger::Edge }
}

/// A subject with `BACKGROUND` idle fds registered, and the fd under test.
struct Setup<S: Subject> {
    subject: S,
    idle: Vec<UdpSocket>,
    fd: UdpSocket,
    /// Whether `fd` is registered (and must be deleted before it is closed).
    registered: bool,
}

impl<S: Subject> Setup<S> {
    fn new(fd: UdpSocket) -> io::Result<Self> {
        let mut subject = S::create()?;
        let idle = fds::idle_sockets(BACKGROUND)?;
        for (key, socket) in idle.iter().enumerate() {
            subject.add(socket.as_fd(), key, Want::Read, plain::<S>())?;
        }
        Ok(Setup { subject, idle, fd, registered: false })
    }
}

impl<S: Subject> Drop for Setup<S> {
    fn drop(&mut self) {
        for socket in &self.idle {
            let _ = self.subject.delete(socket.as_fd());
        }
        if self.registered {
            let _ = self.subject.delete(self.fd.as_fd());
        }
    }
}

fn add_modify_delete<S: Subject>(group: &mut Group<'_>) {
    let mut state = Lazy::new();
    group.bench_function(format!("add_modify_delete/{}", S::NAME), |b| {
        let setup = state.get(|| Setup::<S>::new(UdpSocket::bind("127.0.0.1:0")?));
        let trigger = plain::<S>();
        b.iter(|| {
            let (subject, fd) = (&mut setup.subject, setup.fd.as_fd());
            subject.add(fd, KEY, Want::Read, trigger).expect("add");
            subject.modify(fd, KEY, Want::ReadWrite, trigger).expect("modify");
            subject.delete(fd).expect("delete");
        })
    });
}

fn rearm_oneshot<S: Subject>(group: &mut Group<'_>) {
    let mut state = Lazy::new();
    group.bench_function(format!("rearm_oneshot/{}", S::NAME), |b| {
        let setup = state.get(|| {
            let mut setup = Setup::<S>::new(fds::ready_socket()?)?;
            setup.subject.add(setup.fd.as_fd(), KEY, Want::Read, once::<S>())?;
            setup.registered = true;
            assert_eq!(setup.subject.wait(None)?, 1, "{}: the ready fd fires", S::NAME);
            setup.subject.modify(setup.fd.as_fd(), KEY, Want::Read, once::<S>())?;
            assert_eq!(setup.subject.wait(None)?, 1, "{}: and fires again once re-armed", S::NAME);
            Ok(setup)
        });
        let trigger = once::<S>();
        b.iter(|| {
            let fd = setup.fd.as_fd();
            setup.subject.modify(fd, KEY, Want::Read, trigger).expect("re-arm");
            black_box(setup.subject.wait(None).expect("wait"))
        })
    });
}

fn registration(c: &mut Criterion) {
    let mut group = c.benchmark_group("registration");
    add_modify_delete::<Ours<Select>>(&mut group);
    add_modify_delete::<Ours<Poll>>(&mut group);
    add_modify_delete::<Ours<Epoll>>(&mut group);
    add_modify_delete::<Ours<Uring>>(&mut group);
    add_modify_delete::<PollingCrate>(&mut group);
    add_modify_delete::<Mio>(&mut group);
    rearm_oneshot::<Ours<Select>>(&mut group);
    rearm_oneshot::<Ours<Poll>>(&mut group);
    rearm_oneshot::<Ours<Epoll>>(&mut group);
    rearm_oneshot::<Ours<Uring>>(&mut group);
    rearm_oneshot::<PollingCrate>(&mut group);
    rearm_oneshot::<Mio>(&mut group);
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = registration
}
criterion_main!(benches);
