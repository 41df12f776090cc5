//! One connection to one server, with the server's version and the statement timeout in force.
//!
//! Queries use the simple query protocol: one round trip each, every value as text, which
//! suits an exporter that only turns values into floats. Each statement is prepared on the
//! server the first time it runs (`PREPARE`, then `EXECUTE` on every scrape): the catalog
//! views the collectors read cost the planner about as much as running them, and a
//! statement without parameters is planned once per connection.

use std::collections::HashMap;
use std::time::Duration;

use pg_tls::{Connector, SslMode};
use tokio::time::Instant;
use tokio_postgres::{CancelToken, Client, SimpleQueryMessage, SimpleQueryRow};

use crate::dsn::Dsn;

/// A live connection.
pub struct Session {
    client: Client,
    cancel: CancelToken,
    tls: Connector,
    /// `server_version_num`, e.g. 150004.
    pub version_num: i32,
    /// `version()`, e.g. `PostgreSQL 15.4 (Debian ...) on x86_64...`.
    pub version: String,
    /// `server_version`, e.g. `15.4 (Debian 15.4-1)`.
    pub server_version: String,
    statement_timeout: Duration,
    /// Prepared statements of this connection: the SQL, and its name (`None`: `PREPARE`
    /// failed, so the SQL runs as it is and fails or succeeds on its own).
    prepared: std::sync::Mutex<HashMap<String, Option<String>>>,
    /// Statements prepared so far, for their names.
    statements: std::sync::atomic::AtomicU64,
}

/// A result row, read by column name.
pub struct Row(SimpleQueryRow);

impl Row {
    /// The text of column `name`, `None` when SQL NULL or absent.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.0.try_get(name).ok().flatten()
    }

    /// Column `name` as a number: integers, floats, numerics, `t`/`f`; `None` for NULL.
    pub fn num(&self, name: &str) -> Option<f64> {
        self.text(name).and_then(parse_number)
    }

    /// The column names, in order.
    pub fn columns(&self) -> Vec<&str> {
        self.0.columns().iter().map(|c| c.name()).collect()
    }

    /// The position of column `name`: the same in every row of a result, so a collector
    /// looks it up once, not once per row.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.0.columns().iter().position(|c| c.name() == name)
    }

    /// The text of the column at `index` (from [`Row::index`]), `None` when SQL NULL.
    pub fn text_at(&self, index: usize) -> Option<&str> {
        self.0.try_get(index).ok().flatten()
    }

    /// The column at `index` as a number, as [`Row::num`].
    pub fn num_at(&self, index: usize) -> Option<f64> {
        self.text_at(index).and_then(parse_number)
    }
}

/// Parses PostgreSQL's text form of a number or a boolean.
pub fn parse_number(text: &str) -> Option<f64> {
    match text {
        "t" | "true" | "on" => Some(1.0),
        "f" | "false" | "off" => Some(0.0),
        _ => text.trim().parse::<f64>().ok(),
    }
}

impl Session {
    /// Connects, reads the version and sets the session's statement timeout. Gives up at
    /// `deadline`. Errors are scrubbed of the password.
    pub async fn connect(
        dsn: &Dsn,
        deadline: Instant,
        statement_timeout: Duration,
    ) -> Result<Session, String> {
        let mut config = dsn.config().clone();
        let remaining = deadline.saturating_duration_since(Instant::now());
        let connect_timeout = config
            .get_connect_timeout()
            .copied()
            .map_or(remaining, |t| t.min(remaining));
        config.connect_timeout(connect_timeout.max(Duration::from_millis(1)));
        // The driver's connect_timeout covers the TCP connect only; a port that accepts and
        // then says nothing must cost no more than it either.
        let connect_deadline = deadline.min(Instant::now() + connect_timeout);
        let connecting = config.connect(dsn.connector().clone());
        let (client, connection) = match tokio::time::timeout_at(connect_deadline, connecting).await
        {
            Ok(Ok(pair)) => pair,
            Ok(Err(e)) => {
                // With TLS, say which checks were asked for: a certificate that does not
                // verify reads "invalid peer certificate: ..." after it.
                let tls = match dsn.tls().mode {
                    SslMode::Disable => String::new(),
                    _ => format!(" ({})", dsn.tls().describe()),
                };
                return Err(dsn.scrub(&format!(
                    "cannot connect to {}{tls}: {}",
                    dsn.display(),
                    error_text(&e)
                )));
            }
            Err(_) => return Err(format!("cannot connect to {}: timed out", dsn.display())),
        };
        let label = dsn.display().to_string();
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(server = %label, error = %e, "connection closed");
            }
        });
        let cancel = client.cancel_token();
        let mut session = Session {
            client,
            cancel,
            tls: dsn.connector().clone(),
            version_num: 0,
            version: String::new(),
            server_version: String::new(),
            statement_timeout: Duration::ZERO,
            prepared: Default::default(),
            statements: Default::default(),
        };
        let setup = async {
            session.set_statement_timeout(statement_timeout).await?;
            let rows = session
                .run("SELECT current_setting('server_version_num') AS num, current_setting('server_version') AS short, version() AS long")
                .await?;
            let row = rows.first().ok_or("no version row")?;
            session.version_num = row.num("num").unwrap_or(0.0) as i32;
            session.server_version = row.text("short").unwrap_or("").to_string();
            session.version = row.text("long").unwrap_or("").to_string();
            Ok::<(), String>(())
        };
        match tokio::time::timeout_at(deadline, setup).await {
            Ok(Ok(())) => Ok(session),
            Ok(Err(e)) => Err(dsn.scrub(&e)),
            Err(_) => Err("connected but the first queries timed out".into()),
        }
    }

    /// Whether the connection is gone (the server closed it or it failed).
    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// Sets `statement_timeout` for the next queries (a no-op when it is already in force).
    pub async fn set_statement_timeout(&mut self, timeout: Duration) -> Result<(), String> {
        if timeout == self.statement_timeout {
            return Ok(());
        }
        let ms = timeout.as_millis().max(1);
        self.client
            .batch_execute(&format!("SET statement_timeout = {ms}"))
            .await
            .map_err(|e| error_text(&e))?;
        self.statement_timeout = timeout;
        Ok(())
    }

    /// Runs `sql` (one statement without parameters), prepared on the server the first time,
    /// and returns its rows. Errors carry the server's message. SQL of several statements
    /// runs as it is. A prepared statement that fails is dropped and prepared again by the
    /// next run (a table read by `SELECT *` may have changed its columns).
    pub async fn query(&self, sql: &str) -> Result<Vec<Row>, String> {
        if sql.contains(';') {
            return self.run(sql).await;
        }
        let known = self
            .prepared
            .lock()
            .expect("not poisoned")
            .get(sql)
            .cloned();
        let name = match known {
            Some(name) => name,
            None => {
                let n = self
                    .statements
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let name = format!("pg_exporter_{n}");
                // Concurrent first runs of the same SQL cannot happen: a scrape runs each
                // collector once, and scrapes of one connection take turns.
                let prepared = self
                    .client
                    .simple_query(&format!("PREPARE {name} AS {sql}"))
                    .await
                    .is_ok()
                    .then_some(name);
                self.prepared
                    .lock()
                    .expect("not poisoned")
                    .insert(sql.to_string(), prepared.clone());
                prepared
            }
        };
        let Some(name) = name else {
            return self.run(sql).await;
        };
        let result = self.run(&format!("EXECUTE {name}")).await;
        if result.is_err() {
            self.prepared.lock().expect("not poisoned").remove(sql);
            let _ = self.run(&format!("DEALLOCATE {name}")).await;
        }
        result
    }

    /// Runs `sql` as it is and returns its rows.
    async fn run(&self, sql: &str) -> Result<Vec<Row>, String> {
        let messages = self
            .client
            .simple_query(sql)
            .await
            .map_err(|e| error_text(&e))?;
        Ok(messages
            .into_iter()
            .filter_map(|m| match m {
                SimpleQueryMessage::Row(row) => Some(Row(row)),
                _ => None,
            })
            .collect())
    }

    /// Asks the server to cancel whatever this connection runs (used when a scrape's deadline
    /// passes mid-query). Runs in the background, bounded by a short timeout.
    pub fn cancel_running_query(&self) {
        let cancel = self.cancel.clone();
        let tls = self.tls.clone();
        tokio::spawn(async move {
            let _ = tokio::time::timeout(Duration::from_secs(2), cancel.cancel_query(tls)).await;
        });
    }
}

/// The most useful text of a driver error: the server's message when there is one.
pub fn error_text(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                text.push_str(": ");
                text.push_str(&s.to_string());
                source = s.source();
            }
            text
        }
    }
}
