//! Registration: the [errors table](multipoll_core::Poller#errors-identical-on-every-backend)
//! row by row, "a failed call changes nothing", keys at the edge of the range, fd limits,
//! and [`Capabilities`](multipoll_core::Capabilities) that tell the truth.
//!
//! These are the promises a caller builds error handling on, so each error kind is checked
//! exactly, and after each failure the suite checks that the poller still behaves as if the
//! call had never been made.

#[cfg(unix)]
use std::fs::File;
use std::io::{self, ErrorKind};
#[cfg(unix)]
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};

use multipoll_core::{AsSource, Events, Interest, Mode, Poller, RESERVED_KEY};

use crate::util::{QUIET, Want, expect_events, expect_kind, expect_no_events, send, stream_pair};
#[cfg(unix)]
use crate::util::{dup_at_least, first_mode, is_open, pipe, raise_fd_limit};

/// `add` of an fd that is already registered fails with `AlreadyExists`, whatever the key,
/// interest or mode of the second call.
pub fn add_twice<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let (_a, b) = stream_pair()?;
    poller.add(b.as_source(), 1, Interest::READABLE, Mode::Level)?;
    expect_kind(
        poller.add(b.as_source(), 1, Interest::READABLE, Mode::Level),
        ErrorKind::AlreadyExists,
        "same add twice",
    );
    expect_kind(
        poller.add(b.as_source(), 2, Interest::WRITABLE, Mode::Level),
        ErrorKind::AlreadyExists,
        "add with another key",
    );
    expect_kind(
        poller.add(b.as_source(), 3, Interest::NONE, Mode::Level),
        ErrorKind::AlreadyExists,
        "add with Interest::NONE",
    );
    poller.delete(b.as_source())?;
    Ok(())
}

/// `modify` of an fd that is not registered — never added, or already deleted — fails
/// with `NotFound`.
pub fn modify_unknown<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let (_a, b) = stream_pair()?;
    expect_kind(
        poller.modify(b.as_source(), 1, Interest::READABLE, Mode::Level),
        ErrorKind::NotFound,
        "modify of a never-added fd",
    );
    poller.add(b.as_source(), 1, Interest::READABLE, Mode::Level)?;
    poller.delete(b.as_source())?;
    expect_kind(
        poller.modify(b.as_source(), 1, Interest::READABLE, Mode::Level),
        ErrorKind::NotFound,
        "modify after delete",
    );
    Ok(())
}

/// `delete` of an fd that is not registered — never added, or already deleted — fails
/// with `NotFound`.
pub fn delete_unknown<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let (_a, b) = stream_pair()?;
    expect_kind(poller.delete(b.as_source()), ErrorKind::NotFound, "delete of a never-added fd");
    poller.add(b.as_source(), 1, Interest::READABLE, Mode::Level)?;
    poller.delete(b.as_source())?;
    expect_kind(poller.delete(b.as_source()), ErrorKind::NotFound, "second delete");
    Ok(())
}

/// `add` with [`RESERVED_KEY`] fails with `InvalidInput` and registers nothing.
pub fn reserved_key_add<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let (mut events, (a, b)) = (Events::new(), stream_pair()?);
    for interest in [Interest::READABLE, Interest::WRITABLE, Interest::NONE] {
        let r = poller.add(b.as_source(), RESERVED_KEY, interest, Mode::Level);
        expect_kind(r, ErrorKind::InvalidInput, &format!("add with RESERVED_KEY, {interest:?}"));
    }
    send(&a, b"x")?;
    expect_no_events(&poller, &mut events, QUIET)?;
    expect_kind(poller.delete(b.as_source()), ErrorKind::NotFound, "delete after a refused add");
    Ok(())
}

/// `modify` with [`RESERVED_KEY`] fails with `InvalidInput` and leaves the registration as
/// it was.
pub fn reserved_key_modify<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let (mut events, (a, b)) = (Events::new(), stream_pair()?);
    poller.add(b.as_source(), 1, Interest::READABLE, Mode::Level)?;
    let r = poller.modify(b.as_source(), RESERVED_KEY, Interest::READABLE, Mode::Level);
    expect_kind(r, ErrorKind::InvalidInput, "modify to RESERVED_KEY");
    send(&a, b"x")?;
    expect_events(&poller, &mut events, &[Want::readable(1)])?;
    poller.delete(b.as_source())?;
    Ok(())
}

/// Every key but [`RESERVED_KEY`] is usable, including `0` and `usize::MAX - 1`, and is
/// reported exactly as given.
pub fn keys_near_max<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let mut events = Events::new();
    let mut pairs = Vec::new();
    let mut wants = Vec::new();
    for key in [0, 1, usize::MAX / 2, usize::MAX - 1] {
        let (a, b) = stream_pair()?;
        poller.add(b.as_source(), key, Interest::READABLE, Mode::Level)?;
        send(&a, b"x")?;
        wants.push(Want::readable(key));
        pairs.push((a, b));
    }
    expect_events(&poller, &mut events, &wants)?;
    Ok(())
}

#[cfg(unix)]
/// `add` of an fd number that is not open fails with `InvalidInput` (and registers nothing,
/// so `modify` and `delete` of it say `NotFound`).
pub fn add_closed_fd<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let (read, _write) = pipe()?;
    // A fresh number, closed at the end of this statement. The test runs alone
    // (`Isolation::Alone`), so no other thread can reopen the number meanwhile.
    let closed: RawFd = dup_at_least(read.as_source(), 0)?.as_raw_fd();
    assert!(!is_open(closed), "fd {closed} should be closed");
    // SAFETY: this breaks I/O safety on purpose: `closed` is not open, which is the very
    // input under test. No memory is involved; the poller may only hand the number to the
    // kernel, which answers EBADF, and nothing in this process can reopen it meanwhile.
    let fd = unsafe { BorrowedFd::borrow_raw(closed) };
    expect_kind(
        poller.add(fd, 1, Interest::READABLE, Mode::Level),
        ErrorKind::InvalidInput,
        "add of a closed fd",
    );
    expect_kind(
        poller.add(fd, 1, Interest::NONE, Mode::Level),
        ErrorKind::InvalidInput,
        "add of a closed fd with Interest::NONE",
    );
    expect_kind(
        poller.modify(fd, 1, Interest::READABLE, Mode::Level),
        ErrorKind::NotFound,
        "modify of a closed fd",
    );
    expect_kind(poller.delete(fd), ErrorKind::NotFound, "delete of a closed fd");
    assert!(!is_open(closed), "fd {closed} was reopened during the test");
    Ok(())
}

#[cfg(unix)]
/// `add` of a file whose readiness the kernel cannot watch fails with `InvalidInput`, with
/// a message naming the fd, on every backend: a regular file and a directory (always
/// ready: read them directly), and `/dev/null` (a device whose driver cannot poll). With
/// [`Interest::NONE`] too; and nothing is registered, so `modify` and `delete` say
/// `NotFound`.
pub fn unpollable_files<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let directory = File::open(std::env::temp_dir())?;
    let regular = File::open(std::env::current_exe()?)?;
    let null = File::open("/dev/null")?;
    let files = [(&regular, "a regular file"), (&directory, "a directory"), (&null, "/dev/null")];
    for (file, what) in files {
        let fd = file.as_source();
        for interest in [Interest::READABLE, Interest::NONE] {
            match poller.add(fd, 1, interest, first_mode(&poller)) {
                Err(e) if e.kind() == ErrorKind::InvalidInput => {
                    let named = format!("fd {}", fd.as_raw_fd());
                    assert!(e.to_string().contains(&named), "{what}: {e:?} does not say {named}");
                }
                other => {
                    panic!("add of {what} ({interest:?}): expected InvalidInput, got {other:?}")
                }
            }
        }
        let r = poller.modify(fd, 1, Interest::READABLE, first_mode(&poller));
        expect_kind(r, ErrorKind::NotFound, &format!("modify of {what} after a refused add"));
        expect_kind(poller.delete(fd), ErrorKind::NotFound, &format!("delete of {what}"));
    }
    Ok(())
}

/// A failed call changes nothing: a refused `add` registers nothing; a refused second
/// `add`, a `modify` with a bad key or an unsupported mode, and a `delete` of another fd
/// all leave the existing registration's key, interest and mode as they were.
pub fn failed_calls_change_nothing<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let caps = poller.capabilities();
    let (mut events, (a, b)) = (Events::new(), stream_pair()?);
    expect_kind(
        poller.add(b.as_source(), RESERVED_KEY, Interest::BOTH, Mode::Level),
        ErrorKind::InvalidInput,
        "add with RESERVED_KEY",
    );
    expect_kind(
        poller.modify(b.as_source(), 1, Interest::BOTH, Mode::Level),
        ErrorKind::NotFound,
        "modify after a refused add",
    );

    poller.add(b.as_source(), 1, Interest::READABLE, Mode::Level)?;
    expect_kind(
        poller.add(b.as_source(), 2, Interest::BOTH, Mode::Level),
        ErrorKind::AlreadyExists,
        "second add",
    );
    expect_kind(
        poller.modify(b.as_source(), RESERVED_KEY, Interest::BOTH, Mode::Level),
        ErrorKind::InvalidInput,
        "modify to RESERVED_KEY",
    );
    for mode in Mode::ALL.iter().copied().filter(|m| !caps.supports(*m)) {
        let r = poller.modify(b.as_source(), 3, Interest::BOTH, mode);
        expect_kind(r, ErrorKind::Unsupported, &format!("modify to unsupported {mode} mode"));
    }
    expect_kind(poller.delete(a.as_source()), ErrorKind::NotFound, "delete of another fd");

    // `b` is writable: had any refused call switched it to BOTH, it would be reported.
    expect_no_events(&poller, &mut events, QUIET)?;
    send(&a, b"x")?;
    // Level, key 1, readable only: twice, so a oneshot or edge registration would fail.
    expect_events(&poller, &mut events, &[Want::readable(1)])?;
    expect_events(&poller, &mut events, &[Want::readable(1)])?;
    poller.delete(b.as_source())?;
    Ok(())
}

/// After `delete`, the same fd can be added again, under a new key, and is reported under
/// that key only.
pub fn delete_then_add_again<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let (mut events, (a, b)) = (Events::new(), stream_pair()?);
    send(&a, b"x")?;
    poller.add(b.as_source(), 1, Interest::READABLE, Mode::Level)?;
    expect_events(&poller, &mut events, &[Want::readable(1)])?;
    poller.delete(b.as_source())?;
    poller.add(b.as_source(), 2, Interest::READABLE, Mode::Level)?;
    expect_events(&poller, &mut events, &[Want::readable(2)])?;
    poller.delete(b.as_source())?;
    Ok(())
}

#[cfg(unix)]
/// [`Capabilities::max_fd`](multipoll_core::Capabilities::max_fd) is the truth: with a
/// limit, the limit itself is accepted and the next number is refused with `InvalidInput`;
/// without one, an fd numbered past 1024 (`FD_SETSIZE`) is registered and reported.
pub fn fd_limits<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let mut events = Events::new();
    let (read, write) = pipe()?;
    send(&write, b"x")?;
    let (target, limited) = match poller.capabilities().max_fd() {
        Some(max) => (max, true),
        None => (2048, false),
    };
    let limit = raise_fd_limit(u64::try_from(target).unwrap_or(0) + 64)?;
    if limit <= u64::try_from(target).unwrap_or(0) + 2 {
        eprintln!("fd_limits: RLIMIT_NOFILE {limit} is too low to open fd {target}; skipped");
        return Ok(());
    }
    let at = dup_at_least(read.as_source(), target)?;
    if limited {
        let above = dup_at_least(read.as_source(), target + 1)?;
        let r = poller.add(above.as_source(), 2, Interest::READABLE, Mode::Level);
        expect_kind(
            r,
            ErrorKind::InvalidInput,
            &format!("add of fd {} above max_fd {target}", above.as_raw_fd()),
        );
        let r = poller.modify(above.as_source(), 2, Interest::READABLE, Mode::Level);
        expect_kind(r, ErrorKind::NotFound, "modify of the refused fd");
        if at.as_raw_fd() != target {
            // Another test holds the number `max_fd`; what is above it was checked.
            return Ok(());
        }
    }
    poller.add(at.as_source(), 1, Interest::READABLE, Mode::Level)?;
    expect_events(&poller, &mut events, &[Want::readable(1)])?;
    poller.delete(at.as_source())?;
    Ok(())
}

/// [`Capabilities`](multipoll_core::Capabilities) are coherent: a non-empty name, level
/// mode always supported, the same answer on every call and every instance, a non-zero
/// timeout precision, and `supports(mode)` matching what `add` and `modify` do for every
/// [`Mode`] (`Unsupported` exactly when it says no).
pub fn capabilities_coherent<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let caps = poller.capabilities();
    assert!(!caps.name().is_empty(), "empty backend name: {caps:?}");
    assert!(caps.supports(Mode::Level), "level mode must be supported: {caps:?}");
    assert_eq!(caps, poller.capabilities(), "capabilities changed between calls");
    assert_eq!(caps, P::new()?.capabilities(), "two pollers of one type disagree");
    assert!(!caps.timeout_precision().is_zero(), "a zero timeout precision: {caps:?}");
    let listed: Vec<Mode> = caps.supported_modes().collect();
    let supported: Vec<Mode> = Mode::ALL.iter().copied().filter(|m| caps.supports(*m)).collect();
    assert_eq!(listed, supported, "supported_modes disagrees with supports");
    if let Some(max) = caps.max_fd() {
        assert!(max > 2, "max_fd {max} leaves no room for any fd past stdio");
    }
    for &mode in Mode::ALL {
        let (_a, b) = stream_pair()?;
        let added = poller.add(b.as_source(), 1, Interest::READABLE, mode);
        let (_c, d) = stream_pair()?;
        poller.add(d.as_source(), 2, Interest::READABLE, Mode::Level)?;
        let modified = poller.modify(d.as_source(), 2, Interest::READABLE, mode);
        if caps.supports(mode) {
            added?;
            modified?;
            poller.delete(b.as_source())?;
        } else {
            expect_kind(added, ErrorKind::Unsupported, &format!("add in {mode} mode"));
            expect_kind(modified, ErrorKind::Unsupported, &format!("modify to {mode} mode"));
        }
        poller.delete(d.as_source())?;
    }
    Ok(())
}
