//! Attachments through both doors with a local attachment store: upload, serve, thumbnails,
//! types sniffed from the bytes, the administrator's limits, who may fetch what, linking to
//! posts, the worker's orphan sweep, the preview and the quote of the reply page.

mod attach;
mod common;

use std::time::Duration;

use attach::{api_upload, app_with, get_bytes, local_storage, png, post_multipart};
use axum::http::StatusCode;
use common::{TestApp, id_in};

async fn set_limits(app: &TestApp, types: &[&str], max_kib: &str) {
    let admin = app.admin(&format!("admin{}", rand_suffix())).await;
    let mut fields: Vec<(&str, &str)> = types.iter().map(|t| ("type", *t)).collect();
    fields.push(("max_kib", max_kib));
    let r = app.post("/admin/attachments", &fields, &admin).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    N.fetch_add(1, Ordering::Relaxed).to_string()
}

#[tokio::test]
async fn an_image_is_uploaded_re_encoded_thumbnailed_linked_and_served() {
    let (storage, dir) = local_storage();
    let app = app_with(storage).await;
    let cat = app.category(None, "General", false).await;
    let alice = app.user("alice", "member").await;
    let thread = app.thread(&alice, cat, "Screenshots", "see below").await;

    let r = api_upload(&app, &alice, "screen shot.png", &png(800, 600)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let j = r.json();
    let id = j["id"].as_i64().unwrap();
    assert_eq!(j["url"], format!("/attachments/{id}/screen-shot.png"));
    assert_eq!(
        j["thumbnail_url"],
        format!("/attachments/{id}/thumbnail.png")
    );
    assert_eq!(
        j["markdown"],
        format!("![screen-shot.png](/attachments/{id}/screen-shot.png)")
    );
    assert_eq!(
        (j["width"].as_i64(), j["height"].as_i64()),
        (Some(800), Some(600))
    );

    // Not linked yet: its uploader sees it, a guest and another member do not.
    let url = j["url"].as_str().unwrap().to_string();
    let (status, headers, bytes) = get_bytes(&app, &url, &alice).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "image/png");
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("inline")
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let img = image::load_from_memory(&bytes).unwrap();
    assert_eq!((img.width(), img.height()), (800, 600));
    let bob = app.user("bob", "member").await;
    assert_eq!(
        get_bytes(&app, &url, &common::Browser::default()).await.0,
        404
    );
    assert_eq!(get_bytes(&app, &url, &bob).await.0, 404);

    // A reply that refers to it links it; bob's post referring to it does not take it.
    app.reply(&bob, thread, &format!("stealing {url}")).await;
    let linked: Option<i64> = app
        .scalar(&format!("SELECT post_id FROM attachments WHERE id = {id}"))
        .await;
    assert_eq!(linked, None);
    let post = app
        .reply(&alice, thread, &format!("here: ![shot]({url})"))
        .await;
    let linked: Option<i64> = app
        .scalar(&format!("SELECT post_id FROM attachments WHERE id = {id}"))
        .await;
    assert_eq!(linked, Some(post));

    // Now everyone who reads the thread gets it and its thumbnail.
    assert_eq!(
        get_bytes(&app, &url, &common::Browser::default()).await.0,
        200
    );
    let (status, headers, thumb) =
        get_bytes(&app, &format!("/attachments/{id}/thumbnail.png"), &bob).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "image/png");
    let t = image::load_from_memory(&thumb).unwrap();
    assert!(
        t.width() <= 320 && t.height() <= 320 && t.width() > 0,
        "{}x{}",
        t.width(),
        t.height()
    );
    assert_eq!(
        get_bytes(&app, &format!("/attachments/{id}/other-name.png"), &bob)
            .await
            .0,
        404
    );
    let page = app.get(&format!("/t/{thread}/"), &bob).await;
    // The post shows the thumbnail, linked to the full image.
    assert!(
        page.body.contains(&format!("href=\"{url}\"")),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains(&format!("src=\"/attachments/{id}/thumbnail.png\"")),
        "{}",
        page.body
    );
    // The bytes are in the store's directory.
    let files = walk(dir.path());
    assert_eq!(files.len(), 2, "{files:?}");

    // Counted.
    let metrics = app.get("/metrics", &common::Browser::default()).await.body;
    assert!(
        metrics.contains("forum_attachment_uploads_total{result=\"stored\"} 1"),
        "{metrics}"
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[tokio::test]
async fn the_type_comes_from_the_bytes_never_from_the_name() {
    let (storage, _dir) = local_storage();
    let app = app_with(storage).await;
    let alice = app.user("alice", "member").await;

    // A PNG named .txt is an image.
    let r = api_upload(&app, &alice, "notes.txt", &png(4, 4)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.json()["type"], "png");
    assert!(r.json()["url"].as_str().unwrap().ends_with("/notes.png"));

    // An HTML page named .png is text, downloaded as text, never rendered.
    let html = b"<html><body><script>alert(document.cookie)</script></body></html>";
    let r = api_upload(&app, &alice, "cat.png", html).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let j = r.json();
    assert_eq!(j["type"], "txt");
    assert!(j["thumbnail_url"].is_null());
    let url = j["url"].as_str().unwrap();
    assert!(url.ends_with("/cat.txt"), "{url}");
    assert_eq!(j["markdown"], format!("[cat.txt]({url})"));
    let (status, headers, _) = get_bytes(&app, url, &alice).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "text/plain; charset=utf-8");
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=\"cat.txt\""
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");

    // A PNG with an HTML page appended comes out as pixels only.
    let mut polyglot = png(16, 16);
    polyglot.extend_from_slice(html);
    let r = api_upload(&app, &alice, "poly.png", &polyglot).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let (_, _, bytes) = get_bytes(&app, r.json()["url"].as_str().unwrap(), &alice).await;
    assert!(bytes.starts_with(b"\x89PNG"));
    assert!(!bytes.windows(7).any(|w| w.eq_ignore_ascii_case(b"<script")));

    // A PNG header over garbage does not decode: refused.
    let r = api_upload(
        &app,
        &alice,
        "broken.png",
        b"\x89PNG\r\n\x1a\n<html>x</html>",
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);

    // An executable is no known type.
    let r = api_upload(&app, &alice, "tool.png", b"\x7fELF\x02\x01\x01\0\0\0\0\0").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.json()["error"].as_str().unwrap().contains("not accepted"));

    // Text refused by the administrator: the HTML page is refused too.
    set_limits(&app, &["png", "jpeg"], "4096").await;
    let r = api_upload(&app, &alice, "cat.png", html).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("txt files are not accepted"),
        "{}",
        r.body
    );

    let metrics = app.get("/metrics", &common::Browser::default()).await.body;
    assert!(
        metrics.contains("forum_attachment_uploads_total{result=\"type_refused\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("forum_attachment_uploads_total{result=\"invalid\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn the_administrators_size_limit_and_types_are_enforced_with_a_reason() {
    let (storage, _dir) = local_storage();
    let app = app_with(storage).await;
    let alice = app.user("alice", "member").await;
    // Under the default 4 MiB, a file larger than the forms' 256 KiB body limit goes through
    // (the upload routes have their own); over it, 413 with the limit.
    let r = api_upload(&app, &alice, "large.txt", &vec![b'a'; 1024 * 1024]).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.json()["size"], 1024 * 1024);
    let r = api_upload(&app, &alice, "huge.txt", &vec![b'a'; 5 * 1024 * 1024]).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    assert_eq!(r.json()["error"], "the file is too large: at most 4 MiB");
    let r = api_upload(&app, &alice, "beyond.txt", &vec![b'a'; 40 * 1024 * 1024]).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    set_limits(&app, &["png", "txt"], "1").await;
    let r = api_upload(&app, &alice, "big.txt", &vec![b'a'; 2000]).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    assert_eq!(r.json()["error"], "the file is too large: at most 1 KiB");
    let r = api_upload(&app, &alice, "small.txt", b"fits").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = api_upload(&app, &alice, "doc.pdf", b"%PDF-1.7\n%\xe2\xe3\n").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("pdf files are not accepted; allowed: png, txt"),
        "{}",
        r.body
    );

    // The page door answers the same, as an HTML page.
    let r = post_multipart(
        &app,
        "/attachments/",
        &alice,
        &[("csrf", common::CSRF)],
        "big.txt",
        &vec![b'a'; 2000],
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(r.body.contains("at most 1 KiB"), "{}", r.body);

    // The settings page shows what is allowed; limits out of range are refused.
    let admin = app.admin("boss").await;
    let page = app.get("/admin/attachments", &admin).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("value=\"png\" checked"), "{}", page.body);
    assert!(
        !page.body.contains("value=\"pdf\" checked"),
        "{}",
        page.body
    );
    let r = app
        .post(
            "/admin/attachments",
            &[("type", "png"), ("max_kib", "999999")],
            &admin,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app
        .post(
            "/admin/attachments",
            &[("type", "exe"), ("max_kib", "10")],
            &admin,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // A member cannot change them.
    let r = app
        .post(
            "/admin/attachments",
            &[("type", "png"), ("max_kib", "10")],
            &alice,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/admin/login");
}

#[tokio::test]
async fn uploads_need_a_member_and_the_csrf_token_of_a_cookie_session() {
    let (storage, _dir) = local_storage();
    let app = app_with(storage).await;
    let alice = app.user("alice", "member").await;
    let guest = common::Browser::default();
    let r = api_upload(&app, &guest, "a.png", &png(2, 2)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    // A cookie session without the token (a cross-site form) is refused.
    let r = post_multipart(&app, "/api/attachments/", &alice, &[], "a.png", &png(2, 2)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = post_multipart(
        &app,
        "/api/attachments/",
        &alice,
        &[("csrf", "wrong")],
        "a.png",
        &png(2, 2),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = post_multipart(
        &app,
        "/api/attachments/",
        &alice,
        &[("csrf", common::CSRF)],
        "a.png",
        &png(2, 2),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    // Other API routes still refuse multipart bodies.
    let r = post_multipart(
        &app,
        "/api/threads/",
        &alice,
        &[("csrf", common::CSRF)],
        "a.png",
        b"x",
    )
    .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // A bearer token needs no CSRF token.
    let login = app
        .post_json(
            "/api/auth/login",
            serde_json::json!({"username": "alice", "password": common::PASSWORD}),
            None,
        )
        .await;
    let token = login.json()["token"].as_str().unwrap().to_string();
    let req = axum::http::Request::post("/api/attachments/")
        .header(
            "content-type",
            format!("multipart/form-data; boundary={}", attach::BOUNDARY),
        )
        .header("authorization", format!("Bearer {token}"))
        .body(axum::body::Body::from(attach::multipart(
            &[],
            "b.png",
            &png(3, 3),
        )))
        .unwrap();
    let r = app.send(req, &guest).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    // Without a store, uploads are refused with a reason.
    let bare = TestApp::new().await;
    let carol = bare.user("carol", "member").await;
    let r = api_upload(&bare, &carol, "a.png", &png(2, 2)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.json()["error"],
        "attachments are not enabled on this forum"
    );
}

#[tokio::test]
async fn attachments_of_hidden_threads_and_deleted_posts_are_not_found() {
    let (storage, _dir) = local_storage();
    let app = app_with(storage).await;
    let cat = app.category(None, "General", false).await;
    let alice = app.user("alice", "member").await;
    let bob = app.user("bob", "member").await;
    let moderator = app.user("mod", "moderator").await;
    let r = api_upload(&app, &alice, "a.png", &png(5, 5)).await;
    let url = r.json()["url"].as_str().unwrap().to_string();
    let thumb = r.json()["thumbnail_url"].as_str().unwrap().to_string();
    let thread = app
        .thread(&alice, cat, "Secret soon", &format!("![a]({url})"))
        .await;
    assert_eq!(get_bytes(&app, &url, &bob).await.0, 200);

    let r = app
        .post(
            &format!("/t/{thread}/moderate"),
            &[("action", "hide")],
            &moderator,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    for who in [&bob, &common::Browser::default()] {
        assert_eq!(get_bytes(&app, &url, who).await.0, 404);
        assert_eq!(get_bytes(&app, &thumb, who).await.0, 404);
    }
    assert_eq!(get_bytes(&app, &url, &moderator).await.0, 200);
    let r = app
        .post(
            &format!("/t/{thread}/moderate"),
            &[("action", "unhide")],
            &moderator,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);

    // A deleted reply's attachment: moderators only.
    let r = api_upload(&app, &alice, "b.png", &png(5, 5)).await;
    let url_b = r.json()["url"].as_str().unwrap().to_string();
    let post = app.reply(&alice, thread, &format!("![b]({url_b})")).await;
    assert_eq!(get_bytes(&app, &url_b, &bob).await.0, 200);
    let r = app.post(&format!("/p/{post}/delete"), &[], &alice).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(get_bytes(&app, &url_b, &bob).await.0, 404);
    assert_eq!(get_bytes(&app, &url_b, &moderator).await.0, 200);
    // Unknown ids and malformed paths.
    assert_eq!(
        get_bytes(&app, "/attachments/99999/x.png", &alice).await.0,
        404
    );
    assert_eq!(
        get_bytes(&app, "/attachments/abc/x.png", &alice).await.0,
        404
    );
}

#[tokio::test]
async fn an_edit_links_attachments_and_the_worker_removes_orphans() {
    let (storage, dir) = local_storage();
    let app = app_with(storage).await;
    let cat = app.category(None, "General", false).await;
    let alice = app.user("alice", "member").await;
    let thread = app.thread(&alice, cat, "Edits", "first").await;
    let post = app.reply(&alice, thread, "no picture yet").await;
    let used = api_upload(&app, &alice, "used.png", &png(6, 6))
        .await
        .json();
    let orphan = api_upload(&app, &alice, "orphan.txt", b"never used")
        .await
        .json();
    let r = app
        .post(
            &format!("/p/{post}/edit"),
            &[(
                "body",
                &format!("now: {}", used["markdown"].as_str().unwrap()),
            )],
            &alice,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(walk(dir.path()).len(), 3);

    let attachments = app.state.attachments.clone();
    // Younger than the age: kept.
    let swept = forum::attachments::sweep::sweep_once(
        &app.state.pool,
        &attachments,
        Duration::from_secs(3600),
    )
    .await
    .unwrap();
    assert_eq!(swept.removed, 0);
    let swept =
        forum::attachments::sweep::sweep_once(&app.state.pool, &attachments, Duration::ZERO)
            .await
            .unwrap();
    assert_eq!(
        swept,
        forum::attachments::sweep::Swept {
            removed: 1,
            failed: 0
        }
    );
    let left: i64 = app.scalar("SELECT count(*) FROM attachments").await;
    assert_eq!(left, 1);
    let files = walk(dir.path());
    assert_eq!(files.len(), 2, "{files:?}");
    let orphan_url = orphan["url"].as_str().unwrap();
    assert_eq!(get_bytes(&app, orphan_url, &alice).await.0, 404);
    assert_eq!(
        get_bytes(&app, used["url"].as_str().unwrap(), &alice)
            .await
            .0,
        200
    );
    let metrics = app.state.metrics.encode();
    assert!(
        metrics.contains("forum_attachment_orphans_removed_total 1"),
        "{metrics}"
    );
    let stored: i64 = app.scalar("SELECT size_bytes FROM attachments").await;
    assert!(
        metrics.contains(&format!("forum_attachment_bytes {stored}")),
        "{metrics}"
    );
}

#[tokio::test]
async fn the_page_upload_form_works_without_javascript() {
    let (storage, _dir) = local_storage();
    let app = app_with(storage).await;
    let cat = app.category(None, "General", false).await;
    let alice = app.user("alice", "member").await;
    let thread = app.thread(&alice, cat, "No JS", "plain").await;
    let page = app.get(&format!("/t/{thread}/"), &alice).await;
    assert!(
        page.body.contains("action=\"/attachments/\""),
        "{}",
        page.body
    );
    let back = format!("/t/{thread}/reply");
    let r = post_multipart(
        &app,
        "/attachments/",
        &alice,
        &[("csrf", common::CSRF), ("back", &back)],
        "pic.png",
        &png(10, 10),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let id = id_in(&r.location(), "attach=");
    assert_eq!(r.location(), format!("/t/{thread}/reply?attach={id}"));
    let form = app.get(&r.location(), &alice).await;
    assert!(
        form.body
            .contains(&format!("![pic.png](/attachments/{id}/pic.png)")),
        "{}",
        form.body
    );
    // From the new-thread form: a page with the Markdown to copy.
    let r = post_multipart(
        &app,
        "/attachments/",
        &alice,
        &[("csrf", common::CSRF), ("back", &format!("/c/{cat}/new"))],
        "doc.pdf",
        b"%PDF-1.4\n%\xe2\xe3\n",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("[doc.pdf](/attachments/"), "{}", r.body);
    assert!(
        r.body.contains(&format!("href=\"/c/{cat}/new\"")),
        "{}",
        r.body
    );
    // Without the CSRF token: refused.
    let r = post_multipart(
        &app,
        "/attachments/",
        &alice,
        &[("back", &back)],
        "pic.png",
        &png(10, 10),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Someone else's attachment cannot be put into a reply form.
    let bob = app.user("bob", "member").await;
    let r = app
        .get(&format!("/t/{thread}/reply?attach={id}"), &bob)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn preview_renders_without_saving_through_both_doors() {
    let app = TestApp::new().await;
    let cat = app.category(None, "General", false).await;
    let alice = app.user("alice", "member").await;
    let thread = app.thread(&alice, cat, "Preview", "first").await;
    let posts_before: i64 = app.scalar("SELECT count(*) FROM posts").await;

    let r = app
        .post(
            "/preview",
            &[
                ("_action", &format!("/t/{thread}/reply")),
                ("body", "**bold** <script>x</script>"),
            ],
            &alice,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("<strong>bold</strong>"), "{}", r.body);
    assert!(!r.body.contains("<script>x"), "{}", r.body);
    assert!(
        r.body.contains(&format!("action=\"/t/{thread}/reply\"")),
        "{}",
        r.body
    );
    // A new thread's title and poll fields come back with it.
    let r = app
        .post(
            "/preview",
            &[
                ("_action", &format!("/c/{cat}/new")),
                ("title", "My title"),
                ("body", "text"),
                ("poll_question", "Which?"),
            ],
            &alice,
        )
        .await;
    assert!(r.body.contains("value=\"My title\""), "{}", r.body);
    assert!(
        r.body.contains("name=\"poll_question\" value=\"Which?\""),
        "{}",
        r.body
    );
    // Too deep: the reason instead of the preview.
    let r = app
        .post(
            "/preview",
            &[
                ("_action", &format!("/t/{thread}/reply")),
                ("body", &"> ".repeat(40)),
            ],
            &alice,
        )
        .await;
    assert!(r.body.contains("id=\"preview-error\""), "{}", r.body);
    let r = app
        .post(
            "/preview",
            &[("_action", "/admin/users/1"), ("body", "x")],
            &alice,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app
        .post_raw(
            "/preview",
            &[("_action", "/c/1/new"), ("body", "x")],
            &alice,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // The API.
    let login = app
        .post_json(
            "/api/auth/login",
            serde_json::json!({"username": "alice", "password": common::PASSWORD}),
            None,
        )
        .await;
    let token = login.json()["token"].as_str().unwrap().to_string();
    let r = app
        .post_json(
            "/api/posts/preview",
            serde_json::json!({"body": "*hi* [x](javascript:alert(1))"}),
            Some(&token),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let html = r.json()["html"].as_str().unwrap().to_string();
    assert!(
        html.contains("<em>hi</em>") && !html.contains("javascript:"),
        "{html}"
    );
    let r = app
        .post_json(
            "/api/posts/preview",
            serde_json::json!({"body": "> ".repeat(40)}),
            Some(&token),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["field"], "body");
    let r = app
        .post_json(
            "/api/posts/preview",
            serde_json::json!({"body": "x".repeat(60_000)}),
            Some(&token),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app
        .post_json("/api/posts/preview", serde_json::json!({"body": "x"}), None)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let posts_after: i64 = app.scalar("SELECT count(*) FROM posts").await;
    assert_eq!(posts_before, posts_after);
    // The forms carry the Preview button.
    let page = app.get(&format!("/t/{thread}/"), &alice).await;
    assert!(
        page.body
            .contains(&format!("name=\"_action\" value=\"/t/{thread}/reply\"")),
        "{}",
        page.body
    );
    let page = app.get(&format!("/c/{cat}/new"), &alice).await;
    assert!(
        page.body
            .contains(&format!("name=\"_action\" value=\"/c/{cat}/new\"")),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn the_quote_button_fills_the_reply_form_with_the_quote_contract() {
    let app = TestApp::new().await;
    let cat = app.category(None, "General", false).await;
    let alice = app.user("alice", "member").await;
    let bob = app.user("bob", "member").await;
    let moderator = app.user("mod", "moderator").await;
    let thread = app.thread(&alice, cat, "Quotes", "opening").await;
    let post = app.reply(&alice, thread, "line one\n\nline <two>").await;
    let page = app.get(&format!("/t/{thread}/"), &bob).await;
    assert!(
        page.body
            .contains(&format!("href=\"/t/{thread}/reply?quote={post}\"")),
        "{}",
        page.body
    );
    let guest_page = app
        .get(&format!("/t/{thread}/"), &common::Browser::default())
        .await;
    assert!(!guest_page.body.contains("reply?quote="));

    let r = app
        .get(&format!("/t/{thread}/reply?quote={post}"), &bob)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let expected = format!(
        "&gt; @alice wrote in [post #{post}](/p/{post}/):\n&gt; line one\n&gt;\n&gt; line &lt;two&gt;\n"
    );
    assert!(r.body.contains(&expected), "{}", r.body);
    // Replying with it saves the contract's first line.
    let quoted = forum::quote::quote("alice", post, "line one\n\nline <two>");
    let reply = app.reply(&bob, thread, &format!("{quoted}I agree")).await;
    let body: String = app
        .scalar(&format!("SELECT body FROM posts WHERE id = {reply}"))
        .await;
    assert!(
        body.starts_with(&format!(
            "> @alice wrote in [post #{post}](/p/{post}/):\n> line one"
        )),
        "{body}"
    );

    // A guest is sent to log in; a hidden thread's post cannot be quoted.
    let r = app
        .get(
            &format!("/t/{thread}/reply?quote={post}"),
            &common::Browser::default(),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let hidden = app.thread(&alice, cat, "Hidden", "secret words").await;
    let hidden_post: i64 = app
        .scalar(&format!(
            "SELECT min(id) FROM posts WHERE thread_id = {hidden}"
        ))
        .await;
    app.post(
        &format!("/t/{hidden}/moderate"),
        &[("action", "hide")],
        &moderator,
    )
    .await;
    let r = app
        .get(&format!("/t/{thread}/reply?quote={hidden_post}"), &bob)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(!r.body.contains("secret words"));
    let r = app.get(&format!("/t/{hidden}/reply"), &bob).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app
        .get(
            &format!("/t/{thread}/reply?quote={hidden_post}"),
            &moderator,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
}
