//! The edit time limit: how many minutes after posting members may still edit their own posts
//! (0: no limit; moderators have none). An administrator sets it in the admin panel or the API;
//! it lives in `site_settings` (key [`KEY`]) so every process of the forum reads the same value.

use deadpool_postgres::GenericClient;

use crate::error::AppError;

/// The `site_settings` key.
pub const KEY: &str = "edit_time_limit_minutes";

/// The longest limit that can be set: a year, in minutes.
pub const MAX_MINUTES: i64 = 525_600;

/// Parses a limit typed in a form: whole minutes from 0 (no limit) to [`MAX_MINUTES`]; 422
/// otherwise.
pub fn parse(s: &str) -> Result<i64, AppError> {
    s.trim()
        .parse::<i64>()
        .ok()
        .filter(|m| (0..=MAX_MINUTES).contains(m))
        .ok_or_else(|| {
            AppError::invalid(format!(
                "the edit time limit must be a whole number of minutes from 0 (no limit) to {MAX_MINUTES}"
            ))
        })
}

/// The limit in force, in minutes (0: none, also when never set).
pub async fn get(client: &impl GenericClient) -> Result<i64, AppError> {
    let stmt = client
        .prepare_cached("SELECT value FROM site_settings WHERE key = $1")
        .await?;
    let row = client.query_opt(&stmt, &[&KEY]).await?;
    Ok(row
        .and_then(|r| r.get::<_, String>(0).parse::<i64>().ok())
        .filter(|m| (0..=MAX_MINUTES).contains(m))
        .unwrap_or(0))
}

/// Sets the limit (validated by the caller with [`parse`] or a typed number checked here).
pub async fn set(client: &impl GenericClient, minutes: i64) -> Result<(), AppError> {
    if !(0..=MAX_MINUTES).contains(&minutes) {
        return Err(parse(&minutes.to_string()).unwrap_err());
    }
    client
        .execute(
            "INSERT INTO site_settings (key, value) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now()",
            &[&KEY, &minutes.to_string()],
        )
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_is_whole_minutes_from_zero_to_a_year() {
        assert_eq!(parse(" 30 ").unwrap(), 30);
        assert_eq!(parse("0").unwrap(), 0);
        assert_eq!(parse("525600").unwrap(), MAX_MINUTES);
        for bad in ["-1", "525601", "1.5", "", "ten"] {
            assert!(matches!(parse(bad), Err(AppError::Invalid(_))), "{bad}");
        }
    }
}
