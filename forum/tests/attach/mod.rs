//! Helpers of the attachment tests: a forum with a local attachment store, multipart bodies,
//! images, and moto (an S3-compatible server) on a free loopback port.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, header};
use forum::attachments::storage::{Storage, StorageSettings};

use crate::common::{Browser, CSRF, Resp, TestApp};

/// The multipart boundary of the test bodies.
pub const BOUNDARY: &str = "----forum-test-boundary-7d1f";

/// A `multipart/form-data` body with text `fields` and one file field `file` named `name`.
pub fn multipart(fields: &[(&str, &str)], name: &str, file: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// A PNG of `width` x `height` pixels.
pub fn png(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbaImage::from_fn(width, height, |x, y| {
        image::Rgba([(x % 256) as u8, (y % 256) as u8, 90, 255])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A directory store in a fresh temporary directory (kept as long as the returned guard).
pub fn local_storage() -> (Storage, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = url::Url::from_directory_path(dir.path()).unwrap();
    let storage = Storage::open(&StorageSettings {
        url: url.to_string(),
        timeout: Duration::from_secs(10),
        ..StorageSettings::default()
    })
    .unwrap();
    (storage, dir)
}

/// A forum whose attachments go to `storage`.
pub async fn app_with(storage: Storage) -> TestApp {
    let mut app = TestApp::new().await;
    app.state = app.state.clone().with_storage(storage);
    app
}

/// `POST /api/attachments/` as browser `b` (session cookie and the CSRF header).
pub async fn api_upload(app: &TestApp, b: &Browser, name: &str, file: &[u8]) -> Resp {
    let req = Request::post("/api/attachments/")
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .header("x-csrf-token", CSRF)
        .body(Body::from(multipart(&[], name, file)))
        .unwrap();
    app.send(req, b).await
}

/// `POST path` with a multipart body of `fields` and a file, as `b`.
pub async fn post_multipart(
    app: &TestApp,
    path: &str,
    b: &Browser,
    fields: &[(&str, &str)],
    name: &str,
    file: &[u8],
) -> Resp {
    let req = Request::post(path)
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(Body::from(multipart(fields, name, file)))
        .unwrap();
    app.send(req, b).await
}

/// `GET path` answering raw bytes.
pub async fn get_bytes(
    app: &TestApp,
    path: &str,
    b: &Browser,
) -> (u16, axum::http::HeaderMap, Vec<u8>) {
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;
    let mut req = Request::get(path).body(Body::empty()).unwrap();
    let mut cookies = vec![format!("forum_csrf={CSRF}")];
    if let Some(s) = &b.session {
        cookies.push(format!("forum_session={s}"));
    }
    req.headers_mut()
        .insert(header::COOKIE, cookies.join("; ").parse().unwrap());
    let res = app.router().oneshot(req).await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    (status, headers, bytes)
}

/// The path of `moto_server`: `MOTO_SERVER`, the virtualenv `scripts/test` makes, or `PATH`.
/// Panics with how to install it.
pub fn moto_server_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("MOTO_SERVER")
        .map(PathBuf::from)
        .filter(|p| p.is_file())
    {
        return p;
    }
    let venv = PathBuf::from("/var/cache/forum-moto/venv/bin/moto_server");
    if venv.is_file() {
        return venv;
    }
    testkit::find_bin("moto_server").unwrap_or_else(|| {
        panic!(
            "moto_server (the S3-compatible test server) was not found. Install it: \
             `python3 -m venv /var/cache/forum-moto/venv && /var/cache/forum-moto/venv/bin/pip install 'moto[server]'` \
             (scripts/test does, through ensure_moto in scripts/lib/setup.sh), or set MOTO_SERVER."
        )
    })
}

/// A moto server on a free loopback port, stopped when dropped.
pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
}

impl Moto {
    /// Starts moto and waits until it answers.
    pub async fn start() -> Moto {
        let port = testkit::free_port();
        let child = Command::new(moto_server_bin())
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let endpoint = format!("http://127.0.0.1:{port}");
        let moto = Moto { child, endpoint };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if client
                .get(format!("{}/moto-api/", moto.endpoint))
                .send()
                .await
                .is_ok()
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "moto_server did not start on port {port}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        moto
    }

    /// Creates `bucket` (an unsigned request: moto accepts it).
    pub async fn create_bucket(&self, bucket: &str) {
        let r = reqwest::Client::new()
            .put(format!("{}/{bucket}", self.endpoint))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "create bucket: {}", r.status());
    }

    /// The storage settings of `s3://bucket/prefix` on this server.
    pub fn settings(&self, bucket: &str) -> StorageSettings {
        StorageSettings {
            url: format!("s3://{bucket}/forum"),
            endpoint: Some(self.endpoint.clone()),
            region: Some("us-east-1".into()),
            access_key_id: Some("forumtestkey".into()),
            secret_access_key: Some("forum-test-secret-do-not-log".into()),
            timeout: Duration::from_secs(10),
        }
    }

    /// The keys of the objects in `bucket` (moto's ListObjectsV2, unsigned).
    pub async fn keys(&self, bucket: &str) -> Vec<String> {
        let text = reqwest::Client::new()
            .get(format!("{}/{bucket}?list-type=2", self.endpoint))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.split("<Key>")
            .skip(1)
            .filter_map(|s| s.split("</Key>").next())
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
