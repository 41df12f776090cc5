//! The anti-spam rules of registrations and posts, the same for pages and the API:
//!
//! - registrations: a limit per client address and hour, bans of the address or of the
//!   e-mail address, and on the form a hidden field people leave empty (a honeypot) and a
//!   signed time stamp that must be a few seconds old (bots submit at once);
//! - posts: flood control (a least interval between two posts), a limit per hour and of links
//!   per post for new members, address bans, and the moderation queue for a member's first
//!   posts ([`crate::models::moderation_queue`]).
//!
//! Moderators and administrators are exempt from the post rules. Every refusal is counted in
//! `forum_spam_refused_total{reason}`.

use std::net::IpAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use deadpool_postgres::{GenericClient, Pool};
use hmac::{Hmac, Mac as _};
use sha2::Sha256;

use crate::config::SpamRules;
use crate::error::AppError;
use crate::models::bans;
use crate::models::users::User;
use crate::safety_metrics::{SafetyMetrics, SpamReason};

/// The name of the registration form's honeypot field (hidden from people by the style sheet).
pub const HONEYPOT_FIELD: &str = "website";

/// The oldest registration form accepted.
const STAMP_MAX_AGE: Duration = Duration::from_secs(24 * 3600);

/// The key that signs form stamps: random, made once per database and shared by every replica
/// (`site_settings`, key `form_secret`; never shown).
async fn form_key(client: &impl GenericClient) -> Result<Vec<u8>, AppError> {
    let fresh = crate::password::random_token();
    client
        .execute(
            "INSERT INTO site_settings (key, value) VALUES ('form_secret', $1)
             ON CONFLICT (key) DO NOTHING",
            &[&fresh],
        )
        .await?;
    let row = client
        .query_one(
            "SELECT value FROM site_settings WHERE key = 'form_secret'",
            &[],
        )
        .await?;
    Ok(row.get::<_, String>(0).into_bytes())
}

fn signature(key: &[u8], at: i64) -> Hmac<Sha256> {
    // HMAC takes keys of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC key");
    mac.update(format!("registration form {at}").as_bytes());
    mac
}

/// A stamp for a registration form shown now: `seconds.signature`.
pub async fn form_stamp(pool: &Pool) -> Result<String, AppError> {
    let key = form_key(&pool.get().await?).await?;
    let at = Utc::now().timestamp();
    Ok(format!(
        "{at}.{}",
        hex::encode(signature(&key, at).finalize().into_bytes())
    ))
}

/// How long ago the form of `stamp` was shown, if the stamp is genuine.
fn stamp_age(key: &[u8], stamp: &str, now: DateTime<Utc>) -> Option<Duration> {
    let (at, sig) = stamp.split_once('.')?;
    let at: i64 = at.parse().ok()?;
    let sig = hex::decode(sig).ok()?;
    signature(key, at).verify_slice(&sig).ok()?;
    let age = now.timestamp().checked_sub(at)?;
    u64::try_from(age).ok().map(Duration::from_secs)
}

/// What the registration form proves about who filled it in.
#[derive(Clone, Debug, Default)]
pub struct FormProof {
    /// The stamp the form was shown with.
    pub stamp: String,
    /// The honeypot field (empty when a person filled the form in).
    pub honeypot: String,
}

fn refuse(metrics: &SafetyMetrics, reason: SpamReason, error: AppError) -> AppError {
    metrics.spam_refused(reason);
    tracing::info!(reason = reason.as_str(), "spam refused");
    error
}

/// Checks a registration from `ip` with `email` (and, from the page, its form): 422 for a
/// form filled in by a bot, 403 with the ban's message for a banned address or e-mail, 429 over
/// the limit per address.
pub async fn check_registration(
    pool: &Pool,
    rules: &SpamRules,
    metrics: &SafetyMetrics,
    ip: &str,
    email: &str,
    form: Option<&FormProof>,
) -> Result<(), AppError> {
    let client = pool.get().await?;
    if let Some(form) = form {
        if !form.honeypot.trim().is_empty() {
            return Err(refuse(
                metrics,
                SpamReason::Honeypot,
                AppError::invalid("this form could not be accepted; reload the page and try again"),
            ));
        }
        let key = form_key(&client).await?;
        match stamp_age(&key, &form.stamp, Utc::now()) {
            _ if rules.min_fill_time.is_zero() => {}
            Some(age) if age >= rules.min_fill_time && age <= STAMP_MAX_AGE => {}
            Some(age) if age < rules.min_fill_time => {
                return Err(refuse(
                    metrics,
                    SpamReason::FillTime,
                    AppError::invalid(
                        "that was quicker than a person types; check the form and send it again",
                    ),
                ));
            }
            _ => {
                return Err(refuse(
                    metrics,
                    SpamReason::FillTime,
                    AppError::invalid("the form expired; check it and send it again"),
                ));
            }
        }
    }
    if let Err(e) = bans::refuse_banned(&client, ip, Some(email)).await {
        return Err(refuse(metrics, SpamReason::Banned, e));
    }
    let address = crate::ratelimit::address_key(ip);
    let recent: i64 = client
        .query_one(
            "SELECT count(*) FROM registrations_by_address
             WHERE address = $1 AND at > now() - interval '1 hour'",
            &[&address],
        )
        .await?
        .get(0);
    if recent >= rules.registrations_per_hour {
        return Err(refuse(
            metrics,
            SpamReason::RegistrationRate,
            AppError::RateLimited,
        ));
    }
    Ok(())
}

/// Records a registration from `ip` (for the limit per address); forgets those older than a
/// day.
pub async fn record_registration(pool: &Pool, ip: &str) -> Result<(), AppError> {
    let address = crate::ratelimit::address_key(ip);
    let client = pool.get().await?;
    client
        .execute(
            "WITH old AS (DELETE FROM registrations_by_address WHERE at < now() - interval '1 day')
             INSERT INTO registrations_by_address (address) VALUES ($1)",
            &[&address],
        )
        .await?;
    Ok(())
}

/// Refuses a login from a banned address (403 with the ban's message).
pub async fn check_login_address(
    pool: &Pool,
    metrics: &SafetyMetrics,
    ip: &str,
) -> Result<(), AppError> {
    if ip.parse::<IpAddr>().is_err() {
        return Ok(());
    }
    let client = pool.get().await?;
    bans::refuse_banned(&client, ip, None)
        .await
        .map_err(|e| refuse(metrics, SpamReason::Banned, e))
}

/// Where a post that passed the rules goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// Written at once.
    Publish,
    /// Into the moderation queue.
    Queue,
}

/// What the post rules look at, about the author.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct AuthorActivity {
    /// Posts written (approved ones).
    pub posts: i32,
    /// Posts and threads waiting in the moderation queue.
    pub queued: i64,
    /// Seconds since the last post (written or queued), if any.
    pub since_last: Option<f64>,
    /// Posts written or queued in the last hour (counted up to the hourly limit).
    pub last_hour: i64,
}

/// The links in a Markdown text: words with a scheme (`https://...`), `www.` names and
/// `mailto:` addresses.
pub fn count_links(text: &str) -> usize {
    text.split(|c: char| c.is_whitespace() || "()<>[]\"'".contains(c))
        .filter(|w| {
            let w = w.to_ascii_lowercase();
            w.contains("://") || w.starts_with("www.") || w.starts_with("mailto:")
        })
        .count()
}

/// Applies the post rules to a post with `links` links by an author with `activity`.
pub fn decide_post(
    rules: &SpamRules,
    activity: AuthorActivity,
    links: usize,
) -> Result<Route, (SpamReason, AppError)> {
    if let Some(since) = activity.since_last {
        let wait = rules.post_interval.as_secs_f64() - since;
        if wait > 0.0 {
            return Err((
                SpamReason::Flood,
                AppError::invalid(format!(
                    "you posted a moment ago; wait {} more second{} before posting again",
                    wait.ceil(),
                    if wait.ceil() > 1.0 { "s" } else { "" }
                )),
            ));
        }
    }
    let new_member = activity.posts < rules.new_member_posts;
    if new_member {
        if activity.last_hour >= rules.new_member_posts_per_hour {
            return Err((
                SpamReason::HourlyLimit,
                AppError::invalid(format!(
                    "new members write at most {} posts an hour; try again later",
                    rules.new_member_posts_per_hour
                )),
            ));
        }
        if links > rules.new_member_links {
            return Err((
                SpamReason::Links,
                AppError::invalid(format!(
                    "new members' posts have at most {} link{}",
                    rules.new_member_links,
                    if rules.new_member_links == 1 { "" } else { "s" }
                )),
            ));
        }
    }
    if i64::from(activity.posts) + activity.queued < i64::from(rules.moderate_first_posts) {
        return Ok(Route::Queue);
    }
    Ok(Route::Publish)
}

/// What the rules need to know of `user_id`'s recent posts, and the admin panel's setting of
/// the first posts to moderate.
async fn activity(
    client: &impl GenericClient,
    user_id: i64,
    hourly_limit: i64,
) -> Result<(AuthorActivity, Option<i32>), AppError> {
    let stmt = client
        .prepare_cached(
            "SELECT u.post_count,
                    (SELECT count(*) FROM moderation_queue WHERE user_id = $1),
                    extract(epoch FROM now() - greatest(
                        (SELECT created_at FROM posts WHERE user_id = $1 ORDER BY id DESC LIMIT 1),
                        (SELECT max(created_at) FROM moderation_queue WHERE user_id = $1)))::float8,
                    (SELECT count(*) FROM (SELECT created_at FROM posts WHERE user_id = $1
                                           ORDER BY id DESC LIMIT $2) r
                     WHERE r.created_at > now() - interval '1 hour')
                    + (SELECT count(*) FROM moderation_queue
                       WHERE user_id = $1 AND created_at > now() - interval '1 hour'),
                    (SELECT value FROM site_settings WHERE key = 'moderate_first_posts')
             FROM users u WHERE u.id = $1 FOR UPDATE",
        )
        .await?;
    let row = client
        .query_opt(&stmt, &[&user_id, &hourly_limit])
        .await?
        .ok_or(AppError::LoginRequired)?;
    let moderate_first_posts = row
        .get::<_, Option<String>>(4)
        .and_then(|v| v.parse::<i32>().ok());
    Ok((
        AuthorActivity {
            posts: row.get(0),
            queued: row.get(1),
            since_last: row.get(2),
            last_hour: row.get(3),
        },
        moderate_first_posts,
    ))
}

/// The site setting that overrides [`SpamRules::moderate_first_posts`] (set in the admin
/// panel), if any.
pub async fn moderated_first_posts(client: &impl GenericClient) -> Result<Option<i32>, AppError> {
    let row = client
        .query_opt(
            "SELECT value FROM site_settings WHERE key = 'moderate_first_posts'",
            &[],
        )
        .await?;
    Ok(row.and_then(|r| r.get::<_, String>(0).parse().ok()))
}

/// Sets how many of a member's first posts wait in the moderation queue (0 to 1,000), for every
/// replica, over the command line's value.
pub async fn set_moderated_first_posts(
    client: &impl GenericClient,
    n: i32,
) -> Result<(), AppError> {
    if !(0..=1000).contains(&n) {
        return Err(AppError::invalid("first posts to moderate: 0 to 1000"));
    }
    client
        .execute(
            "INSERT INTO site_settings (key, value) VALUES ('moderate_first_posts', $1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now()",
            &[&n.to_string()],
        )
        .await?;
    Ok(())
}

/// Applies the post rules to `text` by `user` from `ip`: 403 with the ban's message for a
/// banned address, 422 saying what to wait for or remove, else where the post goes.
pub async fn check_post(
    client: &impl GenericClient,
    rules: &SpamRules,
    metrics: &SafetyMetrics,
    user: &User,
    ip: &str,
    text: &str,
) -> Result<Route, AppError> {
    if user.is_moderator() {
        return Ok(Route::Publish);
    }
    if let Err(e) = bans::refuse_banned(client, ip, None).await {
        return Err(refuse(metrics, SpamReason::Banned, e));
    }
    let (activity, moderated) = activity(client, user.id, rules.new_member_posts_per_hour).await?;
    let rules = &SpamRules {
        moderate_first_posts: moderated.unwrap_or(rules.moderate_first_posts),
        ..rules.clone()
    };
    decide_post(rules, activity, count_links(text))
        .map_err(|(reason, error)| refuse(metrics, reason, error))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_is_genuine_only_with_its_key_and_unchanged() {
        let key = b"key of this forum";
        let now = Utc::now();
        let at = now.timestamp() - 10;
        let stamp = format!(
            "{at}.{}",
            hex::encode(signature(key, at).finalize().into_bytes())
        );
        assert_eq!(stamp_age(key, &stamp, now), Some(Duration::from_secs(10)));
        assert_eq!(stamp_age(b"another key", &stamp, now), None);
        let sig = stamp.split_once('.').unwrap().1;
        assert_eq!(
            stamp_age(key, &format!("{}.{sig}", at - 100), now),
            None,
            "an older time with the same signature"
        );
        assert_eq!(stamp_age(key, "", now), None);
        assert_eq!(stamp_age(key, "12.zz", now), None);
    }

    #[test]
    fn links_are_counted_once_each() {
        assert_eq!(count_links("no links here"), 0);
        assert_eq!(
            count_links("see https://www.example.com and [x](http://a.example/b) or www.c.example"),
            3
        );
        assert_eq!(count_links("write to <mailto:x@example.com>"), 1);
    }

    fn rules() -> SpamRules {
        SpamRules::default()
    }

    #[test]
    fn posting_again_within_the_interval_is_flood() {
        let a = AuthorActivity {
            posts: 50,
            since_last: Some(1.0),
            ..AuthorActivity::default()
        };
        assert_eq!(
            decide_post(&rules(), a, 0).unwrap_err().0,
            SpamReason::Flood
        );
        let a = AuthorActivity {
            since_last: Some(3.5),
            ..a
        };
        assert_eq!(decide_post(&rules(), a, 0).unwrap(), Route::Publish);
    }

    #[test]
    fn new_members_have_an_hourly_limit_and_few_links() {
        let new = AuthorActivity {
            posts: 1,
            last_hour: 10,
            ..AuthorActivity::default()
        };
        assert_eq!(
            decide_post(&rules(), new, 0).unwrap_err().0,
            SpamReason::HourlyLimit
        );
        let new = AuthorActivity {
            last_hour: 1,
            ..new
        };
        assert_eq!(
            decide_post(&rules(), new, 3).unwrap_err().0,
            SpamReason::Links
        );
        assert_eq!(decide_post(&rules(), new, 2).unwrap(), Route::Publish);
        let old = AuthorActivity {
            posts: 100,
            last_hour: 50,
            ..AuthorActivity::default()
        };
        assert_eq!(decide_post(&rules(), old, 20).unwrap(), Route::Publish);
    }

    #[test]
    fn a_members_first_posts_wait_in_the_queue() {
        let rules = SpamRules {
            moderate_first_posts: 2,
            ..rules()
        };
        let first = AuthorActivity::default();
        assert_eq!(decide_post(&rules, first, 0).unwrap(), Route::Queue);
        let second = AuthorActivity { queued: 1, ..first };
        assert_eq!(decide_post(&rules, second, 0).unwrap(), Route::Queue);
        let third = AuthorActivity {
            posts: 1,
            queued: 1,
            ..first
        };
        assert_eq!(decide_post(&rules, third, 0).unwrap(), Route::Publish);
    }
}
