//! A multipoll backend over Linux `io_uring(7)`: readiness through poll requests.
//!
//! Each registration is an `IORING_OP_POLL_ADD` request in one ring per poller; its
//! completion carries `poll(2)` bits. What makes it worth a fifth backend is that changes
//! need no syscall of their own: a new poll (an `add`, a oneshot `modify`, a level
//! registration's next poll) is a submission queue entry that goes to the kernel in the
//! same `io_uring_enter(2)` as the next wait. A oneshot server loop — wait, handle,
//! re-arm — makes one syscall per round where epoll makes two (`epoll_ctl`, `epoll_wait`).
//!
//! | [`Mode`] | request | after it completes |
//! |---|---|---|
//! | `Level` | single-shot poll | polled again, in the next wait's enter |
//! | `Oneshot`, `EdgeOneshot` | single-shot poll | nothing until `modify` |
//! | `Edge` | multishot poll (`IORING_POLL_ADD_MULTI`): a completion per wake-up | polled again only if the kernel ends it (a completion without `IORING_CQE_F_MORE`) |
//!
//! A single-shot poll of a ready fd completes at once (so a level fd still ready is
//! reported again, and a oneshot re-arm reports data that arrived while disarmed); a
//! multishot poll posts a completion each time the file's wait queue is woken with a
//! matching event, which is what `EPOLLET` reports too ([io_uring_enter(2)],
//! `IORING_OP_POLL_ADD`).
//!
//! Syscalls, with one thread (the [`Poller`] contract's other cases below):
//!
//! | call | here | epoll |
//! |---|---|---|
//! | `wait` | one `io_uring_enter`, which also submits what is queued; none when only multishot completions are already in the ring and nothing is queued; plus one `poll(2)` for all the multishot completions found as it begins (*State at the wait* below), and one per event for the registrations of *Wake-up bits* | one `epoll_wait` |
//! | `add` | one `fstat(2)` (the fd's check: open, pollable, which file; a device also a trial `epoll_ctl` pair, see [`pollable_file`]) | one `epoll_ctl` |
//! | `modify` | none | one `epoll_ctl` |
//! | `delete` | one `io_uring_enter` if a poll is in the kernel, else none | one `epoll_ctl` |
//! | `notify` | one `write(2)` to an eventfd | the same |
//!
//! Quirks handled here, so the contract holds as on every backend:
//!
//! - **Completions outlive changes.** A completion may already sit in the queue when its
//!   registration is modified or deleted. Every request is tagged (`user_data`) with the
//!   fd and a generation that changes with each change and each new request; completions
//!   of another generation, or of an fd no longer in the table, are dropped, under the same
//!   lock as the change. So nothing is reported after `delete` returns.
//! - **Changes wait for the next enter**, unless another thread is blocked in the kernel
//!   (an entry left in the queue would not wake it) or the ring fd is lent out
//!   ([`AsFd`]): then they are submitted at once. New polls are kept aside until the next
//!   wait enters, not queued: a poll submitted early (when the queue fills up) could
//!   complete before the caller has drained the fd, a stale report; and a poll never
//!   submitted costs nothing to drop. Each wait polls at most as many as the completion
//!   queue has room for, the rest with the next waits, in order.
//! - **A poll request holds the file.** Until the kernel drops the request, closing the fd
//!   does not close the file (a socket sends no FIN). So `delete` of a registration whose
//!   poll is in the kernel submits its cancellation (`IORING_OP_ASYNC_CANCEL`, which
//!   ends the poll even while a wake-up is being handled, where `IORING_OP_POLL_REMOVE`
//!   fails with `EALREADY` and leaves a multishot poll armed) at once, and the socket
//!   closes when you close the fd (`delete_then_close_closes` in the conformance suite). An fd closed *without* `delete` stays open in the
//!   kernel while its poll is armed, and nothing is reported for it (its file is still
//!   there); if its poll had not been submitted yet, that poll fails with `EBADF`, reported
//!   once as an error, and the registration is forgotten (as `poll(2)` reports
//!   `POLLNVAL`). An `add` of the same number then finds another file (`fstat(2)`: device
//!   and inode), replaces the stale registration and releases the old file; for fds that
//!   share one inode (anonymous-inode fds: eventfd, timerfd, epoll, io_uring) it says
//!   `AlreadyExists` until you `delete` the old registration.
//! - **Wake-up bits, not state.** A poll woken with an event key completes with the key,
//!   without asking the file again (`io_poll_wake` in the kernel's `io_uring/poll.c`): a
//!   socket's arriving data wakes with `POLLIN | POLLPRI`, and so does its urgent byte;
//!   a wake-up for reading says nothing of writing, where epoll re-polls the file and
//!   reports both. Registrations with [`Interest::PRIORITY`], and those for both
//!   directions whose completion names only one, therefore ask the file with `poll(2)`
//!   before reporting (one syscall per such event; a registration for one direction
//!   costs nothing). A readable registration may hear of an urgent byte that arrives
//!   while a wait is blocked as readable, once
//!   ([`Capabilities::urgent_wakes_readable`]): its wake-up is `POLLIN | POLLPRI` like
//!   plain data's, so only asking the file tells them apart, and that would cost a
//!   `poll(2)` per blocking wait on every TCP connection (a fourth syscall per message for
//!   a level-mode connection that waits for each request; the workspace's
//!   `docs/design.md`, *Priority*) to spare a program that gets urgent data one `read`
//!   that says `WouldBlock`. It is not reported again: a single-shot poll
//!   asks the file as it is armed, and a multishot poll completes only at the next
//!   wake-up.
//! - **State at the wait.** A completion is posted when the fd is woken, by task work
//!   that runs as the thread returns from any syscall (its own `read`, say): the caller
//!   may drain the fd before it waits, and epoll, which re-polls its ready list as it
//!   reports, would then report nothing. So completions found in the ring as a wait
//!   begins are not reported as they are: a single-shot poll's (level, oneshot) is
//!   replaced by a fresh poll submitted with that wait's enter, which completes at once
//!   if the fd is still ready (no syscall more, and first in line, so no fd starves);
//!   for the others (a multishot poll's, edge) the files are asked, all of them in one
//!   `poll(2)`, and reported as it says (one syscall per wait, not one per event).
//! - **One report per fd per wait.** A multishot poll posts a completion per wake-up, and
//!   epoll's ready list holds an fd once. A wait merges the completions of one
//!   registration into one event; once `Events` is full it still takes every completion
//!   in the ring, folds those of fds it reported into their events, and keeps the others
//!   aside for the next wait, in order (asked again then, as above).
//! - **Unasked bits.** The kernel always matches `POLLERR`, `POLLHUP` and `POLLRDHUP`. A
//!   write-only registration on a socket whose peer shut down its side hears `POLLRDHUP`,
//!   which it did not ask for (the event is filtered by interest, as elsewhere); a
//!   single-shot poll would then complete again at once, for ever. After a completion
//!   with nothing to report, the registration waits with a multishot poll (for the next
//!   wake-up) instead.
//! - **Several waiters.** The lock guards the queues and the table only; the blocking
//!   enter happens outside it, and several threads can block in `io_uring_enter` at once.
//!   Every completion wakes all of them; the first takes it. A level registration is
//!   polled again as soon as it is reported while others wait, so that they hear of it
//!   too (and may hear of it after the reporter drained it: a spurious report).
//! - **Full queues.** A full submission queue is submitted before more is queued. A full
//!   completion queue overflows into the kernel (`IORING_FEAT_NODROP`, [io_uring_setup(2)]),
//!   which hands the completions over in later enters; a multishot poll that cannot post
//!   is ended by the kernel, and polled again here. `EBUSY` and `EAGAIN` from
//!   `io_uring_enter` ("the application should wait for some completions and try again")
//!   are retried, after taking completions out of the ring (those taken outside a wait are
//!   reported by the next one) or a 1 ms pause. `EBADR` (completions were dropped after
//!   all) polls every registration anew, so readiness is reported afresh.
//! - **A failed call changes nothing.** `add`, `modify` and `delete` have their fault
//!   point ([`multipoll_core::fault`], `Call::Register`) once each, before they change
//!   anything, whether or not the change is submitted at once: where epoll's `epoll_ctl`
//!   is, so that an injected refusal fails the call alone. A real error from a change's
//!   own submission (other than `EINTR`, `EBUSY`, `EAGAIN`, which are retried) is
//!   returned after the change was made: it stays queued, and goes in with the next
//!   enter (`io_uring_enter` fails only before it takes an entry; an entry the kernel
//!   cannot run completes with its error instead).
//! - **Notify** is an `eventfd` (the shared [`multipoll_core::backend::notify::Notifier`])
//!   watched by a multishot poll; its completions never reach the caller.
//! - **Which thread completes.** A poll's wake-up runs as task work on the thread that
//!   submitted it. The ring is cooperative where the kernel allows
//!   (`IORING_SETUP_COOP_TASKRUN`, Linux 5.19): a thread asleep in an interruptible call
//!   (a wait, a futex, a socket read) is woken to run it, and a thread running in user
//!   space runs it at its next entry into the kernel, a system call or the next timer
//!   tick, instead of being interrupted for it at once (an inter-processor interrupt per
//!   completion). That makes a report reach another thread's `wait` up to a tick later
//!   while the submitter computes (`busy_changer_does_not_delay_waiter` in the
//!   conformance suite bounds it), and it spares an echo server much of its CPU per
//!   message (the workspace's `docs/benchmarks.md`). If the submitting thread has exited, the kernel
//!   completes the request from a worker instead, a scheduler tick or so later (16 ms in
//!   this crate's tests): a poll submitted by a short-lived thread is reported late, and
//!   a socket deleted and closed after such a thread submitted its poll sends its FIN
//!   that much later. So the notifier's poll is submitted by the first enter (most likely
//!   the event loop's), not by `new`.
//! - **Dropping the poller** closes the ring; the kernel cancels its polls in the
//!   background, releasing the files they hold a moment later.
//! - **Interrupted calls** ([`Capabilities::interrupts_calls`], the contract's
//!   [Interruptions](Poller#interruptions)). The task work of a poll's wake-up wakes the
//!   submitting thread from an interruptible call to run it (a "signal" with no signal
//!   number: `TIF_NOTIFY_SIGNAL`); and after the ring is closed, its
//!   teardown (`io_ring_exit_work`, in a kernel worker) interrupts each thread still alive
//!   that created the ring or submitted to it, once. A blocking call that the kernel
//!   restarts after a signal sees nothing; one that fails with `EINTR` instead — a socket
//!   read with a timeout (`SO_RCVTIMEO`), `epoll_wait` — fails once with `Interrupted` on
//!   that thread. So a thread that created this poller for an event loop thread, and is
//!   blocked in such a read when the loop drops it, sees that read fail with `EINTR`.
//!   This backend's own calls retry; other code must (as for any signal). With
//!   `IORING_SETUP_DEFER_TASKRUN` (Linux 6.1) completions would wait for the submitter's
//!   next `io_uring_enter` instead, but only one thread could then submit and wait, which
//!   the contract's several waiters and changes from any thread rule out; the teardown's
//!   interruption has no flag at all.
//!
//! Kernel requirements, checked by [`Poller::new`] (which fails with
//! [`Unsupported`](std::io::ErrorKind::Unsupported), naming what is missing) and by
//! [`is_supported`]: `io_uring_setup(2)` allowed (not disabled by
//! `kernel.io_uring_disabled`, Linux 6.6+, nor refused by a seccomp filter);
//! `IORING_FEAT_NODROP` (Linux 5.5); `IORING_REGISTER_PROBE` (5.6) listing `POLL_ADD`,
//! `ASYNC_CANCEL` and `NOP`; `IORING_FEAT_EXT_ARG` (5.11), for wait timeouts to the
//! nanosecond; multishot poll (5.13). So Linux 5.13 or later. Used where present, not
//! required: `IORING_SETUP_COOP_TASKRUN` (5.19, above).
//!
//! [io_uring_enter(2)]: https://man7.org/linux/man-pages/man2/io_uring_enter.2.html
//! [io_uring_setup(2)]: https://man7.org/linux/man-pages/man2/io_uring_setup.2.html
//!
//! ```
//! use std::io::Write;
//! use std::net::{TcpListener, TcpStream};
//! use std::os::fd::AsFd;
//! use std::time::Duration;
//! use multipoll_uring::{Events, Interest, Mode, Poller, Uring};
//!
//! let listener = TcpListener::bind("127.0.0.1:0")?;
//! let mut client = TcpStream::connect(listener.local_addr()?)?;
//! let (server, _) = listener.accept()?;
//!
//! let poller = Uring::new()?;
//! poller.add(server.as_fd(), 1, Interest::READABLE, Mode::Oneshot)?;
//! client.write_all(b"hello")?;
//!
//! let mut events = Events::new();
//! poller.wait(&mut events, Some(Duration::from_secs(5)))?;
//! let event = events.iter().next().expect("readable");
//! assert!(event.key() == 1 && event.is_readable());
//! # Ok::<(), std::io::Error>(())
//! ```
#![deny(missing_docs, missing_debug_implementations)]
#![doc(test(attr(deny(warnings))))]
#![cfg(any(target_os = "linux", target_os = "android"))]

mod completions;
mod registrations;
mod submitter;
mod sys;

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use multipoll_core::backend::checks::check_registration;
use multipoll_core::backend::errors::{already_registered, not_registered, registration_error};
use multipoll_core::backend::file::pollable_file;
use multipoll_core::backend::notify::Notifier;
use multipoll_core::backend::table::lock;
use multipoll_core::backend::wait::wait_until;
use multipoll_core::fault::{self, Call};

use completions::Completions;
use registrations::{Registration, Registrations};
use submitter::{BUSY_PAUSE, Submitter, is_busy};
use sys::Ring;

pub use multipoll_core::{Capabilities, Event, Events, Interest, Mode, ModeSet, Poller};

/// Submission slots of [`Uring::new`]'s ring: room for many changes between two waits
/// (more are submitted at once when it fills).
const ENTRIES: u32 = 256;
/// Completion slots of [`Uring::new`]'s ring: one completion per ready fd per wait, for
/// servers with thousands of connections (more overflow into the kernel, nothing is lost).
const CQ_ENTRIES: u32 = 4096;

const CAPS: Capabilities = Capabilities::new("uring", ModeSet::of(Mode::ALL))
    .with_priority(true)
    .with_interrupts_calls(true)
    .with_urgent_wakes_readable(true);

/// Whether this kernel and process can run the backend: io_uring is allowed and has
/// what [`Uring::new`] needs (see the [crate docs](crate)). Probed once per process, by
/// creating a ring of one entry; later calls cost nothing.
///
/// [`Uring::new`] gives the reason when it is not.
pub fn is_supported() -> bool {
    sys::availability().is_ok()
}

/// The `io_uring(7)` backend, Linux 5.13 and later: readiness through poll requests, with
/// registration changes riding in the next wait's own `io_uring_enter(2)`.
///
/// Create it with [`Uring::new()`](Poller::new), which fails with
/// `Unsupported`, naming the cause, where the kernel refuses io_uring
/// (`kernel.io_uring_disabled`, a seccomp filter); `Backend::Uring.is_available()` in the
/// facade, or `multipoll_uring::is_supported()`, asks first. Use it
/// through the [`Poller`] trait. What is particular to it:
///
/// - Every [`Mode`] (multishot poll for `Edge`, single-shot for the
///   others); [`PRIORITY`](Interest::PRIORITY) interest is `POLLPRI`;
///   nanosecond timeouts.
/// - It disturbs its threads' other blocking calls: one that fails with `EINTR` on a
///   signal may fail so once, as on a signal
///   ([`Capabilities::interrupts_calls`]).
/// - It is [`AsFd`]: register it in another poller to nest it.
///
/// More in the [`multipoll-uring` crate docs](https://docs.rs/multipoll-uring).
#[derive(Debug)]
pub struct Uring {
    /// Shared with the submitter: a waiter enters the kernel without the lock.
    ring: Arc<Ring>,
    notifier: Notifier,
    state: Mutex<State>,
}

/// Everything the poller's lock guards: the ring's queues, the registrations and the
/// completions not reported yet.
#[derive(Debug)]
struct State {
    sq: Submitter,
    registrations: Registrations,
    completions: Completions,
}

impl State {
    /// Queues the deferred polls ([`Registrations::arm_deferred`]).
    fn arm_deferred(&mut self) -> io::Result<()> {
        self.registrations.arm_deferred(&mut self.sq)
    }

    /// After a change: while another thread is blocked in the kernel (or the ring fd is
    /// lent out), the change goes in now, new polls included; else with the next wait.
    /// `now` forces it (a removal that must release a file).
    fn submit_change(&mut self, now: bool) -> io::Result<()> {
        if self.sq.urgent() {
            self.arm_deferred()?;
        } else if !now {
            return Ok(());
        }
        self.sq.submit()
    }

    /// Whether a completion waits to be collected.
    fn is_ready(&mut self) -> bool {
        self.completions.is_ready(&mut self.sq)
    }

    /// What a wait's enter amounted to, given its `result`; `ready`: completions were
    /// there before it.
    fn entered(&mut self, result: io::Result<()>, ready: bool) -> io::Result<Entered> {
        match result {
            Ok(()) => Ok(Entered::Collect),
            Err(e) if e.raw_os_error() == Some(libc::ETIME) => Ok(Entered::Collect),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(Entered::Collect),
            Err(e) if is_busy(&e) && !ready && !self.sq.has_completions() => Ok(Entered::Pause),
            Err(e) if is_busy(&e) => Ok(Entered::Collect),
            Err(e) if e.raw_os_error() == Some(libc::EBADR) => {
                self.registrations.poll_all_anew(&mut self.sq)?;
                Ok(Entered::Lost)
            }
            Err(e) => Err(e),
        }
    }

    /// Completions into `events`, in pass `pass`; whether a notify was among them.
    fn collect(&mut self, events: &mut Events, pass: u64) -> io::Result<bool> {
        self.completions.collect(events, pass, &mut self.registrations, &mut self.sq)
    }
}

/// Where one `wait` stands between its attempts.
#[derive(Debug, Default)]
struct Attempts {
    /// Its collection pass, taken under the first lock.
    pass: Option<u64>,
    /// It has entered the kernel once: the completions already out were refreshed.
    entered: bool,
    /// It took a notify (or may have lost one).
    woken: bool,
}

/// How an attempt of a wait ended.
enum Attempt {
    /// With something to return (events, or a notify), its last steps taken.
    Done,
    /// With nothing: the wait rule waits again with the time left, or ends at the
    /// deadline.
    Nothing,
    /// With more to do at once: completions overflowed into the kernel and there is room
    /// for them, or the kernel was busy after this wait had taken something.
    More,
}

/// What a wait's enter amounted to.
enum Entered {
    /// Collect what is there.
    Collect,
    /// Completions were lost (a notify may be among them): collect, and return even if
    /// there is nothing.
    Lost,
    /// The kernel is busy and nothing is there to take: pause, and try again.
    Pause,
}

impl Uring {
    /// A poller whose ring has `entries` submission slots and twice as many completion
    /// slots (the kernel rounds both up to powers of two; [`Uring::new`] has 256 and
    /// 4096).
    ///
    /// Any size works: a full submission queue is submitted before more is queued, and
    /// completions that do not fit wait in the kernel. Tiny rings are for tests, which
    /// drive those paths with the real kernel.
    ///
    /// # Errors
    /// As [`Uring::new`]; `InvalidInput` for fewer than 2 entries (a change may take two:
    /// a removal and a new poll) or more than the kernel allows (32 768).
    pub fn with_entries(entries: u32) -> io::Result<Uring> {
        if !(2..=32_768).contains(&entries) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("the ring needs 2 to 32768 submission slots, not {entries}"),
            ));
        }
        Uring::build(entries, entries * 2)
    }

    fn build(entries: u32, cq_entries: u32) -> io::Result<Uring> {
        let (ring, queues) = Ring::new(entries, cq_entries)?;
        let ring = Arc::new(ring);
        let notifier = Notifier::new()?;
        let mut state = State {
            sq: Submitter::new(Arc::clone(&ring), queues),
            registrations: Registrations::new(notifier.fd().as_raw_fd()),
            completions: Completions::default(),
        };
        // Queued, not submitted: the first enter (a wait, most likely the event loop's
        // thread) submits it, and completions run on the thread that submitted.
        state.registrations.arm_notifier(&mut state.sq, false)?;
        Ok(Uring { ring, notifier, state: Mutex::new(state) })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// One turn of the wait rule ([`wait_until`]): attempts until one has something to
    /// return or has found nothing (the rule then waits again with the time left, or
    /// ends the wait at its deadline); whether a notify woke it.
    fn turn(
        &self,
        events: &mut Events,
        attempts: &mut Attempts,
        left: Option<Duration>,
    ) -> io::Result<bool> {
        loop {
            match self.attempt(events, attempts, left)? {
                Attempt::Done => return Ok(attempts.woken),
                Attempt::Nothing => return Ok(false),
                Attempt::More => {}
            }
        }
    }

    /// One attempt of a wait: refresh and arm, enter, collect; `left` is the time left.
    fn attempt(
        &self,
        events: &mut Events,
        attempts: &mut Attempts,
        left: Option<Duration>,
    ) -> io::Result<Attempt> {
        let mut state = self.lock();
        let pass = *attempts.pass.get_or_insert_with(|| state.completions.new_pass());
        if events.is_empty() {
            self.refresh_and_arm(&mut state, !attempts.entered)?;
        }
        let (ready, overflowed) = (state.is_ready(), state.sq.overflowed());
        // Enter to submit what is queued (so that this wait sees level re-arms and
        // changes), to move overflowed completions in, or to wait for one.
        if state.sq.has_queued() || overflowed || !ready {
            let entered;
            (state, entered) = self.enter(state, left, ready, overflowed);
            attempts.entered = true;
            match entered? {
                Entered::Collect => {}
                Entered::Lost => attempts.woken = true,
                Entered::Pause => {
                    drop(state);
                    std::thread::sleep(BUSY_PAUSE);
                    // With nothing taken yet, the wait rule retries with the time left.
                    let taken = !events.is_empty() || attempts.woken;
                    return Ok(if taken { Attempt::More } else { Attempt::Nothing });
                }
            }
        }
        self.collect(state, events, pass, attempts)
    }

    /// A wait that has taken nothing yet: on its first attempt the completions already
    /// out are refreshed ([`Completions::refresh`]); then the deferred polls go in before
    /// it takes anything, so that it reports what they find. Once it has taken
    /// something, they are the next wait's.
    fn refresh_and_arm(&self, state: &mut State, first: bool) -> io::Result<()> {
        if first {
            let state = &mut *state;
            state.completions.refresh(&mut state.registrations, &mut state.sq);
        }
        state.arm_deferred()
    }

    /// A wait's `io_uring_enter`: submits what is queued and, unless completions are
    /// there (`ready`, `overflowed`) or about to be (deferred polls), waits at most `left`
    /// for one, without the lock (several threads may block at once). Returns the lock
    /// again, with what the enter amounted to.
    fn enter<'a>(
        &'a self,
        mut state: MutexGuard<'a, State>,
        left: Option<Duration>,
        ready: bool,
        overflowed: bool,
    ) -> (MutexGuard<'a, State>, io::Result<Entered>) {
        let block = !ready
            && !overflowed
            && !state.registrations.has_deferred()
            && left != Some(Duration::ZERO);
        // Counted under the lock, so that a change made once it is released sees this
        // thread as blocked.
        if block {
            state.sq.block();
        }
        drop(state);
        let result = fault::inject(Call::Wait)
            .and_then(|()| self.ring.enter(usize::from(block), left.filter(|_| block)));
        let mut state = self.lock();
        if block {
            state.sq.unblock();
        }
        let entered = state.entered(result, ready);
        (state, entered)
    }

    /// Takes completions into `events`: [`Attempt::Done`] if the wait has something to
    /// return (its last steps are then taken), else whether to attempt again at once.
    fn collect(
        &self,
        mut state: MutexGuard<'_, State>,
        events: &mut Events,
        pass: u64,
        attempts: &mut Attempts,
    ) -> io::Result<Attempt> {
        attempts.woken |= state.collect(events, pass)?;
        // Completions that overflowed into the kernel are moved in by another enter.
        if !events.is_full() && state.sq.overflowed() {
            return Ok(Attempt::More);
        }
        if events.is_empty() && !attempts.woken {
            return Ok(Attempt::Nothing);
        }
        self.finish_wait(state, attempts.woken)?;
        Ok(Attempt::Done)
    }

    /// A wait that has something to return: the polls it deferred go to the kernel now if
    /// others are blocked there (so that they hear of level registrations still ready),
    /// and a notify it took is drained, after the lock is released.
    fn finish_wait(&self, mut state: MutexGuard<'_, State>, woken: bool) -> io::Result<()> {
        if state.sq.urgent() {
            state.arm_deferred()?;
            state.sq.submit()?;
        }
        drop(state);
        if woken {
            self.notifier.drain();
        }
        Ok(())
    }
}

/// The ring fd, so that this poller can be registered in another poller (or an async
/// runtime's reactor): it is readable while completions wait in the ring (an event or a
/// notify to report).
///
/// Lending it out changes one thing: from then on every change, and every level re-arm,
/// is submitted at once, since an entry left for the next `wait` would never make the fd
/// readable. A level registration is re-armed as the wait that reported it returns; if
/// the fd is still ready then, the ring is readable again (as it should be: the next
/// `wait` reports it), even if you drain the fd right after — a spurious wake-up.
///
/// ```
/// use std::io::Write;
/// use std::os::fd::AsFd;
/// use std::time::Duration;
/// use multipoll_uring::{Events, Interest, Mode, Poller, Uring};
///
/// let (inner, outer) = (Uring::new()?, Uring::new()?);
/// outer.add(inner.as_fd(), 1, Interest::READABLE, Mode::Level)?;
/// let (mut a, b) = std::os::unix::net::UnixStream::pair()?;
/// inner.add(b.as_fd(), 2, Interest::READABLE, Mode::Level)?;
/// a.write_all(b"x")?;
/// let mut events = Events::new();
/// outer.wait(&mut events, Some(Duration::from_secs(5)))?; // the inner poller is ready
/// assert_eq!(events.iter().next().map(|e| e.key()), Some(1));
/// inner.wait(&mut events, Some(Duration::ZERO))?; // so its wait returns at once
/// assert_eq!(events.iter().next().map(|e| e.key()), Some(2));
/// # Ok::<(), std::io::Error>(())
/// ```
impl AsFd for Uring {
    fn as_fd(&self) -> BorrowedFd<'_> {
        let mut state = self.lock();
        if state.sq.lend() {
            // What is queued or deferred so far goes now. Should this fail, it stays and
            // goes with the next change (each is submitted at once from now on) or wait.
            let _ = state.arm_deferred().and_then(|()| state.sq.submit());
        }
        drop(state);
        self.ring.fd()
    }
}

impl Poller for Uring {
    /// Creates a poller (see [`Uring::with_entries`] for the ring's size).
    ///
    /// # Errors
    /// `Unsupported`, naming the cause, where io_uring is disabled, blocked or too old
    /// (see the [crate docs](https://docs.rs/multipoll-uring)); otherwise the OS errors of
    /// creating the ring and the wake-up fd (`EMFILE`, `ENOMEM`).
    fn new() -> io::Result<Uring> {
        Uring::build(ENTRIES, CQ_ENTRIES)
    }

    fn add(
        &self,
        fd: BorrowedFd<'_>,
        key: usize,
        interest: Interest,
        mode: Mode,
    ) -> io::Result<()> {
        check_registration(&CAPS, key, interest, mode)?;
        let raw = fd.as_raw_fd();
        // The kernel learns of the fd only when the request is submitted, maybe later, and
        // its poll accepts any file: so `fstat` checks it now (refusing what epoll refuses)
        // and tells a reused number from the registered file.
        let file = pollable_file(raw)?;
        let mut state = self.lock();
        let stale = match state.registrations.get(raw) {
            Some(old) if old.interest.is_none() || old.file == file => {
                return Err(already_registered(raw));
            }
            Some(_) => true,
            None => false,
        };
        let state = &mut *state;
        state.sq.change_fault_point().map_err(|e| registration_error(raw, e))?;
        let registration = Registration::new(key, interest, mode, file);
        state.registrations.insert(&mut state.sq, raw, registration)?;
        state.submit_change(stale)
    }

    fn modify(
        &self,
        fd: BorrowedFd<'_>,
        key: usize,
        interest: Interest,
        mode: Mode,
    ) -> io::Result<()> {
        check_registration(&CAPS, key, interest, mode)?;
        let fd = fd.as_raw_fd();
        let mut state = self.lock();
        if state.registrations.get(fd).is_none() {
            return Err(not_registered(fd));
        }
        let state = &mut *state;
        state.sq.change_fault_point()?;
        state.registrations.modify(&mut state.sq, fd, (key, interest, mode))?;
        state.submit_change(false)
    }

    fn delete(&self, fd: BorrowedFd<'_>) -> io::Result<()> {
        let fd = fd.as_raw_fd();
        let mut state = self.lock();
        if state.registrations.get(fd).is_none() {
            return Err(not_registered(fd));
        }
        let state = &mut *state;
        state.sq.change_fault_point()?;
        if state.registrations.remove(&mut state.sq, fd)? {
            // The request holds the file: until the kernel has dropped it, closing the fd
            // would not close the file. So the removal goes in now.
            state.sq.submit()?;
        }
        Ok(())
    }

    fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<usize> {
        let mut attempts = Attempts::default();
        wait_until(events, timeout, |events, left| self.turn(events, &mut attempts, left))
    }

    fn notify(&self) -> io::Result<()> {
        self.notifier.wake()
    }

    fn capabilities(&self) -> Capabilities {
        CAPS
    }
}
