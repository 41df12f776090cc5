"""The forum overview (the first dashboard to open: is the forum up, fast, within its
objectives, and what fires) and the SLO dashboard (error budgets and burn rates). Both read
the job-level recording rules of monitoring/prometheus/rules/slo.yml and link to the other
dashboards, carrying the data source and the time range."""

from .grafana import UP_DOWN, dashboard, dashboard_link, gauge, query_variable, stat, table, timeseries

J = 'job=~"$job"'
RI = "$__rate_interval"
# The objectives as scalars for one job (both are recording rules with a `job` label).
AVAIL_OBJ = f"max(job:slo_availability_objective:ratio{{{J}}})"
LAT_OBJ = f"max(job:slo_latency_objective:ratio{{{J}}})"


def variables():
    """The nginx job the SLOs are measured on."""
    return [query_variable("job", "Job", "label_values(job:nginx_http_requests:rate5m, job)",
                           default="nginx", include_all=False, multi=False)]


def links():
    """The other dashboards, with the data source and time range carried over (and the nginx
    job where the target dashboard has that variable)."""
    return [
        dashboard_link("SLO", "forum-slo", ("datasource", "job")),
        dashboard_link("nginx traffic", "forum-nginx-traffic", ("datasource", "job")),
        dashboard_link("nginx endpoints", "forum-nginx-endpoints", ("datasource", "job")),
        dashboard_link("nginx top requests", "forum-nginx-top", ("datasource", "job")),
        dashboard_link("PostgreSQL overview", "forum-pg-overview"),
        dashboard_link("PostgreSQL activity", "forum-pg-activity"),
        dashboard_link("PostgreSQL internals", "forum-pg-internals"),
        dashboard_link("Forum growth", "forum-growth"),
        dashboard_link("Deployment", "forum-deployment"),
    ]


def overview():
    """The forum overview: availability, p95, requests/s, probes, PostgreSQL health, alerts."""
    panels = [
        stat("Availability (1h)", (f"1 - max(job:nginx_http_5xx:ratio_rate1h{{{J}}})", "not 5xx"), "percentunit",
             thresholds=[{"color": "red", "value": None}, {"color": "orange", "value": 0.856},
                         {"color": "green", "value": 0.99}],
             description="Share of requests through nginx not answered 5xx over the last hour, all pods. Objective 99%; below 85.6% over an hour (or 10 minutes) pages."),
        stat("p95 latency", (f"max(job:nginx_http_request_duration_seconds:p95_5m{{{J}}})", "p95"), "s",
             thresholds=[{"color": "green", "value": None}, {"color": "orange", "value": 0.5}, {"color": "red", "value": 1}],
             description="95th percentile of request duration over 5 minutes, from the buckets of every nginx pod summed by le."),
        stat("Requests/s", (f"sum(job:nginx_http_requests:rate5m{{{J}}})", "requests/s"), "reqps",
             description="Requests per second through nginx over 5 minutes, all pods."),
        stat("Probes", ('probe_success{job="blackbox"}', "{{module}}"), "none", mappings=UP_DOWN,
             color_mode="background", w=6,
             description="The blackbox exporter's probes of the forum through nginx: front page, /readyz, the probe account's login."),
        stat("PostgreSQL", ('pg_up{job="postgres"}', "{{instance}}"), "none", mappings=UP_DOWN,
             color_mode="background", w=4,
             description="1 when pg-exporter could connect to PostgreSQL on its last scrape."),
        gauge("Connections used", ('max(instance:pg_connections:ratio{job="postgres"})', "connections"),
              "percentunit", w=4,
              description="Connections in use / the connections the forum may open (max_connections minus the reserved ones)."),
        stat("Replication lag", ('max(pg_replication_lag_seconds{job="postgres"})', "lag"), "s", w=4,
             thresholds=[{"color": "green", "value": None}, {"color": "red", "value": 60}],
             description="The largest replication lag of the PostgreSQL servers (0 on a primary and on an up-to-date replica)."),
        stat("Deadlocks/min", ('sum(rate(pg_stat_database_deadlocks{job="postgres"}[' + RI + "])) * 60", "deadlocks"),
             "opm", w=4, description="Deadlocks per minute over all databases."),
        stat("Alerts firing", ('count(ALERTS{alertstate="firing",severity=~"critical|warning"}) or vector(0) * count(ALERTS)',
                               "alerts"), "none", w=4,
             thresholds=[{"color": "green", "value": None}, {"color": "red", "value": 1}],
             description="Critical and warning alerts firing now (the always-firing Watchdog is not counted)."),
        timeseries("Requests by status class",
                   (f"sum by (status_class) (instance_status_class:nginx_http_requests:rate5m{{{J}}})", "{{status_class}}"),
                   "reqps", stack=True, description="Requests per second by status class, all nginx pods."),
        timeseries("5xx ratio and slow requests", [
            (f"max(job:nginx_http_5xx:ratio_rate5m{{{J}}})", "5xx"),
            (f"max(job:nginx_http_slow_requests:ratio_rate5m{{{J}}})", "slower than 1s"),
        ], "percentunit", description="Share of requests answered 5xx, and slower than the latency objective's 1 s, over 5 minutes."),
        timeseries("Logins refused and slowed", [
            ('sum by (reason) (rate(forum_login_refused_total{job=~"forum-web|forum-api"}[' + RI + "])) * 60", "refused: {{reason}}"),
            ('sum by (reason) (rate(forum_login_slowed_total{job=~"forum-web|forum-api"}[' + RI + "])) * 60", "slowed: {{reason}}"),
        ], "opm", description="Logins per minute the forum refused (429, an address that kept failing: on one account or on any) "
                              "or answered after a delay (an address's failures, or an account guessed from many addresses), all replicas. "
                              "Accounts are never locked. Alert: ForumLoginRefusalsHigh."),
        timeseries("Spam refused by rule",
                   ('sum by (reason) (rate(forum_spam_refused_total{job=~"forum-web|forum-api"}[' + RI + "])) * 60", "{{reason}}"),
                   "opm", stack=True,
                   description="Registrations and posts per minute refused by each anti-spam rule (honeypot, fill time, registrations per address, "
                               "flood, new members' hourly and link limits, bans), all replicas. Alert: ForumSpamRefusalsSpike."),
        table("Firing alerts", ('ALERTS{alertstate="firing"}', ""), "none", w=24,
              hide=("Time", "Value", "__name__", "alertstate"),
              description="Every alert firing now, with its labels (the Watchdog always: if it is missing, the rules are not evaluated)."),
    ]
    return dashboard("forum-overview", "Forum overview",
                     "Is the forum up and fast, within its objectives, is PostgreSQL healthy, what fires. Links to every other dashboard.",
                     ["overview"], 2, variables(), panels, time_from="now-6h", links=links())


def slo():
    """The SLO dashboard: objectives, error budget left over 30 days, burn rates."""
    five = f'sum(increase(nginx_http_requests_total{{{J},status=~"5.."}}[30d]))'
    total = f"sum(increase(nginx_http_requests_total{{{J}}}[30d]))"
    fast = f'sum(increase(nginx_http_request_duration_seconds_bucket{{{J},le=~"1|1\\\\.0"}}[30d]))'
    count = f"sum(increase(nginx_http_request_duration_seconds_count{{{J}}}[30d]))"
    windows = ("5m", "30m", "1h", "6h", "3d")
    avail_windows = ("5m", "10m", "30m", "1h", "6h", "3d")
    panels = [
        stat("Availability objective", (AVAIL_OBJ, "objective"), "percentunit", w=6,
             description="Share of requests that must not be answered 5xx over 30 days (rules/slo.yml)."),
        stat("Availability (30d)", (f"1 - ({five} / {total})", "not 5xx"), "percentunit", w=6,
             description="Share of requests not answered 5xx over the last 30 days (or since the data starts)."),
        stat("Latency objective", (LAT_OBJ, "objective"), "percentunit", w=6,
             description="Share of requests that must complete within 1 s over 30 days (rules/slo.yml)."),
        stat("Within 1 s (30d)", (f"{fast} / {count}", "within 1s"), "percentunit", w=6,
             description="Share of requests completed within 1 s over the last 30 days."),
        gauge("Availability error budget left (30d)",
              (f"1 - (({five} / {total}) / on () (1 - {AVAIL_OBJ}))", "budget left"),
              "percentunit", w=12, h=6, warn=0.25, crit=0.5,
              description="1 - (5xx ratio over 30 days / (1 - objective)). Below 0 the objective is missed."),
        gauge("Latency error budget left (30d)",
              (f"1 - ((1 - {fast} / {count}) / on () (1 - {LAT_OBJ}))", "budget left"),
              "percentunit", w=12, h=6, warn=0.25, crit=0.5,
              description="1 - (share slower than 1 s over 30 days / (1 - objective)). Below 0 the objective is missed."),
        timeseries("Availability burn rate", [
            (f"max(job:nginx_http_5xx:ratio_rate{w}{{{J}}}) / on () (1 - {AVAIL_OBJ})", w) for w in avail_windows
        ], "x", w=24, description="5xx ratio over each window divided by the budget (1 - objective). Pages: above 14.4 over 1h and 5m or over 10m and 5m, or 6 over 6h and 30m; ticket: above 1 over 3d and 6h."),
        timeseries("Latency burn rate", [
            (f"max(job:nginx_http_slow_requests:ratio_rate{w}{{{J}}}) / on () (1 - {LAT_OBJ})", w) for w in windows
        ], "x", w=24, description="Share of requests slower than 1 s over each window divided by the budget. Pages: above 14.4 over 1h and 5m, or 6 over 6h and 30m; ticket: above 1 over 3d and 6h."),
        timeseries("Requests/s (the traffic guard)", (f"sum(job:nginx_http_requests:rate1h{{{J}}})", "last hour"), "reqps",
                   w=24, description="Requests per second over the last hour: below 0.03/s (about 100 an hour) the burn-rate pages stay quiet."),
    ]
    return dashboard("forum-slo", "Forum SLO",
                     "Availability and latency objectives of the forum through nginx: error budget left over 30 days and burn rates over the alerting windows.",
                     ["slo"], 1, variables(), panels, time_from="now-7d", links=links())
