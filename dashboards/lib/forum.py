"""Dashboards 4 and 8: forum growth and activity (pg-exporter's `forum` preset, nginx events,
the forum's own /metrics), and the deployment overview (every target)."""

from .grafana import UP_DOWN, dashboard, query_variable, stat, table, timeseries

S = 'job=~"$job",instance=~"$instance"'
RI = "$__rate_interval"

BUILD_INFO = ["nginx_log_exporter_build_info", "pg_exporter_build_info", "alert_relay_build_info",
              "forum_build_info", "prometheus_build_info", "alertmanager_build_info"]


def growth():
    """4. Forum growth and activity."""
    def total(name, title, desc):
        return stat(title, (f"sum({name}{{{S}}})", title), "short", description=desc)

    panels = [
        total("forum_users", "Users", "Registered users (activated or not)."),
        total("forum_threads", "Threads", "Threads, hidden ones included."),
        total("forum_posts", "Posts", "Posts, deleted ones included."),
        total("forum_users_online", "Online users", "Users seen in the last 5 minutes."),
        total("forum_users_joined_last_24h", "New users (24h)", "Users who registered in the last 24 hours."),
        total("forum_polls", "Polls", "Polls attached to threads."),
        timeseries("Users, threads and posts", [
            (f"sum(forum_users{{{S}}})", "users"),
            (f"sum(forum_threads{{{S}}})", "threads"),
            (f"sum(forum_posts{{{S}}})", "posts"),
        ], "short", w=24, min0=False, description="Totals over time."),
        timeseries("Growth per hour", [
            (f"sum(delta(forum_users{{{S}}}[1h]))", "users"),
            (f"sum(delta(forum_threads{{{S}}}[1h]))", "threads"),
            (f"sum(delta(forum_posts{{{S}}}[1h]))", "posts"),
        ], "short", min0=False, description="Change of each total over the past hour (negative when content is purged)."),
        timeseries("New users", [
            (f"sum(forum_users_joined_last_24h{{{S}}})", "joined in the last 24h"),
            (f"sum(forum_users_awaiting_activation{{{S}}})", "awaiting activation"),
        ], "short", description="Users who registered in the last 24 hours, and accounts not yet activated."),
        timeseries("Online and active users", [
            (f"sum(forum_users_online{{{S}}})", "online"),
            (f"sum(forum_users_active{{{S}}})", "active accounts"),
        ], "short", description="Users seen in the last 5 minutes, and activated accounts."),
        timeseries("Polls and votes", [
            (f"sum(forum_polls{{{S}}})", "polls"),
            (f"sum(forum_poll_votes{{{S}}})", "votes"),
        ], "short", description="Polls and the votes cast in them."),
        timeseries("Creations per minute (from the access log)",
                   ('sum by (event) (rate(nginx_events_total{job="nginx",event=~"thread_created|post_created|user_registered"}'
                    f"[{RI}])) * 60", "{{event}}"),
                   "opm", description="Threads, posts and registrations per minute as nginx saw them (POST answered 303/201)."),
        timeseries("Forum requests by role",
                   (f'sum by (role) (rate(forum_http_requests_total{{job=~"forum-web|forum-api"}}[{RI}]))', "{{role}}"),
                   "reqps", description="Requests per second the forum itself served, per role (web, api)."),
        timeseries("Read cache", [
            ('sum by (job) (rate(forum_read_cache_hits_total{job=~"forum-web|forum-api"}[' + RI + ']))'
             ' / (sum by (job) (rate(forum_read_cache_hits_total{job=~"forum-web|forum-api"}[' + RI + ']))'
             ' + sum by (job) (rate(forum_read_cache_misses_total{job=~"forum-web|forum-api"}[' + RI + '])))',
             "hit ratio {{job}}"),
            ('min by (job) (forum_read_cache_listening{job=~"forum-web|forum-api"})', "serving from memory {{job}}"),
        ], "percentunit", description="Share of the hot pages' reads answered from memory, and whether every process of each role serves from memory (100%) or reads PostgreSQL for everything (0%: alert ForumReadCacheOff)."),
        timeseries("Background jobs",
                   (f'sum by (kind, outcome) (rate(forum_jobs_total[{RI}])) * 60', "{{kind}} {{outcome}}"),
                   "opm", description="Jobs the forum worker ran per minute, by kind and outcome."),
        timeseries("Failed logins by door and account",
                   (f'sum by (door, account) (rate(forum_login_failures_total{{job=~"forum-web|forum-api"}}[{RI}])) * 60',
                    "{{door}} {{account}}"),
                   "opm", bars=True,
                   description="Failed logins per minute by door (page: /login, api: /api/auth/login, admin: /admin/login) and by the role of the account tried (unknown: no such account). 5 against an admin account within 2 minutes fires ForumFailedAdminLoginsBurst."),
        timeseries("Mails",
                   (f'sum by (kind, result) (rate(forum_emails_total[{RI}])) * 60', "{{kind}} {{result}}"),
                   "opm", description="Mail delivery attempts per minute, by kind and result (sent, logged without an SMTP server, retry, failed for good). Alert: ForumMailDeliveryFailing."),
        timeseries("Mail queue", [
            ("sum(forum_emails_queued)", "queued"),
            ("max(forum_emails_oldest_queued_seconds) / 60", "oldest (minutes)"),
        ], "short", description="Mails waiting to be sent, and how long the oldest has waited in minutes (over 30: ForumMailDeliveryFailing)."),
        timeseries("Notifications",
                   (f'sum by (kind, channel) (rate(forum_notifications_total[{RI}])) * 60', "{{kind}} {{channel}}"),
                   "opm", description="Notifications per minute by kind (reply, mention, quote, best answer, private thread) and channel (site: written; email: mailed, one each or in a digest)."),
        timeseries("Notification outbox", [
            ("sum(forum_notification_outbox_due)", "due"),
            ("max(forum_notification_outbox_oldest_due_seconds) / 60", "oldest due (minutes)"),
        ], "short", description="Notification mails due to be queued, and how long the oldest has waited in minutes. Alerts: ForumNotificationOutboxGrowing, ForumNotificationOutboxStale."),
        timeseries("Registrations",
                   (f'sum by (mode, result) (rate(forum_registrations_total[{RI}])) * 60', "{{mode}} {{result}}"),
                   "opm", description="Registration attempts per minute, by registration mode and result (active, awaiting e-mail or approval, address in use, refused, invalid). Alert: ForumRegistrationSpike."),
        timeseries("Account events",
                   (f'sum by (event) (rate(forum_account_events_total[{RI}])) * 60', "{{event}}"),
                   "opm", description="Activations, approvals, password reset links asked for and used, passwords set by administrators, e-mail changes, deleted accounts, per minute."),
        timeseries("Moderation actions",
                   (f'sum by (action) (increase(forum_moderation_actions_total{{job=~"forum-web|forum-api"}}[1h]))', "{{action}}"),
                   "short", bars=True,
                   description="Threads merged, posts moved or split, polls added, edited, closed, reopened or deleted, and best answers unmarked, per hour."),
        timeseries("Attachment uploads",
                   (f'sum by (result) (rate(forum_attachment_uploads_total{{job=~"forum-web|forum-api"}}[{RI}])) * 60',
                    "{{result}}"),
                   "opm", description="Attachment uploads per minute by result: stored, too_large (over the administrator's limit), type_refused (a type not allowed, told from the bytes), invalid (no file, an image that does not decode), storage_error (the store failed: 503)."),
        timeseries("Attachment storage", [
            (f'sum by (operation) (rate(forum_attachment_storage_errors_total[{RI}])) * 60', "errors: {{operation}}"),
            (f"sum(rate(forum_attachment_orphans_removed_total[{RI}])) * 60", "orphans removed"),
        ], "opm", description="Failed or timed-out calls to the attachment store per minute, by operation (put, get, delete), in the web, API and worker processes (any: ForumAttachmentStorageErrors); orphans (never linked to a post) the worker removed."),
        timeseries("Attachments stored", [
            ("max(forum_attachment_bytes)", "bytes (worker)"),
            (f"sum(forum_attachments_size_bytes{{{S}}})", "bytes (database)"),
        ], "bytes", description="Bytes of the attachments the database knows (images in their re-encoded form, thumbnails left out): the worker's gauge, refreshed at each sweep, and pg-exporter's forum preset."),
        timeseries("Permission refusals",
                   (f'sum by (action) (rate(forum_permission_denied_total{{job=~"forum-web|forum-api"}}[{RI}])) * 60', "{{action}}"),
                   "opm", bars=True,
                   description="Requests the permission policy refused per minute, by the missing permission (see: a category or thread that does not exist for the viewer, read, start and reply in read-only categories, moderate, private: a private thread of others). A steady stream of see/private is someone probing ids."),
        timeseries("Private threads", [
            (f"sum(forum_private_threads{{{S}}})", "private threads"),
            ('sum(rate(forum_private_threads_created_total{job=~"forum-web|forum-api"}[1h])) * 3600', "started per hour"),
        ], "short", description="Private threads between invited members (not in the public totals above), and how many are started per hour."),
    ]
    variables = [
        query_variable("job", "Job", "label_values(forum_users, job)", default="postgres"),
        query_variable("instance", "Instance", 'label_values(forum_users{job=~"$job"}, instance)'),
    ]
    return dashboard("forum-growth", "Forum growth and activity",
                     "Users, threads and posts: totals, per-hour growth, new and online users, polls.",
                     ["forum"], 4, variables, panels, time_from="now-24h")


def deployment():
    """8. Deployment overview."""
    J = 'job=~"$job"'
    build = " or ".join(f"{m}{{{J}}}" for m in BUILD_INFO)
    panels = [
        stat("Targets up", (f"sum(up{{{J}}})", "up"), "short", w=6,
             description="Targets Prometheus scraped successfully on its last attempt."),
        stat("Targets down", (f"count(up{{{J}}} == 0) or vector(0)", "down"), "short", w=6,
             thresholds=[{"color": "green", "value": None}, {"color": "red", "value": 1}], color_mode="background",
             description="Targets Prometheus could not scrape (alerts ForumDown, TargetDown)."),
        stat("Alerts firing", ('count(ALERTS{alertstate="firing"}) or vector(0)', "firing"), "short", w=6,
             thresholds=[{"color": "green", "value": None}, {"color": "red", "value": 1}], color_mode="background",
             description="Alerts firing now."),
        stat("Relay spool depth", (f"sum(alert_relay_spool_depth{{{J}}})", "queued"), "short", w=6,
             thresholds=[{"color": "green", "value": None}, {"color": "orange", "value": 10}, {"color": "red", "value": 100}],
             description="Notifications waiting in alert-relay's spool."),
        stat("Target status", (f"up{{{J}}}", "{{job}} {{instance}}"), "none", w=24, h=5, mappings=UP_DOWN,
             color_mode="background", description="Every target's last scrape: UP or DOWN."),
        table("Versions", (build, "table"), "none", w=24, h=7, hide=("Time", "Value", "__name__"),
              description="Version labels of every component's _build_info."),
        table("Firing alerts", ('ALERTS{alertstate="firing"}', "table"), "none", w=24, h=7,
              hide=("Time", "Value", "__name__", "alertstate"), description="Alerts firing now, with their labels."),
        timeseries("Scrape duration", (f"scrape_duration_seconds{{{J}}}", "{{job}} {{instance}}"), "s",
                   description="How long each scrape took. pg-exporter runs its SQL during the scrape."),
        timeseries("Samples per scrape", (f"scrape_samples_scraped{{{J}}}", "{{job}} {{instance}}"), "short",
                   description="Series each target exposes; a jump means new label values (cardinality)."),
        timeseries("nginx-log-exporter: lines and parse errors", [
            (f"sum by (instance) (rate(nginx_log_lines_total{{{J}}}[{RI}]))", "{{instance}} lines"),
            (f"sum by (instance) (rate(nginx_log_parse_errors_total{{{J}}}[{RI}]))", "{{instance}} parse errors"),
        ], "ops", description="Access-log lines read and lines that failed to parse, per second."),
        timeseries("nginx-log-exporter: lag", (f"sum by (instance, file) (nginx_log_lag_bytes{{{J}}})", "{{instance}} {{file}}"),
                   "bytes", description="Bytes of access log not yet read."),
        timeseries("pg-exporter: scrape duration", (f"pg_exporter_last_scrape_duration_seconds{{{J}}}", "{{instance}}"),
                   "s", description="Time pg-exporter took to run its queries on the last scrape."),
        timeseries("pg-exporter: failing collectors",
                   (f"count by (instance) (pg_exporter_collector_success{{{J}}} == 0) or sum by (instance) (0 * pg_exporter_last_scrape_error{{{J}}})", "{{instance}}"),
                   "short", description="Collectors whose last run failed (0 is good)."),
        timeseries("alert-relay: notifications", [
            (f"sum(rate(alert_relay_notifications_received_total{{{J}}}[{RI}])) * 60", "received"),
            (f"sum(rate(alert_relay_notifications_delivered_total{{{J}}}[{RI}])) * 60", "delivered"),
            (f"sum(rate(alert_relay_delivery_retries_total{{{J}}}[{RI}])) * 60", "retries"),
            (f"sum(rate(alert_relay_delivery_failures_total{{{J}}}[{RI}])) * 60", "failures"),
            (f"sum(rate(alert_relay_dead_letters_total{{{J}}}[{RI}])) * 60", "dead letters"),
            (f"sum(rate(alert_relay_discord_rate_limited_total{{{J}}}[{RI}])) * 60", "rate limited"),
        ], "opm", description="Notifications in and out of alert-relay, per minute."),
        timeseries("alert-relay: delivery latency p95",
                   (f"histogram_quantile(0.95, sum by (le) (rate(alert_relay_delivery_latency_seconds_bucket{{{J}}}[{RI}])))", "p95"),
                   "s", description="Time from receiving a notification to Discord accepting it, 95th percentile."),
    ]
    variables = [query_variable("job", "Job", "label_values(up, job)")]
    return dashboard("forum-deployment", "Deployment overview",
                     "Every target's up, versions, scrape durations, exporter self-metrics and firing alerts.",
                     ["deployment"], 2, variables, panels, time_from="now-3h")
