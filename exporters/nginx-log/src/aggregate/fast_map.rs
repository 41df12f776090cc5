//! The aggregator's per-series memo: `(endpoint, labels, method, raw status)` to the series and
//! the events it fires, in one flat open-addressing table.

/// A series and the events its requests fire (bits of event indices).
#[derive(Clone, Copy, Debug)]
pub struct Fast {
    /// Index of the series.
    pub series: u32,
    /// Bits of the event indices.
    pub events: u64,
}

/// The key of the aggregator's per-series memo: endpoint id, label set, method, raw status.
#[inline(always)]
pub fn fast_key(endpoint: u32, labels: u16, method: u8, raw_status: u16) -> u64 {
    (u64::from(endpoint) << 32)
        | (u64::from(labels) << 16)
        | (u64::from(method) << 12)
        | u64::from(raw_status)
}

/// `(endpoint, labels, method, raw status)` keys ([`fast_key`]) to their [`Fast`]: open
/// addressing with linear probing in one flat table, kept at most half full. Cheaper per probe
/// than a general map: one multiply, and nearly always one compare. Only grows (it holds no
/// more entries than there are series).
#[derive(Clone, Debug)]
pub struct FastMap {
    /// `EMPTY` keys mark free slots.
    entries: Vec<(u64, Fast)>,
    len: usize,
    /// `64 - log2(slots)`: the top bits of the multiplied key pick the slot.
    shift: u32,
}

impl FastMap {
    /// [`fast_key`] never makes it: the method is below 10, so bits 12-15 are never all set.
    const EMPTY: u64 = u64::MAX;
    const FREE: (u64, Fast) = (
        Self::EMPTY,
        Fast {
            series: 0,
            events: 0,
        },
    );

    /// An empty map.
    pub fn new() -> FastMap {
        FastMap {
            entries: vec![Self::FREE; 64],
            len: 0,
            shift: 64 - 6,
        }
    }

    #[inline(always)]
    fn slot(&self, key: u64) -> usize {
        (key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> self.shift) as usize
    }

    /// The value of `key`.
    #[inline(always)]
    pub fn get(&self, key: u64) -> Option<Fast> {
        let mask = self.entries.len() - 1;
        let mut i = self.slot(key);
        loop {
            let (k, fast) = self.entries[i];
            if k == key {
                return Some(fast);
            }
            if k == Self::EMPTY {
                return None;
            }
            i = (i + 1) & mask;
        }
    }

    /// Sets the value of `key` (never [`FastMap::EMPTY`]).
    pub fn insert(&mut self, key: u64, fast: Fast) {
        debug_assert_ne!(key, Self::EMPTY);
        if 2 * (self.len + 1) > self.entries.len() {
            let slots = 2 * self.entries.len();
            let old = std::mem::replace(&mut self.entries, vec![Self::FREE; slots]);
            self.shift -= 1;
            self.len = 0;
            for (k, f) in old {
                if k != Self::EMPTY {
                    self.insert(k, f);
                }
            }
        }
        let mask = self.entries.len() - 1;
        let mut i = self.slot(key);
        while self.entries[i].0 != Self::EMPTY && self.entries[i].0 != key {
            i = (i + 1) & mask;
        }
        if self.entries[i].0 == Self::EMPTY {
            self.len += 1;
        }
        self.entries[i] = (key, fast);
    }
}

impl Default for FastMap {
    fn default() -> FastMap {
        FastMap::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// The flat table answers as a map does, through growth.
        #[test]
        fn the_fast_map_is_a_map(
            ops in proptest::collection::vec((0..3u32, 0..2u16, 0..10u8, 0..1000u16, any::<bool>()), 1..400),
        ) {
            let mut flat = FastMap::new();
            let mut model: HashMap<u64, u32> = HashMap::new();
            for (i, (endpoint, labels, method, status, insert)) in ops.into_iter().enumerate() {
                let key = fast_key(endpoint * 1000 + u32::from(status % 7), labels, method, status);
                if insert {
                    flat.insert(key, Fast { series: i as u32, events: i as u64 });
                    model.insert(key, i as u32);
                }
                prop_assert_eq!(flat.get(key).map(|f| f.series), model.get(&key).copied());
                prop_assert_eq!(flat.len, model.len());
                prop_assert!(2 * flat.len <= flat.entries.len());
            }
            for (key, series) in &model {
                prop_assert_eq!(flat.get(*key).map(|f| (f.series, f.events)), Some((*series, u64::from(*series))));
            }
        }
    }
}
