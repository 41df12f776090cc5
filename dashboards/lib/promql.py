"""Rough PromQL reading for the structure test: which metric names an expression uses, and
which metric names the project documents."""

import pathlib
import re

KEYWORDS = {
    "and", "or", "unless", "bool", "by", "without", "on", "ignoring", "group_left",
    "group_right", "offset", "inf", "nan", "atan2",
    # aggregation operators (may be followed by `by (...)` instead of `(`)
    "sum", "avg", "min", "max", "count", "topk", "bottomk", "quantile", "stddev", "stdvar",
    "count_values", "group",
}

# Series Prometheus itself creates for every target or rule, and the two self-metrics the
# deployment overview shows; documented by Prometheus and Alertmanager, not by us.
PROMETHEUS_OWN = {
    "up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_samples_post_metric_relabeling",
    "scrape_series_added", "ALERTS", "ALERTS_FOR_STATE", "prometheus_build_info",
    "alertmanager_build_info",
    # Prometheus' and Alertmanager's own metrics the alerting-path alerts watch.
    "prometheus_rule_evaluation_failures_total", "prometheus_notifications_errors_total",
    "prometheus_notifications_alertmanagers_discovered", "prometheus_config_last_reload_successful",
    "alertmanager_config_last_reload_successful", "alertmanager_notifications_failed_total",
    "alertmanager_notifications_total", "alertmanager_alerts",
    # The blackbox exporter's probe results (Debian's prometheus-blackbox-exporter).
    "probe_success", "probe_duration_seconds", "probe_http_status_code",
    # kubelet's volume statistics (the `kubelet` job in Kubernetes).
    "kubelet_volume_stats_available_bytes", "kubelet_volume_stats_capacity_bytes",
    "kubelet_volume_stats_used_bytes",
}

_STRING = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`')
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENT = re.compile(r"(?<![\w.:])([a-zA-Z_:][\w:]*)")


def metric_names(expr):
    """The metric names an expression selects (identifiers that are not functions, keywords,
    label names, durations or strings)."""
    e = _STRING.sub('""', expr)
    e = re.sub(r"\{[^}]*\}", "{}", e)
    e = re.sub(r"\[[^\]]*\]", "[]", e)
    e = _GROUPING.sub(" ", e)
    e = re.sub(r"\boffset\s+-?[\w.]+", " ", e)
    names = set()
    for m in _IDENT.finditer(e):
        name = m.group(1)
        rest = e[m.end():].lstrip()
        if rest.startswith("(") or name.lower() in KEYWORDS:
            continue
        names.add(name)
    return names


_BACKTICKED = re.compile(r"`([a-zA-Z_:][\w:]*\*?)(?:\{[^`]*\})?`")


def documented_names(repo):
    """(exact names, prefixes) documented in docs/contracts.md and the components' READMEs.

    A name written `prefix_*` in a document allows every name starting with `prefix_`.
    """
    repo = pathlib.Path(repo)
    exact, prefixes = set(), set()
    sources = [repo / "docs/contracts.md"] + [repo / p for p in (
        "exporters/nginx-log/README.md", "exporters/postgres/README.md",
        "alert-relay/README.md", "forum/README.md")]
    for path in sources:
        if not path.exists():
            continue
        for token in _BACKTICKED.findall(path.read_text()):
            if not re.match(r"(nginx|pg|forum|alert_relay)_", token):
                continue
            if token.endswith("*"):
                prefixes.add(token[:-1])
            else:
                exact.add(token)
    return exact, prefixes


def recorded_names(rules_dir):
    """Names of the recording rules in a folder of rule files."""
    names = set()
    for path in sorted(pathlib.Path(rules_dir).glob("*.yml")):
        names.update(re.findall(r"^\s*-?\s*record:\s*([\w:]+)\s*$", path.read_text(), re.M))
    return names


def is_documented(name, exact, prefixes):
    """Whether a metric name (or the _bucket/_sum/_count series of a documented histogram) is
    documented."""
    candidates = {name}
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix):
            candidates.add(name[: -len(suffix)])
    return any(c in exact or c in PROMETHEUS_OWN or any(c.startswith(p) for p in prefixes)
               for c in candidates)


def rule_expressions(rules_dir):
    """(file name, expr) for every rule of a folder of rule files: `expr: ...` on one line or
    as a `|` block (the two forms our rule files use)."""
    out = []
    for path in sorted(pathlib.Path(rules_dir).glob("*.yml")):
        lines = path.read_text().splitlines()
        for i, line in enumerate(lines):
            m = re.match(r"^(\s*)expr:\s*(.*)$", line)
            if not m:
                continue
            indent, rest = len(m.group(1)), m.group(2).strip()
            if rest not in ("|", ">", "|-", ">-"):
                out.append((path.name, rest.strip("'\"")))
                continue
            block = []
            for follow in lines[i + 1:]:
                if follow.strip() and len(follow) - len(follow.lstrip()) <= indent:
                    break
                block.append(follow.strip())
            out.append((path.name, " ".join(b for b in block if b)))
    return out
