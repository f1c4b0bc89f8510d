//! The parts of `struct kevent` this backend reads and writes, platform-neutral: the
//! `EV_*` bits, the filters, and a returned kevent with what it says about its fd.
//!
//! Plain Rust, so that the planner ([`changes`](crate::changes)) and the registration
//! record ([`record`](crate::record)) built on it compile and are unit-tested on Linux
//! too; `sys.rs` only converts these to and from `libc::kevent`.
//!
//! The man pages quoted in this crate are FreeBSD's kqueue(2) and macOS's kqueue(2) (xnu
//! `bsd/man/man2/kqueue.2`), which say the same in every line quoted unless noted.

use multipoll_core::Interest;
use multipoll_core::backend::readiness::Readiness;

/// The `EV_*` bits used here. They are equal on every BSD and macOS; `sys.rs` asserts that
/// at compile time for each target, so conversion is a plain widening.
pub(crate) mod ev {
    /// Add the knote (or update an existing one).
    pub(crate) const ADD: u16 = 0x0001;
    /// Remove the knote.
    pub(crate) const DELETE: u16 = 0x0002;
    /// Let the knote report.
    pub(crate) const ENABLE: u16 = 0x0004;
    /// Keep the knote but stop it reporting.
    pub(crate) const DISABLE: u16 = 0x0008;
    /// Edge: reset the knote's state once it is reported.
    pub(crate) const CLEAR: u16 = 0x0020;
    /// Return a receipt for the change instead of draining pending events.
    pub(crate) const RECEIPT: u16 = 0x0040;
    /// Disable the knote once it is reported.
    pub(crate) const DISPATCH: u16 = 0x0080;
    /// Receipt (with `data` = errno, 0 for success), or a failed change.
    pub(crate) const ERROR: u16 = 0x4000;
    /// End of file: the peer closed; `fflags` holds a pending socket error, if any.
    pub(crate) const EOF: u16 = 0x8000;
}

/// The filters this backend uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Filter {
    /// `EVFILT_READ`.
    Read,
    /// `EVFILT_WRITE`.
    Write,
    /// `EVFILT_USER`, the wake-up of `notify`.
    User,
}

impl Filter {
    /// The fd filters, in the order changes are made.
    pub(crate) const FD: [Filter; 2] = [Filter::Read, Filter::Write];

    /// Whether a registration with `interest` has a knote of this filter.
    pub(crate) fn wanted_by(self, interest: Interest) -> bool {
        match self {
            Filter::Read => interest.is_readable(),
            Filter::Write => interest.is_writable(),
            Filter::User => false,
        }
    }
}

/// The fields of a returned `struct kevent` that this backend reads: an event of a `wait`,
/// or the receipt of a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Kevent {
    /// The fd (0 for the user event).
    pub(crate) ident: usize,
    /// `None` for a filter this backend never registers.
    pub(crate) filter: Option<Filter>,
    /// `EV_*` bits.
    pub(crate) flags: u16,
    /// With `EV_EOF`: the pending socket error, if any.
    pub(crate) fflags: u32,
    /// For a receipt: the errno of the change, 0 for success.
    pub(crate) data: i64,
    /// The key given at registration ([`multipoll_core::RESERVED_KEY`] for the wake-up).
    pub(crate) udata: usize,
}

impl Kevent {
    /// What one returned knote says. A knote reports one direction, so an fd with both
    /// knotes ready comes back as two `Kevent`s, merged by `EventsExt::merge_same_keys`.
    ///
    /// `EV_EOF` is a hang-up (and makes a read return end of file at once, so the fd is
    /// readable too). kqueue(2), `EVFILT_READ` on sockets: "If the read direction of the
    /// socket has shutdown, then the filter also sets EV_EOF in flags, and returns the
    /// socket error (if any) in fflags"; `EVFILT_WRITE`: "For sockets, the low water mark
    /// and socket error handling is identical to the EVFILT_READ case". So a nonzero
    /// `fflags` with `EV_EOF` is the error; pipes set `EV_EOF` ("When the last writer
    /// disconnects", "when the reader disconnects") with no error.
    pub(crate) fn readiness(&self) -> Readiness {
        let eof = self.flags & ev::EOF != 0;
        // Not expected from a wait without changes, but if the kernel reports a failed
        // knote, say so rather than drop it.
        let failed = self.flags & ev::ERROR != 0 && self.data != 0;
        Readiness {
            readable: self.filter == Some(Filter::Read) || eof || failed,
            writable: self.filter == Some(Filter::Write) || failed,
            hangup: eof,
            error: eof && self.fflags != 0 || failed,
            // Priority interest is refused (`Capabilities::priority` is false): no
            // `EVFILT_EXCEPT`/`NOTE_OOB` knote is ever made.
            priority: false,
            closed: false,
        }
    }
}
