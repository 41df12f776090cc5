#!/usr/bin/env python3
"""Runs nginx as the rendered nginx pod runs it, and checks that it starts and serves.

    nginx_pod.py --out WORKDIR rendered-overlay.yaml

From the rendered Deployment `nginx`: the container's own command and the repository's
nginx.conf (the ConfigMap, byte for byte), as the pod's uid, gid and fsGroup, on a root
filesystem that is read-only but for the pod's volume mounts. The root is built in a private
mount namespace (`unshare --mount`): a read-only tmpfs holding the image's few files
(/etc/nginx/mime.types, passwd, group, the loader cache, and an /etc/hosts that resolves the
upstream Services to loopback), /usr bound read-only from this machine (Debian's nginx stands
in for the image's), /dev and /proc, then each volume of the container: ConfigMaps read-only,
emptyDirs and claims writable unless mounted readOnly. A private network namespace
(`unshare --net`) gives nginx its own loopback, so its fixed ports (8080, and the upstreams'
8000/8001, served here by small stand-ins) collide with nothing on the machine.

The requests: a static file and a media file from their volumes, stub_status from loopback,
a 1 MiB upload (nginx buffers it to its client-body temp path) and a 4 MiB response read
slowly (buffered to its proxy temp path), each byte counted; the access log the exporter tails
has a line per request, the error log nothing above `warn`. Then the same pod with the config's
`*_temp_path` lines removed must fail (nginx falls back to compiled-in paths on the read-only
root): the test shows it can fail.

Needs root (a private mount and network namespace), `unshare`, `chroot` and Debian's nginx.
Exits 1 with the reason on failure.
"""

from __future__ import annotations

import argparse
import hashlib
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

UPLOAD = 1024 * 1024
DOWNLOAD = 4 * 1024 * 1024
STATIC = b"body { color: #123; }\n"
MEDIA = b"an uploaded avatar\n"
CONFIG_TEMP_PATHS = ("client_body_temp_path", "proxy_temp_path", "fastcgi_temp_path", "uwsgi_temp_path",
                     "scgi_temp_path")


def fail(msg: str) -> None:
    print(f"nginx_pod: FAILED: {msg}", file=sys.stderr)
    sys.exit(1)


# --- outside: the plan from the rendered Deployment ----------------------------------------

def plan(rendered: Path, work: Path, drop_temp_paths: bool) -> dict[str, Any]:
    import yaml  # only outside the namespaces (the venv's python)

    objs = [d for d in yaml.safe_load_all(rendered.read_text()) if d]
    dep = next((o for o in objs if o["kind"] == "Deployment" and o["metadata"]["name"] == "nginx"), None)
    if dep is None:
        fail(f"{rendered}: no Deployment nginx")
    spec = dep["spec"]["template"]["spec"]
    nginx = next(c for c in spec["containers"] if c["name"] == "nginx")
    psc, sc = spec.get("securityContext", {}), nginx.get("securityContext", {})
    uid, gid = sc.get("runAsUser", psc.get("runAsUser")), sc.get("runAsGroup", psc.get("runAsGroup"))
    fs_group = psc.get("fsGroup", gid)
    if not uid or sc.get("readOnlyRootFilesystem") is not True:
        fail("the nginx container must run as a non-root uid on a read-only root filesystem")
    configmaps = {o["metadata"]["name"]: o.get("data", {}) for o in objs if o["kind"] == "ConfigMap"}
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    mounts = []
    for m in nginx.get("volumeMounts", []):
        vol = volumes[m["name"]]
        host = work / "volumes" / m["name"]
        host.mkdir(parents=True, exist_ok=True)
        if "configMap" in vol:
            data = configmaps[vol["configMap"]["name"]]
            for key, text in data.items():
                if drop_temp_paths and key == "nginx.conf":
                    text = "".join(x for x in text.splitlines(keepends=True)
                                   if not x.strip().startswith(CONFIG_TEMP_PATHS))
                (host / key).write_text(text)
                os.chmod(host / key, 0o644)
            writable = False
        elif "emptyDir" in vol or "persistentVolumeClaim" in vol:
            # As the kubelet makes them: group fsGroup, setgid, writable by the group (emptyDir: by all).
            os.chown(host, 0, fs_group)
            os.chmod(host, 0o2777 if "emptyDir" in vol else 0o2775)
            writable = not m.get("readOnly") and not vol.get("persistentVolumeClaim", {}).get("readOnly")
        else:
            fail(f"volume {m['name']}: a kind this test does not model ({sorted(vol)})")
        mounts.append({"path": m["mountPath"], "host": str(host), "writable": writable, "name": m["name"]})
    # What the init container and the forum put on the shared volumes.
    by_path = {m["path"]: Path(m["host"]) for m in mounts}
    for path, name, body in (("/var/lib/forum/static", "css/site.css", STATIC),
                             ("/var/lib/forum/media", "avatars/a.txt", MEDIA)):
        if path not in by_path:
            fail(f"the nginx container mounts nothing at {path}")
        (by_path[path] / name).parent.mkdir(parents=True, exist_ok=True)
        (by_path[path] / name).write_bytes(body)
        for p in (by_path[path] / name).parent, by_path[path] / name:
            os.chmod(p, 0o755 if p.is_dir() else 0o644)
    return {"uid": uid, "gid": gid, "groups": sorted({gid, fs_group}), "command": nginx.get("command", []) +
            nginx.get("args", []), "mounts": mounts, "root": str(work / "root"),
            "logs": str(by_path.get("/var/log/nginx", work)), "expect_failure": drop_temp_paths}


# --- inside the namespaces -----------------------------------------------------------------

def sh(*cmd: str) -> None:
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        fail(f"`{' '.join(cmd)}`: {p.stderr.strip()}")


def build_root(p: dict[str, Any]) -> Path:
    root = Path(p["root"])
    root.mkdir(parents=True, exist_ok=True)
    sh("mount", "-t", "tmpfs", "-o", "mode=755,size=16m", "tmpfs", str(root))
    for d in ("usr", "dev", "proc", "etc/nginx"):
        (root / d).mkdir(parents=True, exist_ok=True)
    for link in ("bin", "sbin", "lib", "lib64"):
        if Path("/" + link).is_symlink():
            (root / link).symlink_to(os.readlink("/" + link))
    for f in ("passwd", "group", "nsswitch.conf", "ld.so.cache", "nginx/mime.types"):
        shutil.copy(Path("/etc") / f, root / "etc" / f)
    # The upstream Services of nginx.conf (and any other name it uses) on loopback.
    (root / "etc/hosts").write_text("127.0.0.1 localhost forum-web forum-api\n")
    for m in p["mounts"]:
        (root / m["path"].lstrip("/")).mkdir(parents=True, exist_ok=True)
    sh("mount", "--bind", "/usr", str(root / "usr"))
    sh("mount", "-o", "remount,bind,ro", str(root / "usr"))
    sh("mount", "--rbind", "/dev", str(root / "dev"))
    sh("mount", "-t", "proc", "proc", str(root / "proc"))
    for m in p["mounts"]:
        target = str(root / m["path"].lstrip("/"))
        sh("mount", "--bind", m["host"], target)
        if not m["writable"]:
            sh("mount", "-o", "remount,bind,ro", target)
    sh("mount", "-o", "remount,bind,ro", str(root))
    return root


class Upstream(http.server.BaseHTTPRequestHandler):
    """forum-web and forum-api: a large page, and the size and digest of an upload."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 (http.server's names)
        body = b"x" * DOWNLOAD if self.path == "/big" else b"forum\n"
        self.reply(body)

    def do_POST(self) -> None:  # noqa: N802
        data = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.reply(f"{len(data)} {hashlib.sha256(data).hexdigest()}".encode())

    def reply(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def request(method: str, path: str, body: bytes = b"", slow: float = 0.0) -> tuple[int, bytes]:
    """One HTTP/1.0 request to nginx on 127.0.0.1:8080; the whole response."""
    with socket.create_connection(("127.0.0.1", 8080), timeout=10) as s:
        head = f"{method} {path} HTTP/1.0\r\nHost: forum\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        s.sendall(head + body)
        time.sleep(slow)  # a slow client: nginx must buffer the upstream's response to disk
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    raw = b"".join(chunks)
    status_line, _, rest = raw.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


def run_inside(p: dict[str, Any]) -> int:
    sh("ip", "link", "set", "lo", "up")
    root = build_root(p)
    for port in (8000, 8001):
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), Upstream)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    # The root really is read-only for the pod's user (a write outside the volumes fails).
    user = ["chroot", f"--userspec={p['uid']}:{p['gid']}", f"--groups={','.join(map(str, p['groups']))}", str(root)]
    probe = subprocess.run(user + ["/usr/bin/touch", "/etc/nginx/written"], capture_output=True, text=True)
    if probe.returncode == 0 or "Read-only file system" not in probe.stderr:
        fail(f"the pod's root is not read-only: {probe.stderr.strip() or 'touch succeeded'}")
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/"}
    nginx = subprocess.Popen(user + p["command"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        return serve_and_check(p, nginx)
    finally:
        if nginx.poll() is None:
            nginx.send_signal(3)  # SIGQUIT: graceful stop of master and workers
            try:
                nginx.wait(10)
            except subprocess.TimeoutExpired:
                nginx.kill()


def error_log(p: dict[str, Any]) -> str:
    logs = Path(p["logs"])
    return "".join(f.read_text(errors="replace") for f in sorted(logs.glob("*error*.log")))


def serve_and_check(p: dict[str, Any], nginx: subprocess.Popen[bytes]) -> int:
    deadline = time.monotonic() + 15
    while True:
        if nginx.poll() is not None:
            out = nginx.stdout.read().decode(errors="replace") if nginx.stdout else ""
            msg = f"nginx exited with {nginx.returncode}: {out.strip()} {error_log(p).strip()}"
            if p["expect_failure"]:
                print(f"nginx_pod: without the config's *_temp_path, as expected: {msg.splitlines()[0][:200]}")
                return 0
            fail(msg)
        try:
            socket.create_connection(("127.0.0.1", 8080), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                fail("nginx did not listen on 127.0.0.1:8080 within 15 s")
            time.sleep(0.1)
    problems = []

    def expect(what: str, got: tuple[int, bytes], status: int, body: bytes | None = None) -> None:
        if got[0] != status or (body is not None and got[1] != body):
            problems.append(f"{what}: {got[0]}, {len(got[1])} bytes ({got[1][:80]!r})")

    expect("GET /static/css/site.css", request("GET", "/static/css/site.css"), 200, STATIC)
    expect("GET /media/avatars/a.txt", request("GET", "/media/avatars/a.txt"), 200, MEDIA)
    status = request("GET", "/nginx_status")
    expect("GET /nginx_status", status, 200)
    if b"Active connections" not in status[1]:
        problems.append(f"/nginx_status is no stub_status: {status[1][:80]!r}")
    expect("GET /metrics (denied)", request("GET", "/metrics"), 403)
    upload = os.urandom(UPLOAD)
    expect(f"POST /api/upload ({UPLOAD} bytes)", request("POST", "/api/upload", upload), 200,
           f"{UPLOAD} {hashlib.sha256(upload).hexdigest()}".encode())
    expect(f"GET /big ({DOWNLOAD} bytes, read slowly)", request("GET", "/big", slow=1.5), 200, b"x" * DOWNLOAD)
    log = error_log(p)
    for what in ("client request body is buffered to a temporary file",
                 "upstream response is buffered to a temporary file"):
        if what not in log:
            problems.append(f"the error log lacks {what!r}: the temp path was not exercised")
    for level in ("[emerg]", "[alert]", "[crit]", "[error]"):
        # (the denied /metrics is logged as an error by design)
        problems += [f"error log: {line}" for line in log.splitlines()
                     if level in line and "access forbidden by rule" not in line]
    access = Path(p["logs"]) / "forum-access.log"
    lines = access.read_text().splitlines() if access.exists() else []
    if len(lines) != 5:
        problems.append(f"{access.name} has {len(lines)} lines for the 5 requests it logs (nginx_status is not)")
    if p["expect_failure"]:
        if not problems:
            fail("nginx served everything without its config's temp paths: this test cannot fail")
        print(f"nginx_pod: without the config's *_temp_path, as expected: {problems[0][:200]}")
        return 0
    if problems:
        fail("\n  ".join(["nginx in the pod's read-only root:"] + problems))
    print(f"nginx_pod: {' '.join(p['command'])} as uid {p['uid']} on a read-only root "
          f"({len(p['mounts'])} volumes: {', '.join(m['path'] + (' rw' if m['writable'] else ' ro') for m in p['mounts'])}): "
          f"started, served static, media, stub_status, a {UPLOAD // 1024} KiB upload and a {DOWNLOAD // 1024} KiB "
          "slow download through its temp paths; 5 access log lines, no error")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, help="work directory")
    ap.add_argument("--inside", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("rendered", type=Path, nargs="?")
    args = ap.parse_args()
    if args.inside:
        return run_inside(json.loads(args.inside.read_text()))
    if os.geteuid() != 0:
        fail("needs root for a private mount and network namespace (run as root, or with sudo)")
    for tool in ("unshare", "chroot", "nginx", "ip"):
        if shutil.which(tool) is None:
            fail(f"{tool} not found (Debian: apt-get install -y util-linux coreutils nginx iproute2)")
    for case, drop in (("as rendered", False), ("without temp paths", True)):
        work = args.out / case.replace(" ", "-")
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        (work / "plan.json").write_text(json.dumps(plan(args.rendered, work, drop)))
        p = subprocess.run(["unshare", "--mount", "--net", "--propagation", "private", "--",
                            sys.executable, __file__, "--inside", str(work / "plan.json")], timeout=120)
        if p.returncode != 0:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
