//! Finding the delimiters of a log line with SIMD compares instead of a search per field.
//!
//! A compiled format knows which bytes can start the literal that ends a variable (for
//! `combined`: space, `"` and `]`). A [`Scan`] classifies the line 64 bytes at a time: 16 bytes
//! are compared with each of those bytes at once (SSE2 through the `wide` crate, no `unsafe`),
//! giving one bit mask per byte for the window. Finding the end of a field is then a shift and a
//! `trailing_zeros` on the mask of its literal's first byte, the candidate checked against the
//! whole literal: no loop over the field's bytes, and few mispredicted branches. Windows are
//! classified only as far as the parse goes (a format ending with `"$http_user_agent"` never
//! classifies the user agent).

use wide::u8x16;

/// Most distinct first bytes a [`Scan`] classifies (formats with more use the plain search).
pub const MAX_CLASSES: usize = 4;

/// The bytes a format's field ends start with, one compare vector each.
#[derive(Clone, Debug)]
pub struct Classes<const K: usize> {
    splats: [u8x16; K],
}

impl<const K: usize> Classes<K> {
    /// Classes for `bytes` (`bytes.len() == K`).
    pub fn new(bytes: &[u8]) -> Classes<K> {
        assert_eq!(bytes.len(), K, "one byte per class");
        Classes {
            splats: std::array::from_fn(|i| u8x16::splat(bytes[i])),
        }
    }

    /// The masks of one 64-byte window: bit `i` of `masks[c]` is set when `window[i]` is class
    /// `c`'s byte.
    #[inline(always)]
    fn classify(&self, window: &[u8; 64]) -> [u64; K] {
        let mut masks = [0u64; K];
        for (j, chunk) in window.chunks_exact(16).enumerate() {
            let v = u8x16::new(chunk.try_into().expect("16 bytes"));
            for (mask, splat) in masks.iter_mut().zip(&self.splats) {
                *mask |= u64::from(v.simd_eq(*splat).to_bitmask()) << (16 * j);
            }
        }
        masks
    }
}

/// The delimiter masks of one line, one 64-byte window at a time.
pub struct Scan<'c, 'a, const K: usize> {
    classes: &'c Classes<K>,
    line: &'a [u8],
    /// Where the current window starts.
    base: usize,
    /// Bit `i`: `line[base + i]` is the class's byte (never set at or past the line's end).
    masks: [u64; K],
}

impl<'c, 'a, const K: usize> Scan<'c, 'a, K> {
    /// A scan of `line`, its first window classified.
    #[inline(always)]
    pub fn new(classes: &'c Classes<K>, line: &'a [u8]) -> Scan<'c, 'a, K> {
        let mut scan = Scan {
            classes,
            line,
            base: 0,
            masks: [0; K],
        };
        scan.load(0);
        scan
    }

    /// Classifies the window starting at `base` (`base < line.len()`, or 0).
    #[inline(always)]
    fn load(&mut self, base: usize) {
        self.base = base;
        let len = self.line.len();
        if let Some(window) = self.line.get(base..base + 64) {
            self.masks = self.classes.classify(window.try_into().expect("64 bytes"));
        } else if len >= 64 {
            // The last window: classify the line's last 64 bytes and drop the ones before
            // `base` (already seen); nothing past the end gets a bit.
            let start = len - 64;
            let masks = self
                .classes
                .classify(self.line[start..].try_into().expect("64 bytes"));
            self.masks = masks.map(|m| m >> (base - start));
        } else {
            self.load_short(base);
        }
    }

    /// A line shorter than 64 bytes: classified from a zero-padded copy.
    #[cold]
    fn load_short(&mut self, base: usize) {
        let rest = &self.line[base.min(self.line.len())..];
        let mut window = [0u8; 64];
        window[..rest.len()].copy_from_slice(rest);
        let keep = (1u64 << rest.len()) - 1;
        self.masks = self.classes.classify(&window).map(|m| m & keep);
    }

    /// The first position at or after `pos` where `line` has the byte of `class` and
    /// `is_match(position)` holds.
    #[inline(always)]
    pub fn find(
        &mut self,
        class: usize,
        mut pos: usize,
        is_match: impl Fn(usize) -> bool,
    ) -> Option<usize> {
        loop {
            let off = pos.wrapping_sub(self.base);
            if off >= 64 {
                // Past this window (or, never for a forward parse, before it).
                if pos >= self.line.len() {
                    return None;
                }
                self.load(pos);
                continue;
            }
            let m = self.masks[class] >> off;
            if m == 0 {
                let next = self.base + 64;
                if next >= self.line.len() {
                    return None;
                }
                self.load(next);
                pos = next;
                continue;
            }
            let at = pos + m.trailing_zeros() as usize;
            if is_match(at) {
                return Some(at);
            }
            pos = at + 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(line: &[u8], byte: u8, from: usize) -> Option<usize> {
        line.get(from..)?
            .iter()
            .position(|b| *b == byte)
            .map(|i| i + from)
    }

    proptest::proptest! {
        #[test]
        fn every_occurrence_is_found_in_order(
            line in proptest::collection::vec(proptest::sample::select(b" \"]ax\0".to_vec()), 0..300),
            starts in proptest::collection::vec(0usize..320, 1..6),
        ) {
            let classes = Classes::<3>::new(b" \"]");
            let mut starts = starts;
            starts.sort_unstable();
            // One scan walked forward, as a parse does; each class in turn.
            for (class, byte) in [b' ', b'"', b']'].into_iter().enumerate() {
                let mut scan = Scan::new(&classes, &line);
                for &from in &starts {
                    proptest::prop_assert_eq!(scan.find(class, from, |_| true), plain(&line, byte, from));
                }
            }
            // Rejected candidates are skipped: the second occurrence from 0.
            let mut scan = Scan::new(&classes, &line);
            let first = plain(&line, b'"', 0);
            let second = first.and_then(|f| plain(&line, b'"', f + 1));
            proptest::prop_assert_eq!(scan.find(1, 0, |at| Some(at) != first), second);
        }
    }
}
