//! Registering under the registration mode, activation links and an administrator's approval.
//!
//! A registration with an address that already has an account creates nothing: the owner of
//! the address gets a mail saying so (at most a few an hour), and the registrant the answer a
//! new account of the mode gets ("check your mail", or "await approval"), so the form cannot
//! tell who has an account. In mode `open` a new account is logged in at once, which an address
//! in use cannot be: there the answer differs, and modes `email` and `admin` are the ones that
//! hide which addresses have accounts.

use deadpool_postgres::Pool;

use super::confirm::{composer, mail_error};
use crate::config::Config;
use crate::error::AppError;
use crate::mail::{MailKind, outbox};
use crate::models::accounts::{self, Awaiting};
use crate::models::tokens::{self, Purpose};
use crate::models::users::{self, NewUser, Role};
use crate::registration::RegistrationMode;

/// "Someone tried to register with your address" mails sent to one address per hour, at most.
pub const ADDRESS_IN_USE_PER_HOUR: i64 = 3;

/// What a registration did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// An active account (mode `open`).
    Active(i64),
    /// An account waiting for its activation link to be followed (mode `email`).
    AwaitingEmail,
    /// An account waiting for an administrator (mode `admin`).
    AwaitingAdmin,
    /// Nothing: the address has an account, whose owner was told.
    AddressInUse,
}

/// A registration's outcome under the mode in force.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Registration {
    /// The mode in force.
    pub mode: RegistrationMode,
    /// What happened.
    pub outcome: Outcome,
}

/// What the registrant is told.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Logged in as the new account.
    LoggedIn(i64),
    /// "We sent you a link."
    CheckMail,
    /// "An administrator will approve your account."
    AwaitApproval,
}

impl Registration {
    /// What the registrant is told: an address in use is answered as a new account of the mode.
    pub fn answer(&self) -> Answer {
        match self.outcome {
            Outcome::Active(id) => Answer::LoggedIn(id),
            Outcome::AwaitingEmail => Answer::CheckMail,
            Outcome::AwaitingAdmin => Answer::AwaitApproval,
            Outcome::AddressInUse if self.mode == RegistrationMode::Admin => Answer::AwaitApproval,
            Outcome::AddressInUse => Answer::CheckMail,
        }
    }

    /// The `result` label of `forum_registrations_total`.
    pub fn result_label(&self) -> &'static str {
        match self.outcome {
            Outcome::Active(_) => "active",
            Outcome::AwaitingEmail => "awaiting_email",
            Outcome::AwaitingAdmin => "awaiting_admin",
            Outcome::AddressInUse => "address_in_use",
        }
    }
}

/// The registration mode in force: the admin panel's choice, else the command line's.
pub async fn mode(pool: &Pool, config: &Config) -> Result<RegistrationMode, AppError> {
    let client = pool.get().await?;
    accounts::registration_mode(&client, config.registration).await
}

/// Registers `new` under `mode`: 403 when registration is closed, 422 when the name is taken.
pub async fn register(
    pool: &Pool,
    config: &Config,
    mode: RegistrationMode,
    new: &NewUser,
) -> Result<Registration, AppError> {
    if mode == RegistrationMode::Closed {
        return Err(AppError::Forbidden(
            "registration is closed on this forum".into(),
        ));
    }
    let composer = composer(config)?;
    let mut client = pool.get().await?;
    if users::find_by_name(&client, &new.username).await?.is_some() {
        return Err(AppError::invalid("that username is already taken"));
    }
    let outcome = if let Some(owner) = accounts::owner_of(&client, &new.email).await? {
        // Hash anyway: a taken address must take as long to answer as a free one.
        crate::password::hash_password_async(new.password.clone()).await?;
        let recent =
            accounts::mails_last_hour(&client, MailKind::AddressInUse.as_str(), &owner.email)
                .await?;
        if recent < ADDRESS_IN_USE_PER_HOUR {
            let mail = composer
                .address_in_use(&owner.email, &owner.username)
                .map_err(mail_error)?;
            outbox::queue(&client, &mail).await?;
        }
        Outcome::AddressInUse
    } else {
        let tx = client.transaction().await?;
        let id = users::create(&tx, new, Role::Member).await?;
        let outcome = match mode {
            RegistrationMode::Email => {
                accounts::set_awaiting(&tx, id, Awaiting::Email).await?;
                let token = tokens::issue(&tx, id, Purpose::Activation, None).await?;
                let mail = composer
                    .activation(
                        &new.email,
                        &new.username,
                        &token,
                        Purpose::Activation.lifetime(),
                    )
                    .map_err(mail_error)?;
                outbox::queue(&tx, &mail).await?;
                Outcome::AwaitingEmail
            }
            RegistrationMode::Admin => {
                accounts::set_awaiting(&tx, id, Awaiting::Admin).await?;
                Outcome::AwaitingAdmin
            }
            RegistrationMode::Open | RegistrationMode::Closed => Outcome::Active(id),
        };
        tx.commit().await?;
        outcome
    };
    Ok(Registration { mode, outcome })
}

/// Follows an activation link: the account's id, or 422 when the link is unknown, used or
/// expired.
pub async fn activate(pool: &Pool, token: &str) -> Result<i64, AppError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let redeemed = tokens::redeem(&tx, token, Purpose::Activation)
        .await?
        .ok_or_else(invalid_link)?;
    let owner = accounts::activate(&tx, redeemed.user_id, Some(Awaiting::Email))
        .await?
        .ok_or_else(invalid_link)?;
    tx.commit().await?;
    Ok(owner.id)
}

/// An administrator approves account `id` (waiting for approval, or for its activation link):
/// it becomes active and its owner is told by mail; 422 when it waits for nothing.
pub async fn approve(pool: &Pool, config: &Config, id: i64) -> Result<(), AppError> {
    let composer = composer(config)?;
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let owner = accounts::activate(&tx, id, None)
        .await?
        .ok_or_else(|| AppError::invalid("this account is not awaiting approval"))?;
    tokens::withdraw(&tx, id, Purpose::Activation).await?;
    let mail = composer
        .account_approved(&owner.email, &owner.username)
        .map_err(mail_error)?;
    outbox::queue(&tx, &mail).await?;
    tx.commit().await?;
    Ok(())
}

/// The `result` label of a registration that failed with `e`: `refused` (closed), `invalid`
/// (a field, a taken name) or `error`.
pub fn registration_error_label(e: &AppError) -> &'static str {
    match e {
        AppError::Forbidden(_) => "refused",
        AppError::Invalid(_) | AppError::Field { .. } => "invalid",
        _ => "error",
    }
}

/// The error of a link that does not work (unknown, used or expired: never which).
pub fn invalid_link() -> AppError {
    AppError::invalid("this link is invalid or has expired")
}
