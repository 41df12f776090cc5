//! A strict local Discord API, the one test double of the project.
//!
//! It answers the execute-webhook and edit-message endpoints as Discord does and enforces
//! every documented limit (see `shared/discord-api-facts.md`) with Discord's error format, so
//! a message that Discord would refuse is refused here too:
//!
//! - content 2000 characters, 10 embeds, title 256, description 4096, 25 fields, field name
//!   256 and value 1024, footer 2048, author 256, 6000 over all embeds, username 80,
//!   `allowed_mentions` 100 role and 100 user ids, no empty message: else 400, code 50035;
//! - a webhook's bucket of 5 requests per 2 s, with `X-RateLimit-*` headers on every answer
//!   and 429 with `retry_after` (and `Retry-After`) beyond it;
//! - a wrong webhook token: 401, code 50027.
//!
//! It serves Discord's paths under `/api/v10` at its host root, as discord.com does, so a client
//! whose host is overridden (serenity's `HttpBuilder::proxy`) reaches it unchanged.
//!
//! A test can script the next answers ([`Scripted`]: 429 with a chosen `retry_after`, global
//! or not; 500; a dropped connection is not needed), or declare an outage (every answer the
//! same until it ends), and reads what was accepted in order and every answer given, with the
//! `retry_after` of each 429.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{patch, post};
use serde_json::{Value, json};

/// The webhook id every double serves.
pub const WEBHOOK_ID: &str = "112233445566778899";
/// Its token (a fake with the real shape).
pub const WEBHOOK_TOKEN: &str =
    "test-token_0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV";

/// Requests per bucket window, and the window, as Discord's webhooks allow.
const BUCKET_LIMIT: u32 = 5;
const BUCKET_WINDOW: Duration = Duration::from_secs(2);

/// An answer the test wants next, instead of the normal one.
#[derive(Debug, Clone, Copy)]
pub enum Scripted {
    /// 429 with this `retry_after` (seconds); `global` sets the global flag and header.
    RateLimited { retry_after: f64, global: bool },
    /// 500 Internal Server Error.
    ServerError,
}

/// One request the double saw.
#[derive(Debug, Clone)]
pub struct Seen {
    /// HTTP status it answered.
    pub status: u16,
    /// The body, parsed (Null when not JSON).
    pub body: Value,
    /// When it arrived.
    pub at: Instant,
    /// The `retry_after` (seconds) it answered with, for a 429.
    pub retry_after: Option<f64>,
}

#[derive(Debug, Default)]
struct Inner {
    script: VecDeque<Scripted>,
    outage: Option<Scripted>,
    accepted: Vec<Value>,
    seen: Vec<Seen>,
    edits: Vec<(String, Value)>,
    window: Option<(Instant, u32)>,
    next_id: u64,
}

/// A running double on 127.0.0.1.
#[derive(Debug, Clone)]
pub struct DiscordDouble {
    addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

impl DiscordDouble {
    /// Starts the double on a free port; it runs until the runtime ends.
    pub async fn start() -> DiscordDouble {
        let inner = Arc::new(Mutex::new(Inner {
            next_id: 1_000_000_000_000_000_000,
            ..Inner::default()
        }));
        let app = Router::new()
            .route("/api/v10/webhooks/{id}/{token}", post(execute))
            .route(
                "/api/v10/webhooks/{id}/{token}/messages/{message}",
                patch(edit),
            )
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the Discord double");
        let addr = listener.local_addr().expect("local addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        DiscordDouble { addr, inner }
    }

    /// The host root (`http://127.0.0.1:<port>`), where `discord.com` would be.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The API base, to pass as the relay's `--discord.api-url`.
    pub fn api_url(&self) -> String {
        format!("{}/api/v10", self.base_url())
    }

    /// The execute-webhook URL of the double's webhook.
    pub fn webhook_url(&self) -> String {
        format!("{}/webhooks/{WEBHOOK_ID}/{WEBHOOK_TOKEN}", self.api_url())
    }

    /// Queues answers to give, in order, before normal service resumes.
    pub fn script(&self, answers: impl IntoIterator<Item = Scripted>) {
        self.inner.lock().unwrap().script.extend(answers);
    }

    /// Answers every request with `answer` until called with `None` (scripted answers wait).
    pub fn outage(&self, answer: Option<Scripted>) {
        self.inner.lock().unwrap().outage = answer;
    }

    /// The bodies of the messages accepted (2xx), in order.
    pub fn messages(&self) -> Vec<Value> {
        self.inner.lock().unwrap().accepted.clone()
    }

    /// Every request seen, accepted or not.
    pub fn seen(&self) -> Vec<Seen> {
        self.inner.lock().unwrap().seen.clone()
    }

    /// Message edits accepted: (message id, body).
    pub fn edits(&self) -> Vec<(String, Value)> {
        self.inner.lock().unwrap().edits.clone()
    }
}

type Shared = Arc<Mutex<Inner>>;

fn error(status: StatusCode, code: u32, message: &str, errors: Value) -> Response {
    let mut body = json!({ "code": code, "message": message });
    if !errors.is_null() {
        body["errors"] = errors;
    }
    (status, Json(body)).into_response()
}

/// Counts the request against the webhook's bucket; returns the 429 (with headers) when the
/// bucket is empty, and the rate-limit headers to add otherwise.
fn take_bucket(inner: &mut Inner, now: Instant) -> Result<HeaderMap, Box<Response>> {
    let (start, used) = match inner.window {
        Some((start, used)) if now.duration_since(start) < BUCKET_WINDOW => (start, used),
        _ => (now, 0),
    };
    let reset_after = BUCKET_WINDOW
        .saturating_sub(now.duration_since(start))
        .as_secs_f64();
    let mut headers = HeaderMap::new();
    let set = |h: &mut HeaderMap, k: &'static str, v: String| {
        h.insert(k, HeaderValue::from_str(&v).expect("header value"));
    };
    set(&mut headers, "x-ratelimit-limit", BUCKET_LIMIT.to_string());
    set(
        &mut headers,
        "x-ratelimit-reset-after",
        format!("{reset_after:.3}"),
    );
    set(
        &mut headers,
        "x-ratelimit-bucket",
        "double-webhook-bucket".into(),
    );
    let epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    set(
        &mut headers,
        "x-ratelimit-reset",
        format!("{:.3}", epoch + reset_after),
    );
    if used >= BUCKET_LIMIT {
        set(&mut headers, "x-ratelimit-remaining", "0".into());
        set(&mut headers, "x-ratelimit-scope", "user".into());
        set(
            &mut headers,
            "retry-after",
            format!("{}", reset_after.ceil() as u64),
        );
        return Err(Box::new(rate_limited(headers, reset_after, false)));
    }
    inner.window = Some((start, used + 1));
    set(
        &mut headers,
        "x-ratelimit-remaining",
        (BUCKET_LIMIT - used - 1).to_string(),
    );
    Ok(headers)
}

fn scripted(answer: Scripted) -> Response {
    match answer {
        Scripted::RateLimited {
            retry_after,
            global,
        } => {
            let mut headers = HeaderMap::new();
            headers.insert(
                "retry-after",
                HeaderValue::from_str(&format!("{}", retry_after.ceil() as u64)).unwrap(),
            );
            headers.insert(
                "x-ratelimit-scope",
                HeaderValue::from_static(if global { "global" } else { "user" }),
            );
            if global {
                headers.insert("x-ratelimit-global", HeaderValue::from_static("true"));
            }
            rate_limited(headers, retry_after, global)
        }
        Scripted::ServerError => {
            (StatusCode::INTERNAL_SERVER_ERROR, "internal server error").into_response()
        }
    }
}

async fn execute(
    State(inner): State<Shared>,
    Path((id, token)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let now = Instant::now();
    let parsed: Result<Value, _> = serde_json::from_slice(&body);
    let mut inner = inner.lock().unwrap();
    let response = answer(&mut inner, &id, &token, &query, parsed.as_ref().ok(), now);
    let status = response.status().as_u16();
    let retry_after = response
        .extensions()
        .get::<RetryAfter>()
        .map(|RetryAfter(r)| *r);
    inner.seen.push(Seen {
        status,
        body: parsed.unwrap_or(Value::Null),
        at: now,
        retry_after,
    });
    response
}

/// The `retry_after` of a 429, kept on the response for [`Seen`].
#[derive(Clone, Copy, Debug)]
struct RetryAfter(f64);

fn rate_limited(headers: HeaderMap, retry_after: f64, global: bool) -> Response {
    let body = json!({ "message": "You are being rate limited.", "retry_after": retry_after, "global": global });
    let mut response = (StatusCode::TOO_MANY_REQUESTS, headers, Json(body)).into_response();
    response.extensions_mut().insert(RetryAfter(retry_after));
    response
}

fn answer(
    inner: &mut Inner,
    id: &str,
    token: &str,
    query: &HashMap<String, String>,
    body: Option<&Value>,
    now: Instant,
) -> Response {
    if id != WEBHOOK_ID || token != WEBHOOK_TOKEN {
        return error(
            StatusCode::UNAUTHORIZED,
            50027,
            "Invalid Webhook Token",
            Value::Null,
        );
    }
    if let Some(answer) = inner.outage {
        return scripted(answer);
    }
    if let Some(answer) = inner.script.pop_front() {
        return scripted(answer);
    }
    let headers = match take_bucket(inner, now) {
        Ok(h) => h,
        Err(limited) => return *limited,
    };
    let Some(body) = body else {
        return error(
            StatusCode::BAD_REQUEST,
            50109,
            "The request body contains invalid JSON.",
            Value::Null,
        );
    };
    if let Err(errors) = validate(body) {
        return error(StatusCode::BAD_REQUEST, 50035, "Invalid Form Body", errors);
    }
    inner.accepted.push(body.clone());
    inner.next_id += 1;
    if query.get("wait").map(String::as_str) == Some("true") {
        let message = message_object(body, &inner.next_id.to_string(), Some(WEBHOOK_ID));
        (StatusCode::OK, headers, Json(message)).into_response()
    } else {
        (StatusCode::NO_CONTENT, headers).into_response()
    }
}

async fn edit(
    State(inner): State<Shared>,
    Path((id, token, message)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    let now = Instant::now();
    let mut inner = inner.lock().unwrap();
    if id != WEBHOOK_ID || token != WEBHOOK_TOKEN {
        return error(
            StatusCode::UNAUTHORIZED,
            50027,
            "Invalid Webhook Token",
            Value::Null,
        );
    }
    if let Err(limited) = take_bucket(&mut inner, now) {
        return *limited;
    }
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            50109,
            "The request body contains invalid JSON.",
            Value::Null,
        );
    };
    if let Err(errors) = validate_parts(&body, false) {
        return error(StatusCode::BAD_REQUEST, 50035, "Invalid Form Body", errors);
    }
    inner.edits.push((message.clone(), body.clone()));
    let mut reply = body;
    reply["id"] = json!(message);
    (StatusCode::OK, Json(reply)).into_response()
}

/// The message object Discord answers a create or execute with: what was sent, plus the
/// fields Discord fills in.
pub fn message_object(body: &Value, id: &str, webhook_id: Option<&str>) -> Value {
    let or = |v: &Value, d: Value| if v.is_null() { d } else { v.clone() };
    json!({
        "id": id,
        "type": 0,
        "channel_id": "998877665544332211",
        "content": or(&body["content"], json!("")),
        "author": {
            "id": webhook_id.unwrap_or("445566778899001122"),
            "username": or(&body["username"], json!("Alertmanager")),
            "discriminator": "0000",
            "avatar": null,
            "bot": true
        },
        "attachments": [],
        "embeds": or(&body["embeds"], json!([])),
        "components": or(&body["components"], json!([])),
        "mentions": [],
        "mention_roles": [],
        "mention_everyone": false,
        "pinned": false,
        "tts": false,
        "flags": 0,
        "timestamp": chrono::Utc::now().to_rfc3339(),
        "edited_timestamp": null,
        "webhook_id": webhook_id,
    })
}

fn chars(v: &Value) -> usize {
    v.as_str().map(|s| s.chars().count()).unwrap_or(0)
}

/// Discord's checks of an execute-webhook body; `Err` holds Discord-shaped `errors`.
pub fn validate(body: &Value) -> Result<(), Value> {
    validate_parts(body, true)
}

fn validate_parts(body: &Value, require_content: bool) -> Result<(), Value> {
    let mut errors = serde_json::Map::new();
    let mut fail = |path: String, code: &str, message: String| {
        errors.insert(
            path,
            json!({ "_errors": [{ "code": code, "message": message }] }),
        );
    };
    let too_long = |n: usize| format!("Must be {n} or fewer in length.");
    if chars(&body["content"]) > 2000 {
        fail("content".into(), "BASE_TYPE_MAX_LENGTH", too_long(2000));
    }
    if chars(&body["username"]) > 80 {
        fail("username".into(), "BASE_TYPE_MAX_LENGTH", too_long(80));
    }
    let embeds = body["embeds"].as_array().cloned().unwrap_or_default();
    if embeds.len() > 10 {
        fail("embeds".into(), "BASE_TYPE_MAX_LENGTH", too_long(10));
    }
    let mut total = 0;
    for (i, e) in embeds.iter().enumerate() {
        for (key, limit) in [("title", 256), ("description", 4096)] {
            let n = chars(&e[key]);
            total += n;
            if n > limit {
                fail(
                    format!("embeds.{i}.{key}"),
                    "BASE_TYPE_MAX_LENGTH",
                    too_long(limit),
                );
            }
        }
        for (path, limit) in [(("footer", "text"), 2048), (("author", "name"), 256)] {
            let n = chars(&e[path.0][path.1]);
            total += n;
            if n > limit {
                fail(
                    format!("embeds.{i}.{}.{}", path.0, path.1),
                    "BASE_TYPE_MAX_LENGTH",
                    too_long(limit),
                );
            }
        }
        let fields = e["fields"].as_array().cloned().unwrap_or_default();
        if fields.len() > 25 {
            fail(
                format!("embeds.{i}.fields"),
                "BASE_TYPE_MAX_LENGTH",
                too_long(25),
            );
        }
        for (j, f) in fields.iter().enumerate() {
            for (key, limit) in [("name", 256), ("value", 1024)] {
                let n = chars(&f[key]);
                total += n;
                if n > limit {
                    fail(
                        format!("embeds.{i}.fields.{j}.{key}"),
                        "BASE_TYPE_MAX_LENGTH",
                        too_long(limit),
                    );
                }
                if n == 0 {
                    fail(
                        format!("embeds.{i}.fields.{j}.{key}"),
                        "BASE_TYPE_REQUIRED",
                        "This field is required".into(),
                    );
                }
            }
        }
        if let Some(color) = e.get("color")
            && color.as_u64().is_none_or(|c| c > 0xFF_FFFF)
        {
            fail(
                format!("embeds.{i}.color"),
                "NUMBER_TYPE_MAX",
                "int value should be <= 16777215.".into(),
            );
        }
    }
    if total > 6000 {
        fail(
            "embeds".into(),
            "MAX_EMBED_SIZE_EXCEEDED",
            "Embed size exceeds maximum size of 6000".into(),
        );
    }
    for kind in ["roles", "users"] {
        if body["allowed_mentions"][kind]
            .as_array()
            .is_some_and(|ids| ids.len() > 100)
        {
            fail(
                format!("allowed_mentions.{kind}"),
                "BASE_TYPE_MAX_LENGTH",
                too_long(100),
            );
        }
    }
    if require_content && chars(&body["content"]) == 0 && embeds.is_empty() {
        fail(
            "content".into(),
            "BASE_TYPE_REQUIRED",
            "Cannot send an empty message".into(),
        );
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Value::Object(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_limit_is_enforced() {
        let long = |n: usize| "x".repeat(n);
        let ok = json!({ "content": long(2000), "embeds": [{ "title": long(256), "description": long(3000) }] });
        assert!(validate(&ok).is_ok());
        for (bad, path) in [
            (json!({ "content": long(2001) }), "content"),
            (
                json!({ "embeds": [{ "title": long(257) }] }),
                "embeds.0.title",
            ),
            (
                json!({ "embeds": [{ "description": long(4097) }] }),
                "embeds.0.description",
            ),
            (
                json!({ "embeds": vec![json!({ "title": "t" }); 11] }),
                "embeds",
            ),
            (
                json!({ "embeds": [{ "fields": vec![json!({ "name": "n", "value": "v" }); 26] }] }),
                "embeds.0.fields",
            ),
            (
                json!({ "embeds": [{ "fields": [{ "name": long(257), "value": "v" }] }] }),
                "embeds.0.fields.0.name",
            ),
            (
                json!({ "embeds": [{ "fields": [{ "name": "n", "value": long(1025) }] }] }),
                "embeds.0.fields.0.value",
            ),
            (
                json!({ "embeds": [{ "footer": { "text": long(2049) } }] }),
                "embeds.0.footer.text",
            ),
            (
                json!({ "embeds": [{ "author": { "name": long(257) } }] }),
                "embeds.0.author.name",
            ),
            (
                json!({ "embeds": [{ "description": long(4000) }, { "description": long(2001) }] }),
                "embeds",
            ),
            (
                json!({ "content": "x", "allowed_mentions": { "roles": vec!["1"; 101] } }),
                "allowed_mentions.roles",
            ),
            (json!({ "content": "" }), "content"),
        ] {
            let errors = validate(&bad).expect_err(path);
            assert!(errors.get(path).is_some(), "{path}: {errors}");
        }
    }

    #[test]
    fn characters_are_counted_not_bytes() {
        assert!(validate(&json!({ "content": "é".repeat(2000) })).is_ok());
    }

    #[tokio::test]
    async fn the_bucket_answers_429_with_retry_after_and_scripts_come_first() {
        let double = DiscordDouble::start().await;
        let client = reqwest::Client::new();
        let url = format!("{}?wait=true", double.webhook_url());
        double.script([Scripted::ServerError]);
        let first = client
            .post(&url)
            .json(&json!({ "content": "a" }))
            .send()
            .await
            .unwrap();
        assert_eq!(first.status(), 500);
        let mut statuses = Vec::new();
        for i in 0..6 {
            let r = client
                .post(&url)
                .json(&json!({ "content": format!("m{i}") }))
                .send()
                .await
                .unwrap();
            statuses.push(r.status().as_u16());
            if r.status() == 429 {
                let body: Value = r.json().await.unwrap();
                assert!(body["retry_after"].as_f64().unwrap() > 0.0);
                assert_eq!(body["global"], false);
            } else {
                assert!(r.headers().contains_key("x-ratelimit-remaining"));
                let msg: Value = r.json().await.unwrap();
                assert!(msg["id"].is_string());
            }
        }
        assert_eq!(statuses, [200, 200, 200, 200, 200, 429]);
        assert_eq!(double.messages().len(), 5);
        let wrong = client
            .post(format!("{}/webhooks/{WEBHOOK_ID}/nope", double.api_url()))
            .json(&json!({"content": "x"}))
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 401);
    }
}
