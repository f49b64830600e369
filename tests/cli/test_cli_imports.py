"""The `ell` command lives in ell_git: `ell` never imports it, and only `web`/`demo` import webui, lazily."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> list[tuple[str, ast.AST]]:
    """(absolute module name, node) of every import in `path`, with the node's enclosing function or None."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found = []

    def visit(node: ast.AST, function: ast.AST | None) -> None:
        for child in ast.iter_child_nodes(node):
            inner = child if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else function
            if isinstance(child, ast.Import):
                found.extend((a.name, function) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    parts = package.split(".")[: len(package.split(".")) - (child.level - 1)]
                    base = ".".join(parts + ([child.module] if child.module else []))
                found.extend((f"{base}.{a.name}" if not child.module else base, function) for a in child.names)
            visit(child, inner)

    visit(tree, None)
    return found


def test_ell_never_imports_the_command():
    for path in (ROOT / "ell").rglob("*.py"):
        for name, _ in _imports(path):
            assert not name.startswith("ell_git.cli"), f"{path.relative_to(ROOT)} imports {name}"


def test_only_web_and_demo_import_webui_inside_their_commands():
    for path in (ROOT / "ell_git").rglob("*.py"):
        for name, function in _imports(path):
            if name.split(".")[0] != "webui":
                continue
            where = path.relative_to(ROOT).as_posix()
            assert where in ("ell_git/cli/web.py", "ell_git/cli/demo.py"), f"{where} imports {name}"
            assert function is not None, f"{where} imports {name} at module level"


def test_the_command_loads_without_webui_or_flask():
    script = "import sys, ell_git.cli; assert not {'webui', 'flask'} & set(sys.modules), sorted(sys.modules)"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    help_text = subprocess.run([sys.executable, "-m", "ell_git.cli", "--help"], capture_output=True, text=True,
                               timeout=120)
    assert help_text.returncode == 0 and "web" in help_text.stdout and "demo" in help_text.stdout
