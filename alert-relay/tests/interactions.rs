//! Bot mode: a firing group posted to a channel carries Silence/Acknowledge buttons; a
//! correctly signed click creates a silence in a real Alertmanager and updates the message;
//! a bad signature gets 401; a PING gets a PONG.

mod common;

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use common::{Relay, alertmanager_at, group, until};
use ed25519_dalek::{Signer as _, SigningKey};
use serde_json::{Value, json};

const BOT_TOKEN: &str = "bot-token-for-tests";
const CHANNEL: &str = "555666777888999000";

type Seen = Arc<Mutex<Vec<Value>>>;

/// Discord's create-message endpoint, as strict as the webhook double: the bot token, the
/// limits (testkit's validator, code 50035).
async fn create_message(
    State(seen): State<Seen>,
    Path(channel): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if headers.get("authorization").and_then(|v| v.to_str().ok())
        != Some(&format!("Bot {BOT_TOKEN}"))
    {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"code": 0, "message": "401: Unauthorized"})),
        )
            .into_response();
    }
    if channel != CHANNEL {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"code": 10003, "message": "Unknown Channel"})),
        )
            .into_response();
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    if let Err(errors) = testkit::discord::validate(&v) {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"code": 50035, "message": "Invalid Form Body", "errors": errors})),
        )
            .into_response();
    }
    seen.lock().unwrap().push(v.clone());
    let mut reply = testkit::discord::message_object(&v, "123456789012345678", None);
    reply["channel_id"] = json!(CHANNEL);
    Json(reply).into_response()
}

fn signed(key: &SigningKey, body: &str) -> (String, String) {
    let ts = chrono::Utc::now().timestamp().to_string();
    let sig = key.sign(format!("{ts}{body}").as_bytes());
    (ts, hex::encode(sig.to_bytes()))
}

async fn interact(relay: &Relay, ts: &str, sig: &str, body: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{}/discord/interactions", relay.url()))
        .header("x-signature-timestamp", ts)
        .header("x-signature-ed25519", sig)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_signed_click_silences_in_alertmanager_and_a_bad_signature_gets_401() {
    let seen: Seen = Arc::default();
    let app = axum::Router::new()
        .route("/api/v10/channels/{id}/messages", post(create_message))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = format!("http://{}/api/v10", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let dir = tempfile::tempdir().unwrap();
    let routes = dir.path().join("routes.yml");
    std::fs::write(
        &routes,
        format!("targets:\n  oncall:\n    channel_id: \"{CHANNEL}\"\ndefault_targets: [oncall]\n"),
    )
    .unwrap();
    let key = SigningKey::from_bytes(&[7u8; 32]);
    let public = hex::encode(key.verifying_key().to_bytes());
    let am_port = testkit::free_port();
    let relay = Relay::start(
        &dir.path().join("spool"),
        &[
            "--config.file",
            routes.to_str().unwrap(),
            "--discord.api-url",
            &api,
            "--discord.bot-token",
            BOT_TOKEN,
            "--discord.public-key",
            &public,
            "--alertmanager.url",
            &format!("http://127.0.0.1:{am_port}"),
        ],
    )
    .await;
    let am = alertmanager_at(dir.path(), relay.port, am_port).await;

    // PING (as Discord sends it) and a bad signature.
    let ping =
        &json!({"type": 1, "id": "1100000000000000001", "application_id": "1100000000000000002",
        "token": "interaction-token", "version": 1})
        .to_string();
    let (ts, sig) = signed(&key, ping);
    let (status, pong) = interact(&relay, &ts, &sig, ping).await;
    assert_eq!((status, &pong["type"]), (200, &json!(1)), "{pong}");
    let other = SigningKey::from_bytes(&[8u8; 32]);
    let (ts, bad) = signed(&other, ping);
    assert_eq!(interact(&relay, &ts, &bad, ping).await.0, 401);
    assert_eq!(interact(&relay, &ts, "00", ping).await.0, 401);

    // A firing group reaches the channel with buttons and matchers.
    assert_eq!(
        relay
            .post(
                "/alertmanager",
                &group("DbDown", "firing", &[("db-1", "firing")])
            )
            .await,
        200
    );
    until(10, "the bot message", || !seen.lock().unwrap().is_empty()).await;
    let message = seen.lock().unwrap()[0].clone();
    let labels: Vec<&str> = message["components"][0]["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, vec!["Silence 1h", "Silence 24h", "Acknowledge"]);
    assert!(message.get("username").is_none());

    // The click, as Discord sends it.
    let mut shown = testkit::discord::message_object(&message, "123456789012345678", None);
    shown["channel_id"] = json!(CHANNEL);
    let click = json!({"type": 3, "id": "1100000000000000003", "application_id": "1100000000000000002",
        "token": "interaction-token", "version": 1, "guild_id": "1100000000000000004", "channel_id": CHANNEL,
        "data": {"custom_id": "silence:3600", "component_type": 2},
        "member": {"user": {"id": "42", "username": "alice", "discriminator": "0", "avatar": null, "global_name": "Alice"},
            "roles": [], "joined_at": "2024-01-01T00:00:00+00:00", "deaf": false, "mute": false, "flags": 0, "permissions": "0"},
        "app_permissions": "0", "locale": "en-US", "guild_locale": "en-US", "entitlements": [], "attachment_size_limit": 10485760,
        "message": shown}).to_string();
    let (ts, sig) = signed(&key, &click);
    let (status, reply) = interact(&relay, &ts, &sig, &click).await;
    assert_eq!(status, 200, "{reply}");
    if reply["type"] == json!(4) {
        panic!("click refused: {reply}");
    }
    assert_eq!(reply["type"], json!(7), "{reply}");
    let content = reply["data"]["content"].as_str().unwrap();
    assert!(content.contains("Silenced by alice until <t:"), "{content}");
    assert_eq!(reply["data"]["components"], json!([]));
    let silences: Value = reqwest::get(format!("http://127.0.0.1:{}/api/v2/silences", am.port))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let s = silences
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["createdBy"] == json!("alice (Discord)"))
        .expect("silence created");
    let matchers: Vec<(String, String)> = s["matchers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap().into(),
                m["value"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(
        matchers.contains(&("alertname".into(), "DbDown".into())),
        "{matchers:?}"
    );
    assert_eq!(s["status"]["state"], json!("active"));

    // A tampered click (valid signature of another body) is refused.
    let (ts, sig) = signed(&key, &click);
    assert_eq!(
        interact(&relay, &ts, &sig, &click.replace("3600", "86400"))
            .await
            .0,
        401
    );
}
