//! The login limits behind the stack's real nginx (its generated config, which appends the
//! client to `X-Forwarded-For`): with `--trust-proxy`, the forum charges failures to the client
//! nginx saw, so a client that fails (even one that forges its own `X-Forwarded-For`) is
//! refused while the owner, from another address, logs in.

mod common;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{CSRF, PASSWORD, TestApp, form_urlencoded};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// nginx as a child, stopped (master and workers) when dropped.
struct Nginx(Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.0.id() as i32);
        // SIGTERM: the master stops its workers before it exits.
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let _ = self.0.wait();
    }
}

/// One HTTP/1.1 request from source address `from` to `127.0.0.1:port`: the status.
async fn request_from(from: &str, port: u16, head: &str, body: &str) -> u16 {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket
        .bind(format!("{from}:0").parse::<SocketAddr>().unwrap())
        .unwrap();
    let mut stream = socket
        .connect(SocketAddr::from(([127, 0, 0, 1], port)))
        .await
        .unwrap();
    let request = format!(
        "{head}\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut answer))
        .await
        .expect("an answer within 30 s")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not HTTP: {answer}"))
}

/// A page login of `user` from `from` through nginx, with extra header lines `extra`.
async fn page_login(from: &str, port: u16, user: &str, password: &str, extra: &str) -> u16 {
    let body = form_urlencoded(&[("csrf", CSRF), ("username", user), ("password", password)]);
    let head = format!(
        "POST /login HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\nCookie: forum_csrf={CSRF}{extra}"
    );
    request_from(from, port, &head, &body).await
}

/// An API login of `user` from `from` through nginx.
async fn api_login(from: &str, port: u16, user: &str, password: &str) -> u16 {
    let body = serde_json::json!({ "username": user, "password": password }).to_string();
    let head = "POST /api/auth/login HTTP/1.1\r\nContent-Type: application/json";
    request_from(from, port, head, &body).await
}

#[tokio::test]
async fn behind_nginx_one_clients_failures_do_not_refuse_the_owner() {
    let nginx_bin = testkit::require_bin("nginx", "apt-get install -y nginx");
    let app = TestApp::with_config(forum::Config {
        trust_proxy: true,
        trusted_proxies: vec!["127.0.0.1/32".parse().unwrap()],
        login_account_limit: 4,
        login_max_delay: Duration::from_millis(100),
        ..common::config()
    })
    .await;
    app.user("alice", "member").await;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let forum_port = listener.local_addr().unwrap().port();
    let service = app
        .router()
        .into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, service).await });

    let dir = tempfile::tempdir().unwrap();
    let ports = stack::config::Ports {
        nginx: testkit::free_port(),
        forum_web: forum_port,
        forum_api: forum_port,
        ..stack::config::Ports::DEFAULT
    };
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let (static_dir, media_dir) = (dir.path().join("static"), dir.path().join("media"));
    let conf = stack::nginx::write_config(
        &repo,
        &dir.path().join("nginx"),
        &ports,
        &static_dir,
        &media_dir,
    )
    .unwrap();
    let _nginx = Nginx(
        Command::new(nginx_bin)
            .arg("-p")
            .arg(dir.path().join("nginx"))
            .arg("-c")
            .arg(&conf)
            .args(["-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nginx"),
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(("127.0.0.1", ports.nginx))
        .await
        .is_err()
    {
        assert!(std::time::Instant::now() < deadline, "nginx did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let port = ports.nginx;

    // The attacker at 127.0.0.2 guesses, and claims to be the owner's address as well.
    let forged = "\r\nX-Forwarded-For: 127.0.0.3";
    for i in 0..4 {
        let status = page_login("127.0.0.2", port, "alice", &format!("guess {i}"), forged).await;
        assert_eq!(status, 401, "guess {i}");
    }
    assert_eq!(
        page_login("127.0.0.2", port, "alice", PASSWORD, "").await,
        429,
        "the guessing client is refused"
    );
    assert_eq!(api_login("127.0.0.2", port, "alice", PASSWORD).await, 429);
    assert_eq!(
        page_login("127.0.0.3", port, "alice", PASSWORD, "").await,
        303,
        "the owner, whose address the attacker wrote in X-Forwarded-For, logs in"
    );
    assert_eq!(api_login("127.0.0.3", port, "alice", PASSWORD).await, 200);
    let charged: Vec<String> = app
        .state
        .pool
        .get()
        .await
        .unwrap()
        .query(
            "SELECT DISTINCT key FROM login_failures WHERE scope = 'ip'",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        charged,
        ["127.0.0.2"],
        "failures charged to the client nginx saw"
    );
}
