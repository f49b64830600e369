"""Objects deleted under the store (what a racing `git gc --prune=now` does), played deterministically:
the loose object files are removed by hand at chosen moments. The writer writes again what it still
holds without moving the ref; a ref whose history lacks objects is repaired onto its newest intact
commit, keeping what is readable; a fresh look sees what libgit2's cache hides. The real race, with
`git gc` in a loop in another process, is tests/reliability/test_maintenance.py."""

from __future__ import annotations

import os
import subprocess
import warnings
from pathlib import Path

import pygit2
from store_helpers import git, init_user_repo, make_inv, make_version

from ell_git import GitStore, heal
from ell_git import integrity as ig


def _unlink_object(repo: Path, oid: str) -> None:
    path = repo / ".git" / "objects" / oid[:2] / oid[2:]
    os.chmod(path, 0o644)
    path.unlink()


def _new_objects(repo: Path, tip: str, old: str | None) -> list[str]:
    """Objects reachable from `tip` and not from `old` (what one commit added)."""
    args = ["rev-list", "--objects", tip] + ([f"^{old}"] if old else [])
    return [line.split()[0] for line in git(repo, *args).splitlines()]


def _store(repo: Path) -> GitStore:
    return GitStore(repo, autocommit=False, writer_process=False)


def test_a_fresh_look_sees_what_the_cache_hides(tmp_path: Path) -> None:
    repo = init_user_repo(tmp_path / "p", dirty=False)
    r = pygit2.Repository(str(repo))
    blob = r.create_blob(b"hello\n")
    tb = r.TreeBuilder()
    tb.insert("a.txt", blob, pygit2.enums.FileMode.BLOB)
    tree = tb.write()
    sig = pygit2.Signature("t", "t@l", 1_700_000_000, 0)
    commit = r.create_commit(None, sig, sig, "m", tree, [])
    assert r[commit].tree_id == tree  # read once: now in libgit2's cache
    _unlink_object(repo, str(commit))
    assert commit in r  # the cache still answers "present"...
    h = ig.check_history(ig.fresh_odb(r), str(commit))
    assert not h.intact and [(m.kind, m.oid) for m in h.missing] == [("commit", str(commit))]  # ...a fresh look does not
    r2 = pygit2.Repository(str(repo))
    c2 = r2.create_commit(None, sig, sig, "n", tree, [])
    _unlink_object(repo, str(blob))
    h = ig.check_history(ig.fresh_odb(r2), str(c2))
    assert [(m.kind, m.oid, m.commit) for m in h.missing] == [("blob", str(blob), str(c2))] and h.newest_intact is None


def test_objects_pruned_after_the_ref_moved_are_written_again_in_place(tmp_path: Path) -> None:
    repo = init_user_repo(tmp_path / "p", dirty=False)
    v = make_version()
    store = _store(repo)
    store.record_version(v)
    store.record_invocation(make_inv(v, 0))
    assert store.flush(timeout=30)
    ref = store.inv_ref
    first = git(repo, "rev-parse", ref).strip()
    store.record_invocation(make_inv(v, 1))
    assert store.flush(timeout=30)  # acknowledged: checked whole right after the ref moved
    tip = git(repo, "rev-parse", ref).strip()
    added = _new_objects(repo, tip, first)
    for oid in added:  # a prune that listed the refs before this commit deletes it now
        _unlink_object(repo, oid)
    assert subprocess.run(["git", "fsck", "--no-dangling"], cwd=repo, capture_output=True).returncode != 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        store.close()  # the held commit is checked again and written again: same ids, same ref
    assert [str(w.message) for w in caught if "ell:" in str(w.message)] == []  # a race, repaired silently
    assert git(repo, "rev-parse", ref).strip() == tip
    assert all(pygit2.Repository(str(repo)).odb.exists(oid) for oid in added)
    git(repo, "fsck", "--strict", "--no-dangling")
    git(repo, "gc", "-q", "--prune=now")


def test_a_cut_version_history_keeps_every_readable_version(tmp_path: Path) -> None:
    repo = init_user_repo(tmp_path / "p", dirty=False)
    store = _store(repo)
    versions = [make_version(name="m.f", doc=f"Prompt {i}.") for i in range(4)]
    for v in versions:
        store.record_version(v)
        assert store.flush(timeout=30)
    store.close()
    chain = git(repo, "log", "--format=%H", "refs/ell/lmp/m.f").split()  # newest first
    _unlink_object(repo, chain[1])  # the third version's commit: the history is cut below the tip
    assert subprocess.run(["git", "gc", "-q"], cwd=repo, capture_output=True).returncode != 0  # git fails
    (repo / ".git" / "ell" / "intact").unlink(missing_ok=True)  # nothing to go by but the commits themselves
    repair = heal.heal(pygit2.Repository(str(repo)), "refs/ell/lmp/m.f")
    assert repair is not None and repair.base == chain[2] and repair.salvaged == 1 and repair.unknown
    kept = git(repo, "log", "--format=%(trailers:key=Ell-Version,valueonly)", "refs/ell/lmp/m.f").split()
    assert kept == [versions[3].version_id, versions[1].version_id, versions[0].version_id]
    # The next writer commits again what its journal holds: here a process that records the version anew.
    store = _store(repo)
    store.record_version(versions[2])
    assert store.flush(timeout=30)
    store.close()
    assert versions[2].version_id in git(repo, "log", "--format=%B", "refs/ell/lmp/m.f")
    git(repo, "fsck", "--strict", "--no-dangling")
    git(repo, "gc", "-q", "--prune=now")


def test_an_invocation_ref_lacking_a_segment_is_repaired_and_says_what_was_lost(tmp_path: Path) -> None:
    repo = init_user_repo(tmp_path / "p", dirty=False)
    v = make_version()
    store = _store(repo)
    store.record_version(v)
    for batch in range(3):
        for i in range(5):
            store.record_invocation(make_inv(v, batch * 10 + i))
        assert store.flush(timeout=30)
    store.close()  # clean: the journal is gone, nothing can give the segment back
    ref = store.inv_ref
    segments = [line.split() for line in git(repo, "ls-tree", "-r", ref).splitlines()]
    _unlink_object(repo, segments[0][2])  # an old object, under the checkpoint: only a full check sees it
    (repo / ".git" / "ell" / "intact-full-check").unlink()  # as if the last full check were long ago
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        store = _store(repo)  # its start-up check finds the damage and repairs it
        assert store.flush(timeout=30)
        store.close()
    msgs = [str(w.message) for w in caught if "ell:" in str(w.message)]
    assert len(msgs) == 1 and f"{ref} lacked 1 object(s) ({segments[0][2][:12]}" in msgs[0], msgs
    assert f"lost: 1 invocation segment(s) no journal held ({segments[0][3]})" in msgs[0], msgs
    left = [line.split()[3] for line in git(repo, "ls-tree", "-r", ref).splitlines()]
    assert left == [s[3] for s in segments[1:]]
    git(repo, "fsck", "--strict", "--no-dangling")


def test_each_new_problem_is_warned_and_a_recovery_makes_it_news_again(tmp_path: Path) -> None:
    repo = init_user_repo(tmp_path / "p", dirty=False)
    store = _store(repo)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        store._warn("commit", "commit failed (OSError: No space left on device, tmp_object_12ab); will retry")
        store._warn("commit", "commit failed (OSError: No space left on device, tmp_object_98ff); will retry")
        store._warn("commit", "commit failed (DamagedRef: refs/ell/inv/x points to 0123abc); will retry")
        store._warn("commit", "")  # the writer recovered
        store._warn("commit", "commit failed (OSError: No space left on device, tmp_object_77aa); will retry")
    store.close()
    said = [str(w.message) for w in caught]
    assert len(said) == 3 and "tmp_object_12ab" in said[0] and "DamagedRef" in said[1] and "77aa" in said[2], said
