//! The conformance suite for [`multipoll_core::Poller`]: one set of behaviours, generic over
//! the backend, that every multipoll backend — and any third party's — must pass.
//!
//! multipoll's backends are interchangeable only if they behave identically, and the
//! [`Poller`] trait's documentation is the contract that says how. This crate turns each
//! promise of that contract into a behaviour: a `pub fn name<P: Poller>() -> io::Result<()>`
//! whose doc comment names the promise it checks. A backend is conformant when all of them
//! pass; a bug found in one backend becomes a behaviour that every backend then runs.
//!
//! # Running the suite on a backend
//!
//! Add the crate as a dev-dependency and write one test file with one line:
//!
//! ```toml
//! [dev-dependencies]
//! multipoll-conformance = "0.1"
//! ```
//!
//! ```text
//! // tests/conformance.rs
//! multipoll_conformance::conformance_tests!(my_backend::MyPoller);
//! ```
//!
//! [`conformance_tests!`] expands to one `#[test]` per behaviour, named after it, so
//! `cargo test --test conformance` lists `add_twice`, `readable_on_data`, … and a filter
//! runs one (`cargo test --test conformance oneshot`). To run the suite from your own
//! harness instead, call [`run_all`], or iterate over [`behaviours`]:
//!
//! ```text
//! for b in multipoll_conformance::behaviours::<my_backend::MyPoller>() {
//!     b.run().unwrap_or_else(|e| panic!("{}: {e}", b.name));
//! }
//! ```
//!
//! # What is checked
//!
//! The behaviours are grouped by theme, one module each; each module says why its promises
//! matter:
//!
//! - [`registration`]: the errors table, "a failed call changes nothing", keys, fd limits,
//!   capabilities;
//! - [`readiness`]: readable, writable, hang-up and reset on Unix sockets, TCP, pipes and
//!   listeners, the interest filtering of flags, and urgent data (not readable);
//! - [`modes`]: level, oneshot, edge, `modify`, `delete`, `Interest::NONE`;
//! - [`threads`]: `notify`, and registration changes during a blocked `wait`;
//! - [`waiters`]: several threads waiting at once, each keeping its own timeout;
//! - [`sharing`]: several threads waiting at once, sharing what is ready (who is woken, who
//!   reports what, nothing lost between them);
//! - [`races`]: registration changes in every mode, and notifies from many threads at
//!   once, racing with a `wait`;
//! - [`pollers`]: several pollers sharing one fd, each an independent registration;
//! - `nesting` (Unix): a poller that is an fd, registered in another (run per pair of
//!   types, outside [`behaviours`], since it needs `AsFd`);
//! - [`timing`]: timeouts (zero, sub-millisecond, huge, their accuracy) and signals
//!   (`EINTR`);
//! - `interruptions` (Unix): a poller interrupts no other blocking call of its threads,
//!   unless its capabilities declare it (io_uring);
//! - [`scale`]: many fds, many TCP connections, a full `Events` buffer (no loss, no
//!   starvation), fd reuse, fds closed while registered.
//!
//! [`util`] holds the helpers they share, and [`herd`] the one that runs several waiters at
//! once; backends may use both in their own tests.
//!
//! Each behaviour creates its own poller and fds, and bounds itself in time: a backend
//! that misses a wake-up fails the test (after about ten seconds), it does not hang it.
//! Behaviours marked [`Isolation::Alone`] run with no other behaviour in progress, because
//! they depend on which fd numbers are open in the process.
//!
//! # Platforms
//!
//! Unix and Windows. A behaviour about sockets runs unchanged on both: it asks
//! [`util`] for a [`stream_pair`](util::stream_pair) (a Unix socket pair on Unix, a
//! loopback TCP pair on Windows) or a [`one_way`](util::one_way) pair (a pipe on Unix, a
//! TCP pair on Windows). Behaviours about pipes, fd numbers, regular files, signals and
//! TCP urgent data run on Unix only; the behaviour list says which, and why, once. On
//! Windows `cargo test --test conformance -- --list` shows the list that runs there.
#![deny(missing_docs, missing_debug_implementations)]
#![doc(test(attr(deny(warnings))))]

pub mod herd;
#[cfg(unix)]
pub mod interruptions;
pub mod modes;
#[cfg(unix)]
pub mod nesting;
pub mod pollers;
pub mod races;
pub mod readiness;
pub mod registration;
pub mod scale;
pub mod sharing;
pub mod threads;
pub mod timing;
pub mod util;
pub mod waiters;

use std::io;
use std::panic::{self, AssertUnwindSafe};

use multipoll_core::Poller;

pub use util::Isolation;

/// Calls back `$callback! { [$args] module::name: Isolation, ... }` with every behaviour:
/// the one list that [`conformance_tests!`] and [`behaviours`] are both made from.
///
/// Every behaviour runs on every platform unless it is marked `#[cfg(unix)]`, with a
/// tag naming why; Windows' list is the rest (`cargo test --test conformance -- --list`).
/// The reasons:
/// - `pipes`: the promise is about pipes, which Windows cannot poll (only sockets);
/// - `fd-numbers`: it closes, reuses (`dup2`) or places fd numbers, or raises
///   `RLIMIT_NOFILE`; Windows' socket handles have no numbers to choose;
/// - `files`: regular files, directories and `/dev/null`, which are not sockets;
/// - `signals`: Unix signals (`EINTR`, `pthread_kill`, a handler), which Windows lacks;
/// - `urgent`: TCP urgent data, which the suite sends and inspects with `MSG_OOB` and
///   `poll(2)` for `POLLPRI`; Winsock reads the urgent pointer the older (RFC 793) way
///   unless told otherwise, and Microsoft's docs discourage out-of-band data.
#[doc(hidden)]
#[macro_export]
macro_rules! __for_each_behaviour {
    ([$($callback:tt)*] $args:tt) => {
        $($callback)*! { $args
            registration::add_twice: Shared,
            registration::modify_unknown: Shared,
            registration::delete_unknown: Shared,
            registration::reserved_key_add: Shared,
            registration::reserved_key_modify: Shared,
            registration::keys_near_max: Shared,
            #[cfg(unix)] // fd-numbers
            registration::add_closed_fd: Alone,
            #[cfg(unix)] // files
            registration::unpollable_files: Shared,
            registration::failed_calls_change_nothing: Shared,
            registration::delete_then_add_again: Shared,
            #[cfg(unix)] // fd-numbers
            registration::fd_limits: Shared,
            registration::capabilities_coherent: Shared,
            readiness::readable_on_data: Shared,
            readiness::readable_on_tcp: Shared,
            #[cfg(unix)] // pipes
            readiness::readable_on_pipe: Shared,
            readiness::writable_on_fresh_socket: Shared,
            readiness::writable_on_tcp: Shared,
            #[cfg(unix)] // pipes
            readiness::writable_on_pipe: Shared,
            readiness::interest_filters_flags: Shared,
            readiness::hangup_on_peer_close: Shared,
            #[cfg(unix)] // pipes
            readiness::hangup_with_data_pending: Shared,
            readiness::hangup_not_reported_to_writers: Shared,
            readiness::hangup_on_tcp_close: Shared,
            readiness::hangup_on_peer_reset: Shared,
            readiness::refused_connect_keeps_its_error: Shared,
            readiness::refused_connect_reported_to_writers: Shared,
            #[cfg(unix)] // urgent
            readiness::wait_consumes_nothing: Shared,
            #[cfg(unix)] // pipes
            readiness::hangup_on_pipe: Shared,
            readiness::listener_readable_on_connect: Shared,
            #[cfg(unix)] // urgent
            readiness::urgent_data_alone_is_not_readable: Shared,
            #[cfg(unix)] // urgent
            readiness::priority_on_urgent_data: Shared,
            readiness::wait_clears_events: Shared,
            readiness::wait_never_appends: Shared,
            modes::level_repeats_until_drained: Shared,
            modes::oneshot_fires_once: Shared,
            modes::oneshot_stays_registered: Shared,
            modes::edge_fires_once_per_arrival: Shared,
            modes::edge_oneshot_fires_once_until_rearmed: Shared,
            modes::modify_changes_mode: Shared,
            modes::delete_stops_events: Shared,
            modes::delete_then_close_closes: Shared,
            modes::interest_none_silences: Shared,
            modes::modify_changes_key: Shared,
            modes::modify_changes_interest: Shared,
            threads::notify_wakes_wait: Shared,
            threads::notify_before_wait: Shared,
            threads::notify_coalesces: Shared,
            threads::notify_is_not_an_event: Shared,
            threads::add_during_wait: Shared,
            threads::busy_changer_does_not_delay_waiter: Shared,
            threads::modify_during_wait: Shared,
            threads::delete_during_wait: Shared,
            threads::concurrent_registration: Shared,
            threads::wait_from_two_threads: Shared,
            waiters::second_waiter_zero_timeout: Shared,
            waiters::second_waiter_keeps_its_timeout: Shared,
            waiters::waiters_blocked_until_notified: Shared,
            waiters::change_seen_by_one_of_two_waiters: Shared,
            waiters::readiness_during_two_waits_reported_once: Shared,
            sharing::level_ready_wakes_every_waiter: Shared,
            sharing::modify_and_delete_during_several_waits: Shared,
            sharing::change_seen_after_another_waiter_left: Shared,
            sharing::nothing_lost_between_waiters: Shared,
            races::add_during_wait_each_mode: Shared,
            races::modify_during_wait_each_mode: Shared,
            races::change_does_not_shorten_timeout: Shared,
            races::notify_from_many_threads: Shared,
            races::notify_never_lost: Shared,
            races::concurrent_read_is_not_a_hangup: Shared,
            pollers::two_pollers_level: Shared,
            pollers::two_pollers_oneshot: Shared,
            pollers::two_pollers_edge: Shared,
            pollers::two_pollers_wake_together: Shared,
            pollers::two_pollers_different_interest: Shared,
            pollers::notify_is_per_poller: Shared,
            timing::idle_wait_times_out: Shared,
            timing::zero_timeout_never_blocks: Shared,
            timing::sub_ms_timeout_waits: Shared,
            timing::wait_deadline_honoured: Shared,
            timing::timeouts_are_accurate: Shared,
            timing::huge_timeout_is_not_an_error: Shared,
            #[cfg(unix)] // signals
            timing::signal_does_not_shorten_timeout: Shared,
            #[cfg(unix)] // signals
            timing::signal_then_data_reported: Shared,
            #[cfg(unix)] // signals
            timing::notify_from_signal_handler: Shared,
            #[cfg(unix)] // signals
            interruptions::interruptions_only_where_declared: Shared,
            #[cfg(unix)] // fd-numbers
            scale::many_fds_few_ready: Alone,
            scale::many_connections: Alone,
            scale::capacity_no_loss_level: Shared,
            scale::capacity_no_loss_oneshot: Shared,
            scale::capacity_no_loss_edge: Shared,
            scale::capacity_no_starvation: Shared,
            #[cfg(unix)] // fd-numbers
            scale::fd_reuse_after_delete: Shared,
            #[cfg(unix)] // fd-numbers
            scale::closed_without_delete: Alone,
            #[cfg(unix)] // fd-numbers
            scale::reused_before_wait: Shared,
        }
    };
}

/// Expands to one `#[test]` per behaviour of the suite, run on the poller type `$poller`.
///
/// Each test is named after its behaviour (`add_twice`, `readable_on_data`, …), returns
/// `io::Result<()>`, and holds the suite's [isolation](Isolation) lock while it runs. Use
/// it once, at the top level of an integration test file or inside a module:
///
/// ```text
/// // tests/conformance.rs
/// multipoll_conformance::conformance_tests!(multipoll_poll::Poll);
/// ```
#[macro_export]
macro_rules! conformance_tests {
    ($poller:ty) => {
        $crate::__for_each_behaviour!([$crate::__conformance_tests][$poller]);
    };
}

/// The body of [`conformance_tests!`]: the tests, from the behaviour list.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_tests {
    ([$poller:ty] $($(#[$cfg:meta])* $module:ident::$name:ident: $isolation:ident,)*) => {
        $(
            $(#[$cfg])*
            #[test]
            fn $name() -> ::std::io::Result<()> {
                let _isolation = $crate::util::isolate($crate::Isolation::$isolation);
                $crate::$module::$name::<$poller>()
            }
        )*
    };
}

/// The body of [`behaviours`]: the table, from the behaviour list.
macro_rules! behaviour_table {
    ([$poller:ty] $($(#[$cfg:meta])* $module:ident::$name:ident: $isolation:ident,)*) => {
        vec![$(
            $(#[$cfg])*
            Behaviour {
                name: stringify!($name),
                module: stringify!($module),
                isolation: Isolation::$isolation,
                test: $module::$name::<$poller>,
            },
        )*]
    };
}

/// One behaviour of the suite, instantiated for one poller type.
#[derive(Clone, Copy, Debug)]
pub struct Behaviour {
    /// The behaviour's name, as in [`conformance_tests!`] and in this crate's docs.
    pub name: &'static str,
    /// The module that holds it (its theme).
    pub module: &'static str,
    /// Whether it may run in parallel with others.
    pub isolation: Isolation,
    /// The behaviour itself; prefer [`Behaviour::run`], which also takes the isolation lock.
    pub test: fn() -> io::Result<()>,
}

impl Behaviour {
    /// Runs the behaviour under its [isolation](Isolation) lock.
    ///
    /// # Errors
    /// The first unexpected I/O error. A broken promise panics, with a message that names
    /// it.
    pub fn run(&self) -> io::Result<()> {
        let _isolation = util::isolate(self.isolation);
        (self.test)()
    }
}

/// Every behaviour of the suite, for the poller type `P`, in documentation order.
pub fn behaviours<P: Poller>() -> Vec<Behaviour> {
    __for_each_behaviour!([behaviour_table][P])
}

/// Runs every behaviour on `P`, one after the other, and reports all failures at once.
///
/// Each behaviour runs even if an earlier one failed (panics are caught; their messages
/// are printed by the panic hook as usual).
///
/// # Errors
/// An error listing each failed behaviour with its error or panic message.
pub fn run_all<P: Poller>() -> io::Result<()> {
    let mut failures = Vec::new();
    for behaviour in behaviours::<P>() {
        match panic::catch_unwind(AssertUnwindSafe(|| behaviour.run())) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failures.push(format!("{}: {e}", behaviour.name)),
            Err(panic) => {
                let message = panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("panicked");
                failures.push(format!("{}: {message}", behaviour.name));
            }
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "{} behaviour(s) failed:\n{}",
            failures.len(),
            failures.join("\n")
        )))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::time::Duration;

    use multipoll_core::{Capabilities, Events, Interest, Mode, Source};

    use super::*;

    /// A backend that cannot even be created: every behaviour must fail, at once.
    #[derive(Debug)]
    struct Unavailable;

    impl Poller for Unavailable {
        fn new() -> io::Result<Self> {
            Err(io::Error::new(io::ErrorKind::Unsupported, "no such kernel"))
        }
        fn add(&self, _: Source<'_>, _: usize, _: Interest, _: Mode) -> io::Result<()> {
            unreachable!("never created")
        }
        fn modify(&self, _: Source<'_>, _: usize, _: Interest, _: Mode) -> io::Result<()> {
            unreachable!("never created")
        }
        fn delete(&self, _: Source<'_>) -> io::Result<()> {
            unreachable!("never created")
        }
        fn wait(&self, _: &mut Events, _: Option<Duration>) -> io::Result<usize> {
            unreachable!("never created")
        }
        fn notify(&self) -> io::Result<()> {
            unreachable!("never created")
        }
        fn capabilities(&self) -> Capabilities {
            unreachable!("never created")
        }
    }

    #[test]
    fn behaviour_names_are_unique() {
        let all = behaviours::<Unavailable>();
        let names: HashSet<&str> = all.iter().map(|b| b.name).collect();
        assert_eq!(names.len(), all.len(), "a name appears twice");
        assert!(all.len() >= 35, "only {} behaviours", all.len());
    }

    #[test]
    fn run_all_reports_every_failure() {
        let err = run_all::<Unavailable>().expect_err("nothing can pass without a poller");
        let message = err.to_string();
        for b in behaviours::<Unavailable>() {
            assert!(
                message.contains(&format!("\n{}: ", b.name)),
                "{} missing from {message}",
                b.name
            );
        }
    }
}
