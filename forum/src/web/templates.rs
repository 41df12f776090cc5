//! The compile-time (askama) templates of the pages; every value is HTML-escaped unless the
//! template marks it `|safe` (only post bodies, sanitised by [`crate::markdown`]). The error
//! page is `http::error_page`'s; the admin panel's are beside its handlers.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::auth::Viewer;
use std::sync::Arc;

use crate::models::permissions::Grants;
use crate::models::policy;
use crate::models::polls::Poll;
use crate::models::posts::{Edit, Post};
use crate::models::private_threads::Participant;
use crate::models::reads::Marks;
use crate::models::users::{Profile, User};
use crate::models::{Category, ThreadSummary, TreeEntry};

/// What the layout needs on every page.
#[derive(Clone, Debug)]
pub struct Ctx {
    /// The logged-in user.
    pub user: Option<User>,
    /// The CSRF token every form carries.
    pub csrf: String,
    /// The page title.
    pub title: String,
    /// Unread notifications (the bell; at most `SessionMarks::BELL_CAP`).
    pub notifications: i64,
}

impl Ctx {
    /// The layout context of `viewer` for a page titled `title`.
    pub fn new(viewer: &Viewer, title: impl Into<String>) -> Ctx {
        Ctx {
            user: viewer.user.clone(),
            csrf: viewer.csrf.clone(),
            title: title.into(),
            notifications: viewer.marks.unread_notifications,
        }
    }
    /// The bell's count as shown: empty for none, `99+` at the cap.
    pub fn bell(&self) -> String {
        match self.notifications {
            0 => String::new(),
            n if n >= crate::auth::SessionMarks::BELL_CAP => {
                format!("{}+", crate::auth::SessionMarks::BELL_CAP - 1)
            }
            n => n.to_string(),
        }
    }
    /// Whether the viewer moderates.
    pub fn is_moderator(&self) -> bool {
        self.user.as_ref().is_some_and(User::is_moderator)
    }
    /// The viewer's id or 0.
    pub fn user_id(&self) -> i64 {
        self.user.as_ref().map_or(0, |u| u.id)
    }
}

/// Renders a template into a 200 page (a 500 if rendering fails).
pub fn page(t: &impl Template) -> Response {
    page_with(StatusCode::OK, t)
}

/// Renders a template with `status`.
pub fn page_with(status: StatusCode, t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "template error").into_response()
        }
    }
}

/// `/`.
#[derive(Template)]
#[template(path = "index.html")]
pub struct IndexPage {
    /// Layout.
    pub ctx: Ctx,
    /// Newest threads.
    pub threads: Vec<ThreadSummary>,
    /// Cursor of the next page.
    pub next: Option<String>,
    /// All categories.
    pub tree: Vec<TreeEntry>,
    /// Who is online (a few seconds old at most).
    pub online: std::sync::Arc<crate::glance::Online>,
    /// The viewer's new and unread threads among them.
    pub marks: Marks,
}

/// `/c/{id}/`.
#[derive(Template)]
#[template(path = "category.html")]
pub struct CategoryPage {
    /// Layout.
    pub ctx: Ctx,
    /// The category.
    pub category: Category,
    /// Breadcrumbs.
    pub ancestors: Vec<Category>,
    /// Direct subcategories.
    pub children: Vec<TreeEntry>,
    /// Whether the viewer may start a thread here ([`policy::may_start`]).
    pub can_start: bool,
    /// Pinned threads (first page only).
    pub pinned: Vec<ThreadSummary>,
    /// Threads of this page.
    pub threads: Vec<ThreadSummary>,
    /// Cursor of the next page.
    pub next: Option<String>,
    /// The viewer's new and unread threads among them.
    pub marks: Marks,
}

/// `/c/{id}/new`.
#[derive(Template)]
#[template(path = "thread_new.html")]
pub struct NewThreadPage {
    /// Layout.
    pub ctx: Ctx,
    /// The category.
    pub category: Category,
    /// An error to show.
    pub error: Option<String>,
    /// Title typed so far.
    pub title: String,
    /// Body typed so far.
    pub body: String,
    /// The poll as typed so far (all empty: none).
    pub poll: PollInput,
}

/// The poll fields of the new-thread form, kept when the form comes back with an error.
#[derive(Clone, Debug)]
pub struct PollInput {
    /// Question.
    pub question: String,
    /// Choices, one per line.
    pub choices: String,
    /// Choices per vote.
    pub max_choices: String,
    /// Length in hours.
    pub hours: String,
    /// Revoting allowed.
    pub allow_revote: bool,
    /// Public votes.
    pub public: bool,
}

impl Default for PollInput {
    fn default() -> PollInput {
        PollInput {
            question: String::new(),
            choices: String::new(),
            max_choices: "1".into(),
            hours: "0".into(),
            allow_revote: false,
            public: false,
        }
    }
}

/// `/t/{id}/`.
#[derive(Template)]
#[template(path = "thread.html")]
pub struct ThreadPage {
    /// Layout.
    pub ctx: Ctx,
    /// The thread.
    pub thread: ThreadSummary,
    /// Its category.
    pub category: Category,
    /// Breadcrumbs.
    pub ancestors: Vec<Category>,
    /// Its poll.
    pub poll: Option<Poll>,
    /// The best answer, shown under the first post.
    pub best: Option<Post>,
    /// Posts of this page.
    pub posts: Vec<Post>,
    /// Id of the first post.
    pub first_post_id: i64,
    /// Page number.
    pub page: i64,
    /// Pages.
    pub pages: i64,
    /// Categories the viewer moderates (for the move form).
    pub tree: Vec<TreeEntry>,
    /// The edit time limit in minutes (0: none), to show Edit buttons only while they work.
    pub edit_limit: i64,
    /// Whether the viewer watches the thread.
    pub watching: bool,
    /// What the viewer may do in this thread.
    pub perm: ThreadPerms,
    /// The participants of a private thread (empty for others).
    pub participants: Vec<Participant>,
}

/// What the viewer may do in a thread, decided by [`policy`] for the page.
#[derive(Clone, Debug)]
pub struct ThreadPerms {
    /// [`policy::moderates`].
    pub moderates: bool,
    /// [`policy::may_reply`].
    pub can_reply: bool,
    /// [`policy::may_choose_best`].
    pub can_choose_best: bool,
    /// Whether they take part in this private thread.
    pub participant: bool,
    /// The viewer's grants.
    pub grants: Arc<Grants>,
}

impl ThreadPage {
    fn access(&self) -> policy::Access<'_> {
        policy::Access {
            user: self.ctx.user.as_ref(),
            grants: &self.perm.grants,
            participant: self.perm.participant,
        }
    }
    /// Whether this is a private thread.
    pub fn is_private(&self) -> bool {
        self.category.id == crate::models::permissions::PRIVATE_CATEGORY
    }
    /// Whether the viewer owns this private thread.
    pub fn owns(&self) -> bool {
        let me = self.ctx.user_id();
        self.participants
            .iter()
            .any(|p| p.user_id == me && p.is_owner)
    }
    /// Whether the viewer may mark `post` as the best answer.
    pub fn can_mark_best(&self, post: &Post) -> bool {
        self.category.is_question
            && post.id != self.first_post_id
            && !post.is_deleted
            && self.thread.best_answer_post_id != Some(post.id)
            && self.perm.can_choose_best
    }
    /// Whether `post` is the thread's best answer.
    pub fn is_best(&self, post: &Post) -> bool {
        self.thread.best_answer_post_id == Some(post.id)
    }
    /// Whether the viewer may edit `post` now ([`policy::may_edit`], within the edit time
    /// limit: [`policy::check_edit_in_time`]).
    pub fn can_edit(&self, post: &Post) -> bool {
        policy::may_edit(self.access(), &self.thread, post)
            && self.ctx.user.as_ref().is_some_and(|u| {
                policy::check_edit_in_time(
                    self.access(),
                    u,
                    &self.thread,
                    post,
                    self.edit_limit,
                    chrono::Utc::now(),
                )
                .is_ok()
            })
    }
    /// Whether the viewer may delete `post` ([`policy::may_delete`]).
    pub fn can_delete(&self, post: &Post) -> bool {
        policy::may_delete(self.access(), &self.thread, post, self.first_post_id)
    }
    /// Whether the viewer may add, edit, close or reopen the poll
    /// ([`policy::check_manage_poll`]).
    pub fn can_manage_poll(&self) -> bool {
        self.ctx
            .user
            .as_ref()
            .is_some_and(|u| policy::check_manage_poll(self.access(), u, &self.thread).is_ok())
    }
    /// Whether the viewer may unmark `post`, the best answer ([`policy::check_choose_best`]).
    pub fn can_unmark_best(&self, post: &Post) -> bool {
        self.is_best(post) && self.perm.can_choose_best
    }
    /// Whether the viewer moderates this thread: merge it, move or split its posts
    /// ([`policy::moderates_thread`]).
    pub fn moderates(&self) -> bool {
        policy::moderates_thread(self.access(), &self.thread)
    }
    /// Whether the viewer may like `post` ([`policy::may_like`]).
    pub fn can_like(&self, post: &Post) -> bool {
        policy::may_like(self.access(), &self.thread, post)
    }
}

/// `/p/{id}/edit`.
#[derive(Template)]
#[template(path = "post_edit.html")]
pub struct EditPostPage {
    /// Layout.
    pub ctx: Ctx,
    /// The post.
    pub post: Post,
}

/// `/p/{id}/history`.
#[derive(Template)]
#[template(path = "post_history.html")]
pub struct HistoryPage {
    /// Layout.
    pub ctx: Ctx,
    /// The post.
    pub post: Post,
    /// Earlier versions.
    pub edits: Vec<Edit>,
}

/// `/login` and `/register`.
#[derive(Template)]
#[template(path = "auth.html")]
pub struct AuthPage {
    /// Layout.
    pub ctx: Ctx,
    /// `login` or `register`.
    pub mode: &'static str,
    /// An error to show.
    pub error: Option<String>,
    /// Username typed so far.
    pub username: String,
    /// E-mail typed so far.
    pub email: String,
    /// The registration form's signed time stamp (empty on the login form).
    pub stamp: String,
}

/// `/u/{id}/`.
#[derive(Template)]
#[template(path = "profile.html")]
pub struct ProfilePage {
    /// Layout.
    pub ctx: Ctx,
    /// The user.
    pub profile: Profile,
    /// Their threads.
    pub threads: Vec<ThreadSummary>,
    /// Their posts.
    pub posts: Vec<Post>,
}

/// `/account/password`.
#[derive(Template)]
#[template(path = "password.html")]
pub struct PasswordPage {
    /// Layout.
    pub ctx: Ctx,
    /// Error or success message.
    pub message: Option<String>,
}
