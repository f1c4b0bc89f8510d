//! What every backend checks before it registers an fd: the key, the mode and interest
//! against its [`Capabilities`], the fd number against its limit, and (where the kernel
//! would not notice) that the fd is open and its file one whose readiness can be watched.
//!
//! These run in `add`/`modify` only, never inside `wait`: [`check_file`] is a fault
//! injection point ([`Call::Register`]), and a fault armed
//! for registrations must not change what a wait reports. A `wait` that needs to know
//! whether an fd is open asks [`probe::is_open`](super::probe::is_open), which injects
//! nothing.

use std::io;

use super::errors::{SOURCE, registration_error};
use super::file::{FileId, pollable_file};
use crate::fault::{self, Call};
use crate::{Capabilities, Interest, Mode, RESERVED_KEY, RawSource};

/// Checks what every backend checks before `add`/`modify`: the key is not
/// [`RESERVED_KEY`], the backend can do `mode` and `interest` (priority comes only with
/// readable).
pub fn check_registration(
    caps: &Capabilities,
    key: usize,
    interest: Interest,
    mode: Mode,
) -> io::Result<()> {
    if key == RESERVED_KEY {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "key usize::MAX is reserved for the poller's internal wake-up; use another key",
        ));
    }
    caps.check_mode(mode)?;
    if interest.is_priority() && !caps.priority() {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!("the {} backend cannot watch for priority (urgent) data", caps.name()),
        ));
    }
    if interest.is_priority() && !interest.is_readable() {
        // Alone, a hang-up (which every kernel reports unasked) would fit no flag the
        // registration asked for, and a level-triggered wait would spin on it.
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "Interest::PRIORITY extends READABLE: ask for READABLE | PRIORITY",
        ));
    }
    Ok(())
}

/// Checks `fd` against a backend's [`Capabilities::max_fd`].
pub fn check_max_fd(caps: &Capabilities, fd: RawSource) -> io::Result<()> {
    match caps.max_fd() {
        Some(max) if fd > max => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{SOURCE} {fd} is above the {} backend's limit of {max} on this platform; \
                 use another backend or keep fds below the limit",
                caps.name()
            ),
        )),
        _ => Ok(()),
    }
}

/// Checks, for `add`, that `fd` is open and can be polled ([`pollable_file`]), for
/// backends whose kernel does not check it at registration; returns the file's identity,
/// to tell a later file under the same number from it. A registration syscall, so faults
/// are injected here ([`Call::Register`]).
///
/// # Errors
/// `InvalidInput` (with the fd and the reason in the message) for a closed fd, a regular
/// file, a directory or a device that cannot be polled (on Windows: anything but an open
/// socket); an injected fault.
pub fn check_file(fd: RawSource) -> io::Result<FileId> {
    fault::inject(Call::Register).map_err(|e| registration_error(fd, e))?;
    pollable_file(fd)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn check_file_refuses_a_closed_number() {
        let err = check_file(-1).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("fd -1"), "{err}");
    }

    /// The registration check is a fault point, the probe is not: a registration fault
    /// armed on this thread fails `check_file` and leaves `is_open`'s answer (and the
    /// armed count) alone. Select's `EBADF` recovery, inside `wait`, relies on it; the
    /// facade's `registration_fault_during_closed_fd_recovery` pins it through a real wait.
    #[cfg(feature = "fault-injection")]
    #[test]
    fn registration_fault_fails_the_check_not_the_probe() -> io::Result<()> {
        use std::os::fd::AsRawFd;
        use std::os::unix::net::UnixStream;

        use crate::backend::probe::is_open;

        let (a, _b) = UnixStream::pair()?;
        fault::fail_next(Call::Register, libc::ENOMEM, 2);
        let checked = check_file(a.as_raw_fd());
        let probed = is_open(a.as_raw_fd());
        let left = fault::armed(Call::Register);
        fault::clear();
        assert_eq!(checked.unwrap_err().kind(), io::ErrorKind::OutOfMemory);
        assert!(probed, "an armed registration fault made an open fd look closed");
        assert_eq!(left, 1, "the probe consumed a registration fault");
        Ok(())
    }
}
