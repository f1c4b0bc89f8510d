//! The AFD driver's poll request (`AFD_POLL_INFO`) and its event bits, and their mapping to
//! and from multipoll's [`Interest`] and [`Event`]: what a registration asks AFD for, and
//! what a completion means.
//!
//! Not in any public Windows header; the layout and bit values are those wepoll, mio and
//! polling use (from ReactOS's `afd.h`).

use std::os::windows::io::RawSocket;

use multipoll_core::{Event, Interest};

/// Data can be read (`AFD_POLL_RECEIVE`).
pub(crate) const RECEIVE: u32 = 0x001;
/// Urgent data can be read (`AFD_POLL_RECEIVE_EXPEDITED`); not asked for (no priority).
#[cfg(test)]
const RECEIVE_EXPEDITED: u32 = 0x002;
/// Data can be written (`AFD_POLL_SEND`).
pub(crate) const SEND: u32 = 0x004;
/// The peer shut its sending side (`AFD_POLL_DISCONNECT`, a FIN).
pub(crate) const DISCONNECT: u32 = 0x008;
/// The connection was reset or aborted (`AFD_POLL_ABORT`).
pub(crate) const ABORT: u32 = 0x010;
/// The socket was closed in this process (`AFD_POLL_LOCAL_CLOSE`).
pub(crate) const LOCAL_CLOSE: u32 = 0x020;
/// A connection can be accepted (`AFD_POLL_ACCEPT`).
pub(crate) const ACCEPT: u32 = 0x080;
/// A connect failed (`AFD_POLL_CONNECT_FAIL`).
pub(crate) const CONNECT_FAIL: u32 = 0x100;

/// `AFD_POLL_HANDLE_INFO`: one socket of a poll request.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
struct HandleInfo {
    handle: usize,
    events: u32,
    status: i32,
}

/// `AFD_POLL_INFO` with one socket, as every request here has: the kernel reads it as the
/// request and writes it back as the answer (`handle_count` 1 and the events that fired).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub(crate) struct PollInfo {
    timeout: i64,
    handle_count: u32,
    exclusive: u32,
    handles: [HandleInfo; 1],
}

impl Default for PollInfo {
    fn default() -> PollInfo {
        PollInfo::new(0, 0)
    }
}

impl PollInfo {
    /// A request for `mask` on `base`, with no timeout of its own, not exclusive (several
    /// pollers may watch one socket).
    pub(crate) fn new(base: RawSocket, mask: u32) -> PollInfo {
        PollInfo {
            timeout: i64::MAX,
            handle_count: 1,
            exclusive: 0,
            handles: [HandleInfo { handle: base as usize, events: mask, status: 0 }],
        }
    }

    /// The events the kernel reported (none if it reported no socket).
    pub(crate) fn events(&self) -> u32 {
        if self.handle_count >= 1 { self.handles[0].events } else { 0 }
    }
}

/// The AFD events a registration with `interest` asks for: what `interest` wants, plus a
/// reset, a failed connect and a local close, which every registration hears of (as a
/// Unix kernel always reports `POLLHUP`/`POLLERR`).
pub(crate) fn mask(interest: Interest) -> u32 {
    let mut mask = ABORT | CONNECT_FAIL | LOCAL_CLOSE;
    if interest.is_readable() {
        mask |= RECEIVE | ACCEPT | DISCONNECT;
    }
    if interest.is_writable() {
        mask |= SEND;
    }
    mask
}

/// The event for what AFD reported to a registration with `key` and `interest`, or an
/// empty event when it is nothing the registration asked for. The same meaning as the
/// Unix backends' `poll` bits: a FIN (`DISCONNECT`) is readable + hang-up, like
/// `POLLIN | POLLRDHUP`; a reset (`ABORT`) is readable + writable + hang-up + error, like
/// `POLLHUP | POLLERR`; a failed connect likewise (Linux reports `POLLHUP | POLLERR`); and
/// a hang-up goes to readers only.
pub(crate) fn to_event(events: u32, key: usize, interest: Interest) -> Event {
    let failed = events & (ABORT | CONNECT_FAIL) != 0;
    let hangup = failed || events & DISCONNECT != 0;
    let readable = interest.is_readable() && (hangup || events & (RECEIVE | ACCEPT) != 0);
    let writable = interest.is_writable() && (failed || events & SEND != 0);
    if interest.is_none() || !(readable || writable) {
        return Event::new(key);
    }
    Event::new(key)
        .with_readable(readable)
        .with_writable(writable)
        .with_hangup(hangup && interest.is_readable())
        .with_error(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_asks_for_what_interest_wants() {
        assert_eq!(mask(Interest::READABLE) & SEND, 0);
        assert_eq!(mask(Interest::WRITABLE) & (RECEIVE | ACCEPT | DISCONNECT), 0);
        for interest in [Interest::READABLE, Interest::WRITABLE, Interest::BOTH] {
            let m = mask(interest);
            assert_eq!(
                m & (ABORT | CONNECT_FAIL | LOCAL_CLOSE),
                ABORT | CONNECT_FAIL | LOCAL_CLOSE
            );
            assert_eq!(m & RECEIVE_EXPEDITED, 0, "urgent data is not readable");
        }
    }

    #[test]
    fn events_map_as_on_unix() {
        let ev = to_event(DISCONNECT, 1, Interest::READABLE);
        assert!(ev.is_readable() && ev.is_hangup() && !ev.is_error(), "{ev:?}");
        assert!(to_event(DISCONNECT, 1, Interest::WRITABLE).is_empty());
        let ev = to_event(CONNECT_FAIL, 1, Interest::BOTH);
        assert!(ev.is_readable() && ev.is_writable() && ev.is_hangup() && ev.is_error());
        let ev = to_event(ABORT, 1, Interest::WRITABLE);
        assert!(ev.is_writable() && ev.is_error() && !ev.is_hangup() && !ev.is_readable());
        let ev = to_event(RECEIVE | SEND, 1, Interest::WRITABLE);
        assert!(ev.is_writable() && !ev.is_readable());
        assert!(to_event(SEND, 1, Interest::READABLE).is_empty());
        assert!(to_event(RECEIVE, 1, Interest::NONE).is_empty());
        assert!(to_event(LOCAL_CLOSE, 1, Interest::BOTH).is_empty());
    }
}
