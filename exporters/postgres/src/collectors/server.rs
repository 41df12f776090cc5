//! Server-wide metrics: `pg_static`, `pg_postmaster_start_time_seconds`, `pg_stat_bgwriter_*`,
//! `pg_settings_*`, `pg_stat_archiver_*`, replication.

use super::{Column, col, families_from_rows};
use crate::session::Session;
use crate::snapshot::{Family, Kind, LabelSet};

/// `pg_static{version,short_version} 1`, from what the session read at connect.
pub fn static_info(session: &Session) -> Vec<Family> {
    let mut family = Family::new(
        "pg_static",
        "Version string as reported by postgres",
        Kind::Untyped,
    );
    family.push(
        LabelSet::new(
            &["version", "short_version"],
            [
                session.version.as_str(),
                short_version(session.version_num).as_str(),
            ],
        ),
        1.0,
    );
    vec![family]
}

/// `150004` → `15.4.0`, `90624` → `9.6.24`, as postgres_exporter writes it (semver).
fn short_version(num: i32) -> String {
    if num >= 100_000 {
        format!("{}.{}.0", num / 10_000, num % 10_000)
    } else {
        format!("{}.{}.{}", num / 10_000, num / 100 % 100, num % 100)
    }
}

/// `pg_postmaster_start_time_seconds`.
pub async fn postmaster(session: &Session) -> Result<Vec<Family>, String> {
    let rows = session
        .query(
            "SELECT EXTRACT(EPOCH FROM pg_postmaster_start_time())::float8 AS start_time_seconds",
        )
        .await?;
    Ok(families_from_rows(
        &rows,
        &[],
        &[col(
            "start_time_seconds",
            "pg_postmaster_start_time_seconds",
            Kind::Gauge,
            "Time at which postmaster started",
        )],
    ))
}

const BGWRITER: &[Column] = &[
    col(
        "checkpoints_timed",
        "pg_stat_bgwriter_checkpoints_timed_total",
        Kind::Counter,
        "Number of scheduled checkpoints that have been performed",
    ),
    col(
        "checkpoints_req",
        "pg_stat_bgwriter_checkpoints_req_total",
        Kind::Counter,
        "Number of requested checkpoints that have been performed",
    ),
    col(
        "checkpoint_write_time",
        "pg_stat_bgwriter_checkpoint_write_time_total",
        Kind::Counter,
        "Total amount of time that has been spent in the portion of checkpoint processing where files are written to disk, in milliseconds",
    ),
    col(
        "checkpoint_sync_time",
        "pg_stat_bgwriter_checkpoint_sync_time_total",
        Kind::Counter,
        "Total amount of time that has been spent in the portion of checkpoint processing where files are synchronized to disk, in milliseconds",
    ),
    col(
        "buffers_checkpoint",
        "pg_stat_bgwriter_buffers_checkpoint_total",
        Kind::Counter,
        "Number of buffers written during checkpoints",
    ),
    col(
        "buffers_clean",
        "pg_stat_bgwriter_buffers_clean_total",
        Kind::Counter,
        "Number of buffers written by the background writer",
    ),
    col(
        "maxwritten_clean",
        "pg_stat_bgwriter_maxwritten_clean_total",
        Kind::Counter,
        "Number of times the background writer stopped a cleaning scan because it had written too many buffers",
    ),
    col(
        "buffers_backend",
        "pg_stat_bgwriter_buffers_backend_total",
        Kind::Counter,
        "Number of buffers written directly by a backend",
    ),
    col(
        "buffers_backend_fsync",
        "pg_stat_bgwriter_buffers_backend_fsync_total",
        Kind::Counter,
        "Number of times a backend had to execute its own fsync call",
    ),
    col(
        "buffers_alloc",
        "pg_stat_bgwriter_buffers_alloc_total",
        Kind::Counter,
        "Number of buffers allocated",
    ),
    col(
        "stats_reset",
        "pg_stat_bgwriter_stats_reset_total",
        Kind::Counter,
        "Time at which these statistics were last reset",
    ),
];

/// `pg_stat_bgwriter_*_total`. PostgreSQL 17 moved the checkpoint columns to
/// `pg_stat_checkpointer` (and the backend ones to `pg_stat_io`); they are read from there
/// under the same names, so dashboards keep working.
pub async fn bgwriter(session: &Session) -> Result<Vec<Family>, String> {
    let sql = if session.version_num >= 170_000 {
        "SELECT c.num_timed AS checkpoints_timed, c.num_requested AS checkpoints_req, \
                c.write_time AS checkpoint_write_time, c.sync_time AS checkpoint_sync_time, \
                c.buffers_written AS buffers_checkpoint, b.buffers_clean, b.maxwritten_clean, b.buffers_alloc, \
                EXTRACT(EPOCH FROM b.stats_reset)::float8 AS stats_reset \
         FROM pg_stat_bgwriter b CROSS JOIN pg_stat_checkpointer c"
    } else {
        "SELECT checkpoints_timed, checkpoints_req, checkpoint_write_time, checkpoint_sync_time, \
                buffers_checkpoint, buffers_clean, maxwritten_clean, buffers_backend, buffers_backend_fsync, \
                buffers_alloc, EXTRACT(EPOCH FROM stats_reset)::float8 AS stats_reset \
         FROM pg_stat_bgwriter"
    };
    let rows = session.query(sql).await?;
    Ok(families_from_rows(&rows, &[], BGWRITER))
}

/// `pg_settings_<name>[_seconds|_bytes]` for every numeric and boolean setting, with units
/// normalised as postgres_exporter does. The value is `reset_val`, what the server gives a
/// new session (configuration file, `ALTER SYSTEM`, `ALTER ROLE/DATABASE ... SET`), not the
/// `setting` of the exporter's own session, whose `statement_timeout` it sets itself.
pub async fn settings(session: &Session) -> Result<Vec<Family>, String> {
    let rows = session
        .query("SELECT name, reset_val AS setting, COALESCE(unit, '') AS unit, short_desc, vartype FROM pg_settings \
                WHERE vartype IN ('bool', 'integer', 'real')")
        .await?;
    let mut families = Vec::with_capacity(rows.len());
    let Some(first) = rows.first() else {
        return Ok(families);
    };
    let at = |column| first.index(column).ok_or("pg_settings lacks a column");
    let (name_at, setting_at, unit_at, desc_at) =
        (at("name")?, at("setting")?, at("unit")?, at("short_desc")?);
    for row in &rows {
        let (Some(name), Some(setting)) = (row.text_at(name_at), row.text_at(setting_at)) else {
            continue;
        };
        let unit = row.text_at(unit_at).unwrap_or("");
        let desc = row.text_at(desc_at).unwrap_or("");
        let Some(value) = crate::session::parse_number(setting) else {
            continue;
        };
        let Some((value, suffix)) = normalise(value, unit) else {
            tracing::debug!(setting = name, unit, "unknown unit, setting left out");
            continue;
        };
        let metric_name = format!("pg_settings_{}{suffix}", name.replace(['.', '-'], "_"));
        let help = if suffix.is_empty() {
            format!("Server Parameter: {name}. {desc}")
        } else {
            format!(
                "Server Parameter: {name}. {desc} [Units converted to{}.]",
                suffix.replace('_', " ")
            )
        };
        families.push(Family::single(metric_name, help, Kind::Gauge, value));
    }
    Ok(families)
}

/// A setting's value in base units, and the name suffix that says which.
fn normalise(value: f64, unit: &str) -> Option<(f64, &'static str)> {
    let (factor, suffix) = match unit {
        "" => return Some((value, "")),
        "ms" => (0.001, "_seconds"),
        "s" => (1.0, "_seconds"),
        "min" => (60.0, "_seconds"),
        "h" => (3600.0, "_seconds"),
        "d" => (86400.0, "_seconds"),
        "B" => (1.0, "_bytes"),
        "kB" => (1024.0, "_bytes"),
        "MB" => (1024.0 * 1024.0, "_bytes"),
        "GB" => (1024.0 * 1024.0 * 1024.0, "_bytes"),
        "TB" => (1024.0_f64.powi(4), "_bytes"),
        // Multiples of a block: `8kB`, `16MB`...
        other => {
            let (n, scale) = if let Some(n) = other.strip_suffix("kB") {
                (n, 1024.0)
            } else if let Some(n) = other.strip_suffix("MB") {
                (n, 1024.0 * 1024.0)
            } else {
                return None;
            };
            (n.parse::<f64>().ok()? * scale, "_bytes")
        }
    };
    // -1 means "not set" (e.g. autovacuum_work_mem); keep it recognisable.
    if value < 0.0 {
        Some((value, suffix))
    } else {
        Some((value * factor, suffix))
    }
}

/// `pg_stat_archiver_{archived_count,failed_count,last_archive_age}`, as postgres_exporter's
/// `stat_archiver` collector: the age is absent until a WAL file has been archived.
pub async fn stat_archiver(session: &Session) -> Result<Vec<Family>, String> {
    let rows = session
        .query(
            "SELECT archived_count, failed_count, \
                EXTRACT(EPOCH FROM now() - last_archived_time)::float8 AS last_archive_age \
                FROM pg_stat_archiver",
        )
        .await?;
    Ok(families_from_rows(
        &rows,
        &[],
        &[
            col(
                "archived_count",
                "pg_stat_archiver_archived_count",
                Kind::Untyped,
                "Number of WAL files that have been successfully archived",
            ),
            col(
                "failed_count",
                "pg_stat_archiver_failed_count",
                Kind::Untyped,
                "Number of failed attempts for archiving WAL files",
            ),
            col(
                "last_archive_age",
                "pg_stat_archiver_last_archive_age",
                Kind::Gauge,
                "Time in seconds since last WAL segment was successfully archived",
            ),
        ],
    ))
}

/// `pg_replication_is_replica` and `pg_replication_lag_seconds`.
///
/// The lag is 0 on a primary, and 0 on a replica that has replayed all the WAL it received:
/// `now() - pg_last_xact_replay_timestamp()` alone grows for as long as the primary is idle
/// (no transaction to replay means no newer timestamp), which is not lag at all.
pub async fn replication(session: &Session) -> Result<Vec<Family>, String> {
    let rows = session
        .query("SELECT pg_is_in_recovery() AS is_replica, \
                CASE WHEN NOT pg_is_in_recovery() THEN 0 \
                     WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 \
                     ELSE GREATEST(0, EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()))::float8 END AS lag")
        .await?;
    Ok(families_from_rows(
        &rows,
        &[],
        &[
            col(
                "lag",
                "pg_replication_lag_seconds",
                Kind::Gauge,
                "Replication lag behind master in seconds",
            ),
            col(
                "is_replica",
                "pg_replication_is_replica",
                Kind::Gauge,
                "Indicates if the server is a replica",
            ),
        ],
    ))
}

/// `pg_stat_replication_*{application_name,client_addr,state}`: one series per WAL sender.
pub async fn stat_replication(session: &Session) -> Result<Vec<Family>, String> {
    const SQL: &str = "SELECT application_name, COALESCE(host(client_addr), '') AS client_addr, state, \
        (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn() ELSE pg_current_wal_lsn() END - '0/0')::float8 \
            AS pg_current_wal_lsn_bytes, \
        pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn() ELSE pg_current_wal_lsn() END, \
                        replay_lsn)::float8 AS pg_wal_lsn_diff, \
        EXTRACT(EPOCH FROM write_lag)::float8 AS write_lag, EXTRACT(EPOCH FROM flush_lag)::float8 AS flush_lag, \
        EXTRACT(EPOCH FROM replay_lag)::float8 AS replay_lag \
        FROM pg_stat_replication";
    let rows = session.query(SQL).await?;
    Ok(families_from_rows(
        &rows,
        &["application_name", "client_addr", "state"],
        &[
            col(
                "pg_current_wal_lsn_bytes",
                "pg_stat_replication_pg_current_wal_lsn_bytes",
                Kind::Gauge,
                "WAL position in bytes",
            ),
            col(
                "pg_wal_lsn_diff",
                "pg_stat_replication_pg_wal_lsn_diff",
                Kind::Gauge,
                "Lag in bytes between master and slave",
            ),
            col(
                "write_lag",
                "pg_stat_replication_write_lag_seconds",
                Kind::Gauge,
                "Time between flushing WAL locally and receiving notification that the standby has written it",
            ),
            col(
                "flush_lag",
                "pg_stat_replication_flush_lag_seconds",
                Kind::Gauge,
                "Time between flushing WAL locally and receiving notification that the standby has flushed it",
            ),
            col(
                "replay_lag",
                "pg_stat_replication_replay_lag_seconds",
                Kind::Gauge,
                "Time between flushing WAL locally and receiving notification that the standby has applied it",
            ),
        ],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_normalised_to_seconds_and_bytes() {
        assert_eq!(normalise(200.0, "ms"), Some((0.2, "_seconds")));
        assert_eq!(normalise(5.0, "min"), Some((300.0, "_seconds")));
        assert_eq!(normalise(16384.0, "8kB"), Some((134_217_728.0, "_bytes")));
        assert_eq!(normalise(64.0, "MB"), Some((67_108_864.0, "_bytes")));
        assert_eq!(normalise(-1.0, "kB"), Some((-1.0, "_bytes")));
        assert_eq!(normalise(100.0, ""), Some((100.0, "")));
        assert_eq!(normalise(1.0, "furlongs"), None);
    }

    #[test]
    fn short_versions_follow_postgres_exporter() {
        assert_eq!(short_version(150004), "15.4.0");
        assert_eq!(short_version(170000), "17.0.0");
        assert_eq!(short_version(90624), "9.6.24");
    }
}
