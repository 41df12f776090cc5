//! A literal of a format (the text between two variables), packed for the walks: its first
//! eight bytes in a `u64`, so comparing it with the line is one load, a mask and a compare.

use crate::bytes::search::find_first;

/// A literal with its first eight bytes packed in a `u64`, so comparing it with the line is
/// one load, a mask and a compare.
#[derive(Clone, Debug)]
pub struct Lit {
    pub bytes: Box<[u8]>,
    word: u64,
    mask: u64,
}

impl Lit {
    pub fn new(bytes: &[u8]) -> Lit {
        let n = bytes.len().min(8);
        let mut word = [0u8; 8];
        word[..n].copy_from_slice(&bytes[..n]);
        Lit {
            bytes: bytes.into(),
            word: u64::from_le_bytes(word),
            mask: if n == 8 {
                u64::MAX
            } else {
                (1u64 << (8 * n)) - 1
            },
        }
    }

    #[inline(always)]
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// `line` ends with the literal.
    #[inline(always)]
    pub fn is_at_end(&self, line: &[u8]) -> bool {
        let n = self.bytes.len();
        if n == 0 {
            return true;
        }
        if n <= 8
            && let Some(w) = line.last_chunk::<8>()
        {
            return u64::from_le_bytes(*w) >> (64 - 8 * n) == self.word;
        }
        line.ends_with(&self.bytes)
    }

    /// `line[at..]` starts with the literal.
    #[inline(always)]
    pub fn is_at(&self, line: &[u8], at: usize) -> bool {
        if self.bytes.len() <= 8
            && let Some(w) = line.get(at..at.wrapping_add(8))
        {
            let w = u64::from_le_bytes(w.try_into().expect("8 bytes"));
            return w & self.mask == self.word;
        }
        line.get(at..).is_some_and(|h| h.starts_with(&self.bytes))
    }
}

/// The first occurrence of `lit` (non-empty) in `line` at or after `from`
/// ([`find_first`] of its first byte, each candidate checked with one masked compare).
#[inline(always)]
pub fn find_lit(line: &[u8], from: usize, lit: &Lit) -> Option<usize> {
    find_first(line, from, lit.bytes[0], |at| lit.is_at(line, at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_lit_agrees_with_a_plain_search() {
        // `!` is `"` ^ 1: the bytes the SWAR test may flag falsely above a true match.
        let pattern = b"ab\"! \"\" -x";
        let hay: Vec<u8> = (0..90usize)
            .map(|i| pattern[i % pattern.len()])
            .chain(*b"\" \"")
            .collect();
        for lit in [
            &b"\""[..],
            b"\" ",
            b"\" \"",
            b" -",
            b"!\"",
            b"x",
            b"ab\"! \"\" -xa",
            b"zz",
        ] {
            let l = Lit::new(lit);
            for from in 0..=hay.len() {
                for end in [hay.len(), hay.len().min(from + 9), hay.len().min(from + 70)] {
                    if end < from {
                        continue;
                    }
                    let line = &hay[..end];
                    let plain = line[from..]
                        .windows(lit.len())
                        .position(|w| w == lit)
                        .map(|at| at + from);
                    assert_eq!(
                        find_lit(line, from, &l),
                        plain,
                        "{lit:?} from {from} end {end}"
                    );
                }
            }
        }
    }
}
