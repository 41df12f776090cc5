//! Property test of the formatter: random groups (huge labels, up to 500 alerts, unicode,
//! markdown characters, many mentions) always render to messages the strict Discord double
//! accepts, with every alert named (or counted in the closing line).

use std::collections::BTreeMap;

use alert_relay::payload::{Alert, Notification, Status};
use alert_relay::render::{RenderOptions, render};
use alert_relay::templates::{TemplateOverrides, Templates};
use chrono::{TimeZone, Utc};
use proptest::prelude::*;

fn text(max: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::string::string_regex(&format!("[a-z0-9_ ]{{0,{max}}}")).unwrap(),
        proptest::string::string_regex(&format!(
            "[*_~`|>#\\[\\]()@<&\\\\ éß漢字🔥👩‍👩‍👧\u{200b}\n]{{0,{max}}}"
        ))
        .unwrap(),
        (0..max * 4).prop_map(|n| "🔥a*".repeat(n / 3 + 1)),
    ]
}

fn labels() -> impl Strategy<Value = BTreeMap<String, String>> {
    proptest::collection::btree_map("[a-z_]{1,12}", text(300), 0..6)
}

fn alert() -> impl Strategy<Value = Alert> {
    (
        labels(),
        labels(),
        text(3000),
        any::<bool>(),
        prop_oneof![Just("critical"), Just("warning"), Just("info"), Just("")],
        text(400),
    )
        .prop_map(
            |(mut labels, mut annotations, summary, firing, severity, name)| {
                labels.insert("alertname".into(), name);
                if !severity.is_empty() {
                    labels.insert("severity".into(), severity.into());
                }
                annotations.insert("summary".into(), summary.clone());
                annotations.insert("description".into(), summary);
                annotations.insert(
                    "runbook_url".into(),
                    "https://runbooks.example/(x) y".into(),
                );
                Alert {
                    status: if firing {
                        Status::Firing
                    } else {
                        Status::Resolved
                    },
                    labels,
                    annotations,
                    starts_at: Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap(),
                    ends_at: Some(Utc.with_ymd_and_hms(2024, 1, 1, 1, 0, 0).unwrap()),
                    generator_url: "http://prometheus:9090/graph?g0.expr=up%3D%3D0".into(),
                    fingerprint: "f".into(),
                    silence_url: None,
                    dashboard_url: None,
                    panel_url: None,
                    value_string: None,
                }
            },
        )
}

fn notification() -> impl Strategy<Value = Notification> {
    (
        proptest::collection::vec(alert(), 1..40),
        labels(),
        labels(),
        any::<bool>(),
        0u64..1000,
        prop_oneof![1 => Just(500usize), 4 => Just(0usize)],
    )
        .prop_flat_map(
            |(alerts, group_labels, common_labels, firing, truncated, extra)| {
                let base = alerts.clone();
                (0..=extra).prop_map(move |n| {
                    let mut alerts = base.clone();
                    // Up to 500 alerts: copies of the random ones.
                    for i in 0..n.saturating_sub(alerts.len()) {
                        alerts.push(base[i % base.len()].clone());
                    }
                    Notification {
                        version: "4".into(),
                        receiver: "r".repeat(3000),
                        status: if firing {
                            Status::Firing
                        } else {
                            Status::Resolved
                        },
                        alerts,
                        group_labels: group_labels.clone(),
                        common_labels: common_labels.clone(),
                        common_annotations: BTreeMap::new(),
                        external_url: "http://alertmanager:9093".into(),
                        group_key: "g".into(),
                        truncated_alerts: truncated,
                        title: None,
                        message: None,
                    }
                })
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_rendered_message_passes_the_discord_double(n in notification(), roles in 0usize..150, max_messages in 1usize..30) {
        let templates = Templates::new(&TemplateOverrides::default()).unwrap();
        let opts = RenderOptions {
            username: Some("ü".repeat(200)),
            roles: (0..roles).map(|i| (1000 + i).to_string()).collect(),
            users: vec!["7".into()],
            max_messages,
            ..Default::default()
        };
        let messages = render(&n, &templates, &opts, Utc.with_ymd_and_hms(2024, 1, 2, 0, 0, 0).unwrap());
        prop_assert!(!messages.is_empty());
        prop_assert!(messages.len() <= max_messages);
        for (i, m) in messages.iter().enumerate() {
            // What goes on the wire: serenity's builder made from the rendered message.
            let body = serde_json::to_value(m.execute_webhook()).unwrap();
            if let Err(errors) = testkit::discord::validate(&body) {
                prop_assert!(false, "message {i} refused: {errors}");
            }
            prop_assert_eq!(&body["allowed_mentions"]["parse"], &serde_json::json!([]));
            if n.status == Status::Resolved || i > 0 {
                prop_assert!(m.allowed_mentions.roles.is_empty() && m.allowed_mentions.users.is_empty(), "pings only on the first firing message");
            }
        }
    }
}
