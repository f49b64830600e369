"""Fixtures of the reliability suite, and the figures it reports at the end of the run.

Children are started from a fork server that has already imported ell_git (a fork costs ~30 ms
instead of ~600 ms for a fresh interpreter), which is what makes a hundred SIGKILLs affordable.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
for _p in (str(ROOT), str(HERE), str(ROOT / "tests" / "store")):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import relhelpers  # noqa: E402
from store_helpers import init_user_repo  # noqa: E402

LAST_RUN = HERE / "last_run.json"
_seconds = [0.0]  # time spent in this suite's tests (setup + call + teardown)


@pytest.fixture(autouse=True)
def git_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests make their own repositories: a fixed identity, never the user's config."""
    for var in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{var}_NAME", os.environ.get(f"GIT_{var}_NAME", "ell tests"))
        monkeypatch.setenv(f"GIT_{var}_EMAIL", os.environ.get(f"GIT_{var}_EMAIL", "tests@localhost"))


@pytest.fixture
def user_repo(tmp_path: Path) -> Path:
    return init_user_repo(tmp_path / "proj", dirty=False)


@pytest.fixture(scope="session")
def forkserver() -> Any:
    """A multiprocessing context whose children fork from a server with ell_git already imported."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["ell_git.store", "ell_git.sync", "relworkers"])
    return ctx


@pytest.fixture
def figures() -> Any:
    return relhelpers.FIGURES


@pytest.fixture
def root_mounts(tmp_path: Path) -> Iterator[Any]:
    """mount(8) helper for read-only and tiny file systems; skips when not root (CI runs as root)."""
    import subprocess

    if not relhelpers.is_root():
        pytest.skip("needs root to mount a read-only or tiny tmpfs (CI runs as root; root ignores chmod)")
    mounted: list[str] = []

    def mount(*args: str) -> None:
        res = subprocess.run(["mount", *args], capture_output=True, text=True)
        if res.returncode != 0:
            pytest.skip(f"mount {' '.join(args)} is not allowed here: {res.stderr.strip()}")
        target = args[-1]
        if target not in mounted:
            mounted.append(target)

    yield mount
    for target in reversed(mounted):
        subprocess.run(["umount", "-l", target], capture_output=True)


def pytest_runtest_logreport(report: Any) -> None:
    _seconds[0] += report.duration  # called for this directory's tests only


def pytest_terminal_summary(terminalreporter: Any) -> None:
    figures = dict(relhelpers.FIGURES)
    if not figures:
        return
    figures["suite_seconds"] = round(_seconds[0], 1)
    figures.setdefault("lost", 0)
    figures.setdefault("duplicated", 0)
    LAST_RUN.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    terminalreporter.write_sep("=", "reliability figures")
    terminalreporter.write_line(relhelpers.table(figures))
    terminalreporter.write_line(f"(written to {LAST_RUN.relative_to(ROOT)})")
