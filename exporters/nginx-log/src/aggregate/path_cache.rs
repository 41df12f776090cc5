//! Recently seen request paths to their endpoint id, in a fixed number of slots: a repeated
//! path skips normalisation and the endpoint look-up.

use crate::bytes::words::same_bytes;
use crate::hash::word_hash;

/// Slots of the path cache.
pub const PATH_SLOTS: usize = 2048;

/// Slots of the cache of paths with a number at the end.
pub const NUMBERED_SLOTS: usize = 512;

/// The longest path the path cache keeps; longer ones are normalised every time.
const PATH_KEY: usize = 48;

/// Recently seen request paths (the part of the URI before `?`) and their endpoint id, so a
/// repeated path skips normalisation and the endpoint look-up. Direct-mapped with a fixed
/// number of slots, allocated once: a flood of distinct paths overwrites slots and never grows
/// it. Only kept endpoints (id > 0) are cached; an endpoint, once kept, stays kept.
#[derive(Clone, Debug)]
pub struct PathCache {
    pub(super) slots: Vec<PathSlot>,
}

#[derive(Clone, Copy, Debug)]
pub(super) struct PathSlot {
    hash: u64,
    /// 0: empty.
    endpoint: u32,
    len: u8,
    key: [u8; PATH_KEY],
}

impl PathCache {
    /// A cache of `slots` slots (a power of two; 0 disables it).
    pub fn new(slots: usize) -> PathCache {
        let empty = PathSlot {
            hash: 0,
            endpoint: 0,
            len: 0,
            key: [0; PATH_KEY],
        };
        PathCache {
            slots: vec![empty; slots.checked_next_power_of_two().unwrap_or(0)],
        }
    }

    #[inline(always)]
    fn index(&self, hash: u64) -> usize {
        (hash.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40) as usize & (self.slots.len() - 1)
    }

    /// The endpoint of `path` (`hash` = [`word_hash`] of it), if cached.
    #[inline(always)]
    pub fn get(&self, path: &[u8], hash: u64) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let slot = &self.slots[self.index(hash)];
        (slot.hash == hash
            && usize::from(slot.len) == path.len()
            && path.len() <= PATH_KEY
            && same_bytes(&slot.key[..path.len()], path)
            && slot.endpoint != 0)
            .then_some(slot.endpoint)
    }

    /// The endpoint of the path `head` + `tail` (`hash` of both, [`split_hash`]), if cached.
    #[inline(always)]
    pub fn get_split(&self, head: &[u8], tail: &[u8], hash: u64) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let slot = &self.slots[self.index(hash)];
        let len = head.len() + tail.len();
        (slot.hash == hash
            && usize::from(slot.len) == len
            && len <= PATH_KEY
            && same_bytes(&slot.key[..head.len()], head)
            && same_bytes(&slot.key[head.len()..len], tail)
            && slot.endpoint != 0)
            .then_some(slot.endpoint)
    }

    /// Remembers that the path `head` + `tail` is endpoint `endpoint`.
    #[inline]
    pub fn insert_split(&mut self, head: &[u8], tail: &[u8], hash: u64, endpoint: u32) {
        let len = head.len() + tail.len();
        if self.slots.is_empty() || len > PATH_KEY {
            return;
        }
        let i = self.index(hash);
        let slot = &mut self.slots[i];
        slot.hash = hash;
        slot.endpoint = endpoint;
        slot.len = len as u8;
        slot.key[..head.len()].copy_from_slice(head);
        slot.key[head.len()..len].copy_from_slice(tail);
    }

    /// Remembers that `path` is endpoint `endpoint`, replacing the slot's previous path.
    #[inline]
    pub fn insert(&mut self, path: &[u8], hash: u64, endpoint: u32) {
        if self.slots.is_empty() || path.len() > PATH_KEY {
            return;
        }
        let i = self.index(hash);
        let slot = &mut self.slots[i];
        slot.hash = hash;
        slot.endpoint = endpoint;
        slot.len = path.len() as u8;
        slot.key[..path.len()].copy_from_slice(path);
    }
}

/// The hash of a path cut in two, for [`PathCache::get_split`].
#[inline(always)]
pub fn split_hash(head: &[u8], tail: &[u8]) -> u64 {
    word_hash(head) ^ word_hash(tail).rotate_left(29)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// The cache forgets (a slot holds one path) but never answers wrong: a hit is the
        /// endpoint last stored for that very path, and a path just stored (short enough,
        /// endpoint kept) is a hit. A cache is used either whole (`paths`) or split
        /// (`numbered`), never both ways.
        #[test]
        fn a_hit_is_the_endpoint_last_stored_for_the_path(
            ops in proptest::collection::vec(
                ("/[ab]{0,3}/[0-9]{0,2}", 0..60usize, 0..4u32, any::<bool>()),
                1..300,
            ),
            slots in prop_oneof![Just(1usize), Just(4), Just(PATH_SLOTS)],
            split in any::<bool>(),
        ) {
            let mut cache = PathCache::new(slots);
            let mut model: HashMap<Vec<u8>, u32> = HashMap::new();
            for (path, pad, endpoint, insert) in ops {
                let path = format!("{path}{}", "x".repeat(pad)).into_bytes();
                let cut = path.len() / 2;
                let (head, tail) = path.split_at(cut);
                if insert {
                    if split {
                        cache.insert_split(head, tail, split_hash(head, tail), endpoint);
                    } else {
                        cache.insert(&path, word_hash(&path), endpoint);
                    }
                    model.insert(path.clone(), endpoint);
                    if path.len() <= PATH_KEY && endpoint != 0 {
                        let got = if split {
                            cache.get_split(head, tail, split_hash(head, tail))
                        } else {
                            cache.get(&path, word_hash(&path))
                        };
                        prop_assert_eq!(got, Some(endpoint));
                    }
                }
                let got = if split {
                    cache.get_split(head, tail, split_hash(head, tail))
                } else {
                    cache.get(&path, word_hash(&path))
                };
                if let Some(e) = got {
                    prop_assert_eq!(Some(&e), model.get(&path));
                }
            }
        }
    }
}
