//! `GET /admin/attachments` and `POST` the same: which file types members may attach and how
//! large an upload may be (stored in `site_settings`; the defaults until an administrator
//! saves: PNG, JPEG, GIF, WebP, PDF, text and ZIP, 4 MiB).

use askama::Template;
use axum::extract::{Form, State};
use axum::response::Response;

use super::guard::{Admin, done};
use crate::attachments::sniff::FileType;
use crate::attachments::{allowed_types, readable_size};
use crate::error::{AppError, AppResult};
use crate::models::attachments::{self as rows, HARD_MAX_BYTES, Settings};
use crate::state::AppState;
use crate::web::templates::{Ctx, page};

/// One type's checkbox.
#[derive(Debug)]
struct TypeChoice {
    name: &'static str,
    image: bool,
    allowed: bool,
}

#[derive(Template)]
#[template(path = "admin_attachments.html")]
struct AttachmentsPage {
    ctx: Ctx,
    types: Vec<TypeChoice>,
    max_kib: i64,
    hard_max: String,
    enabled: bool,
}

/// `GET /admin/attachments`.
pub async fn attachments_settings(
    State(state): State<AppState>,
    admin: Admin,
) -> AppResult<Response> {
    let client = state.pool.get().await?;
    let settings = rows::settings(&client).await?;
    let allowed = allowed_types(&settings);
    let types = FileType::ALL
        .into_iter()
        .map(|t| TypeChoice {
            name: t.as_str(),
            image: t.is_image(),
            allowed: allowed.contains(&t),
        })
        .collect();
    Ok(page(&AttachmentsPage {
        ctx: Ctx::new(&admin.viewer, "Attachments"),
        types,
        max_kib: settings.max_bytes / 1024,
        hard_max: readable_size(HARD_MAX_BYTES),
        enabled: state.attachments.enabled(),
    }))
}

/// `POST /admin/attachments`: `type` repeated for each allowed type, `max_kib`.
pub async fn attachments_update(
    State(state): State<AppState>,
    admin: Admin,
    Form(fields): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let csrf = fields
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    admin.viewer.check_csrf(csrf)?;
    let mut types = Vec::new();
    for (k, v) in &fields {
        if k == "type" {
            let t = FileType::parse(v).ok_or_else(|| AppError::invalid("unknown file type"))?;
            if !types.contains(&t.as_str().to_string()) {
                types.push(t.as_str().to_string());
            }
        }
    }
    let max_kib: i64 = fields
        .iter()
        .find(|(k, _)| k == "max_kib")
        .and_then(|(_, v)| v.trim().parse().ok())
        .ok_or_else(|| AppError::invalid("the size limit is a number of KiB"))?;
    let client = state.pool.get().await?;
    rows::set_settings(
        &client,
        &Settings {
            types,
            max_bytes: max_kib.saturating_mul(1024),
        },
    )
    .await?;
    Ok(done("Attachment settings saved."))
}
