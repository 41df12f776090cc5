//! `/search`: the search page, with the API's filters (category, author, dates) and pages; each
//! hit links to `/p/{id}/`, which leads to the post on its page. See
//! [`crate::models::search_filters`].

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;

use crate::api::search::SearchParams;
use crate::auth::Viewer;
use crate::error::{AppError, AppResult};
use crate::models::TreeEntry;
use crate::models::search_filters::{self, Results};
use crate::state::AppState;
use crate::web::templates::{self as t, Ctx};

/// `/search`.
#[derive(Template)]
#[template(path = "search.html")]
pub struct SearchPage {
    /// Layout.
    pub ctx: Ctx,
    /// The words.
    pub q: String,
    /// The category id typed ("" for all).
    pub category: String,
    /// The author's name typed.
    pub author: String,
    /// First day typed.
    pub from: String,
    /// Last day typed.
    pub until: String,
    /// The categories (for the filter).
    pub tree: Vec<TreeEntry>,
    /// The hits, or what was wrong with the filters.
    pub results: Option<Results>,
    /// A filter's error.
    pub error: Option<String>,
}

impl SearchPage {
    /// The query string of the previous page.
    pub fn prev_query(&self) -> String {
        self.page_query(self.results.as_ref().map_or(1, |r| r.page) - 1)
    }

    /// The query string of the next page.
    pub fn next_query(&self) -> String {
        self.page_query(self.results.as_ref().map_or(1, |r| r.page) + 1)
    }

    /// The query string of page `n` of this search.
    pub fn page_query(&self, n: i64) -> String {
        let enc = |s: &str| {
            percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
        };
        format!(
            "?q={}&category={}&author={}&from={}&until={}&page={n}",
            enc(&self.q),
            enc(&self.category),
            enc(&self.author),
            enc(&self.from),
            enc(&self.until)
        )
    }

    /// Whether category `id` is the one filtered on.
    pub fn is_category(&self, id: &i64) -> bool {
        self.category == id.to_string()
    }
}

/// `GET /search?q=&category=&author=&from=&until=&page=`: a filter's error is shown on the page
/// (422) with the form as typed.
pub async fn search(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(params): Query<SearchParams>,
) -> AppResult<Response> {
    let typed = |s: &Option<String>| s.as_deref().unwrap_or("").trim().to_string();
    let mut page = SearchPage {
        ctx: Ctx::new(&viewer, "Search"),
        q: crate::models::search::query(params.q.clone()),
        category: typed(&params.category),
        author: typed(&params.author),
        from: typed(&params.from),
        until: typed(&params.until),
        tree: viewer.grants.flat().to_vec(),
        results: None,
        error: None,
    };
    let filters = match params.filters(&state).await {
        Ok(f) => f,
        Err(e @ (AppError::Field { .. } | AppError::Invalid(_))) => {
            page.error = Some(e.to_string());
            return Ok(t::page_with(e.status(), &page));
        }
        Err(e) => return Err(e),
    };
    let client = state.pool.get().await?;
    page.results = Some(search_filters::find(&client, &filters, &viewer.grants.readable()).await?);
    Ok(t::page(&page))
}
