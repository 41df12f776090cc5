//! Password reset links and passwords set by an administrator.
//!
//! Asking for a link answers the same whatever the address (the caller always says "if the
//! address has an account, a link is on its way"); at most [`RESETS_PER_HOUR`] links go to an
//! address an hour. A link works once, for an hour, and only the newest one works. Setting a
//! password, from a link or by an administrator, ends every session and API token of the
//! account and withdraws its other reset links.

use deadpool_postgres::Pool;

use super::confirm::{composer, mail_error};
use super::registration::invalid_link;
use crate::config::Config;
use crate::error::AppError;
use crate::mail::{MailKind, outbox};
use crate::models::accounts;
use crate::models::tokens::{self, Purpose};
use crate::models::users;

/// Reset links mailed to one address per hour, at most.
pub const RESETS_PER_HOUR: i64 = 5;

/// Mails a reset link to the active account of `email`, if there is one; returns whether a
/// mail was queued (never shown to the asker).
pub async fn request_reset(pool: &Pool, config: &Config, email: &str) -> Result<bool, AppError> {
    let email = email.trim();
    if email.is_empty() || email.len() > 254 {
        return Ok(false);
    }
    let mut client = pool.get().await?;
    let Some(owner) = accounts::owner_of(&client, email)
        .await?
        .filter(|o| o.is_active)
    else {
        return Ok(false);
    };
    let recent =
        accounts::mails_last_hour(&client, MailKind::PasswordReset.as_str(), &owner.email).await?;
    if recent >= RESETS_PER_HOUR {
        return Ok(false);
    }
    let tx = client.transaction().await?;
    queue_reset_link(&tx, config, &owner).await?;
    tx.commit().await?;
    Ok(true)
}

async fn queue_reset_link(
    tx: &deadpool_postgres::Transaction<'_>,
    config: &Config,
    owner: &accounts::Owner,
) -> Result<(), AppError> {
    let token = tokens::issue(tx, owner.id, Purpose::PasswordReset, None).await?;
    let mail = composer(config)?
        .password_reset(
            &owner.email,
            &owner.username,
            &token,
            Purpose::PasswordReset.lifetime(),
        )
        .map_err(mail_error)?;
    outbox::queue(tx, &mail).await?;
    Ok(())
}

/// Whether the reset link `token` works now (the page shows its form only then).
pub async fn link_works(pool: &Pool, token: &str) -> Result<bool, AppError> {
    let client = pool.get().await?;
    Ok(tokens::peek(&client, token, Purpose::PasswordReset)
        .await?
        .is_some())
}

/// Sets `password` from the reset link `token`: 422 when the password is too short (the link
/// still works) or the link does not; every session of the account ends. Returns its id.
pub async fn reset_password(pool: &Pool, token: &str, password: &str) -> Result<i64, AppError> {
    let password = users::parse_password(password)?;
    if !link_works(pool, token).await? {
        return Err(invalid_link());
    }
    let hash = crate::password::hash_password_async(password).await?;
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let redeemed = tokens::redeem(&tx, token, Purpose::PasswordReset)
        .await?
        .ok_or_else(invalid_link)?;
    users::set_password_hash(&tx, redeemed.user_id, &hash, None).await?;
    accounts::end_sessions(&tx, redeemed.user_id).await?;
    tokens::withdraw(&tx, redeemed.user_id, Purpose::PasswordReset).await?;
    tx.commit().await?;
    Ok(redeemed.user_id)
}

/// An administrator mails a reset link to account `id` (whatever the hourly bound).
pub async fn send_reset_link(pool: &Pool, config: &Config, id: i64) -> Result<(), AppError> {
    let mut client = pool.get().await?;
    let owner = accounts::owner(&client, id).await?;
    let tx = client.transaction().await?;
    queue_reset_link(&tx, config, &owner).await?;
    tx.commit().await?;
    Ok(())
}

/// An administrator sets the password of account `id`: 422 when too short; every session of
/// the account ends and its reset links stop working.
pub async fn set_password(pool: &Pool, id: i64, password: &str) -> Result<(), AppError> {
    let password = users::parse_password(password)?;
    let hash = crate::password::hash_password_async(password).await?;
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    users::ensure_exists(&tx, id).await?;
    users::set_password_hash(&tx, id, &hash, None).await?;
    accounts::end_sessions(&tx, id).await?;
    tokens::withdraw(&tx, id, Purpose::PasswordReset).await?;
    tx.commit().await?;
    Ok(())
}
