//! Hashing for the hot path: an endpoint's bytes are hashed once per line, and the maps keyed
//! by that hash use it as is.

use std::hash::{BuildHasherDefault, Hasher};

/// The hash of an endpoint template (FxHash: fast on short byte strings).
#[inline]
pub fn key_hash(bytes: &[u8]) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    h.write(bytes);
    h.write_usize(bytes.len());
    h.finish()
}

/// The bytes of `s` (0 to 8 of them) as a little-endian word, zero above: two overlapping
/// loads (or three single bytes) instead of a loop.
#[inline(always)]
pub fn le_word(s: &[u8]) -> u64 {
    let n = s.len();
    debug_assert!(n <= 8);
    if n >= 4 {
        let lo = u64::from(u32::from_le_bytes([s[0], s[1], s[2], s[3]]));
        let hi = u64::from(u32::from_le_bytes([s[n - 4], s[n - 3], s[n - 2], s[n - 1]]));
        // The overlapping bytes land on the same bits in both.
        lo | (hi << (8 * (n - 4)))
    } else if n > 0 {
        let (a, b, c) = (u64::from(s[0]), u64::from(s[n / 2]), u64::from(s[n - 1]));
        a | (b << (8 * (n / 2))) | (c << (8 * (n - 1)))
    } else {
        0
    }
}

/// One step of [`word_hash`]: FxHash's.
#[inline(always)]
pub fn mix(h: u64, word: u64) -> u64 {
    (h.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95)
}

/// The eight bytes of `s` at `at`, little-endian.
#[inline(always)]
pub fn word_at(s: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(s[at..at + 8].try_into().expect("8 bytes"))
}

/// A hash of a request path for the path caches: its whole little-endian words, then the
/// rest as one word (zero-padded; 0 when there is no rest), then its length.
/// [`crate::normalize::path_and_hash`] computes it while it looks for the end of the path.
/// Never exported: it only picks cache slots.
#[inline]
pub fn word_hash(bytes: &[u8]) -> u64 {
    let mut h = 0;
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        h = mix(h, u64::from_le_bytes(word.try_into().expect("8 bytes")));
    }
    h = mix(h, le_word(words.remainder()));
    mix(h, bytes.len() as u64)
}

/// Whether `a` and `b` hold the same bytes: a word at a time, the last
/// word overlapping the one before, without the call `==` makes to `memcmp` (keys are short).
#[inline(always)]
pub fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if b.len() != n {
        return false;
    }
    if n < 8 {
        return le_word(a) == le_word(b);
    }
    let mut at = 0;
    while at + 8 < n {
        if word_at(a, at) != word_at(b, at) {
            return false;
        }
        at += 8;
    }
    word_at(a, n - 8) == word_at(b, n - 8)
}

/// A hasher for keys that already are hashes (or small integers packed into a `u64`).
#[derive(Clone, Copy, Debug, Default)]
pub struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }

    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used by the maps of this crate; fold anything else in anyway.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        // Spread packed integer keys over the high bits hashbrown uses for its control bytes.
        self.0 = n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// `BuildHasher` of [`IdentityHasher`].
pub type Prehashed = BuildHasherDefault<IdentityHasher>;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

        #[test]
        fn words_are_the_bytes_zero_padded(s in proptest::collection::vec(any::<u8>(), 0..=8)) {
            let mut padded = [0u8; 8];
            padded[..s.len()].copy_from_slice(&s);
            prop_assert_eq!(le_word(&s), u64::from_le_bytes(padded));
        }

        #[test]
        fn same_bytes_is_equality(
            a in proptest::collection::vec(0..4u8, 0..40),
            flip in any::<prop::sample::Index>(),
            to in 0..4u8,
        ) {
            prop_assert!(same_bytes(&a, &a.clone()));
            if !a.is_empty() {
                let mut b = a.clone();
                b[flip.index(a.len())] = to;
                prop_assert_eq!(same_bytes(&a, &b), a == b);
            }
        }

        #[test]
        fn the_word_hash_tells_zero_padding_from_zeros(n in 0..20usize) {
            // A path and the same path with NULs appended differ in length, hence in hash.
            let a = vec![b'a'; n];
            let mut b = a.clone();
            b.push(0);
            prop_assert_ne!(word_hash(&a), word_hash(&b));
        }
    }
}
