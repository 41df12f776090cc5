//! `GET /metrics` of each role: `forum_build_info`, `forum_http_requests_total{role,method,status}`,
//! `forum_http_request_duration_seconds{role}` and, in the worker, `forum_jobs_total{kind,outcome}`.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::state::{AppState, Role};

/// Labels of `forum_http_requests_total`: all bounded (three roles, a fixed set of methods,
/// status codes).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// `web`, `api`, `all`.
    pub role: &'static str,
    /// The method, or `OTHER`.
    pub method: &'static str,
    /// The status code.
    pub status: u16,
}

/// Labels of the duration histogram.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RoleLabels {
    /// `web`, `api`, `all`.
    pub role: &'static str,
}

/// Labels of `forum_jobs_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobLabels {
    /// A known job kind or `unknown`.
    pub kind: &'static str,
    /// `done`, `retry` or `failed`.
    pub outcome: &'static str,
}

/// The metrics of one process.
pub struct Metrics {
    role: Role,
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    duration: HistogramFamily,
    /// Jobs run by the worker.
    pub jobs: Family<JobLabels, Counter>,
}

impl Metrics {
    /// The registry of a process of `role`.
    pub fn new(role: Role) -> Metrics {
        let mut registry = Registry::default();
        service_kit::build_info::register_build_info(
            &mut registry,
            "forum",
            env!("CARGO_PKG_VERSION"),
        );
        service_kit::process::register(&mut registry);
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "forum_http_requests",
            "HTTP requests answered, by role, method and status",
            requests.clone(),
        );
        let duration = Family::<RoleLabels, Histogram>::new_with_constructor(
            (|| Histogram::new(exponential_buckets(0.0005, 2.0, 16))) as fn() -> Histogram,
        );
        // Registered without a unit argument: the name already ends in `_seconds`.
        registry.register(
            "forum_http_request_duration_seconds",
            "Time to answer an HTTP request",
            duration.clone(),
        );
        let jobs = Family::<JobLabels, Counter>::default();
        registry.register(
            "forum_jobs",
            "Background jobs run, by kind and outcome",
            jobs.clone(),
        );
        Metrics {
            role,
            registry,
            requests,
            duration,
            jobs,
        }
    }

    /// The exposition text (OpenMetrics; converted by content negotiation).
    pub fn encode(&self) -> String {
        let mut text = String::with_capacity(4096);
        // Encoding into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }

    /// Counts one answered request.
    pub fn observe(&self, method: &str, status: u16, seconds: f64) {
        let role = self.role.as_str();
        self.requests
            .get_or_create(&RequestLabels {
                role,
                method: method_label(method),
                status,
            })
            .inc();
        self.duration
            .get_or_create(&RoleLabels { role })
            .observe(seconds);
    }
}

type HistogramFamily = Family<RoleLabels, Histogram, fn() -> Histogram>;

/// A bounded method label.
fn method_label(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => "OTHER",
    }
}

/// Middleware counting every request of the router.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().as_str().to_owned();
    let res = next.run(req).await;
    state.metrics.observe(
        &method,
        res.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    res
}

/// `GET /metrics`.
pub async fn metrics_get(State(state): State<AppState>, headers: HeaderMap) -> Response {
    service_kit::metrics_response(&headers, state.metrics.encode())
}

/// A shared handle for the worker's metrics server.
pub type SharedMetrics = Arc<Metrics>;
