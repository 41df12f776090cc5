//! `/probe` with auth modules: off without a config file, only a module's credentials, only
//! the hosts its patterns allow, short connection timeouts, and the exporter's own user and
//! password never sent to a probed server (a listener on loopback records what arrives).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

use crate::exposition::must;

/// What a fake server on loopback saw: the startup packets' parameters and the passwords.
#[derive(Default, Debug)]
struct Seen {
    connections: usize,
    parameters: Vec<(String, String)>,
    passwords: Vec<String>,
}

/// A listener that speaks just enough of PostgreSQL's protocol to learn who connects: it
/// declines TLS, reads the startup packet, asks for a clear-text password, records it and
/// ends with an error.
async fn recording_server() -> (u16, Arc<Mutex<Seen>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let record = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let record = record.clone();
            tokio::spawn(async move {
                record.lock().unwrap().connections += 1;
                let _ = tokio::time::timeout(Duration::from_secs(5), async {
                    loop {
                        let len = socket.read_u32().await? as usize;
                        let mut body = vec![0; len.saturating_sub(4)];
                        socket.read_exact(&mut body).await?;
                        let code = u32::from_be_bytes(body[..4].try_into().unwrap());
                        if code == 80877103 {
                            socket.write_all(b"N").await?; // no TLS here
                            continue;
                        }
                        let fields: Vec<String> = body[4..]
                            .split(|b| *b == 0)
                            .map(|f| String::from_utf8_lossy(f).into_owned())
                            .collect();
                        for pair in fields
                            .chunks(2)
                            .filter(|p| p.len() == 2 && !p[0].is_empty())
                        {
                            record
                                .lock()
                                .unwrap()
                                .parameters
                                .push((pair[0].clone(), pair[1].clone()));
                        }
                        break;
                    }
                    // AuthenticationCleartextPassword, then the client's PasswordMessage.
                    socket.write_all(&[b'R', 0, 0, 0, 8, 0, 0, 0, 3]).await?;
                    let tag = socket.read_u8().await?;
                    let len = socket.read_u32().await? as usize;
                    let mut body = vec![0; len.saturating_sub(4)];
                    socket.read_exact(&mut body).await?;
                    if tag == b'p' {
                        let pw = String::from_utf8_lossy(body.split(|b| *b == 0).next().unwrap())
                            .into_owned();
                        record.lock().unwrap().passwords.push(pw);
                    }
                    let mut error = b"SFATAL\0C28P01\0Mpassword authentication failed\0\0".to_vec();
                    let mut msg = vec![b'E'];
                    msg.extend(((error.len() + 4) as u32).to_be_bytes());
                    msg.append(&mut error);
                    socket.write_all(&msg).await?;
                    Ok::<(), std::io::Error>(())
                })
                .await;
            });
        }
    });
    (port, seen)
}

const MAIN_PASSWORD: &str = "Main-Secret-7";

#[tokio::test]
async fn probe_is_off_without_a_config_file() {
    let main = format!(
        "postgresql://main_user:{MAIN_PASSWORD}@127.0.0.1:{}/postgres",
        testkit::free_port()
    );
    let (port, seen) = recording_server().await;
    let (base, running) = crate::serve(&main, &["--preset", "none"]).await;
    let http = reqwest::Client::new();
    for query in [
        format!("target=127.0.0.1:{port}"),
        format!("target=127.0.0.1:{port}&auth_module=anything"),
    ] {
        let resp = http
            .get(format!("{base}/probe?{query}"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 403, "{query}");
        assert!(resp.text().await.unwrap().contains("--config.file"));
    }
    assert_eq!(seen.lock().unwrap().connections, 0, "nothing was contacted");
    running.shutdown().await;
}

#[tokio::test]
async fn a_probe_uses_its_module_only_and_never_the_exporters_credentials() {
    let (port, seen) = recording_server().await;
    let (other_port, other_seen) = recording_server().await;
    let main = format!("postgresql://main_user:{MAIN_PASSWORD}@127.0.0.1:{port}/postgres");
    let db = testkit::TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let config = crate::auth_modules(
        dir.path(),
        &[
            (
                "fake",
                "postgresql://probe_user:Probe-Pw-3@x/postgres",
                &[&format!("127.0.0.1:{port}")],
            ),
            ("local", &db.url, &["127.0.0.1:5432"]),
        ],
    );
    let (base, running) =
        crate::serve(&main, &["--preset", "none", "--config.file", &config]).await;
    let http = reqwest::Client::new();
    let probe = |query: String| {
        let http = http.clone();
        let base = base.clone();
        async move {
            let resp = http
                .get(format!("{base}/probe?{query}"))
                .send()
                .await
                .unwrap();
            (resp.status().as_u16(), resp.text().await.unwrap())
        }
    };

    // Refused before any connection: no module, an unknown one, a host or port its patterns
    // do not allow, a target that brings its own user or options.
    for (query, status) in [
        (format!("target=127.0.0.1:{port}"), 400),
        (format!("target=127.0.0.1:{port}&auth_module=nosuch"), 400),
        (
            format!("target=127.0.0.1:{other_port}&auth_module=fake"),
            403,
        ),
        (format!("target=127.0.0.2:{port}&auth_module=fake"), 403),
        (
            format!("target=main_user@127.0.0.1:{port}&auth_module=fake"),
            400,
        ),
        (
            format!("target=127.0.0.1:{port}/postgres%3Fsslmode%3Ddisable&auth_module=fake"),
            400,
        ),
        ("auth_module=fake".to_string(), 400),
    ] {
        let (got, body) = probe(query.clone()).await;
        assert_eq!(got, status, "{query}: {body}");
    }
    assert_eq!(other_seen.lock().unwrap().connections, 0);
    assert_eq!(seen.lock().unwrap().connections, 0);

    // An allowed target gets the module's user and password, and nothing of ours.
    let (status, text) = probe(format!("target=127.0.0.1:{port}&auth_module=fake")).await;
    assert_eq!(status, 200);
    assert_eq!(must(&text, "pg_up", &[]), 0.0);
    // The main target is this same fake server: scrape it too, so that both connected.
    let main_text = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(must(&main_text, "pg_up", &[]), 0.0);
    {
        let seen = seen.lock().unwrap();
        let users: Vec<&str> = seen
            .parameters
            .iter()
            .filter(|(k, _)| k == "user")
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(users, ["probe_user", "main_user"], "{seen:?}");
        assert_eq!(seen.passwords, ["Probe-Pw-3", MAIN_PASSWORD], "{seen:?}");
        assert!(!text.contains(MAIN_PASSWORD) && !text.contains("Probe-Pw-3"));
    }

    // A real server, with the module's credentials.
    let (status, text) = probe(format!(
        "target=127.0.0.1:5432/{}&auth_module=local",
        db.name
    ))
    .await;
    assert_eq!(status, 200);
    assert_eq!(must(&text, "pg_up", &[]), 1.0, "{text}");
    assert_eq!(must(&text, "pg_exporter_last_scrape_error", &[]), 0.0);
    running.shutdown().await;
}

#[tokio::test]
async fn a_silent_target_costs_the_modules_connect_timeout_only() {
    // A socket that accepts connections (the kernel does) and never says anything.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let config = crate::auth_modules(
        dir.path(),
        &[(
            "fake",
            "postgresql://probe_user:pw@x/postgres",
            &["127.0.0.1"],
        )],
    );
    let main = format!("postgresql://u@127.0.0.1:{}/postgres", testkit::free_port());
    let exporter = crate::exporter(&main, &["--preset", "none", "--config.file", &config]);
    let start = Instant::now();
    let text = exporter
        .probe(Some("fake"), &format!("127.0.0.1:{port}"), None)
        .await
        .unwrap();
    let took = start.elapsed();
    println!("a silent target answered in {took:?}");
    assert_eq!(must(&text, "pg_up", &[]), 0.0);
    // connect_timeout is 1 s in the module (2 s when a module sets none), not the 10 s scrape.
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(3),
        "{took:?}"
    );
    drop(silent);
}
