//! `WSAPoll`'s bits to [`Readiness`] and back: the Windows twin of the `poll(2)` mapping.

use windows_sys::Win32::Networking::WinSock::{
    POLLERR, POLLHUP, POLLNVAL, POLLPRI, POLLRDBAND, POLLRDNORM, POLLWRNORM,
};

use super::Readiness;
use crate::Interest;

impl Readiness {
    /// Reads `WSAPoll` `revents` bits.
    ///
    /// `POLLHUP` (the peer closed or reset the connection) and `POLLERR` make a registration
    /// readable and writable too, as on Unix: the next `recv` or `send` does not block.
    /// `POLLERR` is a hang-up as well: on a stream socket an error ends the connection, and
    /// Microsoft's `WSAPoll` page says a failed connect is indicated as "(POLLHUP | POLLERR |
    /// POLLWRNORM)" (as of Windows 10 version 2004), where Wine 8 sets `POLLERR` alone; read
    /// so, both report what the contract promises (the conformance suite's
    /// `refused_connect_keeps_its_error` checks it under Wine).
    /// `POLLRDBAND` and `POLLPRI` (out-of-band data) are `priority`, never readable: `recv`
    /// does not return them.
    #[inline]
    pub fn from_poll_bits(bits: i16) -> Readiness {
        let bit = |b: i16| bits & b != 0;
        let error = bit(POLLERR);
        let hangup = bit(POLLHUP) | error;
        Readiness {
            readable: bit(POLLRDNORM) | hangup | error,
            writable: bit(POLLWRNORM) | hangup | error,
            hangup,
            error,
            priority: bit(POLLRDBAND) | bit(POLLPRI),
            closed: bit(POLLNVAL),
        }
    }

    /// The `WSAPoll` `events` bits that ask for `interest`: only `POLLRDNORM` and
    /// `POLLWRNORM`. `WSAPoll` fails the whole call with `WSAEINVAL` for bits it does not
    /// take in `events` (`POLLPRI` among them), and hang-up and error are always reported.
    pub fn poll_bits(interest: Interest) -> i16 {
        let mut bits = 0;
        if interest.is_readable() {
            bits |= POLLRDNORM;
        }
        if interest.is_writable() {
            bits |= POLLWRNORM;
        }
        bits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wsapoll_bits_map_to_flags() {
        let r = Readiness::from_poll_bits(POLLRDNORM);
        assert!(r.readable && !r.writable && !r.hangup && !r.error);
        let r = Readiness::from_poll_bits(POLLHUP);
        assert!(r.readable && r.writable && r.hangup && !r.error);
        let r = Readiness::from_poll_bits(POLLERR);
        assert!(r.readable && r.writable && r.error && r.hangup, "an error ends the connection");
        let r = Readiness::from_poll_bits(POLLRDBAND);
        assert!(r.priority && !r.readable);
        assert!(Readiness::from_poll_bits(POLLNVAL).closed);
        let both = Readiness::poll_bits(Interest::READABLE | Interest::WRITABLE);
        assert_eq!(both, POLLRDNORM | POLLWRNORM);
    }
}
