#!/usr/bin/env python3
"""Writes a runnable copy of the local stack's Prometheus and Alertmanager configuration with
other ports or intervals, for scripts/demo and the whole-stack test (which use free ports).

    monitoring/render.py --out DIR [--interval 5s] [--target nginx=127.0.0.1:41234 ...]
                         [--alertmanager 127.0.0.1:41240] [--relay-url http://127.0.0.1:41235/alertmanager]

writes DIR/prometheus.yml, DIR/rules/*.yml (the rule files, unchanged) and DIR/alertmanager.yml.
The relay's bearer token is read from DIR/relay-token: write it there yourself (it is a
secret; this script never sees it). Only addresses and intervals change: the rules, routes
and inhibitions are the repository's.
"""

import argparse
import pathlib
import re
import shutil
import sys

HERE = pathlib.Path(__file__).resolve().parent
JOBS = ("nginx", "postgres", "forum-web", "forum-api", "alert-relay", "prometheus", "alertmanager")
DURATION = re.compile(r"^(\d+)(ms|s|m)$")


def seconds(duration):
    """Seconds in a Prometheus duration of ms, s or m."""
    m = DURATION.match(duration)
    if not m:
        raise argparse.ArgumentTypeError(f"not a duration like 5s or 1m: {duration!r}")
    n, unit = int(m.group(1)), m.group(2)
    return n / 1000 if unit == "ms" else n * 60 if unit == "m" else n


def duration(value):
    """argparse type: a duration Prometheus accepts (kept as written)."""
    seconds(value)
    return value


def render_prometheus(text, targets, interval, alertmanager):
    """prometheus.yml with the given targets (job -> host:port), interval and Alertmanager."""
    if interval:
        timeout = interval if seconds(interval) < 10 else "10s"
        text = re.sub(r"(?m)^(\s*)(scrape_interval|evaluation_interval): \S+", rf"\g<1>\g<2>: {interval}", text)
        text = re.sub(r"(?m)^(\s*)scrape_timeout: \S+", rf"\g<1>scrape_timeout: {timeout}", text)
    out, job = [], None
    for line in text.splitlines(keepends=True):
        m = re.match(r"\s*- job_name: (\S+)", line)
        if m:
            job = m.group(1)
        if re.match(r'\s*- targets: \["[^"]+"\]', line):
            addr = targets.get(job) if job else alertmanager
            if addr:
                line = re.sub(r'\["[^"]+"\]', f'["{addr}"]', line)
        out.append(line)
    return "".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, type=pathlib.Path, help="folder to write into (created)")
    parser.add_argument("--interval", type=duration, help="scrape and evaluation interval")
    parser.add_argument("--target", action="append", default=[], metavar="JOB=HOST:PORT",
                        help=f"address of a job's target (jobs: {', '.join(JOBS)})")
    parser.add_argument("--alertmanager", metavar="HOST:PORT", help="where Prometheus sends alerts")
    parser.add_argument("--relay-url", help="alert-relay's webhook URL")
    args = parser.parse_args()
    targets = {}
    for item in args.target:
        job, sep, addr = item.partition("=")
        if not sep or job not in JOBS or not re.match(r"^[\w.\-\[\]:]+:\d+$", addr):
            parser.error(f"--target wants JOB=HOST:PORT with a job of {JOBS}, got {item!r}")
        targets[job] = addr
    args.out.mkdir(parents=True, exist_ok=True)
    rules = args.out / "rules"
    shutil.rmtree(rules, ignore_errors=True)
    shutil.copytree(HERE / "prometheus/rules", rules)
    prom = (HERE / "prometheus/prometheus.yml").read_text()
    (args.out / "prometheus.yml").write_text(render_prometheus(prom, targets, args.interval, args.alertmanager))
    am = (HERE / "alertmanager/alertmanager.yml").read_text()
    if args.relay_url:
        am = am.replace("http://127.0.0.1:9733/alertmanager", args.relay_url)
    (args.out / "alertmanager.yml").write_text(am)
    return 0


if __name__ == "__main__":
    sys.exit(main())
