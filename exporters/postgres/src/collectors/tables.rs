//! Per-table metrics, `pg_stat_user_tables_*` and `pg_statio_user_tables_*`, for the top N
//! tables of the connected database.
//!
//! The top N are chosen from the catalog (`pg_class.relpages`, what the last VACUUM or ANALYZE
//! measured) rather than by calling `pg_total_relation_size()` on every table, which stats
//! every file of every relation; the statistics views are then read for those N tables only
//! (the filter on `relid` is pushed into the views). When the database has no more than N
//! tables, every table is in the top N and the views are read without that filter: probing
//! them for a long list of oids costs more than reading them whole (at 2,000 tables, a
//! quarter of the statement's time).

use super::{CollectorOptions, Column, TableOrder, col, families_from_rows};
use crate::session::Session;
use crate::snapshot::{Family, Kind};

const STAT: &[Column] = &[
    col(
        "size_bytes",
        "pg_stat_user_tables_size_bytes",
        Kind::Gauge,
        "Estimated size of the table and its TOAST table in bytes, from pg_class.relpages",
    ),
    col(
        "seq_scan",
        "pg_stat_user_tables_seq_scan",
        Kind::Untyped,
        "Number of sequential scans initiated on this table",
    ),
    col(
        "seq_tup_read",
        "pg_stat_user_tables_seq_tup_read",
        Kind::Untyped,
        "Number of live rows fetched by sequential scans",
    ),
    col(
        "idx_scan",
        "pg_stat_user_tables_idx_scan",
        Kind::Untyped,
        "Number of index scans initiated on this table",
    ),
    col(
        "idx_tup_fetch",
        "pg_stat_user_tables_idx_tup_fetch",
        Kind::Untyped,
        "Number of live rows fetched by index scans",
    ),
    col(
        "n_tup_ins",
        "pg_stat_user_tables_n_tup_ins",
        Kind::Untyped,
        "Number of rows inserted",
    ),
    col(
        "n_tup_upd",
        "pg_stat_user_tables_n_tup_upd",
        Kind::Untyped,
        "Number of rows updated",
    ),
    col(
        "n_tup_del",
        "pg_stat_user_tables_n_tup_del",
        Kind::Untyped,
        "Number of rows deleted",
    ),
    col(
        "n_tup_hot_upd",
        "pg_stat_user_tables_n_tup_hot_upd",
        Kind::Untyped,
        "Number of rows HOT updated (i.e., with no separate index update required)",
    ),
    col(
        "n_live_tup",
        "pg_stat_user_tables_n_live_tup",
        Kind::Gauge,
        "Estimated number of live rows",
    ),
    col(
        "n_dead_tup",
        "pg_stat_user_tables_n_dead_tup",
        Kind::Gauge,
        "Estimated number of dead rows",
    ),
    col(
        "n_mod_since_analyze",
        "pg_stat_user_tables_n_mod_since_analyze",
        Kind::Gauge,
        "Estimated number of rows changed since last analyze",
    ),
    col(
        "last_vacuum",
        "pg_stat_user_tables_last_vacuum",
        Kind::Gauge,
        "Last time at which this table was manually vacuumed (not counting VACUUM FULL)",
    ),
    col(
        "last_autovacuum",
        "pg_stat_user_tables_last_autovacuum",
        Kind::Gauge,
        "Last time at which this table was vacuumed by the autovacuum daemon",
    ),
    col(
        "last_analyze",
        "pg_stat_user_tables_last_analyze",
        Kind::Gauge,
        "Last time at which this table was manually analyzed",
    ),
    col(
        "last_autoanalyze",
        "pg_stat_user_tables_last_autoanalyze",
        Kind::Gauge,
        "Last time at which this table was analyzed by the autovacuum daemon",
    ),
    col(
        "vacuum_count",
        "pg_stat_user_tables_vacuum_count",
        Kind::Untyped,
        "Number of times this table has been manually vacuumed (not counting VACUUM FULL)",
    ),
    col(
        "autovacuum_count",
        "pg_stat_user_tables_autovacuum_count",
        Kind::Untyped,
        "Number of times this table has been vacuumed by the autovacuum daemon",
    ),
    col(
        "analyze_count",
        "pg_stat_user_tables_analyze_count",
        Kind::Untyped,
        "Number of times this table has been manually analyzed",
    ),
    col(
        "autoanalyze_count",
        "pg_stat_user_tables_autoanalyze_count",
        Kind::Untyped,
        "Number of times this table has been analyzed by the autovacuum daemon",
    ),
    col(
        "heap_blks_read",
        "pg_statio_user_tables_heap_blks_read",
        Kind::Untyped,
        "Number of disk blocks read from this table",
    ),
    col(
        "heap_blks_hit",
        "pg_statio_user_tables_heap_blks_hit",
        Kind::Untyped,
        "Number of buffer hits in this table",
    ),
    col(
        "idx_blks_read",
        "pg_statio_user_tables_idx_blks_read",
        Kind::Untyped,
        "Number of disk blocks read from all indexes on this table",
    ),
    col(
        "idx_blks_hit",
        "pg_statio_user_tables_idx_blks_hit",
        Kind::Untyped,
        "Number of buffer hits in all indexes on this table",
    ),
    col(
        "toast_blks_read",
        "pg_statio_user_tables_toast_blks_read",
        Kind::Untyped,
        "Number of disk blocks read from this table's TOAST table (if any)",
    ),
    col(
        "toast_blks_hit",
        "pg_statio_user_tables_toast_blks_hit",
        Kind::Untyped,
        "Number of buffer hits in this table's TOAST table (if any)",
    ),
    col(
        "tidx_blks_read",
        "pg_statio_user_tables_tidx_blks_read",
        Kind::Untyped,
        "Number of disk blocks read from this table's TOAST table indexes (if any)",
    ),
    col(
        "tidx_blks_hit",
        "pg_statio_user_tables_tidx_blks_hit",
        Kind::Untyped,
        "Number of buffer hits in this table's TOAST table indexes (if any)",
    ),
];

/// The tables that may have per-table metrics: those of `pg_stat_user_tables` (`c` is
/// their `pg_class` row).
const CANDIDATES: &str = "c.relkind IN ('r', 'm', 'p') \
    AND c.relnamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)";

/// The oids of the top `limit` tables in `order`: a catalog read (`pg_class.relpages` for
/// size), as an array for `relid = ANY(...)`, which PostgreSQL pushes into the views.
fn top_oids(limit: u32, order: TableOrder) -> String {
    let order_by = match order {
        TableOrder::Size => "c.relpages + COALESCE(t.relpages, 0) DESC, c.oid",
        TableOrder::Activity => {
            "pg_stat_get_numscans(c.oid) + pg_stat_get_tuples_inserted(c.oid) + pg_stat_get_tuples_updated(c.oid) \
             + pg_stat_get_tuples_deleted(c.oid) DESC, c.oid"
        }
    };
    format!(
        "ARRAY(SELECT c.oid FROM pg_class c LEFT JOIN pg_class t ON t.oid = c.reltoastrelid \
           WHERE {CANDIDATES} ORDER BY {order_by} LIMIT {limit})"
    )
}

/// The SQL of `pg_stat_user_tables_*` and `pg_statio_user_tables_*` for the top `limit`
/// tables in `order`: one statement, the top N chosen once for both views.
///
/// It has two branches, and a condition that holds for one only, evaluated once before
/// either runs (PostgreSQL skips the other, top N included): every table when the database
/// has no more than `limit`, else the top `limit` by `relid`.
pub fn sql(limit: u32, order: TableOrder) -> String {
    let epoch = |c: &str| format!("COALESCE(EXTRACT(EPOCH FROM s.{c}), 0)::float8 AS {c}");
    let select = format!(
        "SELECT current_database() AS datname, s.schemaname, s.relname, \
           (SELECT (c.relpages + COALESCE(t.relpages, 0))::float8 * current_setting('block_size')::float8 \
            FROM pg_class c LEFT JOIN pg_class t ON t.oid = c.reltoastrelid WHERE c.oid = s.relid) AS size_bytes, \
           s.seq_scan, s.seq_tup_read, s.idx_scan, s.idx_tup_fetch, s.n_tup_ins, s.n_tup_upd, s.n_tup_del, \
           s.n_tup_hot_upd, s.n_live_tup, s.n_dead_tup, s.n_mod_since_analyze, {}, {}, {}, {}, \
           s.vacuum_count, s.autovacuum_count, s.analyze_count, s.autoanalyze_count, \
           io.heap_blks_read, io.heap_blks_hit, io.idx_blks_read, io.idx_blks_hit, \
           io.toast_blks_read, io.toast_blks_hit, io.tidx_blks_read, io.tidx_blks_hit \
         FROM pg_stat_user_tables s JOIN pg_statio_user_tables io ON io.relid = s.relid",
        epoch("last_vacuum"),
        epoch("last_autovacuum"),
        epoch("last_analyze"),
        epoch("last_autoanalyze"),
    );
    format!(
        "WITH n AS (SELECT count(*) AS tables FROM pg_class c WHERE {CANDIDATES}), \
              top AS (SELECT {} AS oids) \
         {select} WHERE (SELECT tables FROM n) <= {limit} \
         UNION ALL \
         {select} WHERE (SELECT tables FROM n) > {limit} \
           AND s.relid = ANY((SELECT oids FROM top)::oid[]) AND io.relid = ANY((SELECT oids FROM top)::oid[])",
        top_oids(limit, order),
    )
}

/// The per-table families for the top N tables (one query).
pub async fn user_tables(
    session: &Session,
    options: &CollectorOptions,
) -> Result<Vec<Family>, String> {
    let rows = session
        .query(&sql(options.tables_limit, options.tables_order))
        .await?;
    Ok(families_from_rows(
        &rows,
        &["datname", "schemaname", "relname"],
        STAT,
    ))
}
