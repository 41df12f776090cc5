//! A monitored server: its one connection, and the scrape that runs every collector on it.
//!
//! The connection lives in a mutex held for the whole scrape, so concurrent scrapes of one
//! target take turns and a target never has more than one connection, or two with
//! `--scrape.connections 2`: the second runs the collectors that make the server walk files
//! (`database_size`) alongside the others, so a scrape waits for the longer of the two, not
//! for their sum. A closed connection is dropped and a new one made by the next scrape; a
//! refused or failed connection attempt ends the scrape at once with `pg_up 0` (no retry
//! loop, no sleep). When the second connection cannot be made, its collectors run on the
//! first.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::collectors::{CollectorOptions, Source};
use crate::dsn::Dsn;
use crate::session::Session;
use crate::snapshot::Family;

/// Settings of every scrape.
#[derive(Clone, Debug)]
pub struct ScrapeOptions {
    /// `statement_timeout` of every query without its own.
    pub statement_timeout: Duration,
    /// What the collectors need.
    pub collectors: CollectorOptions,
    /// The collectors to run, in order.
    pub plan: Vec<Source>,
    /// Connections per target: 1, or 2 to run the slow collectors on a second one.
    pub connections: usize,
}

/// How one collector did.
#[derive(Clone, Debug)]
pub struct CollectorResult {
    /// The `collector` label value.
    pub name: String,
    /// Whether it returned its metrics.
    pub success: bool,
    /// From the start of the scrape until its result arrived (queries are pipelined, so
    /// this includes the queries sent before it).
    pub duration: Duration,
}

/// What a scrape of one target produced.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Whether the server was reachable and the connection still stood at the end.
    pub up: bool,
    /// The collected families, one group per collector that succeeded, in plan order (a
    /// reused result is shared with the cache, not copied).
    pub families: Vec<Arc<[Family]>>,
    /// Per-collector results (empty when the server could not be reached).
    pub collectors: Vec<CollectorResult>,
    /// The first error of the scrape, scrubbed of secrets.
    pub error: Option<String>,
}

#[derive(Default)]
struct State {
    session: Option<Session>,
    /// The second connection, for the collectors [`Source::on_second_connection`] names.
    second: Option<Session>,
    cache: HashMap<String, (Instant, Arc<[Family]>)>,
    last_connect_error: Option<String>,
}

/// One server to scrape.
pub struct Target {
    dsn: Dsn,
    state: tokio::sync::Mutex<State>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target").field("dsn", &self.dsn).finish()
    }
}

impl Target {
    /// A target not yet connected.
    pub fn new(dsn: Dsn) -> Target {
        Target {
            dsn,
            state: Default::default(),
        }
    }

    /// The data source name.
    pub fn dsn(&self) -> &Dsn {
        &self.dsn
    }

    /// The DSN without its password.
    pub fn display(&self) -> &str {
        self.dsn.display()
    }

    /// Connects if needed and runs every collector of `options.plan`, stopping at `deadline`.
    pub async fn scrape(&self, options: &ScrapeOptions, deadline: Instant) -> Outcome {
        let Ok(mut state) = tokio::time::timeout_at(deadline, self.state.lock()).await else {
            return Outcome {
                error: Some("the previous scrape of this target is still running".into()),
                ..Default::default()
            };
        };
        let state = &mut *state;
        if state.session.as_ref().is_some_and(Session::is_closed) {
            tracing::warn!(server = %self.dsn.display(), "connection lost, reconnecting");
            state.session = None;
        }
        if state.session.is_none() {
            match Session::connect(&self.dsn, deadline, options.statement_timeout).await {
                Ok(session) => {
                    tracing::info!(server = %self.dsn.display(), version = %session.server_version, "connected");
                    state.last_connect_error = None;
                    state.session = Some(session);
                }
                Err(e) => {
                    // Log a failure once, not on every scrape while the server stays down.
                    if state.last_connect_error.as_deref() != Some(e.as_str()) {
                        tracing::warn!(error = %e, "cannot connect");
                        state.last_connect_error = Some(e.clone());
                    }
                    return Outcome {
                        error: Some(e),
                        ..Default::default()
                    };
                }
            }
        }
        if state.second.as_ref().is_some_and(Session::is_closed) {
            state.second = None;
        }
        if options.connections > 1
            && state.second.is_none()
            && options.plan.iter().any(Source::on_second_connection)
        {
            match Session::connect(&self.dsn, deadline, options.statement_timeout).await {
                Ok(second) => state.second = Some(second),
                Err(e) => tracing::debug!(error = %e, "no second connection, one does all"),
            }
        }
        let State {
            session,
            second,
            cache,
            ..
        } = state;
        let Some(conn) = session.as_ref() else {
            return Outcome::default();
        };
        let second_conn = second.as_ref();
        let start = Instant::now();
        // Fresh cached results are reused; every other collector's query is sent now.
        let cached: Vec<Option<Arc<[Family]>>> = options
            .plan
            .iter()
            .map(|source| {
                let keep = source.cache_for(&options.collectors);
                if keep.is_zero() {
                    return None;
                }
                cache
                    .get(&source.name())
                    .filter(|(at, _)| at.elapsed() < keep)
                    .map(|(_, families)| families.clone())
            })
            .collect();
        let runs = options
            .plan
            .iter()
            .zip(&cached)
            .map(|(source, cached)| async move {
                if cached.is_some() {
                    return None;
                }
                let on = match second_conn {
                    Some(second) if source.on_second_connection() => second,
                    _ => conn,
                };
                let run = source.collect(on, &options.collectors, options.statement_timeout);
                let result = tokio::time::timeout_at(deadline, run).await;
                Some((result, start.elapsed()))
            });
        let results = futures::future::join_all(runs).await;

        let mut outcome = Outcome {
            up: !conn.is_closed(),
            ..Default::default()
        };
        let mut timed_out = false;
        for ((source, cached), result) in options.plan.iter().zip(cached).zip(results) {
            let name = source.name();
            let (success, error, duration) = match (cached, result) {
                (Some(families), _) => {
                    outcome.families.push(families);
                    (true, None, Duration::ZERO)
                }
                (None, Some((Ok(Ok(families)), duration))) => {
                    let families: Arc<[Family]> = families.into();
                    if !source.cache_for(&options.collectors).is_zero() {
                        cache.insert(name.clone(), (Instant::now(), families.clone()));
                    }
                    outcome.families.push(families);
                    (true, None, duration)
                }
                (None, Some((Ok(Err(e)), duration))) => (false, Some(self.dsn.scrub(&e)), duration),
                (None, Some((Err(_), duration))) => {
                    timed_out = true;
                    (false, Some("scrape deadline reached".to_string()), duration)
                }
                (None, None) => (false, Some("not run".to_string()), Duration::ZERO),
            };
            if let Some(e) = error {
                tracing::warn!(collector = %name, error = %e, "collector failed");
                outcome.error.get_or_insert(format!("{name}: {e}"));
            }
            outcome.collectors.push(CollectorResult {
                name,
                success,
                duration,
            });
        }
        if timed_out {
            // Cancel the query on the server, and let the connection go: a server that
            // stopped answering would otherwise hold every later scrape until its deadline.
            // The next scrape connects afresh.
            conn.cancel_running_query();
            if let Some(second) = second_conn {
                second.cancel_running_query();
            }
        }
        if !outcome.up || timed_out {
            *session = None;
            *second = None;
        }
        outcome
    }
}
