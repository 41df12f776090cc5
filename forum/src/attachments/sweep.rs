//! The worker's attachment sweep: removes attachments that no post linked within
//! `--attachment-orphan-age` of their upload (uploaded and never used, or whose post row is
//! gone: a member's account removed with their posts), the row first, then its objects, and
//! refreshes `forum_attachment_bytes`. Attachments of soft-deleted posts are kept, since a
//! moderator may restore the post. Bounded: at most [`BATCH`] attachments a sweep.

use std::time::Duration;

use deadpool_postgres::Pool;

use super::Attachments;
use crate::error::AppError;
use crate::models::attachments as rows;

/// The time between two sweeps of the worker.
pub const EVERY: Duration = Duration::from_secs(300);

/// Attachments removed per sweep at most.
pub const BATCH: i64 = 500;

/// What one sweep did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Swept {
    /// Attachments removed.
    pub removed: u64,
    /// Objects that could not be removed (left in the store).
    pub failed: u64,
}

/// Removes the orphans older than `max_age` once.
pub async fn sweep_once(
    pool: &Pool,
    attachments: &Attachments,
    max_age: Duration,
) -> Result<Swept, AppError> {
    let client = pool.get().await?;
    let mut swept = Swept::default();
    if let Some(storage) = &attachments.storage {
        for att in rows::orphans(&client, max_age, BATCH).await? {
            // The row goes first, and only while no post links it: a post saved meanwhile
            // keeps its attachment. An object that cannot be removed then is left behind
            // (logged and counted as a storage error), never a link to a missing object.
            if !rows::delete_unlinked(&client, att.id).await? {
                continue;
            }
            swept.removed += 1;
            let mut keys = vec![att.storage_key.clone()];
            keys.extend(att.thumbnail_key.clone());
            for key in &keys {
                if let Err(e) = storage.delete(key).await {
                    let e = attachments.storage_failed(e);
                    tracing::warn!(attachment = att.id, error = %e, "cannot remove the object of an orphan attachment");
                    swept.failed += 1;
                }
            }
        }
    }
    attachments.metrics.orphans_removed(swept.removed);
    attachments
        .metrics
        .set_stored_bytes(rows::stored_bytes(&client).await?);
    Ok(swept)
}

/// Sweeps every `every` until `shutdown` resolves.
pub async fn run(
    pool: Pool,
    attachments: Attachments,
    max_age: Duration,
    every: Duration,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    loop {
        match sweep_once(&pool, &attachments, max_age).await {
            Ok(s) if s.removed > 0 || s.failed > 0 => {
                tracing::info!(removed = s.removed, failed = s.failed, "attachment sweep");
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "attachment sweep failed"),
        }
        tokio::select! {
            () = &mut shutdown => break,
            () = tokio::time::sleep(every) => {}
        }
    }
}
