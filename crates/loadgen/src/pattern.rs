//! The bytes each connection sends: a deterministic, non-repeating stream per connection,
//! so that every echoed byte can be checked without keeping a copy of what was sent.
//!
//! Byte `o` of connection stream `seed` is byte `o % 8` (little-endian) of
//! `mix(seed, o / 8)`. A flipped, dropped, duplicated or reordered byte, or bytes from
//! another connection, all show as a mismatch, because no two 8-byte words repeat in practice.

/// The 8-byte word at word index `word` of the stream `seed` (splitmix64's finaliser).
fn mix(seed: u64, word: u64) -> u64 {
    let mut z = seed.wrapping_add(word.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The stream seed of connection number `index` (distinct per connection).
pub fn seed(index: usize) -> u64 {
    mix(0x6D75_6C74_6970_6F6C, index as u64)
}

/// Walks `len` bytes of stream `seed` from `offset`, one aligned word at a time, giving
/// `f` each run of bytes (its position in the walk and the expected bytes).
fn for_each_run(seed: u64, offset: u64, len: usize, mut f: impl FnMut(usize, &[u8]) -> bool) {
    let mut pos = 0;
    while pos < len {
        let o = offset + pos as u64;
        let word = mix(seed, o / 8).to_le_bytes();
        let skip = (o % 8) as usize;
        let take = (8 - skip).min(len - pos);
        if !f(pos, &word[skip..skip + take]) {
            return;
        }
        pos += take;
    }
}

/// Fills `buf` with the bytes of stream `seed` from `offset`.
pub fn fill(seed: u64, offset: u64, buf: &mut [u8]) {
    let len = buf.len();
    for_each_run(seed, offset, len, |pos, run| {
        buf[pos..pos + run.len()].copy_from_slice(run);
        true
    });
}

/// A byte that differs from what was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// The byte's offset in the connection's stream.
    pub offset: u64,
    /// The byte that was sent there.
    pub expected: u8,
    /// The byte that came back.
    pub got: u8,
}

/// Checks that `buf` holds the bytes of stream `seed` from `offset`; returns the first
/// byte that does not.
pub fn check(seed: u64, offset: u64, buf: &[u8]) -> Option<Mismatch> {
    let mut found = None;
    for_each_run(seed, offset, buf.len(), |pos, run| {
        let got = &buf[pos..pos + run.len()];
        if got == run {
            return true;
        }
        let i = run.iter().zip(got).position(|(a, b)| a != b).unwrap_or(0);
        found = Some(Mismatch { offset: offset + (pos + i) as u64, expected: run[i], got: got[i] });
        false
    });
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_then_check_at_any_offset() {
        let mut whole = vec![0; 100];
        fill(seed(3), 5, &mut whole);
        // The same bytes generated in unaligned pieces.
        let mut pieces = vec![0; 100];
        let (a, b) = pieces.split_at_mut(13);
        fill(seed(3), 5, a);
        fill(seed(3), 18, b);
        assert_eq!(whole, pieces);
        assert_eq!(check(seed(3), 5, &whole), None);
        assert_eq!(check(seed(3), 5 + 13, &whole[13..]), None);
    }

    #[test]
    fn flipped_byte_is_found() {
        let mut buf = vec![0; 64];
        fill(seed(0), 64, &mut buf);
        let expected = buf[41];
        buf[41] ^= 0x01;
        assert_eq!(
            check(seed(0), 64, &buf),
            Some(Mismatch { offset: 105, expected, got: expected ^ 0x01 })
        );
    }

    #[test]
    fn other_connection_or_offset_is_found() {
        let mut buf = vec![0; 16];
        fill(seed(1), 0, &mut buf);
        assert!(check(seed(2), 0, &buf).is_some());
        assert!(check(seed(1), 8, &buf).is_some());
    }
}
