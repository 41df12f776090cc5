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


def flag_entry(text: str, flag: str) -> str | None:
    """The help entry of a flag: its line and the description lines under it."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if re.match(rf"^\s*(-\w, )?{re.escape(flag)}(?![\w-])", line):
            entry = [line]
            for nxt in lines[i + 1:]:
                if re.match(r"^\s*-(\w|-\w)", nxt):
                    break
                entry.append(nxt)
            return "\n".join(entry)
    return None


def possible_values(entry: str) -> list[str] | None:
    """What clap lists as a flag's possible values (short or long help form), or None."""
    m = re.search(r"\[possible values: ([^\]]+)\]", entry.replace("\n", " "))
    if m:
        return [v.strip() for v in m.group(1).split(",")]
    if "Possible values:" in entry:
        block = entry.split("Possible values:", 1)[1]
        return re.findall(r"^\s*- ([^:\s]+)", block, re.M)
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
    for i, arg in enumerate(args):
        if not arg.startswith("--"):
            continue
        flag = arg.split("=", 1)[0]
        entry = flag_entry(text, flag)
        if entry is None:
            errors.append(f"{where}: `{binary}{' ' + sub if sub else ''}` has no flag {flag}")
            continue
        takes_value = re.match(rf"^\s*(-\w, )?{re.escape(flag)} <", entry) is not None
        value = arg.split("=", 1)[1] if "=" in arg else (
            args[i + 1] if takes_value and i + 1 < len(args) else None)
        allowed = possible_values(entry)
        if allowed is not None and value is not None and value not in allowed:
            errors.append(f"{where}: {flag} {value}: {binary} takes one of {allowed}")
    env = c.get("env", [])
    # Variables only spliced into other values with $(NAME) are not for the binary.
    spliced = {m for e in env for m in re.findall(r"\$\((\w+)\)", e.get("value", ""))}
    for e in env:
        name = e["name"]
        if name not in spliced and not re.search(rf"env:\s+{re.escape(name)}[=\]]", text):
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
