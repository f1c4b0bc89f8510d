//! The helpers every behaviour shares, one file per kind, all reached as `util::NAME`:
//! sockets on every platform (stream and TCP pairs, one-way pairs, sending, draining,
//! resets: `sockets.rs`), what only Unix has (Unix socket pairs, pipes, urgent data, fd
//! numbers, the fd limit: `fds.rs`), a checked `wait`
//! and the `expect_*` assertions (`expect.rs`), a waiter thread that can always be woken
//! (`waiter.rs`), whether a wait blocked or spun (`cpu.rs`), and the isolation lock
//! (`isolation.rs`).
//!
//! They are public so that a backend's own tests can use them too. Assertions are
//! `#[track_caller]`, so a failure points at the behaviour's line, not at this file.
//!
//! Time is the suite's only source of flakiness, so it is handled in one way everywhere:
//! correctness never depends on a sleep. Sleeps only give a blocked thread time to enter
//! the kernel ([`SETTLE`]); waits that should end early get a long finite timeout
//! ([`LONG`]) and an assertion on how long they took ([`PROMPT`]).
mod cpu;
mod expect;
#[cfg(unix)]
mod fds;
mod isolation;
mod sockets;
mod waiter;

pub use cpu::*;
pub use expect::*;
#[cfg(unix)]
pub use fds::*;
pub use isolation::*;
pub use sockets::*;
pub use waiter::*;

use std::time::Duration;

/// A timeout that is never reached by a correct backend: waits that should end early use
/// it, so a broken backend fails the test instead of hanging it.
pub const LONG: Duration = Duration::from_secs(10);

/// How soon something that should happen "at once" must have happened. Generous: the
/// machines that run this suite are shared and noisy.
pub const PROMPT: Duration = Duration::from_secs(5);

/// How long to let another thread block in `wait` before acting on the poller.
pub const SETTLE: Duration = Duration::from_millis(100);

/// How long to listen when checking that nothing is reported.
pub const QUIET: Duration = Duration::from_millis(200);

/// How late a timed-out `wait` may return and still count as on time.
pub const LATE: Duration = Duration::from_secs(1);

/// The key of [`wait_in_thread`]'s rescue pair; behaviours do not use it.
pub const BACKSTOP_KEY: usize = usize::MAX - 2;

/// How many `Ok(0)` returns before the timeout [`expect_no_events`] accepts as spurious
/// wake-ups; more is a backend that spins.
pub const MAX_SPURIOUS: usize = 5;
