//! What a registration asks to be told about ([`Interest`]) and how often ([`Mode`]).

use std::fmt;

/// Which readiness a registration wants reported: any union of [`READABLE`](Self::READABLE),
/// [`WRITABLE`](Self::WRITABLE) and [`PRIORITY`](Self::PRIORITY) (`|` combines them).
///
/// `Interest::NONE` keeps the fd registered (its key and mode are kept) but silences it
/// completely: no readable, writable, priority, hang-up or error events until it is
/// modified to something else. That is how a server pauses reading from one connection
/// without paying for a `delete` + `add`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Interest {
    readable: bool,
    writable: bool,
    priority: bool,
}

impl Interest {
    /// No readiness at all: registered but silent.
    pub const NONE: Interest = Interest::new(false, false);
    /// Readable: data (or end of file, or a pending connection) can be read without blocking.
    ///
    /// TCP urgent (out-of-band, `MSG_OOB`) data alone does not make an fd readable:
    /// without `SO_OOBINLINE`, `read(2)` does not return it (it would fail with
    /// `WouldBlock`), so reporting it would make a level-triggered loop spin. Ask for
    /// [`PRIORITY`](Self::PRIORITY) to hear of it. One exception, never a spin: where
    /// [`Capabilities::urgent_wakes_readable`](crate::Capabilities::urgent_wakes_readable)
    /// (io_uring), an urgent byte that arrives while a `wait` is blocked may be reported
    /// readable once, a spurious event like any other (the `read` fails with
    /// `WouldBlock`); the same byte is not reported again.
    pub const READABLE: Interest = Interest::new(true, false);
    /// Writable: some data can be written without blocking.
    pub const WRITABLE: Interest = Interest::new(false, true);
    /// Both readable and writable.
    pub const BOTH: Interest = Interest::new(true, true);
    /// Priority: urgent data is pending — TCP out-of-band data (`MSG_OOB`, read it with
    /// `recv(…, MSG_OOB)`), or `POLLPRI`'s other meanings (a pseudo-terminal's state
    /// change, `sysfs` attribute changes). Reported as [`Event::is_priority`](crate::Event::is_priority).
    /// It extends readable interest: ask for `READABLE | PRIORITY` (alone it is
    /// `InvalidInput`, since a hang-up would fit no flag it asked for). Backends without it
    /// refuse it with `Unsupported` ([`Capabilities::priority`](crate::Capabilities::priority)).
    pub const PRIORITY: Interest = Interest { readable: false, writable: false, priority: true };

    /// Builds an interest from the two flags most registrations use.
    pub const fn new(readable: bool, writable: bool) -> Interest {
        Interest { readable, writable, priority: false }
    }

    /// This interest and `other`'s together (`a.with(b)` is `a | b`, usable in consts).
    pub const fn with(self, other: Interest) -> Interest {
        Interest {
            readable: self.readable || other.readable,
            writable: self.writable || other.writable,
            priority: self.priority || other.priority,
        }
    }

    /// Whether readability is wanted.
    pub const fn is_readable(self) -> bool {
        self.readable
    }

    /// Whether writability is wanted.
    pub const fn is_writable(self) -> bool {
        self.writable
    }

    /// Whether priority (urgent) data is wanted.
    pub const fn is_priority(self) -> bool {
        self.priority
    }

    /// Whether this is [`Interest::NONE`].
    pub const fn is_none(self) -> bool {
        !self.readable && !self.writable && !self.priority
    }
}

impl std::ops::BitOr for Interest {
    type Output = Interest;

    fn bitor(self, other: Interest) -> Interest {
        self.with(other)
    }
}

impl std::ops::BitOrAssign for Interest {
    fn bitor_assign(&mut self, other: Interest) {
        *self = self.with(other);
    }
}

impl fmt::Debug for Interest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names =
            [(self.readable, "READABLE"), (self.writable, "WRITABLE"), (self.priority, "PRIORITY")];
        let mut any = false;
        for (on, name) in names {
            if on {
                if any {
                    f.write_str(" | ")?;
                }
                f.write_str(name)?;
                any = true;
            }
        }
        if !any {
            f.write_str("NONE")?;
        }
        Ok(())
    }
}

/// How often a ready fd is reported.
///
/// | mode | reported | until |
/// |---|---|---|
/// | [`Level`](Mode::Level) | by every `wait` | the condition is gone (data drained, buffer full) |
/// | [`Oneshot`](Mode::Oneshot) | once | re-armed with `modify` (it stays registered meanwhile) |
/// | [`Edge`](Mode::Edge) | once per change | new data arrives / buffer space frees up again |
/// | [`EdgeOneshot`](Mode::EdgeOneshot) | once per change, then disarmed | re-armed with `modify` |
///
/// A re-arming `modify` of a oneshot registration reports the fd if it is ready at that
/// moment (in both oneshot modes), so data that arrived while it was disarmed is not lost.
///
/// A backend that cannot do a mode returns [`std::io::ErrorKind::Unsupported`] from `add`
/// and `modify`; it never silently downgrades (see [`Capabilities::supports`](crate::Capabilities::supports)).
/// multipoll's backends:
///
/// | mode | select | poll | epoll | kqueue | io_uring | IOCP (Windows) |
/// |---|---|---|---|---|---|---|
/// | `Level` | yes | yes | yes | yes | yes | a poll request submitted again after each report |
/// | `Oneshot` | emulated | emulated | `EPOLLONESHOT` | `EV_DISPATCH` | single-shot `POLL_ADD` | one AFD poll request |
/// | `Edge` | `Unsupported` | `Unsupported` | `EPOLLET` | `EV_CLEAR` | multishot `POLL_ADD` | `Unsupported` |
/// | `EdgeOneshot` | `Unsupported` | `Unsupported` | `EPOLLET \| EPOLLONESHOT` | `EV_DISPATCH` (re-armed by `modify`, which re-checks readiness) | single-shot `POLL_ADD` | `Unsupported` |
///
/// select and poll on Windows (Winsock `select`, `WSAPoll`) have the same modes as on Unix.
///
/// Their other limits are on [`Capabilities`](crate::Capabilities). Whatever the mode, the
/// fds must be non-blocking (see [`Poller::add`](crate::Poller::add)).
/// More modes may come: match on [`is_edge`](Mode::is_edge) and
/// [`is_oneshot`](Mode::is_oneshot) rather than on the variants where that is what you mean.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Mode {
    /// Level-triggered: reported on every wait while the fd is ready.
    #[default]
    Level,
    /// Reported once, then disarmed until `modify` re-arms it.
    Oneshot,
    /// Edge-triggered: reported once per readiness change; read/write until
    /// `WouldBlock` before waiting again. That needs a non-blocking fd: on a blocking one
    /// the last read blocks instead of failing with `WouldBlock`, and the loop hangs.
    Edge,
    /// Edge-triggered and oneshot (`polling`'s `EdgeOneshot`): reported once per readiness
    /// change, and then not at all until `modify` re-arms it. For runtimes that hand each
    /// readiness to one task and re-arm when the task is done with `WouldBlock`.
    EdgeOneshot,
}

impl Mode {
    /// Every mode, in a fixed order (for tests, CLIs and capability tables).
    pub const ALL: &'static [Mode] = &[Mode::Level, Mode::Oneshot, Mode::Edge, Mode::EdgeOneshot];

    /// The lower-case name used on command lines and in docs: `level`, `oneshot`, `edge`,
    /// `edge-oneshot`.
    pub const fn name(self) -> &'static str {
        match self {
            Mode::Level => "level",
            Mode::Oneshot => "oneshot",
            Mode::Edge => "edge",
            Mode::EdgeOneshot => "edge-oneshot",
        }
    }

    /// Whether a report needs a new readiness change ([`Edge`](Mode::Edge),
    /// [`EdgeOneshot`](Mode::EdgeOneshot)).
    pub const fn is_edge(self) -> bool {
        matches!(self, Mode::Edge | Mode::EdgeOneshot)
    }

    /// Whether a report disarms the registration until `modify` ([`Oneshot`](Mode::Oneshot),
    /// [`EdgeOneshot`](Mode::EdgeOneshot)).
    pub const fn is_oneshot(self) -> bool {
        matches!(self, Mode::Oneshot | Mode::EdgeOneshot)
    }

    const fn bit(self) -> u8 {
        1 << self as u8
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Mode {
    type Err = std::io::Error;

    fn from_str(s: &str) -> std::io::Result<Mode> {
        Mode::ALL.iter().copied().find(|m| m.name() == s).ok_or_else(|| {
            let names: Vec<&str> = Mode::ALL.iter().map(|m| m.name()).collect();
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("unknown mode `{s}` (expected one of: {})", names.join(", ")),
            )
        })
    }
}

/// A set of [`Mode`]s: what a backend accepts ([`Capabilities::modes`](crate::Capabilities::modes)).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ModeSet(u8);

impl ModeSet {
    /// No mode.
    pub const EMPTY: ModeSet = ModeSet(0);

    /// The set of `modes`.
    pub const fn of(modes: &[Mode]) -> ModeSet {
        let mut set = ModeSet::EMPTY;
        let mut i = 0;
        while i < modes.len() {
            set = set.with(modes[i]);
            i += 1;
        }
        set
    }

    /// This set and `mode`.
    pub const fn with(self, mode: Mode) -> ModeSet {
        ModeSet(self.0 | mode.bit())
    }

    /// Whether `mode` is in the set.
    pub const fn contains(self, mode: Mode) -> bool {
        self.0 & mode.bit() != 0
    }

    /// The modes in the set, in [`Mode::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Mode> {
        Mode::ALL.iter().copied().filter(move |m| self.contains(*m))
    }
}

impl fmt::Debug for ModeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_names_round_trip() {
        for &mode in Mode::ALL {
            assert_eq!(mode.name().parse::<Mode>().unwrap(), mode);
        }
        let err = "edgy".parse::<Mode>().unwrap_err();
        assert!(err.to_string().contains("edge-oneshot"), "{err}");
    }

    #[test]
    fn mode_set() {
        let set = ModeSet::of(&[Mode::Level, Mode::EdgeOneshot]);
        assert!(set.contains(Mode::Level) && set.contains(Mode::EdgeOneshot));
        assert!(!set.contains(Mode::Edge) && !ModeSet::EMPTY.contains(Mode::Level));
        assert_eq!(set.iter().collect::<Vec<_>>(), [Mode::Level, Mode::EdgeOneshot]);
        assert_eq!(format!("{set:?}"), "{Level, EdgeOneshot}");
    }

    #[test]
    fn interest_union() {
        let i = Interest::READABLE | Interest::PRIORITY;
        assert!(i.is_readable() && i.is_priority() && !i.is_writable() && !i.is_none());
        assert_eq!(format!("{i:?}"), "READABLE | PRIORITY");
        assert_eq!(format!("{:?}", Interest::NONE), "NONE");
        assert_eq!(Interest::READABLE.with(Interest::WRITABLE), Interest::BOTH);
    }
}
