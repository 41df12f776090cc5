//! Attachments, the service the upload routes and the worker share: an upload is checked
//! against the administrator's settings (size, then the type [`sniff`]ed from its bytes),
//! images are decoded and encoded again with a thumbnail ([`images`]), the bytes go to the
//! [`storage`] and the row to `models::attachments`. [`sweep`] removes the orphans.
//! Counted in [`metrics`].

pub mod access;
pub mod images;
pub mod metrics;
pub mod sniff;
pub mod storage;
pub mod sweep;

use std::sync::Arc;

use bytes::Bytes;
use deadpool_postgres::Pool;

use self::metrics::{AttachmentMetrics, UploadResult};
use self::sniff::FileType;
use self::storage::{Storage, StorageError};
use crate::error::AppError;
use crate::models::attachments::{self as rows, Attachment, NewAttachment, Settings};
use crate::models::users::User;
use crate::password::random_token;

/// The attachment service of a process: its store (None: attachments are off) and metrics.
#[derive(Clone, Debug, Default)]
pub struct Attachments {
    /// The store.
    pub storage: Option<Storage>,
    /// The counters.
    pub metrics: Arc<AttachmentMetrics>,
}

/// Why an upload was refused, with the status it answers.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// Over the size limit (413).
    #[error("the file is too large: at most {limit}")]
    TooLarge {
        /// The limit, readable (`4 MiB`).
        limit: String,
    },
    /// A type not allowed (422).
    #[error("{0}")]
    Type(String),
    /// Not a usable file (422).
    #[error("{0}")]
    Invalid(String),
    /// Attachments are off (422).
    #[error("attachments are not enabled on this forum")]
    Disabled,
    /// The store failed (503, logged).
    #[error("the attachment storage is unavailable; try again later")]
    Storage(#[source] StorageError),
    /// Anything else (logged).
    #[error(transparent)]
    App(#[from] AppError),
}

impl UploadError {
    fn result(&self) -> UploadResult {
        match self {
            UploadError::TooLarge { .. } => UploadResult::TooLarge,
            UploadError::Type(_) => UploadResult::TypeRefused,
            UploadError::Storage(_) => UploadResult::StorageError,
            UploadError::Invalid(_) | UploadError::Disabled | UploadError::App(_) => {
                UploadResult::Invalid
            }
        }
    }
}

/// A size in bytes, readable.
pub fn readable_size(bytes: i64) -> String {
    if bytes >= 1024 * 1024 && bytes % (1024 * 1024) == 0 {
        format!("{} MiB", bytes / 1024 / 1024)
    } else if bytes >= 1024 {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} bytes")
    }
}

/// The allowed types of `settings` (unknown names are left out).
pub fn allowed_types(settings: &Settings) -> Vec<FileType> {
    settings
        .types
        .iter()
        .filter_map(|t| FileType::parse(t))
        .collect()
}

impl Attachments {
    /// The service with `storage`, counting into `metrics`.
    pub fn new(storage: Option<Storage>, metrics: Arc<AttachmentMetrics>) -> Attachments {
        Attachments { storage, metrics }
    }

    /// Whether uploads are on.
    pub fn enabled(&self) -> bool {
        self.storage.is_some()
    }

    /// Counts a storage error and returns it.
    pub fn storage_failed(&self, e: StorageError) -> StorageError {
        if let Some(op) = e.operation() {
            self.metrics.storage_error(op);
        }
        e
    }

    /// Stores `bytes`, uploaded by `user` as `name`, and returns its row.
    pub async fn upload(
        &self,
        pool: &Pool,
        user: &User,
        name: &str,
        bytes: Bytes,
    ) -> Result<Attachment, UploadError> {
        let result = self.upload_inner(pool, user, name, bytes).await;
        match &result {
            Ok(a) => self
                .metrics
                .upload(UploadResult::Stored, a.size_bytes as u64),
            Err(e) => {
                if let UploadError::Storage(s) = e {
                    tracing::warn!(error = %s, "attachment upload failed in the store");
                }
                self.metrics.upload(e.result(), 0);
            }
        }
        result
    }

    async fn upload_inner(
        &self,
        pool: &Pool,
        user: &User,
        name: &str,
        bytes: Bytes,
    ) -> Result<Attachment, UploadError> {
        let storage = self.storage.as_ref().ok_or(UploadError::Disabled)?;
        let settings = rows::settings(&pool.get().await.map_err(AppError::from)?).await?;
        if bytes.len() as i64 > settings.max_bytes {
            return Err(UploadError::TooLarge {
                limit: readable_size(settings.max_bytes),
            });
        }
        if bytes.is_empty() {
            return Err(UploadError::Invalid("choose a file to upload".into()));
        }
        let allowed = allowed_types(&settings);
        let names = || {
            allowed
                .iter()
                .map(|t| t.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let file_type = sniff::sniff(&bytes).ok_or_else(|| {
            UploadError::Type(format!(
                "this kind of file is not accepted; allowed: {}",
                names()
            ))
        })?;
        if !allowed.contains(&file_type) {
            return Err(UploadError::Type(format!(
                "{} files are not accepted; allowed: {}",
                file_type.as_str(),
                names()
            )));
        }
        let (body, thumbnail, size) = if file_type.is_image() {
            let p = images::process_off_runtime(bytes, file_type)
                .await
                .map_err(|e| UploadError::Invalid(e.to_string()))?;
            let size = (p.width as i32, p.height as i32);
            (p.image, Some(p.thumbnail), Some(size))
        } else {
            (bytes.to_vec(), None, None)
        };
        let filename = sniff::safe_filename(name, file_type);
        let key = format!(
            "attachments/{}/{}",
            chrono::Utc::now().format("%Y/%m"),
            random_token()
        );
        let thumb_key = thumbnail.as_ref().map(|_| format!("{key}.thumbnail.png"));
        let size_bytes = body.len() as i64;
        storage
            .put(&key, body)
            .await
            .map_err(|e| UploadError::Storage(self.storage_failed(e)))?;
        if let (Some(k), Some(t)) = (&thumb_key, thumbnail)
            && let Err(e) = storage.put(k, t).await
        {
            let _ = storage.delete(&key).await;
            return Err(UploadError::Storage(self.storage_failed(e)));
        }
        let client = pool.get().await.map_err(AppError::from)?;
        let row = rows::insert(
            &client,
            &NewAttachment {
                user_id: user.id,
                filename: &filename,
                file_type: file_type.as_str(),
                content_type: file_type.content_type(),
                size_bytes,
                storage_key: &key,
                thumbnail_key: thumb_key.as_deref(),
                size,
            },
        )
        .await;
        match row {
            Ok(a) => Ok(a),
            Err(e) => {
                // No row refers to the objects: remove them now, nothing else would.
                let _ = storage.delete(&key).await;
                if let Some(k) = &thumb_key {
                    let _ = storage.delete(k).await;
                }
                Err(e.into())
            }
        }
    }

    /// The bytes of attachment `att` (its thumbnail with `thumbnail`); 404 when an image has
    /// none or the object is gone.
    pub async fn read(&self, att: &Attachment, thumbnail: bool) -> Result<Bytes, AppError> {
        let storage = self.storage.as_ref().ok_or(AppError::NotFound)?;
        let key = if thumbnail {
            att.thumbnail_key.as_deref().ok_or(AppError::NotFound)?
        } else {
            att.storage_key.as_str()
        };
        match storage.get(key).await {
            Ok(b) => Ok(b),
            Err(StorageError::NotFound(_)) => Err(AppError::NotFound),
            Err(e) => {
                let e = self.storage_failed(e);
                Err(AppError::Internal(anyhow::anyhow!(e)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::readable_size;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(readable_size(4 * 1024 * 1024), "4 MiB");
        assert_eq!(readable_size(1536), "1 KiB");
        assert_eq!(readable_size(10), "10 bytes");
    }
}
