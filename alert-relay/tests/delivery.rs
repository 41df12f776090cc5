//! Delivery against the strict Discord double: order through 429s and 500s, wait=true,
//! dead letters and their replay, no token in logs.

mod common;

use common::{Relay, group, titles, until};
use testkit::discord::{DiscordDouble, Scripted, WEBHOOK_TOKEN};

#[tokio::test]
async fn firing_then_resolved_arrive_in_order_through_429s_and_500s() {
    let double = DiscordDouble::start().await;
    let dir = tempfile::tempdir().unwrap();
    double.script([
        Scripted::RateLimited {
            retry_after: 0.3,
            global: false,
        },
        Scripted::ServerError,
        Scripted::RateLimited {
            retry_after: 0.2,
            global: true,
        },
        Scripted::ServerError,
    ]);
    let relay = Relay::start(
        &dir.path().join("spool"),
        &[
            "--discord.webhook-url",
            &double.webhook_url(),
            "--discord.api-url",
            &double.api_url(),
            "--delivery.backoff-base",
            "50ms",
        ],
    )
    .await;
    assert_eq!(
        relay
            .post(
                "/alertmanager",
                &group("DiskFull", "firing", &[("a", "firing")])
            )
            .await,
        200
    );
    assert_eq!(
        relay
            .post(
                "/alertmanager",
                &group("DiskFull", "resolved", &[("a", "resolved")])
            )
            .await,
        200
    );
    until(20, "both messages", || double.messages().len() >= 2).await;
    let t = titles(&double.messages());
    assert_eq!(t.len(), 2, "{t:?}");
    assert!(t[0].contains("[FIRING:1] DiskFull"), "{t:?}");
    assert!(t[1].contains("[RESOLVED] DiskFull"), "{t:?}");
    assert_eq!(
        double.messages()[0]["allowed_mentions"]["parse"],
        serde_json::json!([])
    );
    let statuses: Vec<u16> = double.seen().iter().map(|s| s.status).collect();
    assert_eq!(&statuses[..4], &[429, 500, 429, 500], "{statuses:?}");
    let metrics = relay.metrics().await;
    assert!(
        metrics.contains("alert_relay_discord_rate_limited_total 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("alert_relay_delivery_retries_total 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("alert_relay_notifications_delivered_total 2"),
        "{metrics}"
    );
    assert!(
        !relay.log_text().contains(WEBHOOK_TOKEN),
        "the webhook token leaked into the log"
    );
    assert!(!metrics.contains(WEBHOOK_TOKEN));
}

#[tokio::test]
async fn refused_messages_are_dead_lettered_listed_and_replayed() {
    let double = DiscordDouble::start().await;
    let dir = tempfile::tempdir().unwrap();
    let storage = dir.path().join("spool");
    let wrong = double.webhook_url().replace(WEBHOOK_TOKEN, "wrong-token");
    let mut relay = Relay::start(
        &storage,
        &[
            "--discord.webhook-url",
            &wrong,
            "--discord.api-url",
            &double.api_url(),
        ],
    )
    .await;
    assert_eq!(
        relay
            .post(
                "/alertmanager",
                &group("Lost", "firing", &[("a", "firing")])
            )
            .await,
        200
    );
    until(10, "a 401 from the double", || {
        double.seen().iter().any(|s| s.status == 401)
    })
    .await;
    until(10, "the dead letter", || {
        std::fs::read_to_string(storage.join("dead-letters.jsonl"))
            .is_ok_and(|t| t.contains("Lost"))
    })
    .await;
    let log = relay.log_text();
    assert!(!log.contains("wrong-token"), "token in log:\n{log}");
    relay.kill9();

    let bin = env!("CARGO_BIN_EXE_alert-relay");
    let list = std::process::Command::new(bin)
        .args(["dead-letters", "list", "--storage.path"])
        .arg(&storage)
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&list.stdout);
    assert!(
        list.status.success() && listed.contains("Lost") && listed.contains("401"),
        "{listed}"
    );
    assert!(!listed.contains("wrong-token"), "{listed}");
    let replay = std::process::Command::new(bin)
        .args(["dead-letters", "replay", "--all", "--storage.path"])
        .arg(&storage)
        .output()
        .unwrap();
    assert!(
        replay.status.success(),
        "{}",
        String::from_utf8_lossy(&replay.stderr)
    );

    // With the right webhook, the replayed message is delivered.
    let _relay = Relay::start(
        &storage,
        &[
            "--discord.webhook-url",
            &double.webhook_url(),
            "--discord.api-url",
            &double.api_url(),
        ],
    )
    .await;
    until(10, "the replayed message", || double.messages().len() == 1).await;
    assert!(titles(&double.messages())[0].contains("Lost"));
    let list = std::process::Command::new(bin)
        .args(["dead-letters", "list", "--storage.path"])
        .arg(&storage)
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&list.stdout).contains("Lost"),
        "replayed letters leave the list"
    );
}

#[tokio::test]
async fn duplicates_from_an_ha_pair_are_delivered_once() {
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
    let g = group("Twice", "firing", &[("a", "firing"), ("b", "firing")]);
    assert_eq!(relay.post("/alertmanager", &g).await, 200);
    assert_eq!(relay.post("/alertmanager", &g).await, 200);
    until(10, "the message", || !double.messages().is_empty()).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(double.messages().len(), 1);
}

#[tokio::test]
async fn dead_letters_replay_through_the_running_relay() {
    let double = DiscordDouble::start().await;
    double.script([Scripted::ServerError, Scripted::ServerError]);
    let dir = tempfile::tempdir().unwrap();
    let storage = dir.path().join("spool");
    let relay = Relay::start(
        &storage,
        &[
            "--discord.webhook-url",
            &double.webhook_url(),
            "--discord.api-url",
            &double.api_url(),
            "--delivery.max-attempts",
            "2",
            "--delivery.backoff-base",
            "10ms",
        ],
    )
    .await;
    assert_eq!(
        relay
            .post(
                "/alertmanager",
                &group("Later", "firing", &[("a", "firing")])
            )
            .await,
        200
    );
    until(10, "the dead letter", || {
        std::fs::read_to_string(storage.join("dead-letters.jsonl"))
            .is_ok_and(|t| t.contains("Later"))
    })
    .await;
    assert!(double.messages().is_empty());
    // The counter follows the dead letter's fsync: poll it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut metrics = relay.metrics().await;
    while !metrics.contains("alert_relay_dead_letters_total 1")
        && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        metrics = relay.metrics().await;
    }
    assert!(
        metrics.contains("alert_relay_dead_letters_total 1"),
        "{metrics}"
    );

    let bin = env!("CARGO_BIN_EXE_alert-relay");
    let offline = std::process::Command::new(bin)
        .args(["dead-letters", "replay", "--all", "--storage.path"])
        .arg(&storage)
        .output()
        .unwrap();
    assert!(
        !offline.status.success(),
        "the spool is locked by the running relay"
    );
    assert!(String::from_utf8_lossy(&offline.stderr).contains("--relay-url"));
    let unauthorized = std::process::Command::new(bin)
        .args([
            "dead-letters",
            "replay",
            "--all",
            "--relay-url",
            &relay.url(),
        ])
        .output()
        .unwrap();
    assert!(!unauthorized.status.success());
    let online = std::process::Command::new(bin)
        .args([
            "dead-letters",
            "replay",
            "--all",
            "--relay-url",
            &relay.url(),
        ])
        .env("ALERT_RELAY_TOKEN", common::TOKEN)
        .output()
        .unwrap();
    assert!(
        online.status.success(),
        "{}",
        String::from_utf8_lossy(&online.stderr)
    );
    until(10, "the replayed message", || double.messages().len() == 1).await;
    assert!(titles(&double.messages())[0].contains("Later"));
    let list = std::process::Command::new(bin)
        .args(["dead-letters", "list", "--storage.path"])
        .arg(&storage)
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&list.stdout).contains("Later"));
}
