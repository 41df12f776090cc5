//! Finding bytes in short fields: a word at a time ([`super::words`]) over the first bytes,
//! `memchr`'s vectorised search past them. Fields of a log line are short, and `memchr`'s call
//! and dispatch cost more than a short field.

use memchr::memchr;

use super::words::{HI, LO, byte_flags};

/// `hay` starts with `lit`. Literals are a few bytes: a loop beats a call to `memcmp`.
#[inline(always)]
pub fn prefix_eq(hay: &[u8], lit: &[u8]) -> bool {
    match (lit, hay) {
        ([], _) => true,
        ([a], [x, ..]) => a == x,
        ([a, b], [x, y, ..]) => a == x && b == y,
        ([a, b, c], [x, y, z, ..]) => a == x && b == y && c == z,
        _ => hay.starts_with(lit),
    }
}

/// The first `byte` in `haystack`. Fields are short, so the first 64 bytes are searched eight
/// at a time in a `u64` (SWAR) before handing the rest to `memchr`'s vectorised search, whose
/// call and dispatch cost more than a short field.
#[inline(always)]
pub fn find_byte(byte: u8, haystack: &[u8]) -> Option<usize> {
    const INLINE: usize = 64;
    let pattern = LO * u64::from(byte);
    let head = &haystack[..haystack.len().min(INLINE)];
    let mut words = head.chunks_exact(8);
    let mut i = 0;
    for word in &mut words {
        let word = u64::from_le_bytes(word.try_into().expect("8 bytes"));
        // The lowest flagged byte is the first match (borrows only flag bytes above it).
        let found = byte_flags(word, pattern);
        if found != 0 {
            return Some(i + (found.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    if haystack.len() > INLINE {
        return memchr(byte, &haystack[INLINE..]).map(|at| at + INLINE);
    }
    words
        .remainder()
        .iter()
        .position(|b| *b == byte)
        .map(|at| at + i)
}

/// The first occurrence of `needle` (non-empty) in `haystack`.
#[inline(always)]
pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let first = needle[0];
    let mut from = 0;
    while let Some(at) = find_byte(first, &haystack[from..]) {
        let at = from + at;
        if prefix_eq(&haystack[at..], needle) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// The first position at or after `from` in `line` that holds `first` and where `is_match`
/// holds. Fields are short: the first 64 bytes are searched eight at a time in a `u64` (SWAR),
/// each candidate checked in order; a longer rest goes to `memchr`'s vectorised search.
#[inline(always)]
pub fn find_first(
    line: &[u8],
    from: usize,
    first: u8,
    is_match: impl Fn(usize) -> bool,
) -> Option<usize> {
    const INLINE: usize = 64;
    let pattern = LO * u64::from(first);
    let stop = line.len().min(from.saturating_add(INLINE));
    let mut i = from;
    while i + 8 <= stop {
        let word = u64::from_le_bytes(line[i..i + 8].try_into().expect("8 bytes"));
        // Every byte equal to `first` is flagged (and, above one, maybe a false one: each
        // candidate is checked, in order).
        let mut found = byte_flags(word, pattern);
        while found != 0 {
            let at = i + (found.trailing_zeros() / 8) as usize;
            if line[at] == first && is_match(at) {
                return Some(at);
            }
            found &= found - 1;
        }
        i += 8;
    }
    if i + 8 <= line.len() {
        while let Some(at) = memchr(first, &line[i..]) {
            let at = i + at;
            if is_match(at) {
                return Some(at);
            }
            i = at + 1;
        }
        return None;
    }
    while i < line.len() {
        if line[i] == first && is_match(i) {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// The high bit of each byte of `word` that is `?` or `#`; only the lowest one is reliable
/// (borrows may flag bytes above it).
#[inline(always)]
pub fn query_flags(word: u64) -> u64 {
    let (q, h) = (word ^ (LO * u64::from(b'?')), word ^ (LO * u64::from(b'#')));
    (q.wrapping_sub(LO) & !q | h.wrapping_sub(LO) & !h) & HI
}

/// Where the query string or fragment (`?` or `#`) starts, else the length. URIs are short:
/// eight bytes at a time in a `u64` (SWAR) beat both a byte loop and a vectorised search.
#[inline]
pub fn query_start(uri: &[u8]) -> usize {
    let mut words = uri.chunks_exact(8);
    let mut at = 0;
    for word in &mut words {
        let word = u64::from_le_bytes(word.try_into().expect("8 bytes"));
        // The lowest flagged byte is the first match (borrows only flag bytes above).
        let found = query_flags(word);
        if found != 0 {
            return at + (found.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    words
        .remainder()
        .iter()
        .position(|b| *b == b'?' || *b == b'#')
        .map_or(uri.len(), |i| at + i)
}

/// The first space among the first 16 bytes of a request line (the end of its method). Methods
/// are short: the first eight bytes are tested at once in a `u64` (SWAR).
#[inline(always)]
pub fn first_space(req: &[u8]) -> Option<usize> {
    if let Some(head) = req.first_chunk::<8>() {
        // The lowest flagged byte is the first space (borrows only flag bytes above it).
        let found = byte_flags(u64::from_le_bytes(*head), LO * u64::from(b' '));
        if found != 0 {
            return Some((found.trailing_zeros() / 8) as usize);
        }
    }
    req.iter().take(16).position(|b| *b == b' ')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_byte_agrees_with_a_plain_search() {
        let hay: Vec<u8> = (0..100u8)
            .map(|i| b'a' + i % 7)
            .chain([b'"'])
            .chain((0..50).map(|_| b'z'))
            .collect();
        for start in 0..hay.len() {
            for byte in [b'a', b'c', b'"', b'z', b'q', 0x80, 0xff, 0] {
                let plain = hay[start..].iter().position(|b| *b == byte);
                assert_eq!(
                    find_byte(byte, &hay[start..]),
                    plain,
                    "start {start} byte {byte}"
                );
            }
        }
    }

    #[test]
    fn find_first_agrees_with_a_plain_search() {
        // `!` is `"` ^ 1: the bytes the SWAR test may flag falsely above a true match.
        let pattern = b"ab\"! \"\" -x";
        let hay: Vec<u8> = (0..90usize)
            .map(|i| pattern[i % pattern.len()])
            .chain(*b"\" \"")
            .collect();
        for lit in [&b"\""[..], b"\" ", b"\" \"", b" -", b"!\"", b"x", b"zz"] {
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
                    let fast = find_first(line, from, lit[0], |at| line[at..].starts_with(lit));
                    assert_eq!(fast, plain, "{lit:?} from {from} end {end}");
                    let substring = find(&line[from..], lit).map(|at| at + from);
                    assert_eq!(substring, plain, "{lit:?} from {from} end {end}");
                }
            }
        }
    }

    #[test]
    fn the_query_starts_at_the_first_question_mark_or_hash() {
        for uri in [
            &b""[..],
            b"/",
            b"/abc?",
            b"/abcdefgh?x#y",
            b"/abcdefghijklmnop#x?y",
            b"/a/b/c/d/e/f/g/h/i/j",
            b"?",
            b"/\xff\x80?\x3f",
        ] {
            let plain = uri
                .iter()
                .position(|b| *b == b'?' || *b == b'#')
                .unwrap_or(uri.len());
            assert_eq!(query_start(uri), plain, "{uri:?}");
        }
    }

    #[test]
    fn the_first_space_is_found_in_the_first_16_bytes_only() {
        for req in [
            &b""[..],
            b" ",
            b"GET / HTTP/1.1",
            b"OPTIONS * HTTP/1.1",
            b"ABCDEFGH /",
            b"ABCDEFGHIJKLMNOP /",
            b"ABCDEFGHIJKLMNO /",
            b"!\x21 x",
            b"\x00\x01\x20",
        ] {
            let plain = req.iter().take(16).position(|b| *b == b' ');
            assert_eq!(first_space(req), plain, "{req:?}");
        }
    }
}
