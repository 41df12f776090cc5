//! Values that pages show at a glance and that may lag a few seconds, kept in memory so the
//! hot pages do not query for them: who is online (for the index) and the edit time limit (to
//! show or hide Edit buttons). Each is reloaded after [`Glance::ttl`]; a change through this
//! process forgets the old value at once. They are never used to decide: every edit checks
//! the limit in the database ([`crate::models::post_actions::check_may_edit`]).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use deadpool_postgres::Pool;

use crate::error::AppError;
use crate::models::edit_limit;
use crate::models::members::{self, Member};

/// Who is online, as loaded.
#[derive(Clone, Debug, Default)]
pub struct Online {
    /// The first members seen in the last minutes, most recent first.
    pub members: Vec<Member>,
    /// How many they are in all.
    pub total: i64,
}

impl Online {
    /// How many are online beyond those listed.
    pub fn more(&self) -> i64 {
        self.total - self.members.len() as i64
    }
}

/// The short-lived values of one process.
#[derive(Debug)]
pub struct Glance {
    ttl: Duration,
    online: Mutex<Option<(Instant, Arc<Online>)>>,
    edit_limit: Mutex<Option<(Instant, i64)>>,
}

impl Default for Glance {
    fn default() -> Glance {
        Glance::new(Duration::from_secs(15))
    }
}

fn fresh<T: Clone>(slot: &Mutex<Option<(Instant, T)>>, ttl: Duration) -> Option<T> {
    let guard = slot.lock().unwrap_or_else(|e| e.into_inner());
    guard
        .as_ref()
        .filter(|(at, _)| at.elapsed() < ttl)
        .map(|(_, v)| v.clone())
}

fn store<T>(slot: &Mutex<Option<(Instant, T)>>, value: T) {
    *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), value));
}

impl Glance {
    /// Values kept for `ttl`.
    pub fn new(ttl: Duration) -> Glance {
        Glance {
            ttl,
            online: Mutex::new(None),
            edit_limit: Mutex::new(None),
        }
    }

    /// How long a value is kept.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Who is online ([`members::online`]), at most [`Glance::ttl`] old.
    pub async fn online(&self, pool: &Pool) -> Result<Arc<Online>, AppError> {
        if let Some(v) = fresh(&self.online, self.ttl) {
            return Ok(v);
        }
        let client = pool.get().await?;
        let (members, total) = members::online(&client).await?;
        let v = Arc::new(Online { members, total });
        store(&self.online, v.clone());
        Ok(v)
    }

    /// The edit time limit in minutes ([`edit_limit::get`]), at most [`Glance::ttl`] old.
    pub async fn edit_limit(&self, pool: &Pool) -> Result<i64, AppError> {
        if let Some(v) = fresh(&self.edit_limit, self.ttl) {
            return Ok(v);
        }
        let client = pool.get().await?;
        let v = edit_limit::get(&client).await?;
        store(&self.edit_limit, v);
        Ok(v)
    }

    /// Forgets the edit time limit (it was just changed through this process).
    pub fn forget_edit_limit(&self) {
        *self.edit_limit.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}
