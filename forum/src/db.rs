//! The PostgreSQL pool and the embedded migrations (`forum migrate`).

use anyhow::Context as _;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// The connection settings of `url` (a `postgresql://` URL or a `key=value` string) and the
/// TLS connector its libpq keys ask for (`sslmode`, `sslrootcert`, `sslcert`, `sslkey`; see the
/// `pg-tls` kit). Certificate files are read here, so a missing one fails at startup.
pub fn connection(url: &str) -> anyhow::Result<(tokio_postgres::Config, pg_tls::Connector)> {
    let (pg, tls) = pg_tls::parse(url)
        .map_err(|e| anyhow::anyhow!("DATABASE_URL is not a valid PostgreSQL URL: {e}"))?;
    let connector = tls
        .connector()
        .map_err(|e| anyhow::anyhow!("DATABASE_URL's TLS settings: {e}"))?;
    Ok((pg, connector))
}

/// A pool of at most `size` connections to `url`, with TLS as its `sslmode` says.
pub fn pool(url: &str, size: usize) -> anyhow::Result<Pool> {
    let (mut pg, tls) = connection(url)?;
    pg.connect_timeout(std::time::Duration::from_secs(5));
    pg.application_name("forum");
    let manager = Manager::from_config(
        pg,
        tls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(size)
        .wait_timeout(Some(std::time::Duration::from_secs(10)))
        .create_timeout(Some(std::time::Duration::from_secs(5)))
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .build()
        .context("cannot build the connection pool")
}

/// Applies the migrations that are not applied yet; returns how many ran.
pub async fn migrate(pool: &Pool) -> anyhow::Result<usize> {
    let mut client = pool.get().await.context("cannot connect to PostgreSQL")?;
    // Several pods may start at once (Kubernetes init containers): a session advisory lock
    // makes them migrate one after the other; the later ones find nothing left to apply.
    const MIGRATION_LOCK: i64 = 0x0066_6f72_756d; // "forum" in ASCII
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await
        .context("cannot take the migration lock")?;
    let report = embedded::migrations::runner()
        .run_async(&mut **client)
        .await;
    let unlocked = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await;
    let report = report.context("migrations failed")?;
    unlocked.context("cannot release the migration lock")?;
    Ok(report.applied_migrations().len())
}

/// Whether the database answers a query now.
pub async fn ping(pool: &Pool) -> bool {
    match pool.get().await {
        Ok(c) => c.simple_query("SELECT 1").await.is_ok(),
        Err(_) => false,
    }
}
