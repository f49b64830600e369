"""Merging a fetched ref into its local one: compare-and-swap, fast-forward, or a merge commit that every
clone merging the same pair makes byte for byte (histories: union of versions; notes: union of lines)."""

from __future__ import annotations

import json
import random
import time
from typing import Callable

import pygit2

from . import refs
from .errors import SyncError
from .notetree import notes_union

_MERGE_IDENTITY = ("ell-git sync", "ell-git@localhost")
_CAS_ATTEMPTS = 20


Merger = Callable[[pygit2.Repository, pygit2.Oid, pygit2.Oid], pygit2.Oid]


def merge_ref(repo: pygit2.Repository, local: str, theirs: pygit2.Oid, remote: str, merger: Merger) -> str:
    """Move `local` to include `theirs` with compare-and-swap; retry if a local writer moves it meanwhile."""
    for attempt in range(_CAS_ATTEMPTS):
        ref = repo.references.get(local)
        if ref is None:
            try:
                refs.swap(repo, local, None, theirs)  # atomic create (libgit2's is not, across processes)
                return "new"
            except refs.CasConflict:
                continue  # a local writer created it a moment ago: merge with that
        ours = ref.target
        if ours == theirs:
            return "same"
        if repo.descendant_of(ours, theirs):
            return "ahead"
        if repo.descendant_of(theirs, ours):
            outcome, new = "fast-forward", theirs
        else:
            outcome, new = "merged", merger(repo, ours, theirs)
        try:
            ref.set_target(new, f"ell sync: {outcome} from {remote}")  # libgit2 checks the old target
            return outcome
        except (pygit2.GitError, OSError):  # OSError: another process holds the ref's lock
            time.sleep(random.uniform(0.001, 0.01) * (attempt + 1))
    raise SyncError(f"could not update {local}: local writers kept moving it; run `ell sync {remote}` again")


def merge_commit(repo: pygit2.Repository, a: pygit2.Oid, b: pygit2.Oid, tree: pygit2.Oid | None, message: str) -> pygit2.Oid:
    """A merge commit that is byte-identical on every clone merging the same pair.

    Parents are ordered newest first (committer time, ties by id) and the newest tip's tree is kept
    unless `tree` is given; identity and time are fixed (time = newest parent's), so two clones that
    merge concurrently produce the same commit instead of a chain of merges of merges.
    """
    newer, older = sorted((repo[a], repo[b]), key=_recency, reverse=True)
    sig = pygit2.Signature(*_MERGE_IDENTITY, newer.commit_time, 0)
    return repo.create_commit(None, sig, sig, message, tree or newer.tree_id, [newer.id, older.id])


def _recency(commit: pygit2.Commit) -> tuple[int, str]:
    return commit.commit_time, str(commit.id)


def history_merger(remote: str, ns: str, local: str) -> Merger:
    def merge(repo: pygit2.Repository, ours: pygit2.Oid, theirs: pygit2.Oid) -> pygit2.Oid:
        newer = max(repo[ours], repo[theirs], key=_recency)  # not `ours`: both clones must name it alike
        name = _display_name(repo, newer.id, local.split("/", 3)[3])
        trailer = "Ell-Lmp" if ns == "lmp" else "Ell-Eval"
        kind = "versions" if ns == "lmp" else "runs"
        msg = f"Merge {name} {kind} from {remote}\n\nEll-Merge: {remote}\n{trailer}: {name}\n"
        return merge_commit(repo, ours, theirs, None, msg)

    return merge


def _display_name(repo: pygit2.Repository, tip: pygit2.Oid, escaped: str) -> str:
    """The LMP's real name: the tip's `Ell-Lmp` trailer, else its meta.json, else the unescaped ref."""
    commit = repo[tip]
    for line in reversed(commit.message.splitlines()):
        if line.startswith("Ell-Lmp: ") and line[9:].strip():
            return line[9:].strip()
    try:
        name = json.loads(commit.tree["meta.json"].data).get("name")
        if isinstance(name, str) and name and "\n" not in name:
            return name
    except (KeyError, ValueError, AttributeError):
        pass
    return refs.unescape(escaped) or escaped


def notes_merger(remote: str, local: str) -> Merger:
    def merge(repo: pygit2.Repository, ours: pygit2.Oid, theirs: pygit2.Oid) -> pygit2.Oid:
        tree = notes_union(repo, repo[ours].tree, repo[theirs].tree)
        msg = f"Merge notes {local} from {remote}\n\nEll-Merge: {remote}\nEll-Notes: {local}\n"
        return merge_commit(repo, ours, theirs, tree, msg)

    return merge
