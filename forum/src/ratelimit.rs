//! Login limits that an attacker cannot turn against an account's owner, kept in PostgreSQL so
//! every replica of the web and API roles shares them.
//!
//! Failures are counted per client address, per address and account, and per account. An
//! address that keeps failing is slowed, then refused (429 without checking the password): for
//! one account after [`LoginLimits::per_ip_account`] failures, for every account after
//! [`LoginLimits::per_ip`]. An account's own failures, which may come from anywhere, never lock
//! it: past [`LoginLimits::account_slow_after`] they only slow each attempt, by at most
//! [`LoginLimits::max_delay`]. So the owner, from an address without failures, always logs in
//! with the right password, whatever other addresses did.

use std::net::IpAddr;
use std::time::Duration;

use deadpool_postgres::Pool;

use crate::error::AppError;
use crate::models::names;
use crate::safety_metrics::{LoginReason, SafetyMetrics};

/// The limits of logins, and where refusals are counted.
#[derive(Clone, Debug)]
pub struct LoginLimits {
    /// Failures from one address (any account) before it is refused.
    pub per_ip: i64,
    /// Failures of one account from one address before that address is refused for it.
    pub per_ip_account: i64,
    /// Failures of one account (from any address) before each of its logins is slowed.
    pub account_slow_after: i64,
    /// The longest delay a login waits.
    pub max_delay: Duration,
    /// The window failures are counted in.
    pub window: Duration,
    /// Refusals and delays by reason.
    pub metrics: SafetyMetrics,
}

/// Recent failures that concern one login attempt.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Failures {
    /// From the client's address, any account.
    pub by_ip: i64,
    /// Of the account from the client's address.
    pub by_ip_account: i64,
    /// Of the account from any address.
    pub by_account: i64,
}

/// What to do with a login attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Check the password after waiting `delay` (`reason`: why there is a delay).
    Proceed {
        /// How long to wait first.
        delay: Duration,
        /// Why, when there is a delay.
        reason: Option<LoginReason>,
    },
    /// Answer 429 without checking the password.
    Refuse(LoginReason),
}

/// First delay of an address that keeps failing (doubling with each further failure).
const ADDRESS_STEP: Duration = Duration::from_millis(250);
/// Failures of an account from one address before that address is slowed.
const ADDRESS_FREE_FAILURES: i64 = 2;
/// Delay added per failure of an account past [`LoginLimits::account_slow_after`].
const ACCOUNT_STEP: Duration = Duration::from_millis(100);

impl LoginLimits {
    /// What to do with an attempt that follows `f`.
    pub fn decide(&self, f: Failures) -> Decision {
        if f.by_ip >= self.per_ip {
            return Decision::Refuse(LoginReason::Address);
        }
        if f.by_ip_account >= self.per_ip_account {
            return Decision::Refuse(LoginReason::AddressAccount);
        }
        // The address slows down after a couple of failures, doubling up to the bound; half of
        // its overall allowance is free too.
        let steps = (f.by_ip_account - ADDRESS_FREE_FAILURES).max(f.by_ip - self.per_ip / 2);
        let address = (steps > 0).then(|| {
            let doubling = 1u32 << (steps - 1).clamp(0, 16) as u32;
            ADDRESS_STEP.saturating_mul(doubling).min(self.max_delay)
        });
        let past = f.by_account - self.account_slow_after + 1;
        let account = (past > 0).then(|| {
            ACCOUNT_STEP
                .saturating_mul(u32::try_from(past).unwrap_or(u32::MAX))
                .min(self.max_delay)
        });
        match (address, account) {
            (Some(a), Some(b)) if b > a => Decision::Proceed {
                delay: b,
                reason: Some(LoginReason::Account),
            },
            (Some(a), _) => Decision::Proceed {
                delay: a,
                reason: Some(LoginReason::Address),
            },
            (None, Some(b)) => Decision::Proceed {
                delay: b,
                reason: Some(LoginReason::Account),
            },
            (None, None) => Decision::Proceed {
                delay: Duration::ZERO,
                reason: None,
            },
        }
    }
}

/// The key an address is counted under: an IPv4 address as is, an IPv6 address by its /64
/// (one subscriber's network; each of its addresses costs nothing to an attacker).
pub fn address_key(ip: &str) -> String {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let net = ipnet::Ipv6Net::new(v6, 64).map(|n| n.trunc());
            net.map_or_else(|_| ip.to_string(), |n| n.to_string())
        }
        Ok(IpAddr::V6(v6)) => v6
            .to_ipv4_mapped()
            .map_or(ip.to_string(), |v4| v4.to_string()),
        _ => ip.to_string(),
    }
}

fn pair_key(ip: &str, account: &str) -> String {
    format!("{ip} {account}")
}

/// Checks an attempt to log in to `account` from `ip`: fails with [`AppError::RateLimited`]
/// when refused, waits when slowed.
pub async fn check_login(
    pool: &Pool,
    limits: &LoginLimits,
    ip: &str,
    account: &str,
) -> Result<(), AppError> {
    let ip = address_key(ip);
    let account = names::login_key(account);
    let failures = {
        let client = pool.get().await?;
        let stmt = client
            .prepare_cached(
                "SELECT count(*) FILTER (WHERE scope = 'ip' AND key = $1),
                        count(*) FILTER (WHERE scope = 'ip_account' AND key = $2),
                        count(*) FILTER (WHERE scope = 'account' AND key = $3)
                 FROM login_failures
                 WHERE ((scope = 'ip' AND key = $1) OR (scope = 'ip_account' AND key = $2)
                        OR (scope = 'account' AND key = $3))
                   AND at > now() - make_interval(secs => $4)",
            )
            .await?;
        let window = limits.window.as_secs_f64();
        let row = client
            .query_one(&stmt, &[&ip, &pair_key(&ip, &account), &account, &window])
            .await?;
        Failures {
            by_ip: row.get(0),
            by_ip_account: row.get(1),
            by_account: row.get(2),
        }
    };
    match limits.decide(failures) {
        Decision::Refuse(reason) => {
            limits.metrics.login_refused(reason);
            tracing::warn!(reason = reason.as_str(), "login refused");
            Err(AppError::RateLimited)
        }
        Decision::Proceed { delay, reason } => {
            if let Some(reason) = reason {
                limits.metrics.login_slowed(reason);
                tokio::time::sleep(delay).await;
            }
            Ok(())
        }
    }
}

/// Records a failed login of `account` from `ip`.
pub async fn record_failure(pool: &Pool, ip: &str, account: &str) -> Result<(), AppError> {
    let ip = address_key(ip);
    let account = names::login_key(account);
    let client = pool.get().await?;
    client
        .execute(
            "INSERT INTO login_failures (scope, key)
             VALUES ('ip', $1), ('ip_account', $2), ('account', $3)",
            &[&ip, &pair_key(&ip, &account), &account],
        )
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> LoginLimits {
        LoginLimits {
            per_ip: 30,
            per_ip_account: 10,
            account_slow_after: 10,
            max_delay: Duration::from_secs(2),
            window: Duration::from_secs(900),
            metrics: SafetyMetrics::default(),
        }
    }

    fn failures(by_ip: i64, by_ip_account: i64, by_account: i64) -> Failures {
        Failures {
            by_ip,
            by_ip_account,
            by_account,
        }
    }

    #[test]
    fn an_address_without_failures_is_never_refused_whatever_the_account_suffered() {
        for by_account in [0, 10, 1_000, 1_000_000] {
            match limits().decide(failures(0, 0, by_account)) {
                Decision::Proceed { delay, .. } => assert!(delay <= Duration::from_secs(2)),
                d => panic!("{by_account} failures elsewhere: {d:?}"),
            }
        }
    }

    #[test]
    fn an_address_is_slowed_then_refused_for_the_account_and_then_overall() {
        let l = limits();
        assert_eq!(
            l.decide(failures(1, 1, 1)),
            Decision::Proceed {
                delay: Duration::ZERO,
                reason: None
            }
        );
        assert_eq!(
            l.decide(failures(3, 3, 3)),
            Decision::Proceed {
                delay: Duration::from_millis(250),
                reason: Some(LoginReason::Address)
            }
        );
        assert_eq!(
            l.decide(failures(9, 9, 9)),
            Decision::Proceed {
                delay: Duration::from_secs(2),
                reason: Some(LoginReason::Address)
            }
        );
        assert_eq!(
            l.decide(failures(10, 10, 10)),
            Decision::Refuse(LoginReason::AddressAccount)
        );
        assert_eq!(
            l.decide(failures(30, 0, 0)),
            Decision::Refuse(LoginReason::Address)
        );
    }

    #[test]
    fn a_spread_guess_is_slowed_by_a_bounded_delay() {
        let l = limits();
        assert_eq!(
            l.decide(failures(0, 0, 12)),
            Decision::Proceed {
                delay: Duration::from_millis(300),
                reason: Some(LoginReason::Account)
            }
        );
        assert_eq!(
            l.decide(failures(0, 0, 500)),
            Decision::Proceed {
                delay: Duration::from_secs(2),
                reason: Some(LoginReason::Account)
            }
        );
    }

    #[test]
    fn ipv6_addresses_count_by_their_64() {
        assert_eq!(address_key("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
        assert_eq!(address_key("2001:db8:1:2:ffff::1"), "2001:db8:1:2::/64");
        assert_eq!(address_key("::ffff:192.0.2.1"), "192.0.2.1");
        assert_eq!(address_key("192.0.2.1"), "192.0.2.1");
        assert_eq!(address_key("unknown"), "unknown");
    }
}
