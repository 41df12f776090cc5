//! Every metric family, compared with the same facts read by SQL directly.

use crate::exposition::{label_values, must, value};

/// The forum tables of docs/contracts.md, with rows whose counts differ per gauge.
pub const FORUM_SCHEMA: &str = "
CREATE TABLE users (id bigserial PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now(),
                    is_active bool NOT NULL DEFAULT true, last_seen_at timestamptz NULL);
CREATE TABLE categories (id bigserial PRIMARY KEY, parent_id bigint NULL REFERENCES categories(id));
CREATE TABLE threads (id bigserial PRIMARY KEY, category_id bigint NOT NULL REFERENCES categories(id),
                      created_at timestamptz NOT NULL DEFAULT now(), is_hidden bool NOT NULL DEFAULT false);
CREATE TABLE posts (id bigserial PRIMARY KEY, thread_id bigint NOT NULL REFERENCES threads(id),
                    created_at timestamptz NOT NULL DEFAULT now(), is_deleted bool NOT NULL DEFAULT false);
CREATE TABLE polls (id bigserial PRIMARY KEY, thread_id bigint NOT NULL REFERENCES threads(id));
CREATE TABLE poll_votes (id bigserial PRIMARY KEY, poll_id bigint NOT NULL REFERENCES polls(id),
                         user_id bigint NOT NULL REFERENCES users(id));
INSERT INTO users (created_at, is_active, last_seen_at)
  SELECT now() - (i || ' hours')::interval, i % 4 <> 0,
         CASE WHEN i % 3 = 0 THEN now() - interval '1 minute' WHEN i % 3 = 1 THEN now() - interval '1 hour' END
  FROM generate_series(1, 57) i;
INSERT INTO categories (parent_id) VALUES (NULL), (1), (1);
INSERT INTO threads (category_id, is_hidden) SELECT 1 + i % 3, i % 5 = 0 FROM generate_series(1, 20) i;
INSERT INTO posts (thread_id, is_deleted) SELECT 1 + i % 20, i % 7 = 0 FROM generate_series(1, 140) i;
-- private threads: the category with id 0, outside the tree
INSERT INTO categories (id, parent_id) VALUES (0, NULL);
INSERT INTO threads (category_id) VALUES (0), (0), (0);
INSERT INTO posts (thread_id) VALUES (21), (21), (22);
INSERT INTO polls (thread_id) VALUES (1), (2);
INSERT INTO poll_votes (poll_id, user_id) SELECT 1 + i % 2, i FROM generate_series(1, 9) i;
CREATE TABLE attachments (id bigserial PRIMARY KEY, post_id bigint NULL REFERENCES posts(id),
                          size_bytes bigint NOT NULL);
INSERT INTO attachments (post_id, size_bytes) SELECT CASE WHEN i % 2 = 0 THEN i END, 1000 * i
  FROM generate_series(1, 11) i;
";

async fn count(client: &tokio_postgres::Client, sql: &str) -> f64 {
    client
        .query_one(sql, &[])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get::<_, i64>(0) as f64
}

#[tokio::test]
async fn every_family_is_present_with_the_values_sql_gives() {
    let db = testkit::TestDb::new().await;
    let client = db.client().await;
    client.batch_execute(FORUM_SCHEMA).await.unwrap();
    client
        .batch_execute("SELECT pg_stat_force_next_flush()")
        .await
        .unwrap();
    let exporter = crate::exporter(&db.url, &["--preset", "forum"]);
    let text = exporter.metrics(None).await.unwrap();
    let db_label = [("datname", db.name.as_str())];

    // Forum gauges, each against its own SQL.
    for (metric, sql) in [
        ("forum_users", "SELECT count(*) FROM users"),
        (
            "forum_users_active",
            "SELECT count(*) FROM users WHERE is_active",
        ),
        (
            "forum_users_awaiting_activation",
            "SELECT count(*) FROM users WHERE NOT is_active",
        ),
        (
            "forum_users_joined_last_24h",
            "SELECT count(*) FROM users WHERE created_at > now() - interval '24 hours'",
        ),
        (
            "forum_users_online",
            "SELECT count(*) FROM users WHERE last_seen_at > now() - interval '5 minutes'",
        ),
        (
            "forum_threads",
            "SELECT count(*) FROM threads WHERE NOT is_hidden AND category_id <> 0",
        ),
        (
            "forum_posts",
            "SELECT count(*) FROM posts p JOIN threads t ON t.id = p.thread_id
             WHERE NOT p.is_deleted AND t.category_id <> 0",
        ),
        (
            "forum_private_threads",
            "SELECT count(*) FROM threads WHERE category_id = 0",
        ),
        (
            "forum_categories",
            "SELECT count(*) FROM categories WHERE id <> 0",
        ),
        ("forum_polls", "SELECT count(*) FROM polls"),
        ("forum_poll_votes", "SELECT count(*) FROM poll_votes"),
        ("forum_attachments", "SELECT count(*) FROM attachments"),
        (
            "forum_attachments_size_bytes",
            "SELECT sum(size_bytes)::bigint FROM attachments",
        ),
    ] {
        assert_eq!(
            must(&text, metric, &[]),
            count(&client, sql).await,
            "{metric}"
        );
    }
    assert_eq!(must(&text, "forum_users", &[]), 57.0);
    assert_eq!(must(&text, "forum_private_threads", &[]), 3.0);
    assert_eq!(must(&text, "forum_categories", &[]), 3.0);

    // Server facts.
    assert_eq!(must(&text, "pg_up", &[]), 1.0);
    let version: String = client
        .query_one("SELECT version()", &[])
        .await
        .unwrap()
        .get(0);
    let num: String = client
        .query_one("SHOW server_version_num", &[])
        .await
        .unwrap()
        .get(0);
    let num: i32 = num.parse().unwrap();
    let short = format!("{}.{}.0", num / 10_000, num % 10_000);
    assert_eq!(
        must(
            &text,
            "pg_static",
            &[("version", &version), ("short_version", &short)]
        ),
        1.0
    );
    let start: f64 = client
        .query_one(
            "SELECT EXTRACT(EPOCH FROM pg_postmaster_start_time())::float8",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!((must(&text, "pg_postmaster_start_time_seconds", &[]) - start).abs() < 0.01);
    let max_conn: String = client
        .query_one("SHOW max_connections", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        must(&text, "pg_settings_max_connections", &[]),
        max_conn.parse::<f64>().unwrap()
    );
    let shared: String = client
        .query_one(
            "SELECT setting FROM pg_settings WHERE name = 'shared_buffers'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        must(&text, "pg_settings_shared_buffers_bytes", &[]),
        shared.parse::<f64>().unwrap() * 8192.0
    );
    let ckpt: String = client
        .query_one(
            "SELECT setting FROM pg_settings WHERE name = 'checkpoint_timeout'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        must(&text, "pg_settings_checkpoint_timeout_seconds", &[]),
        ckpt.parse::<f64>().unwrap()
    );
    assert_eq!(
        must(&text, "pg_settings_fsync", &[]),
        1.0,
        "booleans are 0/1"
    );
    // The server's value, not the 5 s the exporter's own session runs with.
    let server_timeout: String = client
        .query_one("SHOW statement_timeout", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(server_timeout, "0");
    assert_eq!(
        must(&text, "pg_settings_statement_timeout_seconds", &[]),
        0.0
    );
    assert_eq!(must(&text, "pg_replication_is_replica", &[]), 0.0);
    assert_eq!(must(&text, "pg_replication_lag_seconds", &[]), 0.0);
    let archived: i64 = client
        .query_one("SELECT archived_count FROM pg_stat_archiver", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        must(&text, "pg_stat_archiver_archived_count", &[]),
        archived as f64
    );
    must(&text, "pg_stat_archiver_failed_count", &[]);
    for counter in [
        "checkpoints_timed",
        "checkpoints_req",
        "buffers_alloc",
        "buffers_clean",
        "checkpoint_write_time",
    ] {
        must(&text, &format!("pg_stat_bgwriter_{counter}_total"), &[]);
    }

    // Per database.
    let oid: u32 = client
        .query_one(
            "SELECT oid FROM pg_database WHERE datname = current_database()",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let datid = oid.to_string();
    let ids = [("datid", datid.as_str()), ("datname", db.name.as_str())];
    for family in [
        "numbackends",
        "xact_commit",
        "xact_rollback",
        "blks_read",
        "blks_hit",
        "tup_returned",
        "tup_fetched",
        "tup_inserted",
        "tup_updated",
        "tup_deleted",
        "conflicts",
        "temp_files",
        "temp_bytes",
        "deadlocks",
        "blk_read_time",
        "blk_write_time",
    ] {
        must(&text, &format!("pg_stat_database_{family}"), &ids);
    }
    assert!(must(&text, "pg_stat_database_xact_commit", &ids) > 0.0);
    assert!(
        must(&text, "pg_stat_database_tup_inserted", &ids) >= 57.0 + 3.0 + 20.0 + 140.0 + 2.0 + 9.0
    );
    must(&text, "pg_stat_database_conflicts_confl_lock", &ids);
    let reset: f64 = client
        .query_one(
            "SELECT COALESCE(EXTRACT(EPOCH FROM stats_reset), 0)::float8 FROM pg_stat_database \
             WHERE datname = current_database()",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(must(&text, "pg_stat_database_stats_reset", &ids), reset);
    let checksums: bool = client
        .query_one(
            "SELECT checksum_failures IS NOT NULL FROM pg_stat_database WHERE datname = current_database()",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        value(&text, "pg_stat_database_checksum_failures", &ids).is_some(),
        checksums,
        "present exactly when data checksums are on"
    );
    let size: i64 = client
        .query_one("SELECT pg_database_size(current_database())", &[])
        .await
        .unwrap()
        .get(0);
    let exported = must(&text, "pg_database_size_bytes", &db_label);
    assert!(
        (exported - size as f64).abs() / (size as f64) < 0.1,
        "{exported} vs {size}"
    );
    // The exporter's own query is active in this database while it reads pg_stat_activity.
    assert!(
        must(
            &text,
            "pg_stat_activity_count",
            &[("datname", &db.name), ("state", "active")]
        ) >= 1.0
    );
    for state in [
        "active",
        "idle",
        "idle in transaction",
        "idle in transaction (aborted)",
        "fastpath function call",
        "disabled",
    ] {
        must(
            &text,
            "pg_stat_activity_max_tx_duration",
            &[("datname", &db.name), ("state", state)],
        );
    }
    assert_eq!(label_values(&text, "pg_locks_count", "mode").len(), 9);
    must(
        &text,
        "pg_locks_count",
        &[("datname", &db.name), ("mode", "accesssharelock")],
    );

    // Per table.
    let users = [
        ("datname", db.name.as_str()),
        ("schemaname", "public"),
        ("relname", "users"),
    ];
    assert_eq!(must(&text, "pg_stat_user_tables_n_tup_ins", &users), 57.0);
    assert_eq!(must(&text, "pg_stat_user_tables_n_live_tup", &users), 57.0);
    must(&text, "pg_stat_user_tables_size_bytes", &users);
    must(&text, "pg_stat_user_tables_last_autovacuum", &users);
    must(&text, "pg_statio_user_tables_heap_blks_hit", &users);
    assert_eq!(
        label_values(&text, "pg_stat_user_tables_seq_scan", "relname").len(),
        7
    );

    // How the scrape went.
    assert_eq!(must(&text, "pg_exporter_last_scrape_error", &[]), 0.0);
    assert!(must(&text, "pg_exporter_last_scrape_duration_seconds", &[]) > 0.0);
    assert_eq!(must(&text, "pg_exporter_scrapes_total", &[]), 1.0);
    for collector in label_values(&text, "pg_exporter_collector_success", "collector") {
        assert_eq!(
            must(
                &text,
                "pg_exporter_collector_success",
                &[("collector", &collector)]
            ),
            1.0,
            "{collector}"
        );
        must(
            &text,
            "pg_exporter_collector_duration_seconds",
            &[("collector", &collector)],
        );
        // postgres_exporter's names for the same figures.
        assert_eq!(
            must(
                &text,
                "pg_scrape_collector_success",
                &[("collector", &collector)]
            ),
            1.0
        );
        must(
            &text,
            "pg_scrape_collector_duration_seconds",
            &[("collector", &collector)],
        );
    }
    assert!(
        label_values(&text, "pg_scrape_collector_success", "collector")
            .contains(&"stat_archiver".to_string())
    );
    assert!(
        label_values(&text, "pg_exporter_collector_success", "collector")
            .contains(&"forum".to_string())
    );
    must(&text, "pg_exporter_build_info", &[]);

    let again = exporter.metrics(None).await.unwrap();
    assert_eq!(must(&again, "pg_exporter_scrapes_total", &[]), 2.0);
    // Database sizes and settings are reused for --cache.slow-collectors (30 s by default).
    let size_again = [("collector", "database_size")];
    assert_eq!(
        must(
            &again,
            "pg_exporter_collector_duration_seconds",
            &size_again
        ),
        0.0
    );
    assert_eq!(
        must(&again, "pg_exporter_collector_success", &size_again),
        1.0
    );
    assert_eq!(must(&again, "pg_database_size_bytes", &db_label), exported);
}

#[tokio::test]
async fn the_misago_preset_reads_the_public_category_tree() {
    let db = testkit::TestDb::new().await;
    let client = db.client().await;
    client
        .batch_execute(
            "CREATE TABLE misago_users_user (id serial PRIMARY KEY, joined_on timestamptz NOT NULL, is_active bool NOT NULL,
                                             requires_activation int NOT NULL);
             CREATE TABLE misago_users_online (user_id int PRIMARY KEY, last_click timestamptz NOT NULL);
             CREATE TABLE misago_categories_category (id serial PRIMARY KEY, special_role text NULL, tree_id int NOT NULL,
                                                      level int NOT NULL);
             CREATE TABLE misago_threads_thread (id serial PRIMARY KEY, category_id int NOT NULL, started_on timestamptz NOT NULL,
                                                 is_hidden bool NOT NULL, is_unapproved bool NOT NULL);
             CREATE TABLE misago_threads_post (id serial PRIMARY KEY, thread_id int NOT NULL, category_id int NOT NULL,
                                               posted_on timestamptz NOT NULL, is_hidden bool NOT NULL, is_unapproved bool NOT NULL,
                                               is_event bool NOT NULL DEFAULT false);
             CREATE TABLE misago_threads_poll (id serial PRIMARY KEY, thread_id int NOT NULL);
             CREATE TABLE misago_threads_pollvote (id serial PRIMARY KEY, poll_id int NOT NULL);
             INSERT INTO misago_users_user (joined_on, is_active, requires_activation) VALUES
               (now() - interval '2 days', true, 0), (now() - interval '1 hour', true, 1), (now(), true, 0), (now(), false, 0);
             INSERT INTO misago_users_online VALUES (1, now()), (3, now() - interval '1 hour');
             -- tree 1: private threads; tree 2: root_category with two categories
             INSERT INTO misago_categories_category (special_role, tree_id, level) VALUES
               ('private_threads', 1, 0), ('root_category', 2, 0), (NULL, 2, 1), (NULL, 2, 1);
             INSERT INTO misago_threads_thread (category_id, started_on, is_hidden, is_unapproved) VALUES
               (1, now(), false, false), (3, now(), false, false), (4, now(), false, false), (4, now(), true, false);
             INSERT INTO misago_threads_post (thread_id, category_id, posted_on, is_hidden, is_unapproved) VALUES
               (1, 1, now(), false, false), (2, 3, now(), false, false), (2, 3, now(), false, true), (3, 4, now(), false, false);
             -- what happened to thread 3 (closed, pinned): events, not posts
             INSERT INTO misago_threads_post (thread_id, category_id, posted_on, is_hidden, is_unapproved, is_event) VALUES
               (3, 4, now(), false, false, true), (3, 4, now(), false, false, true);
             INSERT INTO misago_threads_poll (thread_id) VALUES (1), (2);
             INSERT INTO misago_threads_pollvote (poll_id) VALUES (1), (2), (2);",
        )
        .await
        .unwrap();
    let exporter = crate::exporter(&db.url, &["--preset", "misago", "--tables.limit", "0"]);
    let text = exporter.metrics(None).await.unwrap();
    let expect = [
        ("forum_users", 4.0),
        ("forum_users_active", 2.0),
        ("forum_users_awaiting_activation", 1.0),
        ("forum_users_joined_last_24h", 3.0),
        ("forum_users_online", 1.0),
        ("forum_threads", 2.0),
        ("forum_private_threads", 1.0),
        ("forum_posts", 2.0),
        ("forum_categories", 2.0),
        ("forum_polls", 1.0),
        ("forum_poll_votes", 2.0),
    ];
    for (metric, want) in expect {
        assert_eq!(must(&text, metric, &[]), want, "{metric}");
    }
    assert_eq!(
        must(
            &text,
            "pg_exporter_collector_success",
            &[("collector", "misago")]
        ),
        1.0
    );
    assert!(
        value(&text, "pg_stat_user_tables_seq_scan", &[]).is_none(),
        "--tables.limit 0 turns them off"
    );
}

#[tokio::test]
async fn per_table_metrics_are_capped_to_the_largest_or_busiest_tables() {
    let db = testkit::TestDb::new().await;
    let client = db.client().await;
    let mut sql = String::new();
    for i in 1..=12 {
        sql.push_str(&format!(
            "CREATE TABLE t{i:02} (id int, pad text); INSERT INTO t{i:02} SELECT g, repeat('x', 100) FROM generate_series(1, {}) g; ANALYZE t{i:02};",
            i * 300
        ));
    }
    client.batch_execute(&sql).await.unwrap();
    // 20 updates of 300 rows (each a sequential scan) outweigh t12's 3,600 inserts.
    for _ in 0..20 {
        client
            .batch_execute("UPDATE t01 SET id = id")
            .await
            .unwrap();
    }
    client
        .batch_execute("SELECT pg_stat_force_next_flush()")
        .await
        .unwrap();

    let by_size = crate::exporter(&db.url, &["--preset", "none", "--tables.limit", "4"]);
    let text = by_size.metrics(None).await.unwrap();
    assert_eq!(
        label_values(&text, "pg_stat_user_tables_seq_scan", "relname"),
        ["t09", "t10", "t11", "t12"]
    );
    assert_eq!(
        label_values(&text, "pg_statio_user_tables_heap_blks_read", "relname"),
        ["t09", "t10", "t11", "t12"]
    );
    let pages: i32 = client
        .query_one("SELECT relpages FROM pg_class WHERE relname = 't12'", &[])
        .await
        .unwrap()
        .get(0);
    let t12 = [("relname", "t12")];
    assert_eq!(
        must(&text, "pg_stat_user_tables_size_bytes", &t12),
        pages as f64 * 8192.0
    );

    let by_activity = crate::exporter(
        &db.url,
        &[
            "--preset",
            "none",
            "--tables.limit",
            "1",
            "--tables.order-by",
            "activity",
        ],
    );
    let text = by_activity.metrics(None).await.unwrap();
    assert_eq!(
        label_values(&text, "pg_stat_user_tables_seq_scan", "relname"),
        ["t01"]
    );
    assert!(must(&text, "pg_stat_user_tables_seq_scan", &[("relname", "t01")]) >= 20.0);
}

#[tokio::test]
async fn custom_queries_make_labelled_gauges_counters_and_cached_results() {
    let db = testkit::TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("queries.yaml");
    std::fs::write(
        &path,
        r#"queries:
  - name: custom_states
    help: Rows per state
    query: SELECT st, count(*) AS n FROM (VALUES ('a'), ('a'), ('b')) v(st) GROUP BY st
    values: [n]
    labels: [st]
  - name: custom_pair
    help: Two values
    type: counter
    query: SELECT 3 AS first, 4.5 AS second
    values: [first, second]
  - name: custom_clock
    help: Cached for a minute
    query: SELECT EXTRACT(EPOCH FROM clock_timestamp())::float8 AS t
    values: [t]
    cache_seconds: 60
"#,
    )
    .unwrap();
    let exporter = crate::exporter(
        &db.url,
        &["--preset", "none", "--queries", path.to_str().unwrap()],
    );
    let text = exporter.metrics(None).await.unwrap();
    assert_eq!(must(&text, "custom_states", &[("st", "a")]), 2.0);
    assert_eq!(must(&text, "custom_states", &[("st", "b")]), 1.0);
    assert_eq!(must(&text, "custom_pair_first_total", &[]), 3.0);
    assert_eq!(must(&text, "custom_pair_second_total", &[]), 4.5);
    assert!(text.contains("# TYPE custom_pair_first counter"));
    let clock = must(&text, "custom_clock", &[]);
    let again = exporter.metrics(None).await.unwrap();
    assert_eq!(
        must(&again, "custom_clock", &[]),
        clock,
        "a cached result is reused"
    );
    assert_eq!(
        must(
            &again,
            "pg_exporter_collector_success",
            &[("collector", "query:custom_clock")]
        ),
        1.0
    );
}

/// The role the README tells operators to create: pg_monitor plus SELECT on the columns the
/// forum preset reads. Every collector must succeed with it.
pub const LEAST_PRIVILEGE_SQL: &str = "
GRANT pg_monitor TO {role};
GRANT USAGE ON SCHEMA public TO {role};
GRANT SELECT (id, created_at, is_active, last_seen_at) ON public.users TO {role};
GRANT SELECT (id, parent_id) ON public.categories TO {role};
GRANT SELECT (id, category_id, created_at, is_hidden) ON public.threads TO {role};
GRANT SELECT (id, thread_id, created_at, is_deleted) ON public.posts TO {role};
GRANT SELECT (id, thread_id) ON public.polls TO {role};
GRANT SELECT (id, poll_id, user_id) ON public.poll_votes TO {role};
GRANT SELECT (id, size_bytes) ON public.attachments TO {role};
";

#[tokio::test]
async fn the_least_privilege_role_of_the_readme_is_enough() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    assert!(
        readme.contains(
            LEAST_PRIVILEGE_SQL
                .trim()
                .replace("{role}", "pg_exporter")
                .as_str()
        ),
        "README and test differ"
    );
    let db = testkit::TestDb::new().await;
    let role = format!("pgx_{}", &db.name[5..]);
    let client = db.client().await;
    client.batch_execute(FORUM_SCHEMA).await.unwrap();
    client
        .batch_execute(&format!("CREATE ROLE {role} LOGIN"))
        .await
        .unwrap();
    client
        .batch_execute(&LEAST_PRIVILEGE_SQL.replace("{role}", &role))
        .await
        .unwrap();
    let mut url = url::Url::parse(&db.url).unwrap();
    url.set_username(&role).unwrap();
    url.set_password(None).unwrap();
    let text = crate::exporter(url.as_str(), &["--preset", "forum"])
        .metrics(None)
        .await
        .unwrap();
    for collector in label_values(&text, "pg_exporter_collector_success", "collector") {
        assert_eq!(
            must(
                &text,
                "pg_exporter_collector_success",
                &[("collector", &collector)]
            ),
            1.0,
            "{collector}\n{text}"
        );
    }
    assert_eq!(must(&text, "forum_users", &[]), 57.0);
    assert_eq!(must(&text, "forum_private_threads", &[]), 3.0);
    assert_eq!(must(&text, "forum_categories", &[]), 3.0);
    assert!(
        value(
            &text,
            "pg_stat_user_tables_seq_scan",
            &[("relname", "users")]
        )
        .is_some()
    );
    drop(client);
    drop(db);
    testkit::connect(&testkit::admin_url())
        .await
        .batch_execute(&format!("DROP ROLE {role}"))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_second_connection_walks_the_database_sizes_and_there_are_never_more() {
    let db = testkit::TestDb::new().await;
    let client = db.client().await;
    let exporter = crate::exporter(
        &db.url,
        &[
            "--preset",
            "none",
            "--scrape.connections",
            "2",
            "--cache.slow-collectors",
            "0",
        ],
    );
    for _ in 0..3 {
        let text = exporter.metrics(None).await.unwrap();
        assert_eq!(must(&text, "pg_up", &[]), 1.0);
        assert_eq!(must(&text, "pg_exporter_last_scrape_error", &[]), 0.0);
        let size: i64 = client
            .query_one("SELECT pg_database_size(current_database())", &[])
            .await
            .unwrap()
            .get(0);
        let exported = must(&text, "pg_database_size_bytes", &[("datname", &db.name)]);
        assert!(
            (exported - size as f64).abs() / (size as f64) < 0.1,
            "{exported} vs {size}"
        );
    }
    let connections: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
             AND application_name = 'pg-exporter'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        connections, 2,
        "two connections, whatever the number of scrapes"
    );
    assert!(
        clap::Parser::try_parse_from([
            "pg-exporter",
            "--data-source-name",
            "postgresql://u@localhost/db",
            "--scrape.connections",
            "3"
        ])
        .map(|_: pg_exporter::cli::Args| ())
        .is_err(),
        "at most two"
    );
}
