//! One parsed log line: borrowed byte slices of the fields the exporter uses, and the small
//! parsers that turn them into numbers, methods and paths.

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
                let target = if n > 9
                    && matches!(rest[n - 9..n - 3], [b' ', b'H', b'T', b'T', b'P', b'/'])
                {
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

/// The first space among the first 16 bytes of a request line (the end of its method). Methods
/// are short: the first eight bytes are tested at once in a `u64` (SWAR).
#[inline(always)]
fn first_space(req: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    if let Some(head) = req.first_chunk::<8>() {
        let x = u64::from_le_bytes(*head) ^ (LO * u64::from(b' '));
        // The lowest flagged byte is the first space (borrows only flag bytes above it).
        let found = x.wrapping_sub(LO) & !x & HI;
        if found != 0 {
            return Some((found.trailing_zeros() / 8) as usize);
        }
    }
    req.iter().take(16).position(|b| *b == b' ')
}

/// The methods that get their own label value; anything else is `other`.
pub const METHODS: [&str; 10] = [
    "GET", "POST", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE", "other",
];

/// Index of `method` in [`METHODS`].
#[inline]
pub fn method_index(method: &[u8]) -> u8 {
    // Slice patterns compile to byte compares; byte-string literals would call `memcmp`.
    match method {
        [b'G', b'E', b'T'] => 0,
        [b'P', b'O', b'S', b'T'] => 1,
        [b'H', b'E', b'A', b'D'] => 2,
        [b'P', b'U', b'T'] => 3,
        [b'D', b'E', b'L', b'E', b'T', b'E'] => 4,
        [b'P', b'A', b'T', b'C', b'H'] => 5,
        [b'O', b'P', b'T', b'I', b'O', b'N', b'S'] => 6,
        [b'C', b'O', b'N', b'N', b'E', b'C', b'T'] => 7,
        [b'T', b'R', b'A', b'C', b'E'] => 8,
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

/// A time in seconds such as `0.025`; `None` for `-`, empty or garbage.
#[inline]
pub fn parse_seconds(s: &[u8]) -> Option<f64> {
    // Times are a few bytes: a plain loop, no call to a vectorised search.
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
