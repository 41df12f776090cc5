//! `POST /account/avatar`: an avatar upload (multipart: `csrf`, `avatar`). Only PNG and JPEG
//! (checked by their magic bytes, never by the name or the declared type), at most 200 KiB,
//! written under a random name to the media directory nginx serves at `/media/`.

use axum::extract::{Multipart, State};
use axum::response::{IntoResponse, Redirect, Response};

use crate::auth::Viewer;
use crate::error::{AppError, AppResult};
use crate::models::users;
use crate::password::random_token;
use crate::state::AppState;

/// The largest avatar accepted.
pub const MAX_AVATAR_BYTES: usize = 200 * 1024;

/// The file extension of an image by its magic bytes, if it is a PNG or a JPEG.
pub fn image_kind(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("jpg")
    } else {
        None
    }
}

/// `POST /account/avatar`: 303 to the profile.
pub async fn avatar_upload(
    State(state): State<AppState>,
    viewer: Viewer,
    mut form: Multipart,
) -> AppResult<Response> {
    let bad = |e: axum::extract::multipart::MultipartError| {
        AppError::invalid(format!("invalid upload: {}", e.body_text()))
    };
    let (mut csrf, mut image) = (String::new(), None::<Vec<u8>>);
    while let Some(field) = form.next_field().await.map_err(bad)? {
        match field.name() {
            Some("csrf") => csrf = field.text().await.map_err(bad)?.chars().take(128).collect(),
            Some("avatar") => {
                let bytes = field.bytes().await.map_err(bad)?;
                if bytes.len() > MAX_AVATAR_BYTES {
                    return Err(AppError::invalid("an avatar is at most 200 KiB"));
                }
                image = Some(bytes.to_vec());
            }
            _ => {}
        }
    }
    viewer.check_csrf(&csrf)?;
    let user = viewer.require_writer()?;
    let dir = state
        .config
        .media_dir
        .clone()
        .ok_or_else(|| AppError::invalid("uploads are not enabled on this forum"))?;
    let image = image
        .filter(|b| !b.is_empty())
        .ok_or_else(|| AppError::invalid("choose an image"))?;
    let ext = image_kind(&image)
        .ok_or_else(|| AppError::invalid("an avatar must be a PNG or JPEG image"))?;
    let name = format!("{}-{}.{ext}", user.id, &random_token()[..16]);
    let avatars = dir.join("avatars");
    let path = avatars.join(&name);
    let tmp = avatars.join(format!(".{name}.tmp"));
    tokio::fs::create_dir_all(&avatars)
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    tokio::fs::write(&tmp, &image)
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    tokio::fs::rename(&tmp, &path)
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    let url = format!("/media/avatars/{name}");
    let client = state.pool.get().await?;
    let old = users::set_avatar(&client, user.id, &url).await?;
    if let Some(old_name) = old
        .as_deref()
        .and_then(|o| o.strip_prefix("/media/avatars/"))
        .filter(|n| !n.contains('/'))
    {
        let _ = tokio::fs::remove_file(avatars.join(old_name)).await;
    }
    Ok(Redirect::to(&format!("/u/{}/", user.id)).into_response())
}

#[cfg(test)]
mod tests {
    use super::image_kind;

    #[test]
    fn only_png_and_jpeg_magic_bytes_are_images() {
        assert_eq!(image_kind(b"\x89PNG\r\n\x1a\nrest"), Some("png"));
        assert_eq!(image_kind(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("jpg"));
        assert_eq!(image_kind(b"<svg onload=alert(1)>"), None);
        assert_eq!(image_kind(b"GIF89a"), None);
    }
}
