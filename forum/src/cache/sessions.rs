//! Sessions in the read cache. Every request of a logged-in member needs its session's user
//! (with their role, custom roles and ban), the unread count of their bell and their "all
//! read" mark, which [`auth::load_session`] reads in one query. Kept here under the same
//! generation as every other entry, they let a member's cached page answer without any query,
//! as an anonymous visitor's does.
//!
//! They are never stale for the same reasons as the rest: a write through this process bumps
//! the generation, and whatever changes what they hold notifies `forum_cache` (migrations V10
//! and V13: sessions ended or changed, roles, bans, deactivation, "mark all read", a
//! notification added or read). Only a session's end in time is not a write: an entry is
//! served only before its session expires, and only for [`super::SESSION_REFRESH`] after it was read,
//! so the query that reads it again also refreshes `last_seen_at` about once a minute.
//!
//! Unknown tokens are never cached: a request with a made-up cookie costs what it always did,
//! and cannot fill memory.

use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use deadpool_postgres::Pool;

use super::ReadCache;
use super::entries::{CachedSession, SessionKey, insert_capped};
use crate::auth::{self, SessionKind, SessionMarks};
use crate::error::AppError;
use crate::models::users::User;

/// Sessions kept at most; past it they are all dropped and refilled as members come back.
pub(super) const MAX_SESSIONS: usize = 100_000;

impl ReadCache {
    /// The user of the live session of `kind` whose token is `token`, with their marks and
    /// the token's hash; None for no session, an expired one, or an inactive user.
    pub async fn session(
        &self,
        pool: &Pool,
        token: &str,
        kind: SessionKind,
    ) -> Result<Option<(User, String, SessionMarks)>, AppError> {
        let key: SessionKey = (auth::token_hash(token), kind);
        let now = Utc::now();
        let hit = self.lookup(|e| e.sessions.get(&key).filter(|s| s.fresh(now)).cloned());
        if let Some(s) = hit {
            return Ok(Some((s.user.clone(), key.0, s.marks)));
        }
        let ticket = self.ticket();
        let Some(loaded) = auth::load_session(pool, &key.0, kind).await? else {
            return Ok(None);
        };
        let cached = Arc::new(CachedSession {
            user: loaded.user.clone(),
            marks: loaded.marks,
            expires_at: loaded.expires_at,
            read_at: Instant::now(),
        });
        let hash = key.0.clone();
        self.store(ticket, |e| {
            insert_capped(&mut e.sessions, MAX_SESSIONS, key, cached);
        });
        Ok(Some((loaded.user, hash, loaded.marks)))
    }
}
