#!/usr/bin/env python3
"""The import graph of each crate's `src/`, file by file, and the cycles in it.

A file imports another when it names an item of it: `use crate::a::b`, `use super::x`,
`use self::child`, a relative `use child::x` from a module that declares `mod child`, or a path
in code (`crate::a::f()`, `super::x::Y`, `alias::x` after `use crate::alias`). A path is resolved
to the deepest module that is a file of its own; an item a module only re-exports
(`pub use inner::Item`) is followed to the file that defines it, so `use crate::Error` points at
`error.rs`, not at `lib.rs`. `mod` declarations build the module tree but are not imports: a
parent owns its children without depending on them. `#[cfg(test)]` items (inline test modules)
are left out: tests may reach across layers.

Also checks that no file under `src/` holds more than MAX_LINES lines of code outside its
`#[cfg(test)]` items: a file that long holds several concepts and should be split by them.

    layers.py [--self-test] [CRATE_DIR ...]

Without CRATE_DIR, checks every member of the workspace of the current directory. Prints each
cycle as a chain of files with the path that makes each step, and exits 1 if there is any.
"""

from __future__ import annotations

import re
import sys
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

KEYWORDS = {"crate", "super", "self"}
MAX_LINES = 600
PATH_RE = re.compile(r"(?<![\w:])((?:crate|super|self)(?:::[A-Za-z_]\w*)+)")
NAME_PATH_RE = re.compile(r"(?<![\w:.])([a-z_]\w*(?:::[A-Za-z_]\w*)+)")


# ---------------------------------------------------------------------------------------------
# Source text


def strip_comments_and_strings(text: str) -> str:
    """Blanks comments, string and char literals (keeping newlines, so line numbers hold)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "r" and re.match(r'r#*"', text[i:i + 10]) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            hashes = re.match(r'r(#*)"', text[i:]).group(1)
            end = text.find('"' + hashes, i + len(hashes) + 2)
            end = n if end < 0 else end + 1 + len(hashes)
            out.append(re.sub(r"[^\n]", " ", text[i:end]))
            i = end
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(re.sub(r"[^\n]", " ", text[i:j + 1]))
            i = j + 1
        elif c == "'" and re.match(r"'(\\.|[^\\'])'", text[i:i + 4]) or (c == "'" and re.match(r"'\\(x..|u\{[0-9a-fA-F]+\})'", text[i:i + 12])):
            m = re.match(r"'(\\x..|\\u\{[0-9a-fA-F]+\}|\\.|[^\\'])'", text[i:])
            out.append(" " * len(m.group(0)))
            i += len(m.group(0))
        else:
            out.append(c)
            i += 1
    return "".join(out)


def matching_brace(text: str, open_at: int) -> int:
    depth = 0
    for j in range(open_at, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return j
    return len(text) - 1


def strip_cfg_test(text: str) -> str:
    """Blanks every item under `#[cfg(test)]` (a module with a body, a `mod x;`, a function)."""
    for m in reversed(list(re.finditer(r"#\[cfg\(test\)\]", text))):
        rest = text[m.end():]
        item = re.match(r"(\s*#\[[^\]]*\])*\s*[^;{]*", rest)
        end = m.end() + item.end()
        if end < len(text) and text[end] == "{":
            end = matching_brace(text, end) + 1
        elif end < len(text) and text[end] == ";":
            end += 1
        text = text[:m.start()] + re.sub(r"[^\n]", " ", text[m.start():end]) + text[end:]
    return text


def split_use_tree(tree: str) -> list[str]:
    """`a::{b, c::{d, e}, f as g}` -> [`a::b`, `a::c::d`, `a::c::e`, `a::f`]."""
    tree = re.sub(r"\s*(::|[{},])\s*", r"\1", re.sub(r"\s+", " ", tree)).strip()
    m = re.search(r"\{", tree)
    if not m:
        return [tree] if tree else []
    prefix = tree[:m.start()]
    inner = tree[m.start() + 1:matching_brace(tree, m.start())]
    parts, depth, cur = [], 0, ""
    for ch in inner:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        cur += ch
    parts.append(cur)
    paths = []
    for p in parts:
        if not p:
            continue
        for sub in split_use_tree(p):
            paths.append(prefix + sub if sub != "self" else prefix.rstrip(":"))
    return paths


# ---------------------------------------------------------------------------------------------
# Crates, modules and files


@dataclass
class Module:
    path: tuple[str, ...]  # module path inside its crate root, () for the root
    file: Path
    text: str = ""  # cleaned source of the file, tests blanked
    children: dict[str, tuple[str, ...]] = field(default_factory=dict)  # name -> module path
    reexports: dict[str, str] = field(default_factory=dict)  # name -> use path ("*" for globs)
    globs: list[str] = field(default_factory=list)
    aliases: dict[str, str] = field(default_factory=dict)  # name -> use path


@dataclass
class Root:
    name: str
    modules: dict[tuple[str, ...], Module] = field(default_factory=dict)


def read_root(crate_dir: Path, root_file: Path) -> Root:
    root = Root(name=str(root_file.relative_to(crate_dir)))

    def load(path: tuple[str, ...], file: Path, dir_for_children: Path) -> None:
        raw = file.read_text(encoding="utf-8")
        text = strip_cfg_test(strip_comments_and_strings(raw))
        module = Module(path=path, file=file, text=text)
        root.modules[path] = module
        for m in re.finditer(
            r"(?:#\[path\s*=\s*\"([^\"]+)\"\]\s*)?(?:pub(?:\([^)]*\))?\s+)?mod\s+([A-Za-z_]\w*)\s*;",
            # #[path] values live in strings, blanked above: read them from the raw text.
            mask_keep_path_attrs(raw, text),
        ):
            explicit, name = m.group(1), m.group(2)
            if explicit:
                child_file = (file.parent / explicit).resolve()
                child_dir = child_file.parent / child_file.stem
            else:
                child_file = dir_for_children / f"{name}.rs"
                child_dir = dir_for_children / name
                if not child_file.exists():
                    child_file = dir_for_children / name / "mod.rs"
            if child_file.exists():
                module.children[name] = path + (name,)
                load(path + (name,), child_file, child_dir)
        # Inline modules (`mod x { ... }`) are part of their file: a path into them resolves to
        # the file, which is what the graph is about.
        for m in re.finditer(r"(?:^|[;{}\s])(?:pub(?:\([^)]*\))?\s+)?use\s+([^;]+);", text):
            for use_path in split_use_tree(m.group(1)):
                name, target = use_binding(use_path)
                if target is None:
                    continue
                is_pub = re.match(r"(?:^|[;{}\s])pub", m.group(0)) is not None
                if name == "*":
                    if is_pub:
                        module.globs.append(target)
                    continue
                module.aliases[name] = target
                if is_pub:
                    module.reexports[name] = target

    if root_file.name in ("lib.rs", "main.rs"):
        children_dir = root_file.parent
    else:
        children_dir = root_file.parent / root_file.stem
    load((), root_file, children_dir)
    return root


def mask_keep_path_attrs(raw: str, cleaned: str) -> str:
    """The cleaned text with the `#[path = "..."]` attributes of the raw text put back."""
    out = list(cleaned)
    for m in re.finditer(r"#\[path\s*=\s*\"[^\"]+\"\]", raw):
        if cleaned[m.start():m.start() + 2] == "#[" and cleaned[m.start():m.end()].strip():
            out[m.start():m.end()] = m.group(0)
    return "".join(out)


def use_binding(use_path: str) -> tuple[str, str | None]:
    """The name a use path binds and the path it names (`a::b as c` -> (`c`, `a::b`))."""
    use_path = use_path.strip().lstrip(":")
    if " as " in use_path:
        target, name = use_path.split(" as ", 1)
        return name.strip(), target.strip()
    last = use_path.rsplit("::", 1)[-1]
    return last, use_path


# ---------------------------------------------------------------------------------------------
# Resolution


def resolve(root: Root, here: tuple[str, ...], path: str, depth: int = 0) -> tuple[str, ...] | None:
    """The module path of the file that defines what `path` (seen from module `here`) names."""
    if depth > 16:
        return None
    segs = path.split("::")
    if segs[0] == "crate":
        base, segs = (), segs[1:]
    elif segs[0] in ("super", "self"):
        base = here
        while segs and segs[0] in ("super", "self"):
            if segs[0] == "super":
                if not base:
                    return None
                base = base[:-1]
            segs = segs[1:]
    else:
        module = root.modules.get(here)
        if module is None:
            return None
        if segs[0] in module.children:
            base, segs = module.children[segs[0]], segs[1:]
        elif segs[0] in module.aliases and module.aliases[segs[0]] != path:
            return resolve(root, here, "::".join([module.aliases[segs[0]]] + segs[1:]), depth + 1)
        elif not here and segs[0] in root.modules.get((), Module((), Path())).children:
            base, segs = (segs[0],), segs[1:]
        else:
            return None  # another crate, or a name this parser does not follow
    return descend(root, base, segs, depth)


def descend(root: Root, base: tuple[str, ...], segs: list[str], depth: int) -> tuple[str, ...] | None:
    module = root.modules.get(base)
    if module is None:
        return None
    while segs:
        if segs[0] in module.children:
            base = module.children[segs[0]]
            module = root.modules[base]
            segs = segs[1:]
            continue
        # An item of this file, unless the file only re-exports it.
        if segs[0] in module.reexports:
            target = resolve(root, base, "::".join([module.reexports[segs[0]]] + segs[1:]), depth + 1)
            return target if target is not None else base
        for glob in module.globs:
            target = resolve(root, base, f"{glob}::{'::'.join(segs)}", depth + 1)
            if target is not None and target != base:
                return target
        return base
    return base


@dataclass
class Edge:
    source: Path
    target: Path
    line: int
    text: str


def edges_of(root: Root, unresolved: list[str] | None = None) -> list[Edge]:
    """The imports of every file of `root`; `crate::`, `super::` and `self::` paths that lead
    nowhere go to `unresolved` (the compiler accepted them, so this parser missed something)."""
    edges: list[Edge] = []
    for here, module in root.modules.items():
        seen: set[tuple[Path, str]] = set()
        candidates: list[tuple[int, str]] = []
        for m in re.finditer(r"(?:^|[;{}\s])(?:pub(?:\([^)]*\))?\s+)?use\s+([^;]+);", module.text):
            for use_path in split_use_tree(m.group(1)):
                _, target = use_binding(use_path)
                if target and not target.endswith("::*"):
                    candidates.append((m.start(1), target))
                elif target:
                    candidates.append((m.start(1), target[:-3]))
        use_spans = [m.span() for m in re.finditer(r"\buse\s+[^;]+;", module.text)]
        for regex in (PATH_RE, NAME_PATH_RE):
            for m in regex.finditer(module.text):
                if any(a <= m.start() < b for a, b in use_spans):
                    continue
                candidates.append((m.start(1), m.group(1)))
        for pos, path in candidates:
            target = resolve(root, here, path)
            if target is None and unresolved is not None and path.split("::")[0] in KEYWORDS:
                line = module.text.count("\n", 0, pos) + 1
                unresolved.append(f"{module.file}:{line}: cannot resolve {path}")
            if target is None or target == here:
                continue
            tfile = root.modules[target].file
            if (tfile, path) in seen:
                continue
            seen.add((tfile, path))
            line = module.text.count("\n", 0, pos) + 1
            edges.append(Edge(module.file, tfile, line, path))
    return edges


# ---------------------------------------------------------------------------------------------
# Cycles


def strongly_connected(nodes: list[Path], adj: dict[Path, set[Path]]) -> list[list[Path]]:
    index: dict[Path, int] = {}
    low: dict[Path, int] = {}
    stack: list[Path] = []
    on_stack: set[Path] = set()
    out: list[list[Path]] = []
    counter = [0]

    def visit(v: Path) -> None:
        # Iterative Tarjan: the graphs are small, but recursion limits are not worth the risk.
        work = [(v, iter(sorted(adj.get(v, ()))))]
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        while work:
            node, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(adj.get(w, ())))))
                    advanced = True
                    break
                if w in on_stack:
                    low[node] = min(low[node], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))

    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


def shortest_cycle(component: list[Path], adj: dict[Path, set[Path]]) -> list[Path]:
    """A shortest cycle through the component's first file, as a list of files."""
    start = component[0]
    members = set(component)
    prev: dict[Path, Path] = {}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(adj.get(v, ())):
                if w not in members:
                    continue
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(prev[path[-1]])
                    return list(reversed(path)) + [start]
                if w not in prev:
                    prev[w] = v
                    nxt.append(w)
        frontier = nxt
    return component + [start]


def check_crate(crate_dir: Path, repo: Path) -> list[str]:
    src = crate_dir / "src"
    roots = [p for p in (src / "lib.rs", src / "main.rs") if p.exists()]
    roots += sorted((src / "bin").glob("*.rs")) if (src / "bin").is_dir() else []
    problems = []
    for root_file in roots:
        root = read_root(crate_dir, root_file)
        unresolved: list[str] = []
        edges = edges_of(root, unresolved)
        problems += [f"layers.py cannot follow a path (fix the parser): {u}" for u in unresolved]
        adj: dict[Path, set[Path]] = {}
        why: dict[tuple[Path, Path], Edge] = {}
        for e in edges:
            adj.setdefault(e.source, set()).add(e.target)
            why.setdefault((e.source, e.target), e)
        files = sorted({m.file for m in root.modules.values()})
        for comp in strongly_connected(files, adj):
            cycle = shortest_cycle(comp, adj)
            rel = lambda p: str(p.relative_to(repo)) if p.is_relative_to(repo) else str(p)  # noqa: E731
            lines = [f"cycle in {rel(crate_dir)} ({len(comp)} files in one knot: "
                     f"{', '.join(str(f.relative_to(src)) for f in comp)})"]
            for a, b in zip(cycle, cycle[1:]):
                e = why[(a, b)]
                lines.append(f"    {a.relative_to(src)}:{e.line} -> {b.relative_to(src)}   ({e.text})")
            problems.append("\n".join(lines))
    return problems


def long_files(crate_dir: Path, repo: Path) -> list[str]:
    """Files under `src/` with more than MAX_LINES lines, `#[cfg(test)]` items left out."""
    problems = []
    for f in sorted((crate_dir / "src").rglob("*.rs")):
        code = strip_cfg_test(f.read_text()).rstrip().splitlines()
        length = len(code)
        if length > MAX_LINES:
            rel = f.relative_to(repo) if f.is_relative_to(repo) else f
            problems.append(f"{rel}: {length} lines outside its tests "
                            f"(at most {MAX_LINES}): split it by concept")
    return problems


def workspace_crates(repo: Path) -> list[Path]:
    manifest = tomllib.loads((repo / "Cargo.toml").read_text())
    members = manifest.get("workspace", {}).get("members", [])
    crates = []
    for pattern in members:
        crates += sorted(p for p in repo.glob(pattern) if (p / "Cargo.toml").exists())
    return crates


# ---------------------------------------------------------------------------------------------
# Self-test


FIXTURE = {
    "Cargo.toml": "[package]\nname = \"knot\"\n",
    "src/lib.rs": "//! A knot.\npub mod a;\npub mod b;\npub mod c;\nmod web;\npub use c::Leaf;\n",
    # a -> b through a `use` tree, b -> a through a path in code: a cycle.
    "src/a.rs": "use crate::{b::{self, Thing}, Leaf};\npub fn f() -> Thing { b::g() }\n",
    "src/b.rs": "pub struct Thing;\npub fn g() -> Thing { let _ = crate::a::f; Thing }\n",
    # c is imported by everybody (through lib.rs's re-export too) and imports nothing: no cycle.
    "src/c.rs": "//! Mentions crate::a in a comment only.\npub struct Leaf;\n"
                "const S: &str = \"crate::b::g\";\n#[cfg(test)]\nmod tests {\n    use crate::a::f;\n}\n",
    # web/mod.rs -> web/pages.rs (relative use), pages -> mod.rs (super::): a second cycle.
    "src/web/mod.rs": "mod pages;\nmod layout;\npub use pages::index;\npub fn shell() {}\n",
    "src/web/pages.rs": "use super::shell;\nuse super::layout::frame;\npub fn index() { shell(); frame(); }\n",
    "src/web/layout.rs": "pub fn frame() {}\n",
}


def self_test() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        crate = Path(tmp) / "knot"
        for rel, text in FIXTURE.items():
            (crate / rel).parent.mkdir(parents=True, exist_ok=True)
            (crate / rel).write_text(text)
        problems = check_crate(crate, Path(tmp))
        report = "\n".join(problems)
        long = "\n".join(f"pub fn f{i}() {{}}" for i in range(MAX_LINES + 1))
        (crate / "src/c.rs").write_text(long + "\n#[cfg(test)]\nmod tests {\n" + "\n" * 900 + "}\n")
        too_long = long_files(crate, Path(tmp))
        (crate / "src/c.rs").write_text("\n".join(long.splitlines()[:MAX_LINES]) + "\n#[cfg(test)]\n"
                                        "mod tests {\n" + "    fn t() {}\n" * 900 + "}\n")
        fits = long_files(crate, Path(tmp))
        expect = [
            (len(problems) == 2, "two cycles found"),
            ("a.rs, b.rs)" in report, "a.rs and b.rs form one knot"),
            ("web/mod.rs, web/pages.rs)" in report, "web/mod.rs and web/pages.rs form one knot"),
            ("c.rs" not in report, "c.rs, imported by all and importing nothing, is in no cycle"),
            ("layout.rs" not in report, "layout.rs is in no cycle"),
            ("(crate::a::f)" in report, "the path in code that closes the loop is named"),
            (len(too_long) == 1 and "src/c.rs" in too_long[0], f"a file of {MAX_LINES + 1} lines is too long"),
            (not fits, f"a file of {MAX_LINES} lines and a long test module fits"),
        ]
        failed = [what for ok, what in expect if not ok]
        if failed:
            print("layers self-test FAILED: " + "; ".join(failed) + "\n" + report, file=sys.stderr)
            return 1
        # Break both cycles: the check must then pass.
        (crate / "src/b.rs").write_text("pub struct Thing;\npub fn g() -> Thing { Thing }\n")
        (crate / "src/web/pages.rs").write_text("use super::layout::frame;\npub fn index() { frame(); }\n")
        problems = check_crate(crate, Path(tmp))
        if problems:
            print("layers self-test FAILED: cycles reported after they were broken:\n"
                  + "\n".join(problems), file=sys.stderr)
            return 1
    print("layers self-test: a fixture with two cycles fails naming both, and passes once they are "
          f"broken; a file over {MAX_LINES} lines outside its tests fails")
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["--self-test"]:
        return self_test()
    repo = Path.cwd().resolve()
    crates = [Path(a).resolve() for a in argv] or workspace_crates(repo)
    problems: list[str] = []
    long: list[str] = []
    files = 0
    for crate in crates:
        files += sum(1 for _ in (crate / "src").rglob("*.rs"))
        problems += check_crate(crate, repo)
        long += long_files(crate, repo)
    for p in problems + long:
        print(p)
    print(f"layers: {len(crates)} crates, {files} files under src/, {len(problems)} cycle(s), "
          f"{len(long)} file(s) over {MAX_LINES} lines")
    return 1 if problems or long else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
