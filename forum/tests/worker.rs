//! The job queue: claims, retries with backoff, no double runs, crash recovery; and the jobs.

mod common;

use common::TestApp;
use forum::worker::{Ran, enqueue, run_once};

#[tokio::test]
async fn notify_watchers_writes_the_outbox_for_everyone_but_the_author() {
    let app = TestApp::new().await;
    let cat = app.category(None, "General", false).await;
    let alice = app.user("alice", "member").await;
    let bob = app.user("bob", "member").await;
    let carol = app.user("carol", "member").await;
    let t = app.thread(&alice, cat, "Watched", "text").await;
    let metrics = forum::metrics::Metrics::new(forum::Role::All);
    app.reply(&bob, t, "first reply").await;
    assert!(matches!(
        run_once(&app.state.pool, Some(&metrics)).await.unwrap(),
        Ran::Done(_)
    ));
    app.reply(&carol, t, "second reply").await;
    assert!(matches!(
        run_once(&app.state.pool, Some(&metrics)).await.unwrap(),
        Ran::Done(_)
    ));
    assert_eq!(
        run_once(&app.state.pool, Some(&metrics)).await.unwrap(),
        Ran::Idle
    );
    // Bob's reply notifies alice; carol's notifies alice and bob.
    assert_eq!(app.scalar::<i64>("SELECT count(*) FROM outbox").await, 3);
    assert_eq!(
        app.scalar::<i64>(&format!(
            "SELECT count(*) FROM outbox WHERE user_id = {}",
            carol.user_id
        ))
        .await,
        0
    );
    assert!(
        metrics
            .encode()
            .contains("forum_jobs_total{kind=\"notify_watchers\",outcome=\"done\"} 2")
    );
}

#[tokio::test]
async fn a_failing_job_is_retried_with_backoff_then_marked_failed() {
    let app = TestApp::new().await;
    let client = app.state.pool.get().await.unwrap();
    let id = enqueue(&client, "delete_user_content", serde_json::json!({}))
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
    let id = enqueue(&client, "prune_sessions", serde_json::json!({}))
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
    enqueue(&client, "recount", serde_json::json!({}))
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
        "delete_user_content",
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
