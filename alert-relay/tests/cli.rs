//! The binary's command line: `check-config`, `--help`, `--version`, secrets from files.

mod common;

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_alert-relay");

#[test]
fn check_config_accepts_a_good_file_and_names_the_mistake_in_a_bad_one() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.yml");
    std::fs::write(
        &good,
        "targets:\n  ops:\n    webhook_url: https://discord.com/api/webhooks/1/secret-tok\n  dry:\n    log: true\n\
         routes:\n  - matchers: ['severity=\"critical\"']\n    targets: [ops]\n    mentions:\n      critical: {roles: [\"9\"]}\n\
         default_targets: [dry]\ntemplates:\n  title: \"{{ emoji }} {{ alertname }}\"\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .arg("check-config")
        .arg(&good)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("OK"));

    let typo = dir.path().join("typo.yml");
    std::fs::write(
        &typo,
        std::fs::read_to_string(&good)
            .unwrap()
            .replace("default_targets", "default_target"),
    )
    .unwrap();
    let out = Command::new(BIN)
        .arg("check-config")
        .arg(&typo)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("default_target"),
        "{err}"
    );

    let bad_template = dir.path().join("tpl.yml");
    std::fs::write(
        &bad_template,
        std::fs::read_to_string(&good)
            .unwrap()
            .replace("{{ alertname }}", "{% if %}"),
    )
    .unwrap();
    let out = Command::new(BIN)
        .arg("check-config")
        .arg(&bad_template)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("template \"title\""),
        "{err}"
    );
    assert!(!err.contains("secret-tok"));
}

#[test]
fn help_and_version_work() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--discord.webhook-url",
        "--discord.api-url",
        "--web.token-file",
        "--storage.path",
        "DISCORD_WEBHOOK_URL",
        "ALERT_RELAY_TOKEN",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help");
    }
    let out = Command::new(BIN).arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("alert-relay "));
}

#[tokio::test]
async fn the_token_can_come_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{}\n", common::TOKEN)).unwrap();
    // `Relay::start` sets ALERT_RELAY_TOKEN; the file flag conflicts with it, so run directly.
    let port = testkit::free_port();
    let mut child = Command::new(BIN)
        .args([
            "--web.listen-address",
            &format!("127.0.0.1:{port}"),
            "--web.token-file",
        ])
        .arg(&token_file)
        .arg("--storage.path")
        .arg(dir.path().join("spool"))
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}/alertmanager");
    let body = common::group("FromFile", "firing", &[("a", "firing")]);
    let client = reqwest::Client::new();
    let mut status = 0;
    for _ in 0..100 {
        if let Ok(r) = client.post(&url).json(&body).send().await {
            status = r.status().as_u16();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(status, 401);
    let r = client
        .post(&url)
        .bearer_auth(common::TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test]
async fn sigterm_stops_the_relay_cleanly_and_keeps_the_spool() {
    let dir = tempfile::tempdir().unwrap();
    let storage = dir.path().join("spool");
    // An unreachable Discord: the message stays spooled.
    let mut relay = common::Relay::start(
        &storage,
        &[
            "--discord.webhook-url",
            "http://127.0.0.1:9/api/v10/webhooks/1/tok",
            "--discord.api-url",
            "http://127.0.0.1:9/api/v10",
            "--delivery.timeout",
            "1s",
        ],
    )
    .await;
    assert_eq!(
        relay
            .post(
                "/alertmanager",
                &common::group("Kept", "firing", &[("a", "firing")])
            )
            .await,
        200
    );
    let pid = nix::unistd::Pid::from_raw(relay.child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let status = loop {
        if let Some(s) = relay.child.try_wait().unwrap() {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the relay did not stop on SIGTERM"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status:?}\n{}", relay.log_text());
    let journal = std::fs::read_to_string(storage.join("journal.log")).unwrap();
    assert!(
        journal.contains("Kept"),
        "the undelivered message is still spooled"
    );
}

#[tokio::test]
async fn promtool_accepts_the_metrics() {
    let promtool = testkit::require_bin("promtool", "apt-get install -y prometheus");
    let dir = tempfile::tempdir().unwrap();
    let relay = common::Relay::start(&dir.path().join("spool"), &[]).await;
    assert_eq!(
        relay
            .post(
                "/grafana",
                &common::group("M", "firing", &[("a", "firing")])
                    .to_string()
                    .replace("\"4\"", "\"1\"")
                    .parse()
                    .unwrap()
            )
            .await,
        200
    );
    let text = relay.metrics().await;
    assert!(
        text.contains("alert_relay_notifications_received_total{source=\"grafana\"} 1"),
        "{text}"
    );
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn log_dot_flags_and_their_old_names_set_level_and_format() {
    for flags in [
        ["--log.level", "debug", "--log.format", "json"],
        ["--log-level", "debug", "--log-format", "json"],
    ] {
        let dir = tempfile::tempdir().unwrap();
        let relay = common::Relay::start(&dir.path().join("spool"), &flags).await;
        let n = common::group("Dup", "firing", &[("a", "firing")]);
        assert_eq!(relay.post("/alertmanager", &n).await, 200);
        // The same notification again: dropped, which the relay logs at debug level only.
        assert_eq!(relay.post("/alertmanager", &n).await, 200);
        let text = relay.metrics().await;
        assert!(
            text.contains("alert_relay_notifications_deduplicated_total 1"),
            "{text}"
        );
        let log = relay.log_text();
        let lines: Vec<serde_json::Value> = log
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{flags:?}: {e}: {l}")))
            .collect();
        assert!(
            lines
                .iter()
                .any(|l| l["level"] == "DEBUG" && l["message"] == "duplicate notification dropped"),
            "{flags:?}: {log}"
        );
    }
}

#[tokio::test]
async fn the_process_metrics_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let relay = common::Relay::start(&dir.path().join("spool"), &[]).await;
    let text = relay.metrics().await;
    let sample = |name: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no {name} in\n{text}"))
            .parse()
            .unwrap()
    };
    assert!(sample("process_resident_memory_bytes") > 0.0);
    assert!(sample("process_virtual_memory_bytes") > 0.0);
    assert!(sample("process_open_fds") > 0.0);
    assert!(sample("process_max_fds") >= sample("process_open_fds"));
    assert!(sample("process_cpu_seconds_total") >= 0.0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let started = sample("process_start_time_seconds");
    assert!(started > now - 120.0 && started <= now + 1.0, "{started}");
}
