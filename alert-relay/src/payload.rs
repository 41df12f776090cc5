//! Inbound payloads: Alertmanager's webhook (version 4) and Grafana's webhook (version 1),
//! parsed into one [`Notification`]. Strict where a mistake would lose meaning (status, labels,
//! timestamps, at least one alert), tolerant of fields added by newer versions.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Labels or annotations.
pub type KeyValues = BTreeMap<String, String>;

/// Where a notification came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// `POST /alertmanager`.
    Alertmanager,
    /// `POST /grafana`.
    Grafana,
}

impl Source {
    /// The metric label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Alertmanager => "alertmanager",
            Source::Grafana => "grafana",
        }
    }
}

/// Firing or resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// At least one alert fires.
    Firing,
    /// Everything resolved.
    Resolved,
}

impl Status {
    /// `firing` or `resolved`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Firing => "firing",
            Status::Resolved => "resolved",
        }
    }
}

/// One alert of a group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    /// The alert's own status.
    pub status: Status,
    /// Its labels (must include `alertname` to be useful, not required).
    pub labels: KeyValues,
    /// Its annotations (`summary`, `description`, `runbook_url`...).
    #[serde(default)]
    pub annotations: KeyValues,
    /// When it started firing.
    pub starts_at: DateTime<Utc>,
    /// When it resolved (`0001-01-01T00:00:00Z` while firing).
    #[serde(default)]
    pub ends_at: Option<DateTime<Utc>>,
    /// The Prometheus graph URL of its expression.
    #[serde(default, rename = "generatorURL")]
    pub generator_url: String,
    /// Its fingerprint (Alertmanager's hash of the labels).
    #[serde(default)]
    pub fingerprint: String,
    /// Grafana: a URL that silences it.
    #[serde(
        default,
        rename = "silenceURL",
        skip_serializing_if = "Option::is_none"
    )]
    pub silence_url: Option<String>,
    /// Grafana: its dashboard.
    #[serde(
        default,
        rename = "dashboardURL",
        skip_serializing_if = "Option::is_none"
    )]
    pub dashboard_url: Option<String>,
    /// Grafana: its panel.
    #[serde(default, rename = "panelURL", skip_serializing_if = "Option::is_none")]
    pub panel_url: Option<String>,
    /// Grafana: the values that made it fire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_string: Option<String>,
}

impl Alert {
    /// Whether `ends_at` is a real end (Alertmanager sends year 1 for "none").
    pub fn ended_at(&self) -> Option<DateTime<Utc>> {
        self.ends_at
            .filter(|t| t.timestamp() > 0 && self.status == Status::Resolved)
    }
}

/// An alert group notification, from either source.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    /// The payload version (`4` for Alertmanager, `1` for Grafana).
    #[serde(default)]
    pub version: String,
    /// The receiver name in the sender's routing tree.
    #[serde(default)]
    pub receiver: String,
    /// The group's status.
    pub status: Status,
    /// Its alerts (at least one).
    pub alerts: Vec<Alert>,
    /// The labels the group is grouped by.
    #[serde(default)]
    pub group_labels: KeyValues,
    /// Labels every alert shares.
    #[serde(default)]
    pub common_labels: KeyValues,
    /// Annotations every alert shares.
    #[serde(default)]
    pub common_annotations: KeyValues,
    /// The sender's URL (Alertmanager's UI).
    #[serde(default, rename = "externalURL")]
    pub external_url: String,
    /// The group's key in the sender.
    #[serde(default)]
    pub group_key: String,
    /// How many alerts the sender left out (`max_alerts`).
    #[serde(default)]
    pub truncated_alerts: u64,
    /// Grafana: its own title of the notification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Grafana: its own rendered message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Why a payload was refused (the 400's body).
#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    /// Not JSON, or a field of the wrong type.
    #[error("invalid payload: {0}")]
    Json(#[from] serde_json::Error),
    /// Well-formed but meaningless.
    #[error("invalid payload: {0}")]
    Invalid(String),
}

impl Notification {
    /// Parses the body of `POST /alertmanager` or `POST /grafana`.
    pub fn parse(source: Source, body: &[u8]) -> Result<Notification, PayloadError> {
        let n: Notification = serde_json::from_slice(body)?;
        let expected = match source {
            Source::Alertmanager => "4",
            Source::Grafana => "1",
        };
        if !n.version.is_empty() && n.version != expected {
            return Err(PayloadError::Invalid(format!(
                "unsupported {} payload version {:?} (expected {expected:?})",
                source.as_str(),
                n.version
            )));
        }
        if n.alerts.is_empty() {
            return Err(PayloadError::Invalid("`alerts` is empty".into()));
        }
        if source == Source::Alertmanager && n.group_key.is_empty() {
            return Err(PayloadError::Invalid("missing field `groupKey`".into()));
        }
        Ok(n)
    }

    /// The key that identifies a delivery of this group in this state: group key, status and
    /// the alerts' fingerprints and statuses. An HA pair's second Alertmanager and a retry send the
    /// same key; a change in the group makes a new one.
    pub fn dedup_key(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut alerts: Vec<String> = self
            .alerts
            .iter()
            .map(|a| {
                let id = if a.fingerprint.is_empty() {
                    format!("{:?}", a.labels)
                } else {
                    a.fingerprint.clone()
                };
                format!("{id}:{}", a.status.as_str())
            })
            .collect();
        alerts.sort();
        let mut h = Sha256::new();
        h.update(self.receiver.as_bytes());
        h.update([0]);
        h.update(self.group_key.as_bytes());
        h.update([0]);
        h.update(self.status.as_str());
        for a in alerts {
            h.update([0]);
            h.update(a.as_bytes());
        }
        hex::encode(h.finalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const AM: &str = r#"{
      "version": "4", "groupKey": "{}:{alertname=\"HighLatency\"}", "truncatedAlerts": 0,
      "status": "firing", "receiver": "discord",
      "groupLabels": {"alertname": "HighLatency"},
      "commonLabels": {"alertname": "HighLatency", "severity": "critical"},
      "commonAnnotations": {"summary": "p99 over 1s"},
      "externalURL": "http://am:9093",
      "alerts": [{"status": "firing", "labels": {"alertname": "HighLatency", "severity": "critical", "instance": "a"},
        "annotations": {"summary": "p99 over 1s"}, "startsAt": "2024-01-01T00:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "http://prom/graph", "fingerprint": "abc",
        "someNewField": true}],
      "anotherNewField": [1, 2]
    }"#;

    #[test]
    fn an_alertmanager_v4_payload_with_unknown_fields_parses() {
        let n = Notification::parse(Source::Alertmanager, AM.as_bytes()).unwrap();
        assert_eq!(n.status, Status::Firing);
        assert_eq!(n.alerts[0].labels["instance"], "a");
        assert_eq!(n.alerts[0].ended_at(), None);
    }

    #[test]
    fn garbage_is_refused_with_a_reason() {
        let err = Notification::parse(Source::Alertmanager, b"{\"status\":\"burning\"}")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("burning") || err.contains("unknown variant"),
            "{err}"
        );
        let err = Notification::parse(Source::Alertmanager, b"not json")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("invalid payload"), "{err}");
        let bad_version = AM.replace("\"version\": \"4\"", "\"version\": \"3\"");
        let err = Notification::parse(Source::Alertmanager, bad_version.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(err.contains("version"), "{err}");
        let no_alerts = r#"{"version":"4","groupKey":"k","status":"firing","alerts":[]}"#;
        assert!(Notification::parse(Source::Alertmanager, no_alerts.as_bytes()).is_err());
    }

    #[test]
    fn the_dedup_key_ignores_order_and_changes_with_status() {
        let a = Notification::parse(Source::Alertmanager, AM.as_bytes()).unwrap();
        let mut b = a.clone();
        b.alerts.reverse();
        assert_eq!(a.dedup_key(), b.dedup_key());
        let mut c = a.clone();
        c.status = Status::Resolved;
        c.alerts[0].status = Status::Resolved;
        assert_ne!(a.dedup_key(), c.dedup_key());
    }

    #[test]
    fn a_grafana_payload_parses_with_its_extra_fields() {
        let body = r#"{"version":"1","status":"resolved","orgId":1,"title":"[RESOLVED] x","state":"ok",
          "message":"m","groupKey":"g","alerts":[{"status":"resolved","labels":{"alertname":"x"},
          "startsAt":"2024-01-01T00:00:00Z","endsAt":"2024-01-01T01:00:00Z","silenceURL":"http://g/s",
          "values":{"A":1},"valueString":"A=1"}]}"#;
        let n = Notification::parse(Source::Grafana, body.as_bytes()).unwrap();
        assert_eq!(n.alerts[0].silence_url.as_deref(), Some("http://g/s"));
        assert!(n.alerts[0].ended_at().is_some());
    }
}
