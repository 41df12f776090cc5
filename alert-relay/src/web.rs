//! The HTTP side: `POST /alertmanager`, `POST /grafana`, `/metrics`, `/-/healthy`, `/-/ready`.
//!
//! A notification is authenticated (bearer token or basic auth password, constant time),
//! parsed, deduplicated, routed, rendered and spooled (fsync'd) before the 200; a full or failing
//! spool answers 5xx so the sender retries.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use tokio::sync::mpsc;

use crate::config::Router as Routes;
use crate::dedup::Dedup;
use crate::metrics::{Metrics, SourceLabel};
use crate::payload::{Notification, PayloadError, Source};
use crate::render;
use crate::secret::Secret;
use crate::spool::{Entry, NewEntry, Spool, SpoolError};

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// Targets, routes, templates.
    pub routes: Arc<Routes>,
    /// The spool.
    pub spool: Spool,
    /// The delivery workers' queues, by target.
    pub queues: Arc<HashMap<String, mpsc::UnboundedSender<Entry>>>,
    /// Recently accepted notifications.
    pub dedup: Arc<Dedup>,
    /// Metrics.
    pub metrics: Metrics,
    /// The inbound token (none: open, with a warning at start).
    pub token: Option<Secret>,
    /// The token of `POST /grafana` (the same as `token` unless set apart).
    pub grafana_token: Option<Secret>,
    /// Bot mode's interactions endpoint (none: 404).
    pub interactions: Option<Arc<crate::interactions::Interactions>>,
}

/// Errors a handler answers with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 401.
    #[error("missing or wrong credentials")]
    Unauthorized,
    /// 400 with the reason.
    #[error(transparent)]
    BadRequest(#[from] PayloadError),
    /// 503 (retry later) or 500.
    #[error(transparent)]
    Spool(#[from] SpoolError),
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = match &self {
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Spool(SpoolError::Full { .. } | SpoolError::Closed) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            AppError::Spool(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status.is_server_error() {
            tracing::error!(error = %self, "notification not accepted; the sender will retry");
        } else {
            tracing::debug!(error = %self, "notification refused");
        }
        let mut resp = (status, format!("{self}\n")).into_response();
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"alert-relay\""),
            );
        }
        resp
    }
}

/// The router (no socket: tests drive it with `oneshot`).
pub fn app(state: AppState, max_body_bytes: usize) -> Router {
    Router::new()
        .route("/alertmanager", post(alertmanager_create))
        .route("/grafana", post(grafana_create))
        .route("/discord/interactions", post(interactions_create))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .route("/-/dead-letters/replay", post(dead_letters_replay))
        .route("/metrics", get(metrics_show))
        .route("/-/healthy", get(|| async { "Healthy\n" }))
        .route("/-/ready", get(ready_show))
        .route(
            "/",
            get(|| async { "alert-relay: POST /alertmanager, POST /grafana; GET /metrics\n" }),
        )
        .with_state(state)
}

fn authorized(token: &Option<Secret>, headers: &HeaderMap) -> bool {
    let Some(token) = token else { return true };
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if scheme.eq_ignore_ascii_case("bearer") {
        return token.matches(rest.trim().as_bytes());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(rest.trim()) else {
            return false;
        };
        let password = decoded.splitn(2, |b| *b == b':').nth(1).unwrap_or_default();
        return token.matches(password);
    }
    false
}

async fn alertmanager_create(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    accept(s, Source::Alertmanager, headers, body).await
}

async fn grafana_create(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    accept(s, Source::Grafana, headers, body).await
}

async fn accept(
    s: AppState,
    source: Source,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let token = match source {
        Source::Alertmanager => &s.token,
        Source::Grafana => &s.grafana_token,
    };
    if !authorized(token, &headers) {
        return Err(AppError::Unauthorized);
    }
    let n = Notification::parse(source, &body)?;
    let key = n.dedup_key();
    let _one_at_a_time = s.dedup.serialize(&key).await;
    if !s.dedup.claim(&key) {
        s.metrics.deduplicated.inc();
        tracing::debug!(group_key = %n.group_key, "duplicate notification dropped");
        return Ok((StatusCode::OK, "duplicate, already accepted\n").into_response());
    }
    let severity = render::severity(&n);
    let now = chrono::Utc::now();
    let mut entries = Vec::new();
    for (target, opts) in s.routes.route(&n, &severity) {
        for message in render::render(&n, &s.routes.templates, &opts, now) {
            entries.push(NewEntry {
                target: target.clone(),
                dedup_key: key.clone(),
                message,
            });
        }
    }
    let stored = match s.spool.put(entries).await {
        Ok(stored) => stored,
        Err(e) => {
            s.dedup.release(&key);
            return Err(e.into());
        }
    };
    let count = stored.len();
    for entry in stored {
        if let Some(q) = s.queues.get(&entry.target) {
            let _ = q.send(entry);
        }
    }
    s.metrics
        .received
        .get_or_create(&SourceLabel {
            source: source.as_str().into(),
        })
        .inc();
    s.metrics.spool_depth.set(s.spool.depth() as i64);
    tracing::info!(
        source = source.as_str(),
        status = n.status.as_str(),
        alerts = n.alerts.len(),
        messages = count,
        "notification accepted"
    );
    Ok((
        StatusCode::OK,
        format!("accepted, {count} messages queued\n"),
    )
        .into_response())
}

/// Body of `POST /-/dead-letters/replay`: `{"all": true}` or `{"seq": [3, 5]}`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayRequest {
    /// Every dead letter.
    #[serde(default)]
    pub all: bool,
    /// These sequence numbers.
    #[serde(default)]
    pub seq: Vec<u64>,
}

async fn dead_letters_replay(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !authorized(&s.token, &headers) {
        return AppError::Unauthorized.into_response();
    }
    let req: ReplayRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                format!("expected {{\"all\": true}} or {{\"seq\": [..]}}: {e}\n"),
            )
                .into_response();
        }
    };
    if !req.all && req.seq.is_empty() {
        return (
            StatusCode::BAD_REQUEST,
            "name the sequence numbers to replay, or all\n",
        )
            .into_response();
    }
    match s
        .spool
        .replay(if req.all { None } else { Some(req.seq) })
        .await
    {
        Ok(replayed) => {
            let pairs: Vec<serde_json::Value> = replayed
                .iter()
                .map(|(old, e)| serde_json::json!({"old": old, "new": e.seq}))
                .collect();
            for (_, entry) in replayed {
                if let Some(q) = s.queues.get(&entry.target) {
                    let _ = q.send(entry);
                }
            }
            s.metrics.spool_depth.set(s.spool.depth() as i64);
            tracing::info!(count = pairs.len(), "dead letters replayed");
            axum::Json(serde_json::json!({"replayed": pairs})).into_response()
        }
        Err(SpoolError::NoSuchDeadLetter(n)) => (
            StatusCode::NOT_FOUND,
            format!("no dead letter with sequence number {n}\n"),
        )
            .into_response(),
        Err(e) => AppError::Spool(e).into_response(),
    }
}

async fn interactions_create(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    crate::interactions::interactions_create(State(s.interactions.clone()), headers, body).await
}

async fn metrics_show(State(s): State<AppState>, headers: HeaderMap) -> Response {
    s.metrics.spool_depth.set(s.spool.depth() as i64);
    service_kit::metrics_response(&headers, s.metrics.encode())
}

async fn ready_show(State(s): State<AppState>) -> Response {
    // Ready while the spool's writer runs; a full spool is still ready (it answers 503 itself).
    if s.spool.is_open() {
        (StatusCode::OK, "Ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "spool closed\n").into_response()
    }
}

#[cfg(test)]
#[path = "web_tests.rs"]
mod tests;
