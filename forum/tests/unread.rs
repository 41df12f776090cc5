//! Unread tracking through the pages and the API: new and unread marks on the lists, the
//! first unread post, the unread list, "mark all read" for a category and for everything.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{Browser, TestApp};

async fn mark_read(app: &TestApp, body: serde_json::Value, b: &Browser) -> StatusCode {
    let req = Request::post("/api/unread/mark-read")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    app.send(req, b).await.status
}

/// The mark of thread `t` in the list page `html` ("" when read).
fn mark_in(html: &str, t: i64) -> &'static str {
    let row = html
        .split("<tr class=\"thread")
        .find(|r| r.contains(&format!("data-thread=\"{t}\"")))
        .unwrap_or_else(|| panic!("thread {t} not listed: {html}"));
    let head = &row[..row.find('>').unwrap()];
    if head.contains(" unread\"") {
        "unread"
    } else if head.contains(" new\"") {
        "new"
    } else {
        ""
    }
}

#[tokio::test]
async fn new_then_read_then_unread_and_the_first_unread_post() {
    let app = TestApp::new().await;
    let cat = app.category(None, "General", false).await;
    let alice = app.user("alice", "member").await;
    let bob = app.user("bob", "member").await;
    let t = app.thread(&bob, cat, "Fresh", "first").await;

    let index = app.get("/", &alice).await;
    assert_eq!(mark_in(&index.body, t), "new");
    assert!(index.body.contains(&format!("href=\"/t/{t}/unread\"")));
    assert_eq!(
        mark_in(&app.get(&format!("/c/{cat}/"), &alice).await.body, t),
        "new"
    );
    // The author read what they wrote when they saw the thread after posting.
    app.get(&format!("/t/{t}/"), &bob).await;
    assert_eq!(mark_in(&app.get("/", &bob).await.body, t), "");
    // Anonymous visitors get no marks.
    assert_eq!(
        mark_in(&app.get("/", &Browser::default()).await.body, t),
        ""
    );

    // Opening the thread reads it.
    let r = app.get(&format!("/t/{t}/unread"), &alice).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let first: i64 = app
        .scalar(&format!("SELECT min(id) FROM posts WHERE thread_id = {t}"))
        .await;
    assert_eq!(r.location(), format!("/t/{t}/?page=1#post-{first}"));
    app.get(&format!("/t/{t}/"), &alice).await;
    assert_eq!(mark_in(&app.get("/", &alice).await.body, t), "");

    // Bob's replies make it unread for alice, and it opens at the first of them.
    let reply = app.reply(&bob, t, "news").await;
    app.reply(&bob, t, "more news").await;
    assert_eq!(mark_in(&app.get("/", &alice).await.body, t), "unread");
    let r = app.get(&format!("/t/{t}/unread"), &alice).await;
    assert_eq!(r.location(), format!("/t/{t}/?page=1#post-{reply}"));
    let api = app.get("/api/threads/", &alice).await.json();
    assert_eq!(api["marks"][t.to_string()], "unread", "{api}");
    let unread = app.get("/api/unread/", &alice).await.json();
    assert_eq!(unread["results"][0]["id"], t);
    assert_eq!(unread["results"][0]["mark"], "unread");
    assert!(app.get("/unread", &alice).await.body.contains("Fresh"));

    // Read again: the last post when all is read.
    app.get(&format!("/t/{t}/"), &alice).await;
    assert_eq!(mark_in(&app.get("/", &alice).await.body, t), "");
    let last: i64 = app
        .scalar(&format!("SELECT max(id) FROM posts WHERE thread_id = {t}"))
        .await;
    let r = app.get(&format!("/t/{t}/unread"), &alice).await;
    assert_eq!(r.location(), format!("/t/{t}/?page=1#post-{last}"));
    assert_eq!(
        app.get("/api/unread/", &alice).await.json()["results"],
        serde_json::json!([])
    );
}

#[tokio::test]
async fn reading_a_first_page_leaves_the_second_unread() {
    let app = TestApp::new().await;
    let cat = app.category(None, "General", false).await;
    let alice = app.user("alice", "member").await;
    let bob = app.user("bob", "member").await;
    let t = app.thread(&bob, cat, "Long", "first").await;
    let per_page = app.state.config.posts_per_page;
    let mut ids = Vec::new();
    for i in 0..per_page {
        ids.push(app.reply(&bob, t, &format!("reply {i}")).await);
    }
    app.get(&format!("/t/{t}/"), &alice).await;
    assert_eq!(mark_in(&app.get("/", &alice).await.body, t), "unread");
    // The first post of page 2 is the one after the last of page 1.
    let r = app.get(&format!("/t/{t}/unread"), &alice).await;
    let first_of_page_2 = ids[per_page as usize - 1];
    assert_eq!(
        r.location(),
        format!("/t/{t}/?page=2#post-{first_of_page_2}")
    );
}

#[tokio::test]
async fn mark_a_category_then_everything_read_by_page_and_api() {
    let app = TestApp::new().await;
    let news = app.category(None, "News", false).await;
    let sub = app.category(Some(news), "Sub news", false).await;
    let chat = app.category(None, "Chat", false).await;
    let alice = app.user("alice", "member").await;
    let bob = app.user("bob", "member").await;
    let t1 = app.thread(&bob, sub, "In a subcategory", "x").await;
    let t2 = app.thread(&bob, chat, "Chatting", "x").await;

    let r = app.post(&format!("/c/{news}/mark-read"), &[], &alice).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let index = app.get("/", &alice).await;
    assert_eq!(
        mark_in(&index.body, t1),
        "",
        "the subcategory is marked too"
    );
    assert_eq!(mark_in(&index.body, t2), "new");
    // Newer activity in a marked category is new again.
    app.reply(&bob, t1, "later").await;
    assert_eq!(mark_in(&app.get("/", &alice).await.body, t1), "new");

    assert_eq!(
        mark_read(&app, serde_json::json!({"category": chat}), &alice).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(mark_in(&app.get("/", &alice).await.body, t2), "");
    assert_eq!(
        mark_read(&app, serde_json::json!({"category": 999999}), &alice).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        mark_read(&app, serde_json::json!({}), &alice).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(mark_in(&app.get("/", &alice).await.body, t1), "");
    app.reply(&bob, t2, "after all read").await;
    let r = app.post("/unread/mark-read", &[], &alice).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let index = app.get("/", &alice).await;
    assert_eq!(mark_in(&index.body, t1), "");
    assert_eq!(mark_in(&index.body, t2), "");
    assert_eq!(
        mark_read(&app, serde_json::json!({}), &Browser::default()).await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_hidden_thread_is_unread_for_its_moderators_only() {
    let app = TestApp::new().await;
    let cat = app.category(None, "General", false).await;
    let alice = app.user("alice", "member").await;
    let bob = app.user("bob", "member").await;
    let moder = app.user("mod", "moderator").await;
    let shown = app.thread(&bob, cat, "Shown", "first").await;
    let hidden = app.thread(&bob, cat, "Hidden", "first").await;
    let n = app
        .state
        .pool
        .get()
        .await
        .unwrap()
        .execute(
            "UPDATE threads SET is_hidden = true WHERE id = $1",
            &[&hidden],
        )
        .await
        .unwrap();
    assert_eq!(n, 1);
    let ids = |v: &serde_json::Value| -> Vec<i64> {
        v["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_i64().unwrap())
            .collect()
    };
    let member = app.get("/api/unread/", &alice).await.json();
    assert!(ids(&member).contains(&shown), "{member}");
    assert!(!ids(&member).contains(&hidden), "{member}");
    assert!(!app.get("/unread", &alice).await.body.contains("Hidden"));
    let moderator = app.get("/api/unread/", &moder).await.json();
    assert!(ids(&moderator).contains(&shown), "{moderator}");
    assert!(ids(&moderator).contains(&hidden), "{moderator}");
    assert!(app.get("/unread", &moder).await.body.contains("Hidden"));
}
