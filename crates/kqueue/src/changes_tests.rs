//! Unit tests of the change planner; they run on every host, Linux included. The helpers
//! are shared with `record_tests.rs`.

use super::*;
use multipoll_core::RESERVED_KEY;

pub(crate) const FD: RawFd = 7;

pub(crate) fn req(key: usize, interest: Interest, mode: Mode) -> Request {
    Request { key, interest, mode }
}

pub(crate) fn kev(filter: Filter, flags: u16, fflags: u32) -> Kevent {
    Kevent { ident: FD as usize, filter: Some(filter), flags, fflags, data: 0, udata: 1 }
}

pub(crate) fn receipt(errno: i32) -> Kevent {
    Kevent { data: i64::from(errno), ..kev(Filter::Read, ev::ERROR, 0) }
}

/// The changes as (filter, action, udata), for compact table assertions.
#[track_caller]
pub(crate) fn actions(list: &[Change]) -> Vec<(Filter, Action, usize)> {
    assert!(list.iter().all(|c| c.fd == FD), "every change is for the fd: {list:?}");
    list.iter().map(|c| (c.filter, c.action, c.udata)).collect()
}

use Action::{Add, Delete, Disable, Probe};
use Filter::{Read, Write};

#[test]
fn add_table() {
    for &mode in Mode::ALL {
        let plan_add = |i| actions(&plan(FD, None, Some(req(5, i, mode))));
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
    let plan_delete = |i| actions(&plan(FD, Some(req(5, i, Mode::Edge)), None));
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
        let old = req(1, Interest::BOTH, mode);
        let new = req(2, Interest::BOTH, mode);
        assert_eq!(
            actions(&plan(FD, Some(old), Some(new))),
            [(Read, Add(mode), 2), (Write, Add(mode), 2)]
        );
    }
}

#[test]
fn modify_mode_recreates_knotes() {
    let old = req(1, Interest::BOTH, Mode::Level);
    let new = req(1, Interest::BOTH, Mode::Edge);
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
    let old = req(1, Interest::READABLE, Mode::Oneshot);
    let new = req(1, Interest::WRITABLE, Mode::Level);
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
        let got = actions(&plan(FD, Some(req(3, from, m)), Some(req(3, to, m))));
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

/// Edge-oneshot is `EV_DISPATCH` without `EV_CLEAR`: NetBSD's `kqueue_scan` applies only
/// `EV_CLEAR` to a knote that has both, so it was never disabled.
#[test]
fn edge_oneshot_is_dispatch_alone_so_every_kernel_disables_it() {
    let flags = Change::new(FD, Read, Add(Mode::EdgeOneshot), 0).flags();
    assert_eq!(flags, ev::ADD | ev::ENABLE | ev::RECEIPT | ev::DISPATCH);
    assert_eq!(flags & ev::CLEAR, 0, "a kernel that tests EV_CLEAR first would not disable it");
    let write = Change::new(FD, Write, Add(Mode::EdgeOneshot), 0).flags();
    assert_eq!(write, flags, "both filters alike");
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
    let both = plan(FD, None, Some(req(1, Interest::BOTH, Mode::Level)));
    let err = check_receipts(&both, &[receipt(0), receipt(libc::EINVAL)]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
}

#[test]
fn missing_receipts_are_an_error() {
    let both = plan(FD, None, Some(req(1, Interest::BOTH, Mode::Level)));
    assert!(check_receipts(&both, &[receipt(0)]).is_err(), "too few");
    let event = kev(Read, 0, 0);
    assert!(check_receipts(&both, &[receipt(0), event]).is_err(), "an event");
}

#[test]
fn restore_recreates_old_state() {
    assert_eq!(actions(&restore(FD, None, false)), [(Read, Delete, 0), (Write, Delete, 0)]);
    let level = req(2, Interest::READABLE, Mode::Level);
    assert_eq!(
        actions(&restore(FD, Some(level), false)),
        [(Read, Delete, 0), (Read, Add(Mode::Level), 2), (Write, Delete, 0)]
    );
    let o = Add(Mode::Oneshot);
    assert_eq!(
        actions(&restore(FD, Some(req(2, Interest::BOTH, Mode::Oneshot)), true)),
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
