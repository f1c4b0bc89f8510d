//! Fault injection at the syscall boundary, for tests.
//!
//! Real kernels rarely return `EINTR` on every call, `ENOMEM` from `epoll_ctl` or `EBADF`
//! from a wait, so the paths that handle them would go untested. Backends call
//! [`inject`] right before each syscall; with the `fault-injection` feature a test can make
//! the next calls of one kind fail with an errno of its choosing, on its own thread only
//! (tests run in parallel). Without the feature, [`inject`] is an empty inline function.
//!
//! The fault is raised *instead of* the syscall, as the kernel would (a syscall that
//! fails has no effect), so injected failures never leak or half-apply anything.

use std::io;

/// The kinds of syscall a test can make fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Call {
    /// The blocking wait: `poll`, `select`, `epoll_wait`/`epoll_pwait2`, `kevent` (wait).
    Wait,
    /// A registration change: `epoll_ctl`, `kevent` (changes), the emulated backends'
    /// `fcntl` check.
    Register,
    /// Waking the waiter: the `write` of `notify`.
    Notify,
}

/// Returns the injected error for `call`, if a test armed one on this thread.
///
/// # Errors
/// The armed errno, once per armed failure.
#[inline]
pub fn inject(call: Call) -> io::Result<()> {
    #[cfg(feature = "fault-injection")]
    {
        armed::take(call)
    }
    #[cfg(not(feature = "fault-injection"))]
    {
        let _ = call;
        Ok(())
    }
}

#[cfg(feature = "fault-injection")]
pub use armed::{clear, fail_next};

#[cfg(feature = "fault-injection")]
mod armed {
    use super::Call;
    use std::cell::RefCell;
    use std::io;

    thread_local! {
        // It is const; clippy says otherwise on targets without native TLS (OpenBSD),
        // where the macro expands differently.
        #[allow(clippy::missing_const_for_thread_local, reason = "false positive, see above")]
        static PLAN: RefCell<Vec<(Call, i32, u32)>> = const { RefCell::new(Vec::new()) };
    }

    /// Makes the next `times` calls of kind `call` on this thread fail with `errno`.
    pub fn fail_next(call: Call, errno: i32, times: u32) {
        PLAN.with(|p| p.borrow_mut().push((call, errno, times)));
    }

    /// Disarms every fault on this thread.
    pub fn clear() {
        PLAN.with(|p| p.borrow_mut().clear());
    }

    pub(super) fn take(call: Call) -> io::Result<()> {
        PLAN.with(|p| {
            // Busy only when a signal handler (a notify from it) interrupted this very
            // function on this thread: inject nothing rather than panic there.
            let Ok(mut plan) = p.try_borrow_mut() else {
                return Ok(());
            };
            let Some(i) = plan.iter().position(|&(c, _, n)| c == call && n > 0) else {
                return Ok(());
            };
            plan[i].2 -= 1;
            let errno = plan[i].1;
            if plan[i].2 == 0 {
                plan.remove(i);
            }
            Err(io::Error::from_raw_os_error(errno))
        })
    }
}
