"""Fixtures for the privacy tests: git isolated from the user's config, and a project (a git
repository with a bare remote `origin`) that real programs record into. Helpers: privacy_tools.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from privacy_tools import Project, make_project


@pytest.fixture(autouse=True)
def isolated_git(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No user/system git config, a fixed identity, `main` as the default branch, no secrets in
    the environment but the ones a test puts there."""
    home = tmp_path_factory.mktemp("home")
    cfg = home / ".gitconfig"
    cfg.write_text("[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(cfg))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{var}_NAME", "ell tests")
        monkeypatch.setenv(f"GIT_{var}_EMAIL", "tests@localhost")
    for var in ("ELL_HOOK_ACTIVE", "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "ELL_ALLOW_SECRETS"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture(autouse=True)
def default_redaction():
    """Each test starts and ends with the default policy and no remembered secret values."""
    from ell.redaction import configure, current
    from ell.redaction.environment import KnownSecrets

    configure()
    current().known = KnownSecrets()
    yield
    configure()
    current().known = KnownSecrets()


@pytest.fixture
def project(tmp_path: Path, model_server) -> Project:  # type: ignore[no-untyped-def]
    return make_project(tmp_path, model_server)
