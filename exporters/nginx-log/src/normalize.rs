//! Request paths to endpoint templates: `/api/threads/123/posts/?page=2` becomes
//! `/api/threads/:id/posts/`.
//!
//! In order: the query string and fragment are dropped; the first matching rule (a prefix that
//! names a fixed endpoint, or a regex replacement) applies; then each path segment that is a
//! number becomes `:id`, a UUID `:uuid`, a long hex string `:hash`, and a number standing
//! between punctuation inside a segment (`app.123.js`) becomes `:id` too. Bytes that cannot be
//! in a label value unescaped (quotes, backslashes, controls, non-ASCII) become `_`, and the
//! result is cut at [`MAX_ENDPOINT_LEN`] bytes.

use regex::bytes::Regex;

use crate::bytes::search::{query_flags, query_start};
use crate::bytes::words::{below, le_word, non_digits, word_at};
use crate::hash::mix;

/// The longest endpoint template kept; longer ones are cut.
pub const MAX_ENDPOINT_LEN: usize = 120;

/// A rule applied before the built-in replacements.
#[derive(Clone, Debug)]
pub enum Rule {
    /// Every path starting with `prefix` (and ending with `suffix`, when there is one) is the
    /// endpoint `endpoint` (e.g. `/static/*`).
    Prefix {
        /// The path prefix.
        prefix: String,
        /// What the path must end with too (`/thumbnail.png`); `None`: anything.
        suffix: Option<String>,
        /// The endpoint name given to those paths.
        endpoint: String,
    },
    /// Paths matching `regex` are rewritten with `replace` (`$1` refers to groups), then go
    /// through the built-in replacements.
    Regex {
        /// The pattern, matched against the path without its query string.
        regex: Regex,
        /// The replacement.
        replace: String,
    },
}

impl Rule {
    /// A regex rule; fails on an invalid pattern.
    pub fn regex(pattern: &str, replace: &str) -> Result<Rule, regex::Error> {
        Ok(Rule::Regex {
            regex: Regex::new(pattern)?,
            replace: replace.to_string(),
        })
    }

    /// A prefix rule.
    pub fn prefix(prefix: &str, endpoint: &str) -> Rule {
        Rule::Prefix {
            prefix: prefix.to_string(),
            suffix: None,
            endpoint: endpoint.to_string(),
        }
    }

    /// A prefix rule for the paths under `prefix` that end with `suffix`. The suffix must
    /// hold no digit, so that it never depends on a number ([`Normalizer::number_at_end`]).
    pub fn prefix_suffix(prefix: &str, suffix: &str, endpoint: &str) -> Rule {
        debug_assert!(!suffix.bytes().any(|b| b.is_ascii_digit()));
        Rule::Prefix {
            prefix: prefix.to_string(),
            suffix: Some(suffix.to_string()),
            endpoint: endpoint.to_string(),
        }
    }
}

/// The forum's URLs whose segments are neither numbers nor fixed words, so that no token and
/// no file name becomes a label: the links mailed to members carry a token (account
/// activation, password reset, e-mail change confirmation; the mailed ones are 64 hex digits,
/// but anyone can request any string), and attachments are served under their file name,
/// their thumbnails as `thumbnail.png`. Prefix rules only (first match wins), so the
/// exporter's shortcuts for numbered paths stay on.
const FORUM_PREFIXES: &[(&str, Option<&str>, &str)] = &[
    ("/activate/", None, "/activate/:token"),
    ("/password-reset/", None, "/password-reset/:token"),
    ("/account/email/", None, "/account/email/:token"),
    (
        "/attachments/",
        Some("/thumbnail.png"),
        "/attachments/:id/thumbnail.png",
    ),
    ("/attachments/", None, "/attachments/:id/:filename"),
];

/// Misago 0.39's URLs that hold a slug, a secret or a token, most requested first. A slug
/// stands before each id: threads `/t/<slug>/<id>/`, private threads `/p/`, categories `/c/`,
/// users `/u/` (also without the trailing slash, which Misago redirects); attachments
/// `/a/<secret>/<id>/` and `/a/thumb/<secret>/<id>/`; and the links mailed to users carry a
/// token or secret: account activation, password reset, e-mail and password change,
/// unsubscribe.
const MISAGO_RULES: &[(&str, &str)] = &[
    (r"^/([tpcu])/[^/]+/([0-9]+)(/|$)", "/${1}/:slug/${2}${3}"),
    (
        r"^/a/(thumb/)?[^/]+/([0-9]+)(/|$)",
        "/a/${1}:secret/${2}${3}",
    ),
    (
        r"^/(activation|forgotten-password|api/auth/change-password)/([0-9]+)/[^/]+",
        "/${1}/${2}/:token",
    ),
    (
        r"^/options/(change-email|change-password)/[^/]+",
        "/options/${1}/:token",
    ),
    (
        r"^/notifications/disable-email/([0-9]+)/[^/]+",
        "/notifications/disable-email/${1}/:secret",
    ),
];

/// The rules of a named preset: `forum` (this project's forum), `misago`, `none`.
pub fn preset_rules(preset: &str) -> Option<Vec<Rule>> {
    let statics = || {
        vec![
            Rule::prefix("/static/", "/static/*"),
            Rule::prefix("/media/", "/media/*"),
        ]
    };
    match preset {
        "forum" => {
            let mut rules = statics();
            rules.extend(
                FORUM_PREFIXES
                    .iter()
                    .map(|&(prefix, suffix, endpoint)| match suffix {
                        Some(suffix) => Rule::prefix_suffix(prefix, suffix, endpoint),
                        None => Rule::prefix(prefix, endpoint),
                    }),
            );
            Some(rules)
        }
        "misago" => {
            let mut rules = statics();
            rules.extend(MISAGO_RULES.iter().map(|(pattern, replace)| {
                Rule::regex(pattern, replace).expect("valid preset regex")
            }));
            Some(rules)
        }
        "none" => Some(Vec::new()),
        _ => None,
    }
}

/// Turns paths into endpoint templates.
#[derive(Clone, Debug)]
pub struct Normalizer {
    rules: Vec<Rule>,
    /// No regex rule, and the longest prefix rule: see [`Normalizer::number_at_end`].
    prefixes_only: bool,
    longest_prefix: usize,
    /// The second bytes of the prefix rules before the first regex rule; all of them when one
    /// of those prefixes is shorter than two bytes. See [`Normalizer::prefix_rule`].
    second_bytes: [bool; 256],
}

impl Default for Normalizer {
    fn default() -> Normalizer {
        Normalizer::new(Vec::new())
    }
}

impl Normalizer {
    /// A normaliser with `rules` tried in order before the built-in replacements.
    pub fn new(rules: Vec<Rule>) -> Normalizer {
        let prefixes_only = rules.iter().all(|r| matches!(r, Rule::Prefix { .. }));
        let longest_prefix = rules
            .iter()
            .map(|r| match r {
                Rule::Prefix { prefix, .. } => prefix.len(),
                Rule::Regex { .. } => 0,
            })
            .max()
            .unwrap_or(0);
        let mut second_bytes = [false; 256];
        for rule in &rules {
            let Rule::Prefix { prefix, .. } = rule else {
                break;
            };
            match prefix.as_bytes().get(1) {
                Some(&b) => second_bytes[usize::from(b)] = true,
                None => second_bytes = [true; 256],
            }
        }
        Normalizer {
            rules,
            prefixes_only,
            longest_prefix,
            second_bytes,
        }
    }

    /// For a path whose last segment is a number, alone or before a suffix that starts with
    /// neither a letter nor a digit and holds no digit (`/api/users/123`, `/images/77.png`):
    /// where the number starts and ends. The template of such a path is the same whatever the
    /// number: its segments before the last are the same, the last becomes `:id` and the
    /// suffix, and the prefix rules are decided before the number. `None` for other paths, and
    /// for every path when there is a regex rule (it could look at the number).
    #[inline]
    pub fn number_at_end(&self, path: &[u8]) -> Option<(usize, usize)> {
        if !self.prefixes_only {
            return None;
        }
        // From the end: the suffix (safe bytes, neither digits nor `/`), the number, and then
        // the `/` that starts the segment. Only the last segment is read.
        let mut to = path.len();
        while to > 0 && CLASS[usize::from(path[to - 1])] & (SAFE | DIGIT | SLASH) == SAFE {
            to -= 1;
        }
        let mut from = to;
        if to >= 8 {
            // The digits among the eight bytes before `to`, a word at a time (SWAR): the last
            // byte lowest, so the number's digits are the low bytes below the first non-digit.
            let word = u64::from_be_bytes(path[to - 8..to].try_into().expect("8 bytes"));
            from -= (non_digits(word).trailing_zeros() / 8) as usize;
            if from + 8 == to {
                while from > 0 && path[from - 1].is_ascii_digit() {
                    from -= 1;
                }
            }
        } else {
            while from > 0 && path[from - 1].is_ascii_digit() {
                from -= 1;
            }
        }
        if from == to || from == 0 || path[from - 1] != b'/' {
            return None;
        }
        // A prefix rule longer than the part before the number could take the number in.
        if from < self.longest_prefix && self.prefix_extends(&path[..from]) {
            return None;
        }
        // A suffix makes the segment go through `inner_numbers`: the number is `:id` when a
        // non-letter follows it, and the rest is copied when it is safe and has no digit. A
        // 36-byte segment could be a UUID instead.
        if to < path.len() && (path.len() - from == 36 || path[to].is_ascii_alphabetic()) {
            return None;
        }
        Some((from, to))
    }

    /// Whether a prefix rule's prefix is longer than `head` and starts with it: whether a
    /// path that goes on after `head` may fall under that rule depending on what follows.
    #[cold]
    fn prefix_extends(&self, head: &[u8]) -> bool {
        self.rules.iter().any(|r| {
            matches!(r, Rule::Prefix { prefix, .. }
                if prefix.len() > head.len() && prefix.as_bytes().starts_with(head))
        })
    }

    /// The index of the prefix rule that decides the template of `path` when one does (the
    /// template is then that rule's endpoint): the first matching rule, with no regex rule
    /// before it. As [`Normalizer::normalize_path`] tries them.
    #[inline]
    pub fn prefix_rule(&self, path: &[u8]) -> Option<usize> {
        if path.first() != Some(&b'/') {
            return None;
        }
        // Most paths have a second byte no prefix rule has: no rule to walk.
        if let Some(&second) = path.get(1)
            && !self.second_bytes[usize::from(second)]
        {
            return None;
        }
        for (i, rule) in self.rules.iter().enumerate() {
            match rule {
                Rule::Prefix { prefix, suffix, .. } => {
                    if has_prefix(path, prefix.as_bytes()) && has_suffix(path, suffix) {
                        return Some(i);
                    }
                }
                Rule::Regex { .. } => return None,
            }
        }
        None
    }

    /// Writes the endpoint template of `uri` into `out` (cleared first). A URI that is not a
    /// path (`*`, `http://…`, garbage) yields `other`.
    #[inline]
    pub fn normalize(&self, uri: &[u8], out: &mut Vec<u8>) {
        self.normalize_path(path_of(uri), out);
    }

    /// [`Normalizer::normalize`] of a URI already cut by [`path_of`]: the template depends on
    /// nothing else.
    #[inline]
    pub fn normalize_path(&self, path: &[u8], out: &mut Vec<u8>) {
        out.clear();
        if path.first() != Some(&b'/') {
            out.extend_from_slice(b"other");
            return;
        }
        for rule in &self.rules {
            match rule {
                Rule::Prefix {
                    prefix,
                    suffix,
                    endpoint,
                } => {
                    if has_prefix(path, prefix.as_bytes()) && has_suffix(path, suffix) {
                        out.extend_from_slice(endpoint.as_bytes());
                        return;
                    }
                }
                Rule::Regex { regex, replace } => {
                    if regex.is_match(path) {
                        let rewritten = regex.replace(path, replace.as_bytes());
                        builtin(&rewritten, out);
                        return;
                    }
                }
            }
        }
        builtin(path, out);
    }
}

/// `path` (which starts with `/`) starts with the prefix rule's `prefix`. Most paths differ
/// from a prefix in its second byte: that is compared before calling `memcmp`.
#[inline(always)]
fn has_prefix(path: &[u8], prefix: &[u8]) -> bool {
    (prefix.len() < 2 || path.get(1) == prefix.get(1)) && path.starts_with(prefix)
}

/// `path` ends with the prefix rule's `suffix`, or the rule has none.
#[inline(always)]
fn has_suffix(path: &[u8], suffix: &Option<String>) -> bool {
    suffix.as_ref().is_none_or(|s| path.ends_with(s.as_bytes()))
}

/// The path of a URI: the part before its query string or fragment.
#[inline]
pub fn path_of(uri: &[u8]) -> &[u8] {
    &uri[..query_start(uri)]
}

/// [`path_of`] the URI and [`word_hash`](crate::hash::word_hash) of that path, in one pass
/// over its words; the rest after the last whole word is read by a load that overlaps the word
/// before, shifted, so it takes no branch on its length.
#[inline]
pub fn path_and_hash(uri: &[u8]) -> (&[u8], u64) {
    let len = uri.len();
    if len < 8 {
        let word = le_word(uri);
        let n = match query_flags(word) {
            0 => len,
            found => (found.trailing_zeros() / 8) as usize,
        };
        let h = mix(0, word & below(n));
        return (&uri[..n], mix(h, n as u64));
    }
    let mut h = 0;
    let mut at = 0;
    while at + 8 <= len {
        let word = word_at(uri, at);
        let found = query_flags(word);
        if found != 0 {
            let n = (found.trailing_zeros() / 8) as usize;
            h = mix(h, word & below(n));
            at += n;
            return (&uri[..at], mix(h, at as u64));
        }
        h = mix(h, word);
        at += 8;
    }
    // The `rest` last bytes (0 to 7), in the low bytes; zeros above are neither `?` nor `#`.
    let rest = len - at;
    let word = word_at(uri, len - 8) >> 8 >> (8 * (7 - rest));
    let n = match query_flags(word) {
        0 => rest,
        found => (found.trailing_zeros() / 8) as usize,
    };
    h = mix(h, word & below(n));
    at += n;
    (&uri[..at], mix(h, at as u64))
}

/// The built-in replacements, segment by segment. One pass classifies each segment (a table
/// look-up and two bit operations a byte); runs of plain segments are copied in one piece when
/// a replacement (or the end) comes.
#[inline]
fn builtin(path: &[u8], out: &mut Vec<u8>) {
    // `path[copied..]` is not handled yet; `path[copied..start]` is plain and copied as is.
    let mut copied = 0;
    let mut start = 0;
    while start <= path.len() {
        if out.len() + (start - copied) >= MAX_ENDPOINT_LEN {
            break;
        }
        let (mut all, mut any) = (u8::MAX, 0u8);
        let mut end = start;
        while end < path.len() {
            let class = CLASS[usize::from(path[end])];
            if class & SLASH != 0 {
                break;
            }
            all &= class;
            any |= class;
            end += 1;
        }
        let segment = &path[start..end];
        // Empty and plain segments (safe bytes, no digit) stay in the run copied as is.
        let plain = segment.is_empty() || (any & DIGIT == 0 && all & SAFE != 0);
        if !plain {
            out.extend_from_slice(&path[copied..start]);
            if all & DIGIT != 0 {
                out.extend_from_slice(b":id");
            } else if segment.len() == 36 && is_uuid(segment) {
                out.extend_from_slice(b":uuid");
            } else if segment.len() >= 16 && all & HEX != 0 {
                out.extend_from_slice(b":hash");
            } else {
                inner_numbers(segment, out);
            }
            copied = end;
        }
        start = end + 1;
    }
    out.extend_from_slice(&path[copied..start.min(path.len())]);
    out.truncate(MAX_ENDPOINT_LEN);
}

const DIGIT: u8 = 1;
const HEX: u8 = 2;
const SAFE: u8 = 4;
const SLASH: u8 = 8;

/// Byte classes for [`builtin`]: `DIGIT` (`0-9`), `HEX` (`0-9a-fA-F`), `SAFE` ([`is_safe`]),
/// `SLASH` (`/`).
static CLASS: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let byte = b as u8;
        let mut class = 0;
        if byte.is_ascii_digit() {
            class |= DIGIT;
        }
        if byte.is_ascii_hexdigit() {
            class |= HEX;
        }
        if is_safe(byte) {
            class |= SAFE;
        }
        if byte == b'/' {
            class |= SLASH;
        }
        table[b] = class;
        b += 1;
    }
    table
};

/// Copies a segment, replacing digit runs that stand between punctuation (not letters) with
/// `:id` and unsafe bytes with `_`.
#[inline]
fn inner_numbers(segment: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < segment.len() {
        let b = segment[i];
        if b.is_ascii_digit() {
            let start = i;
            while i < segment.len() && segment[i].is_ascii_digit() {
                i += 1;
            }
            let before_ok = start == 0 || !segment[start - 1].is_ascii_alphabetic();
            let after_ok = i == segment.len() || !segment[i].is_ascii_alphabetic();
            if before_ok && after_ok {
                out.extend_from_slice(b":id");
            } else {
                out.extend_from_slice(&segment[start..i]);
            }
            continue;
        }
        out.push(if (0x21..0x7f).contains(&b) && b != b'"' && b != b'\\' {
            b
        } else {
            b'_'
        });
        i += 1;
    }
}

/// A byte that may stand in a label value as it is.
#[inline(always)]
const fn is_safe(b: u8) -> bool {
    matches!(b, 0x21..=0x7e) && b != b'"' && b != b'\\'
}

fn is_uuid(s: &[u8]) -> bool {
    s.len() == 36
        && s.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(n: &Normalizer, uri: &str) -> String {
        let mut out = Vec::new();
        n.normalize(uri.as_bytes(), &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn ids_uuids_and_hashes_are_replaced_and_the_query_dropped() {
        let n = Normalizer::default();
        assert_eq!(
            norm(&n, "/api/threads/123/posts/?page=2"),
            "/api/threads/:id/posts/"
        );
        assert_eq!(
            norm(&n, "/u/0b0e4bc4-7f0c-4a6b-9d2c-1f1e2d3c4b5a/x"),
            "/u/:uuid/x"
        );
        assert_eq!(
            norm(&n, "/blob/d41d8cd98f00b204e9800998ecf8427e"),
            "/blob/:hash"
        );
        assert_eq!(norm(&n, "/static/app.12345.js"), "/static/app.:id.js");
        assert_eq!(norm(&n, "/images/77.png"), "/images/:id.png");
        assert_eq!(norm(&n, "/api/v1/users/9"), "/api/v1/users/:id");
        assert_eq!(norm(&n, "/"), "/");
        assert_eq!(norm(&n, "/search?q=1"), "/search");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 2048,
            ..proptest::prelude::ProptestConfig::default()
        })]

        /// One pass gives the path `path_of` cuts and the hash `word_hash` makes of it.
        #[test]
        fn the_path_and_its_hash_come_in_one_pass(
            uri in proptest::collection::vec(
                proptest::prop_oneof![
                    6 => b'a'..=b'z',
                    2 => proptest::prelude::Just(b'/'),
                    1 => proptest::prelude::Just(b'?'),
                    1 => proptest::prelude::Just(b'#'),
                    1 => proptest::prelude::Just(0u8),
                    1 => proptest::prelude::any::<u8>(),
                ],
                0..40,
            ),
        ) {
            let (path, hash) = path_and_hash(&uri);
            proptest::prop_assert_eq!(path, path_of(&uri));
            proptest::prop_assert_eq!(hash, crate::hash::word_hash(path));
        }
    }

    /// The segment-by-segment walk `builtin` replaced, kept as its specification.
    fn builtin_reference(path: &[u8], out: &mut Vec<u8>) {
        for (i, segment) in path.split(|b| *b == b'/').enumerate() {
            if i > 0 {
                out.push(b'/');
            }
            if out.len() >= MAX_ENDPOINT_LEN {
                break;
            }
            if segment.is_empty() {
                continue;
            }
            let digits = segment.iter().all(u8::is_ascii_digit);
            let hex = segment.iter().all(u8::is_ascii_hexdigit);
            let safe = segment.iter().all(|b| is_safe(*b));
            if digits {
                out.extend_from_slice(b":id");
            } else if segment.len() == 36 && is_uuid(segment) {
                out.extend_from_slice(b":uuid");
            } else if segment.len() >= 16 && hex {
                out.extend_from_slice(b":hash");
            } else if !segment.iter().any(u8::is_ascii_digit) && safe {
                out.extend_from_slice(segment);
            } else {
                inner_numbers(segment, out);
            }
        }
        out.truncate(MAX_ENDPOINT_LEN);
    }

    proptest::proptest! {
        #[test]
        fn builtin_agrees_with_the_segment_walk(
            parts in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::string::string_regex("[a-z]{0,12}").unwrap(),
                    proptest::string::string_regex("[0-9]{1,8}").unwrap(),
                    proptest::string::string_regex("[0-9a-f]{14,40}").unwrap(),
                    proptest::string::string_regex("[a-z0-9.\\-_\"\\\\é ]{0,20}").unwrap(),
                    proptest::string::string_regex("[a-z]{0,60}").unwrap(),
                    proptest::prelude::Just("0b0e4bc4-7f0c-4a6b-9d2c-1f1e2d3c4b5a".to_string()),
                ],
                0..12,
            ),
            lead in proptest::prelude::any::<bool>(),
        ) {
            let mut path = parts.join("/");
            if lead {
                path.insert(0, '/');
            }
            let (mut fast, mut plain) = (Vec::new(), Vec::new());
            builtin(path.as_bytes(), &mut fast);
            builtin_reference(path.as_bytes(), &mut plain);
            proptest::prop_assert_eq!(fast, plain, "{:?}", path);
        }
    }

    proptest::proptest! {
        /// Paths `number_at_end` accepts have one template whatever the number.
        #[test]
        fn the_number_at_the_end_does_not_change_the_template(
            head in proptest::string::string_regex("(/[a-z0-9.\\-_\"é ]{0,12}){0,6}/").unwrap(),
            suffix in proptest::prop_oneof![
                proptest::prelude::Just(String::new()),
                proptest::string::string_regex("[.\\-_,][a-z.\\-]{0,6}").unwrap(),
                proptest::string::string_regex("[^0-9a-zA-Z/][^/]{0,6}").unwrap(),
                proptest::string::string_regex("-[a-f-]{27}").unwrap(),
            ],
            numbers in proptest::collection::vec("[0-9]{1,12}", 2..4),
            preset in proptest::sample::select(vec!["forum", "none", "misago"]),
            long in 0..130usize,
        ) {
            let n = Normalizer::new(preset_rules(preset).unwrap());
            let head = if long > 100 { format!("/{}{head}", "x".repeat(long)) } else { head };
            let templates: Vec<Option<Vec<u8>>> = numbers
                .iter()
                .map(|number| {
                    let path = format!("{head}{number}{suffix}");
                    let at = n.number_at_end(path.as_bytes());
                    if let Some((from, to)) = at {
                        proptest::prop_assert_eq!(&path.as_bytes()[from..to], number.as_bytes());
                    }
                    let mut out = Vec::new();
                    n.normalize_path(path.as_bytes(), &mut out);
                    Ok(at.map(|_| out))
                })
                .collect::<Result<_, _>>()?;
            let mut some = templates.iter().flatten();
            if let Some(first) = some.next() {
                proptest::prop_assert!(some.all(|t| t == first), "{:?}", templates);
            }
            if preset == "misago" {
                proptest::prop_assert!(templates.iter().all(Option::is_none));
            }
        }
    }

    /// The `number_at_end` that searched for the last `/` first, kept as its specification.
    fn number_at_end_reference(n: &Normalizer, path: &[u8]) -> Option<(usize, usize)> {
        if !n.prefixes_only {
            return None;
        }
        let start = memchr::memrchr(b'/', path)? + 1;
        if start < n.longest_prefix && n.prefix_extends(&path[..start]) {
            return None;
        }
        let last = &path[start..];
        let digits = last.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        let suffix = &last[digits..];
        if !suffix.is_empty()
            && (last.len() == 36
                || suffix[0].is_ascii_alphabetic()
                || !suffix.iter().all(|b| is_safe(*b) && !b.is_ascii_digit()))
        {
            return None;
        }
        Some((start, start + digits))
    }

    fn pathish() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        prop_oneof![
            proptest::collection::vec(
                prop_oneof![
                    4 => b'0'..=b'9',
                    2 => Just(b'/'),
                    2 => b'a'..=b'f',
                    1 => Just(b'.'),
                    1 => Just(b'-'),
                    1 => Just(b'"'),
                    1 => Just(b' '),
                    1 => any::<u8>(),
                ],
                0..48,
            ),
            "(/static|/media|/s|/m|/api/v1/users|)(/[a-z0-9.\\-]{0,8}){0,3}/[0-9]{1,6}([.\\-][a-z]{0,4})?"
                .prop_map(String::into_bytes),
            "/[0-9a-f]{1,35}/[0-9]{1,6}-[a-f-]{1,30}".prop_map(String::into_bytes),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 4096,
            ..proptest::prelude::ProptestConfig::default()
        })]

        /// The walk back from the end finds what the search for the last `/` found.
        #[test]
        fn the_number_at_the_end_is_found_as_before(
            path in pathish(),
            preset in proptest::sample::select(vec!["forum", "none", "misago", "long"]),
        ) {
            let rules = match preset {
                "long" => vec![Rule::prefix("/api/v1/users/", "/users/*"), Rule::prefix("/s", "/s")],
                p => preset_rules(p).unwrap(),
            };
            let n = Normalizer::new(rules);
            proptest::prop_assert_eq!(
                n.number_at_end(&path),
                number_at_end_reference(&n, &path),
                "{:?}", String::from_utf8_lossy(&path)
            );
        }

        /// When `prefix_rule` names a rule, the template is that rule's endpoint.
        #[test]
        fn the_prefix_rule_decides_the_template(
            path in pathish(),
            rules in proptest::sample::select(vec![0usize, 1, 2, 3]),
        ) {
            let rules = match rules {
                0 => preset_rules("forum").unwrap(),
                1 => preset_rules("misago").unwrap(),
                2 => vec![Rule::prefix("", "/all"), Rule::prefix("/s", "/s")],
                _ => vec![
                    Rule::regex("^/static/1", "/one").unwrap(),
                    Rule::prefix("/static/", "/static/*"),
                ],
            };
            let n = Normalizer::new(rules.clone());
            let mut out = Vec::new();
            n.normalize_path(&path, &mut out);
            if let Some(i) = n.prefix_rule(&path) {
                let Rule::Prefix { endpoint, .. } = &rules[i] else {
                    panic!("rule {i} is not a prefix rule");
                };
                proptest::prop_assert_eq!(&out, endpoint.as_bytes());
            }
        }
    }

    #[test]
    fn prefix_rules_are_found_before_any_regex_rule() {
        let forum = Normalizer::new(preset_rules("forum").unwrap());
        assert_eq!(forum.prefix_rule(b"/static/app.1.js"), Some(0));
        assert_eq!(forum.prefix_rule(b"/media/x"), Some(1));
        assert_eq!(forum.prefix_rule(b"/statics"), None);
        assert_eq!(forum.prefix_rule(b"static/x"), None);
        let regex_first = Normalizer::new(vec![
            Rule::regex("^/x", "/y").unwrap(),
            Rule::prefix("/static/", "/static/*"),
        ]);
        assert_eq!(regex_first.prefix_rule(b"/static/a"), None);
        // A prefix of fewer than two bytes (`""`, `"/"`) matches every path (it once matched
        // only `/`: the second bytes were compared before `starts_with`).
        for prefix in ["", "/"] {
            let all = Normalizer::new(vec![Rule::prefix(prefix, "/all")]);
            assert_eq!(all.prefix_rule(b"/"), Some(0));
            assert_eq!(all.prefix_rule(b"/a/1"), Some(0));
            assert_eq!(all.prefix_rule(b"*"), None);
            let mut out = Vec::new();
            all.normalize_path(b"/a/1", &mut out);
            assert_eq!(out, b"/all");
        }
    }

    #[test]
    fn numbers_at_the_end_are_found_where_the_template_ignores_them() {
        let n = Normalizer::new(preset_rules("forum").unwrap());
        assert_eq!(n.number_at_end(b"/api/v1/users/91507"), Some((14, 19)));
        assert_eq!(n.number_at_end(b"/images/77.png"), Some((8, 10)));
        assert_eq!(n.number_at_end(b"/static/1"), Some((8, 9)));
        // Under a prefix no longer than the part before the number, the prefix decides.
        assert_eq!(n.number_at_end(b"/media/1"), Some((7, 8)));
        // A longer prefix (`/account/email/`) could take the number in: no shortcut.
        assert_eq!(n.number_at_end(b"/account/12"), None);
        assert_eq!(n.number_at_end(b"/api/v1"), None);
        assert_eq!(n.number_at_end(b"/a/12abc"), None);
        assert_eq!(n.number_at_end(b"/a/12.v2"), None);
        assert_eq!(n.number_at_end(b"/a/12.\xff"), None);
        assert_eq!(n.number_at_end(b"/a/"), None);
        let misago = Normalizer::new(preset_rules("misago").unwrap());
        assert_eq!(misago.number_at_end(b"/api/v1/users/91507"), None);
    }

    #[test]
    fn things_that_are_not_paths_are_other() {
        let n = Normalizer::default();
        assert_eq!(norm(&n, "*"), "other");
        assert_eq!(norm(&n, "http://evil.example/"), "other");
        assert_eq!(norm(&n, ""), "other");
    }

    #[test]
    fn unsafe_bytes_become_underscores_and_long_paths_are_cut() {
        let n = Normalizer::default();
        assert_eq!(norm(&n, "/a\"b\\c\u{e9}"), "/a_b_c__");
        let long = format!("/{}", "x".repeat(500));
        assert_eq!(norm(&n, &long).len(), MAX_ENDPOINT_LEN);
    }

    #[test]
    fn the_forum_preset_folds_static_files() {
        let n = Normalizer::new(preset_rules("forum").unwrap());
        assert_eq!(norm(&n, "/static/css/site.css"), "/static/*");
        assert_eq!(norm(&n, "/media/avatars/1.png"), "/media/*");
        assert_eq!(norm(&n, "/c/4/new"), "/c/:id/new");
    }

    #[test]
    fn the_forum_preset_keeps_tokens_and_file_names_out_of_endpoints() {
        let n = Normalizer::new(preset_rules("forum").unwrap());
        let token = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        for (path, endpoint) in [
            (format!("/activate/{token}"), "/activate/:token"),
            ("/activate/not-a-real-token".into(), "/activate/:token"),
            (format!("/password-reset/{token}"), "/password-reset/:token"),
            (
                format!("/password-reset/{token}?next=/"),
                "/password-reset/:token",
            ),
            ("/password-reset".into(), "/password-reset"),
            (format!("/account/email/{token}"), "/account/email/:token"),
            ("/account/email".into(), "/account/email"),
            (
                "/attachments/12/holiday photo.jpg".into(),
                "/attachments/:id/:filename",
            ),
            (
                "/attachments/12/report-2024.pdf".into(),
                "/attachments/:id/:filename",
            ),
            (
                "/attachments/12/thumbnail.png".into(),
                "/attachments/:id/thumbnail.png",
            ),
            ("/api/attachments/".into(), "/api/attachments/"),
            ("/notifications".into(), "/notifications"),
            ("/api/notifications/read".into(), "/api/notifications/read"),
            ("/api/threads/7/watch".into(), "/api/threads/:id/watch"),
            ("/api/private-threads/".into(), "/api/private-threads/"),
            ("/members?page=3".into(), "/members"),
            ("/api/users/42/".into(), "/api/users/:id/"),
            ("/admin/users/42".into(), "/admin/users/:id"),
            ("/admin/bans/3/delete".into(), "/admin/bans/:id/delete"),
            ("/moderation/queue/8".into(), "/moderation/queue/:id"),
            (
                "/api/moderation/queue/8/approve".into(),
                "/api/moderation/queue/:id/approve",
            ),
        ] {
            assert_eq!(norm(&n, &path), endpoint, "{path}");
        }
        // Prefix rules only: the shortcut for paths that end in a number stays on.
        assert!(n.number_at_end(b"/api/users/123").is_some());
        assert_eq!(n.prefix_rule(b"/attachments/5/thumbnail.png"), Some(5));
        assert_eq!(n.prefix_rule(b"/attachments/5/a.png"), Some(6));
    }

    #[test]
    fn the_misago_preset_replaces_slugs() {
        let n = Normalizer::new(preset_rules("misago").unwrap());
        assert_eq!(norm(&n, "/t/how-do-i-install/42/"), "/t/:slug/:id/");
        assert_eq!(
            norm(&n, "/t/how-do-i-install/42/post/7/"),
            "/t/:slug/:id/post/:id/"
        );
        assert_eq!(norm(&n, "/admincp/"), "/admincp/");
        // Private threads, categories and users have a slug too; without the trailing slash
        // (Misago redirects) the slug goes all the same.
        assert_eq!(norm(&n, "/p/a-private-talk/17/"), "/p/:slug/:id/");
        assert_eq!(norm(&n, "/p/a-private-talk/17/2/"), "/p/:slug/:id/:id/");
        assert_eq!(norm(&n, "/t/how-do-i-install/42"), "/t/:slug/:id");
        assert_eq!(norm(&n, "/t/how-do-i-install/42?page=2"), "/t/:slug/:id");
        assert_eq!(norm(&n, "/c/first-category/3/new/"), "/c/:slug/:id/new/");
        assert_eq!(norm(&n, "/u/alice/5/posts/"), "/u/:slug/:id/posts/");
        // Attachments: the secret never reaches a label.
        let secret = "Zq3kVtR9uLm2XpA7cWn4bYs8HdJf6Ge1KoPi5TuQwErTyUiOpAsDfGhJkLzXcVbN";
        assert_eq!(norm(&n, &format!("/a/{secret}/12/")), "/a/:secret/:id/");
        assert_eq!(
            norm(&n, &format!("/a/thumb/{secret}/12/")),
            "/a/thumb/:secret/:id/"
        );
        assert_eq!(norm(&n, "/a/abcdefgh/12"), "/a/:secret/:id");
        // Links mailed to users carry tokens.
        assert_eq!(
            norm(&n, "/activation/7/5qz-1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d/"),
            "/activation/:id/:token/"
        );
        assert_eq!(
            norm(&n, "/forgotten-password/7/5qz-abcdefabcdef/"),
            "/forgotten-password/:id/:token/"
        );
        assert_eq!(
            norm(&n, "/api/auth/change-password/7/5qz-abcdefabcdef/"),
            "/api/auth/change-password/:id/:token/"
        );
        assert_eq!(
            norm(&n, "/options/change-email/Tok3nTok3n/"),
            "/options/change-email/:token/"
        );
        assert_eq!(
            norm(&n, "/notifications/disable-email/9/s3cr3tValue/"),
            "/notifications/disable-email/:id/:secret/"
        );
        // The API names ids only.
        assert_eq!(
            norm(&n, "/api/threads/42/posts/"),
            "/api/threads/:id/posts/"
        );
        assert_eq!(norm(&n, "/api/private-threads/"), "/api/private-threads/");
        assert_eq!(norm(&n, "/media/attachments/ab/cd/file.png"), "/media/*");
    }

    proptest::proptest! {
        /// Whatever the slug or secret, no part of it reaches the endpoint of a Misago URL
        /// that holds one.
        #[test]
        fn misago_slugs_and_secrets_never_reach_the_endpoint(
            prefix in proptest::sample::select(vec!["/t/", "/p/", "/c/", "/u/", "/a/", "/a/thumb/"]),
            slug in "[A-Za-z0-9_-]{1,64}",
            id in "[0-9]{1,9}",
            rest in proptest::sample::select(vec!["", "/", "/2/", "/post/7/", "/last/"]),
        ) {
            proptest::prop_assume!(!(prefix == "/a/" && slug == "thumb"));
            let n = Normalizer::new(preset_rules("misago").unwrap());
            let path = format!("{prefix}{slug}/{id}{rest}");
            let endpoint = norm(&n, &path);
            let kind = if prefix.starts_with("/a/") { ":secret" } else { ":slug" };
            proptest::prop_assert!(
                endpoint.starts_with(&format!("{prefix}{kind}/:id")),
                "{path} -> {endpoint}"
            );
        }
    }

    #[test]
    fn user_regex_rules_come_first() {
        let n = Normalizer::new(vec![Rule::regex("^/wiki/[^/]+$", "/wiki/:page").unwrap()]);
        assert_eq!(norm(&n, "/wiki/Main_Page"), "/wiki/:page");
    }
}
