//! The most requested `(method, endpoint)` pairs in bounded memory: the space-saving algorithm
//! (Metwally et al.). It monitors `capacity` keys; a key not monitored replaces the one with the
//! smallest count and inherits that count plus one, so counts are over-estimates by at most the
//! evicted count (kept as `error`), and every key requested more than `total / capacity` times
//! is guaranteed to be monitored. The aggregator feeds it only the requests whose endpoint was
//! folded into `other` by a cap (the kept endpoints have exact counts), so the top list names
//! heavy hitters even beyond the cap, in bounded memory.

use std::collections::HashMap;

use crate::hash::Prehashed;

/// One monitored key.
#[derive(Clone, Debug)]
pub struct Entry {
    /// Method index (see [`crate::record::METHODS`]).
    pub method: u8,
    /// Endpoint template.
    pub endpoint: String,
    /// Estimated count (never below the true count).
    pub count: u64,
    /// How much of `count` may be inherited from an evicted key.
    pub error: u64,
    hash: u64,
}

/// A space-saving top-N.
#[derive(Clone, Debug)]
pub struct TopN {
    n: usize,
    capacity: usize,
    entries: Vec<Entry>,
    index: HashMap<u64, u32, Prehashed>,
}

impl TopN {
    /// Reports the top `n` while monitoring `capacity` (at least `n`) keys.
    pub fn new(n: usize, capacity: usize) -> TopN {
        let capacity = capacity.max(n).max(1);
        TopN {
            n,
            capacity,
            entries: Vec::with_capacity(capacity),
            index: HashMap::with_capacity_and_hasher(capacity, Prehashed::default()),
        }
    }

    /// Counts one request; `endpoint_hash` is [`key_hash`] of `endpoint`.
    #[inline]
    pub fn observe(&mut self, method: u8, endpoint: &[u8], endpoint_hash: u64) {
        if self.n == 0 {
            return;
        }
        let hash = endpoint_hash ^ (u64::from(method) + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        if let Some(&slot) = self.index.get(&hash) {
            let e = &mut self.entries[slot as usize];
            // A 64-bit hash collision is counted under the monitored key: a bounded, negligible error.
            e.count += 1;
            return;
        }
        let endpoint = String::from_utf8_lossy(endpoint);
        if self.entries.len() < self.capacity {
            self.index.insert(hash, self.entries.len() as u32);
            self.entries.push(Entry {
                method,
                endpoint: endpoint.into_owned(),
                count: 1,
                error: 0,
                hash,
            });
            return;
        }
        let (slot, _) = self
            .entries
            .iter()
            .enumerate()
            .min_by_key(|(_, e)| e.count)
            .expect("capacity >= 1");
        let e = &mut self.entries[slot];
        self.index.remove(&e.hash);
        self.index.insert(hash, slot as u32);
        e.error = e.count;
        e.count += 1;
        e.method = method;
        e.hash = hash;
        e.endpoint.clear();
        e.endpoint.push_str(&endpoint);
    }

    /// The top `n` entries, highest count first (ties by endpoint, for a stable output).
    pub fn top(&self) -> Vec<&Entry> {
        let mut all: Vec<&Entry> = self.entries.iter().collect();
        all.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| a.endpoint.cmp(&b.endpoint))
                .then(a.method.cmp(&b.method))
        });
        all.truncate(self.n);
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::key_hash;

    fn observe(t: &mut TopN, method: u8, endpoint: &str) {
        t.observe(method, endpoint.as_bytes(), key_hash(endpoint.as_bytes()));
    }

    #[test]
    fn heavy_hitters_survive_a_flood_of_distinct_keys() {
        let mut t = TopN::new(2, 8);
        for i in 0..10_000 {
            observe(&mut t, 0, "/hot");
            if i % 2 == 0 {
                observe(&mut t, 1, "/warm");
            }
            observe(&mut t, 0, &format!("/cold/{i}"));
        }
        let top = t.top();
        assert_eq!(top.len(), 2);
        assert_eq!((top[0].endpoint.as_str(), top[0].method), ("/hot", 0));
        assert!(top[0].count >= 10_000 && top[0].count - top[0].error <= 10_000);
        assert_eq!((top[1].endpoint.as_str(), top[1].method), ("/warm", 1));
        assert!(t.entries.len() <= 8);
    }

    #[test]
    fn exact_while_under_capacity() {
        let mut t = TopN::new(3, 10);
        for _ in 0..5 {
            observe(&mut t, 0, "/a");
        }
        observe(&mut t, 1, "/a");
        let top = t.top();
        assert_eq!(
            top.iter().map(|e| (e.method, e.count)).collect::<Vec<_>>(),
            vec![(0, 5), (1, 1)]
        );
    }
}
