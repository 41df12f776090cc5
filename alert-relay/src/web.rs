//! The HTTP side: `POST /alertmanager`, `POST /grafana`, `/metrics`, `/-/healthy`, `/-/ready`.
//!
//! A notification is authenticated (bearer token or basic auth password, constant time) from
//! its headers alone, so a request without the token is answered 401 before its body is read;
//! then parsed, deduplicated, routed, rendered and spooled (fsync'd) before the 200; a full or failing
//! spool answers 5xx so the sender retries.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
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
    // The token is checked before the handler's body extractor runs: an unauthenticated sender
    // gets its 401 without the relay reading (or waiting for) a body.
    let guard =
        |token: &Option<Secret>| middleware::from_fn_with_state(token.clone(), require_token);
    Router::new()
        .route(
            "/alertmanager",
            post(alertmanager_create).layer(guard(&state.token)),
        )
        .route(
            "/grafana",
            post(grafana_create).layer(guard(&state.grafana_token)),
        )
        .route("/discord/interactions", post(interactions_create))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .route(
            "/-/dead-letters/replay",
            post(dead_letters_replay).layer(guard(&state.token)),
        )
        .route("/metrics", get(metrics_show))
        .route("/-/healthy", get(|| async { "Healthy\n" }))
        .route("/-/ready", get(ready_show))
        .route(
            "/",
            get(|| async { "alert-relay: POST /alertmanager, POST /grafana; GET /metrics\n" }),
        )
        .with_state(state)
}

/// 401 unless the request carries `token` (any request when there is none); the body is left
/// unread.
async fn require_token(State(token): State<Option<Secret>>, req: Request, next: Next) -> Response {
    if !authorized(&token, req.headers()) {
        return AppError::Unauthorized.into_response();
    }
    next.run(req).await
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

async fn alertmanager_create(State(s): State<AppState>, body: Bytes) -> Result<Response, AppError> {
    accept(s, Source::Alertmanager, body).await
}

async fn grafana_create(State(s): State<AppState>, body: Bytes) -> Result<Response, AppError> {
    accept(s, Source::Grafana, body).await
}

/// A notification whose sender was authenticated by [`require_token`].
async fn accept(s: AppState, source: Source, body: Bytes) -> Result<Response, AppError> {
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

async fn dead_letters_replay(State(s): State<AppState>, body: Bytes) -> Response {
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
mod tests {
    //! Tests of the HTTP side, mostly without a socket (`oneshot`): auth, parsing, limits,
    //! durability.

    use std::time::Duration;

    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;

    use super::*;
    use crate::config::FileConfig;
    use crate::spool::Journal;

    const BODY: &str = r#"{"version":"4","groupKey":"g1","status":"firing","receiver":"r",
      "alerts":[{"status":"firing","labels":{"alertname":"A"},"startsAt":"2024-01-01T00:00:00Z","fingerprint":"f"}]}"#;

    fn state(dir: &std::path::Path, max_bytes: u64) -> (AppState, mpsc::UnboundedReceiver<Entry>) {
        let (cfg, inline) = FileConfig::single(None);
        let routes = cfg.resolve(inline).unwrap();
        let (spool, _) = Journal::open(dir, max_bytes).unwrap().start();
        let (tx, rx) = mpsc::unbounded_channel();
        let queues = HashMap::from([("log".to_string(), tx)]);
        let s = AppState {
            routes: Arc::new(routes),
            spool,
            queues: Arc::new(queues),
            dedup: Arc::new(Dedup::new(std::time::Duration::from_secs(60), 100)),
            metrics: Metrics::new(),
            token: Some(Secret::new("t0k")),
            interactions: None,
            grafana_token: Some(Secret::new("gr4f")),
        };
        (s, rx)
    }

    async fn post(
        app: &Router,
        path: &str,
        auth: Option<&str>,
        body: String,
    ) -> (StatusCode, String) {
        let mut req = Request::post(path).header("content-type", "application/json");
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let resp = app
            .clone()
            .oneshot(req.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let text = String::from_utf8(
            resp.into_body()
                .collect()
                .await
                .unwrap()
                .to_bytes()
                .to_vec(),
        )
        .unwrap();
        (status, text)
    }

    #[tokio::test]
    async fn requests_without_the_token_get_401() {
        let dir = tempfile::tempdir().unwrap();
        let (s, _rx) = state(dir.path(), 1 << 20);
        let app = app(s, 1 << 20);
        assert_eq!(
            post(&app, "/alertmanager", None, BODY.into()).await.0,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            post(&app, "/alertmanager", Some("Bearer wrong"), BODY.into())
                .await
                .0,
            StatusCode::UNAUTHORIZED
        );
        let basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("am:t0k")
        );
        assert_eq!(
            post(&app, "/alertmanager", Some(&basic), BODY.into())
                .await
                .0,
            StatusCode::OK
        );
    }

    /// Sends a request's headers and the first bytes of a 100 kB body over a real socket, then
    /// stalls; returns what the server answered within `wait` (empty: nothing yet).
    async fn stalled(addr: std::net::SocketAddr, path: &str, auth: &str, wait: Duration) -> String {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nhost: relay\r\ncontent-type: application/json\r\n{auth}content-length: 100000\r\n\r\n{{\"version\":"
        );
        conn.write_all(head.as_bytes()).await.unwrap();
        let mut buf = vec![0u8; 512];
        match tokio::time::timeout(wait, conn.read(&mut buf)).await {
            Ok(Ok(n)) => String::from_utf8_lossy(&buf[..n]).into_owned(),
            Ok(Err(e)) => panic!("read: {e}"),
            Err(_) => String::new(),
        }
    }

    #[tokio::test]
    async fn an_unauthenticated_request_gets_401_before_its_body_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let (s, _rx) = state(dir.path(), 1 << 20);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app(s, 1 << 20)).await });
        for path in ["/alertmanager", "/grafana", "/-/dead-letters/replay"] {
            for auth in ["", "authorization: Bearer wrong\r\n"] {
                let started = std::time::Instant::now();
                let answer = stalled(addr, path, auth, Duration::from_secs(5)).await;
                assert!(
                    answer.starts_with("HTTP/1.1 401"),
                    "{path} {auth:?}: {answer:?}"
                );
                assert!(
                    started.elapsed() < Duration::from_secs(2),
                    "{path}: not prompt"
                );
            }
        }
        // The same stalled request with the token is waiting for its body: the 401 above came
        // before any body was read.
        let waiting = stalled(
            addr,
            "/alertmanager",
            "authorization: Bearer t0k\r\n",
            Duration::from_millis(500),
        )
        .await;
        assert_eq!(waiting, "", "an authorized request waits for its body");
    }

    #[tokio::test]
    async fn an_accepted_notification_is_spooled_and_queued_once() {
        let dir = tempfile::tempdir().unwrap();
        let (s, mut rx) = state(dir.path(), 1 << 20);
        let spool = s.spool.clone();
        let metrics = s.metrics.clone();
        let app = app(s, 1 << 20);
        let (status, text) = post(&app, "/alertmanager", Some("Bearer t0k"), BODY.into()).await;
        assert_eq!(status, StatusCode::OK, "{text}");
        assert_eq!(rx.recv().await.unwrap().target, "log");
        assert_eq!(spool.depth(), 1);
        let (status, text) = post(&app, "/alertmanager", Some("Bearer t0k"), BODY.into()).await;
        assert_eq!(status, StatusCode::OK);
        assert!(text.contains("duplicate"), "{text}");
        assert!(rx.try_recv().is_err(), "a duplicate is not queued again");
        let exposition = metrics.encode();
        assert!(
            exposition
                .contains("alert_relay_notifications_received_total{source=\"alertmanager\"} 1"),
            "{exposition}"
        );
    }

    #[tokio::test]
    async fn garbage_gets_400_with_the_reason_and_big_bodies_413() {
        let dir = tempfile::tempdir().unwrap();
        let (s, _rx) = state(dir.path(), 1 << 20);
        let app = app(s, 2048);
        let (status, text) = post(
            &app,
            "/grafana",
            Some("Bearer gr4f"),
            "{\"status\":\"firing\"}".into(),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(text.contains("missing field `alerts`"), "{text}");
        let (status, _) = post(&app, "/alertmanager", Some("Bearer t0k"), "x".repeat(5000)).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[tokio::test]
    async fn a_full_spool_answers_503_and_a_retry_is_not_a_duplicate() {
        let dir = tempfile::tempdir().unwrap();
        let (s, _rx) = state(dir.path(), 100);
        let app = app(s, 1 << 20);
        let (status, text) = post(&app, "/alertmanager", Some("Bearer t0k"), BODY.into()).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(text.contains("spool full"), "{text}");
        let (status, text) = post(&app, "/alertmanager", Some("Bearer t0k"), BODY.into()).await;
        assert_eq!(
            status,
            StatusCode::SERVICE_UNAVAILABLE,
            "still refused, not swallowed as a duplicate: {text}"
        );
    }

    #[tokio::test]
    async fn a_grafana_notification_is_accepted_and_counted_by_source() {
        let dir = tempfile::tempdir().unwrap();
        let (s, mut rx) = state(dir.path(), 1 << 20);
        let metrics = s.metrics.clone();
        let app = app(s, 1 << 20);
        let body = r#"{"version":"1","status":"firing","orgId":1,"title":"[FIRING:1] CPU","state":"alerting","groupKey":"gk",
          "alerts":[{"status":"firing","labels":{"alertname":"CPU"},"startsAt":"2024-01-01T00:00:00Z",
          "silenceURL":"http://grafana/alerting/silence/new","dashboardURL":"http://grafana/d/x","valueString":"[ var='A' value=97 ]"}]}"#;
        let (status, _) = post(&app, "/grafana", Some("Bearer t0k"), body.into()).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "each route has its own token"
        );
        let (status, text) = post(&app, "/grafana", Some("Bearer gr4f"), body.into()).await;
        assert_eq!(status, StatusCode::OK, "{text}");
        let entry = rx.recv().await.unwrap();
        let description = &entry.message.embeds[0].description;
        assert!(
            description.contains("[Silence](http://grafana/alerting/silence/new)"),
            "{description}"
        );
        assert!(
            description.contains("[Dashboard](http://grafana/d/x)"),
            "{description}"
        );
        assert!(
            metrics
                .encode()
                .contains("alert_relay_notifications_received_total{source=\"grafana\"} 1")
        );
    }

    #[tokio::test]
    async fn concurrent_copies_are_not_acknowledged_before_the_first_is_stored() {
        let dir = tempfile::tempdir().unwrap();
        let (s, _rx) = state(dir.path(), 100);
        let app = app(s, 1 << 20);
        let (a, b) = tokio::join!(
            post(&app, "/alertmanager", Some("Bearer t0k"), BODY.into()),
            post(&app, "/alertmanager", Some("Bearer t0k"), BODY.into())
        );
        assert_eq!(
            (a.0, b.0),
            (
                StatusCode::SERVICE_UNAVAILABLE,
                StatusCode::SERVICE_UNAVAILABLE
            ),
            "{a:?} {b:?}"
        );
    }

    #[tokio::test]
    async fn health_ready_and_metrics_answer() {
        let dir = tempfile::tempdir().unwrap();
        let (s, _rx) = state(dir.path(), 1 << 20);
        let app = app(s, 1 << 20);
        for path in ["/-/healthy", "/-/ready", "/metrics"] {
            let resp = app
                .clone()
                .oneshot(Request::get(path).body(Body::empty()).unwrap())
                .await
                .unwrap();
            assert_eq!(resp.status(), StatusCode::OK, "{path}");
        }
        let resp = app
            .clone()
            .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
            .await
            .unwrap();
        let text = String::from_utf8(
            resp.into_body()
                .collect()
                .await
                .unwrap()
                .to_bytes()
                .to_vec(),
        )
        .unwrap();
        for name in [
            "alert_relay_build_info",
            "alert_relay_spool_depth",
            "alert_relay_delivery_latency_seconds_bucket",
            "alert_relay_discord_rate_limited_total",
            "alert_relay_dead_letters_total",
            "alert_relay_delivery_retries_total",
            "alert_relay_delivery_failures_total",
            "alert_relay_notifications_delivered_total",
        ] {
            assert!(text.contains(name), "{name} missing:\n{text}");
        }
    }
}
