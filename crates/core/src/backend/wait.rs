//! The wait rule, once for every backend: [`wait_until`].
//!
//! A backend's `wait` is "clear the events; turn the timeout into a deadline; make the
//! kernel call; retry `EINTR` with the time left; wait again when nothing reportable came
//! back (only stale events: of a registration deleted or changed since the kernel handed
//! them out, or a oneshot another waiter reported) unless a notify woke it or the time is
//! up". A backend gives the one turn — its kernel call and the mapping of what it
//! returned, its wake-up drained — and this loop is the rest, so that every backend keeps
//! the contract's *Waiting* and *Timeouts* the same way.

use std::io;
use std::time::Duration;

use crate::Events;
use crate::backend::timeout::Deadline;

/// Waits into `events` until a turn reports something, a notify wakes it, or `timeout`
/// passes; returns how many events were reported.
///
/// `turn(events, left)` makes one kernel call that waits at most `left` (`None`: no
/// limit), puts what is to be reported into `events`, drains the backend's wake-up if it
/// fired, and returns whether a [`notify`](crate::Poller::notify) woke it. It may report
/// nothing, e.g. when every event it got was stale: the wait then goes on with the time
/// that is left. An `EINTR` it returns is retried the same way, so a signal never
/// surfaces and never shortens the timeout.
///
/// The clock is read at the start only for a finite, nonzero timeout, and again only when
/// a turn ended with nothing to report: a wait with no timeout, a zero one, or one that
/// reports at its first turn reads it at most once.
///
/// # Errors
/// The first error of `turn` other than `EINTR`.
///
/// ```
/// # extern crate multipoll_core as multipoll;
/// use std::time::Duration;
/// use multipoll::{Event, Events};
/// use multipoll::backend::EventsExt;
/// use multipoll::backend::wait::wait_until;
///
/// // A first turn that is interrupted, a second whose only event was stale, a third that
/// // reports: one wait.
/// let mut turns = 0;
/// let mut events = Events::new();
/// let n = wait_until(&mut events, Some(Duration::from_secs(5)), |events, _left| {
///     turns += 1;
///     match turns {
///         1 => Err(std::io::ErrorKind::Interrupted.into()),
///         2 => Ok(false),
///         _ => {
///             events.push(Event::new(1).with_readable(true));
///             Ok(false)
///         }
///     }
/// })?;
/// assert_eq!((n, turns), (1, 3));
/// # Ok::<(), std::io::Error>(())
/// ```
#[inline]
pub fn wait_until<T>(
    events: &mut Events,
    timeout: Option<Duration>,
    mut turn: T,
) -> io::Result<usize>
where
    T: FnMut(&mut Events, Option<Duration>) -> io::Result<bool>,
{
    events.clear();
    // The first turn takes the timeout as it is; only a retry needs the time that is left,
    // counted from here.
    let deadline = Deadline::after(timeout);
    let mut left = timeout;
    loop {
        // One call of `turn`, so that it is inlined here, whatever its size.
        match turn(events, left) {
            Ok(notified) if notified || !events.is_empty() => return Ok(events.len()),
            other => match again(other, &deadline)? {
                Some(next) => left = next,
                None => return Ok(events.len()),
            },
        }
    }
}

/// After a turn that reported nothing (only stale events, or `EINTR`), the time left for
/// the next one (`Some`), or `None` when the deadline has passed; the turn's error other
/// than `EINTR`. Out of line, so that a wait that reports at its first turn (nearly every
/// one) carries none of it.
#[cold]
#[inline(never)]
fn again(turn: io::Result<bool>, deadline: &Deadline) -> io::Result<Option<Option<Duration>>> {
    match turn {
        Ok(_) if deadline.expired() => Ok(None),
        Err(e) if e.kind() != io::ErrorKind::Interrupted => Err(e),
        _ => Ok(Some(deadline.remaining())),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::Event;
    use crate::backend::EventsExt;

    #[test]
    fn notify_ends_the_wait_with_nothing_reported() -> io::Result<()> {
        let mut events = Events::with_capacity(4);
        events.push(Event::new(9).with_readable(true));
        let n = wait_until(&mut events, None, |_, left| {
            assert_eq!(left, None, "no timeout: no limit");
            Ok(true)
        })?;
        assert_eq!(n, 0, "the last wait's events are cleared");
        assert!(events.is_empty());
        Ok(())
    }

    #[test]
    fn stale_turns_wait_again_with_the_time_left() -> io::Result<()> {
        // Long enough for three turns of 10 ms where a sleep lasts a whole timer tick
        // (15.6 ms on Windows, as under Wine): 30 ms left room for two there.
        let timeout = Duration::from_millis(100);
        let mut lefts = Vec::new();
        let start = Instant::now();
        let n = wait_until(&mut Events::new(), Some(timeout), |_, left| {
            lefts.push(left);
            // A kernel call that waited its whole time and returned only stale events.
            std::thread::sleep(left.unwrap_or(timeout).min(Duration::from_millis(10)));
            Ok(false)
        })?;
        assert_eq!(n, 0);
        assert!(start.elapsed() >= timeout, "returned before the deadline");
        assert_eq!(lefts[0], Some(timeout), "the first turn takes the timeout as it is");
        assert!(lefts.len() >= 3, "{lefts:?}");
        assert!(lefts.windows(2).all(|w| w[1] < w[0]), "each retry has less time: {lefts:?}");
        Ok(())
    }

    #[test]
    fn interrupted_turns_are_retried_and_errors_returned() {
        let mut turns = 0;
        let result = wait_until(&mut Events::new(), Some(Duration::ZERO), |_, left| {
            turns += 1;
            assert_eq!(left, Some(Duration::ZERO));
            match turns {
                1 | 2 => Err(io::ErrorKind::Interrupted.into()),
                _ => Err(io::Error::other("injected")),
            }
        });
        assert_eq!(turns, 3);
        assert_eq!(result.map_err(|e| e.to_string()), Err("injected".to_string()));
    }

    #[test]
    fn zero_timeout_makes_one_turn() -> io::Result<()> {
        let mut turns = 0;
        wait_until(&mut Events::new(), Some(Duration::ZERO), |_, _| {
            turns += 1;
            Ok(false)
        })?;
        assert_eq!(turns, 1, "a zero timeout is up after its first turn");
        Ok(())
    }
}
