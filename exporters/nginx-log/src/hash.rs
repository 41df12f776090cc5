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
