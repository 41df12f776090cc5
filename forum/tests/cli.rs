//! The `forum` binary: --help/--version, migrate, admin create, seed, static, and the first
//! administrator from the environment on first start.

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::Duration;

fn forum(url: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_forum"));
    c.env("DATABASE_URL", url).env("LOG_LEVEL", "warn");
    c
}

/// What a first `forum migrate` prints: every file of `migrations/` applied.
fn all_applied() -> String {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations");
    let n = std::fs::read_dir(dir).unwrap().count();
    format!("applied {n} migration(s)")
}

#[test]
fn help_and_version_work_without_a_database() {
    let v = Command::new(env!("CARGO_BIN_EXE_forum"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(v.status.success());
    assert!(String::from_utf8_lossy(&v.stdout).starts_with("forum "));
    let h = Command::new(env!("CARGO_BIN_EXE_forum"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&h.stdout);
    for word in [
        "migrate",
        "worker",
        "seed",
        "static",
        "admin",
        "--role",
        "DATABASE_URL",
    ] {
        assert!(help.contains(word), "--help mentions {word}: {help}");
    }
}

#[tokio::test]
async fn pods_migrating_at_once_all_succeed_and_apply_each_migration_once() {
    // As Kubernetes init containers do: several `forum migrate` on a fresh database together.
    let db = testkit::TestDb::new().await;
    let children: Vec<_> = (0..4)
        .map(|_| {
            forum(&db.url)
                .arg("migrate")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut applied = Vec::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        applied.push(String::from_utf8_lossy(&out.stdout).to_string());
    }
    let firsts = applied
        .iter()
        .filter(|o| o.contains(&all_applied()))
        .count();
    let laters = applied
        .iter()
        .filter(|o| o.contains("applied 0 migration(s)"))
        .count();
    assert_eq!((firsts, laters), (1, 3), "{applied:?}");
}

#[tokio::test]
async fn migrate_admin_seed_and_static_from_the_command_line() {
    let db = testkit::TestDb::new().await;
    let out = forum(&db.url).arg("migrate").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(&all_applied()));
    let again = forum(&db.url).arg("migrate").output().unwrap();
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("applied 0 migration(s)"),
        "idempotent"
    );

    let mut child = forum(&db.url)
        .args([
            "admin",
            "create",
            "--username",
            "root",
            "--email",
            "root@example.com",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a long admin password\n")
        .unwrap();
    assert!(child.wait_with_output().unwrap().status.success());
    let client = db.client().await;
    let row = client
        .query_one(
            "SELECT role, password_hash FROM users WHERE username = 'root'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "admin");
    assert!(forum::password::verify_password(
        "a long admin password",
        row.get(1)
    ));

    let short = forum(&db.url)
        .args([
            "admin",
            "create",
            "--username",
            "other",
            "--email",
            "o@example.com",
            "--password-file",
            "/dev/null",
        ])
        .output()
        .unwrap();
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 8 characters"));

    let seed = forum(&db.url)
        .args(["seed", "--users", "20", "--threads", "30", "--posts", "90"])
        .output()
        .unwrap();
    assert!(
        seed.status.success(),
        "{}",
        String::from_utf8_lossy(&seed.stderr)
    );
    let posts: i64 = client
        .query_one("SELECT count(*) FROM posts", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(posts, 90);

    let dir = std::env::temp_dir().join(format!("forum-static-{}", std::process::id()));
    assert!(
        forum(&db.url)
            .arg("static")
            .arg(&dir)
            .status()
            .unwrap()
            .success()
    );
    assert!(
        std::fs::read_to_string(dir.join("style.css"))
            .unwrap()
            .contains("body")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn the_first_administrator_comes_from_the_environment() {
    let db = testkit::TestDb::new().await;
    let port = testkit::free_port();
    let mut server = forum(&db.url)
        .args(["--migrate", "--listen", &format!("127.0.0.1:{port}")])
        .env("FORUM_ADMIN_USERNAME", "boss")
        .env("FORUM_ADMIN_EMAIL", "boss@example.com")
        .env("FORUM_ADMIN_PASSWORD", "from a kubernetes secret")
        .spawn()
        .unwrap();
    let client = db.client().await;
    let mut role = None;
    for _ in 0..100 {
        if let Ok(Some(row)) = client
            .query_opt("SELECT role FROM users WHERE username = 'boss'", &[])
            .await
        {
            role = Some(row.get::<_, String>(0));
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(role.as_deref(), Some("admin"));
}

/// `GET path` over plain HTTP/1.0; `None` while nothing listens.
fn http_get(port: u16, path: &str) -> Option<String> {
    use std::io::Read as _;
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}

fn wait_for_metrics(port: u16, child: &mut std::process::Child) -> String {
    for _ in 0..200 {
        if let Some(r) = http_get(port, "/metrics")
            && r.starts_with("HTTP/1.0 200")
        {
            return r;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the forum exited before it served"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("no /metrics on port {port}");
}

fn sample(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("no {name} in\n{text}"))
        .parse()
        .unwrap()
}

#[tokio::test]
async fn the_api_role_and_the_worker_take_log_dot_flags_and_export_process_metrics() {
    let db = testkit::TestDb::new().await;
    assert!(forum(&db.url).arg("migrate").status().unwrap().success());
    let dir = tempfile::tempdir().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    for (name, args) in [
        ("api", &["--role", "api", "--listen"][..]),
        ("worker", &["worker", "--listen"][..]),
    ] {
        let port = testkit::free_port();
        let log = dir.path().join(format!("{name}.log"));
        let mut child = forum(&db.url)
            .args(["--log.level", "debug", "--log.format", "json"])
            .args(args)
            .arg(format!("127.0.0.1:{port}"))
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let metrics = wait_for_metrics(port, &mut child);
        assert!(sample(&metrics, "process_resident_memory_bytes") > 0.0);
        assert!(sample(&metrics, "process_open_fds") > 0.0);
        assert!(sample(&metrics, "process_max_fds") > 0.0);
        assert!(sample(&metrics, "process_virtual_memory_bytes") > 0.0);
        assert!(sample(&metrics, "process_cpu_seconds_total") >= 0.0);
        let started = sample(&metrics, "process_start_time_seconds");
        assert!(
            started > now - 60.0 && started < now + 120.0,
            "{name}: started {started}, test began {now}"
        );
        let kill = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        // It stops on SIGTERM, however soon after serving it comes.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while child.try_wait().unwrap().is_none() {
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                panic!("{name} did not stop within 30 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Every log line is a JSON object with a level; the listening line is among them.
        let text = std::fs::read_to_string(&log).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{name}: {e}: {l}")))
            .collect();
        assert!(
            lines.iter().all(|l| l["level"].is_string()),
            "{name}: {text}"
        );
        assert!(
            lines.iter().any(|l| l["message"]
                .as_str()
                .is_some_and(|m| m.contains("listening"))),
            "{name}: {text}"
        );
    }
}
