"""The packages import only downward (`ell` → `ell_git` → `webui`) and modules import each other in no
cycle. Read from the source (lazy imports inside functions and type-checking imports included), so the
structure stays this way."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("ell", "ell_git", "webui")
#: The only upward imports, each lazy (inside a function): `ell.init(store=path)` opens the git store,
#: ell-ai's `ell.stores` shim names it, and `ell web` / `ell demo` start the web UI.
UPWARD_ALLOWED = {
    ("ell.startup", "ell_git"), ("ell.startup", "ell_git.secrets"), ("ell.stores.sql", "ell_git"),
    ("ell_git.cli.web", "webui.server"), ("ell_git.cli.demo", "webui.server"),
}


def _modules() -> dict[str, Path]:
    mods = {}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            mods[".".join(parts)] = path
    return mods


def _targets(mods: dict[str, Path], mod: str, node: ast.Import | ast.ImportFrom) -> set[str]:
    """The project modules an import statement loads (the deepest module each name resolves to)."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        base = mod.split(".") if mods[mod].name == "__init__.py" else mod.split(".")[:-1]
        if node.level:
            base = base[: len(base) - (node.level - 1)]
            prefix = ".".join(base + ([node.module] if node.module else []))
        else:
            prefix = node.module or ""
        names = [f"{prefix}.{a.name}" if f"{prefix}.{a.name}" in mods else prefix for a in node.names]
    out = set()
    for name in names:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        if name and name != mod:
            out.add(name)
    return out


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for mod, path in mods.items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                graph[mod] |= _targets(mods, mod, node)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected groups of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.add(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(group)
    return groups


def test_packages_import_only_downward() -> None:
    order = {pkg: i for i, pkg in enumerate(PACKAGES)}
    graph = _graph()
    upward = {(m, t) for m, ts in graph.items() for t in ts if order[t.split(".")[0]] > order[m.split(".")[0]]}
    assert upward <= UPWARD_ALLOWED, sorted(upward - UPWARD_ALLOWED)


def test_no_import_cycles() -> None:
    cycles = _cycles(_graph())
    assert not cycles, [sorted(group) for group in cycles]


def test_the_checks_see_a_cycle_and_an_upward_import() -> None:
    """The graph reader is not blind: a made-up graph's cycle is found."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]
    graph = _graph()
    assert "ell_git.store" in graph["ell.startup"] or "ell_git" in graph["ell.startup"]
    assert "ell.records" in graph["ell_git.store"]


def test_no_module_over_500_lines() -> None:
    long = {m: n for m, p in _modules().items() if (n := len(p.read_text().splitlines())) > 500}
    assert not long, long
