//! Splits a byte stream into blocks of complete lines, holding back a partial last line until
//! its newline arrives, and dropping (without buffering) lines longer than the limit.

/// What [`LineReader::feed`] hands out.
#[derive(Debug, PartialEq, Eq)]
pub enum Chunk<'a> {
    /// Complete lines, each ending with `\n`.
    Lines(&'a [u8]),
    /// A line longer than the limit was dropped; this many of its bytes were seen.
    TooLong(u64),
}

/// Line splitter state for one file.
#[derive(Clone, Debug)]
pub struct LineReader {
    max_line: usize,
    partial: Vec<u8>,
    /// Bytes of an over-long line dropped so far while waiting for its newline.
    skipping: Option<u64>,
}

impl LineReader {
    /// A reader that drops lines longer than `max_line` bytes.
    pub fn new(max_line: usize) -> LineReader {
        LineReader {
            max_line: max_line.max(1),
            partial: Vec::new(),
            skipping: None,
        }
    }

    /// Bytes held back: a partial line (or a dropped over-long one) not yet ended.
    pub fn pending(&self) -> u64 {
        self.partial.len() as u64 + self.skipping.unwrap_or(0)
    }

    /// Forgets any partial line (after a truncation or when a file is let go).
    pub fn reset(&mut self) {
        self.partial.clear();
        self.skipping = None;
    }

    /// Takes the partial last line, if any (for `--one-shot` at the end of a file).
    pub fn take_partial(&mut self) -> Option<Vec<u8>> {
        self.skipping = None;
        (!self.partial.is_empty()).then(|| std::mem::take(&mut self.partial))
    }

    /// Feeds bytes read from the file; `out` receives the complete lines.
    pub fn feed(&mut self, mut data: &[u8], mut out: impl FnMut(Chunk<'_>)) {
        if let Some(skipped) = self.skipping {
            match memchr::memchr(b'\n', data) {
                None => {
                    self.skipping = Some(skipped + data.len() as u64);
                    return;
                }
                Some(nl) => {
                    out(Chunk::TooLong(skipped + nl as u64 + 1));
                    self.skipping = None;
                    data = &data[nl + 1..];
                }
            }
        }
        if !self.partial.is_empty() {
            match memchr::memchr(b'\n', data) {
                None => {
                    self.hold(data, &mut out);
                    return;
                }
                Some(nl) => {
                    if self.partial.len() + nl > self.max_line {
                        out(Chunk::TooLong((self.partial.len() + nl + 1) as u64));
                    } else {
                        self.partial.extend_from_slice(&data[..=nl]);
                        out(Chunk::Lines(&self.partial));
                    }
                    self.partial.clear();
                    data = &data[nl + 1..];
                }
            }
        }
        match memchr::memrchr(b'\n', data) {
            Some(last) => {
                out(Chunk::Lines(&data[..=last]));
                self.hold(&data[last + 1..], &mut out);
            }
            None => self.hold(data, &mut out),
        }
    }

    fn hold(&mut self, data: &[u8], _out: &mut impl FnMut(Chunk<'_>)) {
        if self.partial.len() + data.len() > self.max_line {
            self.skipping = Some((self.partial.len() + data.len()) as u64);
            self.partial.clear();
        } else {
            self.partial.extend_from_slice(data);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed_all(r: &mut LineReader, parts: &[&[u8]]) -> (Vec<u8>, Vec<u64>) {
        let mut lines = Vec::new();
        let mut too_long = Vec::new();
        for p in parts {
            r.feed(p, |c| match c {
                Chunk::Lines(l) => lines.extend_from_slice(l),
                Chunk::TooLong(n) => too_long.push(n),
            });
        }
        (lines, too_long)
    }

    #[test]
    fn a_line_written_in_two_pieces_comes_out_whole() {
        let mut r = LineReader::new(100);
        let (lines, _) = feed_all(&mut r, &[b"a\nbb", b"b\nc"]);
        assert_eq!(lines, b"a\nbbb\n");
        assert_eq!(r.pending(), 1);
    }

    #[test]
    fn an_overlong_line_is_dropped_without_being_buffered() {
        let mut r = LineReader::new(10);
        let big = vec![b'x'; 1000];
        let (lines, too_long) = feed_all(&mut r, &[b"ok\nxx", &big, &big, b"x\nnext\n"]);
        assert_eq!(lines, b"ok\nnext\n");
        assert_eq!(too_long, vec![2004]);
        assert!(r.partial.capacity() < 100);
    }
}
