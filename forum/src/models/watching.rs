//! Watching threads: a member who watches a thread is notified of its replies
//! (`models::notifications`). Members watch by hand, or by posting (their `watch_on_post`
//! preference, on by default; `models::posts::insert`).

use deadpool_postgres::GenericClient;

use crate::error::AppError;
use crate::models::threads::{self, ThreadSummary};
use crate::models::users::User;
use crate::models::visibility;

/// The most watched threads listed at once.
pub const PAGE: i64 = 100;

/// `user` watches `thread_id` (404 when they may not see it); true when they did not before.
pub async fn watch(
    client: &impl GenericClient,
    user: &User,
    thread_id: i64,
) -> Result<bool, AppError> {
    let view = visibility::MemberView::load(client, user).await?;
    threads::get(client, thread_id, true)
        .await?
        .filter(|t| view.sees(t))
        .ok_or(AppError::NotFound)?;
    Ok(client
        .execute(
            "INSERT INTO thread_watchers (thread_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&thread_id, &user.id],
        )
        .await?
        == 1)
}

/// `user_id` stops watching `thread_id`; true when they watched it.
pub async fn unwatch(
    client: &impl GenericClient,
    user_id: i64,
    thread_id: i64,
) -> Result<bool, AppError> {
    Ok(client
        .execute(
            "DELETE FROM thread_watchers WHERE thread_id = $1 AND user_id = $2",
            &[&thread_id, &user_id],
        )
        .await?
        == 1)
}

/// Whether `user_id` watches `thread_id`.
pub async fn is_watching(
    client: &impl GenericClient,
    user_id: i64,
    thread_id: i64,
) -> Result<bool, AppError> {
    let stmt = client
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM thread_watchers WHERE thread_id = $1 AND user_id = $2)",
        )
        .await?;
    Ok(client
        .query_one(&stmt, &[&thread_id, &user_id])
        .await?
        .get(0))
}

/// The threads `user` watches that they may see, newest activity first (at most [`PAGE`]).
pub async fn watched(
    client: &impl GenericClient,
    user: &User,
) -> Result<Vec<ThreadSummary>, AppError> {
    let stmt = client
        .prepare_cached(&format!(
            "SELECT {} FROM thread_watchers w
             JOIN threads t ON t.id = w.thread_id
             JOIN categories c ON c.id = t.category_id LEFT JOIN users u ON u.id = t.user_id
             WHERE w.user_id = $1 ORDER BY t.last_activity_at DESC, t.id DESC LIMIT $2",
            threads::SUMMARY_COLUMNS
        ))
        .await?;
    let view = visibility::MemberView::load(client, user).await?;
    Ok(client
        .query(&stmt, &[&user.id, &PAGE])
        .await?
        .iter()
        .map(ThreadSummary::from_row)
        .filter(|t| view.sees(t))
        .collect())
}
