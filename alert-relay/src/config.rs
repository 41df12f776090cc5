//! The routes file (YAML, unknown fields are errors): Discord targets, and routes that send a
//! notification to targets by receiver and label matchers, with per-severity pings. Without a
//! file, `--discord.webhook-url` makes one catch-all route (or the `log` sink when unset).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use regex::Regex;
use serde::Deserialize;

use crate::payload::Notification;
use crate::render::RenderOptions;
use crate::secret::WebhookUrl;
use crate::templates::{TemplateOverrides, Templates};

/// The routes file as written.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Named Discord targets.
    pub targets: BTreeMap<String, TargetConfig>,
    /// Routes, tried in order.
    #[serde(default)]
    pub routes: Vec<RouteConfig>,
    /// Targets of notifications no route matches (required: nothing is dropped).
    pub default_targets: Vec<String>,
    /// Template overrides.
    #[serde(default)]
    pub templates: TemplateOverrides,
    /// At most this many Discord messages per notification (default 10).
    #[serde(default)]
    pub max_messages_per_notification: Option<usize>,
}

/// One target as written: a webhook (URL inline or in a file, optional thread) or the log sink.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    /// `https://discord.com/api/webhooks/<id>/<token>`.
    pub webhook_url: Option<String>,
    /// A file holding the webhook URL (a Kubernetes Secret).
    pub webhook_url_file: Option<PathBuf>,
    /// Post into this thread of the webhook's channel.
    pub thread_id: Option<String>,
    /// Bot mode: post to this channel with `--discord.bot-token` (messages get buttons).
    pub channel_id: Option<String>,
    /// Print the rendered messages to the log instead of sending them.
    #[serde(default)]
    pub log: bool,
    /// Webhook name override.
    pub username: Option<String>,
    /// Webhook avatar override.
    pub avatar_url: Option<String>,
}

/// Who to ping.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mentions {
    /// Role ids.
    #[serde(default)]
    pub roles: Vec<String>,
    /// User ids.
    #[serde(default)]
    pub users: Vec<String>,
}

/// One route as written.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Matches the notification's receiver (Alertmanager's receiver name), when set.
    pub receiver: Option<String>,
    /// Prometheus-style matchers on the group's common labels: `a="b"`, `a!="b"`, `a=~"re"`, `a!~"re"`.
    #[serde(default)]
    pub matchers: Vec<String>,
    /// Where matching notifications go.
    pub targets: Vec<String>,
    /// Pings by severity (`critical`, `warning`, ... or `default`).
    #[serde(default)]
    pub mentions: BTreeMap<String, Mentions>,
    /// Ping on resolved notifications too (default false).
    #[serde(default)]
    pub ping_on_resolved: bool,
    /// Keep trying later routes after this one matched.
    #[serde(default, rename = "continue")]
    pub continue_matching: bool,
    /// Webhook name override for this route.
    pub username: Option<String>,
    /// Webhook avatar override for this route.
    pub avatar_url: Option<String>,
}

/// Where a target's messages go.
#[derive(Clone, Debug)]
pub enum TargetKind {
    /// A Discord webhook, optionally a thread of its channel.
    Webhook {
        /// The webhook (its token redacted in any output).
        url: WebhookUrl,
        /// The thread.
        thread_id: Option<String>,
    },
    /// Bot mode: a channel, posted to with the bot token.
    Channel {
        /// The channel id.
        channel_id: String,
    },
    /// The log sink.
    Log,
}

/// A resolved target.
#[derive(Clone, Debug)]
pub struct Target {
    /// Its name.
    pub name: String,
    /// Where it sends.
    pub kind: TargetKind,
    username: Option<String>,
    avatar_url: Option<String>,
}

/// A parsed matcher.
#[derive(Clone, Debug)]
struct Matcher {
    name: String,
    regex: Regex,
    negate: bool,
}

impl Matcher {
    fn parse(text: &str) -> anyhow::Result<Matcher> {
        let re =
            Regex::new(r#"^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*$"#)
                .expect("valid");
        let caps = re.captures(text).ok_or_else(|| {
            anyhow::anyhow!("invalid matcher {text:?}: expected name=\"value\" (or !=, =~, !~)")
        })?;
        let value = caps[3].replace("\\\"", "\"").replace("\\\\", "\\");
        let op = &caps[2];
        let pattern = if op.contains('~') {
            value
        } else {
            regex::escape(&value)
        };
        let regex = Regex::new(&format!("^(?:{pattern})$"))
            .map_err(|e| anyhow::anyhow!("invalid regex in matcher {text:?}: {e}"))?;
        Ok(Matcher {
            name: caps[1].to_string(),
            regex,
            negate: op.starts_with('!'),
        })
    }

    fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let value = labels.get(&self.name).map(String::as_str).unwrap_or("");
        self.regex.is_match(value) != self.negate
    }
}

#[derive(Debug)]
struct Route {
    receiver: Option<String>,
    matchers: Vec<Matcher>,
    targets: Vec<String>,
    mentions: BTreeMap<String, Mentions>,
    ping_on_resolved: bool,
    continue_matching: bool,
    username: Option<String>,
    avatar_url: Option<String>,
}

/// The resolved configuration: targets, routes, templates.
#[derive(Debug)]
pub struct Router {
    /// Targets by name.
    pub targets: BTreeMap<String, Target>,
    routes: Vec<Route>,
    default_targets: Vec<String>,
    /// Compiled templates.
    pub templates: Templates,
    max_messages: usize,
}

impl FileConfig {
    /// Reads and parses a routes file.
    pub fn load(path: &Path) -> anyhow::Result<FileConfig> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        serde_yaml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }

    /// The config of the simple case: everything to one webhook, or to the log sink.
    pub fn single(webhook: Option<WebhookUrl>) -> (FileConfig, Option<WebhookUrl>) {
        let target = TargetConfig {
            log: webhook.is_none(),
            ..Default::default()
        };
        let name = if webhook.is_some() { "default" } else { "log" };
        let cfg = FileConfig {
            targets: BTreeMap::from([(name.to_string(), target)]),
            default_targets: vec![name.to_string()],
            ..Default::default()
        };
        (cfg, webhook)
    }

    /// Validates everything (webhook URLs, matchers, target names, templates) into a [`Router`].
    /// `inline` is the webhook of [`FileConfig::single`].
    pub fn resolve(self, inline: Option<WebhookUrl>) -> anyhow::Result<Router> {
        let mut targets = BTreeMap::new();
        for (name, t) in self.targets {
            let kind = match (&t.webhook_url, &t.webhook_url_file, t.log, &inline) {
                (None, None, false, _) if t.channel_id.is_some() => {
                    let id = t.channel_id.clone().unwrap_or_default();
                    anyhow::ensure!(
                        id.bytes().all(|b| b.is_ascii_digit()) && !id.is_empty(),
                        "target {name:?}: channel_id must be a number"
                    );
                    TargetKind::Channel { channel_id: id }
                }
                _ if t.channel_id.is_some() => anyhow::bail!(
                    "target {name:?}: channel_id excludes webhook_url, webhook_url_file and log"
                ),
                (_, _, false, Some(url))
                    if t.webhook_url.is_none() && t.webhook_url_file.is_none() =>
                {
                    TargetKind::Webhook {
                        url: url.clone(),
                        thread_id: t.thread_id.clone(),
                    }
                }
                (Some(u), None, false, _) => TargetKind::Webhook {
                    url: WebhookUrl::parse(u)
                        .map_err(|e| anyhow::anyhow!("target {name:?}: {e}"))?,
                    thread_id: t.thread_id.clone(),
                },
                (None, Some(file), false, _) => {
                    let secret = crate::secret::read_secret_file(file)?;
                    TargetKind::Webhook {
                        url: WebhookUrl::parse(secret.expose()).map_err(|e| {
                            anyhow::anyhow!("target {name:?} ({}): {e}", file.display())
                        })?,
                        thread_id: t.thread_id.clone(),
                    }
                }
                (None, None, true, _) => TargetKind::Log,
                _ => anyhow::bail!(
                    "target {name:?}: set exactly one of webhook_url, webhook_url_file or log: true"
                ),
            };
            if let Some(thread) = &t.thread_id {
                anyhow::ensure!(
                    thread.bytes().all(|b| b.is_ascii_digit()) && !thread.is_empty(),
                    "target {name:?}: thread_id must be a number"
                );
            }
            targets.insert(
                name.clone(),
                Target {
                    name,
                    kind,
                    username: t.username,
                    avatar_url: t.avatar_url,
                },
            );
        }
        let known = |names: &[String], what: &str| -> anyhow::Result<()> {
            anyhow::ensure!(!names.is_empty(), "{what}: at least one target is needed");
            for n in names {
                anyhow::ensure!(
                    targets.contains_key(n),
                    "{what}: unknown target {n:?} (known: {:?})",
                    targets.keys().collect::<Vec<_>>()
                );
            }
            Ok(())
        };
        known(&self.default_targets, "default_targets")?;
        let mut routes = Vec::new();
        for (i, r) in self.routes.into_iter().enumerate() {
            known(&r.targets, &format!("routes[{i}]"))?;
            for m in r.mentions.values() {
                for id in m.roles.iter().chain(&m.users) {
                    anyhow::ensure!(
                        id.bytes().all(|b| b.is_ascii_digit()) && !id.is_empty(),
                        "routes[{i}]: mention ids are numbers, got {id:?}"
                    );
                }
            }
            let matchers = r
                .matchers
                .iter()
                .map(|m| Matcher::parse(m))
                .collect::<anyhow::Result<_>>()
                .map_err(|e| anyhow::anyhow!("routes[{i}]: {e}"))?;
            routes.push(Route {
                receiver: r.receiver,
                matchers,
                targets: r.targets,
                mentions: r.mentions,
                ping_on_resolved: r.ping_on_resolved,
                continue_matching: r.continue_matching,
                username: r.username,
                avatar_url: r.avatar_url,
            });
        }
        let templates = Templates::new(&self.templates)?;
        Ok(Router {
            targets,
            routes,
            default_targets: self.default_targets,
            templates,
            max_messages: self.max_messages_per_notification.unwrap_or(10).max(1),
        })
    }
}

impl Router {
    /// The targets of `n` and how to render for each (first match wins unless `continue`).
    pub fn route(&self, n: &Notification, severity: &str) -> Vec<(String, RenderOptions)> {
        let mut out: Vec<(String, RenderOptions)> = Vec::new();
        for r in &self.routes {
            if r.receiver.as_ref().is_some_and(|rcv| rcv != &n.receiver)
                || !r.matchers.iter().all(|m| m.matches(&n.common_labels))
            {
                continue;
            }
            let m = r.mentions.get(severity).or(r.mentions.get("default"));
            for t in &r.targets {
                if out.iter().any(|(name, _)| name == t) {
                    continue;
                }
                let target = &self.targets[t];
                out.push((
                    t.clone(),
                    RenderOptions {
                        username: r.username.clone().or(target.username.clone()),
                        avatar_url: r.avatar_url.clone().or(target.avatar_url.clone()),
                        roles: m.map(|m| m.roles.clone()).unwrap_or_default(),
                        users: m.map(|m| m.users.clone()).unwrap_or_default(),
                        ping_on_resolved: r.ping_on_resolved,
                        max_messages: self.max_messages,
                        buttons: matches!(target.kind, TargetKind::Channel { .. }),
                    },
                ));
            }
            if !r.continue_matching {
                return out;
            }
        }
        if out.is_empty() {
            for t in &self.default_targets {
                let target = &self.targets[t];
                out.push((
                    t.clone(),
                    RenderOptions {
                        username: target.username.clone(),
                        avatar_url: target.avatar_url.clone(),
                        max_messages: self.max_messages,
                        buttons: matches!(target.kind, TargetKind::Channel { .. }),
                        ..Default::default()
                    },
                ));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    // Tests of the routes file: parsing, validation errors, routing.

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
}
