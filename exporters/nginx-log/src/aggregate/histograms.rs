//! Histograms of request and upstream durations: flat bucket counts per slot (one slot per
//! `(labels, endpoint)`), the bucket of a value found without a branch when there are fewer
//! than 16 bounds.

/// Histograms by `(labels, endpoint)`, bucket counts not cumulative.
#[derive(Clone, Debug)]
pub struct Histograms {
    /// Upper bounds, ascending, without `+Inf`.
    pub bounds: Vec<f64>,
    /// `slots × (bounds + 1)` counts.
    pub counts: Vec<u64>,
    /// Sum per slot.
    pub sums: Vec<f64>,
    /// The bounds padded with `+Inf` to [`PADDED`], when there are fewer: the bucket is then
    /// found in four steps without a branch.
    padded: Option<[f64; PADDED]>,
}

/// Bounds searched without a branch: up to `PADDED - 1`, so the last one is always `+Inf`.
const PADDED: usize = 16;

impl Histograms {
    /// Histograms with `bounds` (the finite ones, sorted, without duplicates) and no slot.
    pub fn new(mut bounds: Vec<f64>) -> Histograms {
        bounds.retain(|b| b.is_finite());
        bounds.sort_by(f64::total_cmp);
        bounds.dedup();
        let padded = (bounds.len() < PADDED).then(|| {
            let mut padded = [f64::INFINITY; PADDED];
            padded[..bounds.len()].copy_from_slice(&bounds);
            padded
        });
        Histograms {
            bounds,
            counts: Vec::new(),
            sums: Vec::new(),
            padded,
        }
    }

    /// Adds a slot.
    pub fn grow(&mut self) {
        self.counts
            .extend(std::iter::repeat_n(0, self.bounds.len() + 1));
        self.sums.push(0.0);
    }

    /// Counts `v` in slot `slot`.
    #[inline]
    pub fn observe(&mut self, slot: usize, v: f64) {
        // The bounds are sorted: the bucket is the number of bounds below `v` (0 for NaN).
        let bucket = match &self.padded {
            Some(p) => {
                // A binary search of 16 without branches: the bounds below `v` are a prefix,
                // and `p[15]` (`+Inf`) is never below, so `i` ends at their number.
                let mut i = 0;
                i += usize::from(p[i + 7] < v) * 8;
                i += usize::from(p[i + 3] < v) * 4;
                i += usize::from(p[i + 1] < v) * 2;
                i + usize::from(p[i] < v)
            }
            None => self.bounds.iter().filter(|b| **b < v).count(),
        };
        self.counts[slot * (self.bounds.len() + 1) + bucket] += 1;
        self.sums[slot] += v;
    }

    /// Each bucket's own `(upper bound, count)` of one slot, and the total count: the form
    /// prometheus-client's encoder takes (it adds the counts up itself, and writes `+Inf` for
    /// the last bound, `f64::MAX`).
    pub fn buckets(&self, slot: usize) -> (Vec<(f64, u64)>, u64) {
        let width = self.bounds.len() + 1;
        let counts = &self.counts[slot * width..(slot + 1) * width];
        let buckets = counts
            .iter()
            .enumerate()
            .map(|(i, &c)| (self.bounds.get(i).copied().unwrap_or(f64::MAX), c))
            .collect();
        (buckets, counts.iter().sum())
    }

    /// Cumulative `(bound, count)` pairs of one slot, `+Inf` last, and the total count.
    #[cfg(test)]
    pub fn cumulative(&self, slot: usize) -> (Vec<(f64, u64)>, u64) {
        let width = self.bounds.len() + 1;
        let mut acc = 0;
        let buckets = self.counts[slot * width..(slot + 1) * width]
            .iter()
            .enumerate()
            .map(|(i, c)| {
                acc += c;
                (self.bounds.get(i).copied().unwrap_or(f64::INFINITY), acc)
            })
            .collect();
        (buckets, acc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn interesting_f64() -> impl Strategy<Value = f64> {
        prop_oneof![
            -1.0..20.0f64,
            (0..12_000u32).prop_map(|ms| f64::from(ms) / 1e3),
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(0.0),
            Just(-0.0),
            Just(0.005),
            Just(1.0),
            Just(10.0),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// The branch-free search puts every value in the bucket the plain count did, for any
        /// number of bounds (padded or not) and values on, between and beyond them.
        #[test]
        fn histogram_buckets_are_the_count_of_bounds_below(
            bounds in proptest::collection::vec(interesting_f64(), 0..20),
            values in proptest::collection::vec(interesting_f64(), 1..40),
        ) {
            let mut h = Histograms::new(bounds);
            h.grow();
            h.grow();
            let width = h.bounds.len() + 1;
            let mut expected = vec![0u64; 2 * width];
            for (i, v) in values.iter().enumerate() {
                let slot = i % 2;
                h.observe(slot, *v);
                expected[slot * width + h.bounds.iter().filter(|b| **b < *v).count()] += 1;
            }
            prop_assert_eq!(&h.counts, &expected);
        }
    }
}
