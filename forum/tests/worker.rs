//! The job queue: claims, retries with backoff, no double runs, crash recovery; and the jobs.

mod common;

use common::TestApp;
use forum::models::jobs::{JobKind, enqueue};
use forum::worker::{Ran, run_once};

#[tokio::test]
async fn replies_notify_watchers_with_the_post_and_a_leftover_job_adds_nothing_twice() {
    let app = TestApp::new().await;
    let cat = app.category(None, "General", false).await;
    let alice = app.user("alice", "member").await;
    let bob = app.user("bob", "member").await;
    let carol = app.user("carol", "member").await;
    let t = app.thread(&alice, cat, "Watched", "text").await;
    let metrics = forum::metrics::Metrics::new(forum::Role::All);
    app.reply(&bob, t, "first reply").await;
    let second = app.reply(&carol, t, "second reply").await;
    // Written with the posts: no job is queued for them.
    assert_eq!(
        run_once(&app.state.pool, Some(&metrics)).await.unwrap(),
        Ran::Idle
    );
    // Bob's reply notifies alice; carol's notifies alice and bob; each with its mail row.
    assert_eq!(
        app.scalar::<i64>("SELECT count(*) FROM notifications")
            .await,
        3
    );
    assert_eq!(
        app.scalar::<i64>("SELECT count(*) FROM outbox WHERE sent_at IS NULL")
            .await,
        3
    );
    assert_eq!(
        app.scalar::<i64>(&format!(
            "SELECT count(*) FROM notifications WHERE user_id = {}",
            carol.user_id
        ))
        .await,
        0
    );
    // A job queued by an earlier version for the same post writes nothing twice.
    let client = app.state.pool.get().await.unwrap();
    enqueue(
        &client,
        JobKind::NotifyWatchers,
        serde_json::json!({ "thread_id": t, "post_id": second }),
    )
    .await
    .unwrap();
    assert!(matches!(
        run_once(&app.state.pool, Some(&metrics)).await.unwrap(),
        Ran::Done(_)
    ));
    assert_eq!(
        app.scalar::<i64>("SELECT count(*) FROM notifications")
            .await,
        3
    );
    assert!(
        metrics
            .encode()
            .contains("forum_jobs_total{kind=\"notify_watchers\",outcome=\"done\"} 1")
    );
}

#[tokio::test]
async fn a_failing_job_is_retried_with_backoff_then_marked_failed() {
    let app = TestApp::new().await;
    let client = app.state.pool.get().await.unwrap();
    let id = enqueue(&client, JobKind::DeleteUserContent, serde_json::json!({}))
        .await
        .unwrap();
    client
        .execute("UPDATE jobs SET max_attempts = 2 WHERE id = $1", &[&id])
        .await
        .unwrap();
    assert_eq!(
        run_once(&app.state.pool, None).await.unwrap(),
        Ran::Retry(id)
    );
    let row = client
        .query_one(
            "SELECT status, attempts, run_at > now(), last_error FROM jobs WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "queued");
    assert_eq!(row.get::<_, i32>(1), 1);
    assert!(row.get::<_, bool>(2), "backoff delays the next attempt");
    assert!(row.get::<_, String>(3).contains("user_id"));
    assert_eq!(
        run_once(&app.state.pool, None).await.unwrap(),
        Ran::Idle,
        "not due yet"
    );
    client
        .execute("UPDATE jobs SET run_at = now() WHERE id = $1", &[&id])
        .await
        .unwrap();
    assert_eq!(
        run_once(&app.state.pool, None).await.unwrap(),
        Ran::Failed(id)
    );
    assert_eq!(
        app.scalar::<String>(&format!("SELECT status FROM jobs WHERE id = {id}"))
            .await,
        "failed"
    );
}

#[tokio::test]
async fn a_claimed_job_never_runs_twice_and_survives_a_crash() {
    let app = TestApp::new().await;
    let client = app.state.pool.get().await.unwrap();
    let id = enqueue(&client, JobKind::PruneSessions, serde_json::json!({}))
        .await
        .unwrap();
    // Another worker holds the job (its transaction is open): this worker must skip it.
    let (mut other, conn) = tokio_postgres::connect(&app.db.url, tokio_postgres::NoTls)
        .await
        .unwrap();
    let conn_task = tokio::spawn(conn);
    let tx = other.transaction().await.unwrap();
    tx.query_one(
        "SELECT id FROM jobs WHERE id = $1 FOR UPDATE SKIP LOCKED",
        &[&id],
    )
    .await
    .unwrap();
    assert_eq!(run_once(&app.state.pool, None).await.unwrap(), Ran::Idle);
    // The other worker dies mid-job: its connection goes, the job is free again.
    drop(tx);
    drop(other);
    conn_task.abort();
    let mut ran = Ran::Idle;
    for _ in 0..50 {
        ran = run_once(&app.state.pool, None).await.unwrap();
        if ran != Ran::Idle {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(ran, Ran::Done(id));
    assert_eq!(
        app.scalar::<i32>(&format!("SELECT attempts FROM jobs WHERE id = {id}"))
            .await,
        1
    );
}

#[tokio::test]
async fn recount_and_delete_user_content_fix_the_counters() {
    let app = TestApp::new().await;
    let cat = app.category(None, "General", false).await;
    let alice = app.user("alice", "member").await;
    let spammer = app.user("spammer", "member").await;
    let t = app.thread(&alice, cat, "Good thread", "text").await;
    app.reply(&spammer, t, "spam").await;
    app.thread(&spammer, cat, "Spam thread", "spam").await;
    let client = app.state.pool.get().await.unwrap();
    client
        .execute(
            "UPDATE categories SET thread_count = 99, post_count = 99",
            &[],
        )
        .await
        .unwrap();
    enqueue(&client, JobKind::Recount, serde_json::json!({}))
        .await
        .unwrap();
    client
        .execute("DELETE FROM jobs WHERE kind = 'notify_watchers'", &[])
        .await
        .unwrap();
    assert!(matches!(
        run_once(&app.state.pool, None).await.unwrap(),
        Ran::Done(_)
    ));
    assert_eq!(
        app.scalar::<i32>(&format!(
            "SELECT thread_count FROM categories WHERE id = {cat}"
        ))
        .await,
        2
    );
    assert_eq!(
        app.scalar::<i32>(&format!(
            "SELECT post_count FROM categories WHERE id = {cat}"
        ))
        .await,
        3
    );
    enqueue(
        &client,
        JobKind::DeleteUserContent,
        serde_json::json!({ "user_id": spammer.user_id }),
    )
    .await
    .unwrap();
    assert!(matches!(
        run_once(&app.state.pool, None).await.unwrap(),
        Ran::Done(_)
    ));
    assert_eq!(
        app.scalar::<i64>("SELECT count(*) FROM threads WHERE is_hidden")
            .await,
        1
    );
    assert_eq!(
        app.scalar::<i64>("SELECT count(*) FROM posts WHERE is_deleted")
            .await,
        2
    );
    assert_eq!(
        app.scalar::<i32>(&format!(
            "SELECT thread_count FROM categories WHERE id = {cat}"
        ))
        .await,
        1
    );
    assert!(
        !app.get("/", &common::Browser::default())
            .await
            .body
            .contains("Spam thread")
    );
}

#[tokio::test]
async fn seed_creates_what_it_is_asked_for() {
    let app = TestApp::new().await;
    let summary = forum::seed::seed(
        &app.state.pool,
        forum::seed::SeedPlan {
            users: 50,
            threads: 100,
            posts: 1000,
        },
    )
    .await
    .unwrap();
    assert!(summary.contains("100 threads"), "{summary}");
    assert_eq!(app.scalar::<i64>("SELECT count(*) FROM users").await, 50);
    assert_eq!(app.scalar::<i64>("SELECT count(*) FROM threads").await, 100);
    assert_eq!(app.scalar::<i64>("SELECT count(*) FROM posts").await, 1000);
    assert_eq!(
        app.scalar::<i64>("SELECT sum(post_count)::bigint FROM categories")
            .await,
        1000
    );
    assert_eq!(
        app.scalar::<i64>("SELECT count(*) FROM threads WHERE post_count < 1")
            .await,
        0
    );
    let depth = app
        .scalar::<i32>("WITH RECURSIVE d AS (SELECT id, 1 AS n FROM categories WHERE parent_id IS NULL UNION ALL SELECT c.id, d.n + 1 FROM categories c JOIN d ON c.parent_id = d.id) SELECT max(n) FROM d")
        .await;
    assert!(depth >= 4, "a deep tree: {depth}");
    let page = app.get("/", &common::Browser::default()).await;
    assert_eq!(page.status, axum::http::StatusCode::OK);
}

/// Starts `forum worker` on `url`; it claims the due job and blocks inside it while the test
/// holds `posts` locked.
fn spawn_worker(url: &str) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_forum"))
        .env("DATABASE_URL", url)
        .env("LOG_LEVEL", "warn")
        .args(["worker", "--listen", "127.0.0.1:0", "--idle-ms", "50"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start `forum worker`")
}

/// Runs a `notify_watchers` job in a real `forum worker` process and kills the process
/// (SIGKILL) while the job runs; returns when the dead worker's transaction is gone.
async fn crash_a_worker_mid_job(app: &TestApp, job: i64, attempts_before: i32) {
    let (mut locker, conn) = tokio_postgres::connect(&app.db.url, tokio_postgres::NoTls)
        .await
        .unwrap();
    let conn_task = tokio::spawn(conn);
    let tx = locker.transaction().await.unwrap();
    // The job reads the post: it blocks on this lock, mid-job, holding its row lock (the
    // worker's notification mailer never reads posts, so only the job waits).
    tx.batch_execute("LOCK TABLE posts IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let mut worker = spawn_worker(&app.db.url);
    let mut waiting = false;
    for _ in 0..200 {
        waiting = app
            .scalar::<i64>(
                "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
                 WHERE c.relname = 'posts' AND NOT l.granted",
            )
            .await
            == 1;
        if waiting {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(waiting, "the worker never reached the job");
    assert_eq!(
        app.scalar::<i32>(&format!("SELECT attempts FROM jobs WHERE id = {job}"))
            .await,
        attempts_before + 1,
        "claiming the job counted the attempt"
    );
    worker.kill().unwrap();
    worker.wait().unwrap();
    tx.rollback().await.unwrap();
    drop(locker);
    conn_task.abort();
    // The dead worker's backend notices its client is gone and releases the job's row lock.
    let mut free = false;
    for _ in 0..200 {
        free = app
            .scalar::<i64>(
                "SELECT count(*) FROM pg_stat_activity
                 WHERE datname = current_database() AND pid <> pg_backend_pid()
                   AND state LIKE 'idle in transaction%'",
            )
            .await
            == 0
            && app
                .scalar::<i64>(
                    "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
                     WHERE c.relname = 'jobs' AND l.mode = 'RowShareLock'",
                )
                .await
                == 0;
        if free {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(free, "the dead worker's transaction is still open");
    let row = app
        .state
        .pool
        .get()
        .await
        .unwrap()
        .query_one(
            "SELECT status, run_at > now() FROM jobs WHERE id = $1",
            &[&job],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "queued");
    assert!(
        row.get::<_, bool>(1),
        "the lease keeps the job away from other workers for a while"
    );
}

#[tokio::test]
async fn a_job_that_kills_its_worker_counts_attempts_and_ends_failed() {
    let app = TestApp::new().await;
    let client = app.state.pool.get().await.unwrap();
    let id = enqueue(
        &client,
        JobKind::NotifyWatchers,
        serde_json::json!({ "thread_id": 1, "post_id": 1 }),
    )
    .await
    .unwrap();
    client
        .execute("UPDATE jobs SET max_attempts = 2 WHERE id = $1", &[&id])
        .await
        .unwrap();
    crash_a_worker_mid_job(&app, id, 0).await;
    assert_eq!(
        run_once(&app.state.pool, None).await.unwrap(),
        Ran::Idle,
        "leased"
    );
    // The lease ends (as it would after forum::models::jobs::LEASE).
    client
        .execute("UPDATE jobs SET run_at = now() WHERE id = $1", &[&id])
        .await
        .unwrap();
    crash_a_worker_mid_job(&app, id, 1).await;
    client
        .execute("UPDATE jobs SET run_at = now() WHERE id = $1", &[&id])
        .await
        .unwrap();
    let metrics = forum::metrics::Metrics::new(forum::Role::All);
    assert_eq!(
        run_once(&app.state.pool, Some(&metrics)).await.unwrap(),
        Ran::Failed(id),
        "two crashes use up max_attempts = 2"
    );
    let row = client
        .query_one(
            "SELECT status, attempts, last_error, finished_at IS NOT NULL FROM jobs WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "failed");
    assert_eq!(row.get::<_, i32>(1), 2);
    assert!(row.get::<_, String>(2).contains("worker stopped"));
    assert!(row.get::<_, bool>(3));
    assert!(
        metrics
            .encode()
            .contains("forum_jobs_total{kind=\"notify_watchers\",outcome=\"failed\"} 1")
    );
    assert_eq!(run_once(&app.state.pool, None).await.unwrap(), Ran::Idle);
}

#[tokio::test]
async fn a_lease_that_runs_out_lets_another_worker_claim_the_job_once() {
    let app = TestApp::new().await;
    let mut client = app.state.pool.get().await.unwrap();
    let id = enqueue(&client, JobKind::PruneSessions, serde_json::json!({}))
        .await
        .unwrap();
    // A worker claims the job and dies before running it.
    let forum::models::jobs::Claim::Job(first) =
        forum::models::jobs::claim(&mut client).await.unwrap()
    else {
        panic!("the job is due");
    };
    assert_eq!((first.id, first.attempts), (id, 1));
    assert_eq!(
        run_once(&app.state.pool, None).await.unwrap(),
        Ran::Idle,
        "leased to the first worker"
    );
    client
        .execute("UPDATE jobs SET run_at = now() WHERE id = $1", &[&id])
        .await
        .unwrap();
    assert_eq!(
        run_once(&app.state.pool, None).await.unwrap(),
        Ran::Done(id)
    );
    assert_eq!(
        app.scalar::<i32>(&format!("SELECT attempts FROM jobs WHERE id = {id}"))
            .await,
        2
    );
}
