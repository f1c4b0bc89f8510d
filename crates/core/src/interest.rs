//! What a registration asks to be told about ([`Interest`]) and how often ([`Mode`]).

use std::fmt;

/// Which readiness a registration wants reported.
///
/// `Interest::NONE` keeps the fd registered (its key and mode are kept) but silences it
/// completely: no readable, writable, hang-up or error events until it is modified to
/// something else. That is how a server pauses reading from one connection without paying
/// for a `delete` + `add`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Interest {
    readable: bool,
    writable: bool,
}

impl Interest {
    /// No readiness at all: registered but silent.
    pub const NONE: Interest = Interest { readable: false, writable: false };
    /// Readable: data (or end of file, or a pending connection) can be read without blocking.
    ///
    /// TCP urgent (out-of-band, `MSG_OOB`) data alone does not make an fd readable on any
    /// backend: without `SO_OOBINLINE`, `read(2)` does not return it (it would fail with
    /// `WouldBlock`), so reporting it would make a level-triggered loop spin.
    pub const READABLE: Interest = Interest { readable: true, writable: false };
    /// Writable: some data can be written without blocking.
    pub const WRITABLE: Interest = Interest { readable: false, writable: true };
    /// Both readable and writable.
    pub const BOTH: Interest = Interest { readable: true, writable: true };

    /// Builds an interest from two flags.
    pub const fn new(readable: bool, writable: bool) -> Interest {
        Interest { readable, writable }
    }

    /// Whether readability is wanted.
    pub const fn is_readable(self) -> bool {
        self.readable
    }

    /// Whether writability is wanted.
    pub const fn is_writable(self) -> bool {
        self.writable
    }

    /// Whether this is [`Interest::NONE`].
    pub const fn is_none(self) -> bool {
        !self.readable && !self.writable
    }
}

impl fmt::Debug for Interest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match (self.readable, self.writable) {
            (false, false) => "NONE",
            (true, false) => "READABLE",
            (false, true) => "WRITABLE",
            (true, true) => "BOTH",
        })
    }
}

/// How often a ready fd is reported.
///
/// | mode | reported | until |
/// |---|---|---|
/// | [`Level`](Mode::Level) | by every `wait` | the condition is gone (data drained, buffer full) |
/// | [`Oneshot`](Mode::Oneshot) | once | re-armed with `modify` (it stays registered meanwhile) |
/// | [`Edge`](Mode::Edge) | once per change | new data arrives / buffer space frees up again |
///
/// A backend that cannot do a mode returns [`std::io::ErrorKind::Unsupported`] from `add`
/// and `modify`; it never silently downgrades (see [`Capabilities::supports`](crate::Capabilities::supports)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Mode {
    /// Level-triggered: reported on every wait while the fd is ready.
    #[default]
    Level,
    /// Reported once, then disarmed until `modify` re-arms it.
    Oneshot,
    /// Edge-triggered: reported once per readiness change; read/write until
    /// `WouldBlock` before waiting again.
    Edge,
}

impl Mode {
    /// Every mode, in a fixed order (for tests, CLIs and capability tables).
    pub const ALL: [Mode; 3] = [Mode::Level, Mode::Oneshot, Mode::Edge];

    /// The lower-case name used on command lines and in docs: `level`, `oneshot`, `edge`.
    pub const fn name(self) -> &'static str {
        match self {
            Mode::Level => "level",
            Mode::Oneshot => "oneshot",
            Mode::Edge => "edge",
        }
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
        Mode::ALL.into_iter().find(|m| m.name() == s).ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("unknown mode `{s}` (expected one of: level, oneshot, edge)"),
            )
        })
    }
}
