//! With a real Alertmanager: alerts pushed through its API v2 reach the Discord double through
//! the relay, with the right content, and the resolution follows the firing.

mod common;

use common::{Alertmanager, Relay, alertmanager, titles, until};
use serde_json::json;
use testkit::discord::DiscordDouble;

async fn push(am: &Alertmanager, ends_at: Option<&str>) {
    let mut alert = json!({
        "labels": {"alertname": "ForumDown", "severity": "critical", "instance": "forum-1", "job": "forum-web"},
        "annotations": {"summary": "The forum is down", "description": "forum-1 answers 502", "runbook_url": "https://runbooks.example/forum-down"},
        "generatorURL": "http://prometheus:9090/graph?g0.expr=up%3D%3D0",
        "startsAt": "2024-01-01T00:00:00Z"
    });
    if let Some(end) = ends_at {
        alert["endsAt"] = json!(end);
    }
    let resp = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{}/api/v2/alerts", am.port))
        .json(&json!([alert]))
        .send()
        .await
        .unwrap();
    assert!(
        resp.status().is_success(),
        "alertmanager refused the alert: {}",
        resp.status()
    );
}

#[tokio::test]
async fn alerts_from_a_real_alertmanager_fire_then_resolve_in_discord() {
    let double = DiscordDouble::start().await;
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(
        &dir.path().join("spool"),
        &[
            "--discord.webhook-url",
            &double.webhook_url(),
            "--discord.api-url",
            &double.api_url(),
        ],
    )
    .await;
    let am = alertmanager(dir.path(), relay.port).await;

    push(&am, None).await;
    until(30, "the firing message", || !double.messages().is_empty()).await;
    let firing = double.messages()[0].clone();
    let embed = &firing["embeds"][0];
    assert!(
        embed["title"]
            .as_str()
            .unwrap()
            .contains("[FIRING:1] ForumDown"),
        "{firing}"
    );
    assert_eq!(embed["color"], json!(0xE01E5A));
    let description = embed["description"].as_str().unwrap();
    for expected in [
        "The forum is down",
        "forum-1 answers 502",
        "[Runbook](https://runbooks.example/forum-down)",
        "[Silence](",
        "[Source](http://prometheus:9090/graph",
    ] {
        assert!(
            description.contains(expected),
            "{expected:?} missing from {description}"
        );
    }

    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    push(&am, Some(&now)).await;
    until(30, "the resolved message", || {
        titles(&double.messages())
            .iter()
            .any(|t| t.contains("RESOLVED"))
    })
    .await;
    let t = titles(&double.messages());
    let first_resolved = t.iter().position(|t| t.contains("RESOLVED")).unwrap();
    assert!(
        t[..first_resolved].iter().all(|t| t.contains("FIRING")),
        "{t:?}"
    );
    let resolved = &double.messages()[first_resolved];
    assert_eq!(resolved["embeds"][0]["color"], json!(0x2ECC71));
    assert_eq!(
        resolved["content"],
        json!(null),
        "no ping on resolved: {resolved}"
    );
    let metrics = relay.metrics().await;
    assert!(
        metrics.contains("alert_relay_notifications_received_total{source=\"alertmanager\"}"),
        "{metrics}"
    );
}
