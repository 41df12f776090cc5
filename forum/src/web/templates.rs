//! The compile-time (askama) templates of the pages; every value is HTML-escaped unless the
//! template marks it `|safe` (only post bodies, sanitised by [`crate::markdown`]). The error
//! page is `http::error_page`'s; the admin panel's are beside its handlers.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::auth::Viewer;
use crate::models::policy;
use crate::models::polls::Poll;
use crate::models::posts::{self, Edit, Post};
use crate::models::reads::Marks;
use crate::models::search::SearchHit;
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
    /// Categories (for the move form).
    pub tree: Vec<TreeEntry>,
    /// Whether the viewer watches the thread.
    pub watching: bool,
}

impl ThreadPage {
    /// Whether the viewer may mark `post` as the best answer.
    pub fn can_mark_best(&self, post: &Post) -> bool {
        self.category.is_question
            && post.id != self.first_post_id
            && !post.is_deleted
            && self.thread.best_answer_post_id != Some(post.id)
            && self
                .ctx
                .user
                .as_ref()
                .is_some_and(|u| posts::may_choose_best(u, self.thread.user_id))
    }
    /// Whether `post` is the thread's best answer.
    pub fn is_best(&self, post: &Post) -> bool {
        self.thread.best_answer_post_id == Some(post.id)
    }
    /// Whether the viewer may edit `post` ([`policy::may_edit`]).
    pub fn can_edit(&self, post: &Post) -> bool {
        policy::may_edit(self.ctx.user.as_ref(), &self.thread, post)
    }
    /// Whether the viewer may delete `post` ([`policy::check_delete`]).
    pub fn can_delete(&self, post: &Post) -> bool {
        self.ctx.user.as_ref().is_some_and(|u| {
            policy::check_delete(u, &self.thread, post, self.first_post_id).is_ok()
        })
    }
    /// Whether the viewer may like `post` ([`policy::may_like`]).
    pub fn can_like(&self, post: &Post) -> bool {
        policy::may_like(self.ctx.user.as_ref(), &self.thread, post)
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

/// `/search`.
#[derive(Template)]
#[template(path = "search.html")]
pub struct SearchPage {
    /// Layout.
    pub ctx: Ctx,
    /// The query.
    pub q: String,
    /// Hits.
    pub hits: Vec<SearchHit>,
}
