#!/usr/bin/env python3
"""Structure test of the Grafana dashboards (stdlib unittest; run by scripts/checks/20-monitoring).

Checks every dashboards/*.json: unique uids and titles, a version, the datasource variable and
no hard-coded datasource, `__inputs` for UI import, unique panel ids and titles, a gridPos
inside Grafana's 24 columns with no overlaps, a unit on every panel, and that every metric a
query uses is documented (docs/contracts.md, the exporters' READMEs, or a recording rule of
monitoring/prometheus/rules/). PromQL syntax is checked by promtool on the file
`queries.py --rules-file` writes.
"""

import json
import pathlib
import sys
import unittest

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from lib.promql import (  # noqa: E402
    documented_names, is_documented, metric_names, recorded_names, rule_expressions)
from queries import dashboard_queries, load_dashboards  # noqa: E402

DASHBOARDS = load_dashboards(HERE)


def walk(node):
    """Every dict inside a JSON document."""
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from walk(v)


class DashboardStructure(unittest.TestCase):
    def test_the_eight_dashboards_exist(self):
        self.assertGreaterEqual(len(DASHBOARDS), 8, [n for n, _ in DASHBOARDS])

    def test_uids_and_titles_are_unique_and_stable(self):
        uids = [d.get("uid") for _, d in DASHBOARDS]
        titles = [d.get("title") for _, d in DASHBOARDS]
        for name, d in DASHBOARDS:
            uid = d.get("uid")
            self.assertTrue(isinstance(uid, str) and 0 < len(uid) <= 40, f"{name}: uid {uid!r}")
            self.assertIsInstance(d.get("version"), int, f"{name}: version")
            self.assertIsNone(d.get("id"), f"{name}: id must be null (Grafana assigns it)")
        self.assertEqual(len(uids), len(set(uids)), f"duplicate uids: {uids}")
        self.assertEqual(len(titles), len(set(titles)), f"duplicate titles: {titles}")

    def test_datasource_is_a_variable_and_importable(self):
        for name, d in DASHBOARDS:
            inputs = d.get("__inputs", [])
            self.assertTrue(any(i.get("type") == "datasource" and i.get("pluginId") == "prometheus"
                                for i in inputs), f"{name}: no Prometheus datasource in __inputs")
            variables = d.get("templating", {}).get("list", [])
            ds = [v for v in variables if v.get("type") == "datasource"]
            self.assertEqual([(v["name"], v["query"]) for v in ds], [("datasource", "prometheus")],
                             f"{name}: datasource variable")
            for node in walk(d["panels"]):
                if "datasource" in node:
                    self.assertEqual(node["datasource"], {"type": "prometheus", "uid": "${datasource}"},
                                     f"{name}: hard-coded datasource in {node.get('title') or node.get('refId')}")
            for v in variables:
                if v.get("type") == "query":
                    self.assertEqual(v["datasource"]["uid"], "${datasource}", f"{name}: variable {v['name']}")

    def test_panels_have_unique_ids_titles_gridpos_and_units(self):
        for name, d in DASHBOARDS:
            panels = d["panels"]
            self.assertTrue(panels, f"{name}: no panels")
            ids = [p.get("id") for p in panels]
            self.assertEqual(len(ids), len(set(ids)), f"{name}: duplicate panel ids {ids}")
            titles = [p.get("title") for p in panels]
            self.assertEqual(len(titles), len(set(titles)), f"{name}: duplicate panel titles")
            cells = set()
            for p in panels:
                where = f"{name}: panel {p.get('id')} {p.get('title')!r}"
                g = p.get("gridPos")
                self.assertIsInstance(g, dict, f"{where}: no gridPos")
                for k in ("h", "w", "x", "y"):
                    self.assertIsInstance(g.get(k), int, f"{where}: gridPos.{k}")
                self.assertLessEqual(g["x"] + g["w"], 24, f"{where}: wider than 24 columns")
                for x in range(g["x"], g["x"] + g["w"]):
                    for y in range(g["y"], g["y"] + g["h"]):
                        self.assertNotIn((x, y), cells, f"{where}: overlaps another panel")
                        cells.add((x, y))
                unit = p.get("fieldConfig", {}).get("defaults", {}).get("unit")
                self.assertTrue(unit, f"{where}: no unit")
                targets = p.get("targets", [])
                self.assertTrue(targets, f"{where}: no query")
                refs = [t.get("refId") for t in targets]
                self.assertEqual(len(refs), len(set(refs)), f"{where}: duplicate refIds")
                for t in targets:
                    self.assertTrue(t.get("expr", "").strip(), f"{where}: empty expr")

    def test_every_metric_is_documented(self):
        exact, prefixes = documented_names(REPO)
        exact |= recorded_names(REPO / "monitoring/prometheus/rules")
        unknown = []
        for uid, title, expr in dashboard_queries():
            names = metric_names(expr)
            self.assertTrue(names, f"{uid} / {title}: no metric found in {expr}")
            for n in sorted(names):
                if not is_documented(n, exact, prefixes):
                    unknown.append(f"{uid} / {title}: {n}")
        self.assertEqual(unknown, [], "metrics no exporter documents (docs/contracts.md, READMEs, recording rules)")

    def test_every_metric_of_the_rules_is_documented(self):
        rules_dir = REPO / "monitoring/prometheus/rules"
        exact, prefixes = documented_names(REPO)
        exact |= recorded_names(rules_dir)
        exprs = rule_expressions(rules_dir)
        self.assertGreaterEqual(len(exprs), 30, "rule expressions not found")
        unknown = [f"{f}: {n} in {e}" for f, e in exprs for n in sorted(metric_names(e))
                   if not is_documented(n, exact, prefixes)]
        self.assertEqual(unknown, [], "metrics no exporter documents, used by rules")

    def test_metric_name_extraction(self):
        self.assertEqual(
            metric_names('sum by (le) (rate(a_bucket{x="y{z}"}[5m])) / on (j) group_left(k) b offset 5m '
                         'and c unless count(d) > 1e3 or vector(0) and time() - up'),
            {"a_bucket", "b", "c", "d", "up"})
        self.assertEqual(metric_names("histogram_quantile(0.95, x:y_bucket:rate5m{j=~\".+\"})"),
                         {"x:y_bucket:rate5m"})


if __name__ == "__main__":
    unittest.main(verbosity=1)
