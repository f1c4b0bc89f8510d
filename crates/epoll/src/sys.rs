//! One wrapper per epoll syscall: C return values to `io::Result`, fds into `OwnedFd`.

use std::io;
use std::os::fd::{OwnedFd, RawFd};
use std::ptr;

use multipoll_core::backend::syscall::cvt;

/// `epoll_create1(EPOLL_CLOEXEC)`. Only creation goes through nix: its `Epoll::add` and
/// `delete` take `AsFd`, while our `epoll_ctl` runs on raw numbers (also of fds closed
/// without a delete, whose records are stale), and it has no `epoll_pwait2`; the calls
/// below stay libc.
pub(crate) fn epoll_create() -> io::Result<OwnedFd> {
    use nix::sys::epoll::{Epoll, EpollCreateFlags};
    Ok(Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)?.0)
}

/// `epoll_ctl(2)` with `data.u64 = data`.
pub(crate) fn epoll_ctl(
    epfd: RawFd,
    op: libc::c_int,
    fd: RawFd,
    events: u32,
    data: u64,
) -> io::Result<()> {
    let mut event = libc::epoll_event { events, u64: data };
    // SAFETY: `event` lives on the stack for the call; the kernel only reads it.
    cvt(unsafe { libc::epoll_ctl(epfd, op, fd, &mut event) }).map(drop)
}

/// `epoll_wait(2)` into `buffer`; returns how many entries were filled. Inline: it is on
/// the path of every wait.
#[inline]
pub(crate) fn epoll_wait(
    epfd: RawFd,
    buffer: &mut [libc::epoll_event],
    timeout_ms: libc::c_int,
) -> io::Result<usize> {
    let max = buffer.len().min(libc::c_int::MAX as usize) as libc::c_int;
    // SAFETY: the kernel writes at most `max` entries into `buffer`, which holds that many.
    let n = cvt(unsafe { libc::epoll_wait(epfd, buffer.as_mut_ptr(), max, timeout_ms) })?;
    Ok(n as usize)
}

/// `epoll_pwait2(2)` (raw syscall: older C libraries lack the wrapper); `None` blocks.
pub(crate) fn epoll_pwait2(
    epfd: RawFd,
    buffer: &mut [libc::epoll_event],
    timeout: Option<libc::timespec>,
) -> io::Result<usize> {
    let max = buffer.len().min(libc::c_int::MAX as usize) as libc::c_int;
    let ts = timeout.as_ref().map_or(ptr::null(), ptr::from_ref);
    // SAFETY: the kernel writes at most `max` entries into `buffer`, which holds that many,
    // and reads one timespec from `ts` (or none when null); no signal mask is passed.
    let n = cvt(unsafe {
        libc::syscall(
            libc::SYS_epoll_pwait2,
            epfd,
            buffer.as_mut_ptr(),
            max,
            ts,
            ptr::null::<libc::sigset_t>(),
            0usize,
        )
    })?;
    Ok(n as usize)
}

/// Whether this kernel has `epoll_pwait2` (Linux 5.11+; seccomp filters may also refuse it).
pub(crate) fn has_epoll_pwait2(epfd: RawFd) -> bool {
    let mut probe = [libc::epoll_event { events: 0, u64: 0 }];
    match epoll_pwait2(epfd, &mut probe, Some(libc::timespec { tv_sec: 0, tv_nsec: 0 })) {
        Ok(_) => true,
        Err(e) => !matches!(e.raw_os_error(), Some(libc::ENOSYS | libc::EPERM)),
    }
}
