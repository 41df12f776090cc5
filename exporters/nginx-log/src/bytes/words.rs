//! Eight bytes at a time in a `u64` (SWAR): loading short byte strings as words, comparing
//! them, and flagging the bytes of a word that are digits or a given byte, without a loop over
//! the bytes or a call to `memcmp`.
//!
//! The flag trick: for `x = word ^ (LO * byte)`, `x.wrapping_sub(LO) & !x & HI` sets the high
//! bit of every byte of `word` equal to `byte`. Only the lowest flagged byte is reliable: a
//! borrow out of a matching byte may flag the byte above it (`byte ^ 1`), so searches take the
//! lowest flag, or check each candidate.

/// `0x01` in every byte.
pub const LO: u64 = 0x0101_0101_0101_0101;
/// `0x80` in every byte.
pub const HI: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `word` equal to the byte repeated in `pattern` (`LO * byte`);
/// only the lowest flag is reliable (see the module docs).
#[inline(always)]
pub fn byte_flags(word: u64, pattern: u64) -> u64 {
    let x = word ^ pattern;
    x.wrapping_sub(LO) & !x & HI
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

/// The 1 to 8 bytes of `s` as a big-endian number: the last byte lowest. Two overlapping
/// loads (or three single bytes) instead of a loop.
#[inline(always)]
pub fn be_word(s: &[u8]) -> u64 {
    let n = s.len();
    debug_assert!((1..=8).contains(&n));
    if n >= 4 {
        let hi = u64::from(u32::from_be_bytes([s[0], s[1], s[2], s[3]]));
        let lo = u64::from(u32::from_be_bytes([s[n - 4], s[n - 3], s[n - 2], s[n - 1]]));
        // The overlapping bytes land on the same bits in both.
        (hi << (8 * (n - 4))) | lo
    } else {
        let (a, b, c) = (u64::from(s[0]), u64::from(s[n / 2]), u64::from(s[n - 1]));
        (a << (8 * (n - 1))) | (b << (8 * (n - 1 - n / 2))) | c
    }
}

/// The eight bytes of `s` at `at`, little-endian.
#[inline(always)]
pub fn word_at(s: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(s[at..at + 8].try_into().expect("8 bytes"))
}

/// The low `n` bytes set (`n` below 8).
#[inline(always)]
pub fn below(n: usize) -> u64 {
    (1 << (8 * n)) - 1
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

/// The high bit of each byte of `word` that is not an ASCII digit, exactly (no carry crosses
/// a byte: `0x7f + 0x76` is below `0x100`).
#[inline(always)]
pub fn non_digits(word: u64) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let x = word ^ 0x3030_3030_3030_3030;
    // A digit leaves 0 to 9: below 10 in its low seven bits, and no high bit.
    (((x & LOW7) + 0x7676_7676_7676_7676) | x) & HI
}

/// `'0'` in every byte.
pub const ZEROS: u64 = 0x3030_3030_3030_3030;

/// `'0'` in the bytes above the lowest `n` (1 to 8), so a [`be_word`] of `n` bytes reads as
/// eight digits with leading zeros.
#[inline(always)]
pub fn zero_pad(n: usize) -> u64 {
    // Two shifts: `<< 64` would overflow when `n` is 8.
    ZEROS << 4 << (8 * n - 4)
}

/// Whether every byte of `x` is an ASCII digit.
#[inline(always)]
pub fn all_digits(x: u64) -> bool {
    const HIGH: u64 = 0xf0f0_f0f0_f0f0_f0f0;
    // `0x30..=0x3f`, and still below `0x40` after adding 6: `0x30..=0x39`. No byte carries
    // into the next when the first test holds.
    (x & HIGH == ZEROS) & (x.wrapping_add(0x0606_0606_0606_0606) & HIGH == ZEROS)
}

/// The number whose decimal digits (values 0-9, the lowest byte the units) are the bytes of
/// `d`.
#[inline(always)]
pub fn digits_value(d: u64) -> u64 {
    const BYTES: u64 = 0x00ff_00ff_00ff_00ff;
    const PAIRS: u64 = 0x0000_ffff_0000_ffff;
    let d = (d & BYTES) + ((d >> 8) & BYTES) * 10;
    let d = (d & PAIRS) + ((d >> 16) & PAIRS) * 100;
    (d & 0xffff_ffff) + (d >> 32) * 10_000
}

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
        fn byte_flags_lowest_is_the_first_match(
            bytes in proptest::collection::vec(prop_oneof![Just(b'"'), Just(b'!'), Just(b'#'), any::<u8>()], 8),
            byte in prop_oneof![Just(b'"'), Just(b' '), any::<u8>()],
        ) {
            let word = u64::from_le_bytes(bytes.clone().try_into().unwrap());
            let flags = byte_flags(word, LO * u64::from(byte));
            let first = bytes.iter().position(|b| *b == byte);
            prop_assert_eq!((flags != 0).then(|| (flags.trailing_zeros() / 8) as usize), first);
            // Every match is flagged.
            for (i, b) in bytes.iter().enumerate() {
                if *b == byte {
                    prop_assert!(flags >> (8 * i + 7) & 1 == 1);
                }
            }
        }

        #[test]
        fn be_word_is_the_bytes_big_endian(s in proptest::collection::vec(any::<u8>(), 1..=8)) {
            let plain = s.iter().fold(0u64, |w, b| (w << 8) | u64::from(*b));
            prop_assert_eq!(be_word(&s), plain);
        }
    }

    #[test]
    fn non_digits_flags_exactly_the_bytes_that_are_not_digits() {
        for b in 0..=255u8 {
            for at in 0..8 {
                let mut bytes = *b"01234567";
                bytes[at] = b;
                let flags = non_digits(u64::from_le_bytes(bytes));
                for (i, byte) in bytes.iter().enumerate() {
                    assert_eq!(
                        flags >> (8 * i + 7) & 1 == 1,
                        !byte.is_ascii_digit(),
                        "{bytes:?}"
                    );
                }
                assert_eq!(flags & !0x8080_8080_8080_8080, 0);
            }
        }
    }
}
