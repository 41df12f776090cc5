//! The binary as an operator runs it: `--log.level` and `--log.format` (and their older names),
//! and the process metrics on `/metrics`.

use std::time::Duration;

use crate::exposition::must;

async fn scrape(port: u16) -> Option<String> {
    let resp = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .ok()?;
    resp.text().await.ok()
}

#[tokio::test]
async fn log_dot_flags_and_their_old_names_work_and_process_metrics_are_served() {
    let dir = tempfile::tempdir().unwrap();
    for flags in [
        ["--log.level", "debug", "--log.format", "json"],
        ["--log-level", "debug", "--log-format", "json"],
    ] {
        let port = testkit::free_port();
        let log = dir.path().join(format!("{port}.log"));
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_pg-exporter"))
            .args(["--web.listen-address", &format!("127.0.0.1:{port}")])
            .args(flags)
            .env("DATA_SOURCE_NAME", testkit::admin_url())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut text = None;
        for _ in 0..200 {
            if let Some(t) = scrape(port).await {
                text = Some(t);
                break;
            }
            assert!(child.try_wait().unwrap().is_none(), "pg-exporter exited");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let text = text.expect("pg-exporter answers");
        assert_eq!(must(&text, "pg_up", &[]), 1.0, "{text}");
        assert!(must(&text, "process_resident_memory_bytes", &[]) > 0.0);
        assert!(must(&text, "process_virtual_memory_bytes", &[]) > 0.0);
        assert!(must(&text, "process_open_fds", &[]) > 0.0);
        assert!(must(&text, "process_max_fds", &[]) > 0.0);
        assert!(must(&text, "process_cpu_seconds_total", &[]) >= 0.0);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let started = must(&text, "process_start_time_seconds", &[]);
        assert!(started > now - 60.0 && started <= now + 1.0, "{started}");

        let _ = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        assert!(
            child.wait().unwrap().success(),
            "{flags:?}: stops on SIGTERM"
        );
        let log = std::fs::read_to_string(&log).unwrap();
        let lines: Vec<serde_json::Value> = log
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{flags:?}: {e}: {l}")))
            .collect();
        assert!(
            lines
                .iter()
                .any(|l| l["message"] == "listening" && l["level"] == "INFO"),
            "{flags:?}: {log}"
        );
    }
}
