//! What a poller does to the rest of its threads: the
//! [Interruptions](multipoll_core::Poller#interruptions) rule.
//!
//! A program that switches backends keeps its other code: a blocking socket read with a
//! timeout, on the thread that made the poller or runs its loop, must not start failing
//! with `EINTR` because the poller changed. io_uring's kernel side does interrupt such
//! calls (task work, for a completion and for the ring's teardown), so the backend
//! declares it in its [`Capabilities`](multipoll_core::Capabilities); this behaviour holds
//! every backend to its declaration, both ways. The echo tests' clients met it as a
//! stalled server: a client read failed with `EINTR` after an earlier test's ring was
//! dropped, and nobody read the echo any more.

use std::io::{self, Read};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::thread;
use std::time::Duration;

use multipoll_core::{Events, Interest, Poller};

use crate::util::{first_mode, send, unix_pair};

/// How long each probing read blocks: much longer than the events it should overlap.
const READ_FOR: Duration = Duration::from_millis(50);
/// How long after the read starts the watched fd becomes ready.
const READY_AFTER: Duration = Duration::from_millis(10);
/// Rounds for a backend that declares no interruption, each two blocked reads long.
const ROUNDS: usize = 4;

/// A blocking read with a timeout (which the kernel does not restart after a signal, but
/// fails with `EINTR`), on a thread that made a poller, submitted to it, got an event
/// during the read, then dropped the poller and read again: it is interrupted only if
/// `capabilities().interrupts_calls()` says so. A backend that declares it must show it
/// within a few rounds, so the declaration is not a blanket excuse.
pub fn interruptions_only_where_declared<P: Poller>() -> io::Result<()> {
    let declared = P::new()?.capabilities().interrupts_calls();
    // A thread of its own: no other test's poller can have this thread's name on it.
    let interrupted = thread::spawn(move || -> io::Result<usize> {
        let mut interrupted = 0;
        for _ in 0..ROUNDS {
            interrupted += round::<P>()?;
            if declared && interrupted > 0 {
                break;
            }
        }
        Ok(interrupted)
    })
    .join()
    .map_err(|_| io::Error::other("the probing thread panicked"))??;
    if declared {
        assert!(interrupted > 0, "declares interrupts_calls, but {ROUNDS} rounds saw none");
    } else {
        assert_eq!(
            interrupted, 0,
            "blocking reads were interrupted (EINTR) without the declaration"
        );
    }
    Ok(())
}

/// One round; returns how many of its two blocked reads were interrupted.
fn round<P: Poller>() -> io::Result<usize> {
    let (mut probe, _silent) = UnixStream::pair()?;
    probe.set_read_timeout(Some(READ_FOR))?;
    let (watched, writer) = unix_pair()?;
    let poller = P::new()?;
    poller.add(watched.as_fd(), 1, Interest::READABLE, first_mode(&poller))?;
    // This thread enters the kernel for the poller (and, where changes are deferred,
    // submits the registration).
    poller.wait(&mut Events::new(), Some(Duration::ZERO))?;
    let ready = thread::spawn(move || {
        thread::sleep(READY_AFTER);
        send(&writer, b"x").map(|()| writer)
    });
    let mut interrupted = usize::from(read_was_interrupted(&mut probe)?);
    let _writer = ready.join().map_err(|_| io::Error::other("the writer panicked"))??;
    drop(poller);
    interrupted += usize::from(read_was_interrupted(&mut probe)?);
    Ok(interrupted)
}

/// Blocks in a read of `probe`, whose peer never writes: `true` if it failed with
/// `Interrupted` before its timeout.
fn read_was_interrupted(probe: &mut UnixStream) -> io::Result<bool> {
    match probe.read(&mut [0; 1]) {
        Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(true),
        Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
            Ok(false)
        }
        Err(e) => Err(e),
        Ok(n) => Err(io::Error::other(format!("read {n} bytes from a silent socket"))),
    }
}
