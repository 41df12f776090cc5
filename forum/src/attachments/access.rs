//! Who may fetch an attachment, through the post policy (`models::policy`): one linked to a
//! post, whoever may read that post; one not linked yet, its uploader and moderators. Anyone
//! else gets 404, as for the post itself.

use deadpool_postgres::GenericClient;

use crate::error::AppError;
use crate::models::attachments::{self as rows, Attachment};
use crate::models::policy;
use crate::models::users::User;

/// Attachment `id` when `user` (None: a guest) may fetch it; 404 otherwise.
pub async fn visible(
    client: &impl GenericClient,
    id: i64,
    user: Option<&User>,
) -> Result<Attachment, AppError> {
    let att = rows::get(client, id).await?;
    match att.post_id {
        Some(post_id) => {
            let (post, thread) = policy::visible_post(client, post_id, user).await?;
            if !policy::may_read_post(user, &thread, &post) {
                return Err(AppError::NotFound);
            }
        }
        None => {
            let mine = user.is_some_and(|u| Some(u.id) == att.user_id || u.is_moderator());
            if !mine {
                return Err(AppError::NotFound);
            }
        }
    }
    Ok(att)
}
