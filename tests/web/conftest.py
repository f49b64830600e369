"""Fixtures for the web UI: a real repository filled by running LMPs, the Flask app and test
client over it, and (for `@pytest.mark.browser` tests) `ell web` in a subprocess plus chromium.

The repository is built once per session (running LMPs is the slow part); tests that write to a
repository (live updates) work on a copy.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Iterator

import pytest

import web_repo
from browser_fixtures import LiveServer



@pytest.fixture(scope="session")
def built_repo(tmp_path_factory: pytest.TempPathFactory, model_server_session: Any) -> tuple[Path, dict[str, Any]]:
    """(path, facts) of a repository with several LMPs, versions, nested calls, a tool, an image."""
    base = tmp_path_factory.mktemp("webrepo")
    repo = base / "repo"
    repo.mkdir()
    facts = web_repo.build(repo, model_server_session, base / "src")
    facts["src"] = base / "src"
    return repo, facts


@pytest.fixture(scope="session")
def repo(built_repo: tuple[Path, dict[str, Any]]) -> Path:
    return built_repo[0]


@pytest.fixture(scope="session")
def facts(built_repo: tuple[Path, dict[str, Any]]) -> dict[str, Any]:
    return built_repo[1]


@pytest.fixture(scope="session")
def app(repo: Path) -> Any:
    from webui import create_app

    return create_app(repo, testing=True)


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def repo_copy(repo: Path, tmp_path: Path) -> Path:
    """A private copy of the built repository, for tests that write to it."""
    dst = tmp_path / "repo"
    shutil.copytree(repo, dst, symlinks=True)
    return dst


# -- a real server and a real browser: tests/browser_fixtures.py -------------------------------


@pytest.fixture
def live_server(repo_copy: Path) -> Iterator[LiveServer]:
    server = LiveServer(repo_copy)
    try:
        yield server
    finally:
        server.stop()
