//! `POST /account/avatar`: an avatar upload (multipart: `csrf`, `avatar`). Only PNG and JPEG
//! (checked by their magic bytes, never by the name or the declared type), at most 200 KiB.
//! The image is decoded (off the async runtime, with bounded dimensions and memory), scaled
//! down to [`AVATAR_SIDE`] pixels at most, and encoded again as a PNG, so what is stored holds
//! pixels only: no trailing data, comments or metadata (a file that is both a PNG and an HTML
//! page comes out as a plain PNG). It is written under a random name to the media directory
//! nginx serves at `/media/`.

use axum::extract::{Multipart, State};
use axum::response::{IntoResponse, Redirect, Response};

use crate::auth::Viewer;
use crate::error::{AppError, AppResult};
use crate::models::users;
use crate::password::random_token;
use crate::state::AppState;

/// The largest avatar accepted.
pub const MAX_AVATAR_BYTES: usize = 200 * 1024;

/// The largest side of a stored avatar, in pixels.
pub const AVATAR_SIDE: u32 = 256;

/// The largest side of an uploaded image the decoder accepts, in pixels.
const MAX_DECODED_SIDE: u32 = 4096;

/// Decodes a PNG or JPEG, scales it down to [`AVATAR_SIDE`] and encodes it again as a PNG;
/// 422 for anything that does not decode as an image.
pub fn reencode(bytes: &[u8]) -> Result<Vec<u8>, AppError> {
    let refused = || AppError::invalid("an avatar must be a PNG or JPEG image");
    let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|_| refused())?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_DECODED_SIDE);
    limits.max_image_height = Some(MAX_DECODED_SIDE);
    limits.max_alloc = Some(64 * 1024 * 1024);
    reader.limits(limits);
    if !matches!(
        reader.format(),
        Some(image::ImageFormat::Png | image::ImageFormat::Jpeg)
    ) {
        return Err(refused());
    }
    let mut img = reader.decode().map_err(|_| refused())?;
    if img.width() > AVATAR_SIDE || img.height() > AVATAR_SIDE {
        img = img.thumbnail(AVATAR_SIDE, AVATAR_SIDE);
    }
    let img = image::DynamicImage::ImageRgba8(img.to_rgba8());
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(out.into_inner())
}

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
    image_kind(&image).ok_or_else(|| AppError::invalid("an avatar must be a PNG or JPEG image"))?;
    let image = tokio::task::spawn_blocking(move || reencode(&image))
        .await
        .map_err(|e| AppError::Internal(e.into()))??;
    let name = format!("{}-{}.png", user.id, &random_token()[..16]);
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
    use super::{AVATAR_SIDE, image_kind, reencode};

    fn png(width: u32, height: u32) -> Vec<u8> {
        let img = image::RgbaImage::from_pixel(width, height, image::Rgba([200, 10, 10, 255]));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn a_png_html_polyglot_comes_out_as_a_plain_png() {
        let mut polyglot = png(8, 8);
        polyglot.extend_from_slice(b"<html><script>alert(document.cookie)</script></html>");
        let clean = reencode(&polyglot).unwrap();
        assert!(clean.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert!(!clean.windows(7).any(|w| w.eq_ignore_ascii_case(b"<script")));
        assert!(!clean.windows(5).any(|w| w.eq_ignore_ascii_case(b"<html")));
        let back = image::load_from_memory(&clean).unwrap();
        assert_eq!((back.width(), back.height()), (8, 8));
    }

    #[test]
    fn large_avatars_are_scaled_down_and_garbage_is_refused() {
        let clean = reencode(&png(1000, 500)).unwrap();
        let back = image::load_from_memory(&clean).unwrap();
        assert_eq!(
            (back.width(), back.height()),
            (AVATAR_SIDE, AVATAR_SIDE / 2)
        );
        assert!(reencode(b"\x89PNG\r\n\x1a\n<html>not an image</html>").is_err());
        assert!(reencode(b"GIF89a").is_err());
    }

    #[test]
    fn only_png_and_jpeg_magic_bytes_are_images() {
        assert_eq!(image_kind(b"\x89PNG\r\n\x1a\nrest"), Some("png"));
        assert_eq!(image_kind(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("jpg"));
        assert_eq!(image_kind(b"<svg onload=alert(1)>"), None);
        assert_eq!(image_kind(b"GIF89a"), None);
    }
}
