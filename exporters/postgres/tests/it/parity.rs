//! Parity with the real postgres_exporter (Debian's `prometheus-postgres-exporter` 0.11.1):
//! both exporters scrape the same server of the test's own (data checksums on, a checksum
//! failure made, WAL archived), and every family postgres_exporter exposes must be exposed by
//! pg-exporter with the same type and label names, but for the exceptions listed below with
//! their reasons. Then the families Grafana's community dashboard "PostgreSQL Database"
//! (grafana.com 9628) reads must be there whenever postgres_exporter has them.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::cluster::{Cluster, Spec};

const PEER: &str = "prometheus-postgres-exporter";
const PEER_INSTALL: &str = "apt-get install -y prometheus-postgres-exporter";

/// postgres_exporter's families left out of the comparison, and why.
const NOT_COMPARED: &[(&str, &str)] = &[
    (
        "postgres_exporter_build_info",
        "its own build; pg-exporter's is pg_exporter_build_info (version, revision, rustc)",
    ),
    (
        "process_virtual_memory_max_bytes",
        "the Go client's address-space limit (RLIMIT_AS); pg-exporter exports the six standard \
         process families, not this one",
    ),
];

/// Families postgres_exporter types `counter` and pg-exporter exposes `untyped`: their names
/// lack `_total`, and OpenMetrics cannot type them as counters without renaming them (which
/// would break the dashboards written for these names). `rate()` works on both.
const COUNTERS_WITHOUT_TOTAL: &[&str] = &[
    "pg_stat_database_xact_commit",
    "pg_stat_database_xact_rollback",
    "pg_stat_database_blks_read",
    "pg_stat_database_blks_hit",
    "pg_stat_database_tup_returned",
    "pg_stat_database_tup_fetched",
    "pg_stat_database_tup_inserted",
    "pg_stat_database_tup_updated",
    "pg_stat_database_tup_deleted",
    "pg_stat_database_conflicts",
    "pg_stat_database_temp_files",
    "pg_stat_database_temp_bytes",
    "pg_stat_database_deadlocks",
    "pg_stat_database_blk_read_time",
    "pg_stat_database_blk_write_time",
    "pg_stat_database_stats_reset",
    "pg_stat_database_conflicts_confl_tablespace",
    "pg_stat_database_conflicts_confl_lock",
    "pg_stat_database_conflicts_confl_snapshot",
    "pg_stat_database_conflicts_confl_bufferpin",
    "pg_stat_database_conflicts_confl_deadlock",
    "pg_stat_archiver_archived_count",
    "pg_stat_archiver_failed_count",
];

/// Families postgres_exporter leaves untyped and pg-exporter types as gauges: a point in time
/// (Unix seconds), which goes nowhere but forward or to absent, is no counter.
const UNTYPED_TO_GAUGE: &[&str] = &["pg_stat_database_checksum_last_failure"];

/// The label postgres_exporter adds to most families and pg-exporter leaves out: Prometheus'
/// `instance` says the same.
const SERVER_LABEL: &str = "server";

/// The metric names Grafana.com's community dashboard 9628 ("PostgreSQL Database") queries.
/// Its bgwriter panels name the counters without `_total`; postgres_exporter 0.11.1 exposes
/// them with it, so for those the `_total` family is what is compared (see [`resolve`]).
const DASHBOARD_9628: &[&str] = &[
    "pg_up",
    "pg_postmaster_start_time_seconds",
    "pg_settings_max_connections",
    "pg_settings_shared_buffers_bytes",
    "pg_settings_effective_cache_size_bytes",
    "pg_settings_maintenance_work_mem_bytes",
    "pg_settings_work_mem_bytes",
    "pg_settings_max_wal_size_bytes",
    "pg_settings_random_page_cost",
    "pg_settings_seq_page_cost",
    "pg_settings_max_worker_processes",
    "pg_settings_max_parallel_workers",
    "pg_stat_database_numbackends",
    "pg_stat_database_xact_commit",
    "pg_stat_database_xact_rollback",
    "pg_stat_database_tup_fetched",
    "pg_stat_database_tup_returned",
    "pg_stat_database_tup_inserted",
    "pg_stat_database_tup_updated",
    "pg_stat_database_tup_deleted",
    "pg_stat_database_blks_hit",
    "pg_stat_database_blks_read",
    "pg_stat_database_conflicts",
    "pg_stat_database_deadlocks",
    "pg_stat_database_temp_bytes",
    "pg_stat_database_temp_files",
    "pg_locks_count",
    "pg_stat_activity_count",
    "pg_stat_bgwriter_buffers_alloc",
    "pg_stat_bgwriter_buffers_backend_fsync",
    "pg_stat_bgwriter_buffers_backend",
    "pg_stat_bgwriter_buffers_clean",
    "pg_stat_bgwriter_buffers_checkpoint",
    "pg_stat_bgwriter_checkpoints_req",
    "pg_stat_bgwriter_checkpoints_timed",
    "pg_stat_bgwriter_checkpoint_sync_time",
    "pg_stat_bgwriter_checkpoint_write_time",
    "pg_stat_bgwriter_maxwritten_clean",
    "pg_static",
    "process_cpu_seconds_total",
    "process_resident_memory_bytes",
    "process_virtual_memory_bytes",
    "process_open_fds",
];

/// What the dashboard reads on PostgreSQL 15 that postgres_exporter 0.11.1 does not expose at
/// all (its `postmaster` collector is off by default); pg-exporter exposes it (checked too).
const DASHBOARD_PEER_LACKS_ON_15: &[&str] = &["pg_postmaster_start_time_seconds"];

#[tokio::test]
async fn the_families_of_postgres_exporter_on_postgresql_15() {
    let (peer, ours) = scrape_both(None).await;
    compare(15, &peer, &ours);
    let (answered, peer_lacks) = dashboard(15, &peer, &ours);
    assert_eq!(peer_lacks, DASHBOARD_PEER_LACKS_ON_15, "PostgreSQL 15");
    assert_eq!(answered + peer_lacks.len(), DASHBOARD_9628.len());
}

#[tokio::test]
async fn the_families_of_postgres_exporter_on_postgresql_18() {
    let (peer, ours) = scrape_both(Some(testkit::pg::bin_dir(18))).await;
    compare(18, &peer, &ours);
    let (_, peer_lacks) = dashboard(18, &peer, &ours);
    // postgres_exporter 0.11.1's bgwriter collector fails on 17 and later (the checkpointer
    // split): the dashboard's bgwriter panels are empty with it there, and answered by
    // pg-exporter but for the two counters PostgreSQL 17 moved to pg_stat_io.
    assert!(
        peer_lacks.contains(&"pg_stat_bgwriter_buffers_alloc"),
        "{peer_lacks:?}"
    );
}

/// A family as exposed: its type and the union of its samples' label names.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Shape {
    kind: String,
    labels: BTreeSet<String>,
}

/// The families of a Prometheus text (0.0.4) exposition, by sample name.
fn shapes(text: &str) -> BTreeMap<String, Shape> {
    let mut types = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split_whitespace();
            let (name, kind) = (parts.next().unwrap(), parts.next().unwrap());
            let kind = if kind == "unknown" { "untyped" } else { kind };
            types.insert(name.to_string(), kind.to_string());
        }
    }
    let mut out: BTreeMap<String, Shape> = BTreeMap::new();
    for sample in crate::exposition::samples(text) {
        // A summary's or histogram's `_sum`, `_count` and `_bucket` belong to its family.
        let family = ["_sum", "_count", "_bucket"]
            .iter()
            .filter_map(|s| sample.name.strip_suffix(s))
            .find(|f| {
                matches!(
                    types.get(*f).map(String::as_str),
                    Some("summary" | "histogram")
                )
            })
            .unwrap_or(&sample.name)
            .to_string();
        let kind = types
            .get(&family)
            .unwrap_or_else(|| panic!("no # TYPE line for {}", sample.name));
        let shape = out.entry(family).or_insert_with(|| Shape {
            kind: kind.clone(),
            labels: BTreeSet::new(),
        });
        shape
            .labels
            .extend(sample.labels.into_iter().map(|(k, _)| k));
    }
    out
}

fn compare(major: u32, peer: &str, ours: &str) {
    let peer = shapes(peer);
    let ours = shapes(ours);
    let mut problems = Vec::new();
    let mut compared = 0;
    for (name, shape) in &peer {
        if name.starts_with("go_")
            || name.starts_with("promhttp_")
            || NOT_COMPARED.iter().any(|(n, _)| n == name)
        {
            continue;
        }
        compared += 1;
        let Some(mine) = ours.get(name) else {
            problems.push(format!("{name}: missing"));
            continue;
        };
        let mut expected = shape.clone();
        expected.labels.remove(SERVER_LABEL);
        if expected.kind == "counter" && COUNTERS_WITHOUT_TOTAL.contains(&name.as_str()) {
            expected.kind = "untyped".into();
        }
        if expected.kind == "untyped" && UNTYPED_TO_GAUGE.contains(&name.as_str()) {
            expected.kind = "gauge".into();
        }
        if *mine != expected {
            problems.push(format!(
                "{name}: postgres_exporter {shape:?}, pg-exporter {mine:?}"
            ));
        }
    }
    // The exceptions must still be needed: an exception that no longer applies is removed.
    for name in COUNTERS_WITHOUT_TOTAL.iter().chain(UNTYPED_TO_GAUGE) {
        if let Some(shape) = peer.get(*name) {
            let expected = if COUNTERS_WITHOUT_TOTAL.contains(name) {
                "counter"
            } else {
                "untyped"
            };
            assert_eq!(shape.kind, expected, "the exception for {name} is stale");
        }
    }
    assert!(
        compared >= 60,
        "PostgreSQL {major}: only {compared} families compared; postgres_exporter scraped nothing?"
    );
    assert!(
        problems.is_empty(),
        "PostgreSQL {major}: {} of {compared} families of postgres_exporter differ:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// The family that answers the dashboard's `name` in `families`: the name itself, or the
/// counter `<name>_total`.
fn resolve<'a>(families: &'a BTreeMap<String, Shape>, name: &'a str) -> Option<String> {
    if families.contains_key(name) {
        return Some(name.to_string());
    }
    let total = format!("{name}_total");
    families.contains_key(&total).then_some(total)
}

/// Checks the dashboard's families; returns how many postgres_exporter answers and the names it
/// does not.
fn dashboard(major: u32, peer: &str, ours: &str) -> (usize, Vec<&'static str>) {
    let peer = shapes(peer);
    let ours = shapes(ours);
    let mut answered = 0;
    let mut peer_lacks = Vec::new();
    let mut missing = Vec::new();
    for name in DASHBOARD_9628 {
        let theirs = resolve(&peer, name);
        let mine = resolve(&ours, name);
        match (&theirs, &mine) {
            (Some(t), Some(m)) => {
                answered += 1;
                assert_eq!(t, m, "PostgreSQL {major}: {name} resolves differently");
            }
            (Some(t), None) => missing.push(format!("{name} (postgres_exporter: {t})")),
            (None, _) => peer_lacks.push(*name),
        }
    }
    assert!(
        missing.is_empty(),
        "PostgreSQL {major}: the dashboard reads what postgres_exporter has and pg-exporter lacks: {missing:?}"
    );
    for name in DASHBOARD_PEER_LACKS_ON_15 {
        assert!(resolve(&ours, name).is_some(), "PostgreSQL {major}: {name}");
    }
    (answered, peer_lacks)
}

/// postgres_exporter running against `dsn` on a free port; killed when dropped.
struct Peer {
    child: Child,
    url: String,
}

impl Peer {
    fn start(dsn: &str) -> Peer {
        let bin = testkit::require_bin(PEER, PEER_INSTALL);
        let port = testkit::free_port();
        let child = Command::new(bin)
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .env("DATA_SOURCE_NAME", dsn)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("postgres_exporter starts");
        Peer {
            child,
            url: format!("http://127.0.0.1:{port}/metrics"),
        }
    }

    async fn scrape(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match reqwest::get(&self.url).await {
                Ok(resp) if resp.status().is_success() => {
                    let text = resp.text().await.unwrap();
                    if text.contains("\npg_up 1") {
                        return text;
                    }
                    assert!(
                        Instant::now() < deadline,
                        "postgres_exporter: pg_up not 1:\n{text}"
                    );
                }
                other => assert!(
                    Instant::now() < deadline,
                    "postgres_exporter does not answer: {other:?}"
                ),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A cluster (Debian's server, or the binaries of `bin`) with data checksums, a checksum
/// failure and an archived WAL file, so that every family either exporter has is populated;
/// returns postgres_exporter's and pg-exporter's expositions of it.
async fn scrape_both(bin: Option<std::path::PathBuf>) -> (String, String) {
    let setting = |k: &str, v: &str| (k.to_string(), v.to_string());
    let mut cluster = Cluster::of(Spec {
        bin,
        initdb: vec!["--data-checksums".into()],
        settings: vec![
            setting("archive_mode", "on"),
            setting("archive_command", "true"),
        ],
    })
    .await;
    crate::versions::corrupt_a_page(&mut cluster, "postgres").await;
    let admin = testkit::connect(&cluster.url("postgres")).await;
    admin.batch_execute("SELECT pg_switch_wal()").await.unwrap();
    crate::versions::wait_for(
        &admin,
        "SELECT archived_count > 0 FROM pg_stat_archiver",
        Duration::from_secs(20),
    )
    .await;
    let dsn = format!("{}?sslmode=disable", cluster.url("postgres"));
    let peer = Peer::start(&dsn);
    let peer_text = peer.scrape().await;
    let (base, _running) = crate::serve(&dsn, &["--preset", "none"]).await;
    let ours = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(ours.contains("\npg_up 1"), "{ours}");
    drop((peer, admin));
    cluster.stop();
    (peer_text, ours)
}
