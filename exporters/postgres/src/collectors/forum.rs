//! The `forum_*` gauges: the business metrics of a forum database, in one statement.
//!
//! Two schemas are known: this project's forum (docs/contracts.md) and Misago 0.39. Each
//! preset is a single SQL statement returning one row, one column per gauge.

use super::{col, families_from_rows};
use crate::session::Session;
use crate::snapshot::{Family, Kind};

/// Which forum schema to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Preset {
    /// This project's forum (`users`, `threads`, `posts`, `categories`, `polls`, `poll_votes`,
    /// `attachments`).
    Forum,
    /// Misago 0.39 (`misago_users_user`, `misago_threads_*`, the `root_category` tree).
    Misago,
    /// No forum metrics.
    None,
}

impl Preset {
    /// The `collector` label value.
    pub fn name(self) -> &'static str {
        match self {
            Preset::Forum => "forum",
            Preset::Misago => "misago",
            Preset::None => "none",
        }
    }

    /// The statement of the preset.
    pub fn sql(self) -> &'static str {
        match self {
            Preset::Forum => FORUM_SQL,
            Preset::Misago => MISAGO_SQL,
            Preset::None => "",
        }
    }
}

// Private threads live in the category with id 0 (outside the tree): they count in
// `private_threads` only, not in threads, posts or categories.
const FORUM_SQL: &str = "SELECT u.*, \
    (SELECT count(*) FROM public.threads WHERE NOT is_hidden AND category_id <> 0) AS threads, \
    (SELECT count(*) FROM public.posts p JOIN public.threads t ON t.id = p.thread_id \
       WHERE NOT p.is_deleted AND t.category_id <> 0) AS posts, \
    (SELECT count(*) FROM public.threads WHERE category_id = 0) AS private_threads, \
    (SELECT count(*) FROM public.categories WHERE id <> 0) AS categories, \
    (SELECT count(*) FROM public.polls) AS polls, \
    (SELECT count(*) FROM public.poll_votes) AS poll_votes, \
    a.attachments, a.attachments_size_bytes \
  FROM (SELECT count(*) AS users, \
               count(*) FILTER (WHERE is_active) AS users_active, \
               count(*) FILTER (WHERE NOT is_active) AS users_awaiting_activation, \
               count(*) FILTER (WHERE created_at > now() - interval '24 hours') AS users_joined_last_24h, \
               count(*) FILTER (WHERE last_seen_at > now() - interval '5 minutes') AS users_online \
        FROM public.users) u, \
       (SELECT count(*) AS attachments, \
               COALESCE(sum(size_bytes), 0)::bigint AS attachments_size_bytes \
        FROM public.attachments) a";

// Public content is what lives in the `root_category` tree (private threads have a tree of
// their own); hidden and unapproved content is not counted. Misago writes what happens to a
// thread (closed, pinned, moved, ...) as a post with `is_event`: those are not posts.
const MISAGO_SQL: &str = "WITH tree AS ( \
      SELECT id, level FROM misago_categories_category \
      WHERE tree_id = (SELECT tree_id FROM misago_categories_category WHERE special_role = 'root_category' LIMIT 1)), \
    public_threads AS ( \
      SELECT id FROM misago_threads_thread \
      WHERE category_id IN (SELECT id FROM tree) AND NOT is_hidden AND NOT is_unapproved) \
  SELECT u.*, \
    (SELECT count(*) FROM misago_users_online WHERE last_click > now() - interval '5 minutes') AS users_online, \
    (SELECT count(*) FROM public_threads) AS threads, \
    (SELECT count(*) FROM misago_threads_thread WHERE category_id IN \
       (SELECT id FROM misago_categories_category WHERE special_role = 'private_threads')) AS private_threads, \
    (SELECT count(*) FROM misago_threads_post \
       WHERE thread_id IN (SELECT id FROM public_threads) AND NOT is_hidden AND NOT is_unapproved \
         AND NOT is_event) AS posts, \
    (SELECT count(*) FROM tree WHERE level > 0) AS categories, \
    (SELECT count(*) FROM misago_threads_poll WHERE thread_id IN (SELECT id FROM public_threads)) AS polls, \
    (SELECT count(*) FROM misago_threads_pollvote WHERE poll_id IN \
       (SELECT id FROM misago_threads_poll WHERE thread_id IN (SELECT id FROM public_threads))) AS poll_votes \
  FROM (SELECT count(*) AS users, \
               count(*) FILTER (WHERE is_active AND requires_activation = 0) AS users_active, \
               count(*) FILTER (WHERE requires_activation > 0) AS users_awaiting_activation, \
               count(*) FILTER (WHERE joined_on > now() - interval '24 hours') AS users_joined_last_24h \
        FROM misago_users_user) u";

/// Runs the preset's statement.
pub async fn collect(session: &Session, preset: Preset) -> Result<Vec<Family>, String> {
    if preset == Preset::None {
        return Ok(Vec::new());
    }
    let rows = session.query(preset.sql()).await?;
    Ok(families_from_rows(
        &rows,
        &[],
        &[
            col("users", "forum_users", Kind::Gauge, "Registered users"),
            col(
                "users_active",
                "forum_users_active",
                Kind::Gauge,
                "Users whose account is active",
            ),
            col(
                "users_awaiting_activation",
                "forum_users_awaiting_activation",
                Kind::Gauge,
                "Users who registered and have not activated their account",
            ),
            col(
                "users_joined_last_24h",
                "forum_users_joined_last_24h",
                Kind::Gauge,
                "Users who registered in the last 24 hours",
            ),
            col(
                "users_online",
                "forum_users_online",
                Kind::Gauge,
                "Users seen in the last 5 minutes",
            ),
            col(
                "threads",
                "forum_threads",
                Kind::Gauge,
                "Visible public threads",
            ),
            col(
                "posts",
                "forum_posts",
                Kind::Gauge,
                "Posts of public threads that are not deleted",
            ),
            col(
                "private_threads",
                "forum_private_threads",
                Kind::Gauge,
                "Private threads",
            ),
            col("categories", "forum_categories", Kind::Gauge, "Categories"),
            col("polls", "forum_polls", Kind::Gauge, "Polls"),
            col(
                "poll_votes",
                "forum_poll_votes",
                Kind::Gauge,
                "Votes cast in polls",
            ),
            col(
                "attachments",
                "forum_attachments",
                Kind::Gauge,
                "Attachments uploaded, linked to a post or not yet",
            ),
            col(
                "attachments_size_bytes",
                "forum_attachments_size_bytes",
                Kind::Gauge,
                "Bytes of the stored attachments (thumbnails left out)",
            ),
        ],
    ))
}
