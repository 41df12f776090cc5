//! The binary as an operator meets it: `--one-shot`, the config file, and the errors for a
//! wrong log format or a typo in the config.

use std::path::Path;
use std::process::{Command, Output};

const EXE: &str = env!("CARGO_BIN_EXE_nginx-log-exporter");

fn run(args: &[&str]) -> Output {
    Command::new(EXE)
        .args(args)
        .env_remove("NGINX_LOG_FILE")
        .env_remove("NGINX_LOG_FORMAT")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const COMBINED: &str = "10.0.0.1 - - [01/Jan/2024:00:00:00 +0000] \"GET /api/threads/12/posts/?page=3 HTTP/1.1\" 200 512 \"-\" \"curl/8\"\n\
10.0.0.1 - - [01/Jan/2024:00:00:01 +0000] \"POST /login HTTP/1.1\" 401 0 \"-\" \"curl/8\"\n\
10.0.0.2 - - [01/Jan/2024:00:00:02 +0000] \"GET /api/threads/13/posts/ HTTP/1.1\" 502 100 \"-\" \"curl/8\"\n";

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn one_shot_prints_exact_exposition_for_a_small_log() {
    let dir = tempfile::tempdir().unwrap();
    let log = write(dir.path(), "access.log", COMBINED);
    let out = run(&["--one-shot", "--format", "combined", "--log-file", &log]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for expected in [
        "# TYPE nginx_http_requests_total counter\n",
        "nginx_http_requests_total{method=\"GET\",status=\"200\",endpoint=\"/api/threads/:id/posts/\"} 1\n",
        "nginx_http_requests_total{method=\"POST\",status=\"401\",endpoint=\"/login\"} 1\n",
        "nginx_http_requests_total{method=\"GET\",status=\"502\",endpoint=\"/api/threads/:id/posts/\"} 1\n",
        "nginx_http_response_bytes_total{method=\"GET\",status=\"200\",endpoint=\"/api/threads/:id/posts/\"} 512\n",
        "nginx_events_total{event=\"failed_login\"} 1\n",
        "nginx_events_total{event=\"server_error\"} 1\n",
        "nginx_events_total{event=\"thread_created\"} 0\n",
        "nginx_http_top_requests_total{method=\"GET\",endpoint=\"/api/threads/:id/posts/\"} 2\n",
        "nginx_log_lines_total 3\n",
        "nginx_log_parse_errors_total{reason=\"format\"} 0\n",
        "nginx_http_endpoints_folded_total 0\n",
        "nginx_log_exporter_build_info{",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert!(
        !text.contains("# EOF"),
        "stdout is the Prometheus text format:\n{text}"
    );
}

#[test]
fn a_format_that_matches_no_line_is_reported_with_the_line_and_where_it_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let log = write(dir.path(), "access.log", COMBINED);
    let out = run(&["--one-shot", "--format", "forum", "--log-file", &log]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("none of the first 3 lines match the log format"),
        "{err}"
    );
    assert!(err.contains("$request_length"), "names the format: {err}");
    assert!(
        err.contains("10.0.0.1 - - [01/Jan/2024:00:00:00 +0000]"),
        "shows the line: {err}"
    );
    assert!(
        err.contains("at byte 107 it expected the text `\" ` after $http_user_agent"),
        "says where: {err}"
    );
}

#[test]
fn the_config_file_sets_formats_labels_rules_events_and_buckets() {
    let dir = tempfile::tempdir().unwrap();
    let log = write(dir.path(), "access.log", COMBINED);
    let other = write(dir.path(), "other.log", COMBINED);
    let config = write(
        dir.path(),
        "config.toml",
        &format!(
            r#"
format = "combined"
preset = "none"
duration_buckets = [0.1, 1.0]

[[files]]
path = "{log}"
labels = {{ vhost = "forum" }}

[[files]]
path = "{other}"
labels = {{ vhost = "other" }}

[[rules]]
regex = "^/api/threads/[0-9]+/posts/$"
replace = "/api/threads/:thread/posts/"

[[events]]
name = "bad_gateway"
status = "502"
"#
        ),
    );
    let out = run(&["--one-shot", "--config", &config]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("nginx_http_requests_total{method=\"GET\",status=\"200\",endpoint=\"/api/threads/:thread/posts/\",vhost=\"forum\"} 1\n"), "{text}");
    // Events carry the static labels of their file; the top list ranks all files together.
    assert!(
        text.contains("nginx_events_total{event=\"bad_gateway\",vhost=\"forum\"} 1\n"),
        "{text}"
    );
    assert!(
        text.contains("nginx_events_total{event=\"bad_gateway\",vhost=\"other\"} 1\n"),
        "{text}"
    );
    assert!(
        text.contains("nginx_http_top_requests_total{method=\"GET\",endpoint=\"/api/threads/:thread/posts/\"} 4\n"),
        "{text}"
    );
    assert!(
        !text.contains("failed_login"),
        "preset none has no forum events:\n{text}"
    );
}

#[test]
fn a_typo_in_the_config_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "config.toml", "formt = \"combined\"\n");
    let out = run(&[
        "--one-shot",
        "--config",
        &config,
        "--log-file",
        "/nonexistent",
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("unknown field `formt`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn help_and_version_work() {
    let help = run(&["--help"]);
    assert!(help.status.success());
    for flag in [
        "--log-file",
        "--nginx.format",
        "--config",
        "--from-start",
        "--checkpoint",
        "--one-shot",
        "--web.listen-address",
        "--nginx.scrape-uri",
    ] {
        assert!(stdout(&help).contains(flag), "--help lacks {flag}");
    }
    let version = run(&["--version"]);
    assert!(stdout(&version).contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn the_repo_nginx_log_format_is_the_forum_format() {
    let conf = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../monitoring/nginx/log_format.conf"),
    )
    .unwrap();
    let expected = format!("log_format forum '{}';", nginx_log_exporter::format::FORUM);
    assert!(
        conf.lines().any(|l| l == expected),
        "monitoring/nginx/log_format.conf drifted from format::FORUM:\n{conf}"
    );
}

fn scrape(port: u16) -> Option<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .ok()?;
    stream
        .write_all(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n")
        .ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    Some(text)
}

fn wait_for_lines(port: u16, n: u64) {
    let expected = format!("\nnginx_log_lines_total {n}\n");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let text = scrape(port).unwrap_or_default();
        if text.contains(&expected) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "waiting for {n} lines:\n{text}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

fn stop(child: &mut std::process::Child) {
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    assert!(
        child.wait().unwrap().success(),
        "exporter exits cleanly on SIGTERM"
    );
}

#[test]
fn a_restart_with_a_checkpoint_resumes_where_it_stopped() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let log = write(dir.path(), "access.log", "");
    let checkpoint = dir.path().join("checkpoint.json").display().to_string();
    let start = |port: u16| {
        let listen = format!("127.0.0.1:{port}");
        Command::new(EXE)
            .args([
                "--log-file",
                &log,
                "--format",
                "combined",
                "--checkpoint",
                &checkpoint,
                "--poll-interval-ms",
                "50",
            ])
            .args(["--web.listen-address", &listen, "--log-level", "warn"])
            .spawn()
            .unwrap()
    };
    let append = |text: &str| {
        std::fs::OpenOptions::new()
            .append(true)
            .open(&log)
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap()
    };

    let port = testkit::free_port();
    let mut first = start(port);
    wait_for_lines(port, 0);
    append(COMBINED);
    wait_for_lines(port, 3);
    stop(&mut first);

    // Written while the exporter is down: counted after the restart, and only those.
    append(COMBINED);
    append(&COMBINED[..COMBINED.find('\n').unwrap() + 1]);
    let port = testkit::free_port();
    let mut second = start(port);
    wait_for_lines(port, 4);
    std::thread::sleep(std::time::Duration::from_millis(300));
    wait_for_lines(port, 4);
    stop(&mut second);

    // Rotated away with an unread line and deleted while the exporter is down: that line is
    // lost, and the restart says so in a counter rather than failing.
    append(&COMBINED[..COMBINED.find('\n').unwrap() + 1]);
    // As logrotate does: rename, nginx creates the new file, later the old one is compressed
    // into another file and deleted.
    std::fs::rename(&log, format!("{log}.1")).unwrap();
    std::fs::write(&log, "").unwrap();
    std::fs::remove_file(format!("{log}.1")).unwrap();
    let port = testkit::free_port();
    let mut third = start(port);
    wait_for_lines(port, 0);
    let text = scrape(port).unwrap();
    assert!(
        text.contains("\nnginx_log_rotated_files_lost_total 1\n"),
        "{text}"
    );
    stop(&mut third);
}

#[test]
fn one_shot_counts_a_last_line_without_newline_and_an_overlong_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = COMBINED.trim_end().to_string();
    let log = write(dir.path(), "access.log", &text);
    let out = run(&["--one-shot", "--format", "combined", "--log-file", &log]);
    assert!(
        stdout(&out).contains("\nnginx_log_lines_total 3\n"),
        "{}",
        stdout(&out)
    );
    text.push('\n');
    text.push_str(&"x".repeat(200_000));
    let log = write(dir.path(), "access2.log", &text);
    let out = run(&["--one-shot", "--format", "combined", "--log-file", &log]);
    assert!(
        stdout(&out).contains("\nnginx_log_lines_total 4\n"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("nginx_log_parse_errors_total{reason=\"too_long\"} 1\n"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn log_format_names_the_access_log_format_and_log_dot_format_the_exporters_own() {
    let dir = tempfile::tempdir().unwrap();
    let log = write(dir.path(), "access.log", COMBINED);
    let out = run(&[
        "--one-shot",
        "--log-format",
        "combined",
        "--log.format",
        "json",
        "--log-file",
        &log,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(
            "nginx_http_requests_total{method=\"POST\",status=\"401\",endpoint=\"/login\"} 1"
        ),
        "{}",
        stdout(&out)
    );
    // The exporter's own log lines are JSON objects, the one-shot timing line among them.
    let timing = stderr(&out)
        .lines()
        .find(|l| l.contains("one-shot"))
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .expect("a one-shot timing line");
    assert_eq!(timing["lines"], 3);

    let out = run(&["--one-shot", "--log-format", "text", "--log-file", &log]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("`text` is not an nginx log format") && err.contains("--log.format"),
        "{err}"
    );
}

#[test]
fn nginx_format_with_log_dot_flags_serves_process_metrics_and_logs_json() {
    let dir = tempfile::tempdir().unwrap();
    let log = write(dir.path(), "access.log", COMBINED);
    let own_log = dir.path().join("exporter.log");
    let port = testkit::free_port();
    let mut child = Command::new(EXE)
        .args([
            "--log-file",
            &log,
            "--from-start",
            "--nginx.format",
            "combined",
        ])
        .args(["--web.listen-address", &format!("127.0.0.1:{port}")])
        .args(["--log.level", "debug", "--log.format", "json"])
        .env_remove("NGINX_LOG_FORMAT")
        .stderr(std::fs::File::create(&own_log).unwrap())
        .spawn()
        .unwrap();
    wait_for_lines(port, 3);
    let text = scrape(port).unwrap();
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
    assert!(started > now - 60.0 && started <= now + 1.0, "{started}");
    stop(&mut child);

    let own = std::fs::read_to_string(&own_log).unwrap();
    let lines: Vec<serde_json::Value> = own
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["message"] == "listening" && l["level"] == "INFO"),
        "{own}"
    );
}

#[test]
fn help_names_nginx_format_and_hides_the_older_names() {
    let out = run(&["--help"]);
    assert!(out.status.success());
    let help = stdout(&out);
    for flag in ["--nginx.format", "--log.level", "--log.format"] {
        assert!(help.contains(flag), "{flag} in\n{help}");
    }
    for old in ["--log-format", "--log-level", "--format "] {
        assert!(!help.contains(old), "{old} is hidden:\n{help}");
    }
}

/// `n` failed admin logins (combined format) from `addr`.
fn admin_failures(addr: &str, n: usize) -> String {
    format!("{addr} - - [01/Jan/2024:00:00:00 +0000] \"POST /admin/login HTTP/1.1\" 401 0 \"-\" \"curl/8\"\n")
        .repeat(n)
}

#[test]
fn the_running_exporter_names_the_top_sources_of_each_event_until_they_leave_the_window() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let log = write(dir.path(), "access.log", "");
    let port = testkit::free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut child = Command::new(EXE)
        .args(["--log-file", &log, "--nginx.format", "combined"])
        .args(["--poll-interval-ms", "50", "--log-level", "warn"])
        .args(["--source-top-k", "3", "--source-window", "3s"])
        .args(["--web.listen-address", &listen])
        .spawn()
        .unwrap();
    wait_for_lines(port, 0);
    let mut lines = admin_failures("127.0.0.2", 6);
    lines += &admin_failures("127.0.0.3", 2);
    lines += &admin_failures("2001:db8:1:2::1", 2);
    lines += &admin_failures("2001:db8:1:2:ffff::9", 2);
    lines += &admin_failures("192.0.2.99", 1);
    // A failed user login: another event, its own top.
    lines += "127.0.0.4 - - [01/Jan/2024:00:00:00 +0000] \"POST /login HTTP/1.1\" 401 0 \"-\" \"curl/8\"\n";
    // Not an event: no source counted.
    lines +=
        "127.0.0.5 - - [01/Jan/2024:00:00:00 +0000] \"GET / HTTP/1.1\" 200 10 \"-\" \"curl/8\"\n";
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .unwrap()
        .write_all(lines.as_bytes())
        .unwrap();
    wait_for_lines(port, 15);
    let text = scrape(port).unwrap();
    let sources: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("nginx_event_top_sources{"))
        .collect();
    assert_eq!(
        sources,
        [
            r#"nginx_event_top_sources{event="failed_login",source="127.0.0.4"} 1"#,
            r#"nginx_event_top_sources{event="failed_admin_login",source="127.0.0.2"} 6"#,
            r#"nginx_event_top_sources{event="failed_admin_login",source="2001:db8:1:2::/64"} 4"#,
            r#"nginx_event_top_sources{event="failed_admin_login",source="127.0.0.3"} 2"#,
        ],
        "{text}"
    );
    assert!(
        text.contains("# TYPE nginx_event_top_sources gauge\n"),
        "{text}"
    );
    // Three seconds later the window has moved past them.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let text = scrape(port).unwrap_or_default();
        if !text.contains("nginx_event_top_sources{") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the sources never left the window:\n{text}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    stop(&mut child);
}

#[test]
fn the_source_can_be_the_forwarded_for_client_hop_past_trusted_proxies() {
    let dir = tempfile::tempdir().unwrap();
    let format = r#"$remote_addr "$http_x_forwarded_for" "$request" $status"#;
    let log = write(
        dir.path(),
        "access.log",
        "10.0.0.9 \"203.0.113.7, 10.1.2.3\" \"POST /admin/login HTTP/1.1\" 401\n\
         10.0.0.9 \"198.51.100.1, 203.0.113.7, 10.1.2.3\" \"POST /admin/login HTTP/1.1\" 401\n\
         10.0.0.9 \"-\" \"POST /admin/login HTTP/1.1\" 401\n",
    );
    let out = run(&[
        "--one-shot",
        "--nginx.format",
        format,
        "--log-file",
        &log,
        "--source-field",
        "http_x_forwarded_for",
        "--trusted-proxy",
        "10.0.0.0/8",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for expected in [
        "nginx_event_top_sources{event=\"failed_admin_login\",source=\"203.0.113.7\"} 2\n",
        "nginx_event_top_sources{event=\"failed_admin_login\",source=\"other\"} 1\n",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert!(!text.contains("source=\"10."), "{text}");
    // A source field the format does not log is refused, naming both.
    let out = run(&[
        "--one-shot",
        "--nginx.format",
        "combined",
        "--log-file",
        &log,
        "--source-field",
        "http_x_real_ip",
    ]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("the source field $http_x_real_ip is not in the log format"),
        "{err}"
    );
}

/// A forum access log line (`log_format forum`) for `method uri` answered `status`.
fn forum_line(method: &str, uri: &str, status: u16) -> String {
    format!(
        "203.0.113.9 - - [01/Jan/2024:00:00:00 +0000] \"{method} {uri} HTTP/1.1\" {status} 10 \"-\" \"curl/8\" 100 0.003 \"0.002\" forum.example.org\n"
    )
}

#[test]
fn the_forum_preset_templates_every_forum_url_and_counts_its_events() {
    let token = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    // (method, request URI, status, the endpoint it is counted under, the event it fires).
    let cases: Vec<(&str, String, u16, &str, Option<&str>)> = vec![
        (
            "POST",
            "/register".into(),
            303,
            "/register",
            Some("user_registered"),
        ),
        (
            "POST",
            "/register".into(),
            200,
            "/register",
            Some("registration_pending"),
        ),
        (
            "POST",
            "/api/users/".into(),
            202,
            "/api/users/",
            Some("registration_pending"),
        ),
        (
            "GET",
            format!("/activate/{token}"),
            200,
            "/activate/:token",
            Some("account_activated"),
        ),
        (
            "GET",
            "/activate/guessed".into(),
            422,
            "/activate/:token",
            Some("invalid_token"),
        ),
        (
            "POST",
            "/password-reset".into(),
            200,
            "/password-reset",
            Some("password_reset_requested"),
        ),
        (
            "POST",
            "/api/auth/password-reset".into(),
            202,
            "/api/auth/password-reset",
            Some("password_reset_requested"),
        ),
        (
            "GET",
            format!("/password-reset/{token}"),
            200,
            "/password-reset/:token",
            None,
        ),
        (
            "POST",
            format!("/password-reset/{token}"),
            200,
            "/password-reset/:token",
            Some("password_reset"),
        ),
        (
            "POST",
            "/api/auth/password-reset/confirm".into(),
            204,
            "/api/auth/password-reset/confirm",
            Some("password_reset"),
        ),
        (
            "GET",
            format!("/account/email/{token}"),
            200,
            "/account/email/:token",
            Some("email_changed"),
        ),
        (
            "POST",
            "/api/me/email".into(),
            202,
            "/api/me/email",
            Some("email_change_requested"),
        ),
        ("POST", "/login".into(), 401, "/login", Some("failed_login")),
        (
            "POST",
            "/api/auth/login".into(),
            429,
            "/api/auth/login",
            Some("login_refused"),
        ),
        (
            "GET",
            "/moderation/queue".into(),
            200,
            "/moderation/queue",
            None,
        ),
        (
            "POST",
            "/moderation/queue/31".into(),
            303,
            "/moderation/queue/:id",
            None,
        ),
        (
            "POST",
            "/api/moderation/queue/31/approve".into(),
            204,
            "/api/moderation/queue/:id/approve",
            Some("post_approved"),
        ),
        (
            "POST",
            "/api/moderation/queue/32/ban".into(),
            204,
            "/api/moderation/queue/:id/ban",
            Some("user_banned"),
        ),
        (
            "POST",
            "/admin/bans".into(),
            303,
            "/admin/bans",
            Some("user_banned"),
        ),
        (
            "POST",
            "/admin/bans/4/delete".into(),
            303,
            "/admin/bans/:id/delete",
            None,
        ),
        (
            "GET",
            "/admin/users?q=zyxuser&page=2".into(),
            200,
            "/admin/users",
            None,
        ),
        (
            "POST",
            "/admin/users/42".into(),
            303,
            "/admin/users/:id",
            None,
        ),
        (
            "POST",
            "/account/delete".into(),
            200,
            "/account/delete",
            Some("account_deleted"),
        ),
        ("GET", "/notifications".into(), 200, "/notifications", None),
        (
            "GET",
            "/api/notifications/".into(),
            200,
            "/api/notifications/",
            None,
        ),
        (
            "POST",
            "/api/notifications/read".into(),
            204,
            "/api/notifications/read",
            None,
        ),
        (
            "POST",
            "/api/threads/7/watch".into(),
            204,
            "/api/threads/:id/watch",
            None,
        ),
        (
            "POST",
            "/api/private-threads/".into(),
            201,
            "/api/private-threads/",
            Some("private_thread_created"),
        ),
        (
            "GET",
            "/attachments/12/holiday%20photo.jpg".into(),
            200,
            "/attachments/:id/:filename",
            None,
        ),
        (
            "GET",
            "/attachments/12/thumbnail.png".into(),
            200,
            "/attachments/:id/thumbnail.png",
            None,
        ),
        (
            "POST",
            "/api/attachments/".into(),
            201,
            "/api/attachments/",
            Some("attachment_uploaded"),
        ),
        ("GET", "/members?page=2".into(), 200, "/members", None),
        (
            "GET",
            "/api/users/?q=zyxuser".into(),
            200,
            "/api/users/",
            None,
        ),
    ];
    let log: String = cases
        .iter()
        .map(|(method, uri, status, _, _)| forum_line(method, uri, *status))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "access.log", &log);
    let out = run(&[
        "--one-shot",
        "--nginx.format",
        "forum",
        "--preset",
        "forum",
        "--log-file",
        &path,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(&format!("nginx_log_lines_total {}\n", cases.len())),
        "{text}"
    );
    for (method, uri, status, endpoint, _) in &cases {
        let series = format!(
            "nginx_http_requests_total{{method=\"{method}\",status=\"{status}\",endpoint=\"{endpoint}\"}}"
        );
        assert!(
            text.contains(&series),
            "{method} {uri}: no {series} in:\n{text}"
        );
    }
    let mut expected: std::collections::BTreeMap<&str, u32> = std::collections::BTreeMap::new();
    for (_, _, _, _, event) in &cases {
        if let Some(event) = event {
            *expected.entry(event).or_default() += 1;
        }
    }
    for (event, n) in expected {
        let line = format!("nginx_events_total{{event=\"{event}\"}} {n}\n");
        assert!(text.contains(&line), "missing {line:?} in:\n{text}");
    }
    // No token, guess or file name became a label.
    for raw in [token, "guessed", "holiday", "zyxuser"] {
        assert!(!text.contains(raw), "{raw} is in the exposition:\n{text}");
    }
}
