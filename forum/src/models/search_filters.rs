//! Search with filters and pages: the words of `?q=` (PostgreSQL `websearch_to_tsquery`) in
//! posts and thread titles (a title matches through its thread's first post), narrowed to a
//! category (with its subcategories), an author and a date range, newest first, in pages of
//! [`PER_PAGE`]. Hidden threads are never found, nor the words of deleted posts (a thread whose
//! title matches is found even when its first post was deleted, without that post's text).
//! Each hit names its post, and its `url` is `/p/{id}/`, which leads to the post on its page
//! of its thread.

use chrono::{DateTime, NaiveDate, Utc};
use deadpool_postgres::GenericClient;
use serde::Serialize;

use crate::error::AppError;

/// Hits per page.
pub const PER_PAGE: i64 = 20;
/// The last page (the search looks at the newest `PER_PAGE * MAX_PAGE` matches at most).
pub const MAX_PAGE: i64 = 50;

/// One hit: a post.
#[derive(Clone, Debug, Serialize)]
pub struct Hit {
    /// The post.
    pub post_id: i64,
    /// `/p/{post_id}/`: the post on its page of its thread.
    pub url: String,
    /// Its thread.
    pub thread_id: i64,
    /// The thread's title.
    pub title: String,
    /// The thread's category.
    pub category_id: i64,
    /// The category's name.
    pub category_name: String,
    /// The author (None once deleted).
    pub user_id: Option<i64>,
    /// The author's name.
    pub username: Option<String>,
    /// When it was written.
    pub created_at: DateTime<Utc>,
    /// The start of the post's Markdown text (escaped when shown); empty for a deleted first
    /// post found through its thread's title.
    pub excerpt: String,
}

/// What to look for.
#[derive(Clone, Debug, Default)]
pub struct Filters {
    /// The words (blank: no hits).
    pub q: String,
    /// Only in these categories (a category and its subcategories).
    pub categories: Option<Vec<i64>>,
    /// Only posts of this member.
    pub author_id: Option<i64>,
    /// Written on or after this day (UTC).
    pub from: Option<NaiveDate>,
    /// Written on or before this day (UTC).
    pub until: Option<NaiveDate>,
    /// 1-based page.
    pub page: i64,
}

/// A page of hits.
#[derive(Clone, Debug, Serialize)]
pub struct Results {
    /// The hits, newest first.
    pub results: Vec<Hit>,
    /// This page.
    pub page: i64,
    /// The next page, if any.
    pub next_page: Option<i64>,
    /// Hits in all (at most `PER_PAGE * MAX_PAGE`).
    pub total: i64,
}

/// A day `YYYY-MM-DD` of `?from=` / `?until=` (blank: none); 422 naming `field` otherwise.
pub fn parse_date(field: &'static str, s: Option<&str>) -> Result<Option<NaiveDate>, AppError> {
    match s.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => NaiveDate::parse_from_str(v, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| AppError::Field {
                field,
                message: format!("{field} must be a date written YYYY-MM-DD"),
            }),
    }
}

/// A page number of `?page=` (blank: 1); 422 outside 1..=[`MAX_PAGE`].
pub fn parse_page(s: Option<&str>) -> Result<i64, AppError> {
    match s.map(str::trim) {
        None | Some("") => Ok(1),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or_else(|| AppError::Field {
                field: "page",
                message: format!("page must be from 1 to {MAX_PAGE}"),
            }),
    }
}

impl Filters {
    /// 422 when the date range is backwards.
    pub fn check(&self) -> Result<(), AppError> {
        if let (Some(f), Some(u)) = (self.from, self.until)
            && f > u
        {
            return Err(AppError::Field {
                field: "until",
                message: "the end date is before the start date".into(),
            });
        }
        Ok(())
    }
}

fn start_of(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
}

/// The page of hits `filters` asks for; none for a blank query.
pub async fn find(
    client: &impl GenericClient,
    filters: &Filters,
    readable: &[i64],
) -> Result<Results, AppError> {
    filters.check()?;
    let page = filters.page.clamp(1, MAX_PAGE);
    let empty = Results {
        results: Vec::new(),
        page,
        next_page: None,
        total: 0,
    };
    if filters.q.trim().is_empty() {
        return Ok(empty);
    }
    let from = filters.from.map(start_of);
    // `until` is inclusive: everything before the start of the next day.
    let before = filters.until.and_then(|d| d.succ_opt()).map(start_of);
    let cap = PER_PAGE * MAX_PAGE;
    // Each branch is bounded (`cap` newest matches) before the union, so a common word costs
    // at most that many rows whatever the size of the forum.
    let stmt = client
        .prepare_cached(
            "WITH q AS (SELECT websearch_to_tsquery('english', $1) AS q),
             m AS (
                (SELECT p.id FROM posts p JOIN threads t ON t.id = p.thread_id, q
                 WHERE p.search @@ q.q AND NOT p.is_deleted AND NOT t.is_hidden AND t.category_id = ANY($9)
                   AND ($2::bigint[] IS NULL OR t.category_id = ANY($2))
                   AND ($3::bigint IS NULL OR p.user_id = $3)
                   AND ($4::timestamptz IS NULL OR p.created_at >= $4)
                   AND ($5::timestamptz IS NULL OR p.created_at < $5)
                 ORDER BY p.id DESC LIMIT $6)
                UNION
                (SELECT p.id FROM threads t
                 JOIN LATERAL (SELECT id, user_id, created_at, is_deleted FROM posts
                               WHERE thread_id = t.id ORDER BY id LIMIT 1) p ON true, q
                 WHERE t.search @@ q.q AND NOT t.is_hidden AND t.category_id = ANY($9)
                   AND ($2::bigint[] IS NULL OR t.category_id = ANY($2))
                   AND ($3::bigint IS NULL OR p.user_id = $3)
                   AND ($4::timestamptz IS NULL OR p.created_at >= $4)
                   AND ($5::timestamptz IS NULL OR p.created_at < $5)
                 ORDER BY t.id DESC LIMIT $6)
             ),
             ranked AS (SELECT id FROM m ORDER BY id DESC LIMIT $7 OFFSET $8),
             counted AS (SELECT count(*) AS total FROM m)
             SELECT p.id, t.id, t.title, t.category_id, c.name, p.user_id, u.username, p.created_at,
                    CASE WHEN p.is_deleted THEN '' ELSE left(p.body, 240) END, counted.total
             FROM counted LEFT JOIN (ranked r JOIN posts p ON p.id = r.id
                  JOIN threads t ON t.id = p.thread_id JOIN categories c ON c.id = t.category_id
                  LEFT JOIN users u ON u.id = p.user_id) ON true
             ORDER BY p.id DESC",
        )
        .await?;
    let offset = (page - 1) * PER_PAGE;
    let fetch = PER_PAGE + 1;
    let rows = client
        .query(
            &stmt,
            &[
                &filters.q,
                &filters.categories,
                &filters.author_id,
                &from,
                &before,
                &cap,
                &fetch,
                &offset,
                &readable,
            ],
        )
        .await?;
    // Each branch contributes up to `cap` matches; no more than `cap` can be paged through.
    let total: i64 = rows.first().map_or(0, |r| r.get::<_, i64>(9).min(cap));
    // One row with no post when this page is empty (it still carries the total).
    let mut results: Vec<Hit> = rows
        .iter()
        .filter(|r| r.get::<_, Option<i64>>(0).is_some())
        .map(|r| {
            let post_id: i64 = r.get(0);
            Hit {
                post_id,
                url: format!("/p/{post_id}/"),
                thread_id: r.get(1),
                title: r.get(2),
                category_id: r.get(3),
                category_name: r.get(4),
                user_id: r.get(5),
                username: r.get(6),
                created_at: r.get(7),
                excerpt: r.get(8),
            }
        })
        .collect();
    let more = results.len() as i64 > PER_PAGE;
    results.truncate(PER_PAGE as usize);
    Ok(Results {
        results,
        page,
        next_page: (more && page < MAX_PAGE).then_some(page + 1),
        total,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_days_and_pages_are_bounded() {
        assert_eq!(parse_date("from", None).unwrap(), None);
        assert_eq!(
            parse_date("from", Some("2026-01-31")).unwrap(),
            NaiveDate::from_ymd_opt(2026, 1, 31)
        );
        assert!(matches!(
            parse_date("from", Some("31/01/2026")),
            Err(AppError::Field { field: "from", .. })
        ));
        assert_eq!(parse_page(Some("")).unwrap(), 1);
        assert!(parse_page(Some("0")).is_err());
        assert!(parse_page(Some("51")).is_err());
        let backwards = Filters {
            from: NaiveDate::from_ymd_opt(2026, 2, 1),
            until: NaiveDate::from_ymd_opt(2026, 1, 1),
            ..Filters::default()
        };
        assert!(backwards.check().is_err());
    }
}
