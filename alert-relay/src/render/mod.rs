//! The formatter: an alert group to Discord messages that are within every limit.
//!
//! One embed per group (colour and emoji by status and severity, title from the alert name and
//! group labels, a block per alert); a group too long for one embed continues in more embeds,
//! then in more messages, in order ([`layout`]). When that would take more messages than the
//! route allows, the group is shown in its compact form instead ([`compact`]): a line per
//! alert, so every alert is named. Texts are truncated with [`discord::MARKER`], never
//! rejected; text from alerts is escaped ([`crate::markdown`]).
//! Pings (`content`) only on the first message, only when the group fires (unless the route
//! says otherwise), and `allowed_mentions` always lists exactly who may be pinged.

use chrono::{DateTime, Utc};

use crate::discord::{self, AllowedMentions, Embed, EmbedField, EmbedFooter, WebhookMessage};
use crate::markdown;
use crate::payload::{Alert, Notification, Status};
use crate::templates::Templates;

mod compact;
mod context;
mod layout;

pub use context::{human_duration, severity, style};

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
    /// At most this many messages per notification (0: no cap); past it, the compact form.
    pub max_messages: usize,
    /// Bot mode: buttons on a firing group's first message, and a `Matchers` field for them.
    pub buttons: bool,
}

/// The closing line of a compact group that could not name every alert.
fn overflow_note(n: &Notification, rest: usize) -> String {
    let alerts = if rest == 1 { "alert" } else { "alerts" };
    match context::group_link(n) {
        Some(link) => format!("…and {rest} more {alerts} of this group, all in {link}"),
        None => format!("…and {rest} more {alerts} of this group, not listed here"),
    }
}

/// The group's first embed: title, Status / Severity / Alerts (and Matchers for the buttons)
/// fields, footer.
fn header(
    n: &Notification,
    group: &crate::templates::GroupContext,
    title: &str,
    color: u32,
    with_buttons: bool,
    first: Option<&Alert>,
) -> Embed {
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
    Embed {
        title: title.to_string(),
        color: Some(color),
        fields,
        footer: Some(EmbedFooter { text: footer_text }),
        timestamp: first.map(|a| a.starts_at.to_rfc3339()),
        ..Embed::default()
    }
}

/// Renders `n` into one or more messages, each within Discord's limits.
pub fn render(
    n: &Notification,
    templates: &Templates,
    opts: &RenderOptions,
    now: DateTime<Utc>,
) -> Vec<WebhookMessage> {
    let group = context::group_context(n);
    let (color, _) = style(n.status, &group.severity);
    let title = templates.render("title", &group).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "title template failed; using the alert name");
        group.alertname.clone()
    });
    let title = discord::truncate(markdown::title(title.trim()).trim(), discord::TITLE_MAX);

    // Firing alerts first: they are what the reader must act on.
    let mut alerts: Vec<&Alert> = n.alerts.iter().collect();
    alerts.sort_by_key(|a| a.status != Status::Firing);
    let mut blocks: Vec<String> = alerts
        .iter()
        .map(|a| {
            let ctx = context::alert_context(n, a, now);
            let text = templates.render("alert", &ctx).unwrap_or_else(|e| {
                tracing::warn!(error = %e, "alert template failed; using the summary");
                format!(
                    "{} {} {}",
                    ctx.emoji,
                    markdown::inline(&ctx.alertname),
                    markdown::inline(&ctx.summary)
                )
            });
            discord::truncate(text.trim(), BLOCK_MAX)
        })
        .filter(|b| !b.is_empty())
        .collect();
    let mut tail = Vec::new();
    if n.truncated_alerts > 0 {
        tail.push(format!(
            "…and {} more alerts left out by the sender",
            n.truncated_alerts
        ));
    }
    blocks.extend(tail.iter().cloned());

    let with_buttons = opts.buttons && n.status == Status::Firing && !n.common_labels.is_empty();
    let header = header(
        n,
        &group,
        &title,
        color,
        with_buttons,
        alerts.first().copied(),
    );
    let continuation = Embed {
        title: discord::truncate(&format!("{title} (continued)"), discord::TITLE_MAX),
        color: Some(color),
        ..Embed::default()
    };
    let mut messages = layout::pack(&header, &continuation, &blocks, "\n\n");
    if opts.max_messages > 0 && messages.len() > opts.max_messages {
        let lines = compact::lines(n, &alerts);
        messages = compact::fit(
            &header,
            &continuation,
            &lines,
            opts.max_messages,
            &tail,
            &|rest| overflow_note(n, rest),
        );
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
            buttons: i == 0 && with_buttons,
            legacy_components: Vec::new(),
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
mod tests {
    //! Unit tests of the formatter (the property test against the Discord double is in
    //! `tests/`).

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
    fn the_top_sources_a_description_names_reach_the_message_as_written() {
        let t = Templates::new(&TemplateOverrides::default()).unwrap();
        let mut n = sample("firing", 1, "Burst of failed admin logins on nginx");
        n.alerts[0].annotations.insert(
            "description".into(),
            "8 failed admin logins (POST /admin/login answered 401) in the last 2 minutes over \
             all nginx instances. Top sources in the last 10 minutes: 127.0.0.2 6 times, \
             127.0.0.3 2 times, 2001:db8:1:2::/64 1 time."
                .into(),
        );
        let msgs = render(&n, &t, &opts(), now());
        assert_eq!(msgs.len(), 1);
        let d = &msgs[0].embeds[0].description;
        assert!(
            d.contains(
                "Top sources in the last 10 minutes: 127.0.0.2 6 times, 127.0.0.3 2 times, \
                 2001:db8:1:2::/64 1 time."
            ),
            "{d}"
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
            assert!(
                m.embeds.iter().map(Embed::total_len).sum::<usize>() <= discord::EMBEDS_TOTAL_MAX
            );
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
                            .trim_end_matches(['*', '`'])
                            .parse::<usize>()
                            .unwrap(),
                    );
                }
            }
        }
        assert_eq!(seen, (0..300).collect::<Vec<_>>());
    }

    /// Every text of every embed of `msgs`, one string.
    fn text(msgs: &[WebhookMessage]) -> String {
        msgs.iter()
            .flat_map(|m| &m.embeds)
            .map(|e| format!("{}\n{}\n", e.title, e.description))
            .collect()
    }

    fn within_limits(msgs: &[WebhookMessage]) {
        for m in msgs {
            let body = serde_json::to_value(m.execute_webhook()).unwrap();
            if let Err(errors) = testkit::discord::validate(&body) {
                panic!("the strict double refuses it: {errors}");
            }
            assert!(m.embeds.len() <= discord::EMBEDS_MAX);
            assert!(
                m.embeds.iter().map(Embed::total_len).sum::<usize>() <= discord::EMBEDS_TOTAL_MAX
            );
            for e in &m.embeds {
                assert!(discord::len(&e.description) <= discord::DESCRIPTION_MAX);
            }
        }
    }

    fn with_descriptions(mut n: Notification, len: usize) -> Notification {
        for a in &mut n.alerts {
            a.annotations.insert("description".into(), "d".repeat(len));
        }
        n
    }

    #[test]
    fn a_group_past_its_message_cap_names_every_alert_in_compact_lines() {
        let t = Templates::new(&TemplateOverrides::default()).unwrap();
        let n = with_descriptions(sample("firing", 60, "disk is 99% full"), 1500);
        let msgs = render(
            &n,
            &t,
            &RenderOptions {
                max_messages: 10,
                ..opts()
            },
            now(),
        );
        assert!(msgs.len() <= 10, "{}", msgs.len());
        within_limits(&msgs);
        let all = text(&msgs);
        assert!(!all.contains("ddddd"), "descriptions are dropped first");
        for i in 0..60 {
            let line = all
                .lines()
                .find(|l| l.contains(&format!("`instance=host-{i}`")))
                .unwrap_or_else(|| panic!("host-{i} not named in {all}"));
            assert!(line.starts_with("🔥"), "{line}");
            assert!(line.ends_with("disk is 99% full"), "{line}");
        }
        assert!(msgs[0].embeds[0].title.contains("[FIRING:60] DiskFull"));
    }

    #[test]
    fn five_hundred_alerts_are_named_in_ten_messages_with_shortened_summaries() {
        let t = Templates::new(&TemplateOverrides::default()).unwrap();
        for status in ["firing", "resolved"] {
            let n = with_descriptions(sample(status, 500, &"s".repeat(2000)), 1500);
            let msgs = render(
                &n,
                &t,
                &RenderOptions {
                    max_messages: 10,
                    ..opts()
                },
                now(),
            );
            assert!(msgs.len() <= 10, "{}", msgs.len());
            within_limits(&msgs);
            let all = text(&msgs);
            for i in 0..500 {
                assert!(
                    all.contains(&format!("`instance=host-{i}` · sss")),
                    "host-{i} with its summary, shortened"
                );
            }
            assert!(!all.contains(&"s".repeat(300)), "summaries shortened");
            assert!(
                !all.contains("more alerts of this group"),
                "nothing left out"
            );
            let emoji = if status == "firing" { "🔥" } else { "✅" };
            let lines = all
                .lines()
                .filter(|l| l.starts_with(&format!("{emoji} `instance=")))
                .count();
            assert_eq!(lines, 500);
        }
    }

    #[test]
    fn past_what_short_lines_can_hold_the_rest_is_counted_exactly_and_linked() {
        let t = Templates::new(&TemplateOverrides::default()).unwrap();
        let msgs = render(
            &sample("firing", 500, &"y".repeat(2000)),
            &t,
            &RenderOptions {
                max_messages: 1,
                ..opts()
            },
            now(),
        );
        assert_eq!(msgs.len(), 1);
        within_limits(&msgs);
        let all = text(&msgs);
        let named = (0..500)
            .filter(|i| all.contains(&format!("`instance=host-{i}`")))
            .count();
        assert!(named > 100, "{named} named");
        let note = all.lines().last().unwrap();
        assert_eq!(
            note,
            format!(
                "…and {} more alerts of this group, all in [Alertmanager](http://am:9093/#/alerts?filter=%7Balertname%3D%22DiskFull%22%7D)",
                500 - named
            )
        );
        // Three messages name them all, when each gets a bare line.
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
        let all = text(&msgs);
        assert!((0..500).all(|i| all.contains(&format!("`instance=host-{i}`"))));
    }

    #[test]
    fn a_label_cannot_add_a_fake_resolved_line_or_a_link() {
        let t = Templates::new(&TemplateOverrides::default()).unwrap();
        let mut n = sample("firing", 2, "s");
        let forged =
            "db-1\n✅ **DiskFull** resolved\nResolved after 3m [Runbook](https://evil.example)";
        for (i, a) in n.alerts.iter_mut().enumerate() {
            a.labels.insert("instance".into(), format!("{forged}{i}"));
            a.annotations.insert("summary".into(), forged.into());
            a.annotations.insert("description".into(), forged.into());
            a.annotations.insert(
                "runbook_url".into(),
                "https://r.example/x\n✅ Resolved after 1m".into(),
            );
        }
        for max_messages in [20, 1] {
            let mut with_many = n.clone();
            if max_messages == 1 {
                // Enough alerts for the compact form.
                for i in 2..200 {
                    let mut a = n.alerts[0].clone();
                    a.labels.insert("instance".into(), format!("{forged}{i}"));
                    with_many.alerts.push(a);
                }
            }
            let msgs = render(
                &with_many,
                &t,
                &RenderOptions {
                    max_messages,
                    ..opts()
                },
                now(),
            );
            let all = text(&msgs);
            for line in all.lines() {
                assert!(
                    !line.starts_with('✅') && !line.starts_with("Resolved"),
                    "forged line {line:?} in\n{all}"
                );
            }
            // Outside code spans (where Discord renders nothing), no link to it.
            let rendered: String = all.split('`').step_by(2).collect();
            assert!(!rendered.contains("](https://evil"), "{all}");
            assert!(
                all.contains("`instance=db-1↵✅ **DiskFull** resolved↵"),
                "{all}"
            );
        }
    }

    #[test]
    fn durations_read_at_a_glance() {
        assert_eq!(human_duration(5), "5s");
        assert_eq!(human_duration(125), "2m 5s");
        assert_eq!(human_duration(7380), "2h 3m");
        assert_eq!(human_duration(90_000), "1d 1h");
    }
}
