"""Housekeeping: pack the repository and, on request, forget old invocations of this clone.

Forgetting rewrites only this writer's `refs/ell/inv/<writer-id>`: a new root commit whose tree
drops every time directory before the cut-off (the layout puts time first, so this is a tree
edit, not a scan). Versions are never touched. `git gc --prune=now` then frees the space.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from dataclasses import asdict, dataclass
from typing import Any

import pygit2

from . import refs
from .repo import open_repository, signature, writer_id


@dataclass(frozen=True)
class GcReport:
    size_before: int  # bytes of .git/objects (loose + packs)
    size_after: int
    loose_before: int  # loose object count
    loose_after: int
    forgotten: int  # invocations dropped from this writer's ref
    forgotten_segments: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def summary(self) -> str:
        mb = 1024 * 1024
        text = (f"objects: {self.size_before / mb:.1f} MB → {self.size_after / mb:.1f} MB, "
                f"loose objects {self.loose_before} → {self.loose_after}")
        if self.forgotten_segments:
            text += f"; forgot {self.forgotten} invocations in {self.forgotten_segments} segments"
        return text


def _object_stats(path: str) -> tuple[int, int]:
    out = subprocess.run(["git", "-C", path, "count-objects", "-v"], capture_output=True, text=True, check=True).stdout
    stats = dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)
    size = (int(stats.get("size", 0)) + int(stats.get("size-pack", 0))) * 1024
    return size, int(stats.get("count", 0))


def _drop_before(repo: pygit2.Repository, tree: pygit2.Tree, cut: dt.date) -> tuple[pygit2.Oid, int, int]:
    """A copy of an invocation tree without time directories before `cut` (UTC day)."""
    month_cut, day_cut = f"{cut.year:04d}-{cut.month:02d}", f"{cut.day:02d}"
    builder = repo.TreeBuilder(tree)
    lines = segments = 0
    for month in tree:
        if month.type_str != "tree":
            continue
        if month.name < month_cut:
            builder.remove(month.name)
            n, s = _count(repo, repo[month.id])
            lines, segments = lines + n, segments + s
        elif month.name == month_cut:
            days = repo.TreeBuilder(repo[month.id])
            for day in repo[month.id]:
                if day.type_str == "tree" and day.name < day_cut:
                    days.remove(day.name)
                    n, s = _count(repo, repo[day.id])
                    lines, segments = lines + n, segments + s
            if len(days):
                builder.insert(month.name, days.write(), pygit2.enums.FileMode.TREE)
            else:
                builder.remove(month.name)
    return builder.write(), lines, segments


def _count(repo: pygit2.Repository, tree: pygit2.Tree) -> tuple[int, int]:
    lines = segments = 0
    for entry in tree:
        if entry.type_str == "tree" and not entry.name.endswith(".blobs"):
            n, s = _count(repo, repo[entry.id])
            lines, segments = lines + n, segments + s
        elif entry.name.endswith(".jsonl"):
            lines += repo[entry.id].data.count(b"\n")
            segments += 1
    return lines, segments


def gc(path: str | os.PathLike[str] = ".", forget_before: dt.date | None = None) -> GcReport:
    """Pack objects (`git gc`); with `forget_before`, first drop this clone's older invocations."""
    repo = open_repository(path, create=False)
    root = repo.path if repo.is_bare else repo.workdir
    size_before, loose_before = _object_stats(root)
    forgotten = dropped_segments = 0
    if forget_before is not None:
        refname = refs.inv_ref(writer_id(repo))
        counted: dict[str, int] = {}

        def build(tip: pygit2.Oid | None) -> pygit2.Oid | None:
            if tip is None:
                return None
            new_tree, lines, segs = _drop_before(repo, repo[tip].tree, forget_before)
            counted.update(lines=lines, segments=segs)
            if not segs:
                return None
            sig = signature(repo, committer=True)
            message = f"Forget invocations before {forget_before.isoformat()}\n\nEll-Forgotten: {lines}\n"
            return repo.create_commit(None, sig, sig, message, new_tree, [])

        refs.update(repo, refname, build)
        forgotten, dropped_segments = counted.get("lines", 0), counted.get("segments", 0)
    # Forgotten segments are old, so a short grace period frees them while still protecting objects a
    # live writer has just created but not yet referenced (it references them within milliseconds).
    prune = ["--prune=5.minutes.ago"] if forget_before is not None else []
    subprocess.run(["git", "-C", root, "gc", "--quiet", *prune], check=True, capture_output=True)
    size_after, loose_after = _object_stats(root)
    return GcReport(size_before, size_after, loose_before, loose_after, forgotten, dropped_segments)
