//! Posts: reply, edit (history kept), soft delete, like / unlike, best answer.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use serde::Serialize;
use tokio_postgres::Row;

use crate::error::AppError;
use crate::models::text::text_field;
use crate::models::users::User;

/// The Markdown text of a post: trimmed, 1 to 50,000 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostBody(String);

impl PostBody {
    /// The most characters a post may have.
    pub const MAX_CHARS: usize = 50_000;

    /// Trims `s` and checks its length and nesting (see [`crate::markdown`]); 422 naming
    /// "the message" otherwise.
    pub fn parse(s: &str) -> Result<PostBody, AppError> {
        let text = text_field("the message", s, 1, Self::MAX_CHARS)?;
        if crate::markdown::nesting_depth(&text) > crate::markdown::MAX_NESTING {
            return Err(AppError::invalid(
                crate::markdown::MarkdownError::TooDeep.to_string(),
            ));
        }
        Ok(PostBody(text))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A post as pages and the API show it.
#[derive(Clone, Debug, Serialize)]
pub struct Post {
    /// Its id.
    pub id: i64,
    /// Its thread.
    pub thread_id: i64,
    /// The author (None once deleted).
    pub user_id: Option<i64>,
    /// The author's name.
    pub username: Option<String>,
    /// The Markdown source.
    pub body: String,
    /// The sanitised HTML.
    pub body_html: String,
    /// When it was written.
    pub created_at: DateTime<Utc>,
    /// Last edit.
    pub edited_at: Option<DateTime<Utc>>,
    /// Soft-deleted.
    pub is_deleted: bool,
    /// Likes.
    pub like_count: i32,
    /// Whether the viewer likes it.
    pub liked: bool,
    /// The author's avatar URL path.
    pub avatar: Option<String>,
    /// A moderator hid its edit history from non-moderators.
    pub history_hidden: bool,
    /// The title of its thread (in lists of posts from many threads, such as a profile).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thread_title: Option<String>,
}

const POST_COLUMNS: &str =
    "p.id, p.thread_id, p.user_id, u.username, p.body, p.body_html, p.created_at,
    p.edited_at, p.is_deleted, p.like_count, u.avatar, p.history_hidden";

impl Post {
    fn from_row(r: &Row) -> Post {
        Post {
            id: r.get(0),
            thread_id: r.get(1),
            user_id: r.get(2),
            username: r.get(3),
            body: r.get(4),
            body_html: r.get(5),
            created_at: r.get(6),
            edited_at: r.get(7),
            is_deleted: r.get(8),
            like_count: r.get(9),
            avatar: r.get(10),
            history_hidden: r.get(11),
            liked: r.try_get("liked").unwrap_or(false),
            thread_title: r.try_get("thread_title").unwrap_or(None),
        }
    }

    /// Whether `user` may edit or delete it: its author (not banned) or a moderator.
    pub fn editable_by(&self, user: Option<&User>) -> bool {
        user.is_some_and(|u| !u.is_banned() && (u.is_moderator() || Some(u.id) == self.user_id))
    }
}

/// The HTML of `body`, rendered off the async threads; a refusal is a 422 about the body.
pub(crate) async fn render(body: &str) -> Result<String, AppError> {
    crate::markdown::render_off_runtime(body)
        .await
        .map_err(|e| AppError::Field {
            field: "body",
            message: e.to_string(),
        })
}

/// The HTML of `body` with its `@mentions` of existing members linked to their profiles
/// (see [`crate::mentions`]), rendered off the async threads.
pub(crate) async fn render_linked(
    client: &impl GenericClient,
    body: &str,
) -> Result<String, AppError> {
    let names = crate::mentions::names(body);
    if names.is_empty() {
        return render(body).await;
    }
    let members = crate::models::users::members_named(client, &names).await?;
    crate::markdown::render_with_mentions_off_runtime(body, members)
        .await
        .map_err(|e| AppError::Field {
            field: "body",
            message: e.to_string(),
        })
}

/// Inserts a post and updates the counters of its thread, category and author; the author
/// watches the thread if their preference says so.
pub async fn insert(
    tx: &impl GenericClient,
    thread_id: i64,
    user_id: i64,
    body: &PostBody,
) -> Result<i64, AppError> {
    let body = body.as_str();
    let html = render_linked(tx, body).await?;
    let row = tx
        .query_one(
            "INSERT INTO posts (thread_id, user_id, body, body_html) VALUES ($1, $2, $3, $4) RETURNING id",
            &[&thread_id, &user_id, &body, &html],
        )
        .await?;
    let id: i64 = row.get(0);
    crate::models::attachments::link_from_body(tx, id, user_id, body).await?;
    tx.execute(
        "WITH t AS (
            UPDATE threads SET post_count = post_count + 1, last_activity_at = now(), last_poster_id = $2
            WHERE id = $1 RETURNING category_id)
         UPDATE categories SET post_count = post_count + 1, last_activity_at = now()
         WHERE id = (SELECT category_id FROM t)",
        &[&thread_id, &user_id],
    )
    .await?;
    tx.execute(
        "UPDATE users SET post_count = post_count + 1 WHERE id = $1",
        &[&user_id],
    )
    .await?;
    tx.execute(
        "INSERT INTO thread_watchers (thread_id, user_id)
         SELECT $1, id FROM users WHERE id = $2 AND watch_on_post
         ON CONFLICT DO NOTHING",
        &[&thread_id, &user_id],
    )
    .await?;
    Ok(id)
}

/// Replies to `thread_id` as `user`; the caller checked [`crate::models::policy::check_reply`]
/// in the same transaction. Whom the reply notifies is the caller's
/// (`models::notifications::post_written`), in the same transaction.
pub async fn reply(
    tx: &impl GenericClient,
    thread_id: i64,
    user: &User,
    body: &PostBody,
) -> Result<i64, AppError> {
    insert(tx, thread_id, user.id, body).await
}

/// A page of posts of a thread (1-based), with the viewer's likes.
pub async fn page(
    client: &impl GenericClient,
    thread_id: i64,
    page: i64,
    per_page: i64,
    viewer_id: i64,
) -> Result<Vec<Post>, AppError> {
    let stmt = client
        .prepare_cached(&format!(
            "SELECT {POST_COLUMNS},
                    EXISTS (SELECT 1 FROM post_likes l WHERE l.post_id = p.id AND l.user_id = $4) AS liked
             FROM posts p LEFT JOIN users u ON u.id = p.user_id
             WHERE p.thread_id = $1 ORDER BY p.id LIMIT $2 OFFSET $3"
        ))
        .await?;
    let offset = (page.max(1) - 1).saturating_mul(per_page);
    Ok(client
        .query(&stmt, &[&thread_id, &per_page, &offset, &viewer_id])
        .await?
        .iter()
        .map(Post::from_row)
        .collect())
}

/// The post `id`.
pub async fn get(client: &impl GenericClient, id: i64) -> Result<Post, AppError> {
    let stmt = client
        .prepare_cached(&format!(
            "SELECT {POST_COLUMNS} FROM posts p LEFT JOIN users u ON u.id = p.user_id WHERE p.id = $1"
        ))
        .await?;
    client
        .query_opt(&stmt, &[&id])
        .await?
        .as_ref()
        .map(Post::from_row)
        .ok_or(AppError::NotFound)
}

/// The id of the first post of thread `thread_id` (0 when it has none).
pub async fn first_id(client: &impl GenericClient, thread_id: i64) -> Result<i64, AppError> {
    let stmt = client
        .prepare_cached("SELECT coalesce(min(id), 0) FROM posts WHERE thread_id = $1")
        .await?;
    Ok(client.query_one(&stmt, &[&thread_id]).await?.get(0))
}

/// How many posts of thread `thread_id` come before post `id` (its 0-based place).
pub async fn place_in_thread(
    client: &impl GenericClient,
    thread_id: i64,
    id: i64,
) -> Result<i64, AppError> {
    Ok(client
        .query_one(
            "SELECT count(*) FROM posts WHERE thread_id = $1 AND id < $2",
            &[&thread_id, &id],
        )
        .await?
        .get(0))
}

/// Posts written by `user_id` in the threads of `categories` (those the viewer may read),
/// newest first.
pub async fn by_user(
    client: &impl GenericClient,
    user_id: i64,
    limit: i64,
    categories: &[i64],
) -> Result<Vec<Post>, AppError> {
    let stmt = client
        .prepare_cached(&format!(
            "SELECT {POST_COLUMNS}, t.title AS thread_title
             FROM posts p LEFT JOIN users u ON u.id = p.user_id
             JOIN threads t ON t.id = p.thread_id
             WHERE p.user_id = $1 AND NOT p.is_deleted AND NOT t.is_hidden
               AND t.category_id = ANY($3) ORDER BY p.id DESC LIMIT $2"
        ))
        .await?;
    Ok(client
        .query(&stmt, &[&user_id, &limit, &categories])
        .await?
        .iter()
        .map(Post::from_row)
        .collect())
}

/// One earlier version of a post.
#[derive(Clone, Debug, Serialize)]
pub struct Edit {
    /// Who edited.
    pub username: Option<String>,
    /// The text before the edit.
    pub old_body: String,
    /// When.
    pub edited_at: DateTime<Utc>,
}

/// The edit history of post `id`, newest first.
pub async fn history(client: &impl GenericClient, id: i64) -> Result<Vec<Edit>, AppError> {
    let rows = client
        .query(
            "SELECT u.username, e.old_body, e.edited_at FROM post_edits e LEFT JOIN users u ON u.id = e.user_id
             WHERE e.post_id = $1 ORDER BY e.id DESC",
            &[&id],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| Edit {
            username: r.get(0),
            old_body: r.get(1),
            edited_at: r.get(2),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_is_trimmed_and_needs_one_to_fifty_thousand_characters() {
        assert_eq!(PostBody::parse(" hi \n").unwrap().as_str(), "hi");
        let empty = PostBody::parse("   ").unwrap_err();
        assert_eq!(
            empty.to_string(),
            "the message must have at least 1 characters"
        );
        assert!(PostBody::parse(&"é".repeat(PostBody::MAX_CHARS)).is_ok());
        assert!(PostBody::parse(&"é".repeat(PostBody::MAX_CHARS + 1)).is_err());
    }
}
