#!/usr/bin/env python3
"""Runs monitoring/prometheus/prometheus-kubernetes.yml's relabeling on a real Prometheus.

Usage: test_kubernetes_scrape.py DIR, where DIR holds the config with its discovery swapped
to `file_sd_configs: [{files: [targets.json]}]` and a copy of rules/ (scripts/checks/20-monitoring
prepares it). Debian's Prometheus has no Kubernetes discovery, so the test writes targets.json
with the __meta_kubernetes_* labels the pod role would give, starts Prometheus on a free port,
and checks that the annotated pod is scraped under the annotated job with namespace and pod
labels, that pods without the annotation or not running are dropped, and that the rule files
were loaded. Exits non-zero with a message on failure.
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


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pod(name, address, phase="Running", **annotations):
    labels = {
        "__address__": address,
        "__meta_kubernetes_namespace": "forum",
        "__meta_kubernetes_pod_name": name,
        "__meta_kubernetes_pod_phase": phase,
        "__meta_kubernetes_pod_label_app_kubernetes_io_name": "prometheus",
        "__meta_kubernetes_pod_label_unrelated": "dropped",
    }
    for key, value in annotations.items():
        labels[f"__meta_kubernetes_pod_annotation_prometheus_io_{key}"] = value
        labels[f"__meta_kubernetes_pod_annotationpresent_prometheus_io_{key}"] = "true"
    return {"targets": [address], "labels": labels}


def get(url):
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.load(resp)["data"]


def main(folder):
    folder = pathlib.Path(folder)
    port = free_port()
    # The annotated pod is this Prometheus itself (declared container port 9999, annotated
    # port the real one); two more pods must be dropped.
    targets = [
        pod("prometheus-0", "127.0.0.1:9999", scrape="true", job="prometheus", port=str(port), path="/metrics"),
        pod("nginx-unannotated", "127.0.0.2:9731", job="nginx", port="9731"),
        pod("postgres-pending", "127.0.0.3:9732", phase="Pending", scrape="true", job="postgres", port="9732"),
    ]
    (folder / "targets.json").write_text(json.dumps(targets))
    expected_groups = sum(p.read_text().count("\n  - name:") for p in (folder / "rules").glob("*.yml"))
    data = tempfile.mkdtemp()
    proc = subprocess.Popen(
        ["prometheus", f"--config.file={folder / 'prometheus.yml'}", f"--storage.tsdb.path={data}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=open(folder / "prometheus.log", "w"))
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.time() + 60
        active, health = [], None
        while time.time() < deadline:
            if proc.poll() is not None:
                sys.exit(f"prometheus exited:\n{(folder / 'prometheus.log').read_text()[-2000:]}")
            try:
                t = get(f"{base}/targets")
                active = [a for a in t["activeTargets"] if a["scrapePool"] == "kubernetes-pods"]
                if active and active[0]["health"] == "up":
                    health = "up"
                    break
            except OSError:
                pass
            time.sleep(0.5)
        if len(active) != 1:
            sys.exit(f"expected exactly 1 active target (2 dropped), got {json.dumps(active, indent=1)}")
        labels = active[0]["labels"]
        want = {"job": "prometheus", "instance": f"127.0.0.1:{port}", "namespace": "forum",
                "pod": "prometheus-0", "app_kubernetes_io_name": "prometheus"}
        if labels != want:
            sys.exit(f"target labels {labels}, expected {want}")
        if health != "up":
            sys.exit(f"target never scraped successfully: {active[0].get('lastError')}")
        dropped = [d for d in t["droppedTargets"]
                   if d["discoveredLabels"].get("job") == "kubernetes-pods"]
        if len(dropped) != 2:
            sys.exit(f"expected 2 dropped pods, got {len(dropped)}")
        groups = get(f"{base}/rules")["groups"]
        if len(groups) != expected_groups or expected_groups == 0:
            sys.exit(f"loaded {len(groups)} rule groups, the rule files have {expected_groups}")
        print(f"    kubernetes-pods: 1 target up as job=prometheus, 2 dropped, {len(groups)} rule groups loaded",
              file=sys.stderr)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
