//! Full-text search over thread titles and posts (PostgreSQL `websearch_to_tsquery`), for the
//! search page and the API.

use deadpool_postgres::GenericClient;
use serde::Serialize;

use crate::error::AppError;

/// One search hit.
#[derive(Clone, Debug, Serialize)]
pub struct SearchHit {
    /// Thread id.
    pub thread_id: i64,
    /// Thread title.
    pub title: String,
    /// Post id.
    pub post_id: i64,
    /// The start of the post's Markdown text (escaped when shown); empty when a thread's title
    /// matched and its first post is deleted.
    pub excerpt: String,
}

/// The most characters of a query that are searched for.
pub const MAX_QUERY_CHARS: usize = 200;

/// The query of `?q=`, cut to [`MAX_QUERY_CHARS`].
pub fn query(q: Option<String>) -> String {
    q.unwrap_or_default()
        .chars()
        .take(MAX_QUERY_CHARS)
        .collect()
}

/// At most 50 hits for `q` in visible threads and posts of `categories` (those the viewer may
/// read: private threads are never among them), newest first; none for a blank query.
pub async fn hits(
    client: &impl GenericClient,
    q: &str,
    categories: &[i64],
) -> Result<Vec<SearchHit>, AppError> {
    if q.trim().is_empty() {
        return Ok(Vec::new());
    }
    let stmt = client
        .prepare_cached(
            "WITH q AS (SELECT websearch_to_tsquery('english', $1) AS q)
             (SELECT t.id, t.title, p.id, left(p.body, 240)
              FROM posts p JOIN threads t ON t.id = p.thread_id, q
              WHERE p.search @@ q.q AND NOT p.is_deleted AND NOT t.is_hidden AND t.category_id = ANY($2)
              ORDER BY p.id DESC LIMIT 50)
             UNION
             (SELECT t.id, t.title, p.id, CASE WHEN p.is_deleted THEN '' ELSE left(p.body, 240) END
              FROM threads t JOIN LATERAL (SELECT id, body, is_deleted FROM posts WHERE thread_id = t.id ORDER BY id LIMIT 1) p ON true, q
              WHERE t.search @@ q.q AND NOT t.is_hidden AND t.category_id = ANY($2)
              ORDER BY t.id DESC LIMIT 50)
             LIMIT 50",
        )
        .await?;
    let rows = client.query(&stmt, &[&q, &categories]).await?;
    Ok(rows
        .iter()
        .map(|r| SearchHit {
            thread_id: r.get(0),
            title: r.get(1),
            post_id: r.get(2),
            excerpt: r.get(3),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_is_cut_to_its_limit() {
        assert_eq!(query(None), "");
        assert_eq!(
            query(Some("é".repeat(300))).chars().count(),
            MAX_QUERY_CHARS
        );
    }
}
