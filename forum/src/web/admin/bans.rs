//! Bans of addresses and e-mail patterns: list, add (with a message and an optional length),
//! remove; and how many of a member's first posts wait in the moderation queue.

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::response::Response;
use serde::Deserialize;

use super::guard::{Admin, done};
use crate::antispam;
use crate::error::{AppError, AppResult};
use crate::http::parse_id;
use crate::models::bans::{self, Ban, BanTarget};
use crate::state::AppState;
use crate::web::templates::{Ctx, page};

#[derive(Template)]
#[template(path = "admin_bans.html")]
struct BansPage {
    ctx: Ctx,
    bans: Vec<Ban>,
    moderate_first_posts: i32,
}

/// `GET /admin/bans`.
pub async fn bans_index(State(state): State<AppState>, admin: Admin) -> AppResult<Response> {
    let client = state.pool.get().await?;
    let bans = bans::list(&client).await?;
    let moderate_first_posts = antispam::moderated_first_posts(&client)
        .await?
        .unwrap_or(state.config.spam.moderate_first_posts);
    Ok(page(&BansPage {
        ctx: Ctx::new(&admin.viewer, "Bans"),
        bans,
        moderate_first_posts,
    }))
}

/// A new ban.
#[derive(Deserialize)]
pub struct BanForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    value: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    days: String,
}

/// `POST /admin/bans`.
pub async fn bans_create(
    State(state): State<AppState>,
    admin: Admin,
    Form(form): Form<BanForm>,
) -> AppResult<Response> {
    admin.viewer.check_csrf(&form.csrf)?;
    let target = BanTarget::parse(&form.kind, &form.value)?;
    let days = match form.days.trim() {
        "" => None,
        d => Some(
            d.parse::<f64>()
                .map_err(|_| AppError::invalid("ban length: 1 to 36500 days, or empty for good"))?,
        ),
    };
    let client = state.pool.get().await?;
    bans::add(&client, &target, &form.message, days, admin.user.id).await?;
    Ok(done("Ban added."))
}

/// `POST /admin/bans/{id}/delete`.
pub async fn bans_delete(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    Form(form): Form<crate::web::forms::CsrfForm>,
) -> AppResult<Response> {
    admin.viewer.check_csrf(&form.csrf)?;
    let id = parse_id(&id)?;
    let client = state.pool.get().await?;
    bans::remove(&client, id).await?;
    Ok(done("Ban removed."))
}

/// The moderation queue setting.
#[derive(Deserialize)]
pub struct QueueSettingForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    moderate_first_posts: String,
}

/// `POST /admin/antispam`: how many of a member's first posts wait for approval.
pub async fn antispam_update(
    State(state): State<AppState>,
    admin: Admin,
    Form(form): Form<QueueSettingForm>,
) -> AppResult<Response> {
    admin.viewer.check_csrf(&form.csrf)?;
    let n: i32 = form
        .moderate_first_posts
        .trim()
        .parse()
        .map_err(|_| AppError::invalid("first posts to moderate: 0 to 1000"))?;
    let client = state.pool.get().await?;
    antispam::set_moderated_first_posts(&client, n).await?;
    Ok(done("Moderation queue setting saved."))
}
