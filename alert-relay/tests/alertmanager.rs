//! With a real Alertmanager: alerts pushed through its API v2 reach the Discord double through
//! the relay, with the right content, and the resolution follows the firing.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Relay, TOKEN, titles, until};
use serde_json::json;
use testkit::discord::DiscordDouble;

/// Alertmanager as a child process, killed on drop.
struct Alertmanager {
    child: std::process::Child,
    port: u16,
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn alertmanager(dir: &std::path::Path, relay_port: u16) -> Alertmanager {
    // Debian names the binary prometheus-alertmanager; upstream tarballs name it alertmanager.
    let bin = testkit::find_bin("prometheus-alertmanager").unwrap_or_else(|| {
        testkit::require_bin("alertmanager", "apt-get install -y prometheus-alertmanager")
    });
    let config = format!(
        r#"route:
  receiver: relay
  group_by: [alertname]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 1h
receivers:
  - name: relay
    webhook_configs:
      - url: http://127.0.0.1:{relay_port}/alertmanager
        send_resolved: true
        http_config:
          authorization:
            credentials: {TOKEN}
"#
    );
    std::fs::write(dir.join("alertmanager.yml"), config).unwrap();
    let port = testkit::free_port();
    let child = Command::new(bin)
        .arg(format!(
            "--config.file={}",
            dir.join("alertmanager.yml").display()
        ))
        .arg(format!("--storage.path={}", dir.join("am-data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start alertmanager");
    let am = Alertmanager { child, port };
    let url = format!("http://127.0.0.1:{port}/-/ready");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !reqwest::get(&url)
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(
            std::time::Instant::now() < deadline,
            "alertmanager did not become ready"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    am
}

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
