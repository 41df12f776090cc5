//! What the read cache holds and the generation that keeps it right: the entries of all kinds
//! (lists, thread pages, permissions, and each member's session, marks and visits), the
//! counters, and each member's reads version. [`super::ReadCache`] and its kinds of entries
//! load through [`Shared::lookup`], [`Shared::ticket`] and [`Shared::store`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::{DateTime, Utc};

use super::listener;
use super::metrics::CacheMetrics;
use crate::auth::{SessionKind, SessionMarks};
use crate::models::permissions::{Grants, PermissionTable, RoleKey};
use crate::models::polls::Poll;
use crate::models::posts::Post;
use crate::models::reads::Marks;
use crate::models::users::User;
use crate::models::visit::Own;
use crate::models::{CategoryTree, ThreadSummary, TreeEntry};

/// How long a cached session is served before it is read again (which also refreshes the
/// user's `last_seen_at`, kept to the minute).
pub const SESSION_REFRESH: Duration = Duration::from_secs(60);

/// Members whose reads version is remembered at most; past it every version is forgotten
/// and the generation bumped, which voids every entry that used them.
const MAX_READERS: usize = 1_000_000;

/// The category tree with its display order computed once.
#[derive(Debug)]
pub struct TreeSnapshot {
    /// The tree.
    pub tree: CategoryTree,
    /// [`CategoryTree::flatten`] of it.
    pub flat: Vec<TreeEntry>,
}

/// A first page of threads as non-moderators see it (hidden threads left out).
#[derive(Debug)]
pub struct ThreadList {
    /// The threads.
    pub threads: Vec<ThreadSummary>,
    /// The cursor of the next page.
    pub next: Option<String>,
    /// Pinned threads (category pages only).
    pub pinned: Vec<ThreadSummary>,
}

/// The first page of a visible thread as an anonymous visitor sees it (no likes or votes of
/// their own).
#[derive(Debug)]
pub struct ThreadFirstPage {
    /// The thread.
    pub thread: ThreadSummary,
    /// Its first posts.
    pub posts: Vec<Post>,
    /// The best answer, unless deleted.
    pub best: Option<Post>,
    /// Its poll (its `ended` flag must be recomputed from `ends_at` when shown).
    pub poll: Option<Poll>,
}

impl ThreadFirstPage {
    /// Roughly the memory it holds: the texts of its posts.
    pub(super) fn weight(&self) -> usize {
        let post = |p: &Post| p.body.len() + p.body_html.len() + 256;
        self.posts.iter().map(post).sum::<usize>() + self.best.as_ref().map_or(0, post) + 1024
    }
}

/// What is cached, all of one generation.
#[derive(Default)]
pub(super) struct Entries {
    pub(super) generation: u64,
    pub(super) tree: Option<Arc<TreeSnapshot>>,
    pub(super) permissions: Option<Arc<PermissionTable>>,
    pub(super) grants: HashMap<RoleKey, Arc<Grants>>,
    pub(super) newest: HashMap<RoleKey, Arc<ThreadList>>,
    pub(super) newest_json: HashMap<RoleKey, Bytes>,
    pub(super) categories: HashMap<(RoleKey, i64), Arc<ThreadList>>,
    pub(super) threads: HashMap<i64, Arc<ThreadFirstPage>>,
    pub(super) threads_weight: usize,
    pub(super) sessions: HashMap<SessionKey, Arc<CachedSession>>,
    pub(super) marks: HashMap<MarksKey, Arc<CachedMarks>>,
    pub(super) visits: HashMap<VisitKey, Arc<CachedVisit>>,
}

impl Entries {
    pub(super) fn clear(&mut self, generation: u64) {
        *self = Entries {
            generation,
            ..Entries::default()
        };
    }
}

/// Counters of the cache (tests and diagnostics).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Reads answered from memory.
    pub hits: u64,
    /// Reads that went to PostgreSQL (misses and reads while the cache is off).
    pub misses: u64,
    /// The current generation.
    pub generation: u64,
    /// Times the LISTEN connection was (re)established.
    pub connects: u64,
}

/// The state shared with the listener task.
#[derive(Default)]
pub(super) struct Shared {
    /// Whether entries may be served: the LISTEN connection is up.
    pub(super) enabled: AtomicBool,
    pub(super) generation: AtomicU64,
    /// Hits, misses, connections and whether it serves, as `/metrics` shows them.
    pub(super) metrics: CacheMetrics,
    pub(super) entries: Mutex<Entries>,
    /// Each member's reads version ([`marks`]); locked after `entries` when both are.
    pub(super) reads: Mutex<ReadVersions>,
}

impl Shared {
    /// Looks an entry up with `pick`; None (a miss) when the cache is off or holds none of the
    /// current generation.
    pub(super) fn lookup<T>(&self, pick: impl FnOnce(&Entries) -> Option<T>) -> Option<T> {
        let found = if self.enabled.load(Ordering::SeqCst) {
            let generation = self.generation.load(Ordering::SeqCst);
            let mut entries = self.entries();
            if entries.generation != generation {
                entries.clear(generation);
                None
            } else {
                pick(&entries)
            }
        } else {
            None
        };
        let counter = if found.is_some() {
            &self.metrics.hits
        } else {
            &self.metrics.misses
        };
        counter.inc();
        found
    }

    pub(super) fn ticket(&self) -> Ticket {
        // Generation first: if the cache is turned on in between, the bump on enabling voids
        // this ticket.
        let generation = self.generation.load(Ordering::SeqCst);
        Ticket(self.enabled.load(Ordering::SeqCst).then_some(generation))
    }

    /// Stores with `put` what was loaded under `ticket`, unless a write happened since.
    pub(super) fn store(&self, ticket: Ticket, put: impl FnOnce(&mut Entries)) {
        let Ticket(Some(generation)) = ticket else {
            return;
        };
        let mut entries = self.entries();
        if !self.enabled.load(Ordering::SeqCst)
            || self.generation.load(Ordering::SeqCst) != generation
        {
            return;
        }
        if entries.generation != generation {
            entries.clear(generation);
        }
        put(&mut entries);
    }

    pub(super) fn entries(&self) -> MutexGuard<'_, Entries> {
        // A panic while holding the lock cannot leave the maps inconsistent (every change is a
        // single assignment or insert), so a poisoned lock is still usable.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Turns the cache on (LISTEN is in place): everything loaded before is dropped.
    pub(super) fn enable(&self) {
        self.invalidate();
        self.metrics.connects.inc();
        self.enabled.store(true, Ordering::SeqCst);
        self.metrics.listening.set(1);
    }

    /// Turns the cache off (LISTEN lost) and frees what it held.
    pub(super) fn disable(&self) {
        self.enabled.store(false, Ordering::SeqCst);
        self.metrics.listening.set(0);
        self.invalidate();
        let generation = self.generation.load(Ordering::SeqCst);
        self.entries().clear(generation);
    }
}

impl listener::Switch for Shared {
    fn enable(&self) {
        Shared::enable(self);
    }
    fn disable(&self) {
        Shared::disable(self);
    }
    fn invalidate(&self) {
        Shared::invalidate(self);
    }
    fn reads_changed(&self, user_id: i64) {
        Shared::reads_changed(self, user_id);
    }
}

/// A permission to store what is about to be loaded: the generation when the load began, or
/// None when the cache is off.
#[derive(Clone, Copy, Debug)]
pub(super) struct Ticket(pub(super) Option<u64>);

/// A [`Ticket`] for what is one member's own (their marks, their visits): also their reads
/// version when it was taken, which a lookup must match and a store must still find.
#[derive(Clone, Copy, Debug)]
pub(super) struct MemberTicket {
    ticket: Ticket,
    user_id: i64,
    /// The member's reads version when the ticket was taken.
    pub(super) version: u64,
}

/// Inserts `key` into `map`, first emptying it when it holds `cap` entries already (the
/// bound of every kind of entry: refilled as it is asked for again).
pub(super) fn insert_capped<K: std::hash::Hash + Eq, V>(
    map: &mut HashMap<K, V>,
    cap: usize,
    key: K,
    value: V,
) {
    if map.len() >= cap {
        map.clear();
    }
    map.insert(key, value);
}

/// The key of a session: its token's hash and kind.
pub(super) type SessionKey = (String, SessionKind);

/// A session as cached.
#[derive(Debug)]
pub(super) struct CachedSession {
    pub(super) user: User,
    pub(super) marks: SessionMarks,
    pub(super) expires_at: DateTime<Utc>,
    pub(super) read_at: Instant,
}

impl CachedSession {
    /// Whether it may still be served at `now`.
    pub(super) fn fresh(&self, now: DateTime<Utc>) -> bool {
        self.expires_at > now && self.read_at.elapsed() < SESSION_REFRESH
    }
}

/// The key of a member's marks of a list: the member, and a fingerprint of their "all read"
/// mark and of each thread's id, category and last activity.
pub(super) type MarksKey = (i64, u64);

/// Marks as cached, with the member's reads version they were loaded under.
#[derive(Debug)]
pub(super) struct CachedMarks {
    pub(super) version: u64,
    pub(super) marks: Marks,
}

/// The reads version of each member whose read marks changed since the process started.
#[derive(Debug, Default)]
pub(super) struct ReadVersions {
    pub(super) last: u64,
    pub(super) of: HashMap<i64, u64>,
}

impl Shared {
    fn read_versions(&self) -> std::sync::MutexGuard<'_, ReadVersions> {
        // Every change is a single insert or clear: a poisoned lock is still consistent.
        self.reads.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The current reads version of `user_id`.
    pub(super) fn reads_version(&self, user_id: i64) -> u64 {
        self.read_versions().of.get(&user_id).copied().unwrap_or(0)
    }

    /// A ticket for a load of what is `user_id`'s own: take it before the lookup, so the
    /// lookup and the store see the same reads version.
    pub(super) fn member_ticket(&self, user_id: i64) -> MemberTicket {
        // Generation first, as in `ticket`: forgetting the versions bumps it.
        let ticket = self.ticket();
        MemberTicket {
            ticket,
            user_id,
            version: self.reads_version(user_id),
        }
    }

    /// As [`Shared::store`], unless the member's reads version also moved since `ticket`.
    pub(super) fn store_member(&self, ticket: MemberTicket, put: impl FnOnce(&mut Entries)) {
        self.store(ticket.ticket, |e| {
            if self.reads_version(ticket.user_id) == ticket.version {
                put(e);
            }
        });
    }

    /// The read marks of `user_id` changed: their cached marks are stale.
    pub(super) fn reads_changed(&self, user_id: i64) {
        let mut versions = self.read_versions();
        if versions.of.len() >= MAX_READERS {
            versions.of.clear();
            // Entries loaded under a forgotten version must not match it again.
            self.generation.fetch_add(1, Ordering::SeqCst);
        }
        versions.last += 1;
        let version = versions.last;
        versions.of.insert(user_id, version);
    }
}

/// The key of a visit: the member and the thread.
pub(super) type VisitKey = (i64, i64);

/// A member's own on a thread's first page, as read under `version`.
#[derive(Debug)]
pub(super) struct CachedVisit {
    pub(super) version: u64,
    pub(super) last_post: Option<i64>,
    pub(super) poll: Option<i64>,
    pub(super) own: Own,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::users::Role;

    fn session(expires_in: chrono::Duration, read_ago: Duration) -> CachedSession {
        CachedSession {
            user: User {
                id: 1,
                username: "alice".into(),
                role: Role::Member,
                banned_until: None,
                custom_roles: Vec::new(),
            },
            marks: SessionMarks::default(),
            expires_at: Utc::now() + expires_in,
            read_at: Instant::now() - read_ago,
        }
    }

    #[test]
    fn a_cached_session_is_served_until_it_expires_or_is_a_minute_old() {
        let now = Utc::now();
        assert!(session(chrono::Duration::hours(1), Duration::ZERO).fresh(now));
        assert!(!session(chrono::Duration::seconds(-1), Duration::ZERO).fresh(now));
        assert!(
            !session(
                chrono::Duration::hours(1),
                SESSION_REFRESH + Duration::from_secs(1)
            )
            .fresh(now)
        );
    }

    #[test]
    fn a_members_reads_version_moves_on_each_change_and_only_theirs() {
        let shared = Shared::default();
        assert_eq!(shared.reads_version(7), 0);
        shared.reads_changed(7);
        let first = shared.reads_version(7);
        assert_ne!(first, 0);
        assert_eq!(shared.reads_version(8), 0);
        shared.reads_changed(7);
        assert_ne!(shared.reads_version(7), first);
    }
}
