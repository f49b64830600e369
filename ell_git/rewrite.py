"""Rewriting ell's histories: the same commits, with some blobs changed or lines dropped.

`ell forget` uses it to erase invocations and to replace secrets recorded before redaction. A
history is rewritten parents first; a commit whose tree, parents and message come out unchanged
keeps its id, so only commits from the first change onward are new, and unchanged subtrees are
reused as they are (each distinct tree is transformed once: `Trees` memoises by id). Nothing
here moves a ref: `forget` does, by compare-and-swap.

One transform per kind of ref:

- `invocation_tree`: segments lose selected lines (and the large payloads only they used);
  the other lines keep their bytes unless secrets are replaced in them;
- `version_tree`: ``source.py``/``closure.py``/``meta.json`` redacted (ids and trailers kept: a
  version keeps its identity and its invocations still point at it);
- `evaluation_tree`: outputs of forgotten invocations become ``<forgotten>``, secrets replaced;
- `notes_tree`: feedback on forgotten invocations dropped, secrets replaced, notes moved to the
  rewritten version commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import orjson
import pygit2

from ell.redaction import Policy, redact_source, redact_text, redact_value
from ell.records import call_key

from . import layout

__all__ = ["Selection", "Trees", "rewrite_history", "FORGOTTEN"]

FORGOTTEN = "<forgotten>"
_BLOB, _TREE = layout.BLOB, layout.TREE
_USER_KEYS = ("args", "bound_globals", "api_params", "messages", "outputs")


@dataclass
class Selection:
    """Which invocations to erase, and whether to replace secrets everywhere (counts are filled in)."""

    pick: Optional[Callable[[dict[str, Any], str], bool]] = None  # (record, full text) -> forget it?
    matches: Optional[Callable[[str], bool]] = None  # --match: feedback comments and eval outputs holding it go too
    secrets: bool = False
    policy: Optional[Policy] = None
    forgotten: set[str] = field(default_factory=set)  # invocation ids erased
    redacted: set[str] = field(default_factory=set)  # records (ids, paths) whose secrets were replaced


class Trees:
    """Tree transforms over one repository, memoised by tree id."""

    def __init__(self, repo: pygit2.Repository, selection: Selection) -> None:
        self.repo, self.sel = repo, selection
        self._memo: dict[tuple[str, pygit2.Oid], pygit2.Oid] = {}
        self.commit_map: dict[str, str] = {}  # old version commit -> new one (for notes)

    def _memoised(self, kind: str, tree: pygit2.Oid, fn: Callable[[pygit2.Tree], pygit2.Oid]) -> pygit2.Oid:
        key = (kind, tree)
        if key not in self._memo:
            self._memo[key] = fn(self.repo[tree])
        return self._memo[key]

    # -- invocations -------------------------------------------------------------------------------
    def invocation_tree(self, tree: pygit2.Oid) -> pygit2.Oid:
        return self._memoised("inv", tree, self._inv)

    def _inv(self, tree: pygit2.Tree) -> pygit2.Oid:
        builder = self.repo.TreeBuilder(tree)
        for entry in tree:
            name = entry.name
            if entry.type_str == "tree" and not name.endswith(layout.BLOBS_SUFFIX):
                new = self.invocation_tree(entry.id)
                _put(builder, name, new, self.repo)
            elif name.endswith(layout.SEGMENT_SUFFIX):
                blobs_name = name[: -len(layout.SEGMENT_SUFFIX)] + layout.BLOBS_SUFFIX
                blobs = self.repo[tree[blobs_name].id] if blobs_name in tree else None
                data, new_blobs = self._segment(self.repo[entry.id].data, blobs)
                if new_blobs is None:
                    continue  # unchanged
                if data is None:
                    builder.remove(name)
                else:
                    builder.insert(name, self.repo.create_blob(data), _BLOB)
                if new_blobs:
                    sub = self.repo.TreeBuilder()
                    for oid_hex, blob in sorted(new_blobs.items()):
                        sub.insert(oid_hex, blob, _BLOB)
                    builder.insert(blobs_name, sub.write(), _TREE)
                elif blobs is not None:
                    builder.remove(blobs_name)
        return builder.write()

    def _segment(self, data: bytes, blobs: Optional[pygit2.Tree]) -> tuple[Optional[bytes], Optional[dict[str, pygit2.Oid]]]:
        """(new segment bytes or None when empty, new payload blobs or None when unchanged)."""
        out: list[bytes] = []
        changed = False
        payloads: dict[str, pygit2.Oid] = {}
        used: set[str] = set()
        for line in data.split(b"\n"):
            if not line:
                continue
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                out.append(line)
                continue
            if not isinstance(record, dict):
                out.append(line)
                continue
            full = layout.internalise(self.repo, record) if layout.has_blob_marker(line) else record
            if self.sel.pick is not None and self.sel.pick(full, _text_of(full)):
                self.sel.forgotten.add(str(record.get("id")))
                changed = True
                continue
            if self.sel.secrets:
                new_full = _redact_invocation(full, self.sel.policy)
                if new_full is not full:
                    self.sel.redacted.add(str(record.get("id")))
                    extra: dict[str, bytes] = {}
                    line = layout.canonical(layout.externalise(new_full, extra))
                    for oid_hex, blob_data in extra.items():
                        payloads[oid_hex] = self.repo.create_blob(blob_data)
                    changed = True
            used.update(_markers(line))
            out.append(line)
        if not changed:
            return data, None
        if blobs is not None:
            for entry in blobs:
                if entry.name in used and entry.name not in payloads:
                    payloads[entry.name] = entry.id
        payloads = {k: v for k, v in payloads.items() if k in used}
        return (b"\n".join(out) + b"\n") if out else None, payloads

    # -- versions ---------------------------------------------------------------------------------
    def version_tree(self, tree: pygit2.Oid) -> pygit2.Oid:
        return self._memoised("lmp", tree, self._version)

    def _version(self, tree: pygit2.Tree) -> pygit2.Oid:
        builder = self.repo.TreeBuilder(tree)
        for entry in tree:
            if entry.type_str != "blob":
                continue
            data = self.repo[entry.id].data
            if entry.name.endswith(".py"):
                new = self._source(data)
            elif entry.name == "meta.json":
                new = self._json_doc(data, ("bound_globals", "api_params"))
            else:
                continue
            if new is not None:
                builder.insert(entry.name, self.repo.create_blob(new), _BLOB)
        return builder.write()

    def _source(self, data: bytes) -> Optional[bytes]:
        text = data.decode("utf-8", "surrogateescape")
        new = redact_source(text, self.sel.policy)
        return None if new == text else new.encode("utf-8", "surrogateescape")

    def _json_doc(self, data: bytes, keys: tuple[str, ...]) -> Optional[bytes]:
        """One JSON document or JSON lines; `keys` empty: all of it is user data."""
        lines = data.split(b"\n")
        out, changed = [], False
        for line in lines:
            if not line.strip():
                out.append(line)
                continue
            try:
                doc = orjson.loads(line)
            except orjson.JSONDecodeError:
                new_text = redact_text(line.decode("utf-8", "replace"), self.sel.policy)
                changed = changed or new_text.encode() != line
                out.append(new_text.encode())
                continue
            new_doc = _redact_keys(doc, keys, self.sel.policy)
            if new_doc is doc:
                out.append(line)
            else:
                changed = True
                out.append(layout.canonical(new_doc))
        return b"\n".join(out) if changed else None

    # -- evaluations ------------------------------------------------------------------------------
    def evaluation_tree(self, tree: pygit2.Oid) -> pygit2.Oid:
        return self._memoised("eval", tree, self._evaluation)

    def _evaluation(self, tree: pygit2.Tree) -> pygit2.Oid:
        builder = self.repo.TreeBuilder(tree)
        for entry in tree:
            if entry.type_str == "tree":
                _put(builder, entry.name, self.evaluation_tree(entry.id), self.repo)
                continue
            data = self.repo[entry.id].data
            new: Optional[bytes] = None
            if entry.name == "results.jsonl":
                new = self._results(data)
            elif self.sel.secrets and entry.name.endswith(".py"):
                new = self._source(data)
            elif self.sel.secrets:
                keys = {"evaluation.json": ("default_api_params",), "run.json": ("api_params", "lmp_params", "error"),
                        "dataset.jsonl": ()}.get(entry.name)
                if keys is not None:
                    new = self._json_doc(data, keys)
            if new is not None:
                builder.insert(entry.name, self.repo.create_blob(new), _BLOB)
        return builder.write()

    def _results(self, data: bytes) -> Optional[bytes]:
        out, changed = [], False
        for line in data.split(b"\n"):
            if not line:
                continue
            try:
                doc = orjson.loads(line)
            except orjson.JSONDecodeError:
                out.append(line)
                continue
            new = doc
            if isinstance(doc, dict):
                ids = {doc.get("invocation_id"), *(doc.get("label_invocation_ids") or {}).values()}
                said = self.sel.matches is not None and self.sel.matches(orjson.dumps(doc.get("output")).decode())
                if (ids & self.sel.forgotten or said) and doc.get("output") != FORGOTTEN:
                    new = dict(doc, output=FORGOTTEN)
                if self.sel.secrets:
                    new = _redact_keys(new, ("output", "labels", "errors"), self.sel.policy)
            if new is doc:
                out.append(line)
            else:
                changed = True
                out.append(layout.canonical(new))
        return b"".join(line + b"\n" for line in out) if changed else None

    # -- notes ------------------------------------------------------------------------------------
    def notes_tree(self, tree: pygit2.Oid) -> pygit2.Oid:
        from .notetree import note_blobs

        notes: dict[str, bytes] = {}
        changed = False
        for target, blob in note_blobs(self.repo, self.repo[tree]):
            data = self.repo[blob].data
            new = self._note(data)
            moved = self.commit_map.get(target, target)
            changed = changed or new is not data or moved != target
            if new:
                notes[moved] = notes.get(moved, b"") + new
        if not changed:
            return tree
        builder = self.repo.TreeBuilder()
        for target, data in sorted(notes.items()):
            builder.insert(target, self.repo.create_blob(data), _BLOB)
        return builder.write()

    def _note(self, data: bytes) -> bytes:
        """The note without lines about forgotten invocations, secrets replaced (`data` itself
        when nothing changes)."""
        out, changed = [], False
        for line in data.splitlines():
            try:
                entry = orjson.loads(line)
            except orjson.JSONDecodeError:
                entry = None
            if isinstance(entry, dict) and (entry.get("inv") in self.sel.forgotten or (
                    self.sel.matches is not None and self.sel.matches(str(entry.get("comment") or "")
                                                                      + orjson.dumps(entry.get("labels")).decode()))):
                changed = True
                continue
            new = line
            if self.sel.secrets and isinstance(entry, dict):
                doc = _redact_keys(entry, ("comment", "labels", "api_params"), self.sel.policy)
                new = line if doc is entry else layout.canonical(doc)
            elif self.sel.secrets and line.strip():
                text = line.decode("utf-8", "replace")
                redacted = redact_text(text, self.sel.policy)
                new = line if redacted is text else redacted.encode()
            changed = changed or new is not line
            out.append(new)
        if not changed:
            return data
        return b"".join(line + b"\n" for line in out if line)


def _put(builder: pygit2.TreeBuilder, name: str, tree: pygit2.Oid, repo: pygit2.Repository) -> None:
    if len(repo[tree]) == 0:
        builder.remove(name)  # a directory left empty goes away, as git would never store it
    else:
        builder.insert(name, tree, _TREE)


def _markers(line: bytes) -> set[str]:
    if not layout.has_blob_marker(line):
        return set()
    found: set[str] = set()

    def walk(v: Any) -> None:
        if isinstance(v, dict):
            oid = v.get(layout.BLOB_KEY)
            if isinstance(oid, str):
                found.add(oid)
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(orjson.loads(line))
    return found


def _text_of(record: dict[str, Any]) -> str:
    """The user data of an invocation line, as one searchable text (for `--match`)."""
    parts: list[str] = []

    def walk(v: Any) -> None:
        if isinstance(v, str):
            parts.append(v)
        elif isinstance(v, dict):
            for k, x in v.items():
                parts.append(str(k))
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
        elif v is not None:
            parts.append(str(v))

    for key in (*_USER_KEYS, "error"):
        walk(record.get(key))
    return "\n".join(parts)


def _redact_keys(doc: Any, keys: tuple[str, ...], policy: Optional[Policy]) -> Any:
    if not keys or not isinstance(doc, dict):
        return redact_value(doc, None, policy)
    changed = None
    for key in keys:
        if key in doc:
            value = doc[key]
            new = redact_text(value, policy) if isinstance(value, str) and key in ("error", "comment") \
                else redact_value(value, None, policy)
            if new is not value:
                changed = changed or dict(doc)
                changed[key] = new
    return doc if changed is None else changed


def _redact_invocation(record: dict[str, Any], policy: Optional[Policy]) -> dict[str, Any]:
    new = _redact_keys(record, (*_USER_KEYS, "error"), policy)
    if new is record:
        return record
    new = dict(new)
    new["cache_key"] = call_key(str(new.get("version_id")), new.get("args", {}), new.get("bound_globals", {}))
    return new


def rewrite_history(repo: pygit2.Repository, tip: pygit2.Oid, tree_fn: Callable[[pygit2.Oid], pygit2.Oid], *,
                    drop_unchanged: bool = False, message_fn: Optional[Callable[[str], str]] = None,
                    mapping: Optional[dict[str, str]] = None) -> Optional[pygit2.Oid]:
    """The rewritten history of `tip` (None when every commit was dropped).

    `drop_unchanged`: a non-merge commit whose rewritten tree equals its rewritten parent's (all it
    added was erased) is left out. `mapping` (old commit hex → new) is shared across refs, so a
    commit reachable from several refs is rewritten once."""
    mapping = {} if mapping is None else mapping
    walker = repo.walk(tip, pygit2.enums.SortMode.TOPOLOGICAL | pygit2.enums.SortMode.REVERSE)
    for commit in walker:
        key = str(commit.id)
        if key in mapping:
            continue
        parents: list[str] = []
        for p in commit.parent_ids:
            np = mapping.get(str(p), str(p))
            if np and np not in parents:
                parents.append(np)
        tree = tree_fn(commit.tree_id)
        if drop_unchanged and len(commit.parent_ids) <= 1:
            base = repo[parents[0]].tree_id if parents else None
            if (base is not None and tree == base) or (base is None and len(repo[tree]) == 0):
                mapping[key] = parents[0] if parents else ""
                continue
        message = message_fn(commit.message) if message_fn else commit.message
        if tree == commit.tree_id and parents == [str(p) for p in commit.parent_ids] and message == commit.message:
            mapping[key] = key
            continue
        new = repo.create_commit(None, commit.author, commit.committer, message, tree,
                                 [pygit2.Oid(hex=p) for p in parents])
        mapping[key] = str(new)
    result = mapping.get(str(tip), str(tip))
    return pygit2.Oid(hex=result) if result else None
