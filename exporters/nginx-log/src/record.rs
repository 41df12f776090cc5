//! One parsed log line: borrowed byte slices of the fields the exporter uses, the small
//! parsers that turn them into numbers, methods and paths, and why a line was not counted
//! ([`ParseError`]).

use crate::bytes::search::first_space;
use crate::bytes::words::{ZEROS, all_digits, be_word, digits_value, zero_pad};

/// Why a line was not counted (`nginx_log_parse_errors_total{reason}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The line does not match the log format.
    #[error("the line does not match the log format")]
    Format = 0,
    /// `$status` is not three digits.
    #[error("$status is not three digits")]
    Status = 1,
    /// The line is longer than the limit.
    #[error("the line is longer than the limit")]
    TooLong = 2,
    /// A JSON line that is not a JSON object.
    #[error("the line is not a JSON object")]
    Json = 3,
}

/// Label values of [`ParseError`], by discriminant.
pub const PARSE_ERROR_REASONS: [&str; 4] = ["format", "status", "too_long", "json"];

/// A variable the exporter reads from a log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// `$request`: `METHOD URI PROTOCOL`.
    Request,
    /// `$request_method`.
    Method,
    /// `$request_uri` or `$uri`.
    Uri,
    /// `$status`.
    Status,
    /// `$body_bytes_sent` (or `$bytes_sent` when the format has no `$body_bytes_sent`).
    BodyBytes,
    /// `$request_length`.
    RequestLength,
    /// `$request_time`.
    RequestTime,
    /// `$upstream_response_time`.
    UpstreamTime,
    /// `$host`.
    Host,
    /// The client address the top sources of events count (`$remote_addr` unless configured
    /// otherwise: see [`crate::sources::SourceField`]).
    Source,
}

impl Field {
    /// The field an nginx variable feeds, if the exporter uses it.
    pub fn from_variable(name: &str) -> Option<Field> {
        Some(match name {
            "request" => Field::Request,
            "request_method" => Field::Method,
            "request_uri" | "uri" => Field::Uri,
            "status" => Field::Status,
            "body_bytes_sent" | "bytes_sent" => Field::BodyBytes,
            "request_length" => Field::RequestLength,
            "request_time" => Field::RequestTime,
            "upstream_response_time" => Field::UpstreamTime,
            "host" => Field::Host,
            _ => return None,
        })
    }
}

/// The fields of one line; an empty slice means the format lacks the field.
#[derive(Clone, Debug, Default)]
pub struct Record<'a> {
    /// `$request`.
    pub request: &'a [u8],
    /// `$request_method`.
    pub method: &'a [u8],
    /// `$request_uri` / `$uri`.
    pub uri: &'a [u8],
    /// `$status`.
    pub status: &'a [u8],
    /// `$body_bytes_sent`.
    pub body_bytes: &'a [u8],
    /// `$request_length`.
    pub request_length: &'a [u8],
    /// `$request_time`.
    pub request_time: &'a [u8],
    /// `$upstream_response_time`.
    pub upstream_time: &'a [u8],
    /// `$host`.
    pub host: &'a [u8],
    /// The client address field ([`Field::Source`]).
    pub source: &'a [u8],
}

impl<'a> Record<'a> {
    /// Empties every field.
    #[inline]
    pub fn clear(&mut self) {
        *self = Record::default();
    }

    /// Sets one field.
    #[inline]
    pub fn set(&mut self, field: Field, value: &'a [u8]) {
        let slot = match field {
            Field::Request => &mut self.request,
            Field::Method => &mut self.method,
            Field::Uri => &mut self.uri,
            Field::Status => &mut self.status,
            // A format with both `$body_bytes_sent` and `$bytes_sent` keeps only the former
            // (`LogFormat::compile`).
            Field::BodyBytes => &mut self.body_bytes,
            Field::RequestLength => &mut self.request_length,
            Field::RequestTime => &mut self.request_time,
            Field::UpstreamTime => &mut self.upstream_time,
            Field::Host => &mut self.host,
            Field::Source => &mut self.source,
        };
        *slot = value;
    }

    /// The method and the URI: from `$request_method`/`$request_uri` when present, else split
    /// out of `$request`. A request line nginx could not parse yields an empty method.
    #[inline]
    pub fn method_and_uri(&self) -> (&'a [u8], &'a [u8]) {
        let (mut method, mut uri) = (self.method, self.uri);
        if (method.is_empty() || uri.is_empty()) && !self.request.is_empty() {
            let req = self.request;
            if let Some(sp) = first_space(req) {
                let rest = &req[sp + 1..];
                // Nearly every request line ends with ` HTTP/1.1`: check that before searching.
                let n = rest.len();
                let target = if n > 9 && rest[n - 9..n - 3] == *b" HTTP/" {
                    &rest[..n - 9]
                } else {
                    match memchr::memrchr(b' ', rest) {
                        Some(end) => &rest[..end],
                        None => rest,
                    }
                };
                if method.is_empty() {
                    method = &req[..sp];
                }
                if uri.is_empty() {
                    uri = target;
                }
            }
        }
        (method, uri)
    }
}

/// The methods that get their own label value; anything else is `other`.
pub const METHODS: [&str; 10] = [
    "GET", "POST", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE", "other",
];

/// Index of `method` in [`METHODS`].
#[inline]
pub fn method_index(method: &[u8]) -> u8 {
    // The method's bytes and its length in one word, compared with each method's word: a few
    // compares without a jump table. Methods of 8 bytes or more are all `other`.
    const fn key(m: &[u8]) -> u64 {
        let mut w = 0u64;
        let mut i = 0;
        while i < m.len() {
            w = (w << 8) | m[i] as u64;
            i += 1;
        }
        w | ((m.len() as u64) << 56)
    }
    const GET: u64 = key(b"GET");
    const POST: u64 = key(b"POST");
    const HEAD: u64 = key(b"HEAD");
    const PUT: u64 = key(b"PUT");
    const DELETE: u64 = key(b"DELETE");
    const PATCH: u64 = key(b"PATCH");
    const OPTIONS: u64 = key(b"OPTIONS");
    const CONNECT: u64 = key(b"CONNECT");
    const TRACE: u64 = key(b"TRACE");
    let n = method.len();
    if n.wrapping_sub(3) > 4 {
        return 9;
    }
    // Seven bytes at most: the top byte of the word is free for the length.
    match be_word(method) | ((n as u64) << 56) {
        GET => 0,
        POST => 1,
        HEAD => 2,
        PUT => 3,
        DELETE => 4,
        PATCH => 5,
        OPTIONS => 6,
        CONNECT => 7,
        TRACE => 8,
        _ => 9,
    }
}

/// A three-digit status (`000` included), or `None`.
#[inline]
pub fn parse_status(s: &[u8]) -> Option<u16> {
    match s {
        [a, b, c] if a.is_ascii_digit() && b.is_ascii_digit() && c.is_ascii_digit() => {
            Some(u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'))
        }
        _ => None,
    }
}

/// A byte count; `-`, empty or anything not a number is 0.
#[inline]
pub fn parse_u64(s: &[u8]) -> u64 {
    if s.len().wrapping_sub(1) < 8 {
        let x = be_word(s) | zero_pad(s.len());
        return if all_digits(x) {
            digits_value(x - ZEROS)
        } else {
            0
        };
    }
    if s.is_empty() || s.len() > 19 {
        return 0;
    }
    let mut n: u64 = 0;
    for &b in s {
        if !b.is_ascii_digit() {
            return 0;
        }
        n = n * 10 + u64::from(b - b'0');
    }
    n
}

/// Powers of ten, by the number of fraction digits.
const SCALE: [f64; 10] = [1.0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];

/// A time in seconds such as `0.025`; `None` for `-`, empty or garbage.
#[inline]
pub fn parse_seconds(s: &[u8]) -> Option<f64> {
    // nginx writes times with three decimals, nearly always below ten seconds (`0.210`): that
    // shape without a loop or a call. Others take a call.
    if let [w, b'.', a, b, c] = *s {
        let digit = |b: u8| u32::from(b.wrapping_sub(b'0'));
        let (w, a, b, c) = (digit(w), digit(a), digit(b), digit(c));
        if !((w < 10) & (a < 10) & (b < 10) & (c < 10)) {
            return None;
        }
        return Some(f64::from(w) + f64::from(a * 100 + b * 10 + c) / SCALE[3]);
    }
    // A format without the time leaves the field empty: not worth a call.
    if s.is_empty() {
        return None;
    }
    parse_seconds_other(s)
}

/// [`parse_seconds`] of the shapes other than `D.DDD`, out of line so that it stays small.
#[inline(never)]
fn parse_seconds_other(s: &[u8]) -> Option<f64> {
    // Three decimals still: the `.` is fourth from the end.
    let n = s.len();
    if (6..=13).contains(&n) && s[n - 4] == b'.' {
        let digit = |b: u8| u32::from(b.wrapping_sub(b'0'));
        let (a, b, c) = (digit(s[n - 3]), digit(s[n - 2]), digit(s[n - 1]));
        if !((a < 10) & (b < 10) & (c < 10)) {
            return None;
        }
        let mut whole = 0u32;
        // Another `.` here would be the first one, leaving a `.` in the fraction: `None` both ways.
        for &byte in &s[..n - 4] {
            let d = digit(byte);
            if d >= 10 {
                return None;
            }
            whole = whole * 10 + d;
        }
        let fraction = a * 100 + b * 10 + c;
        return Some(f64::from(whole) + f64::from(fraction) / SCALE[3]);
    }
    parse_seconds_general(s)
}

/// [`parse_seconds`] of any shape, a byte at a time.
#[inline]
fn parse_seconds_general(s: &[u8]) -> Option<f64> {
    let (int, frac) = match s.iter().position(|b| *b == b'.') {
        Some(dot) => (&s[..dot], &s[dot + 1..]),
        None => (s, &b""[..]),
    };
    if int.is_empty() || int.len() > 9 || frac.len() > 9 {
        return None;
    }
    let mut whole: u64 = 0;
    for &b in int {
        if !b.is_ascii_digit() {
            return None;
        }
        whole = whole * 10 + u64::from(b - b'0');
    }
    let mut fraction: u64 = 0;
    for &b in frac {
        if !b.is_ascii_digit() {
            return None;
        }
        fraction = fraction * 10 + u64::from(b - b'0');
    }
    Some(whole as i64 as f64 + fraction as i64 as f64 / SCALE[frac.len()])
}

/// `$upstream_response_time`: one time, or several separated by `, ` (several upstreams tried)
/// or ` : ` (internal redirects). The sum is the time spent in upstreams; `-` parts count 0.
#[inline]
pub fn parse_upstream_seconds(s: &[u8]) -> Option<f64> {
    if s.is_empty() {
        return None;
    }
    if let Some(t) = parse_seconds(s) {
        return Some(t);
    }
    // Two upstreams tried, `0.512, 0.056`: the sum the general way makes (`0.0 + a` is `a`:
    // times are never `-0.0`).
    if let [a @ .., b',', b' ', _, _, _, _, _] = s
        && let (Some(a), Some(b)) = (parse_seconds(a), parse_seconds(&s[s.len() - 5..]))
    {
        return Some(a + b);
    }
    let mut total = 0.0;
    let mut any = false;
    for part in s.split(|b| *b == b',' || *b == b':') {
        let part = part.trim_ascii();
        if let Some(t) = parse_seconds(part) {
            total += t;
            any = true;
        } else if part != b"-" {
            return None;
        }
    }
    any.then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_three_digits_and_000_is_one() {
        assert_eq!(parse_status(b"000"), Some(0));
        assert_eq!(parse_status(b"499"), Some(499));
        assert_eq!(parse_status(b"-"), None);
        assert_eq!(parse_status(b"2000"), None);
    }

    #[test]
    fn numbers_tolerate_dashes_and_garbage() {
        assert_eq!(parse_u64(b"-"), 0);
        assert_eq!(parse_u64(b"1234"), 1234);
        assert_eq!(parse_u64(b"12a"), 0);
        assert_eq!(parse_u64(b"99999999999999999999999"), 0);
        assert_eq!(parse_seconds(b"0.025"), Some(0.025));
        assert_eq!(parse_seconds(b"3"), Some(3.0));
        assert_eq!(parse_seconds(b"-"), None);
        assert_eq!(parse_seconds(b".5"), None);
    }

    #[test]
    fn several_upstream_times_are_summed() {
        assert_eq!(parse_upstream_seconds(b"0.005 : 0.019"), Some(0.024));
        assert_eq!(parse_upstream_seconds(b"0.005, 0.010, -"), Some(0.015));
        assert_eq!(parse_upstream_seconds(b"-"), None);
        assert_eq!(parse_upstream_seconds(b"x, 1"), None);
    }

    /// The byte loops the word-at-a-time parsers replaced, kept as their specification.
    mod reference {
        pub fn parse_u64(s: &[u8]) -> u64 {
            if s.is_empty() || s.len() > 19 {
                return 0;
            }
            let mut n: u64 = 0;
            for &b in s {
                if !b.is_ascii_digit() {
                    return 0;
                }
                n = n * 10 + u64::from(b - b'0');
            }
            n
        }

        pub fn parse_seconds(s: &[u8]) -> Option<f64> {
            let (int, frac) = match s.iter().position(|b| *b == b'.') {
                Some(dot) => (&s[..dot], &s[dot + 1..]),
                None => (s, &b""[..]),
            };
            if int.is_empty() || int.len() > 9 || frac.len() > 9 {
                return None;
            }
            let mut whole: u64 = 0;
            for &b in int {
                if !b.is_ascii_digit() {
                    return None;
                }
                whole = whole * 10 + u64::from(b - b'0');
            }
            let mut fraction: u64 = 0;
            for &b in frac {
                if !b.is_ascii_digit() {
                    return None;
                }
                fraction = fraction * 10 + u64::from(b - b'0');
            }
            const SCALE: [f64; 10] = [1.0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];
            Some(whole as f64 + fraction as f64 / SCALE[frac.len()])
        }

        pub fn parse_upstream_seconds(s: &[u8]) -> Option<f64> {
            if s.is_empty() {
                return None;
            }
            if let Some(t) = parse_seconds(s) {
                return Some(t);
            }
            let mut total = 0.0;
            let mut any = false;
            for part in s.split(|b| *b == b',' || *b == b':') {
                let part = part.trim_ascii();
                if let Some(t) = parse_seconds(part) {
                    total += t;
                    any = true;
                } else if part != b"-" {
                    return None;
                }
            }
            any.then_some(total)
        }
    }

    /// The slice-pattern match `method_index` replaced.
    fn method_index_reference(method: &[u8]) -> u8 {
        match method {
            b"GET" => 0,
            b"POST" => 1,
            b"HEAD" => 2,
            b"PUT" => 3,
            b"DELETE" => 4,
            b"PATCH" => 5,
            b"OPTIONS" => 6,
            b"CONNECT" => 7,
            b"TRACE" => 8,
            _ => 9,
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 4096,
            ..proptest::prelude::ProptestConfig::default()
        })]

        /// Methods, their neighbours (a byte off, cut, extended, a NUL in front) and garbage.
        #[test]
        fn methods_are_indexed_as_the_match_did(
            pick in 0..METHODS.len(),
            edit in 0..6usize,
            at in 0..8usize,
            byte in proptest::prelude::any::<u8>(),
            garbage in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..10),
        ) {
            let mut m = METHODS[pick].as_bytes().to_vec();
            match edit {
                0 => {}
                1 => { let i = at % m.len(); m[i] = byte; }
                2 => m.truncate(at % m.len()),
                3 => m.push(byte),
                4 => m.insert(0, byte),
                _ => m = garbage,
            }
            proptest::prop_assert_eq!(method_index(&m), method_index_reference(&m), "{:?}", m);
        }
    }

    #[test]
    fn every_method_has_its_index() {
        for (i, m) in METHODS.iter().enumerate() {
            assert_eq!(usize::from(method_index(m.as_bytes())), i, "{m}");
        }
        for m in [
            &b""[..],
            b"get",
            b"GETS",
            b"\0GET",
            b"POSTPOST",
            b"OPTIONSX",
            b"PU",
            b"G",
        ] {
            assert_eq!(method_index(m), 9, "{m:?}");
        }
    }

    /// Bytes that look like numbers, times and lists of times, with the odd byte wrong.
    fn numberish() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        prop_oneof![
            proptest::collection::vec(
                prop_oneof![
                    8 => b'0'..=b'9',
                    2 => Just(b'.'),
                    1 => Just(b','),
                    1 => Just(b':'),
                    1 => Just(b' '),
                    1 => Just(b'-'),
                    1 => Just(b'/'),
                    1 => Just(b':' + 6),
                    1 => any::<u8>(),
                ],
                0..24,
            ),
            "[0-9]{1,10}(\\.[0-9]{0,10})?".prop_map(String::into_bytes),
            "([0-9]{1,3}\\.[0-9]{3}|-)((, | : )([0-9]{1,3}\\.[0-9]{3}|-)){0,3}"
                .prop_map(String::into_bytes),
            "[0-9.,: -]{0,6}, [0-9.,: -]{5}".prop_map(String::into_bytes),
            "[0-9]\\.[0-9]{3}, [0-9]\\.[0-9]{3}".prop_map(String::into_bytes),
            any::<u64>().prop_map(|n| n.to_string().into_bytes()),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 4096,
            ..proptest::prelude::ProptestConfig::default()
        })]

        #[test]
        fn numbers_parse_as_the_byte_loops_did(s in numberish()) {
            proptest::prop_assert_eq!(parse_u64(&s), reference::parse_u64(&s));
            // Bit for bit, so a NaN could not hide a difference (there is none to hide).
            proptest::prop_assert_eq!(
                parse_seconds(&s).map(f64::to_bits),
                reference::parse_seconds(&s).map(f64::to_bits),
                "{:?}", String::from_utf8_lossy(&s)
            );
            proptest::prop_assert_eq!(
                parse_upstream_seconds(&s).map(f64::to_bits),
                reference::parse_upstream_seconds(&s).map(f64::to_bits),
                "{:?}", String::from_utf8_lossy(&s)
            );
        }
    }

    #[test]
    fn every_short_digit_string_parses_as_the_byte_loop_did() {
        // Every string of up to four bytes from an alphabet of digits, `.` and neighbours of
        // the digit range, which the word tests must tell apart.
        let alphabet = b"0159./:-, \x00\xff";
        let mut strings = vec![Vec::new()];
        for _ in 0..4 {
            let longer: Vec<Vec<u8>> = strings
                .iter()
                .filter(|s| s.len() == strings.last().map_or(0, Vec::len))
                .flat_map(|s| {
                    alphabet.iter().map(move |b| {
                        let mut s = s.clone();
                        s.push(*b);
                        s
                    })
                })
                .collect();
            strings.extend(longer);
        }
        assert!(strings.len() > 10_000);
        for s in &strings {
            assert_eq!(parse_u64(s), reference::parse_u64(s), "{s:?}");
            assert_eq!(
                parse_seconds(s).map(f64::to_bits),
                reference::parse_seconds(s).map(f64::to_bits),
                "{s:?}"
            );
        }
        for s in [
            &b"12345678"[..],
            b"99999999",
            b"1234567.",
            b".1234567",
            b"9999999.9",
            b"0.000000001",
            b"999999999.999999999",
            b"1000000000",
            b"9999999999999999999",
            b"18446744073709551615",
        ] {
            assert_eq!(parse_u64(s), reference::parse_u64(s), "{s:?}");
            assert_eq!(
                parse_seconds(s).map(f64::to_bits),
                reference::parse_seconds(s).map(f64::to_bits),
                "{s:?}"
            );
        }
    }

    #[test]
    fn the_request_line_is_split_into_method_and_uri() {
        let r = Record {
            request: b"GET /a b HTTP/1.1",
            ..Record::default()
        };
        assert_eq!(r.method_and_uri(), (&b"GET"[..], &b"/a b"[..]));
        let r = Record {
            request: b"-",
            ..Record::default()
        };
        assert_eq!(r.method_and_uri(), (&b""[..], &b""[..]));
        let r = Record {
            request: b"GET /",
            ..Record::default()
        };
        assert_eq!(r.method_and_uri(), (&b"GET"[..], &b"/"[..]));
    }
}
