//! Per-database metrics: `pg_stat_database_*`, `pg_stat_activity_*`, `pg_locks_count`,
//! `pg_database_size_bytes`, with postgres_exporter's names and labels.

use super::{Column, col, families_from_rows};
use crate::session::Session;
use crate::snapshot::{Family, Kind};

const STAT_DATABASE: &[Column] = &[
    col(
        "numbackends",
        "pg_stat_database_numbackends",
        Kind::Gauge,
        "Number of backends currently connected to this database.",
    ),
    col(
        "xact_commit",
        "pg_stat_database_xact_commit",
        Kind::Untyped,
        "Number of transactions in this database that have been committed.",
    ),
    col(
        "xact_rollback",
        "pg_stat_database_xact_rollback",
        Kind::Untyped,
        "Number of transactions in this database that have been rolled back.",
    ),
    col(
        "blks_read",
        "pg_stat_database_blks_read",
        Kind::Untyped,
        "Number of disk blocks read in this database.",
    ),
    col(
        "blks_hit",
        "pg_stat_database_blks_hit",
        Kind::Untyped,
        "Number of times disk blocks were found already in the buffer cache.",
    ),
    col(
        "tup_returned",
        "pg_stat_database_tup_returned",
        Kind::Untyped,
        "Number of rows returned by queries in this database.",
    ),
    col(
        "tup_fetched",
        "pg_stat_database_tup_fetched",
        Kind::Untyped,
        "Number of rows fetched by queries in this database.",
    ),
    col(
        "tup_inserted",
        "pg_stat_database_tup_inserted",
        Kind::Untyped,
        "Number of rows inserted by queries in this database.",
    ),
    col(
        "tup_updated",
        "pg_stat_database_tup_updated",
        Kind::Untyped,
        "Number of rows updated by queries in this database.",
    ),
    col(
        "tup_deleted",
        "pg_stat_database_tup_deleted",
        Kind::Untyped,
        "Number of rows deleted by queries in this database.",
    ),
    col(
        "conflicts",
        "pg_stat_database_conflicts",
        Kind::Untyped,
        "Number of queries canceled due to conflicts with recovery in this database.",
    ),
    col(
        "temp_files",
        "pg_stat_database_temp_files",
        Kind::Untyped,
        "Number of temporary files created by queries in this database.",
    ),
    col(
        "temp_bytes",
        "pg_stat_database_temp_bytes",
        Kind::Untyped,
        "Total amount of data written to temporary files by queries in this database.",
    ),
    col(
        "deadlocks",
        "pg_stat_database_deadlocks",
        Kind::Untyped,
        "Number of deadlocks detected in this database.",
    ),
    col(
        "blk_read_time",
        "pg_stat_database_blk_read_time",
        Kind::Untyped,
        "Time spent reading data file blocks by backends in this database, in milliseconds.",
    ),
    col(
        "blk_write_time",
        "pg_stat_database_blk_write_time",
        Kind::Untyped,
        "Time spent writing data file blocks by backends in this database, in milliseconds.",
    ),
    col(
        "stats_reset_seconds",
        "pg_stat_database_stats_reset",
        Kind::Untyped,
        "Time at which these statistics were last reset (Unix time; 0 when never).",
    ),
    col(
        "checksum_failures",
        "pg_stat_database_checksum_failures",
        Kind::Untyped,
        "Number of data page checksum failures detected in this database (absent when data checksums are off).",
    ),
    col(
        "checksum_last_failure_seconds",
        "pg_stat_database_checksum_last_failure",
        Kind::Gauge,
        "Time at which the last data page checksum failure was detected in this database (Unix time).",
    ),
    // PostgreSQL 14 and later.
    col(
        "session_time",
        "pg_stat_database_session_time",
        Kind::Untyped,
        "Time spent by database sessions in this database, in milliseconds.",
    ),
    col(
        "active_time",
        "pg_stat_database_active_time",
        Kind::Untyped,
        "Time spent executing SQL statements in this database, in milliseconds.",
    ),
    col(
        "idle_in_transaction_time",
        "pg_stat_database_idle_in_transaction_time",
        Kind::Untyped,
        "Time spent idling while in a transaction in this database, in milliseconds.",
    ),
    col(
        "sessions",
        "pg_stat_database_sessions",
        Kind::Untyped,
        "Total number of sessions established to this database.",
    ),
    col(
        "sessions_abandoned",
        "pg_stat_database_sessions_abandoned",
        Kind::Untyped,
        "Number of database sessions to this database that were terminated because connection to the client was lost.",
    ),
    col(
        "sessions_fatal",
        "pg_stat_database_sessions_fatal",
        Kind::Untyped,
        "Number of database sessions to this database that were terminated by fatal errors.",
    ),
    col(
        "sessions_killed",
        "pg_stat_database_sessions_killed",
        Kind::Untyped,
        "Number of database sessions to this database that were terminated by operator intervention.",
    ),
    // PostgreSQL 18 and later.
    col(
        "parallel_workers_to_launch",
        "pg_stat_database_parallel_workers_to_launch",
        Kind::Untyped,
        "Number of parallel workers planned to be launched by queries on this database.",
    ),
    col(
        "parallel_workers_launched",
        "pg_stat_database_parallel_workers_launched",
        Kind::Untyped,
        "Number of parallel workers launched by queries on this database.",
    ),
];

const CONFLICTS: &[Column] = &[
    col(
        "confl_tablespace",
        "pg_stat_database_conflicts_confl_tablespace",
        Kind::Untyped,
        "Number of queries in this database that have been canceled due to dropped tablespaces.",
    ),
    col(
        "confl_lock",
        "pg_stat_database_conflicts_confl_lock",
        Kind::Untyped,
        "Number of queries in this database that have been canceled due to lock timeouts.",
    ),
    col(
        "confl_snapshot",
        "pg_stat_database_conflicts_confl_snapshot",
        Kind::Untyped,
        "Number of queries in this database that have been canceled due to old snapshots.",
    ),
    col(
        "confl_bufferpin",
        "pg_stat_database_conflicts_confl_bufferpin",
        Kind::Untyped,
        "Number of queries in this database that have been canceled due to pinned buffers.",
    ),
    col(
        "confl_deadlock",
        "pg_stat_database_conflicts_confl_deadlock",
        Kind::Untyped,
        "Number of queries in this database that have been canceled due to deadlocks.",
    ),
    // PostgreSQL 16 and later.
    col(
        "confl_active_logicalslot",
        "pg_stat_database_conflicts_confl_active_logicalslot",
        Kind::Untyped,
        "Number of uses of logical slots in this database that have been canceled due to old snapshots or too low a wal_level on the primary.",
    ),
];

/// `pg_stat_database_*{datid,datname}`; the columns the server has decide the families, so
/// PostgreSQL 13 simply has no `sessions` family. Times (`stats_reset`, the last checksum
/// failure) become Unix time; `stats_reset` is 0 when never reset, as postgres_exporter has it.
pub async fn stat_database(session: &Session) -> Result<Vec<Family>, String> {
    let sql = if session.version_num >= 120_000 {
        "SELECT *, COALESCE(EXTRACT(EPOCH FROM stats_reset), 0)::float8 AS stats_reset_seconds, \
                EXTRACT(EPOCH FROM checksum_last_failure)::float8 AS checksum_last_failure_seconds \
         FROM pg_stat_database"
    } else {
        "SELECT *, COALESCE(EXTRACT(EPOCH FROM stats_reset), 0)::float8 AS stats_reset_seconds \
         FROM pg_stat_database"
    };
    // Both queries go out together (pipelined on the connection).
    let (stats, conflicts) = futures::future::try_join(
        session.query(sql),
        session.query("SELECT * FROM pg_stat_database_conflicts"),
    )
    .await?;
    let mut families = families_from_rows(&stats, &["datid", "datname"], STAT_DATABASE);
    families.extend(families_from_rows(
        &conflicts,
        &["datid", "datname"],
        CONFLICTS,
    ));
    Ok(families)
}

/// `pg_stat_activity_count` and `pg_stat_activity_max_tx_duration` by `datname,state`, with a
/// zero for every state of every database, as postgres_exporter reports them.
pub async fn stat_activity(session: &Session) -> Result<Vec<Family>, String> {
    const SQL: &str = "SELECT d.datname, s.state, COALESCE(a.count, 0) AS count, \
        COALESCE(a.max_tx_duration, 0) AS max_tx_duration \
        FROM (VALUES ('active'), ('idle'), ('idle in transaction'), ('idle in transaction (aborted)'), \
                     ('fastpath function call'), ('disabled')) AS s(state) \
        CROSS JOIN pg_database d \
        LEFT JOIN (SELECT datname, state, count(*) AS count, \
                          MAX(EXTRACT(EPOCH FROM now() - xact_start))::float8 AS max_tx_duration \
                   FROM pg_stat_activity GROUP BY datname, state) a \
          ON a.state = s.state AND a.datname = d.datname";
    let rows = session.query(SQL).await?;
    Ok(families_from_rows(
        &rows,
        &["datname", "state"],
        &[
            col(
                "count",
                "pg_stat_activity_count",
                Kind::Gauge,
                "number of connections in this state",
            ),
            col(
                "max_tx_duration",
                "pg_stat_activity_max_tx_duration",
                Kind::Gauge,
                "max duration in seconds any active transaction has been running",
            ),
        ],
    ))
}

/// `pg_locks_count{datname,mode}`, zeros included.
pub async fn locks(session: &Session) -> Result<Vec<Family>, String> {
    const SQL: &str = "SELECT d.datname, m.mode, COALESCE(l.count, 0) AS count \
        FROM (VALUES ('accesssharelock'), ('rowsharelock'), ('rowexclusivelock'), ('shareupdateexclusivelock'), \
                     ('sharelock'), ('sharerowexclusivelock'), ('exclusivelock'), ('accessexclusivelock'), \
                     ('sireadlock')) AS m(mode) \
        CROSS JOIN pg_database d \
        LEFT JOIN (SELECT database, lower(mode) AS mode, count(*) AS count FROM pg_locks \
                   WHERE database IS NOT NULL GROUP BY database, lower(mode)) l \
          ON l.mode = m.mode AND l.database = d.oid";
    let rows = session.query(SQL).await?;
    Ok(families_from_rows(
        &rows,
        &["datname", "mode"],
        &[col(
            "count",
            "pg_locks_count",
            Kind::Gauge,
            "Number of locks",
        )],
    ))
}

/// `pg_database_size_bytes{datname}` for every database that accepts connections.
pub async fn size(session: &Session) -> Result<Vec<Family>, String> {
    let rows = session
        .query("SELECT datname, pg_database_size(oid) AS bytes FROM pg_database WHERE datallowconn")
        .await?;
    Ok(families_from_rows(
        &rows,
        &["datname"],
        &[col(
            "bytes",
            "pg_database_size_bytes",
            Kind::Gauge,
            "Disk space used by the database",
        )],
    ))
}
