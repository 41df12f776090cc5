#!/usr/bin/env python3
"""Live benchmarks of nginx-log-exporter (called by run.sh; runnable alone).

live: a real nginx (one worker, `combined` log written per request, 127.0.0.1 on a free port,
its own prefix) under `wrk -c8`: first alone, then with the exporter tailing its log, then with
mtail tailing it (a program counting lines and statuses), then alone again (the machine is
shared: throughput kept is against the mean of the two runs alone). For each tailer it prints the CPU per
line (utime + stime deltas of /proc/<pid>/stat over the run and the catch-up, divided by the
lines), its wake-ups per line (voluntary context switches of all its threads), nginx's
throughput kept against nginx alone and nginx's own CPU per request, the lag (from the end of
the load until the tailer's count equals the lines in the log) and whether every line was
counted. Then the exporter's freshness under light traffic: single requests 50 ms apart, each
timed until /metrics counts it.

scrape: the exporter tailing a log of 10,000 request series; its CPU for one /metrics scrape
(CPU over 20 scrapes, less its CPU over the same time without scrapes, divided by 20), while a
writer appends lines of those series; in OpenMetrics (what Prometheus asks for) and in text
0.0.4 (what curl gets).

Usage: live.py live EXPORTER WORKDIR [SECONDS] [ROUNDS]
       live.py scrape EXPORTER LOG
"""
import http.client
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

TICK = os.sysconf("SC_CLK_TCK")
MTAIL_PROG = r"""counter lines_total
counter requests_by_status by status

/" (?P<status>\d{3}) / {
  requests_by_status[$status]++
}
/$/ {
  lines_total++
}
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu(pid):
    """Seconds of CPU (user + system) used by the process so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def wakeups(pid):
    """Voluntary context switches of all the process's threads (each is a wait that ended)."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches"):
                        total += int(line.split()[1])
        except FileNotFoundError:
            pass
    return total


def children(ppid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == ppid:
                        out.append(int(d))
            except (FileNotFoundError, ProcessLookupError):
                pass
    return out


# What Prometheus sends: it prefers OpenMetrics, which the exporter writes without converting.
PROMETHEUS_ACCEPT = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
                     "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1")


def get(port, path="/metrics", accept=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"Accept": accept} if accept else {})
        resp = conn.getresponse()
        return resp.status, resp.read().decode()
    finally:
        conn.close()


def metric(text, name):
    """Sum of the samples of `name` (any labels)."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and (len(line) == len(name) or line[len(name)] in " {"):
            total += float(line.rsplit(" ", 1)[1])
    return int(total)


def wait_port(port, proc, what, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{what} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"{what} did not listen on {port}")


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class LineCounter:
    """Counts the lines of a growing file incrementally."""

    def __init__(self, path):
        self.path, self.offset, self.lines = path, 0, 0

    def count(self):
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            while True:
                b = f.read(1 << 20)
                if not b:
                    break
                self.lines += b.count(b"\n")
                self.offset += len(b)
        return self.lines


class Nginx:
    def __init__(self, work):
        self.prefix = os.path.join(work, "live-nginx")
        shutil.rmtree(self.prefix, ignore_errors=True)
        os.makedirs(os.path.join(self.prefix, "tmp"))
        self.port = free_port()
        self.log = os.path.join(self.prefix, "access.log")
        p = self.prefix
        conf = os.path.join(p, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""worker_processes 1;
daemon off;
pid {p}/nginx.pid;
error_log {p}/error.log warn;
events {{ worker_connections 256; }}
http {{
    client_body_temp_path {p}/tmp/body;
    proxy_temp_path {p}/tmp/proxy;
    fastcgi_temp_path {p}/tmp/fastcgi;
    uwsgi_temp_path {p}/tmp/uwsgi;
    scgi_temp_path {p}/tmp/scgi;
    access_log {p}/access.log combined;
    server {{
        listen 127.0.0.1:{self.port};
        location / {{ return 200 "ok\\n"; }}
    }}
}}
""")
        self.proc = subprocess.Popen(
            ["nginx", "-p", p, "-c", conf, "-e", os.path.join(p, "error.log")],
            stdout=subprocess.DEVNULL)
        wait_port(self.port, self.proc, "nginx")
        workers = children(self.proc.pid)
        if len(workers) != 1:
            sys.exit(f"expected one nginx worker, found {workers}")
        self.worker = workers[0]

    def truncate(self):
        open(self.log, "w").close()


def wrk(port, seconds):
    out = subprocess.run(["wrk", "-t2", "-c8", f"-d{seconds}s", f"http://127.0.0.1:{port}/"],
                         check=True, capture_output=True, text=True).stdout
    return float(re.search(r"Requests/sec:\s*([\d.]+)", out).group(1))


def run_phase(nginx, seconds, tailer=None):
    """One load run; with `tailer` = (name, proc, port, metric name)."""
    nginx.truncate()
    counter = LineCounter(nginx.log)
    if tailer:
        _, proc, port, name = tailer
        # Ready: it serves its metrics and counts nothing yet.
        deadline = time.time() + 20
        while True:
            try:
                if get(port)[0] == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline or proc.poll() is not None:
                sys.exit(f"{tailer[0]} is not serving metrics")
            time.sleep(0.05)
        time.sleep(0.5)
        c0, w0 = cpu(proc.pid), wakeups(proc.pid)
    n0 = cpu(nginx.worker)
    rps = wrk(nginx.port, seconds)
    end = time.monotonic()
    n1 = cpu(nginx.worker)
    if not tailer:
        lines = counter.count()
        return {"rps": rps, "lines": lines, "nginx_us": (n1 - n0) / max(lines, 1) * 1e6}
    lag, counted = None, 0
    while time.monotonic() - end < 10:
        counted = metric(get(port)[1], name)
        lines = counter.count()
        if counted == lines and lines > 0:
            lag = time.monotonic() - end
            break
        time.sleep(0.002)
    lines = counter.count()
    # Let a late line show (it would make the count differ), then read the CPU.
    time.sleep(0.3)
    counted = metric(get(port)[1], name)
    lines = counter.count()
    c1, w1 = cpu(proc.pid), wakeups(proc.pid)
    return {"rps": rps, "lines": lines, "counted": counted, "lag": lag,
            "cpu_us": (c1 - c0) / lines * 1e6, "wakeups": (w1 - w0) / lines,
            "nginx_us": (n1 - n0) / max(lines, 1) * 1e6}


def freshness(nginx, port, n=40):
    """Single requests 50 ms apart; for each, the time until /metrics counts it."""
    times = []
    counted = metric(get(port)[1], "nginx_log_lines_total")
    for _ in range(n):
        time.sleep(0.05)
        start = time.monotonic()
        status, _ = get(nginx.port, "/")
        assert status == 200
        while True:
            now = metric(get(port)[1], "nginx_log_lines_total")
            if now > counted:
                counted = now
                times.append(time.monotonic() - start)
                break
            if time.monotonic() - start > 5:
                sys.exit("a request was not counted within 5 s")
    times.sort()
    return times


def live(exe, work, seconds, rounds):
    for tool in ("nginx", "wrk", "mtail"):
        if not shutil.which(tool):
            sys.exit(f"missing {tool} (apt-get install -y nginx wrk mtail)")
    nginx = Nginx(work)
    prog_dir = os.path.join(work, "live-mtail")
    os.makedirs(prog_dir, exist_ok=True)
    with open(os.path.join(prog_dir, "lines.mtail"), "w") as f:
        f.write(MTAIL_PROG)
    try:
        print(f"live: nginx (1 worker, combined log per request) under wrk -t2 -c8 for {seconds} s "
              f"a run; {rounds} round(s); load before: {open('/proc/loadavg').read().split()[:3]}")
        inexact = []
        for r in range(rounds):
            alone = run_phase(nginx, seconds)
            results = []
            port = free_port()
            proc = subprocess.Popen([exe, "--log-file", nginx.log, "--nginx.format", "combined",
                                     "--preset", "none", "--web.listen-address", f"127.0.0.1:{port}",
                                     "--log.level", "warn"])
            try:
                results.append(("exporter", run_phase(
                    nginx, seconds, ("exporter", proc, port, "nginx_log_lines_total"))))
                fresh = freshness(nginx, port)
            finally:
                stop(proc)
            port = free_port()
            proc = subprocess.Popen(["mtail", "--progs", prog_dir, "--logs", nginx.log,
                                     "--address", "127.0.0.1", "--port", str(port), "--logtostderr"],
                                    stderr=subprocess.DEVNULL)
            try:
                results.append(("mtail", run_phase(
                    nginx, seconds, ("mtail", proc, port, "lines_total"))))
            finally:
                stop(proc)
            after = run_phase(nginx, seconds)
            print(f"round {r + 1}: nginx alone {alone['rps']:.0f} req/s before the tailers, "
                  f"{after['rps']:.0f} after (nginx CPU {alone['nginx_us']:.2f}, "
                  f"{after['nginx_us']:.2f} us/request); kept = against the mean of the two")
            alone = {"rps": (alone["rps"] + after["rps"]) / 2}
            for name, x in results:
                if x["counted"] != x["lines"]:
                    inexact.append(name)
                lag = f"{x['lag'] * 1000:.0f} ms" if x["lag"] is not None else "NOT CAUGHT UP in 10 s"
                print(f"  {name:<8} CPU {x['cpu_us']:6.3f} us/line  wake-ups {x['wakeups']:.4f}/line  "
                      f"nginx {x['rps']:.0f} req/s = {x['rps'] / alone['rps'] * 100:.0f}% of alone "
                      f"(nginx CPU {x['nginx_us']:.2f} us/request)  lag {lag}  "
                      f"counted {x['counted']} of {x['lines']} lines: "
                      f"{'exact' if x['counted'] == x['lines'] else 'DIFFERENT'}")
            ex, mt = results[0][1], results[1][1]
            print(f"  exporter CPU per line / mtail CPU per line: {ex['cpu_us'] / mt['cpu_us']:.3f}")
            print(f"  exporter freshness, light traffic (40 single requests 50 ms apart, until "
                  f"/metrics counts each): median {statistics.median(fresh) * 1000:.1f} ms, "
                  f"max {fresh[-1] * 1000:.1f} ms")
    finally:
        stop(nginx.proc)
    if inexact:
        sys.exit(f"COUNTS DIFFER: {', '.join(inexact)}")


def scrape(exe, log):
    port = free_port()
    proc = subprocess.Popen([exe, "--log-file", log, "--from-start", "--nginx.format", "forum",
                             "--max-endpoints", "5000", "--web.listen-address",
                             f"127.0.0.1:{port}", "--log.level", "warn"])
    stop_writer = threading.Event()

    def writer():
        # 500 lines a second of series the log already has.
        with open(log, "a") as f:
            i = 0
            while not stop_writer.is_set():
                for _ in range(5):
                    f.write('10.0.0.1 - - [01/Jan/2024:00:00:00 +0000] "GET /e%dx HTTP/1.1" 200 '
                            '100 "-" "bench" 300 0.012 "0.010" forum.example\n' % (i % 2500))
                    i += 1
                f.flush()
                time.sleep(0.01)

    try:
        wait_port(port, proc, "exporter")
        deadline = time.time() + 20
        while metric(get(port)[1], "nginx_log_lines_total") < 10000:
            if time.time() > deadline:
                sys.exit("the exporter did not read the series log")
            time.sleep(0.1)
        t = threading.Thread(target=writer)
        t.start()
        time.sleep(0.5)
        n = 20
        text = get(port)[1]
        series = sum(1 for line in text.splitlines() if line.startswith("nginx_http_requests_total{"))
        for label, accept in (("OpenMetrics (what Prometheus asks for)", PROMETHEUS_ACCEPT),
                              ("text 0.0.4 (converted from OpenMetrics)", None)):
            c0, t0 = cpu(proc.pid), time.monotonic()
            size = 0
            for _ in range(n):
                size = len(get(port, accept=accept)[1])
            c1, t1 = cpu(proc.pid), time.monotonic()
            time.sleep(t1 - t0)
            c2 = cpu(proc.pid)
            per_scrape = ((c1 - c0) - (c2 - c1)) / n
            print(f"scrape CPU while tailing (500 lines/s), {series} request series, {label}: "
                  f"{size} bytes; {n} scrapes in {t1 - t0:.2f} s took {c1 - c0:.2f} s of CPU, "
                  f"the same time without scrapes {c2 - c1:.2f} s: {per_scrape * 1000:.1f} ms "
                  f"of CPU a scrape")
        stop_writer.set()
        t.join()
    finally:
        stop_writer.set()
        stop(proc)


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "live":
        live(sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 10,
             int(sys.argv[5]) if len(sys.argv) > 5 else 1)
    elif len(sys.argv) == 4 and sys.argv[1] == "scrape":
        scrape(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
