//! The process metrics of a real process (this test binary), as a scrape shows them: plausible
//! values, and an exposition `promtool check metrics` accepts.

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use prometheus_client::registry::Registry;
use service_kit::exposition::to_text_004;

fn exposition() -> String {
    let mut registry = Registry::default();
    service_kit::register_build_info(&mut registry, "demo", "1.0.0");
    service_kit::process::register(&mut registry);
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    to_text_004(&text)
}

fn value(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("no sample {name} in\n{text}"))
        .parse()
        .unwrap()
}

#[test]
fn the_six_families_have_plausible_values() {
    // Some work first, so CPU time is measurably above zero.
    let mut x = 0u64;
    for i in 0..20_000_000u64 {
        x = x.wrapping_mul(31).wrapping_add(i);
    }
    std::hint::black_box(x);
    let text = exposition();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let rss = value(&text, "process_resident_memory_bytes");
    assert!(rss > 1_000_000.0, "rss {rss}");
    assert!(value(&text, "process_virtual_memory_bytes") >= rss);
    let open = value(&text, "process_open_fds");
    assert!(open > 0.0, "open fds {open}");
    assert!(value(&text, "process_max_fds") >= open);
    let cpu = value(&text, "process_cpu_seconds_total");
    assert!(cpu > 0.0, "cpu {cpu}");
    let start = value(&text, "process_start_time_seconds");
    assert!(
        start <= now + 1.0 && start > now - 600.0,
        "start {start}, now {now}"
    );
    assert!(
        text.contains("# TYPE process_cpu_seconds_total counter\n"),
        "{text}"
    );
}

#[test]
fn promtool_accepts_the_exposition() {
    let promtool = testkit::require_bin("promtool", "apt-get install -y prometheus");
    let text = exposition();
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool check metrics:\n{}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
