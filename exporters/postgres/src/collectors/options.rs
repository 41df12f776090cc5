//! What the built-in collectors are told by the command line.

use std::time::Duration;

/// How the top N tables are picked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum TableOrder {
    /// Largest first (heap and TOAST pages in the catalog).
    Size,
    /// Most scans and row changes first (reads the statistics of every table).
    Activity,
}

/// What the built-in collectors need to know.
#[derive(Clone, Debug)]
pub struct CollectorOptions {
    /// How many tables get per-table metrics (0 turns them off).
    pub tables_limit: u32,
    /// Which tables are the top N.
    pub tables_order: TableOrder,
    /// Whether `pg_settings_*` is collected.
    pub settings: bool,
    /// How long the results of the slow, slowly changing collectors (`database_size`, which
    /// walks every database's files, and `settings`) are reused. Zero: every scrape.
    pub slow_cache: Duration,
}
