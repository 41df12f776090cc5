//! The read cache's metrics, served at `/metrics` of each serving role:
//! `forum_read_cache_hits_total` and `forum_read_cache_misses_total` (reads answered from
//! memory, and reads that went to PostgreSQL, including every read while the cache is off),
//! `forum_read_cache_listening` (1 while the LISTEN connection is up and the cache serves; 0
//! means every page reads PostgreSQL) and `forum_read_cache_connects_total` (LISTEN connections
//! made: a count that keeps rising means the connection keeps failing).

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// The counters a read cache counts into (unregistered by default: a cache that is always off,
/// or a test's).
#[derive(Clone, Debug, Default)]
pub struct CacheMetrics {
    /// Reads answered from memory.
    pub hits: Counter,
    /// Reads that went to PostgreSQL.
    pub misses: Counter,
    /// LISTEN connections made.
    pub connects: Counter,
    /// 1 while the cache serves from memory.
    pub listening: Gauge,
}

impl CacheMetrics {
    /// Registers the read cache's metrics in `registry`.
    pub fn register(registry: &mut Registry) -> CacheMetrics {
        let metrics = CacheMetrics::default();
        registry.register(
            "forum_read_cache_hits",
            "Reads of the hot pages' data answered from the read cache",
            metrics.hits.clone(),
        );
        registry.register(
            "forum_read_cache_misses",
            "Reads of the hot pages' data that went to PostgreSQL (all of them while the cache is off)",
            metrics.misses.clone(),
        );
        registry.register(
            "forum_read_cache_connects",
            "LISTEN connections the read cache made to learn of changes",
            metrics.connects.clone(),
        );
        registry.register(
            "forum_read_cache_listening",
            "1 while the read cache's LISTEN connection is up and it serves from memory, else 0",
            metrics.listening.clone(),
        );
        metrics
    }
}
