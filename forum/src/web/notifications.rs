//! The pages of notifications, watching and unread tracking: `/notifications` (mark one or all
//! read), `/notifications/{id}/` (open one), `/watched`, `POST /t/{id}/watch`, `/unread`,
//! `POST /unread/mark-read`, `POST /c/{id}/mark-read`, `/t/{id}/unread` (the first unread
//! post) and the preferences at `/account/notifications`.

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::auth::Viewer;
use crate::error::{AppError, AppResult};
use crate::http::parse_id;
use crate::models::notifications::{self, Item, Which};
use crate::models::preferences::{self, EmailPreference, Preferences};
use crate::models::reads::{self, Marks};
use crate::models::visibility;
use crate::models::{ThreadSummary, posts, watching};
use crate::state::AppState;
use crate::web::forms::CsrfForm;
use crate::web::templates::{self as t, Ctx};

/// `/notifications`.
#[derive(Template)]
#[template(path = "notifications.html")]
pub struct NotificationsPage {
    /// Layout.
    pub ctx: Ctx,
    /// The newest notifications.
    pub items: Vec<Item>,
    /// How many are unread.
    pub unread: i64,
}

/// `/watched` and `/unread`: a list of threads with marks.
#[derive(Template)]
#[template(path = "thread_marks.html")]
pub struct ThreadMarksPage {
    /// Layout.
    pub ctx: Ctx,
    /// `watched` or `unread`.
    pub which: &'static str,
    /// The threads.
    pub threads: Vec<ThreadSummary>,
    /// Their marks.
    pub marks: Marks,
}

/// `/account/notifications`.
#[derive(Template)]
#[template(path = "notification_settings.html")]
pub struct SettingsPage {
    /// Layout.
    pub ctx: Ctx,
    /// The current preferences.
    pub prefs: Preferences,
    /// The choices of e-mail.
    pub choices: [EmailPreference; 3],
    /// Saved.
    pub saved: bool,
}

/// `GET /notifications`.
pub async fn notifications_index(
    State(state): State<AppState>,
    viewer: Viewer,
) -> AppResult<Response> {
    let user = viewer.require_user()?;
    let client = state.pool.get().await?;
    let (items, unread) = tokio::try_join!(
        notifications::list(&client, user),
        notifications::unread_count(&client, user.id)
    )?;
    let mut ctx = Ctx::new(&viewer, "Notifications");
    ctx.notifications = unread;
    Ok(t::page(&NotificationsPage { ctx, items, unread }))
}

/// The mark-read form: one `id`, or `all`.
#[derive(Debug, Deserialize)]
pub struct ReadForm {
    /// CSRF token.
    #[serde(default)]
    pub csrf: String,
    /// One notification.
    #[serde(default)]
    pub id: Option<String>,
    /// Any value: all of them.
    #[serde(default)]
    pub all: Option<String>,
}

/// `POST /notifications/read`: 303 back to the list.
pub async fn notifications_read(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<ReadForm>,
) -> AppResult<Response> {
    viewer.check_csrf(&form.csrf)?;
    let user = viewer.require_user()?;
    let which = match (form.all.as_deref(), form.id.as_deref()) {
        (Some(_), _) => Which::All,
        (None, Some(id)) => Which::Ids(vec![
            id.parse()
                .map_err(|_| AppError::invalid("id must be a number"))?,
        ]),
        (None, None) => return Err(AppError::invalid("say which notifications: id or all")),
    };
    let client = state.pool.get().await?;
    notifications::mark_read(&client, user.id, &which).await?;
    Ok(Redirect::to("/notifications").into_response())
}

/// `GET /notifications/{id}/`: marks it read and goes to its post or thread.
pub async fn notification_open(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    let user = viewer.require_user()?;
    let client = state.pool.get().await?;
    let item = notifications::open(&client, user, id).await?;
    // A read through GET: the bell of the page it leads to must count it read at once.
    state.cache.invalidate();
    Ok(Redirect::to(&item.url()).into_response())
}

/// `GET /watched`.
pub async fn watched_index(State(state): State<AppState>, viewer: Viewer) -> AppResult<Response> {
    let user = viewer.require_user()?;
    let client = state.pool.get().await?;
    let threads = watching::watched(&client, user).await?;
    let marks = match viewer.marks.read_all_before {
        Some(before) => {
            let refs: Vec<&ThreadSummary> = threads.iter().collect();
            reads::marks(&client, user.id, before, &refs).await?
        }
        None => Marks::default(),
    };
    Ok(t::page(&ThreadMarksPage {
        ctx: Ctx::new(&viewer, "Watched threads"),
        which: "watched",
        threads,
        marks,
    }))
}

/// The watch form.
#[derive(Debug, Deserialize)]
pub struct WatchForm {
    /// CSRF token.
    #[serde(default)]
    pub csrf: String,
    /// `false` to stop watching; anything else watches.
    #[serde(default)]
    pub watch: String,
}

/// `POST /t/{id}/watch`: 303 back to the thread.
pub async fn thread_watch(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<WatchForm>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    viewer.check_csrf(&form.csrf)?;
    let user = viewer.require_user()?;
    let client = state.pool.get().await?;
    if form.watch == "false" {
        watching::unwatch(&client, user.id, id).await?;
    } else {
        watching::watch(&client, user, id).await?;
    }
    Ok(Redirect::to(&format!("/t/{id}/")).into_response())
}

/// `GET /unread`: new and unread threads.
pub async fn unread_index(State(state): State<AppState>, viewer: Viewer) -> AppResult<Response> {
    let user = viewer.require_user()?;
    let client = state.pool.get().await?;
    let before = match viewer.marks.read_all_before {
        Some(b) => b,
        None => reads::all_read_before(&client, user.id).await?,
    };
    let found = reads::unread_threads(&client, user, before).await?;
    let marks = Marks(found.iter().map(|(t, m)| (t.id, *m)).collect());
    Ok(t::page(&ThreadMarksPage {
        ctx: Ctx::new(&viewer, "Unread threads"),
        which: "unread",
        threads: found.into_iter().map(|(t, _)| t).collect(),
        marks,
    }))
}

/// `POST /unread/mark-read`: everything read; 303 to `/`.
pub async fn mark_all_read(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<CsrfForm>,
) -> AppResult<Response> {
    viewer.check_csrf(&form.csrf)?;
    let user = viewer.require_user()?;
    let client = state.pool.get().await?;
    reads::mark_all_read(&client, user.id).await?;
    Ok(Redirect::to("/").into_response())
}

/// `POST /c/{id}/mark-read`: the category and its subcategories read; 303 back.
pub async fn category_mark_read(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    viewer.check_csrf(&form.csrf)?;
    let user = viewer.require_user()?;
    let tree = state.cache.load_tree(&state.pool).await?;
    tree.tree.get(id).ok_or(AppError::NotFound)?;
    let ids = tree.tree.subtree_ids(id);
    let client = state.pool.get().await?;
    reads::mark_categories_read(&client, user.id, &ids).await?;
    Ok(Redirect::to(&format!("/c/{id}/")).into_response())
}

/// `GET /t/{id}/unread`: to the first post the viewer has not read (the last post when all
/// are read; the thread's start for anonymous visitors).
pub async fn thread_first_unread(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    let Some(user) = viewer.user.as_ref() else {
        return Ok(Redirect::to(&format!("/t/{id}/")).into_response());
    };
    let client = state.pool.get().await?;
    visibility::visible_thread(&client, id, viewer.access()).await?;
    let before = match viewer.marks.read_all_before {
        Some(b) => b,
        None => reads::all_read_before(&client, user.id).await?,
    };
    let Some(post) = reads::first_unread(&client, user.id, id, before).await? else {
        return Ok(Redirect::to(&format!("/t/{id}/")).into_response());
    };
    let place = posts::place_in_thread(&client, id, post).await?;
    let page = place / state.config.posts_per_page + 1;
    Ok(Redirect::to(&format!("/t/{id}/?page={page}#post-{post}")).into_response())
}

/// `GET /account/notifications`.
pub async fn settings_form(State(state): State<AppState>, viewer: Viewer) -> AppResult<Response> {
    let user = viewer.require_user()?;
    let client = state.pool.get().await?;
    let prefs = preferences::get(&client, user.id).await?;
    Ok(t::page(&SettingsPage {
        ctx: Ctx::new(&viewer, "Notification settings"),
        prefs,
        choices: EmailPreference::ALL,
        saved: false,
    }))
}

/// The preferences form.
#[derive(Debug, Deserialize)]
pub struct SettingsForm {
    /// CSRF token.
    #[serde(default)]
    pub csrf: String,
    /// `instant`, `digest` or `never`.
    #[serde(default)]
    pub notify_email: String,
    /// Present (checked): posting watches.
    #[serde(default)]
    pub watch_on_post: Option<String>,
}

/// `POST /account/notifications`: the page again with "saved", 422 for an unknown choice.
pub async fn settings_save(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<SettingsForm>,
) -> AppResult<Response> {
    viewer.check_csrf(&form.csrf)?;
    let user = viewer.require_user()?;
    let prefs = Preferences {
        notify_email: EmailPreference::parse(&form.notify_email)?,
        watch_on_post: form.watch_on_post.is_some(),
    };
    let client = state.pool.get().await?;
    preferences::set(&client, user.id, &prefs).await?;
    Ok(t::page(&SettingsPage {
        ctx: Ctx::new(&viewer, "Notification settings"),
        prefs,
        choices: EmailPreference::ALL,
        saved: true,
    }))
}

impl ThreadMarksPage {
    /// Whether the list is empty.
    pub fn empty(&self) -> bool {
        self.threads.is_empty()
    }
    /// The heading.
    pub fn heading(&self) -> &'static str {
        if self.which == "watched" {
            "Watched threads"
        } else {
            "Unread threads"
        }
    }
}

/// The routes of these pages.
pub fn routes() -> axum::Router<AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/notifications", get(notifications_index))
        .route("/notifications/read", post(notifications_read))
        .route("/notifications/{id}/", get(notification_open))
        .route("/watched", get(watched_index))
        .route("/t/{id}/watch", post(thread_watch))
        .route("/t/{id}/unread", get(thread_first_unread))
        .route("/unread", get(unread_index))
        .route("/unread/mark-read", post(mark_all_read))
        .route("/c/{id}/mark-read", post(category_mark_read))
        .route(
            "/account/notifications",
            get(settings_form).post(settings_save),
        )
}
