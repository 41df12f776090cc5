//! Security tests: CSRF, XSS, SQL injection strings, login rate limits.

mod common;

use axum::http::StatusCode;
use common::{Browser, CSRF, PASSWORD, TestApp};
use serde_json::json;

#[tokio::test]
async fn every_form_refuses_a_missing_or_wrong_csrf_token() {
    let app = TestApp::new().await;
    let cat = app.category(None, "General", true).await;
    let admin = app.admin("boss").await;
    let alice = app.user("alice", "member").await;
    let t = app.thread(&alice, cat, "CSRF target", "text").await;
    let p = app.reply(&admin, t, "reply").await;
    let forms: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            "/register".into(),
            vec![
                ("username", "mallory"),
                ("email", "m@example.com"),
                ("password", PASSWORD),
            ],
        ),
        (
            "/login".into(),
            vec![("username", "alice"), ("password", PASSWORD)],
        ),
        ("/logout".into(), vec![]),
        (
            format!("/c/{cat}/new"),
            vec![("title", "Forged thread"), ("body", "x")],
        ),
        (format!("/t/{t}/reply"), vec![("body", "forged")]),
        (format!("/t/{t}/vote"), vec![("choice", "1")]),
        (format!("/t/{t}/moderate"), vec![("action", "hide")]),
        (format!("/p/{p}/edit"), vec![("body", "forged")]),
        (format!("/p/{p}/delete"), vec![]),
        (format!("/p/{p}/restore"), vec![]),
        (format!("/p/{p}/like"), vec![("like", "true")]),
        (format!("/p/{p}/best"), vec![]),
        (
            "/account/password".into(),
            vec![("current", PASSWORD), ("new", "forged password")],
        ),
        (
            "/admin/login".into(),
            vec![("username", "boss"), ("password", PASSWORD)],
        ),
        ("/admin/logout".into(), vec![]),
        (
            "/admin/categories".into(),
            vec![("name", "Forged"), ("parent_id", "0")],
        ),
        (
            format!("/admin/categories/{cat}"),
            vec![("action", "rename"), ("name", "Forged")],
        ),
        (
            format!("/admin/users/{}", alice.user_id),
            vec![("action", "ban"), ("days", "9")],
        ),
        ("/admin/jobs".into(), vec![("kind", "recount")]),
    ];
    let wrong = "f".repeat(64);
    for (path, fields) in &forms {
        let missing = app.post_raw(path, fields, &admin).await;
        assert_eq!(
            missing.status,
            StatusCode::FORBIDDEN,
            "{path} without a token"
        );
        let mut with_wrong = vec![("csrf", wrong.as_str())];
        with_wrong.extend_from_slice(fields);
        let r = app.post_raw(path, &with_wrong, &admin).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path} with a wrong token");
        assert!(
            r.body.contains("another site"),
            "a friendly page for {path}"
        );
    }
    assert_eq!(
        app.scalar::<i64>("SELECT count(*) FROM posts").await,
        2,
        "nothing was written"
    );
    assert_eq!(app.scalar::<i64>("SELECT count(*) FROM users").await, 2);
    assert_eq!(
        app.scalar::<i64>("SELECT count(*) FROM notifications")
            .await,
        1,
        "only the reply's notification"
    );
    assert!(!CSRF.is_empty());
}

#[tokio::test]
async fn xss_payloads_are_rendered_inert() {
    let app = TestApp::new().await;
    let cat = app.category(None, "General", false).await;
    let alice = app.user("alice", "member").await;
    let payloads = [
        "<script>alert('xss')</script>",
        "<img src=x onerror=alert(1)>",
        "[click](javascript:alert(1))",
        "<a href=\"javascript:alert(1)\">x</a>",
        "<svg onload=alert(1)>",
        "<iframe src=\"https://evil.example\"></iframe>",
        "\"><script>alert(1)</script>",
        "<div style=\"background:url(javascript:alert(1))\">styled</div>",
    ];
    let t = app
        .thread(&alice, cat, "<script>alert('title')</script>", payloads[0])
        .await;
    for p in &payloads[1..] {
        app.reply(&alice, t, p).await;
    }
    let search_term = "<script>alert('q')</script>";
    for page in [
        format!("/t/{t}/"),
        "/".into(),
        format!("/u/{}/", alice.user_id),
        format!(
            "/search?q={}",
            common::form_urlencoded(&[("x", search_term)]).trim_start_matches("x=")
        ),
    ] {
        let html = app.get(&page, &alice).await.body;
        let lower = html.to_lowercase();
        assert!(!lower.contains("<script>alert"), "{page}: {html}");
        assert!(
            !lower.contains("onerror") && !lower.contains("onload"),
            "{page}"
        );
        assert!(!lower.contains("javascript:alert"), "{page}");
        assert!(!lower.contains("<iframe"), "{page}");
    }
    let html = app.get(&format!("/t/{t}/"), &alice).await.body;
    assert!(
        html.contains("&lt;script&gt;alert(&#x27;title&#x27;)&lt;/script&gt;")
            || html.contains("&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt;"),
        "the title is escaped: {html}"
    );
    let api = app
        .get(&format!("/api/threads/{t}/posts/"), &alice)
        .await
        .json();
    for post in api["results"].as_array().unwrap() {
        let html = post["body_html"].as_str().unwrap().to_lowercase();
        assert!(
            !html.contains("<script") && !html.contains("onerror") && !html.contains("javascript:"),
            "{html}"
        );
    }
}

#[tokio::test]
async fn sql_injection_strings_are_plain_text() {
    let app = TestApp::new().await;
    let cat = app.category(None, "General", false).await;
    let alice = app.user("alice", "member").await;
    let nasty = [
        "' OR '1'='1",
        "'; DROP TABLE posts; --",
        "1; DELETE FROM users",
        "\\'; SELECT pg_sleep(5); --",
        "%' AND 1=1 --",
        "$1 $2 ::text",
    ];
    for s in nasty {
        let t = app.thread(&alice, cat, &format!("Title {s}"), s).await;
        app.reply(&alice, t, s).await;
        let page = app.get(&format!("/t/{t}/"), &alice).await;
        assert_eq!(page.status, StatusCode::OK);
        let q = common::form_urlencoded(&[("q", s)]);
        for url in [
            format!("/search?{q}"),
            format!("/api/search/?{q}"),
            format!("/admin/users?{q}"),
        ] {
            let r = app.get(&url, &alice).await;
            assert!(
                r.status.is_success() || r.status == StatusCode::SEE_OTHER,
                "{url}: {}",
                r.status
            );
        }
        for url in [
            format!("/c/{cat}/?{}", common::form_urlencoded(&[("after", s)])),
            format!(
                "/api/threads/?{}",
                common::form_urlencoded(&[("category", s)])
            ),
            format!("/t/{t}/?{}", common::form_urlencoded(&[("page", s)])),
        ] {
            assert_eq!(
                app.get(&url, &alice).await.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{url}"
            );
        }
        let login = app
            .post(
                "/login",
                &[("username", s), ("password", s)],
                &Browser::default(),
            )
            .await;
        assert_eq!(login.status, StatusCode::UNAUTHORIZED, "login with {s}");
        let reg = app
            .post_json(
                "/api/users/",
                json!({"username": s, "email": s, "password": s}),
                None,
            )
            .await;
        assert_eq!(reg.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            app.get(
                &format!(
                    "/t/{}/",
                    common::form_urlencoded(&[("x", s)]).trim_start_matches("x=")
                ),
                &alice
            )
            .await
            .status,
            StatusCode::NOT_FOUND
        );
    }
    assert_eq!(
        app.scalar::<i64>("SELECT count(*) FROM posts").await,
        12,
        "every text stored as written, no table touched"
    );
    assert_eq!(app.scalar::<i64>("SELECT count(*) FROM users").await, 1);
    let stored = app
        .scalar::<String>("SELECT body FROM posts ORDER BY id LIMIT 1 OFFSET 2")
        .await;
    assert_eq!(stored, "'; DROP TABLE posts; --");
}

#[tokio::test]
async fn brute_force_logins_get_rate_limited_per_account_and_per_ip() {
    let app = TestApp::with_config(forum::Config {
        login_account_limit: 5,
        login_ip_limit: 8,
        ..forum::Config::default()
    })
    .await;
    app.user("alice", "member").await;
    app.user("bob", "member").await;
    let anon = Browser::default();
    for i in 0..5 {
        let r = app
            .post(
                "/login",
                &[("username", "alice"), ("password", &format!("guess {i}"))],
                &anon,
            )
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let blocked = app
        .post(
            "/login",
            &[("username", "alice"), ("password", PASSWORD)],
            &anon,
        )
        .await;
    assert_eq!(
        blocked.status,
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password is refused while blocked"
    );
    let api = app
        .post_json(
            "/api/auth/login",
            json!({"username": "alice", "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(api.status, StatusCode::TOO_MANY_REQUESTS);
    let admin = app
        .post(
            "/admin/login",
            &[("username", "alice"), ("password", PASSWORD)],
            &anon,
        )
        .await;
    assert_eq!(admin.status, StatusCode::TOO_MANY_REQUESTS);
    // Another account from the same client still works until the IP limit (8 failures).
    assert_eq!(
        app.post(
            "/login",
            &[("username", "bob"), ("password", PASSWORD)],
            &anon
        )
        .await
        .status,
        StatusCode::SEE_OTHER
    );
    for i in 0..3 {
        let r = app
            .post(
                "/login",
                &[("username", &format!("ghost{i}")), ("password", "x")],
                &anon,
            )
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let ip_blocked = app
        .post(
            "/login",
            &[("username", "bob"), ("password", PASSWORD)],
            &anon,
        )
        .await;
    assert_eq!(
        ip_blocked.status,
        StatusCode::TOO_MANY_REQUESTS,
        "8 failures from one address block it"
    );
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let app = TestApp::new().await;
    let cat = app.category(None, "General", false).await;
    let alice = app.user("alice", "member").await;
    let big = "a".repeat(forum::BODY_LIMIT + 10);
    let r = app
        .post(
            &format!("/c/{cat}/new"),
            &[("title", "Big"), ("body", &big)],
            &alice,
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(app.scalar::<i64>("SELECT count(*) FROM threads").await, 0);
}

#[tokio::test]
async fn cookies_are_secure_behind_tls() {
    let app = TestApp::with_config(forum::Config {
        secure_cookies: true,
        ..forum::Config::default()
    })
    .await;
    app.user("alice", "member").await;
    let req = axum::http::Request::get("/login")
        .body(axum::body::Body::empty())
        .unwrap();
    let res = tower::ServiceExt::oneshot(app.router(), req).await.unwrap();
    let csrf = res
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csrf.starts_with("forum_csrf=") && csrf.contains("; Secure") && csrf.contains("HttpOnly"),
        "{csrf}"
    );
    let r = app
        .post(
            "/login",
            &[("username", "alice"), ("password", PASSWORD)],
            &Browser::default(),
        )
        .await;
    let session = r.headers.get("set-cookie").unwrap().to_str().unwrap();
    assert!(
        session.starts_with("forum_session=") && session.contains("; Secure"),
        "{session}"
    );
}
