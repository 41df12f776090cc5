//! The configuration file (TOML, unknown keys rejected) and its merge with the flags into a
//! [`Plan`]: what to read, how to parse it, how to name endpoints and events.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::aggregate::Settings;
use crate::cli::Args;
use crate::events::{EventError, EventRule, Events, preset_events};
use crate::format::CompileError;
use crate::lineformat::LineFormat;
use crate::normalize::{Normalizer, Rule, preset_rules};
use crate::sources::{SourceField, SourceSettings};
use crate::tailer::LogPattern;

/// Why the config file, or its merge with the flags, is refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file cannot be read.
    #[error("cannot read config file {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The config file is not valid TOML of this shape (unknown keys are errors).
    #[error("invalid config file {}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        source: toml::de::Error,
    },
    /// A log format that does not compile.
    #[error("invalid log format {spec:?}")]
    Format {
        /// The format as given.
        spec: String,
        /// Why.
        source: CompileError,
    },
    /// Neither flags nor file name a log file.
    #[error("no log file given: use --log-file PATH_OR_GLOB or [[files]] in the config file")]
    NoLogFile,
    /// A static label name Prometheus would refuse, or one the exporter uses.
    #[error("invalid static label name {0:?}: use [a-zA-Z_][a-zA-Z0-9_]*, not a reserved name")]
    LabelName(String),
    /// More static label sets than fit in a series key.
    #[error("too many static label sets")]
    LabelSets(#[source] std::num::TryFromIntError),
    /// An endpoint rule regex that does not compile.
    #[error("invalid rule regex {regex:?}")]
    Regex {
        /// The regex as given.
        regex: String,
        /// Why.
        source: regex::Error,
    },
    /// An endpoint rule with neither prefix + endpoint nor regex + replace.
    #[error("each [[rules]] entry needs either prefix + endpoint, or regex + replace")]
    Rule,
    /// A preset name that is not one.
    #[error("unknown preset {0:?}: use forum, misago or none")]
    Preset(String),
    /// An event rule that is refused.
    #[error(transparent)]
    Event(#[from] EventError),
    /// A source window that is not a duration of at least a second.
    #[error("invalid source_window: {0}")]
    Window(String),
    /// A trusted proxy that is not an address or network.
    #[error("invalid trusted_proxies entry: {0}")]
    Proxy(String),
    /// A source field that a file's format does not log.
    #[error("the source field ${field} is not in the log format {format:?}")]
    SourceField {
        /// The variable.
        field: String,
        /// The format.
        format: String,
    },
    /// Histogram buckets that are not positive, finite numbers.
    #[error("histogram buckets must be positive, finite numbers: {0:?}")]
    Buckets(Vec<f64>),
}

/// The file's top level.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Default log format of the files.
    pub format: Option<String>,
    /// `forum`, `misago` or `none`.
    pub preset: Option<String>,
    /// Label statuses by class.
    pub status_class: Option<bool>,
    /// Endpoint cap.
    pub max_endpoints: Option<usize>,
    /// Series cap.
    pub max_series: Option<usize>,
    /// Size of the top list.
    pub top_n: Option<usize>,
    /// Keys the top list monitors.
    pub top_capacity: Option<usize>,
    /// Longest line counted.
    pub max_line_bytes: Option<usize>,
    /// Buckets of the request duration histogram, in seconds.
    pub duration_buckets: Option<Vec<f64>>,
    /// Buckets of the upstream duration histogram, in seconds.
    pub upstream_buckets: Option<Vec<f64>>,
    /// Client addresses reported per event.
    pub source_top_k: Option<usize>,
    /// Their sliding window (`10m`).
    pub source_window: Option<String>,
    /// The variable holding a line's client address (`remote_addr`).
    pub source_field: Option<String>,
    /// Proxies skipped from the right of an `X-Forwarded-For` source field.
    pub trusted_proxies: Option<Vec<String>>,
    /// Files to read.
    #[serde(default)]
    pub files: Vec<FileConfig>,
    /// Endpoint rules, tried before the preset's.
    #[serde(default)]
    pub rules: Vec<RuleConfig>,
    /// Event rules, added to the preset's.
    #[serde(default)]
    pub events: Vec<EventConfig>,
}

/// One file or glob.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Path or glob.
    pub path: String,
    /// Its log format, if not the default.
    pub format: Option<String>,
    /// Static labels added to its series (e.g. `vhost`).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// An endpoint rule: `prefix` + `endpoint`, or `regex` + `replace`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// Path prefix.
    pub prefix: Option<String>,
    /// Endpoint for paths with that prefix.
    pub endpoint: Option<String>,
    /// Regex over the path.
    pub regex: Option<String>,
    /// Replacement for the regex.
    pub replace: Option<String>,
}

/// An event rule.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventConfig {
    /// Event name (label value).
    pub name: String,
    /// Method, or `*` (default).
    #[serde(default = "any")]
    pub method: String,
    /// Endpoint template; trailing `*` for a prefix; `*` for any (default).
    #[serde(default = "any")]
    pub path: String,
    /// Status code, class (`5xx`) or `*` (default).
    #[serde(default = "any")]
    pub status: String,
}

fn any() -> String {
    "*".into()
}

impl Config {
    /// Reads and checks a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_path_buf(),
            source,
        })
    }
}

/// One file pattern, resolved.
#[derive(Clone, Debug)]
pub struct Source {
    /// Path or glob.
    pub pattern: LogPattern,
    /// Index into [`Plan::formats`].
    pub format: usize,
    /// Index into [`Plan::label_values`].
    pub labels: u16,
}

/// Everything the exporter needs to start, from flags and file.
#[derive(Debug)]
pub struct Plan {
    /// Files.
    pub sources: Vec<Source>,
    /// Compiled formats.
    pub formats: Vec<LineFormat>,
    /// Static label names.
    pub label_names: Vec<String>,
    /// Static label values per set.
    pub label_values: Vec<Vec<String>>,
    /// Limits and buckets.
    pub settings: Settings,
    /// Endpoint rules.
    pub normalizer: Normalizer,
    /// Event rules.
    pub events: Events,
}

fn valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with("__")
        && !["method", "status", "endpoint", "le", "event"].contains(&name)
}

/// Merges flags over the config file.
pub fn plan(args: &Args, config: Config) -> Result<Plan, ConfigError> {
    let default_format = args
        .format
        .clone()
        .or(config.format.clone())
        .unwrap_or_else(|| "forum".into());
    let preset = args
        .preset
        .clone()
        .or(config.preset.clone())
        .unwrap_or_else(|| "forum".into());
    let defaults = Settings::default();
    let source_top_k = args
        .source_top_k
        .or(config.source_top_k)
        .unwrap_or(defaults.sources.top_k);
    let source_window = match (args.source_window, &config.source_window) {
        (Some(w), _) => w,
        (None, Some(text)) => crate::cli::parse_window(text).map_err(ConfigError::Window)?,
        (None, None) => defaults.sources.window,
    };
    let explicit_source = args.source_field.is_some() || config.source_field.is_some();
    let source_variable = args
        .source_field
        .clone()
        .or(config.source_field.clone())
        .map(|v| v.trim().trim_start_matches('$').to_string())
        .unwrap_or_else(|| "remote_addr".into());
    let trusted = if args.trusted_proxy.is_empty() {
        config
            .trusted_proxies
            .iter()
            .flatten()
            .map(|p| crate::cli::parse_net(p).map_err(ConfigError::Proxy))
            .collect::<Result<Vec<_>, _>>()?
    } else {
        args.trusted_proxy.clone()
    };
    let mut formats: Vec<(String, LineFormat)> = Vec::new();
    let mut format_index = |spec: &str| -> Result<usize, ConfigError> {
        if let Some(i) = formats.iter().position(|(s, _)| s == spec) {
            return Ok(i);
        }
        let compiled =
            LineFormat::compile_with_source(spec, &source_variable).map_err(|source| {
                ConfigError::Format {
                    spec: spec.to_string(),
                    source,
                }
            })?;
        // A source field asked for must be there; `$remote_addr` by default only when it is.
        if explicit_source && source_top_k > 0 && !compiled.has_source(&source_variable) {
            return Err(ConfigError::SourceField {
                field: source_variable.clone(),
                format: spec.to_string(),
            });
        }
        formats.push((spec.to_string(), compiled));
        Ok(formats.len() - 1)
    };
    let mut files: Vec<(String, Option<String>, BTreeMap<String, String>)> = config
        .files
        .into_iter()
        .map(|f| (f.path, f.format, f.labels))
        .collect();
    // Files given as flags replace the file's list (flag > file).
    if !args.log_file.is_empty() {
        files = args
            .log_file
            .iter()
            .map(|p| (p.clone(), None, BTreeMap::new()))
            .collect();
    }
    if files.is_empty() {
        return Err(ConfigError::NoLogFile);
    }
    let label_names: Vec<String> = files
        .iter()
        .flat_map(|f| f.2.keys().cloned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if let Some(bad) = label_names.iter().find(|n| !valid_label_name(n)) {
        return Err(ConfigError::LabelName(bad.clone()));
    }
    let mut label_values: Vec<Vec<String>> = Vec::new();
    let mut sources = Vec::new();
    for (pattern, format, labels) in files {
        let format = format_index(format.as_deref().unwrap_or(&default_format))?;
        let values: Vec<String> = label_names
            .iter()
            .map(|n| {
                labels
                    .get(n)
                    .cloned()
                    .unwrap_or_default()
                    .replace(['"', '\\', '\n'], "_")
            })
            .collect();
        let labels = match label_values.iter().position(|v| *v == values) {
            Some(i) => i,
            None => {
                label_values.push(values);
                label_values.len() - 1
            }
        };
        sources.push(Source {
            pattern: LogPattern::new(pattern),
            format,
            labels: u16::try_from(labels).map_err(ConfigError::LabelSets)?,
        });
    }
    let mut rules = Vec::new();
    for r in config.rules {
        rules.push(match (r.prefix, r.endpoint, r.regex, r.replace) {
            (Some(prefix), Some(endpoint), None, None) => Rule::prefix(&prefix, &endpoint),
            (None, None, Some(regex), Some(replace)) => Rule::regex(&regex, &replace)
                .map_err(|source| ConfigError::Regex { regex, source })?,
            _ => return Err(ConfigError::Rule),
        });
    }
    rules.extend(preset_rules(&preset).ok_or_else(|| ConfigError::Preset(preset.clone()))?);
    let mut event_rules = preset_events(&preset).unwrap_or_default();
    for e in config.events {
        event_rules.push(EventRule::new(&e.name, &e.method, &e.path, &e.status)?);
    }
    let events = Events::new(event_rules)?;
    let buckets = |b: Option<Vec<f64>>, default: Vec<f64>| -> Result<Vec<f64>, ConfigError> {
        let b = b.unwrap_or(default);
        if b.is_empty() || b.iter().any(|x| !x.is_finite() || *x <= 0.0) {
            return Err(ConfigError::Buckets(b));
        }
        Ok(b)
    };
    let settings = Settings {
        max_endpoints: args
            .max_endpoints
            .or(config.max_endpoints)
            .unwrap_or(defaults.max_endpoints),
        max_series: config.max_series.unwrap_or(defaults.max_series),
        duration_buckets: buckets(config.duration_buckets, defaults.duration_buckets)?,
        upstream_buckets: buckets(config.upstream_buckets, defaults.upstream_buckets)?,
        status_class: args.status_class || config.status_class.unwrap_or(false),
        top_n: args.top_n.or(config.top_n).unwrap_or(defaults.top_n),
        top_capacity: config.top_capacity.unwrap_or(defaults.top_capacity),
        max_line_bytes: config.max_line_bytes.unwrap_or(defaults.max_line_bytes),
        sources: SourceSettings::new(source_top_k, source_window),
        source_field: SourceField {
            variable: source_variable,
            trusted,
        },
    };
    Ok(Plan {
        sources,
        formats: formats.into_iter().map(|(_, f)| f).collect(),
        label_names,
        label_values,
        settings,
        normalizer: Normalizer::new(rules),
        events,
    })
}
