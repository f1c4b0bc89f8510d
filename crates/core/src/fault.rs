//! Fault injection at the syscall boundary, for tests.
//!
//! Real kernels rarely return `EINTR` on every call, `ENOMEM` from `epoll_ctl` or `EBADF`
//! from a wait, so the paths that handle them would go untested. Backends call
//! [`inject`] right before each syscall with its [`Call`]; code built on a poller names
//! its own fault points with a type of its own that implements [`Point`] and calls
//! [`inject`] the same way (the echo server's `SocketCall`: `accept`, `recv`, `send`).
//! With the `fault-injection` feature a test can make the next calls at one point fail
//! with an errno of its choosing, on its own thread only (tests run in parallel). Without
//! the feature, [`inject`] is an empty inline function.
//!
//! The fault is raised *instead of* the syscall, as the kernel would (a syscall that
//! fails has no effect), so injected failures never leak or half-apply anything.

use std::fmt::Debug;
use std::io;

/// A kind of syscall a test can make fail: [`Call`] for the backends' own, and a type
/// of its own for each layer above them, so that each layer names only its own points.
pub trait Point: Copy + Eq + Debug + 'static {}

/// The backends' syscalls a test can make fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Call {
    /// The blocking wait: `poll`, `select`, `epoll_wait`/`epoll_pwait2`, `kevent` (wait).
    Wait,
    /// A registration change: `epoll_ctl`, `kevent` (changes), the `fstat` file check
    /// of poll, select and kqueue (`backend::checks::check_file`).
    Register,
    /// Waking the waiter: `notify`'s one syscall (the `write` to the eventfd or pipe;
    /// kqueue's `kevent` that triggers its `EVFILT_USER` knote).
    Notify,
}

impl Point for Call {}

/// Returns the injected error for `point`, if a test armed one on this thread.
///
/// # Errors
/// The armed errno, once per armed failure.
#[inline]
pub fn inject<P: Point>(point: P) -> io::Result<()> {
    #[cfg(feature = "fault-injection")]
    {
        armed::take(point)
    }
    #[cfg(not(feature = "fault-injection"))]
    {
        let _ = point;
        Ok(())
    }
}

#[cfg(feature = "fault-injection")]
pub use armed::{armed, clear, fail_every_other, fail_next};

#[cfg(feature = "fault-injection")]
mod armed {
    use super::Point;
    use std::any::Any;
    use std::cell::RefCell;
    use std::io;

    /// One armed fault: `times` more failures at `point` with `errno`.
    struct Fault {
        /// A [`Point`] of any type: the points of every layer share one plan, so that
        /// faults armed at several layers are raised in the order the calls come.
        point: Box<dyn Any>,
        errno: i32,
        times: u32,
        /// Let every other call through (see [`fail_every_other`]).
        alternate: bool,
        /// With `alternate`: the next call goes through.
        pass_next: bool,
    }

    impl Fault {
        fn is_at<P: Point>(&self, point: P) -> bool {
            self.point.downcast_ref::<P>() == Some(&point)
        }
    }

    thread_local! {
        // It is const; clippy says otherwise on targets without native TLS (OpenBSD),
        // where the macro expands differently.
        #[allow(clippy::missing_const_for_thread_local, reason = "false positive, see above")]
        static PLAN: RefCell<Vec<Fault>> = const { RefCell::new(Vec::new()) };
    }

    /// Makes the next `times` calls at `point` on this thread fail with `errno`.
    pub fn fail_next<P: Point>(point: P, errno: i32, times: u32) {
        arm(point, errno, times, false);
    }

    /// Makes every other call at `point` on this thread fail with `errno`, `times` times
    /// in all, starting with the next one: fail, pass, fail, pass... With `EINTR`, every
    /// syscall is interrupted once and a retry loop gets through on its second attempt,
    /// where [`fail_next`] would make one call fail `times` times in a row.
    pub fn fail_every_other<P: Point>(point: P, errno: i32, times: u32) {
        arm(point, errno, times, true);
    }

    fn arm<P: Point>(point: P, errno: i32, times: u32, alternate: bool) {
        if times > 0 {
            let fault = Fault { point: Box::new(point), errno, times, alternate, pass_next: false };
            PLAN.with(|p| p.borrow_mut().push(fault));
        }
    }

    /// How many failures at `point` are still armed on this thread (a test subtracts it
    /// from what it armed to learn how many were raised).
    pub fn armed<P: Point>(point: P) -> u64 {
        PLAN.with(|p| {
            p.borrow().iter().filter(|f| f.is_at(point)).map(|f| u64::from(f.times)).sum()
        })
    }

    /// Disarms every fault on this thread, at every point.
    pub fn clear() {
        PLAN.with(|p| p.borrow_mut().clear());
    }

    pub(super) fn take<P: Point>(point: P) -> io::Result<()> {
        PLAN.with(|p| {
            // Busy only when a signal handler (a notify from it) interrupted this very
            // function on this thread: inject nothing rather than panic there.
            let Ok(mut plan) = p.try_borrow_mut() else {
                return Ok(());
            };
            // Faults at one point are raised in the order they were armed.
            let Some(i) = plan.iter().position(|f| f.is_at(point)) else {
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

    /// A layer's own points, as a server built on a poller declares them.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Server {
        Read,
        Write,
    }

    impl Point for Server {}

    fn outcomes<P: Point>(point: P, n: usize) -> Vec<Option<i32>> {
        (0..n).map(|_| inject(point).err().and_then(|e| e.raw_os_error())).collect()
    }

    #[test]
    fn next_then_every_other_in_order() {
        fail_next(Server::Read, libc::EAGAIN, 2);
        fail_every_other(Server::Read, libc::EINTR, 2);
        assert_eq!(armed(Server::Read), 4);
        assert_eq!(armed(Server::Write), 0);
        let (again, intr) = (Some(libc::EAGAIN), Some(libc::EINTR));
        assert_eq!(outcomes(Server::Write, 1), [None], "other points are untouched");
        assert_eq!(outcomes(Server::Read, 6), [again, again, intr, None, intr, None]);
        assert_eq!(armed(Server::Read), 0);
    }

    #[test]
    fn points_of_two_layers_are_apart() {
        fail_next(Call::Wait, libc::ENOMEM, 1);
        fail_next(Server::Read, libc::EINTR, 1);
        assert_eq!((armed(Call::Wait), armed(Server::Read), armed(Call::Register)), (1, 1, 0));
        assert_eq!(outcomes(Server::Read, 2), [Some(libc::EINTR), None]);
        assert_eq!(outcomes(Call::Wait, 2), [Some(libc::ENOMEM), None]);
    }

    #[test]
    fn clear_disarms() {
        fail_every_other(Call::Register, libc::ENOMEM, 3);
        fail_next(Server::Write, libc::EPIPE, 1);
        clear();
        assert_eq!(outcomes(Call::Register, 2), [None, None]);
        assert_eq!(outcomes(Server::Write, 1), [None]);
    }
}
