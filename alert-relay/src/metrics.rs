//! The relay's own metrics (names pinned in `docs/contracts.md`).

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// `source` label of received notifications.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabel {
    /// `alertmanager` or `grafana`.
    pub source: String,
}

/// Every metric, cheap to clone.
#[derive(Clone, Debug)]
pub struct Metrics {
    /// `alert_relay_notifications_received_total{source}`: accepted (2xx) notifications.
    pub received: Family<SourceLabel, Counter>,
    /// `alert_relay_notifications_delivered_total`: Discord messages delivered.
    pub delivered: Counter,
    /// `alert_relay_delivery_retries_total`: attempts after a failed one.
    pub retries: Counter,
    /// `alert_relay_delivery_failures_total`: failed attempts (5xx, network, 4xx).
    pub failures: Counter,
    /// `alert_relay_dead_letters_total`: messages given up.
    pub dead_letters: Counter,
    /// `alert_relay_spool_depth`: messages waiting.
    pub spool_depth: Gauge,
    /// `alert_relay_delivery_latency_seconds`: accepted to delivered.
    pub latency: Histogram,
    /// `alert_relay_discord_rate_limited_total`: 429 answers.
    pub rate_limited: Counter,
    /// `alert_relay_notifications_deduplicated_total`: duplicates dropped (extra, not pinned).
    pub deduplicated: Counter,
    registry: Arc<Registry>,
}

impl Metrics {
    /// Registers every metric and `alert_relay_build_info`.
    pub fn new() -> Metrics {
        let mut r = Registry::default();
        let received = Family::<SourceLabel, Counter>::default();
        let latency = Histogram::new([
            0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
        ]);
        let m = Metrics {
            received: received.clone(),
            delivered: Counter::default(),
            retries: Counter::default(),
            failures: Counter::default(),
            dead_letters: Counter::default(),
            spool_depth: Gauge::default(),
            latency: latency.clone(),
            rate_limited: Counter::default(),
            deduplicated: Counter::default(),
            registry: Arc::new(Registry::default()),
        };
        r.register(
            "alert_relay_notifications_received",
            "Notifications accepted (stored durably), by source",
            received,
        );
        r.register(
            "alert_relay_notifications_delivered",
            "Discord messages delivered",
            m.delivered.clone(),
        );
        r.register(
            "alert_relay_delivery_retries",
            "Delivery attempts after a failed one",
            m.retries.clone(),
        );
        r.register(
            "alert_relay_delivery_failures",
            "Failed delivery attempts (5xx, network errors, refusals)",
            m.failures.clone(),
        );
        r.register(
            "alert_relay_dead_letters",
            "Messages moved to the dead-letter store",
            m.dead_letters.clone(),
        );
        r.register(
            "alert_relay_spool_depth",
            "Messages waiting in the spool",
            m.spool_depth.clone(),
        );
        r.register(
            "alert_relay_delivery_latency_seconds",
            "Time from acceptance to delivery to Discord",
            latency,
        );
        r.register(
            "alert_relay_discord_rate_limited",
            "429 answers from Discord",
            m.rate_limited.clone(),
        );
        r.register(
            "alert_relay_notifications_deduplicated",
            "Duplicate notifications dropped (HA pairs, retries)",
            m.deduplicated.clone(),
        );
        service_kit::register_build_info(&mut r, "alert_relay", env!("CARGO_PKG_VERSION"));
        service_kit::process::register(&mut r);
        Metrics {
            registry: Arc::new(r),
            ..m
        }
    }

    /// OpenMetrics text of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String");
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}
