#!/usr/bin/env python3
"""Checks the manifests against the real command lines of the project's binaries: every flag,
subcommand and environment variable a container of ours is given must be one the binary
declares (from its `--help`, which clap prints with `[env: NAME]`), and a flag's value one of
its `[possible values: ...]` when clap lists them. Catches a renamed flag before
a pod crash-loops on it.

    interfaces.py BIN_DIR rendered.yaml [...]

BIN_DIR holds the debug or release builds of forum, nginx-log-exporter, pg-exporter and
alert-relay. Exits 1 with one line per problem.
"""

from __future__ import annotations

import re
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import policy
import validate

BINARIES = ("forum", "nginx-log-exporter", "pg-exporter", "alert-relay")


@cache
def help_text(bin_dir: Path, binary: str, sub: str | None) -> str:
    cmd = [str(bin_dir / binary)] + ([sub] if sub else []) + ["--help"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    if p.returncode != 0:
        raise RuntimeError(f"`{' '.join(cmd)}` failed: {p.stderr.strip()}")
    return p.stdout


def has_flag(text: str, flag: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", text) is not None


def possible_values(text: str, flag: str) -> list[str] | None:
    """The `[possible values: ...]` clap lists for a flag, or None."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if re.match(rf"^\s*(-\w, )?{re.escape(flag)}(?![\w-])", line):
            entry = [line]
            for nxt in lines[i + 1:]:
                if re.match(r"^\s*-", nxt):
                    break
                entry.append(nxt)
            m = re.search(r"\[possible values: ([^\]]+)\]", " ".join(entry))
            return [v.strip() for v in m.group(1).split(",")] if m else None
    return None


def subcommands(text: str) -> set[str]:
    """The names listed under clap's `Commands:` heading."""
    if "Commands:" not in text:
        return set()
    block = text.split("Commands:", 1)[1].split("\n\n", 1)[0]
    return {line.split()[0] for line in block.splitlines() if line.strip()}


def check_container(bin_dir: Path, where: str, binary: str, c: dict[str, Any]) -> list[str]:
    errors = []
    args = list(c.get("command", [])[1:] if c.get("command") else []) + list(c.get("args", []))
    top = help_text(bin_dir, binary, None)
    sub = None
    if args and not args[0].startswith("-") and subcommands(top):
        sub = args[0]
        if sub not in subcommands(top):
            return [f"{where}: `{binary} {sub}`: no such subcommand ({sorted(subcommands(top))})"]
    text = help_text(bin_dir, binary, sub)
    for arg in args:
        if arg.startswith("--"):
            flag = arg.split("=", 1)[0]
            if not has_flag(text, flag):
                errors.append(f"{where}: `{binary}{' ' + sub if sub else ''}` has no flag {flag}")
                continue
            allowed = possible_values(text, flag)
            if allowed is not None and "=" in arg and arg.split("=", 1)[1] not in allowed:
                errors.append(f"{where}: {arg}: {binary} takes one of {allowed}")
    env = c.get("env", [])
    # Variables only spliced into other values with $(NAME) are not for the binary.
    spliced = {m for e in env for m in re.findall(r"\$\((\w+)\)", e.get("value", ""))}
    for e in env:
        name = e["name"]
        if name not in spliced and not re.search(rf"env: {re.escape(name)}[=\]]", text):
            errors.append(f"{where}: `{binary}{' ' + sub if sub else ''}` reads no environment variable {name}")
    return errors


def main() -> int:
    bin_dir = Path(sys.argv[1])
    missing = [b for b in BINARIES if not (bin_dir / b).exists()]
    if missing:
        print(f"interfaces: {', '.join(missing)} not built in {bin_dir}", file=sys.stderr)
        return 1
    errors, checked = [], 0
    for path in sys.argv[2:]:
        for obj in validate.load(Path(path)):
            spec = policy.pod_spec(obj)
            if spec is None:
                continue
            for c in policy.containers(spec):
                binary = c["image"].rsplit("/", 1)[-1].split(":", 1)[0].split("@", 1)[0]
                if binary in BINARIES:
                    checked += 1
                    errors += [f"{Path(path).stem}: {e}" for e in
                               check_container(bin_dir, f"{policy.name_of(obj)} container {c['name']}", binary, c)]
    print(f"interfaces: {checked} containers of the project's images checked against their binaries' "
          f"--help; {len(errors)} problem(s)")
    for e in errors:
        print(f"  {e}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
