//! The ring's queues, as the poller's lock guards them: entries go in through
//! [`Submitter::push`], which makes room itself, and [`Submitter::submit`] hands them to
//! the kernel, retrying what `io_uring_enter(2)` asks to retry.
//!
//! Making room is this type's job, not its callers' (libuv's `uv__iou_get_sqe`, tokio's
//! `register_op`): a full submission queue is submitted before more is queued, and
//! `EBUSY`/`EAGAIN` ("wait for some completions and try again") is met by taking
//! completions out of the ring and setting them aside ([`Submitter::take_aside`]), for the
//! next wait to report, or by a short pause when there are none.

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use io_uring::squeue::Entry;
use multipoll_core::fault::{self, Call};

use crate::registrations::IGNORED;
use crate::sys::{self, Completion, Queues, Ring};

/// How often `EBUSY`/`EAGAIN` from a submission is retried before it is returned.
const BUSY_RETRIES: u32 = 100;
/// The pause between retries when taking completions made no room.
pub(crate) const BUSY_PAUSE: Duration = Duration::from_millis(1);

/// Whether `e` is the kernel asking to take completions and try again.
pub(crate) fn is_busy(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EBUSY | libc::EAGAIN))
}

/// The ring's two queues and who else is using them.
#[derive(Debug)]
pub(crate) struct Submitter {
    ring: Arc<Ring>,
    /// The right to touch the queues (both: one token guards the ring's shared memory).
    queues: Queues,
    /// Completions taken out of the ring to make room, in order, until a wait takes them.
    aside: VecDeque<Completion>,
    /// Threads blocked (or about to block) in `io_uring_enter`: while there are any, a
    /// change is submitted at once, as an entry left in the queue would not wake them.
    blocked: usize,
    /// The ring fd was lent out (`AsFd`): someone may wait on it instead of calling `wait`,
    /// so nothing may wait in the submission queue for our next enter.
    lent: bool,
}

impl Submitter {
    pub(crate) fn new(ring: Arc<Ring>, queues: Queues) -> Submitter {
        Submitter { ring, queues, aside: VecDeque::new(), blocked: 0, lent: false }
    }

    /// Queues `entries`, all or none: when fewer slots are free, what is queued is
    /// submitted first.
    pub(crate) fn push(&mut self, entries: &[Entry]) -> io::Result<()> {
        if self.ring.sq_capacity() - self.ring.sq_len(&mut self.queues) < entries.len() {
            self.submit()?;
        }
        for entry in entries {
            // After a submission the queue is empty, and every caller pushes fewer entries
            // than the smallest ring has slots; the loop only guards that.
            while !self.ring.push(&mut self.queues, entry) {
                self.submit()?;
            }
        }
        Ok(())
    }

    /// Submits everything queued, without waiting: the kernel has taken it all when this
    /// returns.
    pub(crate) fn submit(&mut self) -> io::Result<()> {
        let (mut busy, mut wake) = (0, false);
        loop {
            if self.ring.sq_len(&mut self.queues) == 0 {
                if !wake {
                    return Ok(());
                }
                // A thread that was about to block when its completions were set aside
                // would miss them: a completion of our own wakes it (the queue is empty,
                // so there is room).
                wake = false;
                let pushed = self.ring.push(&mut self.queues, &sys::nop(IGNORED));
                debug_assert!(pushed, "an empty queue had no room");
            }
            match self.ring.enter(0, None) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if is_busy(&e) && busy < BUSY_RETRIES => {
                    busy += 1;
                    wake |= self.make_room();
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The fault-injection point of `add`, `modify` and `delete` ([`Call::Register`]),
    /// once per call and before it changes anything, whether or not the change is
    /// submitted now: where epoll's `epoll_ctl` is, so that an injected refusal fails the
    /// call and changes nothing, as on epoll. Interruptions and `EBUSY`/`EAGAIN` are
    /// retried as a submission's are; the submission that follows, if any, injects
    /// nothing more.
    pub(crate) fn change_fault_point(&mut self) -> io::Result<()> {
        let mut busy = 0;
        loop {
            match fault::inject(Call::Register) {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if is_busy(&e) && busy < BUSY_RETRIES => {
                    busy += 1;
                    if self.make_room() {
                        // The blocked thread hears of them from our own completion (the
                        // change, submitted at once while it is blocked, carries it).
                        self.push(&[sys::nop(IGNORED)])?;
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// After `EBUSY`/`EAGAIN`: the kernel wants completions taken first. They are set
    /// aside for the next wait (or, if there were none, a pause). Returns whether some were
    /// taken while another thread is blocked in the kernel, which must then be woken.
    fn make_room(&mut self) -> bool {
        let mut moved = false;
        while let Some(c) = self.ring.pop(&mut self.queues) {
            self.aside.push_back(c);
            moved = true;
        }
        if !moved {
            std::thread::sleep(BUSY_PAUSE);
        }
        moved && self.blocked > 0
    }

    /// Whether a change must go to the kernel now rather than with the next wait.
    #[inline]
    pub(crate) fn urgent(&self) -> bool {
        self.blocked > 0 || self.lent
    }

    /// Marks the ring fd lent out; `true` the first time.
    pub(crate) fn lend(&mut self) -> bool {
        !std::mem::replace(&mut self.lent, true)
    }

    /// Counts a thread that will block in `io_uring_enter` once the lock is released, so
    /// that a change made meanwhile is submitted at once.
    #[inline]
    pub(crate) fn block(&mut self) {
        self.blocked += 1;
    }

    /// Uncounts a thread counted by [`Submitter::block`] (a change made between its return
    /// and this was submitted at once for nothing).
    #[inline]
    pub(crate) fn unblock(&mut self) {
        self.blocked -= 1;
    }

    /// Whether entries wait in the submission queue for an `io_uring_enter`.
    #[inline]
    pub(crate) fn has_queued(&mut self) -> bool {
        self.ring.sq_len(&mut self.queues) > 0
    }

    /// Moves the completions set aside to the back of `into`. Checked first because
    /// this runs for every completion a wait takes, and there are almost never any.
    #[inline]
    pub(crate) fn take_aside(&mut self, into: &mut VecDeque<Completion>) {
        if !self.aside.is_empty() {
            into.append(&mut self.aside);
        }
    }

    /// The next completion in the ring.
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<Completion> {
        self.ring.pop(&mut self.queues)
    }

    /// Whether a completion waits, set aside or in the ring.
    #[inline]
    pub(crate) fn has_completions(&mut self) -> bool {
        !self.aside.is_empty() || self.ring.has_completions(&mut self.queues)
    }

    /// Whether completions overflowed the completion queue into the kernel.
    #[inline]
    pub(crate) fn overflowed(&mut self) -> bool {
        self.ring.overflowed(&mut self.queues)
    }

    /// How many more completions the completion queue holds before it overflows.
    #[inline]
    pub(crate) fn cq_room(&mut self) -> usize {
        self.ring.cq_room(&mut self.queues)
    }

    /// How many completions the completion queue holds.
    pub(crate) fn cq_capacity(&self) -> usize {
        self.ring.cq_capacity()
    }
}
