//! What a line looks like: an nginx `log_format` string (see [`crate::format`]) or JSON lines
//! (nginx `log_format ... escape=json '{"status":"$status",...}'`), whose keys are the nginx
//! variable names without `$` (`request` or `request_method` + `request_uri`, `status`,
//! `body_bytes_sent`, `request_length`, `request_time`, `upstream_response_time`, `host`, and
//! the client address: `remote_addr`, `http_x_forwarded_for` or `http_x_real_ip`).

use std::borrow::Cow;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::format::{CompileError, LogFormat};
use crate::record::{ParseError, Record};

/// How many of a file's first lines [`LineFormat::check_file`] tries.
const CHECK_LINES: usize = 20;

/// Why a file's first lines do not fit its format ([`LineFormat::check_file`]).
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The file could not be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// None of the lines tried matches.
    #[error("{}: none of the first {lines} lines match the log format. {why}", path.display())]
    NoMatch {
        /// The file.
        path: PathBuf,
        /// How many lines were tried.
        lines: usize,
        /// Where the first one stopped matching ([`LineFormat::explain`]).
        why: String,
    },
}

/// A compiled line format.
#[derive(Clone, Debug)]
pub enum LineFormat {
    /// An nginx `log_format` string.
    Text(LogFormat),
    /// One JSON object per line, and the key of its client address.
    Json(JsonSource),
}

/// The JSON key of the client address field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JsonSource {
    /// `remote_addr`.
    RemoteAddr,
    /// `http_x_forwarded_for`.
    ForwardedFor,
    /// `http_x_real_ip`.
    RealIp,
}

impl JsonSource {
    /// The key of a variable name, if JSON lines can carry it as the source.
    pub fn of(variable: &str) -> Option<JsonSource> {
        match variable {
            "remote_addr" => Some(JsonSource::RemoteAddr),
            "http_x_forwarded_for" => Some(JsonSource::ForwardedFor),
            "http_x_real_ip" => Some(JsonSource::RealIp),
            _ => None,
        }
    }
}

impl LineFormat {
    /// `json`, a built-in name (`combined`, `forum`) or a `log_format` string, with
    /// `$remote_addr` as the client address.
    pub fn compile(spec: &str) -> Result<LineFormat, CompileError> {
        LineFormat::compile_with_source(spec, "remote_addr")
    }

    /// As [`LineFormat::compile`], with the variable `source_var` (without `$`) as the client
    /// address of the top sources of events. JSON lines read it only from `remote_addr`,
    /// `http_x_forwarded_for` or `http_x_real_ip` (else none).
    pub fn compile_with_source(spec: &str, source_var: &str) -> Result<LineFormat, CompileError> {
        if spec.trim() == "json" {
            return Ok(LineFormat::Json(
                JsonSource::of(source_var).unwrap_or(JsonSource::RemoteAddr),
            ));
        }
        LogFormat::compile_with_source(spec, source_var).map(LineFormat::Text)
    }

    /// Whether lines of this format carry the client address `source_var`.
    pub fn has_source(&self, source_var: &str) -> bool {
        match self {
            LineFormat::Text(format) => format.has_source(),
            LineFormat::Json(_) => JsonSource::of(source_var).is_some(),
        }
    }

    /// Parses `line` and hands the record to `f`.
    #[inline]
    pub fn with_record<R>(
        &self,
        line: &[u8],
        f: impl FnOnce(&Record<'_>) -> R,
    ) -> Result<R, ParseError> {
        match self {
            LineFormat::Text(format) => {
                let mut record = Record::default();
                if !format.parses(line, &mut record) {
                    return Err(ParseError::Format);
                }
                Ok(f(&record))
            }
            LineFormat::Json(source) => {
                let raw: JsonLine<'_> =
                    serde_json::from_slice(line).map_err(|_| ParseError::Json)?;
                let fields = [
                    raw.request.map(text),
                    raw.request_method.map(text),
                    raw.request_uri.or(raw.uri).map(text),
                    raw.status.map(text),
                    raw.body_bytes_sent.or(raw.bytes_sent).map(text),
                    raw.request_length.map(text),
                    raw.request_time.map(text),
                    raw.upstream_response_time.map(text),
                    raw.host.map(text),
                    match source {
                        JsonSource::RemoteAddr => raw.remote_addr,
                        JsonSource::ForwardedFor => raw.http_x_forwarded_for,
                        JsonSource::RealIp => raw.http_x_real_ip,
                    }
                    .map(text),
                ];
                let get = |i: usize| fields[i].as_deref().map(str::as_bytes).unwrap_or_default();
                let record = Record {
                    request: get(0),
                    method: get(1),
                    uri: get(2),
                    status: get(3),
                    body_bytes: get(4),
                    request_length: get(5),
                    request_time: get(6),
                    upstream_time: get(7),
                    host: get(8),
                    source: get(9),
                };
                if record.status.is_empty() || (record.request.is_empty() && record.uri.is_empty())
                {
                    return Err(ParseError::Format);
                }
                Ok(f(&record))
            }
        }
    }

    /// A sentence saying why `line` does not match, or `None` when it does.
    pub fn explain(&self, line: &[u8]) -> Option<String> {
        match self {
            LineFormat::Text(format) => format.explain(line),
            LineFormat::Json(_) => self.with_record(line, |_| ()).err().map(|e| {
                let shown = String::from_utf8_lossy(&line[..line.len().min(300)]);
                match e {
                    ParseError::Json => format!("log format json: the line `{shown}` is not a JSON object"),
                    _ => format!("log format json: the line `{shown}` lacks \"status\" or \"request\"/\"request_uri\""),
                }
            }),
        }
    }
}

impl LineFormat {
    /// Fails with a clear message when none of the first lines of `path` match the format. A
    /// file that cannot be opened (not there yet) or holds no line passes.
    pub fn check_file(&self, path: &Path) -> Result<(), CheckError> {
        let Ok(file) = std::fs::File::open(path) else {
            return Ok(());
        };
        let mut head = Vec::with_capacity(64 * 1024);
        file.take(256 * 1024)
            .read_to_end(&mut head)
            .map_err(|source| CheckError::Read {
                path: path.to_path_buf(),
                source,
            })?;
        let lines: Vec<&[u8]> = head
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .take(CHECK_LINES)
            .collect();
        if lines.is_empty()
            || lines
                .iter()
                .any(|l| self.explain(l.strip_suffix(b"\r").unwrap_or(l)).is_none())
        {
            return Ok(());
        }
        Err(CheckError::NoMatch {
            path: path.to_path_buf(),
            lines: lines.len(),
            why: self.explain(lines[0]).unwrap_or_default(),
        })
    }
}

/// A JSON value as text: a string's content (unescaped), or a number as written.
fn text(raw: &RawValue) -> Cow<'_, str> {
    let s = raw.get();
    match s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        Some(inner) if !inner.contains('\\') => Cow::Borrowed(inner),
        Some(_) => serde_json::from_str::<String>(s)
            .map(Cow::Owned)
            .unwrap_or(Cow::Borrowed("")),
        None if s == "null" => Cow::Borrowed(""),
        None => Cow::Borrowed(s),
    }
}

#[derive(Deserialize)]
struct JsonLine<'a> {
    #[serde(borrow, default)]
    request: Option<&'a RawValue>,
    #[serde(borrow, default, alias = "method")]
    request_method: Option<&'a RawValue>,
    #[serde(borrow, default)]
    request_uri: Option<&'a RawValue>,
    #[serde(borrow, default)]
    uri: Option<&'a RawValue>,
    #[serde(borrow, default)]
    status: Option<&'a RawValue>,
    #[serde(borrow, default)]
    body_bytes_sent: Option<&'a RawValue>,
    #[serde(borrow, default)]
    bytes_sent: Option<&'a RawValue>,
    #[serde(borrow, default)]
    request_length: Option<&'a RawValue>,
    #[serde(borrow, default)]
    request_time: Option<&'a RawValue>,
    #[serde(borrow, default)]
    upstream_response_time: Option<&'a RawValue>,
    #[serde(borrow, default)]
    host: Option<&'a RawValue>,
    #[serde(borrow, default)]
    remote_addr: Option<&'a RawValue>,
    #[serde(borrow, default)]
    http_x_forwarded_for: Option<&'a RawValue>,
    #[serde(borrow, default)]
    http_x_real_ip: Option<&'a RawValue>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_with_strings_numbers_and_escapes() {
        let f = LineFormat::compile("json").unwrap();
        let line = br#"{"time":"x","request_method":"POST","request_uri":"/a\"b?x=1","status":401,"body_bytes_sent":"12","request_time":0.004,"upstream_response_time":"0.001, 0.002"}"#;
        let got = f
            .with_record(line, |r| {
                let (m, u) = r.method_and_uri();
                (
                    m.to_vec(),
                    u.to_vec(),
                    r.status.to_vec(),
                    r.body_bytes.to_vec(),
                    r.request_time.to_vec(),
                    r.upstream_time.to_vec(),
                )
            })
            .unwrap();
        assert_eq!(got.0, b"POST");
        assert_eq!(got.1, b"/a\"b?x=1");
        assert_eq!(got.2, b"401");
        assert_eq!(got.3, b"12");
        assert_eq!(got.4, b"0.004");
        assert_eq!(got.5, b"0.001, 0.002");
    }

    #[test]
    fn json_garbage_and_objects_without_status_are_errors() {
        let f = LineFormat::compile("json").unwrap();
        assert_eq!(f.with_record(b"{nope", |_| ()), Err(ParseError::Json));
        assert_eq!(
            f.with_record(br#"{"request":"GET / HTTP/1.1"}"#, |_| ()),
            Err(ParseError::Format)
        );
        assert!(
            f.explain(b"not json")
                .unwrap()
                .contains("not a JSON object")
        );
    }
}
