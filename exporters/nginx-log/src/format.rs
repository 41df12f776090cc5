//! nginx `log_format` strings, compiled once into a parser.
//!
//! A format is a sequence of literals and `$variables`. Compiling it yields a list of steps;
//! parsing a line walks them: a literal must be next in the line, a variable runs up to the next
//! occurrence of the literal that follows it (found with `memchr`), and the last literal of the
//! format, when the format ends with one, must end the line. Only the variables the exporter uses
//! are kept; the others are skipped over without work beyond finding their end.

use memchr::memchr;

use crate::record::{Field, Record};
use crate::scan::{Classes, MAX_CLASSES, Scan};

/// nginx's predefined `combined` format.
pub const COMBINED: &str = r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent""#;

/// This project's `forum` format (`monitoring/nginx/log_format.conf`): `combined` plus request
/// length, request time, upstream time (quoted: several upstreams give `0.005, 0.019`) and host.
pub const FORUM: &str = r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_length $request_time "$upstream_response_time" $host"#;

/// Returns the format string of a built-in format name, if `name` is one.
pub fn named(name: &str) -> Option<&'static str> {
    match name {
        "combined" => Some(COMBINED),
        "forum" => Some(FORUM),
        _ => None,
    }
}

/// Why a format string cannot be compiled.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CompileError {
    /// Two variables follow each other with nothing between them to tell where one ends.
    #[error("variables ${0} and ${1} are adjacent: nothing tells where the first one ends")]
    AdjacentVariables(String, String),
    /// A `$` with no variable name, or an unclosed `${`.
    #[error("invalid variable at byte {0} of the format")]
    BadVariable(usize),
    /// The format captures neither `$request` nor `$request_uri`/`$uri`, or lacks `$status`.
    #[error("the format must contain $status and one of $request, $request_uri or $uri")]
    MissingFields,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    Literal(Vec<u8>),
    /// A variable and the literal that ends it (`None`: the rest of the line).
    Var {
        name: String,
        field: Option<Field>,
        until: Until,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Until {
    /// The next occurrence of this literal.
    Next(Vec<u8>),
    /// This literal, which must end the line.
    LineEnd(Vec<u8>),
    /// The end of the line.
    End,
}

/// Where a line stopped matching its format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// Byte offset in the line.
    pub offset: usize,
    /// What the format expected there.
    pub expected: String,
}

/// The hot path's form of the steps: each variable fused with the literal before it, so a
/// line is one pass over a few of these.
#[derive(Clone, Debug)]
struct Fused {
    before: Lit,
    /// `before` is the literal the previous step's search just found: skip it unchecked.
    known: bool,
    field: Option<Field>,
    kind: Kind,
    /// The literal that ends the variable (empty for [`Kind::End`]).
    until: Lit,
    /// Index of the field in a [`Fields`] array ([`NO_FIELD`] for variables not kept).
    slot: usize,
    /// For [`Kind::Next`]: the [`Scan`] class of the first byte of `until`.
    class: usize,
    /// `until` is one byte: a byte of its class is a match.
    single: bool,
}

/// The fields of a line by [`Field`] discriminant, plus one slot for the variables not kept.
type Fields<'a> = [&'a [u8]; NO_FIELD + 1];

/// The slot of the variables the exporter does not keep.
const NO_FIELD: usize = 9;

/// The [`Scan`] classes of a format, by how many distinct bytes start its field ends.
#[derive(Clone, Debug)]
enum ScanPlan {
    One(Classes<1>),
    Two(Classes<2>),
    Three(Classes<3>),
    Four(Classes<4>),
}

/// [`Until`] without its literal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Next,
    LineEnd,
    End,
}

/// A literal with its first eight bytes packed in a `u64`, so comparing it with the line is
/// one load, a mask and a compare.
#[derive(Clone, Debug)]
struct Lit {
    bytes: Box<[u8]>,
    word: u64,
    mask: u64,
    /// The first byte repeated eight times (0 for an empty literal), for the SWAR search.
    pattern: u64,
}

impl Lit {
    fn new(bytes: &[u8]) -> Lit {
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
            pattern: 0x0101_0101_0101_0101 * u64::from(word[0]),
        }
    }

    #[inline(always)]
    fn len(&self) -> usize {
        self.bytes.len()
    }

    /// `line` ends with the literal.
    #[inline(always)]
    fn is_at_end(&self, line: &[u8]) -> bool {
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
    fn is_at(&self, line: &[u8], at: usize) -> bool {
        if self.bytes.len() <= 8
            && let Some(w) = line.get(at..at.wrapping_add(8))
        {
            let w = u64::from_le_bytes(w.try_into().expect("8 bytes"));
            return w & self.mask == self.word;
        }
        line.get(at..).is_some_and(|h| h.starts_with(&self.bytes))
    }
}

/// A compiled log format.
#[derive(Clone, Debug)]
pub struct LogFormat {
    source: String,
    steps: Vec<Step>,
    fused: Vec<Fused>,
    /// The delimiter classes, when the format has at most [`MAX_CLASSES`] (else the fused
    /// steps search field by field).
    plan: Option<Box<ScanPlan>>,
    /// A hand-written walk for a built-in format (same result as the generic one).
    builtin: Option<Builtin>,
}

/// The built-in formats with a walk of their own: `combined` (nginx's default, the most common
/// format there is) and `forum`, which is `combined` plus four fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Builtin {
    Combined,
    Forum,
}

impl LogFormat {
    /// Compiles a built-in name (`combined`, `forum`) or an nginx `log_format` string.
    pub fn compile(name_or_format: &str) -> Result<LogFormat, CompileError> {
        let source = named(name_or_format).unwrap_or(name_or_format);
        let tokens = tokenize(source)?;
        // `$body_bytes_sent` wins over `$bytes_sent` when a format has both.
        let has_body_bytes_sent = tokens
            .iter()
            .any(|t| matches!(t, Token::Var(name) if name == "body_bytes_sent"));
        let mut steps = Vec::with_capacity(tokens.len());
        for (i, token) in tokens.iter().enumerate() {
            match token {
                Token::Literal(l) => steps.push(Step::Literal(l.clone())),
                Token::Var(name) => {
                    let until = match tokens.get(i + 1) {
                        None => Until::End,
                        Some(Token::Var(next)) => {
                            return Err(CompileError::AdjacentVariables(
                                name.clone(),
                                next.clone(),
                            ));
                        }
                        Some(Token::Literal(l)) if i + 2 == tokens.len() => {
                            Until::LineEnd(l.clone())
                        }
                        Some(Token::Literal(l)) => Until::Next(l.clone()),
                    };
                    let field = match Field::from_variable(name) {
                        Some(_) if name == "bytes_sent" && has_body_bytes_sent => None,
                        field => field,
                    };
                    steps.push(Step::Var {
                        name: name.clone(),
                        field,
                        until,
                    });
                }
            }
        }
        let has = |f: Field| {
            steps
                .iter()
                .any(|s| matches!(s, Step::Var { field: Some(x), .. } if *x == f))
        };
        if !has(Field::Status) || !(has(Field::Request) || has(Field::Uri)) {
            return Err(CompileError::MissingFields);
        }
        let mut fused = Vec::new();
        let mut first_bytes: Vec<u8> = Vec::new();
        let mut before: Vec<u8> = Vec::new();
        let mut skip_next_literal = false;
        let mut found: Option<&[u8]> = None;
        for step in &steps {
            match step {
                Step::Literal(_) if skip_next_literal => skip_next_literal = false,
                Step::Literal(l) => before.extend_from_slice(l),
                Step::Var { field, until, .. } => {
                    skip_next_literal = matches!(until, Until::LineEnd(_));
                    let known = !before.is_empty() && found == Some(&before[..]);
                    found = match until {
                        Until::Next(lit) => Some(lit),
                        _ => None,
                    };
                    let (kind, lit) = match until {
                        Until::Next(l) => (Kind::Next, &l[..]),
                        Until::LineEnd(l) => (Kind::LineEnd, &l[..]),
                        Until::End => (Kind::End, &b""[..]),
                    };
                    let slot = field.map_or(NO_FIELD, |f| f as usize);
                    let class = match kind {
                        Kind::Next => match first_bytes.iter().position(|b| *b == lit[0]) {
                            Some(c) => c,
                            None => {
                                first_bytes.push(lit[0]);
                                first_bytes.len() - 1
                            }
                        },
                        _ => 0,
                    };
                    fused.push(Fused {
                        before: Lit::new(&std::mem::take(&mut before)),
                        known,
                        field: *field,
                        kind,
                        until: Lit::new(lit),
                        slot,
                        class,
                        single: lit.len() == 1,
                    });
                }
            }
        }
        let plan = match first_bytes.len() {
            0 | 1 => Some(ScanPlan::One(Classes::new(&[first_bytes
                .first()
                .copied()
                .unwrap_or(b'\n')]))),
            2 => Some(ScanPlan::Two(Classes::new(&first_bytes))),
            3 => Some(ScanPlan::Three(Classes::new(&first_bytes))),
            4 => Some(ScanPlan::Four(Classes::new(&first_bytes))),
            _ => None,
        };
        const _: () = assert!(MAX_CLASSES == 4);
        // The walks rely on it: only the last variable can end at the line's end, and nothing
        // follows it (a final literal is its `LineEnd`).
        assert!(
            before.is_empty(),
            "format {source:?} has text after its last variable"
        );
        assert!(
            fused.iter().rev().skip(1).all(|f| f.kind == Kind::Next)
                && fused.last().is_some_and(|f| f.kind != Kind::Next),
            "format {source:?} compiled into an unexpected shape"
        );
        Ok(LogFormat {
            source: source.to_string(),
            steps,
            fused,
            plan: plan.map(Box::new),
            builtin: match source {
                // `parse_builtin` relies on the classes `compile` gives these formats.
                COMBINED | FORUM if first_bytes == b" ]\"" => Some(if source == COMBINED {
                    Builtin::Combined
                } else {
                    Builtin::Forum
                }),
                _ => None,
            },
        })
    }

    /// The format string this was compiled from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Parses one line (without its newline) into `record`. Fields the format lacks stay empty.
    #[inline]
    pub fn parse<'a>(&self, line: &'a [u8], record: &mut Record<'a>) -> Result<(), Mismatch> {
        if self.parse_fused(line, record) {
            return Ok(());
        }
        // The slow walk finds where the line stopped matching, for the error.
        self.parse_steps(line, record)
    }

    #[inline]
    fn parse_fused<'a>(&self, line: &'a [u8], record: &mut Record<'a>) -> bool {
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

    /// [`LogFormat::parse_fused`] without the built-in walks.
    #[inline]
    fn parse_generic<'a>(&self, line: &'a [u8], record: &mut Record<'a>) -> bool {
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
        };
        true
    }

    /// The fused steps, each field's end found by a search of its own (formats whose field
    /// ends start with more than [`MAX_CLASSES`] distinct bytes).
    #[inline]
    fn parse_search<'a>(&self, line: &'a [u8], record: &mut Record<'a>) -> bool {
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
    fn parse_steps<'a>(&self, line: &'a [u8], record: &mut Record<'a>) -> Result<(), Mismatch> {
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

    /// A sentence saying why `line` does not match, or `None` when it does.
    pub fn explain(&self, line: &[u8]) -> Option<String> {
        let mut record = Record::default();
        let err = self.parse(line, &mut record).err()?;
        let shown = String::from_utf8_lossy(&line[..line.len().min(300)]);
        Some(format!(
            "log format `{}` does not match the line `{}`: at byte {} it expected {}",
            self.source, shown, err.offset, err.expected
        ))
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

/// `line[at..]` starts with `lit` (a literal of one to three bytes).
#[inline(always)]
fn lit_at(line: &[u8], at: usize, lit: &[u8]) -> bool {
    line.get(at..at + lit.len()) == Some(lit)
}

/// The walk of `combined` and `forum`, written out: the same steps as the generic walk over
/// the same [`Scan`] (classes: space, `]`, `"`, in the order `compile` assigns them), with the
/// literals as constants.
#[inline(always)]
fn parse_builtin<'a>(builtin: Builtin, classes: &Classes<3>, line: &'a [u8]) -> Option<Record<'a>> {
    const SPACE: usize = 0;
    const BRACKET: usize = 1;
    const QUOTE: usize = 2;
    let mut scan = Scan::new(classes, line);
    // $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "
    let addr_end = scan.find(SPACE, 0, |at| lit_at(line, at, b" - "))?;
    let user_end = scan.find(SPACE, addr_end + 3, |at| lit_at(line, at, b" ["))?;
    let time_end = scan.find(BRACKET, user_end + 2, |at| lit_at(line, at, b"] \""))?;
    let request = time_end + 3;
    let request_end = scan.find(QUOTE, request, |at| lit_at(line, at, b"\" "))?;
    let status = request_end + 2;
    let status_end = scan.find(SPACE, status, |_| true)?;
    let bytes = status_end + 1;
    let bytes_end = scan.find(SPACE, bytes, |at| lit_at(line, at, b" \""))?;
    let referer_end = scan.find(QUOTE, bytes_end + 2, |at| lit_at(line, at, b"\" \""))?;
    let agent = referer_end + 3;
    let mut record = Record {
        request: line.get(request..request_end)?,
        status: line.get(status..status_end)?,
        body_bytes: line.get(bytes..bytes_end)?,
        ..Record::default()
    };
    match builtin {
        // $http_user_agent"  (to the end of the line)
        Builtin::Combined => {
            if line.len() < agent + 1 || line.last() != Some(&b'"') {
                return None;
            }
        }
        // $http_user_agent" $request_length $request_time "$upstream_response_time" $host
        Builtin::Forum => {
            let agent_end = scan.find(QUOTE, agent, |at| lit_at(line, at, b"\" "))?;
            let length = agent_end + 2;
            let length_end = scan.find(SPACE, length, |_| true)?;
            let time = length_end + 1;
            let time_end = scan.find(SPACE, time, |at| lit_at(line, at, b" \""))?;
            let upstream = time_end + 2;
            let upstream_end = scan.find(QUOTE, upstream, |at| lit_at(line, at, b"\" "))?;
            record.request_length = line.get(length..length_end)?;
            record.request_time = line.get(time..time_end)?;
            record.upstream_time = line.get(upstream..upstream_end)?;
            record.host = line.get(upstream_end + 2..)?;
        }
    }
    Some(record)
}

/// `hay` starts with `lit`. Literals are a few bytes: a loop beats a call to `memcmp`.
#[inline(always)]
fn prefix_eq(hay: &[u8], lit: &[u8]) -> bool {
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
fn find_byte(byte: u8, haystack: &[u8]) -> Option<usize> {
    const INLINE: usize = 64;
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let pattern = LO * u64::from(byte);
    let head = &haystack[..haystack.len().min(INLINE)];
    let mut words = head.chunks_exact(8);
    let mut i = 0;
    for word in &mut words {
        let word = u64::from_le_bytes(word.try_into().expect("8 bytes"));
        let x = word ^ pattern;
        // The lowest flagged byte is the first match (borrows only flag bytes above it).
        let found = x.wrapping_sub(LO) & !x & HI;
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
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
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

/// The first occurrence of `lit` (non-empty) in `line` at or after `from`. Fields are short:
/// the first 64 bytes are searched eight at a time in a `u64` (SWAR), each candidate checked
/// in place with one masked compare; a longer rest goes to `memchr`'s vectorised search.
#[inline(always)]
fn find_lit(line: &[u8], from: usize, lit: &Lit) -> Option<usize> {
    const INLINE: usize = 64;
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let first = lit.bytes[0];
    let pattern = lit.pattern;
    let stop = line.len().min(from.saturating_add(INLINE));
    let mut i = from;
    while i + 8 <= stop {
        let word = u64::from_le_bytes(line[i..i + 8].try_into().expect("8 bytes"));
        let x = word ^ pattern;
        // Every byte equal to `first` is flagged (and, above one, maybe a false one: each
        // candidate is checked against the whole literal, in order).
        let mut found = x.wrapping_sub(LO) & !x & HI;
        while found != 0 {
            let at = i + (found.trailing_zeros() / 8) as usize;
            if lit.is_at(line, at) {
                return Some(at);
            }
            found &= found - 1;
        }
        i += 8;
    }
    if i + 8 <= line.len() {
        while let Some(at) = memchr(first, &line[i..]) {
            let at = i + at;
            if lit.is_at(line, at) {
                return Some(at);
            }
            i = at + 1;
        }
        return None;
    }
    while i < line.len() {
        if line[i] == first && lit.is_at(line, i) {
            return Some(i);
        }
        i += 1;
    }
    None
}

#[derive(Debug)]
enum Token {
    Literal(Vec<u8>),
    Var(String),
}

fn tokenize(format: &str) -> Result<Vec<Token>, CompileError> {
    let bytes = format.as_bytes();
    let mut tokens = Vec::new();
    let mut literal = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' {
            literal.push(bytes[i]);
            i += 1;
            continue;
        }
        let (name, next) = if bytes.get(i + 1) == Some(&b'{') {
            let close = bytes[i..]
                .iter()
                .position(|&b| b == b'}')
                .ok_or(CompileError::BadVariable(i))?;
            (&format[i + 2..i + close], i + close + 1)
        } else {
            let len = bytes[i + 1..]
                .iter()
                .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
                .count();
            (&format[i + 1..i + 1 + len], i + 1 + len)
        };
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(CompileError::BadVariable(i));
        }
        if !literal.is_empty() {
            tokens.push(Token::Literal(std::mem::take(&mut literal)));
        }
        tokens.push(Token::Var(name.to_string()));
        i = next;
    }
    if !literal.is_empty() {
        tokens.push(Token::Literal(literal));
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &[u8] = br#"1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] "GET /t/5/?page=2 HTTP/1.1" 200 512 "-" "curl/8 "x" y""#;

    #[test]
    fn combined_yields_the_request_status_and_bytes() {
        let format = LogFormat::compile("combined").unwrap();
        let mut r = Record::default();
        format.parse(LINE, &mut r).unwrap();
        assert_eq!(r.request, b"GET /t/5/?page=2 HTTP/1.1");
        assert_eq!(r.status, b"200");
        assert_eq!(r.body_bytes, b"512");
        assert!(r.request_time.is_empty());
    }

    #[test]
    fn forum_yields_times_length_and_host() {
        let format = LogFormat::compile("forum").unwrap();
        let line = br#"::1 - bob [01/Jan/2024:00:00:00 +0000] "POST /login HTTP/1.1" 401 0 "-" "ua" 312 0.025 "0.005 : 0.019" forum.example"#;
        let mut r = Record::default();
        format.parse(line, &mut r).unwrap();
        assert_eq!(r.request_length, b"312");
        assert_eq!(r.request_time, b"0.025");
        assert_eq!(r.upstream_time, b"0.005 : 0.019");
        assert_eq!(r.host, b"forum.example");
    }

    #[test]
    fn a_custom_format_with_braces_compiles() {
        let format =
            LogFormat::compile("${status}|$request_method|$request_uri|$request_time").unwrap();
        let mut r = Record::default();
        format.parse(b"404|GET|/x?y|0.001", &mut r).unwrap();
        assert_eq!(
            (r.status, r.method, r.uri, r.request_time),
            (&b"404"[..], &b"GET"[..], &b"/x?y"[..], &b"0.001"[..])
        );
    }

    #[test]
    fn adjacent_variables_and_missing_fields_are_refused() {
        assert!(matches!(
            LogFormat::compile("$status$request"),
            Err(CompileError::AdjacentVariables(..))
        ));
        assert_eq!(
            LogFormat::compile("$remote_addr $request").unwrap_err(),
            CompileError::MissingFields
        );
        assert_eq!(
            LogFormat::compile("$ $status").unwrap_err(),
            CompileError::BadVariable(0)
        );
    }

    #[test]
    fn a_mismatch_says_where_and_what_was_expected() {
        let format = LogFormat::compile("combined").unwrap();
        let why = format.explain(b"1.2.3.4 - - [x] GET / 200").unwrap();
        assert!(
            why.contains("at byte 25 it expected the text `] \"` after $time_local"),
            "{why}"
        );
        let mut r = Record::default();
        let err = format
            .parse(b"1.2.3.4 - - [x] GET / 200", &mut r)
            .unwrap_err();
        assert_eq!(err.offset, 25);
        assert_eq!(err.expected, "the text `] \"` after $time_local");
        assert!(format.explain(LINE).is_none());
    }

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
        format: &LogFormat,
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
                let format = LogFormat::compile(spec).unwrap();
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
                parsers_agree(&LogFormat::compile(spec).unwrap(), &line)?;
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
                let format = LogFormat::compile(spec).unwrap();
                parsers_agree(&format, line.as_bytes())?;
                let end = line.find(" 312 ").unwrap();
                parsers_agree(&format, &line.as_bytes()[..end])?;
            }
        }
    }

    #[test]
    fn formats_with_up_to_four_delimiter_bytes_are_scanned() {
        let plan = |spec: &str| match LogFormat::compile(spec).unwrap().plan.as_deref() {
            Some(ScanPlan::One(_)) => 1,
            Some(ScanPlan::Two(_)) => 2,
            Some(ScanPlan::Three(_)) => 3,
            Some(ScanPlan::Four(_)) => 4,
            None => 0,
        };
        assert_eq!(plan("combined"), 3);
        assert_eq!(plan("forum"), 3);
        assert_eq!(plan("$status|$request_method|$request_uri"), 1);
        assert_eq!(plan(SPECS[4]), 0);
        let builtin = |spec: &str| LogFormat::compile(spec).unwrap().builtin;
        assert_eq!(builtin("combined"), Some(Builtin::Combined));
        assert_eq!(builtin(COMBINED), Some(Builtin::Combined));
        assert_eq!(builtin("forum"), Some(Builtin::Forum));
        assert_eq!(builtin(SPECS[2]), None);
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
            let format = LogFormat::compile(spec).unwrap();
            let (mut fused, mut steps) = (Record::default(), Record::default());
            assert!(format.parse_fused(line.as_bytes(), &mut fused), "{spec}");
            format.parse_steps(line.as_bytes(), &mut steps).unwrap();
            assert_eq!(fused.body_bytes, b"2", "{spec}");
            assert_eq!(steps.body_bytes, b"2", "{spec}");
        }
    }

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

    #[test]
    fn trailing_garbage_after_a_closed_format_is_a_mismatch() {
        let format = LogFormat::compile("combined").unwrap();
        let mut line = LINE.to_vec();
        line.extend_from_slice(b" extra");
        assert!(format.parse(&line, &mut Record::default()).is_err());
    }
}
