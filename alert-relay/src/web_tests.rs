//! Tests of the HTTP side without a socket (`oneshot`): auth, parsing, limits, durability.

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

async fn post(app: &Router, path: &str, auth: Option<&str>, body: String) -> (StatusCode, String) {
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
        exposition.contains("alert_relay_notifications_received_total{source=\"alertmanager\"} 1"),
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
