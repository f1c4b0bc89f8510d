//! Growable fd bit sets in the kernel's `fd_set` layout, so fds above `FD_SETSIZE` never
//! go through libc's fixed-size `fd_set` and `FD_SET` (which would write out of bounds).

use std::os::fd::RawFd;

/// One word of an `fd_set`, as each kernel defines `fd_mask`: the bit for fd `n` is bit
/// `n % BITS` of word `n / BITS`, so the word size matters on big-endian machines.
#[cfg(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "dragonfly"
))]
type Word = libc::c_ulong;
#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "dragonfly"
)))]
type Word = u32;

const BITS: usize = Word::BITS as usize;

/// The largest fd `select` takes here: none but the process limit where the kernel sizes
/// its sets by `nfds`, `FD_SETSIZE - 1` elsewhere.
pub(crate) fn max_fd() -> Option<RawFd> {
    if cfg!(any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_os = "dragonfly"
    )) {
        None
    } else {
        #[allow(clippy::unnecessary_cast, reason = "FD_SETSIZE's type differs by platform")]
        Some(libc::FD_SETSIZE as RawFd - 1)
    }
}

/// A bit set of fds, at least as large as libc's `fd_set`.
#[derive(Clone, Debug, Default)]
pub(crate) struct FdSet {
    words: Vec<Word>,
}

impl FdSet {
    /// Empties the set and sizes it for fds up to `highest`.
    pub(crate) fn reset(&mut self, highest: RawFd) {
        // Never smaller than `fd_set`: some C libraries' `select` wrappers copy a whole one.
        #[allow(clippy::unnecessary_cast, reason = "FD_SETSIZE's type differs by platform")]
        let bits = (highest as usize + 1).max(libc::FD_SETSIZE as usize);
        self.words.clear();
        self.words.resize(bits.div_ceil(BITS), 0);
    }

    /// Adds `fd`, which must be at most the `highest` given to `reset`.
    pub(crate) fn insert(&mut self, fd: RawFd) {
        let fd = fd as usize;
        self.words[fd / BITS] |= 1 << (fd % BITS);
    }

    /// Whether `fd` is in the set (fds beyond its size are not).
    pub(crate) fn contains(&self, fd: RawFd) -> bool {
        let fd = fd as usize;
        self.words.get(fd / BITS).is_some_and(|w| w & (1 << (fd % BITS)) != 0)
    }

    /// The fds in `first..=last` that are in any of `sets`, in ascending order, each once.
    /// A word at a time: the fds in none of them cost nothing each.
    #[inline]
    pub(crate) fn union_range<const N: usize>(
        sets: [&FdSet; N],
        first: RawFd,
        last: RawFd,
    ) -> impl Iterator<Item = RawFd> {
        let (first, last) = (first as usize, last as usize);
        let word =
            move |w: usize| sets.iter().fold(0, |acc, s| acc | s.words.get(w).map_or(0, |&b| b));
        let mut w = first / BITS;
        let mut bits = word(w) & (Word::MAX << (first % BITS));
        std::iter::from_fn(move || {
            while bits == 0 {
                w += 1;
                if w > last / BITS {
                    return None;
                }
                bits = word(w);
            }
            let fd = w * BITS + bits.trailing_zeros() as usize;
            bits &= bits - 1;
            (fd <= last).then_some(fd as RawFd)
        })
    }

    /// Makes this set a copy of `other`, reusing its allocation.
    pub(crate) fn copy_from(&mut self, other: &FdSet) {
        self.words.clear();
        self.words.extend_from_slice(&other.words);
    }

    /// Removes every fd, keeping the size.
    pub(crate) fn clear(&mut self) {
        self.words.fill(0);
    }

    /// The set as the `fd_set` pointer `select(2)` takes.
    pub(crate) fn as_mut_ptr(&mut self) -> *mut libc::fd_set {
        self.words.as_mut_ptr().cast()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_past_fd_setsize() {
        let mut set = FdSet::default();
        set.reset(5000);
        assert!(set.words.len() * BITS > 5000);
        set.insert(0);
        set.insert(1023);
        set.insert(1024);
        set.insert(5000);
        for fd in [0, 1023, 1024, 5000] {
            assert!(set.contains(fd), "{fd}");
        }
        assert!(!set.contains(1) && !set.contains(4999) && !set.contains(1 << 20));
        let mut copy = FdSet::default();
        copy.copy_from(&set);
        assert!(copy.contains(5000));
        copy.clear();
        assert!(!copy.contains(5000) && set.contains(5000));
    }

    #[test]
    fn union_iterated_in_range() {
        let (mut a, mut b) = (FdSet::default(), FdSet::default());
        a.reset(300);
        b.reset(300);
        for fd in [1, 63, 64, 200] {
            a.insert(fd);
        }
        for fd in [5, 64, 130, 300] {
            b.insert(fd);
        }
        let seen = |first, last| FdSet::union_range([&a, &b], first, last).collect::<Vec<_>>();
        assert_eq!(seen(2, 299), [5, 63, 64, 130, 200], "once each, in order, within the range");
        assert_eq!(seen(0, 5000), [1, 5, 63, 64, 130, 200, 300]);
        assert_eq!(seen(0, 0), []);
        assert_eq!(seen(1, 1), [1]);
        assert_eq!(seen(64, 64), [64]);
        assert_eq!(seen(201, 299), [], "300 is past the range");
        assert_eq!(seen(5000, 6000), [], "past the set's size");
        assert_eq!(seen(7, 6), [], "an empty range");
        assert_eq!(seen(300, 300), [300]);
    }

    #[test]
    fn never_smaller_than_fd_set() {
        let mut set = FdSet::default();
        set.reset(3);
        assert!(
            set.words.len() * std::mem::size_of::<Word>() >= std::mem::size_of::<libc::fd_set>()
        );
    }

    /// The layout matches libc's own `FD_SET`/`FD_ISSET` for fds below `FD_SETSIZE`.
    #[test]
    fn layout_matches_libc() {
        for fd in [0, 1, 31, 32, 63, 64, 100, 1023] {
            let mut set = FdSet::default();
            set.reset(1023);
            set.insert(fd);
            // SAFETY: `set` holds at least an `fd_set` (see `reset`) and `fd` < FD_SETSIZE.
            let seen = unsafe { libc::FD_ISSET(fd, set.as_mut_ptr()) };
            assert!(seen, "fd {fd}");
        }
    }
}
