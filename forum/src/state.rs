//! What every handler shares, built from the services below it: the database pool, the
//! configuration, the metrics and the read cache.

use std::sync::Arc;

use deadpool_postgres::Pool;

use crate::cache::{ListenerConfig, ReadCache};
use crate::config::Config;
use crate::metrics::Metrics;
use crate::ratelimit::LoginLimits;

/// The state behind every handler (cheap to clone).
#[derive(Clone)]
pub struct AppState {
    /// The PostgreSQL pool.
    pub pool: Pool,
    /// Settings.
    pub config: Arc<Config>,
    /// HTTP metrics of this process.
    pub metrics: Arc<Metrics>,
    /// The read cache of the hot pages (off unless [`AppState::with_read_cache`]).
    pub cache: Arc<ReadCache>,
    /// Who is online and the edit time limit, as pages show them (a few seconds old at most).
    pub glance: Arc<crate::glance::Glance>,
    /// Attachments: the store (off unless [`AppState::with_storage`]) and their counters.
    pub attachments: crate::attachments::Attachments,
}

impl AppState {
    /// A state for `pool` with `config`.
    pub fn new(pool: Pool, config: Config) -> AppState {
        let metrics = Arc::new(Metrics::new(config.role));
        AppState::with_metrics(pool, config, metrics)
    }

    /// A state for `pool` with `config` that counts into `metrics` (the worker shares its
    /// metrics with the server of its `/metrics`).
    pub fn with_metrics(pool: Pool, config: Config, metrics: Arc<Metrics>) -> AppState {
        let attachments = crate::attachments::Attachments::new(None, metrics.attachments());
        AppState {
            pool,
            config: Arc::new(config),
            metrics,
            cache: Arc::new(ReadCache::disabled()),
            glance: Arc::new(crate::glance::Glance::default()),
            attachments,
        }
    }

    /// This state with a read cache kept right by a LISTEN connection made from `listen`
    /// (spawned on the current tokio runtime; see [`crate::cache`]).
    pub fn with_read_cache(mut self, listen: ListenerConfig) -> AppState {
        self.cache = Arc::new(ReadCache::start(listen, self.metrics.read_cache()));
        self
    }

    /// This state with attachments kept in `storage`.
    pub fn with_storage(mut self, storage: crate::attachments::storage::Storage) -> AppState {
        self.attachments.storage = Some(storage);
        self
    }

    /// The anti-spam rules of posts, and their counters.
    pub fn publish_rules(&self) -> crate::publish::Rules<'_> {
        crate::publish::Rules {
            spam: &self.config.spam,
            metrics: &self.metrics.safety,
        }
    }

    /// The login rate limits of the configuration.
    pub fn login_limits(&self) -> LoginLimits {
        LoginLimits {
            per_ip: self.config.login_ip_limit,
            per_ip_account: self.config.login_account_limit,
            account_slow_after: self.config.login_account_slow_after,
            max_delay: self.config.login_max_delay,
            window: self.config.login_window,
            metrics: self.metrics.safety.clone(),
        }
    }
}
