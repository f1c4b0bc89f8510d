//! Unit tests of the platform-neutral logic; they run on every host, Linux included.

use super::*;
use multipoll_core::RESERVED_KEY;

const FD: RawFd = 7;

fn reg(key: usize, interest: Interest, mode: Mode) -> Registration {
    Registration { key, interest, mode }
}

fn kev(filter: Filter, flags: u16, fflags: u32) -> Kevent {
    Kevent { ident: FD as usize, filter: Some(filter), flags, fflags, data: 0, udata: 1 }
}

fn receipt(errno: i32) -> Kevent {
    Kevent { data: i64::from(errno), ..kev(Filter::Read, ev::ERROR, 0) }
}

/// The changes as (filter, action, udata), for compact table assertions.
#[track_caller]
fn actions(list: &[Change]) -> Vec<(Filter, Action, usize)> {
    assert!(list.iter().all(|c| c.fd == FD), "every change is for the fd: {list:?}");
    list.iter().map(|c| (c.filter, c.action, c.udata)).collect()
}

use Action::{Add, Delete, Disable, Probe};
use Filter::{Read, Write};

#[test]
fn add_table() {
    for &mode in Mode::ALL {
        let plan_add = |i| actions(&plan(FD, None, Some(reg(5, i, mode))));
        assert_eq!(plan_add(Interest::READABLE), [(Read, Add(mode), 5)]);
        assert_eq!(plan_add(Interest::WRITABLE), [(Write, Add(mode), 5)]);
        assert_eq!(
            plan_add(Interest::BOTH),
            [(Read, Add(mode), 5), (Write, Add(mode), 5)],
            "both filters in one changelist"
        );
        assert_eq!(plan_add(Interest::NONE), [], "NONE has no knote");
    }
}

#[test]
fn delete_table() {
    let plan_delete = |i| actions(&plan(FD, Some(reg(5, i, Mode::Edge)), None));
    assert_eq!(plan_delete(Interest::READABLE), [(Read, Delete, 0)]);
    assert_eq!(plan_delete(Interest::WRITABLE), [(Write, Delete, 0)]);
    assert_eq!(plan_delete(Interest::BOTH), [(Read, Delete, 0), (Write, Delete, 0)]);
    assert_eq!(plan_delete(Interest::NONE), []);
}

#[test]
fn modify_same_mode_readds_in_place() {
    // New key, same interest and mode: one EV_ADD|EV_ENABLE per knote (updates udata and
    // re-arms a oneshot), no delete.
    for &mode in Mode::ALL {
        let old = reg(1, Interest::BOTH, mode);
        let new = reg(2, Interest::BOTH, mode);
        assert_eq!(
            actions(&plan(FD, Some(old), Some(new))),
            [(Read, Add(mode), 2), (Write, Add(mode), 2)]
        );
    }
}

#[test]
fn modify_mode_recreates_knotes() {
    let old = reg(1, Interest::BOTH, Mode::Level);
    let new = reg(1, Interest::BOTH, Mode::Edge);
    assert_eq!(
        actions(&plan(FD, Some(old), Some(new))),
        [
            (Read, Delete, 0),
            (Read, Add(Mode::Edge), 1),
            (Write, Delete, 0),
            (Write, Add(Mode::Edge), 1),
        ]
    );
    // A knote that is only added needs no delete, whatever the old mode.
    let old = reg(1, Interest::READABLE, Mode::Oneshot);
    let new = reg(1, Interest::WRITABLE, Mode::Level);
    assert_eq!(
        actions(&plan(FD, Some(old), Some(new))),
        [(Read, Delete, 0), (Write, Add(Mode::Level), 1)]
    );
}

#[test]
fn modify_interest_table() {
    let m = Mode::Level;
    let cases = [
        (Interest::READABLE, Interest::BOTH, vec![(Read, Add(m), 3), (Write, Add(m), 3)]),
        (Interest::BOTH, Interest::READABLE, vec![(Read, Add(m), 3), (Write, Delete, 0)]),
        (Interest::READABLE, Interest::WRITABLE, vec![(Read, Delete, 0), (Write, Add(m), 3)]),
        (Interest::BOTH, Interest::NONE, vec![(Read, Delete, 0), (Write, Delete, 0)]),
        (Interest::NONE, Interest::WRITABLE, vec![(Write, Add(m), 3)]),
        (Interest::NONE, Interest::NONE, vec![]),
    ];
    for (from, to, want) in cases {
        let got = actions(&plan(FD, Some(reg(3, from, m)), Some(reg(3, to, m))));
        assert_eq!(got, want, "{from:?} -> {to:?}");
    }
}

#[test]
fn change_flags() {
    let add = |mode| Change::new(FD, Read, Add(mode), 0).flags();
    let base = ev::ADD | ev::ENABLE | ev::RECEIPT;
    assert_eq!(add(Mode::Level), base);
    assert_eq!(add(Mode::Edge), base | ev::CLEAR);
    assert_eq!(add(Mode::Oneshot), base | ev::DISPATCH);
    assert_eq!(Change::new(FD, Read, Delete, 0).flags(), ev::DELETE | ev::RECEIPT);
    assert_eq!(Change::new(FD, Read, Disable, 0).flags(), ev::DISABLE | ev::RECEIPT);
    assert_eq!(Change::new(FD, Read, Probe(true), 0).flags(), ev::ENABLE | ev::RECEIPT);
    assert_eq!(Change::new(FD, Read, Probe(false), 0).flags(), ev::DISABLE | ev::RECEIPT);
}

#[test]
fn wake_changes() {
    let user = Change::user_wake();
    assert_eq!((user.filter, user.udata), (Filter::User, RESERVED_KEY));
    assert_eq!(user.flags() & ev::CLEAR, ev::CLEAR, "notifies coalesce");
    let pipe = Change::pipe_wake(9);
    assert_eq!((pipe.fd, pipe.filter, pipe.udata), (9, Read, RESERVED_KEY));
    assert_eq!(pipe.flags() & (ev::CLEAR | ev::DISPATCH), 0, "level until drained");
}

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
    let mut both = Entry::new(reg(4, Interest::BOTH, Mode::Level));
    let mut read = Entry::new(reg(4, Interest::READABLE, Mode::Level));
    let e = both.on_kevent(&kev(Write, ev::EOF, 0), 1).unwrap();
    assert!(e.is_writable() && e.is_readable() && e.is_hangup() && e.key() == 4);
    // A write knote of a registration that no longer wants writes is stale.
    assert_eq!(read.on_kevent(&kev(Write, 0, 0), 1), None);
    let e = read.on_kevent(&kev(Read, ev::EOF, 1), 1).unwrap();
    assert_eq!(
        (e.is_readable(), e.is_writable(), e.is_hangup(), e.is_error()),
        (true, false, true, true)
    );
    let mut none = Entry::new(reg(4, Interest::NONE, Mode::Level));
    assert_eq!(none.on_kevent(&kev(Read, 0, 0), 1), None, "NONE is silent");
    let unknown = Kevent { filter: None, ..kev(Read, 0, 0) };
    assert_eq!(both.on_kevent(&unknown, 1), None);
}

#[test]
fn level_and_edge_report_every_round() {
    for mode in [Mode::Level, Mode::Edge] {
        let mut e = Entry::new(reg(1, Interest::BOTH, mode));
        for round in 1..4 {
            assert!(e.on_kevent(&kev(Read, 0, 0), round).is_some());
            assert!(e.on_kevent(&kev(Read, 0, 0), round).is_some(), "twice in one round");
        }
        assert!(e.armed);
    }
}

#[test]
fn oneshot_both_reports_once_per_arming() {
    let mut e = Entry::new(reg(8, Interest::BOTH, Mode::Oneshot));
    // Round 1: the read knote fires (the kernel disabled it, EV_DISPATCH).
    let ev1 = e.on_kevent(&kev(Read, 0, 0), 1).unwrap();
    assert!(ev1.is_readable() && !ev1.is_writable());
    assert!(!e.armed);
    // Round 2, another waiter or a later wait: the write knote, still enabled, fires once
    // (and the kernel disables it); it is stale.
    assert_eq!(e.on_kevent(&kev(Write, 0, 0), 2), None);
    assert_eq!(e.on_kevent(&kev(Read, 0, 0), 2), None);
    // modify re-arms: a fresh entry, and plan re-enables both knotes.
    let r = e.reg;
    assert_eq!(
        actions(&plan(FD, Some(r), Some(r))),
        [(Read, Add(Mode::Oneshot), 8), (Write, Add(Mode::Oneshot), 8)]
    );
    let mut e = Entry::new(r);
    assert!(e.on_kevent(&kev(Write, 0, 0), 3).unwrap().is_writable());
    assert_eq!(e.on_kevent(&kev(Read, 0, 0), 4), None);
}

#[test]
fn oneshot_both_directions_in_one_round_are_one_report() {
    let mut e = Entry::new(reg(8, Interest::BOTH, Mode::Oneshot));
    let r = e.on_kevent(&kev(Read, 0, 0), 5).unwrap();
    let w = e.on_kevent(&kev(Write, 0, 0), 5).unwrap();
    assert!(r.is_readable() && w.is_writable() && r.key() == w.key(), "merged by key later");
    assert_eq!(e.on_kevent(&kev(Read, 0, 0), 6), None);
}

#[test]
fn oneshot_concurrent_rounds_report_once() {
    // Two waiters got a knote each from the kernel; their reports take the table lock one
    // after the other, with rounds 7 and 8: only the first reports.
    let mut e = Entry::new(reg(8, Interest::BOTH, Mode::Oneshot));
    assert!(e.on_kevent(&kev(Write, 0, 0), 7).is_some());
    assert_eq!(e.on_kevent(&kev(Read, 0, 0), 8), None);
    assert_eq!(e.on_kevent(&kev(Write, 0, 0), 9), None);
}

#[test]
fn probe_asks_without_changing() {
    let level = Entry::new(reg(3, Interest::WRITABLE, Mode::Level));
    let probe = level.probe(FD).unwrap();
    assert_eq!((probe.fd, probe.filter, probe.action, probe.udata), (FD, Write, Probe(true), 3));
    assert_eq!(probe.flags(), ev::ENABLE | ev::RECEIPT, "no EV_ADD: a gone knote is not made");
    let both = Entry::new(reg(3, Interest::BOTH, Mode::Edge));
    assert_eq!(both.probe(FD).unwrap().filter, Read, "one knote is enough");

    let mut fired = Entry::new(reg(3, Interest::BOTH, Mode::Oneshot));
    fired.on_kevent(&kev(Read, 0, 0), 1);
    let probe = fired.probe(FD).unwrap();
    assert_eq!(probe.flags(), ev::DISABLE | ev::RECEIPT, "a reported oneshot stays silent");

    let none = Entry::new(reg(3, Interest::NONE, Mode::Level));
    assert_eq!(none.probe(FD), None, "no knote to ask: registered until delete");
}

#[test]
fn probe_outcome() {
    let probe = Entry::new(reg(3, Interest::READABLE, Mode::Level)).probe(FD).unwrap();
    let outcome = |errno| probe_says_gone(check_receipts(&[probe], &[receipt(errno)]));
    assert!(!outcome(0).unwrap(), "the kernel has it: AlreadyExists");
    assert!(outcome(libc::ENOENT).unwrap(), "closed since: the entry is stale");
    assert_eq!(outcome(libc::ENOMEM).unwrap_err().kind(), io::ErrorKind::OutOfMemory);
    assert_eq!(outcome(libc::EBADF).unwrap_err().kind(), io::ErrorKind::InvalidInput);
}

#[test]
fn receipts_map_to_contract_kinds() {
    let add = [Change::new(FD, Read, Add(Mode::Level), 1)];
    let kind = |errno| check_receipts(&add, &[receipt(errno)]).unwrap_err().kind();
    assert!(check_receipts(&add, &[receipt(0)]).is_ok());
    assert_eq!(kind(libc::EEXIST), io::ErrorKind::AlreadyExists);
    assert_eq!(kind(libc::ENOENT), io::ErrorKind::NotFound);
    assert_eq!(kind(libc::EBADF), io::ErrorKind::InvalidInput);
    assert_eq!(kind(libc::EINVAL), io::ErrorKind::InvalidInput);
    assert_eq!(kind(libc::ENOMEM), io::ErrorKind::OutOfMemory);
    let msg = check_receipts(&add, &[receipt(libc::EBADF)]).unwrap_err().to_string();
    assert!(msg.contains("fd 7"), "{msg}");
    assert!(check_receipts(&add, &[receipt(libc::EPIPE)]).is_ok(), "macOS EPIPE");
}

#[test]
fn receipts_tolerate_what_is_already_done() {
    let delete = [Change::new(FD, Read, Delete, 0)];
    assert!(check_receipts(&delete, &[receipt(libc::ENOENT)]).is_ok());
    assert!(
        check_receipts(&delete, &[receipt(libc::EBADF)]).is_ok(),
        "closed before delete: the kernel already forgot it"
    );
    assert!(check_receipts(&delete, &[receipt(libc::ENOMEM)]).is_err());
    let disable = [Change::new(FD, Write, Disable, 0)];
    assert!(check_receipts(&disable, &[receipt(libc::ENOENT)]).is_ok());
    assert!(check_receipts(&disable, &[receipt(libc::EBADF)]).is_ok());
    assert!(check_receipts(&disable, &[receipt(libc::ENOMEM)]).is_err());
}

#[test]
fn receipts_name_the_failing_change() {
    let both = plan(FD, None, Some(reg(1, Interest::BOTH, Mode::Level)));
    let err = check_receipts(&both, &[receipt(0), receipt(libc::EINVAL)]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
}

#[test]
fn missing_receipts_are_an_error() {
    let both = plan(FD, None, Some(reg(1, Interest::BOTH, Mode::Level)));
    assert!(check_receipts(&both, &[receipt(0)]).is_err(), "too few");
    let event = kev(Read, 0, 0);
    assert!(check_receipts(&both, &[receipt(0), event]).is_err(), "an event");
}

#[test]
fn restore_recreates_old_state() {
    assert_eq!(actions(&restore(FD, None)), [(Read, Delete, 0), (Write, Delete, 0)]);
    let level = Entry::new(reg(2, Interest::READABLE, Mode::Level));
    assert_eq!(
        actions(&restore(FD, Some(&level))),
        [(Read, Delete, 0), (Read, Add(Mode::Level), 2), (Write, Delete, 0)]
    );
    let mut fired = Entry::new(reg(2, Interest::BOTH, Mode::Oneshot));
    fired.on_kevent(&kev(Read, 0, 0), 1);
    let o = Add(Mode::Oneshot);
    assert_eq!(
        actions(&restore(FD, Some(&fired))),
        [
            (Read, Delete, 0),
            (Read, o, 2),
            (Read, Disable, 0),
            (Write, Delete, 0),
            (Write, o, 2),
            (Write, Disable, 0),
        ],
        "a reported oneshot stays silent"
    );
}
