//! Posting after a thread starts, through the pages and the API alike: polls added, edited,
//! closed and reopened; best answers unmarked; the edit time limit; moderators merging threads,
//! moving and splitting posts, with every counter as the recount job would compute it, the
//! search following, `/p/{id}/` and old thread addresses leading to the right place, and the
//! read cache never stale. Refused actions change nothing.

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{Browser, Resp, TestApp};
use serde_json::{Value, json};

/// An API request with a bearer token.
async fn api(app: &TestApp, method: &str, path: &str, body: Option<Value>, token: &str) -> Resp {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, "forum.example")
        .header(header::AUTHORIZATION, format!("Bearer {token}"));
    let req = match body {
        Some(b) => req
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    }
    .unwrap();
    app.send(req, &Browser::default()).await
}

async fn token(app: &TestApp, b: &Browser) -> String {
    forum::auth::create_session(
        &app.state.pool,
        b.user_id,
        forum::auth::SessionKind::Api,
        app.state.config.session_ttl,
    )
    .await
    .unwrap()
}

async fn sql(app: &TestApp, statement: &str) {
    app.state
        .pool
        .get()
        .await
        .unwrap()
        .batch_execute(statement)
        .await
        .unwrap();
}

/// Every counter the recount job keeps, as one text (to compare before and after a recount).
async fn counters(app: &TestApp) -> String {
    app.scalar::<String>(
        "SELECT concat_ws(' | ',
            (SELECT string_agg(concat_ws(',', id, post_count, last_activity_at, user_id, best_answer_post_id), ';' ORDER BY id) FROM threads),
            (SELECT string_agg(concat_ws(',', id, thread_count, post_count, last_activity_at), ';' ORDER BY id) FROM categories),
            (SELECT string_agg(concat_ws(',', id, thread_count, post_count), ';' ORDER BY id) FROM users))",
    )
    .await
}

/// Asserts that the counters are what the recount job computes from the rows.
async fn assert_counters_right(app: &TestApp) {
    let before = counters(app).await;
    let mut client = app.state.pool.get().await.unwrap();
    let tx = client.transaction().await.unwrap();
    forum::models::jobs::recount(&tx).await.unwrap();
    tx.commit().await.unwrap();
    drop(client);
    assert_eq!(
        before,
        counters(app).await,
        "counters differ from a recount"
    );
}

fn metric(app: &TestApp, action: &str) -> u64 {
    let text = app.state.metrics.encode();
    let prefix = format!("forum_moderation_actions_total{{action=\"{action}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {prefix} in the metrics"))
        .trim()
        .parse()
        .unwrap()
}

async fn votes(app: &TestApp, thread: i64) -> i64 {
    app.scalar::<i64>(&format!(
        "SELECT count(*) FROM poll_votes v JOIN polls p ON p.id = v.poll_id WHERE p.thread_id = {thread}"
    ))
    .await
}

#[tokio::test]
async fn a_poll_is_added_edited_closed_and_reopened_by_the_starter_or_a_moderator() {
    let app = TestApp::new().await;
    let cat = app.category(None, "General", false).await;
    let alice = app.user("alice", "member").await;
    let bob = app.user("bob", "member").await;
    let carol = app.user("carol", "member").await;
    let moder = app.user("mod", "moderator").await;
    let (a, b, c) = (
        token(&app, &alice).await,
        token(&app, &bob).await,
        token(&app, &carol).await,
    );
    let t = app
        .thread(&alice, cat, "Lunch plans", "where shall we go")
        .await;
    let poll = json!({"question": "Where?", "choices": ["Pizza", "Sushi"]});
    let poll_path = format!("/api/threads/{t}/poll/");

    // Someone else's thread: refused through both doors, and no poll appears.
    let r = api(&app, "POST", &poll_path, Some(poll.clone()), &b).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let fields = [
        ("poll_question", "Where?"),
        ("poll_choices", "Pizza\nSushi"),
    ];
    let r = app.post(&format!("/t/{t}/poll"), &fields, &bob).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.get(&format!("/t/{t}/poll"), &bob).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(app.scalar::<i64>("SELECT count(*) FROM polls").await, 0);
    assert!(
        !app.get(&format!("/t/{t}/"), &bob)
            .await
            .body
            .contains("id=\"add-poll\"")
    );

    // The starter adds one through the page.
    assert!(
        app.get(&format!("/t/{t}/"), &alice)
            .await
            .body
            .contains("id=\"add-poll\"")
    );
    let r = app.get(&format!("/t/{t}/poll"), &alice).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("Add the poll"));
    let r = app.post(&format!("/t/{t}/poll"), &fields, &alice).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(metric(&app, "poll_add"), 1);
    // A second poll is a conflict.
    let r = api(&app, "POST", &poll_path, Some(poll.clone()), &a).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);

    // Nobody voted yet: everything may change.
    let edited =
        json!({"question": "Where to?", "choices": ["Pizza", "Sushi", "Tacos"], "max_choices": 1});
    let r = api(&app, "PUT", &poll_path, Some(edited.clone()), &a).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let choices = r.json()["choices"].as_array().unwrap().clone();
    assert_eq!(choices.len(), 3);
    let tacos = choices[2]["id"].as_i64().unwrap();
    let pizza = choices[0]["id"].as_i64().unwrap();
    let r = api(
        &app,
        "POST",
        &format!("{poll_path}vote"),
        Some(json!({"choices": [tacos]})),
        &b,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // Once someone voted, the choices are locked; the question is not.
    let changed = json!({"question": "Where to?", "choices": ["Pizza", "Burgers", "Tacos"]});
    let r = api(&app, "PUT", &poll_path, Some(changed), &a).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    let public =
        json!({"question": "Where to?", "choices": ["Pizza", "Sushi", "Tacos"], "is_public": true});
    assert_eq!(
        api(&app, "PUT", &poll_path, Some(public), &a).await.status,
        StatusCode::CONFLICT
    );
    let renamed = json!({"question": "Where to, then?", "choices": ["Pizza", "Sushi", "Tacos"]});
    let r = api(&app, "PUT", &poll_path, Some(renamed), &a).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["question"], "Where to, then?");
    assert_eq!(votes(&app, t).await, 1);
    let form = app.get(&format!("/t/{t}/poll"), &alice).await;
    assert!(form.body.contains("id=\"poll-locked\""), "{}", form.body);

    // Closed: no more votes through either door, nothing recorded.
    let r = api(&app, "POST", &format!("{poll_path}close"), None, &b).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = api(&app, "POST", &format!("{poll_path}close"), None, &a).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["is_closed"], true);
    assert_eq!(r.json()["ended"], true);
    let r = api(
        &app,
        "POST",
        &format!("{poll_path}vote"),
        Some(json!({"choices": [pizza]})),
        &c,
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(r.body.contains("closed"));
    let r = app
        .post(
            &format!("/t/{t}/vote"),
            &[("choice", &pizza.to_string())],
            &carol,
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(votes(&app, t).await, 1);
    let page = app.get(&format!("/t/{t}/"), &carol).await;
    assert!(page.body.contains(" · closed"));
    assert!(!page.body.contains("action=\"/t/{t}/vote\""));
    // Closing twice is a conflict.
    assert_eq!(
        api(&app, "POST", &format!("{poll_path}close"), None, &a)
            .await
            .status,
        StatusCode::CONFLICT
    );

    // A moderator reopens it on the page (the thread is not theirs); votes resume.
    let page = app.get(&format!("/t/{t}/"), &moder).await;
    assert!(page.body.contains("id=\"reopen-poll\""));
    let r = app.post(&format!("/t/{t}/poll/open"), &[], &moder).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = api(
        &app,
        "POST",
        &format!("{poll_path}vote"),
        Some(json!({"choices": [pizza]})),
        &c,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(votes(&app, t).await, 2);
    assert_eq!(metric(&app, "poll_close"), 1);
    assert_eq!(metric(&app, "poll_reopen"), 1);

    // The starter of a closed thread no longer manages its poll; a moderator still does.
    sql(
        &app,
        &format!("UPDATE threads SET is_closed = true WHERE id = {t}"),
    )
    .await;
    let r = api(&app, "POST", &format!("{poll_path}close"), None, &a).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = api(&app, "DELETE", &poll_path, None, &token(&app, &moder).await).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_eq!(app.scalar::<i64>("SELECT count(*) FROM polls").await, 0);
    assert_eq!(
        app.scalar::<i64>("SELECT count(*) FROM poll_votes").await,
        0
    );
}

#[tokio::test]
async fn a_best_answer_is_unmarked_by_the_starter_or_a_moderator_only() {
    let app = TestApp::new().await;
    let cat = app.category(None, "Questions", true).await;
    let alice = app.user("alice", "member").await;
    let bob = app.user("bob", "member").await;
    let carol = app.user("carol", "member").await;
    let moder = app.user("mod", "moderator").await;
    let (a, c) = (token(&app, &alice).await, token(&app, &carol).await);
    let t = app.thread(&alice, cat, "How do I?", "question").await;
    let p = app.reply(&bob, t, "like this").await;
    let q = app.reply(&carol, t, "or like that").await;
    let path = format!("/api/posts/{p}/best-answer");
    assert_eq!(
        api(&app, "POST", &path, None, &a).await.status,
        StatusCode::OK
    );
    assert_eq!(best(&app, t).await, Some(p));

    // Neither the answer's author nor anyone else may unmark it; nothing changes.
    let r = api(&app, "DELETE", &path, None, &c).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = app.post(&format!("/p/{p}/unbest"), &[], &bob).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(best(&app, t).await, Some(p));
    assert!(
        !app.get(&format!("/t/{t}/"), &bob)
            .await
            .body
            .contains("Unmark best answer")
    );

    // Not the best answer: a conflict.
    let r = api(
        &app,
        "DELETE",
        &format!("/api/posts/{q}/best-answer"),
        None,
        &a,
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT);

    // The starter, through the API.
    assert!(
        app.get(&format!("/t/{t}/"), &alice)
            .await
            .body
            .contains("Unmark best answer")
    );
    let r = api(&app, "DELETE", &path, None, &a).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["best_answer_post_id"], Value::Null);
    assert_eq!(best(&app, t).await, None);

    // A moderator, through the page.
    assert_eq!(
        api(&app, "POST", &path, None, &a).await.status,
        StatusCode::OK
    );
    let r = app.post(&format!("/p/{p}/unbest"), &[], &moder).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(best(&app, t).await, None);
    assert_eq!(metric(&app, "best_answer_unmark"), 2);
}

#[tokio::test]
async fn the_edit_time_limit_refuses_late_edits_of_members_through_both_doors() {
    let app = TestApp::new().await;
    let cat = app.category(None, "General", false).await;
    let admin = app.admin("root").await;
    let alice = app.user("alice", "member").await;
    let moder = app.user("mod", "moderator").await;
    let (a, root) = (token(&app, &alice).await, token(&app, &admin).await);
    let t = app.thread(&alice, cat, "Old news", "first").await;
    let old = app.reply(&alice, t, "written long ago").await;
    let fresh = app.reply(&alice, t, "written now").await;
    sql(
        &app,
        &format!("UPDATE posts SET created_at = now() - interval '11 minutes' WHERE id = {old}"),
    )
    .await;

    // Only administrators set it; bad values are refused.
    let r = api(
        &app,
        "PUT",
        "/api/settings/edit-time-limit",
        Some(json!({"minutes": 10})),
        &a,
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .post(
            "/admin/settings/edit-time-limit",
            &[("minutes", "-1")],
            &admin,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app
        .post(
            "/admin/settings/edit-time-limit",
            &[("minutes", "10")],
            &admin,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let settings = app.get("/admin/settings", &admin).await;
    assert!(settings.body.contains("value=\"10\""), "{}", settings.body);
    let r = api(&app, "GET", "/api/settings/edit-time-limit", None, &a).await;
    assert_eq!(r.json()["minutes"], 10);
    // The thread page offers Edit only while it works.
    let page = app.get(&format!("/t/{t}/"), &alice).await.body;
    assert!(!page.contains(&format!("href=\"/p/{old}/edit\"")), "{page}");
    assert!(
        page.contains(&format!("href=\"/p/{fresh}/edit\"")),
        "{page}"
    );
    let page = app.get(&format!("/t/{t}/"), &moder).await.body;
    assert!(page.contains(&format!("href=\"/p/{old}/edit\"")));

    // Past the limit: 403 with a clear message from both doors, and nothing changes.
    let r = api(
        &app,
        "PATCH",
        &format!("/api/posts/{old}/"),
        Some(json!({"body": "rewritten"})),
        &a,
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("within 10 minutes")
    );
    let r = app
        .post(&format!("/p/{old}/edit"), &[("body", "rewritten")], &alice)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("within 10 minutes"), "{}", r.body);
    assert_eq!(
        app.get(&format!("/p/{old}/edit"), &alice).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.scalar::<String>(&format!("SELECT body FROM posts WHERE id = {old}"))
            .await,
        "written long ago"
    );
    assert_eq!(
        app.scalar::<i64>("SELECT count(*) FROM post_edits").await,
        0
    );

    // Within the limit, and moderators at any time.
    let r = api(
        &app,
        "PATCH",
        &format!("/api/posts/{fresh}/"),
        Some(json!({"body": "now edited"})),
        &a,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app
        .post(
            &format!("/p/{old}/edit"),
            &[("body", "fixed by a moderator")],
            &moder,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

    // 0 lifts the limit.
    let r = api(
        &app,
        "PUT",
        "/api/settings/edit-time-limit",
        Some(json!({"minutes": 0})),
        &root,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let page = app.get(&format!("/t/{t}/"), &alice).await.body;
    assert!(page.contains(&format!("href=\"/p/{old}/edit\"")));
    let r = app
        .post(&format!("/p/{old}/edit"), &[("body", "mine again")], &alice)
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = api(
        &app,
        "PUT",
        "/api/settings/edit-time-limit",
        Some(json!({"minutes": 525601})),
        &root,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn best(app: &TestApp, t: i64) -> Option<i64> {
    app.scalar::<Option<i64>>(&format!(
        "SELECT best_answer_post_id FROM threads WHERE id = {t}"
    ))
    .await
}

/// Post ids of thread `t` in page order.
async fn post_ids(app: &TestApp, t: i64) -> Vec<i64> {
    let r = app
        .get(&format!("/api/threads/{t}/posts/"), &Browser::default())
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.json()["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn merging_a_thread_moves_its_posts_in_time_order_and_its_address_redirects() {
    let app = TestApp::new().await;
    let news = app.category(None, "News", false).await;
    let chat = app.category(None, "Chat", false).await;
    let alice = app.user("alice", "member").await;
    let bob = app.user("bob", "member").await;
    let moder = app.user("mod", "moderator").await;
    let (a, m) = (token(&app, &alice).await, token(&app, &moder).await);
    let ta = app
        .thread(&alice, news, "Release day", "the release is out")
        .await;
    let r = app
        .post(
            &format!("/c/{chat}/new"),
            &[
                ("title", "Release party"),
                ("body", "party tonight"),
                ("poll_question", "Come?"),
                ("poll_choices", "yes\nno"),
            ],
            &bob,
        )
        .await;
    let tb = common::id_in(&r.location(), "/t/");
    let b1 = app
        .scalar::<i64>(&format!("SELECT min(id) FROM posts WHERE thread_id = {tb}"))
        .await;
    let a1 = app
        .scalar::<i64>(&format!("SELECT min(id) FROM posts WHERE thread_id = {ta}"))
        .await;
    let a2 = app.reply(&bob, ta, "congratulations").await;
    let b2 = app.reply(&alice, tb, "I will bring a zanzibar cake").await;
    let a3 = app.reply(&alice, ta, "thanks").await;
    let before = counters(&app).await;

    // A member may not merge, through either door; nothing changes.
    let r = api(
        &app,
        "POST",
        &format!("/api/threads/{tb}/merge"),
        Some(json!({"into": ta})),
        &a,
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = app
        .post(
            &format!("/t/{tb}/merge"),
            &[("into", &ta.to_string())],
            &alice,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(counters(&app).await, before);
    assert_eq!(post_ids(&app, tb).await, vec![b1, b2]);
    assert_eq!(metric(&app, "merge_threads"), 0);
    // Into itself: invalid.
    let r = api(
        &app,
        "POST",
        &format!("/api/threads/{tb}/merge"),
        Some(json!({"into": tb})),
        &m,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

    // A moderator merges B into A: posts in time order, B's poll comes along.
    let r = api(
        &app,
        "POST",
        &format!("/api/threads/{tb}/merge"),
        Some(json!({"into": ta})),
        &m,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["post_count"], 5);
    assert_eq!(post_ids(&app, ta).await, vec![a1, b1, a2, b2, a3]);
    assert_eq!(metric(&app, "merge_threads"), 1);
    assert_eq!(
        app.scalar::<i64>(&format!(
            "SELECT count(*) FROM polls WHERE thread_id = {ta}"
        ))
        .await,
        1
    );
    assert_counters_right(&app).await;
    assert_eq!(
        app.scalar::<i32>(&format!(
            "SELECT thread_count FROM categories WHERE id = {chat}"
        ))
        .await,
        0
    );
    assert_eq!(
        app.scalar::<i32>(&format!(
            "SELECT post_count FROM categories WHERE id = {news}"
        ))
        .await,
        5
    );

    // B is gone: 404 in the API, its page redirects to A; its posts are found in A.
    let anon = Browser::default();
    assert_eq!(
        app.get(&format!("/api/threads/{tb}/"), &anon).await.status,
        StatusCode::NOT_FOUND
    );
    let r = app.get(&format!("/t/{tb}/"), &anon).await;
    assert!(
        r.status == StatusCode::MOVED_PERMANENTLY || r.status == StatusCode::PERMANENT_REDIRECT,
        "{:?}",
        r.status
    );
    assert_eq!(r.location(), format!("/t/{ta}/"));
    let r = app.get(&format!("/p/{b2}/"), &anon).await;
    assert_eq!(r.location(), format!("/t/{ta}/?page=1#post-{b2}"));
    let r = app.get("/api/search/?q=zanzibar", &anon).await;
    assert_eq!(r.json()["results"][0]["thread_id"], ta);
    assert_eq!(r.json()["results"][0]["url"], format!("/p/{b2}/"));

    // Both threads having a poll: refused, nothing changes.
    let tc = app.thread(&bob, chat, "Another vote", "vote here").await;
    let poll = json!({"question": "Which?", "choices": ["x", "y"]});
    assert_eq!(
        api(
            &app,
            "POST",
            &format!("/api/threads/{tc}/poll/"),
            Some(poll),
            &m
        )
        .await
        .status,
        StatusCode::CREATED
    );
    let before = counters(&app).await;
    let r = app
        .post(
            &format!("/t/{tc}/merge"),
            &[("into", &format!("https://forum.example/t/{ta}/"))],
            &moder,
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert_eq!(counters(&app).await, before);

    // Merging A (which took B) into C through the page: B's address follows to C.
    api(
        &app,
        "DELETE",
        &format!("/api/threads/{tc}/poll/"),
        None,
        &m,
    )
    .await;
    let r = app
        .post(
            &format!("/t/{ta}/merge"),
            &[("into", &format!("https://forum.example/t/{tc}/"))],
            &moder,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), format!("/t/{tc}/"));
    assert_eq!(
        app.get(&format!("/t/{tb}/"), &anon).await.location(),
        format!("/t/{tc}/")
    );
    assert_eq!(
        app.get(&format!("/t/{ta}/"), &anon).await.location(),
        format!("/t/{tc}/")
    );
    assert_eq!(post_ids(&app, tc).await.len(), 6);
    assert_counters_right(&app).await;
}

#[tokio::test]
async fn moving_and_splitting_posts_is_for_moderators_and_keeps_everything_right() {
    let app = TestApp::new().await;
    let qa = app.category(None, "Questions", true).await;
    let chat = app.category(None, "Chat", false).await;
    let alice = app.user("alice", "member").await;
    let bob = app.user("bob", "member").await;
    let carol = app.user("carol", "member").await;
    let moder = app.user("mod", "moderator").await;
    let (a, m) = (token(&app, &alice).await, token(&app, &moder).await);
    let t = app
        .thread(&alice, qa, "How to bake bread", "which flour?")
        .await;
    let p1 = app
        .scalar::<i64>(&format!("SELECT min(id) FROM posts WHERE thread_id = {t}"))
        .await;
    let p2 = app.reply(&bob, t, "rye flour works").await;
    let p3 = app.reply(&carol, t, "off topic: nice weather").await;
    let p4 = app.reply(&bob, t, "and a sourdough starter").await;
    let u = app.thread(&carol, chat, "Weather talk", "sunny").await;
    assert_eq!(
        api(
            &app,
            "POST",
            &format!("/api/posts/{p2}/best-answer"),
            None,
            &a
        )
        .await
        .status,
        StatusCode::OK
    );
    let before = counters(&app).await;

    // Members may not move or split, through either door; nothing changes.
    let r = api(
        &app,
        "POST",
        &format!("/api/threads/{t}/posts/move"),
        Some(json!({"posts": [p3], "thread_id": u})),
        &a,
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = api(
        &app,
        "POST",
        &format!("/api/threads/{t}/posts/split"),
        Some(json!({"posts": [p2], "title": "Bread", "category_id": chat})),
        &a,
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let p3s = p3.to_string();
    let r = app
        .post(
            &format!("/t/{t}/posts"),
            &[
                ("post", &p3s),
                ("action", "move"),
                ("thread", &u.to_string()),
            ],
            &alice,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .post(
            &format!("/t/{t}/posts"),
            &[
                ("post", &p3s),
                ("action", "split"),
                ("title", "Weather"),
                ("category_id", &chat.to_string()),
            ],
            &alice,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(counters(&app).await, before);
    assert_eq!(post_ids(&app, t).await, vec![p1, p2, p3, p4]);
    assert!(
        !app.get(&format!("/t/{t}/"), &alice)
            .await
            .body
            .contains("id=\"posts-form\"")
    );

    // The first post stays; posts of other threads are refused.
    let r = api(
        &app,
        "POST",
        &format!("/api/threads/{t}/posts/move"),
        Some(json!({"posts": [p1], "thread_id": u})),
        &m,
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    let other = app
        .scalar::<i64>(&format!("SELECT min(id) FROM posts WHERE thread_id = {u}"))
        .await;
    let r = api(
        &app,
        "POST",
        &format!("/api/threads/{t}/posts/move"),
        Some(json!({"posts": [p3, other], "thread_id": u})),
        &m,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = api(
        &app,
        "POST",
        &format!("/api/threads/{t}/posts/move"),
        Some(json!({"posts": [], "thread_id": u})),
        &m,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(counters(&app).await, before);

    // A moderator moves the off-topic post on the page.
    let page = app.get(&format!("/t/{t}/"), &moder).await;
    assert!(page.body.contains("id=\"posts-form\""));
    let r = app
        .post(
            &format!("/t/{t}/posts"),
            &[
                ("post", &p3s),
                ("action", "move"),
                ("thread", &format!("/t/{u}/")),
            ],
            &moder,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), format!("/t/{u}/"));
    assert_eq!(post_ids(&app, t).await, vec![p1, p2, p4]);
    // In time order: the moved post is older than the weather thread's first post.
    assert_eq!(post_ids(&app, u).await, vec![p3, other]);
    assert_eq!(metric(&app, "move_posts"), 1);
    assert_counters_right(&app).await;

    // And splits the bread answers into a thread of their own in another category, through
    // the API: its starter is the first one's author; the best answer left its thread.
    let r = api(
        &app,
        "POST",
        &format!("/api/threads/{t}/posts/split"),
        Some(json!({"posts": [p2, p4], "title": "Bread tips", "category_id": chat})),
        &m,
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let s = r.json()["id"].as_i64().unwrap();
    assert_eq!(r.location(), format!("/api/threads/{s}/"));
    assert_eq!(r.json()["user_id"], bob.user_id);
    assert_eq!(r.json()["post_count"], 2);
    assert_eq!(r.json()["category_id"], chat);
    assert_eq!(post_ids(&app, s).await, vec![p2, p4]);
    assert_eq!(post_ids(&app, t).await, vec![p1]);
    assert_eq!(
        app.scalar::<Option<i64>>(&format!(
            "SELECT best_answer_post_id FROM threads WHERE id = {t}"
        ))
        .await,
        None
    );
    assert_eq!(
        app.get(&format!("/p/{p4}/"), &Browser::default())
            .await
            .location(),
        format!("/t/{s}/?page=1#post-{p4}")
    );
    // Bob now watches the new thread, as if he had started it.
    assert_eq!(
        app.scalar::<i64>(&format!(
            "SELECT count(*) FROM thread_watchers WHERE thread_id = {s} AND user_id = {}",
            bob.user_id
        ))
        .await,
        1
    );
    assert_counters_right(&app).await;

    // A split through the page, with a bad title: the form's error, nothing changes.
    let before = counters(&app).await;
    let r = app
        .post(
            &format!("/t/{s}/posts"),
            &[
                ("post", &p4.to_string()),
                ("action", "split"),
                ("title", "x"),
                ("category_id", &chat.to_string()),
            ],
            &moder,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(counters(&app).await, before);
    let r = app
        .post(
            &format!("/t/{s}/posts"),
            &[
                ("post", &p4.to_string()),
                ("action", "split"),
                ("title", "Starters"),
                ("category_id", &chat.to_string()),
            ],
            &moder,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(metric(&app, "split_posts"), 2);
    assert_counters_right(&app).await;
}

#[tokio::test]
async fn the_read_cache_shows_a_merge_at_once() {
    let mut app = TestApp::new().await;
    let (pg, tls) = forum::db::connection(&app.db.url).unwrap();
    let mut listen = forum::cache::ListenerConfig::new(pg, tls);
    listen.channel = "forum_cache_posting".to_string();
    let pool = forum::db::pool(&app.db.url, 4).unwrap();
    app.state = forum::AppState::new(pool, common::config()).with_read_cache(listen);
    assert!(app.state.cache.wait_listening(Duration::from_secs(5)).await);
    let cat = app.category(None, "General", false).await;
    let alice = app.user("alice", "member").await;
    let moder = app.user("mod", "moderator").await;
    let ta = app.thread(&alice, cat, "Keeper thread", "kept").await;
    let tb = app
        .thread(&alice, cat, "Doomed thread", "a kiwifruit story")
        .await;
    let anon = Browser::default();
    // Fill the cache, then check it is being served.
    for _ in 0..3 {
        app.get(&format!("/t/{ta}/"), &anon).await;
        app.get("/", &anon).await;
    }
    let hits = app.state.cache.stats().hits;
    assert!(app.get("/", &anon).await.body.contains("Doomed thread"));
    assert!(
        app.state.cache.stats().hits > hits,
        "the index was not served from the cache"
    );
    let r = app
        .post(
            &format!("/t/{tb}/merge"),
            &[("into", &ta.to_string())],
            &moder,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(
        app.get(&format!("/t/{ta}/"), &anon)
            .await
            .body
            .contains("a kiwifruit story")
    );
    assert!(!app.get("/", &anon).await.body.contains("Doomed thread"));
}
