//! A waiter thread that can always be woken: [`wait_in_thread`].

#[cfg(unix)]
use std::fmt;
use std::io;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use multipoll_core::{AsSource, Event, Events, Interest, Mode, Poller, Source};
#[cfg(unix)]
use nix::sys::pthread;

use super::*;

/// The thread blocked in `wait` during [`wait_in_thread`]'s action.
#[derive(Debug)]
pub struct WaitingThread {
    #[cfg(unix)]
    pthread: Pthread,
}

#[cfg(unix)]
struct Pthread(libc::pthread_t);

#[cfg(unix)]
impl fmt::Debug for Pthread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pthread")
    }
}

// SAFETY: a pthread_t is an identifier (a pointer on some platforms); sending it to another
// thread only lets that thread name the thread, which pthread_kill allows from any thread.
#[cfg(unix)]
unsafe impl Send for Pthread {}
// SAFETY: as above; it is never dereferenced.
#[cfg(unix)]
unsafe impl Sync for Pthread {}

#[cfg(unix)]
impl WaitingThread {
    /// Sends `signal` to the waiting thread (`pthread_kill(3)`).
    ///
    /// # Errors
    /// `pthread_kill`'s.
    pub fn signal(&self, signal: libc::c_int) -> io::Result<()> {
        // libc, not nix: see `timing::install`.
        // SAFETY: the thread is alive: it blocks on the release channel until the action
        // that holds `self` has returned. pthread_kill takes no memory.
        let r = unsafe { libc::pthread_kill(self.pthread.0, signal) };
        if r == 0 { Ok(()) } else { Err(io::Error::from_raw_os_error(r)) }
    }
}

/// What [`wait_in_thread`]'s waiter saw.
#[derive(Debug)]
pub struct Waited<R> {
    /// The events of its one `wait` (without the rescue pair's).
    pub events: Vec<Event>,
    /// Just before it called `wait`.
    pub started: Instant,
    /// Just after `wait` returned.
    pub returned: Instant,
    /// Whether the helper had to wake it (after [`LONG`]): the backend missed the wake-up.
    pub rescued: bool,
    /// What the action returned.
    pub output: R,
}

impl<R> Waited<R> {
    /// How long the wait took.
    pub fn elapsed(&self) -> Duration {
        self.returned - self.started
    }

    /// Asserts that the wait ended by itself within [`PROMPT`].
    #[track_caller]
    pub fn assert_prompt(&self, what: &str) {
        assert!(!self.rescued, "{what}: the waiter was never woken (rescued after {LONG:?})");
        assert!(self.elapsed() < PROMPT, "{what}: the waiter took {:?}", self.elapsed());
    }
}

/// Runs one `wait(timeout)` on another thread while `act` runs on this one, and returns
/// what the waiter saw.
///
/// `act` starts [`SETTLE`] after the waiter is about to call `wait`. The helper registers a
/// [`one_way`] pair of its own under [`BACKSTOP_KEY`] for the duration: if the waiter has
/// not returned [`LONG`] after `act` (or if `act` fails or panics), the helper makes it
/// readable and notifies, so a broken backend fails the test instead of hanging it
/// ([`Waited::rescued`]). The waiter thread stays alive until `act` has returned, so `act`
/// may signal it (on Unix).
///
/// # Errors
/// Those of `act`, of the waiter's `wait` and of registering the rescue pair.
pub fn wait_in_thread<P: Poller, R>(
    poller: &P,
    timeout: Option<Duration>,
    act: impl FnOnce(&WaitingThread) -> io::Result<R>,
) -> io::Result<Waited<R>> {
    let (rescue_read, rescue_write) = one_way()?;
    poller.add(rescue_read.as_source(), BACKSTOP_KEY, Interest::READABLE, Mode::Level)?;
    let result = thread::scope(|s| {
        let (start_tx, start_rx) = mpsc::channel();
        let (done_tx, done_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        s.spawn(move || {
            let mut events = Events::new();
            let started = Instant::now();
            let _ = start_tx.send(WaitingThread {
                #[cfg(unix)]
                pthread: Pthread(pthread::pthread_self()),
            });
            let result = wait_checked(poller, &mut events, timeout);
            let _ = done_tx.send((result, started, Instant::now()));
            // Stay alive (a valid signal target) until the action is over.
            let _ = release_rx.recv();
        });
        let waiting = start_rx
            .recv()
            .map_err(|_| io::Error::other("the waiter thread died before waiting"))?;
        let mut rescue = Rescue {
            poller,
            pair: rescue_write.as_source(),
            release: Some(release_tx),
            fired: false,
            returned: false,
        };
        thread::sleep(SETTLE);
        let output = act(&waiting)?;
        let (result, started, returned) = match done_rx.recv_timeout(LONG) {
            Ok(done) => done,
            Err(RecvTimeoutError::Timeout) => {
                rescue.fire();
                done_rx
                    .recv()
                    .map_err(|_| io::Error::other("the waiter thread panicked after rescue"))?
            }
            Err(RecvTimeoutError::Disconnected) => {
                return Err(io::Error::other("the waiter thread panicked"));
            }
        };
        rescue.returned = true;
        let rescued = rescue.fired;
        drop(rescue);
        let mut events = result?;
        events.retain(|e| e.key() != BACKSTOP_KEY);
        Ok(Waited { events, started, returned, rescued, output })
    });
    poller.delete(rescue_read.as_source())?;
    result
}

/// Unblocks [`wait_in_thread`]'s waiter on every way out: normal return, error, panic.
struct Rescue<'a, P: Poller> {
    poller: &'a P,
    pair: Source<'a>,
    release: Option<mpsc::Sender<()>>,
    fired: bool,
    /// Whether the waiter's `wait` has returned.
    returned: bool,
}

impl<P: Poller> Rescue<'_, P> {
    fn fire(&mut self) {
        if !self.fired {
            self.fired = true;
            // Best effort on the way out: if these fail too, the test hangs, but it has
            // already failed.
            let _ = send(self.pair, b"!");
            let _ = self.poller.notify();
        }
    }
}

impl<P: Poller> Drop for Rescue<'_, P> {
    fn drop(&mut self) {
        // Leaving before the waiter returned (an error or panic in the action): wake it,
        // or the scope would wait for it forever.
        if !self.returned {
            self.fire();
        }
        drop(self.release.take());
    }
}
