//! Threads: lists newest activity first with keyset pagination, the thread itself, creation
//! (title + first post + optional poll) and moderation.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use serde::Serialize;
use tokio_postgres::Row;

use crate::error::AppError;
use crate::models::polls;
use crate::models::polls::NewPoll;
use crate::models::posts::{self, PostBody};
use crate::models::text::text_field;

/// A thread title: trimmed, 3 to 200 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadTitle(String);

impl ThreadTitle {
    /// The fewest characters a title may have.
    pub const MIN_CHARS: usize = 3;
    /// The most characters a title may have.
    pub const MAX_CHARS: usize = 200;

    /// Trims `s` and checks its length; 422 naming "the title" otherwise.
    pub fn parse(s: &str) -> Result<ThreadTitle, AppError> {
        text_field("the title", s, Self::MIN_CHARS, Self::MAX_CHARS).map(ThreadTitle)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A row of a thread list.
#[derive(Clone, Debug, Serialize)]
pub struct ThreadSummary {
    /// Its id.
    pub id: i64,
    /// Its title.
    pub title: String,
    /// Its category.
    pub category_id: i64,
    /// The category's name.
    pub category_name: String,
    /// The author (None once deleted).
    pub user_id: Option<i64>,
    /// The author's name.
    pub username: Option<String>,
    /// When it was started.
    pub created_at: DateTime<Utc>,
    /// Newest post.
    pub last_activity_at: DateTime<Utc>,
    /// Posts in it, the first included.
    pub post_count: i32,
    /// Pinned by a moderator.
    pub is_pinned: bool,
    /// Closed to replies.
    pub is_closed: bool,
    /// Hidden by a moderator.
    pub is_hidden: bool,
    /// The best answer, in question categories.
    pub best_answer_post_id: Option<i64>,
}

pub(crate) const SUMMARY_COLUMNS: &str =
    "t.id, t.title, t.category_id, c.name, t.user_id, u.username, t.created_at,
    t.last_activity_at, t.post_count, t.is_pinned, t.is_closed, t.is_hidden, t.best_answer_post_id";

impl ThreadSummary {
    pub(crate) fn from_row(r: &Row) -> ThreadSummary {
        ThreadSummary {
            id: r.get(0),
            title: r.get(1),
            category_id: r.get(2),
            category_name: r.get(3),
            user_id: r.get(4),
            username: r.get(5),
            created_at: r.get(6),
            last_activity_at: r.get(7),
            post_count: r.get(8),
            is_pinned: r.get(9),
            is_closed: r.get(10),
            is_hidden: r.get(11),
            best_answer_post_id: r.get(12),
        }
    }

    /// The cursor of the page after this row.
    pub fn cursor(&self) -> String {
        Cursor {
            at: self.last_activity_at,
            id: self.id,
        }
        .to_string()
    }
}

/// A keyset position in a list ordered by `(last_activity_at, id)` descending.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    /// Activity time of the last row seen.
    pub at: DateTime<Utc>,
    /// Id of the last row seen.
    pub id: i64,
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}_{}", self.at.timestamp_micros(), self.id)
    }
}

impl Cursor {
    /// Parses `micros_id`; anything else is a 422.
    pub fn parse(s: &str) -> Result<Cursor, AppError> {
        let bad = || AppError::invalid("invalid `after` cursor");
        let (micros, id) = s.split_once('_').ok_or_else(bad)?;
        let at =
            DateTime::from_timestamp_micros(micros.parse().map_err(|_| bad())?).ok_or_else(bad)?;
        Ok(Cursor {
            at,
            id: id.parse().map_err(|_| bad())?,
        })
    }

    /// Before everything: the first page.
    pub fn start() -> Cursor {
        Cursor {
            at: DateTime::<Utc>::MAX_UTC,
            id: i64::MAX,
        }
    }
}

/// A page of threads, newest activity first: in `categories` (all when None), after `cursor`.
/// Returns the rows and the cursor of the next page.
pub async fn list(
    client: &impl GenericClient,
    categories: Option<&[i64]>,
    cursor: Option<Cursor>,
    limit: i64,
    include_hidden: bool,
) -> Result<(Vec<ThreadSummary>, Option<String>), AppError> {
    let c = cursor.unwrap_or_else(Cursor::start);
    let fetch = limit + 1;
    // The visibility filter is spelled out (not a parameter) so the planner can use the partial
    // index on visible threads; each variant is its own cached statement.
    let hidden = if include_hidden {
        ""
    } else {
        "AND NOT t.is_hidden"
    };
    let rows = match categories {
        None => {
            let stmt = client
                .prepare_cached(&format!(
                    "SELECT {SUMMARY_COLUMNS} FROM threads t
                     JOIN categories c ON c.id = t.category_id LEFT JOIN users u ON u.id = t.user_id
                     WHERE (t.last_activity_at, t.id) < ($1, $2) {hidden}
                     ORDER BY t.last_activity_at DESC, t.id DESC LIMIT $3"
                ))
                .await?;
            client.query(&stmt, &[&c.at, &c.id, &fetch]).await?
        }
        Some(ids) => {
            let stmt = client
                .prepare_cached(&format!(
                    "SELECT {SUMMARY_COLUMNS} FROM threads t
                     JOIN categories c ON c.id = t.category_id LEFT JOIN users u ON u.id = t.user_id
                     WHERE t.category_id = ANY($4) AND (t.last_activity_at, t.id) < ($1, $2) {hidden}
                     ORDER BY t.last_activity_at DESC, t.id DESC LIMIT $3"
                ))
                .await?;
            client.query(&stmt, &[&c.at, &c.id, &fetch, &ids]).await?
        }
    };
    let mut threads: Vec<ThreadSummary> = rows.iter().map(ThreadSummary::from_row).collect();
    let next = if threads.len() as i64 > limit {
        threads.truncate(limit as usize);
        threads.last().map(ThreadSummary::cursor)
    } else {
        None
    };
    Ok((threads, next))
}

/// Pinned threads of `categories` (shown above the first page).
pub async fn pinned(
    client: &impl GenericClient,
    categories: &[i64],
) -> Result<Vec<ThreadSummary>, AppError> {
    let stmt = client
        .prepare_cached(&format!(
            "SELECT {SUMMARY_COLUMNS} FROM threads t
             JOIN categories c ON c.id = t.category_id LEFT JOIN users u ON u.id = t.user_id
             WHERE t.category_id = ANY($1) AND t.is_pinned AND NOT t.is_hidden
             ORDER BY t.last_activity_at DESC LIMIT 20"
        ))
        .await?;
    Ok(client
        .query(&stmt, &[&categories])
        .await?
        .iter()
        .map(ThreadSummary::from_row)
        .collect())
}

/// The thread `id` (None if missing, or hidden from a non-moderator).
pub async fn get(
    client: &impl GenericClient,
    id: i64,
    include_hidden: bool,
) -> Result<Option<ThreadSummary>, AppError> {
    let stmt = client
        .prepare_cached(&format!(
            "SELECT {SUMMARY_COLUMNS} FROM threads t
             JOIN categories c ON c.id = t.category_id LEFT JOIN users u ON u.id = t.user_id
             WHERE t.id = $1 AND (NOT t.is_hidden OR $2)"
        ))
        .await?;
    Ok(client
        .query_opt(&stmt, &[&id, &include_hidden])
        .await?
        .as_ref()
        .map(ThreadSummary::from_row))
}

/// Threads started by `user_id`, newest first.
pub async fn by_user(
    client: &impl GenericClient,
    user_id: i64,
    limit: i64,
) -> Result<Vec<ThreadSummary>, AppError> {
    let stmt = client
        .prepare_cached(&format!(
            "SELECT {SUMMARY_COLUMNS} FROM threads t
             JOIN categories c ON c.id = t.category_id LEFT JOIN users u ON u.id = t.user_id
             WHERE t.user_id = $1 AND NOT t.is_hidden ORDER BY t.id DESC LIMIT $2"
        ))
        .await?;
    Ok(client
        .query(&stmt, &[&user_id, &limit])
        .await?
        .iter()
        .map(ThreadSummary::from_row)
        .collect())
}

/// Starts a thread in `category_id` (title, first post, optional poll) in one transaction the
/// caller commits. Returns the thread id.
pub async fn create(
    tx: &impl GenericClient,
    category_id: i64,
    user_id: i64,
    title: &ThreadTitle,
    body: &PostBody,
    poll: Option<&NewPoll>,
) -> Result<i64, AppError> {
    if tx
        .query_opt("SELECT 1 FROM categories WHERE id = $1", &[&category_id])
        .await?
        .is_none()
    {
        return Err(AppError::NotFound);
    }
    let row = tx
        .query_one(
            "INSERT INTO threads (category_id, user_id, title, last_poster_id) VALUES ($1, $2, $3, $2) RETURNING id",
            &[&category_id, &user_id, &title.as_str()],
        )
        .await?;
    let thread_id: i64 = row.get(0);
    tx.execute(
        "UPDATE categories SET thread_count = thread_count + 1 WHERE id = $1",
        &[&category_id],
    )
    .await?;
    tx.execute(
        "UPDATE users SET thread_count = thread_count + 1 WHERE id = $1",
        &[&user_id],
    )
    .await?;
    posts::insert(tx, thread_id, user_id, body).await?;
    if let Some(poll) = poll {
        polls::create(tx, thread_id, poll).await?;
    }
    Ok(thread_id)
}

/// A moderation action on a thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Moderation {
    /// Pin to the top of its category.
    Pin(bool),
    /// Close to replies.
    Close(bool),
    /// Hide from members.
    Hide(bool),
    /// Move to another category.
    Move(i64),
}

impl Moderation {
    /// Parses a form's `action` (and `category_id` for a move).
    pub fn parse(action: &str, category_id: Option<i64>) -> Result<Moderation, AppError> {
        Ok(match action {
            "pin" => Moderation::Pin(true),
            "unpin" => Moderation::Pin(false),
            "close" => Moderation::Close(true),
            "open" => Moderation::Close(false),
            "hide" => Moderation::Hide(true),
            "unhide" => Moderation::Hide(false),
            "move" => {
                Moderation::Move(category_id.ok_or_else(|| AppError::invalid("choose a category"))?)
            }
            _ => return Err(AppError::invalid("unknown moderation action")),
        })
    }
}

/// Applies `action` to thread `id`, keeping category counters right on a move.
pub async fn moderate(
    tx: &impl GenericClient,
    id: i64,
    action: Moderation,
) -> Result<(), AppError> {
    let n = match action {
        Moderation::Pin(v) => {
            tx.execute(
                "UPDATE threads SET is_pinned = $2 WHERE id = $1",
                &[&id, &v],
            )
            .await?
        }
        Moderation::Close(v) => {
            tx.execute(
                "UPDATE threads SET is_closed = $2 WHERE id = $1",
                &[&id, &v],
            )
            .await?
        }
        Moderation::Hide(v) => {
            tx.execute(
                "UPDATE threads SET is_hidden = $2 WHERE id = $1",
                &[&id, &v],
            )
            .await?
        }
        Moderation::Move(to) => {
            if tx
                .query_opt("SELECT 1 FROM categories WHERE id = $1", &[&to])
                .await?
                .is_none()
            {
                return Err(AppError::invalid("that category does not exist"));
            }
            let Some(row) = tx
                .query_opt(
                    "SELECT category_id, post_count FROM threads WHERE id = $1 FOR UPDATE",
                    &[&id],
                )
                .await?
            else {
                return Err(AppError::NotFound);
            };
            let (from, posts): (i64, i32) = (row.get(0), row.get(1));
            tx.execute(
                "UPDATE threads SET category_id = $2 WHERE id = $1",
                &[&id, &to],
            )
            .await?;
            tx.execute(
                "UPDATE categories SET thread_count = thread_count - 1, post_count = post_count - $2 WHERE id = $1",
                &[&from, &posts],
            )
            .await?;
            tx.execute(
                "UPDATE categories SET thread_count = thread_count + 1, post_count = post_count + $2,
                        last_activity_at = greatest(last_activity_at, now()) WHERE id = $1",
                &[&to, &posts],
            )
            .await?
        }
    };
    if n == 0 {
        return Err(AppError::NotFound);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_survives_a_round_trip() {
        let c = Cursor {
            at: DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap(),
            id: 42,
        };
        assert_eq!(Cursor::parse(&c.to_string()).unwrap(), c);
    }

    #[test]
    fn a_title_is_trimmed_and_needs_three_to_two_hundred_characters() {
        assert_eq!(ThreadTitle::parse("  Hello  ").unwrap().as_str(), "Hello");
        assert!(ThreadTitle::parse(" ab ").is_err());
        assert!(ThreadTitle::parse(&"x".repeat(200)).is_ok());
        let long = ThreadTitle::parse(&"x".repeat(201)).unwrap_err();
        assert_eq!(
            long.to_string(),
            "the title must have at most 200 characters"
        );
    }

    #[test]
    fn a_malformed_cursor_is_invalid_input() {
        for bad in ["", "x", "1_", "_1", "1'; DROP TABLE threads;--_1"] {
            assert!(
                matches!(Cursor::parse(bad), Err(AppError::Invalid(_))),
                "{bad}"
            );
        }
    }
}
