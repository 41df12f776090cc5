//! The texts of a message, as minijinja templates an operator can override: `title` (one per
//! group), `alert` (one block per alert) and `content` (the plain text line above the embeds).
//! The formatter ([`crate::render`]) lays the results out within Discord's limits.

use std::collections::BTreeMap;

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

use crate::markdown;

/// The default group title: emoji, status, count, alert name and grouping labels.
pub const DEFAULT_TITLE: &str = "{{ emoji }} [{{ status | upper }}{% if firing_count %}:{{ firing_count }}{% endif %}] \
{{ alertname }}{% if group_labels %} ({{ group_labels }}){% endif %}";

/// The default block of one alert.
pub const DEFAULT_ALERT: &str =
    "**{{ emoji }} {{ alertname | md }}**{% if labels %} {{ labels | code }}{% endif %}
{% if summary %}{{ summary | md }}
{% endif %}{% if description %}{{ description | md_block }}
{% endif %}{% if status == \"firing\" %}Started <t:{{ starts_unix }}:f>, firing for {{ duration }}\
{% else %}Resolved after {{ duration }}{% endif %}\
{% if links %}
{{ links | join(\" · \") }}{% endif %}";

/// The default content line: empty (the pings, when any, are put before it).
pub const DEFAULT_CONTENT: &str = "";

/// What the `title` and `content` templates see.
#[derive(Clone, Debug, Serialize)]
pub struct GroupContext {
    /// `firing` or `resolved`.
    pub status: String,
    /// The emoji of the group's status and severity.
    pub emoji: String,
    /// The highest severity among the alerts (`critical`, `warning`, `info`, or the label's value).
    pub severity: String,
    /// Alert name common to the group (or the first alert's).
    pub alertname: String,
    /// The group labels except `alertname`, as `k=v, k=v`.
    pub group_labels: String,
    /// How many alerts fire.
    pub firing_count: usize,
    /// How many are resolved.
    pub resolved_count: usize,
    /// The receiver.
    pub receiver: String,
    /// Labels every alert shares.
    pub common_labels: BTreeMap<String, String>,
    /// Annotations every alert shares.
    pub common_annotations: BTreeMap<String, String>,
}

/// What the `alert` template sees.
#[derive(Clone, Debug, Serialize)]
pub struct AlertContext {
    /// `firing` or `resolved`.
    pub status: String,
    /// The emoji of its status and severity.
    pub emoji: String,
    /// Its `alertname`.
    pub alertname: String,
    /// Its labels not shared by the whole group, as `k=v, k=v`.
    pub labels: String,
    /// All its labels.
    pub all_labels: BTreeMap<String, String>,
    /// All its annotations.
    pub annotations: BTreeMap<String, String>,
    /// The `summary` annotation.
    pub summary: String,
    /// The `description` annotation (or Grafana's `valueString`).
    pub description: String,
    /// Start, Unix seconds (Discord renders `<t:N:f>` in each reader's time zone).
    pub starts_unix: i64,
    /// How long it fired (until now, or until it resolved).
    pub duration: String,
    /// Markdown links: source, runbook, silence, dashboard, panel.
    pub links: Vec<String>,
}

/// The compiled templates.
#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
}

/// Operator overrides (from the routes file); `None` keeps the default.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateOverrides {
    /// The `title` template.
    pub title: Option<String>,
    /// The `alert` template.
    pub alert: Option<String>,
    /// The `content` template.
    pub content: Option<String>,
}

impl Templates {
    /// Compiles the defaults with `overrides` on top. Errors name the template and the line.
    pub fn new(overrides: &TemplateOverrides) -> anyhow::Result<Templates> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Lenient);
        env.add_filter("md", |v: String| markdown::inline(&v));
        env.add_filter("md_block", |v: String| markdown::block(&v));
        env.add_filter("code", |v: String| markdown::code(&v));
        for (name, default, custom) in [
            ("title", DEFAULT_TITLE, &overrides.title),
            ("alert", DEFAULT_ALERT, &overrides.alert),
            ("content", DEFAULT_CONTENT, &overrides.content),
        ] {
            let source = custom.clone().unwrap_or_else(|| default.to_string());
            env.add_template_owned(name, source)
                .map_err(|e| anyhow::anyhow!("template {name:?}: {e:#}"))?;
        }
        Ok(Templates { env })
    }

    /// Renders template `name` with `ctx`.
    pub fn render<S: Serialize>(&self, name: &str, ctx: S) -> Result<String, minijinja::Error> {
        self.env.get_template(name)?.render(ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filters_escape_quote_and_code_span() {
        let t = Templates::new(&TemplateOverrides {
            content: Some("{{ a | md }}|{{ b | md_block }}|{{ c | code }}".into()),
            ..Default::default()
        })
        .unwrap();
        let out = t
            .render(
                "content",
                serde_json::json!({"a": "x*\nResolved", "b": "l1\nl2", "c": "k=`v`"}),
            )
            .unwrap();
        assert_eq!(out, "x\\* ↵ Resolved|> l1\n> l2|`k=ˋvˋ`");
    }

    #[test]
    fn an_override_replaces_the_default_and_a_bad_one_names_itself() {
        let t = Templates::new(&TemplateOverrides {
            title: Some("T {{ alertname }}".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            t.render("title", serde_json::json!({"alertname": "X"}))
                .unwrap(),
            "T X"
        );
        let err = Templates::new(&TemplateOverrides {
            alert: Some("{% if %}".into()),
            ..Default::default()
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains("alert"), "{err}");
    }
}
