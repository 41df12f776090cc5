//! Hashing for the hot path: an endpoint's bytes are hashed once per line, and the maps keyed
//! by that hash use it as is.

use std::hash::{BuildHasherDefault, Hasher};

use crate::bytes::words::le_word;

/// The hash of an endpoint template (FxHash: fast on short byte strings).
#[inline]
pub fn key_hash(bytes: &[u8]) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    h.write(bytes);
    h.write_usize(bytes.len());
    h.finish()
}

/// One step of [`word_hash`]: FxHash's.
#[inline(always)]
pub fn mix(h: u64, word: u64) -> u64 {
    (h.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95)
}

/// A hash of a request path for the path caches: its whole little-endian words, then the
/// rest as one word (zero-padded; 0 when there is no rest), then its length.
/// The normaliser's `path_and_hash` computes it while it looks for the end of the path.
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
        fn the_word_hash_tells_zero_padding_from_zeros(n in 0..20usize) {
            // A path and the same path with NULs appended differ in length, hence in hash.
            let a = vec![b'a'; n];
            let mut b = a.clone();
            b.push(0);
            prop_assert_ne!(word_hash(&a), word_hash(&b));
        }
    }
}
