//! Single-use tokens sent by e-mail: account activation, password reset, e-mail change.
//!
//! A token is 256 random bits; the database keeps only its SHA-256, so a leaked table holds no
//! working link. Issuing a token withdraws the account's earlier unused tokens of the same
//! purpose (only the newest link works); redeeming one marks it used in the same statement that
//! checks it, so two concurrent uses cannot both succeed.

use std::time::Duration;

use deadpool_postgres::GenericClient;

use crate::error::AppError;
use crate::password::token_hash;

/// What a token is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Activates a new account.
    Activation,
    /// Sets a new password.
    PasswordReset,
    /// Confirms a new e-mail address (sent to that address).
    EmailChange,
}

impl Purpose {
    /// The name stored in `account_tokens.purpose`.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Activation => "activation",
            Purpose::PasswordReset => "password_reset",
            Purpose::EmailChange => "email_change",
        }
    }

    /// How long a token works: two days to activate, one hour to reset a password, one day to
    /// confirm an address.
    pub fn lifetime(self) -> Duration {
        match self {
            Purpose::Activation => Duration::from_secs(2 * 86_400),
            Purpose::PasswordReset => Duration::from_secs(3600),
            Purpose::EmailChange => Duration::from_secs(86_400),
        }
    }
}

/// Issues a token of `purpose` for `user_id` (with the new address of an e-mail change) and
/// returns it; earlier unused tokens of the same purpose stop working. Call it in the
/// transaction that queues the mail carrying it.
pub async fn issue(
    client: &impl GenericClient,
    user_id: i64,
    purpose: Purpose,
    new_email: Option<&str>,
) -> Result<String, AppError> {
    let token = crate::password::random_token();
    client
        .execute(
            "DELETE FROM account_tokens WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL",
            &[&user_id, &purpose.as_str()],
        )
        .await?;
    client
        .execute(
            "INSERT INTO account_tokens (token_hash, user_id, purpose, new_email, expires_at)
             VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))",
            &[
                &token_hash(&token),
                &user_id,
                &purpose.as_str(),
                &new_email,
                &purpose.lifetime().as_secs_f64(),
            ],
        )
        .await?;
    Ok(token)
}

/// A redeemed token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redeemed {
    /// The account.
    pub user_id: i64,
    /// The new address of an e-mail change.
    pub new_email: Option<String>,
}

/// Uses `token` for `purpose`: its owner when it exists, is unused and has not expired (it is
/// then used up), else None.
pub async fn redeem(
    client: &impl GenericClient,
    token: &str,
    purpose: Purpose,
) -> Result<Option<Redeemed>, AppError> {
    let row = client
        .query_opt(
            "UPDATE account_tokens SET used_at = now()
             WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now()
             RETURNING user_id, new_email",
            &[&token_hash(token), &purpose.as_str()],
        )
        .await?;
    Ok(row.map(|r| Redeemed {
        user_id: r.get(0),
        new_email: r.get(1),
    }))
}

/// The owner of `token` if it would redeem now, without using it (a page shows its form only
/// for a working link).
pub async fn peek(
    client: &impl GenericClient,
    token: &str,
    purpose: Purpose,
) -> Result<Option<i64>, AppError> {
    let row = client
        .query_opt(
            "SELECT user_id FROM account_tokens
             WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now()",
            &[&token_hash(token), &purpose.as_str()],
        )
        .await?;
    Ok(row.map(|r| r.get(0)))
}

/// Withdraws every unused token of `user_id` for `purpose` (e.g. reset links once the password
/// was set another way).
pub async fn withdraw(
    client: &impl GenericClient,
    user_id: i64,
    purpose: Purpose,
) -> Result<u64, AppError> {
    Ok(client
        .execute(
            "DELETE FROM account_tokens WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL",
            &[&user_id, &purpose.as_str()],
        )
        .await?)
}

/// Deletes tokens that expired or were used more than a day ago.
pub async fn prune(client: &impl GenericClient) -> Result<u64, AppError> {
    Ok(client
        .execute(
            "DELETE FROM account_tokens
             WHERE expires_at < now() - interval '1 day' OR used_at < now() - interval '1 day'",
            &[],
        )
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reset_link_works_for_one_hour() {
        assert_eq!(Purpose::PasswordReset.lifetime(), Duration::from_secs(3600));
    }

    #[test]
    fn the_stored_hash_is_not_the_token() {
        let h = token_hash("abc");
        assert_eq!(h.len(), 64);
        assert_ne!(h, "abc");
        assert_eq!(h, token_hash("abc"));
    }
}
