//! Command line: flags (each with an environment twin) and subcommands.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

/// Alertmanager and Grafana webhooks in, Discord messages out: durably, in order, within
/// Discord's limits and rate limits.
#[derive(Debug, Parser)]
#[command(name = "alert-relay", version, about, long_about = None)]
pub struct Cli {
    /// What to do (default: run the relay).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The relay's flags.
    #[command(flatten)]
    pub run: RunArgs,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate a routes file (targets, matchers, templates) and exit.
    CheckConfig {
        /// The routes file.
        file: PathBuf,
    },
    /// List or replay the messages given up after failed deliveries.
    #[command(subcommand)]
    DeadLetters(DeadLetterCommand),
}

/// `dead-letters` subcommands.
#[derive(Debug, Subcommand)]
pub enum DeadLetterCommand {
    /// Print the dead letters (one line each, or JSON lines with `--json`).
    List {
        /// JSON lines, with the full messages.
        #[arg(long)]
        json: bool,
    },
    /// Put dead letters back in the spool: offline (the relay stopped; it delivers them when it
    /// starts), or through the running relay with `--relay-url` (and its token).
    Replay {
        /// The running relay (`http://localhost:9733`), which replays and delivers at once.
        #[arg(long)]
        relay_url: Option<String>,
        /// Every dead letter.
        #[arg(long, conflicts_with = "seq")]
        all: bool,
        /// Sequence numbers to replay (see `list`).
        seq: Vec<u64>,
    },
}

fn duration(value: &str) -> Result<Duration, String> {
    humantime::parse_duration(value).map_err(|e| format!("{e} (examples: 500ms, 10s, 5m)"))
}

/// Flags of the relay.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Address to listen on (`host:port` or `:port`).
    #[arg(
        long = "web.listen-address",
        env = "WEB_LISTEN_ADDRESS",
        default_value = ":9733"
    )]
    pub listen_address: String,

    /// Bearer token (or basic auth password) inbound requests must carry. Prefer the
    /// environment or `--web.token-file` over the command line, which other users can read.
    #[arg(long = "web.token", env = "ALERT_RELAY_TOKEN", hide_env_values = true)]
    pub token: Option<String>,

    /// File holding the inbound token (a Kubernetes Secret).
    #[arg(
        long = "web.token-file",
        env = "ALERT_RELAY_TOKEN_FILE",
        conflicts_with = "token"
    )]
    pub token_file: Option<PathBuf>,

    /// A separate token for `POST /grafana` (default: the `--web.token`).
    #[arg(
        long = "web.grafana-token",
        env = "ALERT_RELAY_GRAFANA_TOKEN",
        hide_env_values = true
    )]
    pub grafana_token: Option<String>,

    /// File holding the `POST /grafana` token.
    #[arg(
        long = "web.grafana-token-file",
        env = "ALERT_RELAY_GRAFANA_TOKEN_FILE",
        conflicts_with = "grafana_token"
    )]
    pub grafana_token_file: Option<PathBuf>,

    /// Largest accepted request body (413 beyond it).
    #[arg(long = "web.max-body-bytes", env = "ALERT_RELAY_MAX_BODY_BYTES", default_value_t = 4 << 20)]
    pub max_body_bytes: usize,

    /// The Discord webhook everything goes to when there is no routes file. Without it and
    /// without a routes file, rendered messages go to the log.
    #[arg(
        long = "discord.webhook-url",
        env = "DISCORD_WEBHOOK_URL",
        hide_env_values = true
    )]
    pub webhook_url: Option<String>,

    /// File holding the Discord webhook URL.
    #[arg(
        long = "discord.webhook-url-file",
        env = "DISCORD_WEBHOOK_URL_FILE",
        conflicts_with = "webhook_url"
    )]
    pub webhook_url_file: Option<PathBuf>,

    /// Discord's API base (a proxy, or a test double).
    #[arg(
        long = "discord.api-url",
        env = "DISCORD_API_URL",
        default_value = "https://discord.com/api/v10"
    )]
    pub api_url: String,

    /// Bot mode: the bot token for `channel_id` targets (messages get Silence/Acknowledge buttons).
    #[arg(
        long = "discord.bot-token",
        env = "DISCORD_BOT_TOKEN",
        hide_env_values = true
    )]
    pub bot_token: Option<String>,

    /// File holding the bot token.
    #[arg(
        long = "discord.bot-token-file",
        env = "DISCORD_BOT_TOKEN_FILE",
        conflicts_with = "bot_token"
    )]
    pub bot_token_file: Option<PathBuf>,

    /// Bot mode: the application's public key (hex), which enables `POST /discord/interactions`.
    #[arg(long = "discord.public-key", env = "DISCORD_PUBLIC_KEY")]
    pub public_key: Option<String>,

    /// Alertmanager's URL, where the Silence buttons create silences (API v2).
    #[arg(
        long = "alertmanager.url",
        env = "ALERTMANAGER_URL",
        default_value = "http://localhost:9093"
    )]
    pub alertmanager_url: String,

    /// Routes file (YAML): targets, routes, mentions, templates.
    #[arg(long = "config.file", env = "ALERT_RELAY_CONFIG_FILE")]
    pub config_file: Option<PathBuf>,

    /// Directory of the spool and the dead letters.
    #[arg(
        long = "storage.path",
        env = "ALERT_RELAY_STORAGE_PATH",
        default_value = "data/alert-relay",
        global = true
    )]
    pub storage_path: PathBuf,

    /// Largest size of pending messages in the spool; past it, notifications get 503.
    #[arg(long = "storage.max-bytes", env = "ALERT_RELAY_STORAGE_MAX_BYTES", default_value_t = 256 << 20)]
    pub storage_max_bytes: u64,

    /// Failed attempts (5xx, network errors) before a message is dead-lettered. 429s do not count.
    #[arg(
        long = "delivery.max-attempts",
        env = "ALERT_RELAY_MAX_ATTEMPTS",
        default_value_t = 10
    )]
    pub max_attempts: u32,

    /// First retry delay (doubles each failure, with jitter).
    #[arg(long = "delivery.backoff-base", env = "ALERT_RELAY_BACKOFF_BASE", default_value = "1s", value_parser = duration)]
    pub backoff_base: Duration,

    /// Longest retry delay.
    #[arg(long = "delivery.backoff-max", env = "ALERT_RELAY_BACKOFF_MAX", default_value = "5m", value_parser = duration)]
    pub backoff_max: Duration,

    /// Timeout of one request to Discord.
    #[arg(long = "delivery.timeout", env = "ALERT_RELAY_DELIVERY_TIMEOUT", default_value = "10s", value_parser = duration)]
    pub timeout: Duration,

    /// Window in which a notification with the same group key, status and fingerprints is a
    /// duplicate (`0s` disables).
    #[arg(long = "dedup.window", env = "ALERT_RELAY_DEDUP_WINDOW", default_value = "5m", value_parser = duration)]
    pub dedup_window: Duration,

    /// Logging.
    #[command(flatten)]
    pub log: service_kit::LogArgs,
}
