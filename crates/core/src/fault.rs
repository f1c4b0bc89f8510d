//! Fault injection at the syscall boundary, for tests.
//!
//! Real kernels rarely return `EINTR` on every call, `ENOMEM` from `epoll_ctl` or `EBADF`
//! from a wait, so the paths that handle them would go untested. Backends call
//! [`inject`] right before each syscall, and so may code built on a poller (the echo
//! server does before `accept`, `read` and `write`); with the `fault-injection` feature a
//! test can make the next calls of one kind fail with an errno of its choosing, on its own
//! thread only (tests run in parallel). Without the feature, [`inject`] is an empty inline
//! function.
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
    /// Waking the waiter: `notify`'s one syscall (the `write` to the eventfd or pipe;
    /// kqueue's `kevent` that triggers its `EVFILT_USER` knote).
    Notify,
    /// Not made by backends, for servers built on one: accepting a connection (`accept`,
    /// `accept4`).
    Accept,
    /// Not made by backends: reading from a connection (`read`, `recv`).
    Read,
    /// Not made by backends: writing to a connection (`write`, `send`).
    Write,
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
pub use armed::{armed, clear, fail_every_other, fail_next};

#[cfg(feature = "fault-injection")]
mod armed {
    use super::Call;
    use std::cell::RefCell;
    use std::io;

    /// One armed fault: `times` more failures of `call` with `errno`.
    struct Fault {
        call: Call,
        errno: i32,
        times: u32,
        /// Let every other call through (see [`fail_every_other`]).
        alternate: bool,
        /// With `alternate`: the next call goes through.
        pass_next: bool,
    }

    thread_local! {
        // It is const; clippy says otherwise on targets without native TLS (OpenBSD),
        // where the macro expands differently.
        #[allow(clippy::missing_const_for_thread_local, reason = "false positive, see above")]
        static PLAN: RefCell<Vec<Fault>> = const { RefCell::new(Vec::new()) };
    }

    /// Makes the next `times` calls of kind `call` on this thread fail with `errno`.
    pub fn fail_next(call: Call, errno: i32, times: u32) {
        arm(Fault { call, errno, times, alternate: false, pass_next: false });
    }

    /// Makes every other call of kind `call` on this thread fail with `errno`, `times` times
    /// in all, starting with the next one: fail, pass, fail, pass... With `EINTR`, every
    /// syscall is interrupted once and a retry loop gets through on its second attempt,
    /// where [`fail_next`] would make one call fail `times` times in a row.
    pub fn fail_every_other(call: Call, errno: i32, times: u32) {
        arm(Fault { call, errno, times, alternate: true, pass_next: false });
    }

    fn arm(fault: Fault) {
        if fault.times > 0 {
            PLAN.with(|p| p.borrow_mut().push(fault));
        }
    }

    /// How many failures of kind `call` are still armed on this thread (a test subtracts
    /// it from what it armed to learn how many were raised).
    pub fn armed(call: Call) -> u64 {
        PLAN.with(|p| {
            p.borrow().iter().filter(|f| f.call == call).map(|f| u64::from(f.times)).sum()
        })
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
            // Faults of one kind are raised in the order they were armed.
            let Some(i) = plan.iter().position(|f| f.call == call) else {
                return Ok(());
            };
            let fault = &mut plan[i];
            if fault.pass_next {
                fault.pass_next = false;
                return Ok(());
            }
            fault.times -= 1;
            fault.pass_next = fault.alternate;
            let errno = fault.errno;
            if fault.times == 0 {
                plan.remove(i);
            }
            Err(io::Error::from_raw_os_error(errno))
        })
    }
}

#[cfg(all(test, feature = "fault-injection"))]
mod tests {
    use super::*;

    fn outcomes(call: Call, n: usize) -> Vec<Option<i32>> {
        (0..n).map(|_| inject(call).err().and_then(|e| e.raw_os_error())).collect()
    }

    #[test]
    fn next_then_every_other_in_order() {
        fail_next(Call::Read, libc::EAGAIN, 2);
        fail_every_other(Call::Read, libc::EINTR, 2);
        assert_eq!(armed(Call::Read), 4);
        assert_eq!(armed(Call::Write), 0);
        let (again, intr) = (Some(libc::EAGAIN), Some(libc::EINTR));
        assert_eq!(outcomes(Call::Write, 1), [None], "other kinds are untouched");
        assert_eq!(outcomes(Call::Read, 6), [again, again, intr, None, intr, None]);
        assert_eq!(armed(Call::Read), 0);
    }

    #[test]
    fn clear_disarms() {
        fail_every_other(Call::Accept, libc::EMFILE, 3);
        clear();
        assert_eq!(outcomes(Call::Accept, 2), [None, None]);
    }
}
