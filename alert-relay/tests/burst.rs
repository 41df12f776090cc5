//! A real Alertmanager sends a burst (a group of 60 alerts with 1,500-character descriptions
//! and two small groups) and a 500-alert group through the relay to the strict Discord double,
//! during an outage of 429s, a SIGKILL of the relay, a restart, then more 429s and a 500:
//! every alert is named with its distinguishing label, in at most 10 messages per group; Discord
//! never answers 400; no request comes before the `retry_after` of the 429 before it; every
//! message arrives exactly once.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use common::{Relay, alertmanager, until};
use serde_json::{Value, json};
use testkit::discord::{DiscordDouble, Scripted};

fn alert(name: &str, instance: &str, description: &str) -> Value {
    json!({
        "labels": {"alertname": name, "severity": "critical", "instance": instance, "job": "forum-web"},
        "annotations": {"summary": format!("{instance} is failing"), "description": description},
        "generatorURL": "http://prometheus:9090/graph?g0.expr=up%3D%3D0",
    })
}

/// Every text of a message's embeds.
fn text(m: &Value) -> String {
    m["embeds"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            format!(
                "{}\n{}\n",
                e["title"].as_str().unwrap_or(""),
                e["description"].as_str().unwrap_or("")
            )
        })
        .collect()
}

/// The delivered messages by group (the alert name in the first embed's title).
fn by_group(messages: &[Value], groups: &[&str]) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for m in messages {
        let title = m["embeds"][0]["title"].as_str().unwrap_or("");
        let group = groups
            .iter()
            .find(|g| title.contains(&format!("] {g}")))
            .unwrap_or_else(|| panic!("a message of no group: {title}"));
        out.entry(group.to_string()).or_default().push(text(m));
    }
    out
}

#[tokio::test]
async fn a_burst_and_a_500_alert_group_are_named_in_full_once_through_429s_and_a_sigkill() {
    let double = DiscordDouble::start().await;
    double.outage(Some(Scripted::RateLimited {
        retry_after: 0.25,
        global: false,
    }));
    let dir = tempfile::tempdir().unwrap();
    let storage = dir.path().join("spool");
    let port = testkit::free_port();
    let webhook = double.webhook_url();
    let api = double.api_url();
    let args = [
        "--discord.webhook-url",
        &webhook,
        "--discord.api-url",
        &api,
        "--delivery.backoff-base",
        "50ms",
        "--delivery.backoff-max",
        "200ms",
        "--delivery.max-attempts",
        "1000",
    ];
    let mut relay = Relay::start_at(&storage, port, &args).await;
    let am = alertmanager(dir.path(), port).await;

    let long =
        "The forum answers 502 to every request; nginx cannot reach the upstream. ".repeat(21);
    let long = &long[..1500];
    let mut alerts: Vec<Value> = (0..60)
        .map(|i| alert("BurstBig", &format!("big-{i}"), long))
        .collect();
    alerts.push(alert("BurstA", "a-0", "short"));
    alerts.push(alert("BurstB", "b-0", "short"));
    alerts.extend((0..500).map(|i| alert("Flood", &format!("flood-{i}"), "one of many")));
    let resp = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{}/api/v2/alerts", am.port))
        .json(&alerts)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());

    // All four notifications accepted (spooled) while Discord answers nothing but 429s.
    let series = "alert_relay_notifications_received_total{source=\"alertmanager\"}";
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while relay.metric(series).await != Some(4.0) {
        assert!(
            std::time::Instant::now() < deadline,
            "notifications not accepted: {}",
            relay.log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    until(10, "a few 429s", || double.seen().len() >= 3).await;
    relay.kill9();
    assert!(
        double.messages().is_empty(),
        "nothing delivered before the kill"
    );
    // The restarted relay cannot know the last 429's retry_after: restart after it.
    tokio::time::sleep(Duration::from_millis(400)).await;
    double.outage(None);
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
    ]);
    let relay = Relay::start_at(&storage, port, &args).await;

    let groups = ["BurstBig", "BurstA", "BurstB", "Flood"];
    let named = |messages: &[Value]| {
        let g = by_group(messages, &groups);
        let has = |group: &str, label: &str| {
            g.get(group)
                .is_some_and(|texts| texts.iter().any(|t| t.contains(label)))
        };
        (0..60).all(|i| has("BurstBig", &format!("instance=big-{i}`")))
            && (0..500).all(|i| has("Flood", &format!("instance=flood-{i}`")))
            && has("BurstA", "a-0")
            && has("BurstB", "b-0")
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    while !named(&double.messages()) {
        if std::time::Instant::now() > deadline {
            let got: Vec<(String, usize)> = by_group(&double.messages(), &groups)
                .into_iter()
                .map(|(g, t)| (g, t.len()))
                .collect();
            let statuses: Vec<u16> = double.seen().iter().map(|s| s.status).collect();
            panic!(
                "not every alert named; messages by group {got:?}, answers {statuses:?}, log:\n{}",
                relay.log_text()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Past the double's 2 s window: a duplicate would have arrived by now.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let messages = double.messages();

    let g = by_group(&messages, &groups);
    for (group, texts) in &g {
        assert!(texts.len() <= 10, "{group}: {} messages", texts.len());
        let name_shown = texts.iter().all(|t| t.contains(group.as_str()));
        assert!(name_shown, "{group}: its name in every message");
    }
    assert!(
        g["BurstBig"].iter().all(|t| !t.contains(&long[..200])),
        "the long descriptions gave way to compact lines"
    );
    let bodies: HashSet<String> = messages.iter().map(Value::to_string).collect();
    assert_eq!(bodies.len(), messages.len(), "a message arrived twice");

    let seen = double.seen();
    assert!(
        seen.iter().all(|s| s.status != 400),
        "Discord refused a message: {:?}",
        seen.iter()
            .filter(|s| s.status == 400)
            .map(|s| &s.body)
            .collect::<Vec<_>>()
    );
    let limited = seen.iter().filter(|s| s.status == 429).count();
    assert!(limited >= 4, "{limited} 429s");
    for pair in seen.windows(2) {
        if let Some(after) = pair[0].retry_after {
            let gap = pair[1].at.duration_since(pair[0].at);
            assert!(
                gap >= Duration::from_secs_f64(after),
                "retried after {gap:?}, before retry_after {after}"
            );
        }
    }
    eprintln!(
        "messages by group: {:?}; answers: {} (429: {limited}, 500: {}, 400: 0)",
        g.iter().map(|(k, v)| (k, v.len())).collect::<Vec<_>>(),
        seen.len(),
        seen.iter().filter(|s| s.status == 500).count()
    );
    let metrics = relay.metrics().await;
    assert!(metrics.contains("alert_relay_spool_depth 0"), "{metrics}");
    assert!(
        metrics.contains(&format!(
            "alert_relay_notifications_delivered_total {}",
            messages.len()
        )),
        "every message delivered by the restarted relay: {metrics}"
    );
}
