//! People: the member list (search by name prefix, name order, pages) and who is online
//! (members seen in the last [`ONLINE_MINUTES`] minutes; `users.last_seen_at` is refreshed at
//! most once a minute per member by the session lookup, so this costs no write per request).
//! Accounts still awaiting activation or approval, and deactivated ones, are not listed.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use serde::Serialize;

use crate::error::AppError;
use crate::models::users::Role;

/// Members per page of the list.
pub const PER_PAGE: i64 = 30;
/// The last page that can be asked for (bounds the offset).
pub const MAX_PAGE: i64 = 10_000;
/// Minutes since a member was last seen for them to count as online.
pub const ONLINE_MINUTES: i32 = 5;
/// The most online members shown.
pub const MAX_ONLINE: i64 = 100;
/// The most characters of a name prefix searched for.
pub const MAX_PREFIX_CHARS: usize = 50;

/// A member as lists show them.
#[derive(Clone, Debug, Serialize)]
pub struct Member {
    /// Id.
    pub id: i64,
    /// Name.
    pub username: String,
    /// Role.
    pub role: Role,
    /// Avatar URL path.
    pub avatar: Option<String>,
    /// Joined.
    pub created_at: DateTime<Utc>,
    /// Last seen.
    pub last_seen_at: Option<DateTime<Utc>>,
    /// Threads started.
    pub thread_count: i32,
    /// Posts written.
    pub post_count: i32,
    /// Seen in the last [`ONLINE_MINUTES`] minutes.
    pub online: bool,
}

const COLUMNS: &str =
    "id, username, role, avatar, created_at, last_seen_at, thread_count, post_count";

impl Member {
    fn from_row(r: &tokio_postgres::Row) -> Member {
        Member {
            id: r.get(0),
            username: r.get(1),
            role: r.get(2),
            avatar: r.get(3),
            created_at: r.get(4),
            last_seen_at: r.get(5),
            thread_count: r.get(6),
            post_count: r.get(7),
            online: r
                .get::<_, Option<DateTime<Utc>>>(5)
                .is_some_and(|t| Utc::now() - t < chrono::Duration::minutes(ONLINE_MINUTES.into())),
        }
    }
}

/// A name prefix from `?q=`: trimmed, cut to [`MAX_PREFIX_CHARS`].
pub fn prefix(q: Option<&str>) -> String {
    q.unwrap_or_default()
        .trim()
        .chars()
        .take(MAX_PREFIX_CHARS)
        .collect()
}

/// A page number from `?page=`: 1 when absent, 422 outside 1..=[`MAX_PAGE`].
pub fn page(p: Option<&str>) -> Result<i64, AppError> {
    match p.map(str::trim) {
        None | Some("") => Ok(1),
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or_else(|| AppError::invalid(format!("page must be from 1 to {MAX_PAGE}"))),
    }
}

/// One page of the member list.
#[derive(Clone, Debug, Serialize)]
pub struct MemberPage {
    /// The members, by name.
    pub results: Vec<Member>,
    /// Members matching in all.
    pub total: i64,
    /// This page.
    pub page: i64,
    /// Pages in all (at least 1).
    pub pages: i64,
    /// The next page, if any.
    pub next_page: Option<i64>,
}

/// Page `page` (1-based) of the members whose name starts with `prefix` (any case), in name
/// order, [`PER_PAGE`] a page.
pub async fn list(
    client: &impl GenericClient,
    prefix: &str,
    page: i64,
) -> Result<MemberPage, AppError> {
    let pattern = format!(
        "{}%",
        prefix
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    let filter = "is_active AND awaiting IS NULL AND lower(username) LIKE $1";
    let total: i64 = client
        .query_one(
            &format!("SELECT count(*) FROM users WHERE {filter}"),
            &[&pattern],
        )
        .await?
        .get(0);
    let offset = (page - 1) * PER_PAGE;
    let stmt = client
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM users WHERE {filter}
             ORDER BY lower(username), id LIMIT $2 OFFSET $3"
        ))
        .await?;
    let results = client
        .query(&stmt, &[&pattern, &PER_PAGE, &offset])
        .await?
        .iter()
        .map(Member::from_row)
        .collect();
    let pages = ((total + PER_PAGE - 1) / PER_PAGE).max(1);
    Ok(MemberPage {
        results,
        total,
        page,
        pages,
        next_page: (page < pages).then_some(page + 1),
    })
}

/// Members seen in the last [`ONLINE_MINUTES`] minutes, most recent first (at most
/// [`MAX_ONLINE`]), and how many they are in all.
pub async fn online(client: &impl GenericClient) -> Result<(Vec<Member>, i64), AppError> {
    let stmt = client
        .prepare_cached(&format!(
            "SELECT {COLUMNS}, count(*) OVER () FROM users
             WHERE last_seen_at > now() - make_interval(mins => $1) AND is_active
             ORDER BY last_seen_at DESC LIMIT $2"
        ))
        .await?;
    let rows = client.query(&stmt, &[&ONLINE_MINUTES, &MAX_ONLINE]).await?;
    let total = rows.first().map_or(0, |r| r.get::<_, i64>(8));
    Ok((rows.iter().map(Member::from_row).collect(), total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_from_one_to_the_cap_and_prefixes_are_cut() {
        assert_eq!(page(None).unwrap(), 1);
        assert_eq!(page(Some("3")).unwrap(), 3);
        for bad in ["0", "-1", "x", "10001"] {
            assert!(page(Some(bad)).is_err(), "{bad}");
        }
        assert_eq!(prefix(Some("  al ")), "al");
        assert_eq!(prefix(Some(&"a".repeat(80))).len(), MAX_PREFIX_CHARS);
    }
}
