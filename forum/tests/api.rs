//! Route tests of the JSON API and the admin panel.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{Browser, PASSWORD, TestApp};
use serde_json::json;

#[tokio::test]
async fn api_registers_logs_in_creates_threads_and_posts() {
    let app = TestApp::new().await;
    let cat = app.category(None, "General", false).await;
    let r = app
        .post_json(
            "/api/users/",
            json!({"username": "alice", "email": "alice@example.com", "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let dup = app
        .post_json(
            "/api/users/",
            json!({"username": "alice", "email": "a2@example.com", "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(dup.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(dup.json()["error"].as_str().unwrap().contains("taken"));

    let wrong = app
        .post_json(
            "/api/auth/login",
            json!({"username": "alice", "password": "nope nope"}),
            None,
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.json()["error"].is_string());
    let ok = app
        .post_json(
            "/api/auth/login",
            json!({"username": "alice", "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    let token = ok.json()["token"].as_str().unwrap().to_string();

    let anon = app
        .post_json(
            "/api/threads/",
            json!({"category_id": cat, "title": "No login", "body": "x"}),
            None,
        )
        .await;
    assert_eq!(anon.status, StatusCode::UNAUTHORIZED);
    let t = app.post_json("/api/threads/", json!({"category_id": cat, "title": "Via the API", "body": "hello", "poll": {"question": "Yes or no?", "choices": ["yes", "no"]}}), Some(&token)).await;
    assert_eq!(t.status, StatusCode::CREATED, "{}", t.body);
    let id = t.json()["id"].as_i64().unwrap();
    let bad = app
        .post_json(
            "/api/threads/",
            json!({"category_id": 999999, "title": "Nowhere", "body": "x"}),
            Some(&token),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let short = app
        .post_json(
            "/api/threads/",
            json!({"category_id": cat, "title": "", "body": "x"}),
            Some(&token),
        )
        .await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);

    let p = app
        .post_json(
            &format!("/api/threads/{id}/posts/"),
            json!({"body": "a reply"}),
            Some(&token),
        )
        .await;
    assert_eq!(p.status, StatusCode::CREATED, "{}", p.body);
    assert_eq!(p.json()["body_html"], "<p>a reply</p>\n");
    assert_eq!(
        app.post_json(
            "/api/threads/999999/posts/",
            json!({"body": "x"}),
            Some(&token)
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    let posts = app
        .get(&format!("/api/threads/{id}/posts/"), &Browser::default())
        .await
        .json();
    assert_eq!(posts["results"].as_array().unwrap().len(), 2);
    let thread = app
        .get(&format!("/api/threads/{id}/"), &Browser::default())
        .await
        .json();
    assert_eq!(thread["thread"]["post_count"], 2);
    assert_eq!(thread["poll"]["choices"].as_array().unwrap().len(), 2);
    assert_eq!(
        app.get("/api/threads/999999/", &Browser::default())
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/api/threads/999999/posts/", &Browser::default())
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let list = app
        .get(
            &format!("/api/threads/?category={cat}"),
            &Browser::default(),
        )
        .await
        .json();
    assert_eq!(list["results"][0]["id"], id);
    assert_eq!(
        app.get("/api/threads/?category=abc", &Browser::default())
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let cats = app
        .get("/api/categories/", &Browser::default())
        .await
        .json();
    assert_eq!(cats["results"][0]["name"], "General");

    let mut req =
        Request::post("/api/auth/logout").header(header::AUTHORIZATION, format!("Bearer {token}"));
    req = req.header(header::CONTENT_TYPE, "application/json");
    let out = app
        .send(req.body(Body::empty()).unwrap(), &Browser::default())
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let after = app
        .post_json(
            &format!("/api/threads/{id}/posts/"),
            json!({"body": "after logout"}),
            Some(&token),
        )
        .await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn api_refuses_cross_origin_writes() {
    let app = TestApp::new().await;
    let cat = app.category(None, "General", false).await;
    let alice = app.user("alice", "member").await;
    let body = json!({"category_id": cat, "title": "Cross site", "body": "x"}).to_string();
    let req = Request::post("/api/threads/")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ORIGIN, "https://evil.example")
        .header(header::HOST, "forum.example")
        .body(Body::from(body.clone()))
        .unwrap();
    let r = app.send(req, &alice).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let req = Request::post("/api/threads/")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ORIGIN, "http://forum.example")
        .header(header::HOST, "forum.example")
        .body(Body::from(body))
        .unwrap();
    assert_eq!(app.send(req, &alice).await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn the_admin_panel_has_its_own_login() {
    let app = TestApp::new().await;
    let member = app.user("member", "member").await;
    let admin = app.user("boss", "admin").await;
    for b in [&Browser::default(), &member, &admin] {
        let r = app.get("/admin/", b).await;
        assert_eq!(
            r.status,
            StatusCode::SEE_OTHER,
            "a user session is not an admin session"
        );
        assert_eq!(r.location(), "/admin/login");
    }
    assert_eq!(
        app.get("/admin/users", &admin).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(app.get("/admin/login", &admin).await.status, StatusCode::OK);
    let wrong = app
        .post(
            "/admin/login",
            &[("username", "boss"), ("password", "not the password")],
            &admin,
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let not_admin = app
        .post(
            "/admin/login",
            &[("username", "member"), ("password", PASSWORD)],
            &member,
        )
        .await;
    assert_eq!(not_admin.status, StatusCode::UNAUTHORIZED);
    let ok = app
        .post(
            "/admin/login",
            &[("username", "boss"), ("password", PASSWORD)],
            &admin,
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    assert_eq!(ok.location(), "/admin/");
    let set = ok
        .headers
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        set.contains("Path=/admin") && set.contains("HttpOnly"),
        "{set}"
    );
    let b = Browser {
        admin: ok.cookie("forum_admin"),
        ..admin.clone()
    };
    let index = app.get("/admin/", &b).await;
    assert_eq!(index.status, StatusCode::OK);
    assert!(
        index.body.contains("id=\"count-users\">2<"),
        "{}",
        index.body
    );
}

#[tokio::test]
async fn admins_manage_categories_users_and_jobs() {
    let app = TestApp::new().await;
    let admin = app.admin("boss").await;
    let alice = app.user("alice", "member").await;
    let create = |name: &'static str, parent: String| {
        let app = &app;
        let admin = admin.clone();
        async move {
            app.post(
                "/admin/categories",
                &[("name", name), ("parent_id", &parent), ("description", "d")],
                &admin,
            )
            .await
        }
    };
    assert_eq!(
        create("Top", "0".into()).await.status,
        StatusCode::SEE_OTHER
    );
    let top = app
        .scalar::<i64>("SELECT id FROM categories WHERE name = 'Top'")
        .await;
    assert_eq!(
        create("Child", top.to_string()).await.status,
        StatusCode::SEE_OTHER
    );
    let child = app
        .scalar::<i64>("SELECT id FROM categories WHERE name = 'Child'")
        .await;
    assert_eq!(
        create("Grandchild", child.to_string()).await.status,
        StatusCode::SEE_OTHER
    );
    let grand = app
        .scalar::<i64>("SELECT id FROM categories WHERE name = 'Grandchild'")
        .await;
    assert_eq!(
        create("Elsewhere", "0".into()).await.status,
        StatusCode::SEE_OTHER
    );
    let other = app
        .scalar::<i64>("SELECT id FROM categories WHERE name = 'Elsewhere'")
        .await;
    // A member cannot reach any of it.
    assert_eq!(
        app.post(
            "/admin/categories",
            &[("name", "Nope"), ("parent_id", "0")],
            &alice
        )
        .await
        .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.scalar::<i64>("SELECT count(*) FROM categories WHERE name = 'Nope'")
            .await,
        0
    );

    let url = format!("/admin/categories/{top}");
    assert_eq!(
        app.post(&url, &[("action", "rename"), ("name", "Renamed")], &admin)
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    let under_itself = app
        .post(
            &url,
            &[("action", "move"), ("parent_id", &grand.to_string())],
            &admin,
        )
        .await;
    assert_eq!(under_itself.status, StatusCode::UNPROCESSABLE_ENTITY);
    let grand_url = format!("/admin/categories/{grand}");
    assert_eq!(
        app.post(
            &grand_url,
            &[("action", "move"), ("parent_id", &other.to_string())],
            &admin
        )
        .await
        .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.scalar::<i64>(&format!(
            "SELECT parent_id FROM categories WHERE id = {grand}"
        ))
        .await,
        other
    );

    let t = app.thread(&alice, child, "Survives the delete", "x").await;
    let child_url = format!("/admin/categories/{child}");
    assert_eq!(
        app.post(
            &child_url,
            &[("action", "delete"), ("target_id", &other.to_string())],
            &admin
        )
        .await
        .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.scalar::<i64>(&format!("SELECT category_id FROM threads WHERE id = {t}"))
            .await,
        other
    );
    assert_eq!(
        app.scalar::<i32>(&format!(
            "SELECT thread_count FROM categories WHERE id = {other}"
        ))
        .await,
        1
    );
    assert!(app.get("/admin/", &admin).await.body.contains("Renamed"));

    let users = app.get("/admin/users?q=al", &admin).await;
    assert!(users.body.contains("alice") && !users.body.contains(">boss<"));
    let user_url = format!("/admin/users/{}", alice.user_id);
    assert_eq!(
        app.post(
            &user_url,
            &[("action", "role"), ("role", "moderator")],
            &admin
        )
        .await
        .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.scalar::<String>(&format!(
            "SELECT role FROM users WHERE id = {}",
            alice.user_id
        ))
        .await,
        "moderator"
    );
    assert_eq!(
        app.post(&user_url, &[("action", "role"), ("role", "god")], &admin)
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        app.post(
            &user_url,
            &[("action", "ban"), ("days", "3"), ("reason", "spam")],
            &admin
        )
        .await
        .status,
        StatusCode::SEE_OTHER
    );
    // The ban ends her sessions; logging in again gives a session that cannot write.
    let r = app
        .post(
            "/login",
            &[("username", "alice"), ("password", PASSWORD)],
            &Browser::default(),
        )
        .await;
    let banned = Browser {
        session: r.cookie("forum_session"),
        ..Browser::default()
    };
    assert_eq!(
        app.post(&format!("/t/{t}/reply"), &[("body", "still here")], &banned)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.post(&user_url, &[("action", "unban")], &admin)
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.post(&format!("/t/{t}/reply"), &[("body", "back")], &banned)
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    let own = format!("/admin/users/{}", admin.user_id);
    assert_eq!(
        app.post(&own, &[("action", "role"), ("role", "member")], &admin)
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    assert_eq!(
        app.post("/admin/jobs", &[("kind", "recount")], &admin)
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.post("/admin/jobs", &[("kind", "rm -rf")], &admin)
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        app.post(&user_url, &[("action", "delete_content")], &admin)
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.scalar::<i64>(
            "SELECT count(*) FROM jobs WHERE kind IN ('recount', 'delete_user_content')"
        )
        .await,
        2
    );
}

#[tokio::test]
async fn malformed_api_bodies_get_json_errors() {
    let app = TestApp::new().await;
    let req = Request::post("/api/users/")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{not json"))
        .unwrap();
    let r = app.send(req, &Browser::default()).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.json()["error"].is_string());
    let req = Request::post("/api/users/")
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from("{}"))
        .unwrap();
    let r = app.send(req, &Browser::default()).await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(r.json()["error"].is_string());
    let missing = app
        .post_json("/api/users/", json!({"username": "x"}), None)
        .await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.get("/api/nothing-here", &Browser::default())
            .await
            .json()["error"],
        "not found"
    );
}
