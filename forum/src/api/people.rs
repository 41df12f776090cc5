//! People through the API: `GET /api/users/` (the member list: `?q=` name prefix, `?page=`)
//! and `GET /api/users/online/` (members seen in the last minutes). See
//! [`crate::models::members`].

use axum::Json;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::error::ApiResult;
use crate::models::members;
use crate::state::AppState;

/// `?q=&page=`.
#[derive(Debug, Deserialize)]
pub struct MembersQuery {
    /// Name prefix (any case).
    pub q: Option<String>,
    /// 1-based page.
    pub page: Option<String>,
}

/// `GET /api/users/`: `{results, total, page, pages, next_page}`, by name, 30 a page; 422 for
/// a page outside 1 to 10,000.
pub async fn index(
    State(state): State<AppState>,
    Query(q): Query<MembersQuery>,
) -> ApiResult<Response> {
    let page = members::page(q.page.as_deref())?;
    let prefix = members::prefix(q.q.as_deref());
    let client = state.pool.get().await?;
    let list = members::list(&client, &prefix, page).await?;
    Ok(Json(list).into_response())
}

/// `GET /api/users/online/`: `{"total": N, "minutes": 5, "results": [...]}`, most recently
/// seen first (at most 100 listed).
pub async fn online(State(state): State<AppState>) -> ApiResult<Response> {
    let client = state.pool.get().await?;
    let (results, total) = members::online(&client).await?;
    Ok(Json(json!({
        "total": total,
        "minutes": members::ONLINE_MINUTES,
        "results": results,
    }))
    .into_response())
}
