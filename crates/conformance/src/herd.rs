//! Several threads waiting on one poller at once: a herd of waiters whose every `wait` is
//! recorded as it returns, and which can always be released.
//!
//! [`wait_in_thread`](crate::util::wait_in_thread) runs one waiter for one `wait`; the
//! several-waiter promises (no waiter queues behind another, who is woken, who reports
//! what, whether anything is lost) need several, each possibly waiting again after it
//! returns, some started before the action and some by it. The same rule holds: a broken
//! backend fails the test, it does not hang it. The herd registers a [`one_way`] pair of
//! its own under [`BACKSTOP_KEY`] and releases its waiters by making it readable: level
//! mode reports it to every wait, whoever is in the kernel and whoever is queued.

use std::cell::{Cell, RefCell};
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender};
use std::thread::{self, Scope};
use std::time::{Duration, Instant};

use multipoll_core::{AsSource, Event, Events, Interest, Mode, Poller, Source};

use crate::util::{BACKSTOP_KEY, LONG, PROMPT, SETTLE, one_way, send, wait_checked};

/// How many reports the waiters may have sent that the action has not read yet.
const REPORTS_IN_FLIGHT: usize = 256;

/// How one waiter of a herd waits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Waiter {
    /// The timeout of each of its waits.
    pub timeout: Option<Duration>,
    /// How many waits it makes at most; it stops sooner when the herd is released.
    pub waits: usize,
}

impl Waiter {
    /// Waits again and again, each time with `timeout`, until the herd is released.
    pub const fn repeating(timeout: Option<Duration>) -> Waiter {
        Waiter { timeout, waits: usize::MAX }
    }

    /// Waits once, with `timeout`.
    pub const fn once(timeout: Option<Duration>) -> Waiter {
        Waiter { timeout, waits: 1 }
    }

    /// Waits `waits` times, each time with `timeout`.
    pub const fn times(timeout: Option<Duration>, waits: usize) -> Waiter {
        Waiter { timeout, waits }
    }
}

/// One `wait` of one waiter of a herd.
#[derive(Clone, Debug)]
pub struct Report {
    /// Which waiter: the order it was started in (first those of the slice given to
    /// [`wait_in_threads`], then those of [`Herd::start`]).
    pub waiter: usize,
    /// What the wait reported, without the herd's own pair.
    pub events: Vec<Event>,
    /// Just before the wait was called.
    pub started: Instant,
    /// Just after it returned.
    pub returned: Instant,
    /// Whether the herd was being released when it returned (its return proves nothing).
    pub released: bool,
}

impl Report {
    /// Whether the wait reported `key`.
    pub fn has(&self, key: usize) -> bool {
        self.events.iter().any(|e| e.key() == key)
    }

    /// How long the wait took.
    pub fn elapsed(&self) -> Duration {
        self.returned - self.started
    }
}

enum Message {
    Returned(Report),
    /// Waiter `.0`'s thread is over: its last wait's error, if any (also sent when it
    /// panics).
    Done(usize, io::Result<()>),
}

/// The herd while its waiters run: what the action passed to [`wait_in_threads`] sees.
pub struct Herd<'scope, 'env, P: Poller> {
    poller: &'env P,
    scope: &'scope Scope<'scope, 'env>,
    released: &'env AtomicBool,
    tx: SyncSender<Message>,
    messages: Receiver<Message>,
    waiters: Cell<usize>,
    log: RefCell<Log>,
}

impl<P: Poller> std::fmt::Debug for Herd<'_, '_, P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Herd").field("waiters", &self.waiters.get()).finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
struct Log {
    reports: Vec<Report>,
    done: usize,
    error: Option<io::Error>,
}

impl<P: Poller> Herd<'_, '_, P> {
    /// How many waiters the herd has started.
    pub fn waiters(&self) -> usize {
        self.waiters.get()
    }

    /// Starts one more waiter, and returns its number once it is about to call `wait`
    /// (and a little after, so that waiters started one after the other reach the kernel
    /// in that order on a backend that queues them). Give it [`SETTLE`] before relying on
    /// it being blocked in the kernel.
    pub fn start(&self, waiter: Waiter) -> usize {
        let index = self.waiters.get();
        self.waiters.set(index + 1);
        let (poller, released, tx) = (self.poller, self.released, self.tx.clone());
        let (started_tx, started_rx) = mpsc::channel();
        self.scope.spawn(move || run_waiter(poller, index, waiter, released, &tx, &started_tx));
        let _ = started_rx.recv_timeout(LONG);
        thread::sleep(SETTLE / 10);
        index
    }

    /// The next wait to return, from any waiter, if one returns within `within`. Never
    /// later, however many reports are queued: a caller looping until its deadline ends.
    ///
    /// # Panics
    /// When a waiter's wait failed (or its thread panicked): the behaviour fails there,
    /// with the waiter's error, rather than waiting for a report that cannot come.
    #[track_caller]
    pub fn next(&self, within: Duration) -> Option<Report> {
        let end = Instant::now() + within;
        loop {
            let left = end.checked_duration_since(Instant::now()).filter(|l| !l.is_zero())?;
            match self.messages.recv_timeout(left) {
                Ok(Message::Returned(report)) => {
                    self.log.borrow_mut().reports.push(report.clone());
                    return Some(report);
                }
                Ok(Message::Done(waiter, result)) => {
                    if let Err(e) = &result {
                        panic!("waiter {waiter} of {} failed: {e}", self.waiters());
                    }
                    self.finished(result);
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return None,
            }
        }
    }

    /// Waits up to [`PROMPT`] for a wait that reports `key`, and returns it. Waits that
    /// report nothing or other keys are passed over (they are in [`Herded::reports`] for
    /// the behaviour to judge: a wait that collected an fd just before a change may return
    /// just after it).
    #[track_caller]
    pub fn expect_key(&self, key: usize) -> Report {
        let end = Instant::now() + PROMPT;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            let Some(report) = self.next(left) else {
                panic!("no waiter of {} reported key {key} within {PROMPT:?}", self.waiters());
            };
            if report.has(key) {
                return report;
            }
        }
    }

    /// The next `count` waits to return, all within `within` and all of them waiter
    /// `waiter`'s: a wait of any other waiter returning first fails the behaviour (with
    /// `what` in the message), as do waits that have not all returned by then.
    #[track_caller]
    pub fn expect_waits_of(
        &self,
        waiter: usize,
        count: usize,
        within: Duration,
        what: &str,
    ) -> Vec<Report> {
        let end = Instant::now() + within;
        let mut waits = Vec::with_capacity(count);
        for i in 0..count {
            let Some(report) = self.next(end.saturating_duration_since(Instant::now())) else {
                panic!("{what}: wait {i} of waiter {waiter} had not returned after {within:?}");
            };
            assert_eq!(report.waiter, waiter, "{what}: another waiter returned: {report:?}");
            waits.push(report);
        }
        waits
    }

    fn finished(&self, result: io::Result<()>) {
        let mut log = self.log.borrow_mut();
        log.done += 1;
        if let Err(e) = result {
            log.error.get_or_insert(e);
        }
    }
}

/// What a herd's waiters saw, once all of them have returned.
#[derive(Debug)]
pub struct Herded<R> {
    /// Every wait of every waiter, in the order they returned.
    pub reports: Vec<Report>,
    /// What the action returned.
    pub output: R,
}

impl<R> Herded<R> {
    /// How many waits reported `key`.
    pub fn times(&self, key: usize) -> usize {
        self.reports.iter().filter(|r| r.has(key)).count()
    }

    /// Asserts that no wait reported a key outside `keys`.
    #[track_caller]
    pub fn assert_only(&self, keys: &[usize]) {
        for report in &self.reports {
            for event in &report.events {
                assert!(
                    keys.contains(&event.key()),
                    "waiter {} reported {event:?}; expected only keys {keys:?}",
                    report.waiter
                );
            }
        }
    }
}

/// Runs `waiters.len()` threads that wait on `poller` as their [`Waiter`] says, while
/// `act` runs on this one (and may start more with [`Herd::start`]); returns every wait
/// they made.
///
/// The waiters start one after the other, in slice order (see [`Herd::start`]); `act`
/// starts [`SETTLE`] after the last. When `act` is over (or fails, or panics), the herd is
/// released: each waiter's wait in progress returns (the herd's pair is ready for every
/// wait from then on) and no waiter waits again. A waiter that does not return within
/// [`LONG`] of the release fails the behaviour.
///
/// # Errors
/// Those of `act`, of the waiters' waits and of registering the herd's pair.
pub fn wait_in_threads<P: Poller, R>(
    poller: &P,
    waiters: &[Waiter],
    act: impl FnOnce(&Herd<'_, '_, P>) -> io::Result<R>,
) -> io::Result<Herded<R>> {
    let (release_read, release_write) = one_way()?;
    poller.add(release_read.as_source(), BACKSTOP_KEY, Interest::READABLE, Mode::Level)?;
    let released = AtomicBool::new(false);
    let result = thread::scope(|scope| {
        // Bounded: waiters that return at once (a level-ready fd, a backend that turns a
        // second waiter away) then wait for the action to read their reports, instead of
        // burying the one it waits for under millions.
        let (tx, messages) = mpsc::sync_channel(REPORTS_IN_FLIGHT);
        let herd = Herd {
            poller,
            scope,
            released: &released,
            tx,
            messages,
            waiters: Cell::new(0),
            log: RefCell::default(),
        };
        let mut release = Release { pair: release_write.as_source(), released: &released };
        for &waiter in waiters {
            herd.start(waiter);
        }
        thread::sleep(SETTLE);
        let output = act(&herd);
        release.fire();
        // Each waiter returns at once now; LONG only bounds a backend that misses the pair.
        while herd.log.borrow().done < herd.waiters() {
            match herd.messages.recv_timeout(LONG) {
                Ok(Message::Returned(report)) => herd.log.borrow_mut().reports.push(report),
                Ok(Message::Done(_, result)) => herd.finished(result),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {
                    panic!("a waiter did not return within {LONG:?} of the herd's release")
                }
            }
        }
        drop(release);
        let log = herd.log.into_inner();
        let output = output?;
        match log.error {
            Some(e) => Err(e),
            None => Ok(Herded { reports: log.reports, output }),
        }
    });
    poller.delete(release_read.as_source())?;
    result
}

fn run_waiter<P: Poller>(
    poller: &P,
    index: usize,
    waiter: Waiter,
    released: &AtomicBool,
    tx: &SyncSender<Message>,
    started: &Sender<()>,
) {
    // Reports the end of this thread however it ends, so the herd never waits for it.
    struct Done<'a>(&'a SyncSender<Message>, usize, Option<io::Result<()>>);
    impl Drop for Done<'_> {
        fn drop(&mut self) {
            let result = self.2.take().unwrap_or_else(|| Err(io::Error::other("panicked")));
            let _ = self.0.send(Message::Done(self.1, result));
        }
    }
    let mut done = Done(tx, index, None);
    let mut events = Events::new();
    let _ = started.send(());
    let mut result = Ok(());
    for _ in 0..waiter.waits {
        if released.load(Ordering::Acquire) {
            break;
        }
        let started = Instant::now();
        let got = match wait_checked(poller, &mut events, waiter.timeout) {
            Ok(got) => got,
            Err(e) => {
                result = Err(e);
                break;
            }
        };
        let returned = Instant::now();
        let report = Report {
            waiter: index,
            events: got.into_iter().filter(|e| e.key() != BACKSTOP_KEY).collect(),
            started,
            returned,
            released: released.load(Ordering::Acquire),
        };
        let _ = tx.send(Message::Returned(report));
    }
    done.2 = Some(result);
}

/// Releases the herd on every way out of the action: return, error, panic.
struct Release<'a> {
    pair: Source<'a>,
    released: &'a AtomicBool,
}

impl Release<'_> {
    fn fire(&mut self) {
        if !self.released.swap(true, Ordering::AcqRel) {
            // No notify: it would outlive the herd and wake the poller's next wait. Best
            // effort: if the write fails, a waiter may stay blocked and the test hang, but
            // the test has already failed.
            let _ = send(self.pair, b"!");
        }
    }
}

impl Drop for Release<'_> {
    fn drop(&mut self) {
        self.fire();
    }
}
