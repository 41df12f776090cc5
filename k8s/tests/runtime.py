"""What a cluster would do with the rendered manifests, beyond the schemas and the security
policies (policy.py): would the containers find their writable paths, would a deploy take the
scale back from an autoscaler, would each Service have endpoints on the ports it names (also on
pods that operators create), would a node drain go through, would the exporters' labels survive
the prometheus-operator, would each StatefulSet get stable pod names, would a shared volume bind.

Each check takes the list of rendered objects and returns a list of error strings.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Callable, Iterator

from policy import Obj, containers, name_of, pod_labels, pod_spec, selects

# --- writable paths -----------------------------------------------------------------------

Writes = list[tuple[str, str]]  # (absolute path, why the container writes there)

# The nginx image's compiled-in paths (nginxinc/nginx-unprivileged, like the official image:
# `nginx -V`): used when the config names none, so a config without them writes under
# /var/cache/nginx, which a read-only root does not allow.
NGINX_IMAGE_DEFAULTS = {
    "client_body_temp_path": "/var/cache/nginx/client_temp",
    "proxy_temp_path": "/var/cache/nginx/proxy_temp",
    "fastcgi_temp_path": "/var/cache/nginx/fastcgi_temp",
    "uwsgi_temp_path": "/var/cache/nginx/uwsgi_temp",
    "scgi_temp_path": "/var/cache/nginx/scgi_temp",
}
# Opened at start-up, before the config is read.
NGINX_IMAGE_ERROR_LOG = "/var/log/nginx/error.log"


def image_name(c: Obj) -> str:
    """An image reference without registry, tag and digest: `ghcr.io/x/forum:1` -> `forum`."""
    return c.get("image", "").rsplit("/", 1)[-1].split("@", 1)[0].split(":", 1)[0]


def flag(c: Obj, name: str, default: str | None = None) -> str | None:
    args = list(c.get("command", [])) + list(c.get("args", []))
    for i, a in enumerate(args):
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
        if a == name and i + 1 < len(args):
            return args[i + 1]
    return default


def env(c: Obj, name: str, default: str | None = None) -> str | None:
    return next((e.get("value") for e in c.get("env", []) if e["name"] == name), default)


def mounted_file(objs: list[Obj], spec: Obj, c: Obj, path: str) -> str | None:
    """The content of `path` in container `c` when a ConfigMap mount provides it."""
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    by_name = {o["metadata"]["name"]: o for o in objs if o["kind"] == "ConfigMap"}
    for m in c.get("volumeMounts", []):
        vol = volumes.get(m["name"], {})
        sources = vol.get("projected", {}).get("sources", []) or [vol]
        for src in sources:
            cm = by_name.get(src.get("configMap", {}).get("name", ""))
            if cm is None:
                continue
            data = cm.get("data", {})
            items = {i["path"]: i["key"] for i in src["configMap"].get("items") or []} or {k: k for k in data}
            if "subPath" in m and m["mountPath"] == path:
                return data.get(items.get(m["subPath"], ""))
            if path.startswith(m["mountPath"].rstrip("/") + "/"):
                return data.get(items.get(path[len(m["mountPath"].rstrip("/")) + 1:], ""))
    return None


def nginx_writes(objs: list[Obj], spec: Obj, c: Obj) -> Writes:
    conf_path = flag(c, "-c", "/etc/nginx/nginx.conf")
    conf = mounted_file(objs, spec, c, conf_path)
    if conf is None:
        return [(conf_path, "nginx's config (not on a ConfigMap mount: its writable paths are unknown)")]
    text = conf
    for inc in re.findall(r"^\s*include\s+(/\S+?);", conf, re.M):
        text += "\n" + (mounted_file(objs, spec, c, inc) or "")
    text = re.sub(r"#.*", "", text)
    writes = [(NGINX_IMAGE_ERROR_LOG, "nginx's compiled-in error log, opened before the config is read")]
    for directive, path in re.findall(r"^\s*(pid|error_log|access_log|\w+_temp_path|\w+_cache_path)\s+([^\s;]+)",
                                      text, re.M):
        if path.startswith("/"):
            writes.append((path, f"nginx {directive}"))
    for directive, default in NGINX_IMAGE_DEFAULTS.items():
        if not re.search(rf"^\s*{directive}\s", text, re.M):
            writes.append((default, f"nginx {directive} (the image's default: the config sets none)"))
    return writes


def forum_writes(objs: list[Obj], spec: Obj, c: Obj) -> Writes:
    args = c.get("args", [])
    writes = []
    if args[:1] == ["static"] and len(args) > 1:
        writes.append((args[1], "`forum static` writes the assets there"))
    media = env(c, "FORUM_MEDIA_DIR")
    if media:
        writes.append((media, "FORUM_MEDIA_DIR (uploaded avatars)"))
    return writes


def grafana_writes(objs: list[Obj], spec: Obj, c: Obj) -> Writes:
    writes = [(env(c, "GF_PATHS_DATA", "/var/lib/grafana"), "Grafana's database, sessions and plugins"),
              ("/tmp", "Grafana's temporary files")]
    if env(c, "GF_LOG_MODE", "console file") != "console":
        writes.append((env(c, "GF_PATHS_LOGS", "/var/log/grafana"), "Grafana's log file (GF_LOG_MODE not console)"))
    return writes


# What each image writes, by image name (image_name()); containers that run a script of ours in
# a general-purpose image are listed by container name in SCRIPT_WRITES instead.
IMAGE_WRITES: dict[str, Callable[[list[Obj], Obj, Obj], Writes]] = {
    "nginx-unprivileged": nginx_writes,
    "forum": forum_writes,
    "nginx-log-exporter": lambda objs, spec, c: [],  # reads the log, serves metrics
    "pg-exporter": lambda objs, spec, c: [],
    "blackbox-exporter": lambda objs, spec, c: [],  # probes over the network, keeps nothing
    "alert-relay": lambda objs, spec, c: [(flag(c, "--storage.path", "data"), "the relay's spool")],
    "prometheus": lambda objs, spec, c: [(flag(c, "--storage.tsdb.path", "/prometheus"), "the TSDB")],
    "alertmanager": lambda objs, spec, c: [(flag(c, "--storage.path", "/alertmanager"),
                                             "silences and the notification log")],
    "grafana-oss": grafana_writes,
    "postgres": lambda objs, spec, c: [
        (env(c, "PGDATA", "/var/lib/postgresql/data"), "PostgreSQL's data directory (PGDATA)"),
        ("/var/run/postgresql", "PostgreSQL's socket and lock file")],
}
SCRIPT_WRITES: dict[str, Writes] = {
    "log-rotator": [("/var/log/nginx", "renames the logs it rotates")],
    "pg-dump": [("/backups", "writes and prunes the dumps")],
    "render-config": [("/etc/alertmanager", "Alertmanager's config with the Secret's URLs")],
    "render-probe-config": [("/etc/blackbox", "the blackbox config with the probe account's password")],
}
# Volume kinds a container can write to (unless mounted or declared readOnly).
WRITABLE_VOLUMES = ("emptyDir", "persistentVolumeClaim", "ephemeral")


def check_writable(objs: list[Obj]) -> list[str]:
    """Every path a read-only-root container writes is on a writable volume mount."""
    errors = []
    for obj in objs:
        spec = pod_spec(obj)
        if spec is None:
            continue
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        claims = {t["metadata"]["name"] for t in obj["spec"].get("volumeClaimTemplates", [])}
        for c in containers(spec):
            if c.get("securityContext", {}).get("readOnlyRootFilesystem") is not True:
                continue
            where = f"{name_of(obj)} container {c['name']}"
            if c["name"] in SCRIPT_WRITES:
                writes = SCRIPT_WRITES[c["name"]]
            elif image_name(c) in IMAGE_WRITES:
                writes = IMAGE_WRITES[image_name(c)](objs, spec, c)
            else:
                errors.append(f"{where}: image {image_name(c)!r} is not in the table of what each image "
                              "writes (k8s/tests/runtime.py IMAGE_WRITES)")
                continue
            for path, why in writes:
                if not path.startswith("/"):
                    errors.append(f"{where}: writes the relative path {path!r} ({why}); give it an absolute one")
                    continue
                mount = mount_of(c, path)
                if mount is None:
                    errors.append(f"{where}: writes {path} ({why}), which is on the read-only root filesystem")
                    continue
                vol = volumes.get(mount["name"], {})
                kind = next((k for k in WRITABLE_VOLUMES if k in vol), None)
                if mount["name"] in claims and not vol:
                    kind = "persistentVolumeClaim"
                if (kind is None or mount.get("readOnly")
                        or vol.get("persistentVolumeClaim", {}).get("readOnly")):
                    errors.append(f"{where}: writes {path} ({why}), but its mount {mount['mountPath']} "
                                  f"(volume {mount['name']}) is read-only")
    return errors


def mount_of(c: Obj, path: str) -> Obj | None:
    """The volume mount `path` is on (the deepest one), or None for the root filesystem."""
    best = None
    for m in c.get("volumeMounts", []):
        mp = m["mountPath"].rstrip("/")
        if (path == mp or path.startswith(mp + "/")) and (best is None or len(mp) > len(best["mountPath"].rstrip("/"))):
            best = m
    return best


# --- autoscaled workloads -----------------------------------------------------------------

def hpa_targets(objs: list[Obj]) -> Iterator[tuple[Obj, Obj]]:
    """(HPA, the workload it scales) for every HPA whose target is in the render."""
    for hpa in (o for o in objs if o["kind"] == "HorizontalPodAutoscaler"):
        ref = hpa["spec"]["scaleTargetRef"]
        target = next((o for o in objs if o["kind"] == ref["kind"] and o["metadata"]["name"] == ref["name"]), None)
        if target is not None:
            yield hpa, target


def check_hpa_replicas(objs: list[Obj]) -> list[str]:
    """No `replicas` on a workload an HPA scales: every apply would reset the HPA's count."""
    return [f"{name_of(w)}: sets spec.replicas ({w['spec']['replicas']}), but {name_of(h)} owns the count "
            "(every deploy would scale it back)"
            for h, w in hpa_targets(objs) if "replicas" in w["spec"]]


def allowed_disruptions(pdb: Obj, replicas: int) -> int:
    """How many of `replicas` healthy pods the PDB lets a drain evict (percentages round up)."""
    spec = pdb["spec"]

    def count(v: int | str) -> int:
        return math.ceil(int(v.rstrip("%")) * replicas / 100) if isinstance(v, str) else v

    if "minAvailable" in spec:
        return max(replicas - count(spec["minAvailable"]), 0)
    return max(count(spec.get("maxUnavailable", 0)), 0)


def check_disruption(objs: list[Obj]) -> list[str]:
    """Every PDB over an autoscaled workload lets a drain evict a pod at the HPA's minimum."""
    errors = []
    pdbs = [o for o in objs if o["kind"] == "PodDisruptionBudget"]
    for hpa, w in hpa_targets(objs):
        low = hpa["spec"].get("minReplicas", 1)
        for pdb in pdbs:
            if selects(pdb["spec"].get("selector", {}), pod_labels(w)) and allowed_disruptions(pdb, low) < 1:
                errors.append(f"{name_of(pdb)}: allows no eviction of {name_of(w)} at its HPA minimum of {low} "
                              "(node drains would block)")
    return errors


# --- Services and the pods they select ----------------------------------------------------

def operator_pods(objs: list[Obj]) -> list[tuple[str, dict[str, str], list[Obj]]]:
    """(what, labels, container ports) of the pods operators create from custom resources,
    as their documentation and manifests give them (prometheus-operator, CloudNativePG)."""
    pods = []
    for o in objs:
        name = o["metadata"]["name"]
        if o["kind"] == "Prometheus" and o["apiVersion"].startswith("monitoring.coreos.com/"):
            labels = {"app.kubernetes.io/name": "prometheus", "app.kubernetes.io/instance": name,
                      "app.kubernetes.io/managed-by": "prometheus-operator", "prometheus": name,
                      "operator.prometheus.io/name": name, "operator.prometheus.io/shard": "0",
                      **o["spec"].get("podMetadata", {}).get("labels", {})}
            pods.append((f"pods of {name_of(o)}", labels,
                         [{"name": "web", "containerPort": 9090}, {"name": "reloader-web", "containerPort": 8080}]))
        if o["kind"] == "Cluster" and o["apiVersion"].startswith("postgresql.cnpg.io/"):
            inherited = o["spec"].get("inheritedMetadata", {}).get("labels", {})
            for role in ("primary", "replica"):
                labels = {"cnpg.io/cluster": name, "cnpg.io/podRole": "instance", "cnpg.io/instanceRole": role,
                          "role": role, **inherited}
                pods.append((f"pods of {name_of(o)}", labels,
                             [{"name": "postgresql", "containerPort": 5432},
                              {"name": "metrics", "containerPort": 9187},
                              {"name": "status", "containerPort": 8000}]))
    return pods


def all_pods(objs: list[Obj]) -> list[tuple[str, dict[str, str], list[Obj]]]:
    pods = [(name_of(o), pod_labels(o), [p for c in pod_spec(o)["containers"] for p in c.get("ports", [])])
            for o in objs if pod_spec(o) is not None]
    return pods + operator_pods(objs)


def check_service_ports(objs: list[Obj]) -> list[str]:
    """Every Service selects pods, and each of its targetPorts is a port of those pods."""
    errors = []
    pods = all_pods(objs)
    for svc in (o for o in objs if o["kind"] == "Service"):
        selector = svc["spec"].get("selector")
        if not selector:
            continue  # endpoints managed by hand or by an operator
        selected = [p for p in pods if all(p[1].get(k) == v for k, v in selector.items())]
        if not selected:
            errors.append(f"{name_of(svc)}: selects no pod of the render nor of its operators")
            continue
        for port in svc["spec"].get("ports", []):
            target = port.get("targetPort", port["port"])
            proto = port.get("protocol", "TCP")
            for what, _, ports in selected:
                found = [p for p in ports if p.get("protocol", "TCP") == proto and
                         (p.get("name") == target if isinstance(target, str) else p["containerPort"] == target)]
                if not found:
                    have = sorted(f"{p.get('name', '')}:{p['containerPort']}" for p in ports)
                    errors.append(f"{name_of(svc)}: targetPort {target!r} ({proto}) is no port of {what} {have}")
    return errors


def check_statefulsets(objs: list[Obj]) -> list[str]:
    """Each StatefulSet's serviceName is a headless Service selecting its pods."""
    errors = []
    services = {o["metadata"]["name"]: o for o in objs if o["kind"] == "Service"}
    for sts in (o for o in objs if o["kind"] == "StatefulSet"):
        name = sts["spec"].get("serviceName")
        svc = services.get(name or "")
        if svc is None:
            errors.append(f"{name_of(sts)}: serviceName {name!r} is no Service of the render")
        elif svc["spec"].get("clusterIP") != "None":
            errors.append(f"{name_of(sts)}: serviceName {name} is not headless (clusterIP: None): "
                          "its pods get no stable DNS names")
        elif not selects({"matchLabels": svc["spec"].get("selector", {})}, pod_labels(sts)):
            errors.append(f"{name_of(sts)}: its headless Service {name} does not select its pods")
    return errors


def check_storage(objs: list[Obj]) -> list[str]:
    """A ReadWriteMany claim names its storage class: a cluster's default class is usually
    block storage, which cannot bind it."""
    errors = []
    claims = [(name_of(o), o["spec"]) for o in objs if o["kind"] == "PersistentVolumeClaim"]
    claims += [(f"{name_of(o)} volumeClaimTemplate {t['metadata']['name']}", t["spec"])
               for o in objs if o["kind"] == "StatefulSet" for t in o["spec"].get("volumeClaimTemplates", [])]
    for where, spec in claims:
        if "ReadWriteMany" in spec.get("accessModes", []) and not spec.get("storageClassName"):
            errors.append(f"{where}: ReadWriteMany without a storageClassName")
    return errors


# --- the prometheus-operator's monitors ---------------------------------------------------

# Target labels the operator sets on every target of a monitor (before the relabelings).
OPERATOR_TARGET_LABELS = {
    "PodMonitor": {"job", "instance", "namespace", "pod", "container", "endpoint"},
    "ServiceMonitor": {"job", "instance", "namespace", "pod", "container", "endpoint", "service"},
}
# docs/contracts.md's paragraph of each component -> the Prometheus jobs that scrape it.
CONTRACT_COMPONENTS = {"nginx-log-exporter": ["nginx"], "pg-exporter": ["postgres"],
                       "alert-relay": ["alert-relay"], "forum": ["forum-web", "forum-api", "forum-worker"]}


def exporter_labels() -> dict[str, set[str]]:
    """The label names each job's metrics carry, from docs/contracts.md (`metric{a,b}`)."""
    text = (Path(__file__).resolve().parents[2] / "docs/contracts.md").read_text()
    section = text.split("## Metric names other parts use", 1)[1].split("\n## ", 1)[0]
    labels: dict[str, set[str]] = {}
    for para in section.split("\n\n"):
        component = re.match(r"([a-z-]+)", para.strip())
        jobs = CONTRACT_COMPONENTS.get(component.group(1) if component else "", [])
        names = {n.strip() for group in re.findall(r"\{([a-z_,]+)\}", para) for n in group.split(",")}
        for job in jobs:
            labels.setdefault(job, set()).update(names)
    return labels


def monitor_job(ep: Obj) -> str | None:
    jobs = [r.get("replacement") for r in ep.get("relabelings", []) if r.get("targetLabel") == "job"]
    return jobs[-1] if jobs else None


def check_monitor_labels(objs: list[Obj]) -> list[str]:
    """A PodMonitor or ServiceMonitor whose exporter has a label the operator also sets on the
    target (e.g. nginx's `endpoint`) keeps the exporter's: `honorLabels`, or a relabeling that
    drops the operator's label. Otherwise Prometheus renames it `exported_<name>`."""
    errors = []
    labels = exporter_labels()
    for mon in (o for o in objs if o["kind"] in OPERATOR_TARGET_LABELS):
        key = "podMetricsEndpoints" if mon["kind"] == "PodMonitor" else "endpoints"
        for ep in mon["spec"].get(key, []):
            if ep.get("honorLabels"):
                continue
            clash = labels.get(monitor_job(ep) or "", set()) & OPERATOR_TARGET_LABELS[mon["kind"]]
            dropped = {lbl for lbl in clash for r in ep.get("relabelings", [])
                       if r.get("action") == "labeldrop" and re.fullmatch(r.get("regex", ""), lbl)}
            for lbl in sorted(clash - dropped):
                errors.append(f"{name_of(mon)}: job {monitor_job(ep)}'s metrics carry `{lbl}`, which the operator "
                              f"also sets on the target: set honorLabels (or drop the target's `{lbl}`)")
    return errors
