#!/usr/bin/env python3
"""Runs monitoring/alertmanager/alertmanager.yml's inhibition rules on a real Alertmanager.

`amtool config routes test` checks routing only. This starts Alertmanager (Debian's
`prometheus-alertmanager`) on a free port with a copy of the config, posts a set of alerts
through its API, and checks which ones Alertmanager reports as inhibited, and by what.
Notifications to the relay fail (nothing listens on its port here); inhibition does not
depend on them. Exits non-zero with a message on failure.
"""

import json
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = pathlib.Path(__file__).resolve().parent
PG = {"job": "postgres", "instance": "127.0.0.1:9732"}
NGINX = {"job": "nginx", "instance": "127.0.0.1:9731"}

# (labels, expected inhibitor alertname or None)
NS = {"namespace": "forum"}
CASES = [
    ({"alertname": "PostgresqlDown", "severity": "critical", **PG}, None),
    ({"alertname": "ForumAvailabilityBudgetBurn", "severity": "critical", "job": "nginx"}, "PostgresqlDown"),
    ({"alertname": "NginxHighLatency", "severity": "warning", **NGINX}, "PostgresqlDown"),
    ({"alertname": "PgExporterScrapeError", "severity": "warning", **PG}, "PostgresqlDown"),
    ({"alertname": "PostgresqlLongTransaction", "severity": "warning", "datname": "forum", **PG}, "PostgresqlDown"),
    # Another PostgreSQL's exporter: not the target that is down.
    ({"alertname": "PgExporterScrapeError", "severity": "warning", "job": "postgres", "instance": "other:9732"}, None),
    # Another namespace's nginx (Kubernetes): not caused by this database.
    ({"alertname": "NginxEndpointHigh5xxRatio", "severity": "warning", "namespace": "staging", **NGINX}, None),
    # A replica down is a warning of its own and inhibits nothing (in namespace staging).
    ({"alertname": "PostgresqlReplicaDown", "severity": "warning", "job": "postgres", "instance": "replica:9732", "namespace": "staging"}, None),
    ({"alertname": "ForumProbeFailed", "severity": "critical", "job": "blackbox", "module": "http_readyz", "namespace": "staging"}, None),
    ({"alertname": "ForumProbeFailed", "severity": "critical", "job": "blackbox", "module": "http_readyz", **NS}, "ForumDown"),
    # A whole forum role down (in namespace forum) inhibits that namespace's symptoms, not the
    # relay's alerts; one pod down (ForumInstanceDown) inhibits nothing.
    ({"alertname": "ForumDown", "severity": "critical", "job": "forum-web", **NS}, None),
    ({"alertname": "ForumAvailabilityBudgetBurn", "severity": "critical", "job": "nginx", **NS}, "ForumDown"),
    ({"alertname": "NginxEndpointHigh5xxRatio", "severity": "warning", "endpoint": "/", "job": "nginx", **NS}, "ForumDown"),
    ({"alertname": "AlertRelayDown", "severity": "critical", "job": "alert-relay", "instance": "r:9733", **NS}, None),
    ({"alertname": "ForumInstanceDown", "severity": "warning", "job": "forum-api", "instance": "a:8001", "namespace": "staging"}, None),
    ({"alertname": "ForumAvailabilityBudgetBurn", "severity": "critical", "job": "nginx", "namespace": "staging"}, None),
    # Critical silences the warning of the same alert on the same target only.
    ({"alertname": "NginxLogExporterLagging", "severity": "critical", **NGINX}, None),
    ({"alertname": "NginxLogExporterLagging", "severity": "warning", **NGINX}, "NginxLogExporterLagging"),
    ({"alertname": "NginxLogExporterLagging", "severity": "warning", "job": "nginx", "instance": "b:9731"}, None),
    # The ticket of a burning SLO is silenced by its page.
    ({"alertname": "ForumAvailabilityBudgetBurn", "severity": "warning", "job": "nginx", "namespace": "staging"}, "ForumAvailabilityBudgetBurn"),
    # The headline alert is never silenced by the database being down.
    ({"alertname": "ForumFailedAdminLoginsBurst", "severity": "critical", "category": "security", "job": "nginx"}, None),
    # The watchdog is never silenced.
    ({"alertname": "Watchdog", "severity": "info", "category": "heartbeat"}, None),
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(url, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        raw = resp.read()
        return json.loads(raw) if raw else None


def main():
    work = pathlib.Path(tempfile.mkdtemp())
    shutil.copy(HERE / "alertmanager/alertmanager.yml", work / "alertmanager.yml")
    (work / "relay-token").write_text("test-token-not-a-secret\n")
    port = free_port()
    log = open(work / "alertmanager.log", "w")
    proc = subprocess.Popen(
        ["prometheus-alertmanager", f"--config.file={work / 'alertmanager.yml'}",
         f"--storage.path={work / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
         "--cluster.listen-address="],
        stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/api/v2"
    try:
        deadline = time.time() + 30
        while True:
            if proc.poll() is not None:
                sys.exit(f"alertmanager exited:\n{(work / 'alertmanager.log').read_text()[-2000:]}")
            try:
                request(f"{base}/status")
                break
            except OSError:
                if time.time() > deadline:
                    sys.exit("alertmanager did not answer within 30 s")
                time.sleep(0.3)
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        request(f"{base}/alerts", [{"labels": labels, "startsAt": now} for labels, _ in CASES])
        # Inhibition is evaluated when alerts are listed; allow for ingestion.
        failures = []
        for _ in range(20):
            alerts = request(f"{base}/alerts")
            by_labels = {json.dumps(a["labels"], sort_keys=True): a for a in alerts}
            names = {a["fingerprint"]: a["labels"]["alertname"] for a in alerts}
            failures = []
            for labels, inhibitor in CASES:
                a = by_labels.get(json.dumps(labels, sort_keys=True))
                if a is None:
                    failures.append(f"{labels}: not found")
                    continue
                got = sorted({names[fp] for fp in a["status"]["inhibitedBy"] if fp in names})
                want = [inhibitor] if inhibitor else []
                if got != want:
                    failures.append(f"{labels['alertname']} {labels}: inhibited by {got}, expected {want}")
            if not failures:
                break
            time.sleep(0.3)
        if failures:
            sys.exit("inhibition wrong:\n  " + "\n  ".join(failures))
        inhibited = sum(1 for _, i in CASES if i)
        print(f"    {len(CASES)} alerts, {inhibited} inhibited as expected", file=sys.stderr)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
