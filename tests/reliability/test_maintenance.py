"""Plain git maintenance racing the writer: nothing acknowledged is lost, the repository stays whole.

A user's shell (or cron, or `git maintenance`) runs `git gc --prune=now`, `git repack -ad`,
`git pack-refs --all`, `git maintenance run --task=gc`, `git gc --aggressive` or `git prune
--expire=now` in a loop while a program records calls. A prune that listed the refs before one of
ours moved deletes the objects the move made reachable (git documents --prune=now as unsafe with
concurrent writers; ell's writer runs all the time). Each race (see maintenance_race.py): every
acknowledged invocation and version is there exactly once, every ref resolves, `git fsck --strict`
is clean and the user's own gc works at the end. `python tests/reliability/soak_maintenance.py`
runs the same races for as long as asked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from maintenance_race import race
from store_helpers import init_user_repo

pytestmark = pytest.mark.slow

#: (command, writer process or thread, maintenance runs at least, acknowledged invocations at least)
RACES = [
    ("gc --prune=now", True, 12, 400),
    ("gc --prune=now", False, 12, 400),
    ("prune --expire=now", True, 12, 300),
    ("repack -ad", True, 10, 300),
    ("pack-refs --all", False, 25, 300),
    ("maintenance run --task=gc", True, 4, 200),
    ("gc --aggressive", False, 3, 200),
]


@pytest.mark.parametrize("command, writer_process, races, acknowledged", RACES,
                         ids=[f"{c}-{'process' if p else 'thread'}" for c, p, _, _ in RACES])
def test_git_maintenance_racing_the_writer(tmp_path: Path, forkserver: Any, figures: Any, command: str,
                                           writer_process: bool, races: int, acknowledged: int) -> None:
    repo = init_user_repo(tmp_path / "proj", dirty=False)
    out = race(repo, tmp_path / "race", forkserver, command, races=races, min_acknowledged=acknowledged,
               writer_process=writer_process)
    assert out.lost == 0 and out.duplicated == 0 and out.versions_lost == 0, out
    figures["maintenance_races"] += out.races
    figures["maintenance_invocations_checked"] += out.checked
    figures["maintenance_versions_checked"] += out.versions
    figures["invocations_checked"] += out.checked
    figures["lost"] += out.lost
    figures["duplicated"] += out.duplicated
    figures["versions_lost"] += out.versions_lost
    figures["maintenance_commands"] = len({c for c, _, _, _ in RACES})
