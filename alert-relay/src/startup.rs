//! Wiring: load the routes, open the spool, start the workers, serve; and the subcommands.

use std::sync::Arc;

use anyhow::Context as _;
use tokio::sync::watch;

use crate::cli::{Cli, Command, DeadLetterCommand, RunArgs};
use crate::config::{FileConfig, Router};
use crate::dedup::Dedup;
use crate::deliver::{Deliverer, DeliveryConfig};
use crate::metrics::Metrics;
use crate::payload::{Notification, Source};
use crate::secret::{Secret, WebhookUrl, read_secret_file};
use crate::spool::Journal;
use crate::web::{AppState, app};

/// Runs the subcommand, or the relay.
pub async fn main(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        None => run(cli.run).await,
        Some(Command::CheckConfig { file }) => check_config(&file),
        Some(Command::DeadLetters(DeadLetterCommand::List { json })) => {
            list_dead_letters(&cli.run, json)
        }
        Some(Command::DeadLetters(DeadLetterCommand::Replay {
            all,
            seq,
            relay_url,
        })) => replay_dead_letters(&cli.run, all, &seq, relay_url.as_deref()).await,
    }
}

/// The routes of the flags: the routes file, or one webhook, or the log sink.
pub fn load_router(args: &RunArgs) -> anyhow::Result<Router> {
    let inline = match (&args.webhook_url, &args.webhook_url_file) {
        (Some(u), _) => Some(WebhookUrl::parse(u).context("--discord.webhook-url")?),
        (None, Some(f)) => Some(
            WebhookUrl::parse(read_secret_file(f)?.expose())
                .with_context(|| format!("--discord.webhook-url-file {}", f.display()))?,
        ),
        (None, None) => None,
    };
    match &args.config_file {
        Some(path) => FileConfig::load(path)?.resolve(inline),
        None => {
            if inline.is_none() {
                tracing::warn!(
                    "no --discord.webhook-url and no --config.file: rendered messages go to the log only"
                );
            }
            let (cfg, inline) = FileConfig::single(inline);
            cfg.resolve(inline)
        }
    }
}

async fn run(args: RunArgs) -> anyhow::Result<()> {
    let routes = load_router(&args)?;
    let token = match (&args.token, &args.token_file) {
        (Some(t), _) => Some(Secret::new(t.clone())),
        (None, Some(f)) => Some(read_secret_file(f)?),
        (None, None) => {
            tracing::warn!(
                "no --web.token: POST /alertmanager and /grafana accept unauthenticated requests"
            );
            None
        }
    };
    let grafana_token = match (&args.grafana_token, &args.grafana_token_file) {
        (Some(t), _) => Some(Secret::new(t.clone())),
        (None, Some(f)) => Some(read_secret_file(f)?),
        (None, None) => token.clone(),
    };
    let addr = service_kit::parse_listen_address(&args.listen_address)?;
    let journal = Journal::open(&args.storage_path, args.storage_max_bytes)?;
    let dedup = Arc::new(Dedup::new(args.dedup_window, 100_000));
    let now_ms = chrono::Utc::now().timestamp_millis();
    for (key, accepted_ms) in journal.recent_keys() {
        dedup.remember(
            key,
            std::time::Duration::from_millis((now_ms - accepted_ms).max(0) as u64),
        );
    }
    let (spool, pending) = journal.start();
    tracing::info!(pending = pending.len(), path = %args.storage_path.display(), "spool opened");
    let metrics = Metrics::new();
    metrics.spool_depth.set(pending.len() as i64);
    let cfg = DeliveryConfig {
        api_base: args.api_url.clone(),
        max_attempts: args.max_attempts.max(1),
        backoff_base: args.backoff_base,
        backoff_max: args.backoff_max,
        timeout: args.timeout,
        bot_token: match (&args.bot_token, &args.bot_token_file) {
            (Some(t), _) => Some(Secret::new(t.clone())),
            (None, Some(f)) => Some(read_secret_file(f)?),
            (None, None) => None,
        },
    };
    let interactions = match &args.public_key {
        Some(key) => Some(Arc::new(crate::interactions::Interactions {
            public_key: crate::interactions::parse_public_key(key)?,
            alertmanager_url: args.alertmanager_url.clone(),
            client: reqwest::Client::builder().timeout(args.timeout).build()?,
        })),
        None => None,
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    let deliverer = Deliverer::new(cfg, metrics.clone(), spool.clone())?;
    let (queues, workers) = deliverer.start(&routes.targets, pending, stop_rx).await;
    let state = AppState {
        interactions,
        grafana_token,
        routes: Arc::new(routes),
        spool,
        queues: Arc::new(queues),
        dedup,
        metrics,
        token,
    };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    tracing::info!(address = %listener.local_addr()?, "listening");
    axum::serve(listener, app(state, args.max_body_bytes))
        .with_graceful_shutdown(service_kit::shutdown_signal())
        .await?;
    tracing::info!("shutting down: finishing in-flight deliveries; the rest stays spooled");
    let _ = stop_tx.send(true);
    for w in workers {
        let _ = tokio::time::timeout(args.timeout + std::time::Duration::from_secs(1), w).await;
    }
    Ok(())
}

fn check_config(path: &std::path::Path) -> anyhow::Result<()> {
    let router = FileConfig::load(path)?.resolve(None)?;
    // Render a sample through every route, so template errors show now, not at 3 a.m.
    let sample = r#"{"version":"4","groupKey":"{}:{alertname=\"Sample\"}","status":"firing","receiver":"sample",
      "groupLabels":{"alertname":"Sample"},"commonLabels":{"alertname":"Sample","severity":"critical"},
      "commonAnnotations":{"summary":"sample"},"externalURL":"http://alertmanager:9093",
      "alerts":[{"status":"firing","labels":{"alertname":"Sample","severity":"critical"},"annotations":{"summary":"sample"},
      "startsAt":"2024-01-01T00:00:00Z","generatorURL":"http://prometheus:9090/graph","fingerprint":"0"}]}"#;
    let n = Notification::parse(Source::Alertmanager, sample.as_bytes())?;
    for name in ["title", "alert", "content"] {
        router
            .templates
            .render(name, serde_json::json!({}))
            .map_err(|e| anyhow::anyhow!("template {name:?}: {e:#}"))?;
    }
    let routed = router.route(&n, "critical");
    let messages: usize = routed
        .iter()
        .map(|(_, o)| crate::render::render(&n, &router.templates, o, chrono::Utc::now()).len())
        .sum();
    println!(
        "{}: OK ({} targets; the sample alert renders to {messages} message(s))",
        path.display(),
        router.targets.len()
    );
    Ok(())
}

fn list_dead_letters(args: &RunArgs, json: bool) -> anyhow::Result<()> {
    let letters = crate::deadletter::DeadLetters::open(&args.storage_path)?;
    for l in letters.list() {
        if json {
            println!("{}", serde_json::to_string(l)?);
        } else {
            let title = l
                .entry
                .message
                .embeds
                .first()
                .map(|e| e.title.as_str())
                .unwrap_or("");
            let reason: String = l.reason.chars().take(120).collect();
            println!(
                "{}\t{}\t{}\t{} attempts\t{title}\t{reason}",
                l.entry.seq, l.entry.target, l.failed_at, l.attempts
            );
        }
    }
    if !json {
        eprintln!(
            "{} dead letter(s) in {}",
            letters.list().len(),
            args.storage_path.display()
        );
    }
    Ok(())
}

async fn replay_dead_letters(
    args: &RunArgs,
    all: bool,
    seqs: &[u64],
    relay_url: Option<&str>,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        all || !seqs.is_empty(),
        "name the sequence numbers to replay, or --all"
    );
    let Some(url) = relay_url else {
        let mut journal = Journal::open(&args.storage_path, args.storage_max_bytes)
            .context("the relay runs on this storage path: stop it, or pass --relay-url to replay through it")?;
        let replayed = journal.replay(if all { None } else { Some(seqs) })?;
        for (old, new) in &replayed {
            println!("dead letter {old} is back in the spool as {}", new.seq);
        }
        println!(
            "{} message(s) will be delivered when the relay starts",
            replayed.len()
        );
        return Ok(());
    };
    let token = match (&args.token, &args.token_file) {
        (Some(t), _) => Some(Secret::new(t.clone())),
        (None, Some(f)) => Some(read_secret_file(f)?),
        (None, None) => None,
    };
    let body = if all {
        serde_json::json!({"all": true})
    } else {
        serde_json::json!({"seq": seqs})
    };
    let mut req = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()?
        .post(format!(
            "{}/-/dead-letters/replay",
            url.trim_end_matches('/')
        ))
        .json(&body);
    if let Some(t) = &token {
        req = req.bearer_auth(t.expose());
    }
    let resp = req
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("cannot reach the relay at {url}: {e}"))?;
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    anyhow::ensure!(
        status.is_success(),
        "the relay answered {status}: {}",
        text.trim()
    );
    println!("{}", text.trim());
    Ok(())
}
