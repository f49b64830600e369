"""Fixtures for evaluations, feedback and export: a git store on the local model server, a shared
repository with evaluations (copied for tests that write), `ell web --feedback` in a subprocess, and
Debian's chromium through Playwright."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Iterator

import pytest

import ell
from browser_fixtures import LiveServer
from evaltools import build_repo, fake_model



@pytest.fixture(autouse=True)
def git_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    for kind in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{kind}_NAME", "ell tests")
        monkeypatch.setenv(f"GIT_{kind}_EMAIL", "tests@localhost")


@pytest.fixture
def fake(model_server: Any) -> Any:
    """The model server answering with `evaltools.fake_model`."""
    model_server.script(fake_model)
    return model_server


@pytest.fixture
def git_store(tmp_path: Path, fake: Any) -> Any:
    """ell on a fresh git repository at tmp_path/repo (autocommit off: messages from the diff)."""
    ell.init(store=str(tmp_path / "repo"), default_client=fake.client(max_retries=0, timeout=10), autocommit=False)
    return ell.get_store()


@pytest.fixture
def memory(fake: Any) -> ell.MemoryStore:
    store = ell.MemoryStore()
    ell.init(store=store, default_client=fake.client(max_retries=0, timeout=10))
    return store


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """(path, facts) of a repository with evaluations, built once (see evaltools.build_repo)."""
    base = tmp_path_factory.mktemp("evalrepo")
    return base / "repo", build_repo(base / "repo", base / "src")


@pytest.fixture
def eval_repo(built: tuple[Path, dict[str, Any]], tmp_path: Path) -> Path:
    """A private copy of the shared repository (tests here write feedback into it)."""
    dst = tmp_path / "repo"
    shutil.copytree(built[0], dst, symlinks=True)
    return dst


@pytest.fixture
def facts(built: tuple[Path, dict[str, Any]]) -> dict[str, Any]:
    return built[1]


@pytest.fixture
def feedback_server(eval_repo: Path) -> Iterator[LiveServer]:
    server = LiveServer(eval_repo, "--feedback")
    try:
        yield server
    finally:
        server.stop()
