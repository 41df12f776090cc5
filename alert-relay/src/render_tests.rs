//! Unit tests of the formatter (the property test against the Discord double is in `tests/`).

use chrono::TimeZone;

use super::*;
use crate::payload::Source;
use crate::templates::TemplateOverrides;

fn sample(status: &str, n_alerts: usize, summary: &str) -> Notification {
    let alerts: Vec<serde_json::Value> = (0..n_alerts)
        .map(|i| {
            serde_json::json!({"status": status, "labels": {"alertname": "DiskFull", "severity": "critical", "instance": format!("host-{i}")},
              "annotations": {"summary": summary, "runbook_url": "https://runbooks/disk"},
              "startsAt": "2024-01-01T00:00:00Z", "endsAt": if status == "resolved" {"2024-01-01T01:30:00Z"} else {"0001-01-01T00:00:00Z"},
              "generatorURL": "http://prom:9090/graph?g0.expr=up", "fingerprint": format!("f{i}")})
        })
        .collect();
    let body = serde_json::json!({"version": "4", "groupKey": "g", "status": status, "receiver": "discord",
        "groupLabels": {"alertname": "DiskFull"}, "commonLabels": {"alertname": "DiskFull", "severity": "critical"},
        "externalURL": "http://am:9093", "alerts": alerts});
    Notification::parse(Source::Alertmanager, body.to_string().as_bytes()).unwrap()
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 1, 2, 0, 0).unwrap()
}

fn opts() -> RenderOptions {
    RenderOptions {
        roles: vec!["42".into()],
        max_messages: 20,
        ..Default::default()
    }
}

#[test]
fn a_firing_group_is_one_red_embed_that_pings_the_route_roles() {
    let t = Templates::new(&TemplateOverrides::default()).unwrap();
    let msgs = render(&sample("firing", 2, "disk is 99% full"), &t, &opts(), now());
    assert_eq!(msgs.len(), 1);
    let m = &msgs[0];
    assert_eq!(m.content, "<@&42>");
    assert_eq!(m.allowed_mentions.roles, vec!["42"]);
    assert_eq!(m.embeds.len(), 1);
    let e = &m.embeds[0];
    assert_eq!(e.color, Some(0xE01E5A));
    assert!(e.title.starts_with("🔥 [FIRING:2] DiskFull"), "{}", e.title);
    assert!(
        e.description.contains("disk is 99% full"),
        "{}",
        e.description
    );
    assert!(
        e.description.contains("instance=host-1"),
        "{}",
        e.description
    );
    assert!(
        e.description.contains("[Runbook](https://runbooks/disk)"),
        "{}",
        e.description
    );
    assert!(
        e.description
            .contains("[Silence](http://am:9093/#/silences/new?filter="),
        "{}",
        e.description
    );
    assert!(
        e.description.contains("<t:1704067200:f>, firing for 2h 0m"),
        "{}",
        e.description
    );
}

#[test]
fn a_resolved_group_is_green_and_pings_nobody() {
    let t = Templates::new(&TemplateOverrides::default()).unwrap();
    let msgs = render(&sample("resolved", 1, "s"), &t, &opts(), now());
    assert_eq!(msgs[0].content, "");
    assert!(msgs[0].allowed_mentions.roles.is_empty());
    assert_eq!(msgs[0].embeds[0].color, Some(0x2ECC71));
    assert!(
        msgs[0].embeds[0]
            .description
            .contains("Resolved after 1h 30m")
    );
    assert!(!msgs[0].embeds[0].description.contains("Silence"));
}

#[test]
fn a_huge_group_is_split_in_order_within_limits() {
    let t = Templates::new(&TemplateOverrides::default()).unwrap();
    let msgs = render(
        &sample("firing", 300, &"x".repeat(500)),
        &t,
        &RenderOptions {
            max_messages: 100,
            ..opts()
        },
        now(),
    );
    assert!(msgs.len() > 1);
    let mut seen = Vec::new();
    for m in &msgs {
        assert!(m.embeds.len() <= discord::EMBEDS_MAX);
        assert!(m.embeds.iter().map(Embed::total_len).sum::<usize>() <= discord::EMBEDS_TOTAL_MAX);
        for e in &m.embeds {
            assert!(discord::len(&e.description) <= discord::DESCRIPTION_MAX);
            for line in e
                .description
                .lines()
                .filter(|l| l.contains("instance=host-"))
            {
                seen.push(
                    line.split("instance=host-")
                        .nth(1)
                        .unwrap()
                        .trim_end_matches('*')
                        .parse::<usize>()
                        .unwrap(),
                );
            }
        }
    }
    assert_eq!(seen, (0..300).collect::<Vec<_>>());
}

#[test]
fn too_many_messages_end_with_a_summary() {
    let t = Templates::new(&TemplateOverrides::default()).unwrap();
    let msgs = render(
        &sample("firing", 500, &"y".repeat(2000)),
        &t,
        &RenderOptions {
            max_messages: 3,
            ..opts()
        },
        now(),
    );
    assert_eq!(msgs.len(), 3);
    assert!(
        msgs[2].embeds[0]
            .description
            .contains("more embeds of this group are not shown")
    );
}

#[test]
fn durations_read_at_a_glance() {
    assert_eq!(human_duration(5), "5s");
    assert_eq!(human_duration(125), "2m 5s");
    assert_eq!(human_duration(7380), "2h 3m");
    assert_eq!(human_duration(90_000), "1d 1h");
}
