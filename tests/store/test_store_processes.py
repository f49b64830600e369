"""Several processes, crashes and journal replay: nothing lost, nothing twice."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time

import pytest
import store_workers
from store_helpers import git, make_inv, make_version, recorded_ids, wait_for_writer_processes

from ell_git import GitStore, Reader

pytestmark = pytest.mark.slow
SPAWN = multiprocessing.get_context("spawn")


def test_four_processes_lose_nothing_and_duplicate_nothing(user_repo):
    n, versions = 600, 3
    procs = [SPAWN.Process(target=store_workers.write_many, args=(str(user_repo), f"p{k}", n, versions, 50))
             for k in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(180)
        assert p.exitcode == 0
    ids = recorded_ids(user_repo)
    vs = [make_version(doc=f"Prompt {k}.") for k in range(versions)]
    expected = {make_inv(vs[i % versions], i, tag=f"p{k}").id: (k, i) for k in range(4) for i in range(n)}
    assert not sorted(expected[x] for x in set(expected) - set(ids)), "missing (process, index)"
    assert len(ids) == 4 * n and len(set(ids)) == 4 * n
    assert os.listdir(user_repo / ".git" / "ell" / "journal") == []  # all committed by close(), none deferred
    # one clone, one invocation ref, shared by compare-and-swap
    assert len(git(user_repo, "for-each-ref", "refs/ell/inv/").splitlines()) == 1
    vids = git(user_repo, "log", "--format=%(trailers:key=Ell-Version,valueonly,separator=)", "refs/ell/lmp/mod.hello")
    vids = [x for x in vids.splitlines() if x]
    assert len(vids) == versions == len(set(vids))  # each version committed once
    git(user_repo, "fsck", "--strict", "--no-progress")
    with Reader(user_repo) as r:
        assert r.invocations(lmp="mod.hello").total == 4 * n


def test_journal_of_a_killed_process_is_replayed_exactly_once(user_repo, tmp_path):
    # Hold the ref's lock so the child's batches are journaled but cannot be committed.
    probe = GitStore(user_repo, autocommit=False)
    probe.close()
    lock = user_repo / ".git" / "refs" / "ell" / "inv" / (probe.writer_id + ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text("held\n")
    ready = tmp_path / "ready"
    p = SPAWN.Process(target=store_workers.journal_then_die, args=(str(user_repo), 100, str(ready)))
    p.start()
    p.join(120)
    assert p.exitcode == -signal.SIGKILL
    assert ready.read_text() == "deferred"
    wait_for_writer_processes(user_repo)  # its writer process saw the end of its input and stopped
    journals = os.listdir(user_repo / ".git" / "ell" / "journal")
    assert len(journals) == 1 and recorded_ids(user_repo) == []
    lock.unlink()
    for _ in range(2):  # the second open finds nothing left to replay
        s = GitStore(user_repo, autocommit=False)
        assert s.flush(timeout=60)
        s.close()
    ids = recorded_ids(user_repo)
    v = make_version()
    assert sorted(ids) == sorted(make_inv(v, i, tag="j").id for i in range(100))
    assert os.listdir(user_repo / ".git" / "ell" / "journal") == []
    git(user_repo, "fsck", "--strict", "--no-progress")


def test_sigkill_mid_batch_keeps_flushed_records_and_fsck_clean(user_repo, tmp_path):
    progress = tmp_path / "progress"
    progress.touch()
    p = SPAWN.Process(target=store_workers.write_until_killed, args=(str(user_repo), str(progress), 200))
    p.start()
    deadline = time.time() + 120
    while time.time() < deadline and len(progress.read_text().split()) < 3:
        time.sleep(0.05)
    time.sleep(random.uniform(0.0, 0.3))
    os.kill(p.pid, signal.SIGKILL)
    p.join(30)
    acknowledged = int(progress.read_text().split()[-1])
    wait_for_writer_processes(user_repo)  # it commits what it was sent; git fsck is not for a repository being written
    git(user_repo, "fsck", "--strict", "--no-progress")
    v = make_version()
    ids = recorded_ids(user_repo)
    assert len(ids) == len(set(ids))
    assert set(ids) >= {make_inv(v, i, tag="k").id for i in range(acknowledged)}
    s = GitStore(user_repo, autocommit=False)  # replays whatever was journaled but not committed
    s.close()
    after = recorded_ids(user_repo)
    assert len(after) == len(set(after)) >= len(ids)
    recorded = {make_inv(v, i, tag="k").id for i in range(len(after) + 10_000)}
    assert set(after) <= recorded
    git(user_repo, "fsck", "--strict", "--no-progress")
