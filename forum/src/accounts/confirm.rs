//! Shared steps of the account flows: the composer of the mails (links under `--public-url`)
//! and the password check of sensitive self-service steps.

use deadpool_postgres::Pool;

use crate::auth;
use crate::config::Config;
use crate::error::AppError;
use crate::mail::{Composer, MailError};
use crate::models::users::User;
use crate::ratelimit::LoginLimits;

/// The composer of mails whose links point under the configured public URL (checked at
/// startup).
pub fn composer(config: &Config) -> Result<Composer, AppError> {
    Composer::new(&config.public_url).map_err(mail_error)
}

/// A mail service error as an [`AppError`] (500, logged).
pub fn mail_error(e: MailError) -> AppError {
    AppError::Internal(e.into())
}

/// Checks `password` for `user` as a login does (failures count towards the login limits):
/// 401 with "the password is wrong", 429 when limited.
pub async fn check_password(
    pool: &Pool,
    limits: LoginLimits,
    ip: &str,
    user: &User,
    password: &str,
) -> Result<(), AppError> {
    auth::login(pool, limits, ip, &user.username, password)
        .await
        .map(|_| ())
        .map_err(|e| match e {
            AppError::Unauthorized(_) => AppError::Unauthorized("the password is wrong".into()),
            e => e,
        })
}
