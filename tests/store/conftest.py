"""Fixtures for the git store tests: real repositories in tmp_path, records built directly."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = str(Path(__file__).resolve().parents[2])
# This checkout's ell_git (also when pytest is run without `python -m`), and store_helpers /
# store_workers; spawned children inherit sys.path.
for _p in (ROOT, os.path.dirname(__file__)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from store_helpers import git, init_user_repo  # noqa: E402

from ell_git import GitStore  # noqa: E402


@pytest.fixture
def user_repo(tmp_path: Path) -> Path:
    """A user's repository with a commit, a dirty tracked file, a staged change and an untracked file."""
    return init_user_repo(tmp_path / "proj", dirty=True)


@pytest.fixture
def clean_repo(tmp_path: Path) -> Path:
    return init_user_repo(tmp_path / "clean", dirty=False)


@pytest.fixture
def store(user_repo: Path):
    s = GitStore(user_repo, autocommit=False, flush_interval=0.05)
    yield s
    s.close()


@pytest.fixture
def git_in():
    return git
