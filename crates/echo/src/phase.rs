//! [`Phase`]: where a connection is in its life, each phase carrying what exists only in
//! it (the read allowance of a draining connection, the backpressure pause of one that
//! answers), so that no combination of fields can contradict another.

/// Where a connection is in its life; see the [module docs](self).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Reading and answering; `paused` while too much output is queued (the
    /// backpressure rule is `Rules`').
    Open { paused: bool },
    /// The peer closed its side: flush, then close.
    Closing,
    /// The server is shutting down: answer at most `allowance` more bytes (what was
    /// already in the receive buffer when shutdown began), flush, then close our write
    /// side. Also where a protocol's [`Output::close`](crate::Output::close) leads, with
    /// nothing more to answer.
    Draining { allowance: usize, paused: bool },
    /// Our write side is closed: read and discard until the peer closes, so that closing
    /// with unread input does not reset the connection and destroy output in flight.
    Lingering,
}

impl Phase {
    /// A connection just accepted.
    pub(crate) const OPEN: Phase = Phase::Open { paused: false };

    /// The most it may read now, or `None` when it wants no input: paused, its peer's side
    /// closed, or its allowance used up.
    #[inline(always)]
    pub(crate) fn read_limit(self) -> Option<usize> {
        match self {
            Phase::Open { paused: false } | Phase::Lingering => Some(usize::MAX),
            Phase::Draining { allowance, paused: false } if allowance > 0 => Some(allowance),
            _ => None,
        }
    }

    /// After reading `n` bytes: whether they are to be answered (a draining connection's
    /// count against its allowance; a lingering one's are thrown away).
    #[inline(always)]
    pub(crate) fn took(&mut self, n: usize) -> bool {
        match self {
            Phase::Draining { allowance, .. } => {
                *allowance -= n;
                true
            }
            Phase::Lingering => false,
            Phase::Open { .. } | Phase::Closing => true,
        }
    }

    /// Stops reading until [`Phase::resume`]: too much output is queued.
    #[inline(always)]
    pub(crate) fn pause(&mut self) {
        if let Phase::Open { paused } | Phase::Draining { paused, .. } = self {
            *paused = true;
        }
    }

    /// Reads again after a pause; returns whether it was paused.
    #[inline(always)]
    pub(crate) fn resume(&mut self) -> bool {
        match self {
            Phase::Open { paused } | Phase::Draining { paused, .. } => std::mem::take(paused),
            Phase::Closing | Phase::Lingering => false,
        }
    }

    /// Shutdown has begun: an open connection answers `allowance` more bytes. Returns
    /// whether it was open.
    pub(crate) fn drain(&mut self, allowance: usize) -> bool {
        let Phase::Open { paused } = *self else { return false };
        *self = Phase::Draining { allowance, paused };
        true
    }

    /// Its protocol asked to close: an open connection answers nothing more, flushes and
    /// closes.
    pub(crate) fn close_asked(&mut self) {
        if let Phase::Open { paused } = *self {
            *self = Phase::Draining { allowance: 0, paused };
        }
    }

    /// Whether the connection ends once its output is flushed.
    #[inline(always)]
    pub(crate) fn is_ending(self) -> bool {
        !matches!(self, Phase::Open { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_draining_connection_reads_its_allowance_only() {
        let mut phase = Phase::OPEN;
        assert_eq!(phase.read_limit(), Some(usize::MAX));
        assert!(phase.drain(10));
        assert!(!phase.drain(99), "shutdown begins once");
        assert_eq!(phase.read_limit(), Some(10));
        assert!(phase.took(10));
        assert_eq!(phase.read_limit(), None, "the allowance is used up");
    }

    #[test]
    fn pause_and_resume_where_output_is_answered() {
        let mut phase = Phase::OPEN;
        phase.pause();
        assert_eq!(phase.read_limit(), None);
        assert!(phase.resume());
        assert!(!phase.resume(), "already reading");
        let mut lingering = Phase::Lingering;
        lingering.pause();
        assert_eq!(lingering.read_limit(), Some(usize::MAX), "nothing is answered: no pause");
        assert!(!lingering.took(5), "input is thrown away");
    }
}
