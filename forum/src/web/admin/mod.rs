//! The admin panel at `/admin/`: its own login ([`login`]; a logged-in admin re-enters the
//! password, a failure answers 401), counts and job buttons (here), category management
//! ([`categories`]), user management ([`users`]).

pub mod categories;
pub mod login;
pub mod users;

use askama::Template;
use axum::Router;
use axum::extract::{Form, FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::auth::{self, SessionKind, Viewer};
use crate::error::{AppError, AppResult};
use crate::http::cookies::{ADMIN_COOKIE, cookie};
use crate::models::jobs::{self, JobKind};
use crate::models::users::User;
use crate::models::{CategoryTree, TreeEntry, stats};
use crate::state::AppState;
use crate::web::templates::{Ctx, page};

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
        .route("/admin/jobs", post(jobs_create))
        .route("/admin/{*rest}", get(admin_missing))
}

async fn admin_missing(_admin: Admin) -> AppError {
    AppError::NotFound
}

/// An admin with an admin-panel session; anything else is redirected to `/admin/login`.
#[derive(Debug)]
pub struct Admin {
    /// The admin.
    pub user: User,
    /// The request's viewer.
    pub viewer: Viewer,
}

/// Why [`Admin`] was refused.
#[derive(Debug)]
pub struct NeedAdminLogin;

impl IntoResponse for NeedAdminLogin {
    fn into_response(self) -> Response {
        Redirect::to("/admin/login").into_response()
    }
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let viewer = Viewer::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let Some(token) = cookie(&parts.headers, ADMIN_COOKIE).map(str::to_owned) else {
            return Err(NeedAdminLogin.into_response());
        };
        match auth::session_user(&state.pool, &token, SessionKind::Admin).await {
            Ok(Some((user, _))) if user.is_admin() && !user.is_banned() => {
                Ok(Admin { user, viewer })
            }
            Ok(_) => Err(NeedAdminLogin.into_response()),
            Err(e) => Err(e.into_response()),
        }
    }
}

/// The redirect to `/admin/` showing `msg`, after an action.
fn done(msg: &str) -> Response {
    let q: String =
        percent_encoding::utf8_percent_encode(msg, percent_encoding::NON_ALPHANUMERIC).to_string();
    Redirect::to(&format!("/admin/?msg={q}")).into_response()
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
