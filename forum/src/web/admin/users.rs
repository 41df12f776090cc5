//! User management: the user list, ban (days, reason) / unban, role, and queueing the deletion
//! of a user's content.

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::guard::{Admin, done};
use crate::error::{AppError, AppResult};
use crate::http::parse_id;
use crate::models::jobs::{self, JobKind};
use crate::models::users::{self, Profile, Role};
use crate::state::AppState;
use crate::web::templates::{Ctx, page};

#[derive(Template)]
#[template(path = "admin_users.html")]
struct UsersPage {
    ctx: Ctx,
    users: Vec<Profile>,
    q: String,
}

/// `?q=` of the user list.
#[derive(Deserialize)]
pub struct UsersQuery {
    q: Option<String>,
}

/// `GET /admin/users`.
pub async fn users_index(
    State(state): State<AppState>,
    admin: Admin,
    Query(q): Query<UsersQuery>,
) -> AppResult<Response> {
    let q: String = q.q.unwrap_or_default().chars().take(64).collect();
    let client = state.pool.get().await?;
    let users = users::list(&client, q.trim(), 100).await?;
    Ok(page(&UsersPage {
        ctx: Ctx::new(&admin.viewer, "Users"),
        users,
        q,
    }))
}

/// Ban, unban, set the role, queue the deletion of a user's content.
#[derive(Deserialize)]
pub struct UserForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    days: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    role: String,
}

/// `POST /admin/users/{id}`.
pub async fn users_update(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    Form(form): Form<UserForm>,
) -> AppResult<Response> {
    admin.viewer.check_csrf(&form.csrf)?;
    let id = parse_id(&id)?;
    if id == admin.user.id && form.action != "unban" {
        return Err(AppError::invalid("you cannot ban or demote yourself"));
    }
    let client = state.pool.get().await?;
    users::ensure_exists(&client, id).await?;
    let msg = match form.action.as_str() {
        "ban" => {
            let days: f64 = form
                .days
                .trim()
                .parse()
                .map_err(|_| AppError::invalid("ban length: 1 to 36500 days"))?;
            users::ban(&client, id, days, &form.reason).await?;
            "User banned."
        }
        "unban" => {
            users::unban(&client, id).await?;
            "User unbanned."
        }
        "role" => {
            users::set_role(&client, id, Role::parse(&form.role)?).await?;
            "Role changed."
        }
        "delete_content" => {
            jobs::enqueue(
                &client,
                JobKind::DeleteUserContent,
                serde_json::json!({ "user_id": id }),
            )
            .await?;
            "Deletion of the user's content queued."
        }
        _ => return Err(AppError::invalid("unknown action")),
    };
    Ok(done(msg))
}
