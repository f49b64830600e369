"""Helpers for the privacy tests: a project with a bare remote, real programs run in their own
process against the local model server, the `ell` command, and every object of a repository."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
ELL = [sys.executable, "-c", "from ell_git.cli import main; main()"]


def git(path: Path | str, *args: str, check: bool = True, env: dict[str, str] | None = None,
        input: str | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(["git", "-C", str(path), *args], capture_output=True, text=True, input=input,
                          env={**os.environ, **(env or {})})
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


@dataclass
class Project:
    path: Path  # a git work tree, with `origin` pointing at `remote`
    remote: Path  # a bare repository
    env: dict[str, str]  # OPENAI_BASE_URL / OPENAI_API_KEY of the local model server

    def run(self, source: str, env: dict[str, str] | None = None, name: str = "app.py",
            check: bool = True) -> subprocess.CompletedProcess[str]:
        """Write `source` as the program `name` and run it in its own process, in the project."""
        (self.path / name).write_text(textwrap.dedent(source))
        proc = subprocess.run([sys.executable, name], cwd=self.path, capture_output=True, text=True, timeout=120,
                              env={**os.environ, **self.env, "PYTHONPATH": str(ROOT), **(env or {})})
        if check and proc.returncode != 0:
            raise AssertionError(f"{name} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return proc

    def ell(self, *args: str, check: bool = True, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([*ELL, *args], cwd=self.path, capture_output=True, text=True, timeout=120,
                              env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})
        if check and proc.returncode != 0:
            raise AssertionError(f"ell {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return proc


def make_project(tmp_path: Path, model_server: Any) -> Project:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    path = tmp_path / "proj"
    path.mkdir()
    git(path, "init", "-q")
    git(path, "remote", "add", "origin", str(remote))
    (path / "README").write_text("user work\n")
    git(path, "add", "README")
    git(path, "commit", "-q", "-m", "user work")
    return Project(path, remote, model_server.env())


def all_objects(repo: Path | str) -> bytes:
    """Every object of a repository (loose and packed, reachable or not), contents concatenated."""
    listing = git(repo, "cat-file", "--batch-all-objects", "--batch-check=%(objectname)").stdout
    proc = subprocess.run(["git", "-C", str(repo), "cat-file", "--batch"], input=listing.encode(),
                          capture_output=True, check=True)
    return proc.stdout


def found_in(repo: Path | str, *secrets: str) -> list[str]:
    """Which of `secrets` appear anywhere in the repository's objects."""
    data = all_objects(repo)
    return [s for s in secrets if s.encode() in data]


def user_state(path: Path) -> dict[str, Any]:
    """What ell must never touch: the user's refs (outside refs/ell and refs/notes/ell), HEAD,
    index and work tree files."""
    refs = {}
    for line in git(path, "for-each-ref", "--format=%(refname) %(objectname)").stdout.splitlines():
        name, oid = line.split(" ")
        if not name.startswith(("refs/ell/", "refs/notes/ell")):
            refs[name] = oid
    files = {p.relative_to(path).as_posix(): p.read_bytes() for p in path.rglob("*")
             if p.is_file() and ".git" not in p.parts}
    return {"refs": refs, "head": git(path, "symbolic-ref", "HEAD").stdout,
            "index": (path / ".git" / "index").read_bytes(), "files": files}
