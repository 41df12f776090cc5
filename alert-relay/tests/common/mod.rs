//! Helpers of the integration tests: the relay binary as a child process, payloads.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The inbound token every test relay uses.
pub const TOKEN: &str = "test-inbound-token";

/// A relay child process, SIGKILLed on drop.
pub struct Relay {
    pub child: Child,
    pub port: u16,
    pub storage: PathBuf,
    pub log: PathBuf,
}

impl Relay {
    /// Starts the built binary with `args` (plus listen address, token, storage) and waits
    /// until it is ready.
    pub async fn start(storage: &Path, args: &[&str]) -> Relay {
        Relay::start_at(storage, testkit::free_port(), args).await
    }

    /// [`Relay::start`] on a given port (a restart where Alertmanager already points).
    pub async fn start_at(storage: &Path, port: u16, args: &[&str]) -> Relay {
        let log = storage.with_extension(format!("{port}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_alert-relay"))
            .args([
                "--web.listen-address",
                &format!("127.0.0.1:{port}"),
                "--storage.path",
            ])
            .arg(storage)
            .args(args)
            .env("ALERT_RELAY_TOKEN", TOKEN)
            .env("LOG_LEVEL", "info")
            .stdout(Stdio::null())
            .stderr(out)
            .spawn()
            .expect("spawn alert-relay");
        let relay = Relay {
            child,
            port,
            storage: storage.to_path_buf(),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = reqwest::get(format!("{}/-/ready", relay.url())).await
                && r.status().is_success()
            {
                return relay;
            }
            assert!(
                Instant::now() < deadline,
                "relay not ready; log:\n{}",
                relay.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// POSTs a notification with the token; returns the status.
    pub async fn post(&self, path: &str, body: &Value) -> u16 {
        reqwest::Client::new()
            .post(format!("{}{path}", self.url()))
            .bearer_auth(TOKEN)
            .json(body)
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    }

    /// The value of the sample `series` (name and labels as exposed), if exposed.
    pub async fn metric(&self, series: &str) -> Option<f64> {
        let text = self.metrics().await;
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    }

    pub async fn metrics(&self) -> String {
        reqwest::get(format!("{}/metrics", self.url()))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// SIGKILL (no chance to flush anything).
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// An Alertmanager v4 payload of one group.
pub fn group(key: &str, status: &str, alerts: &[(&str, &str)]) -> Value {
    let alerts: Vec<Value> = alerts
        .iter()
        .map(|(instance, st)| {
            json!({"status": st, "labels": {"alertname": key, "instance": instance, "severity": "critical"},
                "annotations": {"summary": format!("{key} on {instance}")},
                "startsAt": "2024-01-01T00:00:00Z",
                "endsAt": if *st == "resolved" { "2024-01-01T00:10:00Z" } else { "0001-01-01T00:00:00Z" },
                "generatorURL": "http://prometheus:9090/graph", "fingerprint": format!("{key}-{instance}")})
        })
        .collect();
    json!({"version": "4", "groupKey": format!("{{}}:{{alertname=\"{key}\"}}"), "status": status, "receiver": "discord",
        "groupLabels": {"alertname": key}, "commonLabels": {"alertname": key, "severity": "critical"},
        "commonAnnotations": {}, "externalURL": "http://alertmanager:9093", "truncatedAlerts": 0, "alerts": alerts})
}

/// The embed titles of the double's accepted messages, in order.
pub fn titles(messages: &[Value]) -> Vec<String> {
    messages
        .iter()
        .map(|m| m["embeds"][0]["title"].as_str().unwrap_or("").to_string())
        .collect()
}

/// Waits until `f` is true (or panics after `secs` with `what`).
pub async fn until(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Alertmanager as a child process, killed on drop.
pub struct Alertmanager {
    pub child: std::process::Child,
    pub port: u16,
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn alertmanager(dir: &std::path::Path, relay_port: u16) -> Alertmanager {
    alertmanager_at(dir, relay_port, testkit::free_port()).await
}

/// Alertmanager on `port`, its one receiver the relay on `relay_port`.
pub async fn alertmanager_at(dir: &std::path::Path, relay_port: u16, port: u16) -> Alertmanager {
    // Debian names the binary prometheus-alertmanager; upstream tarballs name it alertmanager.
    let bin = testkit::find_bin("prometheus-alertmanager").unwrap_or_else(|| {
        testkit::require_bin("alertmanager", "apt-get install -y prometheus-alertmanager")
    });
    let config = format!(
        r#"route:
  receiver: relay
  group_by: [alertname]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 1h
receivers:
  - name: relay
    webhook_configs:
      - url: http://127.0.0.1:{relay_port}/alertmanager
        send_resolved: true
        http_config:
          authorization:
            credentials: {TOKEN}
"#
    );
    std::fs::write(dir.join("alertmanager.yml"), config).unwrap();
    let child = std::process::Command::new(bin)
        .arg(format!(
            "--config.file={}",
            dir.join("alertmanager.yml").display()
        ))
        .arg(format!("--storage.path={}", dir.join("am-data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start alertmanager");
    let am = Alertmanager { child, port };
    let url = format!("http://127.0.0.1:{port}/-/ready");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !reqwest::get(&url)
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(
            std::time::Instant::now() < deadline,
            "alertmanager did not become ready"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    am
}
