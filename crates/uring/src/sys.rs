//! The io_uring plumbing: creating a ring this backend can use (and saying why not), the
//! three requests it sends (`POLL_ADD`, `ASYNC_CANCEL`, `NOP`), `io_uring_enter(2)` with or
//! without a wait, and reading completions.
//!
//! The submission and completion queues are memory shared with the kernel; the `io-uring`
//! crate hands them out as borrows that must not overlap. [`Queues`] is the proof of that:
//! one per ring, kept behind the poller's lock, and every method that touches a queue takes
//! `&mut Queues`. Entering the kernel needs no queue borrow, so a waiter does it without
//! the lock, and several can block in `io_uring_enter` at once.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::sync::OnceLock;
use std::time::Duration;

use io_uring::types::{Fd, SubmitArgs, Timespec};
use io_uring::{IoUring, Probe, cqueue, opcode, squeue};
use multipoll_core::backend::probe::poll_now;

/// One completion, copied out of the ring.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Completion {
    pub(crate) user_data: u64,
    /// The poll mask (`revents` bits), or `-errno`.
    pub(crate) result: i32,
    /// `IORING_CQE_F_MORE`: the (multishot) request is still armed.
    pub(crate) more: bool,
    /// `result` is what `poll(2)` said of the file after the completion was posted (see
    /// `Completions::refresh`), not the wake-up's key: nothing more to ask.
    pub(crate) asked: bool,
}

/// The right to touch the ring's queues: exactly one exists per [`Ring`].
#[derive(Debug)]
pub(crate) struct Queues(());

/// A ring that passed every check of [`Ring::new`].
pub(crate) struct Ring {
    ring: IoUring,
    /// Set up with `IORING_SETUP_COOP_TASKRUN` (Linux 5.19): see [`Ring::new`].
    cooperative: bool,
}

impl std::fmt::Debug for Ring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = self.ring.params();
        f.debug_struct("Ring")
            .field("fd", &self.ring.as_raw_fd())
            .field("sq_entries", &p.sq_entries())
            .field("cq_entries", &p.cq_entries())
            .field("cooperative", &self.cooperative)
            .finish()
    }
}

impl Ring {
    /// `io_uring_setup(2)` with `entries` submission slots and `cq_entries` completion
    /// slots (the kernel rounds both up to powers of two), then the checks of [`check`].
    ///
    /// Cooperative where the kernel has it (`IORING_SETUP_COOP_TASKRUN`, Linux 5.19; older
    /// ones refuse the flag with `EINVAL`, and get a ring without it): a completion's task
    /// work no longer interrupts the submitting thread while it runs in user space (an
    /// inter-processor interrupt), but runs at its next entry into the kernel — a system
    /// call, or the next timer tick. A thread asleep in an interruptible call is still
    /// woken for it. That delays a report by at most a tick while its submitter computes,
    /// and saves the interrupts (the crate docs, *Which thread completes*).
    pub(crate) fn new(entries: u32, cq_entries: u32) -> io::Result<(Ring, Queues)> {
        let (ring, cooperative) = match setup(entries, cq_entries, true) {
            Ok(ring) => (ring, true),
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                (setup(entries, cq_entries, false).map_err(setup_error)?, false)
            }
            Err(e) => return Err(setup_error(e)),
        };
        check(&ring)?;
        Ok((Ring { ring, cooperative }, Queues(())))
    }

    /// Whether the ring was set up cooperative (see [`Ring::new`]).
    #[cfg(test)]
    pub(crate) fn is_cooperative(&self) -> bool {
        self.cooperative
    }

    /// The ring's fd: readable while completions wait in the queue (`io_uring_poll`).
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.ring.as_fd()
    }

    /// How many entries the submission queue holds at most.
    pub(crate) fn sq_capacity(&self) -> usize {
        self.ring.params().sq_entries() as usize
    }

    /// How many entries wait in the submission queue for an `io_uring_enter`.
    pub(crate) fn sq_len(&self, queues: &mut Queues) -> usize {
        self.submission(queues).len()
    }

    /// Queues `entry`; `false` if the submission queue is full.
    pub(crate) fn push(&self, queues: &mut Queues, entry: &squeue::Entry) -> bool {
        let mut sq = self.submission(queues);
        // SAFETY: poll requests and NOPs point to no memory of ours: the kernel reads
        // nothing but the entry itself, which `push` copies into the ring.
        unsafe { sq.push(entry) }.is_ok()
    }

    /// The next completion, if one is waiting; taking it frees its slot.
    pub(crate) fn pop(&self, queues: &mut Queues) -> Option<Completion> {
        let _ = queues;
        // SAFETY: `&mut Queues` proves that no other completion queue borrow exists (there is
        // one `Queues` per ring); this one ends, and stores the new head, at return.
        let mut cq = unsafe { self.ring.completion_shared() };
        cq.next().map(|c| Completion {
            user_data: c.user_data(),
            result: c.result(),
            more: cqueue::more(c.flags()),
            asked: false,
        })
    }

    /// How many completions the queue holds.
    pub(crate) fn cq_capacity(&self) -> usize {
        self.ring.params().cq_entries() as usize
    }

    /// How many more completions the queue holds before it overflows.
    pub(crate) fn cq_room(&self, queues: &mut Queues) -> usize {
        let _ = queues;
        // SAFETY: as in `pop`.
        let cq = unsafe { self.ring.completion_shared() };
        cq.capacity() - cq.len()
    }

    /// Whether a completion waits in the queue.
    pub(crate) fn has_completions(&self, queues: &mut Queues) -> bool {
        let _ = queues;
        // SAFETY: as in `pop`.
        let cq = unsafe { self.ring.completion_shared() };
        !cq.is_empty()
    }

    /// Whether completions overflowed the queue: the kernel keeps them
    /// (`IORING_FEAT_NODROP`) until an enter with `IORING_ENTER_GETEVENTS` moves them in.
    pub(crate) fn overflowed(&self, queues: &mut Queues) -> bool {
        self.submission(queues).cq_overflow()
    }

    /// `io_uring_enter(2)` that submits what is queued and, with `min_complete` 1, blocks
    /// until a completion is waiting or `timeout` (`IORING_ENTER_EXT_ARG`) has passed
    /// (`ETIME`). Needs no [`Queues`]: the kernel takes what lies between head and tail, and
    /// any number of threads may block here at once.
    pub(crate) fn enter(&self, min_complete: usize, timeout: Option<Duration>) -> io::Result<()> {
        let submitter = self.ring.submitter();
        match (min_complete, timeout) {
            // Also moves overflowed completions in (the crate adds GETEVENTS for them).
            (0, _) => submitter.submit(),
            (n, None) => submitter.submit_and_wait(n),
            (n, Some(t)) => {
                // `tv_sec` is signed: a larger one would be EINVAL.
                let secs = t.as_secs().min(i64::MAX as u64);
                let ts = Timespec::new().sec(secs).nsec(t.subsec_nanos());
                submitter.submit_with_args(n, &SubmitArgs::new().timespec(&ts))
            }
        }
        .map(drop)
    }

    fn submission<'a>(&'a self, queues: &'a mut Queues) -> squeue::SubmissionQueue<'a> {
        let _ = queues;
        // SAFETY: `&mut Queues` proves that no other submission queue borrow exists (there
        // is one `Queues` per ring); this one ends, and publishes the new tail, when dropped.
        unsafe { self.ring.submission_shared() }
    }
}

/// `io_uring_setup(2)`, cooperative (`IORING_SETUP_COOP_TASKRUN`) or not.
fn setup(entries: u32, cq_entries: u32, cooperative: bool) -> io::Result<IoUring> {
    let mut builder = IoUring::builder();
    builder.setup_cqsize(cq_entries);
    if cooperative {
        builder.setup_coop_taskrun();
    }
    builder.build(entries)
}

/// `IORING_OP_POLL_ADD` of `mask` on `fd`, multishot (`IORING_POLL_ADD_MULTI`) or not.
pub(crate) fn poll_add(fd: RawFd, mask: u32, multishot: bool, user_data: u64) -> squeue::Entry {
    opcode::PollAdd::new(Fd(fd), mask).multi(multishot).build().user_data(user_data)
}

/// `IORING_OP_ASYNC_CANCEL` of the poll request tagged `target`. Not `POLL_REMOVE`: that
/// one gives up with `EALREADY` when a wake-up's task work owns the request at that
/// moment, and a multishot poll then stays armed, holding its file, for good; a cancel
/// marks the request, and whoever owns it ends it.
pub(crate) fn cancel(target: u64, user_data: u64) -> squeue::Entry {
    opcode::AsyncCancel::new(target).build().user_data(user_data)
}

/// `IORING_OP_NOP`: a completion that wakes every thread blocked in `io_uring_enter`.
pub(crate) fn nop(user_data: u64) -> squeue::Entry {
    opcode::Nop::new().build().user_data(user_data)
}

/// What `poll(2)` says of `fd` now, for `events`: the file's state, where a poll request's
/// completion may carry the wake-up's key instead.
pub(crate) fn revents_now(fd: RawFd, events: i16) -> io::Result<i32> {
    let mut pfd = [libc::pollfd { fd, events, revents: 0 }];
    poll_now(&mut pfd)?;
    Ok(i32::from(pfd[0].revents))
}

/// Whether this kernel and process can run the backend (the answer of a probe made once).
pub(crate) fn availability() -> io::Result<()> {
    static ANSWER: OnceLock<Result<(), String>> = OnceLock::new();
    let answer = ANSWER.get_or_init(|| {
        let ring = IoUring::new(1).map_err(|e| setup_error(e).to_string())?;
        check(&ring).map_err(|e| e.to_string())
    });
    answer.clone().map_err(|message| io::Error::new(io::ErrorKind::Unsupported, message))
}

/// The features and requests the backend relies on, each with the kernel that brought it.
fn check(ring: &IoUring) -> io::Result<()> {
    let p = ring.params();
    let features = [
        (p.is_feature_nodrop(), "IORING_FEAT_NODROP (Linux 5.5): no completion is ever dropped"),
        (p.is_feature_ext_arg(), "IORING_FEAT_EXT_ARG (Linux 5.11): wait timeouts"),
        // 5.13 has no feature bit for multishot poll; resource tagging came with it.
        (p.is_feature_resource_tagging(), "multishot poll (Linux 5.13)"),
    ];
    if let Some((_, missing)) = features.iter().find(|(present, _)| !present) {
        return Err(unsupported(format!("this kernel's io_uring lacks {missing}")));
    }
    opcodes_supported(ring)
}

/// `IORING_REGISTER_PROBE` (Linux 5.6): the opcodes may also be switched off one by one
/// (restrictions, or a seccomp filter that knows io_uring's opcodes).
fn opcodes_supported(ring: &IoUring) -> io::Result<()> {
    let mut probe = Probe::new();
    ring.submitter().register_probe(&mut probe).map_err(|e| {
        unsupported(format!("io_uring cannot list its operations ({e}): Linux 5.6 or later needed"))
    })?;
    let ops = [
        (opcode::PollAdd::CODE, "IORING_OP_POLL_ADD"),
        (opcode::AsyncCancel::CODE, "IORING_OP_ASYNC_CANCEL"),
        (opcode::Nop::CODE, "IORING_OP_NOP"),
    ];
    match ops.iter().find(|(code, _)| !probe.is_supported(*code)) {
        Some((_, name)) => Err(unsupported(format!("io_uring does not offer {name} here"))),
        None => Ok(()),
    }
}

/// `io_uring_setup(2)`'s refusals, named.
fn setup_error(err: io::Error) -> io::Error {
    match err.raw_os_error() {
        Some(libc::ENOSYS) => unsupported(
            "io_uring_setup(2) does not exist here (ENOSYS): Linux before 5.1, a kernel built \
             without CONFIG_IO_URING, or a seccomp filter that hides it"
                .to_owned(),
        ),
        Some(libc::EPERM) => unsupported(match disabled_sysctl().as_deref() {
            Some("2") => "io_uring is disabled (kernel.io_uring_disabled=2)".to_owned(),
            Some("1") => "io_uring is restricted to the group in kernel.io_uring_group \
                          (kernel.io_uring_disabled=1), and this process is not in it"
                .to_owned(),
            _ => "io_uring_setup(2) was refused (EPERM): most likely a seccomp filter, as \
                  container runtimes install, blocks io_uring"
                .to_owned(),
        }),
        _ => io::Error::new(err.kind(), format!("io_uring_setup(2) failed: {err}")),
    }
}

/// `kernel.io_uring_disabled` (Linux 6.6), where the kernel has it.
fn disabled_sysctl() -> Option<String> {
    let value = std::fs::read_to_string("/proc/sys/kernel/io_uring_disabled").ok()?;
    Some(value.trim().to_owned())
}

fn unsupported(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::Unsupported, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kernel's version, from `/proc/sys/kernel/osrelease` ("6.18.44-…").
    fn kernel_version() -> io::Result<(u32, u32)> {
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease")?;
        let mut numbers = release.split(|c: char| !c.is_ascii_digit()).map(str::parse);
        match (numbers.next(), numbers.next()) {
            (Some(Ok(major)), Some(Ok(minor))) => Ok((major, minor)),
            _ => Err(io::Error::other(format!("unreadable kernel release {release:?}"))),
        }
    }

    /// Cooperative exactly where the kernel has `IORING_SETUP_COOP_TASKRUN` (5.19): so the
    /// fallback for older kernels does not hide a refusal on newer ones.
    #[test]
    fn ring_is_cooperative_where_the_kernel_allows() -> io::Result<()> {
        let (ring, _queues) = Ring::new(4, 8)?;
        let version = kernel_version()?;
        assert_eq!(ring.is_cooperative(), version >= (5, 19), "kernel {version:?}: {ring:?}");
        Ok(())
    }
}
