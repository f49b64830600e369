"""Repositories of every shape git makes: a `.git` file (separate git dir, worktrees) and SHA-256."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from store_helpers import git, make_version, python_env

from ell_git import GitStore, Reader


def _committed_tree(work: Path) -> str:
    (work / "app.py").write_text("print('hi')\n")
    git(work, "add", "app.py")
    git(work, "commit", "-qm", "init")
    return git(work, "rev-parse", "HEAD").strip()


def _record_one_version(path: Path) -> None:
    store = GitStore(path, autocommit=False, flush_interval=0.05)
    try:
        store.record_version(make_version())
        assert store.flush(timeout=30)
    finally:
        store.close()


@pytest.mark.parametrize("shape", ["separate git dir", "linked worktree"])
def test_a_dot_git_file_leads_to_the_right_work_tree(tmp_path, shape):
    if shape == "separate git dir":
        work = tmp_path / "work"
        git(tmp_path, "init", "-q", f"--separate-git-dir={tmp_path / 'elsewhere.git'}", str(work))
        head = _committed_tree(work)
    else:
        main = tmp_path / "main"
        git(tmp_path, "init", "-q", str(main))
        _committed_tree(main)
        work = tmp_path / "linked"
        git(main, "worktree", "add", "-q", str(work))
        head = git(work, "rev-parse", "HEAD").strip()
    assert (work / ".git").is_file()

    store = GitStore(work / "sub" / "not-yet", autocommit=False)
    try:
        assert Path(store.path).resolve() == work.resolve()
    finally:
        store.close()
    _record_one_version(work)
    [version] = Reader(work).versions("mod.hello")
    assert version.code_commit == head and not version.dirty  # a clean tree is not "(dirty)"
    assert git(work, "status", "--porcelain") == ""  # the work tree and index are left alone

    (work / "app.py").write_text("print('edited')\n")
    _record_one_version_changed(work)
    assert Reader(work).versions("mod.hello")[-1].dirty


def _record_one_version_changed(path: Path) -> None:
    store = GitStore(path, autocommit=False, flush_interval=0.05)
    try:
        store.record_version(make_version(doc="You are terse."))
        assert store.flush(timeout=30)
    finally:
        store.close()


@pytest.fixture
def sha256_repo(tmp_path) -> Path:
    repo = tmp_path / "sha"
    git(tmp_path, "init", "-q", "--object-format=sha256", str(repo))
    return repo


def test_sha256_repository_gives_one_warning_and_calls_still_run(sha256_repo, model_server):
    program = f"""
import warnings, ell, openai
client = openai.OpenAI(base_url={model_server.base_url!r}, api_key="k", max_retries=0)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    ell.init(store={str(sha256_repo)!r}, default_client=client)

@ell.simple(model="m")
def hi(name: str):
    return f"hi {{name}}"

print(hi("sha"))
print(len(caught), [str(w.message) for w in caught])
"""
    out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60,
                         env=python_env(), cwd=sha256_repo)
    assert out.returncode == 0, out.stderr
    reply, warned = out.stdout.splitlines()
    assert reply == "Echo: hi sha"
    assert warned.startswith("1 [") and "object format" in warned and "SHA-1" in warned
    assert "Traceback" not in out.stderr


def test_sha256_repository_is_one_clear_line_in_the_cli(sha256_repo):
    out = subprocess.run([sys.executable, "-m", "ell_git.cli", "log"], capture_output=True, text=True, timeout=60,
                         env=python_env(), cwd=sha256_repo)
    assert out.returncode == 1
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert "object format" in out.stderr and "SHA-1" in out.stderr


def test_sha256_repository_store_refuses_with_a_typed_error(sha256_repo):
    from ell_git.errors import UnsupportedRepository

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(UnsupportedRepository, match="object format"):
            GitStore(sha256_repo)
