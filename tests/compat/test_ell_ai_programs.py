"""Genuine ell-ai 0.0.17 programs (tests/compat/programs) run unchanged against our `ell`.

Each program is a standalone script in ell-ai's idiom that needs only an OpenAI-compatible endpoint
(OPENAI_BASE_URL / OPENAI_API_KEY, here the `ell.testing` server). Header comments drive the test:

    # expect: <fragment>     required: a fragment of the program's stdout
    # store: <path>          the program records into a store at <path> (relative to its cwd)
    # requires: mod1 mod2    importable modules it needs (skipped when missing)
    # ours-only: <why>       it fails under ell-ai 0.0.17 only because of an ell-ai bug

Every program except the `ours-only` ones also passes under ell-ai 0.0.17 itself; to check that
again, point ELL_AI_PYTHON at a Python that has ell-ai 0.0.17 installed (e.g. a virtualenv's
bin/python) and `test_programs_also_run_under_ell_ai` runs them there.

The programs run once per module, in parallel, each in a fresh directory: every other one inside a
fresh `git init` repository (the store then lives in that repository), the rest in a plain one.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pytest

from peer import MISSING, ell_ai_python, program_env

ROOT = Path(__file__).resolve().parents[2]
PROGRAMS_DIR = Path(__file__).resolve().parent / "programs"
TIMEOUT = 60


@dataclass(frozen=True)
class Program:
    path: Path
    expect: str
    store: Optional[str]
    requires: tuple[str, ...]
    ours_only: Optional[str]
    in_git_repo: bool

    @property
    def name(self) -> str:
        return self.path.stem

    def missing_modules(self) -> list[str]:
        return [m for m in self.requires if importlib.util.find_spec(m) is None]


def _header(text: str, key: str) -> Optional[str]:
    m = re.search(rf"^# {key}: (.+)$", text, re.M)
    return m.group(1).strip() if m else None


def _load_programs() -> list[Program]:
    programs = []
    for i, path in enumerate(sorted(PROGRAMS_DIR.glob("*.py"))):
        text = path.read_text(encoding="utf-8")
        expect = _header(text, "expect")
        assert expect, f"{path.name} has no '# expect: <fragment>' line"
        programs.append(
            Program(
                path=path,
                expect=expect,
                store=_header(text, "store"),
                requires=tuple((_header(text, "requires") or "").split()),
                ours_only=_header(text, "ours-only"),
                in_git_repo=i % 2 == 1,
            )
        )
    return programs


PROGRAMS = _load_programs()


def _git(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=30)


def _run(python: str, program: Program, workdir: Path, server_env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run `program` with `python` in a fresh directory (inside a fresh git repository or not)."""
    workdir.mkdir(parents=True)
    if program.in_git_repo:
        assert _git("init", "-q", cwd=workdir.parent).returncode == 0
    return subprocess.run([python, str(program.path)], cwd=workdir, env=program_env(python, server_env),
                          capture_output=True, text=True, timeout=TIMEOUT)


def _run_all(python: str, programs: list[Program], base: Path, server_env: dict[str, str]) -> dict[str, tuple]:
    def one(p: Program) -> tuple:
        workdir = base / p.name / "project"  # a fresh repository's root is base / p.name
        try:
            return p, _run(python, p, workdir, server_env), workdir
        except subprocess.TimeoutExpired as exc:
            return p, exc, workdir

    with ThreadPoolExecutor(max_workers=3) as pool:  # the machine is small: a few at a time
        return {p.name: (done, workdir) for p, done, workdir in pool.map(one, programs)}


def _describe(done: subprocess.CompletedProcess) -> str:
    return f"exit {done.returncode}\n--- stdout ---\n{done.stdout[-3000:]}\n--- stderr ---\n{done.stderr[-3000:]}"


@pytest.fixture(scope="module")
def runs(model_server_session, tmp_path_factory):
    """Every program, run once with our package against the session's model server."""
    model_server_session.reset()
    runnable = [p for p in PROGRAMS if not p.missing_modules()]
    return _run_all(sys.executable, runnable, tmp_path_factory.mktemp("compat"), model_server_session.env())


def _store_repository(workdir: Path, store: str) -> Path:
    """The git directory of the repository a program's store wrote to."""
    path = workdir / store
    while not path.exists():  # a store inside an enclosing repository need not create its directory
        path = path.parent
    done = _git("rev-parse", "--absolute-git-dir", cwd=path)
    assert done.returncode == 0, f"no git repository at or above {path}: {done.stderr}"
    return Path(done.stdout.strip())


def test_there_are_enough_programs():
    assert len(PROGRAMS) >= 12
    assert sum(p.store is not None for p in PROGRAMS) >= 3
    assert any(p.in_git_repo and p.store for p in PROGRAMS) and any(not p.in_git_repo and p.store for p in PROGRAMS)


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.name)
def test_program_runs_on_our_ell(program: Program, runs, model_server):
    missing = program.missing_modules()
    if missing:
        pytest.skip(f"needs {', '.join(missing)}")
    done, workdir = runs[program.name]
    assert not isinstance(done, subprocess.TimeoutExpired), f"{program.name} timed out after {TIMEOUT}s"
    assert done.returncode == 0, _describe(done)
    assert program.expect in done.stdout, f"expected {program.expect!r} in the output\n{_describe(done)}"
    assert "Traceback" not in done.stderr, _describe(done)

    if program.store is None:
        if program.in_git_repo:  # no store, nothing recorded in the enclosing repository
            assert _git("for-each-ref", "refs/ell/", cwd=workdir).stdout == ""
        return
    git_dir = _store_repository(workdir, program.store)
    refs = _git("for-each-ref", "--format=%(refname)", "refs/", cwd=git_dir).stdout.split()
    assert any(r.startswith("refs/ell/lmp/") for r in refs), f"no refs/ell/lmp/* in {git_dir}: {refs}"
    assert any(r.startswith("refs/ell/inv/") for r in refs), f"no invocations recorded in {git_dir}: {refs}"
    if program.in_git_repo:  # the user's own repository: the store keeps off its branches
        assert not [r for r in refs if r.startswith("refs/heads/")], refs
    fsck = _git("fsck", "--strict", "--no-progress", cwd=git_dir)
    assert fsck.returncode == 0 and "error" not in fsck.stderr.lower(), fsck.stdout + fsck.stderr


def test_programs_also_run_under_ell_ai(model_server, tmp_path):
    """The programs are genuine ell-ai programs: they pass under ell-ai 0.0.17 too (except ours-only)."""
    peer = ell_ai_python()
    if peer is None:
        pytest.skip(MISSING)
    programs = [p for p in PROGRAMS if p.ours_only is None and not p.missing_modules()]
    results = _run_all(peer, programs, tmp_path, model_server.env())
    failures = [
        f"{name}: {_describe(done)}"
        for name, (done, _) in results.items()
        if isinstance(done, subprocess.TimeoutExpired)
        or done.returncode != 0
        or next(p for p in programs if p.name == name).expect not in done.stdout
    ]
    assert not failures, "\n\n".join(failures)
