//! The visibility and permission policy: one function per decision (see a category, start a
//! thread in it, see / read / reply to / moderate a thread, see, like, edit, delete a post),
//! called by the pages, the forms and the API alike, so every door answers the same. The
//! decisions read the viewer's resolved permissions per category ([`Grants`], see
//! [`crate::models::permissions`]) through an [`Access`]; private threads are decided by
//! their participants. Writes check it inside their transaction before changing anything, so
//! a refused write changes nothing.
//!
//! Answers: 404 when the viewer may not see the thing (a category they may not see, its
//! threads and posts, a hidden thread outside the categories they moderate, a private thread
//! they are not in, or something missing); 403 when they see it but may not do this (read the
//! threads of a category they only see, start or reply in a read-only category, moderate a
//! category they do not moderate); 409 when the state forbids it (editing a deleted post).
//! Every refusal is counted in `forum_permission_denied_total{action}`.

use std::sync::LazyLock;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

use crate::error::AppError;
use crate::models::permissions::{Grants, PRIVATE_CATEGORY, Perm};
use crate::models::posts::Post;
use crate::models::threads::ThreadSummary;
use crate::models::users::User;

/// Labels of `forum_permission_denied_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeniedLabels {
    /// One of [`DENIED_ACTIONS`].
    pub action: &'static str,
}

/// The `action` values of refusals: the five permissions, and `private` (a private thread
/// of others).
pub const DENIED_ACTIONS: [&str; 6] = ["see", "read", "start", "reply", "moderate", "private"];

static DENIED: LazyLock<Family<DeniedLabels, Counter>> = LazyLock::new(|| {
    let f = Family::<DeniedLabels, Counter>::default();
    for action in DENIED_ACTIONS {
        f.get_or_create(&DeniedLabels { action }).inc_by(0);
    }
    f
});

/// The refusals of this process, by action (registered by [`crate::metrics`]).
pub fn denied_metric() -> Family<DeniedLabels, Counter> {
    DENIED.clone()
}

fn denied(action: &'static str, e: AppError) -> AppError {
    DENIED.get_or_create(&DeniedLabels { action }).inc();
    e
}

pub(crate) fn not_found(action: &'static str) -> AppError {
    denied(action, AppError::NotFound)
}

fn forbidden(action: &'static str, message: &str) -> AppError {
    denied(action, AppError::Forbidden(message.into()))
}

/// Who asks, with what they may do: the user (None: a guest), the grants of their roles, and
/// whether they take part in the private thread at hand (set by [`crate::models::visibility::visible_thread`]).
#[derive(Clone, Copy, Debug)]
pub struct Access<'a> {
    /// The logged-in user.
    pub user: Option<&'a User>,
    /// What their roles may do in each category.
    pub grants: &'a Grants,
    /// Whether they take part in the private thread being decided on.
    pub participant: bool,
}

impl<'a> Access<'a> {
    /// The access of `user` holding `grants`.
    pub fn new(user: Option<&'a User>, grants: &'a Grants) -> Access<'a> {
        Access {
            user,
            grants,
            participant: false,
        }
    }
}

/// Whether `p` is granted on `thread`: by its category, or for a private thread by taking
/// part in it (participants see, read and reply; nobody moderates a private thread).
fn granted(a: Access<'_>, thread: &ThreadSummary, p: Perm) -> bool {
    if thread.category_id == PRIVATE_CATEGORY {
        a.participant && a.user.is_some() && matches!(p, Perm::See | Perm::Read | Perm::Reply)
    } else {
        a.grants.can(thread.category_id, p)
    }
}

/// Whether the viewer sees category `id` (its page, its thread list, its place in the tree).
pub fn may_see_category(a: Access<'_>, id: i64) -> bool {
    a.grants.can(id, Perm::See)
}

/// 404 unless the viewer sees category `id`.
pub fn check_see_category(a: Access<'_>, id: i64) -> Result<(), AppError> {
    if may_see_category(a, id) {
        Ok(())
    } else {
        Err(not_found("see"))
    }
}

/// Whether the viewer may start a thread in category `id` (the "New thread" button).
pub fn may_start(a: Access<'_>, id: i64) -> bool {
    a.user.is_some() && a.grants.can(id, Perm::Start)
}

/// Whether the viewer may start a thread in category `id`: 404 when they do not see it, 403
/// when it is read-only for them.
pub fn check_start(a: Access<'_>, id: i64) -> Result<(), AppError> {
    check_see_category(a, id)?;
    if !may_start(a, id) {
        return Err(forbidden(
            "start",
            "this category is read-only for you: you cannot start threads in it",
        ));
    }
    Ok(())
}

/// Whether the viewer moderates the category of `thread` (never a private thread).
pub fn moderates(a: Access<'_>, thread: &ThreadSummary) -> bool {
    a.user.is_some() && granted(a, thread, Perm::Moderate)
}

/// Whether the viewer moderates category `id`.
pub fn moderates_category(a: Access<'_>, id: i64) -> bool {
    a.user.is_some() && a.grants.can(id, Perm::Moderate)
}

/// Whether `user` (None: anonymous) may see `thread` in lists and find it: its category is
/// seen (or they take part in the private thread), and a hidden thread is for the
/// moderators of its category.
pub fn may_see_thread(a: Access<'_>, thread: &ThreadSummary) -> bool {
    granted(a, thread, Perm::See) && (!thread.is_hidden || moderates(a, thread))
}

/// Whether the viewer may read `thread`: 404 when they may not see it, 403 when they see its
/// category but may not read its threads.
pub fn check_read_thread(a: Access<'_>, thread: &ThreadSummary) -> Result<(), AppError> {
    if !may_see_thread(a, thread) {
        let action = if thread.category_id == PRIVATE_CATEGORY {
            "private"
        } else {
            "see"
        };
        return Err(not_found(action));
    }
    if !granted(a, thread, Perm::Read) {
        return Err(forbidden(
            "read",
            "you may see this category but not read its threads",
        ));
    }
    Ok(())
}

/// Whether the viewer may reply to `thread`: as [`check_read_thread`], then 403 when the
/// category is read-only for them or the thread is closed (unless they moderate it).
pub fn check_reply(a: Access<'_>, thread: &ThreadSummary) -> Result<(), AppError> {
    check_read_thread(a, thread)?;
    if a.user.is_none() || !granted(a, thread, Perm::Reply) {
        return Err(forbidden(
            "reply",
            "this category is read-only for you: you cannot reply in it",
        ));
    }
    if thread.is_closed && !moderates(a, thread) {
        return Err(AppError::Forbidden("this thread is closed".into()));
    }
    Ok(())
}

/// Whether the reply form is shown ([`check_reply`]).
pub fn may_reply(a: Access<'_>, thread: &ThreadSummary) -> bool {
    a.user.is_some()
        && check_read_thread_quiet(a, thread)
        && granted(a, thread, Perm::Reply)
        && (!thread.is_closed || moderates(a, thread))
}

/// Whether the viewer may moderate `thread` (pin, close, hide, move): 404 when they may not
/// see it, 403 when they do not moderate its category.
pub fn check_moderate(a: Access<'_>, thread: &ThreadSummary) -> Result<(), AppError> {
    if !may_see_thread(a, thread) {
        return Err(not_found("see"));
    }
    if !moderates(a, thread) {
        return Err(forbidden(
            "moderate",
            "only the moderators of this category can do this",
        ));
    }
    Ok(())
}

/// Whether the viewer may move `thread` to category `to`: they moderate both.
pub fn check_move(a: Access<'_>, thread: &ThreadSummary, to: i64) -> Result<(), AppError> {
    check_moderate(a, thread)?;
    if !moderates_category(a, to) {
        return Err(denied(
            "moderate",
            AppError::invalid("you can only move threads to a category you moderate"),
        ));
    }
    Ok(())
}

/// Whether the viewer may read the text of `post` in `thread` (a deleted post keeps its place
/// in the thread, but only the moderators of its category read it).
pub fn may_read_post(a: Access<'_>, thread: &ThreadSummary, post: &Post) -> bool {
    check_read_thread_quiet(a, thread) && (!post.is_deleted || moderates(a, thread))
}

/// [`check_read_thread`] as a yes or no, counting no refusal.
pub fn check_read_thread_quiet(a: Access<'_>, thread: &ThreadSummary) -> bool {
    may_see_thread(a, thread) && granted(a, thread, Perm::Read)
}

/// Whether `user` may edit or delete `post` in `thread` as its author (not banned) or a
/// moderator of its category.
fn edits(a: Access<'_>, user: &User, thread: &ThreadSummary, post: &Post) -> bool {
    !user.is_banned() && (moderates(a, thread) || post.user_id == Some(user.id))
}

/// Whether `user` may like or unlike `post` in `thread`: anyone logged in who reads it, not on
/// their own post, never a deleted post.
pub fn check_like(
    a: Access<'_>,
    user: &User,
    thread: &ThreadSummary,
    post: &Post,
) -> Result<(), AppError> {
    check_read_thread(a, thread)?;
    if post.is_deleted {
        return Err(AppError::NotFound);
    }
    if post.user_id == Some(user.id) {
        return Err(AppError::Forbidden("you cannot like your own post".into()));
    }
    Ok(())
}

/// Whether `user` may delete `post` in `thread` (whose first post is `first_post_id`): its
/// author (not banned) or a moderator of its category; never the first post, which opens the
/// thread (a moderator hides the thread instead).
pub fn check_delete(
    a: Access<'_>,
    user: &User,
    thread: &ThreadSummary,
    post: &Post,
    first_post_id: i64,
) -> Result<(), AppError> {
    check_read_thread(a, thread)?;
    if !edits(a, user, thread, post) {
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

/// Whether `user` may edit `post` in `thread`: its author (not banned) or a moderator of its
/// category; not a deleted post; in a closed thread, its moderators only.
pub fn check_edit(
    a: Access<'_>,
    user: &User,
    thread: &ThreadSummary,
    post: &Post,
) -> Result<(), AppError> {
    check_read_thread(a, thread)?;
    if !edits(a, user, thread, post) {
        return Err(AppError::Forbidden("you cannot edit this post".into()));
    }
    if thread.is_closed && !moderates(a, thread) {
        return Err(AppError::Forbidden("this thread is closed".into()));
    }
    if post.is_deleted {
        return Err(AppError::Conflict(
            "this post is deleted; a moderator can restore it first".into(),
        ));
    }
    Ok(())
}

/// Whether the viewer may restore a deleted post of `thread`, or hide an edit history: the
/// moderators of its category (not banned).
pub fn check_restore(a: Access<'_>, thread: &ThreadSummary) -> Result<(), AppError> {
    if a.user.is_some_and(|u| !u.is_banned()) && moderates(a, thread) {
        Ok(())
    } else {
        Err(forbidden(
            "moderate",
            "only moderators of this category can restore a post or hide an edit history",
        ))
    }
}

/// Whether `user` may choose the best answer of `thread`: its author or a moderator of its
/// category (not banned).
pub fn may_choose_best(a: Access<'_>, user: &User, thread: &ThreadSummary) -> bool {
    !user.is_banned() && (moderates(a, thread) || thread.user_id == Some(user.id))
}

/// Whether the edit/delete buttons of `post` are shown (the pages' view of [`check_edit`]).
pub fn may_edit(a: Access<'_>, thread: &ThreadSummary, post: &Post) -> bool {
    a.user.is_some_and(|u| check_edit_quiet(a, u, thread, post))
}

fn check_edit_quiet(a: Access<'_>, user: &User, thread: &ThreadSummary, post: &Post) -> bool {
    check_read_thread_quiet(a, thread)
        && edits(a, user, thread, post)
        && (!thread.is_closed || moderates(a, thread))
        && !post.is_deleted
}

/// Whether the delete button of `post` is shown (the pages' view of [`check_delete`]).
pub fn may_delete(a: Access<'_>, thread: &ThreadSummary, post: &Post, first_post_id: i64) -> bool {
    a.user.is_some_and(|u| {
        check_read_thread_quiet(a, thread) && edits(a, u, thread, post) && post.id != first_post_id
    })
}

/// Whether the like button of `post` is shown (the pages' view of [`check_like`]).
pub fn may_like(a: Access<'_>, thread: &ThreadSummary, post: &Post) -> bool {
    a.user.is_some_and(|u| {
        check_read_thread_quiet(a, thread) && !post.is_deleted && post.user_id != Some(u.id)
    })
}

/// Whether the viewer may read the edit history of `post`: whoever may read the post, unless a
/// moderator hid the history (a redaction), then the moderators of its category only.
pub fn may_read_history(a: Access<'_>, thread: &ThreadSummary, post: &Post) -> bool {
    may_read_post(a, thread, post) && (!post.history_hidden || moderates(a, thread))
}

/// Whether the viewer moderates `thread` (not banned, a moderator of its category who sees it).
/// The one test behind every moderator-only action on a thread and its posts: merge, move and
/// split posts, others' polls and best answers.
pub fn moderates_thread(a: Access<'_>, thread: &ThreadSummary) -> bool {
    a.user.is_some_and(|u| !u.is_banned()) && moderates(a, thread) && may_see_thread(a, thread)
}

/// Whether the viewer may act as a moderator on `thread`: 404 when they cannot see it, 403
/// when they see it without moderating it.
pub fn check_moderate_thread(a: Access<'_>, thread: &ThreadSummary) -> Result<(), AppError> {
    if !may_see_thread(a, thread) {
        return Err(not_found("see"));
    }
    if !moderates_thread(a, thread) {
        return Err(forbidden("moderate", "only moderators can do this"));
    }
    Ok(())
}

/// Whether the viewer may moderate in category `category_id` (where a split puts its new
/// thread, where a move or merge takes posts).
pub fn check_moderate_category(a: Access<'_>, category_id: i64) -> Result<(), AppError> {
    if a.user.is_none_or(|u| u.is_banned()) || !moderates_category(a, category_id) {
        return Err(forbidden(
            "moderate",
            "only moderators of that category can do this",
        ));
    }
    Ok(())
}

/// Whether `user` may add, edit, close, reopen or delete the poll of `thread`: its starter (not
/// banned, the thread open) or a moderator of it.
pub fn check_manage_poll(
    a: Access<'_>,
    user: &User,
    thread: &ThreadSummary,
) -> Result<(), AppError> {
    if !may_see_thread(a, thread) {
        return Err(not_found("see"));
    }
    if moderates_thread(a, thread) {
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
pub fn check_choose_best(
    a: Access<'_>,
    user: &User,
    thread: &ThreadSummary,
) -> Result<(), AppError> {
    if !may_see_thread(a, thread) {
        return Err(not_found("see"));
    }
    if may_choose_best(a, user, thread) {
        return Ok(());
    }
    Err(AppError::Forbidden(
        "only the thread's author or a moderator can choose the best answer".into(),
    ))
}

/// The time limit on members' edits of their own posts (`limit_minutes`, 0: none), on top of
/// [`check_edit`]: moderators of the thread have none. 403 with the limit in the message.
pub fn check_edit_in_time(
    a: Access<'_>,
    user: &User,
    thread: &ThreadSummary,
    post: &Post,
    limit_minutes: i64,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), AppError> {
    check_edit(a, user, thread, post)?;
    if limit_minutes <= 0 || moderates_thread(a, thread) {
        return Ok(());
    }
    if now - post.created_at > chrono::Duration::minutes(limit_minutes) {
        return Err(AppError::Forbidden(format!(
            "posts can be edited only within {limit_minutes} minutes of posting"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::categories::{Category, CategoryTree};
    use crate::models::permissions::{PermissionTable, RoleKey};
    use crate::models::users::Role;
    use chrono::Utc;

    fn thread(category: i64, hidden: bool, closed: bool) -> ThreadSummary {
        ThreadSummary {
            id: 1,
            category_id: category,
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
            custom_roles: Vec::new(),
        }
    }

    /// The defaults of one category (1): guests read, members write, moderators moderate.
    fn grants(u: Option<&User>) -> Grants {
        let c = Category {
            id: 1,
            parent_id: None,
            name: "c".into(),
            description: String::new(),
            position: 1,
            is_question: false,
            thread_count: 0,
            post_count: 0,
            last_activity_at: None,
        };
        PermissionTable::for_tests(CategoryTree::from_categories(vec![c])).grants(&RoleKey::of(u))
    }

    #[test]
    fn a_hidden_thread_is_not_found_for_members_whatever_they_try() {
        let (t, p, m) = (
            thread(1, true, false),
            post(2, 1, false),
            user(1, Role::Member),
        );
        let g = grants(Some(&m));
        let a = Access::new(Some(&m), &g);
        assert!(!may_see_thread(a, &t));
        let other = user(3, Role::Member);
        assert!(matches!(
            check_like(Access::new(Some(&other), &g), &other, &t, &p),
            Err(AppError::NotFound)
        ));
        assert!(matches!(check_edit(a, &m, &t, &p), Err(AppError::NotFound)));
        assert!(matches!(
            check_delete(a, &m, &t, &p, 1),
            Err(AppError::NotFound)
        ));
        let moderator = user(9, Role::Moderator);
        let g = grants(Some(&moderator));
        let a = Access::new(Some(&moderator), &g);
        assert!(may_see_thread(a, &t));
        assert!(check_like(a, &moderator, &t, &p).is_ok());
    }

    #[test]
    fn deleted_posts_cannot_be_liked_and_closed_threads_refuse_members_edits() {
        let m = user(3, Role::Member);
        let g = grants(Some(&m));
        assert!(matches!(
            check_like(
                Access::new(Some(&m), &g),
                &m,
                &thread(1, false, false),
                &post(2, 1, true)
            ),
            Err(AppError::NotFound)
        ));
        let author = user(1, Role::Member);
        let a = Access::new(Some(&author), &g);
        assert!(check_edit(a, &author, &thread(1, false, false), &post(2, 1, false)).is_ok());
        assert!(matches!(
            check_edit(a, &author, &thread(1, false, true), &post(2, 1, false)),
            Err(AppError::Forbidden(_))
        ));
        let moderator = user(9, Role::Moderator);
        let g = grants(Some(&moderator));
        assert!(
            check_edit(
                Access::new(Some(&moderator), &g),
                &moderator,
                &thread(1, false, true),
                &post(2, 1, false)
            )
            .is_ok()
        );
    }

    #[test]
    fn the_first_post_cannot_be_deleted_and_a_hidden_history_is_for_moderators() {
        let author = user(1, Role::Member);
        let g = grants(Some(&author));
        let a = Access::new(Some(&author), &g);
        let t = thread(1, false, false);
        assert!(matches!(
            check_delete(a, &author, &t, &post(2, 1, false), 2),
            Err(AppError::Conflict(_))
        ));
        assert!(check_delete(a, &author, &t, &post(3, 1, false), 2).is_ok());
        let mut p = post(3, 1, false);
        p.history_hidden = true;
        assert!(!may_read_history(a, &t, &p));
        let guest = grants(None);
        assert!(!may_read_history(Access::new(None, &guest), &t, &p));
        let moderator = user(9, Role::Moderator);
        let g = grants(Some(&moderator));
        assert!(may_read_history(Access::new(Some(&moderator), &g), &t, &p));
    }

    #[test]
    fn a_private_thread_is_for_its_participants_and_nobody_moderates_it() {
        let admin = user(1, Role::Admin);
        let g = grants(Some(&admin));
        let t = thread(PRIVATE_CATEGORY, false, false);
        let a = Access::new(Some(&admin), &g);
        assert!(matches!(check_read_thread(a, &t), Err(AppError::NotFound)));
        let a = Access {
            participant: true,
            ..a
        };
        assert!(check_reply(a, &t).is_ok());
        assert!(!moderates(a, &t));
        let guest = grants(None);
        let a = Access {
            participant: true,
            ..Access::new(None, &guest)
        };
        assert!(!may_see_thread(a, &t), "a participant is a logged-in user");
    }

    #[test]
    fn guests_read_but_never_write_or_moderate() {
        let g = grants(None);
        let a = Access::new(None, &g);
        let t = thread(1, false, false);
        assert!(check_read_thread(a, &t).is_ok());
        assert!(matches!(check_reply(a, &t), Err(AppError::Forbidden(_))));
        assert!(!may_start(a, 1));
        assert!(matches!(check_start(a, 2), Err(AppError::NotFound)));
    }
}
