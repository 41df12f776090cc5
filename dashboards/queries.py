#!/usr/bin/env python3
"""Every PromQL query of the dashboards, with Grafana's variables substituted, ready to run.

    dashboards/queries.py --list [--var job=nginx] [--var instance=127.0.0.1:9731] [--rate-interval 1m]
        one line per query: dashboard-uid<TAB>panel-title<TAB>expr
        (template variables appear as panel title "variable: <name>", their label_values()
        query turned into PromQL)
    dashboards/queries.py --rules-file out.yml
        the same queries as a Prometheus rules file (one recording rule each), so
        `promtool check rules out.yml` reports any PromQL syntax error
    dashboards/queries.py --against http://127.0.0.1:9090 [--allow-empty REGEX]
        runs every query on that Prometheus (instant queries); prints each failure as
        uid<TAB>title<TAB>error|empty<TAB>expr and exits 1 if a query failed or returned
        nothing (unless "uid<TAB>title" matches --allow-empty)

Variable values: `--var name=value` (every dashboard that has the variable) or
`--var <uid>.name=value` (that dashboard only), else
the variable's default in the dashboard (for example job=postgres on the PostgreSQL
dashboards), else `.+` (every variable is used with `=~`). $__rate_interval and $__interval
become --rate-interval, $__range becomes --range.
"""

import argparse
import json
import pathlib
import re
import sys
import urllib.error
import urllib.parse
import urllib.request

HERE = pathlib.Path(__file__).resolve().parent
LABEL_VALUES = re.compile(r"^\s*label_values\((?:(.*),)?\s*([a-zA-Z_]\w*)\s*\)\s*$", re.S)
VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)")


def load_dashboards(folder=HERE):
    """(file name, dashboard) for every dashboards/*.json, sorted by file name."""
    return [(p.name, json.loads(p.read_text())) for p in sorted(folder.glob("*.json"))]


def variable_query_to_promql(query):
    """`label_values(selector, label)` -> `group by (label) (selector)`; other queries as they are."""
    m = LABEL_VALUES.match(query)
    if not m:
        return query
    selector, label = m.group(1), m.group(2)
    if not selector or not selector.strip():
        selector = '{__name__=~".+"}'
    return f"group by ({label}) ({selector.strip()})"


def default_values(dashboard):
    """Each template variable's default value (`.+` when it has none)."""
    values = {}
    for var in dashboard.get("templating", {}).get("list", []):
        if var.get("type") == "datasource":
            continue
        value = var.get("current", {}).get("value")
        if isinstance(value, list):
            value = "|".join(value) if value else None
        if not value or value in ("$__all", "All"):
            value = var.get("allValue") or ".+"
        values[var["name"]] = value
    return values


def substitute(expr, values):
    """Replaces $name, ${name}, ${name:fmt} and [[name]]; an unknown variable is an error."""
    def repl(m):
        name = m.group(1) or m.group(2) or m.group(3)
        if name not in values:
            raise KeyError(f"unknown variable ${name} in: {expr}")
        return values[name]
    return VARIABLE.sub(repl, expr)


def dashboard_queries(overrides=None, rate_interval="1m", time_range="1h", folder=HERE):
    """Yields (uid, title, expr) for every variable and panel target of every dashboard."""
    for _, dash in load_dashboards(folder):
        values = default_values(dash)
        for key, value in (overrides or {}).items():
            uid, _, name = key.rpartition(".")
            if name in values and uid in ("", dash["uid"]):
                values[name] = value
        values.update({"__rate_interval": rate_interval, "__interval": rate_interval,
                       "__range": time_range, "datasource": "prometheus"})
        for var in dash.get("templating", {}).get("list", []):
            if var.get("type") != "query":
                continue
            query = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
            yield dash["uid"], f"variable: {var['name']}", substitute(variable_query_to_promql(query), values)
        for panel in dash.get("panels", []):
            for target in panel.get("targets", []):
                expr = " ".join(target["expr"].split())
                yield dash["uid"], panel["title"], substitute(expr, values)


def rules_file(queries):
    """A Prometheus rules file with one recording rule per query (for promtool check rules)."""
    lines = ["groups:", "  - name: dashboard-queries", "    rules:"]
    for i, (uid, title, expr) in enumerate(queries):
        lines.append(f"      # {uid}: {title}")
        # The record name carries dashboard and panel, so promtool's error names them.
        slug = re.sub(r"\W+", "_", f"{uid}__{title}").strip("_").lower()
        lines.append(f"      - record: q{i}__{slug}")
        lines.append(f"        expr: {json.dumps(expr)}")
    return "\n".join(lines) + "\n"


def run_against(base, queries, allow_empty=None, timeout=10):
    """Runs each query on a Prometheus; returns (uid, title, problem, expr) for each failure."""
    failures = []
    for uid, title, expr in queries:
        url = f"{base.rstrip('/')}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp:
                result = json.load(resp)["data"]["result"]
        except urllib.error.HTTPError as e:
            failures.append((uid, title, f"error: {json.load(e).get('error', e)}", expr))
            continue
        except (OSError, ValueError) as e:
            failures.append((uid, title, f"error: {e}", expr))
            continue
        if not result and not (allow_empty and re.search(allow_empty, f"{uid}\t{title}")):
            failures.append((uid, title, "empty", expr))
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--list", action="store_true", help="print uid<TAB>title<TAB>expr lines")
    parser.add_argument("--rules-file", help="write the queries as a rules file for promtool")
    parser.add_argument("--var", action="append", default=[], metavar="NAME=VALUE",
                        help="value of a template variable, NAME or UID.NAME (repeatable)")
    parser.add_argument("--rate-interval", default="1m", help="value of $__rate_interval and $__interval")
    parser.add_argument("--range", default="1h", help="value of $__range")
    parser.add_argument("--against", metavar="URL", help="run every query on this Prometheus")
    parser.add_argument("--allow-empty", metavar="REGEX",
                        help="with --against: 'uid<TAB>title' of queries allowed to return nothing")
    args = parser.parse_args()
    overrides = {}
    for item in args.var:
        name, sep, value = item.partition("=")
        if not sep:
            parser.error(f"--var wants NAME=VALUE, got {item!r}")
        overrides[name] = value
    if not (args.list or args.rules_file or args.against):
        parser.error("nothing to do: give --list, --rules-file or --against")
    queries = list(dashboard_queries(overrides, args.rate_interval, args.range))
    if args.rules_file:
        pathlib.Path(args.rules_file).write_text(rules_file(queries))
    if args.list:
        for uid, title, expr in queries:
            print(f"{uid}\t{title}\t{expr}")
    if args.against:
        failures = run_against(args.against, queries, args.allow_empty)
        for failure in failures:
            print("\t".join(failure))
        print(f"{len(queries) - len(failures)} of {len(queries)} queries passed (data, or allowed to be empty)", file=sys.stderr)
        return 1 if failures else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
