//! A monitored server: its one connection, and the scrape that runs every collector on it.
//!
//! The connection lives in a mutex held for the whole scrape, so concurrent scrapes of one
//! target take turns and a target never has more than one connection. A closed connection
//! is dropped and a new one made by the next scrape; a refused or failed connection attempt
//! ends the scrape at once with `pg_up 0` (no retry loop, no sleep).

use std::collections::HashMap;
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
}

/// How one collector did.
#[derive(Clone, Debug)]
pub struct CollectorResult {
    /// The `collector` label value.
    pub name: String,
    /// Whether it returned its metrics.
    pub success: bool,
    /// How long it took.
    pub duration: Duration,
}

/// What a scrape of one target produced.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Whether the server was reachable and the connection still stood at the end.
    pub up: bool,
    /// The collected families.
    pub families: Vec<Family>,
    /// Per-collector results (empty when the server could not be reached).
    pub collectors: Vec<CollectorResult>,
    /// The first error of the scrape, scrubbed of secrets.
    pub error: Option<String>,
}

#[derive(Default)]
struct State {
    session: Option<Session>,
    cache: HashMap<String, (Instant, Vec<Family>)>,
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
        let Some(session) = state.session.as_mut() else {
            return Outcome::default();
        };
        let mut outcome = Outcome {
            up: true,
            ..Default::default()
        };
        let mut stopped: Option<&'static str> = None;
        let mut reset = false;
        for source in &options.plan {
            let name = source.name();
            let start = Instant::now();
            let record = |outcome: &mut Outcome, success: bool, error: Option<String>| {
                outcome.collectors.push(CollectorResult {
                    name: name.clone(),
                    success,
                    duration: start.elapsed(),
                });
                if let Some(e) = error {
                    tracing::warn!(collector = %name, error = %e, "collector failed");
                    outcome.error.get_or_insert(format!("{name}: {e}"));
                }
            };
            if let Some(reason) = stopped {
                record(&mut outcome, false, Some(reason.into()));
                continue;
            }
            let (cache_for, timeout) = match source {
                Source::Custom(q) => (q.cache, q.timeout.unwrap_or(options.statement_timeout)),
                _ => (Duration::ZERO, options.statement_timeout),
            };
            if !cache_for.is_zero()
                && let Some((at, families)) = state.cache.get(&name)
                && at.elapsed() < cache_for
            {
                outcome.families.extend(families.iter().cloned());
                record(&mut outcome, true, None);
                continue;
            }
            let run = async {
                session.set_statement_timeout(timeout).await?;
                source.collect(session, &options.collectors).await
            };
            match tokio::time::timeout_at(deadline, run).await {
                Ok(Ok(families)) => {
                    if !cache_for.is_zero() {
                        state
                            .cache
                            .insert(name.clone(), (Instant::now(), families.clone()));
                    }
                    outcome.families.extend(families);
                    record(&mut outcome, true, None);
                }
                Ok(Err(e)) => record(&mut outcome, false, Some(self.dsn.scrub(&e))),
                Err(_) => {
                    // Cancel the query on the server, and let the connection go: a server
                    // that stopped answering would otherwise hold every later scrape until
                    // its deadline. The next scrape connects afresh.
                    session.cancel_running_query();
                    record(&mut outcome, false, Some("scrape deadline reached".into()));
                    stopped = Some("not run: scrape deadline reached");
                    reset = true;
                }
            }
            if session.is_closed() {
                stopped = Some("not run: connection lost");
                outcome.up = false;
            }
        }
        if !outcome.up || reset {
            state.session = None;
        }
        outcome
    }
}
