"""pull/push/sync between two clones and a bare remote: unions, merges, idempotence, untouched user state."""

from __future__ import annotations

import json
import shutil

import pygit2
import pytest

from ell_git import merge
from ell_git.sync import SyncError, SyncReport, pull, push, sync

from synctools import World, add_note, git, invocations, out, refs, user_state, versions, write_invocations, write_version


def test_pull_new_fast_forward_same(world: World) -> None:
    v1 = write_version(world.a, "app.greet", "v1")
    assert push(world.a).pushed == {"refs/ell/lmp/app.greet": "new"}

    report = pull(world.b)
    assert report.lmp == {"refs/ell/lmp/app.greet": "new"}
    assert versions(world.b, "app.greet") == {v1}

    v2 = write_version(world.a, "app.greet", "v2")
    push(world.a)
    assert pull(world.b).lmp == {"refs/ell/lmp/app.greet": "fast-forward"}
    assert pull(world.b).lmp == {"refs/ell/lmp/app.greet": "same"}
    assert versions(world.b, "app.greet") == {v1, v2}

    write_version(world.b, "app.greet", "v3")  # b is now ahead of the remote
    assert pull(world.b).lmp == {"refs/ell/lmp/app.greet": "ahead"}


def test_concurrent_writes_end_in_exact_union(world: World) -> None:
    before = {c: user_state(c) for c in (world.a, world.b)}
    base = write_version(world.a, "m.shared", "base")
    sync(world.a)
    sync(world.b)
    # Both clones now write concurrently: the same LMP, their own LMPs, invocations and notes.
    a1 = write_version(world.a, "m.shared", "edited on a")
    b1 = write_version(world.b, "m.shared", "edited on b")
    a_only = write_version(world.a, "m.only_a", "a")
    b_only = write_version(world.b, "m.only_b", "b")
    write_invocations(world.a, "writer-a", a1, ['{"id":"inv-a1"}', '{"id":"inv-a2"}'])
    write_invocations(world.b, "writer-b", b1, ['{"id":"inv-b1"}'])

    ra = sync(world.a)
    assert ra.steps == ["pull", "push"]
    rb = sync(world.b)
    assert rb.lmp["refs/ell/lmp/m.shared"] == "merged"
    assert rb.lmp["refs/ell/lmp/m.only_a"] == "new"
    assert rb.inv_fetched == 1  # writer-a (b's own writer-b reaches the remote only in this sync's push)
    ra2 = sync(world.a)
    assert ra2.lmp["refs/ell/lmp/m.shared"] == "fast-forward"

    lmp_refs = refs(world.a, "refs/ell/lmp")
    assert lmp_refs == refs(world.b, "refs/ell/lmp") == refs(world.remote, "refs/ell/lmp")
    for clone in (world.a, world.b):
        assert versions(clone, "m.shared") == {base, a1, b1}
        assert versions(clone, "m.only_a") == {a_only}
        assert versions(clone, "m.only_b") == {b_only}
        assert invocations(clone) == {'{"id":"inv-a1"}', '{"id":"inv-a2"}', '{"id":"inv-b1"}'}
        assert user_state(clone) == before[clone]
    # Invocation refs are never merged: each clone keeps only its own writer locally.
    assert set(refs(world.a, "refs/ell/inv")) == {"refs/ell/inv/writer-a"}
    assert set(refs(world.b, "refs/ell/inv")) == {"refs/ell/inv/writer-b"}
    assert set(refs(world.remote, "refs/ell/inv")) == {"refs/ell/inv/writer-a", "refs/ell/inv/writer-b"}
    # The remote gets no tracking refs and no user branches other than what the user pushed.
    assert refs(world.remote, "refs/ell/remotes") == {}
    assert set(refs(world.remote, "refs/heads")) == {"refs/heads/main"}


def test_repeated_sync_is_a_noop(world: World) -> None:
    write_version(world.a, "m.f", "a")
    write_version(world.b, "m.f", "b")
    write_invocations(world.a, "wa", "lmp-x", ["1"])
    add_note(world.a, out(world.a, "rev-parse", "HEAD"), "score a")
    for _ in range(2):
        sync(world.a)
        sync(world.b)
    snapshot = {c: refs(c) for c in (world.a, world.b, world.remote)}
    objects = {c: out(c, "count-objects", "-v") for c in (world.a, world.b)}
    for clone in (world.a, world.b):
        report = sync(clone)
        assert report.summary == "origin: already in sync", report.summary
        assert set(report.lmp.values()) == {"same"} and report.pushed == {} and report.inv_fetched == 0
    assert {c: refs(c) for c in (world.a, world.b, world.remote)} == snapshot
    assert {c: out(c, "count-objects", "-v") for c in (world.a, world.b)} == objects


def test_diverged_merge_commit_shape(world: World) -> None:
    write_version(world.a, "m.f", "base", when=1_000)
    sync(world.a)
    sync(world.b)
    older = write_version(world.a, "m.f", "a edit", when=2_000)
    newer = write_version(world.b, "m.f", "b edit", when=3_000)
    sync(world.a)
    assert sync(world.b).lmp == {"refs/ell/lmp/m.f": "merged"}
    sync(world.a)

    repo = pygit2.Repository(str(world.b))
    merge = repo[repo.references["refs/ell/lmp/m.f"].target]
    assert len(merge.parents) == 2
    tips = {p.message.splitlines()[-1] for p in merge.parents}
    assert tips == {f"Ell-Version: {older}", f"Ell-Version: {newer}"}
    b_tip = merge.parents[0]
    assert b_tip.commit_time == 3_000 and merge.tree_id == b_tip.tree_id  # the newer side's tree
    assert merge.message == "Merge m.f versions from origin\n\nEll-Merge: origin\nEll-Lmp: m.f\n"
    assert out(world.a, "rev-parse", "refs/ell/lmp/m.f") == str(merge.id)


def test_same_merge_on_two_clones_is_the_same_commit(world: World) -> None:
    """Two clones merging the same pair concurrently produce byte-identical commits (no merge chains)."""
    write_version(world.a, "m.f", "base")
    sync(world.a)
    write_version(world.a, "m.f", "local")
    twin = world.root / "a-twin"
    shutil.copytree(world.a, twin)
    write_version(world.b, "m.f", "remote side")  # b syncs first: the remote moves
    sync(world.b)
    pull(world.a)
    pull(twin)
    assert out(world.a, "rev-parse", "refs/ell/lmp/m.f") == out(twin, "rev-parse", "refs/ell/lmp/m.f")


def test_push_alone_on_diverged_remote_says_run_sync(world: World) -> None:
    write_version(world.a, "m.f", "a")
    push(world.a)
    mine = write_version(world.b, "m.f", "b")
    local = refs(world.b, "refs/ell")
    with pytest.raises(SyncError, match=r"ell sync origin") as exc:
        push(world.b)
    assert "\n" not in str(exc.value) and exc.value.diverged and type(exc.value) is SyncError
    assert refs(world.b, "refs/ell") == local and versions(world.b, "m.f") == {mine}
    pull(world.b)
    assert push(world.b).pushed == {"refs/ell/lmp/m.f": "updated"}


def test_pull_then_push_either_order(world: World) -> None:
    va = write_version(world.a, "m.f", "a")
    vb = write_version(world.b, "m.g", "b")
    push(world.b)  # b pushes first, a pulls first
    pull(world.a)
    push(world.a)
    pull(world.b)
    assert versions(world.a, "m.f") == versions(world.b, "m.f") == {va}
    assert versions(world.a, "m.g") == versions(world.b, "m.g") == {vb}


def test_notes_merged_by_line_union(world: World) -> None:
    shared = out(world.a, "rev-parse", "HEAD")  # the user's commit exists in both clones
    add_note(world.a, shared, "score=1 by a")
    add_note(world.b, shared, "score=2 by b")
    add_note(world.b, shared, "score=1 by a")  # the same entry written on both sides stays once
    vb = write_version(world.b, "m.f", "b")
    add_note(world.b, out(world.b, "rev-parse", "refs/ell/lmp/m.f"), "feedback: good", ref="ell-feedback")
    sync(world.a)
    report = sync(world.b)
    assert report.notes == {"refs/notes/ell": "merged"}
    sync(world.a)
    for clone in (world.a, world.b):
        assert out(clone, "notes", "--ref=ell", "show", shared) == "score=1 by a\nscore=2 by b"
        assert out(clone, "notes", "--ref=ell-feedback", "show", f"refs/ell/lmp/m.f") == "feedback: good"
    assert out(world.a, "rev-parse", "refs/notes/ell") == out(world.b, "rev-parse", "refs/notes/ell")
    assert versions(world.a, "m.f") == {vb}


def test_notes_union_with_fanout(world: World) -> None:
    """Big notes trees are fanned out by git; the union reads any fan-out and git reads ours."""
    repo = pygit2.Repository(str(world.a))
    blobs = [str(repo.create_blob(f"object {i}".encode())) for i in range(300)]
    sig = pygit2.Signature("ell tests", "tests@localhost", 1_700_000_000, 0)
    for oid in blobs[1:]:  # in-process: 300 `git notes add` would take seconds
        repo.create_note(f"a {oid[:6]}\n", sig, sig, oid, "refs/notes/ell")
    git(world.a, "notes", "--ref=ell", "add", "-m", f"a {blobs[0][:6]}", blobs[0])  # git rewrites with fan-out
    assert len(out(world.a, "ls-tree", "refs/notes/ell").splitlines()) <= 256
    sync(world.a)
    add_note(world.b, blobs[5], "b too")
    git(world.b, "notes", "--ref=ell", "add", "-m", "b only", str(pygit2.Repository(str(world.b)).create_blob(b"x")))
    with pytest.raises(SyncError):
        push(world.b)
    sync(world.b)
    sync(world.a)
    assert out(world.a, "notes", "--ref=ell", "show", blobs[5]) == f"a {blobs[5][:6]}\nb too"
    assert len(out(world.a, "notes", "--ref=ell", "list").splitlines()) == 301


def test_fetch_never_recurses_into_a_peer_clones_tracking_refs(world: World) -> None:
    write_version(world.b, "m.f", "b")
    sync(world.b)
    sync(world.a)  # a now has refs/ell/remotes/origin/*
    git(world.b, "remote", "add", "peer", str(world.a))
    pull(world.b, "peer")
    tracking = set(refs(world.b, "refs/ell/remotes/peer"))
    assert tracking == {"refs/ell/remotes/peer/lmp/m.f"}


def test_unknown_remote_and_not_a_repo(world: World, tmp_path) -> None:
    with pytest.raises(SyncError, match=r"unknown remote 'nope' \(known: origin\): add it with `git remote add nope <url>`"):
        sync(world.a, "nope")
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(SyncError, match="not a git repository"):
        pull(plain)


def test_concurrent_local_writer_during_merge_is_kept(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """A local writer moving the ref between our read and our update: CAS fails, we redo on its tip."""
    write_version(world.a, "m.f", "a")
    push(world.a)
    write_version(world.b, "m.f", "b")
    real = merge.merge_commit
    raced: list[str] = []

    def racing(*args, **kwargs):
        if not raced:
            raced.append(write_version(world.b, "m.f", "written during the merge"))
        return real(*args, **kwargs)

    monkeypatch.setattr(merge, "merge_commit", racing)
    sync(world.b)
    assert raced[0] in versions(world.b, "m.f")
    assert len(versions(world.b, "m.f")) == 3
    sync(world.a)
    assert versions(world.a, "m.f") == versions(world.b, "m.f")


def test_report_json_and_summary(world: World) -> None:
    write_version(world.a, "m.f", "a")
    write_invocations(world.a, "wa", "lmp-1", ['{"id":"inv-x1","lmp_name":"m.f","version_id":"lmp-1"}'])
    sync(world.a)
    report = pull(world.b)
    data = json.loads(report.to_json())
    assert data["lmp"] == {"refs/ell/lmp/m.f": "new"}
    assert data["inv_fetched"] == 1 and data["remote"] == "origin" and data["steps"] == ["pull"]
    assert data["summary"] == report.summary == "origin: LMP refs: 1 new; 1 invocation ref fetched"
    assert SyncReport("origin").summary == "origin: already in sync"


def test_sync_with_nothing_anywhere(tmp_path) -> None:
    """An empty remote and a clone without ell refs: nothing to do is not an error."""
    git(tmp_path, "init", "-q", "--bare", "empty.git")
    git(tmp_path, "clone", "-q", str(tmp_path / "empty.git"), str(tmp_path / "c"))
    assert sync(tmp_path / "c").summary == "origin: already in sync"
    v = write_version(tmp_path / "c", "m.f", "first")
    assert sync(tmp_path / "c").pushed == {"refs/ell/lmp/m.f": "new"}
    assert versions(tmp_path / "empty.git", "m.f") == {v}


def test_eval_refs_are_merged_like_versions(world: World) -> None:
    def run(path, text: str) -> None:
        repo = pygit2.Repository(str(path))
        tb = repo.TreeBuilder()
        tb.insert("result.json", repo.create_blob(text.encode()), pygit2.GIT_FILEMODE_BLOB)
        tip = repo.references.get("refs/ell/eval/m.quality")
        sig = pygit2.Signature("t", "t@localhost", 1_700_000_000 + len(text), 0)
        commit = repo.create_commit(None, sig, sig, text, tb.write(), [tip.target] if tip else [])
        repo.references.create("refs/ell/eval/m.quality", commit, force=True)

    run(world.a, "run on a")
    run(world.b, "run on b, later")
    sync(world.a)
    assert sync(world.b).eval == {"refs/ell/eval/m.quality": "merged"}
    sync(world.a)
    tip = out(world.a, "rev-parse", "refs/ell/eval/m.quality")
    assert tip == out(world.b, "rev-parse", "refs/ell/eval/m.quality")
    assert out(world.a, "log", "-1", "--format=%B", tip).endswith("Ell-Merge: origin\nEll-Eval: m.quality")
    assert out(world.a, "rev-list", "--count", "--no-merges", tip) == "2"
