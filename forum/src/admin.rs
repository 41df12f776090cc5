//! The admin panel at `/admin/`: its own login (a logged-in admin re-enters the password; a
//! failure answers 401), counts, category management, user management, job buttons.

use axum::Router;
use axum::extract::{Form, FromRequestParts, Path, Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use askama::Template;

use crate::auth::{self, ADMIN_COOKIE, User, Viewer};
use crate::error::{AppError, AppResult};
use crate::models::users::Profile;
use crate::models::{CategoryTree, TreeEntry, categories, users};
use crate::state::AppState;
use crate::web::forms::CsrfForm;
use crate::web::parse_id;
use crate::web::templates::{Ctx, page, page_with};

/// The admin routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin", get(|| async { Redirect::to("/admin/") }))
        .route("/admin/", get(admin_index))
        .route("/admin/login", get(admin_login_form).post(admin_login))
        .route("/admin/logout", post(admin_logout))
        .route("/admin/categories", post(categories_create))
        .route("/admin/categories/{id}", post(categories_update))
        .route("/admin/users", get(users_index))
        .route("/admin/users/{id}", post(users_update))
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
        let Some(token) = auth::cookie(&parts.headers, ADMIN_COOKIE).map(str::to_owned) else {
            return Err(NeedAdminLogin.into_response());
        };
        match auth::session_user(state, &token, "admin").await {
            Ok(Some((user, _))) if user.is_admin() && !user.is_banned() => {
                Ok(Admin { user, viewer })
            }
            Ok(_) => Err(NeedAdminLogin.into_response()),
            Err(e) => Err(e.into_response()),
        }
    }
}

#[derive(Template)]
#[template(path = "admin_login.html")]
struct LoginPage {
    ctx: Ctx,
    error: Option<String>,
    username: String,
}

#[derive(Template)]
#[template(path = "admin_index.html")]
struct IndexPage {
    ctx: Ctx,
    users: i64,
    threads: i64,
    posts: i64,
    jobs_queued: i64,
    jobs_failed: i64,
    tree: Vec<TreeEntry>,
    message: Option<String>,
}

#[derive(Template)]
#[template(path = "admin_users.html")]
struct UsersPage {
    ctx: Ctx,
    users: Vec<Profile>,
    q: String,
}

/// `GET /admin/login`.
async fn admin_login_form(viewer: Viewer) -> Response {
    let username = viewer
        .user
        .as_ref()
        .map(|u| u.username.clone())
        .unwrap_or_default();
    page(&LoginPage {
        ctx: Ctx::new(&viewer, "Admin login"),
        error: None,
        username,
    })
}

/// The admin login form.
#[derive(Deserialize)]
pub struct AdminLoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

/// `POST /admin/login`: 303 to `/admin/`, 401 on wrong credentials or a non-admin, 429.
async fn admin_login(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(form): Form<AdminLoginForm>,
) -> AppResult<Response> {
    viewer.check_csrf(&form.csrf)?;
    let fail = |status: StatusCode, msg: String| {
        page_with(
            status,
            &LoginPage {
                ctx: Ctx::new(&viewer, "Admin login"),
                error: Some(msg),
                username: form.username.clone(),
            },
        )
    };
    let creds = match auth::login(&state, &viewer.ip, &form.username, &form.password).await {
        Ok(c) => c,
        Err(AppError::Unauthorized(m)) => return Ok(fail(StatusCode::UNAUTHORIZED, m)),
        Err(AppError::RateLimited) => {
            return Ok(fail(
                StatusCode::TOO_MANY_REQUESTS,
                AppError::RateLimited.to_string(),
            ));
        }
        Err(e) => return Err(e),
    };
    if creds.role != "admin" || creds.banned_until.is_some_and(|t| t > chrono::Utc::now()) {
        crate::ratelimit::record_failure(&state, &viewer.ip, &form.username).await?;
        return Ok(fail(
            StatusCode::UNAUTHORIZED,
            "this account cannot use the admin panel".into(),
        ));
    }
    let token = auth::create_session(&state, creds.id, "admin").await?;
    // Admin sessions are short: two hours.
    let cookie = auth::set_cookie(
        ADMIN_COOKIE,
        &token,
        "/admin",
        Some(2 * 3600),
        auth::secure(&state, &headers),
    );
    let client = state.pool.get().await?;
    client
        .execute(
            "UPDATE sessions SET expires_at = least(expires_at, now() + interval '2 hours') WHERE token_hash = $1",
            &[&auth::token_hash(&token)],
        )
        .await?;
    Ok(([(SET_COOKIE, cookie)], Redirect::to("/admin/")).into_response())
}

/// `POST /admin/logout`.
async fn admin_logout(
    State(state): State<AppState>,
    admin: Admin,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> AppResult<Response> {
    admin.viewer.check_csrf(&form.csrf)?;
    if let Some(token) = auth::cookie(&headers, ADMIN_COOKIE) {
        auth::delete_session(&state, &auth::token_hash(token)).await?;
    }
    let cookie = auth::set_cookie(
        ADMIN_COOKIE,
        "",
        "/admin",
        None,
        auth::secure(&state, &headers),
    );
    Ok(([(SET_COOKIE, cookie)], Redirect::to("/")).into_response())
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
    let row = client
        .query_one(
            "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM threads), (SELECT count(*) FROM posts),
                    (SELECT count(*) FROM jobs WHERE status = 'queued'), (SELECT count(*) FROM jobs WHERE status = 'failed')",
            &[],
        )
        .await?;
    let tree = CategoryTree::load(&client).await?.flatten();
    let message = q.msg.map(|m| m.chars().take(200).collect());
    Ok(page(&IndexPage {
        ctx: Ctx::new(&admin.viewer, "Admin"),
        users: row.get(0),
        threads: row.get(1),
        posts: row.get(2),
        jobs_queued: row.get(3),
        jobs_failed: row.get(4),
        tree,
        message,
    }))
}

fn done(msg: &str) -> Response {
    let q: String =
        percent_encoding::utf8_percent_encode(msg, percent_encoding::NON_ALPHANUMERIC).to_string();
    Redirect::to(&format!("/admin/?msg={q}")).into_response()
}

fn parent(s: &str) -> AppResult<Option<i64>> {
    match s.trim() {
        "" | "0" => Ok(None),
        v => v
            .parse()
            .map(Some)
            .map_err(|_| AppError::invalid("invalid parent category")),
    }
}

/// The new-category form.
#[derive(Deserialize)]
struct NewCategoryForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    parent_id: String,
    is_question: Option<String>,
}

/// `POST /admin/categories`: creates a category anywhere in the tree.
async fn categories_create(
    State(state): State<AppState>,
    admin: Admin,
    Form(form): Form<NewCategoryForm>,
) -> AppResult<Response> {
    admin.viewer.check_csrf(&form.csrf)?;
    let name = crate::models::text_field("the name", &form.name, 1, 100)?;
    let description = crate::models::text_field("the description", &form.description, 0, 1000)?;
    let client = state.pool.get().await?;
    categories::create(
        &client,
        parent(&form.parent_id)?,
        &name,
        &description,
        form.is_question.is_some(),
    )
    .await?;
    Ok(done("Category created."))
}

/// Rename / move / delete a category.
#[derive(Deserialize)]
struct CategoryForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    parent_id: String,
    #[serde(default)]
    target_id: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    place: String,
}

/// Where `action` (`up`, `down`, or `place` with a 1-based `place`) puts the category at
/// `index` among `count` siblings.
fn new_place(action: &str, place: &str, index: usize, count: usize) -> AppResult<usize> {
    Ok(match action {
        "up" => index.saturating_sub(1),
        "down" => (index + 1).min(count - 1),
        _ => {
            let n: usize = place
                .trim()
                .parse()
                .ok()
                .filter(|n| (1..=count).contains(n))
                .ok_or_else(|| {
                    AppError::invalid(format!("the place must be between 1 and {count}"))
                })?;
            n - 1
        }
    })
}

/// `POST /admin/categories/{id}`: `rename`, `describe`, `up` / `down` / `place` (order among
/// siblings), `move` (never under itself), `delete` (its threads and subcategories move to
/// `target_id`).
async fn categories_update(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    Form(form): Form<CategoryForm>,
) -> AppResult<Response> {
    admin.viewer.check_csrf(&form.csrf)?;
    let id = parse_id(&id)?;
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    // One category change at a time: moves are checked against the tree they change.
    tx.execute("LOCK TABLE categories IN SHARE ROW EXCLUSIVE MODE", &[])
        .await?;
    let tree = CategoryTree::load(&tx).await?;
    tree.get(id).ok_or(AppError::NotFound)?;
    let msg = match form.action.as_str() {
        "rename" => {
            let name = crate::models::text_field("the name", &form.name, 1, 100)?;
            tx.execute(
                "UPDATE categories SET name = $2 WHERE id = $1",
                &[&id, &name],
            )
            .await?;
            "Category renamed."
        }
        "describe" => {
            let description =
                crate::models::text_field("the description", &form.description, 0, 1000)?;
            tx.execute(
                "UPDATE categories SET description = $2 WHERE id = $1",
                &[&id, &description],
            )
            .await?;
            "Description saved."
        }
        "up" | "down" | "place" => {
            let c = tree.get(id).ok_or(AppError::NotFound)?;
            // Siblings in display order (the tree sorts by position, then id).
            let mut siblings: Vec<i64> = tx
                .query(
                    "SELECT id FROM categories WHERE parent_id IS NOT DISTINCT FROM $1
                     ORDER BY position, id",
                    &[&c.parent_id],
                )
                .await?
                .iter()
                .map(|r| r.get(0))
                .collect();
            let index = siblings
                .iter()
                .position(|s| *s == id)
                .ok_or(AppError::NotFound)?;
            let to = new_place(&form.action, &form.place, index, siblings.len())?;
            siblings.remove(index);
            siblings.insert(to, id);
            for (i, sibling) in siblings.iter().enumerate() {
                tx.execute(
                    "UPDATE categories SET position = $2 WHERE id = $1 AND position <> $2",
                    &[sibling, &(i as i32 + 1)],
                )
                .await?;
            }
            "Category order saved."
        }
        "move" => {
            let to = parent(&form.parent_id)?;
            if let Some(p) = to {
                tree.get(p)
                    .ok_or_else(|| AppError::invalid("the new parent does not exist"))?;
                if tree.is_within(p, id) {
                    return Err(AppError::invalid("a category cannot move under itself"));
                }
            }
            tx.execute(
                "UPDATE categories SET parent_id = $2 WHERE id = $1",
                &[&id, &to],
            )
            .await?;
            "Category moved."
        }
        "delete" => {
            let target: i64 = form
                .target_id
                .trim()
                .parse()
                .map_err(|_| AppError::invalid("choose where its threads go"))?;
            tree.get(target)
                .ok_or_else(|| AppError::invalid("the target category does not exist"))?;
            if tree.is_within(target, id) {
                return Err(AppError::invalid(
                    "the threads cannot move into the category being deleted",
                ));
            }
            let c = tree.get(id).cloned().ok_or(AppError::NotFound)?;
            tx.execute(
                "UPDATE threads SET category_id = $2 WHERE category_id = $1",
                &[&id, &target],
            )
            .await?;
            tx.execute(
                "UPDATE categories SET parent_id = $2 WHERE parent_id = $1",
                &[&id, &c.parent_id],
            )
            .await?;
            tx.execute(
                "UPDATE categories SET thread_count = thread_count + $2, post_count = post_count + $3,
                        last_activity_at = greatest(last_activity_at, $4) WHERE id = $1",
                &[&target, &c.thread_count, &c.post_count, &c.last_activity_at],
            )
            .await?;
            tx.execute("DELETE FROM categories WHERE id = $1", &[&id])
                .await?;
            "Category deleted; its threads were moved."
        }
        _ => return Err(AppError::invalid("unknown action")),
    };
    tx.commit().await?;
    Ok(done(msg))
}

/// `?q=` of the user list.
#[derive(Deserialize)]
struct UsersQuery {
    q: Option<String>,
}

/// `GET /admin/users`.
async fn users_index(
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
struct UserForm {
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
async fn users_update(
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
    client
        .query_opt("SELECT 1 FROM users WHERE id = $1", &[&id])
        .await?
        .ok_or(AppError::NotFound)?;
    let msg = match form.action.as_str() {
        "ban" => {
            let days: f64 = form
                .days
                .trim()
                .parse()
                .ok()
                .filter(|d| *d > 0.0 && *d <= 36500.0)
                .ok_or_else(|| AppError::invalid("ban length: 1 to 36500 days"))?;
            let reason: String = form.reason.chars().take(500).collect();
            client
                .execute(
                    "UPDATE users SET banned_until = now() + make_interval(secs => $2::float8 * 86400), ban_reason = $3 WHERE id = $1",
                    &[&id, &days, &reason],
                )
                .await?;
            client
                .execute("DELETE FROM sessions WHERE user_id = $1", &[&id])
                .await?;
            "User banned."
        }
        "unban" => {
            client
                .execute(
                    "UPDATE users SET banned_until = NULL, ban_reason = NULL WHERE id = $1",
                    &[&id],
                )
                .await?;
            "User unbanned."
        }
        "role" => {
            if !["member", "moderator", "admin"].contains(&form.role.as_str()) {
                return Err(AppError::invalid("unknown role"));
            }
            client
                .execute(
                    "UPDATE users SET role = $2 WHERE id = $1",
                    &[&id, &form.role],
                )
                .await?;
            "Role changed."
        }
        "delete_content" => {
            crate::worker::enqueue(
                &client,
                "delete_user_content",
                serde_json::json!({ "user_id": id }),
            )
            .await?;
            "Deletion of the user's content queued."
        }
        _ => return Err(AppError::invalid("unknown action")),
    };
    Ok(done(msg))
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
    if !["recount", "prune_sessions"].contains(&form.kind.as_str()) {
        return Err(AppError::invalid("unknown job"));
    }
    let client = state.pool.get().await?;
    crate::worker::enqueue(&client, &form.kind, serde_json::json!({})).await?;
    Ok(done("Job queued; the worker runs it shortly."))
}
