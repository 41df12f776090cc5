//! `--log.format logfmt`: one line of `key=value` pairs per event, as Prometheus and its Go
//! exporters write them (`ts=… level=info msg="…" address=…`), for log collectors that parse
//! logfmt (Loki, Vector).

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// The logfmt event formatter: `ts`, `level`, `target`, `msg`, then the event's fields.
#[derive(Clone, Copy, Debug, Default)]
pub struct Logfmt;

impl<S, N> FormatEvent<S, N> for Logfmt
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut ts = String::new();
        SystemTime.format_time(&mut Writer::new(&mut ts))?;
        let meta = event.metadata();
        let mut line = format!(
            "ts={} level={} target={}",
            value(&ts),
            meta.level().as_str().to_ascii_lowercase(),
            value(meta.target())
        );
        let mut fields = Fields::default();
        event.record(&mut fields);
        if let Some(msg) = &fields.message {
            write!(line, " msg={}", value(msg))?;
        }
        line.push_str(&fields.rest);
        writeln!(writer, "{line}")
    }
}

/// The event's fields, the message apart.
#[derive(Default)]
struct Fields {
    message: Option<String>,
    rest: String,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, v: &str) {
        if field.name() == "message" {
            self.message = Some(v.to_string());
        } else {
            let _ = write!(self.rest, " {}={}", key(field.name()), value(v));
        }
    }

    fn record_debug(&mut self, field: &Field, v: &dyn fmt::Debug) {
        self.record_str(field, &format!("{v:?}"));
    }
}

/// A key with the characters logfmt cannot carry in a key replaced by `_`.
fn key(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_whitespace() || c == '=' || c == '"' {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// A value, quoted when it is empty or holds a space, `=`, a quote or a control character.
fn value(v: &str) -> String {
    let plain = !v.is_empty()
        && !v
            .chars()
            .any(|c| c.is_whitespace() || c == '=' || c == '"' || c.is_control());
    if plain {
        return v.to_string();
    }
    let mut out = String::with_capacity(v.len() + 2);
    out.push('"');
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn logged(f: impl FnOnce()) -> String {
        let buffer = Buffer::default();
        let out = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .event_format(Logfmt)
            .with_writer(move || out.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, f);
        String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn an_event_is_one_line_of_pairs_with_quotes_where_needed() {
        let text = logged(|| {
            tracing::info!(
                address = "127.0.0.1:9731",
                tls = false,
                note = "a \"quoted\" word",
                "listening on all"
            );
        });
        assert_eq!(text.lines().count(), 1, "{text}");
        let line = text.trim_end();
        assert!(line.starts_with("ts="), "{line}");
        let after_ts = &line[line.find(" level=").expect("level")..];
        assert_eq!(
            after_ts,
            " level=info target=service_kit::logfmt::tests msg=\"listening on all\" \
             address=127.0.0.1:9731 tls=false note=\"a \\\"quoted\\\" word\""
        );
    }

    #[test]
    fn empty_values_and_newlines_stay_on_one_line() {
        let text = logged(|| tracing::warn!(empty = "", "two\nlines"));
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(
            text.contains("level=warn") && text.contains("msg=\"two\\nlines\" empty=\"\""),
            "{text}"
        );
    }
}
