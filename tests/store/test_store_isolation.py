"""Tracking never touches the user's work tree, index, HEAD, branches or config (beyond ell.*)."""

from __future__ import annotations

from pathlib import Path

from store_helpers import git, make_inv, make_version

from ell_git import GitStore


def _snapshot(repo: Path) -> dict[str, object]:
    gitdir = repo / ".git"
    return {
        "status": git(repo, "status", "--porcelain=v1", "-uall"),
        "head": (gitdir / "HEAD").read_bytes(),
        "branches": git(repo, "for-each-ref", "refs/heads", "refs/tags", "refs/remotes"),
        "index": (gitdir / "index").read_bytes(),
        "files": sorted((p.relative_to(repo).as_posix(), p.read_bytes()) for p in repo.rglob("*")
                        if p.is_file() and ".git" not in p.relative_to(repo).parts),
        "config": [ln for ln in git(repo, "config", "--local", "--list").splitlines() if not ln.startswith("ell.")],
        "stash": git(repo, "stash", "list"),
    }


def test_tracking_leaves_dirty_work_tree_index_head_and_branches_alone(user_repo):
    before = _snapshot(user_repo)
    assert "M  notes.txt" in before["status"] and " M app.py" in before["status"]  # staged + unstaged
    s = GitStore(user_repo, autocommit=False, flush_interval=0.01)
    v1, v2 = make_version(), make_version(doc="Changed.")
    s.record_version(v1)
    for i in range(50):
        s.record_invocation(make_inv(v1, i))
    s.record_version(v2)
    s.close()
    after = _snapshot(user_repo)
    assert after == before
    refs = git(user_repo, "for-each-ref", "--format=%(refname)").split()
    assert all(r.startswith(("refs/heads/", "refs/ell/")) for r in refs)
    assert git(user_repo, "config", "--get", "ell.writerid").strip()


def test_store_inside_subdirectory_uses_enclosing_repository(user_repo):
    sub = user_repo / "prompts" / "deep"
    s = GitStore(sub, autocommit=False)
    assert Path(s.git_dir).resolve() == (user_repo / ".git").resolve()
    s.record_version(make_version())
    s.close()
    assert not sub.exists()  # nothing created in the work tree
    assert git(user_repo, "rev-parse", "--verify", "-q", "refs/ell/lmp/mod.hello").strip()
