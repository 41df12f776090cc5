//! The visibility and permission policy of posts: one function per decision (see, like, edit,
//! delete), called by the pages, the forms and the API alike, so every door answers the same.
//! Writes check it inside their transaction before changing anything, so a refused write
//! changes nothing.
//!
//! Answers: 404 when the viewer may not see the post (a hidden thread for a non-moderator, or
//! a missing post); 403 when they see it but may not do this; 409 when the post's state
//! forbids it (editing a deleted post).

use deadpool_postgres::GenericClient;

use crate::error::AppError;
use crate::models::posts::{self, Post};
use crate::models::threads::{self, ThreadSummary};
use crate::models::users::User;

fn moderates(user: Option<&User>) -> bool {
    user.is_some_and(User::is_moderator)
}

/// Whether `user` (None: anonymous) may see `thread`: hidden threads are for moderators.
pub fn may_see_thread(user: Option<&User>, thread: &ThreadSummary) -> bool {
    !thread.is_hidden || moderates(user)
}

/// Whether `user` may read the text of `post` in `thread` (a deleted post keeps its place in
/// the thread, but only moderators read it).
pub fn may_read_post(user: Option<&User>, thread: &ThreadSummary, post: &Post) -> bool {
    may_see_thread(user, thread) && (!post.is_deleted || moderates(user))
}

/// Whether `user` may like or unlike `post` in `thread`: anyone logged in who sees it, not on
/// their own post, never a deleted post.
pub fn check_like(user: &User, thread: &ThreadSummary, post: &Post) -> Result<(), AppError> {
    if !may_see_thread(Some(user), thread) || post.is_deleted {
        return Err(AppError::NotFound);
    }
    if post.user_id == Some(user.id) {
        return Err(AppError::Forbidden("you cannot like your own post".into()));
    }
    Ok(())
}

/// Whether `user` may delete `post` in `thread` (whose first post is `first_post_id`): its
/// author (not banned) or a moderator; never the first post, which opens the thread (a
/// moderator hides the thread instead).
pub fn check_delete(
    user: &User,
    thread: &ThreadSummary,
    post: &Post,
    first_post_id: i64,
) -> Result<(), AppError> {
    if !may_see_thread(Some(user), thread) {
        return Err(AppError::NotFound);
    }
    if !post.editable_by(Some(user)) {
        return Err(AppError::Forbidden("you cannot delete this post".into()));
    }
    if post.id == first_post_id {
        return Err(AppError::Conflict(
            "the first post opens the thread and cannot be deleted; a moderator can hide the thread"
                .into(),
        ));
    }
    Ok(())
}

/// Whether `user` may edit `post` in `thread`: its author (not banned) or a moderator; not a
/// deleted post; in a closed thread, moderators only.
pub fn check_edit(user: &User, thread: &ThreadSummary, post: &Post) -> Result<(), AppError> {
    if !may_see_thread(Some(user), thread) {
        return Err(AppError::NotFound);
    }
    if !post.editable_by(Some(user)) {
        return Err(AppError::Forbidden("you cannot edit this post".into()));
    }
    if thread.is_closed && !user.is_moderator() {
        return Err(AppError::Forbidden("this thread is closed".into()));
    }
    if post.is_deleted {
        return Err(AppError::Conflict(
            "this post is deleted; a moderator can restore it first".into(),
        ));
    }
    Ok(())
}

/// Whether the edit/delete buttons of `post` are shown to `user` (the pages' view of
/// [`check_edit`]).
pub fn may_edit(user: Option<&User>, thread: &ThreadSummary, post: &Post) -> bool {
    user.is_some_and(|u| check_edit(u, thread, post).is_ok())
}

/// Whether the like button of `post` is shown to `user` (the pages' view of [`check_like`]).
pub fn may_like(user: Option<&User>, thread: &ThreadSummary, post: &Post) -> bool {
    user.is_some_and(|u| check_like(u, thread, post).is_ok())
}

/// Whether `user` may read the edit history of `post`: whoever may read the post, unless a
/// moderator hid the history (a redaction), then moderators only.
pub fn may_read_history(user: Option<&User>, thread: &ThreadSummary, post: &Post) -> bool {
    may_read_post(user, thread, post) && (!post.history_hidden || moderates(user))
}

/// Whether `user` moderates `thread` (today: moderators see and moderate every thread). The one
/// test behind every moderator-only action on a thread and its posts: merge, move and split
/// posts, others' polls and best answers.
pub fn moderates_thread(user: Option<&User>, thread: &ThreadSummary) -> bool {
    user.is_some_and(|u| !u.is_banned()) && moderates(user) && may_see_thread(user, thread)
}

/// Whether `user` may act as a moderator on `thread`: 404 when they cannot see it, 403 when
/// they see it without moderating it.
pub fn check_moderate_thread(user: &User, thread: &ThreadSummary) -> Result<(), AppError> {
    if !may_see_thread(Some(user), thread) {
        return Err(AppError::NotFound);
    }
    if !moderates_thread(Some(user), thread) {
        return Err(AppError::Forbidden("only moderators can do this".into()));
    }
    Ok(())
}

/// Whether `user` may moderate in category `category_id` (where a split puts its new thread).
pub fn check_moderate_category(user: &User, category_id: i64) -> Result<(), AppError> {
    let _ = category_id;
    if user.is_banned() || !moderates(Some(user)) {
        return Err(AppError::Forbidden(
            "only moderators of that category can do this".into(),
        ));
    }
    Ok(())
}

/// Whether `user` may add, edit, close, reopen or delete the poll of `thread`: its starter (not
/// banned, the thread open) or a moderator of it.
pub fn check_manage_poll(user: &User, thread: &ThreadSummary) -> Result<(), AppError> {
    if !may_see_thread(Some(user), thread) {
        return Err(AppError::NotFound);
    }
    if moderates_thread(Some(user), thread) {
        return Ok(());
    }
    if user.is_banned() || thread.user_id != Some(user.id) {
        return Err(AppError::Forbidden(
            "only the thread's starter or a moderator can manage its poll".into(),
        ));
    }
    if thread.is_closed {
        return Err(AppError::Forbidden("this thread is closed".into()));
    }
    Ok(())
}

/// Whether `user` may choose or unmark the best answer of `thread`: its starter (not banned)
/// or a moderator of it.
pub fn check_choose_best(user: &User, thread: &ThreadSummary) -> Result<(), AppError> {
    if !may_see_thread(Some(user), thread) {
        return Err(AppError::NotFound);
    }
    if moderates_thread(Some(user), thread)
        || (!user.is_banned() && thread.user_id == Some(user.id))
    {
        return Ok(());
    }
    Err(AppError::Forbidden(
        "only the thread's author or a moderator can choose the best answer".into(),
    ))
}

/// The time limit on members' edits of their own posts (`limit_minutes`, 0: none), on top of
/// [`check_edit`]: moderators of the thread have none. 403 with the limit in the message.
pub fn check_edit_in_time(
    user: &User,
    thread: &ThreadSummary,
    post: &Post,
    limit_minutes: i64,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), AppError> {
    check_edit(user, thread, post)?;
    if limit_minutes <= 0 || moderates_thread(Some(user), thread) {
        return Ok(());
    }
    if now - post.created_at > chrono::Duration::minutes(limit_minutes) {
        return Err(AppError::Forbidden(format!(
            "posts can be edited only within {limit_minutes} minutes of posting"
        )));
    }
    Ok(())
}

/// Post `id` and its thread, when `user` may see them: 404 otherwise (missing, or in a thread
/// hidden from them). A deleted post's text is cleared for those who may not read it.
pub async fn visible_post(
    client: &impl GenericClient,
    id: i64,
    user: Option<&User>,
) -> Result<(Post, ThreadSummary), AppError> {
    let mut post = posts::get(client, id).await?;
    let thread = threads::get(client, post.thread_id, true)
        .await?
        .ok_or(AppError::NotFound)?;
    if !may_see_thread(user, &thread) {
        return Err(AppError::NotFound);
    }
    if !may_read_post(user, &thread, &post) {
        post.body.clear();
        post.body_html.clear();
    }
    Ok((post, thread))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::users::Role;
    use chrono::Utc;

    fn thread(hidden: bool, closed: bool) -> ThreadSummary {
        ThreadSummary {
            id: 1,
            category_id: 1,
            category_name: "c".into(),
            title: "t".into(),
            user_id: Some(1),
            username: Some("a".into()),
            created_at: Utc::now(),
            last_activity_at: Utc::now(),
            post_count: 1,
            is_pinned: false,
            is_closed: closed,
            is_hidden: hidden,
            best_answer_post_id: None,
        }
    }

    fn post(id: i64, author: i64, deleted: bool) -> Post {
        Post {
            id,
            thread_id: 1,
            user_id: Some(author),
            username: Some("a".into()),
            body: "b".into(),
            body_html: "<p>b</p>".into(),
            created_at: Utc::now(),
            edited_at: None,
            is_deleted: deleted,
            like_count: 0,
            liked: false,
            avatar: None,
            history_hidden: false,
            thread_title: None,
        }
    }

    fn user(id: i64, role: Role) -> User {
        User {
            id,
            username: format!("u{id}"),
            role,
            banned_until: None,
        }
    }

    #[test]
    fn a_hidden_thread_is_not_found_for_members_whatever_they_try() {
        let (t, p, m) = (
            thread(true, false),
            post(2, 1, false),
            user(1, Role::Member),
        );
        assert!(!may_see_thread(Some(&m), &t));
        assert!(matches!(
            check_like(&user(3, Role::Member), &t, &p),
            Err(AppError::NotFound)
        ));
        assert!(matches!(check_edit(&m, &t, &p), Err(AppError::NotFound)));
        assert!(matches!(
            check_delete(&m, &t, &p, 1),
            Err(AppError::NotFound)
        ));
        let moderator = user(9, Role::Moderator);
        assert!(may_see_thread(Some(&moderator), &t));
        assert!(check_like(&moderator, &t, &p).is_ok());
    }

    #[test]
    fn deleted_posts_cannot_be_liked_and_closed_threads_refuse_members_edits() {
        let m = user(3, Role::Member);
        assert!(matches!(
            check_like(&m, &thread(false, false), &post(2, 1, true)),
            Err(AppError::NotFound)
        ));
        let author = user(1, Role::Member);
        assert!(check_edit(&author, &thread(false, false), &post(2, 1, false)).is_ok());
        assert!(matches!(
            check_edit(&author, &thread(false, true), &post(2, 1, false)),
            Err(AppError::Forbidden(_))
        ));
        assert!(
            check_edit(
                &user(9, Role::Moderator),
                &thread(false, true),
                &post(2, 1, false)
            )
            .is_ok()
        );
    }

    #[test]
    fn the_edit_time_limit_binds_members_not_moderators() {
        let t = thread(false, false);
        let mut p = post(2, 1, false);
        p.created_at = Utc::now() - chrono::Duration::minutes(31);
        let author = user(1, Role::Member);
        assert!(matches!(
            check_edit_in_time(&author, &t, &p, 30, Utc::now()),
            Err(AppError::Forbidden(m)) if m.contains("30 minutes")
        ));
        assert!(check_edit_in_time(&author, &t, &p, 0, Utc::now()).is_ok());
        assert!(check_edit_in_time(&author, &t, &p, 60, Utc::now()).is_ok());
        assert!(check_edit_in_time(&user(9, Role::Moderator), &t, &p, 30, Utc::now()).is_ok());
    }

    #[test]
    fn polls_and_best_answers_are_the_starters_or_a_moderators() {
        let t = thread(false, false);
        assert!(check_manage_poll(&user(1, Role::Member), &t).is_ok());
        assert!(matches!(
            check_manage_poll(&user(2, Role::Member), &t),
            Err(AppError::Forbidden(_))
        ));
        assert!(matches!(
            check_manage_poll(&user(1, Role::Member), &thread(false, true)),
            Err(AppError::Forbidden(_))
        ));
        assert!(check_manage_poll(&user(9, Role::Moderator), &thread(false, true)).is_ok());
        assert!(check_choose_best(&user(1, Role::Member), &t).is_ok());
        assert!(check_choose_best(&user(2, Role::Member), &t).is_err());
        assert!(matches!(
            check_moderate_thread(&user(2, Role::Member), &thread(true, false)),
            Err(AppError::NotFound)
        ));
        assert!(matches!(
            check_moderate_thread(&user(2, Role::Member), &t),
            Err(AppError::Forbidden(_))
        ));
        assert!(check_moderate_thread(&user(9, Role::Moderator), &t).is_ok());
    }

    #[test]
    fn the_first_post_cannot_be_deleted_and_a_hidden_history_is_for_moderators() {
        let author = user(1, Role::Member);
        let t = thread(false, false);
        assert!(matches!(
            check_delete(&author, &t, &post(2, 1, false), 2),
            Err(AppError::Conflict(_))
        ));
        assert!(check_delete(&author, &t, &post(3, 1, false), 2).is_ok());
        let mut p = post(3, 1, false);
        p.history_hidden = true;
        assert!(!may_read_history(Some(&author), &t, &p));
        assert!(!may_read_history(None, &t, &p));
        assert!(may_read_history(Some(&user(9, Role::Moderator)), &t, &p));
    }
}
