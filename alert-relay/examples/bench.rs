//! Benchmark driver (run by `bench/run.sh`): starts a Discord double that never throttles and
//! the relay binary pointed at it, then measures
//! 1. latency: notifications sent at a steady rate, time from the POST to the double's receipt
//!    of the message (p50, p99);
//! 2. throughput: notifications accepted (durably: the 200 comes after the fsync) per second by
//!    concurrent senders.
//!
//! Usage: `bench --relay PATH [--rate 50] [--seconds 10] [--count 5000] [--concurrency 32]`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use serde_json::{Value, json};

type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

async fn receive(State(arrivals): State<Arrivals>, body: Bytes) -> axum::Json<Value> {
    let now = Instant::now();
    if let Ok(v) = serde_json::from_slice::<Value>(&body) {
        let title = v["embeds"][0]["title"].as_str().unwrap_or("").to_string();
        if let Some(name) = title.split("] ").nth(1) {
            arrivals.lock().unwrap().insert(name.to_string(), now);
        }
    }
    axum::Json(json!({"id": "1", "channel_id": "2"}))
}

fn payload(name: &str) -> Value {
    json!({"version": "4", "groupKey": format!("{{}}:{{alertname=\"{name}\"}}"), "status": "firing", "receiver": "bench",
        "groupLabels": {"alertname": name}, "commonLabels": {"alertname": name, "severity": "warning"},
        "externalURL": "http://alertmanager:9093",
        "alerts": [{"status": "firing", "labels": {"alertname": name, "severity": "warning", "instance": "host-1"},
            "annotations": {"summary": "benchmark alert"}, "startsAt": "2024-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph", "fingerprint": name}]})
}

fn arg(args: &[String], name: &str, default: &str) -> String {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_else(|| default.to_string())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let relay_bin = arg(&args, "--relay", "target/release/alert-relay");
    let rate: u64 = arg(&args, "--rate", "50").parse().unwrap();
    let seconds: u64 = arg(&args, "--seconds", "10").parse().unwrap();
    let count: usize = arg(&args, "--count", "5000").parse().unwrap();
    let concurrency: usize = arg(&args, "--concurrency", "32").parse().unwrap();

    let arrivals: Arrivals = Arc::default();
    let app = Router::new()
        .route("/api/v10/webhooks/{id}/{token}", post(receive))
        .with_state(arrivals.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let double = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let dir = tempfile::tempdir().unwrap();
    let port = {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    };
    let mut relay = std::process::Command::new(&relay_bin)
        .args([
            "--web.listen-address",
            &format!("127.0.0.1:{port}"),
            "--log.level",
            "warn",
        ])
        .args(["--discord.api-url", &format!("http://{double}/api/v10")])
        .args([
            "--discord.webhook-url",
            &format!("http://{double}/api/v10/webhooks/1/bench-token"),
        ])
        .arg("--storage.path")
        .arg(dir.path().join("spool"))
        .env("ALERT_RELAY_TOKEN", "bench")
        .spawn()
        .expect("start the relay");
    let url = format!("http://127.0.0.1:{port}/alertmanager");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap();
    while client
        .get(format!("http://127.0.0.1:{port}/-/ready"))
        .send()
        .await
        .is_err()
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // 1. Latency at a steady rate.
    let total = (rate * seconds) as usize;
    let mut sent: HashMap<String, Instant> = HashMap::new();
    let mut ticker = tokio::time::interval(Duration::from_micros(1_000_000 / rate));
    let mut posts = Vec::new();
    for i in 0..total {
        ticker.tick().await;
        let name = format!("Lat{i}");
        sent.insert(name.clone(), Instant::now());
        let (client, url, body) = (client.clone(), url.clone(), payload(&name));
        posts.push(tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth("bench")
                .json(&body)
                .send()
                .await
                .map(|r| r.status().as_u16())
        }));
    }
    for p in posts {
        assert_eq!(p.await.unwrap().unwrap(), 200);
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while arrivals.lock().unwrap().len() < total && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let got = arrivals.lock().unwrap().clone();
    let mut lat: Vec<Duration> = sent
        .iter()
        .filter_map(|(n, t)| got.get(n).map(|a| a.duration_since(*t)))
        .collect();
    lat.sort();
    println!(
        "latency webhook->double at {rate}/s for {seconds}s: {} of {total} delivered, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        lat.len(),
        percentile(&lat, 0.5).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3,
        lat.last().unwrap().as_secs_f64() * 1e3
    );

    // 2. Throughput of durable acceptance.
    let start = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (client, url, next) = (client.clone(), url.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut ok = 0usize;
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= count {
                    return ok;
                }
                let r = client
                    .post(&url)
                    .bearer_auth("bench")
                    .json(&payload(&format!("Thr{i}")))
                    .send()
                    .await;
                if r.is_ok_and(|r| r.status().as_u16() == 200) {
                    ok += 1;
                }
            }
        }));
    }
    let mut accepted = 0;
    for w in workers {
        accepted += w.await.unwrap();
    }
    let elapsed = start.elapsed();
    println!(
        "throughput: {accepted} of {count} notifications accepted (spooled, fsync'd) in {:.2} s = {:.0}/s with {concurrency} concurrent senders",
        elapsed.as_secs_f64(),
        accepted as f64 / elapsed.as_secs_f64()
    );
    let drain_start = Instant::now();
    let want = total + count;
    let deadline = Instant::now() + Duration::from_secs(120);
    while arrivals.lock().unwrap().len() < want && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let delivered = arrivals.lock().unwrap().len() - total;
    println!(
        "delivery: {delivered} of {count} delivered to the double {:.1} s after the last acceptance (one webhook, in order)",
        drain_start.elapsed().as_secs_f64()
    );
    let _ = relay.kill();
    let _ = relay.wait();
}
