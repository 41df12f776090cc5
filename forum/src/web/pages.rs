//! The read-only pages: index, category, thread, post, profile, history, search. Each shows
//! what the viewer's roles may see ([`policy`]).

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::auth::Viewer;
use crate::error::{AppError, AppResult};
use crate::http::parse_id;
use crate::models::permissions::PRIVATE_CATEGORY;
use crate::models::reads::{self, Marks};
use crate::models::{
    Cursor, ThreadSummary, policy, polls, posts, private_threads, thread_ops, threads, users,
    visibility, watching,
};
use crate::state::AppState;
use crate::web::templates::{self as t, Ctx};

/// `?after=` of the lists.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    /// Keyset cursor.
    pub after: Option<String>,
}

/// `GET /`: newest threads of the categories the viewer sees. The first page as those who
/// moderate none of them see it, and the category tree as the viewer's roles see it, come
/// from the read cache.
pub async fn index(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<ListQuery>,
) -> AppResult<Response> {
    let cursor = q.after.as_deref().map(Cursor::parse).transpose()?;
    let grants = &viewer.grants;
    let moderator = grants.moderates_all(grants.seen());
    let (threads, next) = if cursor.is_none() && !grants.moderates_any() {
        let list = state
            .cache
            .newest(&state.pool, grants, state.config.threads_per_page)
            .await?;
        (list.threads.clone(), list.next.clone())
    } else {
        let client = state.pool.get().await?;
        let seen = (!grants.sees_all()).then(|| grants.seen());
        threads::list(
            &client,
            seen,
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
        tree: grants.flat().to_vec(),
        online: state.glance.online(&state.pool).await?,
        marks,
    }))
}

/// `GET /c/{id}/`: threads of a category and of its subcategories the viewer sees; 404 for a
/// category they may not see ([`policy::check_see_category`]). The first page as those who do
/// not moderate it see it comes from the read cache.
pub async fn category_show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(q): Query<ListQuery>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    let cursor = q.after.as_deref().map(Cursor::parse).transpose()?;
    let grants = if viewer.grants.tree().get(id).is_some() {
        viewer.grants.clone()
    } else {
        // Created by another process a moment ago (its notification not in yet), or missing,
        // or not seen: ask PostgreSQL.
        let client = state.pool.get().await?;
        let table = crate::models::permissions::PermissionTable::load(&client).await?;
        std::sync::Arc::new(table.grants(viewer.grants.key()))
    };
    let access = policy::Access::new(viewer.user.as_ref(), &grants);
    policy::check_see_category(access, id)?;
    let tree = grants.tree();
    let category = tree.get(id).cloned().ok_or(AppError::NotFound)?;
    let ids = tree.subtree_ids(id);
    let moderator = grants.moderates_all(&ids);
    let per_page = state.config.threads_per_page;
    let moderates_some = ids.iter().any(|c| policy::moderates_category(access, *c));
    let (mut threads, next, pinned) = if cursor.is_none() && !moderates_some {
        let list = state
            .cache
            .category_page(&state.pool, &grants, id, &ids, per_page)
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
        can_start: policy::may_start(access, id),
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
    state
        .cache
        .marks(&state.pool, user.id, before, &threads)
        .await
}

/// `?page=` of a thread.
#[derive(Debug, Deserialize)]
pub struct PageQuery {
    /// 1-based page number.
    pub page: Option<String>,
}

/// `GET /t/{id}/`: a thread with its poll, best answer and a page of posts; 404 when the
/// viewer may not see it, 403 when they see its category but may not read its threads
/// ([`policy::check_read_thread`]). The first page comes from the read cache (for a member,
/// with what is their own on it and their read mark, from memory or in one statement:
/// [`crate::cache::ReadCache::visit_first_page`]); the category tree is the viewer's. The
/// address of a thread merged into another redirects (301) to that one.
pub async fn thread_show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    match thread_page(&state, &viewer, id, q).await {
        Err(AppError::NotFound) => {
            let client = state.pool.get().await?;
            match thread_ops::redirect(&client, id).await? {
                Some(to) => Ok(Redirect::permanent(&format!("/t/{to}/")).into_response()),
                None => Err(AppError::NotFound),
            }
        }
        other => other,
    }
}

async fn thread_page(
    state: &AppState,
    viewer: &Viewer,
    id: i64,
    q: PageQuery,
) -> AppResult<Response> {
    let page: i64 = match q.page.as_deref() {
        None | Some("") => 1,
        Some(p) => p
            .parse()
            .ok()
            .filter(|n| (1..=1_000_000).contains(n))
            .ok_or_else(|| AppError::invalid("invalid page"))?,
    };
    let per_page = state.config.posts_per_page;
    let mut watching_now = false;
    let cached = if page == 1 {
        state.cache.thread_page(&state.pool, id, per_page).await?
    } else {
        None
    };
    let edit_limit = if viewer.user.is_some() {
        state.glance.edit_limit(&state.pool).await?
    } else {
        0
    };
    let (thread, posts, first_post_id, best, poll, access, participants) = match cached {
        Some(cached) => {
            let access = viewer.access();
            policy::check_read_thread(access, &cached.thread)?;
            let mut poll = cached.poll.clone();
            if let Some(p) = poll.as_mut() {
                // Cached data must not go stale with time: the end of voting is checked now.
                p.ended = p.is_closed || p.ends_at.is_some_and(|end| end <= chrono::Utc::now());
            }
            let first_post_id = cached.posts.first().map_or(0, |p| p.id);
            let mut posts = cached.posts.clone();
            if let Some(u) = &viewer.user {
                // The page is everyone's; what is the member's own comes in one round trip,
                // or from memory when nothing changed since their last visit.
                let ids: Vec<i64> = posts.iter().map(|p| p.id).collect();
                let own = state
                    .cache
                    .visit_first_page(
                        &state.pool,
                        u.id,
                        id,
                        &ids,
                        poll.as_ref().map(|p| p.id),
                        posts.last().map(|p| (p.id, p.created_at)),
                    )
                    .await?;
                own.apply(&mut posts, poll.as_mut());
                watching_now = own.watching;
                if own.mark_moved {
                    // The lists this process shows them must say so at once.
                    state.cache.reads_changed(u.id);
                }
            }
            (
                cached.thread.clone(),
                posts,
                first_post_id,
                cached.best.clone(),
                poll,
                access,
                None,
            )
        }
        None => {
            let client = state.pool.get().await?;
            let (thread, access) =
                visibility::readable_thread(&client, id, viewer.access()).await?;
            let mut posts = posts::page(&client, id, page, per_page, viewer.user_id()).await?;
            let first_post_id: i64 = match posts.first() {
                Some(p) if page == 1 => p.id,
                _ => posts::first_id(&client, id).await?,
            };
            let best = match thread.best_answer_post_id {
                Some(b) => posts::get(&client, b).await.ok().filter(|p| !p.is_deleted),
                None => None,
            };
            let poll = polls::for_thread(&client, id, viewer.user_id()).await?;
            for p in posts.iter_mut() {
                if !policy::may_read_post(access, &thread, p) {
                    p.body.clear();
                    p.body_html.clear();
                }
            }
            if let Some(u) = &viewer.user {
                // Both go out together (pipelined on the one connection): one round trip.
                let (watched, moved) = tokio::try_join!(
                    watching::is_watching(&client, u.id, id),
                    reads::mark_page_read(&client, u.id, id, page, per_page),
                )?;
                watching_now = watched;
                if moved {
                    state.cache.reads_changed(u.id);
                }
            }
            let participants = if thread.category_id == PRIVATE_CATEGORY {
                Some(private_threads::participants(&client, id).await?)
            } else {
                None
            };
            (
                thread,
                posts,
                first_post_id,
                best,
                poll,
                access,
                participants,
            )
        }
    };
    let tree = viewer.grants.tree();
    let category = match &participants {
        Some(_) => crate::models::Category {
            id: PRIVATE_CATEGORY,
            parent_id: None,
            name: "Private threads".into(),
            description: String::new(),
            position: 0,
            is_question: false,
            thread_count: 0,
            post_count: 0,
            last_activity_at: None,
        },
        None => tree
            .get(thread.category_id)
            .cloned()
            .ok_or(AppError::NotFound)?,
    };
    let moderates = policy::moderates(access, &thread);
    let pages = ((i64::from(thread.post_count) + per_page - 1) / per_page).max(1);
    let page = t::ThreadPage {
        ctx: Ctx::new(viewer, thread.title.clone()),
        ancestors: if participants.is_some() {
            Vec::new()
        } else {
            tree.ancestors(category.id)
        },
        perm: t::ThreadPerms {
            moderates,
            can_reply: policy::may_reply(access, &thread),
            can_choose_best: viewer
                .user
                .as_ref()
                .is_some_and(|u| policy::may_choose_best(access, u, &thread)),
            participant: access.participant,
            grants: viewer.grants.clone(),
        },
        category,
        thread,
        poll,
        best,
        posts,
        first_post_id,
        page,
        pages,
        tree: if moderates {
            viewer
                .grants
                .flat()
                .iter()
                .filter(|e| policy::moderates_category(access, e.category.id))
                .cloned()
                .collect()
        } else {
            Vec::new()
        },
        edit_limit,
        participants: participants.unwrap_or_default(),
        watching: watching_now,
    };
    Ok(t::page(&page))
}

/// `GET /p/{id}/`: redirects to the post on its page of its thread; 404 when the viewer may
/// not see it ([`visibility::visible_post`]), as for a missing post.
pub async fn post_show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    let client = state.pool.get().await?;
    let (post, _, _) = visibility::visible_post(&client, id, viewer.access()).await?;
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
    let (post, thread, access) = visibility::visible_post(&client, id, viewer.access()).await?;
    if !policy::may_read_history(access, &thread, &post) {
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
    let threads = threads::by_user(&client, id, 20, viewer.grants.seen()).await?;
    let posts = posts::by_user(&client, id, 20, &viewer.grants.readable()).await?;
    Ok(t::page(&t::ProfilePage {
        ctx: Ctx::new(&viewer, profile.username.clone()),
        profile,
        threads,
        posts,
    }))
}
