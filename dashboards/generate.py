#!/usr/bin/env python3
"""Writes the Grafana dashboards of this folder (dashboards/*.json) from dashboards/lib/.

    python3 dashboards/generate.py          # (re)write the JSON files
    python3 dashboards/generate.py --check  # fail if a committed file differs from the source

The JSON files are committed (Grafana provisioning and k8s/ read them as they are); edit the
Python in lib/, bump the dashboard's version there, and run this script.
"""

import argparse
import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from lib import forum, nginx, overview, postgres  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent

# file name -> builder; the numbers of the list, in order.
DASHBOARDS = {
    "postgresql-overview.json": postgres.overview,
    "postgresql-activity.json": postgres.activity,
    "postgresql-internals.json": postgres.internals,
    "forum-growth.json": forum.growth,
    "nginx-endpoints.json": nginx.endpoints,
    "nginx-top-requests.json": nginx.top,
    "nginx-traffic.json": nginx.traffic,
    "deployment-overview.json": forum.deployment,
    "forum-overview.json": overview.overview,
    "forum-slo.json": overview.slo,
}


def render(builder):
    """The file content of one dashboard: stable key order, 2-space indent, final newline."""
    return json.dumps(builder(), indent=2, ensure_ascii=False) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare instead of writing; exit 1 on drift")
    args = parser.parse_args()
    stale = []
    for name, builder in DASHBOARDS.items():
        path = HERE / name
        text = render(builder)
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
            print(f"wrote {path.relative_to(HERE.parent)}")
    if stale:
        print("dashboards out of date with dashboards/lib (run python3 dashboards/generate.py): "
              + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
