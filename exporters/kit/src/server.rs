//! The HTTP side of an exporter: routes, web config, listeners and graceful shutdown.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use futures::future::BoxFuture;
use prometheus_client::registry::Registry;
use service_kit::exposition::{compression, metrics_response};
use service_kit::listen::ListenAddressError;

use crate::auth::require_basic_auth;
use crate::cli::WebArgs;
use crate::landing;
pub use crate::landing::Metadata;
use crate::webconfig::{WebConfig, WebConfigError};

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The web config file is unusable.
    #[error(transparent)]
    WebConfig(#[from] WebConfigError),
    /// A `--web.listen-address` is unusable.
    #[error("--web.listen-address: {0}")]
    ListenAddress(#[from] ListenAddressError),
    /// `--web.telemetry-path` would hide the landing page or the health endpoints.
    #[error("--web.telemetry-path {0:?} must start with / and not be / or under /-/")]
    TelemetryPath(String),
    /// An address could not be bound.
    #[error("cannot listen on {address}: {reason}")]
    Listen {
        /// The address asked for.
        address: SocketAddr,
        /// What the operating system said.
        reason: String,
    },
}

/// What a scrape asked for.
#[derive(Clone, Debug, Default)]
pub struct ScrapeContext {
    /// The scraper's timeout (`X-Prometheus-Scrape-Timeout-Seconds`), when it sent one.
    pub timeout: Option<Duration>,
    /// Query parameters of the request (e.g. `target` for `/probe`).
    pub query: HashMap<String, String>,
}

impl ScrapeContext {
    fn from_request(headers: &HeaderMap, query: HashMap<String, String>) -> Self {
        ScrapeContext {
            timeout: scrape_timeout(headers),
            query,
        }
    }
}

/// The scraper's timeout from `X-Prometheus-Scrape-Timeout-Seconds`, when it sent a positive one.
pub fn scrape_timeout(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get("x-prometheus-scrape-timeout-seconds")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(Duration::from_secs_f64)
}

/// Produces the OpenMetrics text of one scrape, or an error message for a 500.
pub type Collect =
    Arc<dyn Fn(ScrapeContext) -> BoxFuture<'static, Result<String, String>> + Send + Sync>;

/// A [`Collect`] that encodes a long-lived registry on every scrape.
pub fn registry_collect(registry: Arc<Registry>) -> Collect {
    Arc::new(move |_ctx| {
        let registry = registry.clone();
        Box::pin(async move {
            let mut text = String::with_capacity(4096);
            prometheus_client::encoding::text::encode(&mut text, &registry)
                .map_err(|e| e.to_string())?;
            Ok(text)
        })
    })
}

#[derive(Clone)]
struct AppState {
    meta: Arc<Metadata>,
    telemetry_path: Arc<str>,
    collect: Collect,
    ready: Arc<AtomicBool>,
}

/// An exporter's HTTP server.
pub struct Server {
    meta: Metadata,
    web: WebArgs,
    collect: Collect,
    extra: Router,
    ready: Arc<AtomicBool>,
}

impl Server {
    /// A server for `collect`, configured by the shared `--web.*` flags.
    pub fn new(meta: Metadata, web: WebArgs, collect: Collect) -> Self {
        Server {
            meta,
            web,
            collect,
            extra: Router::new(),
            ready: Arc::new(AtomicBool::new(true)),
        }
    }

    /// Adds routes (e.g. `/probe`); they sit behind the same TLS and basic auth.
    pub fn with_routes(mut self, routes: Router) -> Self {
        self.extra = self.extra.merge(routes);
        self
    }

    /// The flag `/-/ready` reports; starts true. Set it false while the exporter cannot serve.
    pub fn readiness(&self) -> Arc<AtomicBool> {
        self.ready.clone()
    }

    /// The router without listeners, for tests that call it with `oneshot`.
    pub fn router(&self, web_config: &WebConfig) -> Result<Router, ServerError> {
        let path = self.web.telemetry_path.clone();
        if !path.starts_with('/') || path == "/" || path.starts_with("/-/") {
            return Err(ServerError::TelemetryPath(path));
        }
        let state = AppState {
            meta: Arc::new(self.meta.clone()),
            telemetry_path: path.clone().into(),
            collect: self.collect.clone(),
            ready: self.ready.clone(),
        };
        let mut router = Router::new()
            .route("/", get(landing_page))
            .route("/-/healthy", get(|| async { "OK\n" }))
            .route("/-/ready", get(ready))
            .route(&path, get(metrics))
            .with_state(state)
            .merge(self.extra.clone())
            .layer(compression());
        if let Some(auth) = web_config.auth.clone() {
            router = router.layer(middleware::from_fn_with_state(auth, require_basic_auth));
        }
        if !web_config.headers.is_empty() {
            let headers = Arc::new(web_config.headers.clone());
            router = router.layer(middleware::map_response(move |mut res: Response| {
                let headers = headers.clone();
                async move {
                    for (name, value) in headers.iter() {
                        res.headers_mut().insert(name.clone(), value.clone());
                    }
                    res
                }
            }));
        }
        Ok(router)
    }

    /// Binds every listen address and starts serving; returns once all are listening.
    pub async fn start(self) -> Result<Running, ServerError> {
        let web_config = match &self.web.config_file {
            Some(path) => WebConfig::load(path)?,
            None => WebConfig::default(),
        };
        let router = self.router(&web_config)?;
        let addresses = self.web.addresses(self.meta.default_port)?;
        let mut running = Running {
            addresses: Vec::new(),
            handles: Vec::new(),
            tasks: Vec::new(),
        };
        for addr in addresses {
            let handle = axum_server::Handle::new();
            let service = router.clone().into_make_service();
            let task = match &web_config.tls {
                Some(tls) => {
                    let tls = axum_server::tls_rustls::RustlsConfig::from_config(tls.clone());
                    let server = axum_server::bind_rustls(addr, tls).handle(handle.clone());
                    tokio::spawn(async move { server.serve(service).await })
                }
                None => {
                    let server = axum_server::bind(addr).handle(handle.clone());
                    tokio::spawn(async move { server.serve(service).await })
                }
            };
            match handle.listening().await {
                Some(bound) => {
                    tracing::info!(
                        exporter = self.meta.name,
                        address = %bound,
                        tls = web_config.tls.is_some(),
                        basic_auth = web_config.auth.is_some(),
                        "listening"
                    );
                    running.addresses.push(bound);
                    running.handles.push(handle);
                    running.tasks.push(task);
                }
                None => {
                    let err = match task.await {
                        Ok(Err(e)) => e.to_string(),
                        Ok(Ok(())) => "server stopped".to_string(),
                        Err(e) => e.to_string(),
                    };
                    running.shutdown().await;
                    return Err(ServerError::Listen {
                        address: addr,
                        reason: err,
                    });
                }
            }
        }
        Ok(running)
    }

    /// Serves until `shutdown` completes, then drains open requests (up to 10 s).
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), ServerError> {
        let running = self.start().await?;
        shutdown.await;
        tracing::info!("shutting down");
        running.shutdown().await;
        Ok(())
    }
}

/// A started server.
pub struct Running {
    /// The addresses it listens on (with the real port when 0 was asked).
    pub addresses: Vec<SocketAddr>,
    handles: Vec<axum_server::Handle>,
    tasks: Vec<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Running {
    /// Stops accepting, lets open requests finish (up to 10 s), and waits for the listeners.
    pub async fn shutdown(self) {
        for handle in &self.handles {
            handle.graceful_shutdown(Some(Duration::from_secs(10)));
        }
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

async fn metrics(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let ctx = ScrapeContext::from_request(&headers, query);
    match (state.collect)(ctx).await {
        Ok(mut text) => {
            service_kit::process::append_to(&mut text);
            metrics_response(&headers, text)
        }
        Err(e) => {
            tracing::error!(error = %e, "scrape failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("scrape failed: {e}\n"),
            )
                .into_response()
        }
    }
}

async fn ready(State(state): State<AppState>) -> Response {
    if state.ready.load(Ordering::Relaxed) {
        (StatusCode::OK, "OK\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n").into_response()
    }
}

async fn landing_page(State(state): State<AppState>) -> Html<String> {
    Html(landing::page(&state.meta, &state.telemetry_path))
}
