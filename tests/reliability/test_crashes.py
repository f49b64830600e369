"""Crashes: children recording invocations are SIGKILLed at every step of a commit, over and over.

One long test starts 128 short children (two at a time, on the same repository) from the fork
server. Each is armed to kill itself at one writer point (`ell_git.faults`: during back-pressure
spilling, mid journal entry, after journaling, after writing objects, after moving the ref, after
journaling a version, during the replay of a dead process's journal) or is killed by the test at
a random moment. Its writer process (`ell_git.writer_child`) is armed too: reaching the point
there kills the child, then itself. A child killed by the test leaves its writer process alive,
which commits what it was sent and exits; the next round starts once it is gone. After every death the repository is checked, and at the end a normal process
replays what is left. Promises checked:

* every invocation acknowledged by `flush` before the kill is in git, exactly once;
* every complete journal entry of a killed process ends up in git, exactly once (replay is
  idempotent even when the replay itself is killed);
* no ref ever points to a missing object; `git fsck --strict` is clean;
* nothing is recorded that was not produced; each version is committed once;
* the next process always starts normally.
"""

from __future__ import annotations

import glob
import os
import random
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pygit2
import pytest
import relworkers
from relhelpers import InvocationIndex, check_refs_resolve, fsck, lmp_version_ids, wait_for_git
from store_helpers import make_inv, wait_for_writer_process

from ell_git import Reader
from ell_git import journal as jr

pytestmark = pytest.mark.slow

ROUNDS = 128
LANES = 2  # children alive at once (the machine has two cores)
BATCHES, BATCH = 4, 50
#: Writer points (see ell_git.faults) and "timed": killed by the test after a random delay.
POINTS = ("journal", "objects", "ref", "torn", "version", "spill", "replay", "timed")
CHILD_DEADLINE = 150.0  # a child alive longer than this is stuck (deadlock): fail


@dataclass
class Child:
    rnd: int
    point: str
    spec: str
    proc: Any
    progress: Path
    t0: float
    writer_pid: int | None = None
    kill_after: float | None = None
    killed_by_test: bool = False
    lines: list[str] = field(default_factory=list)


def _produced(rnd: int) -> list[str]:
    vs = relworkers.round_versions(rnd)
    return [make_inv(vs[i % 2], i, tag=f"r{rnd}").id for i in range(BATCHES * BATCH)]


def _journaled(journal_dir: Path, pid: int) -> tuple[set[str], set[str]]:
    """Invocation ids and version ids in the complete entries of a dead process's journal."""
    invs, vers = set(), set()
    for path in glob.glob(str(journal_dir / f"{pid}-*.log")):
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            continue  # the other lane's child replayed it already (a journal is deleted once committed)
        for _, _, entry in jr.parse(data):
            if entry.kind == "inv":
                invs.update(orjson.loads(l)["id"] for l in entry.payload.split(b"\n") if l)
            elif entry.kind == "ver":
                vers.add(orjson.loads(entry.payload)["version_id"])
    return invs, vers


def test_sigkill_at_every_writer_point_loses_nothing(user_repo: Path, tmp_path: Path, forkserver: Any,
                                                      figures: Any) -> None:
    seed = int(os.environ.get("ELL_RELIABILITY_SEED", "8"))
    rng = random.Random(seed)
    repo = str(user_repo)
    journal_dir = user_repo / ".git" / "ell" / "journal"
    index = InvocationIndex(repo)
    produced: dict[int, list[str]] = {}
    acked: dict[int, int] = {}
    journaled_invs: set[str] = set()
    journaled_vers: set[str] = set()
    kills, kill_points, completed = 0, set(), 0

    def verify(where: str) -> None:
        repo_ = pygit2.Repository(repo)
        check_refs_resolve(repo_)
        index.refresh()
        dups = index.duplicates()
        assert not dups, f"{where}: recorded twice: {list(dups.items())[:3]}"
        present = index.ids
        every = {i for ids in produced.values() for i in ids}
        assert present <= every, f"{where}: {len(present - every)} invocations nobody produced"
        for r, n in acked.items():
            missing = set(produced[r][:n]) - present
            assert not missing, f"{where}: round {r} acknowledged {n}, {len(missing)} missing (seed {seed})"
        for ref, vids in lmp_version_ids(repo_).items():
            assert len(vids) == len(set(vids)), f"{where}: a version committed twice on {ref}"

    def start(rnd: int, point: str, spec: str = "") -> Child:
        if point not in ("timed", "none"):
            count = 1 if point in ("version", "replay") else rng.randint(1, 3)
            spec = f"{point}:{count}"
        progress = tmp_path / f"round-{rnd}.progress"
        progress.touch()
        produced[rnd] = _produced(rnd)
        max_queue = 3 if point == "spill" else 100_000
        pack_every = 30 if rnd % 4 == 0 else 10_000  # `git repack` in the background, killed or not
        proc = forkserver.Process(target=relworkers.crash_child,
                                  args=(repo, str(progress), rnd, spec, BATCHES, BATCH, max_queue, pack_every))
        proc.start()
        child = Child(rnd, point, spec, proc, progress, time.monotonic())
        if point == "timed":
            child.kill_after = rng.uniform(0.0, 0.25)
        return child

    def finish(child: Child) -> None:
        nonlocal kills, completed
        child.proc.join(10)
        code = child.proc.exitcode
        child.lines = child.progress.read_text().split()
        writer = next((x.split(":")[1] for x in child.lines if x.startswith("writer:")), "None")
        child.writer_pid = None if writer == "None" else int(writer)
        if child.writer_pid is not None:
            wait_for_writer_process(child.writer_pid)
        assert code in (0, -signal.SIGKILL), f"round {child.rnd} ({child.spec or child.point}) exited with {code}"
        if code == -signal.SIGKILL:
            kills += 1
            kill_points.add(child.point)
        else:
            completed += 1
            assert child.lines and child.lines[-1] == "closed", f"round {child.rnd} ended without closing"
        # The store always opened (a kill can come before "started" only while the writer thread
        # replays a dead process's journal, which runs alongside the constructor's return).
        assert "started" in child.lines or code == -signal.SIGKILL, child.lines
        counts = [int(x) for x in child.lines if x.isdigit()]
        acked[child.rnd] = max(counts, default=0)
        for pid in (child.proc.pid, child.writer_pid):
            if pid is not None:
                invs, vers = _journaled(journal_dir, pid)
                journaled_invs.update(invs)
                journaled_vers.update(vers)
        verify(f"after round {child.rnd} ({child.spec or child.point}, exit {code})")

    plan = [POINTS[i % len(POINTS)] for i in range(ROUNDS)]
    rng.shuffle(plan)
    running: list[Child] = []
    deaths = 0
    quiesce = False  # git fsck reads objects, then refs: it must not run beside a writer
    while plan or running:
        if quiesce and not running:
            fsck(repo)  # (waits for a killed writer's `git repack` to finish first)
            quiesce = False
        while plan and len(running) < LANES and not quiesce:
            running.append(start(ROUNDS - len(plan), plan.pop()))
        time.sleep(0.003)
        for child in list(running):
            if child.kill_after is not None and not child.killed_by_test and child.proc.is_alive():
                started = "started" in child.progress.read_text()
                if started and time.monotonic() - child.t0 >= child.kill_after:
                    try:
                        os.kill(child.proc.pid, signal.SIGKILL)  # only the child this test started
                        child.killed_by_test = True
                    except ProcessLookupError:
                        pass  # it ended on its own since `is_alive` (the fork server reaps its children)
            if not child.proc.is_alive():
                running.remove(child)
                finish(child)
                deaths += 1
                quiesce = quiesce or deaths % 16 == 0
            elif time.monotonic() - child.t0 > CHILD_DEADLINE:
                for c in running:
                    c.proc.kill()
                pytest.fail(f"round {child.rnd} ({child.spec or child.point}) is stuck (seed {seed})")

    # A normal process after all those crashes: it starts, replays every journal left, and closes.
    last = start(ROUNDS, "none")
    last.proc.join(CHILD_DEADLINE)
    assert last.proc.exitcode == 0, f"the process after the crashes failed ({last.proc.exitcode})"
    finish(last)

    assert kills >= 100, f"only {kills} kills (seed {seed})"
    present = index.ids
    missing = journaled_invs - present
    assert not missing, f"{len(missing)} journaled invocations were never replayed (seed {seed})"
    assert not glob.glob(str(journal_dir / "*.log")) and not glob.glob(str(journal_dir / "*.corrupt"))
    repo_ = pygit2.Repository(repo)
    committed_vids = {v for vids in lmp_version_ids(repo_).values() for v in vids}
    assert journaled_vers <= committed_vids
    wait_for_git(repo)
    for r, n in acked.items():
        if n:  # a flush acknowledges the versions recorded before it too
            assert relworkers.round_versions(r)[1].version_id in committed_vids
    fsck(repo)
    with Reader(repo) as reader:
        assert reader.invocations().total == len(present)

    figures["kills"] += kills
    figures["kill_points"] = max(figures["kill_points"], len(kill_points))
    figures["replays_checked"] += len(journaled_invs)
    figures["invocations_checked"] += len(present)
    figures["lost"] += len(missing)
    figures["duplicated"] += len(index.duplicates())
