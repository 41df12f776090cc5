//! Walking a line along a compiled format. The hot walks ([`Compiled::parse_fused`]): the
//! built-in walk for `combined` and `forum`, the generic walk over a [`Scan`] of the line
//! (field ends are bits in delimiter masks), and a search per field for formats with more
//! delimiter bytes than a scan classifies. The reference walk ([`Compiled::parse_steps`])
//! follows the steps one by one and says where a line stopped matching; the property tests
//! below hold every walk to it.

use crate::bytes::scan::{Classes, Scan};
use crate::bytes::search::{find, prefix_eq};
use crate::record::{Field, Record};

use super::builtin::parse_builtin;
use super::compile::{Compiled, Fields, Kind, NO_FIELD, ScanPlan, Step, Until};
use super::lit::find_lit;

/// Where a line stopped matching its format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// Byte offset in the line.
    pub offset: usize,
    /// What the format expected there.
    pub expected: String,
}

impl Compiled {
    /// The hot walk: the built-in one for `combined` and `forum`, else the generic one.
    /// `false` when the line does not match (the reference walk then says where).
    #[inline]
    pub fn parse_fused<'a>(&self, line: &'a [u8], record: &mut Record<'a>) -> bool {
        if let (Some(builtin), Some(ScanPlan::Three(classes))) =
            (self.builtin, self.plan.as_deref())
        {
            return match parse_builtin(builtin, classes, line) {
                Some(r) => {
                    *record = r;
                    true
                }
                None => false,
            };
        }
        self.parse_generic(line, record)
    }

    /// [`Compiled::parse_fused`] without the built-in walks.
    #[inline]
    pub fn parse_generic<'a>(&self, line: &'a [u8], record: &mut Record<'a>) -> bool {
        match self.plan.as_deref() {
            Some(ScanPlan::One(c)) => self.parse_scan(c, line, record),
            Some(ScanPlan::Two(c)) => self.parse_scan(c, line, record),
            Some(ScanPlan::Three(c)) => self.parse_scan(c, line, record),
            Some(ScanPlan::Four(c)) => self.parse_scan(c, line, record),
            None => self.parse_search(line, record),
        }
    }

    /// The fused steps over a [`Scan`] of the line: each field's end is a bit in a mask.
    #[inline(always)]
    fn parse_scan<'a, const K: usize>(
        &self,
        classes: &Classes<K>,
        line: &'a [u8],
        record: &mut Record<'a>,
    ) -> bool {
        let mut fields: Fields<'a> = [&[]; NO_FIELD + 1];
        let mut scan = Scan::new(classes, line);
        let mut pos = 0;
        // Every variable but the last ends at the next occurrence of a literal (`compile`).
        let (last, hops) = self.fused.split_last().expect("a format has a variable");
        for f in hops {
            if !f.known && !f.before.is_at(line, pos) {
                return false;
            }
            pos += f.before.len();
            let until = &f.until;
            let single = f.single;
            let Some(at) = scan.find(f.class, pos, |at| single || until.is_at(line, at)) else {
                return false;
            };
            fields[f.slot] = line.get(pos..at).unwrap_or_default();
            pos = at;
        }
        if !last.known && !last.before.is_at(line, pos) {
            return false;
        }
        pos += last.before.len();
        let n = last.until.len();
        if line.len() < pos + n || !last.until.is_at_end(line) {
            return false;
        }
        fields[last.slot] = &line[pos..line.len() - n];
        *record = Record {
            request: fields[Field::Request as usize],
            method: fields[Field::Method as usize],
            uri: fields[Field::Uri as usize],
            status: fields[Field::Status as usize],
            body_bytes: fields[Field::BodyBytes as usize],
            request_length: fields[Field::RequestLength as usize],
            request_time: fields[Field::RequestTime as usize],
            upstream_time: fields[Field::UpstreamTime as usize],
            host: fields[Field::Host as usize],
            source: fields[Field::Source as usize],
        };
        true
    }

    /// The fused steps, each field's end found by a search of its own (formats whose field
    /// ends start with more than [`MAX_CLASSES`] distinct bytes).
    #[inline]
    pub fn parse_search<'a>(&self, line: &'a [u8], record: &mut Record<'a>) -> bool {
        record.clear();
        let mut pos = 0;
        for f in &self.fused {
            if !f.known && !f.before.is_at(line, pos) {
                return false;
            }
            pos += f.before.len();
            let (end, next) = match f.kind {
                Kind::Next => match find_lit(line, pos, &f.until) {
                    Some(at) => (at, at),
                    None => return false,
                },
                Kind::LineEnd => {
                    let n = f.until.len();
                    if line.len() < pos + n || !f.until.is_at_end(line) {
                        return false;
                    }
                    (line.len() - n, line.len())
                }
                Kind::End => (line.len(), line.len()),
            };
            if let Some(field) = f.field {
                record.set(field, &line[pos..end]);
            }
            pos = next;
        }
        // The last variable ended at the line's end (`compile`).
        true
    }

    /// The step-by-step walk: the same result as the fused one, and a precise [`Mismatch`].
    pub fn parse_steps<'a>(&self, line: &'a [u8], record: &mut Record<'a>) -> Result<(), Mismatch> {
        record.clear();
        let mut pos = 0;
        let mut i = 0;
        while i < self.steps.len() {
            match &self.steps[i] {
                Step::Literal(lit) => {
                    if !prefix_eq(&line[pos..], lit) {
                        return Err(self.mismatch(pos, i));
                    }
                    pos += lit.len();
                }
                Step::Var { field, until, .. } => {
                    let end = match until {
                        Until::End => line.len(),
                        Until::LineEnd(lit) => {
                            if line.len() < pos + lit.len()
                                || !prefix_eq(&line[line.len() - lit.len()..], lit)
                            {
                                return Err(self.mismatch(line.len(), i + 1));
                            }
                            line.len() - lit.len()
                        }
                        Until::Next(lit) => match find(&line[pos..], lit) {
                            Some(at) => pos + at,
                            None => return Err(self.mismatch(line.len(), i + 1)),
                        },
                    };
                    if let Some(field) = field {
                        record.set(*field, &line[pos..end]);
                    }
                    pos = end;
                }
            }
            i += 1;
        }
        if pos != line.len() {
            return Err(Mismatch {
                offset: pos,
                expected: "the end of the line".into(),
            });
        }
        Ok(())
    }

    #[cold]
    fn mismatch(&self, offset: usize, step: usize) -> Mismatch {
        let expected = match self.steps.get(step) {
            Some(Step::Literal(l)) => {
                let before = match step.checked_sub(1).and_then(|s| self.steps.get(s)) {
                    Some(Step::Var { name, .. }) => format!(" after ${name}"),
                    _ => String::new(),
                };
                format!("the text `{}`{before}", String::from_utf8_lossy(l))
            }
            Some(Step::Var { name, .. }) => format!("${name}"),
            None => "the end of the line".into(),
        };
        Mismatch { offset, expected }
    }
}

#[cfg(test)]
mod tests {
    use super::super::builtin::named;
    use super::*;

    fn compile(spec: &str) -> Compiled {
        Compiled::new(named(spec).unwrap_or(spec), "remote_addr").unwrap()
    }

    const LINE: &[u8] = br#"1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] "GET /t/5/?page=2 HTTP/1.1" 200 512 "-" "curl/8 "x" y""#;

    /// Formats for the agreement tests: the built-ins, custom ones, one whose field ends start
    /// with five distinct bytes (more than a [`Scan`] classifies: the per-field search).
    const SPECS: [&str; 6] = [
        "combined",
        "forum",
        "$status|$request_method|$request_uri",
        "[$status] $request",
        "$remote_addr;$status,$request:$host#$request_time=$body_bytes_sent",
        r#"$host "$request" $status $bytes_sent $body_bytes_sent"#,
    ];

    /// The parsers agree: the built-in walk (`combined`, `forum`), the generic [`Scan`] walk
    /// (when the format has one), the per-field search, and the step-by-step walk that
    /// explains mismatches.
    fn parsers_agree(
        format: &Compiled,
        line: &[u8],
    ) -> Result<(), proptest::test_runner::TestCaseError> {
        let (mut a, mut b, mut c) = (Record::default(), Record::default(), Record::default());
        let mut d = Record::default();
        let fused = format.parse_fused(line, &mut a);
        let search = format.parse_search(line, &mut b);
        let steps = format.parse_steps(line, &mut c);
        let generic = format.parse_generic(line, &mut d);
        proptest::prop_assert_eq!(
            generic,
            steps.is_ok(),
            "generic vs steps on {:?}",
            String::from_utf8_lossy(line)
        );
        if generic {
            proptest::prop_assert_eq!(format!("{d:?}"), format!("{c:?}"));
        }
        proptest::prop_assert_eq!(
            fused,
            steps.is_ok(),
            "fused vs steps on {:?}",
            String::from_utf8_lossy(line)
        );
        proptest::prop_assert_eq!(
            search,
            steps.is_ok(),
            "search vs steps on {:?}",
            String::from_utf8_lossy(line)
        );
        if fused {
            proptest::prop_assert_eq!(format!("{a:?}"), format!("{c:?}"));
            proptest::prop_assert_eq!(format!("{b:?}"), format!("{c:?}"));
        }
        Ok(())
    }

    proptest::proptest! {
        #[test]
        fn the_parsers_agree_on_damaged_lines(at in 0usize..200, byte in proptest::prelude::any::<u8>(), cut in 0usize..200, noise in "[ -~]{0,80}") {
            let mut line = LINE.to_vec();
            let at = at % line.len();
            line[at] = byte;
            line.truncate(line.len().min(cut.max(1) + 60));
            for spec in SPECS {
                let format = compile(spec);
                for candidate in [&line[..], LINE, noise.as_bytes()] {
                    parsers_agree(&format, candidate)?;
                }
            }
        }

        /// Lines of 0 to 400 bytes made of the formats' delimiters and words: fields that end
        /// in every 64-byte window of a scan, in the last one, and lines shorter than a window.
        #[test]
        fn the_parsers_agree_on_delimiter_soup(
            parts in proptest::collection::vec(proptest::sample::select(vec![
                " ", "\"", "] \"", " [", " - ", "\" ", "\" \"", "|", ";", ",", ":", "#", "=",
                "GET /a?b=1 HTTP/1.1", "200", "0.005", "forum.example", "Mozilla/5.0 (X11)",
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            ]), 0..40),
        ) {
            let line: Vec<u8> = parts.concat().into_bytes();
            for spec in SPECS {
                parsers_agree(&compile(spec), &line)?;
            }
        }

        /// Real-looking lines of every length: the combined and forum lines with fields padded,
        /// so the delimiters fall at every offset of the windows.
        #[test]
        fn the_parsers_agree_on_lines_of_every_length(ua in 0usize..300, referer in 0usize..80, path in 0usize..120) {
            let line = format!(
                r#"10.0.0.1 - - [01/Jan/2024:00:00:00 +0000] "GET /{} HTTP/1.1" 200 512 "{}" "{}" 312 0.025 "0.005, 0.019" forum.example"#,
                "p".repeat(path), "r".repeat(referer), "u ".repeat(ua / 2)
            );
            for spec in SPECS {
                let format = compile(spec);
                parsers_agree(&format, line.as_bytes())?;
                let end = line.find(" 312 ").unwrap();
                parsers_agree(&format, &line.as_bytes()[..end])?;
            }
        }
    }

    #[test]
    fn body_bytes_sent_wins_over_bytes_sent_in_either_order() {
        for (spec, line) in [
            (
                "$status $request $bytes_sent $body_bytes_sent",
                "200 GET 1 2",
            ),
            (
                "$status $request $body_bytes_sent $bytes_sent",
                "200 GET 2 1",
            ),
        ] {
            let format = compile(spec);
            let (mut fused, mut steps) = (Record::default(), Record::default());
            assert!(format.parse_fused(line.as_bytes(), &mut fused), "{spec}");
            format.parse_steps(line.as_bytes(), &mut steps).unwrap();
            assert_eq!(fused.body_bytes, b"2", "{spec}");
            assert_eq!(steps.body_bytes, b"2", "{spec}");
        }
    }
}
