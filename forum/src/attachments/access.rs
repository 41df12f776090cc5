//! Who may fetch an attachment, through the post policy (`models::policy`): one linked to a
//! post, whoever may read that post; one not linked yet, its uploader and moderators. Anyone
//! else gets 404, as for the post itself.

use deadpool_postgres::GenericClient;

use crate::error::AppError;
use crate::models::attachments::{self as rows, Attachment};
use crate::models::policy;
use crate::models::visibility;

/// Attachment `id` when the viewer (`access.user` None: a guest) may fetch it; 404 otherwise.
pub async fn visible(
    client: &impl GenericClient,
    id: i64,
    access: policy::Access<'_>,
) -> Result<Attachment, AppError> {
    let user = access.user;
    let att = rows::get(client, id).await?;
    match att.post_id {
        Some(post_id) => {
            let (post, thread, access) = visibility::visible_post(client, post_id, access).await?;
            if !policy::may_read_post(access, &thread, &post) {
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
