"""One maintenance race: a process records calls (flushing often, versions now and then) while
another process runs a git maintenance command in a loop on the same repository, as a user's shell
or cron would. Shared by test_maintenance.py and soak_maintenance.py.

What is checked afterwards, with plain git and pygit2 only: every acknowledged invocation is on the
invocation ref exactly once, every acknowledged version is in its LMP's history, every ref resolves,
`git fsck --strict` is clean and the user's own `git gc --prune=now` works.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pygit2
import relworkers
from relhelpers import InvocationIndex, check_refs_resolve, fsck, git, lmp_version_ids, wait_for_git
from store_helpers import make_inv, make_version, wait_for_writer_processes

#: The maintenance commands users run (by hand, from cron, from `git maintenance`).
COMMANDS = {
    "gc --prune=now": ["gc", "--quiet", "--prune=now"],
    "repack -ad": ["repack", "-a", "-d", "-q"],
    "pack-refs --all": ["pack-refs", "--all"],
    "maintenance run --task=gc": ["maintenance", "run", "--task=gc", "--quiet"],
    "gc --aggressive": ["gc", "--quiet", "--aggressive"],
    "prune --expire=now": ["prune", "--expire=now"],
}


@dataclass
class Outcome:
    command: str
    races: int  # maintenance runs while the recorder wrote
    failed_runs: list[str]  # runs git failed (a ref was broken until the writer repaired it)
    acknowledged: int
    checked: int
    lost: int
    duplicated: int
    versions: int
    versions_lost: int
    seconds: float


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text().splitlines()
    except FileNotFoundError:
        return []


def race(repo: Path, work: Path, ctx: Any, command: str, *, races: int, min_acknowledged: int,
         writer_process: bool = True, batch: int = 40, deadline: float = 120.0) -> Outcome:
    """Run one race until at least `races` maintenance runs happened while at least
    `min_acknowledged` invocations were acknowledged; then check everything."""
    work.mkdir(parents=True, exist_ok=True)
    progress, stop_child, stop_loop, log = (work / n for n in ("progress", "stop-child", "stop-loop", "loop.log"))
    t0 = time.monotonic()
    loop = ctx.Process(target=relworkers.git_loop, args=(str(repo), COMMANDS[command], str(stop_loop), str(log)))
    child = ctx.Process(target=relworkers.maintenance_child,
                        args=(str(repo), str(progress), str(stop_child), writer_process, batch))
    loop.start()
    child.start()
    try:
        while True:  # wait for the condition (races and acknowledged work), not for a time
            acked = [int(l.split()[1]) for l in _lines(progress) if l.startswith("n ")]
            done = len(_lines(log))
            if done >= races and acked and acked[-1] >= min_acknowledged:
                break
            if not child.is_alive() or time.monotonic() - t0 > deadline:
                raise AssertionError(f"{command}: {done} runs, {acked[-1] if acked else 0} acknowledged after "
                                     f"{time.monotonic() - t0:.0f} s; child alive: {child.is_alive()}")
            time.sleep(0.02)
        stop_child.touch()
        child.join(deadline)
        assert child.exitcode == 0, f"{command}: the recording process ended with {child.exitcode}"
        runs = _lines(log)
    finally:
        stop_child.touch()
        stop_loop.touch()
        loop.join(deadline)
        for p in (child, loop):
            if p.is_alive():
                p.kill()
    wait_for_writer_processes(repo)
    wait_for_git(repo)
    lines = _lines(progress)
    assert lines[-1] == "closed", lines[-3:]
    acknowledged = max(int(l.split()[1]) for l in lines if l.startswith("n "))
    versions = [l.split()[1] for l in lines if l.startswith("v ")]
    index = InvocationIndex(repo)
    index.refresh()
    expected = {make_inv(make_version(), i, tag="m").id for i in range(acknowledged)}
    present = index.ids & expected
    in_history = {v for vids in lmp_version_ids(pygit2.Repository(str(repo))).values() for v in vids}
    check_refs_resolve(pygit2.Repository(str(repo)))
    fsck(repo)
    git(repo, "gc", "--quiet", "--prune=now")  # the user's own gc works
    return Outcome(command, len(runs), [r for r in runs if not r.startswith("0 ")], acknowledged, len(present),
                   len(expected - present), len(index.duplicates()), len(versions),
                   len(set(versions) - in_history), round(time.monotonic() - t0, 1))
