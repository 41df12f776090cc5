//! The JSON API under `/api/`. Writes need a session (bearer token from `POST /api/auth/login`,
//! or the session cookie); a browser request from another origin is refused (Origin check), and
//! JSON bodies need `Content-Type: application/json`, which a cross-site form cannot send; a
//! write with a content type a form can send is refused whatever its body (so actions without a
//! body, such as a like, are as safe as the JSON ones).

pub mod account;
pub mod moderation;
pub mod post_actions;

use axum::Json;
use axum::Router;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

use crate::auth::{self, SESSION_COOKIE, Viewer};
use crate::error::{ApiError, ApiResult, AppError};
use crate::models::polls::NewPoll;
use crate::models::users::{self, NewUser};
use crate::models::{self, CategoryTree, Cursor, posts, text_field, threads};
use crate::state::AppState;
use crate::web::parse_id;

/// A JSON body whose rejection (bad JSON, missing fields, wrong content type) is a JSON error:
/// 415 without `Content-Type: application/json`, 422 otherwise.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => {
                let status = match rejection.status() {
                    StatusCode::UNSUPPORTED_MEDIA_TYPE => StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    StatusCode::PAYLOAD_TOO_LARGE => StatusCode::PAYLOAD_TOO_LARGE,
                    _ => StatusCode::UNPROCESSABLE_ENTITY,
                };
                Err((status, Json(json!({ "error": rejection.body_text() }))).into_response())
            }
        }
    }
}

/// The API routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/auth/login", post(auth_login))
        .route("/api/auth/logout", post(auth_logout))
        .route("/api/users/", post(users_create))
        .route("/api/users/{id}/", get(account::user_show))
        .route("/api/me/", get(account::me))
        .route("/api/me/password", post(account::password))
        .route("/api/categories/", get(categories_index))
        .route("/api/threads/", get(threads_index).post(threads_create))
        .route(
            "/api/threads/{id}/",
            get(threads_show).patch(moderation::update),
        )
        .route("/api/threads/{id}/poll/", get(moderation::poll_show))
        .route("/api/threads/{id}/poll/vote", post(moderation::poll_vote))
        .route(
            "/api/threads/{id}/posts/",
            get(posts_index).post(posts_create),
        )
        .route(
            "/api/posts/{id}/",
            get(post_actions::show)
                .patch(post_actions::update)
                .delete(post_actions::delete),
        )
        .route("/api/posts/{id}/edits/", get(post_actions::edits))
        .route("/api/posts/{id}/restore", post(post_actions::restore))
        .route(
            "/api/posts/{id}/like",
            post(post_actions::like).delete(post_actions::unlike),
        )
        .route(
            "/api/posts/{id}/best-answer",
            post(post_actions::best_answer),
        )
        .route("/api/search/", get(search))
        .route(
            "/api/{*rest}",
            get(api_not_found)
                .post(api_not_found)
                .patch(api_not_found)
                .delete(api_not_found),
        )
        .layer(axum::middleware::from_fn(origin_check))
}

async fn api_not_found() -> ApiError {
    ApiError(AppError::NotFound)
}

/// Refuses state-changing requests whose `Origin` is not this host (cross-site requests from
/// browsers). Clients that send no `Origin` (curl, servers) are not browsers and pass. A write
/// whose content type is one an HTML form can send is refused with 415: the API takes JSON.
pub async fn origin_check(req: Request, next: Next) -> Response {
    let writes =
        req.method() != axum::http::Method::GET && req.method() != axum::http::Method::HEAD;
    let form_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .is_some_and(|v| {
            [
                "application/x-www-form-urlencoded",
                "multipart/form-data",
                "text/plain",
            ]
            .contains(&v.as_str())
        });
    if writes && form_type {
        let body = json!({ "error": "the API takes JSON bodies (Content-Type: application/json)" });
        return (StatusCode::UNSUPPORTED_MEDIA_TYPE, Json(body)).into_response();
    }
    if let Some(origin) = req.headers().get(header::ORIGIN).filter(|_| writes) {
        let host = req
            .headers()
            .get("x-forwarded-host")
            .or_else(|| req.headers().get(header::HOST));
        let same = match (origin.to_str().ok(), host.and_then(|h| h.to_str().ok())) {
            (Some(o), Some(h)) => o.split_once("://").is_some_and(|(_, rest)| rest == h),
            _ => false,
        };
        if !same {
            return ApiError(AppError::Forbidden("cross-origin request refused".into()))
                .into_response();
        }
    }
    next.run(req).await
}

/// Login body.
#[derive(Deserialize)]
pub struct LoginBody {
    /// Username.
    pub username: String,
    /// Password.
    pub password: String,
}

/// `POST /api/auth/login`: 200 `{token, user}` (and the session cookie), 401, or 429.
pub async fn auth_login(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    ApiJson(body): ApiJson<LoginBody>,
) -> ApiResult<Response> {
    let creds = auth::login(&state, &viewer.ip, &body.username, &body.password).await?;
    let token = auth::create_session(&state, creds.id, "api").await?;
    let cookie_token = auth::create_session(&state, creds.id, "user").await?;
    let max_age = state.config.session_ttl.as_secs() as i64;
    let cookie = auth::set_cookie(
        SESSION_COOKIE,
        &cookie_token,
        "/",
        Some(max_age),
        auth::secure(&state, &headers),
    );
    let user = json!({ "id": creds.id, "username": creds.username, "role": creds.role });
    Ok((
        [(SET_COOKIE, cookie)],
        Json(json!({ "token": token, "user": user })),
    )
        .into_response())
}

/// `POST /api/auth/logout`: 204.
pub async fn auth_logout(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
) -> ApiResult<Response> {
    if let Some(hash) = &viewer.session {
        auth::delete_session(&state, hash).await?;
    }
    let cookie = auth::set_cookie(
        SESSION_COOKIE,
        "",
        "/",
        None,
        auth::secure(&state, &headers),
    );
    Ok(([(SET_COOKIE, cookie)], StatusCode::NO_CONTENT).into_response())
}

/// Registration body.
#[derive(Deserialize)]
pub struct RegisterBody {
    /// Username.
    pub username: String,
    /// E-mail.
    pub email: String,
    /// Password.
    pub password: String,
}

/// `POST /api/users/`: 201 `{id, username}`, 422.
pub async fn users_create(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RegisterBody>,
) -> ApiResult<Response> {
    let new = NewUser::parse(&body.username, &body.email, &body.password)?;
    let client = state.pool.get().await?;
    let id = users::create(&client, &new, "member").await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": id, "username": new.username })),
    )
        .into_response())
}

/// `GET /api/categories/`: the tree in display order, with depth and subtree counts.
pub async fn categories_index(State(state): State<AppState>) -> ApiResult<Response> {
    let client = state.pool.get().await?;
    let tree = CategoryTree::load(&client).await?;
    Ok(Json(json!({ "results": tree.flatten() })).into_response())
}

/// `?category=&after=`.
#[derive(Debug, Deserialize)]
pub struct ThreadsQuery {
    /// Category (with its subcategories).
    pub category: Option<String>,
    /// Keyset cursor.
    pub after: Option<String>,
}

/// `GET /api/threads/`: the newest threads (as `/`), or a category's with `?category=`. The
/// first page of the newest as non-moderators see it comes from the read cache, serialised.
pub async fn threads_index(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<ThreadsQuery>,
) -> ApiResult<Response> {
    let cursor = q
        .after
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(Cursor::parse)
        .transpose()?;
    let moderator = viewer.user.as_ref().is_some_and(|u| u.is_moderator());
    let category = q.category.as_deref().filter(|s| !s.is_empty());
    if cursor.is_none() && !moderator && category.is_none() {
        let body = state
            .cache
            .newest_json(&state.pool, state.config.threads_per_page)
            .await?;
        return Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response());
    }
    let ids = match category {
        Some(c) => {
            let id: i64 = c
                .parse()
                .map_err(|_| AppError::invalid("category must be an id"))?;
            let mut tree = state.cache.tree(&state.pool).await?;
            if tree.tree.get(id).is_none() {
                tree = state.cache.load_tree(&state.pool).await?;
            }
            tree.tree.get(id).ok_or(AppError::NotFound)?;
            Some(tree.tree.subtree_ids(id))
        }
        None => None,
    };
    let client = state.pool.get().await?;
    let (results, next) = threads::list(
        &client,
        ids.as_deref(),
        cursor,
        state.config.threads_per_page,
        moderator,
    )
    .await?;
    Ok(Json(json!({ "results": results, "next": next })).into_response())
}

/// New thread body.
#[derive(Deserialize)]
pub struct NewThreadBody {
    /// Category id.
    pub category_id: i64,
    /// Title.
    pub title: String,
    /// First post (Markdown).
    pub body: String,
    /// Optional poll.
    pub poll: Option<PollBody>,
}

/// A poll in a new thread.
#[derive(Deserialize)]
pub struct PollBody {
    /// Question.
    pub question: String,
    /// 2-20 choices.
    pub choices: Vec<String>,
    /// Choices per vote (default 1).
    #[serde(default)]
    pub max_choices: Option<i32>,
    /// Length in hours (0 or absent: no end).
    #[serde(default)]
    pub hours: Option<i64>,
    /// Revote allowed.
    #[serde(default)]
    pub allow_revote: bool,
    /// Public votes.
    #[serde(default)]
    pub is_public: bool,
}

/// `POST /api/threads/`: 201 with the thread.
pub async fn threads_create(
    State(state): State<AppState>,
    viewer: Viewer,
    ApiJson(body): ApiJson<NewThreadBody>,
) -> ApiResult<Response> {
    let user = viewer.require_writer().map_err(login_as_401)?;
    let title = text_field("the title", &body.title, 3, 200)?;
    let text = text_field("the message", &body.body, 1, 50_000)?;
    let poll = body
        .poll
        .as_ref()
        .map(|p| {
            NewPoll::parse(
                &p.question,
                &p.choices.join("\n"),
                p.max_choices.unwrap_or(1),
                p.hours.unwrap_or(0),
                p.allow_revote,
                p.is_public,
            )
        })
        .transpose()?;
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let id = threads::create(&tx, body.category_id, user.id, &title, &text, poll.as_ref())
        .await
        .map_err(|e| match e {
            AppError::NotFound => AppError::invalid("that category does not exist"),
            e => e,
        })?;
    tx.commit().await?;
    let thread = threads::get(&client, id, true)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/api/threads/{id}/"))],
        Json(thread),
    )
        .into_response())
}

fn login_as_401(e: AppError) -> AppError {
    match e {
        AppError::LoginRequired => AppError::Unauthorized("log in first".into()),
        e => e,
    }
}

/// `GET /api/threads/{id}/`: the thread with its poll.
pub async fn threads_show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let client = state.pool.get().await?;
    let moderator = viewer.user.as_ref().is_some_and(|u| u.is_moderator());
    let thread = threads::get(&client, id, moderator)
        .await?
        .ok_or(AppError::NotFound)?;
    let poll = models::polls::for_thread(&client, id, viewer.user_id()).await?;
    Ok(Json(json!({ "thread": thread, "poll": poll })).into_response())
}

/// `?page=`.
#[derive(Debug, Deserialize)]
pub struct PostsQuery {
    /// 1-based page.
    pub page: Option<i64>,
}

/// `GET /api/threads/{id}/posts/`.
pub async fn posts_index(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(q): Query<PostsQuery>,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let page = q.page.unwrap_or(1).clamp(1, 1_000_000);
    let client = state.pool.get().await?;
    let moderator = viewer.user.as_ref().is_some_and(|u| u.is_moderator());
    threads::get(&client, id, moderator)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut results = posts::page(
        &client,
        id,
        page,
        state.config.posts_per_page,
        viewer.user_id(),
    )
    .await?;
    for p in results.iter_mut().filter(|p| p.is_deleted && !moderator) {
        p.body.clear();
        p.body_html.clear();
    }
    Ok(Json(json!({ "results": results, "page": page })).into_response())
}

/// Reply body.
#[derive(Deserialize)]
pub struct ReplyBody {
    /// Markdown text.
    pub body: String,
}

/// `POST /api/threads/{id}/posts/`: 201 with the post.
pub async fn posts_create(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ReplyBody>,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let user = viewer.require_writer().map_err(login_as_401)?;
    let text = text_field("the message", &body.body, 1, 50_000)?;
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let post_id = posts::reply(&tx, id, user, &text).await?;
    tx.commit().await?;
    let post = posts::get(&client, post_id).await?;
    Ok((StatusCode::CREATED, Json(post)).into_response())
}

/// `?q=`.
#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    /// Words.
    pub q: Option<String>,
}

/// `GET /api/search/?q=`.
pub async fn search(
    State(state): State<AppState>,
    Query(q): Query<SearchQuery>,
) -> ApiResult<Response> {
    let q: String = q.q.unwrap_or_default().chars().take(200).collect();
    let client = state.pool.get().await?;
    let hits = crate::web::pages::search_hits(&client, &q).await?;
    Ok(Json(json!({ "results": hits })).into_response())
}
