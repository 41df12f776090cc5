//! Custom queries: business metrics from a YAML or TOML file.
//!
//! ```yaml
//! queries:
//!   - name: forum_reports_open          # metric name (or prefix, with several values)
//!     help: Moderation reports not yet handled
//!     type: gauge                        # gauge (default) or counter
//!     query: SELECT reason, count(*) AS open FROM reports WHERE NOT handled GROUP BY reason
//!     values: [open]                     # numeric columns: one metric each
//!     labels: [reason]                   # text columns that become labels
//!     cache_seconds: 60                  # reuse the result for this long (default 0)
//!     timeout_seconds: 2                 # statement_timeout for this query
//! ```
//!
//! With one value column the metric is `name`; with several, `name_<column>`. Counters get
//! `_total` in the exposition. Unknown keys and invalid names are startup errors that name the
//! line of the file.

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::session::Session;
use crate::snapshot::{Family, Kind};

/// A custom queries file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct QueriesError {
    path: String,
    message: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QueriesFile {
    queries: Vec<QuerySpec>,
}

#[derive(Debug, Deserialize, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum SpecKind {
    #[default]
    Gauge,
    Counter,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QuerySpec {
    name: String,
    help: String,
    #[serde(default, rename = "type")]
    kind: SpecKind,
    query: String,
    values: Vec<String>,
    #[serde(default)]
    labels: Vec<String>,
    #[serde(default)]
    cache_seconds: f64,
    #[serde(default)]
    timeout_seconds: Option<f64>,
}

/// A checked custom query.
#[derive(Debug)]
pub struct CustomQuery {
    /// Metric name, or prefix when there are several value columns.
    pub name: String,
    help: String,
    kind: Kind,
    query: String,
    values: Vec<String>,
    labels: Vec<String>,
    /// How long a result is reused (zero: run on every scrape).
    pub cache: Duration,
    /// The statement timeout of this query, when it has its own.
    pub timeout: Option<Duration>,
}

fn valid_name(name: &str, allow_colon: bool) -> bool {
    let mut chars = name.chars();
    let ok_first = |c: char| c.is_ascii_alphabetic() || c == '_' || (allow_colon && c == ':');
    chars.next().is_some_and(ok_first) && chars.all(|c| ok_first(c) || c.is_ascii_digit())
}

/// The 1-based line where `needle` first appears in `text` after a `name` key, if any.
fn line_of_name(text: &str, name: &str) -> Option<usize> {
    text.lines()
        .position(|l| {
            let l = l.trim_start().trim_start_matches("- ").trim_start();
            (l.starts_with("name:") || l.starts_with("name =") || l.starts_with("name="))
                && l.split_once(['=', ':'])
                    .is_some_and(|(_, v)| v.trim().trim_matches(['"', '\'']) == name)
        })
        .map(|i| i + 1)
}

/// Reads and checks a queries file (TOML when it ends in `.toml`, YAML otherwise).
pub fn load(path: &Path) -> Result<Vec<CustomQuery>, QueriesError> {
    let err = |message: String| QueriesError {
        path: path.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(format!("cannot read: {e}")))?;
    parse(&text, path.extension().is_some_and(|e| e == "toml")).map_err(err)
}

/// Parses and checks the text of a queries file.
pub fn parse(text: &str, toml: bool) -> Result<Vec<CustomQuery>, String> {
    let file: QueriesFile = if toml {
        toml::from_str(text).map_err(|e| e.to_string().trim_end().to_string())?
    } else {
        serde_yaml::from_str(text).map_err(|e| e.to_string())?
    };
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(file.queries.len());
    for (i, spec) in file.queries.into_iter().enumerate() {
        let at = match line_of_name(text, &spec.name) {
            Some(line) => format!("line {line}: query {:?}", spec.name),
            None => format!("query #{} {:?}", i + 1, spec.name),
        };
        let fail = |msg: String| format!("{at}: {msg}");
        if !valid_name(&spec.name, true) {
            return Err(fail(
                "name is not a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)".into(),
            ));
        }
        if spec.values.is_empty() {
            return Err(fail("values must name at least one numeric column".into()));
        }
        for column in spec.values.iter().chain(&spec.labels) {
            if !valid_name(column, false) {
                return Err(fail(format!(
                    "column {column:?} is not a valid metric or label name"
                )));
            }
        }
        if let Some(dup) = spec.labels.iter().find(|l| spec.values.contains(l)) {
            return Err(fail(format!("column {dup:?} is both a value and a label")));
        }
        if spec.query.trim().is_empty() {
            return Err(fail("query is empty".into()));
        }
        if !spec.cache_seconds.is_finite() || spec.cache_seconds < 0.0 {
            return Err(fail("cache_seconds must be zero or more".into()));
        }
        let timeout = match spec.timeout_seconds {
            Some(t) if !t.is_finite() || t <= 0.0 => {
                return Err(fail("timeout_seconds must be more than zero".into()));
            }
            Some(t) => Some(Duration::from_secs_f64(t)),
            None => None,
        };
        let names: Vec<String> = if spec.values.len() == 1 {
            vec![spec.name.clone()]
        } else {
            spec.values
                .iter()
                .map(|v| format!("{}_{v}", spec.name))
                .collect()
        };
        for n in names {
            if !seen.insert(n.clone()) {
                return Err(fail(format!("metric {n} is defined twice")));
            }
        }
        out.push(CustomQuery {
            name: spec.name,
            help: spec.help,
            kind: match spec.kind {
                SpecKind::Gauge => Kind::Gauge,
                SpecKind::Counter => Kind::Counter,
            },
            query: spec.query,
            values: spec.values,
            labels: spec.labels,
            cache: Duration::from_secs_f64(spec.cache_seconds),
            timeout,
        });
    }
    Ok(out)
}

impl CustomQuery {
    /// Runs the query and makes one family per value column.
    ///
    /// A query with its own timeout is sent as `SET statement_timeout; query; SET back` in one
    /// simple-query message: one implicit transaction, so when the query fails the first SET
    /// is rolled back with it and the session keeps `default_timeout`.
    pub async fn run(
        &self,
        session: &Session,
        default_timeout: Duration,
    ) -> Result<Vec<Family>, String> {
        let query = self.query.trim().trim_end_matches(';');
        let rows = match self.timeout {
            Some(t) if t != default_timeout => {
                let ms = |d: Duration| d.as_millis().max(1);
                let sql = format!(
                    "SET statement_timeout = {}; {query}; SET statement_timeout = {}",
                    ms(t),
                    ms(default_timeout)
                );
                session.query(&sql).await?
            }
            _ => session.query(query).await?,
        };
        if let Some(first) = rows.first() {
            let columns = first.columns();
            if let Some(missing) = self
                .values
                .iter()
                .chain(&self.labels)
                .find(|c| !columns.contains(&c.as_str()))
            {
                return Err(format!(
                    "column {missing:?} is not in the result (columns: {})",
                    columns.join(", ")
                ));
            }
        }
        let labels: Vec<&str> = self.labels.iter().map(String::as_str).collect();
        let sets = crate::collectors::row_labels(&rows, &labels);
        let mut families = Vec::with_capacity(self.values.len());
        for value in &self.values {
            let name = if self.values.len() == 1 {
                self.name.clone()
            } else {
                format!("{}_{value}", self.name)
            };
            let mut family = Family::new(name, self.help.clone(), self.kind);
            let at = rows.first().and_then(|first| first.index(value));
            for (row, set) in rows.iter().zip(&sets) {
                let text = at.and_then(|at| row.text_at(at));
                let Some(v) = text.and_then(crate::session::parse_number) else {
                    if let Some(text) = text {
                        return Err(format!("column {value:?} holds {text:?}, not a number"));
                    }
                    continue;
                };
                family.push(set.clone(), v);
            }
            families.push(family);
        }
        Ok(families)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "queries:\n  - name: forum_reports_open\n    help: Open reports\n    query: SELECT 1 AS n\n    values: [n]\n    cache_seconds: 30\n    timeout_seconds: 0.5\n";

    #[test]
    fn a_good_yaml_file_loads() {
        let q = parse(GOOD, false).unwrap();
        assert_eq!(q[0].name, "forum_reports_open");
        assert_eq!(q[0].cache, Duration::from_secs(30));
        assert_eq!(q[0].timeout, Some(Duration::from_millis(500)));
    }

    #[test]
    fn a_good_toml_file_loads() {
        let text = "[[queries]]\nname = \"x_total\"\nhelp = \"h\"\ntype = \"counter\"\nquery = \"SELECT 1 AS a, 2 AS b\"\nvalues = [\"a\", \"b\"]\n";
        let q = parse(text, true).unwrap();
        assert_eq!(q[0].kind, Kind::Counter);
    }

    #[test]
    fn an_unknown_key_is_an_error_naming_the_line() {
        let text = GOOD.replace("cache_seconds", "cache_secs");
        let err = parse(&text, false).unwrap_err();
        assert!(
            err.contains("cache_secs") && err.contains("line 6"),
            "{err}"
        );
    }

    #[test]
    fn a_toml_syntax_error_names_the_line() {
        let err = parse("[[queries]]\nname = \"x\"\nhelp = oops\n", true).unwrap_err();
        assert!(err.contains("line 3"), "{err}");
    }

    #[test]
    fn an_invalid_metric_name_is_an_error_naming_the_line() {
        let text = GOOD.replace("forum_reports_open", "forum-reports");
        let err = parse(&text, false).unwrap_err();
        assert!(err.starts_with("line 2: query \"forum-reports\""), "{err}");
    }

    #[test]
    fn a_query_without_values_is_refused() {
        let text = GOOD.replace("values: [n]", "values: []");
        assert!(
            parse(&text, false)
                .unwrap_err()
                .contains("values must name")
        );
    }
}
