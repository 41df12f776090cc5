//! A member's new and unread marks of a cached list, kept in the read cache. A list page of a
//! member who has not read everything asks PostgreSQL about their marks of its threads
//! ([`reads::marks`]); kept here, the next view of the same list answers from memory.
//!
//! The marks depend on the list (the threads, their categories and last activity), on the
//! member's "all read" mark, and on their read marks of threads and categories. The first two
//! make the key. The read marks change when the member reads a thread, which writes no content
//! and must not empty everyone's cache: each member has a *reads version* instead, bumped when
//! their read marks change (by this process at once, by any other through channel
//! [`super::READS_CHANNEL`], whose payload is the member's id: triggers of migration V13),
//! and an entry is served only while the version it was loaded under is current. Entries also
//! belong to the cache's generation like all others, so any write still empties them.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash as _, Hasher as _};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;

use super::ReadCache;
use super::entries::{CachedMarks, MarksKey, insert_capped};
use crate::error::AppError;
use crate::models::reads::{self, Marks};
use crate::models::threads::ThreadSummary;

/// Marks kept at most (one per member and list they viewed since the last write).
pub(super) const MAX_MARKS: usize = 100_000;
/// The fingerprint of a list as its marks depend on it.
fn fingerprint(all_before: DateTime<Utc>, threads: &[&ThreadSummary]) -> u64 {
    let mut h = DefaultHasher::new();
    all_before.hash(&mut h);
    for t in threads {
        (t.id, t.category_id, t.last_activity_at).hash(&mut h);
    }
    h.finish()
}

impl ReadCache {
    /// The marks of `threads` for `user_id`, who read everything before `all_before` (see
    /// [`reads::marks`]), from memory when this list was asked for since their last read.
    pub async fn marks(
        &self,
        pool: &Pool,
        user_id: i64,
        all_before: DateTime<Utc>,
        threads: &[&ThreadSummary],
    ) -> Result<Marks, AppError> {
        let key: MarksKey = (user_id, fingerprint(all_before, threads));
        // Taken before the query: a read mark that moves meanwhile voids what it loads.
        let ticket = self.shared.member_ticket(user_id);
        let hit = self.lookup(|e| {
            e.marks
                .get(&key)
                .filter(|m| m.version == ticket.version)
                .map(|m| m.marks.clone())
        });
        if let Some(marks) = hit {
            return Ok(marks);
        }
        let marks = {
            let client = pool.get().await?;
            reads::marks(&client, user_id, all_before, threads).await?
        };
        let cached = Arc::new(CachedMarks {
            version: ticket.version,
            marks: marks.clone(),
        });
        self.shared.store_member(ticket, |e| {
            insert_capped(&mut e.marks, MAX_MARKS, key, cached)
        });
        Ok(marks)
    }

    /// The read marks of `user_id` changed through this process (a thread page moved them):
    /// their lists must show it on their next view, before the notification comes back.
    pub fn reads_changed(&self, user_id: i64) {
        self.shared.reads_changed(user_id);
    }
}
