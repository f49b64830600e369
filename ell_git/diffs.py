"""Unified diffs of a version's files (source.py, closure.py) between two commits, or of one version's
files all added or all removed (a dependency only one side uses)."""

from __future__ import annotations

import pygit2

from .versions import CLOSURE, SOURCE
from .views import Version, VersionDiff

FILES = (SOURCE, CLOSURE)


def patches(old: pygit2.Tree | None, new: pygit2.Tree | None) -> dict[str, tuple[str, int, int]]:
    """file name → (unified diff, lines added, lines removed); a missing tree or file is empty."""
    out = {}
    for fname in FILES:
        a = old[fname].data if old is not None and fname in old else b""
        b = new[fname].data if new is not None and fname in new else b""
        # A Patch made from buffers borrows them: read it while `a`/`b` are alive.
        patch = pygit2.Patch.create_from(a, b, old_as_path=fname, new_as_path=fname)
        _, adds, dels = patch.line_stats
        out[fname] = (patch.text or "", adds, dels)
    return out


def whole(repo: pygit2.Repository, name: str, v: Version, change: str) -> VersionDiff:
    """A dependency one side alone uses ("added" / "removed"): its code, all added or all removed."""
    tree = repo[v.commit].tree
    diffs = patches(None, tree) if change == "added" else patches(tree, None)
    said = f"now used, at v{v.vn}" if change == "added" else f"no longer used (was v{v.vn})"
    _, adds, dels = diffs[CLOSURE]
    return VersionDiff(name, v, v, diffs[SOURCE][0], diffs[CLOSURE][0], adds, dels, (said,), (), change)
