//! Settings of a serving process, from the command line (see `cli`): its role, cookie and
//! proxy settings, public URL and registration mode, login limits, page sizes, the media directory.

use std::time::Duration;

/// Which routes a process serves, so nginx can route `/api/` and `/` to separate deployments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    /// Server-rendered pages and the admin panel.
    Web,
    /// The JSON API under `/api/`.
    Api,
    /// Both.
    All,
}

impl Role {
    /// Whether pages are served.
    pub fn serves_web(self) -> bool {
        matches!(self, Role::Web | Role::All)
    }
    /// Whether `/api/` is served.
    pub fn serves_api(self) -> bool {
        matches!(self, Role::Api | Role::All)
    }
    /// The label value in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Web => "web",
            Role::Api => "api",
            Role::All => "all",
        }
    }
    /// The default listen port of the role (contracts.md).
    pub fn default_port(self) -> u16 {
        match self {
            Role::Api => 8001,
            Role::Web | Role::All => 8000,
        }
    }
}

/// The default `--public-url`: the forum served locally.
pub const DEFAULT_PUBLIC_URL: &str = "http://127.0.0.1:8000";

/// The default `--trusted-proxies`: loopback.
pub const DEFAULT_TRUSTED_PROXIES: &str = "127.0.0.0/8,::1/128";

/// [`DEFAULT_TRUSTED_PROXIES`] parsed.
pub fn default_trusted_proxies() -> Vec<ipnet::IpNet> {
    DEFAULT_TRUSTED_PROXIES
        .split(',')
        .filter_map(|s| s.parse().ok())
        .collect()
}

/// Settings from the command line.
#[derive(Clone, Debug)]
pub struct Config {
    /// The role of this process.
    pub role: Role,
    /// The forum's address as its members reach it: the links in mails point under it.
    pub public_url: String,
    /// How new accounts start, unless an administrator chose otherwise in the admin panel.
    pub registration: crate::registration::RegistrationMode,
    /// Mark cookies `Secure` (the forum is behind TLS).
    pub secure_cookies: bool,
    /// Trust `X-Forwarded-For` / `X-Forwarded-Proto` from the proxy in front.
    pub trust_proxy: bool,
    /// The proxies whose `X-Forwarded-For` hops are skipped when looking for the client
    /// address (with `trust_proxy`).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Failed logins per IP within `login_window` before 429.
    pub login_ip_limit: i64,
    /// Failed logins per account within `login_window` before 429.
    pub login_account_limit: i64,
    /// The window of the login rate limits.
    pub login_window: Duration,
    /// How long a session lasts.
    pub session_ttl: Duration,
    /// Threads per page of a list.
    pub threads_per_page: i64,
    /// Posts per page of a thread.
    pub posts_per_page: i64,
    /// Where uploads (avatars) are written; nginx serves it at `/media/`. None: uploads off.
    pub media_dir: Option<std::path::PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            role: Role::All,
            public_url: DEFAULT_PUBLIC_URL.into(),
            registration: crate::registration::RegistrationMode::Open,
            secure_cookies: false,
            trust_proxy: false,
            trusted_proxies: default_trusted_proxies(),
            login_ip_limit: 30,
            login_account_limit: 10,
            login_window: Duration::from_secs(15 * 60),
            session_ttl: Duration::from_secs(14 * 24 * 3600),
            threads_per_page: 25,
            posts_per_page: 20,
            media_dir: None,
        }
    }
}
