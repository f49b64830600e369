"""Hooks: install/uninstall round trip, hook-driven push and fetch, never blocking the user's command,
and the push-refspec investigation that decided we add no `remote.<name>.push`."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from synctools import World, git, out, refs, user_state, versions, write_version

from ell_git.hooks import BEGIN, HOOK_NAMES, install_hooks, main, render_hook, run_hook, uninstall_hooks
from ell_git.sync import fetch_refspecs

HOOKS_DIR = Path(__file__).resolve().parents[2] / "hooks"

USER_PRE_PUSH = b"""#!/bin/bash
# my team's pre-push: log what is pushed, then hand over to a hook manager
cat > "$(git rev-parse --git-dir)/pushed-refs.txt"
exec true
"""
USER_POST_MERGE_PY = b"#!/usr/bin/env python3\nprint('python hook')\n"


def _hooks(path: Path) -> dict[str, tuple[bytes, int]]:
    d = path / ".git" / "hooks"
    return {p.name: (p.read_bytes(), stat.S_IMODE(p.stat().st_mode)) for p in d.iterdir() if not p.name.endswith(".sample")}


def _config(path: Path) -> list[str]:
    return out(path, "config", "--local", "--list").splitlines()


def test_reference_scripts_match_what_install_writes() -> None:
    for name in HOOK_NAMES:
        path = HOOKS_DIR / name
        assert path.read_text() == "#!/bin/sh\n" + render_hook(name), f"regenerate hooks/{name}"
        assert os.access(path, os.X_OK)
        assert subprocess.run(["sh", "-n", str(path)]).returncode == 0


def test_install_uninstall_round_trip_keeps_user_hooks_byte_identical(world: World) -> None:
    hooks = world.a / ".git" / "hooks"
    (hooks / "pre-push").write_bytes(USER_PRE_PUSH)
    (hooks / "pre-push").chmod(0o750)
    (hooks / "post-merge").write_bytes(USER_POST_MERGE_PY)
    (hooks / "post-merge").chmod(0o755)
    mine = fetch_refspecs("origin")[0]
    git(world.a, "config", "--add", "remote.origin.fetch", mine)  # the user already had one of ours
    hooks_before, config_before = _hooks(world.a), _config(world.a)

    done = install_hooks(world.a)
    assert any("added the ell-git block to your existing" in d and d.endswith("pre-push") for d in done)
    assert any(d.startswith("skipped") and "post-merge" in d for d in done)
    assert any(d.startswith("created") and d.endswith("post-checkout") for d in done)
    pre_push = (hooks / "pre-push").read_bytes()
    assert pre_push.startswith(b"#!/bin/bash\n" + BEGIN.encode()) and pre_push.endswith(USER_PRE_PUSH[12:])
    assert (hooks / "post-merge").read_bytes() == USER_POST_MERGE_PY
    fetch = out(world.a, "config", "--get-all", "remote.origin.fetch").splitlines()
    assert fetch.count(mine) == 1 and set(fetch_refspecs("origin")) <= set(fetch)
    assert git(world.a, "config", "--get-all", "remote.origin.push", check=False).returncode == 1  # none added

    installed = _hooks(world.a), _config(world.a)
    assert [d for d in install_hooks(world.a) if not d.startswith("skipped")] == []  # idempotent
    assert (_hooks(world.a), _config(world.a)) == installed

    undone = uninstall_hooks(world.a)
    assert any(d.startswith("deleted") for d in undone)
    assert _hooks(world.a) == hooks_before
    assert _config(world.a) == config_before
    assert not (world.a / ".git" / "ell" / "hooks.json").exists()
    assert uninstall_hooks(world.a) == []


def test_uninstall_keeps_lines_the_user_added_to_a_created_hook(world: World) -> None:
    install_hooks(world.a)
    path = world.a / ".git" / "hooks" / "post-merge"
    path.write_text(path.read_text() + "echo mine\n")
    uninstall_hooks(world.a)
    assert path.read_text() == "#!/bin/sh\necho mine\n"


def test_shebang_only_hook_without_newline_round_trips(world: World) -> None:
    path = world.a / ".git" / "hooks" / "post-checkout"
    path.write_bytes(b"#!/bin/sh")
    path.chmod(0o755)
    install_hooks(world.a)
    assert BEGIN in path.read_text() and subprocess.run(["sh", "-n", str(path)]).returncode == 0
    uninstall_hooks(world.a)
    assert path.read_bytes() == b"#!/bin/sh"


def test_uninstall_without_state_file_uses_markers(world: World) -> None:
    (world.a / ".git" / "hooks" / "pre-push").write_bytes(USER_PRE_PUSH)
    config_before = _config(world.a)
    install_hooks(world.a)
    (world.a / ".git" / "ell" / "hooks.json").unlink()
    uninstall_hooks(world.a)
    assert (world.a / ".git" / "hooks" / "pre-push").read_bytes() == USER_PRE_PUSH
    assert not (world.a / ".git" / "hooks" / "post-merge").exists()
    assert _config(world.a) == config_before


def test_push_carries_ell_refs_and_user_hook_still_sees_stdin(world: World) -> None:
    (world.a / ".git" / "hooks" / "pre-push").write_bytes(USER_PRE_PUSH)
    (world.a / ".git" / "hooks" / "pre-push").chmod(0o755)
    install_hooks(world.a)
    v = write_version(world.a, "m.f", "a")
    git(world.a, "commit", "-q", "-m", "user work")  # commits the staged file only
    before = user_state(world.a)
    proc = git(world.a, "push", "origin", "main")
    assert refs(world.remote, "refs/heads/main") == refs(world.a, "refs/heads/main")
    assert versions(world.remote, "m.f") == {v}
    assert "ell-git: origin:" in proc.stderr and "1 ref pushed" in proc.stderr
    logged = (world.a / ".git" / "pushed-refs.txt").read_text()
    assert logged.startswith("refs/heads/main ")  # git's stdin reached the user's part of the hook
    assert refs(world.remote, "refs/ell/remotes") == {}
    after = user_state(world.a)
    assert after["refs"] == before["refs"] | {"refs/remotes/origin/main": after["refs"]["refs/heads/main"]}
    assert after["index"] == before["index"] and after["files"] == before["files"]


def test_plain_git_push_still_pushes_the_branch(world: World) -> None:
    """The decision: no push refspecs, so `git push` with no arguments keeps pushing the current branch."""
    install_hooks(world.a)
    write_version(world.a, "m.f", "a")
    git(world.a, "commit", "-q", "-m", "user work")
    git(world.a, "push")
    assert refs(world.remote, "refs/heads/main") == refs(world.a, "refs/heads/main")
    assert "refs/ell/lmp/m.f" in refs(world.remote, "refs/ell")


def test_investigation_any_push_refspec_stops_plain_git_push_pushing_the_branch(world: World) -> None:
    """Why we add none: with a `remote.origin.push` refspec, `git push` pushes only that (quietly)."""
    git(world.a, "config", "--add", "remote.origin.push", "refs/ell/lmp/*:refs/ell/lmp/*")
    git(world.a, "commit", "-q", "-m", "user work")
    proc = git(world.a, "push")
    assert proc.returncode == 0 and "Everything up-to-date" in proc.stderr
    assert refs(world.remote, "refs/heads/main") != refs(world.a, "refs/heads/main")  # branch NOT pushed
    # Adding `HEAD` as well pushes to a same-named branch, ignoring the configured upstream.
    git(world.a, "checkout", "-q", "-b", "topic", "--track", "origin/main")
    git(world.a, "config", "--add", "remote.origin.push", "HEAD")
    git(world.a, "push")
    assert "refs/heads/topic" in refs(world.remote, "refs/heads")


def test_pre_push_never_blocks_the_users_push(world: World) -> None:
    hook = world.remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\nwhile read old new ref; do case $ref in refs/ell/*) exit 1;; esac; done\n")
    hook.chmod(0o755)
    install_hooks(world.a)
    write_version(world.a, "m.f", "a")
    git(world.a, "commit", "-q", "-m", "user work")
    proc = git(world.a, "push", "origin", "main")  # succeeds although the ell push is refused
    assert refs(world.remote, "refs/heads/main") == refs(world.a, "refs/heads/main")
    assert "ell-git: pre-push hook could not share refs/ell:" in proc.stderr
    assert "your git command is unaffected" in proc.stderr
    assert refs(world.remote, "refs/ell") == {}


def test_pre_push_merges_a_diverged_remote_first(world: World) -> None:
    install_hooks(world.b)
    va = write_version(world.a, "m.f", "a")
    git(world.a, "push", "-q", "origin", "refs/ell/lmp/*:refs/ell/lmp/*")
    vb = write_version(world.b, "m.f", "b")
    git(world.b, "commit", "-q", "-m", "user work")
    git(world.b, "push", "origin", "main")
    assert versions(world.remote, "m.f") == {va, vb}


def test_post_merge_fetches_and_merges(world: World) -> None:
    install_hooks(world.b)
    v = write_version(world.a, "m.f", "a")
    git(world.a, "commit", "-q", "-m", "user work")
    git(world.a, "push", "-q", "origin", "main", "refs/ell/lmp/*:refs/ell/lmp/*")
    git(world.b, "stash", "-q")  # `git pull` needs a clean tree for this merge
    proc = git(world.b, "pull", "-q", "origin", "main")
    assert versions(world.b, "m.f") == {v}
    assert "ell-git: origin: LMP refs: 1 new" in proc.stderr


def test_post_checkout_merges_what_plain_git_fetch_brought_without_network(world: World, tmp_path: Path) -> None:
    calls = tmp_path / "python-calls"
    logging_python = tmp_path / "python"  # records each start, so we can see when Python is skipped
    logging_python.write_text(f'#!/bin/sh\necho "$*" >> "{calls}"\nexec "{sys.executable}" "$@"\n')
    logging_python.chmod(0o755)
    install_hooks(world.b, python=str(logging_python))
    git(world.b, "switch", "-q", "-c", "before-any-fetch")
    assert not calls.exists()  # nothing fetched yet: the shell guard does not even start Python
    v = write_version(world.a, "m.f", "a")
    git(world.a, "push", "-q", "origin", "refs/ell/lmp/*:refs/ell/lmp/*")
    git(world.b, "fetch", "-q")  # configured refspecs bring refs/ell/remotes/origin/*
    assert "refs/ell/remotes/origin/lmp/m.f" in refs(world.b, "refs/ell/remotes")
    assert versions(world.b, "m.f") == set()
    world.remote.rename(world.remote.with_name("gone.git"))  # a branch switch must not need the network
    proc = git(world.b, "switch", "-q", "-c", "topic")
    assert versions(world.b, "m.f") == {v}
    assert "could not" not in proc.stderr
    assert len(calls.read_text().splitlines()) == 1
    git(world.b, "switch", "-q", "main")
    git(world.b, "switch", "-q", "topic")
    assert len(calls.read_text().splitlines()) == 1  # tracking refs unchanged since the merge: no Python


def test_hooks_honour_core_hooks_path(world: World) -> None:
    git(world.a, "config", "core.hooksPath", ".githooks")
    done = install_hooks(world.a)
    assert any(str(world.a / ".githooks" / "pre-push") in d for d in done)
    assert not (world.a / ".git" / "hooks" / "pre-push").exists()
    write_version(world.a, "m.f", "a")
    git(world.a, "commit", "-q", "-m", "user work")
    git(world.a, "push", "-q", "origin", "main")
    assert "refs/ell/lmp/m.f" in refs(world.remote, "refs/ell")
    uninstall_hooks(world.a)
    assert not (world.a / ".githooks").exists()  # install created the directory, uninstall removed it


def test_binary_hook_is_left_alone(world: World) -> None:
    path = world.a / ".git" / "hooks" / "pre-push"
    binary = b"\x7fELF\x02\x01\x01\x00\xff\xfe not a script"
    path.write_bytes(binary)
    done = install_hooks(world.a)
    assert any(d.startswith("skipped") and d.split(":")[0].endswith("pre-push") for d in done)
    uninstall_hooks(world.a)
    assert path.read_bytes() == binary


def test_hook_in_a_repo_that_never_installed_does_nothing(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    """A shared core.hooksPath runs our hook everywhere: it acts only where `ell hooks install` ran."""
    write_version(world.a, "m.f", "a")
    assert run_hook("pre-push", ["origin", str(world.remote)], world.a) == 0
    assert refs(world.remote, "refs/ell") == {}
    assert capsys.readouterr().err == ""


def test_recursion_guard(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    install_hooks(world.a)
    write_version(world.a, "m.f", "a")
    monkeypatch.setenv("ELL_HOOK_ACTIVE", "1")
    assert run_hook("pre-push", ["origin", str(world.remote)], world.a) == 0
    assert refs(world.remote, "refs/ell") == {}


def test_hook_falls_back_to_ell_on_path(world: World, tmp_path: Path) -> None:
    install_hooks(world.a, python=str(tmp_path / "no-such-python"))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "ell").write_text(f'#!/bin/sh\necho "ell $*" >> "{tmp_path}/calls"\n')
    (bin_dir / "ell").chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run(["git", "-C", str(world.a), "push", "-q", "origin", "main"], env=env, check=True)
    assert (tmp_path / "calls").read_text() == f"ell hooks run pre-push origin {world.remote}\n"


def test_main_entry_point(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["install", str(world.a)]) == 0
    assert "created" in capsys.readouterr().out
    assert main(["uninstall", str(world.a)]) == 0
    assert main(["bogus"]) == 2
    assert main(["install", str(world.root / "nowhere")]) == 1
    assert "not a git repository" in capsys.readouterr().err
