//! Duplicate suppression: a notification whose key (group key, status, fingerprints) was
//! accepted within the window is acknowledged and not delivered again. Covers Alertmanager's
//! retries and the second Alertmanager of an HA pair. Bounded: at most `capacity` keys.
//! Requests with the same key are handled one at a time ([`Dedup::serialize`]): the second of
//! an HA pair waits for the first to be stored, so it is never told "duplicate" for a
//! notification whose storing then failed.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type Keys = (HashMap<String, Instant>, VecDeque<(Instant, String)>);

/// The set of recently accepted keys.
#[derive(Debug)]
pub struct Dedup {
    window: Duration,
    capacity: usize,
    inner: Mutex<Keys>,
    in_flight: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// Held while a notification with this key is being handled.
pub struct KeyGuard<'a> {
    owner: &'a Dedup,
    key: String,
    lock: Arc<tokio::sync::Mutex<()>>,
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Drop for KeyGuard<'_> {
    fn drop(&mut self) {
        self.guard.take();
        let mut map = self.owner.in_flight.lock().expect("dedup lock");
        // Only the map and this guard hold it: nobody waits, forget it.
        if Arc::strong_count(&self.lock) <= 2 {
            map.remove(&self.key);
        }
    }
}

impl Dedup {
    /// Keys are remembered for `window` (zero disables), at most `capacity` of them.
    pub fn new(window: Duration, capacity: usize) -> Dedup {
        Dedup {
            window,
            capacity,
            inner: Mutex::new((HashMap::new(), VecDeque::new())),
            in_flight: Mutex::default(),
        }
    }

    /// Waits until no other request with `key` is being handled, and holds that until dropped.
    pub async fn serialize(&self, key: &str) -> KeyGuard<'_> {
        let lock = self
            .in_flight
            .lock()
            .expect("dedup lock")
            .entry(key.to_string())
            .or_default()
            .clone();
        let guard = lock.clone().lock_owned().await;
        KeyGuard {
            owner: self,
            key: key.to_string(),
            lock,
            guard: Some(guard),
        }
    }

    /// Claims `key`: true if it is new (the caller delivers it), false for a duplicate.
    pub fn claim(&self, key: &str) -> bool {
        if self.window.is_zero() {
            return true;
        }
        let now = Instant::now();
        let mut guard = self.inner.lock().expect("dedup lock");
        let (map, order) = &mut *guard;
        while let Some((t, _)) = order.front() {
            if now.duration_since(*t) < self.window && order.len() < self.capacity {
                break;
            }
            let (t, k) = order.pop_front().expect("front exists");
            if map.get(&k) == Some(&t) {
                map.remove(&k);
            }
        }
        if map.contains_key(key) {
            return false;
        }
        map.insert(key.to_string(), now);
        order.push_back((now, key.to_string()));
        true
    }

    /// Remembers `key` as claimed `age` ago (keys of the spool after a restart).
    pub fn remember(&self, key: &str, age: Duration) {
        if self.window.is_zero() || age >= self.window || key.is_empty() {
            return;
        }
        let at = Instant::now().checked_sub(age).unwrap_or_else(Instant::now);
        let mut guard = self.inner.lock().expect("dedup lock");
        let (map, order) = &mut *guard;
        if order.len() < self.capacity {
            map.insert(key.to_string(), at);
            order.push_back((at, key.to_string()));
        }
    }

    /// Forgets `key` (its notification could not be stored, so a retry must get through).
    pub fn release(&self, key: &str) {
        self.inner.lock().expect("dedup lock").0.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_claimed_once_within_the_window() {
        let d = Dedup::new(Duration::from_secs(60), 100);
        assert!(d.claim("a"));
        assert!(!d.claim("a"));
        assert!(d.claim("b"));
        d.release("a");
        assert!(d.claim("a"));
    }

    #[test]
    fn keys_expire_and_capacity_is_bounded() {
        let d = Dedup::new(Duration::from_millis(20), 100);
        assert!(d.claim("a"));
        std::thread::sleep(Duration::from_millis(30));
        assert!(d.claim("a"));
        let small = Dedup::new(Duration::from_secs(60), 2);
        for k in ["x", "y", "z"] {
            assert!(small.claim(k));
        }
        assert!(small.inner.lock().unwrap().0.len() <= 2);
    }
}
