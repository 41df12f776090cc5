//! The metrics of one scrape as plain data, and their encoding.
//!
//! Collectors run their SQL first and return [`Family`] values; the scrape then wraps them in a
//! [`Snapshot`], a `prometheus-client` [`Collector`] that encodes them synchronously. Nothing
//! slow happens while encoding.

use std::collections::HashSet;
use std::fmt;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeLabel, EncodeLabelSet, LabelSetEncoder, MetricEncoder, NoLabelSet,
};
use prometheus_client::metrics::MetricType;

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

/// One metric family: name, help, label names and samples.
#[derive(Clone, Debug)]
pub struct Family {
    name: String,
    help: String,
    kind: Kind,
    label_names: Vec<String>,
    samples: Vec<(Vec<String>, f64)>,
}

impl Family {
    /// An empty family. A counter's `name` may end in `_total`; the suffix is handled here.
    pub fn new(
        name: impl Into<String>,
        help: impl AsRef<str>,
        kind: Kind,
        label_names: &[&str],
    ) -> Family {
        let mut name = name.into();
        if kind == Kind::Counter
            && let Some(stripped) = name.strip_suffix("_total")
        {
            name = stripped.to_string();
        }
        Family {
            name,
            help: escape_help(help.as_ref()),
            kind,
            label_names: label_names.iter().map(|s| s.to_string()).collect(),
            samples: Vec::new(),
        }
    }

    /// A gauge with no labels and one sample.
    pub fn single(
        name: impl Into<String>,
        help: impl AsRef<str>,
        kind: Kind,
        value: f64,
    ) -> Family {
        let mut f = Family::new(name, help, kind, &[]);
        f.push(Vec::new(), value);
        f
    }

    /// Adds a sample; `label_values` are in the order of the label names.
    pub fn push(&mut self, label_values: Vec<String>, value: f64) {
        debug_assert_eq!(label_values.len(), self.label_names.len());
        let escaped = label_values.into_iter().map(|v| escape_label(&v)).collect();
        self.samples.push((escaped, value));
    }

    /// The family name (without a counter's `_total`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The samples: label values and value.
    pub fn samples(&self) -> &[(Vec<String>, f64)] {
        &self.samples
    }

    /// The label names.
    pub fn label_names(&self) -> &[String] {
        &self.label_names
    }
}

/// The families of one scrape, encoded by `prometheus-client`.
#[derive(Debug, Default)]
pub struct Snapshot(pub Vec<Family>);

struct Labels<'a> {
    names: &'a [String],
    values: &'a [String],
}

impl EncodeLabelSet for Labels<'_> {
    fn encode(&self, mut encoder: LabelSetEncoder) -> Result<(), fmt::Error> {
        for (name, value) in self.names.iter().zip(self.values) {
            (name.as_str(), value.as_str()).encode(encoder.encode_label())?;
        }
        Ok(())
    }
}

impl Collector for Snapshot {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        // A name used twice (say, a custom query that reuses a built-in name) would make the
        // exposition invalid: the first one wins.
        let mut seen = HashSet::new();
        for family in &self.0 {
            if family.samples.is_empty() || !seen.insert(family.name.as_str()) {
                continue;
            }
            let metric_type = match family.kind {
                Kind::Gauge => MetricType::Gauge,
                Kind::Counter => MetricType::Counter,
                Kind::Untyped => MetricType::Unknown,
            };
            let mut metric =
                encoder.encode_descriptor(&family.name, &family.help, None, metric_type)?;
            for (values, value) in &family.samples {
                // No labels: no `{}` either.
                if family.label_names.is_empty() {
                    encode_value(&mut metric, family.kind, *value)?;
                } else {
                    let labels = Labels {
                        names: &family.label_names,
                        values,
                    };
                    encode_value(&mut metric.encode_family(&labels)?, family.kind, *value)?;
                }
            }
        }
        Ok(())
    }
}

fn encode_value(metric: &mut MetricEncoder, kind: Kind, value: f64) -> Result<(), fmt::Error> {
    match kind {
        Kind::Counter => metric.encode_counter::<NoLabelSet, f64, f64>(&value.max(0.0), None),
        Kind::Gauge | Kind::Untyped => metric.encode_gauge(&value),
    }
}

fn escape_label(value: &str) -> String {
    if !value.contains(['\\', '"', '\n']) {
        return value.to_string();
    }
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn escape_help(help: &str) -> String {
    help.replace('\\', "\\\\")
        .replace('\n', "\\n")
        .replace('"', "\\\"")
}

/// Encodes `families` (and whatever else `registry` holds) as OpenMetrics text.
pub fn encode(
    mut registry: prometheus_client::registry::Registry,
    families: Vec<Family>,
) -> Result<String, String> {
    registry.register_collector(Box::new(Snapshot(families)));
    let mut text = String::with_capacity(16 * 1024);
    prometheus_client::encoding::text::encode(&mut text, &registry).map_err(|e| e.to_string())?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_encode_as_openmetrics_with_escaped_labels() {
        let mut db = Family::new(
            "pg_stat_database_xact_commit",
            "Commits.",
            Kind::Untyped,
            &["datid", "datname"],
        );
        db.push(vec!["5".into(), "we\"ird\\db".into()], 12.0);
        let total = Family::single("pg_exporter_scrapes_total", "Scrapes.", Kind::Counter, 3.0);
        let empty = Family::new("pg_nothing", "No samples.", Kind::Gauge, &[]);
        let dup = Family::single("pg_exporter_scrapes", "Duplicate.", Kind::Gauge, 1.0);
        let text = encode(Default::default(), vec![db, total, empty, dup]).unwrap();
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
}
