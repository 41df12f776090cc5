//! Tests of the routes file: parsing, validation errors, routing.

use super::*;
use crate::payload::Source;

const FILE: &str = r#"
targets:
  ops:
    webhook_url: https://discord.com/api/webhooks/111/tok-ops
    username: Alerts
  db:
    webhook_url: https://discord.com/api/webhooks/222/tok-db
    thread_id: "333"
  dryrun:
    log: true
routes:
  - matchers: ['team="db"', 'severity=~"crit.*"']
    targets: [db]
    mentions:
      critical: {roles: ["42"]}
    continue: true
  - receiver: discord
    targets: [ops]
    mentions:
      default: {users: ["7"]}
default_targets: [dryrun]
"#;

fn notification(receiver: &str, labels: &[(&str, &str)]) -> Notification {
    let labels: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let body = serde_json::json!({"version": "4", "groupKey": "g", "status": "firing", "receiver": receiver,
        "commonLabels": labels, "alerts": [{"status": "firing", "labels": labels, "startsAt": "2024-01-01T00:00:00Z"}]});
    Notification::parse(Source::Alertmanager, body.to_string().as_bytes()).unwrap()
}

fn router() -> Router {
    serde_yaml::from_str::<FileConfig>(FILE)
        .unwrap()
        .resolve(None)
        .unwrap()
}

#[test]
fn routes_match_by_labels_and_receiver_with_continue() {
    let r = router();
    let routed = r.route(
        &notification("discord", &[("team", "db"), ("severity", "critical")]),
        "critical",
    );
    let names: Vec<&str> = routed.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, vec!["db", "ops"]);
    assert_eq!(routed[0].1.roles, vec!["42"]);
    assert_eq!(routed[1].1.users, vec!["7"]);
    assert_eq!(routed[1].1.username.as_deref(), Some("Alerts"));
}

#[test]
fn unmatched_notifications_go_to_the_default_targets() {
    let routed = router().route(&notification("other", &[("team", "web")]), "warning");
    assert_eq!(routed.len(), 1);
    assert_eq!(routed[0].0, "dryrun");
    assert!(routed[0].1.roles.is_empty());
}

#[test]
fn unknown_fields_and_bad_references_are_errors() {
    let typo = FILE.replace("thread_id", "thread");
    assert!(
        serde_yaml::from_str::<FileConfig>(&typo)
            .unwrap_err()
            .to_string()
            .contains("thread")
    );
    let unknown = FILE.replace("targets: [db]", "targets: [nope]");
    let err = serde_yaml::from_str::<FileConfig>(&unknown)
        .unwrap()
        .resolve(None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("nope"), "{err}");
    let bad = FILE
        .replace("team=\\\"db\\\"", "team==db")
        .replace(r#"'team="db"'"#, "'team==db'");
    let err = serde_yaml::from_str::<FileConfig>(&bad)
        .unwrap()
        .resolve(None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("invalid matcher"), "{err}");
}

#[test]
fn a_bad_webhook_url_error_does_not_echo_the_token() {
    let bad = FILE.replace("webhooks/111/tok-ops", "hooks/111/tok-ops");
    let err = serde_yaml::from_str::<FileConfig>(&bad)
        .unwrap()
        .resolve(None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("ops") && !err.contains("tok-ops"), "{err}");
    assert!(
        !format!("{:?}", router()).contains("tok-"),
        "Debug of the router shows no token"
    );
}
