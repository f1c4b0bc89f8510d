//! The suite's isolation lock: behaviours that depend on which fd numbers are open run
//! alone.

use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Whether a behaviour may run alongside others in the same process.
///
/// `cargo test` runs tests on parallel threads of one process, which share one fd table.
/// A few behaviours need the fd numbers to themselves: one closes an fd and uses its
/// number, which another test could reopen in between; one opens a thousand fds, which
/// could push other tests' fds past a backend's [`max_fd`](multipoll_core::Capabilities::max_fd).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isolation {
    /// Runs in parallel with other `Shared` behaviours.
    Shared,
    /// Runs with no other behaviour of this suite in progress.
    Alone,
}

static FD_TABLE: RwLock<()> = RwLock::new(());

/// Held while a behaviour runs; see [`Isolation`].
#[derive(Debug)]
pub enum IsolationGuard {
    /// A [`Isolation::Shared`] behaviour is running.
    Shared(RwLockReadGuard<'static, ()>),
    /// A [`Isolation::Alone`] behaviour is running.
    Alone(RwLockWriteGuard<'static, ()>),
}

/// Waits until a behaviour of `isolation` may run, and holds that right until dropped.
pub fn isolate(isolation: Isolation) -> IsolationGuard {
    // A failed (panicked) behaviour poisons the lock; the lock guards no data, so carry on.
    match isolation {
        Isolation::Shared => {
            IsolationGuard::Shared(FD_TABLE.read().unwrap_or_else(|e| e.into_inner()))
        }
        Isolation::Alone => {
            IsolationGuard::Alone(FD_TABLE.write().unwrap_or_else(|e| e.into_inner()))
        }
    }
}
