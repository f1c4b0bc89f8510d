//! The one syscall idiom, and the syscall wrappers backends share.
//!
//! [`cvt`] turns a C return value into `io::Result` right at the `unsafe` call, so that no
//! file writes its own `-1` check; [`nonblocking_pipe`] is the pipe every fallback wake-up
//! and test uses, made in one call where the platform allows.

use std::io;
use std::os::fd::OwnedFd;

use nix::fcntl::OFlag;

/// A C return value whose `-1` means "see `errno`".
pub trait MinusOne: Copy + PartialEq {
    /// The failure value.
    const MINUS_ONE: Self;
}

macro_rules! minus_one {
    ($($t:ty)*) => { $(impl MinusOne for $t { const MINUS_ONE: Self = -1; })* };
}
minus_one!(i8 i16 i32 i64 isize);

/// Turns a C return value into `io::Result`: `-1` becomes the current `errno`.
///
/// Every syscall in multipoll goes through this, right at the `unsafe` call:
///
/// ```
/// use multipoll_core::backend::syscall::cvt;
/// // SAFETY: getpid has no preconditions.
/// let pid = cvt(unsafe { libc::getpid() }).unwrap();
/// assert!(pid > 0);
/// ```
pub fn cvt<T: MinusOne>(ret: T) -> io::Result<T> {
    if ret == T::MINUS_ONE { Err(io::Error::last_os_error()) } else { Ok(ret) }
}

/// A pipe whose two ends are non-blocking and close-on-exec: `(read, write)`.
///
/// One `pipe2(2)` where the platform has it; elsewhere (Apple's systems) `pipe(2)` and then
/// `fcntl(2)` on each end, which a concurrent `fork`+`exec` can slip between.
///
/// # Errors
/// `EMFILE`/`ENFILE` of `pipe2(2)`/`pipe(2)`; `fcntl(2)`'s where it is used.
pub fn nonblocking_pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    cfg_if::cfg_if! {
        // Where nix has pipe2 and we build; the rest (Apple's systems) lack the syscall.
        if #[cfg(any(
            target_os = "linux",
            target_os = "android",
            target_os = "freebsd",
            target_os = "dragonfly",
            target_os = "netbsd",
            target_os = "openbsd",
            target_os = "illumos",
            target_os = "solaris",
        ))] {
            Ok(nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK)?)
        } else {
            use nix::fcntl::{FcntlArg, FdFlag, fcntl};
            let pair = nix::unistd::pipe()?;
            for fd in [&pair.0, &pair.1] {
                let fd_flags = FdFlag::from_bits_retain(fcntl(fd, FcntlArg::F_GETFD)?);
                fcntl(fd, FcntlArg::F_SETFD(fd_flags | FdFlag::FD_CLOEXEC))?;
                let fl_flags = OFlag::from_bits_retain(fcntl(fd, FcntlArg::F_GETFL)?);
                fcntl(fd, FcntlArg::F_SETFL(fl_flags | OFlag::O_NONBLOCK))?;
            }
            Ok(pair)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsFd;

    use nix::fcntl::{FcntlArg, FdFlag, fcntl};

    use super::*;

    #[test]
    fn cvt_maps_minus_one_to_errno() {
        assert_eq!(cvt(3i32).unwrap(), 3);
        // SAFETY: F_GETFD on a number that is never an open fd only fails.
        let err = cvt(unsafe { libc::fcntl(-1, libc::F_GETFD) }).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EBADF));
    }

    #[test]
    fn pipe_is_nonblocking_and_cloexec() -> io::Result<()> {
        let (read, write) = nonblocking_pipe()?;
        for end in [read.as_fd(), write.as_fd()] {
            let fd_flags = FdFlag::from_bits_retain(fcntl(end, FcntlArg::F_GETFD)?);
            assert!(fd_flags.contains(FdFlag::FD_CLOEXEC));
            let fl_flags = OFlag::from_bits_retain(fcntl(end, FcntlArg::F_GETFL)?);
            assert!(fl_flags.contains(OFlag::O_NONBLOCK));
        }
        Ok(())
    }
}
