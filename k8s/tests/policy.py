"""Policy checks on rendered manifests: what the Kubernetes schemas allow but this project does
not (root containers, writable root filesystems, missing limits or probes, a workload without
autoscaler or disruption budget, a Secret committed in a manifest, a reference to a Secret
nobody documents, a pod no NetworkPolicy admits traffic to).

Each check takes the list of rendered objects and returns a list of error strings.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Iterator

import yaml

Obj = dict[str, Any]

# Workloads the forum suite serves traffic with: each must have an HPA and a PDB.
SCALED = ("forum-web", "forum-api", "nginx")
# Probe paths of the forum (docs/contracts.md).
FORUM_PROBES = {"readinessProbe": "/readyz", "livenessProbe": "/healthz"}
# Containers allowed a writable root filesystem (none today; name them here with a reason).
WRITABLE_ROOT: set[str] = set()
# The base's stand-in for per-cluster addresses in NetworkPolicies (TEST-NET-1, RFC 5737).
DOCUMENTATION_NET = ipaddress.ip_network("192.0.2.0/24")
KUBELET_PORT = 10250
# ConfigMaps larger than this do not fit in etcd (1 MiB per object, with some headroom).
CONFIGMAP_LIMIT = 900 * 1024


def name_of(obj: Obj) -> str:
    return f"{obj['kind']}/{obj['metadata']['name']}"


def pod_spec(obj: Obj) -> Obj | None:
    """The pod spec of a workload, or None for other kinds."""
    kind = obj["kind"]
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"):
        return obj["spec"]["template"]["spec"]
    if kind == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return None


def pod_labels(obj: Obj) -> dict[str, str]:
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["metadata"].get("labels", {})
    return obj["spec"]["template"]["metadata"].get("labels", {})


def containers(spec: Obj) -> Iterator[Obj]:
    yield from spec.get("initContainers", [])
    yield from spec.get("containers", [])


def check_security(objs: list[Obj]) -> list[str]:
    """Non-root, no privilege escalation, all capabilities dropped, read-only root, limits."""
    errors = []
    for obj in objs:
        spec = pod_spec(obj)
        if spec is None:
            continue
        where = name_of(obj)
        psc = spec.get("securityContext", {})
        for flag in ("hostNetwork", "hostPID", "hostIPC"):
            if spec.get(flag):
                errors.append(f"{where}: {flag} is set")
        for vol in spec.get("volumes", []):
            if "hostPath" in vol:
                errors.append(f"{where}: hostPath volume {vol['name']}")
        for c in containers(spec):
            cw = f"{where} container {c['name']}"
            sc = c.get("securityContext", {})
            non_root = sc.get("runAsNonRoot", psc.get("runAsNonRoot"))
            uid = sc.get("runAsUser", psc.get("runAsUser"))
            if non_root is not True or uid in (None, 0):
                errors.append(f"{cw}: must run as a non-root uid (runAsNonRoot and runAsUser)")
            seccomp = sc.get("seccompProfile", psc.get("seccompProfile", {})).get("type")
            if seccomp not in ("RuntimeDefault", "Localhost"):
                errors.append(f"{cw}: seccompProfile must be RuntimeDefault")
            if sc.get("allowPrivilegeEscalation") is not False:
                errors.append(f"{cw}: allowPrivilegeEscalation must be false")
            if sc.get("privileged"):
                errors.append(f"{cw}: privileged")
            if "ALL" not in sc.get("capabilities", {}).get("drop", []):
                errors.append(f"{cw}: capabilities must drop ALL")
            if c["name"] not in WRITABLE_ROOT and sc.get("readOnlyRootFilesystem") is not True:
                errors.append(f"{cw}: readOnlyRootFilesystem must be true")
            res = c.get("resources", {})
            for part in ("requests", "limits"):
                for r in ("cpu", "memory"):
                    if r not in res.get(part, {}):
                        errors.append(f"{cw}: no resources.{part}.{r}")
            image = c.get("image", "")
            last = image.rsplit("/", 1)[-1]
            if "@" not in image and (":" not in last or last.endswith(":latest")):
                errors.append(f"{cw}: image {image!r} needs a pinned tag or digest")
    return errors


def check_serving(objs: list[Obj]) -> list[str]:
    """Forum probes, an HPA and a PDB for each serving Deployment, a Traefik Ingress with TLS."""
    errors = []
    by_kind: dict[str, dict[str, Obj]] = {}
    for obj in objs:
        by_kind.setdefault(obj["kind"], {})[obj["metadata"]["name"]] = obj
    deployments = by_kind.get("Deployment", {})
    for name in ("forum-web", "forum-api"):
        dep = deployments.get(name)
        if dep is None:
            errors.append(f"Deployment/{name} missing")
            continue
        forum = next(c for c in pod_spec(dep)["containers"] if c["name"] == "forum")
        for probe, path in FORUM_PROBES.items():
            got = forum.get(probe, {}).get("httpGet", {}).get("path")
            if got != path:
                errors.append(f"Deployment/{name}: {probe} must GET {path}, has {got!r}")
        init = [c.get("args", [])[:1] for c in pod_spec(dep).get("initContainers", [])]
        if ["migrate"] not in init:
            errors.append(f"Deployment/{name}: no `forum migrate` init container")
    for name in SCALED:
        hpas = [h for h in by_kind.get("HorizontalPodAutoscaler", {}).values()
                if h["spec"]["scaleTargetRef"]["name"] == name]
        if not hpas:
            errors.append(f"Deployment/{name}: no HorizontalPodAutoscaler")
        dep = deployments.get(name)
        labels = pod_labels(dep) if dep else {}
        pdbs = [p for p in by_kind.get("PodDisruptionBudget", {}).values()
                if selects(p["spec"].get("selector", {}), labels)]
        if not pdbs:
            errors.append(f"Deployment/{name}: no PodDisruptionBudget selects its pods")
    for ing in by_kind.get("Ingress", {}).values():
        if ing["spec"].get("ingressClassName") != "traefik":
            errors.append(f"{name_of(ing)}: ingressClassName must be traefik")
        # HTTPS with a certificate, or plain HTTP that only redirects to HTTPS.
        middlewares = ing["metadata"].get("annotations", {}).get(
            "traefik.ingress.kubernetes.io/router.middlewares", "")
        if not ing["spec"].get("tls") and "redirect-https" not in middlewares:
            errors.append(f"{name_of(ing)}: neither TLS nor a redirect to HTTPS")
    if not by_kind.get("Ingress"):
        errors.append("no Ingress")
    return errors


def selects(selector: Obj, labels: dict[str, str]) -> bool:
    """Whether a label selector (matchLabels and matchExpressions) selects these labels."""
    if not selector:
        return True
    for k, v in selector.get("matchLabels", {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions", []):
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def check_network(objs: list[Obj]) -> list[str]:
    """A default-deny policy, and an explicit policy for every workload that listens."""
    errors = []
    policies = [o for o in objs if o["kind"] == "NetworkPolicy"]
    if not any(p["spec"]["podSelector"] == {} and "Ingress" in p["spec"].get("policyTypes", [])
               and not p["spec"].get("ingress") for p in policies):
        errors.append("no default-deny ingress NetworkPolicy")
    for obj in objs:
        if obj["kind"] not in ("Deployment", "StatefulSet"):
            continue
        if not any(c.get("ports") for c in pod_spec(obj)["containers"]):
            continue
        labels = pod_labels(obj)
        if not any(p["spec"]["podSelector"] and selects(p["spec"]["podSelector"], labels)
                   for p in policies):
            errors.append(f"{name_of(obj)}: no NetworkPolicy admits traffic to its pods")
    for p in policies:
        for rule in p["spec"].get("egress", []) + p["spec"].get("ingress", []):
            for peer in rule.get("to", []) + rule.get("from", []):
                cidr = peer.get("ipBlock", {}).get("cidr", "")
                if ipaddress.ip_network(cidr, strict=False).subnet_of(DOCUMENTATION_NET) if cidr else False:
                    errors.append(f"{name_of(p)}: ipBlock {cidr} is the base's placeholder: the overlay's "
                                  "settings.yaml must set the cluster's address")
    # Prometheus' `kubelet` job: with egress restricted, the kubelets' port must be open.
    egress = [p for p in policies if "Egress" in p["spec"].get("policyTypes", [])
              and selects(p["spec"]["podSelector"], {"app.kubernetes.io/name": "prometheus"})]
    if egress and not any(port.get("port") == KUBELET_PORT and any("ipBlock" in peer for peer in rule.get("to", []))
                          for p in egress for rule in p["spec"].get("egress", []) for port in rule.get("ports", [])):
        errors.append(f"Prometheus' egress NetworkPolicies let it reach no kubelet (TCP {KUBELET_PORT} to the nodes' ipBlock)")
    return errors


def secret_refs(objs: list[Obj]) -> Iterator[tuple[str, str, str | None]]:
    """(where, secret name, key or None) for every Secret a rendered object references."""
    for obj in objs:
        where = name_of(obj)
        spec = pod_spec(obj)
        if spec is not None:
            for c in containers(spec):
                for env in c.get("env", []):
                    ref = env.get("valueFrom", {}).get("secretKeyRef")
                    if ref:
                        yield where, ref["name"], ref["key"]
                for src in c.get("envFrom", []):
                    if "secretRef" in src:
                        yield where, src["secretRef"]["name"], None
            for ref in spec.get("imagePullSecrets", []):
                yield where, ref["name"], ".dockerconfigjson"
            for vol in spec.get("volumes", []):
                for src in vol.get("projected", {}).get("sources", []) + [vol]:
                    if "secret" in src:
                        secret = src["secret"]
                        for item in secret.get("items") or [{"key": None}]:
                            yield where, secret.get("secretName", secret.get("name")), item["key"]
        if obj["kind"] == "Ingress":
            for tls in obj["spec"].get("tls", []):
                yield where, tls["secretName"], "tls.crt"
        if obj["kind"] == "Cluster":
            yield from cnpg_secret_refs(where, obj["spec"])


def cnpg_secret_refs(where: str, spec: Obj) -> Iterator[tuple[str, str, str | None]]:
    for role in spec.get("managed", {}).get("roles", []):
        if "passwordSecret" in role:
            yield where, role["passwordSecret"]["name"], "password"
    creds = spec.get("backup", {}).get("barmanObjectStore", {}).get("s3Credentials", {})
    for ref in creds.values():
        yield where, ref["name"], ref["key"]


def check_secrets(objs: list[Obj], examples: dict[str, set[str]]) -> list[str]:
    """No Secret in the manifests; every referenced Secret and key has an example file."""
    errors = [f"{name_of(o)}: Secrets must not be committed in manifests (k8s/secrets/*.example.yaml)"
              for o in objs if o["kind"] == "Secret"]
    generated: dict[str, set[str] | None] = {}
    for obj in objs:
        # CloudNativePG writes <cluster>-app (username, password, uri, ...) at bootstrap.
        if obj["kind"] == "Cluster" and "secret" not in obj["spec"].get("bootstrap", {}).get("initdb", {}):
            generated[f"{obj['metadata']['name']}-app"] = {
                "username", "password", "uri", "host", "port", "dbname", "jdbc-uri", "pgpass"}
    for where, name, key in secret_refs(objs):
        keys = generated.get(name, examples.get(name))
        if keys is None:
            errors.append(f"{where}: Secret {name} has no k8s/secrets/{name}.example.yaml")
        elif key is not None and key not in keys:
            errors.append(f"{where}: Secret {name} has no key {key} in its example")
    return errors


def check_references(objs: list[Obj]) -> list[str]:
    """Every reference resolves in the same render: mounted and referenced ConfigMaps (and
    their keys), PersistentVolumeClaims, the volumes of volume mounts, the named ports of
    probes, the targets of autoscalers. (Secrets live outside the render: check_secrets.)"""
    errors = []
    have = {(o["kind"], o["metadata"]["name"]) for o in objs}
    configmaps = {o["metadata"]["name"]: o.get("data", {}) for o in objs if o["kind"] == "ConfigMap"}
    for obj in objs:
        spec = pod_spec(obj)
        if spec is None:
            continue
        where = name_of(obj)
        claims = {t["metadata"]["name"] for t in obj["spec"].get("volumeClaimTemplates", [])}
        for vol in spec.get("volumes", []):
            for src in vol.get("projected", {}).get("sources", []) + [vol]:
                if "configMap" not in src:
                    continue
                name = src["configMap"]["name"]
                if name not in configmaps:
                    errors.append(f"{where}: ConfigMap {name} is not in the render "
                                  "(is its source in monitoring/ or dashboards/ missing? run k8s/sync)")
                    continue
                for item in src["configMap"].get("items") or []:
                    if item["key"] not in configmaps[name]:
                        errors.append(f"{where}: volume {vol['name']}: ConfigMap {name} has no key {item['key']}")
            pvc = vol.get("persistentVolumeClaim", {}).get("claimName")
            if pvc and ("PersistentVolumeClaim", pvc) not in have and vol["name"] not in claims:
                errors.append(f"{where}: PersistentVolumeClaim {pvc} is not in the render")
        volumes = {v["name"] for v in spec.get("volumes", [])} | claims
        for c in containers(spec):
            cw = f"{where} container {c['name']}"
            for m in c.get("volumeMounts", []):
                if m["name"] not in volumes:
                    errors.append(f"{cw}: mounts volume {m['name']}, which the pod does not define")
            for e in c.get("env", []):
                ref = e.get("valueFrom", {}).get("configMapKeyRef")
                if ref and not ref.get("optional") and ref["key"] not in configmaps.get(ref["name"], {}):
                    errors.append(f"{cw}: env {e['name']}: ConfigMap {ref['name']} with key {ref['key']} "
                                  "is not in the render")
            for src in c.get("envFrom", []):
                ref = src.get("configMapRef")
                if ref and not ref.get("optional") and ref["name"] not in configmaps:
                    errors.append(f"{cw}: envFrom ConfigMap {ref['name']} is not in the render")
            ports = {p.get("name") for p in c.get("ports", [])}
            for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
                handler = c.get(probe, {}).get("httpGet") or c.get(probe, {}).get("tcpSocket") or {}
                port = handler.get("port")
                if isinstance(port, str) and port not in ports:
                    errors.append(f"{cw}: {probe} port {port!r} is no named port of the container")
    for obj in objs:
        if obj["kind"] == "HorizontalPodAutoscaler":
            ref = obj["spec"]["scaleTargetRef"]
            if (ref["kind"], ref["name"]) not in have:
                errors.append(f"{name_of(obj)}: scales {ref['kind']}/{ref['name']}, which is not in the render")
    for obj in objs:
        if obj["kind"] == "ConfigMap":
            size = sum(len(v.encode()) for v in obj.get("data", {}).values())
            if size > CONFIGMAP_LIMIT:
                errors.append(f"{name_of(obj)}: {size} bytes, too large for one ConfigMap")
    return errors


def check_grafana_env(objs: list[Obj]) -> list[str]:
    """Every ${VAR} of Grafana's provisioning ConfigMaps is set in its container, and
    FORUM_DASHBOARDS_DIR is where the dashboards ConfigMap is mounted."""
    dep = next((o for o in objs if o["kind"] == "Deployment" and o["metadata"]["name"] == "grafana"), None)
    if dep is None:
        return ["Deployment/grafana missing"]
    spec = pod_spec(dep)
    c = spec["containers"][0]
    env = {e["name"]: e.get("value") for e in c.get("env", [])}
    volumes = {v["name"]: v.get("configMap", {}).get("name", "") for v in spec.get("volumes", [])}
    errors = []
    mounted = {}
    for m in c.get("volumeMounts", []):
        cm = volumes.get(m["name"], "")
        mounted[re.sub(r"-[a-z0-9]{10}$", "", cm)] = m["mountPath"]
    for prefix in ("grafana-datasources", "grafana-dashboard-providers"):
        cms = [o for o in objs if o["kind"] == "ConfigMap" and o["metadata"]["name"].startswith(prefix + "-")]
        for cm in cms:
            for key, text in cm.get("data", {}).items():
                # Values only (comments are not expanded); Grafana expands $VAR and ${VAR}.
                values = " ".join(strings(yaml.safe_load(text)))
                for var in re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", values):
                    if var not in env:
                        errors.append(f"Deployment/grafana: {cm['metadata']['name']}/{key} uses ${{{var}}}, "
                                      "which its container does not set")
    if "FORUM_DASHBOARDS_DIR" in env and env["FORUM_DASHBOARDS_DIR"] != mounted.get("grafana-dashboards"):
        errors.append("Deployment/grafana: FORUM_DASHBOARDS_DIR is not where grafana-dashboards is mounted")
    return errors


def strings(node: Any) -> Iterator[str]:
    """Every string value in a parsed YAML document."""
    if isinstance(node, dict):
        for v in node.values():
            yield from strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from strings(v)
    elif isinstance(node, str):
        yield node


def contract_jobs() -> set[str]:
    """The Prometheus job names of docs/contracts.md (section "Prometheus job names");
    prometheus-kubernetes.yml takes the job from the pod annotation prometheus.io/job."""
    from pathlib import Path
    text = (Path(__file__).resolve().parents[2] / "docs/contracts.md").read_text()
    section = text.split("## Prometheus job names", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"`([a-z][a-z0-9-]*)`", section))


CONTRACT_JOBS = contract_jobs()


def check_scrape(objs: list[Obj]) -> list[str]:
    """Every contract job is scraped from some pod; every scrape annotation (or, with the
    prometheus-operator, every PodMonitor) names a contract job and a port the pods declare."""
    if any(o["kind"] == "PodMonitor" for o in objs):
        return check_podmonitors(objs)
    errors, seen = [], set()
    for obj in objs:
        spec = pod_spec(obj)
        if spec is None:
            continue
        template = obj["spec"]["template"] if obj["kind"] != "CronJob" else {}
        ann = template.get("metadata", {}).get("annotations", {})
        if ann.get("prometheus.io/scrape") != "true":
            continue
        job, port = ann.get("prometheus.io/job"), ann.get("prometheus.io/port")
        if job not in CONTRACT_JOBS:
            errors.append(f"{name_of(obj)}: prometheus.io/job {job!r} is not a job of docs/contracts.md")
        ports = {str(p["containerPort"]) for c in spec["containers"] for p in c.get("ports", [])}
        if port not in ports:
            errors.append(f"{name_of(obj)}: prometheus.io/port {port!r} is not a container port {sorted(ports)}")
        seen.add(job)
    for job in sorted(CONTRACT_JOBS - seen):
        errors.append(f"no pod is scraped as job {job}")
    return errors


def check_podmonitors(objs: list[Obj]) -> list[str]:
    errors, seen = [], set()
    operator_prometheus = any(o["kind"] == "Prometheus" for o in objs)
    workloads = [o for o in objs if pod_spec(o) is not None and o["kind"] != "CronJob"]
    for mon in (o for o in objs if o["kind"] == "PodMonitor"):
        for ep in mon["spec"]["podMetricsEndpoints"]:
            jobs = [r.get("replacement") for r in ep.get("relabelings", []) if r.get("targetLabel") == "job"]
            job = jobs[-1] if jobs else None
            if job not in CONTRACT_JOBS:
                errors.append(f"{name_of(mon)}: job {job!r} is not a job of docs/contracts.md")
            seen.add(job)
            matched = [w for w in workloads if selects(mon["spec"]["selector"], pod_labels(w))]
            if not matched:
                # The operator's own Prometheus pods (port "web") are not in the render.
                if not (operator_prometheus and job == "prometheus" and ep.get("port") == "web"):
                    errors.append(f"{name_of(mon)}: selects no pod of the render")
                continue
            for w in matched:
                names = {p.get("name") for c in pod_spec(w)["containers"] for p in c.get("ports", [])}
                if ep.get("port") not in names:
                    errors.append(f"{name_of(mon)}: {name_of(w)} has no port named {ep.get('port')!r}")
    for job in sorted(CONTRACT_JOBS - seen):
        errors.append(f"no PodMonitor scrapes job {job}")
    return errors
