//! Delivery: one worker per target sends its spooled messages in order, one at a time, to
//! Discord's execute-webhook endpoint with `wait=true` (or a channel, in bot mode).
//!
//! Requests are serenity's: its builders make the body ([`crate::discord`]), its `Request` and
//! `Route` the URL (under the host of `--discord.api-url`, serenity's `HttpBuilder::proxy`),
//! the `Authorization` and `User-Agent` headers, from an `Http` built with its rate limiter
//! disabled; a 2xx answer is read as serenity's `Message`, an error as its `DiscordJsonError`.
//! The relay sends the built request itself and reads the answer's status, `X-RateLimit-*`
//! headers and 429 body, which serenity's `Http::request` would turn into an error without them.
//!
//! - Rate limits: a bucket per webhook from `X-RateLimit-Remaining` / `-Reset-After`; a 429 is
//!   honoured with its `retry_after` (a global one pauses every worker) and retried without
//!   counting as a failed attempt. Order holds through any run of 429s.
//! - 5xx and network errors: exponential backoff with jitter, up to `max_attempts`; then the
//!   message goes to the dead letters. Other 4xx answers are final: dead letter at once.
//! - A message leaves the spool only after Discord confirmed it (or it was dead-lettered).
//! - Errors never show the webhook URL (`reqwest::Error::without_url`; serenity's
//!   `ErrorResponse`, which carries the URL, is never made).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use rand::Rng as _;
use serenity::http::{DiscordJsonError, Http, HttpBuilder, LightMethod, Request, Route};
use serenity::model::channel::Message;
use serenity::model::id::{ChannelId, WebhookId};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::config::{Target, TargetKind};
use crate::deadletter::DeadLetter;
use crate::metrics::Metrics;
use crate::spool::{Entry, Spool};

/// How deliveries are made.
#[derive(Clone, Debug)]
pub struct DeliveryConfig {
    /// Discord's API base, e.g. `https://discord.com/api/v10`.
    pub api_base: String,
    /// Failed attempts (5xx, network) before a message is dead-lettered.
    pub max_attempts: u32,
    /// First backoff delay.
    pub backoff_base: Duration,
    /// Longest backoff delay.
    pub backoff_max: Duration,
    /// Timeout of one request.
    pub timeout: Duration,
    /// Bot mode: the bot token for channel targets.
    pub bot_token: Option<crate::secret::Secret>,
}

fn bucket_key(target: &Target) -> Option<String> {
    match &target.kind {
        TargetKind::Webhook { url, .. } => Some(url.id().to_string()),
        TargetKind::Channel { channel_id } => Some(format!("channel:{channel_id}")),
        TargetKind::Log => None,
    }
}

/// The outcome of one attempt.
#[derive(Debug)]
enum Outcome {
    Delivered,
    RateLimited { retry_after: Duration, global: bool },
    Retry(String),
    Fatal(String),
}

#[derive(Default, Debug)]
struct Bucket {
    blocked_until: Option<Instant>,
}

/// Serenity's HTTP side: an `Http` for webhooks (their token is in the path) and one with the
/// bot token, both with serenity's rate limiter off, sharing one client with timeouts.
struct DiscordHttp {
    client: reqwest::Client,
    webhooks: Http,
    bot: Option<Http>,
}

/// Where serenity sends requests: `None` for Discord itself, else the scheme, host and port
/// that replace `https://discord.com` (serenity 0.12 can change the host, not the path, so the
/// path of `api_base` must be `/api/v10`).
pub fn host_override(api_base: &str) -> anyhow::Result<Option<String>> {
    let url = url::Url::parse(api_base.trim())
        .with_context(|| format!("--discord.api-url {api_base:?} is not a URL"))?;
    anyhow::ensure!(
        url.path().trim_end_matches('/') == "/api/v10"
            && url.query().is_none()
            && url.username().is_empty()
            && url.password().is_none(),
        "--discord.api-url {api_base:?}: must be <scheme>://<host>[:port]/api/v10 (the relay's \
         Discord client, serenity, replaces only the host of https://discord.com/api/v10)"
    );
    let origin = url.origin().ascii_serialization();
    Ok((origin != "https://discord.com").then_some(origin))
}

fn snowflake(s: &str) -> Option<u64> {
    s.parse::<u64>().ok().filter(|id| *id != 0)
}

/// Discord's error body as serenity reads it (`code`, `message`, the paths of the fields it
/// refused), else the first 500 characters of the body.
fn discord_error(body: &[u8]) -> String {
    match serde_json::from_slice::<DiscordJsonError>(body) {
        Ok(e) => {
            let mut out = format!("code {}: {}", e.code, e.message);
            for f in e.errors.iter().take(10) {
                out.push_str(&format!("; {}: {}", f.path, f.message));
            }
            out
        }
        Err(_) => String::from_utf8_lossy(body).chars().take(500).collect(),
    }
}

/// The body of a 429, which serenity has no type for.
#[derive(serde::Deserialize)]
struct RateLimitBody {
    retry_after: Option<f64>,
    #[serde(default)]
    global: bool,
}

/// State shared by every worker: the HTTP client, global pause, per-webhook buckets.
#[derive(Clone)]
pub struct Deliverer {
    http: Arc<DiscordHttp>,
    cfg: DeliveryConfig,
    metrics: Metrics,
    spool: Spool,
    global_pause: Arc<Mutex<Option<Instant>>>,
    buckets: Arc<Mutex<HashMap<String, Bucket>>>,
}

impl Deliverer {
    /// A deliverer (one HTTP client, with timeouts, for every worker).
    pub fn new(cfg: DeliveryConfig, metrics: Metrics, spool: Spool) -> anyhow::Result<Deliverer> {
        let proxy = host_override(&cfg.api_base)?;
        let client = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout.min(Duration::from_secs(5)))
            .build()?;
        let http = |token: &str| {
            let mut b = HttpBuilder::new(token)
                .client(client.clone())
                .ratelimiter_disabled(true);
            if let Some(p) = &proxy {
                b = b.proxy(p.clone());
            }
            b.build()
        };
        let http = DiscordHttp {
            webhooks: http(""),
            bot: cfg.bot_token.as_ref().map(|t| http(t.expose())),
            client,
        };
        Ok(Deliverer {
            http: Arc::new(http),
            cfg,
            metrics,
            spool,
            global_pause: Arc::default(),
            buckets: Arc::default(),
        })
    }

    /// Starts a worker per target; returns their queues. Messages of unknown targets (a target
    /// removed from the config while they waited) are dead-lettered.
    pub async fn start(
        &self,
        targets: &std::collections::BTreeMap<String, Target>,
        pending: Vec<Entry>,
        shutdown: watch::Receiver<bool>,
    ) -> (
        HashMap<String, mpsc::UnboundedSender<Entry>>,
        Vec<tokio::task::JoinHandle<()>>,
    ) {
        let mut queues = HashMap::new();
        let mut handles = Vec::new();
        for (name, target) in targets {
            let (tx, rx) = mpsc::unbounded_channel();
            queues.insert(name.clone(), tx);
            let worker = self.clone();
            let target = target.clone();
            let shutdown = shutdown.clone();
            handles.push(tokio::spawn(async move {
                worker.run(target, rx, shutdown).await
            }));
        }
        for entry in pending {
            match queues.get(&entry.target) {
                Some(q) => {
                    let _ = q.send(entry);
                }
                None => {
                    tracing::warn!(target = %entry.target, seq = entry.seq, "target no longer configured; dead-lettering");
                    let reason = format!("target {:?} is not configured", entry.target);
                    self.bury(entry, reason, 0).await;
                }
            }
        }
        (queues, handles)
    }

    async fn run(
        self,
        target: Target,
        mut rx: mpsc::UnboundedReceiver<Entry>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        loop {
            let entry = tokio::select! {
                e = rx.recv() => match e { Some(e) => e, None => return },
                _ = shutdown.wait_for(|s| *s) => return,
            };
            if !self.deliver(&target, entry, &mut shutdown).await {
                return;
            }
        }
    }

    /// Delivers one entry (retrying); false when interrupted by shutdown (it stays spooled).
    async fn deliver(
        &self,
        target: &Target,
        entry: Entry,
        shutdown: &mut watch::Receiver<bool>,
    ) -> bool {
        let mut failures = 0u32;
        loop {
            let wait = self.wait_time(target);
            if !wait.is_zero() && !sleep_or_shutdown(wait, shutdown).await {
                return false;
            }
            match self.attempt(target, &entry).await {
                Outcome::Delivered => {
                    self.metrics.delivered.inc();
                    let ms = (chrono::Utc::now().timestamp_millis() - entry.accepted_ms).max(0);
                    self.metrics.latency.observe(ms as f64 / 1000.0);
                    if let Err(e) = self.spool.done(entry.seq).await {
                        tracing::error!(error = %e, seq = entry.seq, "delivered, but cannot mark it done: it may be sent again after a restart");
                    }
                    self.metrics.spool_depth.set(self.spool.depth() as i64);
                    return true;
                }
                Outcome::RateLimited {
                    retry_after,
                    global,
                } => {
                    self.metrics.rate_limited.inc();
                    tracing::warn!(target = %target.name, retry_after_ms = retry_after.as_millis() as u64, global, "Discord rate limit; waiting");
                    let until = Instant::now() + retry_after;
                    if global {
                        *self.global_pause.lock().expect("lock") = Some(until);
                    } else if let Some(key) = bucket_key(target) {
                        self.buckets
                            .lock()
                            .expect("lock")
                            .entry(key)
                            .or_default()
                            .blocked_until = Some(until);
                    }
                }
                Outcome::Retry(reason) => {
                    self.metrics.failures.inc();
                    failures += 1;
                    if failures >= self.cfg.max_attempts {
                        tracing::error!(target = %target.name, seq = entry.seq, %reason, failures, "giving up; dead-lettering");
                        self.bury(entry, reason, failures).await;
                        return true;
                    }
                    let delay = self.backoff(failures);
                    tracing::warn!(target = %target.name, seq = entry.seq, %reason, delay_ms = delay.as_millis() as u64, "delivery failed; retrying");
                    self.metrics.retries.inc();
                    if !sleep_or_shutdown(delay, shutdown).await {
                        return false;
                    }
                }
                Outcome::Fatal(reason) => {
                    self.metrics.failures.inc();
                    tracing::error!(target = %target.name, seq = entry.seq, %reason, "Discord refused the message; dead-lettering");
                    self.bury(entry, reason, failures + 1).await;
                    return true;
                }
            }
        }
    }

    async fn bury(&self, entry: Entry, reason: String, attempts: u32) {
        let seq = entry.seq;
        let dl = DeadLetter {
            entry,
            reason,
            attempts,
            failed_at: chrono::Utc::now().to_rfc3339(),
        };
        match self.spool.dead_letter(dl).await {
            Ok(()) => {
                self.metrics.dead_letters.inc();
            }
            Err(e) => {
                tracing::error!(error = %e, seq, "cannot store the dead letter; it stays in the spool")
            }
        }
        self.metrics.spool_depth.set(self.spool.depth() as i64);
    }

    fn wait_time(&self, target: &Target) -> Duration {
        let now = Instant::now();
        let global = self.global_pause.lock().expect("lock").filter(|t| *t > now);
        let local = bucket_key(target).and_then(|k| {
            self.buckets
                .lock()
                .expect("lock")
                .get(&k)
                .and_then(|b| b.blocked_until)
                .filter(|t| *t > now)
        });
        global.max(local).map(|t| t - now).unwrap_or_default()
    }

    /// `base × 2^(n-1)`, capped, with jitter in [½, 1] of it.
    fn backoff(&self, failures: u32) -> Duration {
        let exp = self
            .cfg
            .backoff_base
            .saturating_mul(1u32 << failures.saturating_sub(1).min(20));
        let capped = exp.min(self.cfg.backoff_max);
        capped.mul_f64(rand::thread_rng().gen_range(0.5..=1.0))
    }

    async fn attempt(&self, target: &Target, entry: &Entry) -> Outcome {
        let (request, what, http) = match &target.kind {
            TargetKind::Log => {
                let json = serde_json::to_string(&entry.message).unwrap_or_default();
                tracing::info!(target: "alert_relay::log_sink", sink = %target.name, seq = entry.seq, message = %json, "rendered message");
                return Outcome::Delivered;
            }
            TargetKind::Webhook { url, thread_id } => {
                let Some(webhook_id) = snowflake(url.id()).map(WebhookId::new) else {
                    return Outcome::Fatal(format!("{url}: the id is not a Discord snowflake"));
                };
                let mut params = vec![("wait", "true".to_string())];
                if let Some(t) = thread_id {
                    params.push(("thread_id", t.clone()));
                }
                let body = serde_json::to_vec(&entry.message.execute_webhook());
                let route = Route::WebhookWithToken {
                    webhook_id,
                    token: url.token().expose(),
                };
                let request = Request::new(route, LightMethod::Post)
                    .body(body.ok())
                    .params(Some(params));
                (request, url.to_string(), &self.http.webhooks)
            }
            TargetKind::Channel { channel_id } => {
                let Some(http) = &self.http.bot else {
                    return Outcome::Fatal(format!(
                        "channel {channel_id}: bot mode needs --discord.bot-token"
                    ));
                };
                let Some(id) = snowflake(channel_id).map(ChannelId::new) else {
                    return Outcome::Fatal(format!("channel {channel_id}: not a snowflake"));
                };
                let body = serde_json::to_vec(&entry.message.create_message());
                let route = Route::ChannelMessages { channel_id: id };
                let request = Request::new(route, LightMethod::Post).body(body.ok());
                (request, format!("channel {channel_id}"), http)
            }
        };
        let request = match request.build(&self.http.client, http.token(), http.proxy.as_deref()) {
            Ok(r) => r,
            Err(e) => return Outcome::Fatal(format!("{what}: cannot build the request: {e}")),
        };
        let key = bucket_key(target).unwrap_or_default();
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => return Outcome::Retry(format!("{what}: {}", e.without_url())),
        };
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let header_f64 = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<f64>().ok())
        };
        if header_f64("x-ratelimit-remaining") == Some(0.0)
            && let Some(after) = header_f64("x-ratelimit-reset-after")
        {
            let until = Instant::now() + Duration::from_secs_f64(after.clamp(0.0, 3600.0));
            self.buckets
                .lock()
                .expect("lock")
                .entry(key.clone())
                .or_default()
                .blocked_until = Some(until);
        }
        let body = match response.bytes().await {
            Ok(b) => b,
            Err(e) if (200..300).contains(&status) => {
                // Discord took the message; only its echo was lost.
                tracing::debug!(error = %e.without_url(), "cannot read Discord's answer");
                return Outcome::Delivered;
            }
            Err(e) => return Outcome::Retry(format!("{what}: HTTP {status}: {}", e.without_url())),
        };
        match status {
            200..=299 => {
                match serde_json::from_slice::<Message>(&body) {
                    Ok(m) => tracing::debug!(%what, message = %m.id, "delivered"),
                    Err(e) => {
                        tracing::warn!(%what, error = %e, "delivered, but Discord's answer is not a message")
                    }
                }
                Outcome::Delivered
            }
            429 => {
                let parsed = serde_json::from_slice::<RateLimitBody>(&body).ok();
                let retry_after = parsed
                    .as_ref()
                    .and_then(|b| b.retry_after)
                    .or_else(|| header_f64("retry-after"))
                    .unwrap_or(1.0)
                    .clamp(0.0, 3600.0);
                let global = parsed.is_some_and(|b| b.global)
                    || headers
                        .get("x-ratelimit-global")
                        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"));
                Outcome::RateLimited {
                    retry_after: Duration::from_secs_f64(retry_after),
                    global,
                }
            }
            408 | 500..=599 => {
                Outcome::Retry(format!("{what}: HTTP {status}: {}", discord_error(&body)))
            }
            _ => Outcome::Fatal(format!("{what}: HTTP {status}: {}", discord_error(&body))),
        }
    }
}

async fn sleep_or_shutdown(d: Duration, shutdown: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => true,
        _ = shutdown.wait_for(|s| *s) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serenity_replaces_the_host_and_nothing_else() {
        assert_eq!(host_override("https://discord.com/api/v10").unwrap(), None);
        assert_eq!(
            host_override("http://127.0.0.1:4321/api/v10/").unwrap(),
            Some("http://127.0.0.1:4321".to_string())
        );
        let err = host_override("http://proxy.internal/discord/api/v10")
            .unwrap_err()
            .to_string();
        assert!(err.contains("/api/v10"), "{err}");
        assert!(host_override("not a url").is_err());
    }

    #[test]
    fn discord_errors_name_the_refused_fields() {
        let body = br#"{"code": 50035, "message": "Invalid Form Body", "errors": {"embeds": {"0": {"title": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 256 or fewer in length."}]}}}}}"#;
        assert_eq!(
            discord_error(body),
            "code 50035: Invalid Form Body; embeds.0.title: Must be 256 or fewer in length."
        );
        assert_eq!(discord_error(b"upstream timeout"), "upstream timeout");
    }
}
