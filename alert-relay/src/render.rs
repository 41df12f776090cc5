//! The formatter: an alert group to Discord messages that are within every limit.
//!
//! One embed per group (colour and emoji by status and severity, title from the alert name and
//! group labels, a block per alert); a group too long for one embed continues in more embeds,
//! then in more messages, in order. Texts are truncated with [`discord::MARKER`], never rejected.
//! Pings (`content`) only on the first message, only when the group fires (unless the route
//! says otherwise), and `allowed_mentions` always lists exactly who may be pinged.

use chrono::{DateTime, Utc};

use crate::discord::{self, AllowedMentions, Embed, EmbedField, EmbedFooter, WebhookMessage};
use crate::payload::{Alert, Notification, Status};
use crate::templates::{AlertContext, GroupContext, Templates};

/// One alert's block is cut to this, so that it always fits a fresh embed next to the title,
/// fields and footer (256 + 5 × (32 + 200) + 256 + 3000 < 6000).
const BLOCK_MAX: usize = 3000;
/// Field values are short facts.
const FIELD_MAX: usize = 200;
/// Footer.
const FOOTER_MAX: usize = 256;

/// Per-route settings of a message.
#[derive(Clone, Debug, Default)]
pub struct RenderOptions {
    /// Webhook name override.
    pub username: Option<String>,
    /// Webhook avatar override.
    pub avatar_url: Option<String>,
    /// Role ids to ping.
    pub roles: Vec<String>,
    /// User ids to ping.
    pub users: Vec<String>,
    /// Also ping when the group resolved (off by default).
    pub ping_on_resolved: bool,
    /// At most this many messages per notification; the rest is summarised.
    pub max_messages: usize,
    /// Bot mode: buttons on a firing group's first message, and a `Matchers` field for them.
    pub buttons: bool,
}

/// Colour and emoji of a status and severity.
pub fn style(status: Status, severity: &str) -> (u32, &'static str) {
    match (status, severity) {
        (Status::Resolved, _) => (0x2E_CC71, "✅"),
        (Status::Firing, "critical" | "page" | "error" | "high") => (0xE0_1E5A, "🔥"),
        (Status::Firing, "warning" | "warn" | "medium") => (0xF2_A900, "⚠️"),
        (Status::Firing, _) => (0x34_98DB, "ℹ️"),
    }
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
fn label_list<'a>(
    labels: impl Iterator<Item = (&'a String, &'a String)>,
    skip: &dyn Fn(&str) -> bool,
) -> String {
    labels
        .filter(|(k, _)| !skip(k))
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
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

/// A URL safe inside markdown `[text](url)`.
fn link(text: &str, url: &str) -> Option<String> {
    let url = url.trim();
    if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() > 1000 {
        return None;
    }
    let safe = url
        .replace('(', "%28")
        .replace(')', "%29")
        .replace(' ', "%20");
    Some(format!("[{text}]({safe})"))
}

/// Alertmanager's "new silence" page prefilled with the alert's labels.
fn silence_url(external_url: &str, alert: &Alert) -> Option<String> {
    if external_url.is_empty() {
        return None;
    }
    let matchers = alert
        .labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect::<Vec<_>>()
        .join(",");
    let matchers = format!("{{{matchers}}}");
    let filter =
        percent_encoding::utf8_percent_encode(&matchers, percent_encoding::NON_ALPHANUMERIC);
    Some(format!(
        "{}/#/silences/new?filter={filter}",
        external_url.trim_end_matches('/')
    ))
}

fn alert_context(n: &Notification, a: &Alert, now: DateTime<Utc>) -> AlertContext {
    let severity = a.labels.get("severity").map(String::as_str).unwrap_or("");
    let (_, emoji) = style(a.status, severity);
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
    let description = a
        .annotations
        .get("description")
        .or(a.annotations.get("message"))
        .cloned()
        .or_else(|| a.value_string.clone().filter(|v| !v.is_empty()))
        .unwrap_or_default();
    AlertContext {
        status: a.status.as_str().into(),
        emoji: emoji.into(),
        alertname: a
            .labels
            .get("alertname")
            .cloned()
            .unwrap_or_else(|| "alert".into()),
        labels: label_list(a.labels.iter(), &|k| {
            k == "alertname" || n.common_labels.contains_key(k)
        }),
        all_labels: a.labels.clone(),
        annotations: a.annotations.clone(),
        summary: a.annotations.get("summary").cloned().unwrap_or_default(),
        description,
        starts_unix: a.starts_at.timestamp(),
        duration: human_duration((end - a.starts_at).num_seconds()),
        links,
    }
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

fn group_context(n: &Notification) -> GroupContext {
    let firing: Vec<&Alert> = n
        .alerts
        .iter()
        .filter(|a| a.status == Status::Firing)
        .collect();
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
        alertname,
        group_labels: label_list(n.group_labels.iter(), &|k| k == "alertname"),
        firing_count: firing.len(),
        resolved_count: n.alerts.len() - firing.len(),
        receiver: n.receiver.clone(),
        common_labels: n.common_labels.clone(),
        common_annotations: n.common_annotations.clone(),
    }
}

/// Renders `n` into one or more messages, each within Discord's limits.
pub fn render(
    n: &Notification,
    templates: &Templates,
    opts: &RenderOptions,
    now: DateTime<Utc>,
) -> Vec<WebhookMessage> {
    let group = group_context(n);
    let (color, _) = style(n.status, &group.severity);
    let title = templates.render("title", &group).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "title template failed; using the alert name");
        group.alertname.clone()
    });
    let title = discord::truncate(title.trim(), discord::TITLE_MAX);

    // Firing alerts first: they are what the reader must act on.
    let mut alerts: Vec<&Alert> = n.alerts.iter().collect();
    alerts.sort_by_key(|a| a.status != Status::Firing);
    let mut blocks: Vec<String> = alerts
        .iter()
        .map(|a| {
            let ctx = alert_context(n, a, now);
            let text = templates.render("alert", &ctx).unwrap_or_else(|e| {
                tracing::warn!(error = %e, "alert template failed; using the summary");
                format!("{} {} {}", ctx.emoji, ctx.alertname, ctx.summary)
            });
            discord::truncate(text.trim(), BLOCK_MAX)
        })
        .filter(|b| !b.is_empty())
        .collect();
    if n.truncated_alerts > 0 {
        blocks.push(format!(
            "…and {} more alerts left out by the sender",
            n.truncated_alerts
        ));
    }

    let mut fields = vec![EmbedField {
        name: "Status".into(),
        value: group.status.clone(),
        inline: true,
    }];
    if !group.severity.is_empty() {
        fields.push(EmbedField {
            name: "Severity".into(),
            value: discord::truncate(&group.severity, FIELD_MAX),
            inline: true,
        });
    }
    fields.push(EmbedField {
        name: "Alerts".into(),
        value: format!(
            "{} firing, {} resolved",
            group.firing_count, group.resolved_count
        ),
        inline: true,
    });
    let with_buttons = opts.buttons && n.status == Status::Firing && !n.common_labels.is_empty();
    if with_buttons {
        fields.push(EmbedField {
            name: crate::interactions::MATCHERS_FIELD.into(),
            value: crate::interactions::matchers_field(&n.common_labels),
            inline: false,
        });
    }
    let footer_text = discord::truncate(
        &format!(
            "{} · {}",
            n.receiver,
            if n.external_url.is_empty() {
                "alert-relay"
            } else {
                &n.external_url
            }
        ),
        FOOTER_MAX,
    );
    let header = Embed {
        title: title.clone(),
        color: Some(color),
        fields,
        footer: Some(EmbedFooter { text: footer_text }),
        timestamp: alerts.first().map(|a| a.starts_at.to_rfc3339()),
        ..Embed::default()
    };
    let continuation = || Embed {
        title: discord::truncate(&format!("{title} (continued)"), discord::TITLE_MAX),
        color: Some(color),
        ..Embed::default()
    };

    let mut messages: Vec<Vec<Embed>> = Vec::new();
    let mut current: Vec<Embed> = vec![header];
    for block in blocks {
        let embed = current.last_mut().expect("a message always has an embed");
        let sep = if embed.description.is_empty() { 0 } else { 2 };
        let total: usize = current.iter().map(Embed::total_len).sum();
        let added = sep + discord::len(&block);
        let embed = current.last_mut().expect("non-empty");
        if discord::len(&embed.description) + added <= discord::DESCRIPTION_MAX
            && total + added <= discord::EMBEDS_TOTAL_MAX
        {
            if sep > 0 {
                embed.description.push_str("\n\n");
            }
            embed.description.push_str(&block);
            continue;
        }
        let fresh = Embed {
            title: String::new(),
            color: Some(color),
            description: block,
            ..Embed::default()
        };
        if current.len() < discord::EMBEDS_MAX
            && total + fresh.total_len() <= discord::EMBEDS_TOTAL_MAX
        {
            current.push(fresh);
        } else {
            messages.push(std::mem::take(&mut current));
            let mut first = continuation();
            first.description = fresh.description;
            current.push(first);
        }
    }
    messages.push(current);

    if opts.max_messages > 0 && messages.len() > opts.max_messages {
        let dropped: usize = messages[opts.max_messages - 1..].iter().map(Vec::len).sum();
        messages.truncate(opts.max_messages - 1);
        let mut note = continuation();
        note.description = format!(
            "…{dropped} more embeds of this group are not shown; see {}",
            if n.external_url.is_empty() {
                "the sender"
            } else {
                &n.external_url
            }
        );
        messages.push(vec![note]);
    }

    let ping = n.status == Status::Firing || opts.ping_on_resolved;
    let roles: Vec<String> = if ping {
        opts.roles
            .iter()
            .take(discord::MENTION_IDS_MAX)
            .cloned()
            .collect()
    } else {
        vec![]
    };
    let users: Vec<String> = if ping {
        opts.users
            .iter()
            .take(discord::MENTION_IDS_MAX)
            .cloned()
            .collect()
    } else {
        vec![]
    };
    let mentions: String = roles
        .iter()
        .map(|r| format!("<@&{r}> "))
        .chain(users.iter().map(|u| format!("<@{u}> ")))
        .collect();
    let text = templates.render("content", &group).unwrap_or_default();
    let content = discord::truncate(
        format!("{mentions}{}", text.trim()).trim(),
        discord::CONTENT_MAX,
    );

    messages
        .into_iter()
        .enumerate()
        .map(|(i, embeds)| WebhookMessage {
            content: if i == 0 {
                content.clone()
            } else {
                String::new()
            },
            username: opts
                .username
                .as_deref()
                .map(|u| discord::truncate(u, discord::USERNAME_MAX)),
            avatar_url: opts.avatar_url.clone(),
            embeds,
            components: match (i, with_buttons, crate::interactions::buttons()) {
                (0, true, serde_json::Value::Array(rows)) => rows,
                _ => Vec::new(),
            },
            allowed_mentions: if i == 0 {
                AllowedMentions {
                    parse: vec![],
                    roles: roles.clone(),
                    users: users.clone(),
                }
            } else {
                AllowedMentions::default()
            },
        })
        .collect()
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
