//! Against a real nginx (Debian package) with the repo's `forum` log format: the exporter's
//! request total equals the number of requests made, exactly, through a rename rotation with
//! `nginx -s reopen` and through a copytruncate; `promtool check metrics` accepts the output.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use exporter_kit::server::registry_collect;
use exporter_kit::{Metadata, Server};
use nginx_log_exporter::cli::Args;
use nginx_log_exporter::collector::{registry, state};
use nginx_log_exporter::config::{Config, plan};
use nginx_log_exporter::serve;

struct Nginx {
    bin: PathBuf,
    prefix: PathBuf,
    conf: PathBuf,
    child: Child,
    port: u16,
}

impl Nginx {
    fn start(prefix: &Path) -> Nginx {
        let bin = testkit::require_bin("nginx", "apt-get install -y nginx");
        let port = testkit::free_port();
        let log_format =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../monitoring/nginx/log_format.conf");
        let p = prefix.display();
        std::fs::create_dir_all(prefix.join("tmp")).unwrap();
        let conf = prefix.join("nginx.conf");
        std::fs::write(
            &conf,
            format!(
                r#"worker_processes 1;
daemon off;
pid {p}/nginx.pid;
error_log {p}/error.log warn;
events {{ worker_connections 128; }}
http {{
    client_body_temp_path {p}/tmp/body;
    proxy_temp_path {p}/tmp/proxy;
    fastcgi_temp_path {p}/tmp/fastcgi;
    uwsgi_temp_path {p}/tmp/uwsgi;
    scgi_temp_path {p}/tmp/scgi;
    include {log_format};
    access_log {p}/access.log forum;
    server {{
        listen 127.0.0.1:{port};
        location = /login {{ return 401; }}
        location / {{ return 200 "ok\n"; }}
    }}
}}
"#,
                log_format = log_format.display()
            ),
        )
        .unwrap();
        let child = Command::new(&bin)
            .arg("-p")
            .arg(prefix)
            .arg("-c")
            .arg(&conf)
            .arg("-e")
            .arg(prefix.join("error.log"))
            .stdout(Stdio::null())
            .spawn()
            .expect("start nginx");
        let nginx = Nginx {
            bin,
            prefix: prefix.to_path_buf(),
            conf,
            child,
            port,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nginx did not start: {}",
                std::fs::read_to_string(prefix.join("error.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        nginx
    }

    fn reopen(&self) {
        let status = Command::new(&self.bin)
            .arg("-p")
            .arg(&self.prefix)
            .arg("-c")
            .arg(&self.conf)
            .args(["-s", "reopen"])
            .status()
            .unwrap();
        assert!(status.success(), "nginx -s reopen failed");
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM to the master stops its workers too; SIGKILL would orphan them.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sum(text: &str, family: &str) -> u64 {
    text.lines()
        .filter(|l| {
            l.starts_with(family)
                && matches!(l.as_bytes().get(family.len()), Some(b'{') | Some(b' '))
        })
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap() as u64)
        .sum()
}

struct Client {
    http: reqwest::Client,
    nginx: String,
    metrics: String,
    made: u64,
    failed_logins: u64,
}

impl Client {
    async fn requests(&mut self, n: u64) {
        for i in 0..n {
            let resp = if i % 5 == 4 {
                self.failed_logins += 1;
                self.http
                    .post(format!("{}/login", self.nginx))
                    .body("user=x")
                    .send()
                    .await
                    .unwrap()
            } else {
                self.http
                    .get(format!("{}/t/{}/?page=2", self.nginx, i))
                    .send()
                    .await
                    .unwrap()
            };
            resp.bytes().await.unwrap();
            self.made += 1;
        }
    }

    async fn scrape(&self) -> String {
        self.http
            .get(&self.metrics)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Waits until the exporter's total reaches the number of requests made; returns how long
    /// it took and the last scrape.
    async fn wait_for_total(&self) -> (Duration, String) {
        let start = Instant::now();
        loop {
            let text = self.scrape().await;
            let total = sum(&text, "nginx_http_requests_total");
            assert!(
                total <= self.made,
                "counted {total} requests, only {} were made:\n{text}",
                self.made
            );
            if total == self.made {
                return (start.elapsed(), text);
            }
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "counted {total} of {} requests:\n{text}",
                self.made
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totals_equal_requests_through_rotation_and_copytruncate() {
    let promtool = testkit::require_bin("promtool", "apt-get install -y prometheus");
    let dir = tempfile::tempdir().unwrap();
    let nginx = Nginx::start(dir.path());
    let log = dir.path().join("access.log");

    let args = Args::try_parse_from([
        "nginx-log-exporter",
        "--log-file",
        log.to_str().unwrap(),
        "--format",
        "forum",
        "--web.listen-address",
        "127.0.0.1:0",
        "--poll-interval-ms",
        "100",
    ])
    .unwrap();
    let mut plan = plan(&args, Config::default()).unwrap();
    let shared = state(&mut plan);
    let registry = Arc::new(registry(&shared));
    let tailer = serve::start_tailer(&args, &plan, shared).unwrap();
    let meta = Metadata {
        name: "nginx-log-exporter",
        version: "test",
        description: "test",
        default_port: 9731,
        links: vec![],
    };
    let running = Server::new(meta, args.web.clone(), registry_collect(registry))
        .start()
        .await
        .unwrap();

    let mut client = Client {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap(),
        nginx: format!("http://127.0.0.1:{}", nginx.port),
        metrics: format!("http://{}/metrics", running.addresses[0]),
        made: 0,
        failed_logins: 0,
    };

    client.requests(40).await;
    let (latency, _) = client.wait_for_total().await;
    eprintln!(
        "40 requests visible in /metrics {} ms after the last one",
        latency.as_millis()
    );
    for _ in 0..5 {
        let start = Instant::now();
        client.requests(1).await;
        client.wait_for_total().await;
        eprintln!(
            "one request answered and visible in /metrics after {} ms",
            start.elapsed().as_millis()
        );
    }

    // Rename rotation: nginx writes to the renamed file until it reopens.
    std::fs::rename(&log, dir.path().join("access.log.1")).unwrap();
    client.requests(20).await;
    nginx.reopen();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !log.exists() {
        assert!(Instant::now() < deadline, "nginx did not reopen its log");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    client.requests(25).await;
    let (_, text) = client.wait_for_total().await;
    assert_eq!(sum(&text, "nginx_log_rotations_total"), 1, "{text}");

    // copytruncate: copy, then truncate in place; nginx goes on appending.
    std::fs::copy(&log, dir.path().join("access.log.2")).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(0)
        .unwrap();
    client.requests(15).await;
    let (_, text) = client.wait_for_total().await;
    assert_eq!(sum(&text, "nginx_log_truncations_total"), 1, "{text}");

    // Nothing is counted twice later either.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let text = client.scrape().await;
    assert_eq!(sum(&text, "nginx_http_requests_total"), 105, "{text}");
    assert_eq!(sum(&text, "nginx_log_parse_errors_total"), 0, "{text}");
    assert!(
        text.contains("nginx_events_total{event=\"failed_login\"} 20\n"),
        "{text}"
    );
    assert_eq!(client.failed_logins, 20);
    assert!(
        text.contains(
            "nginx_http_requests_total{method=\"GET\",status=\"200\",endpoint=\"/t/:id/\"} 85\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("nginx_http_request_duration_seconds_count{endpoint=\"/t/:id/\"} 85\n"),
        "{text}"
    );
    // Buckets are cumulative once: the +Inf bucket holds every request, no more.
    assert!(
        text.contains(
            "nginx_http_request_duration_seconds_bucket{le=\"+Inf\",endpoint=\"/t/:id/\"} 85\n"
        ),
        "{text}"
    );
    assert!(text.contains("nginx_log_exporter_build_info{"), "{text}");

    let metrics_file = dir.path().join("metrics.txt");
    std::fs::write(&metrics_file, &text).unwrap();
    let out = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(&metrics_file).unwrap())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    running.shutdown().await;
    tokio::task::spawn_blocking(move || tailer.stop())
        .await
        .unwrap();
    drop(nginx);
}
