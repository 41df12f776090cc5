//! The collectors: each runs its SQL on the scrape's session and returns metric families.
//!
//! [`Source`] lists them; the scrape ([`crate::target`]) sends all their queries at once on the
//! one connection (pipelined: the server runs them one after the other, and no query waits
//! for the previous round trip), under the scrape deadline, and records each one's success
//! and duration.

mod database;
mod forum;
mod options;
mod rows;
mod server;
mod tables;

use std::sync::Arc;
use std::time::Duration;

use crate::queries::CustomQuery;
use crate::session::Session;
use crate::snapshot::Family;

pub use forum::Preset;
pub use options::{CollectorOptions, TableOrder};
pub(crate) use rows::{Column, col, families_from_rows, row_labels};

/// One unit of collection, reported as `pg_exporter_collector_success{collector}`.
#[derive(Clone, Debug)]
pub enum Source {
    /// `pg_static`.
    Static,
    /// `pg_postmaster_start_time_seconds`.
    Postmaster,
    /// `pg_stat_database_*` and `pg_stat_database_conflicts_*`.
    StatDatabase,
    /// `pg_stat_activity_count`, `pg_stat_activity_max_tx_duration`.
    StatActivity,
    /// `pg_locks_count`.
    Locks,
    /// `pg_database_size_bytes`.
    DatabaseSize,
    /// `pg_stat_bgwriter_*_total`.
    Bgwriter,
    /// `pg_settings_*`.
    Settings,
    /// `pg_stat_archiver_*`.
    StatArchiver,
    /// `pg_replication_lag_seconds`, `pg_replication_is_replica`.
    Replication,
    /// `pg_stat_replication_*`.
    StatReplication,
    /// `pg_stat_user_tables_*` and `pg_statio_user_tables_*` for the top N tables.
    UserTables,
    /// The `forum_*` gauges of a preset.
    Forum(Preset),
    /// A query from the custom queries file.
    Custom(Arc<CustomQuery>),
}

impl Source {
    /// Every source the options ask for, in collection order.
    pub fn plan(
        options: &CollectorOptions,
        preset: Preset,
        custom: &[Arc<CustomQuery>],
    ) -> Vec<Source> {
        let mut plan = vec![
            Source::Static,
            Source::Postmaster,
            Source::StatDatabase,
            Source::StatActivity,
            Source::Locks,
            Source::DatabaseSize,
            Source::Bgwriter,
            Source::StatArchiver,
        ];
        if options.settings {
            plan.push(Source::Settings);
        }
        plan.push(Source::Replication);
        plan.push(Source::StatReplication);
        if options.tables_limit > 0 {
            plan.push(Source::UserTables);
        }
        if preset != Preset::None {
            plan.push(Source::Forum(preset));
        }
        plan.extend(custom.iter().cloned().map(Source::Custom));
        plan
    }

    /// How long a result of this collector may be reused.
    pub fn cache_for(&self, options: &CollectorOptions) -> Duration {
        match self {
            Source::DatabaseSize | Source::Settings => options.slow_cache,
            Source::Custom(q) => q.cache,
            _ => Duration::ZERO,
        }
    }

    /// Whether it runs on the second connection when there is one: `pg_database_size()`
    /// stats every file of every database, the one collector whose time grows with the
    /// server's files rather than with what it returns.
    pub fn on_second_connection(&self) -> bool {
        matches!(self, Source::DatabaseSize)
    }

    /// The `collector` label value.
    pub fn name(&self) -> String {
        match self {
            Source::Static => "static".into(),
            Source::Postmaster => "postmaster".into(),
            Source::StatDatabase => "stat_database".into(),
            Source::StatActivity => "stat_activity".into(),
            Source::Locks => "locks".into(),
            Source::DatabaseSize => "database_size".into(),
            Source::Bgwriter => "stat_bgwriter".into(),
            Source::Settings => "settings".into(),
            Source::StatArchiver => "stat_archiver".into(),
            Source::Replication => "replication".into(),
            Source::StatReplication => "stat_replication".into(),
            Source::UserTables => "user_tables".into(),
            Source::Forum(p) => p.name().into(),
            Source::Custom(q) => format!("query:{}", q.name),
        }
    }

    /// Runs the collector's SQL and builds its families. `default_timeout` is the session's
    /// `statement_timeout`, restored after a custom query that has its own.
    pub async fn collect(
        &self,
        session: &Session,
        options: &CollectorOptions,
        default_timeout: Duration,
    ) -> Result<Vec<Family>, String> {
        match self {
            Source::Static => Ok(server::static_info(session)),
            Source::Postmaster => server::postmaster(session).await,
            Source::StatDatabase => database::stat_database(session).await,
            Source::StatActivity => database::stat_activity(session).await,
            Source::Locks => database::locks(session).await,
            Source::DatabaseSize => database::size(session).await,
            Source::Bgwriter => server::bgwriter(session).await,
            Source::Settings => server::settings(session).await,
            Source::StatArchiver => server::stat_archiver(session).await,
            Source::Replication => server::replication(session).await,
            Source::StatReplication => server::stat_replication(session).await,
            Source::UserTables => tables::user_tables(session, options).await,
            Source::Forum(preset) => forum::collect(session, *preset).await,
            Source::Custom(q) => q.run(session, default_timeout).await,
        }
    }
}
