#!/usr/bin/env python3
"""Structure test of the alert rules (stdlib unittest; run by scripts/checks/20-monitoring).

promtool checks the rules' syntax and runs their unit tests; this checks what promtool does
not: every alert has a severity, a summary, a description and a runbook_url pointing at an
existing section of monitoring/runbooks.md, and that section has a ready PromQL query, a
kubectl command and an `amtool silence add` line; every alert has a unit test in which it
fires and one in which it stays quiet (the always-firing Watchdog only fires); every alert
has a routing case in alertmanager/routes.test.
"""

import pathlib
import re
import unittest

HERE = pathlib.Path(__file__).resolve().parent
RULES = sorted((HERE / "prometheus/rules").glob("*.yml"))
TESTS = sorted((HERE / "prometheus/tests").glob("*.yml"))
SEVERITIES = {"critical", "warning", "info"}
# Alerts that fire by design all the time: no quiet case exists.
ALWAYS_FIRING = {"Watchdog"}


def runbook_base():
    """Where runbooks.md is published: the workspace's `repository` (root Cargo.toml) plus the
    file's path on the main branch. Alerts link there, so a message in Discord has a working
    link once the repository has a public home (change `repository` and the rules together)."""
    text = (HERE.parent / "Cargo.toml").read_text()
    m = re.search(r'^repository\s*=\s*"([^"]+)"', text, re.M)
    if not m:
        raise AssertionError("no `repository` in the root Cargo.toml")
    return f"{m.group(1).rstrip('/')}/blob/main/monitoring/runbooks.md"


def alert_blocks():
    """(file, alert name, the rule's text) for every alerting rule."""
    out = []
    for path in RULES:
        text = path.read_text()
        starts = [m for m in re.finditer(r"^\s*- (alert|record|name):", text, re.M)]
        for i, m in enumerate(starts):
            end = starts[i + 1].start() if i + 1 < len(starts) else len(text)
            block = text[m.start():end]
            name = re.match(r"\s*- alert:\s*(\w+)", block)
            if name:
                out.append((path.name, name.group(1), block))
    return out


def field(block, key):
    """The value of `key: value` in a rule block (None when absent)."""
    m = re.search(rf"^\s+{key}:\s*(.+?)\s*$", block, re.M)
    return m.group(1).strip("\"'") if m else None


class AlertRules(unittest.TestCase):
    def setUp(self):
        self.alerts = alert_blocks()
        self.assertGreaterEqual(len(self.alerts), 14, "fewer alerts than the issue lists")

    def test_every_alert_has_severity_summary_description_and_runbook(self):
        runbook = (HERE / "runbooks.md").read_text()
        headings = set(re.findall(r"^## (\w+)\s*$", runbook, re.M))
        for path, name, block in self.alerts:
            where = f"{path}: {name}"
            self.assertIn(field(block, "severity"), SEVERITIES, f"{where}: severity")
            self.assertTrue(field(block, "summary"), f"{where}: summary")
            self.assertTrue(re.search(r"^\s+description:", block, re.M), f"{where}: description")
            self.assertEqual(field(block, "runbook_url"), f"{runbook_base()}#{name.lower()}",
                             f"{where}: runbook_url")
            self.assertIn(name, headings, f"{where}: no '## {name}' section in runbooks.md")
        names = {n for _, n, _ in self.alerts}
        self.assertEqual(headings - names, set(), "runbook sections without an alert")

    def test_every_runbook_section_has_promql_kubectl_and_a_silence(self):
        runbook = (HERE / "runbooks.md").read_text()
        sections = re.split(r"^## ", runbook, flags=re.M)[1:]
        by_name = {sec.split("\n", 1)[0].strip(): sec for sec in sections}
        for name in sorted({n for _, n, _ in self.alerts}):
            sec = by_name.get(name, "")
            self.assertRegex(sec, r"```promql\n.+", f"{name}: no ```promql block in its runbook")
            self.assertIn("kubectl ", sec, f"{name}: no kubectl command in its runbook")
            self.assertRegex(sec, rf"amtool silence add .*alertname={name}\b",
                             f"{name}: no `amtool silence add alertname={name} ...` line in its runbook")

    def test_every_alert_fires_in_a_test_and_stays_quiet_in_another(self):
        fires, quiet = set(), set()
        for path in TESTS:
            text = path.read_text()
            for m in re.finditer(r"alertname:\s*(\w+)\s*\n\s*exp_alerts:(.*)", text):
                (quiet if m.group(2).strip() == "[]" else fires).add(m.group(1))
        for _, name, _ in self.alerts:
            self.assertIn(name, fires, f"{name}: no unit test where it fires")
            if name not in ALWAYS_FIRING:
                self.assertIn(name, quiet, f"{name}: no unit test where it stays quiet")

    def test_every_alert_has_a_routing_case(self):
        cases = set()
        for line in (HERE / "alertmanager/routes.test").read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                labels = dict(kv.split("=", 1) for kv in line.split()[1:])
                cases.add((labels.get("alertname"), labels.get("severity")))
        for path, name, block in self.alerts:
            self.assertIn((name, field(block, "severity")), cases,
                          f"{path}: {name} ({field(block, 'severity')}) has no line in alertmanager/routes.test")


if __name__ == "__main__":
    unittest.main(verbosity=1)
