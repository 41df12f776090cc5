//! Moderators reorganise threads: merge a thread into another, move posts to another thread,
//! split posts into a new thread. Every check is [`policy::check_moderate_thread`] (and
//! [`policy::check_moderate_category`] for a split's category), made inside the caller's
//! transaction with the threads locked, so a refused action changes nothing.
//!
//! Posts keep their ids, so a thread lists them in time order wherever they came from, and
//! `/p/{id}/` still finds each one. After each action the counters are computed again from the
//! posts, as the recount job would: the threads' post counts, last activity and last poster,
//! their starter and start (those of their first post), the categories' counters and the
//! starters' thread counts. A best answer that left its thread, became its first post, or sits
//! in a category without best answers is unmarked. The search index follows by itself (it is
//! generated from each post's text and its thread's title).
//!
//! Merging thread B into A: B's posts join A's in time order; A keeps its poll and best answer,
//! taking B's when it has none (both having a poll is a 409: delete one first); B's watchers
//! watch A; B disappears and its page `/t/B/` redirects (301) to `/t/A/` while the API answers
//! 404 for it. Moving or splitting never takes a thread's first post (409): it opens the thread.

use crate::models::visibility;
use deadpool_postgres::GenericClient;

use crate::error::AppError;
use crate::models::threads::{self, ThreadTitle};
use crate::models::users::User;
use crate::models::{ThreadSummary, policy};

/// The most posts one move or split takes.
pub const MAX_POSTS: usize = 500;

/// Locks threads `ids` (in id order, so two actions cannot deadlock) and checks that `user`
/// moderates each; returns them in the order of `ids`.
async fn lock_moderated(
    tx: &impl GenericClient,
    user: &User,
    ids: &[i64],
) -> Result<Vec<ThreadSummary>, AppError> {
    let mut sorted = ids.to_vec();
    sorted.sort_unstable();
    for id in &sorted {
        if tx
            .query_opt("SELECT 1 FROM threads WHERE id = $1 FOR UPDATE", &[id])
            .await?
            .is_none()
        {
            return Err(AppError::NotFound);
        }
    }
    let grants = visibility::grants_of(tx, user).await?;
    let access = policy::Access::new(Some(user), &grants);
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let thread = threads::get(tx, *id, true)
            .await?
            .ok_or(AppError::NotFound)?;
        policy::check_moderate_thread(access, &thread)?;
        out.push(thread);
    }
    Ok(out)
}

/// Recomputes what depends on where posts are: of threads `thread_ids`, categories
/// `category_ids` and the starters before and after.
async fn resync(
    tx: &impl GenericClient,
    thread_ids: &[i64],
    category_ids: &[i64],
    mut user_ids: Vec<i64>,
) -> Result<(), AppError> {
    tx.execute(
        "UPDATE threads t SET post_count = s.n, last_activity_at = s.last_at,
                last_poster_id = s.last_user, user_id = s.first_user, created_at = s.first_at
         FROM (SELECT thread_id, count(*)::int AS n, max(created_at) AS last_at,
                      (array_agg(user_id ORDER BY id DESC))[1] AS last_user,
                      (array_agg(user_id ORDER BY id))[1] AS first_user,
                      (array_agg(created_at ORDER BY id))[1] AS first_at
               FROM posts WHERE thread_id = ANY($1) GROUP BY thread_id) s
         WHERE t.id = s.thread_id",
        &[&thread_ids],
    )
    .await?;
    tx.execute(
        "UPDATE threads t SET best_answer_post_id = NULL
         WHERE t.id = ANY($1) AND t.best_answer_post_id IS NOT NULL AND (
             NOT EXISTS (SELECT 1 FROM posts p WHERE p.id = t.best_answer_post_id AND p.thread_id = t.id)
             OR t.best_answer_post_id = (SELECT min(id) FROM posts p WHERE p.thread_id = t.id)
             OR NOT (SELECT is_question FROM categories c WHERE c.id = t.category_id))",
        &[&thread_ids],
    )
    .await?;
    tx.execute(
        "UPDATE categories c SET thread_count = coalesce(s.threads, 0),
                post_count = coalesce(s.posts, 0), last_activity_at = s.last
         FROM categories c2 LEFT JOIN (
             SELECT category_id, count(*)::int AS threads, sum(post_count)::int AS posts,
                    max(last_activity_at) AS last
             FROM threads WHERE NOT is_hidden AND category_id = ANY($1) GROUP BY category_id
         ) s ON s.category_id = c2.id
         WHERE c.id = c2.id AND c2.id = ANY($1)",
        &[&category_ids],
    )
    .await?;
    let starters = tx
        .query(
            "SELECT user_id FROM threads WHERE id = ANY($1) AND user_id IS NOT NULL",
            &[&thread_ids],
        )
        .await?;
    user_ids.extend(starters.iter().map(|r| r.get::<_, i64>(0)));
    tx.execute(
        "UPDATE users u SET thread_count =
             (SELECT count(*)::int FROM threads WHERE user_id = u.id AND NOT is_hidden)
         WHERE u.id = ANY($1)",
        &[&user_ids],
    )
    .await?;
    Ok(())
}

/// Merges thread `source` into thread `target` as `user` (see the module's docs).
pub async fn merge(
    tx: &impl GenericClient,
    user: &User,
    source: i64,
    target: i64,
) -> Result<(), AppError> {
    if source == target {
        return Err(AppError::invalid("a thread cannot be merged into itself"));
    }
    let locked = lock_moderated(tx, user, &[source, target]).await?;
    let (from, to) = (&locked[0], &locked[1]);
    let polls: i64 = tx
        .query_one(
            "SELECT count(*) FROM polls WHERE thread_id = ANY($1)",
            &[&vec![source, target]],
        )
        .await?
        .get(0);
    if polls > 1 {
        return Err(AppError::Conflict(
            "both threads have a poll: delete one of them first".into(),
        ));
    }
    tx.execute(
        "UPDATE posts SET thread_id = $2 WHERE thread_id = $1",
        &[&source, &target],
    )
    .await?;
    tx.execute(
        "UPDATE polls SET thread_id = $2 WHERE thread_id = $1",
        &[&source, &target],
    )
    .await?;
    if to.best_answer_post_id.is_none() && from.best_answer_post_id.is_some() {
        tx.execute(
            "UPDATE threads SET best_answer_post_id = $2 WHERE id = $1",
            &[&target, &from.best_answer_post_id],
        )
        .await?;
    }
    tx.execute(
        "INSERT INTO thread_watchers (thread_id, user_id)
         SELECT $2, user_id FROM thread_watchers WHERE thread_id = $1 ON CONFLICT DO NOTHING",
        &[&source, &target],
    )
    .await?;
    tx.execute(
        "UPDATE moderation_queue SET thread_id = $2 WHERE thread_id = $1",
        &[&source, &target],
    )
    .await?;
    // Earlier merges into the source now lead to the target too.
    tx.execute(
        "UPDATE thread_redirects SET thread_id = $2 WHERE thread_id = $1",
        &[&source, &target],
    )
    .await?;
    tx.execute(
        "INSERT INTO thread_redirects (old_thread_id, thread_id) VALUES ($1, $2)",
        &[&source, &target],
    )
    .await?;
    tx.execute("DELETE FROM threads WHERE id = $1", &[&source])
        .await?;
    let users: Vec<i64> = from.user_id.into_iter().chain(to.user_id).collect();
    resync(tx, &[target], &[from.category_id, to.category_id], users).await
}

/// The thread a merged thread's old id leads to, if any.
pub async fn redirect(client: &impl GenericClient, old_id: i64) -> Result<Option<i64>, AppError> {
    Ok(client
        .query_opt(
            "SELECT thread_id FROM thread_redirects WHERE old_thread_id = $1",
            &[&old_id],
        )
        .await?
        .map(|r| r.get(0)))
}

/// Checks that `post_ids` (deduplicated, 1 to [`MAX_POSTS`]) are posts of `thread`, not its
/// first; returns them sorted.
async fn posts_of(
    tx: &impl GenericClient,
    thread: i64,
    post_ids: &[i64],
) -> Result<Vec<i64>, AppError> {
    let mut ids = post_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() || ids.len() > MAX_POSTS {
        return Err(AppError::Field {
            field: "posts",
            message: format!("choose 1 to {MAX_POSTS} posts"),
        });
    }
    let row = tx
        .query_one(
            "SELECT count(*) FILTER (WHERE id = ANY($2)),
                    coalesce(min(id), 0)
             FROM posts WHERE thread_id = $1",
            &[&thread, &ids],
        )
        .await?;
    let (found, first): (i64, i64) = (row.get(0), row.get(1));
    if found as usize != ids.len() {
        return Err(AppError::Field {
            field: "posts",
            message: "those posts are not all in this thread".into(),
        });
    }
    if ids.contains(&first) {
        return Err(AppError::Conflict(
            "the first post opens the thread and stays in it; merge the thread instead".into(),
        ));
    }
    Ok(ids)
}

/// Moves posts `post_ids` of thread `source` into thread `target`, in time order among its
/// posts; their authors watch the target.
pub async fn move_posts(
    tx: &impl GenericClient,
    user: &User,
    source: i64,
    post_ids: &[i64],
    target: i64,
) -> Result<(), AppError> {
    if source == target {
        return Err(AppError::Field {
            field: "thread_id",
            message: "the posts are in that thread already".into(),
        });
    }
    let locked = lock_moderated(tx, user, &[source, target]).await?;
    let ids = posts_of(tx, source, post_ids).await?;
    move_into(tx, &ids, target).await?;
    let users: Vec<i64> = locked.iter().filter_map(|t| t.user_id).collect();
    let categories: Vec<i64> = locked.iter().map(|t| t.category_id).collect();
    resync(tx, &[source, target], &categories, users).await
}

async fn move_into(tx: &impl GenericClient, ids: &[i64], target: i64) -> Result<(), AppError> {
    tx.execute(
        "UPDATE posts SET thread_id = $2 WHERE id = ANY($1)",
        &[&ids, &target],
    )
    .await?;
    tx.execute(
        "INSERT INTO thread_watchers (thread_id, user_id)
         SELECT DISTINCT $2::bigint, user_id FROM posts WHERE id = ANY($1) AND user_id IS NOT NULL
         ON CONFLICT DO NOTHING",
        &[&ids, &target],
    )
    .await?;
    Ok(())
}

/// Splits posts `post_ids` of thread `source` into a new thread titled `title` in category
/// `category_id`; returns its id. Its starter is the author of its first post.
pub async fn split(
    tx: &impl GenericClient,
    user: &User,
    source: i64,
    post_ids: &[i64],
    title: &ThreadTitle,
    category_id: i64,
) -> Result<i64, AppError> {
    let locked = lock_moderated(tx, user, &[source]).await?;
    let from = &locked[0];
    if tx
        .query_opt("SELECT 1 FROM categories WHERE id = $1", &[&category_id])
        .await?
        .is_none()
    {
        return Err(AppError::Field {
            field: "category_id",
            message: "that category does not exist".into(),
        });
    }
    let grants = visibility::grants_of(tx, user).await?;
    policy::check_moderate_category(policy::Access::new(Some(user), &grants), category_id)?;
    let ids = posts_of(tx, source, post_ids).await?;
    let row = tx
        .query_one(
            "INSERT INTO threads (category_id, title) VALUES ($1, $2) RETURNING id",
            &[&category_id, &title.as_str()],
        )
        .await?;
    let id: i64 = row.get(0);
    move_into(tx, &ids, id).await?;
    let users: Vec<i64> = from.user_id.into_iter().collect();
    resync(tx, &[source, id], &[from.category_id, category_id], users).await?;
    Ok(id)
}
