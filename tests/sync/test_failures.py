"""Expected failures give one clear line and leave local data intact; the next sync recovers.
Also: sync through `git daemon` (git:// on 127.0.0.1) and a force-pushed remote."""

from __future__ import annotations

import pygit2
import pytest
from synctools import Daemon, World, git, invocations, make_world, out, refs, user_state, versions, write_invocations, write_version

from ell_git import gitcmd
from ell_git import sync as sync_mod
from ell_git.sync import SyncError, pull, sync


def _one_line(exc: pytest.ExceptionInfo[SyncError]) -> str:
    text = str(exc.value)
    assert "\n" not in text and "Traceback" not in text
    return text


def test_rejecting_remote(world: World) -> None:
    hook = world.remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'ell refs are not welcome here' >&2\nexit 1\n")
    hook.chmod(0o755)
    v = write_version(world.a, "m.f", "a")
    write_invocations(world.a, "wa", v, ["1"])
    local = refs(world.a, "refs/ell")
    with pytest.raises(SyncError) as exc:
        sync(world.a)
    text = _one_line(exc)
    assert "'origin' rejected the push of" in text and "pre-receive hook declined" in text
    assert "refs/ell/lmp/m.f" in text and "local data is unchanged" in text
    assert refs(world.a, "refs/ell") == local and versions(world.a, "m.f") == {v}
    assert refs(world.remote, "refs/ell") == {}
    hook.unlink()
    assert sync(world.a).pushed == {"refs/ell/lmp/m.f": "new", "refs/ell/inv/wa": "new"}


def test_remote_directory_disappears_then_comes_back(world: World) -> None:
    v1 = write_version(world.a, "m.f", "a")
    sync(world.a)
    v2 = write_version(world.b, "m.f", "b")
    moved = world.remote.with_name("moved.git")
    world.remote.rename(moved)
    before = refs(world.b, "refs/ell")
    with pytest.raises(SyncError) as exc:
        sync(world.b)
    text = _one_line(exc)
    assert text.startswith("git fetch from 'origin' failed:") and "git remote -v" in text
    assert refs(world.b, "refs/ell") == before and versions(world.b, "m.f") == {v2}
    moved.rename(world.remote)
    sync(world.b)
    sync(world.a)
    assert versions(world.a, "m.f") == versions(world.b, "m.f") == {v1, v2}


def test_remote_vanishes_between_pull_and_push(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    write_version(world.a, "m.f", "a")
    sync(world.a)
    vb = write_version(world.b, "m.f", "b")
    real_pull = sync_mod.pull_into
    moved = world.remote.with_name("moved.git")

    def pull_then_vanish(*args, **kwargs):
        real_pull(*args, **kwargs)
        world.remote.rename(moved)

    monkeypatch.setattr(sync_mod, "pull_into", pull_then_vanish)
    with pytest.raises(SyncError) as exc:
        sync(world.b)
    assert _one_line(exc).startswith("git push to 'origin' failed:")
    merged = versions(world.b, "m.f")
    assert vb in merged and len(merged) == 2  # the merge that happened before the failure is kept
    monkeypatch.undo()
    moved.rename(world.remote)
    assert sync(world.b).pushed == {"refs/ell/lmp/m.f": "updated"}


def test_force_pushed_remote_keeps_local_history(world: World) -> None:
    v1 = write_version(world.a, "m.f", "one")
    v2 = write_version(world.a, "m.f", "two")
    sync(world.a)
    sync(world.b)
    # Somebody rewrites the remote's history (a new root commit, force-updated on the bare repo).
    rogue = world.root / "rogue"
    git(world.root, "clone", "-q", str(world.remote), str(rogue))
    git(rogue, "fetch", "-q", "origin", "refs/ell/lmp/*:refs/ell/lmp/*")
    git(rogue, "update-ref", "-d", "refs/ell/lmp/m.f")
    v_rewritten = write_version(rogue, "m.f", "rewritten")
    git(rogue, "push", "-q", "--force", "origin", "refs/ell/lmp/m.f:refs/ell/lmp/m.f")
    assert versions(world.remote, "m.f") == {v_rewritten}

    report = sync(world.b)
    assert report.lmp == {"refs/ell/lmp/m.f": "merged"}
    assert versions(world.b, "m.f") == {v1, v2, v_rewritten}
    assert versions(world.remote, "m.f") == {v1, v2, v_rewritten}  # the push restored the union
    sync(world.a)
    assert versions(world.a, "m.f") == {v1, v2, v_rewritten}


def test_sync_through_git_daemon(tmp_path, daemon: Daemon) -> None:
    world = make_world(tmp_path, url=f"{daemon.url_base}/remote.git")
    before = {c: user_state(c) for c in (world.a, world.b)}
    va = write_version(world.a, "m.f", "a")
    vb = write_version(world.b, "m.f", "b")
    write_invocations(world.a, "wa", va, ["a1"])
    write_invocations(world.b, "wb", vb, ["b1"])
    sync(world.a)
    sync(world.b)
    sync(world.a)
    for clone in (world.a, world.b):
        assert versions(clone, "m.f") == {va, vb}
        assert invocations(clone) == {"a1", "b1"}
        assert user_state(clone) == before[clone]
    assert out(world.a, "rev-parse", "refs/ell/lmp/m.f") == out(world.b, "rev-parse", "refs/ell/lmp/m.f")

    # The server goes away: a clear error, nothing lost; it comes back: the next sync recovers.
    vc = write_version(world.a, "m.f", "c")
    daemon.stop()
    with pytest.raises(SyncError) as exc:
        sync(world.a)
    text = _one_line(exc)
    assert "git fetch from 'origin' failed" in text and "check the network" in text
    assert vc in versions(world.a, "m.f")
    daemon.start()
    sync(world.a)
    pull(world.b)
    assert versions(world.b, "m.f") == {va, vb, vc}


def test_daemon_killed_mid_sync(tmp_path, daemon: Daemon, monkeypatch: pytest.MonkeyPatch) -> None:
    world = make_world(tmp_path, url=f"{daemon.url_base}/remote.git")
    write_version(world.a, "m.f", "a")
    sync(world.a)
    vb = write_version(world.b, "m.f", "b")
    real_pull = sync_mod.pull_into

    def pull_then_kill(*args, **kwargs):
        real_pull(*args, **kwargs)
        daemon.stop()

    monkeypatch.setattr(sync_mod, "pull_into", pull_then_kill)
    with pytest.raises(SyncError) as exc:
        sync(world.b)
    assert "git push to 'origin' failed" in _one_line(exc)
    assert vb in versions(world.b, "m.f")
    monkeypatch.undo()
    daemon.start()
    sync(world.b)
    sync(world.a)
    assert versions(world.a, "m.f") == versions(world.b, "m.f")


def test_timeout_kills_git_and_says_so(world: World, tmp_path) -> None:
    """A remote that never answers (a listening socket that says nothing) times out with one line."""
    import socket

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        git(world.a, "remote", "add", "silent", f"git://127.0.0.1:{server.getsockname()[1]}/x.git")
        with pytest.raises(SyncError, match=r"timed out after 1s") as exc:
            pull(world.a, "silent", timeout=1)
        _one_line(exc)


def test_merge_commits_are_not_versions(world: World) -> None:
    write_version(world.a, "m.f", "a")
    sync(world.a)
    write_version(world.a, "m.f", "a2")
    write_version(world.b, "m.f", "b")
    sync(world.b)
    sync(world.a)
    repo = pygit2.Repository(str(world.a))
    commits = list(repo.walk(repo.references["refs/ell/lmp/m.f"].target))
    merges = [c for c in commits if len(c.parents) == 2]
    # b merged its new root with a's first version, then a merged its second version with that.
    assert len(merges) == 2 and not any("Ell-Version:" in m.message for m in merges)
    assert len(versions(world.a, "m.f")) == 3


def test_copied_repository_sharing_a_writer_id_is_explained(world: World) -> None:
    """Writer refs never diverge unless two clones share a writer id; say so instead of retrying."""
    write_invocations(world.a, "same-writer", "lmp-1", ["from a"])
    sync(world.a)
    write_invocations(world.b, "same-writer", "lmp-1", ["from b"])
    with pytest.raises(SyncError, match=r"refs/ell/inv/same-writer \(it has invocations this clone lacks") as exc:
        sync(world.b)
    _one_line(exc)
    assert "from b" in invocations(world.b)


@pytest.mark.parametrize(
    "stderr, expected",
    [
        ("fatal: could not read Username for 'https://example.com': terminal prompts disabled\n",
         "failed: could not read Username for 'https://example.com': terminal prompts disabled; set up credentials"),
        ("remote: Invalid username or password.\nfatal: Authentication failed for 'https://example.com/x.git/'\n",
         "failed: Authentication failed for 'https://example.com/x.git/'; set up credentials"),
        ("git@example.com: Permission denied (publickey).\nfatal: Could not read from remote repository.\n\n"
         "Please make sure you have the correct access rights\nand the repository exists.\n",
         "failed: git@example.com: Permission denied (publickey); set up credentials"),
        ("fatal: something new went wrong\n", "failed: something new went wrong; run the same command with plain"),
        ("", "failed: no output; run the same command"),
    ],
)
def test_error_lines_name_cause_and_fix(stderr: str, expected: str) -> None:
    text = gitcmd.explain(stderr, "fetch from", "origin")
    assert text.startswith("git fetch from 'origin' ") and expected in text and "\n" not in text
