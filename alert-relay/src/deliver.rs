//! Delivery: one worker per target sends its spooled messages in order, one at a time, to
//! Discord's execute-webhook endpoint with `wait=true`.
//!
//! - Rate limits: a bucket per webhook from `X-RateLimit-Remaining` / `-Reset-After`; a 429 is
//!   honoured with its `retry_after` (a global one pauses every worker) and retried without
//!   counting as a failed attempt. Order holds through any run of 429s.
//! - 5xx and network errors: exponential backoff with jitter, up to `max_attempts`; then the
//!   message goes to the dead letters. Other 4xx answers are final: dead letter at once.
//! - A message leaves the spool only after Discord confirmed it (or it was dead-lettered).
//! - Errors never show the webhook URL (`reqwest::Error::without_url`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng as _;
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

/// State shared by every worker: the HTTP client, global pause, per-webhook buckets.
#[derive(Clone)]
pub struct Deliverer {
    client: reqwest::Client,
    cfg: DeliveryConfig,
    metrics: Metrics,
    spool: Spool,
    global_pause: Arc<Mutex<Option<Instant>>>,
    buckets: Arc<Mutex<HashMap<String, Bucket>>>,
}

impl Deliverer {
    /// A deliverer (one HTTP client, with timeouts, for every worker).
    pub fn new(cfg: DeliveryConfig, metrics: Metrics, spool: Spool) -> anyhow::Result<Deliverer> {
        let client = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout.min(Duration::from_secs(5)))
            .user_agent(concat!(
                "DiscordBot (https://example.invalid/alert-relay, ",
                env!("CARGO_PKG_VERSION"),
                ")"
            ))
            .build()?;
        Ok(Deliverer {
            client,
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
        let (request, url) = match &target.kind {
            TargetKind::Log => {
                let json = serde_json::to_string(&entry.message).unwrap_or_default();
                tracing::info!(target: "alert_relay::log_sink", sink = %target.name, seq = entry.seq, message = %json, "rendered message");
                return Outcome::Delivered;
            }
            TargetKind::Webhook { url, thread_id } => {
                let mut query = vec![("wait", "true".to_string())];
                if let Some(t) = thread_id {
                    query.push(("thread_id", t.clone()));
                }
                let req = self
                    .client
                    .post(url.execute_url(&self.cfg.api_base))
                    .query(&query)
                    .json(&entry.message);
                (req, url.to_string())
            }
            TargetKind::Channel { channel_id } => {
                let Some(token) = &self.cfg.bot_token else {
                    return Outcome::Fatal(format!(
                        "channel {channel_id}: bot mode needs --discord.bot-token"
                    ));
                };
                // Bot messages have no username/avatar overrides.
                let mut message = entry.message.clone();
                message.username = None;
                message.avatar_url = None;
                let api = self.cfg.api_base.trim_end_matches('/');
                let req = self
                    .client
                    .post(format!("{api}/channels/{channel_id}/messages"))
                    .header(
                        reqwest::header::AUTHORIZATION,
                        format!("Bot {}", token.expose()),
                    )
                    .json(&message);
                (req, format!("channel {channel_id}"))
            }
        };
        let key = bucket_key(target).unwrap_or_default();
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => return Outcome::Retry(format!("{url}: {}", e.without_url())),
        };
        let status = response.status();
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
        let body = response.text().await.unwrap_or_default();
        let snippet: String = body.chars().take(500).collect();
        match status.as_u16() {
            200..=299 => Outcome::Delivered,
            429 => {
                let parsed: Option<serde_json::Value> = serde_json::from_str(&body).ok();
                let retry_after = parsed
                    .as_ref()
                    .and_then(|v| v.get("retry_after")?.as_f64())
                    .or_else(|| header_f64("retry-after"))
                    .unwrap_or(1.0)
                    .clamp(0.0, 3600.0);
                let global = parsed
                    .as_ref()
                    .and_then(|v| v.get("global")?.as_bool())
                    .unwrap_or(false)
                    || headers
                        .get("x-ratelimit-global")
                        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"));
                Outcome::RateLimited {
                    retry_after: Duration::from_secs_f64(retry_after),
                    global,
                }
            }
            408 | 500..=599 => Outcome::Retry(format!("{url}: HTTP {status}: {snippet}")),
            _ => Outcome::Fatal(format!("{url}: HTTP {status}: {snippet}")),
        }
    }
}

async fn sleep_or_shutdown(d: Duration, shutdown: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => true,
        _ = shutdown.wait_for(|s| *s) => false,
    }
}
