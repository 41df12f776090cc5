//! The example `monitoring/nginx/nginx.conf`, rendered with temporary paths and ports, served by
//! a real nginx: `/nginx_status` answers loopback, the roles' `/metrics` are denied, `/static/`
//! comes from disk, and its access log parses with the exporter's `forum` format. The exporter's
//! `--nginx.scrape-uri` then reads that stub_status.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use exporter_kit::{Metadata, Server};
use nginx_log_exporter::aggregate::Aggregator;
use nginx_log_exporter::config::{Config, plan};
use nginx_log_exporter::lineformat::LineFormat;

struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        // SIGTERM to the master stops its workers too; SIGKILL would orphan them.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.0.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn render(repo: &Path, prefix: &Path, port: u16, web: u16, api: u16) -> String {
    let conf = std::fs::read_to_string(repo.join("monitoring/nginx/nginx.conf")).unwrap();
    let p = prefix.display().to_string();
    conf.replace(
        "/etc/nginx/forum/log_format.conf",
        &repo
            .join("monitoring/nginx/log_format.conf")
            .display()
            .to_string(),
    )
    .replace("/var/log/nginx", &p)
    .replace("/run/nginx-forum.pid", &format!("{p}/nginx.pid"))
    .replace("/var/lib/forum", &p)
    .replace("listen 8080;", &format!("listen 127.0.0.1:{port};"))
    .replace("127.0.0.1:8000", &format!("127.0.0.1:{web}"))
    .replace("127.0.0.1:8001", &format!("127.0.0.1:{api}"))
    .replace("worker_processes auto;", "worker_processes 1;\ndaemon off;")
    .replace(" /tmp/nginx-", &format!(" {p}/tmp/nginx-"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_config_serves_the_forum_layout_and_logs_the_forum_format() {
    let nginx = testkit::require_bin("nginx", "apt-get install -y nginx");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("static/css")).unwrap();
    std::fs::create_dir_all(dir.path().join("tmp")).unwrap();
    std::fs::write(dir.path().join("static/css/site.css"), "body{}\n").unwrap();
    let port = testkit::free_port();
    let conf = dir.path().join("nginx.conf");
    std::fs::write(
        &conf,
        render(
            &repo,
            dir.path(),
            port,
            testkit::free_port(),
            testkit::free_port(),
        ),
    )
    .unwrap();
    let check = Command::new(&nginx)
        .arg("-t")
        .arg("-p")
        .arg(dir.path())
        .arg("-c")
        .arg(&conf)
        .arg("-e")
        .arg(dir.path().join("error.log"))
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "nginx -t: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    let _child = Kill(
        Command::new(&nginx)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&conf)
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nginx did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let get = |path: &str| {
        let http = http.clone();
        let url = format!("{base}{path}");
        async move { http.get(url).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(get("/static/css/site.css").await, 200);
    assert_eq!(get("/metrics").await, 403);
    assert_eq!(get("/api/metrics").await, 403);
    assert_eq!(get("/nginx_status").await, 200);
    // The roles are not running: nginx answers 502 after trying the upstream.
    assert_eq!(get("/api/threads/").await, 502);
    assert_eq!(get("/t/3/").await, 502);

    // Every line nginx wrote parses with the forum format.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let log = std::fs::read(dir.path().join("forum-access.log")).unwrap();
    let format = LineFormat::compile("forum").unwrap();
    let mut agg = Aggregator::new(Default::default(), Default::default(), Default::default());
    agg.process_block(&format, 0, &log);
    assert_eq!(
        agg.parse_errors.iter().sum::<u64>(),
        0,
        "{}",
        String::from_utf8_lossy(&log)
    );
    assert_eq!(
        agg.requests(),
        5,
        "nginx_status is not logged:\n{}",
        String::from_utf8_lossy(&log)
    );
    assert_eq!(agg.upstreams.sums.len(), agg.durations.sums.len());

    // --nginx.scrape-uri: stub_status read on each scrape, under nginx-prometheus-exporter's names.
    let args = <nginx_log_exporter::cli::Args as clap::Parser>::try_parse_from([
        "nginx-log-exporter",
        "--log-file",
        dir.path().join("forum-access.log").to_str().unwrap(),
        "--web.listen-address",
        "127.0.0.1:0",
    ])
    .unwrap();
    let mut plan = plan(&args, Config::default()).unwrap();
    let shared = nginx_log_exporter::collector::state(&mut plan);
    let registry = Arc::new(nginx_log_exporter::collector::registry(&shared));
    let collect =
        nginx_log_exporter::stub_status::collect(registry, &format!("{base}/nginx_status"))
            .unwrap();
    let meta = Metadata {
        name: "nginx-log-exporter",
        version: "test",
        description: "test",
        default_port: 9731,
        links: vec![],
    };
    let running = Server::new(meta, args.web.clone(), collect)
        .start()
        .await
        .unwrap();
    let text = http
        .get(format!("http://{}/metrics", running.addresses[0]))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("nginx_up 1\n"), "{text}");
    assert!(
        text.contains("# TYPE nginx_stub_requests_total counter\n"),
        "{text}"
    );
    assert!(text.contains("nginx_connections_active "), "{text}");
    let requests: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("nginx_stub_requests_total "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(requests >= 7, "{text}");
    running.shutdown().await;
}
