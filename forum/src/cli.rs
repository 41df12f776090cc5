//! The command line (clap only; `startup` acts on it): `forum [--role web|api|all] [--listen
//! ADDR]` serves; subcommands migrate, seed, run the worker, write the static assets, and
//! create administrators.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use service_kit::LogArgs;

use crate::config::Role;

/// The community forum: pages, JSON API, admin panel and background worker.
#[derive(Parser, Debug)]
#[command(name = "forum", version, about)]
pub struct Cli {
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Serving options.
    #[command(flatten)]
    pub serve: ServeArgs,
    /// The PostgreSQL database: a `postgresql://` URL or a `key=value` string, with libpq's
    /// TLS keys (`sslmode=disable|prefer|require|verify-ca|verify-full`, `sslrootcert`,
    /// `sslcert`, `sslkey`; `prefer` by default).
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/forum",
        global = true,
        hide_env_values = true
    )]
    pub database_url: String,
    /// Connections in the pool.
    #[arg(long, env = "FORUM_POOL_SIZE", default_value_t = 16, global = true)]
    pub pool_size: usize,
    /// Logging.
    #[command(flatten)]
    pub log: LogArgs,
}

/// Options of the server.
#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Which routes to serve: pages (`web`), `/api/` (`api`) or both.
    #[arg(long, env = "FORUM_ROLE", value_enum, default_value = "all")]
    pub role: Role,
    /// Listen address (default 127.0.0.1:8000, or :8001 for `--role api`).
    #[arg(long, env = "FORUM_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// The forum's address as members reach it (`https://forum.example.org`): links in mails.
    #[arg(long, env = "FORUM_PUBLIC_URL", default_value = crate::config::DEFAULT_PUBLIC_URL)]
    pub public_url: String,
    /// How new accounts start: active at once (`open`), after following a mailed link
    /// (`email`), after an administrator's approval (`admin`), or not at all (`closed`). The
    /// admin panel can change it.
    #[arg(long, env = "FORUM_REGISTRATION", value_enum, default_value = "open")]
    pub registration: crate::registration::RegistrationMode,
    /// Mark cookies `Secure` (set when the forum is served over HTTPS).
    #[arg(long, env = "FORUM_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// Trust `X-Forwarded-For` and `X-Forwarded-Proto` (only behind a proxy that sets them).
    #[arg(long, env = "FORUM_TRUST_PROXY")]
    pub trust_proxy: bool,
    /// With `--trust-proxy`: the proxies (CIDRs, comma-separated) whose `X-Forwarded-For` hops
    /// are skipped; the client is the rightmost hop that is not one of them.
    #[arg(
        long,
        env = "FORUM_TRUSTED_PROXIES",
        value_delimiter = ',',
        default_values_t = crate::config::default_trusted_proxies()
    )]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Failed logins from one client address (any account) in the window before it gets 429.
    #[arg(long, env = "FORUM_LOGIN_IP_LIMIT", default_value_t = 30)]
    pub login_ip_limit: i64,
    /// Failed logins of one account from one address in the window before that address gets
    /// 429 for it.
    #[arg(long, env = "FORUM_LOGIN_ACCOUNT_LIMIT", default_value_t = 10)]
    pub login_account_limit: i64,
    /// The window of the login limits, in seconds.
    #[arg(long, env = "FORUM_LOGIN_WINDOW_SECONDS", default_value_t = 900)]
    pub login_window_seconds: u64,
    /// Failed logins of one account from any address in the window before each of its logins
    /// is slowed (never refused: only addresses are refused).
    #[arg(long, env = "FORUM_LOGIN_ACCOUNT_SLOW_AFTER", default_value_t = 10)]
    pub login_account_slow_after: i64,
    /// The longest delay of a slowed login, in milliseconds.
    #[arg(long, env = "FORUM_LOGIN_MAX_DELAY_MS", default_value_t = 2000)]
    pub login_max_delay_ms: u64,
    /// Anti-spam rules.
    #[command(flatten)]
    pub spam: SpamArgs,
    /// Directory for uploads (avatars), served by nginx at `/media/`; unset: uploads are off.
    #[arg(long, env = "FORUM_MEDIA_DIR")]
    pub media_dir: Option<PathBuf>,
    /// Run the migrations before serving.
    #[arg(long, env = "FORUM_MIGRATE")]
    pub migrate: bool,
    /// Keep the hot pages' data in memory, kept right by LISTEN/NOTIFY (`false`: every read
    /// goes to PostgreSQL).
    #[arg(long, env = "FORUM_READ_CACHE", default_value_t = true, action = clap::ArgAction::Set)]
    pub read_cache: bool,
    /// Where attachments are kept.
    #[command(flatten)]
    pub storage: StorageArgs,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Apply the database migrations.
    Migrate,
    /// Run background jobs.
    Worker(Box<WorkerArgs>),
    /// Fill the database with demo data.
    Seed(SeedArgs),
    /// Write the static assets (CSS, JS) into DIR for nginx.
    Static {
        /// Target directory.
        dir: PathBuf,
    },
    /// Manage administrators.
    Admin {
        /// What to do.
        #[command(subcommand)]
        command: AdminCommand,
    },
}

/// `forum worker` options.
#[derive(Args, Debug)]
pub struct WorkerArgs {
    /// Where the worker serves `/metrics`, `/healthz`, `/readyz`.
    #[arg(long, env = "FORUM_WORKER_LISTEN", default_value = "127.0.0.1:8002")]
    pub listen: SocketAddr,
    /// Sleep between polls of an empty queue, in milliseconds.
    #[arg(long, env = "FORUM_WORKER_IDLE_MS", default_value_t = 1000)]
    pub idle_ms: u64,
    /// The SMTP server mails go through: `smtp://host:25`, `smtp://user:pass@host:587?tls=required`
    /// (STARTTLS), `smtps://user:pass@host:465` (TLS). Unset: mails are written to the log.
    #[arg(long, env = "FORUM_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// A PEM file of a CA to trust for the SMTP server's certificate, besides the public roots.
    #[arg(long, env = "FORUM_SMTP_CA_FILE")]
    pub smtp_ca_file: Option<PathBuf>,
    /// The sender of the forum's mails.
    #[arg(
        long,
        env = "FORUM_MAIL_FROM",
        default_value = "Forum <forum@localhost>"
    )]
    pub mail_from: String,
    /// The longest wait for each step of an SMTP dialogue, in seconds.
    #[arg(long, env = "FORUM_SMTP_TIMEOUT_SECONDS", default_value_t = 30)]
    pub smtp_timeout_seconds: u64,
    /// Where attachments are kept (the worker removes the orphans).
    #[command(flatten)]
    pub storage: StorageArgs,
    /// Attachments no post refers to are removed this many hours after their upload.
    #[arg(long, env = "FORUM_ATTACHMENT_ORPHAN_HOURS", default_value_t = 24)]
    pub attachment_orphan_hours: u64,
    /// The forum's public URL, under which notification mails link.
    #[arg(long, env = "FORUM_PUBLIC_URL", default_value = crate::config::DEFAULT_PUBLIC_URL)]
    pub public_url: String,
    /// How often a member who chose a digest gets one, in seconds (a day by default).
    #[arg(long, env = "FORUM_DIGEST_PERIOD_SECONDS", default_value_t = 86_400)]
    pub digest_period_seconds: u64,
}

/// `forum seed` options.
#[derive(Args, Debug)]
pub struct SeedArgs {
    /// Users to create.
    #[arg(long, default_value_t = 1000)]
    pub users: i64,
    /// Threads to create.
    #[arg(long, default_value_t = 1000)]
    pub threads: i64,
    /// Posts to create (first posts included).
    #[arg(long, default_value_t = 10000)]
    pub posts: i64,
}

/// `forum admin ...`.
#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Create an administrator (or make an existing user one). The password is read from
    /// `--password-file`, else from standard input.
    Create {
        /// Username.
        #[arg(long)]
        username: String,
        /// E-mail.
        #[arg(long)]
        email: String,
        /// A file holding the password (first line).
        #[arg(long)]
        password_file: Option<PathBuf>,
    },
}

/// The anti-spam rules (see `config::SpamRules`).
#[derive(Args, Debug, Clone)]
pub struct SpamArgs {
    /// Registrations per client address per hour.
    #[arg(long, env = "FORUM_SPAM_REGISTRATIONS_PER_HOUR", default_value_t = 5)]
    pub spam_registrations_per_hour: i64,
    /// The least seconds between showing the registration form and submitting it.
    #[arg(long, env = "FORUM_SPAM_MIN_FILL_SECONDS", default_value_t = 3)]
    pub spam_min_fill_seconds: u64,
    /// The least seconds between two posts of a member (flood control; 0: off).
    #[arg(long, env = "FORUM_SPAM_POST_INTERVAL_SECONDS", default_value_t = 3)]
    pub spam_post_interval_seconds: u64,
    /// A member is new until they have this many posts.
    #[arg(long, env = "FORUM_SPAM_NEW_MEMBER_POSTS", default_value_t = 5)]
    pub spam_new_member_posts: i32,
    /// Posts per hour of a new member.
    #[arg(
        long,
        env = "FORUM_SPAM_NEW_MEMBER_POSTS_PER_HOUR",
        default_value_t = 10
    )]
    pub spam_new_member_posts_per_hour: i64,
    /// Links allowed in a new member's post.
    #[arg(long, env = "FORUM_SPAM_NEW_MEMBER_LINKS", default_value_t = 2)]
    pub spam_new_member_links: usize,
    /// A member's first this many posts wait in the moderation queue (0: none).
    #[arg(long, env = "FORUM_SPAM_MODERATE_FIRST_POSTS", default_value_t = 0)]
    pub spam_moderate_first_posts: i32,
}

impl SpamArgs {
    /// The rules these flags set.
    pub fn rules(&self) -> crate::config::SpamRules {
        crate::config::SpamRules {
            registrations_per_hour: self.spam_registrations_per_hour,
            min_fill_time: std::time::Duration::from_secs(self.spam_min_fill_seconds),
            post_interval: std::time::Duration::from_secs(self.spam_post_interval_seconds),
            new_member_posts: self.spam_new_member_posts,
            new_member_posts_per_hour: self.spam_new_member_posts_per_hour,
            new_member_links: self.spam_new_member_links,
            moderate_first_posts: self.spam_moderate_first_posts,
        }
    }
}

/// The attachment storage: a local directory or an S3-compatible bucket. The same flags serve
/// the web and API roles (uploads, downloads) and the worker (orphans). The keys are never
/// printed: `--help` hides their environment values and `Debug` redacts them.
#[derive(Args, Clone)]
pub struct StorageArgs {
    /// Where attachments are kept: `file:///var/lib/forum/attachments` (a directory, shared by
    /// every replica) or `s3://bucket/prefix` (an S3-compatible object store). Unset:
    /// attachments are off.
    #[arg(long, env = "FORUM_STORAGE_URL")]
    pub storage_url: Option<String>,
    /// The S3 endpoint (`https://s3.example.org`, `http://minio:9000`); unset: AWS.
    #[arg(long, env = "FORUM_STORAGE_ENDPOINT")]
    pub storage_endpoint: Option<String>,
    /// The S3 region.
    #[arg(long, env = "FORUM_STORAGE_REGION", default_value = "us-east-1")]
    pub storage_region: String,
    /// The S3 access key id.
    #[arg(long, env = "FORUM_STORAGE_ACCESS_KEY_ID", hide_env_values = true)]
    pub storage_access_key_id: Option<String>,
    /// The S3 secret access key.
    #[arg(long, env = "FORUM_STORAGE_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub storage_secret_access_key: Option<String>,
    /// The longest a storage call may take, in seconds.
    #[arg(long, env = "FORUM_STORAGE_TIMEOUT_SECONDS", default_value_t = 30)]
    pub storage_timeout_seconds: u64,
}

impl std::fmt::Debug for StorageArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.settings()
            .map(|s| format!("{s:?}"))
            .unwrap_or_else(|| "StorageArgs { off }".into())
            .fmt(f)
    }
}

impl StorageArgs {
    /// The storage settings, if a storage URL is set.
    pub fn settings(&self) -> Option<crate::attachments::storage::StorageSettings> {
        let url = self.storage_url.clone().filter(|u| !u.trim().is_empty())?;
        Some(crate::attachments::storage::StorageSettings {
            url,
            endpoint: self.storage_endpoint.clone().filter(|e| !e.is_empty()),
            region: Some(self.storage_region.clone()),
            access_key_id: self.storage_access_key_id.clone().filter(|k| !k.is_empty()),
            secret_access_key: self
                .storage_secret_access_key
                .clone()
                .filter(|k| !k.is_empty()),
            timeout: std::time::Duration::from_secs(self.storage_timeout_seconds.max(1)),
        })
    }
}
