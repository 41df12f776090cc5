#!/usr/bin/env python3
"""Self-test of validate.py and policy.py: each known-bad change to a valid render must be
reported by the check meant to catch it (a check that cannot fail is no check).

    selftest.py --repo REPO --out WORKDIR rendered-k3s.yaml [--operator rendered-operator.yaml]
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path
from typing import Any, Callable

import yaml

import policy
import runtime
import validate

Objs = list[dict[str, Any]]


def find(objs: Objs, kind: str, name: str) -> dict[str, Any]:
    if kind == "ConfigMap":
        return validate.generated_configmap(objs, name) or next(
            o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name)
    return next(o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name)


def container(objs: Objs, kind: str, name: str, c: str) -> dict[str, Any]:
    return next(x for x in policy.pod_spec(find(objs, kind, name))["containers"] if x["name"] == c)


def unknown_field(objs: Objs) -> None:
    find(objs, "Deployment", "forum-web")["spec"]["replicaCount"] = 3


def wrong_type(objs: Objs) -> None:
    container(objs, "Deployment", "forum-api", "forum")["ports"][0]["containerPort"] = "8001"


def root_container(objs: Objs) -> None:
    del container(objs, "Deployment", "nginx", "nginx")["securityContext"]


def writable_root(objs: Objs) -> None:
    container(objs, "StatefulSet", "alert-relay", "alert-relay")["securityContext"]["readOnlyRootFilesystem"] = False


def no_limits(objs: Objs) -> None:
    del container(objs, "Deployment", "pg-exporter", "pg-exporter")["resources"]["limits"]


def wrong_probe(objs: Objs) -> None:
    container(objs, "Deployment", "forum-web", "forum")["readinessProbe"]["httpGet"]["path"] = "/"


def no_hpa(objs: Objs) -> None:
    objs.remove(find(objs, "HorizontalPodAutoscaler", "forum-api"))


def committed_secret(objs: Objs) -> None:
    objs.append({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "leak", "namespace": "forum"},
                 "stringData": {"password": "hunter2"}})


def undocumented_secret_key(objs: Objs) -> None:
    volume = policy.pod_spec(find(objs, "Deployment", "pg-exporter"))["volumes"][0]
    volume["secret"]["items"][0]["key"] = "passwd"


def no_default_deny(objs: Objs) -> None:
    objs.remove(find(objs, "NetworkPolicy", "default-deny-ingress"))


def drifted_rule(objs: Objs) -> None:
    cm = find(objs, "ConfigMap", "prometheus-rules")
    key = sorted(cm["data"])[0]
    cm["data"][key] = cm["data"][key].replace("severity:", "severity :", 1)


def broken_rule(objs: Objs) -> None:
    cm = find(objs, "ConfigMap", "prometheus-rules")
    key = sorted(cm["data"])[0]
    cm["data"][key] = cm["data"][key].replace("expr:", "expr: sum(", 1)


def loopback_webhook(objs: Objs) -> None:
    cm = find(objs, "ConfigMap", "alertmanager-config")
    cm["data"]["alertmanager.yml"] = cm["data"]["alertmanager.yml"].replace(
        validate.CLUSTER_RELAY, validate.LOCAL_RELAY)


def static_alertmanager(objs: Objs, target: str) -> None:
    cm = find(objs, "ConfigMap", "prometheus-config")
    config = yaml.safe_load(cm["data"]["prometheus.yml"])
    config["alerting"]["alertmanagers"] = [{"static_configs": [{"targets": [target]}]}]
    cm["data"]["prometheus.yml"] = yaml.safe_dump(config)


def loopback_alertmanager(objs: Objs) -> None:
    static_alertmanager(objs, "127.0.0.1:9093")


def balanced_alertmanager(objs: Objs) -> None:
    # The load-balancing Service: each alert reaches one replica of the HA pair only.
    static_alertmanager(objs, "alertmanager:9093")


def nginx_default_temp_path(objs: Objs) -> None:
    # Without the directive nginx uses the image's /var/cache/nginx/client_temp: read-only.
    cm = find(objs, "ConfigMap", "nginx-config")
    lines = cm["data"]["nginx.conf"].splitlines(keepends=True)
    cm["data"]["nginx.conf"] = "".join(x for x in lines if "client_body_temp_path" not in x)


def read_only_data(objs: Objs) -> None:
    mounts = container(objs, "StatefulSet", "prometheus", "prometheus")["volumeMounts"]
    next(m for m in mounts if m["name"] == "data")["readOnly"] = True


def replicas_under_hpa(objs: Objs) -> None:
    find(objs, "Deployment", "forum-web")["spec"]["replicas"] = 2


def blocking_pdb(objs: Objs) -> None:
    # k3s: the HPA's minimum is 1, so one available pod leaves nothing to evict.
    pdb = find(objs, "PodDisruptionBudget", "forum-web")
    pdb["spec"] = {"minAvailable": 1, "selector": pdb["spec"]["selector"]}


def wrong_target_port(objs: Objs) -> None:
    find(objs, "Service", "grafana")["spec"]["ports"][0]["targetPort"] = "web"


def missing_volume(objs: Objs) -> None:
    spec = policy.pod_spec(find(objs, "Deployment", "forum-web"))
    spec["volumes"] = [v for v in spec["volumes"] if v["name"] != "tmp"]


def non_headless_statefulset(objs: Objs) -> None:
    find(objs, "StatefulSet", "prometheus")["spec"]["serviceName"] = "prometheus"


def loopback_upstream(objs: Objs) -> None:
    cm = find(objs, "ConfigMap", "nginx-config")
    cm["data"]["nginx.conf"] = cm["data"]["nginx.conf"].replace("server forum-web:8000;", "server 127.0.0.1:8000;")


def unmounted_log(objs: Objs) -> None:
    c = container(objs, "Deployment", "nginx", "nginx-log-exporter")
    c["args"] = [a.replace("forum-access.log", "access.log") for a in c["args"]]


def nginx_syntax(objs: Objs) -> None:
    cm = find(objs, "ConfigMap", "nginx-config")
    cm["data"]["nginx.conf"] = cm["data"]["nginx.conf"].replace("keepalive 16;", "keepalive sixteen;", 1)


def missing_configmap(objs: Objs) -> None:
    objs.remove(find(objs, "ConfigMap", "prometheus-config"))


def grafana_env_missing(objs: Objs) -> None:
    env = container(objs, "Deployment", "grafana", "grafana")["env"]
    env[:] = [e for e in env if e["name"] != "PROMETHEUS_URL"]


def wrong_scrape_port(objs: Objs) -> None:
    find(objs, "Deployment", "nginx")["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"] = "8080x"


# mutation -> the checks expected to report it
def init_script(objs: Objs) -> dict[str, Any]:
    spec = policy.pod_spec(find(objs, "StatefulSet", "alertmanager"))
    return next(c for c in spec["initContainers"] if c["name"] == "render-config")


def placeholder_deployed(objs: Objs) -> None:
    # The ConfigMap's config deployed as it is, placeholder URLs and all.
    init_script(objs)["args"] = ['cp "$TEMPLATE" "$OUT/alertmanager.yml" && cp "$RELAY_TOKEN" "$OUT/relay-token"']


def placeholder_left(objs: Objs) -> None:
    # One placeholder not replaced: the script itself refuses to start Alertmanager.
    c = init_script(objs)
    c["args"][0] = c["args"][0].replace('-e "s|$HEARTBEAT_PLACEHOLDER|$heartbeat|g" ', "")


def receivers_swapped(objs: Objs) -> None:
    # The dead man's switch pinged at the Discord webhook and vice versa.
    env = {e["name"]: e for e in init_script(objs)["env"]}
    heartbeat, path = env["HEARTBEAT_PLACEHOLDER"]["value"], env["ALERTING_PATH_PLACEHOLDER"]["value"]
    env["HEARTBEAT_PLACEHOLDER"]["value"], env["ALERTING_PATH_PLACEHOLDER"]["value"] = path, heartbeat


def blackbox_config(objs: Objs, old: str, new: str) -> None:
    cm = find(objs, "ConfigMap", "blackbox-config")
    cm["data"]["blackbox.yml"] = cm["data"]["blackbox.yml"].replace(old, new, 1)


def broken_blackbox_module(objs: Objs) -> None:
    blackbox_config(objs, "timeout: 5s", "timeot: 5s")


def unknown_blackbox_prober(objs: Objs) -> None:
    blackbox_config(objs, "prober: http", "prober: htp")


def missing_blackbox_module(objs: Objs) -> None:
    blackbox_config(objs, "http_readyz:", "http_ready:")


def prometheus_egress(objs: Objs) -> list[dict[str, Any]]:
    return find(objs, "NetworkPolicy", "prometheus")["spec"]["egress"]


def node_cidr_unset(objs: Objs) -> None:
    # An overlay without the nodeCIDR setting keeps the base's documentation address.
    next(r for r in prometheus_egress(objs) if r.get("ports", [{}])[0].get("port") == 10250)["to"][0]["ipBlock"]["cidr"] = "192.0.2.0/24"


def kubelets_unreachable(objs: Objs) -> None:
    egress = prometheus_egress(objs)
    egress[:] = [r for r in egress if all(p.get("port") != 10250 for p in r.get("ports", []))]


def probe_password_placeholder_deployed(objs: Objs) -> None:
    # The blackbox config copied as it is: the login probe would post the placeholder.
    spec = policy.pod_spec(find(objs, "Deployment", "blackbox-exporter"))
    c = next(c for c in spec["initContainers"] if c["name"] == "render-probe-config")
    c["args"] = ['cp "$TEMPLATE" "$OUT/blackbox.yml"']


def bad_real_ip_cidr(objs: Objs) -> None:
    find(objs, "ConfigMap", "nginx-cluster")["data"]["real-ip.conf"] = "set_real_ip_from 10.42.0.0/66 ;"


CASES: list[tuple[Callable[[Objs], None], str]] = [
    (unknown_field, "schema"), (wrong_type, "schema"), (root_container, "security"),
    (writable_root, "security"), (no_limits, "security"), (wrong_probe, "serving"),
    (no_hpa, "serving"), (committed_secret, "secrets"), (undocumented_secret_key, "secrets"),
    (no_default_deny, "network"), (drifted_rule, "sources"), (broken_rule, "monitoring"),
    (loopback_webhook, "monitoring"), (loopback_alertmanager, "monitoring"), (loopback_upstream, "sources"), (missing_configmap, "references"),
    (grafana_env_missing, "grafana_env"), (unmounted_log, "nginx"), (nginx_syntax, "nginx"), (wrong_scrape_port, "scrape"),
    (balanced_alertmanager, "monitoring"), (nginx_default_temp_path, "writable"), (read_only_data, "writable"),
    (replicas_under_hpa, "hpa_replicas"), (blocking_pdb, "disruption"), (wrong_target_port, "service_ports"),
    (missing_volume, "references"), (non_headless_statefulset, "statefulsets"),
    (placeholder_deployed, "monitoring"), (placeholder_left, "monitoring"), (receivers_swapped, "monitoring"),
    (broken_blackbox_module, "monitoring"), (unknown_blackbox_prober, "monitoring"),
    (missing_blackbox_module, "monitoring"), (node_cidr_unset, "network"), (kubelets_unreachable, "network"),
    (bad_real_ip_cidr, "nginx"), (probe_password_placeholder_deployed, "monitoring"),
]


def drifted_prometheusrule(objs: Objs) -> None:
    rule = next(o for o in objs if o["kind"] == "PrometheusRule")
    rule["spec"]["groups"][0]["rules"][0]["expr"] = "vector(1) * 12345"  # no real rule reads so


def wrong_podmonitor_job(objs: Objs) -> None:
    mon = find(objs, "PodMonitor", "pg-exporter")
    mon["spec"]["podMetricsEndpoints"][0]["relabelings"][0]["replacement"] = "pg-exporter"


def wrong_podmonitor_port(objs: Objs) -> None:
    find(objs, "PodMonitor", "nginx")["spec"]["podMetricsEndpoints"][0]["port"] = "http-metrics"


def operator_prometheus_port(objs: Objs) -> None:
    # The operator's Prometheus pods name their port `web`.
    find(objs, "Service", "prometheus")["spec"]["ports"][0]["targetPort"] = "http"


def monitor_renames_endpoint(objs: Objs) -> None:
    # nginx's `endpoint` would become `exported_endpoint` under the operator's endpoint="metrics".
    del find(objs, "PodMonitor", "nginx")["spec"]["podMetricsEndpoints"][0]["honorLabels"]


def shared_volume_without_class(objs: Objs) -> None:
    del find(objs, "PersistentVolumeClaim", "forum-media")["spec"]["storageClassName"]


# The same, for the prometheus-operator overlay (which is the production overlay plus the operator).
OPERATOR_CASES: list[tuple[Callable[[Objs], None], str]] = [
    (drifted_prometheusrule, "monitoring"), (wrong_podmonitor_job, "scrape"),
    (wrong_podmonitor_port, "scrape"), (operator_prometheus_port, "service_ports"),
    (monitor_renames_endpoint, "monitor_labels"), (shared_volume_without_class, "storage"),
]


def run_check(name: str, objs: Objs, repo: Path, out: Path) -> list[str]:
    if name == "schema":
        return validate.check_schemas(objs)[0]
    if name == "secrets":
        return policy.check_secrets(objs, validate.examples(repo))
    if name == "sources":
        return validate.check_sources(objs, repo)
    if name == "nginx":
        return validate.check_nginx(objs, out)
    if name == "monitoring":
        return validate.check_monitoring(objs, out, repo)
    check = getattr(policy, f"check_{name}", None) or getattr(runtime, f"check_{name}")
    return check(objs)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repo", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("rendered", type=Path)
    ap.add_argument("--operator", type=Path, help="the rendered prometheus-operator overlay")
    args = ap.parse_args()
    runs = [(validate.load(args.rendered), CASES)]
    if args.operator:
        runs.append((validate.load(args.operator), OPERATOR_CASES))
    failures = total = 0
    for i, (good, mutate, check) in enumerate((g, m, c) for g, cases in runs for m, c in cases):
        total += 1
        out = args.out / f"{i}-{mutate.__name__}"
        out.mkdir(parents=True, exist_ok=True)
        if run_check(check, copy.deepcopy(good), args.repo, out / "before"):
            print(f"selftest: {check} check fails on the valid render already", file=sys.stderr)
            failures += 1
            continue
        objs = copy.deepcopy(good)
        mutate(objs)
        errors = run_check(check, objs, args.repo, out / "after")
        if errors:
            print(f"selftest: {mutate.__name__}: caught by {check}: {errors[0].splitlines()[0]}")
        else:
            print(f"selftest: {mutate.__name__}: NOT caught by the {check} check", file=sys.stderr)
            failures += 1
    print(f"selftest: {total - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
