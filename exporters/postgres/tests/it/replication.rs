//! A primary and its streaming replica of our own: replication metrics for real, a wrong
//! password, one connection only, and a server that goes away and comes back.

use std::time::{Duration, Instant};

use crate::cluster::Cluster;
use crate::exposition::{label_values, must};

#[tokio::test]
async fn replication_refusal_single_connection_and_recovery_on_clusters_of_our_own() {
    let mut primary = Cluster::primary().await;
    let replica = primary.replica().await;
    let admin = testkit::connect(&primary.url("postgres")).await;
    // Wait for the WAL sender to stream.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let streaming: i64 = admin
            .query_one("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming' AND replay_lsn IS NOT NULL", &[])
            .await
            .unwrap()
            .get(0);
        if streaming == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "the replica never streamed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    admin
        .batch_execute("CREATE TABLE t (x int); INSERT INTO t SELECT generate_series(1, 1000)")
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let wrong_pw = primary
        .url("postgres")
        .replace(crate::cluster::PASSWORD, "Wrong-Pw-9");
    let config = crate::auth_modules(
        dir.path(),
        &[
            ("cluster", &primary.url("postgres"), &["127.0.0.1"]),
            ("wrong", &wrong_pw, &["127.0.0.1"]),
        ],
    );
    let (base, running) = crate::serve(
        &primary.url("postgres"),
        &["--preset", "none", "--config.file", &config],
    )
    .await;
    let http = reqwest::Client::new();
    let get = |url: String| {
        let http = http.clone();
        async move { http.get(url).send().await.unwrap().text().await.unwrap() }
    };

    // The primary: a WAL sender for the replica.
    let text = get(format!("{base}/metrics")).await;
    assert_eq!(must(&text, "pg_up", &[]), 1.0);
    assert_eq!(must(&text, "pg_replication_is_replica", &[]), 0.0);
    let app: String = admin
        .query_one("SELECT application_name FROM pg_stat_replication", &[])
        .await
        .unwrap()
        .get(0);
    let labels = [
        ("application_name", app.as_str()),
        ("client_addr", "127.0.0.1"),
        ("state", "streaming"),
    ];
    assert!(must(&text, "pg_stat_replication_pg_wal_lsn_diff", &labels) >= 0.0);
    let lsn: f64 = admin
        .query_one("SELECT (pg_current_wal_lsn() - '0/0')::float8", &[])
        .await
        .unwrap()
        .get(0);
    let exported = must(
        &text,
        "pg_stat_replication_pg_current_wal_lsn_bytes",
        &labels,
    );
    assert!(exported > 0.0 && exported <= lsn, "{exported} vs {lsn}");

    // The replica, through /probe (user and password come from the auth module).
    let text = get(format!(
        "{base}/probe?auth_module=cluster&target=127.0.0.1:{}/postgres",
        replica.port
    ))
    .await;
    assert_eq!(must(&text, "pg_up", &[]), 1.0);
    assert_eq!(must(&text, "pg_replication_is_replica", &[]), 1.0);
    assert!(must(&text, "pg_replication_lag_seconds", &[]) >= 0.0);

    // An idle primary: once the replica has replayed everything it received, its last
    // replayed transaction only gets older, and that is no lag. Wait until it has caught up
    // and the last replayed transaction is more than 3 s old, then the lag must be 0.
    let on_replica = testkit::connect(&replica.url("postgres")).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let row = on_replica
            .query_one(
                "SELECT pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn(), \
                 EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8",
                &[],
            )
            .await
            .unwrap();
        let (caught_up, age): (bool, f64) = (row.get(0), row.get(1));
        if caught_up && age > 3.0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the replica never caught up and idled ({caught_up}, {age} s)"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let text = get(format!(
        "{base}/probe?auth_module=cluster&target=127.0.0.1:{}/postgres",
        replica.port
    ))
    .await;
    assert_eq!(
        must(&text, "pg_replication_lag_seconds", &[]),
        0.0,
        "an idle primary is no replication lag:\n{text}"
    );
    drop(on_replica);
    assert!(label_values(&text, "pg_stat_replication_pg_wal_lsn_diff", "state").is_empty());

    // A wrong password: refused fast, pg_up 0, and the password nowhere.
    let start = Instant::now();
    let text = get(format!(
        "{base}/probe?auth_module=wrong&target=127.0.0.1:{}/postgres",
        primary.port
    ))
    .await;
    println!("wrong password answered in {:?}", start.elapsed());
    assert_eq!(must(&text, "pg_up", &[]), 0.0);
    assert!(start.elapsed() < Duration::from_secs(1));
    assert!(!text.contains("Wrong-Pw-9"));

    // Concurrent scrapes share one connection.
    let scrapes: Vec<_> = (0..5).map(|_| get(format!("{base}/metrics"))).collect();
    for text in futures::future::join_all(scrapes).await {
        assert_eq!(must(&text, "pg_up", &[]), 1.0);
    }
    let connections: i64 = admin
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg-exporter' AND client_port IS NOT NULL",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        connections, 1,
        "one connection to the primary, whatever the number of scrapes"
    );
    drop(admin);

    // The primary goes away: pg_up 0 at once. It comes back: the exporter reconnects itself.
    primary.stop();
    let start = Instant::now();
    let text = get(format!("{base}/metrics")).await;
    println!("database down answered in {:?}", start.elapsed());
    assert_eq!(must(&text, "pg_up", &[]), 0.0);
    assert!(start.elapsed() < Duration::from_secs(1));
    primary.start().await;
    let text = get(format!("{base}/metrics")).await;
    assert_eq!(
        must(&text, "pg_up", &[]),
        1.0,
        "recovered by itself:\n{text}"
    );
    assert_eq!(must(&text, "pg_exporter_last_scrape_error", &[]), 0.0);
    running.shutdown().await;
}
