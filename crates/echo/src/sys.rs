//! The one syscall the standard library and socket2 do not wrap for us.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

use multipoll::sys::cvt;

/// How many bytes are waiting in a socket's receive buffer (`ioctl(FIONREAD)`).
///
/// Shutdown answers exactly these bytes: "what the server had received" when it began.
pub(crate) fn bytes_readable(fd: BorrowedFd<'_>) -> io::Result<usize> {
    let mut queued: libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int through the pointer, which points to `queued`.
    cvt(unsafe { libc::ioctl(fd.as_raw_fd(), libc::FIONREAD as _, &mut queued) })?;
    Ok(usize::try_from(queued).unwrap_or(0))
}
