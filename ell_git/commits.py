"""Which commit on ``refs/ell/lmp/*`` holds a version: what an OpenTelemetry span links back to.

Asked from a background thread (`ell.otel`), never on a call's path: the version's commit is
written by the store's writer shortly after a version is first seen, so a lookup may wait for it.
"""

from __future__ import annotations

import threading
import time

import pygit2

from . import refs
from .versions import version_ids_in

_local = threading.local()  # one Repository per thread: pygit2 objects are not shared across threads


def find(git_dir: str, name: str, version_id: str, *, wait: float = 0.0) -> str | None:
    """The commit id of `version_id` in the history of LMP `name`, polling up to `wait` seconds
    while the writer has not committed it yet; None if it is not there."""
    repos = getattr(_local, "repos", None)
    if repos is None:
        repos = _local.repos = {}
    repo = repos.get(git_dir)
    if repo is None:
        repo = repos[git_dir] = pygit2.Repository(git_dir)
    refname = refs.lmp_ref(name)
    deadline = time.monotonic() + wait
    seen: pygit2.Oid | None = None
    while True:
        _, tip = refs.read_tip(repo, refname)
        if tip is not None and tip != seen:
            for commit in repo.walk(tip, pygit2.enums.SortMode.TOPOLOGICAL):
                if commit.id == seen:
                    break  # older history was searched already
                if version_ids_in(commit) == version_id:
                    return str(commit.id)
            seen = tip
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.05)
