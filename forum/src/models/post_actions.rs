//! The writes to a post that the visibility and permission policy guards: edit, soft delete
//! and restore, like, best answer. Each loads the post and its thread through
//! [`visibility::visible_post`] and checks the policy inside the caller's transaction, so a refused
//! write changes nothing.

use deadpool_postgres::GenericClient;

use crate::error::AppError;
use crate::models::notifications::{self, Kind, Notification};
use crate::models::policy::{self, Access};
use crate::models::posts::{Post, PostBody, first_id};
use crate::models::users::User;
use crate::models::visibility;

/// Edits post `id` as `user`, keeping the old text in `post_edits`, as
/// [`policy::check_edit`] allows. `hide_history` (moderators only, when redacting) hides the
/// post's edit history from non-moderators.
pub async fn edit(
    tx: &impl GenericClient,
    id: i64,
    user: &User,
    access: Access<'_>,
    body: &PostBody,
    hide_history: bool,
) -> Result<Post, AppError> {
    let body = body.as_str();
    let (post, thread, access) = check_may_edit(tx, id, user, access).await?;
    if hide_history {
        policy::check_restore(access, &thread)?;
    }
    tx.execute(
        "INSERT INTO post_edits (post_id, user_id, old_body) VALUES ($1, $2, $3)",
        &[&id, &user.id, &post.body],
    )
    .await?;
    let html = crate::models::posts::render_linked(tx, body).await?;
    tx.execute(
        "UPDATE posts SET body = $2, body_html = $3, edited_at = now(),
                history_hidden = history_hidden OR $4 WHERE id = $1",
        &[&id, &body, &html, &hide_history],
    )
    .await?;
    crate::models::attachments::link_from_body(tx, id, user.id, body).await?;
    Ok(post)
}

/// Post `id`, its thread and the access when `user` may edit it now:
/// [`policy::check_edit_in_time`] with the edit time limit an administrator set (the edit form
/// and every edit call it).
pub async fn check_may_edit<'a>(
    client: &impl GenericClient,
    id: i64,
    user: &User,
    access: Access<'a>,
) -> Result<(Post, crate::models::ThreadSummary, Access<'a>), AppError> {
    let (post, thread, access) = visibility::visible_post(client, id, access).await?;
    let limit = crate::models::edit_limit::get(client).await?;
    policy::check_edit_in_time(access, user, &thread, &post, limit, chrono::Utc::now())?;
    Ok((post, thread, access))
}

/// Soft-deletes post `id` as `user` (its author or a moderator of its category), or restores
/// it (`deleted` false: the moderators of its category only, so a moderator's mistake can be
/// undone).
pub async fn set_deleted(
    tx: &impl GenericClient,
    id: i64,
    user: &User,
    access: Access<'_>,
    deleted: bool,
) -> Result<Post, AppError> {
    let (post, thread, access) = visibility::visible_post(tx, id, access).await?;
    if !deleted {
        policy::check_restore(access, &thread)?;
    }
    if deleted {
        let first = first_id(tx, post.thread_id).await?;
        policy::check_delete(access, user, &thread, &post, first)?;
    }
    tx.execute(
        "UPDATE posts SET is_deleted = $2 WHERE id = $1",
        &[&id, &deleted],
    )
    .await?;
    Ok(post)
}

/// Likes or unlikes post `id` as [`policy::check_like`] allows; returns the new like count.
pub async fn set_like(
    tx: &impl GenericClient,
    id: i64,
    user: &User,
    access: Access<'_>,
    like: bool,
) -> Result<i32, AppError> {
    let (post, thread, access) = visibility::visible_post(tx, id, access).await?;
    policy::check_like(access, user, &thread, &post)?;
    let changed = if like {
        tx.execute(
            "INSERT INTO post_likes (post_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&id, &user.id],
        )
        .await?
    } else {
        tx.execute(
            "DELETE FROM post_likes WHERE post_id = $1 AND user_id = $2",
            &[&id, &user.id],
        )
        .await?
    };
    let delta: i32 = if like {
        changed as i32
    } else {
        -(changed as i32)
    };
    let row = tx
        .query_one(
            "UPDATE posts SET like_count = like_count + $2 WHERE id = $1 RETURNING like_count",
            &[&id, &delta],
        )
        .await?;
    Ok(row.get(0))
}

/// Marks post `id` as the best answer of its thread: question categories only, by the thread's
/// author or a moderator, and never the first post.
pub async fn mark_best(
    tx: &impl GenericClient,
    id: i64,
    user: &User,
    access: Access<'_>,
) -> Result<i64, AppError> {
    let (post, thread, access) = visibility::visible_post(tx, id, access).await?;
    let row = tx
        .query_one(
            "SELECT t.user_id, c.is_question, (SELECT min(id) FROM posts WHERE thread_id = t.id)
             FROM threads t JOIN categories c ON c.id = t.category_id WHERE t.id = $1",
            &[&post.thread_id],
        )
        .await?;
    let (question, first): (bool, Option<i64>) = (row.get(1), row.get(2));
    if !question {
        return Err(AppError::invalid(
            "best answers are only for question categories",
        ));
    }
    policy::check_choose_best(access, user, &thread)?;
    if first == Some(id) || post.is_deleted {
        return Err(AppError::invalid(
            "the first post or a deleted post cannot be the best answer",
        ));
    }
    tx.execute(
        "UPDATE threads SET best_answer_post_id = $2 WHERE id = $1",
        &[&post.thread_id, &id],
    )
    .await?;
    if let Some(author) = post.user_id {
        notifications::notify(
            tx,
            Notification {
                kind: Kind::BestAnswer,
                recipient: author,
                thread_id: post.thread_id,
                post_id: Some(id),
                actor: Some(user.id),
            },
        )
        .await?;
    }
    Ok(post.thread_id)
}
