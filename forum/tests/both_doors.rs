//! Route tests (no socket) of the one visibility and permission policy: each action (see, like,
//! edit, delete, read the history) goes through the pages' door and the API's, and both answer
//! the same; a refused write changes nothing. Also the page bugs met on the way: pinned threads
//! listed once, "1 post", thread titles on profiles, search hits and `/p/{id}/` on the right
//! page, the first post kept, a poll kept in a refused form, avatars beside posts.

mod common;

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
        .execute(statement, &[])
        .await
        .unwrap();
}

async fn likes(app: &TestApp, p: i64) -> (i32, i64) {
    (
        app.scalar::<i32>(&format!("SELECT like_count FROM posts WHERE id = {p}"))
            .await,
        app.scalar::<i64>(&format!(
            "SELECT count(*) FROM post_likes WHERE post_id = {p}"
        ))
        .await,
    )
}

async fn body_of(app: &TestApp, p: i64) -> String {
    app.scalar::<String>(&format!("SELECT body FROM posts WHERE id = {p}"))
        .await
}

#[tokio::test]
async fn a_post_in_a_hidden_thread_is_not_found_through_either_door_and_nothing_changes() {
    let app = TestApp::new().await;
    let cat = app.category(None, "General", false).await;
    let alice = app.user("alice", "member").await;
    let bob = app.user("bob", "member").await;
    let moder = app.user("mod", "moderator").await;
    let (a, b) = (token(&app, &alice).await, token(&app, &bob).await);
    let t = app.thread(&alice, cat, "Hidden later", "first").await;
    let p = app.reply(&bob, t, "bob's reply").await;
    sql(
        &app,
        &format!("UPDATE threads SET is_hidden = true WHERE id = {t}"),
    )
    .await;

    // See: /p/{id}/ is a 404 like a missing post, for members and anonymous visitors alike.
    for who in [&alice, &bob, &Browser::default()] {
        assert_eq!(
            app.get(&format!("/p/{p}/"), who).await.status,
            StatusCode::NOT_FOUND
        );
    }
    assert_eq!(
        app.get("/p/999999/", &alice).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        api(&app, "GET", &format!("/api/posts/{p}/"), None, &a)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let to_post = app.get(&format!("/p/{p}/"), &moder).await;
    assert_eq!(to_post.status, StatusCode::SEE_OTHER);
    assert!(to_post.location().contains(&format!("/t/{t}/")));

    // Like: 404 through both doors, no like stored.
    let form = app
        .post(&format!("/p/{p}/like"), &[("like", "true")], &alice)
        .await;
    assert_eq!(form.status, StatusCode::NOT_FOUND, "{}", form.body);
    let json = api(&app, "POST", &format!("/api/posts/{p}/like"), None, &a).await;
    assert_eq!(json.status, StatusCode::NOT_FOUND, "{}", json.body);
    assert_eq!(likes(&app, p).await, (0, 0));

    // Edit by its author: 404 through both doors, the text unchanged, no history row.
    let form = app
        .post(&format!("/p/{p}/edit"), &[("body", "form edit")], &bob)
        .await;
    assert_eq!(form.status, StatusCode::NOT_FOUND, "{}", form.body);
    assert_eq!(
        app.get(&format!("/p/{p}/edit"), &bob).await.status,
        StatusCode::NOT_FOUND
    );
    let json = api(
        &app,
        "PATCH",
        &format!("/api/posts/{p}/"),
        Some(json!({"body": "api edit"})),
        &b,
    )
    .await;
    assert_eq!(json.status, StatusCode::NOT_FOUND, "{}", json.body);
    assert_eq!(body_of(&app, p).await, "bob's reply");
    assert_eq!(
        app.scalar::<i64>("SELECT count(*) FROM post_edits").await,
        0
    );

    // Delete by its author: 404 through both doors, still there.
    assert_eq!(
        app.post(&format!("/p/{p}/delete"), &[], &bob).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        api(&app, "DELETE", &format!("/api/posts/{p}/"), None, &b)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert!(
        !app.scalar::<bool>(&format!("SELECT is_deleted FROM posts WHERE id = {p}"))
            .await
    );
}

#[tokio::test]
async fn a_deleted_post_cannot_be_liked_through_either_door() {
    let app = TestApp::new().await;
    let cat = app.category(None, "General", false).await;
    let alice = app.user("alice", "member").await;
    let bob = app.user("bob", "member").await;
    let a = token(&app, &alice).await;
    let t = app.thread(&alice, cat, "Deleted reply", "first").await;
    let p = app.reply(&bob, t, "soon gone").await;
    assert_eq!(
        app.post(&format!("/p/{p}/delete"), &[], &bob).await.status,
        StatusCode::SEE_OTHER
    );
    let form = app
        .post(&format!("/p/{p}/like"), &[("like", "true")], &alice)
        .await;
    assert_eq!(form.status, StatusCode::NOT_FOUND, "{}", form.body);
    let json = api(&app, "POST", &format!("/api/posts/{p}/like"), None, &a).await;
    assert_eq!(json.status, StatusCode::NOT_FOUND, "{}", json.body);
    assert_eq!(likes(&app, p).await, (0, 0));
    // The thread page offers no Like button on it.
    let page = app.get(&format!("/t/{t}/"), &alice).await;
    assert!(
        !page.body.contains(&format!("action=\"/p/{p}/like\"")),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn closed_threads_refuse_members_edits_through_both_doors_and_accept_moderators() {
    let app = TestApp::new().await;
    let cat = app.category(None, "General", false).await;
    let alice = app.user("alice", "member").await;
    let bob = app.user("bob", "member").await;
    let moder = app.user("mod", "moderator").await;
    let (b, m) = (token(&app, &bob).await, token(&app, &moder).await);
    let t = app.thread(&alice, cat, "Closing", "first").await;
    let p = app.reply(&bob, t, "before closing").await;
    let close = app
        .post(&format!("/t/{t}/moderate"), &[("action", "close")], &moder)
        .await;
    assert_eq!(close.status, StatusCode::SEE_OTHER);

    let form = app
        .post(&format!("/p/{p}/edit"), &[("body", "form edit")], &bob)
        .await;
    assert_eq!(form.status, StatusCode::FORBIDDEN, "{}", form.body);
    assert!(form.body.contains("closed"));
    let json = api(
        &app,
        "PATCH",
        &format!("/api/posts/{p}/"),
        Some(json!({"body": "api edit"})),
        &b,
    )
    .await;
    assert_eq!(json.status, StatusCode::FORBIDDEN, "{}", json.body);
    assert!(json.json()["error"].as_str().unwrap().contains("closed"));
    assert_eq!(body_of(&app, p).await, "before closing");
    let page = app.get(&format!("/t/{t}/"), &bob).await;
    assert!(!page.body.contains(&format!("href=\"/p/{p}/edit\"")));

    let json = api(
        &app,
        "PATCH",
        &format!("/api/posts/{p}/"),
        Some(json!({"body": "moderated"})),
        &m,
    )
    .await;
    assert_eq!(json.status, StatusCode::OK, "{}", json.body);
    let form = app
        .post(
            &format!("/p/{p}/edit"),
            &[("body", "moderated twice")],
            &moder,
        )
        .await;
    assert_eq!(form.status, StatusCode::SEE_OTHER, "{}", form.body);
    assert_eq!(body_of(&app, p).await, "moderated twice");
}

#[tokio::test]
async fn a_redacting_moderator_hides_the_edit_history_from_members_through_both_doors() {
    let app = TestApp::new().await;
    let cat = app.category(None, "General", false).await;
    let alice = app.user("alice", "member").await;
    let bob = app.user("bob", "member").await;
    let moder = app.user("mod", "moderator").await;
    let (a, b, m) = (
        token(&app, &alice).await,
        token(&app, &bob).await,
        token(&app, &moder).await,
    );
    let t = app.thread(&alice, cat, "Redactions", "first").await;
    let p = app.reply(&bob, t, "my phone is 555-0100").await;
    let q = app.reply(&bob, t, "my address is 1 Main St").await;

    // A plain edit keeps the history readable by all.
    let json = api(
        &app,
        "PATCH",
        &format!("/api/posts/{p}/"),
        Some(json!({"body": "typo fixed"})),
        &b,
    )
    .await;
    assert_eq!(json.status, StatusCode::OK);
    assert_eq!(
        app.get(&format!("/p/{p}/history"), &alice).await.status,
        StatusCode::OK
    );

    // A member cannot hide a history.
    let json = api(
        &app,
        "PATCH",
        &format!("/api/posts/{q}/"),
        Some(json!({"body": "x", "hide_history": true})),
        &b,
    )
    .await;
    assert_eq!(json.status, StatusCode::FORBIDDEN, "{}", json.body);
    assert_eq!(body_of(&app, q).await, "my address is 1 Main St");

    // Redacted through the API (p) and through the form (q).
    let json = api(
        &app,
        "PATCH",
        &format!("/api/posts/{p}/"),
        Some(json!({"body": "[redacted]", "hide_history": true})),
        &m,
    )
    .await;
    assert_eq!(json.status, StatusCode::OK, "{}", json.body);
    let form = app
        .post(
            &format!("/p/{q}/edit"),
            &[("body", "[redacted]"), ("hide_history", "on")],
            &moder,
        )
        .await;
    assert_eq!(form.status, StatusCode::SEE_OTHER, "{}", form.body);
    assert!(
        app.get(&format!("/p/{q}/edit"), &moder)
            .await
            .body
            .contains("name=\"hide_history\"")
    );

    for (post, secret) in [(p, "555-0100"), (q, "1 Main St")] {
        for who in [&alice, &bob, &Browser::default()] {
            let page = app.get(&format!("/p/{post}/history"), who).await;
            assert_eq!(page.status, StatusCode::NOT_FOUND);
            assert!(!page.body.contains(secret));
        }
        for tok in [&a, &b] {
            let json = api(&app, "GET", &format!("/api/posts/{post}/edits/"), None, tok).await;
            assert_eq!(json.status, StatusCode::NOT_FOUND);
            assert!(!json.body.contains(secret));
        }
        let page = app.get(&format!("/p/{post}/history"), &moder).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains(secret));
        let json = api(&app, "GET", &format!("/api/posts/{post}/edits/"), None, &m).await;
        assert_eq!(json.status, StatusCode::OK);
        assert!(json.body.contains(secret));
    }
    // The thread page no longer links members to the hidden history.
    let page = app.get(&format!("/t/{t}/"), &alice).await;
    assert!(
        !page.body.contains(&format!("/p/{p}/history")),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn the_first_post_cannot_be_deleted_through_either_door() {
    let app = TestApp::new().await;
    let cat = app.category(None, "General", false).await;
    let alice = app.user("alice", "member").await;
    let moder = app.user("mod", "moderator").await;
    let (a, m) = (token(&app, &alice).await, token(&app, &moder).await);
    let t = app.thread(&alice, cat, "Opening", "the opening post").await;
    let first: i64 = app
        .scalar(&format!("SELECT min(id) FROM posts WHERE thread_id = {t}"))
        .await;
    let form = app.post(&format!("/p/{first}/delete"), &[], &alice).await;
    assert_eq!(form.status, StatusCode::CONFLICT, "{}", form.body);
    for tok in [&a, &m] {
        let json = api(&app, "DELETE", &format!("/api/posts/{first}/"), None, tok).await;
        assert_eq!(json.status, StatusCode::CONFLICT, "{}", json.body);
    }
    assert!(
        !app.scalar::<bool>(&format!("SELECT is_deleted FROM posts WHERE id = {first}"))
            .await
    );
    let page = app.get(&format!("/t/{t}/"), &alice).await;
    assert!(page.body.contains("the opening post"));
    assert!(!page.body.contains(&format!("action=\"/p/{first}/delete\"")));
}

#[tokio::test]
async fn lists_profiles_search_and_forms_show_what_they_should() {
    let app = TestApp::new().await;
    let cat = app.category(None, "General", false).await;
    let alice = app.user("alice", "member").await;
    let bob = app.user("bob", "member").await;
    let moder = app.user("mod", "moderator").await;

    // A pinned thread is listed once; one post is "1 post".
    let pinned = app.thread(&alice, cat, "Read me first", "rules").await;
    app.thread(&alice, cat, "Ordinary", "chat").await;
    let pin = app
        .post(
            &format!("/t/{pinned}/moderate"),
            &[("action", "pin")],
            &moder,
        )
        .await;
    assert_eq!(pin.status, StatusCode::SEE_OTHER);
    for who in [&bob, &moder, &Browser::default()] {
        let page = app.get(&format!("/c/{cat}/"), who).await;
        assert_eq!(
            page.body.matches(&format!("href=\"/t/{pinned}/\"")).count(),
            1,
            "{}",
            page.body
        );
        assert!(page.body.contains("1 post<"), "{}", page.body);
        assert!(!page.body.contains("1 posts"));
    }

    // A post on page 2: /p/{id}/ and the search hit lead there.
    let t = app.thread(&alice, cat, "Long thread", "first").await;
    for i in 0..20 {
        app.reply(&alice, t, &format!("reply {i}")).await;
    }
    let late = app.reply(&bob, t, "zanzibar marmalade").await;
    let to_post = app.get(&format!("/p/{late}/"), &alice).await;
    assert_eq!(to_post.location(), format!("/t/{t}/?page=2#post-{late}"));
    let search = app.get("/search?q=zanzibar", &alice).await;
    assert!(
        search.body.contains(&format!("href=\"/p/{late}/\"")),
        "{}",
        search.body
    );

    // Profiles name the thread.
    let profile = app.get(&format!("/u/{}/", bob.user_id), &alice).await;
    assert!(profile.body.contains("In Long thread"), "{}", profile.body);
    assert!(!profile.body.contains(&format!("In thread {t}")));

    // Avatars beside posts.
    sql(
        &app,
        &format!(
            "UPDATE users SET avatar = '/media/avatars/bob.png' WHERE id = {}",
            bob.user_id
        ),
    )
    .await;
    let page = app.get(&format!("/t/{t}/?page=2"), &alice).await;
    assert!(
        page.body
            .contains("<img class=\"avatar\" src=\"/media/avatars/bob.png\""),
        "{}",
        page.body
    );

    // A refused thread form keeps the poll.
    let r = app
        .post(
            &format!("/c/{cat}/new"),
            &[
                ("title", "With a poll"),
                ("body", "vote"),
                ("poll_question", "Tea or coffee?"),
                ("poll_choices", "Only tea"),
                ("poll_max_choices", "1"),
                ("poll_hours", "48"),
                ("poll_public", "on"),
            ],
            &alice,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("value=\"Tea or coffee?\""), "{}", r.body);
    assert!(r.body.contains(">Only tea</textarea>"));
    assert!(r.body.contains("value=\"48\""));
    assert!(r.body.contains("name=\"poll_public\" value=\"on\" checked"));
}
