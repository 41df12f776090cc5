//! TLS to PostgreSQL: the forum reads libpq's `sslmode`, `sslrootcert`, `sslcert` and `sslkey`
//! from `DATABASE_URL`, against a server of the test's own with `ssl=on` and a certificate
//! authority made here. Its pool and its LISTEN connection are encrypted and verified; a
//! certificate that does not verify is a clear error naming the cause, without the password.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};

/// A certificate authority and a server certificate for `localhost` it signed: (CA PEM,
/// server certificate PEM, server key PEM).
fn authority_and_server() -> (String, String, String) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&key, &ca, &ca_key)
        .unwrap();
    (ca.pem(), cert.pem(), key.serialize_pem())
}

fn forum(url: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_forum"));
    c.env("DATABASE_URL", url).env("LOG_LEVEL", "warn");
    c
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The `ssl` column of `pg_stat_ssl` for each connection named `application`.
async fn encrypted(admin: &tokio_postgres::Client, application: &str) -> Vec<bool> {
    admin
        .query(
            "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
             WHERE a.application_name = $1",
            &[&application],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test]
async fn the_pool_and_the_listen_connection_verify_the_server_and_encrypt() {
    let (ca, cert, key) = authority_and_server();
    let server = testkit::pg::Server::start_tls(None, &cert, &key).await;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("ca.pem");
    std::fs::write(&root, &ca).unwrap();
    let port = server.data.port;
    let url = format!(
        "postgresql://postgres@localhost:{port}/postgres?sslmode=verify-full&sslrootcert={}",
        root.display()
    );

    let out = forum(&url).arg("migrate").output().unwrap();
    assert!(
        out.status.success(),
        "migrate over verify-full: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The web role with its read cache: a pooled connection and the LISTEN connection.
    let web_port = testkit::free_port();
    let _web = Killed(
        forum(&url)
            .args([
                "--role",
                "web",
                "--listen",
                &format!("127.0.0.1:{web_port}"),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let http = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..200 {
        if let Ok(r) = http
            .get(format!("http://127.0.0.1:{web_port}/readyz"))
            .send()
            .await
            && r.status() == 200
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ready, "the forum never became ready over TLS");
    let front = http
        .get(format!("http://127.0.0.1:{web_port}/"))
        .send()
        .await
        .unwrap();
    assert_eq!(front.status(), 200);

    let (admin, conn) = tokio_postgres::connect(&server.url("postgres"), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let mut listen = Vec::new();
    for _ in 0..100 {
        listen = encrypted(&admin, "forum-listen").await;
        if !listen.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(listen, vec![true], "the LISTEN connection");
    let pooled = encrypted(&admin, "forum").await;
    assert!(
        !pooled.is_empty() && pooled.iter().all(|s| *s),
        "pooled connections: {pooled:?}"
    );
}

#[tokio::test]
async fn a_certificate_that_does_not_verify_is_a_clear_error_and_disable_stays_plain() {
    let (_, cert, key) = authority_and_server();
    let server = testkit::pg::Server::start_tls(None, &cert, &key).await;
    let port = server.data.port;
    // Another authority than the one that signed the server's certificate.
    let (other_ca, _, _) = authority_and_server();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("other-ca.pem");
    std::fs::write(&root, &other_ca).unwrap();
    let url = format!(
        "postgresql://postgres:s3cret-pw@localhost:{port}/postgres?sslmode=verify-full&sslrootcert={}",
        root.display()
    );
    let out = forum(&url).arg("migrate").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a wrong authority must fail");
    assert!(
        err.to_lowercase().contains("certificate"),
        "the error names the certificate: {err}"
    );
    assert!(!err.contains("s3cret-pw"), "the password leaked: {err}");

    // A root certificate file that does not exist fails at startup, naming the key.
    let missing = format!(
        "postgresql://postgres@localhost:{port}/postgres?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem"
    );
    let out = forum(&missing).arg("migrate").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("sslrootcert"), "{err}");

    // sslmode=disable: a plain connection even though the server offers TLS.
    let plain = format!("postgresql://postgres@127.0.0.1:{port}/postgres?sslmode=disable");
    let out = forum(&plain).arg("migrate").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
