//! Bot mode's buttons: `POST /discord/interactions`, where Discord sends button clicks.
//!
//! Every request is verified with Ed25519 (`X-Signature-Ed25519` over `X-Signature-Timestamp`
//! and the body, with the application's public key; a bad or stale signature gets 401). A PING
//! gets `{"type":1}`. A click on "Silence 1h" / "Silence 24h" creates a silence through the
//! Alertmanager API v2 for the matchers the message carries (its `Matchers` field, the group's
//! common labels) and answers with the message updated (type 7): who silenced it, until when,
//! buttons removed. "Acknowledge" only updates the message.
//!
//! The request is read as serenity's `Interaction` and answered with its
//! `CreateInteractionResponse`. The signature check is the relay's own: serenity's `Verifier`
//! uses non-strict Ed25519 verification and does not look at the timestamp's age.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use ed25519_dalek::{Signature, VerifyingKey};
use serenity::builder::{
    CreateAllowedMentions, CreateEmbed, CreateInteractionResponse, CreateInteractionResponseMessage,
};
use serenity::model::application::{ComponentInteraction, Interaction};

use crate::discord;

/// The embed field that carries the silence matchers.
pub const MATCHERS_FIELD: &str = "Matchers";

/// What the interactions endpoint needs.
#[derive(Clone, Debug)]
pub struct Interactions {
    /// The application's public key.
    pub public_key: VerifyingKey,
    /// Alertmanager's base URL (`http://alertmanager:9093`).
    pub alertmanager_url: String,
    /// HTTP client (with timeouts).
    pub client: reqwest::Client,
}

/// Parses the application's public key (64 hex digits, as Discord shows it).
pub fn parse_public_key(hex_key: &str) -> anyhow::Result<VerifyingKey> {
    let bytes: [u8; 32] = hex::decode(hex_key.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| anyhow::anyhow!("--discord.public-key must be 64 hex digits"))?;
    VerifyingKey::from_bytes(&bytes)
        .map_err(|e| anyhow::anyhow!("--discord.public-key is not an Ed25519 key: {e}"))
}

/// The `Matchers` field value of a label set: `a="b", c="d"` (cut at Discord's field limit).
pub fn matchers_field(labels: &std::collections::BTreeMap<String, String>) -> String {
    let text = labels
        .iter()
        .map(|(k, v)| format!("{k}={}", serde_json::to_string(v).unwrap_or_default()))
        .collect::<Vec<_>>()
        .join(", ");
    discord::truncate(&text, discord::FIELD_VALUE_MAX)
}

/// Parses a `Matchers` field back; `None` when it was cut or is malformed.
pub fn parse_matchers(text: &str) -> Option<Vec<(String, String)>> {
    if text.ends_with(discord::MARKER) || text.is_empty() {
        return None;
    }
    // The values are JSON strings: parse `k="v", k2="v2"` as a JSON object.
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (name, after) = rest.split_once('=')?;
        let mut de = serde_json::Deserializer::from_str(after).into_iter::<String>();
        let value = de.next()?.ok()?;
        let used = de.byte_offset();
        out.push((name.trim().to_string(), value));
        rest = after[used..].trim_start_matches(',').trim_start();
    }
    Some(out)
}

fn verify(key: &VerifyingKey, headers: &HeaderMap, body: &[u8]) -> bool {
    let get = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    let (Some(sig), Some(ts)) = (get("x-signature-ed25519"), get("x-signature-timestamp")) else {
        return false;
    };
    let Some(sig) = hex::decode(sig)
        .ok()
        .and_then(|b| <[u8; 64]>::try_from(b).ok())
    else {
        return false;
    };
    // A replayed request older than five minutes is refused.
    let fresh = ts
        .parse::<i64>()
        .is_ok_and(|t| (chrono::Utc::now().timestamp() - t).abs() <= 300);
    let mut msg = ts.as_bytes().to_vec();
    msg.extend_from_slice(body);
    fresh
        && key
            .verify_strict(&msg, &Signature::from_bytes(&sig))
            .is_ok()
}

/// `POST /discord/interactions`.
pub async fn interactions_create(
    State(ix): State<Option<std::sync::Arc<Interactions>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(ix) = ix else {
        return (StatusCode::NOT_FOUND, "bot mode is not configured\n").into_response();
    };
    if !verify(&ix.public_key, &headers, &body) {
        return (StatusCode::UNAUTHORIZED, "invalid request signature\n").into_response();
    }
    let answer = match serde_json::from_slice::<Interaction>(&body) {
        Ok(Interaction::Ping(_)) => CreateInteractionResponse::Pong,
        Ok(Interaction::Component(click)) => self::click(&ix, &click).await,
        Ok(_) => {
            return (StatusCode::BAD_REQUEST, "unsupported interaction type\n").into_response();
        }
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                format!("invalid interaction: {e}\n"),
            )
                .into_response();
        }
    };
    Json(answer).into_response()
}

fn ephemeral(text: &str) -> CreateInteractionResponse {
    CreateInteractionResponse::Message(
        CreateInteractionResponseMessage::new()
            .content(text)
            .ephemeral(true)
            .allowed_mentions(CreateAllowedMentions::new()),
    )
}

async fn click(ix: &Interactions, click: &ComponentInteraction) -> CreateInteractionResponse {
    let user = click
        .member
        .as_ref()
        .map_or(&click.user.name, |m| &m.user.name)
        .clone();
    let custom_id = click.data.custom_id.as_str();
    let message = &click.message;
    let note = if custom_id == "ack" {
        format!("👀 Acknowledged by {user}")
    } else if let Some(secs) = custom_id
        .strip_prefix("silence:")
        .and_then(|s| s.parse::<i64>().ok())
    {
        let matchers = message
            .embeds
            .iter()
            .flat_map(|e| &e.fields)
            .find(|f| f.name == MATCHERS_FIELD)
            .and_then(|f| parse_matchers(&f.value));
        let Some(matchers) = matchers else {
            return ephemeral(
                "This message carries no usable matchers; silence it in Alertmanager.",
            );
        };
        let now = chrono::Utc::now();
        let ends = now + chrono::Duration::seconds(secs.clamp(60, 30 * 86_400));
        let silence = serde_json::json!({
            "matchers": matchers.iter().map(|(n, val)| serde_json::json!({"name": n, "value": val, "isRegex": false, "isEqual": true})).collect::<Vec<_>>(),
            "startsAt": now.to_rfc3339(), "endsAt": ends.to_rfc3339(),
            "createdBy": format!("{user} (Discord)"), "comment": "Silenced from Discord through alert-relay"
        });
        let url = format!(
            "{}/api/v2/silences",
            ix.alertmanager_url.trim_end_matches('/')
        );
        match ix.client.post(url).json(&silence).send().await {
            Ok(r) if r.status().is_success() => {
                let id = r
                    .json::<serde_json::Value>()
                    .await
                    .ok()
                    .and_then(|b| b["silenceID"].as_str().map(String::from))
                    .unwrap_or_default();
                tracing::info!(%user, silence = %id, "silence created from Discord");
                format!(
                    "🔕 Silenced by {user} until <t:{}:f> (silence {id})",
                    ends.timestamp()
                )
            }
            Ok(r) => {
                tracing::warn!(status = %r.status(), "Alertmanager refused the silence");
                return ephemeral(&format!(
                    "Alertmanager refused the silence: HTTP {}",
                    r.status()
                ));
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot reach Alertmanager");
                return ephemeral("Alertmanager cannot be reached; try again or silence it there.");
            }
        }
    } else {
        return ephemeral("Unknown button.");
    };
    let content = discord::truncate(
        format!("{}\n{note}", message.content).trim(),
        discord::CONTENT_MAX,
    );
    CreateInteractionResponse::UpdateMessage(
        CreateInteractionResponseMessage::new()
            .content(content)
            .embeds(
                message
                    .embeds
                    .iter()
                    .cloned()
                    .map(CreateEmbed::from)
                    .collect(),
            )
            .components(vec![])
            .allowed_mentions(CreateAllowedMentions::new()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matchers_survive_the_round_trip_through_the_field() {
        let labels = std::collections::BTreeMap::from([
            ("alertname".to_string(), "A \"q\", b=c".to_string()),
            ("job".to_string(), "x".to_string()),
        ]);
        let text = matchers_field(&labels);
        assert_eq!(
            parse_matchers(&text).unwrap(),
            vec![
                ("alertname".into(), "A \"q\", b=c".into()),
                ("job".into(), "x".into())
            ]
        );
        assert_eq!(parse_matchers("a=\"cut…"), None);
    }
}
