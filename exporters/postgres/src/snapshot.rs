//! The metrics of one scrape as plain data, and their encoding.
//!
//! Collectors run their SQL first and return [`Family`] values; the scrape then writes them as
//! OpenMetrics text with [`encode`]. Nothing slow happens while encoding, and nothing is
//! allocated per sample: a row's labels are escaped and rendered once into a [`LabelSet`]
//! that every family of that row shares, and a sample is written straight into the output
//! (`dtoa` for the value, as `prometheus-client` writes it, so the text is the same).
//! A scrape of 2,000 tables has some 57,000 samples; this is where their cost would be.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::Arc;

/// The type of a metric family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A value that goes up and down.
    Gauge,
    /// A monotonic counter; its samples are named `<name>_total`.
    Counter,
    /// No type: used for postgres_exporter's counters whose names lack `_total`, which
    /// OpenMetrics cannot type as counters without renaming them.
    Untyped,
}

impl Kind {
    /// The OpenMetrics `# TYPE` word.
    fn as_str(self) -> &'static str {
        match self {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
            Kind::Untyped => "unknown",
        }
    }
}

/// The labels of a sample, escaped and rendered once (`a="x",b="y"`) and shared by every
/// family that has a sample for the same row: cloning one is a reference count.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelSet(Option<Arc<str>>);

impl LabelSet {
    /// No labels (the sample is written without `{}`).
    pub const NONE: LabelSet = LabelSet(None);

    /// The labels `names` with `values`, in that order.
    pub fn new<'a>(names: &[&str], values: impl IntoIterator<Item = &'a str>) -> LabelSet {
        if names.is_empty() {
            return LabelSet::NONE;
        }
        let mut text = String::with_capacity(names.len() * 24);
        for (i, (name, value)) in names.iter().zip(values).enumerate() {
            if i > 0 {
                text.push(',');
            }
            text.push_str(name);
            text.push_str("=\"");
            push_escaped_label(&mut text, value);
            text.push('"');
        }
        LabelSet(Some(Arc::from(text)))
    }

    /// One label.
    pub fn one(name: &str, value: &str) -> LabelSet {
        LabelSet::new(&[name], [value])
    }
}

/// One metric family: name, help and samples.
#[derive(Clone, Debug)]
pub struct Family {
    name: Cow<'static, str>,
    help: Cow<'static, str>,
    kind: Kind,
    samples: Vec<(LabelSet, f64)>,
}

impl Family {
    /// An empty family. A counter's `name` may end in `_total`; the suffix is handled here.
    pub fn new(
        name: impl Into<Cow<'static, str>>,
        help: impl Into<Cow<'static, str>>,
        kind: Kind,
    ) -> Family {
        let mut name = name.into();
        if kind == Kind::Counter
            && let Some(stripped) = name.strip_suffix("_total")
        {
            name = Cow::Owned(stripped.to_string());
        }
        Family {
            name,
            help: escape_help(help.into()),
            kind,
            samples: Vec::new(),
        }
    }

    /// A family with no labels and one sample.
    pub fn single(
        name: impl Into<Cow<'static, str>>,
        help: impl Into<Cow<'static, str>>,
        kind: Kind,
        value: f64,
    ) -> Family {
        let mut f = Family::new(name, help, kind);
        f.push(LabelSet::NONE, value);
        f
    }

    /// Room for `n` more samples.
    pub fn reserve(&mut self, n: usize) {
        self.samples.reserve_exact(n);
    }

    /// Adds a sample.
    pub fn push(&mut self, labels: LabelSet, value: f64) {
        self.samples.push((labels, value));
    }

    /// The family name (without a counter's `_total`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How many samples it has.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// Whether it has no samples (it is then left out of the exposition).
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// Writes the family as OpenMetrics text.
    fn write(&self, out: &mut String) {
        let name: &str = &self.name;
        out.push_str("# HELP ");
        out.push_str(name);
        out.push(' ');
        out.push_str(&self.help);
        out.push_str("\n# TYPE ");
        out.push_str(name);
        out.push(' ');
        out.push_str(self.kind.as_str());
        out.push('\n');
        let mut number = dtoa::Buffer::new();
        for (labels, value) in &self.samples {
            out.push_str(name);
            let value = match self.kind {
                Kind::Counter => {
                    out.push_str("_total");
                    value.max(0.0)
                }
                Kind::Gauge | Kind::Untyped => *value,
            };
            if let Some(labels) = &labels.0 {
                out.push('{');
                out.push_str(labels);
                out.push('}');
            }
            out.push(' ');
            out.push_str(number.format(value));
            out.push('\n');
        }
    }
}

/// Writes label value `value` escaped as OpenMetrics wants it (`\\`, `\"`, `\n`).
fn push_escaped_label(out: &mut String, value: &str) {
    if !value.contains(['\\', '"', '\n']) {
        out.push_str(value);
        return;
    }
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn escape_help(help: Cow<'static, str>) -> Cow<'static, str> {
    if !help.contains(['\\', '"', '\n']) {
        return help;
    }
    Cow::Owned(
        help.replace('\\', "\\\\")
            .replace('\n', "\\n")
            .replace('"', "\\\""),
    )
}

/// Encodes whatever `registry` holds, then `families` (the groups in order), as OpenMetrics
/// text, in a buffer of `size_hint` bytes to start with (the size of the last scrape saves
/// growing it). A family name used twice (say, a custom query that reuses a built-in name)
/// would make the exposition invalid: the first one wins. Families without samples are left
/// out.
pub fn encode<'a>(
    registry: &prometheus_client::registry::Registry,
    families: impl IntoIterator<Item = &'a Family>,
    size_hint: usize,
) -> Result<String, String> {
    let mut text = String::with_capacity(size_hint.max(16 * 1024));
    prometheus_client::encoding::text::encode_registry(&mut text, registry)
        .map_err(|e| e.to_string())?;
    let mut seen = HashSet::new();
    for family in families {
        if family.is_empty() || !seen.insert(family.name()) {
            continue;
        }
        family.write(&mut text);
    }
    text.push_str("# EOF\n");
    Ok(text)
}

#[cfg(test)]
mod tests {
    use prometheus_client::collector::Collector;
    use prometheus_client::encoding::{
        DescriptorEncoder, EncodeLabel, EncodeLabelSet, LabelSetEncoder, MetricEncoder, NoLabelSet,
    };
    use prometheus_client::metrics::MetricType;
    use prometheus_client::registry::Registry;

    use super::*;

    #[test]
    fn families_encode_as_openmetrics_with_escaped_labels() {
        let mut db = Family::new("pg_stat_database_xact_commit", "Commits.", Kind::Untyped);
        db.push(
            LabelSet::new(&["datid", "datname"], ["5", "we\"ird\\db"]),
            12.0,
        );
        let total = Family::single("pg_exporter_scrapes_total", "Scrapes.", Kind::Counter, 3.0);
        let empty = Family::new("pg_nothing", "No samples.", Kind::Gauge);
        let dup = Family::single("pg_exporter_scrapes", "Duplicate.", Kind::Gauge, 1.0);
        let text = encode(&Registry::default(), &[db, total, empty, dup], 0).unwrap();
        assert_eq!(
            text,
            "# HELP pg_stat_database_xact_commit Commits.\n\
             # TYPE pg_stat_database_xact_commit unknown\n\
             pg_stat_database_xact_commit{datid=\"5\",datname=\"we\\\"ird\\\\db\"} 12.0\n\
             # HELP pg_exporter_scrapes Scrapes.\n\
             # TYPE pg_exporter_scrapes counter\n\
             pg_exporter_scrapes_total 3.0\n\
             # EOF\n"
        );
    }

    /// The same families written by `prometheus-client`'s own encoder, as the exporter did
    /// before it wrote them itself: the reference the direct encoding must equal.
    #[derive(Debug)]
    struct Reference(Vec<Spec>);

    /// A family as plain values: name, help, type, and samples with their label pairs.
    type Spec = (String, String, Kind, Vec<(Vec<(String, String)>, f64)>);

    struct Pairs<'a>(&'a [(String, String)]);

    impl EncodeLabelSet for Pairs<'_> {
        fn encode(&self, mut encoder: LabelSetEncoder) -> Result<(), std::fmt::Error> {
            for (name, value) in self.0 {
                let value = value
                    .replace('\\', "\\\\")
                    .replace('"', "\\\"")
                    .replace('\n', "\\n");
                (name.as_str(), value.as_str()).encode(encoder.encode_label())?;
            }
            Ok(())
        }
    }

    fn encode_value(
        metric: &mut MetricEncoder,
        kind: Kind,
        value: f64,
    ) -> Result<(), std::fmt::Error> {
        match kind {
            Kind::Counter => metric.encode_counter::<NoLabelSet, f64, f64>(&value.max(0.0), None),
            Kind::Gauge | Kind::Untyped => metric.encode_gauge(&value),
        }
    }

    impl Collector for Reference {
        fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
            for (name, help, kind, samples) in &self.0 {
                let name = match kind {
                    Kind::Counter => name.strip_suffix("_total").unwrap_or(name),
                    _ => name,
                };
                let help = help
                    .replace('\\', "\\\\")
                    .replace('\n', "\\n")
                    .replace('"', "\\\"");
                let metric_type = match kind {
                    Kind::Gauge => MetricType::Gauge,
                    Kind::Counter => MetricType::Counter,
                    Kind::Untyped => MetricType::Unknown,
                };
                let mut metric = encoder.encode_descriptor(name, &help, None, metric_type)?;
                for (labels, value) in samples {
                    // No labels: no `{}` either.
                    if labels.is_empty() {
                        encode_value(&mut metric, *kind, *value)?;
                    } else {
                        let labels = Pairs(labels);
                        encode_value(&mut metric.encode_family(&labels)?, *kind, *value)?;
                    }
                }
            }
            Ok(())
        }
    }

    #[test]
    fn the_direct_encoding_equals_prometheus_clients() {
        let values = [
            0.0,
            -0.0,
            1.0,
            -3.5,
            0.1,
            1e-7,
            123_456_789_012.0,
            1e21,
            f64::MAX,
            f64::MIN_POSITIVE,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            2.5e-300,
        ];
        let label_values = ["plain", "quo\"te", "back\\slash", "new\nline", "ünï", ""];
        let mut spec = Vec::new();
        for (i, kind) in [Kind::Gauge, Kind::Counter, Kind::Untyped]
            .into_iter()
            .enumerate()
        {
            let name = format!("m{i}_total");
            let mut samples = Vec::new();
            for (j, v) in values.iter().enumerate() {
                let labels = vec![
                    (
                        "a".to_string(),
                        label_values[j % label_values.len()].to_string(),
                    ),
                    ("b".to_string(), j.to_string()),
                ];
                samples.push((labels, *v));
            }
            spec.push((
                name,
                "Help with \"quotes\", \\ and\nnewline.".to_string(),
                kind,
                samples,
            ));
            spec.push((
                format!("single{i}"),
                "One.".to_string(),
                kind,
                vec![(vec![], 42.0)],
            ));
        }
        let mut families = Vec::new();
        for (name, help, kind, samples) in &spec {
            let mut f = Family::new(name.clone(), help.clone(), *kind);
            for (labels, v) in samples {
                let names: Vec<&str> = labels.iter().map(|(n, _)| n.as_str()).collect();
                f.push(
                    LabelSet::new(&names, labels.iter().map(|(_, v)| v.as_str())),
                    *v,
                );
            }
            families.push(f);
        }
        let mut registry = Registry::default();
        registry.register_collector(Box::new(Reference(spec)));
        let mut expected = String::new();
        prometheus_client::encoding::text::encode(&mut expected, &registry).unwrap();
        let got = encode(&Registry::default(), &families, 0).unwrap();
        assert_eq!(got, expected);
    }
}
