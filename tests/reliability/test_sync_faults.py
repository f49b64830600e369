"""Sync trouble that tests/sync/test_failures.py does not cover: the connection dies in the middle
of a pack, this clone forgot old invocations (its own ref was rewritten, so the remote's copy looks
force-pushed), and sync processes SIGKILLed at random moments. Each time: local data intact, one
clear line, and the next sync recovers.
"""

from __future__ import annotations

import os
import random
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pygit2
import pytest
import relworkers
from relhelpers import InvocationIndex, check_refs_resolve, fsck, git, lmp_version_ids
from store_helpers import init_user_repo, make_inv, make_version

from ell_git import GitStore, Reader
from ell_git.gc import gc
from ell_git.sync import SyncError, sync

pytestmark = pytest.mark.slow


def _clones(tmp_path: Path) -> tuple[Path, Path, Path]:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    a, b = init_user_repo(tmp_path / "a", dirty=False), init_user_repo(tmp_path / "b", dirty=False)
    for clone in (a, b):
        git(clone, "remote", "add", "origin", str(remote))
    return remote, a, b


def _record(path: Path, tag: str, versions: int = 3, per_version: int = 40, noise: int = 0) -> set[str]:
    store = GitStore(path, autocommit=False)
    ids = set()
    for k in range(versions):
        v = make_version(name=f"sync.lmp{k}", doc=f"{tag} {k} " + os.urandom(noise).hex())
        store.record_version(v)
        for i in range(per_version):
            inv = make_inv(v, i, tag=f"{tag}{k}", args={"n": os.urandom(noise).hex()})
            store.record_invocation(inv)
            ids.add(inv.id)
    assert store.flush(timeout=60)
    store.close()
    return ids


def _one_line(exc: pytest.ExceptionInfo[SyncError]) -> str:
    text = str(exc.value)
    assert "\n" not in text and "Traceback" not in text
    return text


# An upload-pack that sends the first 20 kB of the pack, then the connection is gone.
CUT_UPLOAD_PACK = '''import os, subprocess, sys
p = subprocess.Popen(["git", "upload-pack", *sys.argv[1:]], stdout=subprocess.PIPE)
seen, budget = b"", None
while True:
    chunk = os.read(p.stdout.fileno(), 4096)
    if not chunk:
        break
    if budget is None and (seen[-3:] + chunk).find(b"PACK") != -1:
        budget = 20000 + (seen[-3:] + chunk).find(b"PACK")
    if budget is not None:
        if len(chunk) >= budget:
            os.write(1, chunk[:budget])
            p.kill()
            os._exit(1)
        budget -= len(chunk)
    os.write(1, chunk)
    seen = chunk
'''


def test_connection_dies_in_the_middle_of_a_pack(tmp_path: Path, figures: Any) -> None:
    remote, a, b = _clones(tmp_path)
    ids = _record(a, "a", versions=4, per_version=60, noise=400)  # a pack of a few hundred kB
    sync(a)
    mine = _record(b, "b", versions=1, per_version=5)
    cut = tmp_path / "cut_upload_pack"
    cut.write_text(f"#!{sys.executable}\n" + CUT_UPLOAD_PACK)
    cut.chmod(0o755)
    git(b, "config", "remote.origin.uploadpack", str(cut))
    before = git(b, "for-each-ref")
    with pytest.raises(SyncError) as exc:
        sync(b)
    text = _one_line(exc)
    assert text.startswith("git fetch from 'origin' failed:") and "check the network" in text, text
    assert git(b, "for-each-ref") == before  # no ref moved, fetched or local
    fsck(b)
    git(b, "config", "--unset", "remote.origin.uploadpack")
    sync(b)
    sync(a)
    for clone in (a, b):
        with Reader(clone) as reader:
            assert reader.invocations().total == len(ids | mine)
        fsck(clone)
    figures["sync_faults"] += 1


def test_forgetting_old_invocations_then_syncing(tmp_path: Path, figures: Any) -> None:
    """`ell gc --forget-invocations-before` gives this clone's writer ref a new root; the remote's
    copy then looks force-pushed. Sync must say so (not "copied repository"), with the safe fix."""
    remote, a, b = _clones(tmp_path)
    old = _record(a, "old")
    sync(a)
    sync(b)
    import datetime as dt

    assert gc(a, forget_before=dt.date.today() + dt.timedelta(days=1)).forgotten == len(old)
    new = _record(a, "new", versions=1, per_version=5)
    local = git(a, "for-each-ref", "refs/ell/lmp", "refs/ell/inv")
    with pytest.raises(SyncError) as exc:
        sync(a)
    text = _one_line(exc)
    assert "forgot old invocations" in text and "copied" not in text and "--force-with-lease=" in text, text
    assert git(a, "for-each-ref", "refs/ell/lmp", "refs/ell/inv") == local
    # The command it prints forgets them on the remote too; then sync works again, everywhere.
    command = text.split("run `", 1)[1].split("`", 1)[0].split()
    assert command[:2] == ["git", "push"]
    git(a, *command[1:])
    sync(a)
    sync(b)  # b's fetched copy of a's ref follows the rewrite; b's own data is untouched
    index = InvocationIndex(remote)
    index.refresh()
    assert index.ids == new
    with Reader(b) as reader:
        assert reader.invocations().total == len(new)
    assert lmp_version_ids(pygit2.Repository(str(b))) == lmp_version_ids(pygit2.Repository(str(a)))
    figures["sync_faults"] += 1


def _settled(*repos: Path, timeout: float = 20.0) -> None:
    """Wait until no lock file is left in `repos` (a killed sync's git children finish on their own)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(p.endswith(".lock") for r in repos for _, _, files in os.walk(r) for p in files):
            return
        time.sleep(0.05)
    raise AssertionError("lock files stay after the sync processes died")


def test_sync_processes_killed_at_random_moments(tmp_path: Path, forkserver: Any, figures: Any) -> None:
    remote, a, b = _clones(tmp_path)
    rng = random.Random(int(os.environ.get("ELL_RELIABILITY_SEED", "8")))
    ids: set[str] = set()
    kills = 0
    for rnd in range(12):
        ids |= _record(a, f"r{rnd}-", versions=2, per_version=20)
        if rnd % 3 == 0:
            _record(b, f"b{rnd}-", versions=1, per_version=2)
            sync(b)
        progress = tmp_path / f"sync-{rnd}.progress"
        progress.touch()
        proc = forkserver.Process(target=relworkers.sync_forever, args=(str(a), str(progress)))
        proc.start()
        deadline = time.monotonic() + 60
        while "started" not in progress.read_text():
            assert time.monotonic() < deadline and proc.is_alive()
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 0.4))
        os.kill(proc.pid, signal.SIGKILL)  # only the child this test started
        proc.join(10)
        assert proc.exitcode == -signal.SIGKILL
        kills += 1
        _settled(a, remote)
        for repo in (a, remote):
            check_refs_resolve(pygit2.Repository(str(repo)))
        index = InvocationIndex(a)
        index.refresh()
        assert ids <= index.ids and not index.duplicates()  # a killed sync never costs local data
    sync(a)
    sync(b)
    sync(a)
    for repo in (a, b, remote):
        fsck(repo)
    index = InvocationIndex(remote)
    index.refresh()
    assert ids <= index.ids and not index.duplicates()
    vids_a = lmp_version_ids(pygit2.Repository(str(a)))
    assert {r: set(v) for r, v in lmp_version_ids(pygit2.Repository(str(remote))).items()} == \
        {r: set(v) for r, v in vids_a.items()}
    assert all(len(v) == len(set(v)) for v in vids_a.values())
    figures["sync_faults"] += 1
    figures["sync_kills"] += kills
