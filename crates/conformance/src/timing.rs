//! Timeouts and signals: the [Waiting](multipoll_core::Poller#waiting) rules.
//!
//! `None` blocks, `Some(ZERO)` never blocks, anything else is rounded *up* (so a short
//! timeout is never a busy zero), huge values are not errors, and a signal (`EINTR`)
//! neither surfaces nor shortens the wait. Event loops are built on these: a timer wheel
//! that passes 0.5 ms must not spin, and a process with signal handlers must not see
//! spurious errors. Timings are asserted with lower bounds that are exact (a wait must
//! not end early) and upper bounds with generous slack ([`LATE`]: shared machines are
//! noisy).

use std::io;
#[cfg(unix)]
use std::sync::Mutex;
#[cfg(unix)]
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

#[cfg(unix)]
use multipoll_core::backend::syscall::cvt;
use multipoll_core::{AsSource, Events, Interest, Mode, Poller};

use crate::util::{
    CpuMeter, LATE, PROMPT, Want, expect_timeout, send, stream_pair, wait_checked, wait_in_thread,
};
#[cfg(unix)]
use crate::util::{expect_events, pipe};

/// With nothing ready, `wait(Some(d))` returns no event, after at least `d` and not much
/// later — with no fd registered, and with idle fds registered.
pub fn idle_wait_times_out<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let mut events = Events::new();
    let (a, b) = stream_pair()?;
    let timeout = Duration::from_millis(300);
    for registered in [false, true] {
        if registered {
            poller.add(a.as_source(), 1, Interest::READABLE, Mode::Level)?;
            poller.add(b.as_source(), 2, Interest::READABLE, Mode::Level)?;
        }
        expect_timeout(&poller, &mut events, timeout)?;
    }
    Ok(())
}

/// `wait(Some(Duration::ZERO))` never blocks — not even for the backend's precision — and
/// still reports what is ready.
pub fn zero_timeout_never_blocks<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let (mut events, (a, b)) = (Events::new(), stream_pair()?);
    poller.add(b.as_source(), 1, Interest::READABLE, Mode::Level)?;
    let start = Instant::now();
    let mut fastest = Duration::MAX;
    for _ in 0..100 {
        let t = Instant::now();
        assert_eq!(wait_checked(&poller, &mut events, Some(Duration::ZERO))?, []);
        fastest = fastest.min(t.elapsed());
    }
    // The fastest of 100 is immune to scheduling noise: if even it took a millisecond,
    // every call slept (a zero rounded up to the precision).
    assert!(fastest < Duration::from_millis(1), "the fastest zero-timeout wait took {fastest:?}");
    assert!(start.elapsed() < PROMPT, "100 zero-timeout waits took {:?}", start.elapsed());
    send(&a, b"x")?;
    let got = wait_checked(&poller, &mut events, Some(Duration::ZERO))?;
    assert!(got.len() == 1 && Want::readable(1).matches(&got[0]), "ready fd not polled: {got:?}");
    Ok(())
}

/// `wait_deadline` waits until its instant and no longer: a deadline 100 ms ahead times
/// out after it (never before, not much later); one already past returns at once, and
/// still reports what is ready.
pub fn wait_deadline_honoured<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let (mut events, (a, b)) = (Events::new(), stream_pair()?);
    poller.add(b.as_source(), 1, Interest::READABLE, Mode::Level)?;
    let deadline = Instant::now() + Duration::from_millis(100);
    assert_eq!(poller.wait_deadline(&mut events, deadline)?, 0, "nothing is ready");
    let now = Instant::now();
    assert!(now >= deadline, "returned {:?} before its deadline", deadline - now);
    assert!(now < deadline + LATE, "returned {:?} after its deadline", now - deadline);
    let past = Instant::now();
    thread::sleep(Duration::from_millis(1));
    let start = Instant::now();
    assert_eq!(poller.wait_deadline(&mut events, past)?, 0, "nothing is ready");
    assert!(start.elapsed() < PROMPT, "a past deadline blocked for {:?}", start.elapsed());
    send(&a, b"x")?;
    assert_eq!(poller.wait_deadline(&mut events, past)?, 1, "a past deadline polls once");
    assert!(Want::readable(1).matches(&events.as_slice()[0]), "{events:?}");
    Ok(())
}

/// A sub-millisecond timeout is rounded up, never down to a busy zero: each wait lasts at
/// least what was asked, and blocks for it rather than spinning (a backend that rounds
/// 0.5 ms down to a zero timeout and re-polls until the deadline uses the CPU throughout).
pub fn sub_ms_timeout_waits<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let (mut events, (_a, b)) = (Events::new(), stream_pair()?);
    poller.add(b.as_source(), 1, Interest::READABLE, Mode::Level)?;
    for _ in 0..5 {
        for timeout in [1, 1_000, 100_000, 500_000, 999_999].map(Duration::from_nanos) {
            let start = Instant::now();
            assert_eq!(wait_checked(&poller, &mut events, Some(timeout))?, []);
            let took = start.elapsed();
            assert!(took >= timeout, "wait({timeout:?}) returned after only {took:?}");
        }
    }
    let meter = CpuMeter::start();
    for _ in 0..50 {
        assert_eq!(wait_checked(&poller, &mut events, Some(Duration::from_micros(500)))?, []);
    }
    meter.assert_blocked("50 waits of 0.5 ms");
    Ok(())
}

/// How far above its timeout (rounded up to the backend's precision, plus the one unit of
/// it that a tick-counting kernel may add) the fastest of ten timed-out waits may return:
/// a loaded two-core machine's scheduling noise, with room to spare, yet less than the
/// coarser units a backend might silently round to (a 10 ms tick, a millisecond where
/// nanoseconds are claimed, repeated).
pub const ACCURACY: Duration = Duration::from_millis(5);

/// Timeouts below and above a millisecond are honoured to about a millisecond: every wait
/// lasts at least its timeout (a sub-millisecond one is rounded up, never down), and the
/// fastest of ten returns within [`ACCURACY`] of the timeout rounded up to
/// [`timeout_precision`](multipoll_core::Capabilities::timeout_precision), plus one unit
/// of that precision: the contract lets a wait run on to the next unit (a tick-counting
/// kernel sleeps through the partial tick it starts in, so back-to-back waits on NetBSD
/// last a whole tick more than their rounded timeout). A backend that claims nanoseconds
/// gains nothing from it; one that claims a millisecond and rounds to a 10 ms tick still
/// fails.
pub fn timeouts_are_accurate<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let caps = poller.capabilities();
    let precision = caps.timeout_precision();
    // An idle fd in the set, in a mode the backend has: the mode is not what is tested.
    let mode = caps.supported_modes().next().unwrap_or(Mode::Level);
    let (mut events, (_a, b)) = (Events::new(), stream_pair()?);
    poller.add(b.as_source(), 1, Interest::READABLE, mode)?;
    for micros in [10, 100, 900, 1_000, 1_500, 3_100, 12_000] {
        let timeout = Duration::from_micros(micros);
        let rounded = round_up(timeout, precision);
        let mut fastest = Duration::MAX;
        for _ in 0..10 {
            let start = Instant::now();
            assert_eq!(wait_checked(&poller, &mut events, Some(timeout))?, []);
            let took = start.elapsed();
            assert!(took >= timeout, "wait({timeout:?}) returned early, after {took:?}");
            fastest = fastest.min(took);
        }
        assert!(
            fastest <= rounded + precision + ACCURACY,
            "the fastest of ten wait({timeout:?}) took {fastest:?}; the backend's precision \
             ({precision:?}) makes that {rounded:?}, and at most one unit more"
        );
    }
    Ok(())
}

/// `t` rounded up to a whole number of `precision`s.
fn round_up(t: Duration, precision: Duration) -> Duration {
    let unit = precision.as_nanos().max(1);
    let nanos = t.as_nanos().div_ceil(unit) * unit;
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

/// Huge timeouts (`Duration::MAX`, and just past what a C `int` of milliseconds holds) are
/// not errors: they block like `None`, a notify still wakes them, and a ready fd is
/// reported at once.
pub fn huge_timeout_is_not_an_error<P: Poller>() -> io::Result<()> {
    let poller = P::new()?;
    let huge = [Duration::MAX, Duration::from_millis(i32::MAX as u64 + 1)];
    for timeout in huge {
        let waited = wait_in_thread(&poller, Some(timeout), |_| poller.notify())?;
        waited.assert_prompt(&format!("notify during wait({timeout:?})"));
        assert_eq!(waited.events, []);
    }
    let (mut events, (a, b)) = (Events::new(), stream_pair()?);
    poller.add(b.as_source(), 1, Interest::READABLE, Mode::Level)?;
    send(&a, b"x")?;
    for timeout in huge {
        let start = Instant::now();
        let got = wait_checked(&poller, &mut events, Some(timeout))?;
        assert!(got.len() == 1 && Want::readable(1).matches(&got[0]), "{got:?}");
        assert!(start.elapsed() < PROMPT, "a ready fd took {:?}", start.elapsed());
    }
    Ok(())
}

#[cfg(unix)]
static SIGNALS: AtomicUsize = AtomicUsize::new(0);

#[cfg(unix)]
extern "C" fn count_signal(_: libc::c_int) {
    // Async-signal-safe: one lock-free atomic add.
    SIGNALS.fetch_add(1, Ordering::Relaxed);
}

#[cfg(unix)]
/// Installs `handler` for `signal` *without* `SA_RESTART`, so that the signal interrupts
/// a blocked syscall with `EINTR` — the case under test. Idempotent.
fn install(signal: libc::c_int, handler: extern "C" fn(libc::c_int)) -> io::Result<()> {
    // libc, not nix: nix's `signal` feature turns on `process`, whose fork/exec do not
    // build for tvOS, watchOS and visionOS (their libc has neither).
    // SAFETY: `sigaction` is plain data for which all-zero bytes are a valid value.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = handler as libc::sighandler_t;
    action.sa_flags = 0;
    // SAFETY: sigemptyset writes the set it is given, `action.sa_mask`, which is live.
    cvt(unsafe { libc::sigemptyset(&mut action.sa_mask) })?;
    // SAFETY: sigaction reads `action` (a valid handler, an initialised mask) and writes no
    // old action (null).
    cvt(unsafe { libc::sigaction(signal, &action, std::ptr::null_mut()) })?;
    Ok(())
}

#[cfg(unix)]
fn install_sigusr1() -> io::Result<()> {
    install(libc::SIGUSR1, count_signal)
}

#[cfg(unix)]
/// A signal delivered during `wait(Some(d))` (a handler without `SA_RESTART`, so the
/// syscall fails with `EINTR`) is not an error and does not shorten the wait: it still
/// lasts at least `d`.
pub fn signal_does_not_shorten_timeout<P: Poller>() -> io::Result<()> {
    install_sigusr1()?;
    let poller = P::new()?;
    let (_a, b) = stream_pair()?;
    poller.add(b.as_source(), 1, Interest::READABLE, Mode::Level)?;
    let timeout = Duration::from_millis(800);
    let before = SIGNALS.load(Ordering::Relaxed);
    let waited = wait_in_thread(&poller, Some(timeout), |waiter| {
        for _ in 0..3 {
            waiter.signal(libc::SIGUSR1)?;
            thread::sleep(Duration::from_millis(100));
        }
        Ok(())
    })?;
    assert!(SIGNALS.load(Ordering::Relaxed) >= before + 3, "the signals were not handled");
    assert!(!waited.rescued, "the waiter had to be rescued");
    assert_eq!(waited.events, []);
    let took = waited.elapsed();
    assert!(took >= timeout, "signals cut wait({timeout:?}) short, to {took:?}");
    assert!(took < timeout + LATE, "wait({timeout:?}) returned late, after {took:?}");
    Ok(())
}

#[cfg(unix)]
/// Signals delivered during `wait(None)` are retried away, and data that arrives after
/// them is reported by that same wait.
pub fn signal_then_data_reported<P: Poller>() -> io::Result<()> {
    install_sigusr1()?;
    let poller = P::new()?;
    let (read, write) = pipe()?;
    poller.add(read.as_source(), 1, Interest::READABLE, Mode::Level)?;
    let waited = wait_in_thread(&poller, None, |waiter| {
        for _ in 0..3 {
            waiter.signal(libc::SIGUSR1)?;
            thread::sleep(Duration::from_millis(50));
        }
        let sent = Instant::now();
        send(&write, b"x")?;
        Ok(sent)
    })?;
    waited.assert_prompt("data after signals");
    assert!(waited.returned >= waited.output, "the wait returned before the data was sent");
    assert_eq!(waited.events.len(), 1, "{:?}", waited.events);
    assert!(Want::readable(1).matches(&waited.events[0]), "{:?}", waited.events);
    expect_events(&poller, &mut Events::new(), &[Want::readable(1)])?;
    Ok(())
}

#[cfg(unix)]
/// The poller [`notify_in_handler`] notifies: set only while [`NOTIFY_SERIAL`] is held.
static NOTIFY_TARGET: AtomicPtr<()> = AtomicPtr::new(std::ptr::null_mut());
#[cfg(unix)]
/// Serialises [`notify_from_signal_handler`] across poller types: the process has one
/// `SIGUSR2` handler, typed for one `P` at a time.
static NOTIFY_SERIAL: Mutex<()> = Mutex::new(());

#[cfg(unix)]
extern "C" fn notify_in_handler<P: Poller>(_: libc::c_int) {
    let poller = NOTIFY_TARGET.load(Ordering::Acquire).cast_const().cast::<P>();
    if !poller.is_null() {
        // SAFETY: NOTIFY_TARGET points to a live `P` (this handler's own type) from before
        // the signal is raised until after it was handled; null otherwise.
        let _ = unsafe { &*poller }.notify();
    }
}

#[cfg(unix)]
/// `notify` called from a signal handler — what the contract recommends for reacting to
/// signals, since it is one async-signal-safe syscall — wakes a blocked `wait(None)`
/// promptly.
pub fn notify_from_signal_handler<P: Poller>() -> io::Result<()> {
    let _serial = NOTIFY_SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    install(libc::SIGUSR2, notify_in_handler::<P>)?;
    let poller = P::new()?;
    NOTIFY_TARGET.store(std::ptr::from_ref(&poller).cast_mut().cast(), Ordering::Release);
    let waited = wait_in_thread(&poller, None, |_| {
        // Raised on this thread, the handler runs before `raise` returns, outside `wait`.
        // SAFETY: raise takes no memory; the handler it runs is installed above.
        cvt(unsafe { libc::raise(libc::SIGUSR2) }).map(drop)
    });
    NOTIFY_TARGET.store(std::ptr::null_mut(), Ordering::Release);
    let waited = waited?;
    waited.assert_prompt("notify from a signal handler");
    assert_eq!(waited.events, [], "notify is not an event");
    Ok(())
}
