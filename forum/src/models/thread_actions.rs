//! The writes to a thread that the permission policy guards: moderation (pin, close, hide,
//! move) by the moderators of its category. Pages and the API call the same function, which
//! checks the policy inside the caller's transaction, so a refused write changes nothing.

use deadpool_postgres::GenericClient;

use crate::error::AppError;
use crate::models::policy::{self, Access};
use crate::models::threads::{self, Moderation};
use crate::models::visibility;

/// Applies `action` to thread `id` as [`policy::check_moderate`] (and, for a move,
/// [`policy::check_move`]: the viewer moderates the target too) allows.
pub async fn moderate(
    tx: &impl GenericClient,
    id: i64,
    access: Access<'_>,
    action: Moderation,
) -> Result<(), AppError> {
    let (thread, access) = visibility::visible_thread(tx, id, access).await?;
    match action {
        Moderation::Move(to) => policy::check_move(access, &thread, to)?,
        _ => policy::check_moderate(access, &thread)?,
    }
    threads::moderate(tx, id, action).await
}
