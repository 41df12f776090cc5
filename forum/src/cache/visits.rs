//! What is a member's own on a cached thread page, kept in the read cache. The first page of a
//! thread is served from memory to everyone who may read it; what is the member's own on it
//! (their likes among its posts, their votes in its poll, whether they watch it) and the move
//! of their read mark come in one statement ([`visit::first_page`]). Once their mark is at the
//! page's last post, a visit changes nothing, so what it read is kept here and the next visit
//! answers from memory.
//!
//! An entry belongs to the cache's generation (a like, a vote or a new post empties it with
//! everything else) and to the member's reads version (see [`super::marks`]): their watching
//! notifies channel `forum_reads` like their read marks (migration V13). It is kept only for
//! the page it was read with (its last post and poll) and never when the visit moved the mark.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;

use super::ReadCache;
use super::entries::{CachedVisit, VisitKey, insert_capped};
use crate::error::AppError;
use crate::models::visit::{self, Own};

/// Visits kept at most (one per member and thread they opened since the last write).
pub(super) const MAX_VISITS: usize = 100_000;

impl ReadCache {
    /// What is `user_id`'s own on the first page of `thread_id` (its posts `post_ids`, its poll
    /// `poll_id`, its last post `last_post`), moving their read mark there: see
    /// [`visit::first_page`]. From memory when nothing changed since their last visit.
    pub async fn visit_first_page(
        &self,
        pool: &Pool,
        user_id: i64,
        thread_id: i64,
        post_ids: &[i64],
        poll_id: Option<i64>,
        last_post: Option<(i64, DateTime<Utc>)>,
    ) -> Result<Own, AppError> {
        let key: VisitKey = (user_id, thread_id);
        let last_id = last_post.map(|(id, _)| id);
        let ticket = self.shared.member_ticket(user_id);
        let hit = self.lookup(|e| {
            e.visits
                .get(&key)
                .filter(|v| {
                    v.version == ticket.version && v.last_post == last_id && v.poll == poll_id
                })
                .map(|v| v.own.clone())
        });
        if let Some(own) = hit {
            return Ok(own);
        }
        let own = {
            let client = pool.get().await?;
            visit::first_page(&client, user_id, thread_id, post_ids, poll_id, last_post).await?
        };
        if own.mark_moved {
            // This visit wrote; the next one, which will not, is the one worth keeping.
            return Ok(own);
        }
        let cached = Arc::new(CachedVisit {
            version: ticket.version,
            last_post: last_id,
            poll: poll_id,
            own: own.clone(),
        });
        self.shared.store_member(ticket, |e| {
            insert_capped(&mut e.visits, MAX_VISITS, key, cached)
        });
        Ok(own)
    }
}
