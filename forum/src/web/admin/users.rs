//! User management: the user list (search by name or address, paging, accounts awaiting
//! approval), ban (days, reason) / unban, role, editing name and address, approving an
//! account, mailing a reset link, setting a password, deleting a user with or without their
//! content, queueing the deletion of a user's content, and the registration mode.

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::guard::{Admin, done};
use crate::accounts::metrics::Event;
use crate::accounts::removal::{self, Content};
use crate::accounts::{recovery, registration};
use crate::error::{AppError, AppResult};
use crate::http::parse_id;
use crate::models::accounts::{self, AdminUser};
use crate::models::jobs::{self, JobKind};
use crate::models::users::{self, Role};
use crate::registration::RegistrationMode;
use crate::state::AppState;
use crate::web::templates::{Ctx, page};

/// Users per page of the list.
pub const PER_PAGE: i64 = 50;

#[derive(Template)]
#[template(path = "admin_users.html")]
struct UsersPage {
    ctx: Ctx,
    users: Vec<AdminUser>,
    q: String,
    awaiting: bool,
    page: i64,
    pages: i64,
    total: i64,
    mode: RegistrationMode,
    modes: [RegistrationMode; 4],
}

impl UsersPage {
    /// The query string of the previous page.
    fn prev_query(&self) -> String {
        self.page_query(self.page - 1)
    }

    /// The query string of the next page.
    fn next_query(&self) -> String {
        self.page_query(self.page + 1)
    }

    /// The query string of page `n` of this list.
    fn page_query(&self, n: i64) -> String {
        let q: String =
            percent_encoding::utf8_percent_encode(&self.q, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        let awaiting = if self.awaiting { "&awaiting=1" } else { "" };
        format!("?q={q}{awaiting}&page={n}")
    }
}

/// `?q=&awaiting=&page=` of the user list.
#[derive(Deserialize)]
pub struct UsersQuery {
    q: Option<String>,
    awaiting: Option<String>,
    page: Option<String>,
}

/// `GET /admin/users`.
pub async fn users_index(
    State(state): State<AppState>,
    admin: Admin,
    Query(q): Query<UsersQuery>,
) -> AppResult<Response> {
    let text: String = q.q.unwrap_or_default().chars().take(64).collect();
    let awaiting = q.awaiting.is_some_and(|a| !a.is_empty() && a != "0");
    let page_no = q
        .page
        .and_then(|p| p.parse::<i64>().ok())
        .unwrap_or(1)
        .clamp(1, 100_000);
    let client = state.pool.get().await?;
    let found = accounts::search(&client, text.trim(), awaiting, page_no, PER_PAGE).await?;
    let mode = accounts::registration_mode(&client, state.config.registration).await?;
    let pages = ((found.total + PER_PAGE - 1) / PER_PAGE).max(1);
    Ok(page(&UsersPage {
        ctx: Ctx::new(&admin.viewer, "Users"),
        users: found.users,
        q: text,
        awaiting,
        page: page_no,
        pages,
        total: found.total,
        mode,
        modes: RegistrationMode::ALL,
    }))
}

/// The forms of a user's row.
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
    #[serde(default)]
    username: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    content: String,
}

/// Actions an administrator may not take on their own account.
const NOT_ON_ONESELF: [&str; 4] = ["ban", "role", "delete_user", "delete_content"];

/// `POST /admin/users/{id}`.
pub async fn users_update(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    Form(form): Form<UserForm>,
) -> AppResult<Response> {
    admin.viewer.check_csrf(&form.csrf)?;
    let id = parse_id(&id)?;
    if id == admin.user.id && NOT_ON_ONESELF.contains(&form.action.as_str()) {
        return Err(AppError::invalid(
            "you cannot ban, demote or delete yourself",
        ));
    }
    let client = state.pool.get().await?;
    users::ensure_exists(&client, id).await?;
    let events = state.metrics.accounts();
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
        "edit" => {
            let username = users::parse_username(&form.username)?;
            let email = users::parse_email(&form.email)?;
            let role = Role::parse(&form.role)?;
            if id == admin.user.id && role != Role::Admin {
                return Err(AppError::invalid("you cannot demote yourself"));
            }
            let mut client = client;
            let tx = client.transaction().await?;
            accounts::rename(&tx, id, &username).await?;
            accounts::set_email(&tx, id, &email).await?;
            users::set_role(&tx, id, role).await?;
            tx.commit().await?;
            "User saved."
        }
        "approve" => {
            drop(client);
            registration::approve(&state.pool, &state.config, id).await?;
            events.event(Event::Approved);
            "Account approved; its owner was told by mail."
        }
        "send_reset" => {
            drop(client);
            recovery::send_reset_link(&state.pool, &state.config, id).await?;
            events.event(Event::AdminPassword);
            "A password reset link was mailed to the user."
        }
        "set_password" => {
            drop(client);
            recovery::set_password(&state.pool, id, &form.password).await?;
            events.event(Event::AdminPassword);
            "Password set; every session of the user ended."
        }
        "delete_user" => {
            drop(client);
            let content = Content::parse(&form.content)?;
            removal::delete_account(&state.pool, id, content).await?;
            events.event(Event::Deleted);
            match content {
                Content::Delete => "User and their content deleted.",
                Content::Anonymise => "User deleted; their content stays without a name.",
            }
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

/// The registration mode form.
#[derive(Deserialize)]
pub struct RegistrationForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    mode: String,
}

/// `POST /admin/registration`: sets the registration mode.
pub async fn registration_update(
    State(state): State<AppState>,
    admin: Admin,
    Form(form): Form<RegistrationForm>,
) -> AppResult<Response> {
    admin.viewer.check_csrf(&form.csrf)?;
    let mode = RegistrationMode::parse(&form.mode)
        .ok_or_else(|| AppError::invalid("unknown registration mode"))?;
    let client = state.pool.get().await?;
    accounts::set_registration_mode(&client, mode).await?;
    Ok(done(&format!("Registration is now {}.", mode.describe())))
}
