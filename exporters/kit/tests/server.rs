//! The shared exporter server, exercised over real sockets with a real client: TLS, basic auth,
//! content negotiation, gzip, landing page, health and readiness, shutdown.

use std::io::Read as _;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use exporter_kit::server::{Metadata, Running, registry_collect};
use exporter_kit::{Server, WebArgs};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::registry::Registry;
use service_kit::register_build_info;

fn meta() -> Metadata {
    Metadata {
        name: "test-exporter",
        version: "9.9.9",
        description: "An exporter <under> test",
        default_port: 0,
        links: vec![("/probe".into(), "Probe".into())],
    }
}

fn registry() -> Arc<Registry> {
    let mut registry = Registry::default();
    register_build_info(&mut registry, "test_exporter", "9.9.9");
    let counter = Counter::<u64>::default();
    counter.inc_by(7);
    registry.register("things_seen", "Things seen.", counter);
    Arc::new(registry)
}

fn web(config: Option<&Path>) -> WebArgs {
    WebArgs {
        listen_address: vec!["127.0.0.1:0".into()],
        telemetry_path: "/metrics".into(),
        config_file: config.map(Path::to_path_buf),
    }
}

async fn start(config: Option<&Path>) -> Running {
    Server::new(meta(), web(config), registry_collect(registry()))
        .start()
        .await
        .expect("server starts")
}

/// A self-signed certificate for 127.0.0.1, a bcrypt hash for `prometheus:s3cret`, and a web
/// config file that uses both.
fn tls_and_auth_config(dir: &Path) -> (std::path::PathBuf, String) {
    let cert =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .expect("certificate");
    std::fs::write(dir.join("tls.crt"), cert.cert.pem()).unwrap();
    std::fs::write(dir.join("tls.key"), cert.key_pair.serialize_pem()).unwrap();
    let hash = bcrypt::hash("s3cret", 4).unwrap();
    let path = dir.join("web.yml");
    std::fs::write(
        &path,
        format!(
            "tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\nbasic_auth_users:\n  prometheus: '{hash}'\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\n"
        ),
    )
    .unwrap();
    (path, cert.cert.pem())
}

#[tokio::test]
async fn tls_with_basic_auth_admits_the_right_password_only() {
    let dir = tempfile::tempdir().unwrap();
    let (config, ca_pem) = tls_and_auth_config(dir.path());
    let running = start(Some(&config)).await;
    let addr = running.addresses[0];
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap())
        .build()
        .unwrap();
    let url = format!("https://127.0.0.1:{}/metrics", addr.port());

    let ok = client
        .get(&url)
        .basic_auth("prometheus", Some("s3cret"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.headers()["x-frame-options"], "deny");
    let body = ok.text().await.unwrap();
    assert!(body.contains("things_seen_total 7"), "{body}");
    assert!(body.contains("test_exporter_build_info{"), "{body}");

    let wrong = client
        .get(&url)
        .basic_auth("prometheus", Some("guess"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(
        wrong.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );

    let unknown = client
        .get(&url)
        .basic_auth("admin", Some("s3cret"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 401);

    let anonymous = client.get(&url).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);

    // Health endpoints sit behind the same auth, as in the exporter toolkit.
    let health = client
        .get(format!("https://127.0.0.1:{}/-/healthy", addr.port()))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 401);
    running.shutdown().await;
}

#[tokio::test]
async fn plain_http_to_a_tls_listener_fails() {
    let dir = tempfile::tempdir().unwrap();
    let (config, _) = tls_and_auth_config(dir.path());
    let running = start(Some(&config)).await;
    let port = running.addresses[0].port();
    let result = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .basic_auth("prometheus", Some("s3cret"))
        .send()
        .await;
    assert!(
        result.is_err(),
        "plain HTTP must not be answered by a TLS listener: {result:?}"
    );
    running.shutdown().await;
}

#[tokio::test]
async fn a_client_that_does_not_trust_the_certificate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (config, _) = tls_and_auth_config(dir.path());
    let running = start(Some(&config)).await;
    let port = running.addresses[0].port();
    let result = reqwest::Client::new()
        .get(format!("https://127.0.0.1:{port}/metrics"))
        .send()
        .await;
    assert!(
        result.is_err(),
        "an untrusted certificate must fail the handshake: {result:?}"
    );
    running.shutdown().await;
}

#[tokio::test]
async fn content_negotiation_returns_the_format_asked_for() {
    let running = start(None).await;
    let url = format!("http://{}/metrics", running.addresses[0]);
    let client = reqwest::Client::new();

    let text = client.get(&url).send().await.unwrap();
    assert_eq!(
        text.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let body = text.text().await.unwrap();
    assert!(
        body.contains("# TYPE things_seen_total counter\nthings_seen_total 7\n"),
        "{body}"
    );
    assert!(!body.contains("# EOF"), "{body}");

    let om = client
        .get(&url)
        .header(
            "accept",
            "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        om.headers()["content-type"],
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    let body = om.text().await.unwrap();
    assert!(body.contains("# TYPE things_seen counter\n"), "{body}");
    assert!(body.ends_with("# EOF\n"), "{body}");
    running.shutdown().await;
}

#[tokio::test]
async fn metrics_are_gzipped_when_asked() {
    let running = start(None).await;
    let url = format!("http://{}/metrics", running.addresses[0]);
    let client = reqwest::Client::builder().no_gzip().build().unwrap();
    let plain = client.get(&url).send().await.unwrap().text().await.unwrap();
    let res = client
        .get(&url)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-encoding"], "gzip");
    let bytes = res.bytes().await.unwrap();
    let mut unzipped = String::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_string(&mut unzipped)
        .unwrap();
    // The process metrics (CPU, memory) move between two scrapes; everything else is equal.
    let stable = |t: &str| -> String {
        t.lines()
            .filter(|l| !l.starts_with("process_"))
            .map(|l| format!("{l}\n"))
            .collect()
    };
    assert_eq!(stable(&unzipped), stable(&plain));
    running.shutdown().await;
}

#[tokio::test]
async fn landing_page_health_and_readiness() {
    let server = Server::new(meta(), web(None), registry_collect(registry()));
    let ready = server.readiness();
    let running = server.start().await.unwrap();
    let base = format!("http://{}", running.addresses[0]);
    let client = reqwest::Client::new();

    let landing = client.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(landing.status(), 200);
    let html = landing.text().await.unwrap();
    assert!(html.contains("<h1>test-exporter</h1>"), "{html}");
    assert!(
        html.contains("An exporter &lt;under&gt; test"),
        "description is escaped: {html}"
    );
    assert!(
        html.contains("href=\"/metrics\"") && html.contains("href=\"/probe\""),
        "{html}"
    );
    assert!(html.contains("9.9.9"), "{html}");

    assert_eq!(
        client
            .get(format!("{base}/-/healthy"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        client
            .get(format!("{base}/-/ready"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    ready.store(false, Ordering::Relaxed);
    assert_eq!(
        client
            .get(format!("{base}/-/ready"))
            .send()
            .await
            .unwrap()
            .status(),
        503
    );
    assert_eq!(
        client
            .get(format!("{base}/nope"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    running.shutdown().await;
}

#[tokio::test]
async fn a_busy_port_is_a_clear_error_and_shutdown_frees_the_port() {
    let running = start(None).await;
    let addr = running.addresses[0];
    let mut args = web(None);
    args.listen_address = vec![addr.to_string()];
    let err = Server::new(meta(), args, registry_collect(registry()))
        .start()
        .await
        .err()
        .expect("second bind fails")
        .to_string();
    assert!(err.contains(&addr.to_string()), "{err}");

    running.shutdown().await;
    let after = reqwest::Client::new()
        .get(format!("http://{addr}/metrics"))
        .send()
        .await;
    assert!(after.is_err(), "nothing listens after shutdown");
}

#[tokio::test]
async fn a_telemetry_path_that_hides_the_landing_page_is_refused() {
    let mut args = web(None);
    args.telemetry_path = "/".into();
    let err = Server::new(meta(), args, registry_collect(registry()))
        .start()
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("telemetry-path"), "{err}");
}

#[tokio::test]
async fn every_scrape_carries_the_process_metrics_in_both_formats() {
    let running = start(None).await;
    let url = format!("http://{}/metrics", running.addresses[0]);
    let client = reqwest::Client::new();
    let sample = |text: &str, name: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no {name} in\n{text}"))
            .parse()
            .unwrap()
    };

    let text = client.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(text.contains("things_seen_total 7\n"), "{text}");
    assert!(sample(&text, "process_resident_memory_bytes") > 0.0);
    assert!(sample(&text, "process_open_fds") > 0.0);
    assert!(sample(&text, "process_cpu_seconds_total") >= 0.0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let started = sample(&text, "process_start_time_seconds");
    assert!(started <= now + 1.0 && started > now - 600.0, "{started}");

    let om = client
        .get(&url)
        .header("accept", "application/openmetrics-text;version=1.0.0")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(om.contains("\nprocess_max_fds "), "{om}");
    assert!(
        om.ends_with("# EOF\n") && om.matches("# EOF").count() == 1,
        "the process families go before the one # EOF:\n{om}"
    );
    running.shutdown().await;
}
