//! `/members`: the member list (search by name prefix, name order, pages) with who is online.
//! See [`crate::models::members`].

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

use crate::auth::Viewer;
use crate::error::AppResult;
use crate::models::members::{self, Member, MemberPage};
use crate::state::AppState;
use crate::web::templates::{self as t, Ctx};

/// `/members`.
#[derive(Template)]
#[template(path = "members.html")]
pub struct MembersPage {
    /// Layout.
    pub ctx: Ctx,
    /// The name prefix searched for.
    pub q: String,
    /// This page of the list.
    pub list: MemberPage,
    /// Members online now (the first ones).
    pub online: Vec<Member>,
    /// Members online in all.
    pub online_total: i64,
}

impl MembersPage {
    /// The query string of the previous page.
    pub fn prev_query(&self) -> String {
        self.page_query(self.list.page - 1)
    }

    /// The query string of the next page.
    pub fn next_query(&self) -> String {
        self.page_query(self.list.page + 1)
    }

    /// The query string of page `n` of this search.
    pub fn page_query(&self, n: i64) -> String {
        let q: String =
            percent_encoding::utf8_percent_encode(&self.q, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        format!("?q={q}&page={n}")
    }
}

/// `?q=&page=`.
#[derive(Debug, Deserialize)]
pub struct MembersQuery {
    /// Name prefix.
    pub q: Option<String>,
    /// 1-based page.
    pub page: Option<String>,
}

/// `GET /members`.
pub async fn members_index(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<MembersQuery>,
) -> AppResult<Response> {
    let page = members::page(q.page.as_deref())?;
    let prefix = members::prefix(q.q.as_deref());
    let client = state.pool.get().await?;
    let list = members::list(&client, &prefix, page).await?;
    let (online, online_total) = members::online(&client).await?;
    Ok(t::page(&MembersPage {
        ctx: Ctx::new(&viewer, "Members"),
        q: prefix,
        list,
        online,
        online_total,
    }))
}
