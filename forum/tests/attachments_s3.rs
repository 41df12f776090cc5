//! The attachment store on a real S3-compatible server: moto in server mode (from PyPI;
//! `scripts/test` installs it), started on a free loopback port. Missing moto fails the test
//! with how to install it.

mod attach;
mod common;

use std::time::{Duration, Instant};

use attach::{Moto, api_upload, app_with, get_bytes, png};
use axum::http::StatusCode;
use forum::attachments::storage::{Storage, StorageError, StorageSettings};

#[tokio::test]
async fn objects_round_trip_through_an_s3_compatible_server() {
    let moto = Moto::start().await;
    moto.create_bucket("forum-bucket").await;
    let storage = Storage::open(&moto.settings("forum-bucket")).unwrap();
    storage.put("a/one.bin", b"first".to_vec()).await.unwrap();
    assert_eq!(&storage.get("a/one.bin").await.unwrap()[..], b"first");
    assert!(storage.exists("a/one.bin").await.unwrap());
    // The prefix of the URL is where the objects are.
    assert_eq!(
        moto.keys("forum-bucket").await,
        vec!["forum/a/one.bin".to_string()]
    );
    storage.delete("a/one.bin").await.unwrap();
    assert!(!storage.exists("a/one.bin").await.unwrap());
    assert!(matches!(
        storage.get("a/one.bin").await,
        Err(StorageError::NotFound(_))
    ));
    assert!(moto.keys("forum-bucket").await.is_empty());
    // A bucket that does not exist is an error that names no key.
    let missing = Storage::open(&moto.settings("no-such-bucket")).unwrap();
    let err = missing.put("x", b"y".to_vec()).await.unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(
        text.contains("no-such-bucket") || text.contains('x'),
        "{text}"
    );
    assert!(!text.contains("forum-test-secret-do-not-log"), "{text}");
}

#[tokio::test]
async fn an_upload_is_stored_served_and_swept_through_s3() {
    let moto = Moto::start().await;
    moto.create_bucket("attachments").await;
    let storage = Storage::open(&moto.settings("attachments")).unwrap();
    let app = app_with(storage).await;
    let cat = app.category(None, "General", false).await;
    let alice = app.user("alice", "member").await;
    let bob = app.user("bob", "member").await;
    let thread = app.thread(&alice, cat, "On S3", "bucket").await;

    let r = api_upload(&app, &alice, "photo.png", &png(400, 200)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let used = r.json();
    let r = api_upload(&app, &alice, "unused.txt", b"forgotten").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let unused = r.json();
    assert_eq!(moto.keys("attachments").await.len(), 3);

    app.reply(&alice, thread, used["markdown"].as_str().unwrap())
        .await;
    let (status, headers, bytes) = get_bytes(&app, used["url"].as_str().unwrap(), &bob).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "image/png");
    assert_eq!(image::load_from_memory(&bytes).unwrap().width(), 400);
    let (status, _, thumb) = get_bytes(&app, used["thumbnail_url"].as_str().unwrap(), &bob).await;
    assert_eq!(status, 200);
    assert_eq!(image::load_from_memory(&thumb).unwrap().width(), 320);

    let swept = forum::attachments::sweep::sweep_once(
        &app.state.pool,
        &app.state.attachments,
        Duration::ZERO,
    )
    .await
    .unwrap();
    assert_eq!(swept.removed, 1);
    let keys = moto.keys("attachments").await;
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert!(keys.iter().any(|k| k.ends_with(".thumbnail.png")));
    assert_eq!(
        get_bytes(&app, unused["url"].as_str().unwrap(), &alice)
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn a_store_that_does_not_answer_times_out_and_is_counted() {
    // A listener that accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let storage = Storage::open(&StorageSettings {
        url: "s3://slow/forum".into(),
        endpoint: Some(format!("http://127.0.0.1:{port}")),
        region: Some("us-east-1".into()),
        access_key_id: Some("forumtestkey".into()),
        secret_access_key: Some("forum-test-secret-do-not-log".into()),
        timeout: Duration::from_secs(1),
    })
    .unwrap();
    let start = Instant::now();
    let err = storage.put("k", b"v".to_vec()).await.unwrap_err();
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    assert!(!format!("{err} {err:?}").contains("forum-test-secret-do-not-log"));

    let app = app_with(storage).await;
    let alice = app.user("alice", "member").await;
    let r = api_upload(&app, &alice, "a.txt", b"text").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    assert!(!r.body.contains("forum-test-secret-do-not-log"));
    let metrics = app.get("/metrics", &common::Browser::default()).await.body;
    assert!(
        metrics.contains("forum_attachment_storage_errors_total{operation=\"put\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("forum_attachment_uploads_total{result=\"storage_error\"} 1"),
        "{metrics}"
    );
    silent.abort();
}
