//! The shared state behind one lock, and the `prometheus-client` [`Collector`] that encodes a
//! snapshot of it on each scrape. [`state`] and [`registry`] build both for a [`Plan`].

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use crate::aggregate::{Aggregator, Histograms};
use crate::config::Plan;
use crate::record::{METHODS, PARSE_ERROR_REASONS};

/// What the tailer reported about files (written by the application's tailer events).
#[derive(Clone, Debug, Default)]
pub struct TailStats {
    /// Rotations seen (a watched path now names another file).
    pub rotations: u64,
    /// Truncations seen (a file shrank below the read offset).
    pub truncations: u64,
    /// Rotated files the checkpoint named but a restart could not find (their unread lines
    /// are not counted).
    pub rotated_files_lost: u64,
    /// Files currently watched.
    pub files_watched: u64,
    /// Bytes behind the end of each file, by path.
    pub lag: BTreeMap<String, u64>,
}

/// Everything the exporter counts.
#[derive(Debug)]
pub struct State {
    /// Counts from the lines.
    pub agg: Aggregator,
    /// Counts from the tailer.
    pub tail: TailStats,
    /// Names of the per-file static labels (the same for every file).
    pub label_names: Vec<String>,
    /// Values of each static label set, in `label_names` order.
    pub label_values: Vec<Vec<String>>,
}

/// The state shared by the tailer and the scrapes.
pub type Shared = Arc<Mutex<State>>;

/// Locks the shared state, going on after a panic elsewhere (counts stay consistent per line).
pub fn lock(shared: &Shared) -> MutexGuard<'_, State> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

/// The shared state for a plan (the plan's rules move into it).
pub fn state(plan: &mut Plan) -> Shared {
    let mut agg = Aggregator::new(
        plan.settings.clone(),
        std::mem::take(&mut plan.normalizer),
        std::mem::take(&mut plan.events),
    );
    agg.reserve_label_sets(plan.label_values.len());
    Arc::new(Mutex::new(State {
        agg,
        tail: TailStats::default(),
        label_names: plan.label_names.clone(),
        label_values: plan.label_values.clone(),
    }))
}

/// A registry with the build info and the state's collector.
pub fn registry(shared: &Shared) -> Registry {
    let mut registry = Registry::default();
    service_kit::register_build_info(
        &mut registry,
        "nginx_log_exporter",
        env!("CARGO_PKG_VERSION"),
    );
    registry.register_collector(Box::new(StateCollector(shared.clone())));
    registry
}

/// Encodes [`State`] on each scrape.
#[derive(Debug, Clone)]
pub struct StateCollector(pub Shared);

type Labels<'a> = Vec<(&'a str, &'a str)>;

fn status_label(status: u16, class: bool) -> String {
    if class {
        format!("{}xx", status / 100)
    } else {
        format!("{status:03}")
    }
}

fn counter(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    samples: &[(Labels<'_>, u64)],
) -> Result<(), std::fmt::Error> {
    let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
    if let [(labels, value)] = samples
        && labels.is_empty()
    {
        return ConstCounter::new(*value).encode(metric);
    }
    for (labels, value) in samples {
        ConstCounter::new(*value).encode(metric.encode_family(labels)?)?;
    }
    Ok(())
}

fn gauge(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    samples: &[(Labels<'_>, i64)],
) -> Result<(), std::fmt::Error> {
    let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
    if let [(labels, value)] = samples
        && labels.is_empty()
    {
        return ConstGauge::new(*value).encode(metric);
    }
    for (labels, value) in samples {
        ConstGauge::new(*value).encode(metric.encode_family(labels)?)?;
    }
    Ok(())
}

fn histogram(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    state: &State,
    hist: &Histograms,
) -> Result<(), std::fmt::Error> {
    let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Histogram)?;
    for (slot, (labels, endpoint)) in state.agg.hist_keys.iter().enumerate() {
        let (buckets, count) = hist.buckets(slot);
        if count == 0 {
            continue;
        }
        let mut set: Labels<'_> =
            vec![("endpoint", state.agg.endpoints[*endpoint as usize].as_str())];
        push_static(&mut set, state, *labels);
        metric.encode_family(&set)?.encode_histogram::<NoLabelSet>(
            hist.sums[slot],
            count,
            &buckets,
            None,
        )?;
    }
    Ok(())
}

fn push_static<'a>(set: &mut Labels<'a>, state: &'a State, labels: u16) {
    if let Some(values) = state.label_values.get(labels as usize) {
        for (name, value) in state.label_names.iter().zip(values) {
            set.push((name.as_str(), value.as_str()));
        }
    }
}

impl Collector for StateCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let state = lock(&self.0);
        let agg = &state.agg;
        let class = agg.settings.status_class;
        let statuses: Vec<String> = agg
            .series
            .iter()
            .map(|s| status_label(s.status, class))
            .collect();
        let series_labels: Vec<Labels<'_>> = agg
            .series
            .iter()
            .zip(&statuses)
            .map(|(s, status)| {
                let mut set = vec![
                    ("method", METHODS[s.method as usize]),
                    ("status", status.as_str()),
                    ("endpoint", agg.endpoints[s.endpoint as usize].as_str()),
                ];
                push_static(&mut set, &state, s.labels);
                set
            })
            .collect();
        // The label sets are made once a scrape and shared by the three families.
        let by_series = |encoder: &mut DescriptorEncoder,
                         name: &str,
                         help: &str,
                         f: fn(&crate::aggregate::Series) -> u64|
         -> Result<(), std::fmt::Error> {
            let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            for (s, labels) in agg.series.iter().zip(&series_labels) {
                ConstCounter::new(f(s)).encode(metric.encode_family(&labels.as_slice())?)?;
            }
            Ok(())
        };
        by_series(
            &mut encoder,
            "nginx_http_requests",
            "Requests by method, status and endpoint template.",
            |s| s.requests,
        )?;
        by_series(
            &mut encoder,
            "nginx_http_response_bytes",
            "Response body bytes ($body_bytes_sent) by method, status and endpoint template.",
            |s| s.response_bytes,
        )?;
        by_series(
            &mut encoder,
            "nginx_http_request_bytes",
            "Request bytes ($request_length) by method, status and endpoint template.",
            |s| s.request_bytes,
        )?;
        histogram(
            &mut encoder,
            "nginx_http_request_duration_seconds",
            "Request duration ($request_time) by endpoint template.",
            &state,
            &agg.durations,
        )?;
        histogram(
            &mut encoder,
            "nginx_http_upstream_duration_seconds",
            "Time spent in upstreams ($upstream_response_time, summed over upstreams) by endpoint template.",
            &state,
            &agg.upstreams,
        )?;
        // By static label set too (e.g. failed logins per vhost): the sets are the config's.
        let names = agg.events.names();
        let st: &State = &state;
        let events: Vec<(Labels<'_>, u64)> = agg
            .event_counts
            .chunks(names.len().max(1))
            .enumerate()
            .flat_map(|(set, counts)| {
                names.iter().zip(counts).map(move |(n, c)| {
                    let mut labels = vec![("event", n.as_str())];
                    push_static(&mut labels, st, set as u16);
                    (labels, *c)
                })
            })
            .collect();
        counter(
            &mut encoder,
            "nginx_events",
            "Named events: requests matching an event rule (method, endpoint, status).",
            &events,
        )?;
        let top: Vec<(Labels<'_>, u64)> = agg
            .top_requests()
            .into_iter()
            .map(|(method, endpoint, count)| {
                (
                    vec![("method", METHODS[method as usize]), ("endpoint", endpoint)],
                    count,
                )
            })
            .collect();
        counter(
            &mut encoder,
            "nginx_http_top_requests",
            "Requests of the most requested (method, endpoint) pairs: exact for endpoints kept, space-saving upper bounds for endpoints folded by the caps.",
            &top,
        )?;
        let now = agg.now_ms();
        let sources: Vec<(String, String, i64)> = names
            .iter()
            .enumerate()
            .flat_map(|(i, name)| {
                agg.sources
                    .top(i, now)
                    .into_iter()
                    .map(move |(source, count)| {
                        (
                            name.clone(),
                            source.label(),
                            i64::try_from(count).unwrap_or(i64::MAX),
                        )
                    })
            })
            .collect();
        let sources: Vec<(Labels<'_>, i64)> = sources
            .iter()
            .map(|(event, source, count)| {
                (
                    vec![("event", event.as_str()), ("source", source.as_str())],
                    *count,
                )
            })
            .collect();
        gauge(
            &mut encoder,
            "nginx_event_top_sources",
            "Occurrences of each named event in the sliding window from its top client addresses (IPv6 by /64); space-saving estimates, exact while few addresses.",
            &sources,
        )?;
        counter(
            &mut encoder,
            "nginx_http_endpoints_folded",
            "Requests counted under the endpoint other because the endpoint or series cap was reached.",
            &[(vec![], agg.folded)],
        )?;
        counter(
            &mut encoder,
            "nginx_log_lines",
            "Log lines read.",
            &[(vec![], agg.lines)],
        )?;
        counter(
            &mut encoder,
            "nginx_log_bytes",
            "Log bytes read.",
            &[(vec![], agg.bytes)],
        )?;
        let errors: Vec<(Labels<'_>, u64)> = PARSE_ERROR_REASONS
            .iter()
            .zip(agg.parse_errors)
            .map(|(r, c)| (vec![("reason", *r)], c))
            .collect();
        counter(
            &mut encoder,
            "nginx_log_parse_errors",
            "Log lines not counted, by reason.",
            &errors,
        )?;
        let tail = &state.tail;
        counter(
            &mut encoder,
            "nginx_log_rotations",
            "Rotations seen (the path names a new file; the old one was read to its end).",
            &[(vec![], tail.rotations)],
        )?;
        counter(
            &mut encoder,
            "nginx_log_truncations",
            "Truncations seen (a file shrank below the read offset; reading restarted at 0).",
            &[(vec![], tail.truncations)],
        )?;
        counter(
            &mut encoder,
            "nginx_log_rotated_files_lost",
            "Rotated files with unread lines that a restart could not find again (deleted or compressed while the exporter was down).",
            &[(vec![], tail.rotated_files_lost)],
        )?;
        gauge(
            &mut encoder,
            "nginx_log_files_watched",
            "Log files currently watched.",
            &[(vec![], tail.files_watched as i64)],
        )?;
        let lag: Vec<(Labels<'_>, i64)> = tail
            .lag
            .iter()
            .map(|(f, l)| (vec![("file", f.as_str())], *l as i64))
            .collect();
        gauge(
            &mut encoder,
            "nginx_log_lag_bytes",
            "Bytes between the read offset and the end of each file.",
            &lag,
        )?;
        Ok(())
    }
}
