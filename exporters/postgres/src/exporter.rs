//! The exporter: the main target behind `/metrics`, probe targets behind `/probe`, and the
//! exporter's own metrics.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::registry::Registry;
use tokio::time::Instant;

use crate::dsn::Dsn;
use crate::probe::{AuthModules, ProbeError};
use crate::snapshot::{self, Family, Kind, LabelSet};
use crate::target::{Outcome, ScrapeOptions, Target};

/// Settings of the exporter.
#[derive(Clone, Debug)]
pub struct ExporterOptions {
    /// What every scrape does.
    pub scrape: ScrapeOptions,
    /// The scrape timeout when Prometheus sends none.
    pub scrape_timeout: Duration,
    /// How much of Prometheus' timeout is kept for the answer to travel back.
    pub timeout_offset: Duration,
    /// At most this many probe targets are kept (each with its connection).
    pub max_probe_targets: usize,
    /// The auth modules `/probe` may use; `None`: `/probe` is off.
    pub auth_modules: Option<Arc<AuthModules>>,
}

/// The exporter.
pub struct Exporter {
    options: ExporterOptions,
    main: Target,
    probes: std::sync::Mutex<Vec<(String, Arc<Target>, Instant)>>,
    scrapes: AtomicU64,
    /// The size of the last `/metrics` text: the next one's buffer starts that big.
    last_size: AtomicUsize,
}

impl std::fmt::Debug for Exporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exporter")
            .field("main", &self.main)
            .finish()
    }
}

impl Exporter {
    /// An exporter of the server `dsn`.
    pub fn new(dsn: Dsn, options: ExporterOptions) -> Arc<Exporter> {
        Arc::new(Exporter {
            options,
            main: Target::new(dsn),
            probes: Default::default(),
            scrapes: AtomicU64::new(0),
            last_size: AtomicUsize::new(0),
        })
    }

    /// When a scrape with Prometheus' `timeout` must be done: the timeout minus the offset
    /// (but never less than half of it).
    pub fn deadline(&self, timeout: Option<Duration>) -> Instant {
        let timeout = timeout.unwrap_or(self.options.scrape_timeout);
        let budget = timeout
            .saturating_sub(self.options.timeout_offset)
            .max(timeout / 2);
        Instant::now() + budget
    }

    /// The OpenMetrics text of a scrape of the main target.
    pub async fn metrics(&self, timeout: Option<Duration>) -> Result<String, String> {
        let start = Instant::now();
        let outcome = self
            .main
            .scrape(&self.options.scrape, self.deadline(timeout))
            .await;
        let scrapes = self.scrapes.fetch_add(1, Ordering::Relaxed) + 1;
        let mut registry = Registry::default();
        service_kit::register_build_info(&mut registry, "pg_exporter", env!("CARGO_PKG_VERSION"));
        let mut report = Report::new(outcome, start.elapsed());
        report.tail.push(Family::single(
            "pg_exporter_scrapes_total",
            "Total number of times PostgreSQL was scraped for metrics.",
            Kind::Counter,
            scrapes as f64,
        ));
        // A little room for the process metrics the server appends.
        let hint = self.last_size.load(Ordering::Relaxed) + 4096;
        let text = snapshot::encode(&registry, report.families(), hint)?;
        self.last_size.store(text.len(), Ordering::Relaxed);
        Ok(text)
    }

    /// The OpenMetrics text of a scrape of `target` (`host[:port][/dbname]`) with the
    /// credentials of auth module `module`. Refused unless the module allows the target.
    pub async fn probe(
        &self,
        module: Option<&str>,
        target: &str,
        timeout: Option<Duration>,
    ) -> Result<String, ProbeError> {
        let start = Instant::now();
        let modules = self.options.auth_modules.as_ref().ok_or(ProbeError::Off)?;
        let module = module
            .filter(|m| !m.trim().is_empty())
            .ok_or(ProbeError::NoModule)?;
        let dsn = modules.target(module, target)?;
        let target = self.probe_target(dsn);
        let outcome = target
            .scrape(&self.options.scrape, self.deadline(timeout))
            .await;
        let report = Report::new(outcome, start.elapsed());
        snapshot::encode(&Registry::default(), report.families(), 0).map_err(ProbeError::Encode)
    }

    /// How many probe targets are kept (each with at most one connection).
    pub fn probe_targets(&self) -> usize {
        self.probes.lock().expect("probe targets lock").len()
    }

    /// The kept target for `dsn`, or a new one that evicts the least recently used.
    fn probe_target(&self, dsn: Dsn) -> Arc<Target> {
        // Debug leaves the password out; a hash of it keeps two passwords apart, so a wrong
        // password never borrows the connection a right one made. The TLS settings are part
        // of the key too: a module that verifies never borrows one that does not.
        let key = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            dsn.config().get_password().hash(&mut h);
            format!("{:?}/{:?}/{:x}", dsn.config(), dsn.tls(), h.finish())
        };
        let mut probes = self.probes.lock().expect("probe targets lock");
        if let Some(entry) = probes.iter_mut().find(|(k, _, _)| *k == key) {
            entry.2 = Instant::now();
            return entry.1.clone();
        }
        if probes.len() >= self.options.max_probe_targets.max(1)
            && let Some(oldest) = probes
                .iter()
                .enumerate()
                .min_by_key(|(_, (_, _, used))| *used)
                .map(|(i, _)| i)
        {
            let (_, evicted, _) = probes.swap_remove(oldest);
            tracing::info!(server = %evicted.display(), "probe target evicted (--probe.max-targets)");
        }
        let target = Arc::new(Target::new(dsn));
        probes.push((key, target.clone(), Instant::now()));
        target
    }

    /// The `/probe` route.
    pub fn routes(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/probe", get(probe_handler))
            .with_state(self.clone())
    }
}

async fn probe_handler(
    State(exporter): State<Arc<Exporter>>,
    Query(query): Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let Some(target) = query.get("target").filter(|t| !t.trim().is_empty()) else {
        return (StatusCode::BAD_REQUEST, "the target parameter is missing\n").into_response();
    };
    let timeout = exporter_kit::server::scrape_timeout(&headers);
    let module = query.get("auth_module").map(String::as_str);
    match exporter.probe(module, target, timeout).await {
        Ok(text) => service_kit::metrics_response(&headers, text),
        Err(e) => {
            let status = match e {
                ProbeError::Off | ProbeError::NotAllowed(_) => StatusCode::FORBIDDEN,
                ProbeError::Encode(_) => StatusCode::INTERNAL_SERVER_ERROR,
                _ => StatusCode::BAD_REQUEST,
            };
            tracing::debug!(error = %e, "probe refused");
            (status, format!("{e}\n")).into_response()
        }
    }
}

/// `pg_up`, the collected families, and how the scrape went.
struct Report {
    up: Family,
    collected: Vec<Arc<[Family]>>,
    tail: Vec<Family>,
}

impl Report {
    fn new(outcome: Outcome, elapsed: Duration) -> Report {
        let up = Family::single(
            "pg_up",
            "Whether the last scrape of metrics from PostgreSQL was able to connect to the server (1 for yes, 0 for no).",
            Kind::Gauge,
            if outcome.up { 1.0 } else { 0.0 },
        );
        let failed = outcome.error.is_some() || outcome.collectors.iter().any(|c| !c.success);
        let mut tail = Vec::with_capacity(8);
        tail.push(Family::single(
            "pg_exporter_last_scrape_duration_seconds",
            "Duration of the last scrape of metrics from PostgreSQL.",
            Kind::Gauge,
            elapsed.as_secs_f64(),
        ));
        tail.push(Family::single(
            "pg_exporter_last_scrape_error",
            "Whether the last scrape of metrics from PostgreSQL resulted in an error (1 for error, 0 for success).",
            Kind::Gauge,
            if failed { 1.0 } else { 0.0 },
        ));
        let mut success = Family::new(
            "pg_exporter_collector_success",
            "Whether a collector succeeded (1) or failed (0) in the last scrape.",
            Kind::Gauge,
        );
        let mut duration = Family::new(
            "pg_exporter_collector_duration_seconds",
            "How long a collector took in the last scrape.",
            Kind::Gauge,
        );
        // postgres_exporter's names for the same figures, which its dashboards read.
        let mut scrape_success = Family::new(
            "pg_scrape_collector_success",
            "Whether a collector succeeded.",
            Kind::Gauge,
        );
        let mut scrape_duration = Family::new(
            "pg_scrape_collector_duration_seconds",
            "Duration of a collector scrape.",
            Kind::Gauge,
        );
        for c in &outcome.collectors {
            let ok = if c.success { 1.0 } else { 0.0 };
            let seconds = c.duration.as_secs_f64();
            let labels = LabelSet::one("collector", &c.name);
            success.push(labels.clone(), ok);
            duration.push(labels.clone(), seconds);
            scrape_success.push(labels.clone(), ok);
            scrape_duration.push(labels, seconds);
        }
        tail.extend([success, duration, scrape_success, scrape_duration]);
        Report {
            up,
            collected: outcome.families,
            tail,
        }
    }

    /// Every family, in exposition order.
    fn families(&self) -> impl Iterator<Item = &Family> {
        std::iter::once(&self.up)
            .chain(self.collected.iter().flat_map(|group| group.iter()))
            .chain(&self.tail)
    }
}
