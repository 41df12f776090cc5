//! What the formatter knows about a group and its alerts: colours and emoji, the template
//! contexts, links (source, runbook, silence, the group in Alertmanager), durations.

use chrono::{DateTime, Utc};

use crate::markdown;
use crate::payload::{Alert, KeyValues, Notification, Status};
use crate::templates::{AlertContext, GroupContext};

/// Colour and emoji of a status and severity.
pub fn style(status: Status, severity: &str) -> (u32, &'static str) {
    match (status, severity) {
        (Status::Resolved, _) => (0x2E_CC71, "✅"),
        (Status::Firing, "critical" | "page" | "error" | "high") => (0xE0_1E5A, "🔥"),
        (Status::Firing, "warning" | "warn" | "medium") => (0xF2_A900, "⚠️"),
        (Status::Firing, _) => (0x34_98DB, "ℹ️"),
    }
}

/// The emoji of one alert (its status and severity).
pub(super) fn alert_emoji(a: &Alert) -> &'static str {
    style(
        a.status,
        a.labels.get("severity").map(String::as_str).unwrap_or(""),
    )
    .1
}

fn severity_rank(s: &str) -> u8 {
    match s {
        "critical" | "page" | "error" | "high" => 3,
        "warning" | "warn" | "medium" => 2,
        "" => 0,
        _ => 1,
    }
}

/// `k=v, k=v` of `labels` without the keys in `skip`.
pub(super) fn label_list<'a>(
    labels: impl Iterator<Item = (&'a String, &'a String)>,
    skip: &dyn Fn(&str) -> bool,
) -> String {
    labels
        .filter(|(k, _)| !skip(k))
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The label pairs every alert of `n` carries (computed, not taken from the sender's
/// `commonLabels`, which Grafana leaves empty).
pub(super) fn shared_labels(n: &Notification) -> KeyValues {
    let mut shared = n.alerts[0].labels.clone();
    for a in &n.alerts[1..] {
        shared.retain(|k, v| a.labels.get(k) == Some(v));
    }
    shared
}

/// `3h 2m`, `45s`: coarse enough to read at a glance.
pub fn human_duration(seconds: i64) -> String {
    let s = seconds.max(0);
    let (d, h, m, sec) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60, s % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{sec}s"),
        (0, 0, _) => format!("{m}m {sec}s"),
        (0, _, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

/// A markdown link `[text](url)` to an http(s) URL, with every character that could end the
/// link or start a new line percent-encoded; `None` for other schemes or over-long URLs.
pub(super) fn link(text: &str, url: &str) -> Option<String> {
    let url = url.trim();
    if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() > 1000 {
        return None;
    }
    let mut safe = String::with_capacity(url.len());
    for c in url.chars() {
        if c.is_whitespace() || c.is_control() || "()<>`\"|[]".contains(c) {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                safe.push_str(&format!("%{b:02X}"));
            }
        } else {
            safe.push(c);
        }
    }
    Some(format!("[{text}]({safe})"))
}

/// `{k="v",...}` as Alertmanager's UI filters take it, percent-encoded.
fn matchers_filter(labels: &KeyValues) -> String {
    let matchers = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect::<Vec<_>>()
        .join(",");
    percent_encoding::utf8_percent_encode(
        &format!("{{{matchers}}}"),
        percent_encoding::NON_ALPHANUMERIC,
    )
    .to_string()
}

/// Alertmanager's "new silence" page prefilled with the alert's labels.
fn silence_url(external_url: &str, alert: &Alert) -> Option<String> {
    if external_url.is_empty() {
        return None;
    }
    Some(format!(
        "{}/#/silences/new?filter={}",
        external_url.trim_end_matches('/'),
        matchers_filter(&alert.labels)
    ))
}

/// A link to the whole group where it came from: Alertmanager's alert list filtered to the
/// group's labels (Grafana's alert list for a Grafana notification), or `None` without a URL.
pub(super) fn group_link(n: &Notification) -> Option<String> {
    let base = n.external_url.trim_end_matches('/');
    if base.is_empty() {
        return None;
    }
    if n.version == "1" {
        return link("Grafana", &format!("{base}/alerting/list"));
    }
    let labels = if n.group_labels.is_empty() {
        &n.common_labels
    } else {
        &n.group_labels
    };
    link(
        "Alertmanager",
        &format!("{base}/#/alerts?filter={}", matchers_filter(labels)),
    )
    .or_else(|| link("Alertmanager", base))
}

/// What the `alert` template sees of `a`.
pub(super) fn alert_context(n: &Notification, a: &Alert, now: DateTime<Utc>) -> AlertContext {
    let end = a.ended_at().unwrap_or(now);
    let mut links = Vec::new();
    links.extend(link("Source", &a.generator_url));
    if let Some(r) = a
        .annotations
        .get("runbook_url")
        .or_else(|| n.common_annotations.get("runbook_url"))
    {
        links.extend(link("Runbook", r));
    }
    if let Some(d) = &a.dashboard_url {
        links.extend(link("Dashboard", d));
    }
    if let Some(p) = &a.panel_url {
        links.extend(link("Panel", p));
    }
    if a.status == Status::Firing {
        let silence = a
            .silence_url
            .clone()
            .or_else(|| silence_url(&n.external_url, a));
        if let Some(s) = silence {
            links.extend(link("Silence", &s));
        }
    }
    AlertContext {
        status: a.status.as_str().into(),
        emoji: alert_emoji(a).into(),
        alertname: alertname(a),
        labels: label_list(a.labels.iter(), &|k| {
            k == "alertname" || n.common_labels.contains_key(k)
        }),
        all_labels: a.labels.clone(),
        annotations: a.annotations.clone(),
        summary: a.annotations.get("summary").cloned().unwrap_or_default(),
        description: description(a),
        starts_unix: a.starts_at.timestamp(),
        duration: human_duration((end - a.starts_at).num_seconds()),
        links,
    }
}

/// The `alertname` label (or `alert`).
pub(super) fn alertname(a: &Alert) -> String {
    a.labels
        .get("alertname")
        .cloned()
        .unwrap_or_else(|| "alert".into())
}

/// The `description` annotation, else `message`, else Grafana's `valueString`.
fn description(a: &Alert) -> String {
    a.annotations
        .get("description")
        .or(a.annotations.get("message"))
        .cloned()
        .or_else(|| a.value_string.clone().filter(|v| !v.is_empty()))
        .unwrap_or_default()
}

/// The highest severity label among the firing alerts (among all when none fires).
pub fn severity(n: &Notification) -> String {
    let firing: Vec<&Alert> = n
        .alerts
        .iter()
        .filter(|a| a.status == Status::Firing)
        .collect();
    let pool: Vec<&Alert> = if firing.is_empty() {
        n.alerts.iter().collect()
    } else {
        firing
    };
    pool.iter()
        .filter_map(|a| a.labels.get("severity"))
        .max_by_key(|s| severity_rank(s))
        .cloned()
        .unwrap_or_default()
}

/// What the `title` and `content` templates see.
pub(super) fn group_context(n: &Notification) -> GroupContext {
    let firing = n
        .alerts
        .iter()
        .filter(|a| a.status == Status::Firing)
        .count();
    let severity = severity(n);
    let (_, emoji) = style(n.status, &severity);
    let alertname = n
        .common_labels
        .get("alertname")
        .or(n.group_labels.get("alertname"))
        .or(n.alerts[0].labels.get("alertname"))
        .cloned()
        .unwrap_or_else(|| n.title.clone().unwrap_or_else(|| "alerts".into()));
    GroupContext {
        status: n.status.as_str().into(),
        emoji: emoji.into(),
        severity,
        alertname: markdown::title(&alertname),
        group_labels: markdown::title(&label_list(n.group_labels.iter(), &|k| k == "alertname")),
        firing_count: firing,
        resolved_count: n.alerts.len() - firing,
        receiver: n.receiver.clone(),
        common_labels: n.common_labels.clone(),
        common_annotations: n.common_annotations.clone(),
    }
}
