"""nginx dashboards (5-7): endpoints, most popular requests, traffic. Metrics of
nginx-log-exporter (docs/contracts.md) and the recording rules of
monitoring/prometheus/rules/recording.yml.

Endpoint panels sum over the selected nginx instances (`sum by (endpoint)`): each endpoint is
one series whatever the number of pods, and file labels (such as `vhost`) never make a join
many-to-many. Quantiles come from buckets summed `by (le)` first, never from a max of
per-instance quantiles."""

from .grafana import bargauge, dashboard, query_variable, stat, timeseries

S = 'job=~"$job",instance=~"$instance"'
RI = "$__rate_interval"
# Requests per second per endpoint over the selected instances.
BY_ENDPOINT = f"sum by (endpoint) (rate(nginx_http_requests_total{{{S}}}[{RI}]))"
# 5xx per second per endpoint (an explicit 0 for endpoints without any).
FIVE_BY_ENDPOINT = (f'(sum by (endpoint) (rate(nginx_http_requests_total{{{S},status=~"5.."}}[{RI}])) '
                    f"or 0 * {BY_ENDPOINT})")
# The top 10 endpoints by request rate, to restrict other series to them.
TOP = f"topk(10, {BY_ENDPOINT})"


def variables():
    """job and instance variables of the nginx dashboards."""
    return [
        query_variable("job", "Job", "label_values(nginx_log_exporter_build_info, job)", default="nginx"),
        query_variable("instance", "Instance", 'label_values(nginx_log_exporter_build_info{job=~"$job"}, instance)'),
    ]


def endpoints():
    """5. nginx endpoints."""
    panels = [
        stat("Failed admin logins (1h)",
             (f'sum(increase(nginx_events_total{{{S},event="failed_admin_login"}}[1h]))', "failed admin logins"),
             "short", thresholds=[{"color": "green", "value": None}, {"color": "red", "value": 5}],
             description="POST /admin/login answered 401 in the last hour. 5 within 2 minutes fires ForumFailedAdminLoginsBurst."),
        stat("Failed logins (1h)",
             (f'sum(increase(nginx_events_total{{{S},event="failed_login"}}[1h]))', "failed logins"),
             "short", description="POST /login and POST /api/auth/login answered 401 in the last hour."),
        stat("Threads created (1h)",
             (f'sum(increase(nginx_events_total{{{S},event="thread_created"}}[1h]))', "threads"),
             "short", description="Threads started through the web form or the API in the last hour."),
        stat("5xx (1h)",
             (f'sum(increase(nginx_events_total{{{S},event="server_error"}}[1h]))', "5xx"),
             "short", thresholds=[{"color": "green", "value": None}, {"color": "red", "value": 1}],
             description="Requests answered with a 5xx status in the last hour."),
        stat("Requests folded into 'other'",
             (f"sum(nginx_http_endpoints_folded_total{{{S}}})", "folded"), "short",
             description="Requests counted under endpoint=\"other\" because the exporter's endpoint or series cap was reached, since it started. Non-zero: raise the cap or add endpoint rules."),
        stat("Requests/s", (f"sum(instance:nginx_http_requests:rate5m{{{S}}})", "requests/s"), "reqps",
             description="All requests per second over 5 minutes."),
        timeseries("Requests per endpoint", (BY_ENDPOINT, "{{endpoint}}"),
                   "reqps", stack=True, w=24,
                   description="Requests per second per endpoint (URL template), summed over the selected nginx instances."),
        timeseries("Failed logins and failed admin logins",
                   (f'sum by (event) (rate(nginx_events_total{{{S},event=~"failed_login|failed_admin_login"}}[{RI}])) * 60', "{{event}}"),
                   "opm", bars=True,
                   description="Failed logins (web form and API) and failed admin logins, per minute."),
        bargauge("Top sources of failed logins",
                 (f'topk(10, sum by (source, event) (nginx_event_top_sources{{{S},event=~"failed_login|failed_admin_login"}}))',
                  "{{source}} {{event}}"),
                 "short",
                 description="The client addresses (IPv6 by /64) with the most failed logins and failed admin logins in the exporter's sliding window (10 minutes by default), summed over the selected instances. The address a burst alert names; block it at the ingress."),
        timeseries("Thread, post and user creation",
                   (f'sum by (event) (rate(nginx_events_total{{{S},event=~"thread_created|post_created|user_registered"}}[{RI}])) * 60', "{{event}}"),
                   "opm", description="Threads started, replies posted and users registered, per minute."),
        timeseries("5xx by endpoint", (FIVE_BY_ENDPOINT, "{{endpoint}}"), "reqps",
                   stack=True, description="Requests answered 5xx per second, per endpoint, summed over the selected nginx instances."),
        timeseries("5xx ratio by endpoint", (f"{FIVE_BY_ENDPOINT} / {BY_ENDPOINT}", "{{endpoint}}"),
                   "percentunit", description="Share of each endpoint's requests answered 5xx. Ticket NginxEndpointHigh5xxRatio above 10% for 15 minutes; the site-wide pages are the SLO burn-rate alerts (SLO dashboard)."),
        timeseries("Requests by method and status",
                   (f"sum by (method, status) (rate(nginx_http_requests_total{{{S}}}[{RI}]))", "{{method}} {{status}}"),
                   "reqps", w=24, description="Requests per second by HTTP method and status code."),
    ]
    return dashboard("forum-nginx-endpoints", "nginx endpoints",
                     "Requests per forum endpoint, failed logins and failed admin logins with their top sources, creations, 5xx by endpoint.",
                     ["nginx"], 3, variables(), panels)


def top():
    """6. nginx most popular requests."""
    panels = [
        bargauge("Top endpoints by request rate", (TOP, "{{endpoint}}"), "reqps",
                 description="The 10 endpoints with the most requests per second over 5 minutes."),
        bargauge("Top requests (method and endpoint)",
                 (f"topk(10, sum by (method, endpoint) (rate(nginx_http_top_requests_total{{{S}}}[{RI}])))", "{{method}} {{endpoint}}"),
                 "reqps", description="The exporter's own top-N of method and endpoint pairs (space-saving counts)."),
        timeseries("Request rate of the top endpoints", (TOP, "{{endpoint}}"), "reqps",
                   description="Requests per second of the 10 busiest endpoints."),
        timeseries("p95 latency of the top endpoints", (
            f"histogram_quantile(0.95, sum by (endpoint, le) (rate(nginx_http_request_duration_seconds_bucket{{{S}}}[{RI}]))) "
            f"and on (endpoint) {TOP}", "{{endpoint}}"),
            "s", description="95th percentile of request duration of the 10 busiest endpoints, from their buckets summed over the selected instances."),
        timeseries("5xx ratio of the top endpoints",
                   (f"{FIVE_BY_ENDPOINT} / on (endpoint) {TOP}", "{{endpoint}}"),
                   "percentunit", description="Share of 5xx answers of the 10 busiest endpoints."),
        timeseries("4xx ratio of the top endpoints", (
            f'(sum by (endpoint) (rate(nginx_http_requests_total{{{S},status=~"4.."}}[{RI}])) or 0 * {BY_ENDPOINT}) '
            f"/ on (endpoint) {TOP}", "{{endpoint}}"),
            "percentunit", description="Share of 4xx answers (not found, failed logins, invalid forms) of the 10 busiest endpoints."),
        timeseries("Response bytes of the top endpoints", (
            f"sum by (endpoint) (rate(nginx_http_response_bytes_total{{{S}}}[{RI}])) "
            f"and on (endpoint) {TOP}", "{{endpoint}}"),
            "Bps", w=24, description="Bytes sent per second by the 10 busiest endpoints."),
    ]
    return dashboard("forum-nginx-top", "nginx most popular requests",
                     "The busiest endpoints, with their latency and error ratios.",
                     ["nginx"], 2, variables(), panels)


def traffic():
    """7. nginx traffic."""
    panels = [
        stat("Requests/s", (f"sum(instance:nginx_http_requests:rate5m{{{S}}})", "requests/s"), "reqps",
             description="All requests per second over 5 minutes."),
        stat("5xx ratio", (f"sum(instance:nginx_http_5xx:rate5m{{{S}}}) / sum(instance:nginx_http_requests:rate5m{{{S}}})", "5xx"), "percentunit",
             thresholds=[{"color": "green", "value": None}, {"color": "orange", "value": 0.001}, {"color": "red", "value": 0.0144}],
             description="Share of requests answered 5xx over 5 minutes, over the selected instances. The availability objective allows 0.1%; 1.44% over an hour pages (SLO dashboard)."),
        stat("p95 latency", (f"histogram_quantile(0.95, sum by (le) (instance:nginx_http_request_duration_seconds_bucket:rate5m{{{S}}}))", "p95"), "s",
             thresholds=[{"color": "green", "value": None}, {"color": "orange", "value": 0.5}, {"color": "red", "value": 1}],
             description="95th percentile of request duration over 5 minutes, from the buckets of the selected instances. Alert NginxHighLatency above 1 s."),
        stat("Bytes out/s", (f"sum(rate(nginx_http_response_bytes_total{{{S}}}[{RI}]))", "out"), "Bps",
             description="Response bytes sent per second."),
        stat("Log lines/s", (f"sum(rate(nginx_log_lines_total{{{S}}}[{RI}]))", "lines/s"), "ops",
             description="Access-log lines read per second by the exporter."),
        stat("Log lag", (f"sum(nginx_log_lag_bytes{{{S}}})", "lag"), "bytes",
             thresholds=[{"color": "green", "value": None}, {"color": "red", "value": 4194304}],
             description="Bytes of access log not yet read by the exporter. Alert above 4 MiB."),
        timeseries("Requests by status class",
                   (f"sum by (status_class) (instance_status_class:nginx_http_requests:rate5m{{{S}}})", "{{status_class}}"),
                   "reqps", stack=True, w=24, description="Requests per second by status class (recording rule)."),
        timeseries("Bytes in and out", [
            (f"sum(rate(nginx_http_request_bytes_total{{{S}}}[{RI}]))", "in (requests)"),
            (f"sum(rate(nginx_http_response_bytes_total{{{S}}}[{RI}]))", "out (responses)"),
        ], "Bps", description="Request and response bytes per second."),
        timeseries("Request latency percentiles", [
            (f"histogram_quantile(0.50, sum by (le) (instance:nginx_http_request_duration_seconds_bucket:rate5m{{{S}}}))", "p50"),
            (f"histogram_quantile(0.95, sum by (le) (instance:nginx_http_request_duration_seconds_bucket:rate5m{{{S}}}))", "p95"),
            (f"histogram_quantile(0.99, sum by (le) (instance:nginx_http_request_duration_seconds_bucket:rate5m{{{S}}}))", "p99"),
        ], "s", description="Request duration percentiles as nginx measures them ($request_time), over 5 minutes, from the buckets of the selected instances summed by le."),
        timeseries("Upstream time percentiles", [
            (f"histogram_quantile(0.50, sum by (le) (instance:nginx_http_upstream_duration_seconds_bucket:rate5m{{{S}}}))", "p50"),
            (f"histogram_quantile(0.95, sum by (le) (instance:nginx_http_upstream_duration_seconds_bucket:rate5m{{{S}}}))", "p95"),
            (f"histogram_quantile(0.99, sum by (le) (instance:nginx_http_upstream_duration_seconds_bucket:rate5m{{{S}}}))", "p99"),
        ], "s", description="Time the forum took to answer ($upstream_response_time). Far below the request time: slow clients."),
        timeseries("Average request vs upstream time", [
            (f"sum(rate(nginx_http_request_duration_seconds_sum{{{S}}}[{RI}])) / sum(rate(nginx_http_request_duration_seconds_count{{{S}}}[{RI}]))", "request"),
            (f"sum(rate(nginx_http_upstream_duration_seconds_sum{{{S}}}[{RI}])) / sum(rate(nginx_http_upstream_duration_seconds_count{{{S}}}[{RI}]))", "upstream"),
        ], "s", description="Mean request duration and mean upstream time."),
        timeseries("Log parse errors", (f"sum by (reason) (rate(nginx_log_parse_errors_total{{{S}}}[{RI}]))", "{{reason}}"),
                   "ops", description="Access-log lines the exporter could not parse, per second, by reason."),
    ]
    return dashboard("forum-nginx-traffic", "nginx traffic",
                     "Requests by status class, bytes in and out, latency percentiles, upstream time.",
                     ["nginx"], 2, variables(), panels)
