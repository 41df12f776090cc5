"""PostgreSQL dashboards (1-3): overview, activity, internals. Metrics of pg-exporter, which
keeps postgres_exporter's names and labels (docs/contracts.md)."""

from .grafana import UP_DOWN, bargauge, dashboard, gauge, query_variable, stat, timeseries

S = 'job=~"$job",instance=~"$instance"'
D = S + ',datname=~"$datname",datname!~"template.*"'
RI = "$__rate_interval"


def variables(with_datname=True):
    """job, instance (and datname) variables of the PostgreSQL dashboards."""
    out = [
        query_variable("job", "Job", "label_values(pg_up, job)", default="postgres"),
        query_variable("instance", "Instance", 'label_values(pg_up{job=~"$job"}, instance)'),
    ]
    if with_datname:
        out.append(query_variable(
            "datname", "Database",
            'label_values(pg_database_size_bytes{job=~"$job",instance=~"$instance",datname!~"template.*"}, datname)'))
    return out


def overview():
    """1. PostgreSQL overview."""
    panels = [
        stat("PostgreSQL up", (f"pg_up{{{S}}}", "{{instance}}"), "none", mappings=UP_DOWN,
             description="1 when pg-exporter could connect to PostgreSQL on its last scrape.",
             color_mode="background"),
        stat("Version", (f"pg_static{{{S}}}", "{{short_version}}"), "none", text_mode="name",
             description="Server version reported by PostgreSQL."),
        stat("Uptime", (f"time() - pg_postmaster_start_time_seconds{{{S}}}", "{{instance}}"), "s",
             description="Time since the PostgreSQL server started."),
        stat("Max connections", (f"pg_settings_max_connections{{{S}}}", "{{instance}}"), "none",
             description="The server's max_connections setting."),
        gauge("Connections used", (f"instance:pg_connections:ratio{{{S}}}", "{{instance}}"), "percentunit",
              description="Connections in use / the connections the forum may open (max_connections minus superuser_reserved_connections and reserved_connections; recording rule). Alerts at 80% and 95%."),
        stat("Databases size", (f"sum(pg_database_size_bytes{{{D}}})", "total"), "bytes",
             description="Sum of the selected databases' sizes."),
        timeseries("Connections by state", (f"sum by (state) (pg_stat_activity_count{{{D}}})", "{{state}}"),
                   "short", stack=True,
                   description="Backends per state (active, idle, idle in transaction...). Many 'idle in transaction' means a leak."),
        timeseries("Connections by database", (f"sum by (datname) (pg_stat_activity_count{{{D}}})", "{{datname}}"),
                   "short", stack=True, description="Backends connected to each database."),
        timeseries("Transactions", [
            (f"sum by (datname) (rate(pg_stat_database_xact_commit{{{D}}}[{RI}]))", "{{datname}} commits"),
            (f"sum by (datname) (rate(pg_stat_database_xact_rollback{{{D}}}[{RI}]))", "{{datname}} rollbacks"),
        ], "ops", description="Committed and rolled-back transactions per second."),
        timeseries("Cache hit ratio", (f"datname:pg_stat_database_blks_hit:ratio_rate5m{{{D}}}", "{{datname}}"),
                   "percentunit", min0=False,
                   description="Share of block reads served from shared buffers over 5 minutes (recording rule). Below 99% on a busy database: shared_buffers too small or missing indexes."),
        timeseries("Database size", (f"pg_database_size_bytes{{{D}}}", "{{datname}}"), "bytes",
                   description="On-disk size of each database."),
        timeseries("Rows returned vs fetched", [
            (f"sum by (datname) (rate(pg_stat_database_tup_returned{{{D}}}[{RI}]))", "{{datname}} returned"),
            (f"sum by (datname) (rate(pg_stat_database_tup_fetched{{{D}}}[{RI}]))", "{{datname}} fetched"),
        ], "ops", description="Rows read by sequential scans (returned) and by index scans (fetched) per second."),
    ]
    return dashboard("forum-pg-overview", "PostgreSQL overview",
                     "Is PostgreSQL up, how loaded, how big: connections, transactions, cache hits, sizes.",
                     ["postgresql"], 2, variables(), panels)


def activity():
    """2. PostgreSQL activity."""
    panels = [
        timeseries("Tuples read", [
            (f"sum by (datname) (rate(pg_stat_database_tup_returned{{{D}}}[{RI}]))", "{{datname}} returned"),
            (f"sum by (datname) (rate(pg_stat_database_tup_fetched{{{D}}}[{RI}]))", "{{datname}} fetched"),
        ], "ops", description="Rows returned by sequential scans and fetched by index scans, per second."),
        timeseries("Tuples written", [
            (f"sum by (datname) (rate(pg_stat_database_tup_inserted{{{D}}}[{RI}]))", "{{datname}} inserted"),
            (f"sum by (datname) (rate(pg_stat_database_tup_updated{{{D}}}[{RI}]))", "{{datname}} updated"),
            (f"sum by (datname) (rate(pg_stat_database_tup_deleted{{{D}}}[{RI}]))", "{{datname}} deleted"),
        ], "ops", description="Rows inserted, updated and deleted per second."),
        timeseries("Locks by mode", (f"sum by (mode) (pg_locks_count{{{D}}})", "{{mode}}"), "short", stack=True,
                   description="Locks held, by lock mode. A growing AccessExclusiveLock count blocks everything on those tables."),
        timeseries("Deadlocks", (f"sum by (datname) (rate(pg_stat_database_deadlocks{{{D}}}[{RI}])) * 60", "{{datname}}"),
                   "opm",
                   description="Deadlocks detected per minute (a rate, so each one counts once whatever the interval). Each one aborted a transaction; alert PostgresqlDeadlocks above 2 in 10 minutes for 10 minutes."),
        timeseries("Temporary files", (f"sum by (datname) (rate(pg_stat_database_temp_files{{{D}}}[{RI}]))", "{{datname}}"),
                   "ops", description="Temporary files created per second by queries whose sorts or hashes exceed work_mem."),
        timeseries("Temporary bytes", (f"sum by (datname) (rate(pg_stat_database_temp_bytes{{{D}}}[{RI}]))", "{{datname}}"),
                   "Bps", description="Bytes written to temporary files per second."),
        timeseries("Recovery conflicts", (f"sum by (datname) (rate(pg_stat_database_conflicts{{{D}}}[{RI}]))", "{{datname}}"),
                   "ops", description="Queries cancelled on a standby because of recovery conflicts, per second (0 on a primary)."),
        timeseries("Recovery conflicts by type", [
            (f"sum(rate(pg_stat_database_conflicts_confl_lock{{{D}}}[{RI}]))", "lock"),
            (f"sum(rate(pg_stat_database_conflicts_confl_snapshot{{{D}}}[{RI}]))", "snapshot"),
            (f"sum(rate(pg_stat_database_conflicts_confl_bufferpin{{{D}}}[{RI}]))", "bufferpin"),
            (f"sum(rate(pg_stat_database_conflicts_confl_deadlock{{{D}}}[{RI}]))", "deadlock"),
            (f"sum(rate(pg_stat_database_conflicts_confl_tablespace{{{D}}}[{RI}]))", "tablespace"),
        ], "ops", description="Standby query cancellations by cause, per second."),
        timeseries("Rollback ratio", (
            f"sum by (datname) (rate(pg_stat_database_xact_rollback{{{D}}}[{RI}])) / "
            f"sum by (datname) (rate(pg_stat_database_xact_commit{{{D}}}[{RI}]) + rate(pg_stat_database_xact_rollback{{{D}}}[{RI}]))",
            "{{datname}}"), "percentunit",
            description="Share of transactions rolled back: failed requests, deadlocks, serialization failures."),
        timeseries("Longest transaction", (
            f"max by (datname) (pg_stat_activity_max_tx_duration{{{D}}})", "{{datname}}"), "s",
            description="Age of the oldest open transaction per database. Long ones hold locks and keep vacuum from removing dead rows."),
        timeseries("Block reads", [
            (f"sum by (datname) (rate(pg_stat_database_blks_read{{{D}}}[{RI}]))", "{{datname}} from disk"),
            (f"sum by (datname) (rate(pg_stat_database_blks_hit{{{D}}}[{RI}]))", "{{datname}} from cache"),
        ], "ops", description="Blocks read from disk (or the OS cache) and from shared buffers, per second."),
    ]
    return dashboard("forum-pg-activity", "PostgreSQL activity",
                     "What PostgreSQL is doing: rows read and written, locks, deadlocks, temp files, conflicts.",
                     ["postgresql"], 2, variables(), panels)


def internals():
    """3. PostgreSQL internals."""
    T = S + ',datname=~"$datname"'
    panels = [
        timeseries("Checkpoints", [
            (f"sum(rate(pg_stat_bgwriter_checkpoints_timed_total{{{S}}}[{RI}]))", "scheduled"),
            (f"sum(rate(pg_stat_bgwriter_checkpoints_req_total{{{S}}}[{RI}]))", "requested"),
        ], "ops", description="Checkpoints per second. Many requested ones: max_wal_size is too small for the write load."),
        timeseries("Checkpoint time", [
            (f"sum(rate(pg_stat_bgwriter_checkpoint_write_time_total{{{S}}}[{RI}]))", "write"),
            (f"sum(rate(pg_stat_bgwriter_checkpoint_sync_time_total{{{S}}}[{RI}]))", "sync"),
        ], "ms", description="Milliseconds per second spent writing and syncing checkpoint files."),
        timeseries("Buffers written", [
            (f"sum(rate(pg_stat_bgwriter_buffers_checkpoint_total{{{S}}}[{RI}]))", "by checkpoints"),
            (f"sum(rate(pg_stat_bgwriter_buffers_clean_total{{{S}}}[{RI}]))", "by background writer"),
            (f"sum(rate(pg_stat_bgwriter_buffers_backend_total{{{S}}}[{RI}]))", "by backends"),
        ], "ops", stack=True,
            description="Buffers written per second, by who wrote them. Backends writing many: the background writer does not keep up."),
        timeseries("Buffers allocated", (f"sum(rate(pg_stat_bgwriter_buffers_alloc_total{{{S}}}[{RI}]))", "allocated"),
                   "ops", description="Buffers allocated per second."),
        timeseries("Replication lag", (f"pg_replication_lag_seconds{{{S}}}", "{{instance}}"), "s",
                   description="How far a replica's replay is behind its primary (0 on a primary). Alert PostgresqlReplicationLag above 60 s."),
        bargauge("Largest tables (size)",
                 (f"topk(10, pg_stat_user_tables_size_bytes{{{T}}})", "{{datname}}.{{schemaname}}.{{relname}}"),
                 "bytes", description="The 10 largest tables on disk (table, indexes and TOAST)."),
        bargauge("Largest tables (live rows)",
                 (f"topk(10, pg_stat_user_tables_n_live_tup{{{T}}})", "{{datname}}.{{schemaname}}.{{relname}}"),
                 "short", description="The 10 tables with the most live rows."),
        bargauge("Most dead tuples",
                 (f"topk(10, pg_stat_user_tables_n_dead_tup{{{T}}})", "{{datname}}.{{schemaname}}.{{relname}}"),
                 "short", description="The 10 tables with the most dead rows waiting for vacuum."),
        timeseries("Dead tuple ratio", (
            f"topk(10, pg_stat_user_tables_n_dead_tup{{{T}}} / "
            f"(pg_stat_user_tables_n_live_tup{{{T}}} + pg_stat_user_tables_n_dead_tup{{{T}}} > 0))",
            "{{datname}}.{{schemaname}}.{{relname}}"), "percentunit",
            description="Dead rows as a share of all rows, for the 10 worst tables. Above 20%: autovacuum falls behind."),
        timeseries("Table scans", [
            (f"sum by (relname) (rate(pg_stat_user_tables_seq_scan{{{T}}}[{RI}]))", "{{relname}} sequential"),
            (f"sum by (relname) (rate(pg_stat_user_tables_idx_scan{{{T}}}[{RI}]))", "{{relname}} index"),
        ], "ops", description="Sequential and index scans per second, per table. Sequential scans on big tables: a missing index."),
    ]
    return dashboard("forum-pg-internals", "PostgreSQL internals",
                     "Checkpoints, buffers, replication lag, largest tables and dead tuples.",
                     ["postgresql"], 2, variables(), panels)
