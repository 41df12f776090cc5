//! Deleting an account, by its owner (GDPR self-service) or an administrator: its content is
//! kept anonymised (no author) or deleted, as chosen; its likes, votes, sessions and tokens go
//! either way. The last administrator cannot be deleted. The counters are recomputed by a
//! `recount` job.

use deadpool_postgres::Pool;

use crate::error::AppError;
use crate::models::accounts;
use crate::models::jobs::{self, JobKind};
use crate::models::users;

/// What happens to a deleted account's threads and posts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Content {
    /// They stay, without an author.
    Anonymise,
    /// They go (threads with their replies).
    Delete,
}

impl Content {
    /// `keep` (or empty) or `delete`; 422 for anything else.
    pub fn parse(s: &str) -> Result<Content, AppError> {
        match s.trim() {
            "" | "keep" | "anonymise" => Ok(Content::Anonymise),
            "delete" => Ok(Content::Delete),
            _ => Err(AppError::invalid(
                "choose whether to keep or delete the content",
            )),
        }
    }
}

/// Deletes account `id` with its `content` anonymised or deleted; 422 for the last
/// administrator, 404 when there is no such account.
pub async fn delete_account(pool: &Pool, id: i64, content: Content) -> Result<(), AppError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let profile = users::profile(&tx, id).await?;
    if profile.role == users::Role::Admin && accounts::other_admins(&tx, id).await? == 0 {
        return Err(AppError::invalid(
            "the last administrator cannot be deleted; make someone else an administrator first",
        ));
    }
    accounts::delete_user(&tx, id, content == Content::Delete).await?;
    jobs::enqueue(&tx, JobKind::Recount, serde_json::json!({})).await?;
    tx.commit().await?;
    Ok(())
}
