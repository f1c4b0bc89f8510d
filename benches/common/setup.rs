//! The `wait_scaling` arrangement, shared with `wait_paired`: N registered fds of which
//! exactly one is ready.

use std::io;
use std::net::UdpSocket;
use std::os::fd::AsFd;
use std::rc::Rc;

use super::fds::{self, EventFd};
use super::{Subject, Trigger, Want};

/// N − 1 idle UDP sockets and one ready fd `R`, registered with `subject`.
///
/// The idle sockets may be shared by several setups (one fd can be in many pollers): that
/// is how `wait_paired` keeps five pollers of 10 000 fds each under the fd limit.
#[derive(Debug)]
pub struct Setup<S: Subject, R: AsFd> {
    pub subject: S,
    idle: Rc<Vec<UdpSocket>>,
    pub ready: R,
}

impl<S: Subject, R: AsFd> Setup<S, R> {
    /// Registers `n` fds in all: `n − 1` new idle ones and `ready`, with `trigger`.
    pub fn new(n: usize, ready: R, trigger: Trigger) -> io::Result<Self> {
        Self::sharing(Rc::new(fds::idle_sockets(n - 1)?), ready, trigger)
    }

    /// Registers the `idle` sockets and `ready`, with `trigger`.
    pub fn sharing(idle: Rc<Vec<UdpSocket>>, ready: R, trigger: Trigger) -> io::Result<Self> {
        let mut subject = S::create()?;
        for (key, socket) in idle.iter().enumerate() {
            subject.add(socket.as_fd(), key, Want::Read, trigger)?;
        }
        subject.add(ready.as_fd(), idle.len(), Want::Read, trigger)?;
        Ok(Setup { subject, idle, ready })
    }

    /// One wait, which must report exactly the ready fd (checked in debug builds, so
    /// `cargo test --benches` checks what `cargo bench` times).
    pub fn wait(&mut self) -> usize {
        let n = self.subject.wait(None).expect("wait");
        debug_assert_eq!(n, 1, "{}: a wait must report exactly the ready fd", S::NAME);
        n
    }
}

impl<S: Subject> Setup<S, EventFd> {
    /// A fresh edge (one eventfd write), then a wait that reports it.
    pub fn bump_and_wait(&mut self) -> usize {
        self.ready.bump().expect("bump");
        self.wait()
    }
}

impl<S: Subject, R: AsFd> Drop for Setup<S, R> {
    fn drop(&mut self) {
        // Delete before close, as every poller's contract asks.
        for socket in self.idle.iter() {
            let _ = self.subject.delete(socket.as_fd());
        }
        let _ = self.subject.delete(self.ready.as_fd());
    }
}
