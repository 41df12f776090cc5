//! A member's visit to the first page of a thread that the read cache serves: the page is the
//! same for everyone who may read it, except what is the member's own. That (their likes among
//! its posts, their votes in its poll, whether they watch it) is read, and their read mark moved
//! to the page's last post, in one statement: one round trip and one execution, where reading
//! the page from PostgreSQL takes six.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;

use crate::error::AppError;
use crate::models::polls::Poll;
use crate::models::posts::Post;

/// What is the member's own on a thread's first page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Own {
    /// The posts of the page they like.
    pub liked: Vec<i64>,
    /// The poll choices they voted for.
    pub voted: Vec<i64>,
    /// Whether they watch the thread.
    pub watching: bool,
    /// Whether their read mark of the thread moved (the page had posts new to them).
    pub mark_moved: bool,
}

impl Own {
    /// Sets the member's likes on `posts` and their votes on `poll`.
    pub fn apply(&self, posts: &mut [Post], poll: Option<&mut Poll>) {
        for p in posts.iter_mut() {
            p.liked = self.liked.contains(&p.id);
        }
        if let Some(poll) = poll {
            for c in poll.choices.iter_mut() {
                c.mine = self.voted.contains(&c.id);
            }
            poll.voted = poll.choices.iter().any(|c| c.mine);
        }
    }
}

/// Reads what is `user_id`'s own on the first page of thread `thread_id` (its posts `post_ids`,
/// its poll `poll_id`) and moves their read mark of the thread to `last_post` (id and time of
/// the page's last post; a mark never moves back, and a page already read writes nothing and
/// locks no row).
pub async fn first_page(
    client: &impl GenericClient,
    user_id: i64,
    thread_id: i64,
    post_ids: &[i64],
    poll_id: Option<i64>,
    last_post: Option<(i64, DateTime<Utc>)>,
) -> Result<Own, AppError> {
    let stmt = client
        .prepare_cached(
            "WITH mark AS (
                INSERT INTO thread_reads (user_id, thread_id, last_read_post_id, read_at)
                SELECT $1, $2, $5, $6
                WHERE $5::bigint IS NOT NULL
                  AND NOT EXISTS (SELECT 1 FROM thread_reads r WHERE r.user_id = $1
                                  AND r.thread_id = $2 AND r.last_read_post_id >= $5)
                ON CONFLICT (user_id, thread_id) DO UPDATE
                   SET last_read_post_id = EXCLUDED.last_read_post_id, read_at = EXCLUDED.read_at
                   WHERE thread_reads.last_read_post_id < EXCLUDED.last_read_post_id
                RETURNING 1)
             SELECT ARRAY(SELECT post_id FROM post_likes WHERE user_id = $1 AND post_id = ANY($3)),
                    ARRAY(SELECT choice_id FROM poll_votes WHERE poll_id = $4 AND user_id = $1),
                    EXISTS (SELECT 1 FROM thread_watchers WHERE thread_id = $2 AND user_id = $1),
                    EXISTS (SELECT 1 FROM mark)",
        )
        .await?;
    let (last_id, last_at) = last_post.unzip();
    let row = client
        .query_one(
            &stmt,
            &[
                &user_id, &thread_id, &post_ids, &poll_id, &last_id, &last_at,
            ],
        )
        .await?;
    Ok(Own {
        liked: row.get(0),
        voted: row.get(1),
        watching: row.get(2),
        mark_moved: row.get(3),
    })
}
