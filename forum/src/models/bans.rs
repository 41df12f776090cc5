//! Bans of e-mail addresses (by pattern: `*@spam.example`) and of client addresses (an IP or a
//! CIDR range), each with a message shown to those it bans and an optional expiry. A banned
//! address cannot register, log in or write; a banned e-mail address cannot register.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use serde::Serialize;

use crate::error::AppError;

/// A ban as the admin panel lists it.
#[derive(Clone, Debug, Serialize)]
pub struct Ban {
    /// Its id.
    pub id: i64,
    /// The e-mail pattern, for an e-mail ban.
    pub email_pattern: Option<String>,
    /// The address range (CIDR), for an address ban.
    pub address_range: Option<String>,
    /// What the banned are told.
    pub message: String,
    /// When it ends (None: never).
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

impl Ban {
    /// Whether it is in force now.
    pub fn is_active(&self) -> bool {
        self.expires_at.is_none_or(|t| t > Utc::now())
    }

    /// What the banned are told (an [`AppError::Forbidden`] carries it to pages and the API).
    pub fn notice(&self) -> String {
        let until = match self.expires_at {
            Some(t) => format!("until {}", t.format("%Y-%m-%d %H:%M UTC")),
            None => "for good".into(),
        };
        if self.message.is_empty() {
            format!("You are banned from this forum {until}.")
        } else {
            format!("You are banned from this forum {until}: {}", self.message)
        }
    }
}

/// What a ban applies to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BanTarget {
    /// E-mail addresses matching a pattern, lower case; `*` matches any run of characters.
    Email(String),
    /// Client addresses in a range.
    Address(ipnet::IpNet),
}

impl BanTarget {
    /// Reads `value` as a target of `kind` (`email` or `address`); 422 otherwise. An address
    /// without a prefix length is that one address.
    pub fn parse(kind: &str, value: &str) -> Result<BanTarget, AppError> {
        let value = value.trim();
        match kind {
            "email" => {
                if value.is_empty()
                    || value.len() > 254
                    || value.contains(char::is_whitespace)
                    || value.chars().all(|c| c == '*')
                {
                    return Err(AppError::invalid(
                        "an e-mail pattern is an address or a pattern such as *@spam.example",
                    ));
                }
                Ok(BanTarget::Email(value.to_lowercase()))
            }
            "address" => value
                .parse::<ipnet::IpNet>()
                .or_else(|_| value.parse::<IpAddr>().map(ipnet::IpNet::from))
                .map(|n| BanTarget::Address(n.trunc()))
                .map_err(|_| AppError::invalid("an address ban is an IP address or a CIDR range")),
            _ => Err(AppError::invalid(
                "a ban is of an e-mail pattern or an address",
            )),
        }
    }
}

const BAN_COLUMNS: &str = "id, email_pattern, address_range::text, message, expires_at, created_at";

fn from_row(r: &tokio_postgres::Row) -> Ban {
    Ban {
        id: r.get(0),
        email_pattern: r.get(1),
        address_range: r.get(2),
        message: r.get(3),
        expires_at: r.get(4),
        created_at: r.get(5),
    }
}

/// Adds a ban of `target` lasting `days` (None: for good; else more than 0, at most 36,500)
/// with `message` (cut to 500 characters), made by user `by`. Returns its id.
pub async fn add(
    client: &impl GenericClient,
    target: &BanTarget,
    message: &str,
    days: Option<f64>,
    by: i64,
) -> Result<i64, AppError> {
    if let Some(d) = days
        && !(d > 0.0 && d <= 36500.0)
    {
        return Err(AppError::invalid(
            "ban length: 1 to 36500 days, or empty for good",
        ));
    }
    let message: String = message.trim().chars().take(500).collect();
    let (email, range) = match target {
        BanTarget::Email(p) => (Some(p.clone()), None),
        BanTarget::Address(n) => (None, Some(n.to_string())),
    };
    let row = client
        .query_one(
            "INSERT INTO bans (email_pattern, address_range, message, expires_at, created_by)
             VALUES ($1, $2::text::cidr, $3,
                     CASE WHEN $4::float8 IS NULL THEN NULL
                          ELSE now() + make_interval(secs => $4::float8 * 86400) END, $5)
             RETURNING id",
            &[&email, &range, &message, &days, &by],
        )
        .await?;
    Ok(row.get(0))
}

/// Every ban, newest first (expired ones too, until removed).
pub async fn list(client: &impl GenericClient) -> Result<Vec<Ban>, AppError> {
    let rows = client
        .query(
            &format!("SELECT {BAN_COLUMNS} FROM bans ORDER BY id DESC LIMIT 500"),
            &[],
        )
        .await?;
    Ok(rows.iter().map(from_row).collect())
}

/// Removes ban `id` (404 when there is none).
pub async fn remove(client: &impl GenericClient, id: i64) -> Result<(), AppError> {
    let n = client
        .execute("DELETE FROM bans WHERE id = $1", &[&id])
        .await?;
    if n == 0 {
        return Err(AppError::NotFound);
    }
    Ok(())
}

/// The ban in force, if any, of client address `ip` (not an address: none) or e-mail address
/// `email`.
pub async fn find(
    client: &impl GenericClient,
    ip: &str,
    email: Option<&str>,
) -> Result<Option<Ban>, AppError> {
    let ip = ip.parse::<IpAddr>().ok().map(|ip| ip.to_string());
    let email = email.map(|e| e.trim().to_lowercase());
    if ip.is_none() && email.is_none() {
        return Ok(None);
    }
    let stmt = client
        .prepare_cached(&format!(
            "SELECT {BAN_COLUMNS} FROM bans
             WHERE (expires_at IS NULL OR expires_at > now())
               AND ((address_range IS NOT NULL AND address_range >>= $1::text::inet)
                 OR (email_pattern IS NOT NULL AND $2::text LIKE
                     replace(replace(replace(replace(email_pattern, '\\', '\\\\'),
                             '%', '\\%'), '_', '\\_'), '*', '%')))
             ORDER BY expires_at DESC NULLS FIRST LIMIT 1"
        ))
        .await?;
    let row = client.query_opt(&stmt, &[&ip, &email]).await?;
    Ok(row.as_ref().map(from_row))
}

/// Fails with the ban's notice (403) when `ip` or `email` is banned.
pub async fn refuse_banned(
    client: &impl GenericClient,
    ip: &str,
    email: Option<&str>,
) -> Result<(), AppError> {
    match find(client, ip, email).await? {
        Some(ban) => Err(AppError::Forbidden(ban.notice())),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_e_mail_patterns_or_address_ranges() {
        assert_eq!(
            BanTarget::parse("email", " *@Spam.example ").unwrap(),
            BanTarget::Email("*@spam.example".into())
        );
        assert_eq!(
            BanTarget::parse("address", "192.0.2.7").unwrap(),
            BanTarget::Address("192.0.2.7/32".parse().unwrap())
        );
        assert_eq!(
            BanTarget::parse("address", "192.0.2.7/24").unwrap(),
            BanTarget::Address("192.0.2.0/24".parse().unwrap()),
            "the host bits of a range are dropped"
        );
        assert!(BanTarget::parse("address", "not an address").is_err());
        assert!(BanTarget::parse("email", "*").is_err(), "a ban of everyone");
        assert!(BanTarget::parse("user", "x").is_err());
    }
}
