//! The LISTEN connection of a process: one connection of its own (pooled connections drop
//! notifications), which bumps the cache generation on every notification of [`CHANNEL`], and
//! a member's reads version on each of [`READS_CHANNEL`]. Losing it turns the cache off until
//! it is back; reconnects back off exponentially (with jitter, so replicas do not reconnect in
//! step) up to a few seconds.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use rand::Rng as _;
use tokio_postgres::AsyncMessage;

/// The notification channel the triggers of migration V4 notify.
pub const CHANNEL: &str = "forum_cache";

/// The channel the read-mark triggers notify, with the member's id as payload.
pub const READS_CHANNEL: &str = "forum_reads";

/// What the listener switches in the cache it keeps right.
pub(super) trait Switch: Send + Sync + 'static {
    /// LISTEN is in place: what was loaded before may be stale, serve from memory again.
    fn enable(&self);
    /// LISTEN is lost: stop serving from memory.
    fn disable(&self);
    /// A change was committed: what is in memory is stale.
    fn invalidate(&self);
    /// The read marks of member `user_id` changed.
    fn reads_changed(&self, user_id: i64);
}

/// How the listener connects and checks its connection.
#[derive(Clone)]
pub struct ListenerConfig {
    /// The database (the same as the pool's).
    pub pg: tokio_postgres::Config,
    /// TLS as the database URL asks (unused with `sslmode=disable`).
    pub tls: pg_tls::Connector,
    /// The channel to LISTEN on: [`CHANNEL`], which the triggers notify (tests use another to
    /// see what this process's own invalidation does alone).
    pub channel: String,
    /// The channel of members' read marks: [`READS_CHANNEL`], its payload a member's id.
    pub reads_channel: String,
    /// First delay before reconnecting; doubled after each failure.
    pub initial_backoff: Duration,
    /// Longest delay between reconnections.
    pub max_backoff: Duration,
    /// How often the connection is checked with a query (a silently dead TCP connection would
    /// otherwise go unnoticed, and the cache serve stale data).
    pub ping_interval: Duration,
}

impl std::fmt::Debug for ListenerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListenerConfig")
            .field("pg", &self.pg)
            .field("channel", &self.channel)
            .field("reads_channel", &self.reads_channel)
            .field("initial_backoff", &self.initial_backoff)
            .field("max_backoff", &self.max_backoff)
            .field("ping_interval", &self.ping_interval)
            .finish_non_exhaustive()
    }
}

impl ListenerConfig {
    /// Defaults for the database `pg` reached through `tls` (as [`crate::db::connection`]
    /// gives them); the connection is named `forum-listen` in `pg_stat_activity`.
    pub fn new(mut pg: tokio_postgres::Config, tls: pg_tls::Connector) -> ListenerConfig {
        pg.application_name("forum-listen");
        pg.connect_timeout(Duration::from_secs(5));
        ListenerConfig {
            pg,
            tls,
            channel: CHANNEL.to_string(),
            reads_channel: READS_CHANNEL.to_string(),
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            ping_interval: Duration::from_secs(5),
        }
    }
}

/// Runs for the life of the process (the task is aborted when its cache is dropped).
pub(super) async fn run<S: Switch>(shared: Arc<S>, config: ListenerConfig) {
    let mut backoff = config.initial_backoff;
    loop {
        match listen(&shared, &config).await {
            Ok(()) => backoff = config.initial_backoff,
            Err(e) => tracing::warn!(error = %e, "read cache: cannot listen for changes"),
        }
        // Whatever ended the connection, notifications may have been missed from now on.
        shared.disable();
        let jitter = rand::thread_rng().gen_range(0.5..1.0);
        tokio::time::sleep(backoff.mul_f64(jitter)).await;
        backoff = (backoff * 2).min(config.max_backoff);
    }
}

/// One connection: LISTEN, turn the cache on, then serve notifications until the connection
/// fails. `Ok` when it was up (so the backoff starts afresh), `Err` when it never was.
async fn listen<S: Switch>(
    shared: &Arc<S>,
    config: &ListenerConfig,
) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = config.pg.connect(config.tls.clone()).await?;
    let notified = shared.clone();
    let reads_channel = config.reads_channel.clone();
    let mut driver = tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(n)) if n.channel() == reads_channel => {
                    match n.payload().parse() {
                        Ok(user_id) => notified.reads_changed(user_id),
                        // Not a member's id: whose marks changed is unknown.
                        Err(_) => notified.invalidate(),
                    }
                }
                Ok(AsyncMessage::Notification(_)) => notified.invalidate(),
                Ok(_) => {}
                Err(e) => return Some(e),
            }
        }
        None
    });
    // Quoted as identifiers: the channels are configuration, not SQL.
    let channel = config.channel.replace('"', "\"\"");
    let reads = config.reads_channel.replace('"', "\"\"");
    client
        .batch_execute(&format!("LISTEN \"{channel}\"; LISTEN \"{reads}\""))
        .await?;
    // From here every commit is notified to us; what was loaded before may be stale.
    shared.enable();
    tracing::info!("read cache: listening for changes");
    let mut ping = tokio::time::interval(config.ping_interval);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ping.tick().await;
    loop {
        tokio::select! {
            end = &mut driver => {
                match end {
                    Ok(Some(e)) => tracing::warn!(error = %e, "read cache: the LISTEN connection failed"),
                    _ => tracing::warn!("read cache: the LISTEN connection closed"),
                }
                return Ok(());
            }
            _ = ping.tick() => {
                let alive = tokio::time::timeout(config.ping_interval, client.simple_query(""))
                    .await
                    .is_ok_and(|r| r.is_ok());
                if !alive {
                    tracing::warn!("read cache: the LISTEN connection does not answer");
                    driver.abort();
                    return Ok(());
                }
            }
        }
    }
}
