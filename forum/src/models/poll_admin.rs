//! Polls after a thread has started: its starter or a moderator adds one, edits it, closes it
//! (no more votes), reopens it, or deletes it, as [`policy::check_manage_poll`] allows.
//!
//! Editing follows Misago's rules as far as cast votes allow: the question, the length and
//! revoting can always change; the choices and the choices per vote only while nobody has
//! voted (changing them later would change what the cast votes mean, so it is a 409); secret
//! votes never become public once cast (409). A new length counts from the edit.

use crate::models::visibility;
use deadpool_postgres::GenericClient;

use crate::error::AppError;
use crate::models::polls::{self, NewPoll};
use crate::models::users::User;
use crate::models::{ThreadSummary, policy};

/// Locks thread `thread_id` for the rest of the transaction and checks that `user` may manage
/// its poll: 404 when they cannot see it, 403 when they may not.
async fn managed_thread(
    tx: &impl GenericClient,
    thread_id: i64,
    user: &User,
) -> Result<ThreadSummary, AppError> {
    if tx
        .query_opt(
            "SELECT 1 FROM threads WHERE id = $1 FOR UPDATE",
            &[&thread_id],
        )
        .await?
        .is_none()
    {
        return Err(AppError::NotFound);
    }
    let grants = visibility::grants_of(tx, user).await?;
    let (thread, access) =
        visibility::visible_thread(tx, thread_id, policy::Access::new(Some(user), &grants)).await?;
    policy::check_manage_poll(access, user, &thread)?;
    Ok(thread)
}

/// The poll of a locked thread: its id, choices per vote, whether votes are public, and how
/// many votes were cast; 404 when the thread has none.
async fn current(
    tx: &impl GenericClient,
    thread_id: i64,
) -> Result<(i64, i32, bool, i64), AppError> {
    let row = tx
        .query_opt(
            "SELECT id, max_choices, is_public,
                    (SELECT count(*) FROM poll_votes v WHERE v.poll_id = p.id)
             FROM polls p WHERE thread_id = $1 FOR UPDATE",
            &[&thread_id],
        )
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((row.get(0), row.get(1), row.get(2), row.get(3)))
}

/// Adds `poll` to thread `thread_id`; 409 when it has one already.
pub async fn add(
    tx: &impl GenericClient,
    thread_id: i64,
    user: &User,
    poll: &NewPoll,
) -> Result<i64, AppError> {
    managed_thread(tx, thread_id, user).await?;
    if tx
        .query_opt("SELECT 1 FROM polls WHERE thread_id = $1", &[&thread_id])
        .await?
        .is_some()
    {
        return Err(AppError::Conflict("this thread already has a poll".into()));
    }
    polls::create(tx, thread_id, poll).await
}

/// Replaces the poll of thread `thread_id` by `poll`, within the rules of the module's docs.
pub async fn edit(
    tx: &impl GenericClient,
    thread_id: i64,
    user: &User,
    poll: &NewPoll,
) -> Result<(), AppError> {
    managed_thread(tx, thread_id, user).await?;
    let (id, max_choices, was_public, votes) = current(tx, thread_id).await?;
    let labels: Vec<String> = tx
        .query(
            "SELECT label FROM poll_choices WHERE poll_id = $1 ORDER BY position",
            &[&id],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let choices_changed = labels != poll.choices;
    if votes > 0 {
        if choices_changed || max_choices != poll.max_choices {
            return Err(AppError::Conflict(
                "people have voted: the choices and choices per vote can no longer change".into(),
            ));
        }
        if poll.is_public && !was_public {
            return Err(AppError::Conflict(
                "votes were cast in secret: the poll cannot become public".into(),
            ));
        }
    }
    tx.execute(
        "UPDATE polls SET question = $2, max_choices = $3, ends_at = $4, allow_revote = $5,
                is_public = $6 WHERE id = $1",
        &[
            &id,
            &poll.question,
            &poll.max_choices,
            &poll.ends_at,
            &poll.allow_revote,
            &poll.is_public,
        ],
    )
    .await?;
    if choices_changed {
        // Nobody voted (checked above), so the choices can simply be replaced.
        tx.execute("DELETE FROM poll_choices WHERE poll_id = $1", &[&id])
            .await?;
        for (i, label) in poll.choices.iter().enumerate() {
            tx.execute(
                "INSERT INTO poll_choices (poll_id, position, label) VALUES ($1, $2, $3)",
                &[&id, &(i as i32), label],
            )
            .await?;
        }
    }
    Ok(())
}

/// Closes (`closed`) or reopens the poll of thread `thread_id`; 409 when it already is so.
pub async fn set_closed(
    tx: &impl GenericClient,
    thread_id: i64,
    user: &User,
    closed: bool,
) -> Result<(), AppError> {
    managed_thread(tx, thread_id, user).await?;
    let (id, ..) = current(tx, thread_id).await?;
    let n = tx
        .execute(
            "UPDATE polls SET is_closed = $2 WHERE id = $1 AND is_closed <> $2",
            &[&id, &closed],
        )
        .await?;
    if n == 0 {
        return Err(AppError::Conflict(
            if closed {
                "this poll is already closed"
            } else {
                "this poll is already open"
            }
            .into(),
        ));
    }
    Ok(())
}

/// Deletes the poll of thread `thread_id` with its votes.
pub async fn delete(tx: &impl GenericClient, thread_id: i64, user: &User) -> Result<(), AppError> {
    managed_thread(tx, thread_id, user).await?;
    let (id, ..) = current(tx, thread_id).await?;
    tx.execute("DELETE FROM polls WHERE id = $1", &[&id])
        .await?;
    Ok(())
}
