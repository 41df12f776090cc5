//! The read cache is never stale: a write through this process is visible on its next read; a
//! write by another process (or by hand in psql) within moments, through LISTEN/NOTIFY; and
//! while the LISTEN connection is lost, reads go to PostgreSQL until it is back.

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{Browser, TestApp};
use forum::AppState;
use forum::cache::ListenerConfig;
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;

/// How long a change by another process may take to show.
const PROPAGATION: Duration = Duration::from_secs(2);

/// `app` with the read cache on, LISTENing on `channel`.
async fn cached(mut app: TestApp, channel: &str, initial_backoff: Duration) -> TestApp {
    app.state = with_cache(&app, channel, initial_backoff).await;
    app
}

/// A second process on the same database: its own pool, cache and LISTEN connection.
async fn with_cache(app: &TestApp, channel: &str, initial_backoff: Duration) -> AppState {
    let (pg, tls) = forum::db::connection(&app.db.url).unwrap();
    let mut listen = ListenerConfig::new(pg, tls);
    listen.channel = channel.to_string();
    listen.initial_backoff = initial_backoff;
    let pool = forum::db::pool(&app.db.url, 4).unwrap();
    let state = AppState::new(pool, common::config()).with_read_cache(listen);
    assert!(
        state.cache.wait_listening(Duration::from_secs(5)).await,
        "the read cache did not start listening"
    );
    state
}

/// `GET path` through the routes of `state` as an anonymous visitor: (status, body).
async fn get(state: &AppState, path: &str) -> (StatusCode, String) {
    fetch(state, path, None).await
}

/// `GET path` through the routes of `state` as the member of `b`: (status, body).
async fn get_as(state: &AppState, path: &str, b: &Browser) -> (StatusCode, String) {
    fetch(state, path, Some(b)).await
}

/// `GET path` through the routes of `state`, with the session cookie of `b` if any.
async fn fetch(state: &AppState, path: &str, b: Option<&Browser>) -> (StatusCode, String) {
    let mut req = Request::get(path);
    if let Some(token) = b.and_then(|b| b.session.as_deref()) {
        req = req.header("cookie", format!("forum_session={token}"));
    }
    let res = tokio::time::timeout(
        Duration::from_secs(30),
        forum::app(state.clone()).oneshot(req.body(Body::empty()).unwrap()),
    )
    .await
    .unwrap()
    .unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// Polls `path` through `state` until its body contains `needle` (true) or `within` passes.
async fn shows_within(state: &AppState, path: &str, needle: &str, within: Duration) -> bool {
    shows_to_within(state, path, None, needle, within).await
}

/// Polls `path` as `b` through `state` until its body contains `needle` (true) or `within`
/// passes.
async fn member_shows_within(
    state: &AppState,
    path: &str,
    b: &Browser,
    needle: &str,
    within: Duration,
) -> bool {
    shows_to_within(state, path, Some(b), needle, within).await
}

async fn shows_to_within(
    state: &AppState,
    path: &str,
    b: Option<&Browser>,
    needle: &str,
    within: Duration,
) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if fetch(state, path, b).await.1.contains(needle) {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// GETs `path` through `state` until an answer comes from the cache, and returns it. (A
/// notification of an earlier write may still be in flight and void the first fill.)
async fn served_from_cache(state: &AppState, path: &str) -> String {
    for _ in 0..50 {
        let before = state.cache.stats().hits;
        let (status, body) = get(state, path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        if state.cache.stats().hits > before {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{path} was never served from the cache");
}

async fn insert_thread(app: &TestApp, category: i64, user: i64, title: &str) -> i64 {
    let client = app.state.pool.get().await.unwrap();
    client
        .query_one(
            "INSERT INTO threads (category_id, user_id, title, post_count) VALUES ($1, $2, $3, 1) RETURNING id",
            &[&category, &user, &title],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn a_write_through_this_process_shows_on_its_next_read_without_any_notification() {
    // A channel nobody notifies: only this process's own invalidation can make writes show.
    let app = cached(
        TestApp::new().await,
        "forum_cache_unused",
        Duration::from_millis(100),
    )
    .await;
    let cat = app.category(None, "General", false).await;
    let alice = app.user("alice", "member").await;
    let first = app.thread(&alice, cat, "First thread", "hello").await;
    let cat_path = format!("/c/{cat}/");
    let thread_path = format!("/t/{first}/");
    for path in ["/", "/api/threads/", &cat_path, &thread_path] {
        served_from_cache(&app.state, path).await;
    }

    app.thread(&alice, cat, "Second thread", "again").await;
    for path in ["/", "/api/threads/", &cat_path] {
        let body = app.get(path, &Browser::default()).await.body;
        assert!(body.contains("Second thread"), "{path}: {body}");
    }
    app.reply(&alice, first, "A fresh reply").await;
    assert!(
        app.get(&thread_path, &Browser::default())
            .await
            .body
            .contains("A fresh reply")
    );

    let moderator = app.user("mod", "moderator").await;
    let r = app
        .post(
            &format!("/t/{first}/moderate"),
            &[("action", "hide")],
            &moderator,
        )
        .await;
    assert!(r.status.is_redirection(), "{}", r.status);
    for path in ["/", "/api/threads/", &cat_path] {
        let body = served_from_cache(&app.state, path).await;
        assert!(
            !body.contains("First thread"),
            "{path} shows a hidden thread"
        );
    }
    assert_eq!(
        app.get(&thread_path, &Browser::default()).await.status,
        axum::http::StatusCode::NOT_FOUND
    );
    // Moderators still see it: their lists never come from the cache.
    assert!(app.get("/", &moderator).await.body.contains("First thread"));
}

#[tokio::test]
async fn a_write_by_another_process_or_by_hand_shows_within_moments() {
    // `app` is the process that writes; `web` another one on the same database that reads.
    let app = TestApp::new().await;
    let web = with_cache(&app, forum::cache::CHANNEL, Duration::from_millis(100)).await;
    let cat = app.category(None, "General", false).await;
    let alice = app.user("alice", "member").await;
    let t = app.thread(&alice, cat, "Old news", "hello").await;
    let thread_path = format!("/t/{t}/");
    served_from_cache(&web, "/").await;
    served_from_cache(&web, &thread_path).await;

    app.thread(&alice, cat, "Fresh from the other process", "x")
        .await;
    assert!(shows_within(&web, "/", "Fresh from the other process", PROPAGATION).await);
    app.reply(&alice, t, "A reply from elsewhere").await;
    assert!(shows_within(&web, &thread_path, "A reply from elsewhere", PROPAGATION).await);

    // Someone writes with psql: the triggers notify too.
    served_from_cache(&web, "/").await;
    insert_thread(&app, cat, alice.user_id, "Typed into psql").await;
    assert!(shows_within(&web, "/", "Typed into psql", PROPAGATION).await);
    served_from_cache(&web, "/api/threads/").await;
    app.state
        .pool
        .get()
        .await
        .unwrap()
        .execute(
            "UPDATE users SET username = 'alicia' WHERE id = $1",
            &[&alice.user_id],
        )
        .await
        .unwrap();
    assert!(shows_within(&web, "/api/threads/", "alicia", PROPAGATION).await);
}

/// Ends the LISTEN connections of the test database.
async fn kill_listeners(app: &TestApp) -> i64 {
    app.scalar::<i64>(
        "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE application_name = 'forum-listen' AND datname = current_database()) k",
    )
    .await
}

#[tokio::test]
async fn while_the_listen_connection_is_lost_reads_are_fresh_and_the_cache_comes_back() {
    // A long first backoff leaves time to write while nobody listens.
    let app = cached(
        TestApp::new().await,
        forum::cache::CHANNEL,
        Duration::from_millis(1500),
    )
    .await;
    let cat = app.category(None, "General", false).await;
    let alice = app.user("alice", "member").await;
    app.thread(&alice, cat, "Before the outage", "x").await;
    served_from_cache(&app.state, "/").await;
    served_from_cache(&app.state, "/api/threads/").await;
    let connects = app.state.cache.stats().connects;

    assert_eq!(kill_listeners(&app).await, 1);
    let deadline = tokio::time::Instant::now() + PROPAGATION;
    while app.state.cache.is_listening() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the loss of the LISTEN connection went unnoticed"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Written while nobody listens: its notification is lost for good.
    insert_thread(&app, cat, alice.user_id, "During the outage").await;
    let misses = app.state.cache.stats().misses;
    for path in ["/", "/api/threads/"] {
        let (status, body) = get(&app.state, path).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("During the outage"), "{path}: {body}");
    }
    assert!(
        app.state.cache.stats().misses > misses,
        "read from PostgreSQL"
    );

    assert!(
        app.state
            .cache
            .wait_listening(Duration::from_secs(10))
            .await,
        "the LISTEN connection did not come back"
    );
    assert!(app.state.cache.stats().connects > connects);
    for path in ["/", "/api/threads/"] {
        let body = served_from_cache(&app.state, path).await;
        assert!(body.contains("During the outage"), "{path}: {body}");
    }
    // Notifications flow again.
    insert_thread(&app, cat, alice.user_id, "After the outage").await;
    assert!(shows_within(&app.state, "/", "After the outage", PROPAGATION).await);
}

#[tokio::test]
async fn a_cached_poll_ends_on_time() {
    let app = cached(
        TestApp::new().await,
        forum::cache::CHANNEL,
        Duration::from_millis(100),
    )
    .await;
    let cat = app.category(None, "General", false).await;
    let alice = app.user("alice", "member").await;
    let r = app
        .post(
            &format!("/c/{cat}/new"),
            &[
                ("title", "Which colour"),
                ("body", "Vote please"),
                ("poll_question", "Colour?"),
                ("poll_choices", "Red\nBlue"),
            ],
            &alice,
        )
        .await;
    assert!(r.status.is_redirection(), "{}: {}", r.status, r.body);
    let t = common::id_in(&r.location(), "/t/");
    let client = app.state.pool.get().await.unwrap();
    let n = client
        .execute(
            "UPDATE polls SET ends_at = now() + interval '3 seconds' WHERE thread_id = $1",
            &[&t],
        )
        .await
        .unwrap();
    assert_eq!(n, 1, "the thread has a poll");
    let path = format!("/t/{t}/");
    assert!(shows_within(&app.state, &path, " · ends ", PROPAGATION).await);
    let body = served_from_cache(&app.state, &path).await;
    assert!(!body.contains(" · ended"), "{body}");
    tokio::time::sleep(Duration::from_millis(3100)).await;
    let body = served_from_cache(&app.state, &path).await;
    assert!(body.contains(" · ended"), "{body}");
}

/// GETs `path` as `b` until an answer comes from the cache, and returns its body.
async fn member_served_from_cache(app: &TestApp, path: &str, b: &Browser) -> String {
    for _ in 0..50 {
        let before = app.state.cache.stats().hits;
        let r = app.get(path, b).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
        if app.state.cache.stats().hits > before {
            return r.body;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{path} was never served from the cache for a member");
}

#[tokio::test]
async fn a_members_first_page_from_the_cache_shows_their_own_likes_votes_and_watch_and_reads_it() {
    let app = cached(
        TestApp::new().await,
        forum::cache::CHANNEL,
        Duration::from_millis(100),
    )
    .await;
    let cat = app.category(None, "General", false).await;
    let alice = app.user("alice", "member").await;
    let bob = app.user("bob", "member").await;
    let carol = app.user("carol", "member").await;
    let r = app
        .post(
            &format!("/c/{cat}/new"),
            &[
                ("title", "Which colour"),
                ("body", "Vote please"),
                ("poll_question", "Colour?"),
                ("poll_choices", "Red\nBlue"),
            ],
            &alice,
        )
        .await;
    assert!(r.status.is_redirection(), "{}: {}", r.status, r.body);
    let t = common::id_in(&r.location(), "/t/");
    let reply = app.reply(&bob, t, "Blue, surely").await;
    let blue: i64 = app
        .scalar(&format!(
            "SELECT c.id FROM poll_choices c JOIN polls p ON p.id = c.poll_id
             WHERE p.thread_id = {t} AND c.label = 'Blue'"
        ))
        .await;
    let like = app
        .post(&format!("/p/{reply}/like"), &[("like", "true")], &alice)
        .await;
    assert!(
        like.status.is_redirection(),
        "{}: {}",
        like.status,
        like.body
    );
    let vote = app
        .post(
            &format!("/t/{t}/vote"),
            &[("choice", &blue.to_string())],
            &alice,
        )
        .await;
    assert!(
        vote.status.is_redirection(),
        "{}: {}",
        vote.status,
        vote.body
    );
    let path = format!("/t/{t}/");

    // Alice (who started it, so watches it) sees her like, her vote and her watch.
    let page = member_served_from_cache(&app, &path, &alice).await;
    assert!(page.contains(">Unlike<"), "{page}");
    assert!(page.contains("Blue ✓"), "{page}");
    assert!(!page.contains("Red ✓"), "{page}");
    assert!(page.contains(">Stop watching<"), "{page}");

    // Carol, served the same cached page right after, sees none of it as hers.
    assert_eq!(
        app.scalar::<i64>(&format!(
            "SELECT count(*) FROM thread_reads WHERE thread_id = {t} AND user_id = {}",
            carol.user_id
        ))
        .await,
        0
    );
    let page = member_served_from_cache(&app, &path, &carol).await;
    assert!(
        page.contains(">Like<") && !page.contains(">Unlike<"),
        "{page}"
    );
    assert!(!page.contains(" ✓</span>"), "{page}");
    assert!(
        page.contains("name=\"choice\""),
        "carol may still vote: {page}"
    );
    assert!(page.contains(">Watch<"), "{page}");
    // ... and the visit read the page: her mark is at its last post, and the lists say so.
    let last: i64 = app
        .scalar(&format!(
            "SELECT last_read_post_id FROM thread_reads WHERE thread_id = {t} AND user_id = {}",
            carol.user_id
        ))
        .await;
    assert_eq!(last, reply);
    let unread = app.get("/api/unread/", &carol).await.json();
    assert!(
        unread["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["id"] != t),
        "{unread}"
    );
    // Seeing the page again writes nothing: the mark stays where it is.
    member_served_from_cache(&app, &path, &carol).await;
    let again: i64 = app
        .scalar(&format!(
            "SELECT last_read_post_id FROM thread_reads WHERE thread_id = {t} AND user_id = {}",
            carol.user_id
        ))
        .await;
    assert_eq!(again, reply);
}

/// GETs `path` as `b` through `state` until it is answered from memory alone: the session,
/// permissions, list and marks all hit (a query for any of them would count a miss).
async fn member_from_memory(state: &AppState, path: &str, b: &Browser) -> String {
    for _ in 0..50 {
        let before = state.cache.stats();
        let (status, body) = get_as(state, path, b).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        let after = state.cache.stats();
        if after.misses == before.misses && after.hits > before.hits {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{path} always asked PostgreSQL for a member");
}

/// Runs `sql` on the test database as another process (or psql) would.
async fn by_hand(app: &TestApp, sql: &str, params: &[&(dyn tokio_postgres::types::ToSql + Sync)]) {
    let client = app.state.pool.get().await.unwrap();
    client.execute(sql, params).await.unwrap();
}

/// A process `app` that writes and another, `web`, on the same database that serves from its
/// read cache; a category and two members, alice and bob.
struct TwoProcesses {
    app: TestApp,
    web: AppState,
    cat: i64,
    alice: Browser,
    bob: Browser,
}

async fn two_processes() -> TwoProcesses {
    let app = TestApp::new().await;
    let web = with_cache(&app, forum::cache::CHANNEL, Duration::from_millis(100)).await;
    let cat = app.category(None, "General", false).await;
    let alice = app.user("alice", "member").await;
    let bob = app.user("bob", "member").await;
    TwoProcesses {
        app,
        web,
        cat,
        alice,
        bob,
    }
}

#[tokio::test]
async fn a_members_cached_page_needs_no_query_and_follows_changes_made_elsewhere() {
    let TwoProcesses {
        app,
        web,
        cat,
        alice,
        bob,
    } = two_processes().await;
    let t = app.thread(&bob, cat, "Bob's question", "hello").await;

    // Once filled, a member's index is answered from memory alone.
    let body = member_from_memory(&web, "/", &alice).await;
    assert!(body.contains("action=\"/logout\""), "not logged in: {body}");
    assert!(body.contains("data-count=\"0\""), "{body}");

    // A notification added elsewhere lights the bell.
    let post: i64 = app
        .scalar(&format!("SELECT min(id) FROM posts WHERE thread_id = {t}"))
        .await;
    by_hand(
        &app,
        "INSERT INTO notifications (user_id, kind, thread_id, post_id) VALUES ($1, 'reply', $2, $3)",
        &[&alice.user_id, &t, &post],
    )
    .await;
    assert!(member_shows_within(&web, "/", &alice, "data-count=\"1\"", PROPAGATION).await);
    // ... and reading it there puts it out.
    by_hand(
        &app,
        "UPDATE notifications SET read_at = now() WHERE user_id = $1",
        &[&alice.user_id],
    )
    .await;
    assert!(member_shows_within(&web, "/", &alice, "data-count=\"0\"", PROPAGATION).await);

    // A role given elsewhere shows in the header.
    by_hand(
        &app,
        "UPDATE users SET role = 'moderator' WHERE id = $1",
        &[&alice.user_id],
    )
    .await;
    assert!(
        member_shows_within(&web, "/", &alice, "href=\"/moderation/queue\"", PROPAGATION).await
    );

    // A ban made elsewhere refuses the member's next write.
    by_hand(
        &app,
        "UPDATE users SET banned_until = now() + interval '1 day', role = 'member' WHERE id = $1",
        &[&alice.user_id],
    )
    .await;
    let deadline = tokio::time::Instant::now() + PROPAGATION;
    let refused = loop {
        let (status, body) = get_as(&web, &format!("/t/{t}/reply"), &alice).await;
        if status == StatusCode::FORBIDDEN || body.contains("banned") {
            break true;
        }
        if tokio::time::Instant::now() >= deadline {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert!(refused, "the ban did not reach the cached session");

    // A session ended elsewhere (a logout on another replica, a password change) ends here.
    by_hand(
        &app,
        "DELETE FROM sessions WHERE user_id = $1",
        &[&alice.user_id],
    )
    .await;
    assert!(member_shows_within(&web, "/", &alice, "href=\"/login\"", PROPAGATION).await);
}

#[tokio::test]
async fn statements_that_change_no_session_do_not_empty_the_cache() {
    let app = TestApp::new().await;
    let web = with_cache(&app, forum::cache::CHANNEL, Duration::from_millis(100)).await;
    let alice = app.user("alice", "member").await;
    let cat = app.category(None, "General", false).await;
    app.thread(&alice, cat, "Hello", "x").await;
    get_as(&web, "/", &alice).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = web.cache.stats().generation;
    // The worker's sweep when nothing expired, a member seen again, a fan-out to nobody.
    by_hand(&app, "DELETE FROM sessions WHERE expires_at < now()", &[]).await;
    by_hand(
        &app,
        "UPDATE users SET last_seen_at = now() WHERE id = $1",
        &[&alice.user_id],
    )
    .await;
    by_hand(
        &app,
        "INSERT INTO notifications (user_id, kind, thread_id) SELECT user_id, 'reply', thread_id FROM thread_watchers WHERE false",
        &[],
    )
    .await;
    // Then one change that does notify: notifications arrive in commit order, so when it has
    // arrived, any of the statements above that notified would have bumped the generation too.
    by_hand(
        &app,
        "UPDATE users SET username = 'alicia' WHERE id = $1",
        &[&alice.user_id],
    )
    .await;
    let deadline = tokio::time::Instant::now() + PROPAGATION;
    while web.cache.stats().generation == before && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(web.cache.stats().generation, before + 1);
}

/// The class of thread `id`'s row in a list page: `thread`, `thread new` or `thread unread`.
fn row_class(body: &str, id: i64) -> Option<String> {
    let at = body.find(&format!("\" data-thread=\"{id}\""))?;
    let start = body[..at].rfind("class=\"")? + "class=\"".len();
    Some(body[start..at].to_string())
}

#[tokio::test]
async fn a_members_marks_come_from_memory_and_follow_their_reads_here_and_elsewhere() {
    let TwoProcesses {
        app,
        web,
        cat,
        alice,
        bob,
    } = two_processes().await;
    // Alice has been away: what Bob writes now is new to her.
    by_hand(
        &app,
        "UPDATE users SET read_all_before = now() - interval '1 day' WHERE id = $1",
        &[&alice.user_id],
    )
    .await;
    let first = app.thread(&bob, cat, "First news", "x").await;
    let second = app.thread(&bob, cat, "Second news", "y").await;
    assert!(member_shows_within(&web, "/", &alice, "Second news", PROPAGATION).await);
    let body = member_from_memory(&web, "/", &alice).await;
    assert_eq!(
        row_class(&body, first).as_deref(),
        Some("thread new"),
        "{body}"
    );
    assert_eq!(
        row_class(&body, second).as_deref(),
        Some("thread new"),
        "{body}"
    );

    // Read here: the very next view of the list says so, without waiting for a notification.
    assert_eq!(
        get_as(&web, &format!("/t/{first}/"), &alice).await.0,
        StatusCode::OK
    );
    let body = get_as(&web, "/", &alice).await.1;
    assert_eq!(row_class(&body, first).as_deref(), Some("thread"), "{body}");
    assert_eq!(
        row_class(&body, second).as_deref(),
        Some("thread new"),
        "{body}"
    );
    let body = member_from_memory(&web, "/", &alice).await;
    assert_eq!(row_class(&body, first).as_deref(), Some("thread"), "{body}");

    // Read in another process: it shows here within moments.
    assert_eq!(
        app.get(&format!("/t/{second}/"), &alice).await.status,
        StatusCode::OK
    );
    let deadline = tokio::time::Instant::now() + PROPAGATION;
    loop {
        let body = get_as(&web, "/", &alice).await.1;
        if row_class(&body, second).as_deref() == Some("thread") {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "still new: {body}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Bob's marks were never touched by Alice's reads: his list still comes from memory.
    let body = member_from_memory(&web, "/", &bob).await;
    assert!(body.contains("First news"), "{body}");
}

#[tokio::test]
async fn a_members_second_visit_comes_from_memory_and_follows_their_watching_elsewhere() {
    let TwoProcesses {
        app,
        web,
        cat,
        alice,
        bob,
    } = two_processes().await;
    let t = app.thread(&bob, cat, "Bob's thread", "hello").await;
    let path = format!("/t/{t}/");
    // The first visit moves her read mark; once it is there, a visit is answered from memory.
    assert_eq!(get_as(&web, &path, &alice).await.0, StatusCode::OK);
    let body = member_from_memory(&web, &path, &alice).await;
    assert!(body.contains(">Watch</button>"), "{body}");

    // She starts watching in another process (the API role): her page shows it within moments.
    by_hand(
        &app,
        "INSERT INTO thread_watchers (thread_id, user_id) VALUES ($1, $2)",
        &[&t, &alice.user_id],
    )
    .await;
    assert!(member_shows_within(&web, &path, &alice, ">Stop watching</button>", PROPAGATION).await);
    // Bob's visits were not touched by hers.
    assert_eq!(get_as(&web, &path, &bob).await.0, StatusCode::OK);
    let body = member_from_memory(&web, &path, &bob).await;
    assert!(body.contains(">Watch</button>") || body.contains(">Stop watching</button>"));
    // A like of hers made elsewhere empties the cache like any write: her page shows it.
    let post: i64 = app
        .scalar(&format!("SELECT min(id) FROM posts WHERE thread_id = {t}"))
        .await;
    by_hand(
        &app,
        "INSERT INTO post_likes (post_id, user_id) VALUES ($1, $2)",
        &[&post, &alice.user_id],
    )
    .await;
    assert!(member_shows_within(&web, &path, &alice, ">Unlike</button>", PROPAGATION).await);
}

/// The value of the sample `name` (no labels) in an exposition text.
fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test]
async fn the_cache_shows_its_hits_misses_and_whether_it_serves_in_metrics() {
    let app = TestApp::new().await;
    let web = with_cache(&app, forum::cache::CHANNEL, Duration::from_millis(100)).await;
    let cat = app.category(None, "General", false).await;
    let alice = app.user("alice", "member").await;
    app.thread(&alice, cat, "Hello", "x").await;
    served_from_cache(&web, "/").await;
    let text = get(&web, "/metrics").await.1;
    assert_eq!(
        sample(&text, "forum_read_cache_listening"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "forum_read_cache_connects_total"),
        Some(1.0),
        "{text}"
    );
    let hits = sample(&text, "forum_read_cache_hits_total").unwrap();
    let misses = sample(&text, "forum_read_cache_misses_total").unwrap();
    assert!(hits >= 1.0 && misses >= 1.0, "{text}");
    // The same counters as the cache's own (read after: they only grow).
    assert!(web.cache.stats().hits >= hits as u64);

    // The LISTEN connection is lost: the cache is off, and says so until it is back.
    kill_listeners(&app).await;
    let deadline = tokio::time::Instant::now() + PROPAGATION;
    let mut off = false;
    while tokio::time::Instant::now() < deadline && !off {
        off = web.cache.stats().connects == 1 && !web.cache.is_listening();
        if off {
            let text = get(&web, "/metrics").await.1;
            off = sample(&text, "forum_read_cache_listening") == Some(0.0);
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert!(off, "/metrics never showed the cache off while it was");
    assert!(web.cache.wait_listening(Duration::from_secs(10)).await);
    let text = get(&web, "/metrics").await.1;
    assert_eq!(
        sample(&text, "forum_read_cache_listening"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "forum_read_cache_connects_total"),
        Some(2.0),
        "{text}"
    );
}
