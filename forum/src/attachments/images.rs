//! Images are decoded and encoded again, so what is stored holds pixels only (no trailing
//! data, comments, metadata or a second file format hidden in the first), and get a thumbnail.
//! Decoding is bounded against decompression bombs: at most [`MAX_SIDE`] pixels a side and
//! [`MAX_ALLOC`] bytes of memory, and it runs on tokio's blocking threads, [`CONCURRENT`] at
//! a time per process.

use std::sync::LazyLock;

use image::{DynamicImage, ImageFormat, ImageReader, Limits};
use tokio::sync::Semaphore;

use super::sniff::FileType;

/// The largest side of an image the decoder accepts, in pixels.
pub const MAX_SIDE: u32 = 8192;

/// The most memory one decode may allocate (a 16-megapixel image with alpha), so a forum pod
/// with a few hundred MiB of memory survives any upload.
pub const MAX_ALLOC: u64 = 64 * 1024 * 1024;

/// The largest side of a thumbnail, in pixels.
pub const THUMBNAIL_SIDE: u32 = 320;

/// Images decoded at once per process (each may take [`MAX_ALLOC`] and as much again while
/// encoding).
pub const CONCURRENT: usize = 1;

static SLOTS: LazyLock<Semaphore> = LazyLock::new(|| Semaphore::new(CONCURRENT));

/// An image ready to store.
#[derive(Debug)]
pub struct Processed {
    /// The re-encoded image (PNG, or JPEG for a JPEG).
    pub image: Vec<u8>,
    /// Its PNG thumbnail.
    pub thumbnail: Vec<u8>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// Why an image was refused.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// Not decodable as its sniffed type.
    #[error("the image could not be read: it is damaged or not really a {0}")]
    Undecodable(&'static str),
    /// Larger than the limits.
    #[error("the image is too large: at most {MAX_SIDE} pixels a side")]
    TooLarge,
    /// Encoding failed (a bug, not the upload's fault).
    #[error("the image could not be encoded")]
    Encode,
}

/// Decodes `bytes` as `file_type` and encodes it again with a thumbnail.
pub fn process(bytes: &[u8], file_type: FileType) -> Result<Processed, ImageError> {
    let format = match file_type {
        FileType::Png => ImageFormat::Png,
        FileType::Jpeg => ImageFormat::Jpeg,
        FileType::Gif => ImageFormat::Gif,
        FileType::Webp => ImageFormat::WebP,
        _ => return Err(ImageError::Undecodable(file_type.as_str())),
    };
    let mut reader = ImageReader::with_format(std::io::Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    let img = reader.decode().map_err(|e| match e {
        image::ImageError::Limits(_) => ImageError::TooLarge,
        _ => ImageError::Undecodable(file_type.as_str()),
    })?;
    let (width, height) = (img.width(), img.height());
    let image = if file_type == FileType::Jpeg {
        encode(&DynamicImage::ImageRgb8(img.to_rgb8()), ImageFormat::Jpeg)?
    } else {
        encode(&DynamicImage::ImageRgba8(img.to_rgba8()), ImageFormat::Png)?
    };
    let thumb = if width > THUMBNAIL_SIDE || height > THUMBNAIL_SIDE {
        img.thumbnail(THUMBNAIL_SIDE, THUMBNAIL_SIDE)
    } else {
        img
    };
    let thumbnail = encode(
        &DynamicImage::ImageRgba8(thumb.to_rgba8()),
        ImageFormat::Png,
    )?;
    Ok(Processed {
        image,
        thumbnail,
        width,
        height,
    })
}

fn encode(img: &DynamicImage, format: ImageFormat) -> Result<Vec<u8>, ImageError> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, format)
        .map_err(|_| ImageError::Encode)?;
    Ok(out.into_inner())
}

/// [`process`] on a blocking thread, waiting for one of the [`CONCURRENT`] slots.
pub async fn process_off_runtime(
    bytes: bytes::Bytes,
    file_type: FileType,
) -> Result<Processed, ImageError> {
    let _slot = SLOTS.acquire().await.map_err(|_| ImageError::Encode)?;
    match tokio::task::spawn_blocking(move || process(&bytes, file_type)).await {
        Ok(result) => result,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let img = image::RgbaImage::from_pixel(width, height, image::Rgba([10, 200, 10, 255]));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn a_polyglot_comes_out_as_pixels_only_with_a_thumbnail() {
        let mut polyglot = png(640, 480);
        polyglot.extend_from_slice(b"<html><script>alert(document.cookie)</script></html>");
        let out = process(&polyglot, FileType::Png).unwrap();
        assert!(
            !out.image
                .windows(7)
                .any(|w| w.eq_ignore_ascii_case(b"<script"))
        );
        assert_eq!((out.width, out.height), (640, 480));
        let thumb = image::load_from_memory(&out.thumbnail).unwrap();
        assert_eq!((thumb.width(), thumb.height()), (THUMBNAIL_SIDE, 240));
    }

    #[test]
    fn a_huge_declared_size_is_refused_before_decoding() {
        // A PNG header claiming 100000 x 100000 pixels: a decompression bomb's first bytes.
        let mut bomb = png(1, 1);
        bomb[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        bomb[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        assert!(process(&bomb, FileType::Png).is_err());
        assert!(matches!(
            process(b"\x89PNG\r\n\x1a\nnot really", FileType::Png),
            Err(ImageError::Undecodable("png"))
        ));
    }
}
