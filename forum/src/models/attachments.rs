//! Attachments: the rows of uploaded files (who uploaded what, its sniffed type, size and
//! storage keys), linking them to the post whose Markdown refers to them, the orphans the
//! worker removes, and the administrator's settings (allowed types and the size limit, in
//! `site_settings`). The bytes are in the attachment storage; who may fetch one is decided in
//! `attachments::access`.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use serde::Serialize;
use tokio_postgres::Row;

use crate::error::AppError;

/// The `site_settings` key of the allowed types (comma-separated type names).
pub const TYPES_KEY: &str = "attachment_types";

/// The `site_settings` key of the size limit in bytes.
pub const MAX_BYTES_KEY: &str = "attachment_max_bytes";

/// The allowed types until an administrator sets them.
pub const DEFAULT_TYPES: &str = "png,jpeg,gif,webp,pdf,txt,zip";

/// The size limit until an administrator sets it: 4 MiB.
pub const DEFAULT_MAX_BYTES: i64 = 4 * 1024 * 1024;

/// The highest size limit an administrator may set: 32 MiB (the request body limit of the
/// upload routes follows it).
pub const HARD_MAX_BYTES: i64 = 32 * 1024 * 1024;

/// The most attachments one post links (further references are left as plain links).
pub const MAX_PER_POST: usize = 50;

/// An attachment.
#[derive(Clone, Debug, Serialize)]
pub struct Attachment {
    /// Its id.
    pub id: i64,
    /// The uploader (None once their account is gone).
    pub user_id: Option<i64>,
    /// The post that links it.
    pub post_id: Option<i64>,
    /// The URL-safe file name.
    pub filename: String,
    /// The sniffed type (`png`, `pdf`, ...).
    pub file_type: String,
    /// The MIME type it is served with.
    pub content_type: String,
    /// Bytes stored (the re-encoded form of an image).
    pub size_bytes: i64,
    /// The object of the file in the store.
    #[serde(skip)]
    pub storage_key: String,
    /// The object of the thumbnail (images).
    #[serde(skip)]
    pub thumbnail_key: Option<String>,
    /// Width of an image.
    pub width: Option<i32>,
    /// Height of an image.
    pub height: Option<i32>,
    /// When it was uploaded.
    pub created_at: DateTime<Utc>,
}

impl Attachment {
    fn from_row(r: &Row) -> Attachment {
        Attachment {
            id: r.get("id"),
            user_id: r.get("user_id"),
            post_id: r.get("post_id"),
            filename: r.get("filename"),
            file_type: r.get("file_type"),
            content_type: r.get("content_type"),
            size_bytes: r.get("size_bytes"),
            storage_key: r.get("storage_key"),
            thumbnail_key: r.get("thumbnail_key"),
            width: r.get("width"),
            height: r.get("height"),
            created_at: r.get("created_at"),
        }
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("/attachments/{}/{}", self.id, self.filename)
    }

    /// Its thumbnail's URL (images).
    pub fn thumbnail_url(&self) -> Option<String> {
        self.thumbnail_key
            .as_ref()
            .map(|_| format!("/attachments/{}/thumbnail.png", self.id))
    }

    /// The Markdown a post refers to it with: an image, or a link to the file.
    pub fn markdown(&self) -> String {
        let label: String = self
            .filename
            .chars()
            .filter(|c| !matches!(c, '[' | ']' | '\\'))
            .collect();
        if self.thumbnail_key.is_some() {
            format!("![{label}]({})", self.url())
        } else {
            format!("[{label}]({})", self.url())
        }
    }
}

/// A new attachment's row.
#[derive(Debug)]
pub struct NewAttachment<'a> {
    /// The uploader.
    pub user_id: i64,
    /// The URL-safe file name.
    pub filename: &'a str,
    /// The sniffed type.
    pub file_type: &'a str,
    /// The MIME type.
    pub content_type: &'a str,
    /// Bytes of the stored file.
    pub size_bytes: i64,
    /// The object of the file.
    pub storage_key: &'a str,
    /// The object of the thumbnail.
    pub thumbnail_key: Option<&'a str>,
    /// Width and height of an image.
    pub size: Option<(i32, i32)>,
}

/// Inserts the row of an upload.
pub async fn insert(
    client: &impl GenericClient,
    new: &NewAttachment<'_>,
) -> Result<Attachment, AppError> {
    let (w, h) = match new.size {
        Some((w, h)) => (Some(w), Some(h)),
        None => (None, None),
    };
    let row = client
        .query_one(
            "INSERT INTO attachments (user_id, filename, file_type, content_type, size_bytes,
                 storage_key, thumbnail_key, width, height)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *",
            &[
                &new.user_id,
                &new.filename,
                &new.file_type,
                &new.content_type,
                &new.size_bytes,
                &new.storage_key,
                &new.thumbnail_key,
                &w,
                &h,
            ],
        )
        .await?;
    Ok(Attachment::from_row(&row))
}

/// Attachment `id`, whoever may see it.
pub async fn get(client: &impl GenericClient, id: i64) -> Result<Attachment, AppError> {
    client
        .query_opt("SELECT * FROM attachments WHERE id = $1", &[&id])
        .await?
        .map(|r| Attachment::from_row(&r))
        .ok_or(AppError::NotFound)
}

/// The attachment ids a post's Markdown refers to (`/attachments/{id}/...`), in order, each
/// once, at most [`MAX_PER_POST`].
pub fn referenced_ids(body: &str) -> Vec<i64> {
    let mut ids = Vec::new();
    for (i, _) in body.match_indices("/attachments/") {
        let rest = &body[i + "/attachments/".len()..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if digits.is_empty() || !rest[digits.len()..].starts_with('/') {
            continue;
        }
        if let Ok(id) = digits.parse::<i64>()
            && id > 0
            && !ids.contains(&id)
        {
            ids.push(id);
            if ids.len() == MAX_PER_POST {
                break;
            }
        }
    }
    ids
}

/// Links to post `post_id` the attachments its `body` refers to that `user_id` uploaded and
/// no post links yet; returns how many. Called whenever a post is written or edited.
pub async fn link_from_body(
    client: &impl GenericClient,
    post_id: i64,
    user_id: i64,
    body: &str,
) -> Result<u64, AppError> {
    let ids = referenced_ids(body);
    if ids.is_empty() {
        return Ok(0);
    }
    Ok(client
        .execute(
            "UPDATE attachments SET post_id = $1, linked_at = now()
             WHERE id = ANY($3) AND user_id = $2 AND post_id IS NULL",
            &[&post_id, &user_id, &ids],
        )
        .await?)
}

/// The attachments of post `post_id`.
pub async fn of_post(
    client: &impl GenericClient,
    post_id: i64,
) -> Result<Vec<Attachment>, AppError> {
    Ok(client
        .query(
            "SELECT * FROM attachments WHERE post_id = $1 ORDER BY id",
            &[&post_id],
        )
        .await?
        .iter()
        .map(Attachment::from_row)
        .collect())
}

/// Up to `limit` attachments no post links that were uploaded before `older_than` ago.
pub async fn orphans(
    client: &impl GenericClient,
    older_than: std::time::Duration,
    limit: i64,
) -> Result<Vec<Attachment>, AppError> {
    let seconds = older_than.as_secs_f64();
    Ok(client
        .query(
            "SELECT * FROM attachments
             WHERE post_id IS NULL AND created_at < now() - make_interval(secs => $1)
             ORDER BY created_at LIMIT $2",
            &[&seconds, &limit],
        )
        .await?
        .iter()
        .map(Attachment::from_row)
        .collect())
}

/// Deletes the row of attachment `id` if no post links it (a post saved meanwhile keeps it).
pub async fn delete_unlinked(client: &impl GenericClient, id: i64) -> Result<bool, AppError> {
    Ok(client
        .execute(
            "DELETE FROM attachments WHERE id = $1 AND post_id IS NULL",
            &[&id],
        )
        .await?
        == 1)
}

/// The bytes of every attachment.
pub async fn stored_bytes(client: &impl GenericClient) -> Result<i64, AppError> {
    let row = client
        .query_one(
            "SELECT COALESCE(sum(size_bytes), 0)::bigint FROM attachments",
            &[],
        )
        .await?;
    Ok(row.get(0))
}

/// The administrator's settings: the allowed type names and the size limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Allowed type names (`png`, `pdf`, ...).
    pub types: Vec<String>,
    /// The size limit of an upload, in bytes.
    pub max_bytes: i64,
}

/// The stored settings, the defaults where none is stored.
pub async fn settings(client: &impl GenericClient) -> Result<Settings, AppError> {
    let rows = client
        .query(
            "SELECT key, value FROM site_settings WHERE key = ANY($1)",
            &[&vec![TYPES_KEY, MAX_BYTES_KEY]],
        )
        .await?;
    let mut types = DEFAULT_TYPES.to_string();
    let mut max_bytes = DEFAULT_MAX_BYTES;
    for r in rows {
        let (key, value): (String, String) = (r.get(0), r.get(1));
        if key == TYPES_KEY {
            types = value;
        } else if let Ok(n) = value.parse::<i64>() {
            max_bytes = n.clamp(1, HARD_MAX_BYTES);
        }
    }
    Ok(Settings {
        types: types
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        max_bytes,
    })
}

/// Stores the settings (`max_bytes` between 1 KiB and [`HARD_MAX_BYTES`]: 422 otherwise).
pub async fn set_settings(client: &impl GenericClient, s: &Settings) -> Result<(), AppError> {
    if !(1024..=HARD_MAX_BYTES).contains(&s.max_bytes) {
        return Err(AppError::invalid(format!(
            "the size limit is 1 KiB to {} MiB",
            HARD_MAX_BYTES / 1024 / 1024
        )));
    }
    let types = s.types.join(",");
    let max = s.max_bytes.to_string();
    for (key, value) in [(TYPES_KEY, &types), (MAX_BYTES_KEY, &max)] {
        client
            .execute(
                "INSERT INTO site_settings (key, value) VALUES ($1, $2)
                 ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()",
                &[&key, value],
            )
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::referenced_ids;

    #[test]
    fn references_are_attachment_paths_with_an_id_and_a_name() {
        let body = "![a](/attachments/12/a.png) and [b](/attachments/7/b.pdf) \
                    again /attachments/12/a.png, not /attachments/x/y or /attachments/9";
        assert_eq!(referenced_ids(body), vec![12, 7]);
        assert!(referenced_ids("no attachments").is_empty());
        let many: String = (1..200).map(|i| format!("/attachments/{i}/f ")).collect();
        assert_eq!(referenced_ids(&many).len(), super::MAX_PER_POST);
    }
}
