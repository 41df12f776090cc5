//! Login rate limits per client IP and per account, kept in PostgreSQL so every replica of the
//! web and API roles shares them. Over the limit, a login answers 429 without checking the
//! password.

use std::time::Duration;

use deadpool_postgres::Pool;

use crate::error::AppError;

/// How many failed logins are allowed within a window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoginLimits {
    /// Failures per client IP.
    pub per_ip: i64,
    /// Failures per account.
    pub per_account: i64,
    /// The window.
    pub window: Duration,
}

/// Fails with [`AppError::RateLimited`] when `ip` or `account` had too many recent failures.
pub async fn check_login(
    pool: &Pool,
    limits: LoginLimits,
    ip: &str,
    account: &str,
) -> Result<(), AppError> {
    let client = pool.get().await?;
    let window = limits.window.as_secs_f64();
    let account = account.to_lowercase();
    let stmt = client
        .prepare_cached(
            "SELECT count(*) FILTER (WHERE scope = 'ip' AND key = $1),
                    count(*) FILTER (WHERE scope = 'account' AND key = $2)
             FROM login_failures
             WHERE ((scope = 'ip' AND key = $1) OR (scope = 'account' AND key = $2))
               AND at > now() - make_interval(secs => $3)",
        )
        .await?;
    let row = client.query_one(&stmt, &[&ip, &account, &window]).await?;
    let (by_ip, by_account): (i64, i64) = (row.get(0), row.get(1));
    if by_ip >= limits.per_ip || by_account >= limits.per_account {
        tracing::warn!(ip, "login rate limited");
        return Err(AppError::RateLimited);
    }
    Ok(())
}

/// Records a failed login of `account` from `ip`.
pub async fn record_failure(pool: &Pool, ip: &str, account: &str) -> Result<(), AppError> {
    let client = pool.get().await?;
    let account: String = account.to_lowercase().chars().take(100).collect();
    client
        .execute(
            "INSERT INTO login_failures (scope, key) VALUES ('ip', $1), ('account', $2)",
            &[&ip, &account],
        )
        .await?;
    Ok(())
}
