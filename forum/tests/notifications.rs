//! Notifications through the pages and the API: replies to watchers, mentions, quotes, best
//! answers and invitations (the model function), never to the actor, never about a thread the
//! member may not see; the bell, the page, marking read; watching; the preferences.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{Browser, Resp, TestApp};
use forum::models::notifications::{self, Kind, Notification};

/// `method path` with a JSON body, as `b` (session cookie).
async fn json(
    app: &TestApp,
    method: &str,
    path: &str,
    body: serde_json::Value,
    b: &Browser,
) -> Resp {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    app.send(req, b).await
}

async fn count(app: &TestApp, user: &Browser, kind: &str) -> i64 {
    app.scalar::<i64>(&format!(
        "SELECT count(*) FROM notifications WHERE user_id = {} AND kind = '{kind}'",
        user.user_id
    ))
    .await
}

#[tokio::test]
async fn a_reply_notifies_the_watcher_on_the_bell_the_page_and_the_api_but_not_its_author() {
    let app = TestApp::new().await;
    let cat = app.category(None, "General", false).await;
    let alice = app.user("alice", "member").await;
    let bob = app.user("bob", "member").await;
    let t = app
        .thread(&alice, cat, "Watched by its author", "first")
        .await;
    // Alice watches her thread by posting in it; bob's reply notifies her, not him.
    let post = app.reply(&bob, t, "a reply").await;
    assert_eq!(count(&app, &alice, "reply").await, 1);
    assert_eq!(
        app.scalar::<i64>(&format!(
            "SELECT count(*) FROM notifications WHERE user_id = {}",
            bob.user_id
        ))
        .await,
        0
    );

    let page = app.get("/", &alice).await;
    assert!(page.body.contains("data-count=\"1\""), "{}", page.body);
    let page = app.get("/notifications", &alice).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("bob replied in"), "{}", page.body);
    assert!(page.body.contains("Watched by its author"));

    let api = app.get("/api/notifications/", &alice).await;
    assert_eq!(api.status, StatusCode::OK, "{}", api.body);
    let v = api.json();
    assert_eq!(v["unread"], 1);
    let item = &v["items"][0];
    assert_eq!(item["kind"], "reply");
    assert_eq!(item["thread_id"], t);
    assert_eq!(item["post_id"], post);
    assert_eq!(item["read"], false);
    assert_eq!(item["actor_name"], "bob");
    let id = item["id"].as_i64().unwrap();

    // Someone else's ids are ignored; a body without ids or all is a 422.
    let r = json(
        &app,
        "POST",
        "/api/notifications/read",
        serde_json::json!({"ids": [id]}),
        &bob,
    )
    .await;
    assert_eq!(r.json()["marked"], 0);
    let r = json(
        &app,
        "POST",
        "/api/notifications/read",
        serde_json::json!({}),
        &alice,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = json(
        &app,
        "POST",
        "/api/notifications/read",
        serde_json::json!({"ids": [id]}),
        &alice,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["marked"], 1);
    assert_eq!(r.json()["unread"], 0);
    let page = app.get("/", &alice).await;
    assert!(page.body.contains("data-count=\"0\""));

    // Mark all through the page; anonymous callers get 401 from the API.
    app.reply(&bob, t, "another").await;
    assert_eq!(
        app.get("/api/notifications/", &alice).await.json()["unread"],
        1
    );
    let r = app
        .post("/notifications/read", &[("all", "1")], &alice)
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.get("/api/notifications/", &alice).await.json()["unread"],
        0
    );
    assert_eq!(
        app.get("/api/notifications/", &Browser::default())
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get("/notifications", &Browser::default()).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn opening_a_notification_marks_it_read_and_leads_to_the_post() {
    let app = TestApp::new().await;
    let cat = app.category(None, "General", false).await;
    let alice = app.user("alice", "member").await;
    let bob = app.user("bob", "member").await;
    let t = app.thread(&alice, cat, "Open me", "first").await;
    let post = app.reply(&bob, t, "a reply").await;
    let id: i64 = app.scalar("SELECT id FROM notifications").await;
    let r = app.get(&format!("/notifications/{id}/"), &bob).await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "another member's notification"
    );
    let r = app.get(&format!("/notifications/{id}/"), &alice).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), format!("/p/{post}/"));
    assert_eq!(
        app.get("/api/notifications/", &alice).await.json()["unread"],
        0
    );
}

#[tokio::test]
async fn nobody_is_notified_about_a_thread_they_cannot_see() {
    let app = TestApp::new().await;
    let cat = app.category(None, "General", false).await;
    let alice = app.user("alice", "member").await;
    let carol = app.user("carol", "member").await;
    let moderator = app.user("mod", "moderator").await;
    let t = app.thread(&alice, cat, "Soon hidden", "first").await;
    app.reply(&carol, t, "carol watches now").await;
    let r = app
        .post(
            &format!("/t/{t}/moderate"),
            &[("action", "hide")],
            &moderator,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // The moderator replies in the hidden thread and mentions both members: neither watcher
    // nor mentioned member may see it.
    app.reply(&moderator, t, "moderator note for @alice and @carol")
        .await;
    assert_eq!(
        app.scalar::<i64>("SELECT count(*) FROM notifications WHERE user_id <> (SELECT id FROM users WHERE username = 'mod')")
            .await,
        1,
        "only carol's reply notified alice, before the thread was hidden"
    );
    // The model function follows the same policy: a member is refused, a moderator told.
    let client = app.state.pool.get().await.unwrap();
    let invite = |recipient| Notification {
        kind: Kind::PrivateThread,
        recipient,
        thread_id: t,
        post_id: None,
        actor: Some(alice.user_id),
    };
    assert!(
        !notifications::notify(&client, invite(carol.user_id))
            .await
            .unwrap()
    );
    assert!(
        notifications::notify(&client, invite(moderator.user_id))
            .await
            .unwrap()
    );
    // A second time changes nothing, and the actor is never told.
    assert!(
        !notifications::notify(&client, invite(moderator.user_id))
            .await
            .unwrap()
    );
    assert!(
        !notifications::notify(&client, invite(alice.user_id))
            .await
            .unwrap()
    );
    assert_eq!(count(&app, &moderator, "private_thread").await, 1);
    // A hidden thread's notifications are not listed to a member any more.
    let before = app.get("/api/notifications/", &alice).await.json();
    assert_eq!(before["items"].as_array().unwrap().len(), 0, "{before}");
}

#[tokio::test]
async fn the_private_thread_kind_is_written_by_the_model_function_and_listed() {
    let app = TestApp::new().await;
    let cat = app.category(None, "General", false).await;
    let alice = app.user("alice", "member").await;
    let bob = app.user("bob", "member").await;
    let t = app.thread(&alice, cat, "Talk", "first").await;
    let mut client = app.state.pool.get().await.unwrap();
    let tx = client.transaction().await.unwrap();
    let written = notifications::notify(
        &tx,
        Notification {
            kind: Kind::PrivateThread,
            recipient: bob.user_id,
            thread_id: t,
            post_id: None,
            actor: Some(alice.user_id),
        },
    )
    .await
    .unwrap();
    assert!(written);
    tx.commit().await.unwrap();
    let v = app.get("/api/notifications/", &bob).await.json();
    assert_eq!(v["items"][0]["kind"], "private_thread");
    assert_eq!(v["items"][0]["post_id"], serde_json::Value::Null);
    let page = app.get("/notifications", &bob).await;
    assert!(
        page.body
            .contains("alice invited you to the private thread"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn mentions_link_to_profiles_notify_at_most_ten_and_skip_unknown_names_code_and_oneself() {
    let app = TestApp::new().await;
    let cat = app.category(None, "General", false).await;
    let alice = app.user("alice", "member").await;
    let mut members = Vec::new();
    for i in 0..12 {
        members.push(app.user(&format!("member{i:02}"), "member").await);
    }
    let coder = app.user("coder", "member").await;
    let names: String = (0..12).map(|i| format!("@member{i:02} ")).collect();
    let body = format!("Hello @alice @ghost_member `@coder`\n\n{names}");
    let t = app.thread(&alice, cat, "Mentions", &body).await;
    let mentioned: i64 = app
        .scalar("SELECT count(*) FROM notifications WHERE kind = 'mention'")
        .await;
    // The first ten distinct names: alice (herself, not told), the ghost (no such member) and
    // eight members; the last four members are beyond the cap.
    assert_eq!(mentioned, 8);
    assert_eq!(count(&app, &members[0], "mention").await, 1);
    assert_eq!(count(&app, &members[11], "mention").await, 0);
    assert_eq!(count(&app, &alice, "mention").await, 0);
    assert_eq!(count(&app, &coder, "mention").await, 0);
    let page = app.get(&format!("/t/{t}/"), &Browser::default()).await;
    assert!(
        page.body.contains(&format!(
            "<a href=\"/u/{}/\" rel=\"nofollow noopener noreferrer\">@member00</a>",
            members[0].user_id
        )),
        "{}",
        page.body
    );
    assert!(page.body.contains("@ghost_member"));
    assert!(!page.body.contains("href=\"/u/0/\""));
    assert!(page.body.contains("<code>@coder</code>"));

    // A reply that mentions a watcher tells them once, as a mention.
    let bob = app.user("bob", "member").await;
    app.reply(&bob, t, "@alice look").await;
    assert_eq!(count(&app, &alice, "mention").await, 1);
    assert_eq!(count(&app, &alice, "reply").await, 0);
}

#[tokio::test]
async fn a_quote_notifies_the_quoted_author_and_a_best_answer_its_author() {
    let app = TestApp::new().await;
    let cat = app.category(None, "Questions", true).await;
    let alice = app.user("alice", "member").await;
    let bob = app.user("bob", "member").await;
    let carol = app.user("carol", "member").await;
    let t = app.thread(&alice, cat, "How?", "Question").await;
    let answer = app.reply(&bob, t, "Like this").await;
    let quote = format!("> @bob wrote in [post #{answer}](/p/{answer}/):\n> Like this\n\nThanks!");
    app.reply(&carol, t, &quote).await;
    assert_eq!(count(&app, &bob, "quote").await, 1);
    assert_eq!(count(&app, &bob, "reply").await, 0, "told once, as a quote");
    let r = app.post(&format!("/p/{answer}/best"), &[], &alice).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(count(&app, &bob, "best_answer").await, 1);
    let v = app.get("/api/notifications/", &bob).await.json();
    assert_eq!(v["items"][0]["kind"], "best_answer");
    assert_eq!(v["items"][0]["post_id"], answer);
}

#[tokio::test]
async fn watching_through_the_page_and_the_api_and_the_posting_preference() {
    let app = TestApp::new().await;
    let cat = app.category(None, "General", false).await;
    let alice = app.user("alice", "member").await;
    let bob = app.user("bob", "member").await;
    let carol = app.user("carol", "member").await;
    let t = app.thread(&alice, cat, "Watch me", "first").await;

    let page = app.get(&format!("/t/{t}/"), &bob).await;
    assert!(page.body.contains(">Watch</button>"), "{}", page.body);
    let r = app
        .post(&format!("/t/{t}/watch"), &[("watch", "true")], &bob)
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        app.get(&format!("/t/{t}/"), &bob)
            .await
            .body
            .contains(">Stop watching</button>")
    );
    let r = json(
        &app,
        "POST",
        &format!("/api/threads/{t}/watch"),
        serde_json::json!({}),
        &carol,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["watching"], true);
    let watched = app.get("/api/watched/", &carol).await.json();
    assert_eq!(watched["results"][0]["id"], t);
    assert!(app.get("/watched", &bob).await.body.contains("Watch me"));

    app.reply(&alice, t, "news").await;
    assert_eq!(count(&app, &bob, "reply").await, 1);
    assert_eq!(count(&app, &carol, "reply").await, 1);

    let r = json(
        &app,
        "DELETE",
        &format!("/api/threads/{t}/watch"),
        serde_json::json!({}),
        &carol,
    )
    .await;
    assert_eq!(r.json()["watching"], false);
    let r = app
        .post(&format!("/t/{t}/watch"), &[("watch", "false")], &bob)
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    app.reply(&alice, t, "more news").await;
    assert_eq!(count(&app, &bob, "reply").await, 1);
    assert_eq!(count(&app, &carol, "reply").await, 1);
    assert_eq!(
        app.get("/api/watched/", &carol).await.json()["results"],
        serde_json::json!([])
    );

    // With the preference off, posting does not watch.
    let r = json(
        &app,
        "PUT",
        "/api/me/preferences/",
        serde_json::json!({"watch_on_post": false}),
        &carol,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    app.reply(&carol, t, "just passing").await;
    app.reply(&alice, t, "even more").await;
    assert_eq!(count(&app, &carol, "reply").await, 1);
    // Watching a missing thread is a 404; anonymous callers get 401.
    let r = json(
        &app,
        "POST",
        "/api/threads/999999/watch",
        serde_json::json!({}),
        &carol,
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = json(
        &app,
        "POST",
        &format!("/api/threads/{t}/watch"),
        serde_json::json!({}),
        &Browser::default(),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn preferences_through_the_page_and_the_api() {
    let app = TestApp::new().await;
    let alice = app.user("alice", "member").await;
    let v = app.get("/api/me/preferences/", &alice).await.json();
    assert_eq!(
        v,
        serde_json::json!({"notify_email": "instant", "watch_on_post": true})
    );
    let r = app
        .post(
            "/account/notifications",
            &[("notify_email", "digest")],
            &alice,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("Saved."));
    let v = app.get("/api/me/preferences/", &alice).await.json();
    assert_eq!(
        v,
        serde_json::json!({"notify_email": "digest", "watch_on_post": false})
    );
    let r = app
        .post(
            "/account/notifications",
            &[("notify_email", "sometimes")],
            &alice,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = json(
        &app,
        "PUT",
        "/api/me/preferences/",
        serde_json::json!({"notify_email": "often"}),
        &alice,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = json(
        &app,
        "PUT",
        "/api/me/preferences/",
        serde_json::json!({"notify_email": "never", "watch_on_post": true}),
        &alice,
    )
    .await;
    assert_eq!(
        r.json(),
        serde_json::json!({"notify_email": "never", "watch_on_post": true})
    );
    let page = app.get("/account/notifications", &alice).await;
    assert!(
        page.body.contains("value=\"never\" checked"),
        "{}",
        page.body
    );
}
