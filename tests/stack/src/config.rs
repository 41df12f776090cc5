//! The stack's copies of the repository's configuration files, with its own ports and paths.
//!
//! The repository's `monitoring/` files are the single source of truth: the stack reads them,
//! swaps the default loopback ports for the ones it chose, makes relative paths absolute and,
//! for tests, shortens intervals. Nothing else in them changes.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde_yaml::Value;

/// The loopback ports of one stack.
#[derive(Debug, Clone, Copy)]
pub struct Ports {
    /// nginx in front of the forum.
    pub nginx: u16,
    /// `forum --role web`.
    pub forum_web: u16,
    /// `forum --role api`.
    pub forum_api: u16,
    /// `forum worker` (its `/metrics` and health).
    pub forum_worker: u16,
    /// nginx-log-exporter.
    pub nginx_exporter: u16,
    /// pg-exporter.
    pub pg_exporter: u16,
    /// alert-relay.
    pub relay: u16,
    /// Prometheus.
    pub prometheus: u16,
    /// Alertmanager.
    pub alertmanager: u16,
    /// The stack's own PostgreSQL, when it runs one.
    pub postgres: u16,
    /// Grafana, when it is installed and asked for.
    pub grafana: u16,
    /// The blackbox exporter probing the forum through nginx.
    pub blackbox: u16,
    /// The SMTP catcher the forum's worker sends its mails to.
    pub smtp: u16,
}

impl Ports {
    /// The ports registered in the README (`docs/contracts.md`).
    pub const DEFAULT: Ports = Ports {
        nginx: 8080,
        forum_web: 8000,
        forum_api: 8001,
        forum_worker: 8002,
        nginx_exporter: 9731,
        pg_exporter: 9732,
        relay: 9733,
        prometheus: 9090,
        alertmanager: 9093,
        postgres: 5439,
        grafana: 3000,
        blackbox: 9115,
        smtp: 2525,
    };

    /// Free ports on 127.0.0.1, all different.
    pub fn random() -> Ports {
        let mut taken = std::collections::HashSet::new();
        let mut next = || loop {
            let p = testkit::free_port();
            if taken.insert(p) {
                return p;
            }
        };
        Ports {
            nginx: next(),
            forum_web: next(),
            forum_api: next(),
            forum_worker: next(),
            nginx_exporter: next(),
            pg_exporter: next(),
            relay: next(),
            prometheus: next(),
            alertmanager: next(),
            postgres: next(),
            grafana: next(),
            blackbox: next(),
            smtp: next(),
        }
    }

    /// `(default, chosen)` for every service a config file may name.
    fn replacements(&self) -> [(u16, u16); 10] {
        let d = Ports::DEFAULT;
        [
            (d.nginx, self.nginx),
            (d.forum_web, self.forum_web),
            (d.forum_api, self.forum_api),
            (d.forum_worker, self.forum_worker),
            (d.nginx_exporter, self.nginx_exporter),
            (d.pg_exporter, self.pg_exporter),
            (d.relay, self.relay),
            (d.prometheus, self.prometheus),
            (d.alertmanager, self.alertmanager),
            (d.blackbox, self.blackbox),
        ]
    }

    /// `text` with every `127.0.0.1:<default port>` turned into the chosen port. Two passes
    /// through a placeholder, so a chosen port equal to another default is not replaced twice.
    pub fn rewrite(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (default, _) in self.replacements() {
            out = out.replace(
                &format!("127.0.0.1:{default}"),
                &format!("127.0.0.1:@@{default}@@"),
            );
        }
        for (default, chosen) in self.replacements() {
            out = out.replace(
                &format!("127.0.0.1:@@{default}@@"),
                &format!("127.0.0.1:{chosen}"),
            );
        }
        out
    }
}

/// How fast the stack's Prometheus and Alertmanager work.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Scrape and rule evaluation interval, e.g. `"1s"` for tests, `"5s"` for the demo.
    pub interval: &'static str,
    /// Alertmanager `group_wait` and `group_interval` on every route (None: as in the file).
    pub alert_grouping: Option<(&'static str, &'static str)>,
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))
}

/// Prometheus' config for the stack: the repository's `monitoring/prometheus/prometheus.yml`
/// with the stack's ports, absolute rule paths and the stack's intervals.
pub fn prometheus(repo: &Path, ports: &Ports, timing: Timing) -> anyhow::Result<String> {
    let dir = repo.join("monitoring/prometheus");
    let mut doc: Value = serde_yaml::from_str(&ports.rewrite(&read(&dir.join("prometheus.yml"))?))?;
    let global = &mut doc["global"];
    global["scrape_interval"] = timing.interval.into();
    global["evaluation_interval"] = timing.interval.into();
    global["scrape_timeout"] = timing.interval.into();
    if let Some(files) = doc.get_mut("rule_files").and_then(Value::as_sequence_mut) {
        for f in files.iter_mut() {
            if let Some(rel) = f.as_str().filter(|p| !p.starts_with('/')) {
                *f = dir.join(rel).display().to_string().into();
            }
        }
    }
    Ok(serde_yaml::to_string(&doc)?)
}

/// The probe account of the blackbox `http_login` module (monitoring/blackbox/blackbox.yml):
/// a plain member the stack registers.
pub const PROBE_USERNAME: &str = "uptime-probe";

/// What stands for the probe account's password in the repository's blackbox.yml.
const PROBE_PASSWORD_PLACEHOLDER: &str = "replace-with-the-probe-password";

/// The blackbox exporter's config for the stack: the repository's file with the probe
/// account's password in place of its placeholder (Debian's blackbox exporter has no
/// `body_file`). The password must need no escaping in JSON (letters, digits, `._~-`).
pub fn blackbox(repo: &Path, probe_password: &str) -> anyhow::Result<String> {
    anyhow::ensure!(
        !probe_password.is_empty()
            && probe_password
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._~-".contains(c)),
        "the probe password may hold only letters, digits and ._~-"
    );
    let path = repo.join("monitoring/blackbox/blackbox.yml");
    let text = read(&path)?;
    anyhow::ensure!(
        text.matches(PROBE_PASSWORD_PLACEHOLDER).count() == 1
            && text.contains(&format!(r#""username":"{PROBE_USERNAME}""#)),
        "{} must hold the login module of {PROBE_USERNAME} with one password placeholder",
        path.display()
    );
    Ok(text.replace(PROBE_PASSWORD_PLACEHOLDER, probe_password))
}

/// Where the receivers that do not go through the relay send (`heartbeat` and
/// `alerting-path` in alertmanager.yml, whose URLs there are placeholders).
#[derive(Debug, Clone, Default)]
pub struct Bypass {
    /// The heartbeat receiver's URL (a dead man's switch); None: it sends nothing.
    pub heartbeat_url: Option<String>,
    /// The Discord webhook of the alerting-path receiver; None: it sends nothing.
    pub alerting_path_webhook: Option<String>,
}

/// Alertmanager's config for the stack: the repository's file with the stack's ports, the
/// relay token file at `token_file`, the bypass receivers' URLs, and (for tests) short
/// grouping intervals.
pub fn alertmanager(
    repo: &Path,
    ports: &Ports,
    token_file: &Path,
    bypass: &Bypass,
    timing: Timing,
) -> anyhow::Result<String> {
    let path = repo.join("monitoring/alertmanager/alertmanager.yml");
    let mut doc: Value = serde_yaml::from_str(&ports.rewrite(&read(&path)?))?;
    set_bypass(&mut doc, bypass)?;
    walk(&mut doc, &mut |key, value| {
        if key == "credentials_file" {
            *value = token_file.display().to_string().into();
        }
        if let Some((wait, interval)) = timing.alert_grouping {
            match key {
                "group_wait" => *value = wait.into(),
                "group_interval" => *value = interval.into(),
                _ => {}
            }
        }
    });
    Ok(serde_yaml::to_string(&doc)?)
}

/// Points the `heartbeat` and `alerting-path` receivers at the stack's URLs, or leaves them
/// without an integration (Alertmanager then drops what they get) when there is none.
fn set_bypass(doc: &mut Value, bypass: &Bypass) -> anyhow::Result<()> {
    let receivers = doc
        .get_mut("receivers")
        .and_then(Value::as_sequence_mut)
        .context("alertmanager.yml has no receivers")?;
    let mut seen = 0;
    for receiver in receivers {
        let (key, field, url) = match receiver.get("name").and_then(Value::as_str) {
            Some("heartbeat") => ("webhook_configs", "url", &bypass.heartbeat_url),
            Some("alerting-path") => (
                "discord_configs",
                "webhook_url",
                &bypass.alerting_path_webhook,
            ),
            _ => continue,
        };
        seen += 1;
        let map = receiver
            .as_mapping_mut()
            .context("a receiver of alertmanager.yml is not a mapping")?;
        match url {
            Some(url) => {
                let configs = map
                    .get_mut(key)
                    .and_then(Value::as_sequence_mut)
                    .with_context(|| format!("receiver without {key}"))?;
                for c in configs {
                    c[field] = url.as_str().into();
                }
            }
            None => {
                map.remove(key);
            }
        }
    }
    anyhow::ensure!(
        seen == 2,
        "alertmanager.yml must have the receivers `heartbeat` and `alerting-path`"
    );
    Ok(())
}

/// Calls `f(key, value)` on every mapping entry of `v`, depth first.
fn walk(v: &mut Value, f: &mut dyn FnMut(&str, &mut Value)) {
    match v {
        Value::Mapping(map) => {
            for (k, child) in map.iter_mut() {
                if let Some(k) = k.as_str() {
                    f(k, child);
                }
                walk(child, f);
            }
        }
        Value::Sequence(seq) => seq.iter_mut().for_each(|c| walk(c, f)),
        _ => {}
    }
}

/// The repository root (this crate lives in `tests/stack`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_rewritten_once_even_when_a_chosen_port_is_another_default() {
        let mut ports = Ports::DEFAULT;
        ports.forum_web = 8001;
        ports.forum_api = 8000;
        assert_eq!(
            ports.rewrite("127.0.0.1:8000 127.0.0.1:8001 10.0.0.1:8000"),
            "127.0.0.1:8001 127.0.0.1:8000 10.0.0.1:8000"
        );
    }

    #[test]
    fn the_repository_prometheus_config_gets_the_stack_ports_and_absolute_rules() {
        let ports = Ports::random();
        let text = prometheus(
            &repo_root(),
            &ports,
            Timing {
                interval: "1s",
                alert_grouping: None,
            },
        )
        .unwrap();
        assert!(
            text.contains(&format!("127.0.0.1:{}", ports.nginx_exporter)),
            "{text}"
        );
        assert!(!text.contains("127.0.0.1:9731"), "{text}");
        assert!(
            text.contains(&format!(
                "{}/monitoring/prometheus/rules/",
                repo_root().display()
            )),
            "{text}"
        );
        assert!(text.contains("evaluation_interval: 1s"), "{text}");
    }

    #[test]
    fn the_blackbox_config_logs_the_probe_account_in_with_its_password() {
        let text = blackbox(&repo_root(), "0123abcd").unwrap();
        let doc: Value = serde_yaml::from_str(&text).unwrap();
        let http = &doc["modules"]["http_login"]["http"];
        assert_eq!(http["method"], "POST");
        let body: serde_json::Value =
            serde_json::from_str(http["body"].as_str().expect("a body")).unwrap();
        assert_eq!(
            body,
            serde_json::json!({ "username": PROBE_USERNAME, "password": "0123abcd" })
        );
        assert!(!text.contains(PROBE_PASSWORD_PLACEHOLDER), "{text}");
        assert!(blackbox(&repo_root(), "a\"b").is_err());
    }

    #[test]
    fn the_repository_alertmanager_config_points_at_the_stack_relay() {
        let ports = Ports::random();
        let token = Path::new("/tmp/x/relay-token");
        let bypass = Bypass {
            heartbeat_url: None,
            alerting_path_webhook: Some("http://127.0.0.1:1/api/v10/webhooks/1/second".into()),
        };
        let text = alertmanager(
            &repo_root(),
            &ports,
            token,
            &bypass,
            Timing {
                interval: "1s",
                alert_grouping: Some(("1s", "5s")),
            },
        )
        .unwrap();
        assert!(
            text.contains("webhook_url: http://127.0.0.1:1/api/v10/webhooks/1/second"),
            "{text}"
        );
        assert!(!text.contains(".invalid"), "placeholders left: {text}");
        let doc: Value = serde_yaml::from_str(&text).unwrap();
        let heartbeat = doc["receivers"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|r| r["name"] == "heartbeat")
            .expect("the heartbeat receiver");
        assert!(heartbeat.get("webhook_configs").is_none(), "{text}");
        assert!(
            text.contains(&format!("http://127.0.0.1:{}/alertmanager", ports.relay)),
            "{text}"
        );
        assert!(
            text.contains("credentials_file: /tmp/x/relay-token"),
            "{text}"
        );
        assert!(!text.contains("group_wait: 30s"), "{text}");
    }
}
