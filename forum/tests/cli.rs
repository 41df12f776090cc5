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
