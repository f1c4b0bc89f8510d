//! [`PerWaiter`]: the buffers of a backend whose waiters each need their own (a syscall's
//! set or result array), handed out so that no waiter queues behind another.
//!
//! The contract lets several threads wait on one poller, each honouring its own timeout.
//! A single buffer behind a mutex held across the syscall breaks that: a second waiter
//! blocks on the lock, outside the kernel, for as long as the first one waits, and its
//! timeout (even zero) means nothing. So a waiter that finds the buffer taken gets a spare
//! one instead and enters the kernel at once.

use std::io;
use std::sync::{Mutex, TryLockError};

use crate::backend::table::lock;

/// One `T` per thread in `wait`: the first waiter's costs one uncontended try-lock; a
/// concurrent waiter takes a spare, created on first need and kept for the next time.
#[derive(Debug)]
pub struct PerWaiter<T> {
    first: Mutex<T>,
    spares: Mutex<Vec<T>>,
}

impl<T> PerWaiter<T> {
    /// A set whose first buffer is `first`.
    pub fn new(first: T) -> PerWaiter<T> {
        PerWaiter { first: Mutex::new(first), spares: Mutex::new(Vec::new()) }
    }

    /// Runs `f` with a buffer no other thread is using: the first one if it is free, else
    /// a spare (made by `make` when none is idle). Never blocks on another waiter.
    ///
    /// # Errors
    /// Those of `make` and `f`.
    pub fn with<R>(
        &self,
        make: impl FnOnce() -> io::Result<T>,
        f: impl FnOnce(&mut T) -> io::Result<R>,
    ) -> io::Result<R> {
        match self.first.try_lock() {
            Ok(mut buffer) => return f(&mut buffer),
            // A panic elsewhere cannot leave a buffer half-changed in a way that matters:
            // every user rebuilds what it reads (see `table::lock`).
            Err(TryLockError::Poisoned(poisoned)) => return f(&mut poisoned.into_inner()),
            Err(TryLockError::WouldBlock) => {}
        }
        let spare = lock(&self.spares).pop();
        let mut buffer = match spare {
            Some(buffer) => buffer,
            None => make()?,
        };
        let result = f(&mut buffer);
        lock(&self.spares).push(buffer);
        result
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Barrier;
    use std::thread;

    use super::*;

    #[test]
    fn concurrent_users_never_share_or_wait() {
        let buffers = PerWaiter::new(0_u32);
        let inside = Barrier::new(2);
        let made = std::sync::atomic::AtomicUsize::new(0);
        thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    buffers
                        .with(
                            || {
                                made.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                Ok(100)
                            },
                            |b| {
                                *b += 1;
                                // Both threads are inside at once: neither waits for the other.
                                inside.wait();
                                Ok(())
                            },
                        )
                        .unwrap();
                });
            }
        });
        assert_eq!(made.into_inner(), 1, "one spare for the second waiter");
        assert_eq!(*buffers.first.lock().unwrap(), 1);
        assert_eq!(*buffers.spares.lock().unwrap(), [101], "the spare is kept for reuse");
        let fresh = || -> io::Result<u32> { panic!("the first buffer is free") };
        buffers
            .with(fresh, |b| {
                *b += 1;
                Ok(())
            })
            .unwrap();
        assert_eq!(*buffers.first.lock().unwrap(), 2);
    }
}
