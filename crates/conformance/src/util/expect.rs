//! The checked `wait` and the `expect_*` assertions, `#[track_caller]` so that a failure
//! points at the behaviour's line.

use std::collections::HashSet;
use std::fmt;
use std::io::{self, ErrorKind};
use std::time::{Duration, Instant};

use multipoll_core::{AsSource, Event, Events, Interest, Mode, Poller, RESERVED_KEY};

use super::*;

/// Asserts that `result` failed with `kind`; `what` names the call in the message.
#[track_caller]
pub fn expect_kind<T: fmt::Debug>(result: io::Result<T>, kind: ErrorKind, what: &str) {
    match result {
        Err(e) if e.kind() == kind => {}
        Err(e) => panic!("{what}: expected {kind:?}, got {:?} ({e})", e.kind()),
        Ok(v) => panic!("{what}: expected {kind:?}, got Ok({v:?})"),
    }
}

/// The event a behaviour expects: `readable`, `writable` and `priority` must match
/// exactly; `hangup` and `error` must match when `Some`.
///
/// ```
/// use multipoll_conformance::util::Want;
/// use multipoll_core::Event;
///
/// let closed = Event::new(7).with_readable(true).with_hangup(true);
/// assert!(Want::readable(7).hangup().matches(&closed));
/// assert!(!Want::readable(7).matches(&closed), "hang-up unexpected by default");
/// assert!(Want::readable(7).hangup().error(None).matches(&closed.with_error(true)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Want {
    /// The key.
    pub key: usize,
    /// Whether `readable` is set.
    pub readable: bool,
    /// Whether `writable` is set.
    pub writable: bool,
    /// Whether `hangup` is set, or `None` for either.
    pub hangup: Option<bool>,
    /// Whether `error` is set, or `None` for either.
    pub error: Option<bool>,
    /// Whether `priority` is set.
    pub priority: bool,
}

impl Want {
    /// Readable only: no writable, hang-up or error.
    pub const fn readable(key: usize) -> Want {
        Want::flags(key, true, false)
    }

    /// Writable only: no readable, hang-up or error.
    pub const fn writable(key: usize) -> Want {
        Want::flags(key, false, true)
    }

    /// Readable and writable: no hang-up or error.
    pub const fn both(key: usize) -> Want {
        Want::flags(key, true, true)
    }

    /// Priority (urgent data) only: no readable, writable, hang-up or error.
    pub const fn priority(key: usize) -> Want {
        Want { priority: true, ..Want::flags(key, false, false) }
    }

    const fn flags(key: usize, readable: bool, writable: bool) -> Want {
        Want { key, readable, writable, hangup: Some(false), error: Some(false), priority: false }
    }

    /// The same, with `hangup` set.
    pub const fn hangup(self) -> Want {
        Want { hangup: Some(true), ..self }
    }

    /// The same, with `error` as given (`None`: either).
    pub const fn error(self, error: Option<bool>) -> Want {
        Want { error, ..self }
    }

    /// Whether `event` is what is wanted.
    pub fn matches(&self, event: &Event) -> bool {
        event.key() == self.key
            && event.is_readable() == self.readable
            && event.is_writable() == self.writable
            && self.hangup.is_none_or(|h| h == event.is_hangup())
            && self.error.is_none_or(|e| e == event.is_error())
            && event.is_priority() == self.priority
    }
}

/// `poller.wait`, plus the checks every wait must pass: the count equals what `events`
/// holds and fits its capacity; no event is empty, carries [`RESERVED_KEY`] or repeats a
/// key. Returns the events.
///
/// # Errors
/// `wait`'s.
#[track_caller]
pub fn wait_checked<P: Poller>(
    poller: &P,
    events: &mut Events,
    timeout: Option<Duration>,
) -> io::Result<Vec<Event>> {
    let n = poller.wait(events, timeout)?;
    let got = events.as_slice().to_vec();
    assert_eq!(n, got.len(), "wait returned {n} but stored {got:?}");
    assert!(n <= events.capacity(), "wait stored {n} events in a buffer of {}", events.capacity());
    let mut keys = HashSet::new();
    for event in &got {
        assert!(!event.is_empty(), "wait reported an event with no flag: {event:?}");
        assert_ne!(event.key(), RESERVED_KEY, "wait reported the reserved key: {got:?}");
        assert!(keys.insert(event.key()), "one wait reported key {} twice: {got:?}", event.key());
    }
    Ok(got)
}

/// Waits (up to [`LONG`] in all) until every `wants` key has been reported, checking that
/// each event matches its [`Want`] and that no other key is reported. A key may be reported
/// again by a later wait (level mode), and must match again. Returns the first event seen
/// for each want, in `wants` order.
///
/// # Errors
/// `wait`'s.
#[track_caller]
pub fn expect_events<P: Poller>(
    poller: &P,
    events: &mut Events,
    wants: &[Want],
) -> io::Result<Vec<Event>> {
    let deadline = Instant::now() + LONG;
    let mut seen: Vec<Option<Event>> = vec![None; wants.len()];
    let mut all = Vec::new();
    while seen.iter().any(Option::is_none) {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            let missing: Vec<&Want> =
                wants.iter().zip(&seen).filter(|(_, s)| s.is_none()).map(|(w, _)| w).collect();
            panic!("no event within {LONG:?} for {missing:?}; reported so far: {all:?}");
        }
        for event in wait_checked(poller, events, Some(left))? {
            let Some(i) = wants.iter().position(|w| w.key == event.key()) else {
                panic!("unexpected event {event:?}; expected only {wants:?}");
            };
            assert!(wants[i].matches(&event), "event {event:?} is not the wanted {:?}", wants[i]);
            seen[i].get_or_insert(event);
            all.push(event);
        }
    }
    Ok(seen.into_iter().flatten().collect())
}

/// Asserts that nothing is reported for `quiet`: every wait returns no event, at most
/// [`MAX_SPURIOUS`] waits return before their timeout, and the waits block rather than
/// spin ([`CpuMeter`]).
///
/// # Errors
/// `wait`'s.
#[track_caller]
pub fn expect_no_events<P: Poller>(
    poller: &P,
    events: &mut Events,
    quiet: Duration,
) -> io::Result<()> {
    let end = Instant::now() + quiet;
    let meter = CpuMeter::start();
    let mut early = 0;
    loop {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            meter.assert_blocked(&format!("{quiet:?} with nothing to report"));
            return Ok(());
        }
        let got = wait_checked(poller, events, Some(left))?;
        assert!(got.is_empty(), "expected no event for {quiet:?}, got {got:?}");
        if Instant::now() < end {
            early += 1;
            assert!(
                early <= MAX_SPURIOUS,
                "wait returned Ok(0) before its timeout {early} times within {quiet:?}: it spins"
            );
        }
    }
}

/// Asserts that one `wait(Some(timeout))` times out: it reports nothing, returns no sooner
/// than `timeout` and no later than [`LATE`] after it, and blocks rather than spins. Stricter
/// than [`expect_no_events`], which forgives a few spurious early returns: for where the
/// contract leaves no room for one (a notify that should have been coalesced away).
///
/// # Errors
/// `wait`'s.
#[track_caller]
pub fn expect_timeout<P: Poller>(
    poller: &P,
    events: &mut Events,
    timeout: Duration,
) -> io::Result<()> {
    let start = Instant::now();
    let meter = CpuMeter::start();
    let got = wait_checked(poller, events, Some(timeout))?;
    let took = start.elapsed();
    assert_eq!(got, [], "wait({timeout:?}) should have timed out");
    assert!(took >= timeout, "wait({timeout:?}) returned early, after {took:?}");
    assert!(took < timeout + LATE, "wait({timeout:?}) returned late, after {took:?}");
    meter.assert_blocked(&format!("wait({timeout:?})"));
    Ok(())
}

/// Asserts that `caps` and `add` agree on `mode`: `add` (of a fresh [`one_way`] pair's read
/// end) succeeds when
/// the backend supports it and fails with `Unsupported` otherwise. Returns whether it is
/// supported.
///
/// # Errors
/// [`one_way`]'s, `add`'s and `delete`'s other errors.
#[track_caller]
pub fn supports<P: Poller>(poller: &P, mode: Mode) -> io::Result<bool> {
    let supported = poller.capabilities().supports(mode);
    let (read, _write) = one_way()?;
    let result = poller.add(read.as_source(), 1, Interest::READABLE, mode);
    if supported {
        result?;
        poller.delete(read.as_source())?;
    } else {
        expect_kind(result, ErrorKind::Unsupported, &format!("add in unsupported {mode} mode"));
    }
    Ok(supported)
}

/// The first mode `poller` supports: level (which the contract requires), or for a peer
/// that lacks it (mio, edge only) its first. For behaviours whose promise holds in any
/// mode, so that such a peer is judged on them too.
pub fn first_mode<P: Poller>(poller: &P) -> Mode {
    poller.capabilities().supported_modes().next().unwrap_or(Mode::Level)
}

/// Waits with a small buffer until every one of `count` ready fds has been reported
/// once; panics if one is reported twice, or is still missing after a wait that found
/// nothing for [`LATE`].
///
/// # Errors
/// Those of `wait`.
#[track_caller]
pub fn collect_each_once<P: Poller>(
    poller: &P,
    events: &mut Events,
    count: usize,
) -> io::Result<()> {
    let mut seen = HashSet::new();
    while seen.len() < count {
        let got = wait_checked(poller, events, Some(LATE))?;
        if got.is_empty() {
            let missing: Vec<usize> = (0..count).filter(|k| !seen.contains(k)).collect();
            panic!("ready fds lost (never reported): keys {missing:?}");
        }
        for event in got {
            assert!(Want::readable(event.key()).matches(&event), "{event:?}");
            assert!(seen.insert(event.key()), "key {} reported twice", event.key());
        }
    }
    Ok(())
}
