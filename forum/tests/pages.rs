//! Route tests of the pages (no socket: `oneshot`), each on a fresh database.

mod common;

use axum::http::StatusCode;
use common::{Browser, PASSWORD, TestApp, id_in};

#[tokio::test]
async fn register_log_in_and_log_out() {
    let app = TestApp::new().await;
    let anon = Browser::default();
    let page = app.get("/register", &anon).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("name=\"csrf\""));

    let r = app
        .post(
            "/register",
            &[
                ("username", "alice"),
                ("email", "alice@example.com"),
                ("password", PASSWORD),
            ],
            &anon,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), "/");
    let set = r
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect::<Vec<_>>();
    assert!(
        set.iter().any(|c| c.starts_with("forum_session=")
            && c.contains("HttpOnly")
            && c.contains("SameSite=Lax")),
        "{set:?}"
    );
    let alice = Browser {
        session: r.cookie("forum_session"),
        ..Browser::default()
    };
    assert!(app.get("/", &alice).await.body.contains("alice"));

    let dup = app
        .post(
            "/register",
            &[
                ("username", "Alice"),
                ("email", "other@example.com"),
                ("password", PASSWORD),
            ],
            &anon,
        )
        .await;
    assert_eq!(dup.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(dup.body.contains("already taken"));
    let bad = app
        .post(
            "/register",
            &[
                ("username", "bob"),
                ("email", "nope"),
                ("password", PASSWORD),
            ],
            &anon,
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);

    let wrong = app
        .post(
            "/login",
            &[("username", "alice"), ("password", "wrong password")],
            &anon,
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("wrong username or password"));
    let ok = app
        .post(
            "/login",
            &[("username", "alice"), ("password", PASSWORD)],
            &anon,
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    let session = ok.cookie("forum_session").unwrap();

    let b = Browser {
        session: Some(session),
        ..Browser::default()
    };
    let out = app.post("/logout", &[], &b).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(
        !app.get("/", &b).await.body.contains("Log out"),
        "the session must be gone"
    );
}

#[tokio::test]
async fn threads_of_subcategories_list_newest_first_with_keyset_pages() {
    let app = TestApp::with_config(forum::Config {
        threads_per_page: 2,
        ..forum::Config::default()
    })
    .await;
    let top = app.category(None, "Top", false).await;
    let mid = app.category(Some(top), "Middle", false).await;
    let deep = app.category(Some(mid), "Deep", false).await;
    let other = app.category(None, "Other", false).await;
    let alice = app.user("alice", "member").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let cat = [top, mid, deep, deep, mid][i];
        ids.push(
            app.thread(&alice, cat, &format!("Thread number {i}"), "hello")
                .await,
        );
    }
    app.thread(&alice, other, "Elsewhere", "hi").await;
    ids.reverse();

    let mut seen = Vec::new();
    let mut url = format!("/c/{top}/");
    for _ in 0..10 {
        let page = app.get(&url, &Browser::default()).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(!page.body.contains("Elsewhere"));
        for id in &ids {
            if page.body.contains(&format!("href=\"/t/{id}/\"")) && !seen.contains(id) {
                seen.push(*id);
            }
        }
        match page.body.split(&format!("/c/{top}/?after=")).nth(1) {
            Some(rest) => url = format!("/c/{top}/?after={}", rest.split('"').next().unwrap()),
            None => break,
        }
    }
    assert_eq!(seen, ids, "every thread once, newest first");

    let page = app.get(&format!("/c/{top}/"), &Browser::default()).await;
    assert!(
        page.body.contains("Middle") && page.body.contains("4 threads"),
        "subtree counts: {}",
        page.body
    );
    assert_eq!(
        app.get("/c/999999/", &Browser::default()).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/c/abc/", &Browser::default()).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&format!("/c/{top}/?after=nonsense"), &Browser::default())
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let deep_page = app.get(&format!("/c/{deep}/"), &Browser::default()).await;
    assert!(
        deep_page
            .body
            .contains(&format!("href=\"/c/{mid}/\">Middle")),
        "breadcrumbs"
    );
}

#[tokio::test]
async fn a_thread_shows_its_posts_and_takes_replies() {
    let app = TestApp::new().await;
    let cat = app.category(None, "General", false).await;
    let alice = app.user("alice", "member").await;
    let bob = app.user("bob", "member").await;
    let form = app.get(&format!("/c/{cat}/new"), &alice).await;
    assert_eq!(form.status, StatusCode::OK);
    assert_eq!(
        app.get(&format!("/c/{cat}/new"), &Browser::default())
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    let t = app
        .thread(&alice, cat, "Hello world", "First **post**")
        .await;
    let p = app.reply(&bob, t, "A reply").await;
    let page = app.get(&format!("/t/{t}/"), &Browser::default()).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("<strong>post</strong>")
            && page.body.contains("A reply")
            && page.body.contains(&format!("post-{p}"))
    );
    let r = app.get(&format!("/p/{p}/"), &Browser::default()).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.location().starts_with(&format!("/t/{t}/")));

    let empty = app
        .post(
            &format!("/c/{cat}/new"),
            &[("title", "Hi"), ("body", "")],
            &alice,
        )
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.post(&format!("/t/{t}/reply"), &[("body", "  ")], &bob)
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        app.post("/t/999999/reply", &[("body", "x")], &bob)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let anon = app
        .post(
            &format!("/t/{t}/reply"),
            &[("body", "x")],
            &Browser::default(),
        )
        .await;
    assert_eq!(anon.status, StatusCode::SEE_OTHER);
    assert_eq!(anon.location(), "/login");
    assert_eq!(
        app.get("/t/999999/", &Browser::default()).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&format!("/t/{t}/?page=zz"), &Browser::default())
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        app.scalar::<i32>(&format!("SELECT post_count FROM threads WHERE id = {t}"))
            .await,
        2
    );
    assert_eq!(
        app.scalar::<i32>(&format!(
            "SELECT post_count FROM categories WHERE id = {cat}"
        ))
        .await,
        2
    );

    let index = app.get("/", &Browser::default()).await;
    assert!(index.body.contains("Hello world"));
    let api = app.get("/api/threads/", &Browser::default()).await.json();
    assert_eq!(api["results"][0]["id"], t);
    assert_eq!(api["results"][0]["title"], "Hello world");
}

#[tokio::test]
async fn polls_take_votes_within_their_rules() {
    let app = TestApp::new().await;
    let cat = app.category(None, "General", false).await;
    let alice = app.user("alice", "member").await;
    let bob = app.user("bob", "member").await;
    let r = app
        .post(
            &format!("/c/{cat}/new"),
            &[
                ("title", "Which database?"),
                ("body", "Vote please"),
                ("poll_question", "Best database?"),
                ("poll_choices", "PostgreSQL\nMySQL\nSQLite"),
                ("poll_max_choices", "2"),
                ("poll_hours", "24"),
                ("poll_public", "on"),
            ],
            &alice,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let t = id_in(&r.location(), "/t/");
    let choices: Vec<i64> = app
        .state
        .pool
        .get()
        .await
        .unwrap()
        .query("SELECT c.id FROM poll_choices c JOIN polls p ON p.id = c.poll_id WHERE p.thread_id = $1 ORDER BY position", &[&t])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(choices.len(), 3);
    let (a, b, c) = (
        choices[0].to_string(),
        choices[1].to_string(),
        choices[2].to_string(),
    );
    let too_many = app
        .post(
            &format!("/t/{t}/vote"),
            &[("choice", &a), ("choice", &b), ("choice", &c)],
            &bob,
        )
        .await;
    assert_eq!(too_many.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.post(
            &format!("/t/{t}/vote"),
            &[("choice", &a), ("choice", &b)],
            &bob
        )
        .await
        .status,
        StatusCode::SEE_OTHER
    );
    let again = app
        .post(&format!("/t/{t}/vote"), &[("choice", &c)], &bob)
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "no revote on this poll");
    assert_eq!(
        app.post(&format!("/t/{t}/vote"), &[("choice", "999999")], &alice)
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let page = app.get(&format!("/t/{t}/"), &alice).await;
    assert!(
        page.body.contains("1 voters")
            && page.body.contains("public votes")
            && page.body.contains("bob"),
        "{}",
        page.body
    );
    assert_eq!(
        app.scalar::<i64>("SELECT count(*) FROM poll_votes").await,
        2
    );
    let bad = app
        .post(
            &format!("/c/{cat}/new"),
            &[
                ("title", "Bad poll"),
                ("body", "x"),
                ("poll_question", "Only one?"),
                ("poll_choices", "one"),
            ],
            &alice,
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn the_author_marks_the_best_answer_in_question_categories() {
    let app = TestApp::new().await;
    let q = app.category(None, "Questions", true).await;
    let plain = app.category(None, "Chat", false).await;
    let alice = app.user("alice", "member").await;
    let bob = app.user("bob", "member").await;
    let t = app
        .thread(&alice, q, "How do I tune work_mem?", "Question")
        .await;
    let answer = app.reply(&bob, t, "Set it per query").await;
    assert_eq!(
        app.post(&format!("/p/{answer}/best"), &[], &bob)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let r = app.post(&format!("/p/{answer}/best"), &[], &alice).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = app.get(&format!("/t/{t}/"), &Browser::default()).await;
    assert!(page.body.contains("id=\"best-answer\"") && page.body.contains("Best answer by bob"));
    let t2 = app.thread(&alice, plain, "Just chatting", "Hi").await;
    let p2 = app.reply(&bob, t2, "Hello").await;
    assert_eq!(
        app.post(&format!("/p/{p2}/best"), &[], &alice).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

#[tokio::test]
async fn likes_edits_history_and_soft_deletes_follow_permissions() {
    let app = TestApp::new().await;
    let cat = app.category(None, "General", false).await;
    let alice = app.user("alice", "member").await;
    let bob = app.user("bob", "member").await;
    let moderator = app.user("mod", "moderator").await;
    let t = app.thread(&alice, cat, "Likes", "Like me").await;
    let p = app.reply(&alice, t, "Original text").await;
    assert_eq!(
        app.post(&format!("/p/{p}/like"), &[("like", "true")], &alice)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.post(&format!("/p/{p}/like"), &[("like", "true")], &bob)
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.post(&format!("/p/{p}/like"), &[("like", "true")], &bob)
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.scalar::<i32>(&format!("SELECT like_count FROM posts WHERE id = {p}"))
            .await,
        1
    );
    assert!(
        app.get(&format!("/t/{t}/"), &bob)
            .await
            .body
            .contains("Unlike")
    );
    app.post(&format!("/p/{p}/like"), &[("like", "false")], &bob)
        .await;
    assert_eq!(
        app.scalar::<i32>(&format!("SELECT like_count FROM posts WHERE id = {p}"))
            .await,
        0
    );

    assert_eq!(
        app.get(&format!("/p/{p}/edit"), &bob).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.post(&format!("/p/{p}/edit"), &[("body", "hacked")], &bob)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get(&format!("/p/{p}/edit"), &alice).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.post(&format!("/p/{p}/edit"), &[("body", "Edited text")], &alice)
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.post(
            &format!("/p/{p}/edit"),
            &[("body", "Moderated text")],
            &moderator
        )
        .await
        .status,
        StatusCode::SEE_OTHER
    );
    let history = app
        .get(&format!("/p/{p}/history"), &Browser::default())
        .await;
    assert_eq!(history.status, StatusCode::OK);
    assert!(
        history.body.contains("Original text")
            && history.body.contains("Edited text")
            && history.body.contains("Moderated text")
    );

    assert_eq!(
        app.post(&format!("/p/{p}/delete"), &[], &bob).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.post(&format!("/p/{p}/delete"), &[], &alice)
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert!(
        app.scalar::<bool>(&format!("SELECT is_deleted FROM posts WHERE id = {p}"))
            .await,
        "soft delete keeps the row"
    );
    let page = app.get(&format!("/t/{t}/"), &bob).await;
    assert!(page.body.contains("This post was deleted") && !page.body.contains("Moderated text"));
}

#[tokio::test]
async fn moderators_pin_close_hide_and_move_threads_and_members_cannot() {
    let app = TestApp::new().await;
    let a = app.category(None, "A", false).await;
    let b = app.category(None, "B", false).await;
    let alice = app.user("alice", "member").await;
    let moderator = app.user("mod", "moderator").await;
    let t = app.thread(&alice, a, "Moderate me", "text").await;
    let url = format!("/t/{t}/moderate");
    assert_eq!(
        app.post(&url, &[("action", "pin")], &alice).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.post(&url, &[("action", "pin")], &moderator)
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.post(&url, &[("action", "close")], &moderator)
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.post(&format!("/t/{t}/reply"), &[("body", "closed?")], &alice)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.post(
            &format!("/t/{t}/reply"),
            &[("body", "mods may")],
            &moderator
        )
        .await
        .status,
        StatusCode::SEE_OTHER
    );
    let bs = b.to_string();
    assert_eq!(
        app.post(
            &url,
            &[("action", "move"), ("category_id", &bs)],
            &moderator
        )
        .await
        .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.scalar::<i64>(&format!("SELECT category_id FROM threads WHERE id = {t}"))
            .await,
        b
    );
    assert_eq!(
        app.scalar::<i32>(&format!(
            "SELECT thread_count FROM categories WHERE id = {b}"
        ))
        .await,
        1
    );
    assert_eq!(
        app.scalar::<i32>(&format!(
            "SELECT thread_count FROM categories WHERE id = {a}"
        ))
        .await,
        0
    );
    assert_eq!(
        app.post(&url, &[("action", "explode")], &moderator)
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        app.post(&url, &[("action", "hide")], &moderator)
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.get(&format!("/t/{t}/"), &alice).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&format!("/t/{t}/"), &moderator).await.status,
        StatusCode::OK
    );
    assert!(!app.get("/", &alice).await.body.contains("Moderate me"));
}

#[tokio::test]
async fn profiles_and_password_changes() {
    let app = TestApp::new().await;
    let cat = app.category(None, "General", false).await;
    let alice = app.user("alice", "member").await;
    app.thread(&alice, cat, "Alice's thread", "text").await;
    let profile = app
        .get(&format!("/u/{}/", alice.user_id), &Browser::default())
        .await;
    assert_eq!(profile.status, StatusCode::OK);
    assert!(
        profile.body.contains("Alice&#x27;s thread") || profile.body.contains("Alice&#39;s thread"),
        "{}",
        profile.body
    );
    assert_eq!(
        app.get("/u/999999/", &Browser::default()).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/account/password", &Browser::default())
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    let wrong = app
        .post(
            "/account/password",
            &[("current", "not it at all"), ("new", "a new password")],
            &alice,
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let ok = app
        .post(
            "/account/password",
            &[("current", PASSWORD), ("new", "a new password")],
            &alice,
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    let anon = Browser::default();
    assert_eq!(
        app.post(
            "/login",
            &[("username", "alice"), ("password", PASSWORD)],
            &anon
        )
        .await
        .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.post(
            "/login",
            &[("username", "alice"), ("password", "a new password")],
            &anon
        )
        .await
        .status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn search_finds_posts_and_titles() {
    let app = TestApp::new().await;
    let cat = app.category(None, "General", false).await;
    let alice = app.user("alice", "member").await;
    let t = app
        .thread(
            &alice,
            cat,
            "Vacuum tuning",
            "autovacuum thresholds explained",
        )
        .await;
    app.reply(&alice, t, "checkpoints and wal segments").await;
    let r = app.get("/search?q=checkpoints", &Browser::default()).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body.contains("Vacuum tuning") && r.body.contains("1 results"),
        "{}",
        r.body
    );
    let r = app.get("/search?q=vacuum", &Browser::default()).await;
    assert!(r.body.contains(&format!("/t/{t}/")));
    assert!(
        app.get("/search?q=nothingmatches", &Browser::default())
            .await
            .body
            .contains("0 results")
    );
    let api = app
        .get("/api/search/?q=checkpoints", &Browser::default())
        .await
        .json();
    assert_eq!(api["results"][0]["thread_id"], t);
}

#[tokio::test]
async fn health_metrics_and_roles() {
    let app = TestApp::new().await;
    let anon = Browser::default();
    assert_eq!(app.get("/healthz", &anon).await.status, StatusCode::OK);
    assert_eq!(app.get("/readyz", &anon).await.status, StatusCode::OK);
    app.get("/nope", &anon).await;
    let m = app.get("/metrics", &anon).await;
    assert!(m.body.contains("forum_build_info{"), "{}", m.body);
    assert!(
        m.body
            .contains("forum_http_requests_total{role=\"all\",method=\"GET\",status=\"404\"} 1"),
        "{}",
        m.body
    );
    assert!(
        m.body
            .contains("forum_http_request_duration_seconds_bucket{")
    );
    assert_eq!(
        app.get("/static/style.css", &anon).await.status,
        StatusCode::OK
    );

    let web = TestApp::with_config(forum::Config {
        role: forum::Role::Web,
        ..forum::Config::default()
    })
    .await;
    assert_eq!(
        web.get("/api/threads/", &anon).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(web.get("/", &anon).await.status, StatusCode::OK);
    let api = TestApp::with_config(forum::Config {
        role: forum::Role::Api,
        ..forum::Config::default()
    })
    .await;
    assert_eq!(api.get("/", &anon).await.status, StatusCode::NOT_FOUND);
    assert_eq!(api.get("/api/threads/", &anon).await.status, StatusCode::OK);
    assert!(
        api.get("/metrics", &anon)
            .await
            .body
            .contains("role=\"api\"")
    );
}

fn multipart(csrf: &str, file: &[u8]) -> (String, Vec<u8>) {
    let boundary = "XyZboundary42";
    let mut body =
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n")
            .into_bytes();
    body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"avatar\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n").as_bytes());
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test]
async fn avatars_are_png_or_jpeg_written_to_the_media_dir() {
    let media = std::env::temp_dir().join(format!("forum-media-{}", std::process::id()));
    let app = TestApp::with_config(forum::Config {
        media_dir: Some(media.clone()),
        ..forum::Config::default()
    })
    .await;
    let alice = app.user("alice", "member").await;
    let upload = |csrf: &str, file: &[u8]| {
        let (ct, body) = multipart(csrf, file);
        axum::http::Request::post("/account/avatar")
            .header("content-type", ct)
            .body(axum::body::Body::from(body))
            .unwrap()
    };
    let encode = |format: image::ImageFormat| {
        let img = image::RgbImage::from_pixel(16, 16, image::Rgb([10, 120, 200]));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, format).unwrap();
        out.into_inner()
    };
    // A PNG that is an HTML page too: stored as a plain PNG of the same pixels.
    let mut polyglot = encode(image::ImageFormat::Png);
    polyglot.extend_from_slice(b"<html><script>alert(1)</script></html>");
    let png = polyglot.as_slice();
    let r = app.send(upload(common::CSRF, png), &alice).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let url: String = app
        .scalar(&format!(
            "SELECT avatar FROM users WHERE id = {}",
            alice.user_id
        ))
        .await;
    let name = url.strip_prefix("/media/avatars/").unwrap();
    assert!(name.ends_with(".png"), "{name}");
    let stored = std::fs::read(media.join("avatars").join(name)).unwrap();
    assert!(stored.starts_with(b"\x89PNG\r\n\x1a\n"));
    assert!(!stored.windows(6).any(|w| w == b"<html>"));
    let decoded = image::load_from_memory(&stored).unwrap().to_rgb8();
    assert_eq!(decoded.dimensions(), (16, 16));
    assert_eq!(decoded.get_pixel(3, 3), &image::Rgb([10, 120, 200]));
    let fake = b"\x89PNG\r\n\x1a\n0000IHDR-not-a-real-image-but-png-magic";
    assert_eq!(
        app.send(upload(common::CSRF, fake), &alice).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert!(
        app.get(&format!("/u/{}/", alice.user_id), &alice)
            .await
            .body
            .contains(&url)
    );
    let svg = app
        .send(upload(common::CSRF, b"<svg onload=alert(1)>"), &alice)
        .await;
    assert_eq!(svg.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.send(upload("", png), &alice).await.status,
        StatusCode::FORBIDDEN
    );
    let big = [png, &vec![0u8; 210 * 1024]].concat();
    assert_eq!(
        app.send(upload(common::CSRF, &big), &alice).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let jpeg = encode(image::ImageFormat::Jpeg);
    let r = app.send(upload(common::CSRF, &jpeg), &alice).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        std::fs::read_dir(media.join("avatars")).unwrap().count(),
        1,
        "the old avatar is removed"
    );
    std::fs::remove_dir_all(&media).unwrap();
}
