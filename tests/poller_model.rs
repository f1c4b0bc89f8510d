//! Model-based property tests of the `Poller` API: random sequences of add / modify /
//! delete / reopen / peer writes / reads / peer close / notify / wait, checked against the
//! reference model in `model/` on every backend that runs here, and differentially between
//! backends (same sequence, same observable results).
//!
//! `PROPTEST_CASES=5000 cargo test --test poller_model` runs a long search; the default
//! keeps `cargo test` fast. Counter-examples found by shrinking are kept below as named
//! regression tests.

// The root package's tests compare the backends Linux has (epoll among them).
#![cfg(any(target_os = "linux", target_os = "android"))]

mod model;

use model::{Op, fail, run};
use multipoll::{Epoll, Poll, Poller, Select, Uring};
use proptest::prelude::*;

fn config() -> ProptestConfig {
    // `PROPTEST_CASES` overrides the default below (proptest reads it itself).
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(256);
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(model::op(), 1..48)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn model_poll(ops in ops(), capacity in 1..6usize) {
        run::<Poll>(&ops, capacity)?;
    }

    #[test]
    fn model_select(ops in ops(), capacity in 1..6usize) {
        run::<Select>(&ops, capacity)?;
    }

    #[test]
    fn model_epoll(ops in ops(), capacity in 1..6usize) {
        run::<Epoll>(&ops, capacity)?;
    }

    #[test]
    fn model_uring(ops in ops(), capacity in 1..6usize) {
        run::<Uring>(&ops, capacity)?;
    }

    /// With room for every event, two backends must report exactly the same thing.
    #[test]
    fn same_as_poll_epoll(ops in ops()) {
        differential::<Poll, Epoll>(&ops)?;
    }

    #[test]
    fn same_as_select_poll(ops in ops()) {
        differential::<Select, Poll>(&ops)?;
    }

    #[test]
    fn same_as_epoll_uring(ops in ops()) {
        differential::<Epoll, Uring>(&ops)?;
    }
}

fn differential<A: Poller, B: Poller>(ops: &[Op]) -> Result<(), TestCaseError> {
    let a = run::<A>(ops, 64)?;
    let b = run::<B>(ops, 64)?;
    // Edge mode is `Unsupported` on poll and select and not on epoll or uring (the model
    // checks both); sequences using it diverge by design from there on, unless both have it.
    let edge = |caps: multipoll::Capabilities| caps.supports(multipoll::Mode::Edge);
    let both_edge = edge(A::new().map_err(fail)?.capabilities())
        && edge(B::new().map_err(fail)?.capabilities());
    if both_edge || !uses_edge(ops) {
        prop_assert_eq!(a, b);
    }
    Ok(())
}

// Counter-examples shrinking found, kept as named regressions. Each ran the model on every
// backend and failed on at least one before its fix.

fn regression(ops: &[Op], capacity: usize) {
    run::<Poll>(ops, capacity).unwrap();
    run::<Select>(ops, capacity).unwrap();
    run::<Epoll>(ops, capacity).unwrap();
    run::<Uring>(ops, capacity).unwrap();
    differential::<Select, Poll>(ops).unwrap();
    differential::<Poll, Epoll>(ops).unwrap();
    differential::<Epoll, Uring>(ops).unwrap();
}

/// poll and epoll reported `hangup` to a write-only registration (select, without a
/// hang-up bit of its own, did not).
/// Fixed by reporting hang-ups to readable registrations only.
#[test]
fn hangup_to_write_only_registration() {
    regression(
        &[Op::ClosePeer { slot: 0 }, Op::Add { slot: 0, key: 0, interest: 1, mode: 0 }, Op::Wait],
        1,
    );
}

/// epoll asked the kernel for one event more than `Events` holds, and dropped it: a
/// oneshot fd was disarmed without being reported.
#[test]
fn epoll_full_buffer_loses_no_oneshot() {
    regression(
        &[
            Op::Add { slot: 2, key: 0, interest: 1, mode: 1 },
            Op::Write { slot: 3, len: 1 },
            Op::Add { slot: 3, key: 0, interest: 2, mode: 1 },
            Op::Wait,
            Op::Wait,
        ],
        1,
    );
}

/// A pipe's read end registered for writing, whose writer closed: poll and epoll report
/// `POLLHUP`, which no flag carried, so the event was dropped — and a level-triggered
/// `wait` would have spun on it. Now it is reported as writable (a write fails at once).
#[test]
fn hangup_on_write_only_pipe_is_reported() {
    regression(
        &[
            Op::ClosePeer { slot: 1 },
            Op::Add { slot: 1, key: 0, interest: 0, mode: 0 },
            Op::Modify { slot: 1, key: 0, interest: 1, mode: 0 },
            Op::Add { slot: 0, key: 0, interest: 1, mode: 0 },
            Op::Wait,
        ],
        1,
    );
}

/// A notify still pending when a wait returns events takes a place in a later wait
/// (epoll hands the wake-up over with the events); the model must allow it.
#[test]
fn pending_notify_takes_a_place() {
    regression(
        &[Op::Add { slot: 0, key: 0, interest: 1, mode: 0 }, Op::Notify, Op::Wait, Op::Wait],
        1,
    );
}

/// An edge registration for both directions on a socket: epoll re-polls the file at the
/// wake-up and reports readable and writable; io_uring's multishot completion carried only
/// the wake-up's key (`POLLIN`). Fixed by asking the file when the key lacks a direction
/// the registration asked for.
#[test]
fn uring_edge_both_reports_the_file_state() {
    regression(
        &[
            Op::Add { slot: 0, key: 0, interest: 214, mode: 2 },
            Op::Wait,
            Op::Write { slot: 0, len: 1 },
            Op::Wait,
        ],
        1,
    );
}

/// Two wake-ups of an edge registration before a wait post two completions; with a full
/// `Events`, io_uring reported the second in the next wait, where epoll (one ready-list
/// entry per fd) reports once. Fixed by taking every completion and merging by
/// registration.
#[test]
fn uring_edge_wake_ups_are_reported_once() {
    regression(
        &[
            Op::Add { slot: 2, key: 0, interest: 20, mode: 92 },
            Op::Add { slot: 3, key: 0, interest: 60, mode: 0 },
            Op::Wait,
            Op::Write { slot: 2, len: 1 },
            Op::ClosePeer { slot: 3 },
            Op::Write { slot: 2, len: 1 },
            Op::Wait,
            Op::Wait,
        ],
        2,
    );
}

/// A level registration whose completion did not fit in `Events` is drained before the
/// next wait: epoll re-polls its ready list and reports nothing; io_uring reported the
/// completion it had kept.
#[test]
fn uring_level_carried_over_is_checked_again() {
    regression(
        &[
            Op::Add { slot: 0, key: 0, interest: 0, mode: 0 },
            Op::Add { slot: 2, key: 0, interest: 0, mode: 0 },
            Op::Write { slot: 0, len: 1 },
            Op::Write { slot: 2, len: 1 },
            Op::Wait,
            Op::Drain { slot: 0 },
            Op::Drain { slot: 2 },
            Op::Wait,
        ],
        1,
    );
}

/// A level registration's poll completes as data arrives (the completion is posted while
/// the caller runs), and the caller drains the fd before it waits: epoll re-polls and
/// reports nothing; io_uring reported the completion. Fixed by polling single-shot
/// registrations afresh in the wait's enter, and asking the file for other completions
/// found in the ring as a wait begins.
#[test]
fn uring_level_drained_before_the_wait() {
    regression(
        &[
            Op::Add { slot: 0, key: 0, interest: 0, mode: 0 },
            Op::Wait,
            Op::Write { slot: 0, len: 1 },
            Op::Drain { slot: 0 },
            Op::Wait,
        ],
        1,
    );
}

/// Two completions of one edge registration in one wait took two places in `Events`
/// (merged only at the end), so another ready fd that would have fitted waited.
#[test]
fn uring_edge_wake_ups_take_one_place() {
    regression(
        &[
            Op::Add { slot: 1, key: 0, interest: 92, mode: 221 },
            Op::Wait,
            Op::Write { slot: 1, len: 1 },
            Op::Add { slot: 2, key: 0, interest: 13, mode: 0 },
            Op::Write { slot: 1, len: 1 },
            Op::Wait,
        ],
        2,
    );
}

fn uses_edge(ops: &[Op]) -> bool {
    ops.iter()
        .any(|op| matches!(op, Op::Add { mode, .. } | Op::Modify { mode, .. } if mode % 3 == 2))
}
