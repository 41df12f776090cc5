//! The admin panel at `/admin/`: its own login ([`login`]; a logged-in admin re-enters the
//! password, a failure answers 401), counts and job buttons (here), category management
//! ([`categories`]), user management ([`users`]), bans of addresses and e-mail patterns
//! ([`bans`]), attachment settings ([`attachments`]), permissions per category and roles
//! ([`permissions`]), site settings ([`settings`]).

pub mod attachments;
pub mod bans;
pub mod categories;
pub mod guard;
pub mod login;
pub mod permissions;
pub mod settings;
pub mod users;

use askama::Template;
use axum::Router;
use axum::extract::{Form, Query, State};
use axum::response::{Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::error::{AppError, AppResult};
use crate::models::jobs::{self, JobKind};
use crate::models::{CategoryTree, TreeEntry, stats};
use crate::state::AppState;

use crate::web::templates::{Ctx, page};
pub use guard::Admin;
use guard::done;

/// The admin routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin", get(|| async { Redirect::to("/admin/") }))
        .route("/admin/", get(admin_index))
        .route(
            "/admin/login",
            get(login::admin_login_form).post(login::admin_login),
        )
        .route("/admin/logout", post(login::admin_logout))
        .route("/admin/categories", post(categories::categories_create))
        .route(
            "/admin/categories/{id}",
            post(categories::categories_update),
        )
        .route("/admin/users", get(users::users_index))
        .route("/admin/users/{id}", post(users::users_update))
        .route("/admin/bans", get(bans::bans_index).post(bans::bans_create))
        .route("/admin/bans/{id}/delete", post(bans::bans_delete))
        .route("/admin/antispam", post(bans::antispam_update))
        .route("/admin/registration", post(users::registration_update))
        .route("/admin/jobs", post(jobs_create))
        .route("/admin/settings", get(settings::settings_index))
        .route(
            "/admin/settings/edit-time-limit",
            post(settings::edit_limit_update),
        )
        .route(
            "/admin/attachments",
            get(attachments::attachments_settings).post(attachments::attachments_update),
        )
        .route(
            "/admin/categories/{id}/permissions",
            get(permissions::grid).post(permissions::grid_update),
        )
        .route(
            "/admin/roles",
            get(permissions::roles_index).post(permissions::roles_create),
        )
        .route("/admin/roles/{id}/delete", post(permissions::roles_delete))
        .route(
            "/admin/users/{id}/roles",
            get(permissions::user_roles).post(permissions::user_roles_update),
        )
        .route("/admin/{*rest}", get(admin_missing))
}

async fn admin_missing(_admin: Admin) -> AppError {
    AppError::NotFound
}

#[derive(Template)]
#[template(path = "admin_index.html")]
struct IndexPage {
    ctx: Ctx,
    counts: stats::Counts,
    tree: Vec<TreeEntry>,
    message: Option<String>,
}

/// `?msg=` shown after an action.
#[derive(Deserialize)]
struct MsgQuery {
    msg: Option<String>,
}

/// `GET /admin/`: counts, the category tree, job buttons.
async fn admin_index(
    State(state): State<AppState>,
    admin: Admin,
    Query(q): Query<MsgQuery>,
) -> AppResult<Response> {
    let client = state.pool.get().await?;
    let counts = stats::counts(&client).await?;
    let tree = CategoryTree::load(&client).await?.flatten();
    let message = q.msg.map(|m| m.chars().take(200).collect());
    Ok(page(&IndexPage {
        ctx: Ctx::new(&admin.viewer, "Admin"),
        counts,
        tree,
        message,
    }))
}

/// The job button form.
#[derive(Deserialize)]
struct JobForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    kind: String,
}

/// `POST /admin/jobs`: queues `recount` or `prune_sessions`.
async fn jobs_create(
    State(state): State<AppState>,
    admin: Admin,
    Form(form): Form<JobForm>,
) -> AppResult<Response> {
    admin.viewer.check_csrf(&form.csrf)?;
    let kind = JobKind::parse(&form.kind)
        .filter(|k| k.queued_by_admins())
        .ok_or_else(|| AppError::invalid("unknown job"))?;
    let client = state.pool.get().await?;
    jobs::enqueue(&client, kind, serde_json::json!({})).await?;
    Ok(done("Job queued; the worker runs it shortly."))
}
