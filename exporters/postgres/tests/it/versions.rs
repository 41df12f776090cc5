//! The version matrix: every family against real PostgreSQL 14, 15, 16, 17 and 18 (the
//! packaged servers of `scripts/pg-versions`, installed by `scripts/lib/pg-versions.sh`), each
//! a primary with data checksums and WAL archiving plus a streaming replica of its own, with
//! the SQL that differs between versions checked on the version that has it. A missing
//! version fails, saying how to install it.

use std::time::{Duration, Instant};

use crate::cluster::{Cluster, Spec};
use crate::exposition::{label_values, must, value};

#[tokio::test]
async fn postgresql_14() {
    every_family_on(14).await;
}

#[tokio::test]
async fn postgresql_15() {
    every_family_on(15).await;
}

#[tokio::test]
async fn postgresql_16() {
    every_family_on(16).await;
}

#[tokio::test]
async fn postgresql_17() {
    every_family_on(17).await;
}

#[tokio::test]
async fn postgresql_18() {
    every_family_on(18).await;
}

/// Families every version has, on a primary with the forum schema.
const EVERY_VERSION: &[&str] = &[
    "pg_up",
    "pg_static",
    "pg_postmaster_start_time_seconds",
    "pg_stat_database_numbackends",
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
    "pg_stat_database_checksum_failures",
    "pg_stat_database_checksum_last_failure",
    "pg_stat_database_session_time",
    "pg_stat_database_active_time",
    "pg_stat_database_idle_in_transaction_time",
    "pg_stat_database_sessions",
    "pg_stat_database_sessions_abandoned",
    "pg_stat_database_sessions_fatal",
    "pg_stat_database_sessions_killed",
    "pg_stat_database_conflicts_confl_tablespace",
    "pg_stat_database_conflicts_confl_lock",
    "pg_stat_database_conflicts_confl_snapshot",
    "pg_stat_database_conflicts_confl_bufferpin",
    "pg_stat_database_conflicts_confl_deadlock",
    "pg_stat_activity_count",
    "pg_stat_activity_max_tx_duration",
    "pg_locks_count",
    "pg_database_size_bytes",
    "pg_stat_bgwriter_checkpoints_timed_total",
    "pg_stat_bgwriter_checkpoints_req_total",
    "pg_stat_bgwriter_checkpoint_write_time_total",
    "pg_stat_bgwriter_checkpoint_sync_time_total",
    "pg_stat_bgwriter_buffers_checkpoint_total",
    "pg_stat_bgwriter_buffers_clean_total",
    "pg_stat_bgwriter_maxwritten_clean_total",
    "pg_stat_bgwriter_buffers_alloc_total",
    "pg_stat_bgwriter_stats_reset_total",
    "pg_stat_archiver_archived_count",
    "pg_stat_archiver_failed_count",
    "pg_stat_archiver_last_archive_age",
    "pg_settings_max_connections",
    "pg_settings_statement_timeout_seconds",
    "pg_settings_work_mem_bytes",
    "pg_replication_is_replica",
    "pg_replication_lag_seconds",
    "pg_stat_replication_pg_current_wal_lsn_bytes",
    "pg_stat_replication_pg_wal_lsn_diff",
    "pg_stat_user_tables_seq_scan",
    "pg_stat_user_tables_seq_tup_read",
    "pg_stat_user_tables_idx_scan",
    "pg_stat_user_tables_idx_tup_fetch",
    "pg_stat_user_tables_n_tup_ins",
    "pg_stat_user_tables_n_tup_upd",
    "pg_stat_user_tables_n_tup_del",
    "pg_stat_user_tables_n_tup_hot_upd",
    "pg_stat_user_tables_n_live_tup",
    "pg_stat_user_tables_n_dead_tup",
    "pg_stat_user_tables_n_mod_since_analyze",
    "pg_stat_user_tables_last_vacuum",
    "pg_stat_user_tables_last_autovacuum",
    "pg_stat_user_tables_last_analyze",
    "pg_stat_user_tables_last_autoanalyze",
    "pg_stat_user_tables_vacuum_count",
    "pg_stat_user_tables_autovacuum_count",
    "pg_stat_user_tables_analyze_count",
    "pg_stat_user_tables_autoanalyze_count",
    "pg_stat_user_tables_size_bytes",
    "pg_statio_user_tables_heap_blks_read",
    "pg_statio_user_tables_heap_blks_hit",
    "pg_statio_user_tables_idx_blks_read",
    "pg_statio_user_tables_idx_blks_hit",
    "forum_users",
    "forum_users_active",
    "forum_users_awaiting_activation",
    "forum_users_joined_last_24h",
    "forum_users_online",
    "forum_threads",
    "forum_posts",
    "forum_categories",
    "forum_polls",
    "forum_poll_votes",
    "forum_attachments",
    "forum_attachments_size_bytes",
    "pg_exporter_last_scrape_duration_seconds",
    "pg_exporter_last_scrape_error",
    "pg_exporter_scrapes_total",
    "pg_exporter_collector_success",
    "pg_exporter_collector_duration_seconds",
    "pg_scrape_collector_success",
    "pg_scrape_collector_duration_seconds",
];

async fn one(client: &tokio_postgres::Client, sql: &str) -> f64 {
    let row = client
        .query_one(&format!("SELECT ({sql})::float8"), &[])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    row.get(0)
}

/// Polls `sql` (a boolean) until it is true, for at most `limit`.
pub(crate) async fn wait_for(client: &tokio_postgres::Client, sql: &str, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        let row = client.query_one(sql, &[]).await.unwrap();
        if row.get::<_, bool>(0) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "still false after {limit:?}: {sql}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Makes a data checksum failure: a page of `t` is overwritten on disk while the server is
/// stopped, then read.
pub(crate) async fn corrupt_a_page(primary: &mut Cluster, db: &str) {
    let forum = testkit::connect(&primary.url(db)).await;
    forum
        .batch_execute("CREATE TABLE corrupt (x int); INSERT INTO corrupt SELECT generate_series(1, 100); CHECKPOINT")
        .await
        .unwrap();
    let file: String = forum
        .query_one(
            "SELECT current_setting('data_directory') || '/' || pg_relation_filepath('corrupt')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    drop(forum);
    primary.stop();
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[4000..4100].fill(0x5a);
    std::fs::write(&file, bytes).unwrap();
    primary.start().await;
    let forum = testkit::connect(&primary.url(db)).await;
    let err = forum
        .query_one("SELECT count(*) FROM corrupt", &[])
        .await
        .expect_err("a corrupted page fails its checksum");
    assert!(format!("{err:?}").contains("invalid page"), "{err:?}");
}

async fn every_family_on(major: u32) {
    let bin = testkit::pg::bin_dir(major);
    let setting = |k: &str, v: &str| (k.to_string(), v.to_string());
    let mut primary = Cluster::of(Spec {
        bin: Some(bin),
        initdb: vec!["--data-checksums".into()],
        settings: vec![
            setting("archive_mode", "on"),
            setting("archive_command", "true"),
        ],
    })
    .await;
    let admin = testkit::connect(&primary.url("postgres")).await;
    let num = one(&admin, "current_setting('server_version_num')::int").await as u32;
    assert_eq!(num / 10_000, major, "the cluster runs PostgreSQL {major}");
    admin.batch_execute("CREATE DATABASE forum").await.unwrap();
    drop(admin);
    corrupt_a_page(&mut primary, "forum").await;
    let mut replica = primary.replica_by_copy().await;

    let admin = testkit::connect(&primary.url("postgres")).await;
    let forum = testkit::connect(&primary.url("forum")).await;
    forum
        .batch_execute(crate::metrics::FORUM_SCHEMA)
        .await
        .unwrap();
    // A server-wide setting that differs from the default, and one the exporter's session
    // overrides for itself (statement_timeout 5 s): both must read as the server has them.
    admin
        .batch_execute("ALTER SYSTEM SET work_mem = '8MB'")
        .await
        .unwrap();
    admin
        .batch_execute("SELECT pg_reload_conf()")
        .await
        .unwrap();
    if major >= 15 {
        forum
            .batch_execute("SELECT pg_stat_force_next_flush()")
            .await
            .unwrap();
    }
    admin.batch_execute("SELECT pg_switch_wal()").await.unwrap();
    wait_for(
        &admin,
        "SELECT archived_count > 0 FROM pg_stat_archiver",
        Duration::from_secs(20),
    )
    .await;
    wait_for(
        &admin,
        "SELECT count(*) = 1 FROM pg_stat_replication WHERE state = 'streaming' AND replay_lsn IS NOT NULL",
        Duration::from_secs(20),
    )
    .await;
    wait_for(
        &forum,
        "SELECT COALESCE((SELECT n_tup_ins FROM pg_stat_user_tables WHERE relname = 'users'), 0) = 57",
        Duration::from_secs(20),
    )
    .await;
    wait_for(
        &admin,
        "SELECT current_setting('work_mem') = '8MB'",
        Duration::from_secs(10),
    )
    .await;

    let exporter = crate::exporter(&primary.url("forum"), &["--preset", "forum"]);
    let text = exporter.metrics(None).await.unwrap();
    let missing: Vec<&str> = EVERY_VERSION
        .iter()
        .copied()
        .filter(|f| value(&text, f, &[]).is_none())
        .collect();
    assert!(
        missing.is_empty(),
        "PostgreSQL {major} lacks {missing:?}:\n{text}"
    );
    for collector in label_values(&text, "pg_scrape_collector_success", "collector") {
        assert_eq!(
            must(
                &text,
                "pg_scrape_collector_success",
                &[("collector", &collector)]
            ),
            1.0,
            "PostgreSQL {major}: collector {collector} failed"
        );
    }
    assert_eq!(must(&text, "pg_exporter_last_scrape_error", &[]), 0.0);
    let short = format!("{major}.{}.0", num % 10_000);
    must(&text, "pg_static", &[("short_version", &short)]);

    // Values against SQL.
    assert_eq!(
        must(&text, "pg_settings_statement_timeout_seconds", &[]),
        0.0
    );
    assert_eq!(
        must(&text, "pg_settings_work_mem_bytes", &[]),
        8.0 * 1024.0 * 1024.0
    );
    assert_eq!(must(&text, "forum_users", &[]), 57.0);
    let users = [("relname", "users")];
    assert_eq!(must(&text, "pg_stat_user_tables_n_tup_ins", &users), 57.0);
    let forum_db = [("datname", "forum")];
    assert_eq!(
        must(&text, "pg_stat_database_checksum_failures", &forum_db),
        one(
            &forum,
            "(SELECT checksum_failures FROM pg_stat_database WHERE datname = 'forum')"
        )
        .await
    );
    assert!(must(&text, "pg_stat_database_checksum_failures", &forum_db) >= 1.0);
    let last_failure = one(
        &forum,
        "(SELECT EXTRACT(EPOCH FROM checksum_last_failure) FROM pg_stat_database WHERE datname = 'forum')",
    )
    .await;
    assert_eq!(
        must(&text, "pg_stat_database_checksum_last_failure", &forum_db),
        last_failure
    );
    assert!(must(&text, "pg_stat_archiver_archived_count", &[]) >= 1.0);
    assert!(must(&text, "pg_stat_archiver_last_archive_age", &[]) >= 0.0);
    let streaming = [("application_name", "replica"), ("state", "streaming")];
    assert!(must(&text, "pg_stat_replication_pg_wal_lsn_diff", &streaming) >= 0.0);

    // Columns newer versions added to the database statistics.
    let logicalslot = value(
        &text,
        "pg_stat_database_conflicts_confl_active_logicalslot",
        &forum_db,
    );
    assert_eq!(logicalslot.is_some(), major >= 16, "added in 16");
    let launched = value(
        &text,
        "pg_stat_database_parallel_workers_launched",
        &forum_db,
    );
    assert_eq!(
        launched.is_some(),
        major >= 18,
        "added in 18, with parallel_workers_to_launch"
    );
    assert_eq!(
        value(
            &text,
            "pg_stat_database_parallel_workers_to_launch",
            &forum_db
        )
        .is_some(),
        major >= 18
    );

    // The checkpointer split of PostgreSQL 17: the same names, read from where they live.
    let (timed_sql, alloc_sql) = if major >= 17 {
        (
            "(SELECT num_timed FROM pg_stat_checkpointer)",
            "(SELECT buffers_alloc FROM pg_stat_bgwriter)",
        )
    } else {
        (
            "(SELECT checkpoints_timed FROM pg_stat_bgwriter)",
            "(SELECT buffers_alloc FROM pg_stat_bgwriter)",
        )
    };
    let timed = must(&text, "pg_stat_bgwriter_checkpoints_timed_total", &[]);
    assert_eq!(timed, one(&admin, timed_sql).await);
    assert!(
        must(&text, "pg_stat_bgwriter_buffers_alloc_total", &[]) <= one(&admin, alloc_sql).await
    );
    let buffers_checkpoint = must(&text, "pg_stat_bgwriter_buffers_checkpoint_total", &[]);
    assert!(
        buffers_checkpoint > 0.0,
        "the CHECKPOINT above wrote buffers"
    );
    let backend = value(&text, "pg_stat_bgwriter_buffers_backend_total", &[]);
    if major >= 17 {
        assert_eq!(backend, None, "moved to pg_stat_io in 17");
    } else {
        assert_eq!(
            backend,
            Some(one(&admin, "(SELECT buffers_backend FROM pg_stat_bgwriter)").await)
        );
    }

    // The replica, once it has replayed the forum's rows.
    let on_replica_db = testkit::connect(&replica.url("forum")).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !matches!(
        on_replica_db.query_one("SELECT count(*) FROM users", &[]).await,
        Ok(row) if row.get::<_, i64>(0) == 57
    ) {
        assert!(
            Instant::now() < deadline,
            "the replica never replayed the forum's rows"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(on_replica_db);
    let on_replica = crate::exporter(&replica.url("forum"), &["--preset", "forum"]);
    let text = on_replica.metrics(None).await.unwrap();
    assert_eq!(must(&text, "pg_up", &[]), 1.0);
    assert_eq!(must(&text, "pg_replication_is_replica", &[]), 1.0);
    assert!(must(&text, "pg_replication_lag_seconds", &[]) >= 0.0);
    assert_eq!(
        must(&text, "pg_exporter_last_scrape_error", &[]),
        0.0,
        "{text}"
    );
    assert_eq!(must(&text, "forum_users", &[]), 57.0, "replicated");
    drop((exporter, on_replica, admin, forum));
    replica.stop();
    primary.stop();
}
