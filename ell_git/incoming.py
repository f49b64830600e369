"""What `ell pull` brought in, checked before it is merged: bad data from a remote never reaches
local refs (see `sync`).

A fetched version, evaluation or notes history is merged only if every commit this clone lacks is
the storage format (`validate`): commits, not trees or blobs; versions with their trailer and a
valid ``meta.json``; evaluation runs and definitions whose files parse. Fetched invocation refs are
never merged (readers read them where they are), but one that does not point to a commit is put back
where it was, and records that are not the storage format are counted (readers skip them).
"""

from __future__ import annotations

from typing import Iterator

import pygit2

from . import layout, validate
from .evals import DATASET, EVALUATION, RESULTS, RUN
from .versions import CLOSURE, META, SOURCE, version_ids_in

#: Commits of one fetched history looked at, at most (a first pull of a long history is checked in full
#: up to this; beyond it, the rest is taken as it is).
MAX_COMMITS = 100_000


def problem(repo: pygit2.Repository, ns: str, theirs: pygit2.Oid, ours: pygit2.Oid | None) -> str | None:
    """What is wrong with the history at `theirs` beyond `ours` (namespace `ns`: lmp, eval, notes), or None."""
    tip = repo.get(theirs)
    if not isinstance(tip, pygit2.Commit):
        return f"it points to a {tip.type_str if tip is not None else 'missing object'}, not a commit"
    try:
        for commit in _new_commits(repo, theirs, ours):
            what = _commit_problem(repo, ns, commit)
            if what:
                return f"commit {str(commit.id)[:12]}: {what}"
    except (KeyError, ValueError, pygit2.GitError) as exc:
        return f"its history lacks objects ({exc})"
    return None


def _new_commits(repo: pygit2.Repository, theirs: pygit2.Oid, ours: pygit2.Oid | None) -> Iterator[pygit2.Commit]:
    walker = repo.walk(theirs, pygit2.enums.SortMode.NONE)
    if ours is not None and isinstance(repo.get(ours), pygit2.Commit):
        walker.hide(ours)
    for n, commit in enumerate(walker):
        if n >= MAX_COMMITS:
            return
        yield commit


def _commit_problem(repo: pygit2.Repository, ns: str, c: pygit2.Commit) -> str | None:
    tree = c.tree
    if len(c.parents) > 1:
        return None  # a merge made by sync: its content is its parents'
    if ns == "lmp":
        if not version_ids_in(c):
            return "not a version (no Ell-Version trailer)"
        for name in (SOURCE, CLOSURE, META):
            if name not in tree or tree[name].type_str != "blob":
                return f"{name} is missing"
        return validate.meta_blob(repo[tree[META].id].data)[1]
    if ns == "eval":
        for name, check in ((EVALUATION, validate.json_object), (RUN, validate.json_object),
                            (RESULTS, validate.json_lines), (DATASET, validate.json_lines)):
            if name in tree:
                if tree[name].type_str != "blob":
                    return f"{name} is not a file"
                what = check(repo[tree[name].id].data, name)
                if what:
                    return what
    return None


def inv_tip_problem(repo: pygit2.Repository, tip: pygit2.Oid) -> str | None:
    """What is wrong with where a fetched invocation ref points, or None."""
    obj = repo.get(tip)
    if not isinstance(obj, pygit2.Commit):
        return f"it points to a {obj.type_str if obj is not None else 'missing object'}, not a commit"
    if repo.get(obj.tree_id) is None:
        return "its tree is missing"
    return None


def bad_records(repo: pygit2.Repository, old: pygit2.Oid | None, new: pygit2.Oid) -> tuple[int, str | None]:
    """(records that are not the storage format, the first problem) in the segments `new` adds over `old`."""
    new_tree = repo[new].tree
    old_tree = repo[old].tree if old is not None and isinstance(repo.get(old), pygit2.Commit) else None
    added = []
    if old_tree is None:
        added = [oid for _, oid in layout.iter_segments(repo, new_tree.id)]
    else:
        for d in repo.diff(old_tree, new_tree).deltas:
            if d.status_char() in "AM" and d.new_file.path.endswith(layout.SEGMENT_SUFFIX):
                added.append(d.new_file.id)
    bad, first = 0, None
    for oid in added:
        for line in repo[oid].data.split(b"\n"):
            if line:
                _, what = validate.invocation_line(line)
                if what:
                    bad += 1
                    first = first or what
    return bad, first


def put_back(repo: pygit2.Repository, ref: str, current: pygit2.Oid, before: pygit2.Oid | None) -> None:
    """Move fetched `ref` back from `current` to `before` (delete it if it was new), if nobody moved it."""
    import subprocess

    args = ["update-ref", ref, str(before), str(current)] if before is not None else ["update-ref", "-d", ref, str(current)]
    subprocess.run(["git", f"--git-dir={repo.path}", *args], capture_output=True, timeout=60, check=False)
