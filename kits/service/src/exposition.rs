//! Content negotiation between the two text formats Prometheus scrapes.
//!
//! Metrics are made once, in OpenMetrics text (what `prometheus-client` writes). A scraper that
//! prefers OpenMetrics gets them as they are; any other gets the Prometheus text format 0.0.4,
//! converted here: no `# EOF` or `# UNIT`, counters typed under their `_total` name, `_created`
//! samples and exemplars left out, `info` and `stateset` as gauges.
//!
//! [`metrics_response`] is the answer to a scrape; [`compression`] the gzip layer that goes on
//! a metrics route.

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use tower_http::compression::CompressionLayer;

/// `Content-Type` of the OpenMetrics text format.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// `Content-Type` of the Prometheus text format 0.0.4.
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A text exposition format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Prometheus text format 0.0.4.
    Text,
    /// OpenMetrics 1.0.0.
    OpenMetrics,
}

impl Format {
    /// Picks the format for a request's `Accept` header: OpenMetrics when the client ranks it at
    /// least as high as plain text, otherwise text (also with no header at all).
    pub fn negotiate(accept: Option<&str>) -> Format {
        let Some(accept) = accept else {
            return Format::Text;
        };
        let mut openmetrics_q = 0.0_f32;
        let mut text_q = 0.0_f32;
        for range in accept.split(',') {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next().unwrap_or_default().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            match media.as_str() {
                "application/openmetrics-text" => openmetrics_q = openmetrics_q.max(q),
                "text/plain" | "text/*" | "*/*" => text_q = text_q.max(q),
                _ => {}
            }
        }
        if openmetrics_q > 0.0 && openmetrics_q >= text_q {
            Format::OpenMetrics
        } else {
            Format::Text
        }
    }

    /// The `Content-Type` header value of this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Text => TEXT_CONTENT_TYPE,
            Format::OpenMetrics => OPENMETRICS_CONTENT_TYPE,
        }
    }

    /// Renders OpenMetrics text in this format.
    pub fn render(self, openmetrics: String) -> String {
        match self {
            Format::OpenMetrics => openmetrics,
            Format::Text => to_text_004(&openmetrics),
        }
    }
}

/// The response to a scrape: `openmetrics` rendered in the format the request's `Accept` asks for.
pub fn metrics_response(headers: &HeaderMap, openmetrics: String) -> Response {
    let format = Format::negotiate(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()));
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(format.content_type()),
        )],
        format.render(openmetrics),
    )
        .into_response()
}

/// gzip for clients that ask for it (`Accept-Encoding: gzip`, as Prometheus does); no other
/// encoding, so every scraper gets what it can read.
pub fn compression() -> CompressionLayer {
    CompressionLayer::new()
        .gzip(true)
        .no_br()
        .no_deflate()
        .no_zstd()
}

/// Converts OpenMetrics text into the Prometheus text format 0.0.4.
///
/// Sample lines that pass unchanged (no exemplar, no `_created`) are copied in runs, a family's
/// samples at a time, rather than line by line: an exporter's answer may be megabytes.
pub fn to_text_004(openmetrics: &str) -> String {
    let mut out = String::with_capacity(openmetrics.len());
    // HELP comes before TYPE in OpenMetrics, but its name may change with the type, so it is
    // held until the TYPE line (or the first sample) of its family arrives.
    let mut pending_help: Option<(&str, &str)> = None;
    let mut skip_suffixes: &[&str] = &[];
    let mut family = "";
    // Where the run of sample lines to copy as they are starts, if one is open.
    let mut run: Option<usize> = None;
    let mut pos = 0;
    while pos < openmetrics.len() {
        let rest = &openmetrics[pos..];
        let (raw, next) = match rest.find('\n') {
            Some(end) => (&rest[..end], pos + end + 1),
            None => (rest, openmetrics.len()),
        };
        // As `str::lines`: a line ends at `\n`, and a `\r` before that `\n` is not part of it.
        let line = match raw.strip_suffix('\r') {
            Some(line) if next > pos + raw.len() => line,
            _ => raw,
        };
        let is_sample = !line.is_empty() && !line.starts_with("# ");
        if is_sample && pending_help.is_some() {
            if let Some(start) = run.take() {
                out.push_str(&openmetrics[start..pos]);
            }
            flush_help(&mut out, pending_help.take(), None);
        }
        let sample = if is_sample { strip_exemplar(line) } else { "" };
        let skipped = is_sample && !skip_suffixes.is_empty() && line.starts_with(family) && {
            let name_end = sample.find(['{', ' ']).unwrap_or(sample.len());
            let name = &sample[..name_end];
            skip_suffixes
                .iter()
                .any(|s| name.strip_suffix(s) == Some(family))
        };
        // A kept sample line without exemplar that ends in `\n` alone copies as it is.
        if is_sample && !skipped && sample.len() == raw.len() && next > pos + raw.len() {
            run.get_or_insert(pos);
            pos = next;
            continue;
        }
        if let Some(start) = run.take() {
            out.push_str(&openmetrics[start..pos]);
        }
        pos = next;
        if let Some(rest) = line.strip_prefix("# ") {
            let (keyword, rest) = rest.split_once(' ').unwrap_or((rest, ""));
            let (name, value) = rest.split_once(' ').unwrap_or((rest, ""));
            match keyword {
                "HELP" => {
                    flush_help(&mut out, pending_help.take(), None);
                    pending_help = Some((name, value));
                }
                "TYPE" => {
                    family = name;
                    let (renamed, kind) = match value {
                        "counter" if !name.ends_with("_total") => {
                            (format!("{name}_total"), "counter")
                        }
                        "counter" => (name.to_string(), "counter"),
                        "info" => (format!("{name}_info"), "gauge"),
                        "stateset" => (name.to_string(), "gauge"),
                        "gaugehistogram" => (name.to_string(), "histogram"),
                        "gauge" | "histogram" | "summary" => (name.to_string(), value),
                        _ => (name.to_string(), "untyped"),
                    };
                    skip_suffixes = match value {
                        "counter" | "histogram" | "summary" => &["_created"],
                        "gaugehistogram" => &["_gcount", "_gsum"],
                        _ => &[],
                    };
                    flush_help(&mut out, pending_help.take(), Some(&renamed));
                    out.push_str("# TYPE ");
                    out.push_str(&renamed);
                    out.push(' ');
                    out.push_str(kind);
                    out.push('\n');
                }
                // UNIT and EOF have no 0.0.4 counterpart; other comments are dropped too.
                _ => {}
            }
            continue;
        }
        if line.is_empty() {
            continue;
        }
        if skipped {
            continue;
        }
        out.push_str(sample);
        out.push('\n');
    }
    if let Some(start) = run {
        out.push_str(&openmetrics[start..]);
    }
    flush_help(&mut out, pending_help, None);
    out
}

fn flush_help(out: &mut String, help: Option<(&str, &str)>, renamed: Option<&str>) {
    if let Some((name, text)) = help {
        out.push_str("# HELP ");
        out.push_str(renamed.unwrap_or(name));
        out.push(' ');
        // 0.0.4 escapes only `\\` and `\n` in HELP; OpenMetrics also escapes quotes.
        out.push_str(&text.replace("\\\"", "\""));
        out.push('\n');
    }
}

/// Cuts an OpenMetrics exemplar (` # {labels} value`) off a sample line.
fn strip_exemplar(line: &str) -> &str {
    if !line.contains('#') {
        return line;
    }
    let bytes = line.as_bytes();
    let mut in_quotes = false;
    let mut escaped = false;
    // Labels exist only when `{` directly follows the metric name.
    let name_end = line.find(['{', ' ']).unwrap_or(line.len());
    let mut labels_done = bytes.get(name_end) != Some(&b'{');
    for (i, &b) in bytes.iter().enumerate().skip(name_end) {
        if !labels_done {
            match b {
                _ if escaped => escaped = false,
                b'\\' if in_quotes => escaped = true,
                b'"' => in_quotes = !in_quotes,
                b'}' if !in_quotes => labels_done = true,
                _ => {}
            }
            continue;
        }
        if b == b'#' && i > 0 && bytes[i - 1] == b' ' {
            return line[..i - 1].trim_end();
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

    #[test]
    fn prometheus_own_accept_header_gets_openmetrics() {
        assert_eq!(
            Format::negotiate(Some(PROMETHEUS_ACCEPT)),
            Format::OpenMetrics
        );
    }

    #[test]
    fn no_header_a_browser_or_curl_gets_plain_text() {
        assert_eq!(Format::negotiate(None), Format::Text);
        assert_eq!(Format::negotiate(Some("*/*")), Format::Text);
        assert_eq!(
            Format::negotiate(Some(
                "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
            )),
            Format::Text
        );
    }

    #[test]
    fn openmetrics_ranked_below_text_loses() {
        assert_eq!(
            Format::negotiate(Some(
                "text/plain;version=0.0.4,application/openmetrics-text;q=0.5"
            )),
            Format::Text
        );
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text;q=0")),
            Format::Text
        );
    }

    #[test]
    fn counters_info_units_and_eof_are_converted_exactly() {
        let om = "# HELP requests Requests \\\"served\\\".\n# TYPE requests counter\nrequests_total{code=\"200\"} 3\nrequests_created{code=\"200\"} 1.7e9\n# HELP size_bytes Size.\n# TYPE size_bytes gauge\n# UNIT size_bytes bytes\nsize_bytes 10\n# HELP build Build.\n# TYPE build info\nbuild_info{version=\"1\"} 1\n# TYPE lat histogram\nlat_bucket{le=\"+Inf\"} 2 # {trace_id=\"a\"} 0.5\nlat_sum 1.0\nlat_count 2\n# EOF\n";
        let expected = "# HELP requests_total Requests \"served\".\n# TYPE requests_total counter\nrequests_total{code=\"200\"} 3\n# HELP size_bytes Size.\n# TYPE size_bytes gauge\nsize_bytes 10\n# HELP build_info Build.\n# TYPE build_info gauge\nbuild_info{version=\"1\"} 1\n# TYPE lat histogram\nlat_bucket{le=\"+Inf\"} 2\nlat_sum 1.0\nlat_count 2\n";
        assert_eq!(to_text_004(om), expected);
    }

    #[test]
    fn a_hash_inside_a_label_value_is_not_an_exemplar() {
        assert_eq!(
            strip_exemplar("x{path=\"/a # {b}\"} 1"),
            "x{path=\"/a # {b}\"} 1"
        );
        assert_eq!(strip_exemplar("x 1 # {a=\"b\"} 1"), "x 1");
    }

    /// The line-by-line conversion this module used before it copied runs: the model the
    /// faster one must equal on every input.
    fn reference_004(openmetrics: &str) -> String {
        let mut out = String::new();
        let mut pending_help: Option<(&str, &str)> = None;
        let mut skip_suffixes: &[&str] = &[];
        let mut family = "";
        for line in openmetrics.lines() {
            if let Some(rest) = line.strip_prefix("# ") {
                let (keyword, rest) = rest.split_once(' ').unwrap_or((rest, ""));
                let (name, value) = rest.split_once(' ').unwrap_or((rest, ""));
                match keyword {
                    "HELP" => {
                        flush_help(&mut out, pending_help.take(), None);
                        pending_help = Some((name, value));
                    }
                    "TYPE" => {
                        family = name;
                        let (renamed, kind) = match value {
                            "counter" if !name.ends_with("_total") => {
                                (format!("{name}_total"), "counter")
                            }
                            "counter" => (name.to_string(), "counter"),
                            "info" => (format!("{name}_info"), "gauge"),
                            "stateset" => (name.to_string(), "gauge"),
                            "gaugehistogram" => (name.to_string(), "histogram"),
                            "gauge" | "histogram" | "summary" => (name.to_string(), value),
                            _ => (name.to_string(), "untyped"),
                        };
                        skip_suffixes = match value {
                            "counter" | "histogram" | "summary" => &["_created"],
                            "gaugehistogram" => &["_gcount", "_gsum"],
                            _ => &[],
                        };
                        flush_help(&mut out, pending_help.take(), Some(&renamed));
                        out.push_str(&format!("# TYPE {renamed} {kind}\n"));
                    }
                    _ => {}
                }
                continue;
            }
            if line.is_empty() {
                continue;
            }
            flush_help(&mut out, pending_help.take(), None);
            let sample = strip_exemplar(line);
            let name_end = sample.find(['{', ' ']).unwrap_or(sample.len());
            if skip_suffixes
                .iter()
                .any(|s| sample[..name_end].strip_suffix(s) == Some(family))
            {
                continue;
            }
            out.push_str(sample);
            out.push('\n');
        }
        flush_help(&mut out, pending_help, None);
        out
    }

    #[test]
    fn copying_runs_converts_exactly_as_line_by_line() {
        // Pieces that each exercise a path: runs of plain samples, exemplars, `_created`,
        // HELP without TYPE, samples straight after HELP, CRLF, blank lines, `#` in labels,
        // unknown comments, and no final newline.
        let pieces = [
            "# HELP a_total A \\\"x\\\".\n# TYPE a_total counter\n",
            "# HELP a A.\n# TYPE a counter\n",
            "a_total{k=\"1\"} 1\n",
            "a_total{k=\"2\"} 2 # {t=\"x\"} 1.0\n",
            "a_created{k=\"1\"} 1.7e9\n",
            "a_createdx 3\n",
            "b{path=\"/a # {b}\"} 1\n",
            "# HELP lonely No type.\n",
            "lonely 4\n",
            "c 5\r\n",
            "\n",
            "# UNIT c seconds\n",
            "# TYPE g gaugehistogram\n",
            "g_gcount 1\ng_gsum 2\ng_bucket{le=\"+Inf\"} 1\n",
            "# TYPE i info\ni_info{v=\"1\"} 1\n",
            "#nospace 6\n",
            "d 7\r",
            "# EOF\n",
        ];
        // Every sequence of up to four pieces, and a long mix.
        let mut inputs = vec![String::new(), pieces.concat()];
        for a in pieces {
            for b in pieces {
                inputs.push(format!("{a}{b}"));
                for c in pieces {
                    inputs.push(format!("{a}{b}{c}"));
                    for d in ["a_total 9\n", "# TYPE z summary\n", "e 1"] {
                        inputs.push(format!("{a}{b}{c}{d}"));
                    }
                }
            }
        }
        for input in &inputs {
            assert_eq!(to_text_004(input), reference_004(input), "input: {input:?}");
        }
    }
}
