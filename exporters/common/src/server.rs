//! The HTTP side of an exporter: routes, web config, listeners and graceful shutdown.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use futures::future::BoxFuture;
use prometheus_client::registry::Registry;
use tower_http::compression::CompressionLayer;

use crate::cli::WebArgs;
use crate::exposition::Format;
use crate::webconfig::WebConfig;

/// What the landing page and logs say about an exporter.
#[derive(Clone, Debug)]
pub struct Metadata {
    /// Binary name, e.g. `nginx-log-exporter`.
    pub name: &'static str,
    /// Crate version.
    pub version: &'static str,
    /// One sentence for the landing page.
    pub description: &'static str,
    /// The port registered for this exporter in the README.
    pub default_port: u16,
    /// Extra links for the landing page: (path, label).
    pub links: Vec<(String, String)>,
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
        let timeout = headers
            .get("x-prometheus-scrape-timeout-seconds")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s > 0.0)
            .map(Duration::from_secs_f64);
        ScrapeContext { timeout, query }
    }
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

/// The response to a scrape: `openmetrics` rendered in the format the request's `Accept` asks for.
pub fn metrics_response(headers: &HeaderMap, openmetrics: String) -> Response {
    let format = Format::negotiate(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()));
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(format.content_type()),
        )],
        format.render(openmetrics),
    )
        .into_response()
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
    pub fn router(&self, web_config: &WebConfig) -> anyhow::Result<Router> {
        let path = self.web.telemetry_path.clone();
        if !path.starts_with('/') || path == "/" || path.starts_with("/-/") {
            anyhow::bail!(
                "--web.telemetry-path {path:?} must start with / and not be / or under /-/"
            );
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
            .layer(
                CompressionLayer::new()
                    .gzip(true)
                    .no_br()
                    .no_deflate()
                    .no_zstd(),
            );
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
    pub async fn start(self) -> anyhow::Result<Running> {
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
                    anyhow::bail!("cannot listen on {addr}: {err}");
                }
            }
        }
        Ok(running)
    }

    /// Serves until `shutdown` completes, then drains open requests (up to 10 s).
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
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

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

async fn metrics(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let ctx = ScrapeContext::from_request(&headers, query);
    match (state.collect)(ctx).await {
        Ok(text) => metrics_response(&headers, text),
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
    let meta = &state.meta;
    let mut links = vec![(state.telemetry_path.to_string(), "Metrics".to_string())];
    links.extend(meta.links.iter().cloned());
    links.push(("/-/healthy".into(), "Health".into()));
    links.push(("/-/ready".into(), "Readiness".into()));
    let items: String = links
        .iter()
        .map(|(href, label)| {
            format!(
                "<li><a href=\"{}\">{}</a></li>",
                escape(href),
                escape(label)
            )
        })
        .collect();
    Html(format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{name}</title>\
<style>body{{font-family:sans-serif;max-width:40em;margin:2em auto;line-height:1.5}}code{{background:#eee;padding:0 .2em}}</style></head>\
<body><h1>{name}</h1><p>{description}</p><p>Version <code>{version}</code>, revision <code>{revision}</code></p>\
<ul>{items}</ul></body></html>\n",
        name = escape(meta.name),
        description = escape(meta.description),
        version = escape(meta.version),
        revision = env!("EXPORTER_GIT_REVISION"),
    ))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn require_basic_auth(
    State(auth): State<crate::webconfig::BasicAuth>,
    request: Request,
    next: Next,
) -> Response {
    let credentials = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Basic ")
                .or_else(|| v.strip_prefix("basic "))
        })
        .and_then(|b64| {
            base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .ok()
        })
        .and_then(|raw| String::from_utf8(raw).ok());
    if let Some((user, password)) = credentials.as_deref().and_then(|c| c.split_once(':'))
        && auth.verify(user, password).await
    {
        return next.run(request).await;
    }
    (
        StatusCode::UNAUTHORIZED,
        [(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"exporter\""),
        )],
        "Unauthorized\n",
    )
        .into_response()
}
