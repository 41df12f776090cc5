//! The forum on every supported PostgreSQL major version (14 to 18, the packaged servers of
//! `scripts/pg-versions`, installed by `scripts/lib/pg-versions.sh`): each test starts a
//! server of that version, runs the migrations (twice: the second run applies nothing),
//! seeds demo data, and drives the API through the router: register, log in, list
//! categories, create a thread with a poll, list and search. A version that is not
//! installed fails with the command that installs it.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use tower::ServiceExt as _;

#[tokio::test]
async fn forum_on_postgresql_14() {
    forum_on(14).await;
}

#[tokio::test]
async fn forum_on_postgresql_15() {
    forum_on(15).await;
}

#[tokio::test]
async fn forum_on_postgresql_16() {
    forum_on(16).await;
}

#[tokio::test]
async fn forum_on_postgresql_17() {
    forum_on(17).await;
}

#[tokio::test]
async fn forum_on_postgresql_18() {
    forum_on(18).await;
}

/// Sends a JSON request to the router; returns the status and the body as JSON.
async fn call(
    app: &axum::Router,
    method: &str,
    path: &str,
    body: Option<Value>,
    token: Option<&str>,
) -> (StatusCode, Value) {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
    let res = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        app.clone().oneshot(req.body(body).unwrap()),
    )
    .await
    .expect("answered in time")
    .unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, json)
}

async fn forum_on(major: u32) {
    let server = testkit::pg::Server::start(Some(testkit::pg::bin_dir(major))).await;
    let admin = testkit::connect(&server.url("postgres")).await;
    let version: String = admin
        .query_one("SHOW server_version_num", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(version.parse::<u32>().unwrap() / 10_000, major);
    admin.batch_execute("CREATE DATABASE forum").await.unwrap();

    let pool = forum::db::pool(&server.url("forum"), 4).unwrap();
    let applied = forum::db::migrate(&pool).await.unwrap();
    assert!(applied > 0, "PostgreSQL {major}: no migration ran");
    assert_eq!(
        forum::db::migrate(&pool).await.unwrap(),
        0,
        "migrations run once"
    );
    forum::seed::seed(
        &pool,
        forum::seed::SeedPlan {
            users: 20,
            threads: 10,
            posts: 40,
        },
    )
    .await
    .unwrap_or_else(|e| panic!("PostgreSQL {major}: seed: {e:#}"));

    let config = forum::Config {
        spam: forum::config::SpamRules::off(),
        ..forum::Config::default()
    };
    let app = forum::app(forum::AppState::new(pool, config));
    let password = "correct horse battery";
    let (status, body) = call(
        &app,
        "POST",
        "/api/users/",
        Some(json!({"username": "matrix", "email": "matrix@example.com", "password": password})),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = call(
        &app,
        "POST",
        "/api/auth/login",
        Some(json!({"username": "matrix", "password": password})),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["token"].as_str().expect("a token").to_string();

    let (status, categories) = call(&app, "GET", "/api/categories/", None, None).await;
    assert_eq!(status, StatusCode::OK, "{categories}");
    let ids: Vec<i64> = categories["results"]
        .as_array()
        .expect("categories")
        .iter()
        .filter_map(|c| c["id"].as_i64())
        .collect();
    assert!(!ids.is_empty(), "seeded categories: {categories}");
    let title = format!("Matrix thread on PostgreSQL {major}");
    let mut created = None;
    for id in ids {
        let (status, body) = call(
            &app,
            "POST",
            "/api/threads/",
            Some(json!({
                "category_id": id,
                "title": title,
                "body": "Checking **markdown** and full-text search: zeppelin.",
                "poll": {"question": "Works?", "choices": ["yes", "no"]},
            })),
            Some(&token),
        )
        .await;
        if status == StatusCode::CREATED {
            created = Some(body);
            break;
        }
    }
    let created = created.expect("a member can start a thread in some category");
    assert!(created.to_string().contains(&title), "{created}");

    let (status, threads) = call(&app, "GET", "/api/threads/", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(threads.to_string().contains(&title), "{threads}");
    let (status, hits) = call(&app, "GET", "/api/search/?q=zeppelin", None, None).await;
    assert_eq!(status, StatusCode::OK, "{hits}");
    assert!(
        hits.to_string().contains(&title),
        "search on {major}: {hits}"
    );
}
