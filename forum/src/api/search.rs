//! `GET /api/search/`: the words of `?q=` with the filters `?category=` (an id; its
//! subcategories too), `?author=` (a member's name), `?from=` and `?until=` (days
//! `YYYY-MM-DD`, both included) and `?page=` (1 to 50). See [`crate::models::search_filters`].

use axum::Json;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::error::ApiResult;
use crate::auth::Viewer;
use crate::error::AppError;
use crate::models::{search as search_model, search_filters, users};
use crate::state::AppState;

/// The query string of a search (the page's form sends the same fields).
#[derive(Debug, Default, Deserialize)]
pub struct SearchParams {
    /// Words.
    pub q: Option<String>,
    /// Category id.
    pub category: Option<String>,
    /// Author's name.
    pub author: Option<String>,
    /// First day.
    pub from: Option<String>,
    /// Last day.
    pub until: Option<String>,
    /// Page.
    pub page: Option<String>,
}

impl SearchParams {
    /// The filters these ask for: the category resolved to its subtree (through the read
    /// cache's tree), the author's name to their id. 422 naming the field for a category or
    /// member that does not exist, a malformed date or page.
    pub async fn filters(&self, state: &AppState) -> Result<search_filters::Filters, AppError> {
        let categories = match self.category.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(c) => {
                let unknown = || AppError::Field {
                    field: "category",
                    message: "that category does not exist".into(),
                };
                let id: i64 = c.parse().map_err(|_| unknown())?;
                let mut tree = state.cache.tree(&state.pool).await?;
                if tree.tree.get(id).is_none() {
                    tree = state.cache.load_tree(&state.pool).await?;
                }
                tree.tree.get(id).ok_or_else(unknown)?;
                Some(tree.tree.subtree_ids(id))
            }
        };
        let author_id =
            match self.author.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(name) => {
                    let client = state.pool.get().await?;
                    Some(users::find_by_name(&client, name).await?.ok_or_else(|| {
                        AppError::Field {
                            field: "author",
                            message: "no member has that name".into(),
                        }
                    })?)
                }
            };
        let filters = search_filters::Filters {
            q: search_model::query(self.q.clone()),
            categories,
            author_id,
            from: search_filters::parse_date("from", self.from.as_deref())?,
            until: search_filters::parse_date("until", self.until.as_deref())?,
            page: search_filters::parse_page(self.page.as_deref())?,
        };
        filters.check()?;
        Ok(filters)
    }
}

/// `GET /api/search/`: `{results, page, next_page, total}`; each hit has `post_id` and `url`
/// (`/p/{id}/`). A blank `q` finds nothing.
pub async fn index(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(params): Query<SearchParams>,
) -> ApiResult<Response> {
    let filters = params.filters(&state).await?;
    let client = state.pool.get().await?;
    let results = search_filters::find(&client, &filters, &viewer.grants.readable()).await?;
    Ok(Json(results).into_response())
}
