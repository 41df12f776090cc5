//! TLS to a server of our own with `ssl=on` and a certificate authority made here: each
//! `sslmode` does what libpq's does, a client certificate is presented, and a certificate that
//! does not verify gives `pg_up 0` and the reason in the log, never an exit.

use std::path::PathBuf;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};

use crate::cluster::{Cluster, PASSWORD, Spec};
use crate::exposition::must;

/// A certificate authority.
struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let cert = params.self_signed(&key).unwrap();
        Ca { cert, key }
    }

    /// A certificate for `names` (DNS names) with `usage`, and its key, as PEM.
    fn issue(&self, cn: &str, names: &[&str], usage: ExtendedKeyUsagePurpose) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        params.distinguished_name.push(DnType::CommonName, cn);
        params.extended_key_usages = vec![usage];
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

/// A primary with `ssl=on`, a server certificate for `localhost` only from `ca`, and `ca` as
/// the authority for client certificates.
async fn tls_cluster(ca: &Ca) -> Cluster {
    let mut cluster = Cluster::of(Spec::default()).await;
    let (cert, key) = ca.issue(
        "localhost",
        &["localhost"],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    let cert = cluster.private_file("server.crt", cert.as_bytes());
    let key = cluster.private_file("server.key", key.as_bytes());
    let root = cluster.private_file("ca.crt", ca.cert.pem().as_bytes());
    cluster.set(&[
        ("ssl", "on"),
        ("ssl_cert_file", &cert.display().to_string()),
        ("ssl_key_file", &key.display().to_string()),
        ("ssl_ca_file", &root.display().to_string()),
    ]);
    cluster.stop();
    cluster.start().await;
    cluster
}

fn file(dir: &tempfile::TempDir, name: &str, contents: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

/// Whether the exporter's connection is encrypted, and the client certificate it presented.
async fn exporter_ssl(admin: &tokio_postgres::Client) -> (bool, Option<String>) {
    let row = admin
        .query_one(
            "SELECT s.ssl, s.client_dn FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
             WHERE a.application_name = 'pg-exporter'",
            &[],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

/// Runs the binary against `dsn` until one scrape is answered; returns that scrape, its log,
/// and whether the process was still running after the scrape.
async fn scrape_binary(dsn: &str) -> (String, String, bool) {
    let web_port = testkit::free_port();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_pg-exporter"))
        .args(["--web.listen-address", &format!("127.0.0.1:{web_port}")])
        .args(["--preset", "none"])
        .env("DATA_SOURCE_NAME", dsn)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let http = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{web_port}/metrics");
    let mut text = None;
    for _ in 0..100 {
        if let Ok(resp) = http.get(&url).send().await {
            text = Some(resp.text().await.unwrap());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let alive = child.try_wait().unwrap().is_none();
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    (
        text.unwrap_or_else(|| panic!("no answer; log:\n{log}")),
        log,
        alive,
    )
}

#[tokio::test]
async fn sslmodes_work_as_in_libpq_and_a_bad_certificate_is_pg_up_0_with_the_reason() {
    let ca = Ca::new("pg-exporter test CA");
    let cluster = tls_cluster(&ca).await;
    let admin = testkit::connect(&cluster.url("postgres")).await;
    let dir = tempfile::tempdir().unwrap();
    let root = file(&dir, "ca.pem", &ca.cert.pem());
    let wrong_root = file(&dir, "other-ca.pem", &Ca::new("another CA").cert.pem());
    let (client_cert, client_key) = ca.issue(
        "pg-exporter-client",
        &[],
        ExtendedKeyUsagePurpose::ClientAuth,
    );
    let client_cert = file(&dir, "client.crt", &client_cert);
    let client_key = file(&dir, "client.key", &client_key);
    let port = cluster.port;
    let url = |host: &str, query: &str| {
        format!("postgresql://postgres:{PASSWORD}@{host}:{port}/postgres?{query}")
    };

    // Each DSN connects, and the server sees the connection encrypted or not as asked.
    let cases = [
        (url("127.0.0.1", "sslmode=disable"), false, None),
        (url("127.0.0.1", "sslmode=prefer"), true, None),
        (url("127.0.0.1", "sslmode=require"), true, None),
        (
            url(
                "127.0.0.1",
                &format!("sslmode=verify-ca&sslrootcert={}", root.display()),
            ),
            true,
            None,
        ),
        (
            url(
                "localhost",
                &format!("sslmode=verify-full&sslrootcert={}", root.display()),
            ),
            true,
            None,
        ),
        (
            format!(
                "host=localhost port={port} user=postgres password={PASSWORD} dbname=postgres \
                 sslmode=verify-full sslrootcert='{}' sslcert='{}' sslkey='{}'",
                root.display(),
                client_cert.display(),
                client_key.display()
            ),
            true,
            Some("CN=pg-exporter-client".to_string()),
        ),
    ];
    for (dsn, encrypted, client_dn) in cases {
        let exporter = crate::exporter(&dsn, &["--preset", "none"]);
        let text = exporter.metrics(None).await.unwrap();
        assert_eq!(must(&text, "pg_up", &[]), 1.0, "{dsn}");
        assert_eq!(
            must(&text, "pg_exporter_last_scrape_error", &[]),
            0.0,
            "{dsn}"
        );
        // PostgreSQL 15 writes the DN as `/CN=...`, later versions as `CN=...`.
        let (ssl, dn) = exporter_ssl(&admin).await;
        let dn = dn.map(|d| d.trim_start_matches('/').to_string());
        assert_eq!((ssl, dn), (encrypted, client_dn), "{dsn}");
        drop(exporter);
        // The exporter's connection closes with it; wait until the server has let it go.
        for _ in 0..100 {
            let n: i64 = admin
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg-exporter'",
                    &[],
                )
                .await
                .unwrap()
                .get(0);
            if n == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    // A certificate that does not verify: pg_up 0, the reason in the log, the exporter runs on.
    let wrong_ca = url(
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={}", wrong_root.display()),
    );
    let wrong_host = url(
        "127.0.0.1",
        &format!("sslmode=verify-full&sslrootcert={}", root.display()),
    );
    let ((ca_text, ca_log, ca_alive), (host_text, host_log, host_alive)) =
        tokio::join!(scrape_binary(&wrong_ca), scrape_binary(&wrong_host));
    assert_eq!(must(&ca_text, "pg_up", &[]), 0.0);
    assert!(
        ca_alive && host_alive,
        "a bad certificate never ends the exporter"
    );
    assert!(
        ca_log.contains("invalid peer certificate") && ca_log.contains("UnknownIssuer"),
        "{ca_log}"
    );
    assert!(ca_log.contains("sslmode=verify-full"), "{ca_log}");
    assert_eq!(must(&host_text, "pg_up", &[]), 0.0);
    assert!(
        host_log.contains("invalid peer certificate") && host_log.contains("not valid for name"),
        "{host_log}"
    );
    assert!(!ca_log.contains(PASSWORD) && !host_log.contains(PASSWORD));

    // A server without TLS: require refuses to go on in the clear; prefer does.
    let plain = Cluster::primary().await;
    let require = format!(
        "postgresql://postgres:{PASSWORD}@127.0.0.1:{}/postgres?sslmode=require",
        plain.port
    );
    let text = crate::exporter(&require, &["--preset", "none"])
        .metrics(None)
        .await
        .unwrap();
    assert_eq!(must(&text, "pg_up", &[]), 0.0);
    let prefer = require.replace("require", "prefer");
    let text = crate::exporter(&prefer, &["--preset", "none"])
        .metrics(None)
        .await
        .unwrap();
    assert_eq!(must(&text, "pg_up", &[]), 1.0);
}
