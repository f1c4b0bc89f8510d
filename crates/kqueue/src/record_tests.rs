//! Unit tests of the registration record (what a returned kevent is reported as, oneshot
//! included, and the closed-fd probe); they run on every host, Linux included.

use super::*;
use crate::changes::tests::{FD, actions, kev, receipt, req};
use crate::changes::{check_receipts, plan};
use crate::kevent::ev;
use multipoll_core::{Interest, Mode};

use Action::{Add, Probe};
use Filter::{Read, Write};

#[test]
fn readiness_mapping() {
    let r = kev(Read, 0, 0).readiness();
    assert!(r.readable && !r.writable && !r.hangup && !r.error);
    let w = kev(Write, 0, 0).readiness();
    assert!(w.writable && !w.readable && !w.hangup && !w.error);

    let eof = kev(Read, ev::EOF, 0).readiness();
    assert!(eof.readable && eof.hangup && !eof.error, "EOF is a hang-up, readable");
    let reset = kev(Read, ev::EOF, libc::ECONNRESET as u32).readiness();
    assert!(reset.readable && reset.hangup && reset.error, "fflags is the error");
    let gone = kev(Write, ev::EOF, 0).readiness();
    assert!(gone.writable && gone.hangup && gone.readable);
    assert!(!kev(Read, 0, 5).readiness().error, "fflags only counts with EOF");
}

#[test]
fn events_follow_interest() {
    let mut both = Record::new(req(4, Interest::BOTH, Mode::Level));
    let mut read = Record::new(req(4, Interest::READABLE, Mode::Level));
    let e = both.on_kevent(&kev(Write, ev::EOF, 0), 1).unwrap();
    assert!(e.is_writable() && e.is_readable() && e.is_hangup() && e.key() == 4);
    // A write knote of a registration that no longer wants writes is stale.
    assert_eq!(read.on_kevent(&kev(Write, 0, 0), 1), None);
    let e = read.on_kevent(&kev(Read, ev::EOF, 1), 1).unwrap();
    assert_eq!(
        (e.is_readable(), e.is_writable(), e.is_hangup(), e.is_error()),
        (true, false, true, true)
    );
    let mut none = Record::new(req(4, Interest::NONE, Mode::Level));
    assert_eq!(none.on_kevent(&kev(Read, 0, 0), 1), None, "NONE is silent");
    let unknown = Kevent { filter: None, ..kev(Read, 0, 0) };
    assert_eq!(both.on_kevent(&unknown, 1), None);
}

#[test]
fn level_and_edge_report_every_round() {
    for mode in [Mode::Level, Mode::Edge] {
        let mut e = Record::new(req(1, Interest::BOTH, mode));
        for round in 1..4 {
            assert!(e.on_kevent(&kev(Read, 0, 0), round).is_some());
            assert!(e.on_kevent(&kev(Read, 0, 0), round).is_some(), "twice in one round");
        }
        assert!(e.armed);
    }
}

#[test]
fn oneshot_both_reports_once_per_arming() {
    let mut e = Record::new(req(8, Interest::BOTH, Mode::Oneshot));
    // Round 1: the read knote fires (the kernel disabled it, EV_DISPATCH).
    let ev1 = e.on_kevent(&kev(Read, 0, 0), 1).unwrap();
    assert!(ev1.is_readable() && !ev1.is_writable());
    assert!(!e.armed);
    // Round 2, another waiter or a later wait: the write knote, still enabled, fires once
    // (and the kernel disables it); it is stale.
    assert_eq!(e.on_kevent(&kev(Write, 0, 0), 2), None);
    assert_eq!(e.on_kevent(&kev(Read, 0, 0), 2), None);
    // modify re-arms: a fresh entry, and plan re-enables both knotes.
    let r = e.request;
    assert_eq!(
        actions(&plan(FD, Some(r), Some(r))),
        [(Read, Add(Mode::Oneshot), 8), (Write, Add(Mode::Oneshot), 8)]
    );
    let mut e = Record::new(r);
    assert!(e.on_kevent(&kev(Write, 0, 0), 3).unwrap().is_writable());
    assert_eq!(e.on_kevent(&kev(Read, 0, 0), 4), None);
}

#[test]
fn oneshot_both_directions_in_one_round_are_one_report() {
    let mut e = Record::new(req(8, Interest::BOTH, Mode::Oneshot));
    let r = e.on_kevent(&kev(Read, 0, 0), 5).unwrap();
    let w = e.on_kevent(&kev(Write, 0, 0), 5).unwrap();
    assert!(r.is_readable() && w.is_writable() && r.key() == w.key(), "merged by key later");
    assert_eq!(e.on_kevent(&kev(Read, 0, 0), 6), None);
}

#[test]
fn oneshot_concurrent_rounds_report_once() {
    // Two waiters got a knote each from the kernel; their reports take the table lock one
    // after the other, with rounds 7 and 8: only the first reports.
    let mut e = Record::new(req(8, Interest::BOTH, Mode::Oneshot));
    assert!(e.on_kevent(&kev(Write, 0, 0), 7).is_some());
    assert_eq!(e.on_kevent(&kev(Read, 0, 0), 8), None);
    assert_eq!(e.on_kevent(&kev(Write, 0, 0), 9), None);
}

#[test]
fn probe_asks_without_changing() {
    let level = Record::new(req(3, Interest::WRITABLE, Mode::Level));
    let probe = level.probe(FD).unwrap();
    assert_eq!((probe.fd, probe.filter, probe.action, probe.udata), (FD, Write, Probe(true), 3));
    assert_eq!(probe.flags(), ev::ENABLE | ev::RECEIPT, "no EV_ADD: a gone knote is not made");
    let both = Record::new(req(3, Interest::BOTH, Mode::Edge));
    assert_eq!(both.probe(FD).unwrap().filter, Read, "one knote is enough");

    let mut fired = Record::new(req(3, Interest::BOTH, Mode::Oneshot));
    fired.on_kevent(&kev(Read, 0, 0), 1);
    let probe = fired.probe(FD).unwrap();
    assert_eq!(probe.flags(), ev::DISABLE | ev::RECEIPT, "a reported oneshot stays silent");

    let none = Record::new(req(3, Interest::NONE, Mode::Level));
    assert_eq!(none.probe(FD), None, "no knote to ask: registered until delete");
}

#[test]
fn probe_outcome() {
    let probe = Record::new(req(3, Interest::READABLE, Mode::Level)).probe(FD).unwrap();
    let outcome = |errno| probe_says_gone(check_receipts(&[probe], &[receipt(errno)]));
    assert!(!outcome(0).unwrap(), "the kernel has it: AlreadyExists");
    assert!(outcome(libc::ENOENT).unwrap(), "closed since: the entry is stale");
    assert_eq!(outcome(libc::ENOMEM).unwrap_err().kind(), io::ErrorKind::OutOfMemory);
    assert_eq!(outcome(libc::EBADF).unwrap_err().kind(), io::ErrorKind::InvalidInput);
}

#[test]
fn only_a_reported_oneshot_is_disarmed() {
    for &mode in Mode::ALL {
        let mut r = Record::new(req(2, Interest::BOTH, mode));
        assert!(!r.is_disarmed(), "{mode}: fresh");
        r.on_kevent(&kev(Read, 0, 0), 1);
        assert_eq!(r.is_disarmed(), mode.is_oneshot(), "{mode}: reported");
        assert!(!Record::new(r.request).is_disarmed(), "{mode}: re-armed by modify");
    }
}
