//! [`Shared`]: what the connections of a loop share to be served (the protocol, the one
//! read buffer, the rules, the turn's time), lent to one connection at a time. What they
//! count is the loop's [`Ledger`](crate::stats::Ledger)'s.

use std::time::Instant;

use multipoll::{Interest, Mode};

use crate::Config;

/// The rules every connection of a loop follows, worked out once from the [`Config`].
///
/// The backpressure rule has hysteresis, so that a connection near the mark does not flip
/// between paused and reading on every few bytes: it stops reading when less room is left
/// under the mark than a worthwhile read (a buffer, or a quarter of the mark), and resumes
/// once its queue is down to half the mark.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rules {
    pub(crate) mode: Mode,
    /// `mode.is_oneshot()`, `mode.is_edge()`: tested on every event.
    pub(crate) oneshot: bool,
    pub(crate) edge: bool,
    /// What a connection that reads is registered for: `READABLE`, and in the edge modes
    /// `PRIORITY` too where the backend can watch it (see [`Rules::short_read_drains`]).
    pub(crate) read_interest: Interest,
    /// Whether a read that returns less than it asked for ends a readable event's reads:
    /// in the edge modes, where the backend reports urgent data. On a stream socket such
    /// a read emptied the socket ([epoll(7)], Q&A 9), and what arrives later is a new
    /// event (`edge_fires_once_per_arrival` in the conformance suite), so the read that
    /// would only say `EAGAIN` is not made. The one exception is TCP's urgent mark, where
    /// a read stops with data behind it: an event with [`Event::is_priority`] set says
    /// the mark is there, and its reads go on until `EAGAIN`.
    ///
    /// [epoll(7)]: https://man7.org/linux/man-pages/man7/epoll.7.html
    /// [`Event::is_priority`]: multipoll::Event::is_priority
    pub(crate) short_read_drains: bool,
    /// Whether connections close when idle: only then is `last_active` kept.
    pub(crate) idle: bool,
    pub(crate) high_water: usize,
    /// Stop reading once more than this is queued: less room left than a worthwhile read.
    pub(crate) pause_above: usize,
    /// Resume reading once the queue is down to this.
    pub(crate) resume_at: usize,
}

impl Rules {
    /// The rules for `config` on a poller that can (`priority`) or cannot watch urgent
    /// data.
    fn new(config: &Config, priority: bool) -> Rules {
        let (mode, high_water) = (config.mode, config.high_water);
        let worthwhile = config.read_buffer.min(high_water / 4).max(1);
        let short_read_drains = mode.is_edge() && priority;
        Rules {
            mode,
            oneshot: mode.is_oneshot(),
            edge: mode.is_edge(),
            read_interest: if short_read_drains {
                Interest::READABLE | Interest::PRIORITY
            } else {
                Interest::READABLE
            },
            short_read_drains,
            idle: config.idle_timeout.is_some(),
            high_water,
            pause_above: high_water.saturating_sub(worthwhile),
            resume_at: high_water / 2,
        }
    }
}

/// What the connections of a loop share to be served; see the [module docs](self).
#[derive(Debug)]
pub(crate) struct Shared<H> {
    pub(crate) protocol: H,
    /// The one read buffer.
    pub(crate) buf: Box<[u8]>,
    pub(crate) rules: Rules,
    /// The time of this turn, set only in turns that read the clock: every turn when
    /// [`Rules::idle`] (only then do connections need it).
    pub(crate) now: Instant,
}

impl<H> Shared<H> {
    /// For a loop with `config` on a poller that can (`priority`) or cannot watch urgent
    /// data ([`Capabilities::priority`](multipoll::Capabilities::priority)).
    pub(crate) fn new(config: &Config, protocol: H, priority: bool) -> Self {
        let buf = vec![0; config.read_buffer].into_boxed_slice();
        Shared { protocol, buf, rules: Rules::new(config, priority), now: Instant::now() }
    }
}
