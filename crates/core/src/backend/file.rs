//! What file an fd number refers to: which one ([`FileId`], to tell a reused number from
//! the file that was registered under it) and whether its readiness can be watched at all
//! ([`pollable_file`]), both from one `fstat(2)`.
//!
//! For backends whose kernel does not check the file at registration (poll, select, and
//! io_uring, whose poll request reaches the kernel later), so that every backend refuses
//! the same files as epoll does: a regular file or a directory is always ready, and a
//! device whose driver has no poll (`/dev/null`) cannot be watched either.
//!
//! They take a raw number that may already be closed (the conformance suite hands one to
//! `add`), so these are libc calls, like [`probe`](super::probe)'s.

use std::io;
use std::os::fd::RawFd;

use super::errors::{not_pollable, registration_error};
use super::syscall::cvt;

/// The identity of an open file: its device and inode. Two fds with one identity refer
/// to the same file, or to files that share an inode (anonymous-inode fds such as
/// eventfd, timerfd or epoll; one device opened twice); a socket or a pipe has its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileId {
    dev: u64,
    ino: u64,
}

/// The identity of the file behind `fd`, after checking that its readiness can be
/// watched: one `fstat(2)`, plus, on Linux and for device files only, a trial
/// registration in a process-wide scratch epoll instance (the kernel is the only judge of
/// whether a driver can poll: a tty can, `/dev/null` cannot). Elsewhere a device is
/// accepted as it is (`poll(2)` and `select(2)` report one that cannot poll as always
/// ready).
///
/// # Errors
/// `InvalidInput`, naming the fd and the reason, for a closed fd, a regular file, a
/// directory, or a device that cannot be polled; the OS error of `fstat(2)` otherwise.
pub fn pollable_file(fd: RawFd) -> io::Result<FileId> {
    let stat = fstat(fd).map_err(|e| registration_error(fd, e))?;
    match stat.st_mode & libc::S_IFMT {
        libc::S_IFREG => return Err(not_pollable(fd, "a regular file")),
        libc::S_IFDIR => return Err(not_pollable(fd, "a directory")),
        libc::S_IFCHR | libc::S_IFBLK => check_device(fd)?,
        _ => {}
    }
    // Both are unsigned in the kernel; libc's types differ per platform.
    #[allow(clippy::unnecessary_cast, clippy::useless_conversion)]
    Ok(FileId { dev: stat.st_dev as u64, ino: stat.st_ino as u64 })
}

/// `fstat(2)` of a raw number.
fn fstat(fd: RawFd) -> io::Result<libc::stat> {
    let mut stat = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `stat` is valid for writes of one `libc::stat`; any fd number is acceptable
    // (a closed one fails with EBADF).
    cvt(unsafe { libc::fstat(fd, stat.as_mut_ptr()) })?;
    // SAFETY: fstat succeeded, so it filled `stat`.
    Ok(unsafe { stat.assume_init() })
}

cfg_if::cfg_if! {
    if #[cfg(any(target_os = "linux", target_os = "android"))] {
        use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
        use std::sync::OnceLock;

        /// Whether the device behind `fd` can be polled: added to, and taken out of, the
        /// scratch epoll instance (`epoll_ctl` answers `EPERM` for a driver without poll).
        #[cold]
        fn check_device(fd: RawFd) -> io::Result<()> {
            let epfd = scratch_epoll()?;
            let mut event = libc::epoll_event { events: 0, u64: 0 };
            // SAFETY: `event` is a valid epoll_event; both fds are plain numbers to the
            // kernel, which answers EBADF/EPERM for ones it cannot use.
            let added = cvt(unsafe {
                libc::epoll_ctl(epfd, libc::EPOLL_CTL_ADD, fd, &mut event)
            });
            match added {
                Ok(_) => {
                    // SAFETY: as above; EPOLL_CTL_DEL ignores `event` (null is allowed
                    // since Linux 2.6.9).
                    let deleted = cvt(unsafe {
                        libc::epoll_ctl(epfd, libc::EPOLL_CTL_DEL, fd, std::ptr::null_mut())
                    });
                    // ENOENT: a thread checking the same file at once took it out first.
                    match deleted {
                        Err(e) if e.raw_os_error() != Some(libc::ENOENT) => Err(e),
                        _ => Ok(()),
                    }
                }
                // EEXIST: a thread checking the same file at once put it in: pollable.
                Err(e) if e.raw_os_error() == Some(libc::EEXIST) => Ok(()),
                Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
                    Err(not_pollable(fd, "a device whose driver cannot be polled"))
                }
                Err(e) => Err(registration_error(fd, e)),
            }
        }

        /// The epoll instance that [`check_device`] tries devices in, made on first use
        /// and kept for the process: the check is rare, and a failure to make it is
        /// answered again (it is only an `EMFILE`/`ENOMEM`).
        fn scratch_epoll() -> io::Result<RawFd> {
            static SCRATCH: OnceLock<OwnedFd> = OnceLock::new();
            if let Some(fd) = SCRATCH.get() {
                return Ok(fd.as_raw_fd());
            }
            // SAFETY: epoll_create1 takes only flags.
            let raw = cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
            // SAFETY: `raw` was just returned by epoll_create1, is open, and nothing else
            // owns it.
            let made = unsafe { OwnedFd::from_raw_fd(raw) };
            // A thread that made one at the same time keeps its own; this one is closed.
            Ok(SCRATCH.get_or_init(|| made).as_raw_fd())
        }
    } else {
        /// Devices are accepted where there is no epoll to ask: `poll(2)` and `select(2)`
        /// report one whose driver cannot poll as always ready, and kqueue refuses it
        /// itself.
        fn check_device(_fd: RawFd) -> io::Result<()> {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fs::File;
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;

    use super::*;

    #[test]
    fn sockets_and_pipes_are_pollable_and_distinct() -> io::Result<()> {
        let (a, b) = UnixStream::pair()?;
        let (read, _write) = crate::backend::syscall::nonblocking_pipe()?;
        let ids = [pollable_file(a.as_raw_fd())?, pollable_file(b.as_raw_fd())?];
        assert_ne!(ids[0], ids[1], "two sockets share an identity");
        assert_ne!(pollable_file(read.as_raw_fd())?, ids[0]);
        assert_eq!(pollable_file(a.as_raw_fd())?, ids[0], "one socket, two identities");
        Ok(())
    }

    #[test]
    fn files_that_are_always_ready_are_refused() -> io::Result<()> {
        let dir = File::open("/")?;
        let file = File::open(std::env::current_exe()?)?;
        for (fd, what) in [(dir.as_raw_fd(), "a directory"), (file.as_raw_fd(), "a regular file")] {
            let err = pollable_file(fd).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{what}: {err}");
            let text = err.to_string();
            assert!(text.contains(&format!("fd {fd}")) && text.contains(what), "{text}");
        }
        Ok(())
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn dev_null_is_refused_on_linux() -> io::Result<()> {
        let null = File::open("/dev/null")?;
        let err = pollable_file(null.as_raw_fd()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
        assert!(err.to_string().contains("device"), "{err}");
        Ok(())
    }

    #[test]
    fn a_closed_number_is_refused() {
        let err = pollable_file(-1).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("fd -1"), "{err}");
    }
}
