//! `/admin/settings`: site settings of posting; today the edit time limit (minutes after
//! posting within which members may edit their posts, 0 for no limit).

use askama::Template;
use axum::extract::{Form, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::guard::Admin;
use crate::error::AppResult;
use crate::models::edit_limit;
use crate::state::AppState;
use crate::web::templates::{Ctx, page};

#[derive(Template)]
#[template(path = "admin_settings.html")]
struct SettingsPage {
    ctx: Ctx,
    edit_limit: i64,
    max_minutes: i64,
    saved: bool,
}

/// `?saved=1` after a change.
#[derive(Deserialize)]
pub struct SavedQuery {
    #[serde(default)]
    saved: Option<String>,
}

/// `GET /admin/settings`.
pub async fn settings_index(
    State(state): State<AppState>,
    admin: Admin,
    axum::extract::Query(q): axum::extract::Query<SavedQuery>,
) -> AppResult<Response> {
    let client = state.pool.get().await?;
    Ok(page(&SettingsPage {
        ctx: Ctx::new(&admin.viewer, "Settings"),
        edit_limit: edit_limit::get(&client).await?,
        max_minutes: edit_limit::MAX_MINUTES,
        saved: q.saved.is_some(),
    }))
}

/// The edit time limit form.
#[derive(Deserialize)]
pub struct EditLimitForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    minutes: String,
}

/// `POST /admin/settings/edit-time-limit`: 303 back to the settings; 422 for a bad number.
pub async fn edit_limit_update(
    State(state): State<AppState>,
    admin: Admin,
    Form(form): Form<EditLimitForm>,
) -> AppResult<Response> {
    admin.viewer.check_csrf(&form.csrf)?;
    let minutes = edit_limit::parse(&form.minutes)?;
    let client = state.pool.get().await?;
    edit_limit::set(&client, minutes).await?;
    state.glance.forget_edit_limit();
    Ok(Redirect::to("/admin/settings?saved=1").into_response())
}
