"""Notes trees at any fan-out: the notes they hold, and the union of two (what `ell sync` merges)."""

from __future__ import annotations

from collections.abc import Iterator

import pygit2


def note_blobs(repo: pygit2.Repository, tree: pygit2.Tree, prefix: str = "") -> Iterator[tuple[str, pygit2.Oid]]:
    """(annotated object id, blob id) for every note, whatever fan-out the tree uses."""
    for entry in tree:
        if entry.type_str == "tree" and len(entry.name) == 2 and _is_hex(entry.name):
            yield from note_blobs(repo, repo[entry.id], prefix + entry.name)
        elif entry.type_str == "blob":
            yield prefix + entry.name, entry.id


def notes_union(repo: pygit2.Repository, a: pygit2.Tree, b: pygit2.Tree) -> pygit2.Oid:
    """Union of two notes trees; a note present on both sides with different text keeps every distinct
    line, sorted (git's cat_sort_uniq). Done in-process for a CAS update and a deterministic commit."""
    merged: dict[str, pygit2.Oid] = dict(note_blobs(repo, a))
    for key, oid in note_blobs(repo, b):
        if key in merged and merged[key] != oid:
            lines = set(repo[merged[key]].data.splitlines()) | set(repo[oid].data.splitlines())
            oid = repo.create_blob(b"".join(line + b"\n" for line in sorted(lines) if line))
        merged[key] = oid
    # Fan out like git does for big notes trees, so rewriting the tree stays cheap.
    fanout = len(merged) > 256
    groups: dict[str, dict[str, pygit2.Oid]] = {}
    top = repo.TreeBuilder()
    for key, oid in merged.items():
        if fanout and len(key) > 2:
            groups.setdefault(key[:2], {})[key[2:]] = oid
        else:
            top.insert(key, oid, pygit2.GIT_FILEMODE_BLOB)
    for prefix, entries in groups.items():
        sub = repo.TreeBuilder()
        for key, oid in entries.items():
            sub.insert(key, oid, pygit2.GIT_FILEMODE_BLOB)
        top.insert(prefix, sub.write(), pygit2.GIT_FILEMODE_TREE)
    return top.write()


def _is_hex(s: str) -> bool:
    return all(c in "0123456789abcdef" for c in s)
