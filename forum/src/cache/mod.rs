//! The read cache: the read models every page needs (the category tree, the first page of the
//! newest threads and of each category, the first page of a thread as an anonymous visitor sees
//! it), kept in memory so the hot pages do not touch PostgreSQL.
//!
//! It is never stale by design rather than by a TTL:
//! - every entry is tagged with the *generation* current when its load began, and is served only
//!   while the generation is unchanged; a load that raced with a write is not stored;
//! - a write through this process bumps the generation as soon as its request is answered
//!   (`http::middleware::invalidate_after_writes`), so the writer's next read sees its write;
//! - every committed change by any process (web, api, worker, CLI, psql) notifies channel
//!   `forum_cache` (triggers of migration V4); each process LISTENs on one connection of its own
//!   ([`listener`]) and bumps the generation on every notification;
//! - while that connection is down the cache is off (every read goes to PostgreSQL), and on
//!   reconnecting the generation is bumped again, since notifications were missed meanwhile.
//!
//! Data, not HTML, is cached: pages still render the viewer's own header and CSRF token. The
//! sessions of logged-in members are kept too ([`sessions`]), their new and unread marks of
//! the lists ([`marks`]) and what is their own on thread pages ([`visits`]), so their pages
//! need no query either.
//!
//! Permissions: what a viewer may see depends on their set of roles (see
//! [`crate::models::permissions`]), of which a forum has a handful (guests, members,
//! moderators, and members with custom roles). The permission settings are cached once; each
//! set of roles gets its resolved [`Grants`] (with its view of the category tree and its
//! counts), and the thread lists (newest threads, `/api/threads/`, category pages) are kept
//! per set of roles, so a viewer is only ever served the list of their own roles. A thread's
//! first page is the same for everyone who may read it: it is kept once, and the pages check
//! the viewer's permission before serving it. A change of permissions or roles notifies like
//! any other write (triggers of migration V10).

mod entries;
mod listener;
mod marks;
mod metrics;
mod sessions;
mod visits;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use deadpool_postgres::Pool;

use crate::error::AppError;
use crate::models::permissions::{Grants, PermissionTable, RoleKey};
use crate::models::{CategoryTree, polls, posts, threads};

pub use entries::{CacheStats, SESSION_REFRESH, ThreadFirstPage, ThreadList, TreeSnapshot};
use entries::{Entries, Shared, Ticket, insert_capped};
pub use listener::{CHANNEL, ListenerConfig, READS_CHANNEL};
pub use metrics::CacheMetrics;

/// Bytes of post text the cached thread pages may hold in all; past it they are dropped and
/// refilled, so memory stays bounded whatever the threads' sizes.
const THREAD_PAGES_BUDGET: usize = 64 * 1024 * 1024;
/// Category pages kept at most (there is one per category and set of roles; the cap bounds a
/// huge tree).
const MAX_CATEGORY_PAGES: usize = 4096;
/// Sets of roles whose views are kept at most (a forum has a handful; the cap bounds memory
/// whatever administrators assign).
const MAX_ROLE_SETS: usize = 256;

/// The read cache of one process (cheap to share behind an `Arc`).
pub struct ReadCache {
    shared: Arc<Shared>,
    listener: Option<tokio::task::AbortHandle>,
}

impl std::fmt::Debug for ReadCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadCache")
            .field("stats", &self.stats())
            .field("listening", &self.is_listening())
            .finish()
    }
}

impl Drop for ReadCache {
    fn drop(&mut self) {
        if let Some(task) = &self.listener {
            task.abort();
        }
    }
}

impl ReadCache {
    /// A cache that is always off: every read goes to PostgreSQL.
    pub fn disabled() -> ReadCache {
        ReadCache {
            shared: Arc::new(Shared::default()),
            listener: None,
        }
    }

    /// A cache kept right by a LISTEN connection made from `config` (spawned on the current
    /// tokio runtime), counting into `metrics`. It is off until that connection is listening.
    pub fn start(config: ListenerConfig, metrics: CacheMetrics) -> ReadCache {
        let shared = Arc::new(Shared {
            metrics,
            ..Shared::default()
        });
        let task = tokio::spawn(listener::run(shared.clone(), config));
        ReadCache {
            shared,
            listener: Some(task.abort_handle()),
        }
    }

    /// Whether entries are served now (the LISTEN connection is up).
    pub fn is_listening(&self) -> bool {
        self.shared.enabled.load(Ordering::SeqCst)
    }

    /// Counters.
    pub fn stats(&self) -> CacheStats {
        let s = &self.shared;
        CacheStats {
            hits: s.metrics.hits.get(),
            misses: s.metrics.misses.get(),
            generation: s.generation.load(Ordering::SeqCst),
            connects: s.metrics.connects.get(),
        }
    }

    /// Drops everything cached: called after every write of this process.
    pub fn invalidate(&self) {
        self.shared.invalidate();
    }

    /// Waits until the cache is on, at most `timeout`; returns whether it is.
    pub async fn wait_listening(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while !self.is_listening() {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        true
    }

    /// Looks an entry up with `pick`; None (a miss) when the cache is off or holds none of the
    /// current generation.
    fn lookup<T>(&self, pick: impl FnOnce(&Entries) -> Option<T>) -> Option<T> {
        self.shared.lookup(pick)
    }

    /// A permission to store what is about to be loaded.
    fn ticket(&self) -> Ticket {
        self.shared.ticket()
    }

    /// Stores with `put` what was loaded under `ticket`, unless a write happened since.
    fn store(&self, ticket: Ticket, put: impl FnOnce(&mut Entries)) {
        self.shared.store(ticket, put);
    }

    /// The category tree.
    pub async fn tree(&self, pool: &Pool) -> Result<Arc<TreeSnapshot>, AppError> {
        if let Some(t) = self.lookup(|e| e.tree.clone()) {
            return Ok(t);
        }
        let ticket = self.ticket();
        let tree = self.load_tree(pool).await?;
        self.store(ticket, |e| e.tree = Some(tree.clone()));
        Ok(tree)
    }

    /// The category tree read from PostgreSQL now (for ids the cached tree does not know yet).
    pub async fn load_tree(&self, pool: &Pool) -> Result<Arc<TreeSnapshot>, AppError> {
        let client = pool.get().await?;
        let tree = CategoryTree::load(&client).await?;
        let flat = tree.flatten();
        Ok(Arc::new(TreeSnapshot { tree, flat }))
    }

    /// What the roles of `key` may do, resolved from the cached permission settings.
    pub async fn grants(&self, pool: &Pool, key: &RoleKey) -> Result<Arc<Grants>, AppError> {
        if let Some(g) = self.lookup(|e| e.grants.get(key).cloned()) {
            return Ok(g);
        }
        let ticket = self.ticket();
        let table = match self.lookup(|e| e.permissions.clone()) {
            Some(t) => t,
            None => {
                let client = pool.get().await?;
                let table = Arc::new(PermissionTable::load(&client).await?);
                self.store(ticket, |e| e.permissions = Some(table.clone()));
                table
            }
        };
        let grants = Arc::new(table.grants(key));
        self.store(ticket, |e| {
            insert_capped(&mut e.grants, MAX_ROLE_SETS, key.clone(), grants.clone());
        });
        Ok(grants)
    }

    /// The first page of the newest threads of the categories `grants` sees, as those who
    /// do not moderate them see it (hidden threads left out).
    pub async fn newest(
        &self,
        pool: &Pool,
        grants: &Grants,
        limit: i64,
    ) -> Result<Arc<ThreadList>, AppError> {
        let key = grants.key();
        if let Some(l) = self.lookup(|e| e.newest.get(key).cloned()) {
            return Ok(l);
        }
        let ticket = self.ticket();
        let client = pool.get().await?;
        let seen = (!grants.sees_all()).then(|| grants.seen());
        let (threads, next) = threads::list(&client, seen, None, limit, false).await?;
        let list = Arc::new(ThreadList {
            threads,
            next,
            pinned: Vec::new(),
        });
        self.store(ticket, |e| {
            insert_capped(&mut e.newest, MAX_ROLE_SETS, key.clone(), list.clone());
        });
        Ok(list)
    }

    /// [`ReadCache::newest`] as the JSON body of `GET /api/threads/`.
    pub async fn newest_json(
        &self,
        pool: &Pool,
        grants: &Grants,
        limit: i64,
    ) -> Result<Bytes, AppError> {
        let key = grants.key();
        if let Some(b) = self.lookup(|e| e.newest_json.get(key).cloned()) {
            return Ok(b);
        }
        let ticket = self.ticket();
        let list = self.newest(pool, grants, limit).await?;
        let body =
            serde_json::to_vec(&serde_json::json!({ "results": list.threads, "next": list.next }))
                .map_err(|e| AppError::Internal(e.into()))?;
        let body = Bytes::from(body);
        self.store(ticket, |e| {
            insert_capped(&mut e.newest_json, MAX_ROLE_SETS, key.clone(), body.clone());
        });
        Ok(body)
    }

    /// The first page of category `id` with the subcategories `grants` sees (`ids`: the
    /// subtree as it sees it), and its pinned threads, as those who do not moderate it see it.
    pub async fn category_page(
        &self,
        pool: &Pool,
        grants: &Grants,
        id: i64,
        ids: &[i64],
        limit: i64,
    ) -> Result<Arc<ThreadList>, AppError> {
        let key = (grants.key().clone(), id);
        if let Some(l) = self.lookup(|e| e.categories.get(&key).cloned()) {
            return Ok(l);
        }
        let ticket = self.ticket();
        let client = pool.get().await?;
        let (threads, next) = threads::list(&client, Some(ids), None, limit, false).await?;
        let pinned = threads::pinned(&client, ids).await?;
        let list = Arc::new(ThreadList {
            threads,
            next,
            pinned,
        });
        self.store(ticket, |e| {
            insert_capped(&mut e.categories, MAX_CATEGORY_PAGES, key, list.clone());
        });
        Ok(list)
    }

    /// The first page of thread `id` as an anonymous visitor who may read it sees it; None
    /// when it does not exist, is hidden or is private. The caller checks that the viewer may
    /// read it ([`crate::models::policy::check_read_thread`]) before showing it.
    pub async fn thread_page(
        &self,
        pool: &Pool,
        id: i64,
        per_page: i64,
    ) -> Result<Option<Arc<ThreadFirstPage>>, AppError> {
        if let Some(p) = self.lookup(|e| e.threads.get(&id).cloned()) {
            return Ok(Some(p));
        }
        let ticket = self.ticket();
        let client = pool.get().await?;
        let Some(thread) = threads::get(&client, id, false)
            .await?
            .filter(|t| t.category_id != crate::models::permissions::PRIVATE_CATEGORY)
        else {
            return Ok(None);
        };
        let posts = posts::page(&client, id, 1, per_page, 0).await?;
        let best = match thread.best_answer_post_id {
            Some(b) => posts::get(&client, b).await.ok().filter(|p| !p.is_deleted),
            None => None,
        };
        let poll = polls::for_thread(&client, id, 0).await?;
        let page = Arc::new(ThreadFirstPage {
            thread,
            posts,
            best,
            poll,
        });
        let weight = page.weight();
        self.store(ticket, |e| {
            if e.threads_weight + weight > THREAD_PAGES_BUDGET {
                e.threads.clear();
                e.threads_weight = 0;
            }
            if let Some(old) = e.threads.insert(id, page.clone()) {
                e.threads_weight -= old.weight();
            }
            e.threads_weight += weight;
        });
        Ok(Some(page))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on() -> ReadCache {
        let c = ReadCache::disabled();
        c.shared.enable();
        c
    }

    fn list(n: usize) -> Arc<ThreadList> {
        Arc::new(ThreadList {
            threads: Vec::with_capacity(n),
            next: Some(n.to_string()),
            pinned: Vec::new(),
        })
    }

    fn cached_next(c: &ReadCache) -> Option<Option<String>> {
        c.lookup(|e| e.newest.get(&RoleKey::guest()).map(|l| l.next.clone()))
    }

    fn put(e: &mut Entries, l: Arc<ThreadList>) {
        e.newest.insert(RoleKey::guest(), l);
    }

    #[test]
    fn an_entry_is_served_until_the_next_write() {
        let c = on();
        let t = c.ticket();
        c.store(t, |e| put(e, list(1)));
        assert_eq!(cached_next(&c), Some(Some("1".into())));
        c.invalidate();
        assert_eq!(cached_next(&c), None);
    }

    #[test]
    fn each_set_of_roles_is_served_its_own_list_and_a_write_drops_them_all() {
        use crate::models::users::{Role, User};
        let c = on();
        let member = User {
            id: 1,
            username: "m".into(),
            role: Role::Member,
            banned_until: None,
            custom_roles: vec![7],
        };
        let (guest, staff) = (RoleKey::guest(), RoleKey::of(Some(&member)));
        let t = c.ticket();
        c.store(t, |e| {
            e.newest.insert(guest.clone(), list(1));
            e.newest.insert(staff.clone(), list(2));
        });
        let next = |k: &RoleKey| c.lookup(|e| e.newest.get(k).map(|l| l.next.clone()));
        assert_eq!(next(&guest), Some(Some("1".into())));
        assert_eq!(next(&staff), Some(Some("2".into())));
        let plain = RoleKey::of(Some(&User {
            custom_roles: vec![],
            ..member.clone()
        }));
        assert_eq!(
            next(&plain),
            None,
            "a member without the custom role has no entry yet"
        );
        c.invalidate();
        assert_eq!(next(&staff), None);
    }

    #[test]
    fn a_load_that_raced_with_a_write_is_not_stored() {
        let c = on();
        let t = c.ticket();
        c.invalidate(); // a write committed while the load ran
        c.store(t, |e| put(e, list(1)));
        assert_eq!(cached_next(&c), None);
        let t = c.ticket();
        c.store(t, |e| put(e, list(2)));
        assert_eq!(cached_next(&c), Some(Some("2".into())));
    }

    #[test]
    fn nothing_is_served_or_stored_while_off_and_turning_on_voids_older_loads() {
        let c = ReadCache::disabled();
        let t = c.ticket();
        c.store(t, |e| put(e, list(1)));
        assert_eq!(cached_next(&c), None);
        let c = on();
        let t = c.ticket();
        c.store(t, |e| put(e, list(1)));
        c.shared.disable();
        assert_eq!(cached_next(&c), None, "off: not served");
        let stale = c.ticket();
        c.shared.enable();
        c.store(stale, |e| put(e, list(3)));
        assert_eq!(cached_next(&c), None, "loaded while off: not stored");
        assert_eq!(c.stats().connects, 2);
    }
}
