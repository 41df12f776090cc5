#!/usr/bin/env python3
"""Validates the rendered kustomize overlays offline, for scripts/checks/30-k8s.

For each rendered overlay (a multi-document YAML file from `kubectl kustomize`):
- every built-in object against the Kubernetes OpenAPI schemas, strictly (unknown fields are
  errors), for the oldest and the newest Kubernetes version we support;
- custom resources are written to `<out>/<overlay>/crds.json` for the TypeScript check
  (crds.ts.mjs); CloudNativePG kinds have no schema package and are only checked by policy;
- the policy checks of policy.py, and what a cluster would do with the objects (runtime.py);
- the ConfigMaps made from monitoring/ and dashboards/ hold exactly those files' bytes;
- the Prometheus and Alertmanager configs are materialised as their pods would see them (every
  mounted ConfigMap and Secret written under `<out>/<overlay>/root/`), with Kubernetes service
  discovery swapped for file discovery (Debian's promtool lacks it), then checked with
  `promtool check config`, `promtool check rules` and `amtool check-config`.

Exits 1 with one line per problem.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

import policy
import runtime

# Oldest and newest Kubernetes versions the manifests must be valid for (k3s stable channel
# at the time of writing is 1.3x; kubernetes-validate ships schemas up to 1.37).
K8S_VERSIONS = ("1.30.0", "1.37.0")
CRD_GROUPS = ("monitoring.coreos.com", "traefik.io", "traefik.containo.us")
UNCHECKED_GROUPS = ("postgresql.cnpg.io",)

# The only rewrites k8s/sync makes: addresses on loopback in the local stack, Services here
# (the same table as in k8s/sync).
LOCAL_RELAY, CLUSTER_RELAY = "http://127.0.0.1:9733/", "http://alert-relay:9733/"
REWRITES: dict[str, list[tuple[str, str]]] = {
    "alertmanager-config": [(LOCAL_RELAY, CLUSTER_RELAY)],
    "nginx-config": [("server 127.0.0.1:8000;", "server forum-web:8000;"),
                     ("server 127.0.0.1:8001;", "server forum-api:8001;"),
                     ("set_real_ip_from 10.0.0.0/8;", "include /etc/nginx/cluster/real-ip.conf;")],
}

# ConfigMap -> (source glob, key), the single sources of truth (independent of k8s/sync).
SOURCES: dict[str, tuple[str, str | None]] = {
    "prometheus-config": ("monitoring/prometheus/prometheus-kubernetes.yml", "prometheus.yml"),
    "prometheus-rules": ("monitoring/prometheus/rules/*.yml", None),
    "alertmanager-config": ("monitoring/alertmanager/alertmanager.yml", "alertmanager.yml"),
    "blackbox-config": ("monitoring/blackbox/blackbox.yml", "blackbox.yml"),
    "grafana-dashboards": ("dashboards/*.json", None),
    "grafana-datasources": ("dashboards/provisioning/datasources/*.yml", None),
    "grafana-dashboard-providers": ("dashboards/provisioning/dashboards/*.yml", None),
    "nginx-config": ("monitoring/nginx/*.conf", None),
}


def load(path: Path) -> list[dict[str, Any]]:
    with path.open() as f:
        return [d for d in yaml.safe_load_all(f) if d]


def check_schemas(objs: list[dict[str, Any]]) -> tuple[list[str], list[dict[str, Any]]]:
    errors, custom = [], []
    for obj in objs:
        group = obj["apiVersion"].split("/")[0] if "/" in obj["apiVersion"] else ""
        if group in CRD_GROUPS or group in UNCHECKED_GROUPS:
            custom.append(obj)
            # crds.mjs leaves this out (its schema package gets it wrong): checked here as the
            # PersistentVolumeClaim it is.
            template = obj.get("spec", {}).get("storage", {}).get("volumeClaimTemplate")
            if group == "monitoring.coreos.com" and template is not None:
                pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "template"},
                       **{k: v for k, v in template.items() if k not in ("apiVersion", "kind", "metadata")}}
                errors += [f"{policy.name_of(obj)} spec.storage.volumeClaimTemplate: {e}"
                           for e in check_schemas([pvc])[0]]
            continue
        for version in K8S_VERSIONS:
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as e:
                path = "/".join(str(p) for p in e.path)
                errors.append(f"{policy.name_of(obj)} (Kubernetes {version}): {path}: {e.message}")
                break
            except kubernetes_validate.SchemaNotFoundError:
                errors.append(f"{policy.name_of(obj)}: no schema for {obj['apiVersion']} in Kubernetes {version}")
                break
    return errors, custom


def generated_configmap(objs: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    """The ConfigMap kustomize generated as `<name>-<hash>`."""
    pattern = re.compile(rf"^{re.escape(name)}-[a-z0-9]{{10}}$")
    found = [o for o in objs if o["kind"] == "ConfigMap" and pattern.match(o["metadata"]["name"])]
    return found[0] if found else None


# ConfigMaps the prometheus-operator overlay replaces (by its own config and PrometheusRules).
OPERATOR_REPLACES = {"prometheus-config", "prometheus-rules"}
RULES_GLOB = "monitoring/prometheus/rules/*.yml"


def operator_managed(objs: list[dict[str, Any]]) -> bool:
    return any(o["kind"] == "Prometheus" and o["apiVersion"].startswith("monitoring.coreos.com/") for o in objs)


def check_sources(objs: list[dict[str, Any]], repo: Path) -> list[str]:
    errors = []
    for name, (pattern, key) in SOURCES.items():
        if name in OPERATOR_REPLACES and operator_managed(objs):
            continue
        files = sorted(glob.glob(str(repo / pattern)))
        if not files:
            errors.append(f"ConfigMap {name}: its source {pattern} does not exist yet (written by the "
                          "monitoring/dashboards work; then run k8s/sync)")
            continue
        cm = generated_configmap(objs, name)
        if cm is None:
            errors.append(f"ConfigMap {name}: not in the render (run k8s/sync)")
            continue
        data = cm.get("data", {})
        want = {key or os.path.basename(f): f for f in files}
        if set(data) != set(want) or cm.get("binaryData"):
            errors.append(f"ConfigMap {name}: keys {sorted(data)} differ from sources {sorted(want)}")
        texts = {k: Path(f).read_text() for k, f in want.items()}
        for old, new in REWRITES.get(name, []):
            if not any(old in t for t in texts.values()):
                errors.append(f"ConfigMap {name}: {old!r} (to become {new!r}) is in none of {pattern}")
            texts = {k: t.replace(old, new) for k, t in texts.items()}
        for k, f in want.items():
            source = texts[k]
            if k in data and data[k] != source:
                errors.append(f"ConfigMap {name}: key {k} differs from {os.path.relpath(f, repo)}")
    return errors


def secret_placeholder(ref: dict[str, Any], key: str) -> str:
    """What materialise() writes for a Secret's key: a URL for a `*-url` key (a config
    rendered from it must still parse), `placeholder` otherwise."""
    name = ref.get("secretName") or ref.get("name")
    return f"https://{name}.secret.invalid/{key}" if key.endswith("url") else "placeholder"


# Placeholder URLs of the repository's configs, to be replaced when a pod starts.
PLACEHOLDER_URL = re.compile(r"^https://[^/]+\.invalid/.*replace-with")


def run_init(objs: list[dict[str, Any]], workload: str, root: Path) -> list[str]:
    """Runs the workload's script init containers (`sh -c SCRIPT`, every path from the
    environment) here, their mounts materialised under `root` and absolute paths re-rooted."""
    errors = []
    obj = next(o for o in objs if o["kind"] in ("StatefulSet", "Deployment") and o["metadata"]["name"] == workload)
    for c in policy.pod_spec(obj).get("initContainers", []):
        if c.get("command", [])[:2] != ["/bin/sh", "-c"]:
            continue
        materialise(objs, workload, c["name"], root)
        env = {"PATH": os.environ["PATH"], "LC_ALL": "C"}
        for e in c.get("env", []):
            v = e.get("value", "")
            env[e["name"]] = str(root / v.lstrip("/")) if v.startswith("/") else v
        p = subprocess.run(["sh", "-c", *c.get("args", [])], env=env, capture_output=True, text=True)
        if p.returncode != 0:
            errors.append(f"{workload}: init container {c['name']} fails: {p.stderr.strip()}")
    return errors


def rendered_differences(template: Any, rendered: Any, where: str = "") -> list[str]:
    """Where a config rendered from `template` differs in more than its placeholder URLs, or
    still holds one; each placeholder must become the Secret key named after it (the key, less
    `-url`, is in the placeholder: `heartbeat-url` for https://heartbeat.invalid/...)."""
    if isinstance(template, dict) and isinstance(rendered, dict):
        if set(template) != set(rendered):
            return [f"{where or '/'}: keys {sorted(rendered)} instead of {sorted(template)}"]
        return [e for k in template for e in rendered_differences(template[k], rendered[k], f"{where}/{k}")]
    if isinstance(template, list) and isinstance(rendered, list) and len(template) == len(rendered):
        return [e for i, (t, r) in enumerate(zip(template, rendered)) for e in rendered_differences(t, r, f"{where}/{i}")]
    if isinstance(template, str) and PLACEHOLDER_URL.match(template):
        if not isinstance(rendered, str) or PLACEHOLDER_URL.match(rendered):
            return [f"{where}: the placeholder {template} is deployed as is"]
        m = re.match(r"^https://[^/]+\.secret\.invalid/(.+)-url$", rendered)
        if not m or m.group(1) not in template:
            return [f"{where}: the placeholder {template} became {rendered}, not the Secret key named after it"]
        return []
    return [] if template == rendered else [f"{where}: {rendered!r} instead of {template!r}"]


def materialise(objs: list[dict[str, Any]], workload: str, container: str, root: Path) -> None:
    """Writes what the container's mounts would show under `root` (ConfigMaps and Secrets;
    Secret values are placeholders, as in the examples)."""
    by_name = {(o["kind"], o["metadata"]["name"]): o for o in objs}
    obj = next(o for o in objs if o["kind"] in ("StatefulSet", "Deployment") and o["metadata"]["name"] == workload)
    spec = policy.pod_spec(obj)
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    c = next(c for c in policy.containers(spec) if c["name"] == container)
    if spec.get("automountServiceAccountToken", True):
        sa = root / "var/run/secrets/kubernetes.io/serviceaccount"
        sa.mkdir(parents=True, exist_ok=True)
        for f in ("token", "ca.crt", "namespace"):
            (sa / f).write_text("placeholder\n")
    for m in c.get("volumeMounts", []):
        vol = volumes.get(m["name"], {})
        files: dict[str, str] = {}
        sources = vol.get("projected", {}).get("sources", []) or [vol]
        if any("configMap" in src or "secret" in src for src in sources):
            for src in sources:
                if "configMap" in src:
                    data = by_name.get(("ConfigMap", src["configMap"]["name"]), {}).get("data", {})
                    items = src["configMap"].get("items")
                    files.update({i["path"]: data.get(i["key"], "") for i in items} if items else data)
                elif "secret" in src:
                    files.update({i["path"]: secret_placeholder(src["secret"], i["key"])
                                  for i in src["secret"].get("items") or []})
        else:
            (root / m["mountPath"].lstrip("/")).mkdir(parents=True, exist_ok=True)
            continue
        target = root / m["mountPath"].lstrip("/")
        if "subPath" in m:
            if m["subPath"] in files:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(files[m["subPath"]])
            continue
        target.mkdir(parents=True, exist_ok=True)
        for k, v in files.items():
            (target / k).write_text(v)


FILE_KEYS = ("rule_files", "files", "templates")


def rewrite(node: Any, root: Path, targets: Path, key: str = "") -> Any:
    """Re-roots absolute file paths under `root` and swaps Kubernetes discovery for files."""
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k == "kubernetes_sd_configs":
                out.setdefault("file_sd_configs", []).append({"files": [str(targets)]})
            else:
                out[k] = rewrite(v, root, targets, k)
        return out
    if isinstance(node, list):
        return [rewrite(v, root, targets, key) for v in node]
    if isinstance(node, str) and node.startswith("/") and (key.endswith("_file") or key in FILE_KEYS):
        return str(root / node.lstrip("/"))
    return node


def run(cmd: list[str]) -> str | None:
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        return f"`{' '.join(cmd)}` failed:\n{p.stdout}{p.stderr}"
    return None


def config_path(objs: list[dict[str, Any]], workload: str) -> str:
    """The --config.file a workload's first container is started with."""
    obj = next(o for o in objs if o["kind"] == "StatefulSet" and o["metadata"]["name"] == workload)
    args = policy.pod_spec(obj)["containers"][0].get("args", [])
    return next(a.split("=", 1)[1] for a in args if a.startswith("--config.file="))


def check_config(objs: list[dict[str, Any]], out: Path, workload: str, cm_name: str, key: str,
                 ) -> tuple[list[str], Path | None, dict[str, Any], Path]:
    """Materialises `workload`'s mounts and writes a checkable copy of its config beside the
    original (so relative paths resolve as in the pod). Returns errors, the copy, the parsed
    config and the pod's root."""
    cm = generated_configmap(objs, cm_name)
    if cm is None:
        return [], None, {}, out
    root = out / f"{workload}-root"
    errors = run_init(objs, workload, root)
    materialise(objs, workload, workload, root)
    in_pod = config_path(objs, workload)
    mounted = root / in_pod.lstrip("/")
    if errors or not mounted.exists():
        return errors + [f"{workload}: {in_pod} is not in the pod"], None, {}, root
    template = yaml.safe_load(cm["data"][key])
    if mounted.read_text() != cm["data"][key]:
        # Rendered when the pod starts: the ConfigMap's config with its placeholder URLs
        # replaced, and nothing else changed.
        diff = rendered_differences(template, yaml.safe_load(mounted.read_text()))
        if diff:
            return [f"{workload}: {in_pod} in the pod is not {cm_name}/{key} (with its placeholders "
                    f"replaced from Secrets): {d}" for d in diff], None, {}, root
    elif any(PLACEHOLDER_URL.match(v) for v in policy.strings(template)):
        return [f"{workload}: {in_pod} is deployed with its placeholder URLs"], None, {}, root
    config = yaml.safe_load(mounted.read_text())
    targets = out / "targets.json"
    targets.write_text("[]\n")
    checked = mounted.with_name(mounted.stem + ".checked.yml")
    checked.write_text(yaml.safe_dump(rewrite(config, root, targets)))
    return [], checked, config, root


def check_prometheus_rules(objs: list[dict[str, Any]], repo: Path, out: Path) -> list[str]:
    """The PrometheusRules hold the groups of the rule files, and pass `promtool check rules`."""
    errors = []
    rules = {o["metadata"]["name"]: o for o in objs if o["kind"] == "PrometheusRule"}
    sources = {Path(f).stem: f for f in sorted(glob.glob(str(repo / RULES_GLOB)))}
    if set(rules) != set(sources):
        errors.append(f"PrometheusRules {sorted(rules)} differ from the rule files {sorted(sources)}")
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for name, obj in sorted(rules.items()):
        if name in sources and obj["spec"] != yaml.safe_load(Path(sources[name]).read_text()):
            errors.append(f"PrometheusRule/{name}: its groups differ from {os.path.relpath(sources[name], repo)}")
        f = out / f"{name}.yml"
        f.write_text(yaml.safe_dump(obj["spec"]))
        files.append(str(f))
    err = run(["promtool", "check", "rules", *files]) if files else None
    return errors + ([err] if err else [])


def nginx_test(objs: list[dict[str, Any]], conf: str, out: Path) -> str | None:
    """`nginx -t` on the rendered config as the nginx container sees it: its mounts written
    under `out`, absolute paths re-rooted there (but the image's mime.types, which Debian's nginx
    has at the same place), the upstream Services (checked above) on loopback, since nothing
    resolves cluster names here."""
    root = out / "nginx-root"
    materialise(objs, "nginx", "nginx", root)

    def reroot(m: re.Match[str]) -> str:
        path = m.group(2)
        if path == "/etc/nginx/mime.types" or not path.startswith("/"):
            return m.group(0)
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        return f"{m.group(1)}{target}{'/' if path.endswith('/') else ''}"

    text = re.sub(r"((?:^|\n)\s*(?:include|pid|error_log|access_log|alias|root)\s+)(/[^\s;]*)", reroot, conf)
    text = re.sub(r"(\n\s*server\s+)[^:;\s]+(:\d+)?\s*;", r"\g<1>127.0.0.1\2;", text)
    for sub in ("etc/nginx/forum", "tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    checked = root / "etc/nginx/forum/nginx.checked.conf"
    checked.write_text(text)
    # Includes of the config map (log_format.conf) are re-rooted too.
    for f in (root / "etc/nginx/forum").glob("*.conf"):
        if f != checked:
            f.write_text(re.sub(r"((?:^|\n)\s*include\s+)(/[^\s;]*)", reroot, f.read_text()))
    return run(["nginx", "-t", "-q", "-p", str(root) + "/", "-e", str(root / "error.log"), "-c", str(checked)])


def check_nginx(objs: list[dict[str, Any]], out: Path) -> list[str]:
    """The rendered nginx.conf fits the nginx pod: its files and directories are mounted, its
    upstreams are Services, the log exporter tails the file nginx writes, and `nginx -t`
    accepts it."""
    cm = generated_configmap(objs, "nginx-config")
    dep = next((o for o in objs if o["kind"] == "Deployment" and o["metadata"]["name"] == "nginx"), None)
    if cm is None or dep is None:
        return []  # reported by check_references / check_sources
    conf = cm["data"].get("nginx.conf", "")
    spec = policy.pod_spec(dep)
    nginx = next(c for c in spec["containers"] if c["name"] == "nginx")
    mounts = [m["mountPath"].rstrip("/") + "/" for m in nginx.get("volumeMounts", [])]
    errors = []
    in_image = {"/etc/nginx/mime.types", "off"}
    for directive, path in re.findall(r"^\s*(alias|include|access_log|error_log|pid)\s+(\S+?);?\s", conf, re.M):
        path = path.rstrip(";")
        if path not in in_image and not any(path.startswith(m) for m in mounts):
            errors.append(f"nginx.conf {directive} {path}: not on a volume of the nginx container")
    services = {o["metadata"]["name"] for o in objs if o["kind"] == "Service"}
    for host in re.findall(r"^\s*server\s+([^:;\s]+)(?::\d+)?\s*;", conf, re.M):
        if host not in services:
            errors.append(f"nginx.conf upstream server {host} is no Service of the cluster")
    access = re.findall(r"^\s*access_log\s+(\S+)", conf, re.M)
    exporter = next((c for c in spec["containers"] if c["name"] == "nginx-log-exporter"), {})
    tailed = [a.split("=", 1)[1] for a in exporter.get("args", []) if a.startswith("--log-file=")]
    access = [a.rstrip(";") for a in access if a.rstrip(";") != "off"]
    if not access or tailed != access[:1]:
        errors.append(f"nginx-log-exporter tails {tailed}, nginx writes {access}")
    err = nginx_test(objs, conf, out)
    return errors + ([err] if err else [])


DISCOVERY_ROLES = ("endpoints", "endpointslice", "pod")


def check_alertmanagers(config: dict[str, Any], objs: list[dict[str, Any]]) -> list[str]:
    """Prometheus reaches every Alertmanager replica directly, as Alertmanager's documentation
    requires of an HA set: through Kubernetes endpoint (or pod) discovery of a Service of the
    cluster, or DNS discovery of a headless Service; a static target must be a headless
    Service too (a load-balancing Service hands each alert to one replica only)."""
    errors = []
    services = {o["metadata"]["name"]: o for o in objs if o["kind"] == "Service"}

    def headless(host: str, how: str) -> None:
        svc = services.get(host.split(".")[0])
        if svc is None:
            errors.append(f"prometheus.yml alerts {how}, which is no Service of the cluster")
        elif svc["spec"].get("clusterIP") != "None":
            errors.append(f"prometheus.yml alerts {how}, a load-balancing Service: each Alertmanager replica "
                          "must be reached directly (endpointslice discovery, or a headless Service)")

    alertmanagers = config.get("alerting", {}).get("alertmanagers", [])
    if not alertmanagers:
        errors.append("prometheus.yml sends alerts to no Alertmanager")
    for am in alertmanagers:
        for static in am.get("static_configs", []):
            for target in static.get("targets", []):
                headless(target.split(":")[0], target)
        for dns in am.get("dns_sd_configs", []):
            for name in dns.get("names", []):
                headless(re.sub(r"^(_[^.]+\.)+", "", name), f"DNS name {name}")
        for sd in am.get("kubernetes_sd_configs", []):
            if sd.get("role") not in DISCOVERY_ROLES:
                errors.append(f"prometheus.yml: Alertmanagers discovered with role {sd.get('role')}, "
                              f"not one of {DISCOVERY_ROLES}")
            if sd.get("role") == "pod":
                continue
            keep = [r.get("regex", "") for r in am.get("relabel_configs", []) if r.get("action") == "keep"
                    and "__meta_kubernetes_service_name" in r.get("source_labels", [])]
            if not keep:
                errors.append("prometheus.yml: Alertmanager discovery keeps the endpoints of every Service "
                              "(no `keep` on __meta_kubernetes_service_name)")
            for regex in keep:
                svc_name, _, port = regex.partition(";")
                svc = services.get(svc_name)
                if svc is None:
                    errors.append(f"prometheus.yml: Alertmanagers discovered behind Service {svc_name}, "
                                  "which is not in the render")
                elif port and port not in {p.get("name") for p in svc["spec"].get("ports", [])}:
                    errors.append(f"prometheus.yml: Service {svc_name} has no port named {port}")
    return errors


def check_monitoring(objs: list[dict[str, Any]], out: Path, repo: Path) -> list[str]:
    if operator_managed(objs):
        errors = check_prometheus_rules(objs, repo, out / "prometheusrules")
        checked = None
    else:
        errors, checked, config, root = check_config(objs, out, "prometheus", "prometheus-config", "prometheus.yml")
    if checked is not None:
        if "kubernetes_sd_configs" not in json.dumps(config):
            errors.append("prometheus.yml for Kubernetes uses no kubernetes_sd_configs")
        errors += check_alertmanagers(config, objs)
        base = checked.parent
        rules = sorted(r for pat in config.get("rule_files", [])
                       for r in glob.glob(str(root / pat.lstrip("/")) if pat.startswith("/") else str(base / pat)))
        if not rules:
            errors.append(f"prometheus.yml rule_files {config.get('rule_files')} match no rule file mounted in the pod")
        for err in (run(["promtool", "check", "config", str(checked)]),
                    run(["promtool", "check", "rules", *rules]) if rules else None):
            if err:
                errors.append(err)
    am_errors, checked, config, _ = check_config(objs, out, "alertmanager", "alertmanager-config", "alertmanager.yml")
    errors += am_errors
    if checked is not None:
        services = {o["metadata"]["name"] for o in objs if o["kind"] == "Service"}
        for receiver in config.get("receivers", []):
            # The heartbeat goes to a dead man's switch outside the cluster by design.
            if receiver.get("name") == "heartbeat":
                continue
            for hook in receiver.get("webhook_configs", []):
                host = re.sub(r"^\w+://([^:/]+).*$", r"\1", hook.get("url", ""))
                if host.split(".")[0] not in services:
                    errors.append(f"alertmanager.yml receiver {receiver['name']}: webhook host {host} "
                                  "is no Service of the cluster")
        err = run(["amtool", "check-config", str(checked)])
        if err:
            errors.append(err)
    return errors + check_blackbox(objs, out)


BLACKBOX_PROBERS = ("http", "tcp", "icmp", "dns", "grpc")
# The probe account's password in monitoring/blackbox/blackbox.yml, replaced when a pod starts.
PROBE_PASSWORD_PLACEHOLDER = "replace-with-the-probe-password"


def check_blackbox(objs: list[dict[str, Any]], out: Path) -> list[str]:
    """The blackbox exporter's config, as its pod sees it, passes the exporter's own check; the
    Service Prometheus' `blackbox` job names exists."""
    if not any(o["kind"] == "Deployment" and o["metadata"]["name"] == "blackbox-exporter" for o in objs):
        return ["no Deployment blackbox-exporter (Prometheus' `blackbox` job asks blackbox-exporter:9115)"]
    root = out / "blackbox-exporter-root"
    init_errors = run_init(objs, "blackbox-exporter", root)
    if init_errors:
        return init_errors
    materialise(objs, "blackbox-exporter", "blackbox-exporter", root)
    dep = next(o for o in objs if o["kind"] == "Deployment" and o["metadata"]["name"] == "blackbox-exporter")
    args = policy.pod_spec(dep)["containers"][0].get("args", [])
    conf = next((a.split("=", 1)[1] for a in args if a.startswith("--config.file=")), "/etc/blackbox_exporter/config.yml")
    if not (root / conf.lstrip("/")).is_file():
        return [f"blackbox-exporter: its --config.file {conf} is not mounted in the pod"]
    err = run(["prometheus-blackbox-exporter", "--config.check", f"--config.file={root / conf.lstrip('/')}"])
    errors = [err] if err else []
    # The login module's password placeholder becomes the Secret forum-probe's `password` (the
    # materialised Secret holds `placeholder`), and nothing else changes.
    cm = generated_configmap(objs, "blackbox-config")
    if cm is not None:
        expected = cm["data"]["blackbox.yml"].replace(PROBE_PASSWORD_PLACEHOLDER, secret_placeholder({}, "password"))
        if (root / conf.lstrip("/")).read_text() != expected:
            errors.append(f"blackbox-exporter: {conf} in the pod is not blackbox-config/blackbox.yml with "
                          "the probe password placeholder replaced by the Secret forum-probe's password")
    # The exporter's check accepts an unknown prober (the probe then fails at run time).
    modules = (yaml.safe_load((root / conf.lstrip("/")).read_text()) or {}).get("modules", {})
    for name, module in modules.items():
        if module.get("prober") not in BLACKBOX_PROBERS:
            errors.append(f"blackbox.yml module {name}: prober {module.get('prober')!r} is none of {BLACKBOX_PROBERS}")
    # The modules Prometheus asks for exist.
    cm = generated_configmap(objs, "prometheus-config")
    prometheus = yaml.safe_load(cm["data"]["prometheus.yml"]) if cm else {}
    for job in prometheus.get("scrape_configs", []):
        for static in job.get("static_configs", []):
            module = static.get("labels", {}).get("module")
            if job.get("metrics_path") == "/probe" and module not in modules:
                errors.append(f"prometheus.yml job {job['job_name']}: module {module!r} is not in blackbox.yml")
    return errors


def examples(repo: Path) -> dict[str, set[str]]:
    found = {}
    for f in sorted((repo / "k8s/secrets").glob("*.example.yaml")):
        for doc in load(f):
            found[doc["metadata"]["name"]] = set(doc.get("stringData", {})) | set(doc.get("data", {}))
    return found


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repo", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True, help="work directory")
    ap.add_argument("rendered", nargs="+", type=Path, help="one rendered overlay per file")
    args = ap.parse_args()
    secret_examples = examples(args.repo)
    failed = 0
    for path in args.rendered:
        overlay = path.stem
        out = args.out / overlay
        out.mkdir(parents=True, exist_ok=True)
        objs = load(path)
        errors, custom = check_schemas(objs)
        (out / "crds.json").write_text(json.dumps([o for o in custom if o["apiVersion"].split("/")[0] in CRD_GROUPS]))
        errors += policy.check_security(objs) + policy.check_serving(objs) + policy.check_network(objs)
        errors += policy.check_secrets(objs, secret_examples) + policy.check_references(objs)
        errors += policy.check_grafana_env(objs) + policy.check_scrape(objs)
        errors += runtime.check_writable(objs) + runtime.check_hpa_replicas(objs) + runtime.check_disruption(objs)
        errors += runtime.check_service_ports(objs) + runtime.check_statefulsets(objs)
        errors += runtime.check_storage(objs) + runtime.check_monitor_labels(objs)
        errors += check_sources(objs, args.repo)
        errors += check_monitoring(objs, out, args.repo) + check_nginx(objs, out)
        kinds = sorted({o["kind"] for o in objs})
        print(f"{overlay}: {len(objs)} objects ({', '.join(kinds)}); "
              f"{len(objs) - len(custom)} schema-validated for Kubernetes {' and '.join(K8S_VERSIONS)}; "
              f"{len(errors)} problem(s)")
        for e in errors:
            print(f"  {overlay}: {e}", file=sys.stderr)
        failed += len(errors)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
