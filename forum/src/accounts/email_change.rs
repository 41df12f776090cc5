//! Changing one's e-mail address: the new address gets a link (valid a day) and becomes the
//! account's only when it is followed. Asking needs the password. An address another account
//! has is answered as a free one (no mail is sent to it), so the form cannot tell who has an
//! account.

use deadpool_postgres::Pool;

use super::confirm::{composer, mail_error};
use super::registration::invalid_link;
use crate::config::Config;
use crate::error::AppError;
use crate::mail::outbox;
use crate::models::accounts;
use crate::models::tokens::{self, Purpose};
use crate::models::users::{self, User};

/// Mails a confirmation link for `new_email` to that address (422 when it is not an address or
/// already the account's). The caller checked the password.
pub async fn request(
    pool: &Pool,
    config: &Config,
    user: &User,
    new_email: &str,
) -> Result<(), AppError> {
    let new_email = users::parse_email(new_email)?;
    let mut client = pool.get().await?;
    let current = users::email(&client, user.id).await?;
    if current.eq_ignore_ascii_case(&new_email) {
        return Err(AppError::invalid("that is already your address"));
    }
    if accounts::owner_of(&client, &new_email).await?.is_some() {
        return Ok(());
    }
    let tx = client.transaction().await?;
    let token = tokens::issue(&tx, user.id, Purpose::EmailChange, Some(&new_email)).await?;
    let mail = composer(config)?
        .email_change(
            &new_email,
            &user.username,
            &token,
            Purpose::EmailChange.lifetime(),
        )
        .map_err(mail_error)?;
    outbox::queue(&tx, &mail).await?;
    tx.commit().await?;
    Ok(())
}

/// Follows a confirmation link: the account's address becomes the new one. 422 when the link
/// does not work or the address has been taken since. Returns the account's id.
pub async fn confirm(pool: &Pool, token: &str) -> Result<i64, AppError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let redeemed = tokens::redeem(&tx, token, Purpose::EmailChange)
        .await?
        .ok_or_else(invalid_link)?;
    let address = redeemed.new_email.ok_or_else(invalid_link)?;
    accounts::set_email(&tx, redeemed.user_id, &address).await?;
    tx.commit().await?;
    Ok(redeemed.user_id)
}
