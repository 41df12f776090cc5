//! Private threads through the pages and the API: started with invited members, read and
//! replied to by them only, invisible to everyone else (404; absent from lists, counts and
//! search), invitations and removals by the owner, leaving.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{Browser, Resp, TestApp};
use serde_json::{Value, json};

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

async fn api(
    app: &TestApp,
    method: &str,
    path: &str,
    body: Option<Value>,
    t: Option<&str>,
) -> Resp {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(t) = t {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let req = match body {
        Some(b) => req
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    }
    .unwrap();
    app.send(req, &Browser::default()).await
}

/// Everything a reader could reach thread `t` (first post `p`) by: 404 for `who`.
async fn invisible_to(
    app: &TestApp,
    who: &Browser,
    tok: Option<&str>,
    t: i64,
    p: i64,
    needle: &str,
) {
    for path in [
        format!("/t/{t}/"),
        format!("/p/{p}/"),
        format!("/p/{p}/history"),
    ] {
        assert_eq!(
            app.get(&path, who).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    for path in [
        format!("/api/threads/{t}/"),
        format!("/api/threads/{t}/posts/"),
        format!("/api/posts/{p}/"),
    ] {
        let r = api(app, "GET", &path, None, tok).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.body);
    }
    for path in ["/", "/search?q=marmalade"] {
        assert!(!app.get(path, who).await.body.contains(needle), "{path}");
    }
    for path in [
        "/api/threads/",
        "/api/search/?q=marmalade",
        "/api/categories/",
    ] {
        assert!(
            !api(app, "GET", path, None, tok).await.body.contains(needle),
            "{path}"
        );
    }
    if who.session.is_some() {
        let r = app
            .post(&format!("/t/{t}/reply"), &[("body", "hi")], who)
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        let r = api(
            app,
            "POST",
            &format!("/api/threads/{t}/posts/"),
            Some(json!({"body": "hi"})),
            tok,
        )
        .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        assert!(!app.get("/private-threads", who).await.body.contains(needle));
    }
}

#[tokio::test]
async fn a_private_thread_is_for_its_participants_only() {
    let app = TestApp::new().await;
    let general = app.category(None, "General", false).await;
    let ann = app.user("ann", "member").await;
    let bob = app.user("bob", "member").await;
    let eve = app.user("eve", "member").await;
    let admin = app.admin("root").await;
    let (at, bt, et) = (
        token(&app, &ann).await,
        token(&app, &bob).await,
        token(&app, &eve).await,
    );
    app.thread(&ann, general, "Public chatter", "hello").await;
    let threads_in_tree: i64 = app
        .scalar("SELECT sum(thread_count)::bigint FROM categories WHERE NOT is_private")
        .await;

    let r = api(
        &app,
        "POST",
        "/api/private-threads/",
        Some(
            json!({"title": "Secret recipe", "body": "orange marmalade", "participants": ["Bob"]}),
        ),
        Some(&at),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let t = r.json()["id"].as_i64().unwrap();
    assert_eq!(r.json()["invited"], json!([bob.user_id]));
    let p: i64 = app
        .scalar(&format!("SELECT min(id) FROM posts WHERE thread_id = {t}"))
        .await;

    // The participants read and reply, through both doors.
    for (who, tok) in [(&ann, &at), (&bob, &bt)] {
        let page = app.get(&format!("/t/{t}/"), who).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            page.body.contains("orange marmalade") && page.body.contains("id=\"participants\"")
        );
        let r = api(&app, "GET", &format!("/api/threads/{t}/"), None, Some(tok)).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.json()["participants"].as_array().unwrap().len(), 2);
        assert!(
            app.get("/private-threads", who)
                .await
                .body
                .contains("Secret recipe")
        );
        let mine = api(&app, "GET", "/api/private-threads/", None, Some(tok)).await;
        assert!(mine.body.contains("Secret recipe"));
    }
    app.reply(&bob, t, "with ginger").await;
    let r = api(
        &app,
        "POST",
        &format!("/api/threads/{t}/posts/"),
        Some(json!({"body": "yes"})),
        Some(&at),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);

    // Nobody else: a third member, a guest, an administrator.
    invisible_to(&app, &eve, Some(&et), t, p, "Secret recipe").await;
    invisible_to(&app, &Browser::default(), None, t, p, "Secret recipe").await;
    invisible_to(
        &app,
        &admin,
        Some(&token(&app, &admin).await),
        t,
        p,
        "Secret recipe",
    )
    .await;
    // Not in the participants' public lists or search either, nor in the tree's counts.
    assert!(!app.get("/", &ann).await.body.contains("Secret recipe"));
    let hits = api(&app, "GET", "/api/search/?q=marmalade", None, Some(&at))
        .await
        .json();
    assert_eq!(
        hits["results"].as_array().unwrap().len(),
        0,
        "search is of public threads"
    );
    assert_eq!(
        app.scalar::<i64>("SELECT sum(thread_count)::bigint FROM categories WHERE NOT is_private")
            .await,
        threads_in_tree
    );
    let cats = api(&app, "GET", "/api/categories/", None, Some(&at))
        .await
        .json();
    assert_eq!(cats["results"].as_array().unwrap().len(), 1);
    // Nor can a moderator move it into a category, nor anyone start a thread in its category.
    let moder = app.user("moe", "moderator").await;
    let r = api(
        &app,
        "PATCH",
        &format!("/api/threads/{t}/"),
        Some(json!({"is_hidden": true})),
        Some(&token(&app, &moder).await),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = api(
        &app,
        "POST",
        "/api/threads/",
        Some(json!({"category_id": 0, "title": "Sneaky", "body": "x"})),
        Some(&et),
    )
    .await;
    assert!(
        r.status == StatusCode::NOT_FOUND || r.status == StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        r.status
    );
    let metrics = app.get("/metrics", &Browser::default()).await.body;
    assert!(
        metrics.contains("forum_private_threads_created_total 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn the_owner_invites_and_removes_and_participants_leave() {
    let app = TestApp::new().await;
    let ann = app.user("ann", "member").await;
    let bob = app.user("bob", "member").await;
    let cat = app.user("cat", "member").await;
    let (at, bt, ct) = (
        token(&app, &ann).await,
        token(&app, &bob).await,
        token(&app, &cat).await,
    );
    // Started through the page.
    let r = app
        .post(
            "/private-threads",
            &[
                ("title", "Trip planning"),
                ("participants", "bob"),
                ("body", "marmalade sandwiches"),
            ],
            &ann,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let t = common::id_in(&r.location(), "/t/");
    let p: i64 = app
        .scalar(&format!("SELECT min(id) FROM posts WHERE thread_id = {t}"))
        .await;
    invisible_to(&app, &cat, Some(&ct), t, p, "Trip planning").await;
    // Only the owner invites.
    let invite = format!("/api/private-threads/{t}/participants");
    let r = api(
        &app,
        "POST",
        &invite,
        Some(json!({"participants": ["cat"]})),
        Some(&bt),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = api(
        &app,
        "POST",
        &invite,
        Some(json!({"participants": ["cat"]})),
        Some(&ct),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "an outsider does not learn it exists"
    );
    let r = app
        .post(
            &format!("/t/{t}/participants"),
            &[("username", "cat")],
            &ann,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.get(&format!("/t/{t}/"), &cat).await.status,
        StatusCode::OK
    );
    let r = api(
        &app,
        "POST",
        &invite,
        Some(json!({"participants": ["nobody-here"]})),
        Some(&at),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("nobody-here"));
    // The owner removes cat (page); bob cannot remove anyone.
    let r = api(
        &app,
        "DELETE",
        &format!("{invite}/{}", ann.user_id),
        None,
        Some(&bt),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .post(
            &format!("/t/{t}/participants/remove"),
            &[("user_id", &cat.user_id.to_string())],
            &ann,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    invisible_to(&app, &cat, Some(&ct), t, p, "Trip planning").await;
    // The owner leaves (API): bob owns it now and is alone; bob leaves (page): it is gone.
    let r = api(
        &app,
        "DELETE",
        &format!("{invite}/{}", ann.user_id),
        None,
        Some(&at),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    invisible_to(&app, &ann, Some(&at), t, p, "Trip planning").await;
    let page = app.get(&format!("/t/{t}/"), &bob).await.body;
    assert!(page.contains("id=\"invite\""), "bob owns it");
    let r = app.post(&format!("/t/{t}/leave"), &[], &bob).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.scalar::<i64>(&format!("SELECT count(*) FROM threads WHERE id = {t}"))
            .await,
        0
    );
}

#[tokio::test]
async fn a_private_thread_needs_real_members_and_a_login() {
    let app = TestApp::new().await;
    let ann = app.user("ann", "member").await;
    let at = token(&app, &ann).await;
    let start = |participants: Value| json!({"title": "Hello there", "body": "x", "participants": participants});
    let r = api(
        &app,
        "POST",
        "/api/private-threads/",
        Some(start(json!(["bob"]))),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    for bad in [json!([]), json!(["ann"]), json!(["ghost"])] {
        let r = api(
            &app,
            "POST",
            "/api/private-threads/",
            Some(start(bad.clone())),
            Some(&at),
        )
        .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {}",
            r.body
        );
        assert_eq!(r.json()["field"], "participants");
    }
    let many: Vec<String> = (0..25).map(|i| format!("user{i}")).collect();
    let r = api(
        &app,
        "POST",
        "/api/private-threads/",
        Some(start(json!(many))),
        Some(&at),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app
        .post(
            "/private-threads",
            &[
                ("title", "Hello there"),
                ("participants", "ghost"),
                ("body", "x"),
            ],
            &ann,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("no member named ghost"));
    assert_eq!(app.scalar::<i64>("SELECT count(*) FROM threads").await, 0);
    let r = app.get("/private-threads", &Browser::default()).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "to the login page");
}
