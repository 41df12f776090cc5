//! The read-only pages: index, category, thread, post, profile, history, search.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::auth::Viewer;
use crate::error::{AppError, AppResult};
use crate::http::parse_id;
use crate::models::reads::{self, Marks};
use crate::models::{
    Cursor, ThreadSummary, policy, polls, posts, search as search_model, threads, users, watching,
};
use crate::state::AppState;
use crate::web::templates::{self as t, Ctx};

/// `?after=` of the lists.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    /// Keyset cursor.
    pub after: Option<String>,
}

/// `GET /`: newest threads of every category. The first page as non-moderators see it, and the
/// category tree, come from the read cache.
pub async fn index(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<ListQuery>,
) -> AppResult<Response> {
    let cursor = q.after.as_deref().map(Cursor::parse).transpose()?;
    let tree = state.cache.tree(&state.pool).await?;
    let moderator = viewer.is_moderator();
    let (threads, next) = if cursor.is_none() && !moderator {
        let list = state
            .cache
            .newest(&state.pool, state.config.threads_per_page)
            .await?;
        (list.threads.clone(), list.next.clone())
    } else {
        let client = state.pool.get().await?;
        threads::list(
            &client,
            None,
            cursor,
            state.config.threads_per_page,
            moderator,
        )
        .await?
    };
    let marks = viewer_marks(&state, &viewer, threads.iter()).await?;
    Ok(t::page(&t::IndexPage {
        ctx: Ctx::new(&viewer, "Newest threads"),
        threads,
        next,
        tree: tree.flat.clone(),
        marks,
    }))
}

/// `GET /c/{id}/`: threads of a category and its subcategories. The first page as
/// non-moderators see it, and the category tree, come from the read cache.
pub async fn category_show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(q): Query<ListQuery>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    let cursor = q.after.as_deref().map(Cursor::parse).transpose()?;
    let mut tree = state.cache.tree(&state.pool).await?;
    if tree.tree.get(id).is_none() {
        // Created by another process a moment ago (its notification not in yet), or missing.
        tree = state.cache.load_tree(&state.pool).await?;
    }
    let tree = &tree.tree;
    let category = tree.get(id).cloned().ok_or(AppError::NotFound)?;
    let ids = tree.subtree_ids(id);
    let moderator = viewer.is_moderator();
    let per_page = state.config.threads_per_page;
    let (mut threads, next, pinned) = if cursor.is_none() && !moderator {
        let list = state
            .cache
            .category_page(&state.pool, id, &ids, per_page)
            .await?;
        (list.threads.clone(), list.next.clone(), list.pinned.clone())
    } else {
        let client = state.pool.get().await?;
        let (threads, next) =
            threads::list(&client, Some(&ids), cursor, per_page, moderator).await?;
        let pinned = if cursor.is_none() {
            threads::pinned(&client, &ids).await?
        } else {
            Vec::new()
        };
        (threads, next, pinned)
    };
    // Pinned threads are listed once, in the pinned section above the first page.
    threads.retain(|t| !t.is_pinned || t.is_hidden);
    let marks = viewer_marks(&state, &viewer, threads.iter().chain(pinned.iter())).await?;
    let page = t::CategoryPage {
        ctx: Ctx::new(&viewer, category.name.clone()),
        ancestors: tree.ancestors(id),
        children: tree.children(id),
        category,
        pinned,
        threads,
        next,
        marks,
    };
    Ok(t::page(&page))
}

/// The viewer's new and unread marks of `threads` (none for anonymous viewers, and no query
/// when all of them are older than the viewer's "all read" mark).
pub(crate) async fn viewer_marks<'a>(
    state: &AppState,
    viewer: &Viewer,
    threads: impl Iterator<Item = &'a ThreadSummary>,
) -> AppResult<Marks> {
    let (Some(user), Some(before)) = (viewer.user.as_ref(), viewer.marks.read_all_before) else {
        return Ok(Marks::default());
    };
    let threads: Vec<&ThreadSummary> = threads.filter(|t| t.last_activity_at > before).collect();
    if threads.is_empty() {
        return Ok(Marks::default());
    }
    let client = state.pool.get().await?;
    reads::marks(&client, user.id, before, &threads).await
}

/// `?page=` of a thread.
#[derive(Debug, Deserialize)]
pub struct PageQuery {
    /// 1-based page number.
    pub page: Option<String>,
}

/// `GET /t/{id}/`: a thread with its poll, best answer and a page of posts. The first page as
/// anonymous visitors see it, and the category tree, come from the read cache.
pub async fn thread_show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    let page: i64 = match q.page.as_deref() {
        None | Some("") => 1,
        Some(p) => p
            .parse()
            .ok()
            .filter(|n| (1..=1_000_000).contains(n))
            .ok_or_else(|| AppError::invalid("invalid page"))?,
    };
    let moderator = viewer.is_moderator();
    let per_page = state.config.posts_per_page;
    let mut watching_now = false;
    let (thread, posts, first_post_id, best, poll) = if page == 1 && viewer.user.is_none() {
        let cached = state
            .cache
            .thread_page(&state.pool, id, per_page)
            .await?
            .ok_or(AppError::NotFound)?;
        let mut poll = cached.poll.clone();
        if let Some(p) = poll.as_mut() {
            // Cached data must not go stale with time: the end of voting is checked now.
            p.ended = p.ends_at.is_some_and(|end| end <= chrono::Utc::now());
        }
        let first_post_id = cached.posts.first().map_or(0, |p| p.id);
        (
            cached.thread.clone(),
            cached.posts.clone(),
            first_post_id,
            cached.best.clone(),
            poll,
        )
    } else {
        let client = state.pool.get().await?;
        let client = &client;
        // The independent reads go out together (tokio-postgres pipelines them on the one
        // connection): one round trip instead of one each.
        let (thread, posts, poll, watched) = tokio::try_join!(
            threads::get(client, id, moderator),
            posts::page(client, id, page, per_page, viewer.user_id()),
            polls::for_thread(client, id, viewer.user_id()),
            async {
                match &viewer.user {
                    Some(u) => watching::is_watching(client, u.id, id).await,
                    None => Ok(false),
                }
            },
        )?;
        let thread = thread.ok_or(AppError::NotFound)?;
        watching_now = watched;
        let first_known = match posts.first() {
            Some(p) if page == 1 => Some(p.id),
            _ => None,
        };
        let (first_post_id, best, ()) = tokio::try_join!(
            async {
                match first_known {
                    Some(f) => Ok(f),
                    None => posts::first_id(client, id).await,
                }
            },
            async {
                Ok(match thread.best_answer_post_id {
                    Some(b) => posts::get(client, b).await.ok().filter(|p| !p.is_deleted),
                    None => None,
                })
            },
            async {
                match &viewer.user {
                    Some(u) => reads::mark_page_read(client, u.id, id, page, per_page).await,
                    None => Ok(()),
                }
            },
        )?;
        (thread, posts, first_post_id, best, poll)
    };
    let tree = state.cache.tree(&state.pool).await?;
    let tree = &tree.tree;
    let category = tree
        .get(thread.category_id)
        .cloned()
        .ok_or(AppError::NotFound)?;
    let pages = ((i64::from(thread.post_count) + per_page - 1) / per_page).max(1);
    let page = t::ThreadPage {
        ctx: Ctx::new(&viewer, thread.title.clone()),
        ancestors: tree.ancestors(category.id),
        category,
        thread,
        poll,
        best,
        posts,
        first_post_id,
        page,
        pages,
        tree: if moderator {
            tree.flatten()
        } else {
            Vec::new()
        },
        watching: watching_now,
    };
    Ok(t::page(&page))
}

/// `GET /p/{id}/`: redirects to the post on its page of its thread; 404 when the viewer may
/// not see it ([`policy::visible_post`]), as for a missing post.
pub async fn post_show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    let client = state.pool.get().await?;
    let (post, _) = policy::visible_post(&client, id, viewer.user.as_ref()).await?;
    let before = posts::place_in_thread(&client, post.thread_id, id).await?;
    let page = before / state.config.posts_per_page + 1;
    Ok(Redirect::to(&format!("/t/{}/?page={page}#post-{id}", post.thread_id)).into_response())
}

/// `GET /p/{id}/history`: the edit history of a post, when [`policy::may_read_history`] allows.
pub async fn post_history(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    let client = state.pool.get().await?;
    let (post, thread) = policy::visible_post(&client, id, viewer.user.as_ref()).await?;
    if !policy::may_read_history(viewer.user.as_ref(), &thread, &post) {
        return Err(AppError::NotFound);
    }
    let edits = posts::history(&client, id).await?;
    Ok(t::page(&t::HistoryPage {
        ctx: Ctx::new(&viewer, "Edit history"),
        post,
        edits,
    }))
}

/// `GET /u/{id}/`: a profile with the user's threads and posts.
pub async fn user_show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    let client = state.pool.get().await?;
    let profile = users::profile(&client, id).await?;
    let threads = threads::by_user(&client, id, 20).await?;
    let posts = posts::by_user(&client, id, 20).await?;
    Ok(t::page(&t::ProfilePage {
        ctx: Ctx::new(&viewer, profile.username.clone()),
        profile,
        threads,
        posts,
    }))
}

/// `?q=` of the search.
#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    /// Words to look for.
    pub q: Option<String>,
}

/// `GET /search?q=`.
pub async fn search(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<SearchQuery>,
) -> AppResult<Response> {
    let q = search_model::query(q.q);
    let client = state.pool.get().await?;
    let hits = search_model::hits(&client, &q).await?;
    Ok(t::page(&t::SearchPage {
        ctx: Ctx::new(&viewer, "Search"),
        q,
        hits,
    }))
}
