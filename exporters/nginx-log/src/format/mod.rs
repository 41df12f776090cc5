//! nginx `log_format` strings, compiled once into a parser.
//!
//! A format is a sequence of literals and `$variables`. Compiling it ([`compile`]) yields a
//! list of steps; parsing a line walks them ([`walk`]): a literal must be next in the line, a
//! variable runs up to the next occurrence of the literal that follows it, and the last literal
//! of the format, when the format ends with one, must end the line. Only the variables the
//! exporter uses are kept; the others are skipped over without work beyond finding their end.
//! The built-in formats ([`builtin`]) have a walk of their own. A new field the exporter reads
//! is a [`Field`](crate::record::Field) (`Field::from_variable`) and a member of `Record`.

mod builtin;
mod compile;
mod lit;
mod walk;

pub use builtin::{COMBINED, FORUM, named};
pub use compile::CompileError;
pub use walk::Mismatch;

use crate::record::Record;

use compile::Compiled;

/// A compiled log format.
#[derive(Clone, Debug)]
pub struct LogFormat {
    source: String,
    compiled: Compiled,
}

impl LogFormat {
    /// Compiles a built-in name (`combined`, `forum`) or an nginx `log_format` string, with
    /// `$remote_addr` as the source field.
    pub fn compile(name_or_format: &str) -> Result<LogFormat, CompileError> {
        LogFormat::compile_with_source(name_or_format, "remote_addr")
    }

    /// As [`LogFormat::compile`], with the variable `source_var` (without `$`) as the client
    /// address the top sources of events count.
    pub fn compile_with_source(
        name_or_format: &str,
        source_var: &str,
    ) -> Result<LogFormat, CompileError> {
        let source = named(name_or_format).unwrap_or(name_or_format);
        Ok(LogFormat {
            source: source.to_string(),
            compiled: Compiled::new(source, source_var)?,
        })
    }

    /// Whether the format has the source field.
    pub fn has_source(&self) -> bool {
        self.compiled.steps.iter().any(|s| {
            matches!(
                s,
                compile::Step::Var {
                    field: Some(crate::record::Field::Source),
                    ..
                }
            )
        })
    }

    /// Parses one line (without its newline) into `record`. Fields the format lacks stay empty.
    #[inline]
    pub fn parse<'a>(&self, line: &'a [u8], record: &mut Record<'a>) -> Result<(), Mismatch> {
        if self.compiled.parse_fused(line, record) {
            return Ok(());
        }
        // The slow walk finds where the line stopped matching, for the error.
        self.compiled.parse_steps(line, record)
    }

    /// Parses one line into `record` like [`LogFormat::parse`], without working out where a
    /// line that does not match stopped matching: the counting path only needs to know.
    #[inline]
    pub fn parses<'a>(&self, line: &'a [u8], record: &mut Record<'a>) -> bool {
        self.compiled.parse_fused(line, record)
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

    #[test]
    fn trailing_garbage_after_a_closed_format_is_a_mismatch() {
        let format = LogFormat::compile("combined").unwrap();
        let mut line = LINE.to_vec();
        line.extend_from_slice(b" extra");
        assert!(format.parse(&line, &mut Record::default()).is_err());
    }
}
