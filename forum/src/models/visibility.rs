//! Which threads and posts a viewer reaches, read from the database: a thread or post by id
//! when the viewer may see or read it (404 otherwise, the same for a missing one), whether
//! someone other than the viewer may read a thread (whom a notification may reach), and a
//! member's grants and private threads read now. The decisions themselves are
//! [`crate::models::policy`]'s; this file only loads what they decide on.

use deadpool_postgres::GenericClient;

use crate::error::AppError;
use crate::models::permissions::{Grants, PRIVATE_CATEGORY};
use crate::models::policy::{
    Access, check_read_thread, check_read_thread_quiet, may_read_post, may_see_thread, not_found,
};
use crate::models::posts::{self, Post};
use crate::models::private_threads;
use crate::models::threads::{self, ThreadSummary};
use crate::models::users::User;

/// Thread `id` when the viewer may see it: 404 otherwise (missing, in a category they do not
/// see, hidden from them, a private thread they are not in). Returns the access with
/// [`Access::participant`] set for a private thread.
pub async fn visible_thread<'a>(
    client: &impl GenericClient,
    id: i64,
    a: Access<'a>,
) -> Result<(ThreadSummary, Access<'a>), AppError> {
    let thread = threads::get(client, id, true)
        .await?
        .ok_or(AppError::NotFound)?;
    let a = if thread.category_id == PRIVATE_CATEGORY {
        let participant = match a.user {
            Some(u) => private_threads::is_participant(client, id, u.id).await?,
            None => false,
        };
        Access { participant, ..a }
    } else {
        a
    };
    if !may_see_thread(a, &thread) {
        let action = if thread.category_id == PRIVATE_CATEGORY {
            "private"
        } else {
            "see"
        };
        return Err(not_found(action));
    }
    Ok((thread, a))
}

/// Thread `id` when the viewer may read it: [`visible_thread`] and [`check_read_thread`].
pub async fn readable_thread<'a>(
    client: &impl GenericClient,
    id: i64,
    a: Access<'a>,
) -> Result<(ThreadSummary, Access<'a>), AppError> {
    let (thread, a) = visible_thread(client, id, a).await?;
    check_read_thread(a, &thread)?;
    Ok((thread, a))
}

/// Post `id` and its thread, when the viewer may read them: 404 otherwise (missing, or in a
/// thread they may not see), 403 in a category they see but may not read. A deleted post's
/// text is cleared for those who may not read it.
pub async fn visible_post<'a>(
    client: &impl GenericClient,
    id: i64,
    a: Access<'a>,
) -> Result<(Post, ThreadSummary, Access<'a>), AppError> {
    let mut post = posts::get(client, id).await?;
    let (thread, a) = readable_thread(client, post.thread_id, a).await?;
    if !may_read_post(a, &thread, &post) {
        post.body.clear();
        post.body_html.clear();
    }
    Ok((post, thread, a))
}

/// Whether user `user_id` (not the viewer: someone a mention or a notification would reach)
/// may read thread `thread_id` now.
pub async fn user_may_read_thread(
    client: &impl GenericClient,
    user_id: i64,
    thread_id: i64,
) -> Result<bool, AppError> {
    let Some(thread) = threads::get(client, thread_id, true).await? else {
        return Ok(false);
    };
    if thread.category_id == PRIVATE_CATEGORY {
        return private_threads::is_participant(client, thread_id, user_id).await;
    }
    let Some(grants) = crate::models::permissions::grants_of_user(client, user_id).await? else {
        return Ok(false);
    };
    let user = crate::models::users::User {
        id: user_id,
        username: String::new(),
        role: crate::models::users::Role::Member,
        banned_until: None,
        custom_roles: Vec::new(),
    };
    Ok(check_read_thread_quiet(
        Access::new(Some(&user), &grants),
        &thread,
    ))
}

/// The grants of `user` read from the database now, for a write whose caller holds only the
/// user (polls, best answers, the moderators' thread tools): 403 for an account not active.
pub async fn grants_of(client: &impl GenericClient, user: &User) -> Result<Grants, AppError> {
    crate::models::permissions::grants_of_user(client, user.id)
        .await?
        .ok_or_else(|| AppError::Forbidden("this account is not active".into()))
}

/// What a member may see, read from the database now, for lists and actions of their own that
/// hold only the user (notifications, watched and unread threads): their grants and the private
/// threads they take part in.
pub struct MemberView {
    user: User,
    grants: Grants,
    private: Vec<i64>,
}

impl MemberView {
    /// Reads `user`'s grants and private threads (403 for an account not active).
    pub async fn load(client: &impl GenericClient, user: &User) -> Result<MemberView, AppError> {
        let grants = grants_of(client, user).await?;
        let private = client
            .query(
                "SELECT thread_id FROM private_thread_participants WHERE user_id = $1",
                &[&user.id],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        Ok(MemberView {
            user: user.clone(),
            grants,
            private,
        })
    }

    /// Whether the member moderates any category.
    pub fn moderates_any(&self) -> bool {
        self.grants.moderates_any()
    }

    /// Whether the member may see `thread` ([`may_see_thread`]).
    pub fn sees(&self, thread: &ThreadSummary) -> bool {
        let a = Access {
            user: Some(&self.user),
            grants: &self.grants,
            participant: self.private.contains(&thread.id),
        };
        may_see_thread(a, thread)
    }
}

/// Of the active members `user_ids`, those who may read `thread` now (the permission table read
/// once for all of them): whom a notification about it may reach.
pub async fn readers_among(
    client: &impl GenericClient,
    thread: &ThreadSummary,
    user_ids: &[i64],
) -> Result<Vec<i64>, AppError> {
    if user_ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = client
        .query(
            "SELECT u.id, u.username, u.role, u.banned_until,
                    ARRAY(SELECT role_id FROM user_roles WHERE user_id = u.id),
                    EXISTS (SELECT 1 FROM private_thread_participants p
                            WHERE p.thread_id = $2 AND p.user_id = u.id)
             FROM users u WHERE u.id = ANY($1) AND u.is_active",
            &[&user_ids, &thread.id],
        )
        .await?;
    let table = crate::models::permissions::PermissionTable::load(client).await?;
    let mut out = Vec::new();
    for r in &rows {
        let user = User {
            id: r.get(0),
            username: r.get(1),
            role: r.get(2),
            banned_until: r.get(3),
            custom_roles: r.get(4),
        };
        let grants = table.grants(&crate::models::permissions::RoleKey::of(Some(&user)));
        let a = Access {
            user: Some(&user),
            grants: &grants,
            participant: r.get(5),
        };
        if check_read_thread_quiet(a, thread) {
            out.push(user.id);
        }
    }
    Ok(out)
}
