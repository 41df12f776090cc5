//! Unmarking a best answer: the thread's starter or a moderator takes the mark off, as
//! [`policy::check_choose_best`] allows (marking one is [`crate::models::post_actions::mark_best`]).

use deadpool_postgres::GenericClient;

use crate::error::AppError;
use crate::models::policy;
use crate::models::users::User;
use crate::models::visibility;

/// Takes the best-answer mark off post `id`; returns its thread. 409 when it is not the best
/// answer of its thread.
pub async fn unmark(tx: &impl GenericClient, id: i64, user: &User) -> Result<i64, AppError> {
    let grants = visibility::grants_of(tx, user).await?;
    let access = policy::Access::new(Some(user), &grants);
    let (post, _, _) = visibility::visible_post(tx, id, access).await?;
    // Lock the thread: a concurrent mark of another post is not undone by mistake.
    tx.query_opt(
        "SELECT 1 FROM threads WHERE id = $1 FOR UPDATE",
        &[&post.thread_id],
    )
    .await?;
    let (_, thread, access) = visibility::visible_post(tx, id, access).await?;
    policy::check_choose_best(access, user, &thread)?;
    if thread.best_answer_post_id != Some(id) {
        return Err(AppError::Conflict(
            "this post is not the best answer of its thread".into(),
        ));
    }
    tx.execute(
        "UPDATE threads SET best_answer_post_id = NULL WHERE id = $1 AND best_answer_post_id = $2",
        &[&thread.id, &id],
    )
    .await?;
    Ok(thread.id)
}
